//! One drill run's settings, with their defaults, and the rules that make a
//! set of settings a run worth starting. The CLI and the suite file both end
//! here, so both refuse the same mistakes with the same words.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::budget::Budgets;
use crate::duration::Dur;

/// 100 req/s: a 10 ms resolution for windows, light enough for a 2-core lab.
pub const DEFAULT_RATE: f64 = 100.0;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(15);
/// 20% POSTs: enough acknowledged writes (about 300 per 15 s run) to catch a loss.
pub const DEFAULT_POST_SHARE: f64 = 0.2;
/// 1 s per request, connect included: a VIP takeover shows as timeouts, not hangs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// A success slower than this is counted as slow: far above a healthy request
/// (milliseconds), below TCP's first SYN retransmission (1 s), so every request
/// that had to wait for one counts.
pub const DEFAULT_SLOW: Duration = Duration::from_millis(500);
/// Outstanding requests; at 100 req/s and 1 s timeout at most ~100 are ever in flight.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// A fault, recovery or settle command over this is killed (with its process group).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between the end of load (and recovery) and the write read-back.
pub const DEFAULT_READBACK_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_LB_HEADER: &str = "X-Tandem-Node";
/// One sample per second of every watched process: 600 in a 10-minute soak.
pub const DEFAULT_SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The window a soak compares when no command repeats (else the longest `every`).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// A shell command to run at an offset from the run's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timed {
    #[serde(serialize_with = "as_ms")]
    pub at: Duration,
    pub command: String,
}

/// A command run over and over during the load (a soak's reloads, or a fault
/// and its undo on a cycle): first at `at`, then every `every` while the load
/// lasts; once when `every` is absent.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Names its runs in the report (`reload.3`) and their output files.
    pub name: String,
    /// The shell command (sh -c).
    pub run: String,
    /// The first run, from the start. Default 0.
    #[serde(default)]
    pub at: Dur,
    pub every: Option<Dur>,
    /// Run `undo_after` after each run, and at once when the drill is stopped
    /// in between: a cycle never leaves its fault in place.
    pub undo: Option<String>,
    pub undo_after: Option<Dur>,
}

/// A process whose memory (RSS) and open file descriptors are sampled during
/// the load, found by a command that prints its pid (`deploy/lab pid lb1/tandem`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    pub name: String,
    pub pid: String,
}

/// Everything a run needs besides the URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    pub name: String,
    pub rate: f64,
    #[serde(serialize_with = "as_ms")]
    pub duration: Duration,
    pub post_share: f64,
    #[serde(serialize_with = "as_ms")]
    pub timeout: Duration,
    /// Successes with a latency above this are counted as slow.
    #[serde(serialize_with = "as_ms")]
    pub slow: Duration,
    pub max_in_flight: usize,
    #[serde(serialize_with = "as_ms")]
    pub command_timeout: Duration,
    #[serde(serialize_with = "as_ms")]
    pub readback_delay: Duration,
    pub lb_header: String,
    pub fault: Option<Timed>,
    pub recover: Option<Timed>,
    /// Run (and waited for) before the load starts; a failure skips the run.
    pub settle: Option<String>,
    /// Commands repeated during the load (suite files only).
    pub repeat: Vec<Repeat>,
    /// Processes sampled during the load (suite files only).
    pub watch: Vec<Watch>,
    #[serde(serialize_with = "as_ms")]
    pub sample_every: Duration,
    /// Samples before this are not compared: caches, pools and the allocator
    /// settle first.
    #[serde(serialize_with = "as_ms")]
    pub warmup: Duration,
    /// The span whose median is compared with the first one after warm-up;
    /// default the longest `every` of `repeat` (so every window holds the same
    /// events), else [`DEFAULT_WINDOW`].
    #[serde(serialize_with = "opt_ms")]
    pub window: Option<Duration>,
    pub budgets: Budgets,
}

fn opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64() * 1000.0),
        None => s.serialize_none(),
    }
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The fault and recovery as given, before they are paired and checked.
#[derive(Debug, Clone, Default)]
pub struct Commands {
    pub fault_at: Option<Duration>,
    pub fault: Option<String>,
    pub recover_at: Option<Duration>,
    pub recover: Option<String>,
}

