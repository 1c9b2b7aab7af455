//! When to ask the CA: pure, time passed in.
//!
//! - No certificate (or one that does not cover the configured names):
//!   now.
//! - A certificate: at two thirds of its lifetime (Let's Encrypt's 90 days
//!   renew with 30 left, as certbot does).
//! - After a failed attempt: again after a backoff that doubles from 1 min
//!   to 1 h, but never later than the renewal time would say when the
//!   current certificate is about to expire.

use std::time::{Duration, SystemTime};

/// The first wait after a failure; doubled per failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// The longest wait between two attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The validity of the certificate in the state directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl Validity {
    /// Two thirds into its lifetime.
    pub fn renew_at(&self) -> SystemTime {
        let life = self.not_after.duration_since(self.not_before).unwrap_or_default();
        self.not_before + life * 2 / 3
    }
}

/// When the next attempt is due: `current` is the certificate there is (if
/// it covers the names), `failures` the failed attempts in a row since the
/// last success, `last_attempt` when the last one ended.
pub fn next_attempt(current: Option<Validity>, failures: u32, last_attempt: Option<SystemTime>) -> SystemTime {
    let due = current.map_or(SystemTime::UNIX_EPOCH, |v| v.renew_at());
    match (failures, last_attempt) {
        (0, _) | (_, None) => due,
        (n, Some(at)) => due.max(at + backoff(n)),
    }
}

/// The wait after `failures` failed attempts in a row (at least one).
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(10);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_certificate_is_renewed_at_two_thirds_of_its_lifetime() {
        let v = Validity { not_before: t(1_000), not_after: t(91_000) };
        assert_eq!(v.renew_at(), t(61_000));
        assert_eq!(next_attempt(Some(v), 0, None), t(61_000));
    }

    #[test]
    fn without_a_certificate_the_attempt_is_due_at_once() {
        assert_eq!(next_attempt(None, 0, None), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn failures_back_off_doubling_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(7), Duration::from_secs(3600));
        assert_eq!(backoff(50), Duration::from_secs(3600));
        assert_eq!(next_attempt(None, 3, Some(t(10_000))), t(10_240));
    }

    #[test]
    fn a_failure_never_moves_an_attempt_earlier_than_renewal_is_due() {
        let v = Validity { not_before: t(0), not_after: t(900_000) };
        // Not due until 600,000: a failure long before does not make it due sooner.
        assert_eq!(next_attempt(Some(v), 1, Some(t(100))), t(600_000));
        // Due already: the backoff decides.
        assert_eq!(next_attempt(Some(v), 2, Some(t(700_000))), t(700_120));
    }
}
