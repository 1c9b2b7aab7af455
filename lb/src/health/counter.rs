//! Active health transitions as a pure state machine: a server goes down after
//! `fall` consecutive failed probes and comes back after `rise` consecutive
//! passes; under `mandatory` checks it starts as `Checking` and its first
//! probe decides (nginx Plus `mandatory`). Only flips are reported.

use crate::upstream::ActiveState;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    passes: u32,
    failures: u32,
}

impl Counter {
    /// Record one probe result for a server now in `state`; returns the new
    /// state when it changes.
    pub fn record(&mut self, state: ActiveState, passed: bool, rise: u32, fall: u32) -> Option<ActiveState> {
        if passed {
            self.passes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.passes = 0;
        }
        let next = match state {
            ActiveState::Checking if passed => ActiveState::Up,
            ActiveState::Checking => ActiveState::Down,
            ActiveState::Up if self.failures >= fall => ActiveState::Down,
            ActiveState::Down if self.passes >= rise => ActiveState::Up,
            other => other,
        };
        (next != state).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActiveState::*;

    fn run(start: ActiveState, results: &[bool], rise: u32, fall: u32) -> Vec<ActiveState> {
        let mut c = Counter::default();
        let mut state = start;
        results
            .iter()
            .map(|&r| {
                if let Some(s) = c.record(state, r, rise, fall) {
                    state = s;
                }
                state
            })
            .collect()
    }

    #[test]
    fn a_healthy_server_goes_down_only_after_fall_consecutive_failures() {
        assert_eq!(run(Up, &[false, true, false, false], 2, 2), [Up, Up, Up, Down]);
    }

    #[test]
    fn a_down_server_comes_back_only_after_rise_consecutive_passes() {
        assert_eq!(run(Down, &[true, false, true, true, true], 3, 2), [Down, Down, Down, Down, Up]);
    }

    #[test]
    fn a_checking_server_is_decided_by_its_first_probe() {
        assert_eq!(run(Checking, &[true], 3, 3), [Up]);
        assert_eq!(run(Checking, &[false], 3, 3), [Down]);
    }

    #[test]
    fn only_flips_are_reported() {
        let mut c = Counter::default();
        assert_eq!(c.record(Up, true, 2, 2), None);
        assert_eq!(c.record(Up, false, 2, 2), None);
        assert_eq!(c.record(Up, false, 2, 2), Some(Down));
    }
}
