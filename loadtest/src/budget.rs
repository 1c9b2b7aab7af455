//! Budgets: limits a drill must stay within (`--budget KEY=VALUE`, or
//! `budgets:` in a suite file). Every limit is inclusive: `failed_reads=0`
//! passes with 0 failed reads. A violated budget fails the run (exit 1).
//!
//! `missing_writes` and `unverified_writes` default to 0 even when not given:
//! losing an acknowledged write, or being unable to prove it was kept, fails a
//! drill unless a budget says otherwise.

use serde::{Deserialize, Serialize};

use crate::analysis::{stall_ms, window_ms, Metrics};
use crate::duration::{human_ms, Dur};
use crate::percent::Percent;
use crate::resources::Growth;

/// Every budget key, in report order.
pub const KEYS: [&str; 20] = [
    "failed_reads",
    "failed_writes",
    "failed",
    "error_window",
    "read_window",
    "write_window",
    "takeover_window",
    "failback_window",
    "failback_le_takeover",
    "stall",
    "takeover_stall",
    "failback_stall",
    "failback_stall_le_takeover",
    "failback_slack",
    "recover",
    "missing_writes",
    "unverified_writes",
    "overload",
    "rss_growth",
    "fd_growth",
];

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Failed get-list + get-id requests.
    pub failed_reads: Option<u64>,
    /// Failed posts.
    pub failed_writes: Option<u64>,
    /// All failed requests.
    pub failed: Option<u64>,
    /// Longest error window over all requests.
    pub error_window: Option<Dur>,
    /// Longest error window over reads only.
    pub read_window: Option<Dur>,
    /// Longest error window over writes only.
    pub write_window: Option<Dur>,
    /// Longest window opened between the fault's start and the recovery's start.
    pub takeover_window: Option<Dur>,
    /// Longest window opened at or after the recovery's start.
    pub failback_window: Option<Dur>,
    /// `true`: the failback window may not exceed the takeover window plus one
    /// request interval (1/rate), so handing back costs no more than taking over.
    pub failback_le_takeover: Option<bool>,
    /// Longest stall: the longest time during which no request completed successfully.
    pub stall: Option<Dur>,
    /// Longest stall overlapping `[fault start, recovery start)`.
    pub takeover_stall: Option<Dur>,
    /// Longest stall overlapping `[recovery start, load end]`.
    pub failback_stall: Option<Dur>,
    /// `true`: the failback stall may not exceed the takeover stall plus one
    /// request interval (1/rate), as `failback_le_takeover` for windows.
    pub failback_stall_le_takeover: Option<bool>,
    /// The "no more than" of both `*_le_takeover` budgets. Default: one
    /// request interval (1/rate). A VIP move can cut the few connections in
    /// flight at that instant whichever way it goes, so a suite that compares
    /// a takeover with 0 failures against a failback with one isolated cut
    /// connection sets a few intervals here (e.g. 50ms) rather than failing.
    pub failback_slack: Option<Dur>,
    /// Time to recover (fault start to the close of the last takeover window).
    pub recover: Option<Dur>,
    /// Acknowledged writes read back as gone. Default 0.
    pub missing_writes: Option<u64>,
    /// Acknowledged writes that could not be read back at all. Default 0.
    pub unverified_writes: Option<u64>,
    /// Requests not sent because `--max-in-flight` were outstanding.
    pub overload: Option<u64>,
    /// How far the resident memory of each watched process may rise: the
    /// median of any window after warm-up against the first such window's.
    pub rss_growth: Option<Percent>,
    /// The same for its open file descriptors.
    pub fd_growth: Option<Percent>,
}

