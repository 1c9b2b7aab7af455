//! Error windows: how long clients saw failures. Pure functions over records
//! sorted by start time.
//!
//! A window opens at the start of a failed request and closes at the start of
//! the next successful one (later failures inside it only count). A window
//! still open when the load ends closes at the load's end and is marked `open`.
//! Measuring between request starts means the resolution is one request
//! interval (10 ms at 100 req/s), whatever the latencies.

use serde::Serialize;

use crate::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub start_ms: f64,
    pub end_ms: f64,
    pub duration_ms: f64,
    /// Failed requests that started inside the window (the opening one included).
    pub failures: u64,
    /// True when no success came before the load ended (`end_ms` is the load's end).
    pub open: bool,
}

impl Window {
    fn new(start_ms: f64, end_ms: f64, failures: u64, open: bool) -> Window {
        Window { start_ms, end_ms, duration_ms: (end_ms - start_ms).max(0.0), failures, open }
    }
}

/// The error windows among `records` (sorted by `start_ms`), in order.
/// `end_ms` closes a window that is still open at the end.
pub fn error_windows<'a>(records: impl IntoIterator<Item = &'a Record>, end_ms: f64) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut open: Option<(f64, u64)> = None;
    for record in records {
        match (record.is_success(), open) {
            (false, None) => open = Some((record.start_ms, 1)),
            (false, Some((start, failures))) => open = Some((start, failures + 1)),
            (true, Some((start, failures))) => {
                windows.push(Window::new(start, record.start_ms, failures, false));
                open = None;
            }
            (true, None) => {}
        }
    }
    if let Some((start, failures)) = open {
        windows.push(Window::new(start, end_ms.max(start), failures, true));
    }
    windows
}

/// The longest window (the earliest of equals), if any.
pub fn longest<'a>(windows: impl IntoIterator<Item = &'a Window>) -> Option<Window> {
    windows.into_iter().fold(None, |best: Option<Window>, w| match best {
        Some(b) if b.duration_ms >= w.duration_ms => Some(b),
        _ => Some(*w),
    })
}

/// The longest window that starts in `[from_ms, to_ms)` (`to_ms` `None`: no upper bound).
pub fn longest_starting_in(windows: &[Window], from_ms: f64, to_ms: Option<f64>) -> Option<Window> {
    longest(windows.iter().filter(|w| starts_in(w, from_ms, to_ms)))
}

/// Time to recover: from the fault's start to the close of the last window
/// that opened in `[fault_ms, recover_ms)`; 0 when none did.
pub fn time_to_recover(windows: &[Window], fault_ms: f64, recover_ms: Option<f64>) -> f64 {
    windows.iter().filter(|w| starts_in(w, fault_ms, recover_ms)).map(|w| w.end_ms - fault_ms).fold(0.0, f64::max)
}

fn starts_in(window: &Window, from_ms: f64, to_ms: Option<f64>) -> bool {
    window.start_ms >= from_ms && to_ms.is_none_or(|to| window.start_ms < to)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::tests::{fail, ok, rec};
    use crate::record::{Kind, Outcome};

    #[test]
    fn no_failures_means_no_windows() {
        let records = [ok(0, 0.0), ok(1, 10.0)];
        assert!(error_windows(&records, 20.0).is_empty());
        assert_eq!(longest(&[]), None);
    }

    #[test]
    fn a_window_runs_from_the_first_failure_to_the_next_success_start() {
        let records = [ok(0, 0.0), fail(1, 10.0), fail(2, 20.0), fail(3, 30.0), ok(4, 40.0), ok(5, 50.0)];
        let windows = error_windows(&records, 60.0);
        assert_eq!(windows, vec![Window::new(10.0, 40.0, 3, false)]);
        assert_eq!(windows[0].duration_ms, 30.0);
    }

    #[test]
    fn a_window_open_at_the_end_closes_at_the_load_end() {
        let records = [ok(0, 0.0), fail(1, 10.0), fail(2, 20.0)];
        assert_eq!(error_windows(&records, 100.0), vec![Window::new(10.0, 100.0, 2, true)]);
    }

    #[test]
    fn separate_failures_make_separate_windows_and_the_longest_wins() {
        let records = [fail(0, 0.0), ok(1, 10.0), fail(2, 20.0), fail(3, 30.0), ok(4, 50.0)];
        let windows = error_windows(&records, 60.0);
        assert_eq!(windows.len(), 2);
        assert_eq!(longest(&windows), Some(Window::new(20.0, 50.0, 2, false)));
    }

    #[test]
    fn equal_windows_prefer_the_earliest() {
        let windows = [Window::new(0.0, 10.0, 1, false), Window::new(20.0, 30.0, 1, false)];
        assert_eq!(longest(&windows).map(|w| w.start_ms), Some(0.0));
    }

    #[test]
    fn a_success_of_another_kind_closes_the_overall_window() {
        let records = [
            rec(0, 0.0, Kind::Post, Outcome::Status(503)),
            rec(1, 10.0, Kind::GetList, Outcome::Status(200)),
            rec(2, 20.0, Kind::Post, Outcome::Status(201)),
        ];
        assert_eq!(error_windows(&records, 30.0)[0].end_ms, 10.0);
        let writes: Vec<_> = records.iter().filter(|r| !r.kind.is_read()).collect();
        assert_eq!(error_windows(writes, 30.0)[0].end_ms, 20.0);
    }

    #[test]
    fn takeover_and_failback_windows_are_chosen_by_start_time() {
        let windows = [
            Window::new(100.0, 900.0, 5, false),   // before the fault at 1000
            Window::new(1000.0, 1300.0, 3, false), // takeover
            Window::new(1500.0, 1600.0, 1, false), // takeover, shorter
            Window::new(2000.0, 2050.0, 1, false), // failback (recovery at 2000)
            Window::new(2500.0, 2700.0, 2, false), // failback, longer
        ];
        let takeover = longest_starting_in(&windows, 1000.0, Some(2000.0)).unwrap();
        assert_eq!(takeover.start_ms, 1000.0);
        let failback = longest_starting_in(&windows, 2000.0, None).unwrap();
        assert_eq!(failback.start_ms, 2500.0);
        assert_eq!(longest_starting_in(&windows, 3000.0, None), None);
    }

    #[test]
    fn time_to_recover_ends_at_the_last_window_opened_during_the_fault() {
        let windows = [
            Window::new(100.0, 900.0, 5, false),
            Window::new(1000.0, 1300.0, 3, false),
            Window::new(1500.0, 1600.0, 1, false),
            Window::new(2500.0, 2700.0, 2, false),
        ];
        assert_eq!(time_to_recover(&windows, 1000.0, Some(2000.0)), 600.0);
        assert_eq!(time_to_recover(&windows, 1000.0, None), 1700.0);
        assert_eq!(time_to_recover(&windows, 3000.0, None), 0.0);
    }

    #[test]
    fn a_window_that_began_before_the_fault_does_not_count_as_takeover() {
        let windows = [Window::new(900.0, 1500.0, 5, false)];
        assert_eq!(longest_starting_in(&windows, 1000.0, Some(2000.0)), None);
        assert_eq!(time_to_recover(&windows, 1000.0, Some(2000.0)), 0.0);
    }
}
