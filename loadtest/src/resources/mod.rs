//! What a soak learns about the processes it watches: samples of resident
//! memory and open file descriptors over time, and how much each grew after
//! the warm-up. Pure: the samples come from [`sampler`].
//!
//! Growth compares medians of windows, not single samples: after the warm-up
//! the samples are cut into windows of equal length (a soak's cycle of
//! faults, so each window holds the same events), and the highest median of
//! a later window is compared with the median of the first. A leak raises
//! every later window; a burst of connections in flight at one sample (a slow
//! upstream holds more of them for a moment) moves a median little. The peak
//! sample is reported beside it.

pub mod sampler;

use serde::Serialize;

/// One reading of one process, `t_ms` from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub t_ms: f64,
    pub rss_kb: u64,
    pub fds: u64,
}

/// Every reading of one watched process.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Series {
    pub name: String,
    pub pid: Option<u32>,
    pub samples: Vec<Sample>,
    /// Why sampling never began or ended early: the pid command failed, the
    /// process exited. A problem fails the run.
    pub problem: Option<String>,
}

/// How far one quantity rose after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Growth {
    /// Median of the first window after the warm-up.
    pub baseline: f64,
    /// The highest median of a later window.
    pub worst: f64,
    /// When that window began, ms from the start.
    pub worst_at_ms: f64,
    /// Windows compared, the first included.
    pub windows: usize,
    /// The highest single sample after the warm-up.
    pub peak: u64,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "kB")]
    Kilobytes,
    #[serde(rename = "fds")]
    Descriptors,
}

impl Growth {
    /// `(worst - baseline) / baseline` in percent; negative when it shrank.
    pub fn percent(&self) -> f64 {
        if self.baseline > 0.0 {
            (self.worst - self.baseline) / self.baseline * 100.0
        } else if self.worst > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }

    /// `+2.1% (48.2 MB -> 49.2 MB at 120 s, peak 51.0 MB, 9 windows)`.
    pub fn describe(&self) -> String {
        let value = |v: f64| match self.unit {
            Unit::Kilobytes => format!("{:.1} MB", v / 1024.0),
            Unit::Descriptors => format!("{v:.0}"),
        };
        format!(
            "{:+.1}% ({} -> {} at {:.0} s, peak {}, {} windows)",
            self.percent(),
            value(self.baseline),
            value(self.worst),
            self.worst_at_ms / 1000.0,
            value(self.peak as f64),
            self.windows
        )
    }
}

/// A watched process as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Watched {
    pub name: String,
    pub pid: Option<u32>,
    pub samples: usize,
    pub rss: Option<Growth>,
    pub fds: Option<Growth>,
    pub problem: Option<String>,
}

/// The growth of RSS and descriptors of `series` over complete windows of
/// `window_ms` from `warmup_ms` up to `end_ms`.
pub fn summarize(series: &Series, warmup_ms: f64, window_ms: f64, end_ms: f64) -> Watched {
    let points = |f: fn(&Sample) -> u64| series.samples.iter().map(|s| (s.t_ms, f(s))).collect::<Vec<_>>();
    Watched {
        name: series.name.clone(),
        pid: series.pid,
        samples: series.samples.len(),
        rss: growth(&points(|s| s.rss_kb), warmup_ms, window_ms, end_ms, Unit::Kilobytes),
        fds: growth(&points(|s| s.fds), warmup_ms, window_ms, end_ms, Unit::Descriptors),
        problem: series.problem.clone(),
    }
}

/// Growth of `(t_ms, value)` points; `None` with fewer than two windows that
/// hold samples (nothing to compare).
pub fn growth(points: &[(f64, u64)], warmup_ms: f64, window_ms: f64, end_ms: f64, unit: Unit) -> Option<Growth> {
    if window_ms <= 0.0 {
        return None;
    }
    // Complete windows only: a last partial one would hold fewer samples (and
    // fewer of the cycle's events) than the others. A millisecond of slack
    // for a window that ends exactly at the end of the load.
    let count = ((end_ms - warmup_ms + 1.0) / window_ms).floor().max(0.0) as usize;
    let mut medians = Vec::new();
    let mut peak = 0;
    for k in 0..count {
        let start = warmup_ms + k as f64 * window_ms;
        let mut values: Vec<u64> =
            points.iter().filter(|(t, _)| *t >= start && *t < start + window_ms).map(|(_, v)| *v).collect();
        if values.is_empty() {
            continue;
        }
        peak = peak.max(values.iter().copied().max().unwrap_or(0));
        medians.push((start, median(&mut values)));
    }
    let (&(_, baseline), later) = medians.split_first()?;
    let &(worst_at_ms, worst) = later.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Growth { baseline, worst, worst_at_ms, windows: medians.len(), peak, unit })
}