impl RunConfig {
    /// A config with every default and no fault, named `name`.
    pub fn with_defaults(name: &str) -> RunConfig {
        RunConfig {
            name: name.to_string(),
            rate: DEFAULT_RATE,
            duration: DEFAULT_DURATION,
            post_share: DEFAULT_POST_SHARE,
            timeout: DEFAULT_TIMEOUT,
            slow: DEFAULT_SLOW,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            readback_delay: DEFAULT_READBACK_DELAY,
            lb_header: DEFAULT_LB_HEADER.to_string(),
            fault: None,
            recover: None,
            settle: None,
            repeat: Vec::new(),
            watch: Vec::new(),
            sample_every: DEFAULT_SAMPLE_EVERY,
            warmup: Duration::ZERO,
            window: None,
            budgets: Budgets::default(),
        }
    }

    /// The comparison window of the resource samples: `window`, else the
    /// longest `every`, else [`DEFAULT_WINDOW`].
    pub fn effective_window(&self) -> Duration {
        self.window.or_else(|| self.repeat.iter().filter_map(|r| r.every.map(|d| d.0)).max()).unwrap_or(DEFAULT_WINDOW)
    }

    /// Pairs the commands with their times and checks the whole config; every
    /// problem is reported, not just the first.
    pub fn validated(mut self, commands: Commands) -> Result<RunConfig, Vec<String>> {
        let mut errors = Vec::new();
        let mut pair = |what: &str, at: Option<Duration>, command: Option<String>| match (at, command) {
            (Some(at), Some(command)) if !command.trim().is_empty() => Some(Timed { at, command }),
            (None, None) => None,
            (Some(_), _) => {
                errors.push(format!("{what}_at is set but {what} (the command) is not"));
                None
            }
            (None, Some(_)) => {
                errors.push(format!("{what} is set but {what}_at (when to run it) is not"));
                None
            }
        };
        self.fault = pair("fault", commands.fault_at, commands.fault);
        self.recover = pair("recover", commands.recover_at, commands.recover);
        errors.extend(self.problems());
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if !valid_name(&self.name) {
            errors.push(format!("name `{}`: use letters, digits, `.`, `_` and `-` (it names a directory)", self.name));
        }
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 100_000.0) {
            errors.push(format!("rate {}: must be above 0 and at most 100000 req/s", self.rate));
        }
        if self.duration.is_zero() {
            errors.push("duration: must be above 0".to_string());
        }
        if !(0.0..=1.0).contains(&self.post_share) {
            errors.push(format!("post_share {}: must be between 0 and 1", self.post_share));
        }
        if self.timeout.is_zero() {
            errors.push("timeout: must be above 0".to_string());
        }
        if self.slow.is_zero() || self.slow >= self.timeout {
            errors.push(format!(
                "slow {:?}: must be above 0 and below the timeout ({:?}): no success takes longer",
                self.slow, self.timeout
            ));
        }
        if self.max_in_flight == 0 {
            errors.push("max_in_flight: must be at least 1".to_string());
        }
        if self.command_timeout.is_zero() {
            errors.push("command_timeout: must be above 0".to_string());
        }
        if let Some(fault) = &self.fault {
            if fault.at >= self.duration {
                errors.push(format!("fault_at {:?} is not before the end of the load ({:?})", fault.at, self.duration));
            }
        }
        match (&self.fault, &self.recover) {
            (None, Some(_)) => errors.push("recover is set without a fault".to_string()),
            (Some(fault), Some(recover)) if recover.at <= fault.at => {
                errors.push(format!("recover_at {:?} must be after fault_at {:?}", recover.at, fault.at))
            }
            _ => {}
        }
        errors.extend(self.repeat_problems());
        errors.extend(self.watch_problems());
        errors
    }

    fn repeat_problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (i, r) in self.repeat.iter().enumerate() {
            let at = format!("repeat[{i}] ({})", r.name);
            if !valid_name(&r.name) {
                errors.push(format!("{at}.name: use letters, digits, `.`, `_` and `-` (it names output files)"));
            }
            if self.repeat[..i].iter().any(|o| o.name == r.name) {
                errors.push(format!("{at}.name: used twice"));
            }
            if r.run.trim().is_empty() {
                errors.push(format!("{at}.run: empty command"));
            }
            if r.at.0 >= self.duration {
                errors.push(format!("{at}.at {}: not before the end of the load ({})", r.at, Dur(self.duration)));
            }
            if r.every.is_some_and(|e| e.0.is_zero()) {
                errors.push(format!("{at}.every: must be above 0"));
            }
            match (&r.undo, r.undo_after) {
                (Some(_), None) => errors.push(format!("{at}: undo is set but undo_after (when) is not")),
                (None, Some(_)) => errors.push(format!("{at}: undo_after is set but undo (the command) is not")),
                (Some(_), Some(after)) => {
                    if let Some(every) = r.every.filter(|every| after >= *every) {
                        errors.push(format!(
                            "{at}.undo_after {after}: must be shorter than every ({every}), so each run is undone before the next"
                        ));
                    }
                }
                (None, None) => {}
            }
        }
        errors
    }

    fn watch_problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (i, w) in self.watch.iter().enumerate() {
            if w.name.trim().is_empty() || self.watch[..i].iter().any(|o| o.name == w.name) {
                errors.push(format!("watch[{i}].name `{}`: empty or used twice", w.name));
            }
            if w.pid.trim().is_empty() {
                errors.push(format!("watch[{i}] ({}).pid: empty command", w.name));
            }
        }
        if self.sample_every.is_zero() {
            errors.push("sample_every: must be above 0".to_string());
        }
        let window = self.effective_window();
        if window.is_zero() {
            errors.push("window: must be above 0".to_string());
        }
        let growth = self.budgets.rss_growth.is_some() || self.budgets.fd_growth.is_some();
        if growth && self.watch.is_empty() {
            errors.push("budgets rss_growth / fd_growth need a process to watch (watch:)".to_string());
        }
        if !self.watch.is_empty() && self.warmup + 2 * window > self.duration {
            errors.push(format!(
                "duration {}: leaves fewer than two windows of {} after the warm-up ({}): growth cannot be measured",
                Dur(self.duration),
                Dur(window),
                Dur(self.warmup)
            ));
        }
        errors
    }
}

