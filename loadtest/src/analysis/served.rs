//! Who served: per time bucket, successes, failures and the answers each
//! balancer (`--lb-header`) and each app (`X-Served-By`) gave; and runs of
//! consecutive answers from the same balancer ("0-5.2 s lb1, 5.6-15 s lb2").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::Record;

/// Requests that started in `[from_ms, from_ms + width)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    pub from_ms: f64,
    pub ok: u64,
    pub failed: u64,
    /// Answers per balancer name (any status: a balancer answering 502 still served).
    pub lb: BTreeMap<String, u64>,
    /// Answers per app name.
    pub app: BTreeMap<String, u64>,
}

impl Bucket {
    /// The balancer that answered most in this bucket (the first name of equals).
    pub fn top_lb(&self) -> Option<&str> {
        top(&self.lb)
    }

    pub fn top_app(&self) -> Option<&str> {
        top(&self.app)
    }
}

fn top(counts: &BTreeMap<String, u64>) -> Option<&str> {
    counts.iter().rev().max_by_key(|(_, n)| **n).map(|(name, _)| name.as_str())
}

/// Buckets of `width_ms` covering `[0, end_ms)`; later stragglers go in the last one.
pub fn buckets(records: &[Record], width_ms: f64, end_ms: f64) -> Vec<Bucket> {
    let count = ((end_ms / width_ms).ceil() as usize).max(1);
    let mut buckets: Vec<Bucket> =
        (0..count).map(|i| Bucket { from_ms: i as f64 * width_ms, ..Bucket::default() }).collect();
    for record in records {
        let index = ((record.start_ms.max(0.0) / width_ms) as usize).min(count - 1);
        let bucket = &mut buckets[index];
        if record.is_success() {
            bucket.ok += 1;
        } else {
            bucket.failed += 1;
        }
        if let Some(lb) = &record.lb {
            *bucket.lb.entry(lb.clone()).or_default() += 1;
        }
        if let Some(app) = &record.app {
            *bucket.app.entry(app.clone()).or_default() += 1;
        }
    }
    buckets
}

/// Consecutive answers (by start time) carrying the same name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub name: String,
    /// Start of the first and of the last request of the run.
    pub from_ms: f64,
    pub to_ms: f64,
    pub requests: u64,
}

/// Runs of the same `name(record)` over `records` (sorted by start); records
/// without a name (no answer, or no header) neither extend nor break a run.
pub fn segments(records: &[Record], name: impl Fn(&Record) -> Option<&str>) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    for record in records {
        let Some(current) = name(record) else { continue };
        match segments.last_mut() {
            Some(last) if last.name == current => {
                last.to_ms = record.start_ms;
                last.requests += 1;
            }
            _ => segments.push(Segment {
                name: current.to_string(),
                from_ms: record.start_ms,
                to_ms: record.start_ms,
                requests: 1,
            }),
        }
    }
    segments
}

/// "0.0-5.2 s lb1, 5.6-15.0 s lb2", or "-" when nothing carried the header.
pub fn describe_segments(segments: &[Segment]) -> String {
    if segments.is_empty() {
        return "-".to_string();
    }
    let parts: Vec<String> = segments
        .iter()
        .map(|s| format!("{:.1}-{:.1} s {} ({})", s.from_ms / 1000.0, s.to_ms / 1000.0, s.name, s.requests))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::tests::{fail, ok};

    fn served(mut record: Record, lb: &str, app: &str) -> Record {
        record.lb = Some(lb.to_string());
        record.app = Some(app.to_string());
        record
    }

    #[test]
    fn buckets_count_successes_failures_and_servers() {
        let records = [
            served(ok(0, 10.0), "lb1", "app1"),
            served(ok(1, 50.0), "lb1", "app2"),
            fail(2, 120.0),
            served(ok(3, 150.0), "lb2", "app1"),
        ];
        let buckets = buckets(&records, 100.0, 200.0);
        assert_eq!(buckets.len(), 2);
        assert_eq!((buckets[0].ok, buckets[0].failed), (2, 0));
        assert_eq!((buckets[1].ok, buckets[1].failed), (1, 1));
        assert_eq!(buckets[0].lb.get("lb1"), Some(&2));
        assert_eq!(buckets[1].top_lb(), Some("lb2"));
        assert_eq!(buckets[1].from_ms, 100.0);
    }

    #[test]
    fn the_top_server_of_a_tie_is_the_first_name() {
        let records = [served(ok(0, 0.0), "lb2", "app2"), served(ok(1, 1.0), "lb1", "app1")];
        let buckets = buckets(&records, 100.0, 100.0);
        assert_eq!(buckets[0].top_lb(), Some("lb1"));
        assert_eq!(buckets[0].top_app(), Some("app1"));
        assert_eq!(Bucket::default().top_lb(), None);
    }

    #[test]
    fn stragglers_past_the_end_land_in_the_last_bucket() {
        let buckets = buckets(&[ok(0, 250.0)], 100.0, 200.0);
        assert_eq!(buckets.len(), 2);
        assert_eq!(buckets[1].ok, 1);
    }

    #[test]
    fn segments_merge_runs_and_skip_unnamed_records() {
        let records = [
            served(ok(0, 0.0), "lb1", "a"),
            served(ok(1, 100.0), "lb1", "a"),
            fail(2, 200.0),
            served(ok(3, 300.0), "lb2", "a"),
            served(ok(4, 400.0), "lb2", "a"),
        ];
        let segments = segments(&records, |r| r.lb.as_deref());
        assert_eq!(segments.len(), 2);
        assert_eq!((segments[0].from_ms, segments[0].to_ms, segments[0].requests), (0.0, 100.0, 2));
        assert_eq!(segments[1].name, "lb2");
        assert_eq!(describe_segments(&segments), "0.0-0.1 s lb1 (2), 0.3-0.4 s lb2 (2)");
        assert_eq!(describe_segments(&[]), "-");
    }
}
