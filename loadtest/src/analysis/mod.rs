//! Everything a drill report says, computed from the records, the times the
//! fault and recovery commands ran and the read-back of the writes. Pure: no
//! clock, no I/O, so every number in a report can be unit-tested.

pub mod served;
pub mod stalls;
pub mod throughput;
pub mod windows;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::{Kind, Record};
use served::{Bucket, Segment};
use stalls::Stall;
use throughput::Phase;
use windows::Window;

/// When a command ran, in milliseconds from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    pub start_ms: f64,
    pub end_ms: f64,
}

/// What happened to one acknowledged POST when it was read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteVerdict {
    /// 200 with the address the POST sent.
    Present,
    /// 404, or 200 with another address: the acknowledged write is gone.
    Missing,
    /// No clear answer after every retry: neither proven present nor missing.
    Unverified,
}

/// The read-back of acknowledged writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Writes {
    pub acknowledged: u64,
    pub present: u64,
    pub missing: u64,
    pub unverified: u64,
    pub missing_ids: Vec<u64>,
    pub unverified_ids: Vec<u64>,
}

impl Writes {
    pub fn from_verdicts(verdicts: &[(u64, WriteVerdict)]) -> Writes {
        let mut writes = Writes { acknowledged: verdicts.len() as u64, ..Writes::default() };
        for &(id, verdict) in verdicts {
            match verdict {
                WriteVerdict::Present => writes.present += 1,
                WriteVerdict::Missing => {
                    writes.missing += 1;
                    writes.missing_ids.push(id);
                }
                WriteVerdict::Unverified => {
                    writes.unverified += 1;
                    writes.unverified_ids.push(id);
                }
            }
        }
        writes
    }
}

/// What the analysis needs besides the records.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// When the load stopped (the configured duration, or earlier if interrupted).
    pub end_ms: f64,
    pub fault: Option<Span>,
    pub recovery: Option<Span>,
    pub writes: Writes,
    /// A success whose latency is above this is counted as slow (`--slow`).
    pub slow_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindStats {
    pub sent: u64,
    pub ok: u64,
    /// Successes slower than the `slow` threshold (counted in `ok` too).
    pub slow: u64,
    pub failed: u64,
    /// Failures by outcome label (`refused`, `503`...).
    pub failures: BTreeMap<String, u64>,
}

/// Latency of successful requests, milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Longest {
    pub overall: Option<Window>,
    pub reads: Option<Window>,
    pub writes: Option<Window>,
    /// Longest window opened in `[fault start, recovery start)`.
    pub takeover: Option<Window>,
    /// Longest window opened at or after the recovery's start.
    pub failback: Option<Window>,
}

/// The longest stalls (no successful completion; see [`stalls`]), with where they lie.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stalls {
    pub overall: Option<Stall>,
    /// Longest stall overlapping `[fault start, recovery start)` (the load's end without a recovery).
    pub takeover: Option<Stall>,
    /// Longest stall overlapping `[recovery start, load end]`.
    pub failback: Option<Stall>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    /// get-list + get-id failures.
    pub failed_reads: u64,
    pub failed_writes: u64,
    pub by_kind: BTreeMap<&'static str, KindStats>,
    pub failures: BTreeMap<String, u64>,
    pub latency_ms: Latency,
    pub longest: Longest,
    /// From the fault's start to the close of the last window opened before the recovery.
    pub time_to_recover_ms: f64,
    /// The longest time during which no request completed successfully
    /// (`stalls.overall`); null with fewer than two successes.
    pub longest_stall_ms: Option<f64>,
    /// `stalls.takeover`'s length; null without a fault.
    pub takeover_stall_ms: Option<f64>,
    /// `stalls.failback`'s length; null without a recovery during the load.
    pub failback_stall_ms: Option<f64>,
    pub stalls: Stalls,
    /// Successes slower than the `slow` threshold, all kinds (`by_kind` has each).
    pub slow: u64,
    pub windows: BTreeMap<&'static str, Vec<Window>>,
    pub throughput: Vec<Phase>,
    pub per_second: Vec<Bucket>,
    pub lb_segments: Vec<Segment>,
    pub app_segments: Vec<Segment>,
    pub writes: Writes,
}

