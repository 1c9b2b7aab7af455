//! Client requests and connections tandem refused, by reason: what the
//! front door kept from the upstreams. Relaxed counters, shared by all
//! workers, for the status page and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a client was refused, with the answer it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a malformed request line, field or chunked body, or a bad Host.
    BadRequest,
    /// 414: the request line over `large_client_header_buffers` size.
    UriTooLong,
    /// 431: a field line, the head, or the field count over the limits.
    HeaderTooLarge,
    /// 413: a body over `client_max_body_size`.
    BodyTooLarge,
    /// 501: a transfer coding other than chunked.
    NotImplemented,
    /// 505: an HTTP version other than 1.0 and 1.1.
    Version,
    /// No whole head within `client_header_timeout` (closed, no answer, as nginx).
    HeaderTimeout,
    /// The body stalled past `client_body_timeout`.
    BodyTimeout,
    /// 503: the listener already held `max_client_connections`.
    Connections,
}

impl Refusal {
    pub const ALL: [Refusal; 9] = [
        Refusal::BadRequest,
        Refusal::UriTooLong,
        Refusal::HeaderTooLarge,
        Refusal::BodyTooLarge,
        Refusal::NotImplemented,
        Refusal::Version,
        Refusal::HeaderTimeout,
        Refusal::BodyTimeout,
        Refusal::Connections,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::BadRequest => "bad_request",
            Refusal::UriTooLong => "uri_too_long",
            Refusal::HeaderTooLarge => "header_too_large",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::NotImplemented => "not_implemented",
            Refusal::Version => "version",
            Refusal::HeaderTimeout => "header_timeout",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::Connections => "connections",
        }
    }

    /// The refusal for a status tandem answered a malformed request with.
    pub fn for_status(status: u16) -> Refusal {
        match status {
            414 => Refusal::UriTooLong,
            431 => Refusal::HeaderTooLarge,
            413 => Refusal::BodyTooLarge,
            501 => Refusal::NotImplemented,
            505 => Refusal::Version,
            _ => Refusal::BadRequest,
        }
    }
}

#[derive(Debug, Default)]
pub struct Refusals([AtomicU64; Refusal::ALL.len()]);

impl Refusals {
    pub fn count(&self, r: Refusal) {
        self.0[r as usize].fetch_add(1, Relaxed);
    }

    /// (reason, count) for every reason, in [`Refusal::ALL`] order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Refusal::ALL.iter().map(|&r| (r.as_str(), self.0[r as usize].load(Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_counts_apart() {
        let r = Refusals::default();
        r.count(Refusal::UriTooLong);
        r.count(Refusal::UriTooLong);
        r.count(Refusal::for_status(505));
        let snap = r.snapshot();
        assert_eq!(snap.len(), Refusal::ALL.len());
        assert!(
            snap.contains(&("uri_too_long", 2)) && snap.contains(&("version", 1)) && snap.contains(&("bad_request", 0))
        );
        assert_eq!(Refusal::for_status(400), Refusal::BadRequest);
    }
}
