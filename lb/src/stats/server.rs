//! Per-server counters: tries, responses by status class, failures by reason,
//! retries, quarantines, the last failure and the latency histogram.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::histogram::{HistogramSnapshot, LatencyHistogram};

/// Why a try on a server failed. The names are the metrics' `reason` label
/// and the status page's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureReason {
    /// The server refused the connection (nothing listening).
    ConnectRefused = 0,
    /// `connect_timeout` ran out.
    ConnectTimeout,
    /// Any other connect failure (no route, reset during connect...).
    ConnectError,
    /// `read_timeout` ran out waiting for the response.
    ReadTimeout,
    /// `send_timeout` ran out sending the request.
    WriteTimeout,
    /// The connection broke or closed before a full response header.
    Closed,
    /// The response header was not valid HTTP.
    InvalidHeader,
    /// A status listed in `next_upstream` moved the request on.
    HttpStatus,
}

impl FailureReason {
    pub const ALL: [FailureReason; 8] = [
        FailureReason::ConnectRefused,
        FailureReason::ConnectTimeout,
        FailureReason::ConnectError,
        FailureReason::ReadTimeout,
        FailureReason::WriteTimeout,
        FailureReason::Closed,
        FailureReason::InvalidHeader,
        FailureReason::HttpStatus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::ConnectRefused => "connect_refused",
            FailureReason::ConnectTimeout => "connect_timeout",
            FailureReason::ConnectError => "connect_error",
            FailureReason::ReadTimeout => "read_timeout",
            FailureReason::WriteTimeout => "write_timeout",
            FailureReason::Closed => "closed",
            FailureReason::InvalidHeader => "invalid_header",
            FailureReason::HttpStatus => "http_status",
        }
    }
}

/// Response status classes, `1xx` to `5xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusClass;

impl StatusClass {
    pub const NAMES: [&'static str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    /// Index into [`StatusClass::NAMES`]; out-of-range statuses count as 5xx.
    pub fn index(status: u16) -> usize {
        match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        }
    }
}

#[derive(Debug, Default)]
pub struct ServerStats {
    /// Tries sent to this server (requests and retries alike).
    requests: AtomicU64,
    /// Tries in progress, whatever config generation started them (the
    /// group's own count only knows its generation's requests).
    in_flight: AtomicU64,
    /// Response headers received, by status class.
    responses: [AtomicU64; 5],
    failures: [AtomicU64; FailureReason::ALL.len()],
    /// Failed tries here after which the request moved to another server.
    retries: AtomicU64,
    /// Times passive health (max_fails) took this server out.
    quarantines: AtomicU64,
    /// Unix milliseconds << 8 | reason, 0 = never.
    last_failure: AtomicU64,
    /// Time from choosing the server to its response header.
    latency: LatencyHistogram,
}

/// The last failure of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastFailure {
    pub reason: FailureReason,
    pub at: SystemTime,
}

/// A copy of a server's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatsSnapshot {
    pub requests: u64,
    pub in_flight: u64,
    pub responses: [u64; 5],
    pub failures: [u64; FailureReason::ALL.len()],
    pub retries: u64,
    pub quarantines: u64,
    pub last_failure: Option<LastFailure>,
    pub latency: HistogramSnapshot,
}

impl ServerStats {
    /// A try starts; [`ServerStats::on_try_end`] must follow once.
    pub fn on_try(&self) {
        self.requests.fetch_add(1, Relaxed);
        self.in_flight.fetch_add(1, Relaxed);
    }

    pub fn on_try_end(&self) {
        let _ = self.in_flight.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Relaxed)
    }

    pub fn on_response(&self, status: u16, took: Duration) {
        self.responses[StatusClass::index(status)].fetch_add(1, Relaxed);
        self.latency.observe(took);
    }

    /// A failed try. `retried`: the request moved on to another server.
    pub fn on_failure(&self, reason: FailureReason, retried: bool) {
        self.failures[reason as usize].fetch_add(1, Relaxed);
        if retried {
            self.retries.fetch_add(1, Relaxed);
        }
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        self.last_failure.store(ms << 8 | reason as u64, Relaxed);
    }

    /// A try that did not count as a failure (a listed 403/404) still moved
    /// the request on.
    pub fn on_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub fn on_quarantine(&self) {
        self.quarantines.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> ServerStatsSnapshot {
        let last = self.last_failure.load(Relaxed);
        let last_failure = (last != 0).then(|| LastFailure {
            reason: FailureReason::ALL.get((last & 0xff) as usize).copied().unwrap_or(FailureReason::ConnectError),
            at: UNIX_EPOCH + Duration::from_millis(last >> 8),
        });
        ServerStatsSnapshot {
            requests: self.requests.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            responses: std::array::from_fn(|i| self.responses[i].load(Relaxed)),
            failures: std::array::from_fn(|i| self.failures[i].load(Relaxed)),
            retries: self.retries.load(Relaxed),
            quarantines: self.quarantines.load(Relaxed),
            last_failure,
            latency: self.latency.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_last_failure_are_kept() {
        let s = ServerStats::default();
        assert_eq!(s.snapshot().last_failure, None);
        s.on_try();
        s.on_response(204, Duration::from_millis(3));
        s.on_try();
        s.on_failure(FailureReason::ConnectRefused, true);
        s.on_try();
        s.on_failure(FailureReason::HttpStatus, false);
        s.on_quarantine();
        assert_eq!(s.in_flight(), 3);
        s.on_try_end();
        s.on_try_end();
        s.on_try_end();
        s.on_try_end();
        let snap = s.snapshot();
        assert_eq!(snap.in_flight, 0, "never below zero");
        assert_eq!(snap.requests, 3);
        assert_eq!(snap.responses, [0, 1, 0, 0, 0]);
        assert_eq!(snap.failures[FailureReason::ConnectRefused as usize], 1);
        assert_eq!(snap.failures[FailureReason::HttpStatus as usize], 1);
        assert_eq!(snap.retries, 1);
        assert_eq!(snap.quarantines, 1);
        let last = snap.last_failure.unwrap_or_else(|| unreachable!());
        assert_eq!(last.reason, FailureReason::HttpStatus);
        assert!(SystemTime::now().duration_since(last.at).unwrap_or_default() < Duration::from_secs(60));
        assert_eq!(snap.latency.count(), 1);
    }

    #[test]
    fn status_classes() {
        assert_eq!(StatusClass::index(101), 0);
        assert_eq!(StatusClass::index(200), 1);
        assert_eq!(StatusClass::index(304), 2);
        assert_eq!(StatusClass::index(429), 3);
        assert_eq!(StatusClass::index(503), 4);
        assert_eq!(StatusClass::index(999), 4);
    }

    #[test]
    fn every_reason_has_its_own_slot_and_name() {
        for (i, r) in FailureReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let names: std::collections::HashSet<_> = FailureReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), FailureReason::ALL.len());
    }
}
