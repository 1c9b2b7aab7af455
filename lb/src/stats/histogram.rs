//! A latency histogram with fixed buckets: one relaxed atomic add per
//! observation, quantiles estimated from the buckets when read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (Prometheus `le`), from
/// 0.5 ms to 10 s; a last, implicit bucket holds everything slower.
pub const BUCKET_BOUNDS_US: [u64; 16] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000, 30_000_000, 60_000_000,
];
const BUCKETS: usize = BUCKET_BOUNDS_US.len() + 1;

#[derive(Debug, Default)]
pub struct LatencyHistogram {
    counts: [AtomicU64; BUCKETS],
    sum_us: AtomicU64,
}

/// A copy of a histogram: per-bucket (not cumulative) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistogramSnapshot {
    pub counts: [u64; BUCKETS],
    pub sum_us: u64,
}

impl LatencyHistogram {
    pub fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_US.iter().position(|&bound| us <= bound).unwrap_or(BUCKETS - 1);
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: std::array::from_fn(|i| self.counts[i].load(Relaxed)),
            sum_us: self.sum_us.load(Relaxed),
        }
    }
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Observations made between `earlier` and `self` (for a recent window).
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: std::array::from_fn(|i| self.counts[i].saturating_sub(earlier.counts[i])),
            sum_us: self.sum_us.saturating_sub(earlier.sum_us),
        }
    }

    /// The `q` quantile (0.0..=1.0) in milliseconds, interpolated linearly
    /// inside its bucket as Prometheus' `histogram_quantile` does; `None`
    /// without observations. The open last bucket reports its lower bound.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n == 0 || ((seen + n) as f64) < rank {
                seen += n;
                continue;
            }
            let lower = if i == 0 { 0 } else { BUCKET_BOUNDS_US[i - 1] };
            let Some(&upper) = BUCKET_BOUNDS_US.get(i) else { return Some(lower as f64 / 1000.0) };
            let within = ((rank - seen as f64) / n as f64).clamp(0.0, 1.0);
            return Some((lower as f64 + within * (upper - lower) as f64) / 1000.0);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_holds_them() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_micros(501));
        h.observe(Duration::from_secs(3600));
        let s = h.snapshot();
        assert_eq!(s.counts[0], 1);
        assert_eq!(s.counts[1], 1);
        assert_eq!(s.counts[BUCKETS - 1], 1);
        assert_eq!(s.count(), 3);
        assert_eq!(s.sum_us, 500 + 501 + 3_600_000_000);
    }

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        let h = LatencyHistogram::default();
        for _ in 0..99 {
            h.observe(Duration::from_micros(700)); // bucket 0.5-1 ms
        }
        h.observe(Duration::from_millis(40)); // bucket 25-50 ms
        let s = h.snapshot();
        let p50 = s.quantile_ms(0.5).unwrap_or_default();
        assert!(p50 > 0.5 && p50 <= 1.0, "{p50}");
        let p99 = s.quantile_ms(0.99).unwrap_or_default();
        assert!(p99 <= 1.0, "99 of 100 are under 1 ms: {p99}");
        let max = s.quantile_ms(1.0).unwrap_or_default();
        assert!(max > 25.0 && max <= 50.0, "{max}");
        assert_eq!(HistogramSnapshot::default().quantile_ms(0.5), None);
    }

    #[test]
    fn a_window_is_the_difference_of_two_snapshots() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_millis(2));
        let before = h.snapshot();
        h.observe(Duration::from_secs(1));
        let window = h.snapshot().since(&before);
        assert_eq!(window.count(), 1);
        assert!(window.quantile_ms(0.5).unwrap_or_default() > 500.0);
    }
}
