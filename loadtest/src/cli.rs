//! The command line. Defaults live in [`crate::config`]; this module only
//! names them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::budget::{self, Budgets};
use crate::config::{self, Commands, RunConfig};
use crate::duration::parse_duration;

#[derive(Parser)]
#[command(
    name = "drill",
    version,
    about = "Failover drill: a steady request rate at a URL, a fault and a recovery command at set times, \
    every acknowledged write read back, a report (report.md, report.json, timeline.svg)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// One drill; exit 1 when a budget is exceeded or a command failed.
    // Boxed: far larger than the suite's arguments (clippy::large_enum_variant).
    Run(Box<RunArgs>),
    /// Every scenario of a YAML suite file, in order; exit 1 when any failed.
    Suite(SuiteArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Base URL, e.g. http://10.231.0.10/ (the VIP), or https://... (CAs from SSL_CERT_FILE).
    #[arg(long)]
    pub url: String,
    /// Scenario name: the report's title and directory.
    #[arg(long, default_value = "drill")]
    pub name: String,
    /// Requests per second, all kinds together (open loop: sent on schedule whatever the answers).
    #[arg(long, default_value_t = config::DEFAULT_RATE)]
    pub rate: f64,
    /// How long to send (500ms, 15s, 1m).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Share of requests that are POSTs (0 to 1); the rest are half list, half get by id.
    #[arg(long, default_value_t = config::DEFAULT_POST_SHARE)]
    pub post_share: f64,
    /// When to run --fault, from the start.
    #[arg(long, value_parser = parse_duration)]
    pub fault_at: Option<Duration>,
    /// Shell command that causes the fault (run with sh -c; output kept in the report directory).
    #[arg(long)]
    pub fault: Option<String>,
    /// When to run --recover, from the start.
    #[arg(long, value_parser = parse_duration)]
    pub recover_at: Option<Duration>,
    /// Shell command that undoes the fault.
    #[arg(long)]
    pub recover: Option<String>,
    /// Shell command run (and waited for) before the load, e.g. a readiness wait.
    #[arg(long)]
    pub settle: Option<String>,
    /// Bound on one request, connect included.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// A success slower than this counts as slow (reported by kind); below --timeout.
    #[arg(long, visible_alias = "slow-ms", default_value = "500ms", value_parser = parse_duration)]
    pub slow: Duration,
    /// Limit KEY=VALUE checked after the run (repeatable): failed_reads=0, takeover_window=3s, ...
    #[arg(long = "budget", value_name = "KEY=VALUE", value_parser = budget::parse_pair)]
    pub budgets: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct SuiteArgs {
    /// The suite file (YAML): defaults and scenarios.
    pub file: PathBuf,
    /// Base URL, e.g. http://10.231.0.10/.
    #[arg(long)]
    pub url: String,
    /// Run only these scenarios (comma-separated names), in file order.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Report directory [default: target/drill/suite-<timestamp>]; each scenario gets a subdirectory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Response header naming the balancer that answered.
    #[arg(long, default_value = config::DEFAULT_LB_HEADER)]
    pub lb_header: String,
}

/// Options of `run` that a suite sets in its file instead.
#[derive(Args)]
pub struct Common {
    /// Report directory [default: target/drill/<name>-<timestamp>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Response header naming the balancer that answered.
    #[arg(long, default_value = config::DEFAULT_LB_HEADER)]
    pub lb_header: String,
    /// Requests outstanding at most; a slot finding none free is recorded as `overload`.
    #[arg(long, default_value_t = config::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Bound on each fault, recovery and settle command; over it, its process group is killed.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub command_timeout: Duration,
    /// Pause after the load (and the recovery) before reading the writes back.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub readback_delay: Duration,
}

impl RunArgs {
    /// The validated config. The whole struct is destructured, so a new flag
    /// that is not handled here fails to compile.
    pub fn into_config(self) -> Result<RunConfig, Vec<String>> {
        let RunArgs {
            url: _,
            name,
            rate,
            duration,
            post_share,
            fault_at,
            fault,
            recover_at,
            recover,
            settle,
            timeout,
            slow,
            budgets: pairs,
            common: Common { out: _, lb_header, max_in_flight, command_timeout, readback_delay },
        } = self;
        let mut budgets = Budgets::default();
        let mut errors = Vec::new();
        for pair in &pairs {
            if let Err(e) = budgets.set(pair) {
                errors.push(e);
            }
        }
        let config = RunConfig {
            name,
            rate,
            duration,
            post_share,
            timeout,
            slow,
            max_in_flight,
            command_timeout,
            readback_delay,
            lb_header,
            fault: None,
            recover: None,
            settle,
            repeat: Vec::new(),
            watch: Vec::new(),
            sample_every: config::DEFAULT_SAMPLE_EVERY,
            warmup: Duration::ZERO,
            window: None,
            budgets,
        };
        match config.validated(Commands { fault_at, fault, recover_at, recover }) {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => Err(errors),
            Err(more) => Err(errors.into_iter().chain(more).collect()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("drill").chain(args.iter().copied()))
    }

    fn config(args: &[&str]) -> Result<RunConfig, Vec<String>> {
        match parse(args).unwrap().command {
            Command::Run(run) => run.into_config(),
            Command::Suite(_) => panic!("not a run"),
        }
    }

    #[test]
    fn run_has_the_documented_defaults() {
        let c = config(&["run", "--url", "http://10.231.0.10/"]).unwrap();
        assert_eq!((c.name.as_str(), c.rate, c.post_share), ("drill", 100.0, 0.2));
        assert_eq!((c.duration, c.timeout), (Duration::from_secs(15), Duration::from_secs(1)));
        assert_eq!((c.max_in_flight, c.lb_header.as_str()), (256, "X-Tandem-Node"));
        assert_eq!(c.slow, Duration::from_millis(500));
    }

    #[test]
    fn slow_takes_a_duration_under_either_name() {
        let c = config(&["run", "--url", "u", "--slow", "300ms"]).unwrap();
        assert_eq!(c.slow, Duration::from_millis(300));
        let c = config(&["run", "--url", "u", "--slow-ms", "0.8s"]).unwrap();
        assert_eq!(c.slow, Duration::from_millis(800));
        assert!(parse(&["run", "--url", "u", "--slow", "300"]).is_err());
        let err = config(&["run", "--url", "u", "--slow", "2s"]).unwrap_err();
        assert!(err[0].starts_with("slow 2s"), "{err:?}");
    }

    #[test]
    fn run_takes_fault_recovery_and_budgets() {
        let c = config(&[
            "run",
            "--url",
            "http://vip/",
            "--fault-at",
            "5s",
            "--fault",
            "deploy/lab kill app1",
            "--recover-at",
            "10s",
            "--recover",
            "deploy/lab start app1",
            "--budget",
            "failed_reads=0",
            "--budget",
            "recover=2s",
        ])
        .unwrap();
        assert_eq!(c.fault.map(|f| f.at), Some(Duration::from_secs(5)));
        assert_eq!(c.recover.map(|f| f.command), Some("deploy/lab start app1".to_string()));
        assert_eq!(c.budgets.failed_reads, Some(0));
    }

    #[test]
    fn unknown_budgets_and_bad_durations_fail_at_startup() {
        let err = parse(&["run", "--url", "http://vip/", "--budget", "lost=0"]).err().unwrap().to_string();
        assert!(err.contains("unknown budget `lost`"), "{err}");
        assert!(parse(&["run", "--url", "http://vip/", "--duration", "15"]).is_err());
    }

    #[test]
    fn run_rules_are_checked() {
        let err = config(&["run", "--url", "u", "--fault", "x"]).unwrap_err();
        assert!(err[0].contains("fault_at"), "{err:?}");
    }

    #[test]
    fn suite_takes_a_file_and_a_comma_list() {
        let cli = parse(&["suite", "lab.yaml", "--url", "http://vip/", "--only", "a,b"]).unwrap();
        let Command::Suite(args) = cli.command else { panic!("not a suite") };
        assert_eq!(args.only, ["a", "b"]);
        assert_eq!(args.file, PathBuf::from("lab.yaml"));
    }
}
