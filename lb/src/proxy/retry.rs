//! nginx's `proxy_next_upstream` decisions as pure functions
//! (`ngx_http_upstream_next` and `ngx_http_upstream_test_next`).

use std::time::Duration;

use crate::config::NextUpstream;

/// What went wrong with one try, before any response header arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Refused, reset, closed: nginx `error`.
    Error,
    /// Connect, send, or response-header timeout: nginx `timeout`.
    Timeout,
    /// The upstream answered something that is not an HTTP response header.
    InvalidHeader,
}

impl Failure {
    fn bit(self) -> u16 {
        match self {
            Failure::Error => NextUpstream::ERROR,
            Failure::Timeout => NextUpstream::TIMEOUT,
            Failure::InvalidHeader => NextUpstream::INVALID_HEADER,
        }
    }
}

/// The facts a retry decision needs about the request so far.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    pub next_upstream: NextUpstream,
    /// Tries left *before* this try is accounted (nginx `pc->tries`).
    pub tries_left: u32,
    /// Whether the request reached the upstream (false only for connect failures).
    pub request_sent: bool,
    /// POST, LOCK or PATCH: the methods nginx will not resend by default.
    pub non_idempotent: bool,
    /// False when the request body outgrew the retry buffer and cannot be replayed.
    pub body_replayable: bool,
    /// Time since the first try started.
    pub elapsed: Duration,
    /// `next_upstream_timeout`; zero means no bound.
    pub timeout: Duration,
}

impl Situation {
    fn allows(&self, mask: u16) -> bool {
        let mask = if self.request_sent && self.non_idempotent { mask | NextUpstream::NON_IDEMPOTENT } else { mask };
        let body_ok = !self.request_sent || self.body_replayable;
        let in_time = self.timeout.is_zero() || self.elapsed < self.timeout;
        self.next_upstream.contains(mask) && body_ok && in_time
    }
}

/// After a failed try (always charged to the server): may the request move on?
/// nginx decrements `tries` first, so a retry needs more than this one left.
pub fn retry_after_failure(failure: Failure, s: &Situation) -> bool {
    s.tries_left > 1 && s.allows(failure.bit())
}

/// What to do with a response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// Pass the response to the client; the try counts as a success (even a
    /// listed 5xx on the last possible try, as nginx).
    Pass,
    /// Move on to another server; `charge` says whether the server is charged
    /// a failure (not for 403 and 404).
    Retry { charge: bool },
}

/// nginx `ngx_http_upstream_test_next`.
pub fn status_action(status: u16, s: &Situation) -> StatusAction {
    let Some(bit) = NextUpstream::status_bit(status) else {
        return StatusAction::Pass;
    };
    if s.tries_left > 1 && s.allows(bit) {
        StatusAction::Retry { charge: !matches!(status, 403 | 404) }
    } else {
        StatusAction::Pass
    }
}

/// nginx's non-idempotent methods for `proxy_next_upstream` (methods are
/// case-sensitive: `post` is not POST).
pub fn is_non_idempotent(method: &[u8]) -> bool {
    matches!(method, b"POST" | b"PATCH" | b"LOCK")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(list: &[&str]) -> Situation {
        let mut bits = 0;
        for e in list {
            bits |= NextUpstream::parse_entry(e).expect("known entry");
        }
        Situation {
            next_upstream: NextUpstream(bits),
            tries_left: 3,
            request_sent: true,
            non_idempotent: false,
            body_replayable: true,
            elapsed: Duration::from_millis(10),
            timeout: Duration::ZERO,
        }
    }

    #[test]
    fn a_connect_error_moves_on_for_any_method() {
        let s = Situation { request_sent: false, non_idempotent: true, ..situation(&["error", "timeout"]) };
        assert!(retry_after_failure(Failure::Error, &s));
    }

    #[test]
    fn a_post_is_not_resent_after_it_reached_the_upstream() {
        let s = Situation { non_idempotent: true, ..situation(&["error", "timeout"]) };
        assert!(!retry_after_failure(Failure::Timeout, &s));
    }

    #[test]
    fn non_idempotent_in_the_list_allows_resending_a_post() {
        let s = Situation { non_idempotent: true, ..situation(&["error", "timeout", "non_idempotent"]) };
        assert!(retry_after_failure(Failure::Timeout, &s));
    }

    #[test]
    fn a_get_is_resent_after_a_timeout() {
        assert!(retry_after_failure(Failure::Timeout, &situation(&["error", "timeout"])));
    }

    #[test]
    fn an_unlisted_condition_does_not_move_on() {
        assert!(!retry_after_failure(Failure::Timeout, &situation(&["error"])));
        assert!(!retry_after_failure(Failure::InvalidHeader, &situation(&["error", "timeout"])));
    }

    #[test]
    fn the_last_try_never_moves_on() {
        let s = Situation { tries_left: 1, ..situation(&["error"]) };
        assert!(!retry_after_failure(Failure::Error, &s));
    }

    #[test]
    fn next_upstream_timeout_bounds_the_retries() {
        let s = Situation { elapsed: Duration::from_secs(2), timeout: Duration::from_secs(2), ..situation(&["error"]) };
        assert!(!retry_after_failure(Failure::Error, &s));
    }

    #[test]
    fn a_body_too_large_to_replay_is_not_resent() {
        let s = Situation { body_replayable: false, ..situation(&["error"]) };
        assert!(!retry_after_failure(Failure::Error, &s));
        let s = Situation { request_sent: false, ..s };
        assert!(retry_after_failure(Failure::Error, &s), "nothing sent yet: still safe");
    }

    #[test]
    fn a_listed_status_moves_on_and_charges_the_server() {
        assert_eq!(status_action(502, &situation(&["http_502"])), StatusAction::Retry { charge: true });
    }

    #[test]
    fn an_unlisted_status_passes_to_the_client() {
        assert_eq!(status_action(502, &situation(&["error", "http_503"])), StatusAction::Pass);
        assert_eq!(status_action(200, &situation(&["http_502"])), StatusAction::Pass);
    }

    #[test]
    fn a_listed_status_on_the_last_try_passes_to_the_client() {
        let s = Situation { tries_left: 1, ..situation(&["http_503"]) };
        assert_eq!(status_action(503, &s), StatusAction::Pass);
    }

    #[test]
    fn listed_403_and_404_move_on_without_charging_the_server() {
        let s = situation(&["http_403", "http_404"]);
        assert_eq!(status_action(403, &s), StatusAction::Retry { charge: false });
        assert_eq!(status_action(404, &s), StatusAction::Retry { charge: false });
    }

    #[test]
    fn a_listed_status_for_a_post_needs_non_idempotent() {
        let s = Situation { non_idempotent: true, ..situation(&["http_502"]) };
        assert_eq!(status_action(502, &s), StatusAction::Pass);
        let s = Situation { non_idempotent: true, ..situation(&["http_502", "non_idempotent"]) };
        assert_eq!(status_action(502, &s), StatusAction::Retry { charge: true });
    }

    #[test]
    fn nginx_counts_only_post_lock_and_patch_as_non_idempotent() {
        assert!(is_non_idempotent(b"POST"));
        assert!(is_non_idempotent(b"PATCH"));
        assert!(is_non_idempotent(b"LOCK"));
        assert!(!is_non_idempotent(b"PUT"));
        assert!(!is_non_idempotent(b"DELETE"));
    }
}
