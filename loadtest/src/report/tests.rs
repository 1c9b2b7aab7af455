use super::*;
use crate::analysis::{analyze, Context, WriteVerdict, Writes};
use crate::budget::{check, Budgets};
use crate::config::{Commands, RunConfig};
use crate::record::tests::{fail, ok, rec};
use crate::record::{Kind, Outcome};

fn command(label: &str, command: &str, start_ms: f64, ok: bool) -> CommandRun {
    CommandRun {
        label: label.to_string(),
        command: command.to_string(),
        start_ms,
        end_ms: start_ms + 20.0,
        status: if ok { "exit 0".into() } else { "exit 1".into() },
        ok,
        stdout: format!("{label}.stdout"),
        stderr: format!("{label}.stderr"),
    }
}

/// A 3 s run at 100 req/s: lb1 serves until the fault at 1 s, 400 ms of
/// failures, lb2 until the recovery at 2 s, a 100 ms failback window, lb1 again.
/// Successes take 2 ms: a 410 ms takeover stall (0.992 to 1.402 s) and a 110 ms
/// failback stall (2.192 to 2.302 s). The odd slots of 2.5 to 2.6 s take
/// 700 ms: 5 slow successes (4 get-list, 1 post), 20 ms gaps, no new stall.
pub fn sample() -> Report {
    let records: Vec<Record> = (0..300u64)
        .map(|i| {
            let t = i as f64 * 10.0;
            let mut r = if (1000.0..1400.0).contains(&t) || (2200.0..2300.0).contains(&t) {
                fail(i, t)
            } else if i % 5 == 4 {
                rec(i, t, Kind::Post, Outcome::Status(201))
            } else {
                ok(i, t)
            };
            if (2500.0..2600.0).contains(&t) && i % 2 == 1 {
                r.latency_ms = 700.0;
            }
            if r.is_success() {
                r.lb = Some(if (1400.0..2300.0).contains(&t) { "lb2" } else { "lb1" }.to_string());
                r.app = Some(if i % 2 == 0 { "app1" } else { "app2" }.to_string());
            }
            r
        })
        .collect();
    let commands = vec![
        command("fault", "deploy/lab kill lb1/tandem", 1000.0, true),
        command("recover", "deploy/lab start lb1/tandem", 2000.0, true),
    ];
    let writes = Writes::from_verdicts(&[(1, WriteVerdict::Present), (2, WriteVerdict::Present)]);
    let context = Context {
        end_ms: 3000.0,
        fault: Some(commands[0].span()),
        recovery: Some(commands[1].span()),
        writes,
        slow_ms: 500.0,
    };
    let metrics = analyze(&records, &context);
    let cli = Commands {
        fault_at: Some(std::time::Duration::from_secs(1)),
        fault: Some(commands[0].command.clone()),
        recover_at: Some(std::time::Duration::from_secs(2)),
        recover: Some(commands[1].command.clone()),
    };
    let mut config = RunConfig::with_defaults("lb-tandem-kill");
    config.duration = std::time::Duration::from_secs(3);
    let mut config = config.validated(cli).unwrap();
    config.budgets = Budgets::default();
    config.budgets.set("failed_reads=0").unwrap();
    config.budgets.set("takeover_window=1s").unwrap();
    let budgets = check(&config.budgets, &metrics, 0, config.rate);
    let load = LoadInfo { end_ms: 3000.0, skipped_slots: 0, overloaded: 0 };
    let (problems, warnings) = assess(&commands, false, &load, &metrics, config.post_share);
    let verdict = verdict(&budgets, &problems);
    Report {
        tool: "drill",
        version: "test",
        name: config.name.clone(),
        run_id: "lb-tandem-kill-1".to_string(),
        url: "http://10.231.0.10/".to_string(),
        started_at: "2026-11-21T10:00:00Z".to_string(),
        config,
        commands,
        repeated: Vec::new(),
        watched: Vec::new(),
        interrupted: false,
        load,
        metrics,
        budgets,
        problems,
        warnings,
        verdict,
        records,
        series: Vec::new(),
    }
}