impl Budgets {
    /// Sets one budget from `KEY=VALUE` text, as `--budget` gives it.
    pub fn set(&mut self, pair: &str) -> Result<(), String> {
        let (key, value) = pair.split_once('=').ok_or_else(|| format!("`{pair}`: expected KEY=VALUE"))?;
        let (key, value) = (key.trim(), value.trim());
        let count = || value.parse::<u64>().map_err(|_| format!("budget {key}: `{value}` is not a count"));
        let dur = || value.parse::<Dur>().map_err(|e| format!("budget {key}: {e}"));
        let flag = || value.parse::<bool>().map_err(|_| format!("budget {key}: `{value}` is not true or false"));
        match key {
            "failed_reads" => self.failed_reads = Some(count()?),
            "failed_writes" => self.failed_writes = Some(count()?),
            "failed" => self.failed = Some(count()?),
            "error_window" => self.error_window = Some(dur()?),
            "read_window" => self.read_window = Some(dur()?),
            "write_window" => self.write_window = Some(dur()?),
            "takeover_window" => self.takeover_window = Some(dur()?),
            "failback_window" => self.failback_window = Some(dur()?),
            "failback_le_takeover" => self.failback_le_takeover = Some(flag()?),
            "stall" => self.stall = Some(dur()?),
            "takeover_stall" => self.takeover_stall = Some(dur()?),
            "failback_stall" => self.failback_stall = Some(dur()?),
            "failback_stall_le_takeover" => self.failback_stall_le_takeover = Some(flag()?),
            "failback_slack" => self.failback_slack = Some(dur()?),
            "recover" => self.recover = Some(dur()?),
            "missing_writes" => self.missing_writes = Some(count()?),
            "unverified_writes" => self.unverified_writes = Some(count()?),
            "overload" => self.overload = Some(count()?),
            "rss_growth" => self.rss_growth = Some(value.parse().map_err(|e| format!("budget {key}: {e}"))?),
            "fd_growth" => self.fd_growth = Some(value.parse().map_err(|e| format!("budget {key}: {e}"))?),
            _ => return Err(format!("unknown budget `{key}` (known: {})", KEYS.join(", "))),
        }
        Ok(())
    }

    /// `self` with every budget `over` sets replaced (suite defaults, then the scenario's).
    pub fn overridden_by(&self, over: &Budgets) -> Budgets {
        Budgets {
            failed_reads: over.failed_reads.or(self.failed_reads),
            failed_writes: over.failed_writes.or(self.failed_writes),
            failed: over.failed.or(self.failed),
            error_window: over.error_window.or(self.error_window),
            read_window: over.read_window.or(self.read_window),
            write_window: over.write_window.or(self.write_window),
            takeover_window: over.takeover_window.or(self.takeover_window),
            failback_window: over.failback_window.or(self.failback_window),
            failback_le_takeover: over.failback_le_takeover.or(self.failback_le_takeover),
            stall: over.stall.or(self.stall),
            takeover_stall: over.takeover_stall.or(self.takeover_stall),
            failback_stall: over.failback_stall.or(self.failback_stall),
            failback_stall_le_takeover: over.failback_stall_le_takeover.or(self.failback_stall_le_takeover),
            failback_slack: over.failback_slack.or(self.failback_slack),
            recover: over.recover.or(self.recover),
            missing_writes: over.missing_writes.or(self.missing_writes),
            unverified_writes: over.unverified_writes.or(self.unverified_writes),
            overload: over.overload.or(self.overload),
            rss_growth: over.rss_growth.or(self.rss_growth),
            fd_growth: over.fd_growth.or(self.fd_growth),
        }
    }
}

/// clap's parser for `--budget`: the pair is checked at startup, kept as text.
pub fn parse_pair(pair: &str) -> Result<String, String> {
    Budgets::default().set(pair).map(|()| pair.to_string())
}

/// One budget against the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub key: &'static str,
    pub limit: String,
    pub actual: String,
    pub pass: bool,
    /// True for the defaults nobody set (`missing_writes`, `unverified_writes`).
    pub implicit: bool,
}