/// Computes the metrics; `records` need not be sorted.
pub fn analyze(records: &[Record], context: &Context) -> Metrics {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms).then(a.seq.cmp(&b.seq)));
    let records = &sorted[..];

    let mut by_kind: BTreeMap<&'static str, KindStats> =
        Kind::ALL.iter().map(|k| (k.name(), KindStats::default())).collect();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let stats = by_kind.entry(record.kind.name()).or_default();
        stats.sent += 1;
        if record.is_success() {
            stats.ok += 1;
            if record.latency_ms > context.slow_ms {
                stats.slow += 1;
            }
        } else {
            stats.failed += 1;
            *stats.failures.entry(record.outcome.label()).or_default() += 1;
            *failures.entry(record.outcome.label()).or_default() += 1;
        }
    }
    let failed_of = |kind: Kind| by_kind.get(kind.name()).map_or(0, |s| s.failed);
    let failed_reads = failed_of(Kind::GetList) + failed_of(Kind::GetId);
    let failed_writes = failed_of(Kind::Post);
    let failed = failed_reads + failed_writes;

    let end = context.end_ms;
    let overall = windows::error_windows(records, end);
    let reads = windows::error_windows(records.iter().filter(|r| r.kind.is_read()), end);
    let writes = windows::error_windows(records.iter().filter(|r| !r.kind.is_read()), end);
    let fault_ms = context.fault.map(|s| s.start_ms);
    let recover_ms = context.recovery.map(|s| s.start_ms);
    let longest = Longest {
        overall: windows::longest(&overall),
        reads: windows::longest(&reads),
        writes: windows::longest(&writes),
        takeover: fault_ms.and_then(|f| windows::longest_starting_in(&overall, f, recover_ms)),
        failback: recover_ms.and_then(|r| windows::longest_starting_in(&overall, r, None)),
    };
    let time_to_recover_ms = fault_ms.map_or(0.0, |f| windows::time_to_recover(&overall, f, recover_ms));
    let gaps = stalls::stalls(&stalls::completions(records), end);
    let longest_stalls = Stalls {
        overall: stalls::longest(&gaps),
        takeover: fault_ms.and_then(|f| stalls::longest_overlapping(&gaps, f, recover_ms)),
        failback: recover_ms.and_then(|r| stalls::longest_overlapping(&gaps, r, None)),
    };
    let slow = by_kind.values().map(|s| s.slow).sum();

    Metrics {
        requests: records.len() as u64,
        ok: records.len() as u64 - failed,
        failed,
        failed_reads,
        failed_writes,
        by_kind,
        failures,
        latency_ms: latency(records),
        longest,
        time_to_recover_ms,
        longest_stall_ms: longest_stalls.overall.map(|s| s.duration_ms),
        takeover_stall_ms: longest_stalls.takeover.map(|s| s.duration_ms),
        failback_stall_ms: longest_stalls.failback.map(|s| s.duration_ms),
        stalls: longest_stalls,
        slow,
        windows: BTreeMap::from([("overall", overall), ("reads", reads), ("writes", writes)]),
        throughput: throughput::phases(records, end, fault_ms, recover_ms),
        per_second: served::buckets(records, 1000.0, end),
        lb_segments: served::segments(records, |r| r.lb.as_deref()),
        app_segments: served::segments(records, |r| r.app.as_deref()),
        writes: context.writes.clone(),
    }
}

/// The duration of an optional window, 0 when there is none.
pub fn window_ms(window: Option<Window>) -> f64 {
    window.map_or(0.0, |w| w.duration_ms)
}

/// The duration of an optional stall, 0 when there is none.
pub fn stall_ms(stall: Option<Stall>) -> f64 {
    stall.map_or(0.0, |s| s.duration_ms)
}

