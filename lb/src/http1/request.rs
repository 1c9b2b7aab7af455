//! A client's request head, parsed (httparse) and checked before anything
//! of it reaches an upstream: the framing (RFC 9112 section 6) is decided
//! here, ambiguities are refused, and the hop-by-hop facts the proxy needs
//! (keep-alive, upgrade, expect) are read once.

use std::mem::MaybeUninit;

use super::options::{settle, ConnectionOptions};
use super::span::{list_items, HeaderSpan, Span};
pub use super::syntax::{parse_decimal, valid_host};

/// Limits on one request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Request line and header fields together, bytes (nginx: the sum of
    /// `large_client_header_buffers`, 4 x 8k).
    pub max_head: usize,
    /// One line, the request line or a field, bytes without its CRLF (nginx:
    /// one of `large_client_header_buffers`, 8k).
    pub max_line: usize,
    /// Header fields per request.
    pub max_headers: usize,
    /// Check the head per RFC 9112/9110 (method, line lengths, Host, framing
    /// ambiguities). Off only for `make bench`'s `tandem-unchecked`, which
    /// measures what the checks cost (see [`super::unchecked`]).
    pub validate: bool,
}

/// Headers httparse can hold in one parse; [`HeadLimits::max_headers`] must not exceed it.
pub const MAX_HEADERS: usize = 512;

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits { max_head: 32 * 1024, max_line: 8 * 1024, max_headers: 100, validate: true }
    }
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    #[default]
    None,
    Length(u64),
    Chunked,
    /// Until the sender closes (responses only).
    UntilClose,
}

/// Why a request head is refused, with the status the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// 400: not a valid HTTP/1.x request head.
    Malformed(&'static str),
    /// 414: the request line alone exceeds the head limit.
    UriTooLong,
    /// 431: the head exceeds the limits.
    HeadersTooLarge,
    /// 501: a transfer coding other than chunked.
    UnsupportedCoding,
    /// 505: an HTTP version other than 1.0 and 1.1.
    Version,
}

impl RequestError {
    pub fn status(self) -> u16 {
        match self {
            RequestError::Malformed(_) => 400,
            RequestError::UriTooLong => 414,
            RequestError::HeadersTooLarge => 431,
            RequestError::UnsupportedCoding => 501,
            RequestError::Version => 505,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            RequestError::Malformed(why) => why,
            RequestError::UriTooLong => "request line too long",
            RequestError::HeadersTooLarge => "request header too large",
            RequestError::UnsupportedCoding => "unsupported transfer coding",
            RequestError::Version => "unsupported HTTP version",
        }
    }
}

/// A parsed request head; spans point into the buffer it was parsed from.
/// Reused across the requests of a connection (its vectors keep their room).
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    /// Bytes of the head, the blank line included.
    pub len: usize,
    pub method: Span,
    pub target: Span,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<HeaderSpan>,
    pub host: Option<Span>,
    pub body: BodyKind,
    /// A `Content-Length` was sent (0 included): the upstream gets one too.
    pub declared_length: bool,
    /// The client wants the connection closed after this request (HTTP/1.1
    /// `Connection: close`, or HTTP/1.0 without `keep-alive`).
    pub close: bool,
    /// `Connection: upgrade` with an `Upgrade` header.
    pub upgrade: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Field names the `Connection` header lists besides close, keep-alive
    /// and upgrade: hop-by-hop, not forwarded.
    pub connection_listed: Vec<Span>,
}

