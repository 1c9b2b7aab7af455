//! `tandem-app`: the app server. Configured by `TANDEM_APP_*` environment
//! variables (see `app/README.md`); logs to stderr (`RUST_LOG`, default info).

use std::process::ExitCode;
use tandem_app::config::AppConfig;
use tandem_app::{router, AppState};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if std::env::args().nth(1).is_some_and(|a| a == "--help" || a == "-h") {
        println!(
            "tandem-app: the tandem app server.\nConfigured by TANDEM_APP_* environment variables; see app/README.md."
        );
        return ExitCode::SUCCESS;
    }
    let config = match AppConfig::from_env() {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("tandem-app: bad settings:\n{errors}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tandem-app: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-app: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: AppConfig) -> Result<(), String> {
    let listen = config.listen;
    let name = config.name.clone();
    let state = AppState::start(config).await?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    log::info!("{name} listening on {listen}");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown()).await.map_err(|e| e.to_string())
}

/// Finishes in-flight requests on SIGTERM or Ctrl-C.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    log::info!("shutting down: finishing in-flight requests");
}
