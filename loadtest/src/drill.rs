//! One drill run end to end (settle, load with fault and recovery, read-back,
//! analysis, report files) and a suite of them. The only module that wires
//! I/O together; every number comes from the pure modules.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::analysis::{analyze, Context, Writes};
use crate::budget;
use crate::client::Target;
use crate::clock;
use crate::command::{self, CommandRun};
use crate::config::RunConfig;
use crate::load::{self, LoadResult};
use crate::readback;
use crate::record::{ErrorKind, Outcome};
use crate::repeat;
use crate::report::suite::{self as suite_report, Row, SuiteReport};
use crate::report::{self, LoadInfo, Report, Verdict};
use crate::resources::{self, sampler};

/// Runs one drill into `dir` and writes its report there.
pub async fn run(config: &RunConfig, url: &str, dir: &Path, stop: watch::Receiver<bool>) -> Result<Report, String> {
    let target = Target::parse(url)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let started = clock::now_unix();
    let run_id = format!("{}-{}", config.name, clock::compact(started));
    let mut commands = Vec::new();

    let before = Instant::now();
    let settle = match &config.settle {
        Some(cmd) => Some(command::run("settle", cmd, dir, before, config.command_timeout).await),
        None => None,
    };
    let t0 = Instant::now();
    let settled = settle.as_ref().is_none_or(|s| s.ok);
    if let Some(mut settle) = settle {
        // Settle ran before the start: its times are negative.
        let shift = t0.duration_since(before).as_secs_f64() * 1000.0;
        settle.start_ms -= shift;
        settle.end_ms -= shift;
        commands.push(settle);
    }

    let interrupted_before = *stop.borrow();
    let (load, scheduled, repeated, series) = if settled && !interrupted_before {
        eprintln!("drill: {}: {} req/s for {:?} against {url}", config.name, config.rate, config.duration);
        let commands_dir = dir.join("commands");
        tokio::join!(
            load::run(config, target.clone(), &run_id, t0, stop.clone()),
            scheduled(config, dir, t0, stop.clone()),
            repeat::run_all(&config.repeat, config.duration, &commands_dir, t0, config.command_timeout, stop.clone()),
            sampler::run(&config.watch, config.sample_every, t0, config.duration, stop.clone()),
        )
    } else {
        (LoadResult::default(), Vec::new(), Vec::new(), Vec::new())
    };
    commands.extend(scheduled);
    let interrupted = *stop.borrow();

    let verdicts = if load.acked.is_empty() {
        Vec::new()
    } else {
        if !interrupted {
            tokio::time::sleep(config.readback_delay).await;
        }
        eprintln!("drill: {}: reading back {} acknowledged writes", config.name, load.acked.len());
        readback::verify(&target, &load.acked).await
    };

    let span = |label: &str| commands.iter().find(|c| c.label == label).map(CommandRun::span);
    let context = Context {
        end_ms: load.end_ms,
        fault: span("fault"),
        recovery: span("recover"),
        writes: Writes::from_verdicts(&verdicts),
        slow_ms: config.slow.as_secs_f64() * 1000.0,
    };
    let metrics = analyze(&load.records, &context);
    let overloaded = load.records.iter().filter(|r| r.outcome == Outcome::Error(ErrorKind::Overload)).count() as u64;
    let info = LoadInfo { end_ms: load.end_ms, skipped_slots: load.skipped_slots, overloaded };
    let window_ms = config.effective_window().as_secs_f64() * 1000.0;
    let warmup_ms = config.warmup.as_secs_f64() * 1000.0;
    let watched: Vec<_> = series.iter().map(|s| resources::summarize(s, warmup_ms, window_ms, load.end_ms)).collect();
    let mut budgets = budget::check(&config.budgets, &metrics, overloaded, config.rate);
    let growths: Vec<_> = watched.iter().map(|w| (w.name.clone(), w.rss, w.fds)).collect();
    budgets.extend(budget::check_growth(&config.budgets, &growths));
    let (mut problems, warnings) = report::assess(&commands, interrupted, &info, &metrics, config.post_share);
    problems.extend(report::repeat_problems(&config.repeat, &repeated));
    problems.extend(watched.iter().filter_map(|w| w.problem.clone()));
    if !settled {
        problems.push("settle failed: the scenario was not run".to_string());
    }
    let verdict = report::verdict(&budgets, &problems);
    let report = Report {
        tool: "drill",
        version: env!("CARGO_PKG_VERSION"),
        name: config.name.clone(),
        run_id,
        url: url.to_string(),
        started_at: clock::iso(started),
        config: config.clone(),
        commands,
        repeated,
        watched,
        interrupted,
        load: info,
        metrics,
        budgets,
        problems,
        warnings,
        verdict,
        records: load.records,
        series,
    };
    report::write_all(dir, &report).map_err(|e| format!("writing the report in {}: {e}", dir.display()))?;
    Ok(report)
}