impl RequestHead {
    pub fn method<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.method.get(buf)
    }

    pub fn target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.target.get(buf)
    }

    /// The path of the target (before `?`); for an absolute-form target
    /// (`http://host/p`) the path after the authority.
    pub fn path<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let t = origin(self.target(buf)).1;
        let t = if t.is_empty() { &b"/"[..] } else { t };
        t.iter().position(|&b| b == b'?').map_or(t, |i| &t[..i])
    }

    /// The host a request is for: the authority of an absolute-form target
    /// (which RFC 9112 section 3.2.2 says wins), else the `Host` header.
    pub fn host<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match origin(self.target(buf)).0 {
            Some(authority) => authority,
            None => self.host.map(|h| h.get(buf)).unwrap_or(b""),
        }
    }

    /// The authority of an absolute-form target (`http://host/p`), if it is one.
    pub fn target_authority<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        origin(self.target(buf)).0
    }

    /// The target in origin form (path and query): what an upstream gets.
    pub fn origin_target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match origin(self.target(buf)) {
            (Some(_), b"") => b"/",
            (_, t) => t,
        }
    }

    /// The query of the target (after `?`), empty without one.
    pub fn query<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let t = self.target(buf);
        t.iter().position(|&b| b == b'?').map_or(&b""[..], |i| &t[i + 1..])
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header<'a>(&self, buf: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
        self.headers.iter().find(|h| h.name.get(buf).eq_ignore_ascii_case(name)).map(|h| h.value.get(buf))
    }

    pub fn is_head(&self, buf: &[u8]) -> bool {
        self.method(buf) == b"HEAD"
    }

    pub(super) fn clear(&mut self) {
        let (mut headers, mut listed) =
            (std::mem::take(&mut self.headers), std::mem::take(&mut self.connection_listed));
        headers.clear();
        listed.clear();
        *self = RequestHead { headers, connection_listed: listed, ..RequestHead::default() };
    }
}

/// An absolute-form target split into (authority, path and query); an
/// origin-form one is all path.
fn origin(target: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let rest = if target.len() > 7 && target[..7].eq_ignore_ascii_case(b"http://") {
        &target[7..]
    } else if target.len() > 8 && target[..8].eq_ignore_ascii_case(b"https://") {
        &target[8..]
    } else {
        return (None, target);
    };
    let end = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
    (Some(&rest[..end]), &rest[end..])
}

/// Parse the head at the start of `buf` into `head`: `Ok(true)` when it is
/// complete, `Ok(false)` when more bytes are needed, or why it is refused.
pub fn parse_request(buf: &[u8], limits: HeadLimits, head: &mut RequestHead) -> Result<bool, RequestError> {
    let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let fields = &mut storage[..limits.max_headers.min(MAX_HEADERS)];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            // Enforced while reading: a line still growing past its limit
            // is refused before the rest of it is read.
            let last_line = buf.iter().rposition(|&b| b == b'\n').map_or(buf.len(), |i| buf.len() - i - 1);
            let first_line = !buf.contains(&b'\n');
            if buf.len() >= limits.max_head || (limits.validate && last_line > limits.max_line) {
                return Err(if first_line { RequestError::UriTooLong } else { RequestError::HeadersTooLarge });
            }
            return Ok(false);
        }
        Err(e) => return Err(httparse_error(e, buf)),
    };
    if len > limits.max_head {
        return Err(RequestError::HeadersTooLarge);
    }
    if !limits.validate {
        return super::unchecked::fill(buf, len, &req, head).map(|()| true);
    }
    let request_line = buf.iter().position(|&b| b == b'\n').unwrap_or(len);
    if request_line.saturating_sub(1) > limits.max_line {
        return Err(RequestError::UriTooLong);
    }
    for h in req.headers.iter() {
        let line =
            Span::of(buf, h.value).start as usize + h.value.len() - Span::of(buf, h.name.as_bytes()).start as usize;
        if line > limits.max_line {
            return Err(RequestError::HeadersTooLarge);
        }
    }
    let method = req.method.unwrap_or("").as_bytes();
    // nginx's rule, stricter than a token: upper-case letters, `_`, `-`
    // (methods are case-sensitive; `get` is not GET, and an upstream that
    // thinks it is would disagree with every check made here).
    if !method.iter().all(|&b| b.is_ascii_uppercase() || b == b'_' || b == b'-') {
        return Err(RequestError::Malformed("invalid method"));
    }
    head.clear();
    head.len = len;
    head.method = Span::of(buf, method);
    head.target = Span::of(buf, req.path.unwrap_or("").as_bytes());
    head.minor = req.version.unwrap_or(1);
    for h in req.headers.iter() {
        head.headers.push(HeaderSpan { name: Span::of(buf, h.name.as_bytes()), value: Span::of(buf, h.value) });
    }
    interpret(buf, head)?;
    Ok(true)
}

