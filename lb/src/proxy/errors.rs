//! One try's failures in nginx's terms: the status page's reason, the
//! `proxy_next_upstream` condition, and the status the client gets when
//! nothing is left to try.

use super::io::IoFail;
use super::retry::Failure;
use super::upstream::ConnectFail;
use crate::stats::FailureReason;

/// How a try on an upstream server failed, before its response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryFail {
    ConnectRefused,
    ConnectTimeout,
    /// Any other error while connecting (no route, reset during the handshake).
    ConnectError,
    /// No byte of the response within `read_timeout`.
    ReadTimeout,
    /// The request could not be written within `send_timeout`.
    WriteTimeout,
    /// Closed or reset before the response header was complete.
    Closed,
    /// Something that is not an HTTP/1.x response header.
    InvalidHeader,
}

impl TryFail {
    /// The status page's and the metrics' word.
    pub fn reason(self) -> FailureReason {
        match self {
            TryFail::ConnectRefused => FailureReason::ConnectRefused,
            TryFail::ConnectTimeout => FailureReason::ConnectTimeout,
            TryFail::ConnectError => FailureReason::ConnectError,
            TryFail::ReadTimeout => FailureReason::ReadTimeout,
            TryFail::WriteTimeout => FailureReason::WriteTimeout,
            TryFail::Closed => FailureReason::Closed,
            TryFail::InvalidHeader => FailureReason::InvalidHeader,
        }
    }

    /// nginx's failure condition (`error`, `timeout`, `invalid_header`).
    pub fn condition(self) -> Failure {
        match self {
            TryFail::ConnectTimeout | TryFail::ReadTimeout | TryFail::WriteTimeout => Failure::Timeout,
            TryFail::InvalidHeader => Failure::InvalidHeader,
            TryFail::ConnectRefused | TryFail::ConnectError | TryFail::Closed => Failure::Error,
        }
    }

    /// What the client gets when this was the last try: 504 for a timeout,
    /// 502 otherwise (as nginx).
    pub fn client_status(self) -> u16 {
        if self.condition() == Failure::Timeout {
            504
        } else {
            502
        }
    }

    /// True when nothing was sent to the server yet.
    pub fn before_sending(self) -> bool {
        matches!(self, TryFail::ConnectRefused | TryFail::ConnectTimeout | TryFail::ConnectError)
    }

    pub fn from_connect(e: &ConnectFail) -> TryFail {
        match e {
            ConnectFail::Refused => TryFail::ConnectRefused,
            ConnectFail::Timeout => TryFail::ConnectTimeout,
            ConnectFail::Other(_) => TryFail::ConnectError,
        }
    }

    /// A failed write of the request.
    pub fn from_write(e: &IoFail) -> TryFail {
        match e {
            IoFail::Timeout => TryFail::WriteTimeout,
            IoFail::Closed | IoFail::Error(_) => TryFail::Closed,
        }
    }

    /// A failed read of the response header.
    pub fn from_read(e: &IoFail) -> TryFail {
        match e {
            IoFail::Timeout => TryFail::ReadTimeout,
            IoFail::Closed | IoFail::Error(_) => TryFail::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_give_504_and_other_failures_502() {
        assert_eq!(TryFail::ReadTimeout.client_status(), 504);
        assert_eq!(TryFail::ConnectTimeout.client_status(), 504);
        assert_eq!(TryFail::ConnectRefused.client_status(), 502);
        assert_eq!(TryFail::InvalidHeader.client_status(), 502);
    }

    #[test]
    fn failure_reasons_tell_connect_errors_from_later_ones() {
        assert_eq!(TryFail::ConnectRefused.reason(), FailureReason::ConnectRefused);
        assert_eq!(TryFail::from_connect(&ConnectFail::Timeout).reason(), FailureReason::ConnectTimeout);
        assert_eq!(TryFail::from_read(&IoFail::Closed).reason(), FailureReason::Closed);
        assert_eq!(TryFail::from_read(&IoFail::Timeout).reason(), FailureReason::ReadTimeout);
        assert_eq!(TryFail::from_write(&IoFail::Timeout).reason(), FailureReason::WriteTimeout);
        assert!(TryFail::ConnectError.before_sending() && !TryFail::Closed.before_sending());
    }

    #[test]
    fn conditions_follow_nginx() {
        assert_eq!(TryFail::Closed.condition(), Failure::Error);
        assert_eq!(TryFail::WriteTimeout.condition(), Failure::Timeout);
        assert_eq!(TryFail::InvalidHeader.condition(), Failure::InvalidHeader);
    }
}
