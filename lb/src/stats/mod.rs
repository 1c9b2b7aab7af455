//! Counters the proxy bumps per request and the admin plane reads: plain
//! relaxed atomics, no lock, no allocation on the request path.
//!
//! - [`ServerStats`]: per upstream server, shared by every runtime that has
//!   the server (a reload hands the same counters to the new config).
//! - [`ListenerStats`]: per `listen` address, fixed for the process.
//! - [`NoLive`]: per upstream group, requests refused for want of a server.
//! - [`Refusals`]: client requests and connections refused, by reason.
//! - [`LatencyHistogram`]: fixed buckets, Prometheus style.

mod histogram;
mod refusals;
mod server;

pub use histogram::{HistogramSnapshot, LatencyHistogram, BUCKET_BOUNDS_US};
pub use refusals::{Refusal, Refusals};
pub use server::{FailureReason, LastFailure, ServerStats, ServerStatsSnapshot, StatusClass};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// One `listen` address.
#[derive(Debug)]
pub struct ListenerStats {
    pub addr: SocketAddr,
    /// A TLS listener (fixed for the process, as the socket is).
    pub tls: bool,
    /// Client connections that carried at least one request.
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// Client connections open now (for `max_client_connections`).
    pub open: AtomicU64,
    /// TLS listeners: handshakes completed, and failed or timed out.
    pub tls_handshakes: AtomicU64,
    pub tls_failures: AtomicU64,
}

impl ListenerStats {
    pub fn new(addr: SocketAddr, tls: bool) -> ListenerStats {
        ListenerStats {
            addr,
            tls,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            open: AtomicU64::new(0),
            tls_handshakes: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
        }
    }

    /// Take a place for a new connection unless `max` (0 = no cap) are open.
    pub fn try_open(&self, max: u32) -> bool {
        let opened = self.open.fetch_add(1, Relaxed);
        if max > 0 && opened >= u64::from(max) {
            self.open.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    pub fn on_handshake(&self, ok: bool) {
        if ok { &self.tls_handshakes } else { &self.tls_failures }.fetch_add(1, Relaxed);
    }

    pub fn on_close(&self) {
        self.open.fetch_sub(1, Relaxed);
    }

    /// A request arrived; `new_connection` when it is the first on its connection.
    pub fn on_request(&self, new_connection: bool) {
        self.requests.fetch_add(1, Relaxed);
        if new_connection {
            self.connections.fetch_add(1, Relaxed);
        }
    }
}

/// A group with no usable server (nginx's "no live upstreams"): the outage
/// is logged when it starts and ends, not per request, and every refused
/// request is counted. Shared by the runtimes of a group across reloads.
#[derive(Debug, Default)]
pub struct NoLive {
    out: AtomicBool,
    refusals: AtomicU64,
}

impl NoLive {
    /// A request found no usable server; true when this starts an outage.
    pub fn on_refused(&self) -> bool {
        self.refusals.fetch_add(1, Relaxed);
        !self.out.swap(true, Relaxed)
    }

    /// A request found a server; true when this ends an outage. One relaxed
    /// load when there is none.
    pub fn on_picked(&self) -> bool {
        self.out.load(Relaxed) && self.out.swap(false, Relaxed)
    }

    pub fn refusals(&self) -> u64 {
        self.refusals.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn an_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
        let n = NoLive::default();
        assert!(!n.on_picked());
        assert!(n.on_refused(), "starts");
        assert!(!n.on_refused(), "still out: not again");
        assert!(n.on_picked(), "ends");
        assert!(!n.on_picked());
        assert_eq!(n.refusals(), 2);
    }

    #[test]
    fn the_connection_cap_holds_and_frees_places() {
        let l = ListenerStats::new(addr("0.0.0.0:80"), false);
        assert!(l.try_open(2) && l.try_open(2));
        assert!(!l.try_open(2), "full");
        l.on_close();
        assert!(l.try_open(2), "a place came free");
        assert!(l.try_open(0) && l.try_open(0), "0 is no cap");
        assert_eq!(l.open.load(Relaxed), 4);
    }

    #[test]
    fn connections_count_only_first_requests() {
        let l = ListenerStats::new(addr("0.0.0.0:80"), false);
        l.on_request(true);
        l.on_request(false);
        l.on_request(false);
        assert_eq!(l.requests.load(Relaxed), 3);
        assert_eq!(l.connections.load(Relaxed), 1);
    }
}
