//! `tandem`: run the proxy (`tandem -c lb.yaml`), check a config
//! (`tandem check -c lb.yaml`, like `nginx -t`), or make the running
//! process reload it (`tandem reload -c lb.yaml`, like `nginx -s reload`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// jemalloc: as fast as glibc's malloc and mimalloc on the request path,
/// and the least memory per idle connection, given back after close
/// (measured: loadtest/README.md, "Allocator").
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "tandem", version, about = "A Pingora reverse proxy that keeps nginx's upstream contract")]
struct Cli {
    /// Path to the YAML config (see lb/examples/lb.yaml for every key).
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Graceful upgrade: take the listening sockets over from the running
    /// tandem (send it SIGQUIT within 15 s; see README, Graceful upgrade).
    #[arg(short, long)]
    upgrade: bool,

    /// For `make bench` only: forward request heads without validating them
    /// (the `tandem-unchecked` contender, which measures what validation
    /// costs). Lets through what tandem exists to refuse; never for serving.
    #[arg(long, hide = true)]
    unchecked_requests: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config and exit: 0 if valid, 1 with every error otherwise.
    Check,
    /// Validate the config, then make the running tandem (pid_file) re-read
    /// it with SIGHUP and print the outcome it reports.
    Reload,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let Cli { config, upgrade, unchecked_requests, command } = Cli::parse();
    let Some(path) = config else {
        eprintln!("tandem: no config given; use --config FILE (see --help)");
        return ExitCode::from(2);
    };
    let (config, digest) = match tandem::config::load_file_with_digest(&path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("tandem: configuration file {} test failed", path.display());
            return ExitCode::from(1);
        }
    };
    match command {
        Some(Command::Check) => {
            // The TLS listeners' files too, as a reload would read them.
            if let Err(errors) =
                tandem::tls::TlsSet::load(&config, &path.display().to_string(), std::time::SystemTime::now())
            {
                eprintln!("{errors}");
                eprintln!("tandem: configuration file {} test failed", path.display());
                return ExitCode::from(1);
            }
            println!("tandem: configuration file {} test is successful", path.display());
            ExitCode::SUCCESS
        }
        Some(Command::Reload) => tandem::signal_reload::run(&path, &config),
        None => {
            if unchecked_requests {
                log::warn!("--unchecked-requests: request heads are NOT validated (benchmark mode, never for serving)");
                tandem::http1::unchecked::disable_validation();
            }
            run(&path, config, digest, upgrade)
        }
    }
}

fn run(path: &std::path::Path, config: tandem::config::Config, digest: u32, upgrade: bool) -> ExitCode {
    let listen = config
        .listen
        .iter()
        .map(|l| if l.tls.is_some() { format!("{} (TLS)", l.addr) } else { l.addr.to_string() })
        .collect::<Vec<_>>()
        .join(", ");
    let admin = config.admin.listen;
    let live = match tandem::live::Live::new(path, config, digest) {
        Ok(live) => Arc::new(live),
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(1);
        }
    };
    match tandem::server::build(live, upgrade) {
        Ok(server) => {
            log::info!("tandem {} listening on {listen}, admin on http://{admin}/", env!("CARGO_PKG_VERSION"));
            server.run_forever()
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::from(1)
        }
    }
}
