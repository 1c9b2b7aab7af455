//! `tandem`: run the proxy (`tandem -c lb.yaml`) or check a config
//! (`tandem check -c lb.yaml`, like `nginx -t`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandem", version, about = "A Pingora reverse proxy that keeps nginx's upstream contract")]
struct Cli {
    /// Path to the YAML config (see lb/examples/lb.yaml for every key).
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config and exit: 0 if valid, 1 with every error otherwise.
    Check,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let Cli { config, command } = Cli::parse();
    let Some(path) = config else {
        eprintln!("tandem: no config given; use --config FILE (see --help)");
        return ExitCode::from(2);
    };
    let config = match tandem::config::load_file(&path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("tandem: configuration file {} test failed", path.display());
            return ExitCode::from(1);
        }
    };
    match command {
        Some(Command::Check) => {
            println!("tandem: configuration file {} test is successful", path.display());
            ExitCode::SUCCESS
        }
        None => run(&config),
    }
}

fn run(config: &tandem::config::Config) -> ExitCode {
    match tandem::server::build(config) {
        Ok((server, _runtime)) => {
            log::info!(
                "tandem {} listening on {}",
                env!("CARGO_PKG_VERSION"),
                config.listen.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
            );
            server.run_forever()
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::from(1)
        }
    }
}
