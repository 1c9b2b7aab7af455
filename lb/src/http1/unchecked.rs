//! The request head read without validation: only what the proxy needs to
//! forward it (method, target, version, fields, Host, body framing,
//! connection options), nothing refused that httparse accepts. It exists for
//! one purpose: `make bench` runs the same build with this path
//! (`tandem --unchecked-requests`, contender `tandem-unchecked`) to show what
//! the checks of [`super::request`] cost per request (issue: within 3%).
//!
//! Never for serving: an ambiguous head (Content-Length with
//! Transfer-Encoding, two Hosts, no Host) is forwarded as it is read here,
//! which is exactly what the checks exist to prevent.

use std::sync::atomic::{AtomicBool, Ordering};

use super::options::{settle, ConnectionOptions};
use super::request::{RequestError, RequestHead};
use super::span::{list_items, HeaderSpan, Span};

/// Whether the proxy validates request heads: true unless the process was
/// started with `--unchecked-requests`. Read once per request head (a relaxed
/// load), set once at startup.
static VALIDATE: AtomicBool = AtomicBool::new(true);

/// Turn request validation off for this process (`--unchecked-requests`).
pub fn disable_validation() {
    VALIDATE.store(false, Ordering::Relaxed);
}

/// True unless [`disable_validation`] was called.
pub fn validation() -> bool {
    VALIDATE.load(Ordering::Relaxed)
}

/// Fill `head` from httparse's parse of `buf` (`len` bytes of head).
pub fn fill(
    buf: &[u8],
    len: usize,
    req: &httparse::Request<'_, '_>,
    head: &mut RequestHead,
) -> Result<(), RequestError> {
    head.clear();
    head.len = len;
    head.method = Span::of(buf, req.method.unwrap_or("").as_bytes());
    head.target = Span::of(buf, req.path.unwrap_or("").as_bytes());
    head.minor = req.version.unwrap_or(1);
    let (mut length, mut chunked, mut upgrade_header) = (None, false, false);
    let mut connection = ConnectionOptions::default();
    for h in req.headers.iter() {
        let field = HeaderSpan { name: Span::of(buf, h.name.as_bytes()), value: Span::of(buf, h.value) };
        head.headers.push(field);
        let (name, value) = (h.name.as_bytes(), h.value);
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => head.host = head.host.or(Some(field.value)),
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                length = super::syntax::parse_decimal(super::span::trim(value));
                head.declared_length = true;
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                chunked = list_items(value).last().is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                connection.read(buf, value, &mut head.connection_listed);
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => upgrade_header = true,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                head.expect_continue = value.eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }
    settle(head, chunked, length, connection, upgrade_header);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::http1::request::{parse_request, BodyKind, HeadLimits, RequestHead};

    fn both(text: &str) -> (Result<bool, crate::http1::RequestError>, Result<bool, crate::http1::RequestError>) {
        let (mut a, mut b) = (RequestHead::default(), RequestHead::default());
        let unchecked = HeadLimits { validate: false, ..HeadLimits::default() };
        (
            parse_request(text.as_bytes(), HeadLimits::default(), &mut a),
            parse_request(text.as_bytes(), unchecked, &mut b),
        )
    }

    #[test]
    fn a_valid_request_reads_the_same_checked_or_not() {
        let text =
            "POST /a?b HTTP/1.1\r\nHost: h:81\r\nContent-Length: 3\r\nConnection: close, x-hop\r\nX-A: 1\r\n\r\nabc";
        let (mut a, mut b) = (RequestHead::default(), RequestHead::default());
        let unchecked = HeadLimits { validate: false, ..HeadLimits::default() };
        assert_eq!(parse_request(text.as_bytes(), HeadLimits::default(), &mut a), Ok(true));
        assert_eq!(parse_request(text.as_bytes(), unchecked, &mut b), Ok(true));
        let buf = text.as_bytes();
        assert_eq!((a.len, a.method(buf), a.path(buf), a.host(buf)), (b.len, b.method(buf), b.path(buf), b.host(buf)));
        assert_eq!((a.body, a.close, a.upgrade, a.headers.len()), (b.body, b.close, b.upgrade, b.headers.len()));
        assert_eq!((b.body, b.connection_listed.len()), (BodyKind::Length(3), 1));
    }

    #[test]
    fn what_the_checks_refuse_the_unchecked_path_lets_through() {
        for text in [
            "get / HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let (checked, unchecked) = both(text);
            assert!(checked.is_err(), "{text:?}");
            assert_eq!(unchecked, Ok(true), "{text:?}");
        }
    }
}
