//! `report.md`: the run for a person, top to bottom: verdict, parameters,
//! budgets, metrics, failures, windows, throughput, who served, writes.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{window_text, Report};
use crate::analysis::served::describe_segments;
use crate::analysis::stalls::Stall;
use crate::analysis::windows::Window;
use crate::duration::{human_ms, Dur};

/// Windows listed in full up to this many; the rest are counted.
const MAX_WINDOW_ROWS: usize = 20;
/// App runs are listed as text when there are at most this many; with round
/// robin they change every request, and the per-second table says more.
const MAX_APP_SEGMENTS: usize = 12;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.metrics;
    let _ = writeln!(out, "# Drill `{}`: {}\n", r.name, r.verdict.word());
    let _ = writeln!(out, "{}\n", r.one_line());
    let _ = writeln!(out, "Started {} against {}, run id `{}`.\n", r.started_at, r.url, r.run_id);
    let _ = writeln!(out, "![timeline](timeline.svg)\n");

    out.push_str("## Parameters\n\n| parameter | value |\n|---|---|\n");
    let c = &r.config;
    let rows = [
        ("rate", format!("{} req/s (one new connection per request)", c.rate)),
        ("duration", Dur(c.duration).to_string()),
        ("post share", format!("{}", c.post_share)),
        ("timeout", format!("{} per request, connect included", Dur(c.timeout))),
        ("max in flight", c.max_in_flight.to_string()),
        ("balancer header", format!("`{}`", c.lb_header)),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    for command in &r.commands {
        let _ = writeln!(
            out,
            "| {} | `{}` at {:.2} s, done at {:.2} s: {} ([stdout]({}), [stderr]({})) |",
            command.label,
            command.command,
            command.start_ms / 1000.0,
            command.end_ms / 1000.0,
            command.status,
            command.stdout,
            command.stderr
        );
    }

    out.push_str("\n## Budgets\n\n");
    if r.budgets.is_empty() {
        out.push_str("No budgets.\n");
    } else {
        out.push_str("| budget | limit | actual | result |\n|---|---|---|---|\n");
        for check in &r.budgets {
            let default = if check.implicit { " (default)" } else { "" };
            let result = if check.pass { "PASS" } else { "**FAIL**" };
            let _ = writeln!(out, "| `{}`{default} | {} | {} | {result} |", check.key, check.limit, check.actual);
        }
    }
    for (title, items) in [("Problems", &r.problems), ("Warnings", &r.warnings)] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for item in items {
                let _ = writeln!(out, "- {item}");
            }
        }
    }

    resources(&mut out, r);
    repeated(&mut out, r);

    out.push_str("\n## Metrics\n\n| metric | value |\n|---|---|\n");
    let l = &m.longest;
    let slow_title = format!("slow successes (over {})", Dur(c.slow));
    let rows = [
        ("requests (ok / failed)", format!("{} ({} / {})", m.requests, m.ok, m.failed)),
        ("failed reads / writes", format!("{} / {}", m.failed_reads, m.failed_writes)),
        ("longest error window", window_text(l.overall)),
        ("longest read / write window", format!("{} / {}", window_text(l.reads), window_text(l.writes))),
        ("takeover window (opened during the fault)", window_text(l.takeover)),
        ("failback window (opened after recovery)", window_text(l.failback)),
        ("time to recover", human_ms(m.time_to_recover_ms)),
        ("longest stall (no request completed successfully)", stall_where(m.stalls.overall)),
        ("takeover stall (overlapping fault to recovery)", stall_where(m.stalls.takeover)),
        ("failback stall (overlapping recovery to the end)", stall_where(m.stalls.failback)),
        (slow_title.as_str(), slow_text(m)),
        (
            "latency of successes p50 / p90 / p99 / max",
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1} ms",
                m.latency_ms.p50, m.latency_ms.p90, m.latency_ms.p99, m.latency_ms.max
            ),
        ),
        (
            "writes acknowledged / present / missing / unverified",
            format!(
                "{} / {} / {} / {}",
                m.writes.acknowledged, m.writes.present, m.writes.missing, m.writes.unverified
            ),
        ),
        ("generator: skipped slots / overloaded", format!("{} / {}", r.load.skipped_slots, r.load.overloaded)),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "| {name} | {value} |");
    }

    out.push_str("\n## Failures\n\n| kind | sent | ok | failed | by outcome |\n|---|---:|---:|---:|---|\n");
    for (kind, stats) in &m.by_kind {
        let _ = writeln!(
            out,
            "| {kind} | {} | {} | {} | {} |",
            stats.sent,
            stats.ok,
            stats.failed,
            counts(&stats.failures)
        );
    }
    let _ = writeln!(out, "| all | {} | {} | {} | {} |", m.requests, m.ok, m.failed, counts(&m.failures));

    out.push_str("\n## Error windows\n\n");
    windows(&mut out, &m.windows["overall"]);

    out.push_str("\n## Throughput (successful responses per second)\n\n");
    out.push_str("| phase | from s | to s | ok | failed | ok/s |\n|---|---:|---:|---:|---:|---:|\n");
    for p in &m.throughput {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.2} | {} | {} | {:.1} |",
            p.name,
            p.from_ms / 1000.0,
            p.to_ms / 1000.0,
            p.ok,
            p.failed,
            p.ok_per_s
        );
    }

    out.push_str("\n## Who served\n\n");
    let _ = writeln!(out, "Balancers ({}): {}\n", c.lb_header, describe_segments(&m.lb_segments));
    if m.app_segments.len() <= MAX_APP_SEGMENTS {
        let _ = writeln!(out, "Apps (X-Served-By): {}\n", describe_segments(&m.app_segments));
    }
    out.push_str("| second | ok | failed | balancers | apps |\n|---:|---:|---:|---|---|\n");
    for b in &m.per_second {
        let _ = writeln!(
            out,
            "| {:.0} | {} | {} | {} | {} |",
            b.from_ms / 1000.0,
            b.ok,
            b.failed,
            counts(&b.lb),
            counts(&b.app)
        );
    }

    out.push_str("\n## Writes\n\n");
    let w = &m.writes;
    let _ = writeln!(
        out,
        "{} acknowledged POSTs read back (no cache, after their GTID): {} present, {} missing, {} unverified.",
        w.acknowledged, w.present, w.missing, w.unverified
    );
    for (what, ids) in [("Missing", &w.missing_ids), ("Unverified", &w.unverified_ids)] {
        if !ids.is_empty() {
            let shown: Vec<String> = ids.iter().take(50).map(u64::to_string).collect();
            let more = if ids.len() > 50 { format!(" and {} more", ids.len() - 50) } else { String::new() };
            let _ = writeln!(out, "\n{what} ids: {}{more}.", shown.join(", "));
        }
    }
    out.push_str("\nEvery request is in `report.json` (`requests`).\n");
    out
}

