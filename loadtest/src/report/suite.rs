//! `suite.md` and `suite.json`: one row per scenario, linking its report.

use std::fmt::Write;

use serde::Serialize;

use super::{Report, Verdict};
use crate::analysis::{stall_ms, window_ms};
use crate::duration::human_ms;

/// One scenario's line in the suite summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// The scenario's directory, relative to the suite's.
    pub dir: String,
    pub verdict: Verdict,
    /// Set when the scenario produced no report (not run, or could not write one).
    pub error: Option<String>,
    pub failed_reads: u64,
    pub failed_writes: u64,
    pub longest_window_ms: f64,
    pub takeover_window_ms: f64,
    pub failback_window_ms: f64,
    /// Longest time without a successful completion overlapping the fault (0: none).
    pub takeover_stall_ms: f64,
    /// The same from the recovery to the load's end (0: none).
    pub failback_stall_ms: f64,
    pub time_to_recover_ms: f64,
    pub writes_acknowledged: u64,
    pub writes_missing: u64,
    pub writes_unverified: u64,
    /// Keys of the budgets that failed, then the problems.
    pub failed_checks: Vec<String>,
}

impl Row {
    pub fn from_report(report: &Report, dir: &str) -> Row {
        let m = &report.metrics;
        let mut failed_checks: Vec<String> =
            report.budgets.iter().filter(|c| !c.pass).map(|c| c.key.to_string()).collect();
        failed_checks.extend(report.problems.iter().cloned());
        Row {
            name: report.name.clone(),
            dir: dir.to_string(),
            verdict: report.verdict,
            error: None,
            failed_reads: m.failed_reads,
            failed_writes: m.failed_writes,
            longest_window_ms: window_ms(m.longest.overall),
            takeover_window_ms: window_ms(m.longest.takeover),
            failback_window_ms: window_ms(m.longest.failback),
            takeover_stall_ms: stall_ms(m.stalls.takeover),
            failback_stall_ms: stall_ms(m.stalls.failback),
            time_to_recover_ms: m.time_to_recover_ms,
            writes_acknowledged: m.writes.acknowledged,
            writes_missing: m.writes.missing,
            writes_unverified: m.writes.unverified,
            failed_checks,
        }
    }

    /// A scenario that has no report: FAIL, with why.
    pub fn failed(name: &str, dir: &str, error: String) -> Row {
        Row {
            name: name.to_string(),
            dir: dir.to_string(),
            verdict: Verdict::Fail,
            error: Some(error),
            failed_reads: 0,
            failed_writes: 0,
            longest_window_ms: 0.0,
            takeover_window_ms: 0.0,
            failback_window_ms: 0.0,
            takeover_stall_ms: 0.0,
            failback_stall_ms: 0.0,
            time_to_recover_ms: 0.0,
            writes_acknowledged: 0,
            writes_missing: 0,
            writes_unverified: 0,
            failed_checks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    pub tool: &'static str,
    pub file: String,
    pub url: String,
    pub started_at: String,
    pub verdict: Verdict,
    pub scenarios: Vec<Row>,
}

/// FAIL when any scenario failed or had no report.
pub fn verdict(rows: &[Row]) -> Verdict {
    if rows.iter().all(|r| r.verdict == Verdict::Pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

pub fn render_markdown(suite: &SuiteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Drill suite `{}`: {}\n", suite.file, suite.verdict.word());
    let _ = writeln!(out, "Started {} against {}.\n", suite.started_at, suite.url);
    out.push_str(
        "| scenario | failed reads | failed writes | longest window | takeover | failback | takeover stall | failback stall \
         | recover | lost writes | verdict | report |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for r in &suite.scenarios {
        let verdict = match (&r.error, r.verdict) {
            (Some(error), _) => format!("**FAIL**: {error}"),
            (None, Verdict::Pass) => "PASS".to_string(),
            (None, Verdict::Fail) => format!("**FAIL** ({})", r.failed_checks.join("; ")),
        };
        let lost = if r.writes_unverified > 0 {
            format!("{}/{} ({} unverified)", r.writes_missing, r.writes_acknowledged, r.writes_unverified)
        } else {
            format!("{}/{}", r.writes_missing, r.writes_acknowledged)
        };
        let link = if r.error.is_some() { "-".to_string() } else { format!("[report]({}/report.md)", r.dir) };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {lost} | {verdict} | {link} |",
            r.name,
            r.failed_reads,
            r.failed_writes,
            human_ms(r.longest_window_ms),
            human_ms(r.takeover_window_ms),
            human_ms(r.failback_window_ms),
            human_ms(r.takeover_stall_ms),
            human_ms(r.failback_stall_ms),
            human_ms(r.time_to_recover_ms),
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    fn suite(rows: Vec<Row>) -> SuiteReport {
        SuiteReport {
            tool: "drill",
            file: "lab.yaml".into(),
            url: "http://vip/".into(),
            started_at: "t".into(),
            verdict: verdict(&rows),
            scenarios: rows,
        }
    }

    #[test]
    fn rows_summarise_each_report() {
        let row = Row::from_report(&sample(), "lb-tandem-kill");
        assert_eq!((row.failed_reads, row.takeover_window_ms, row.failback_window_ms), (50, 400.0, 100.0));
        assert_eq!((row.takeover_stall_ms, row.failback_stall_ms), (410.0, 110.0));
        assert_eq!(row.failed_checks, ["failed_reads"]);
        assert_eq!(row.verdict, Verdict::Fail);
    }

    #[test]
    fn the_table_links_reports_and_explains_failures() {
        let rows = vec![
            Row::from_report(&sample(), "lb-tandem-kill"),
            Row::failed("lb-cut", "lb-cut", "settle failed".into()),
        ];
        let text = render_markdown(&suite(rows));
        assert!(text.starts_with("# Drill suite `lab.yaml`: FAIL"), "{text}");
        assert!(
            text.contains("| scenario | failed reads | failed writes | longest window | takeover | failback | takeover stall | failback stall | recover | lost writes | verdict | report |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"),
            "{text}"
        );
        assert!(
            text.contains("| lb-tandem-kill | 50 | 0 | 400 ms | 400 ms | 100 ms | 410 ms | 110 ms | 400 ms | 0/2 | **FAIL** (failed_reads) | [report](lb-tandem-kill/report.md) |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| lb-cut | 0 | 0 | 0 ms | 0 ms | 0 ms | 0 ms | 0 ms | 0 ms | 0/0 | **FAIL**: settle failed | - |"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_suite_passes_only_when_every_scenario_passes() {
        let mut pass = Row::from_report(&sample(), "a");
        pass.verdict = Verdict::Pass;
        assert_eq!(verdict(&[pass.clone()]), Verdict::Pass);
        assert_eq!(verdict(&[pass, Row::failed("b", "b", "x".into())]), Verdict::Fail);
        let json = serde_json::to_value(suite(vec![])).unwrap();
        assert_eq!(json["verdict"], "PASS");
    }
}
