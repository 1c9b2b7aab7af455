//! `drill`: failover drills against tandem's VIP.
//!
//! ```text
//! drill run   --url http://10.231.0.10/ [--name NAME] [--rate 100] [--duration 15s] [--post-share 0.2]
//!             [--fault-at 5s --fault CMD] [--recover-at 10s --recover CMD] [--settle CMD] [--timeout 1s]
//!             [--out DIR] [--budget KEY=VALUE ...] [--lb-header X-Tandem-Node] [--max-in-flight 256]
//!             [--command-timeout 60s] [--readback-delay 1s] [--slow 500ms]
//! drill suite FILE.yaml --url URL [--out DIR] [--only NAME[,NAME]] [--lb-header X-Tandem-Node]
//! ```
//! Exit status: 0 pass, 1 a budget exceeded or a command failed (the report
//! says which), 2 bad arguments or no report could be written.
//! Ctrl-C stops the load, runs the recovery at once if the fault ran, and
//! still writes the report (which then fails as interrupted); a second Ctrl-C
//! quits at once (exit 130) without recovering.

mod analysis;
mod budget;
mod cli;
mod client;
mod clock;
mod command;
mod config;
mod drill;
mod duration;
mod load;
mod mix;
mod percent;
mod readback;
mod record;
mod repeat;
mod report;
mod resources;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tokio::sync::watch;

use cli::{Cli, Command, RunArgs, SuiteArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("drill: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "drill: interrupted: stopping the load, recovering, writing the report (Ctrl-C again: quit now)"
                );
                let _ = stop_tx.send(true);
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("drill: quit without recovering or reporting");
                std::process::exit(130);
            }
            // Keep the sender alive: a dropped one must not read as "stop".
            std::future::pending::<()>().await
        });
        match cli.command {
            Command::Run(args) => run(*args, stop).await,
            Command::Suite(args) => suite(args, stop).await,
        }
    })
}

fn usage_errors(errors: &[String]) -> ExitCode {
    for error in errors {
        eprintln!("drill: {error}");
    }
    ExitCode::from(2)
}

fn verdict_code(pass: bool) -> ExitCode {
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `target/drill/<stem>-<UTC timestamp>`, relative to the working directory.
fn default_dir(stem: &str) -> PathBuf {
    Path::new("target").join("drill").join(format!("{stem}-{}", clock::compact(clock::now_unix())))
}

async fn run(args: RunArgs, stop: watch::Receiver<bool>) -> ExitCode {
    let url = args.url.clone();
    let out = args.common.out.clone();
    if let Err(e) = client::Target::parse(&url) {
        return usage_errors(&[e]);
    }
    let config = match args.into_config() {
        Ok(config) => config,
        Err(errors) => return usage_errors(&errors),
    };
    let dir = out.unwrap_or_else(|| default_dir(&config.name));
    match drill::run(&config, &url, &dir, stop).await {
        Ok(report) => {
            println!("{}", dir.join("report.md").display());
            println!("{}", report.one_line());
            verdict_code(drill::passed(report.verdict))
        }
        Err(e) => usage_errors(&[e]),
    }
}

async fn suite(args: SuiteArgs, stop: watch::Receiver<bool>) -> ExitCode {
    if let Err(e) = client::Target::parse(&args.url) {
        return usage_errors(&[e]);
    }
    let file = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(e) => return usage_errors(&[format!("{file}: {e}")]),
    };
    let parsed = match suite::parse(&text) {
        Ok(parsed) => parsed,
        Err(e) => return usage_errors(&[format!("{file}: {e}")]),
    };
    let configs = match suite::configs(&parsed, &args.only, &args.lb_header) {
        Ok(configs) => configs,
        Err(errors) => return usage_errors(&errors.iter().map(|e| format!("{file}: {e}")).collect::<Vec<_>>()),
    };
    let dir = args.out.unwrap_or_else(|| default_dir("suite"));
    match drill::suite(&configs, &file, &args.url, &dir, stop).await {
        Ok((report, markdown)) => {
            let passed = report.scenarios.iter().filter(|r| drill::passed(r.verdict)).count();
            println!("{}", markdown.display());
            println!("{} suite {file}: {passed}/{} scenarios passed", report.verdict.word(), report.scenarios.len());
            verdict_code(drill::passed(report.verdict))
        }
        Err(e) => usage_errors(&[e]),
    }
}