fn median(values: &mut [u64]) -> f64 {
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    }
}

/// `process,t_s,rss_kb,fds` rows of every sample, for plotting.
pub fn csv(series: &[Series]) -> String {
    let mut out = String::from("process,t_s,rss_kb,fds\n");
    for s in series {
        for sample in &s.samples {
            out.push_str(&format!("{},{:.3},{},{}\n", s.name, sample.t_ms / 1000.0, sample.rss_kb, sample.fds));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// One sample per second from 0 to `secs - 1`, valued by `f(second)`.
    fn every_second(secs: u64, f: impl Fn(u64) -> u64) -> Vec<(f64, u64)> {
        (0..secs).map(|s| (s as f64 * 1000.0, f(s))).collect()
    }

    #[test]
    fn a_flat_series_after_warm_up_has_no_growth_even_if_warm_up_climbed() {
        let points = every_second(60, |s| if s < 20 { 10 * s } else { 200 });
        let g = growth(&points, 20_000.0, 20_000.0, 60_000.0, Unit::Kilobytes).unwrap();
        assert_eq!((g.baseline, g.worst, g.windows), (200.0, 200.0, 2));
        assert_eq!(g.percent(), 0.0);
    }

    #[test]
    fn a_steady_leak_shows_in_the_later_windows() {
        // +1 per second from 100: window medians 129.5 (20-39 s) and 149.5 (40-59 s).
        let points = every_second(60, |s| 100 + s);
        let g = growth(&points, 20_000.0, 20_000.0, 60_000.0, Unit::Descriptors).unwrap();
        assert_eq!((g.baseline, g.worst, g.worst_at_ms), (129.5, 149.5, 40_000.0));
        assert!((g.percent() - 15.44).abs() < 0.01, "{}", g.percent());
        assert_eq!(g.peak, 159);
    }

    #[test]
    fn a_burst_at_one_sample_moves_the_peak_not_the_median() {
        let points = every_second(60, |s| if s == 50 { 400 } else { 100 });
        let g = growth(&points, 20_000.0, 20_000.0, 60_000.0, Unit::Descriptors).unwrap();
        assert_eq!((g.percent(), g.peak), (0.0, 400));
    }

    #[test]
    fn fewer_than_two_windows_with_samples_measure_nothing() {
        let points = every_second(60, |_| 100);
        assert_eq!(growth(&points, 30_000.0, 20_000.0, 60_000.0, Unit::Kilobytes).map(|g| g.windows), None);
        // The process exited at 20 s: the second window holds no sample.
        let points = every_second(20, |_| 100);
        assert_eq!(growth(&points, 0.0, 20_000.0, 40_000.0, Unit::Kilobytes), None);
    }

    #[test]
    fn a_partial_last_window_is_left_out() {
        // Windows 10-30 and 30-50 are complete; 50-55 is not, and its jump is ignored.
        let points = every_second(55, |s| if s >= 50 { 999 } else { 100 });
        let g = growth(&points, 10_000.0, 20_000.0, 55_000.0, Unit::Kilobytes).unwrap();
        assert_eq!((g.windows, g.percent()), (2, 0.0));
    }

    #[test]
    fn growth_is_described_in_megabytes_or_descriptors() {
        let g = Growth {
            baseline: 10240.0,
            worst: 10752.0,
            worst_at_ms: 120_000.0,
            windows: 9,
            peak: 11264,
            unit: Unit::Kilobytes,
        };
        assert_eq!(g.describe(), "+5.0% (10.0 MB -> 10.5 MB at 120 s, peak 11.0 MB, 9 windows)");
        let g = Growth { unit: Unit::Descriptors, baseline: 30.0, worst: 30.0, peak: 41, ..g };
        assert_eq!(g.describe(), "+0.0% (30 -> 30 at 120 s, peak 41, 9 windows)");
    }

    #[test]
    fn samples_are_written_as_csv_rows() {
        let series = Series {
            name: "lb1/tandem".into(),
            pid: Some(7),
            samples: vec![Sample { t_ms: 1500.0, rss_kb: 2048, fds: 31 }],
            problem: None,
        };
        assert_eq!(csv(&[series]), "process,t_s,rss_kb,fds\nlb1/tandem,1.500,2048,31\n");
    }
}
