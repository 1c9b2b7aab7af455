//! Pingora errors in nginx's terms: which `proxy_next_upstream` condition an
//! error is, and which status the client gets when nothing is left to try.

use pingora::{Error, ErrorSource, ErrorType};

use super::retry::Failure;
use crate::stats::FailureReason;

/// The status page's and metrics' word for a failed try: `connecting` for
/// errors from `fail_to_connect`.
pub fn failure_reason(etype: &ErrorType, connecting: bool) -> FailureReason {
    use ErrorType::*;
    match etype {
        ConnectRefused => FailureReason::ConnectRefused,
        ConnectTimedout => FailureReason::ConnectTimeout,
        ReadTimedout => FailureReason::ReadTimeout,
        WriteTimedout => FailureReason::WriteTimeout,
        InvalidHTTPHeader | H1Error | InvalidH2 => FailureReason::InvalidHeader,
        HTTPStatus(_) => FailureReason::HttpStatus,
        _ if connecting => FailureReason::ConnectError,
        _ => FailureReason::Closed,
    }
}

/// The nginx failure condition of an upstream error, or `None` for errors
/// that are not the upstream's fault (client gone, internal).
pub fn classify(etype: &ErrorType) -> Option<Failure> {
    use ErrorType::*;
    Some(match etype {
        ConnectTimedout | ReadTimedout | WriteTimedout | TLSHandshakeTimedout => Failure::Timeout,
        InvalidHTTPHeader | H1Error | InvalidH2 => Failure::InvalidHeader,
        ConnectRefused | ConnectNoRoute | ConnectError | BindError | SocketError | ConnectProxyFailure
        | TLSHandshakeFailure | HandshakeError | InvalidCert | ReadError | WriteError | ConnectionClosed | H2Error => {
            Failure::Error
        }
        _ => return None,
    })
}

/// The status for the client when a request fails for good: 504 for
/// timeouts (as nginx), the status itself for our own HTTP errors, 502 for
/// other upstream errors, 0 when the client is already gone.
pub fn error_status(e: &Error) -> u16 {
    if let ErrorType::HTTPStatus(code) = e.etype() {
        return *code;
    }
    if classify(e.etype()) == Some(Failure::Timeout) && *e.esource() != ErrorSource::Downstream {
        return 504;
    }
    match e.esource() {
        ErrorSource::Upstream => 502,
        ErrorSource::Downstream => match e.etype() {
            ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
            _ => 400,
        },
        ErrorSource::Internal | ErrorSource::Unset => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_tell_connect_errors_from_later_ones() {
        assert_eq!(failure_reason(&ErrorType::ConnectRefused, true), FailureReason::ConnectRefused);
        assert_eq!(failure_reason(&ErrorType::ConnectTimedout, true), FailureReason::ConnectTimeout);
        assert_eq!(failure_reason(&ErrorType::ConnectNoRoute, true), FailureReason::ConnectError);
        assert_eq!(failure_reason(&ErrorType::ConnectionClosed, false), FailureReason::Closed);
        assert_eq!(failure_reason(&ErrorType::ReadTimedout, false), FailureReason::ReadTimeout);
        assert_eq!(failure_reason(&ErrorType::InvalidHTTPHeader, false), FailureReason::InvalidHeader);
    }
}