/// `refused: 3, 503: 2`, or `-`.
/// The watched processes: samples, growth of RSS and descriptors.
fn resources(out: &mut String, r: &Report) {
    if r.watched.is_empty() {
        return;
    }
    let c = &r.config;
    let _ = writeln!(
        out,
        "\n## Resources\n\nSampled every {}; after a warm-up of {}, the median of each {} window is compared \
         with the first window's (every sample: resources.csv).\n",
        Dur(c.sample_every),
        Dur(c.warmup),
        Dur(c.effective_window())
    );
    out.push_str("| process | pid | samples | RSS | open descriptors | problem |\n|---|---:|---:|---|---|---|\n");
    for w in &r.watched {
        let growth =
            |g: Option<crate::resources::Growth>| g.map_or_else(|| "not measured".to_string(), |g| g.describe());
        let pid = w.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
        let _ = writeln!(
            out,
            "| {} | {pid} | {} | {} | {} | {} |",
            w.name,
            w.samples,
            growth(w.rss),
            growth(w.fds),
            w.problem.as_deref().unwrap_or("")
        );
    }
}

/// The repeated commands, one row each: runs, failures, slowest.
fn repeated(out: &mut String, r: &Report) {
    if r.config.repeat.is_empty() {
        return;
    }
    out.push_str("\n## Repeated commands\n\nOutput of every run in commands/.\n\n");
    out.push_str(
        "| repeat | command | schedule | runs | undone | failed | slowest |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for rep in &r.config.repeat {
        let prefix = format!("{}.", rep.name);
        let runs: Vec<_> = r.repeated.iter().filter(|c| c.label.starts_with(&prefix)).collect();
        let failed = runs.iter().filter(|c| !c.ok).count();
        let undone = runs.iter().filter(|c| c.label.ends_with(".undo")).count();
        let slowest = runs.iter().map(|c| c.end_ms - c.start_ms).fold(0.0, f64::max);
        let mut schedule = match rep.every {
            Some(every) => format!("from {} every {every}", rep.at),
            None => format!("at {}", rep.at),
        };
        if let (Some(undo), Some(after)) = (&rep.undo, rep.undo_after) {
            schedule.push_str(&format!(", undone {after} later by `{undo}`"));
        }
        let _ = writeln!(
            out,
            "| {} | `{}` | {schedule} | {} | {undone} | {failed} | {} |",
            rep.name,
            rep.run,
            runs.len() - undone,
            human_ms(slowest)
        );
    }
}

fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "-".to_string();
    }
    map.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ")
}

/// `410 ms, 0.992-1.402 s`, or `none`. A normal gap is one request interval.
fn stall_where(stall: Option<Stall>) -> String {
    stall.map_or_else(
        || "none".to_string(),
        |s| format!("{}, {:.3}-{:.3} s", human_ms(s.duration_ms), s.start_ms / 1000.0, s.end_ms / 1000.0),
    )
}

/// `5 (get-list 4, post 1)`, or `0`.
fn slow_text(m: &crate::analysis::Metrics) -> String {
    let kinds: Vec<String> =
        m.by_kind.iter().filter(|(_, s)| s.slow > 0).map(|(kind, s)| format!("{kind} {}", s.slow)).collect();
    if kinds.is_empty() {
        m.slow.to_string()
    } else {
        format!("{} ({})", m.slow, kinds.join(", "))
    }
}

fn windows(out: &mut String, windows: &[Window]) {
    if windows.is_empty() {
        out.push_str("None: there were no failures.\n");
        return;
    }
    out.push_str("| from s | to s | length | failures |\n|---:|---:|---:|---:|\n");
    for w in windows.iter().take(MAX_WINDOW_ROWS) {
        let open = if w.open { " (still open at the end)" } else { "" };
        let _ = writeln!(
            out,
            "| {:.3} | {:.3}{open} | {} | {} |",
            w.start_ms / 1000.0,
            w.end_ms / 1000.0,
            human_ms(w.duration_ms),
            w.failures
        );
    }
    if windows.len() > MAX_WINDOW_ROWS {
        let _ = writeln!(out, "\n{} more windows in `report.json`.", windows.len() - MAX_WINDOW_ROWS);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn the_summary_names_verdict_budgets_windows_and_servers() {
        let text = render(&sample());
        assert!(text.starts_with("# Drill `lb-tandem-kill`: FAIL"), "{text}");
        assert!(text.contains("| `failed_reads` | 0 | 50 | **FAIL** |"), "{text}");
        assert!(text.contains("| `takeover_window` | 1s | 400 ms | PASS |"), "{text}");
        assert!(text.contains("| `missing_writes` (default) | 0 | 0 | PASS |"), "{text}");
        assert!(text.contains("| takeover window (opened during the fault) | 400 ms |"), "{text}");
        assert!(
            text.contains("| longest stall (no request completed successfully) | 410 ms, 0.992-1.402 s |"),
            "{text}"
        );
        assert!(text.contains("| takeover stall (overlapping fault to recovery) | 410 ms, 0.992-1.402 s |"), "{text}");
        assert!(
            text.contains("| failback stall (overlapping recovery to the end) | 110 ms, 2.192-2.302 s |"),
            "{text}"
        );
        assert!(text.contains("| slow successes (over 500ms) | 5 (get-list 4, post 1) |"), "{text}");
        assert!(text.contains("| 1.000 | 1.400 | 400 ms | 40 |"), "{text}");
        assert!(text.contains("| get-list | "), "{text}");
        assert!(text.contains("refused: 50"), "{text}");
        assert!(text.contains("| before-fault | 0.00 | 1.00 | 100 | 0 | 100.0 |"), "{text}");
        let lbs = "Balancers (X-Tandem-Node): 0.0-1.0 s lb1 (100), 1.4-2.2 s lb2 (80), 2.3-3.0 s lb1 (70)";
        assert!(text.contains(lbs), "{text}");
        assert!(text.contains("| fault | `deploy/lab kill lb1/tandem` at 1.00 s"), "{text}");
        assert!(text.contains("2 acknowledged POSTs read back"), "{text}");
    }

    #[test]
    fn without_a_fault_there_is_no_takeover_stall_and_no_slow_success_is_0() {
        let mut report = sample();
        report.metrics.stalls.takeover = None;
        report.metrics.stalls.failback = None;
        for stats in report.metrics.by_kind.values_mut() {
            stats.slow = 0;
        }
        report.metrics.slow = 0;
        let text = render(&report);
        assert!(text.contains("| takeover stall (overlapping fault to recovery) | none |"), "{text}");
        assert!(text.contains("| slow successes (over 500ms) | 0 |"), "{text}");
    }

    #[test]
    fn a_clean_run_says_there_were_no_windows() {
        let mut report = sample();
        report.metrics.windows.insert("overall", Vec::new());
        assert!(render(&report).contains("there were no failures"));
    }
}
