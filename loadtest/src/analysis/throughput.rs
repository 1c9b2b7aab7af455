//! Throughput per phase: successful responses per second before the fault,
//! between the fault and the recovery, and after the recovery. A request
//! belongs to the phase in which it started; a phase begins when its command
//! started.

use serde::Serialize;

use crate::record::Record;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// `before-fault`, `fault`, `after-recovery`, or `whole-run` when there was no fault.
    pub name: &'static str,
    pub from_ms: f64,
    pub to_ms: f64,
    pub ok: u64,
    pub failed: u64,
    /// Successful responses per second over the phase; 0 for an empty phase.
    pub ok_per_s: f64,
}

/// The phases of a run whose load ended at `end_ms`, with the fault and the
/// recovery starting at `fault_ms` and `recover_ms` (if they ran).
pub fn phases(records: &[Record], end_ms: f64, fault_ms: Option<f64>, recover_ms: Option<f64>) -> Vec<Phase> {
    let mut bounds: Vec<(&'static str, f64, f64)> = Vec::new();
    match (fault_ms, recover_ms) {
        (None, _) => bounds.push(("whole-run", 0.0, end_ms)),
        (Some(fault), None) => {
            bounds.push(("before-fault", 0.0, fault));
            bounds.push(("fault", fault, end_ms));
        }
        (Some(fault), Some(recover)) => {
            bounds.push(("before-fault", 0.0, fault));
            bounds.push(("fault", fault, recover.min(end_ms)));
            if recover < end_ms {
                bounds.push(("after-recovery", recover, end_ms));
            }
        }
    }
    let last = bounds.len() - 1;
    bounds
        .iter()
        .enumerate()
        .map(|(i, &(name, from, to))| {
            // The last phase keeps stragglers that started a hair after `end_ms`.
            let inside = |r: &&Record| r.start_ms >= from && (r.start_ms < to || i == last);
            let (ok, failed) = records.iter().filter(inside).fold((0, 0), |(ok, failed), r| {
                if r.is_success() {
                    (ok + 1, failed)
                } else {
                    (ok, failed + 1)
                }
            });
            let seconds = (to - from) / 1000.0;
            let ok_per_s = if seconds > 0.0 { ok as f64 / seconds } else { 0.0 };
            Phase { name, from_ms: from, to_ms: to, ok, failed, ok_per_s }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::tests::{fail, ok};

    fn steady(from_ms: f64, to_ms: f64, failing: std::ops::Range<f64>) -> Vec<Record> {
        let mut records = Vec::new();
        let mut t = from_ms;
        let mut seq = 0;
        while t < to_ms {
            records.push(if failing.contains(&t) { fail(seq, t) } else { ok(seq, t) });
            seq += 1;
            t += 10.0;
        }
        records
    }

    #[test]
    fn without_a_fault_there_is_one_phase() {
        let records = steady(0.0, 2000.0, 0.0..0.0);
        let phases = phases(&records, 2000.0, None, None);
        assert_eq!(phases.len(), 1);
        assert_eq!(phases[0].name, "whole-run");
        assert_eq!(phases[0].ok, 200);
        assert!((phases[0].ok_per_s - 100.0).abs() < 1e-9);
    }

    #[test]
    fn fault_and_recovery_split_the_run_in_three() {
        let records = steady(0.0, 3000.0, 1000.0..1500.0);
        let phases = phases(&records, 3000.0, Some(1000.0), Some(2000.0));
        let names: Vec<_> = phases.iter().map(|p| p.name).collect();
        assert_eq!(names, ["before-fault", "fault", "after-recovery"]);
        assert_eq!((phases[0].ok, phases[0].failed), (100, 0));
        assert_eq!((phases[1].ok, phases[1].failed), (50, 50));
        assert!((phases[1].ok_per_s - 50.0).abs() < 1e-9);
        assert_eq!((phases[2].ok, phases[2].failed), (100, 0));
    }

    #[test]
    fn a_fault_without_recovery_lasts_to_the_end() {
        let records = steady(0.0, 2000.0, 1000.0..2000.0);
        let phases = phases(&records, 2000.0, Some(1000.0), None);
        assert_eq!(phases.len(), 2);
        assert_eq!((phases[1].ok, phases[1].failed), (0, 100));
        assert_eq!(phases[1].ok_per_s, 0.0);
    }

    #[test]
    fn a_recovery_after_the_load_leaves_no_after_phase() {
        let records = steady(0.0, 2000.0, 0.0..0.0);
        let phases = phases(&records, 2000.0, Some(1000.0), Some(2500.0));
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[1].to_ms, 2000.0);
    }

    #[test]
    fn an_empty_phase_has_zero_throughput() {
        let phases = phases(&[], 1000.0, Some(0.0), None);
        assert_eq!(phases[0].ok_per_s, 0.0);
    }
}
