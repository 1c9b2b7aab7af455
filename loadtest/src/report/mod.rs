//! A run's report: what was asked, what happened, the verdict; written as
//! `report.json` (everything, for tools), `report.md` (for people) and
//! `timeline.svg` (the run at a glance).

pub mod json;
pub mod markdown;
pub mod suite;
pub mod svg;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::stalls::Stall;
use crate::analysis::windows::Window;
use crate::analysis::Metrics;
use crate::budget::Check;
use crate::command::CommandRun;
use crate::config::{Repeat, RunConfig};
use crate::duration::human_ms;
use crate::record::Record;
use crate::resources::{self, Series, Watched};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        }
    }
}

/// How the load generator itself fared.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadInfo {
    /// When the load stopped, ms from the start.
    pub end_ms: f64,
    /// Slots skipped because the generator fell a whole interval behind.
    pub skipped_slots: u64,
    /// Slots not sent because `max_in_flight` requests were outstanding.
    pub overloaded: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub name: String,
    /// Also the marker in every POSTed address: `drill <run_id> #<seq>`.
    pub run_id: String,
    pub url: String,
    pub started_at: String,
    pub config: RunConfig,
    /// settle, fault and recover, as they ran.
    pub commands: Vec<CommandRun>,
    /// Every run of the repeated commands, in start order.
    pub repeated: Vec<CommandRun>,
    /// The watched processes and how much they grew.
    pub watched: Vec<Watched>,
    pub interrupted: bool,
    pub load: LoadInfo,
    pub metrics: Metrics,
    pub budgets: Vec<Check>,
    /// Reasons for FAIL besides budgets: a command failed, the run was interrupted.
    pub problems: Vec<String>,
    /// Things that make the numbers less trustworthy without failing the run.
    pub warnings: Vec<String>,
    pub verdict: Verdict,
    #[serde(skip)]
    pub records: Vec<Record>,
    /// Every sample of the watched processes (resources.csv).
    #[serde(skip)]
    pub series: Vec<Series>,
}

impl Report {
    /// One line for the terminal.
    pub fn one_line(&self) -> String {
        let m = &self.metrics;
        let failed_budgets: Vec<&str> = self.budgets.iter().filter(|c| !c.pass).map(|c| c.key).collect();
        let mut line = format!(
"{} {}: {} failed reads, {} failed writes, longest window {}, takeover {}, failback {}, takeover stall {}, \
             {}/{} writes missing",
            self.verdict.word(),
            self.name,
            m.failed_reads,
            m.failed_writes,
            window_text(m.longest.overall),
            window_text(m.longest.takeover),
            window_text(m.longest.failback),
            stall_text(m.stalls.takeover),
            m.writes.missing,
            m.writes.acknowledged,
        );
        if !failed_budgets.is_empty() {
            line.push_str(&format!("; over budget: {}", failed_budgets.join(", ")));
        }
        if !self.problems.is_empty() {
            line.push_str(&format!("; {}", self.problems.join("; ")));
        }
        line
    }
}

/// A window's length, or `none`.
pub fn window_text(window: Option<Window>) -> String {
    window.map_or_else(|| "none".to_string(), |w| human_ms(w.duration_ms))
}

/// A stall's length, or `none`.
pub fn stall_text(stall: Option<Stall>) -> String {
    stall.map_or_else(|| "none".to_string(), |s| human_ms(s.duration_ms))
}

/// Problems (which fail the run) and warnings (which do not).
pub fn assess(
    commands: &[CommandRun],
    interrupted: bool,
    load: &LoadInfo,
    metrics: &Metrics,
    post_share: f64,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    for command in commands.iter().filter(|c| !c.ok) {
        problems.push(format!("{} command `{}` failed: {}", command.label, command.command, command.status));
    }
    if interrupted {
        problems.push("interrupted before the end of the load".to_string());
    }
    let mut warnings = Vec::new();
    if load.skipped_slots > 0 {
        warnings.push(format!(
            "the generator fell behind and skipped {} slots: the rate was lower than asked",
            load.skipped_slots
        ));
    }
    if load.overloaded > 0 {
        warnings.push(format!(
            "{} requests were not sent because max_in_flight were outstanding (counted as failures)",
            load.overloaded
        ));
    }
    if post_share > 0.0 && metrics.writes.acknowledged == 0 && metrics.requests > 0 {
        warnings.push("no POST was acknowledged: nothing to read back, durability unchecked".to_string());
    }
    (problems, warnings)
}

/// One problem per repeat with failed runs: how many, and the first.
pub fn repeat_problems(repeats: &[Repeat], runs: &[CommandRun]) -> Vec<String> {
    let mut problems = Vec::new();
    for r in repeats {
        let prefix = format!("{}.", r.name);
        let mine: Vec<&CommandRun> = runs.iter().filter(|c| c.label.starts_with(&prefix)).collect();
        let failed: Vec<&&CommandRun> = mine.iter().filter(|c| !c.ok).collect();
        if let Some(first) = failed.first() {
            problems.push(format!(
                "repeat `{}`: {} of {} runs failed (first: {} `{}`: {}, output in commands/)",
                r.name,
                failed.len(),
                mine.len(),
                first.label,
                first.command,
                first.status
            ));
        }
    }
    problems
}

/// PASS when every budget holds and there is no problem.
pub fn verdict(checks: &[Check], problems: &[String]) -> Verdict {
    if problems.is_empty() && checks.iter().all(|c| c.pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

/// Writes report.json, report.md and timeline.svg into `dir`; returns report.md's path.
pub fn write_all(dir: &Path, report: &Report) -> std::io::Result<PathBuf> {
    std::fs::write(dir.join("report.json"), json::render(report)?)?;
    std::fs::write(dir.join("timeline.svg"), svg::render(report))?;
    if !report.series.is_empty() {
        std::fs::write(dir.join("resources.csv"), resources::csv(&report.series))?;
    }
    let markdown = dir.join("report.md");
    std::fs::write(&markdown, markdown::render(report))?;
    Ok(markdown)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub mod tests;