/// Runs the fault at its time, and the recovery at its time or at once when
/// the run is stopped after the fault began (a drill never leaves a fault in place).
async fn scheduled(config: &RunConfig, dir: &Path, t0: Instant, mut stop: watch::Receiver<bool>) -> Vec<CommandRun> {
    let Some(fault) = &config.fault else { return Vec::new() };
    if !wait_until(t0 + fault.at, &mut stop).await {
        return Vec::new();
    }
    eprintln!("drill: {}: fault: {}", config.name, fault.command);
    let fault_run = command::run("fault", &fault.command, dir, t0, config.command_timeout);
    let recover_run = async {
        let recover = config.recover.as_ref()?;
        let mut stop = stop.clone();
        wait_until(t0 + recover.at, &mut stop).await;
        eprintln!("drill: {}: recover: {}", config.name, recover.command);
        Some(command::run("recover", &recover.command, dir, t0, config.command_timeout).await)
    };
    let (fault_run, recover_run) = tokio::join!(fault_run, recover_run);
    std::iter::once(fault_run).chain(recover_run).collect()
}

/// Sleeps until `at`; false when `stop` came first.
async fn wait_until(at: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(at) => true,
        _ = load::stopped(stop) => false,
    }
}

/// Runs `configs` in order, each in `dir/<name>`, then writes suite.md and
/// suite.json; returns the suite report and suite.md's path.
pub async fn suite(
    configs: &[RunConfig],
    file: &str,
    url: &str,
    dir: &Path,
    stop: watch::Receiver<bool>,
) -> Result<(SuiteReport, std::path::PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let started_at = clock::iso(clock::now_unix());
    let mut rows = Vec::new();
    for config in configs {
        if *stop.borrow() {
            rows.push(Row::failed(&config.name, &config.name, "not run: interrupted".to_string()));
            continue;
        }
        let row = match run(config, url, &dir.join(&config.name), stop.clone()).await {
            Ok(report) => {
                println!("{}", report.one_line());
                Row::from_report(&report, &config.name)
            }
            Err(error) => {
                println!("FAIL {}: {error}", config.name);
                Row::failed(&config.name, &config.name, error)
            }
        };
        rows.push(row);
        // A moment between scenarios, so one's failback does not bleed into the next's start.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let suite = SuiteReport {
        tool: "drill",
        file: file.to_string(),
        url: url.to_string(),
        started_at,
        verdict: suite_report::verdict(&rows),
        scenarios: rows,
    };
    let json = serde_json::to_string_pretty(&suite).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("suite.json"), json + "\n").map_err(|e| format!("{}: {e}", dir.display()))?;
    let markdown = dir.join("suite.md");
    std::fs::write(&markdown, suite_report::render_markdown(&suite)).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((suite, markdown))
}

/// True when `verdict` passed.
pub fn passed(verdict: Verdict) -> bool {
    verdict == Verdict::Pass
}