fn httparse_error(e: httparse::Error, buf: &[u8]) -> RequestError {
    match e {
        httparse::Error::TooManyHeaders => RequestError::HeadersTooLarge,
        httparse::Error::Version if looks_like_other_version(buf) => RequestError::Version,
        httparse::Error::Version => RequestError::Malformed("invalid HTTP version"),
        httparse::Error::Token => RequestError::Malformed("invalid method or request target"),
        httparse::Error::HeaderName => RequestError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => RequestError::Malformed("invalid header value"),
        httparse::Error::NewLine => RequestError::Malformed("invalid line ending"),
        httparse::Error::Status => RequestError::Malformed("invalid request line"),
    }
}

/// A request line of three parts whose third is `HTTP/<digit>.<digit>`: a
/// real version this proxy does not speak (505), rather than garbage (400).
fn looks_like_other_version(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(buf.len());
    let mut parts = buf[..line_end].split(|&b| b == b' ');
    let (Some(_), Some(_), Some(v), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    v.len() == 8 && v.starts_with(b"HTTP/") && v[5].is_ascii_digit() && v[6] == b'.' && v[7].is_ascii_digit()
}

/// Read what the proxy needs from the fields, refusing ambiguous framing.
fn interpret(buf: &[u8], head: &mut RequestHead) -> Result<(), RequestError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut coded = false;
    let mut upgrade_header = false;
    let mut connection = ConnectionOptions::default();
    for h in &head.headers {
        let name = h.name.get(buf);
        let value = h.value.get(buf);
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                if head.host.is_some() {
                    return Err(RequestError::Malformed("more than one Host header"));
                }
                if !valid_host(value) {
                    return Err(RequestError::Malformed("invalid Host header"));
                }
                head.host = Some(h.value);
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                for item in list_items(value) {
                    let n = parse_decimal(item).ok_or(RequestError::Malformed("invalid Content-Length"))?;
                    if length.is_some_and(|l| l != n) {
                        return Err(RequestError::Malformed("conflicting Content-Length values"));
                    }
                    length = Some(n);
                }
                if length.is_none() {
                    return Err(RequestError::Malformed("empty Content-Length"));
                }
                head.declared_length = true;
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                // Strict: empty elements are where parsers disagree about
                // whether a coding (and so a chunked body) is there at all.
                if value.split(|&b| b == b',').any(|item| super::span::trim(item).is_empty()) {
                    return Err(RequestError::Malformed("empty transfer coding"));
                }
                for item in list_items(value) {
                    if chunked {
                        // chunked must be the last coding, and only once.
                        return Err(RequestError::Malformed("chunked is not the last transfer coding"));
                    }
                    coded = true;
                    if item.eq_ignore_ascii_case(b"chunked") {
                        chunked = true;
                    } else {
                        return Err(RequestError::UnsupportedCoding);
                    }
                }
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
    if let Some(authority) = head.target_authority(buf) {
        // The authority of an absolute-form target replaces Host (RFC 9112
        // 3.2.2), so it is held to the same syntax; nginx refuses it too.
        if !valid_host(authority) {
            return Err(RequestError::Malformed("invalid host in the request target"));
        }
    }
    if head.minor == 1 && head.host.is_none() {
        // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
        return Err(RequestError::Malformed("no Host header"));
    }
    if coded {
        if head.minor == 0 {
            return Err(RequestError::Malformed("Transfer-Encoding in an HTTP/1.0 request"));
        }
        if length.is_some() {
            return Err(RequestError::Malformed("both Content-Length and Transfer-Encoding"));
        }
        if !chunked {
            return Err(RequestError::UnsupportedCoding);
        }
    }
    settle(head, chunked, length, connection, upgrade_header);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RequestHead, RequestError> {
        let mut head = RequestHead::default();
        match parse_request(text.as_bytes(), HeadLimits::default(), &mut head)? {
            true => Ok(head),
            false => Err(RequestError::Malformed("incomplete")),
        }
    }

    #[test]
    fn a_simple_get_is_read_with_its_parts() {
        let text = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\nNEXT";
        let h = parse(text).expect("valid");
        let buf = text.as_bytes();
        assert_eq!(h.len, text.len() - 4);
        assert_eq!(h.method(buf), b"GET");
        assert_eq!(h.path(buf), b"/a/b");
        assert_eq!(h.query(buf), b"x=1");
        assert_eq!(h.host.map(|s| s.get(buf)), Some(&b"example.com"[..]));
        assert_eq!(h.header(buf, b"x-a"), Some(&b"1"[..]));
        assert_eq!(h.body, BodyKind::None);
        assert!(!h.close);
    }

    #[test]
    fn an_absolute_form_target_routes_by_its_authority_and_path() {
        let text = "GET http://shop.example:8080/a/b?q=1 HTTP/1.1\r\nHost: other\r\n\r\n";
        let h = parse(text).expect("valid");
        let buf = text.as_bytes();
        assert_eq!(h.host(buf), b"shop.example:8080");
        assert_eq!(h.path(buf), b"/a/b");
        assert_eq!(h.query(buf), b"q=1");
        let bare = "GET http://shop.example HTTP/1.1\r\nHost: shop.example\r\n\r\n";
        assert_eq!(parse(bare).expect("valid").path(bare.as_bytes()), b"/");
        let plain = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(parse(plain).expect("valid").host(plain.as_bytes()), b"h");
    }

    #[test]
    fn an_absolute_form_target_with_an_invalid_authority_is_refused() {
        for target in ["http://:h.example/p", "http:///p", "http://user@h/p", "http://a b/"] {
            let text = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            assert!(matches!(parse(&text), Err(RequestError::Malformed(_))), "{target}");
        }
    }

    #[test]
    fn an_incomplete_head_asks_for_more() {
        let mut head = RequestHead::default();
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n", HeadLimits::default(), &mut head), Ok(false));
    }

    #[test]
    fn framing_is_decided_by_length_or_chunked() {
        assert_eq!(
            parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n").map(|h| h.body),
            Ok(BodyKind::Length(12))
        );
        assert_eq!(
            parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").map(|h| h.body),
            Ok(BodyKind::None)
        );
        assert_eq!(
            parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").map(|h| h.body),
            Ok(BodyKind::Chunked)
        );
        assert_eq!(
            parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n").map(|h| h.body),
            Ok(BodyKind::Length(5)),
            "repeated identical lengths are one length"
        );
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        let bad = [
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ];
        for (text, status) in bad {
            assert_eq!(parse(text).map(|_| ()).map_err(RequestError::status), Err(status), "{text:?}");
        }
    }

    #[test]
    fn malformed_heads_get_their_status() {
        let bad = [
            ("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("G(T / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505),
            ("GET / HTTP/1.x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ];
        for (text, status) in bad {
            assert_eq!(parse(text).map(|_| ()).map_err(RequestError::status), Err(status), "{text:?}");
        }
    }

    #[test]
    fn limits_give_414_for_the_line_and_431_for_the_fields() {
        let limits = HeadLimits { max_head: 64, max_line: 60, max_headers: 2, validate: true };
        let mut head = RequestHead::default();
        let long_line = format!("GET /{} HTTP/1.1", "a".repeat(80));
        assert_eq!(parse_request(long_line.as_bytes(), limits, &mut head), Err(RequestError::UriTooLong));
        let long_fields = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}", "a".repeat(80));
        assert_eq!(parse_request(long_fields.as_bytes(), limits, &mut head), Err(RequestError::HeadersTooLarge));
        let many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(parse_request(many.as_bytes(), limits, &mut head), Err(RequestError::HeadersTooLarge));
    }

    #[test]
    fn a_line_over_the_line_limit_is_refused_while_it_is_still_arriving() {
        let limits = HeadLimits { max_head: 4096, max_line: 32, max_headers: 10, validate: true };
        let mut head = RequestHead::default();
        let long_target = format!("GET /{}", "a".repeat(40));
        assert_eq!(parse_request(long_target.as_bytes(), limits, &mut head), Err(RequestError::UriTooLong));
        let long_field = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}", "b".repeat(40));
        assert_eq!(parse_request(long_field.as_bytes(), limits, &mut head), Err(RequestError::HeadersTooLarge));
        let whole = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n", "b".repeat(40));
        assert_eq!(parse_request(whole.as_bytes(), limits, &mut head), Err(RequestError::HeadersTooLarge));
        let fits = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Ok: {}\r\n\r\n", "c".repeat(20));
        assert_eq!(parse_request(fits.as_bytes(), limits, &mut head), Ok(true));
    }

    #[test]
    fn methods_are_upper_case_as_nginx_wants_them() {
        assert!(parse("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n").is_ok());
        assert!(parse("PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n").is_ok());
        for bad in ["get", "Get", "GE7", "G.T"] {
            let text = format!("{bad} / HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(parse(&text).map(|_| ()).map_err(RequestError::status), Err(400), "{bad}");
        }
    }

    #[test]
    fn hosts_are_checked_for_shape() {
        for good in ["example.com", "example.com:8080", "10.0.0.1", "[::1]", "[::1]:80", "a-b.c_d", "host:"] {
            assert!(valid_host(good.as_bytes()), "{good}");
        }
        for bad in ["", "a b", "a/b", "a@b", "[::1", "[zz]", "[::1]x", "h:99999", "h:8a", "h:123456", ":80", "\u{1}"] {
            assert!(!valid_host(bad.as_bytes()), "{bad:?}");
        }
        let text = "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n";
        assert_eq!(parse(text).map(|_| ()).map_err(RequestError::status), Err(400));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        assert!(!parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").expect("ok").close);
        assert!(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").expect("ok").close);
        assert!(parse("GET / HTTP/1.0\r\n\r\n").expect("ok").close);
        assert!(!parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").expect("ok").close);
    }

    #[test]
    fn connection_lists_hop_by_hop_fields_and_upgrades() {
        let text = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, X-Secret\r\nUpgrade: websocket\r\n\r\n";
        let h = parse(text).expect("ok");
        assert!(h.upgrade);
        assert_eq!(
            h.connection_listed.iter().map(|s| s.get(text.as_bytes())).collect::<Vec<_>>(),
            vec![&b"X-Secret"[..]]
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").expect("ok").upgrade,
            "needs Connection: upgrade"
        );
        assert!(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n").expect("ok").expect_continue);
    }

    #[test]
    fn a_reused_head_forgets_the_previous_request() {
        let mut head = RequestHead::default();
        let first = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X\r\n\r\n";
        assert_eq!(parse_request(first, HeadLimits::default(), &mut head), Ok(true));
        let second = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(parse_request(second, HeadLimits::default(), &mut head), Ok(true));
        assert!(head.host.is_none() && !head.close && head.connection_listed.is_empty() && head.headers.len() == 1);
    }

    #[test]
    fn an_http_1_1_request_needs_exactly_one_host() {
        assert_eq!(parse("GET / HTTP/1.1\r\n\r\n").map(|_| ()).map_err(RequestError::status), Err(400));
        assert!(parse("GET / HTTP/1.0\r\n\r\n").is_ok(), "HTTP/1.0 may leave it out");
    }

    #[test]
    fn framing_fields_cannot_be_made_hop_by_hop() {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length, Transfer-Encoding, host, x-request-id, x-a\r\nContent-Length: 3\r\n\r\n";
        let h = parse(text).expect("valid");
        let listed: Vec<&[u8]> = h.connection_listed.iter().map(|s| s.get(text.as_bytes())).collect();
        assert_eq!(listed, vec![&b"x-a"[..]], "only x-a becomes hop-by-hop");
        assert_eq!(h.body, BodyKind::Length(3));
    }

    #[test]
    fn empty_transfer_codings_are_refused() {
        for te in ["chunked,", ",chunked", "", " , chunked"] {
            let text = format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {te}\r\n\r\n");
            assert_eq!(parse(&text).map(|_| ()).map_err(RequestError::status), Err(400), "{te:?}");
        }
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n";
        assert_eq!(parse(text).map(|h| h.body), Ok(BodyKind::Chunked), "codings are case-insensitive");
    }

    #[test]
    fn decimal_parsing_is_strict() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), None, "20 digits");
        assert_eq!(parse_decimal(b"1844674407370955161"), Some(1_844_674_407_370_955_161));
        assert_eq!(parse_decimal(b"1 2"), None);
        assert_eq!(parse_decimal(b""), None);
    }
}