fn latency(records: &[Record]) -> Latency {
    let mut ms: Vec<f64> = records.iter().filter(|r| r.is_success()).map(|r| r.latency_ms).collect();
    if ms.is_empty() {
        return Latency::default();
    }
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Latency { p50: rank(0.50), p90: rank(0.90), p99: rank(0.99), max: ms[ms.len() - 1] }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::tests::{fail, ok, rec};
    use crate::record::{ErrorKind, Outcome};

    fn context(fault: Option<(f64, f64)>, recovery: Option<(f64, f64)>) -> Context {
        let span = |(start_ms, end_ms)| Span { start_ms, end_ms };
        Context {
            end_ms: 3000.0,
            fault: fault.map(span),
            recovery: recovery.map(span),
            writes: Writes::default(),
            slow_ms: 500.0,
        }
    }

    #[test]
    fn failures_are_counted_by_kind_and_outcome() {
        let records = [
            rec(0, 0.0, Kind::Post, Outcome::Status(201)),
            rec(1, 10.0, Kind::Post, Outcome::Status(503)),
            rec(2, 20.0, Kind::GetId, Outcome::Status(404)),
            rec(3, 30.0, Kind::GetList, Outcome::Error(ErrorKind::Reset)),
            rec(4, 40.0, Kind::GetList, Outcome::Error(ErrorKind::Reset)),
            rec(5, 50.0, Kind::GetList, Outcome::Status(200)),
        ];
        let m = analyze(&records, &context(None, None));
        assert_eq!((m.requests, m.ok, m.failed), (6, 2, 4));
        assert_eq!((m.failed_reads, m.failed_writes), (3, 1));
        assert_eq!(m.failures.get("reset"), Some(&2));
        assert_eq!(m.failures.get("503"), Some(&1));
        assert_eq!(m.by_kind["get-id"].failures.get("404"), Some(&1));
        assert_eq!(m.by_kind["post"].sent, 2);
        assert_eq!(m.longest.takeover, None);
        assert_eq!(m.time_to_recover_ms, 0.0);
    }

    #[test]
    fn takeover_failback_and_recovery_time_follow_the_commands() {
        let mut records: Vec<Record> = (0..300).map(|i| ok(i, i as f64 * 10.0)).collect();
        for r in records.iter_mut().filter(|r| (1000.0..1400.0).contains(&r.start_ms)) {
            *r = fail(r.seq, r.start_ms);
        }
        for r in records.iter_mut().filter(|r| (2200.0..2300.0).contains(&r.start_ms)) {
            *r = fail(r.seq, r.start_ms);
        }
        let m = analyze(&records, &context(Some((1000.0, 1005.0)), Some((2000.0, 2010.0))));
        assert_eq!(window_ms(m.longest.takeover), 400.0);
        assert_eq!(window_ms(m.longest.failback), 100.0);
        assert_eq!(window_ms(m.longest.overall), 400.0);
        assert_eq!(m.time_to_recover_ms, 400.0);
        assert_eq!(m.windows["overall"].len(), 2);
        assert_eq!(m.throughput.len(), 3);
        assert_eq!(m.per_second.len(), 3);
    }

    #[test]
    fn lost_syns_show_as_a_takeover_stall_and_slow_successes_without_failures() {
        // 100 req/s; every connection attempted in the 400 ms after the fault
        // (1.0 s) loses its SYN and succeeds after the 1 s retransmission.
        let mut records: Vec<Record> = (0..300).map(|i| ok(i, i as f64 * 10.0)).collect();
        for r in records.iter_mut().filter(|r| (1000.0..1400.0).contains(&r.start_ms)) {
            r.latency_ms = 1002.0;
            if r.seq % 5 == 0 {
                r.kind = Kind::Post;
                r.outcome = Outcome::Status(201);
            }
        }
        let m = analyze(&records, &context(Some((1000.0, 1005.0)), Some((2000.0, 2010.0))));
        assert_eq!((m.failed, m.longest.overall, m.longest.takeover), (0, None, None));
        // Last completion before: 990 + 2; first after: 1400 + 2.
        let takeover = m.stalls.takeover.unwrap();
        assert_eq!((takeover.start_ms, takeover.end_ms), (992.0, 1402.0));
        assert_eq!((m.takeover_stall_ms, m.longest_stall_ms), (Some(410.0), Some(410.0)));
        assert_eq!(m.failback_stall_ms, Some(10.0));
        assert_eq!((m.slow, m.by_kind["post"].slow, m.by_kind["get-list"].slow), (40, 8, 32));
        assert_eq!(m.by_kind["get-list"].ok, 292);
    }

    #[test]
    fn stalls_follow_the_commands_like_windows() {
        let records: Vec<Record> = (0..300).map(|i| ok(i, i as f64 * 10.0)).collect();
        let m = analyze(&records, &context(None, None));
        assert_eq!(m.longest_stall_ms, Some(10.0));
        assert_eq!((m.takeover_stall_ms, m.failback_stall_ms), (None, None));
        let m = analyze(&records, &context(Some((1000.0, 1005.0)), None));
        assert_eq!((m.takeover_stall_ms, m.failback_stall_ms), (Some(10.0), None));
        let m = analyze(&[], &context(Some((1000.0, 1005.0)), Some((2000.0, 2010.0))));
        assert_eq!((m.longest_stall_ms, m.takeover_stall_ms, m.failback_stall_ms, m.slow), (None, None, None, 0));
    }

    #[test]
    fn slow_counts_successes_above_the_threshold_only() {
        let mut records = vec![ok(0, 0.0), ok(1, 10.0), ok(2, 20.0), fail(3, 30.0)];
        records[0].latency_ms = 500.0; // at the threshold: not slow
        records[1].latency_ms = 500.5;
        records[3].latency_ms = 900.0; // a failure: not a slow success
        let m = analyze(&records, &context(None, None));
        assert_eq!((m.slow, m.by_kind["get-list"].slow), (1, 1));
    }

    #[test]
    fn records_out_of_order_are_sorted_first() {
        let records = [ok(2, 20.0), fail(1, 10.0), ok(0, 0.0)];
        let m = analyze(&records, &context(None, None));
        assert_eq!(window_ms(m.longest.overall), 10.0);
    }

    #[test]
    fn latency_percentiles_use_successes_only() {
        let mut records: Vec<Record> = (0..100).map(|i| ok(i, i as f64)).collect();
        for (i, r) in records.iter_mut().enumerate() {
            r.latency_ms = (i + 1) as f64;
        }
        let mut slow_failure = fail(100, 100.0);
        slow_failure.latency_ms = 1000.0;
        records.push(slow_failure);
        let m = analyze(&records, &context(None, None));
        assert_eq!(m.latency_ms, Latency { p50: 50.0, p90: 90.0, p99: 99.0, max: 100.0 });
    }

    #[test]
    fn write_verdicts_are_tallied_with_their_ids() {
        let writes = Writes::from_verdicts(&[
            (1, WriteVerdict::Present),
            (2, WriteVerdict::Missing),
            (3, WriteVerdict::Unverified),
            (4, WriteVerdict::Present),
        ]);
        assert_eq!((writes.acknowledged, writes.present, writes.missing, writes.unverified), (4, 2, 1, 1));
        assert_eq!(writes.missing_ids, [2]);
        assert_eq!(writes.unverified_ids, [3]);
    }
}
