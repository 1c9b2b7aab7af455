//! `tandem-dbctl`: promotion controller for a MariaDB master and replicas.
//!
//! `tandem-dbctl watch`  (default) promotes and rejoins, forever
//! `tandem-dbctl status` prints every node's role once
//!
//! Settings: `TANDEM_DBCTL_*` environment variables (see app/README.md).

use std::process::ExitCode;
use tandem_app::dbctl::config::DbctlConfig;
use tandem_app::dbctl::watch::Controller;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "watch".to_string());
    if command == "--help" || command == "-h" || command == "help" {
        println!(
            "usage: tandem-dbctl [watch|status]\nSettings: TANDEM_DBCTL_* environment variables; see app/README.md."
        );
        return ExitCode::SUCCESS;
    }
    let config = match DbctlConfig::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tandem-dbctl: bad settings:\n{e}");
            return ExitCode::from(2);
        }
    };
    let controller = match Controller::new(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tandem-dbctl: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tandem-dbctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command.as_str() {
        "watch" => {
            runtime.block_on(controller.run());
            ExitCode::SUCCESS
        }
        "status" => runtime.block_on(status(controller)),
        other => {
            eprintln!("tandem-dbctl: unknown command {other:?}; use watch or status");
            ExitCode::from(2)
        }
    }
}

async fn status(mut controller: Controller) -> ExitCode {
    let seen = controller.observe_all().await;
    println!(
        "{:<22} {:<10} {:<9} {:<22} {:<4} {:>9} {:<9}",
        "node", "reachable", "read_only", "source", "io", "position", "semi-sync"
    );
    for (addr, s) in controller.addrs().iter().zip(&seen) {
        println!(
            "{:<22} {:<10} {:<9} {:<22} {:<4} {:>9} {:<9}",
            addr,
            s.reachable,
            s.read_only,
            s.source.as_deref().unwrap_or("-"),
            if s.io_running { "yes" } else { "no" },
            s.position,
            if s.semi_sync_master { "on" } else { "off" }
        );
    }
    for (addr, s) in controller.addrs().iter().zip(&seen) {
        if let Some(e) = &s.io_error {
            println!("{addr}: replication error {e}");
        }
    }
    if seen.iter().any(|s| s.reachable && !s.read_only) {
        ExitCode::SUCCESS
    } else {
        println!("no writable master");
        ExitCode::FAILURE
    }
}