/// Checks every budget set (plus the implicit write budgets) against `metrics`;
/// `rate` is the request rate, for the default slack (one interval) of
/// `failback_le_takeover` and `failback_stall_le_takeover`.
pub fn check(budgets: &Budgets, metrics: &Metrics, overloaded: u64, rate: f64) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut count = |key, limit: Option<u64>, actual: u64, implicit_default: Option<u64>| {
        if let Some(max) = limit.or(implicit_default) {
            let implicit = limit.is_none();
            checks.push(Check {
                key,
                limit: max.to_string(),
                actual: actual.to_string(),
                pass: actual <= max,
                implicit,
            });
        }
    };
    count("failed_reads", budgets.failed_reads, metrics.failed_reads, None);
    count("failed_writes", budgets.failed_writes, metrics.failed_writes, None);
    count("failed", budgets.failed, metrics.failed, None);
    count("missing_writes", budgets.missing_writes, metrics.writes.missing, Some(0));
    count("unverified_writes", budgets.unverified_writes, metrics.writes.unverified, Some(0));
    count("overload", budgets.overload, overloaded, None);

    let longest = &metrics.longest;
    let durations = [
        ("error_window", budgets.error_window, window_ms(longest.overall)),
        ("read_window", budgets.read_window, window_ms(longest.reads)),
        ("write_window", budgets.write_window, window_ms(longest.writes)),
        ("takeover_window", budgets.takeover_window, window_ms(longest.takeover)),
        ("failback_window", budgets.failback_window, window_ms(longest.failback)),
        ("stall", budgets.stall, stall_ms(metrics.stalls.overall)),
        ("takeover_stall", budgets.takeover_stall, stall_ms(metrics.stalls.takeover)),
        ("failback_stall", budgets.failback_stall, stall_ms(metrics.stalls.failback)),
        ("recover", budgets.recover, metrics.time_to_recover_ms),
    ];
    for (key, limit, actual) in durations {
        if let Some(limit) = limit {
            let pass = actual <= limit.ms();
            checks.push(Check { key, limit: limit.to_string(), actual: human_ms(actual), pass, implicit: false });
        }
    }
    let one_interval = if rate > 0.0 { 1000.0 / rate } else { 0.0 };
    let slack = budgets.failback_slack.map_or(one_interval, |d| d.ms());
    let no_worse = |key, what: &str, failback: f64, takeover: f64| Check {
        key,
        limit: format!("failback{what} <= takeover{what} + {}", human_ms(slack)),
        actual: format!("failback{what} {} vs takeover{what} {}", human_ms(failback), human_ms(takeover)),
        pass: failback <= takeover + slack,
        implicit: false,
    };
    if budgets.failback_le_takeover == Some(true) {
        let (failback, takeover) = (window_ms(longest.failback), window_ms(longest.takeover));
        checks.push(no_worse("failback_le_takeover", "", failback, takeover));
    }
    if budgets.failback_stall_le_takeover == Some(true) {
        let (failback, takeover) = (stall_ms(metrics.stalls.failback), stall_ms(metrics.stalls.takeover));
        checks.push(no_worse("failback_stall_le_takeover", " stall", failback, takeover));
    }
    checks.sort_by_key(|c| KEYS.iter().position(|k| *k == c.key));
    checks
}

/// The growth budgets against each watched process: one check per process
/// and budget; a process without a measured growth (it exited, or too few
/// samples) fails its check.
pub fn check_growth(budgets: &Budgets, processes: &[(String, Option<Growth>, Option<Growth>)]) -> Vec<Check> {
    let mut checks = Vec::new();
    for (key, limit, pick) in [("rss_growth", budgets.rss_growth, 0), ("fd_growth", budgets.fd_growth, 1)] {
        let Some(limit) = limit else { continue };
        for (name, rss, fds) in processes {
            let growth = if pick == 0 { rss } else { fds };
            let (actual, pass) = match growth {
                Some(g) => (format!("{name}: {}", g.describe()), g.percent() <= limit.0),
                None => (format!("{name}: not measured"), false),
            };
            checks.push(Check { key, limit: limit.to_string(), actual, pass, implicit: false });
        }
    }
    checks
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
