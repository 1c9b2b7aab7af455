//! The suite file: defaults plus a list of scenarios, each becoming one
//! [`RunConfig`]. Unknown keys are errors that name their path
//! (`scenarios[2].budgets: unknown field ...`), so a typo never silently turns
//! a budget off.
//!
//! ```yaml
//! defaults:            # every key optional; a scenario's own value wins
//!   rate: 100          # req/s
//!   duration: 15s
//!   fault_at: 5s       # used by scenarios that have a fault
//!   recover_at: 10s    # used by scenarios that have a recover
//!   post_share: 0.2
//!   timeout: 1s
//!   slow: 500ms        # a success slower than this counts as slow
//!   max_in_flight: 256
//!   command_timeout: 60s
//!   readback_delay: 1s
//!   settle: "deploy/lab wait-ready"
//!   # A soak's keys (loadtest/suites/soak.yaml): commands on a schedule, and
//!   # processes whose RSS and open descriptors are sampled.
//!   repeat:            # each: name, run, at (default 0s), every, undo + undo_after
//!     - {name: reload, run: "deploy/lab reload lb1", every: 10s}
//!     - {name: app-kill, run: "deploy/lab kill app1", at: 5s, every: 20s,
//!        undo: "deploy/lab start app1", undo_after: 5s}
//!   watch: [{name: lb1/tandem, pid: "deploy/lab pid lb1/tandem"}]
//!   sample_every: 1s
//!   warmup: 20s        # samples before this are not compared
//!   window: 20s        # default: the longest `every`
//!   budgets: {missing_writes: 0}   # merged key by key with the scenario's
//!                                  # (rss_growth: 10%, fd_growth: 10%)
//! scenarios:
//!   - name: app-kill   # letters, digits, . _ - (names the report directory)
//!     fault: "deploy/lab kill app1"
//!     recover: "deploy/lab start app1"
//!     settle: "deploy/lab wait-ready"
//!     budgets: {failed_reads: 0}
//!     # and any key of `defaults` except budgets merging: rate, duration, ...
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::budget::Budgets;
use crate::config::{Commands, Repeat, RunConfig, Watch};
use crate::duration::Dur;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub rate: Option<f64>,
    pub duration: Option<Dur>,
    pub fault_at: Option<Dur>,
    pub recover_at: Option<Dur>,
    pub post_share: Option<f64>,
    pub timeout: Option<Dur>,
    pub slow: Option<Dur>,
    pub max_in_flight: Option<usize>,
    pub command_timeout: Option<Dur>,
    pub readback_delay: Option<Dur>,
    pub settle: Option<String>,
    pub repeat: Option<Vec<Repeat>>,
    pub watch: Option<Vec<Watch>>,
    pub sample_every: Option<Dur>,
    pub warmup: Option<Dur>,
    pub window: Option<Dur>,
    #[serde(default)]
    pub budgets: Budgets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub fault: Option<String>,
    pub recover: Option<String>,
    pub settle: Option<String>,
    pub rate: Option<f64>,
    pub duration: Option<Dur>,
    pub fault_at: Option<Dur>,
    pub recover_at: Option<Dur>,
    pub post_share: Option<f64>,
    pub timeout: Option<Dur>,
    pub slow: Option<Dur>,
    pub max_in_flight: Option<usize>,
    pub command_timeout: Option<Dur>,
    pub readback_delay: Option<Dur>,
    pub repeat: Option<Vec<Repeat>>,
    pub watch: Option<Vec<Watch>>,
    pub sample_every: Option<Dur>,
    pub warmup: Option<Dur>,
    pub window: Option<Dur>,
    #[serde(default)]
    pub budgets: Budgets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    #[serde(default)]
    pub defaults: Defaults,
    pub scenarios: Vec<Scenario>,
}

/// Reads a suite file's text. serde_yaml's errors already name the key path
/// and position: `scenarios[1].budgets: unknown field ... at line 5 column 15`.
pub fn parse(text: &str) -> Result<Suite, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// One validated config per scenario, in file order, keeping those named in
/// `only` (all when empty). `lb_header` comes from the command line.
pub fn configs(suite: &Suite, only: &[String], lb_header: &str) -> Result<Vec<RunConfig>, Vec<String>> {
    let mut errors = Vec::new();
    if suite.scenarios.is_empty() {
        errors.push("scenarios: the list is empty".to_string());
    }
    let names: Vec<&str> = suite.scenarios.iter().map(|s| s.name.as_str()).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            errors.push(format!("scenarios[{i}].name: `{name}` is used twice"));
        }
    }
    for wanted in only {
        if !names.contains(&wanted.as_str()) {
            errors.push(format!("--only: no scenario named `{wanted}` (have: {})", names.join(", ")));
        }
    }
    let mut configs = Vec::new();
    for (i, scenario) in suite.scenarios.iter().enumerate() {
        if !only.is_empty() && !only.contains(&scenario.name) {
            continue;
        }
        match config(&suite.defaults, scenario, lb_header) {
            Ok(config) => configs.push(config),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|p| format!("scenarios[{i}] ({}): {p}", scenario.name)))
            }
        }
    }
    if errors.is_empty() {
        Ok(configs)
    } else {
        Err(errors)
    }
}

fn config(d: &Defaults, s: &Scenario, lb_header: &str) -> Result<RunConfig, Vec<String>> {
    let mut c = RunConfig::with_defaults(&s.name);
    let dur = |own: Option<Dur>, default: Option<Dur>, base: Duration| own.or(default).map_or(base, |d| d.0);
    c.rate = s.rate.or(d.rate).unwrap_or(c.rate);
    c.duration = dur(s.duration, d.duration, c.duration);
    c.post_share = s.post_share.or(d.post_share).unwrap_or(c.post_share);
    c.timeout = dur(s.timeout, d.timeout, c.timeout);
    c.slow = dur(s.slow, d.slow, c.slow);
    c.max_in_flight = s.max_in_flight.or(d.max_in_flight).unwrap_or(c.max_in_flight);
    c.command_timeout = dur(s.command_timeout, d.command_timeout, c.command_timeout);
    c.readback_delay = dur(s.readback_delay, d.readback_delay, c.readback_delay);
    c.lb_header = lb_header.to_string();
    c.settle = s.settle.clone().or_else(|| d.settle.clone());
    c.repeat = s.repeat.clone().or_else(|| d.repeat.clone()).unwrap_or_default();
    c.watch = s.watch.clone().or_else(|| d.watch.clone()).unwrap_or_default();
    c.sample_every = dur(s.sample_every, d.sample_every, c.sample_every);
    c.warmup = dur(s.warmup, d.warmup, c.warmup);
    c.window = s.window.or(d.window).map(|w| w.0);
    c.budgets = d.budgets.overridden_by(&s.budgets);
    // Default times apply only to the commands a scenario has: a baseline
    // scenario without a fault inherits no fault_at.
    let at = |has: bool, own: Option<Dur>, default: Option<Dur>| {
        if has {
            own.or(default).map(|d| d.0)
        } else {
            own.map(|d| d.0)
        }
    };
    let commands = Commands {
        fault_at: at(s.fault.is_some(), s.fault_at, d.fault_at),
        fault: s.fault.clone(),
        recover_at: at(s.recover.is_some(), s.recover_at, d.recover_at),
        recover: s.recover.clone(),
    };
    c.validated(commands)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