#[test]
fn a_soak_report_shows_its_processes_and_repeated_commands_and_names_failed_runs() {
    use crate::config::Repeat;
    use crate::duration::Dur;
    use crate::resources::{summarize, Sample, Series};
    let mut report = sample();
    let reload = Repeat {
        name: "reload".into(),
        run: "deploy/lab reload lb1".into(),
        at: Dur::default(),
        every: Some(Dur(std::time::Duration::from_secs(10))),
        undo: None,
        undo_after: None,
    };
    report.config.repeat = vec![reload.clone()];
    report.repeated = vec![command("reload.1", "deploy/lab reload lb1", 0.0, true), {
        let mut c = command("reload.2", "deploy/lab reload lb1", 10_000.0, false);
        c.status = "exit 1".into();
        c
    }];
    let series = Series {
        name: "lb1/tandem".into(),
        pid: Some(42),
        samples: (0..30).map(|s| Sample { t_ms: s as f64 * 1000.0, rss_kb: 20_480, fds: 30 + s }).collect(),
        problem: None,
    };
    report.watched = vec![summarize(&series, 10_000.0, 10_000.0, 30_000.0)];
    let problems = repeat_problems(&report.config.repeat, &report.repeated);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("repeat `reload`: 1 of 2 runs failed (first: reload.2"), "{problems:?}");
    let md = markdown::render(&report);
    assert!(md.contains("## Resources"), "{md}");
    assert!(md.contains("| lb1/tandem | 42 | 30 | +0.0% (20.0 MB -> 20.0 MB"), "{md}");
    assert!(md.contains("| reload | `deploy/lab reload lb1` | from 0ms every 10s | 2 | 0 | 1 |"), "{md}");
    // fds 30 + s: medians 44.5 (10-19 s) and 54.5 (20-29 s), +22.5%.
    let budgets = crate::budget::Budgets { fd_growth: Some(crate::percent::Percent(10.0)), ..Default::default() };
    let w = &report.watched[0];
    let checks = crate::budget::check_growth(&budgets, &[(w.name.clone(), w.rss, w.fds)]);
    assert_eq!(checks.len(), 1);
    assert!(!checks[0].pass && checks[0].actual.starts_with("lb1/tandem: +22.5%"), "{checks:?}");
}

#[test]
fn a_run_over_one_budget_fails_and_says_which() {
    let report = sample();
    assert_eq!(report.verdict, Verdict::Fail);
    let line = report.one_line();
    assert!(line.starts_with("FAIL lb-tandem-kill: 50 failed reads"), "{line}");
    assert!(line.contains("takeover 400 ms"), "{line}");
    assert!(line.contains("failback 100 ms, takeover stall 410 ms, 0/2 writes missing"), "{line}");
    assert!(line.contains("over budget: failed_reads"), "{line}");
}

#[test]
fn the_sample_has_the_stalls_and_slow_successes_it_claims() {
    let m = sample().metrics;
    let (takeover, failback) = (m.stalls.takeover.unwrap(), m.stalls.failback.unwrap());
    assert_eq!(
        (takeover.start_ms, takeover.end_ms, failback.start_ms, failback.end_ms),
        (992.0, 1402.0, 2192.0, 2302.0)
    );
    assert_eq!(m.stalls.overall, Some(takeover));
    assert_eq!((m.slow, m.by_kind["get-list"].slow, m.by_kind["post"].slow), (5, 4, 1));
}

#[test]
fn failed_commands_and_interruptions_are_problems() {
    let report = sample();
    let commands = [command("fault", "false", 0.0, false)];
    let (problems, _) = assess(&commands, true, &report.load, &report.metrics, 0.2);
    assert_eq!(problems.len(), 2);
    assert!(problems[0].contains("fault command `false` failed: exit 1"), "{problems:?}");
    assert_eq!(verdict(&[], &problems), Verdict::Fail);
    assert_eq!(verdict(&[], &[]), Verdict::Pass);
}

#[test]
fn a_lagging_generator_and_no_writes_are_warnings_only() {
    let mut report = sample();
    report.metrics.writes = Writes::default();
    let load = LoadInfo { end_ms: 3000.0, skipped_slots: 3, overloaded: 2 };
    let (problems, warnings) = assess(&report.commands, false, &load, &report.metrics, 0.2);
    assert!(problems.is_empty());
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}

#[test]
fn all_three_files_are_written() {
    let dir = std::env::temp_dir().join(format!("drill-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let md = write_all(&dir, &sample()).unwrap();
    assert_eq!(md, dir.join("report.md"));
    for file in ["report.json", "report.md", "timeline.svg"] {
        assert!(dir.join(file).metadata().unwrap().len() > 100, "{file}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