/// Letters, digits, `.`, `_` and `-`: safe as a file or directory name.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn commands(
        fault_at: Option<u64>,
        fault: Option<&str>,
        recover_at: Option<u64>,
        recover: Option<&str>,
    ) -> Commands {
        Commands {
            fault_at: fault_at.map(Duration::from_secs),
            fault: fault.map(str::to_string),
            recover_at: recover_at.map(Duration::from_secs),
            recover: recover.map(str::to_string),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let config = RunConfig::with_defaults("drill").validated(Commands::default()).unwrap();
        assert_eq!(config.rate, 100.0);
        assert_eq!(config.fault, None);
    }

    #[test]
    fn fault_and_recovery_pair_with_their_times() {
        let c = commands(Some(5), Some("kill"), Some(10), Some("start"));
        let config = RunConfig::with_defaults("x").validated(c).unwrap();
        assert_eq!(config.fault, Some(Timed { at: Duration::from_secs(5), command: "kill".into() }));
        assert_eq!(config.recover.map(|r| r.at), Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_time_without_a_command_and_the_reverse_are_refused() {
        let errors = RunConfig::with_defaults("x").validated(commands(Some(5), None, None, Some("start"))).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("fault_at is set but fault")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("recover is set but recover_at")), "{errors:?}");
    }

    #[test]
    fn recovery_must_follow_the_fault_and_the_fault_must_fall_inside_the_load() {
        let errors = RunConfig::with_defaults("x")
            .validated(commands(Some(20), Some("kill"), Some(3), Some("start")))
            .unwrap_err();
        assert!(errors.iter().any(|e| e.contains("not before the end of the load")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("must be after fault_at")), "{errors:?}");
        let errors = RunConfig::with_defaults("x").validated(commands(None, None, Some(3), Some("s"))).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("without a fault")), "{errors:?}");
    }

    #[test]
    fn slow_must_be_below_the_timeout() {
        let mut config = RunConfig::with_defaults("x");
        assert_eq!(config.slow, Duration::from_millis(500));
        config.slow = Duration::from_secs(1);
        let errors = config.clone().validated(Commands::default()).unwrap_err();
        assert!(errors[0].starts_with("slow 1s: must be above 0 and below the timeout (1s)"), "{errors:?}");
        config.slow = Duration::ZERO;
        assert!(config.clone().validated(Commands::default()).is_err());
        config.slow = Duration::from_millis(999);
        assert!(config.validated(Commands::default()).is_ok());
    }

    #[test]
    fn every_bad_number_is_reported_at_once() {
        let mut config = RunConfig::with_defaults("bad name");
        config.rate = 0.0;
        config.post_share = 1.5;
        config.timeout = Duration::ZERO;
        config.max_in_flight = 0;
        config.duration = Duration::ZERO;
        let errors = config.validated(Commands::default()).unwrap_err();
        assert_eq!(errors.len(), 7, "{errors:?}");
        for key in ["name", "rate", "post_share", "timeout", "slow", "max_in_flight", "duration"] {
            assert!(errors.iter().any(|e| e.starts_with(key)), "{key}: {errors:?}");
        }
    }
}
