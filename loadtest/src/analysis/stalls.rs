//! Stalls: how long clients went without a single successful answer. Pure
//! functions over the completion times of successful requests.
//!
//! A request's **completion** is `start_ms + latency_ms`. A **stall** is the
//! time between two consecutive successful completions: the time during which
//! no request completed successfully. Only the part before the load's end
//! counts (after it no request is sent, so a quiet gap means nothing): a gap
//! that ends after the load's end is cut there, one that begins at or after it
//! is no stall. The time before the first success and after the last one are
//! no stalls either (no completion bounds them; failed requests there open
//! error windows instead).
//!
//! At `rate` req/s successes complete about every `1 / rate` (10 ms at 100
//! req/s), so that is the length of a normal gap; anything much longer means
//! requests were waiting. Error windows ([`super::windows`]) only see failed
//! requests; a stall also shows requests that succeeded late, e.g. connection
//! attempts whose SYN was lost while a VIP moved and that succeeded only after
//! TCP retransmitted it a second later.

use serde::Serialize;

use crate::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stall {
    /// The completion that precedes the stall.
    pub start_ms: f64,
    /// The next completion, or the load's end if that came first.
    pub end_ms: f64,
    pub duration_ms: f64,
}

/// Completion times (`start_ms + latency_ms`) of the successful `records`, sorted.
pub fn completions<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<f64> {
    let mut done: Vec<f64> =
        records.into_iter().filter(|r| r.is_success()).map(|r| r.start_ms + r.latency_ms).collect();
    done.sort_by(f64::total_cmp);
    done
}

/// The gaps between consecutive `completions` (sorted), cut at `end_ms` (the
/// load's end), in order; gaps of zero length are left out.
pub fn stalls(completions: &[f64], end_ms: f64) -> Vec<Stall> {
    completions
        .windows(2)
        .filter(|pair| pair[0] < end_ms)
        .map(|pair| (pair[0], pair[1].min(end_ms)))
        .filter(|(start, end)| end > start)
        .map(|(start_ms, end_ms)| Stall { start_ms, end_ms, duration_ms: end_ms - start_ms })
        .collect()
}

/// The longest stall (the earliest of equals), if any.
pub fn longest<'a>(stalls: impl IntoIterator<Item = &'a Stall>) -> Option<Stall> {
    stalls.into_iter().fold(None, |best: Option<Stall>, s| match best {
        Some(b) if b.duration_ms >= s.duration_ms => Some(b),
        _ => Some(*s),
    })
}

/// The longest stall that overlaps `[from_ms, to_ms)` (`to_ms` `None`: no upper
/// bound): it begins before `to_ms` and ends after `from_ms`. A stall that
/// spans `to_ms` overlaps both this interval and the one starting there.
pub fn longest_overlapping(stalls: &[Stall], from_ms: f64, to_ms: Option<f64>) -> Option<Stall> {
    longest(stalls.iter().filter(|s| s.end_ms > from_ms && to_ms.is_none_or(|to| s.start_ms < to)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::tests::{fail, ok};

    fn ok_after(seq: u64, start_ms: f64, latency_ms: f64) -> Record {
        let mut r = ok(seq, start_ms);
        r.latency_ms = latency_ms;
        r
    }

    fn stall(start_ms: f64, end_ms: f64) -> Stall {
        Stall { start_ms, end_ms, duration_ms: end_ms - start_ms }
    }

    #[test]
    fn completions_are_successes_ordered_by_start_plus_latency() {
        // Started in order, completed out of order: a SYN lost at 10 ms came back after 1 s.
        let records = [ok_after(0, 0.0, 2.0), ok_after(1, 10.0, 1002.0), ok_after(2, 20.0, 2.0), fail(3, 30.0)];
        assert_eq!(completions(&records), [2.0, 22.0, 1012.0]);
    }

    #[test]
    fn a_stall_is_the_gap_between_consecutive_completions() {
        let done = [2.0, 12.0, 22.0, 422.0, 432.0];
        let all = stalls(&done, 1000.0);
        assert_eq!(all.len(), 4);
        assert_eq!(longest(&all), Some(stall(22.0, 422.0)));
    }

    #[test]
    fn no_successes_or_one_means_no_stall() {
        assert!(stalls(&[], 1000.0).is_empty());
        assert!(stalls(&[5.0], 1000.0).is_empty());
        assert_eq!(longest(&[]), None);
        assert_eq!(longest_overlapping(&[], 0.0, None), None);
        let failures = [fail(0, 0.0), fail(1, 10.0)];
        assert!(completions(&failures).is_empty());
    }

    #[test]
    fn gaps_are_cut_at_the_load_end_and_the_tail_is_ignored() {
        // Completions at 990 (in load) and 1500 (a late straggler): only 990..1000 counts.
        assert_eq!(stalls(&[900.0, 990.0, 1500.0], 1000.0), [stall(900.0, 990.0), stall(990.0, 1000.0)]);
        // Both after the end: nothing.
        assert!(stalls(&[1000.0, 1800.0], 1000.0).is_empty());
        // Equal completion times make no gap.
        assert!(stalls(&[10.0, 10.0], 1000.0).is_empty());
    }

    #[test]
    fn equal_stalls_prefer_the_earliest() {
        let all = [stall(0.0, 10.0), stall(20.0, 30.0)];
        assert_eq!(longest(&all).map(|s| s.start_ms), Some(0.0));
    }

    #[test]
    fn overlap_means_beginning_before_the_interval_ends_and_ending_after_it_begins() {
        let all = [
            stall(100.0, 900.0),   // before the fault at 1000: no overlap
            stall(900.0, 1000.0),  // ends exactly at the fault: no overlap
            stall(990.0, 1300.0),  // began before the fault, ends inside: takeover
            stall(1500.0, 1600.0), // inside: takeover, shorter
            stall(1950.0, 2100.0), // spans the recovery at 2000: both
            stall(2000.0, 2050.0), // begins exactly at the recovery: failback only
            stall(2500.0, 2600.0), // failback
        ];
        assert_eq!(longest_overlapping(&all, 1000.0, Some(2000.0)), Some(stall(990.0, 1300.0)));
        assert_eq!(longest_overlapping(&all, 2000.0, None), Some(stall(1950.0, 2100.0)));
        assert_eq!(longest_overlapping(&all[..2], 1000.0, Some(2000.0)), None);
        assert_eq!(longest_overlapping(&all[5..6], 1000.0, Some(2000.0)), None);
        assert_eq!(longest_overlapping(&all[5..], 2000.0, None), Some(stall(2500.0, 2600.0)));
        assert_eq!(longest_overlapping(&all, 3000.0, None), None);
    }

    #[test]
    fn without_a_recovery_the_takeover_interval_has_no_end() {
        let all = [stall(100.0, 200.0), stall(5000.0, 5400.0)];
        assert_eq!(longest_overlapping(&all, 1000.0, None), Some(stall(5000.0, 5400.0)));
    }
}
