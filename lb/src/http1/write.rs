//! Heads as bytes: the request tandem sends upstream, the response head it
//! sends the client, and its own error answers. Appends to a reused
//! buffer; no allocation of its own.

use http::header::{HeaderName, HeaderValue};

use super::request::{BodyKind, RequestHead};
use super::response::ResponseHead;
use super::span::Span;

/// How a body is framed on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// As the sender framed it (length, chunks, close, or none).
    AsIs(BodyKind),
    /// Chunked from the upstream, plain to an HTTP/1.0 client (which then
    /// reads until the close).
    Dechunk,
}

fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

/// The one framing field for a body: the next hop reads exactly what tandem
/// read, whatever the sender's spelling (repeated lengths, `Chunked`, ...).
fn framing_field(out: &mut Vec<u8>, body: BodyKind) {
    match body {
        BodyKind::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        BodyKind::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        BodyKind::None | BodyKind::UntilClose => {}
    }
}

/// Fields that describe one connection, never forwarded (RFC 9110 section
/// 7.6.1), besides those the `Connection` header lists. `Upgrade` goes on
/// only for an upgrade.
fn is_hop_by_hop(name: &[u8]) -> bool {
    match name.len() {
        2 => name.eq_ignore_ascii_case(b"te"),
        7 => name.eq_ignore_ascii_case(b"trailer") || name.eq_ignore_ascii_case(b"upgrade"),
        10 => name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"keep-alive"),
        16 => name.eq_ignore_ascii_case(b"proxy-connection"),
        _ => false,
    }
}

fn listed(buf: &[u8], list: &[Span], name: &[u8]) -> bool {
    list.iter().any(|s| s.get(buf).eq_ignore_ascii_case(name))
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// What tandem adds to a request it forwards (nginx's `proxy_set_header`
/// lines in the README): the client's address, the scheme, a request id.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// The client's IP as text; `None` for a client without one.
    pub client_ip: Option<&'a [u8]>,
    pub scheme: &'static [u8],
    /// Made when the client sent no `X-Request-Id`: 32 hex digits.
    pub new_request_id: &'a [u8],
    /// `Host` for a request that came without one (HTTP/1.0): the server's address.
    pub default_host: &'a [u8],
}

/// The request line and fields for the upstream: the client's fields minus
/// hop-by-hop ones, `X-Forwarded-For` extended, `X-Real-IP`,
/// `X-Forwarded-Proto`, `X-Forwarded-Host` set, the client's
/// `X-Request-Id` kept (else `fwd.new_request_id`), `Host` unchanged, the
/// framing written afresh from what tandem parsed. An absolute-form target
/// goes out in origin form, its authority as `Host`. `Expect` is dropped
/// when `answer_continue` (tandem answers 100 itself). Returns whether a
/// request id was added.
pub fn upstream_request(
    out: &mut Vec<u8>,
    buf: &[u8],
    req: &RequestHead,
    fwd: &Forwarding<'_>,
    answer_continue: bool,
) -> bool {
    let authority = req.target_authority(buf);
    out.extend_from_slice(req.method(buf));
    out.push(b' ');
    out.extend_from_slice(req.origin_target(buf));
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_request_id = false;
    for h in &req.headers {
        let name = h.name.get(buf);
        let skip = match name.len() {
            4 => authority.is_some() && name.eq_ignore_ascii_case(b"host"),
            6 => answer_continue && name.eq_ignore_ascii_case(b"expect"),
            14 => is_framing(name),
            7 if name.eq_ignore_ascii_case(b"upgrade") => !req.upgrade,
            9 => name.eq_ignore_ascii_case(b"x-real-ip"),
            12 if name.eq_ignore_ascii_case(b"x-request-id") => {
                has_request_id = true;
                false
            }
            15 => name.eq_ignore_ascii_case(b"x-forwarded-for"),
            16 => name.eq_ignore_ascii_case(b"x-forwarded-host"),
            17 => name.eq_ignore_ascii_case(b"x-forwarded-proto") || is_framing(name),
            _ => false,
        };
        if skip || (name.len() != 7 && is_hop_by_hop(name)) || listed(buf, &req.connection_listed, name) {
            continue;
        }
        field(out, name, h.value.get(buf));
    }
    match (authority, req.host) {
        (Some(a), _) => field(out, b"Host", a),
        (None, None) => field(out, b"Host", fwd.default_host),
        (None, Some(_)) => {}
    }
    match req.body {
        BodyKind::None if req.declared_length => out.extend_from_slice(b"Content-Length: 0\r\n"),
        body => framing_field(out, body),
    }
    if req.upgrade {
        field(out, b"Connection", b"upgrade");
    }
    if let Some(ip) = fwd.client_ip {
        field(out, b"X-Real-IP", ip);
        // Every earlier hop, in order, then this client.
        out.extend_from_slice(b"X-Forwarded-For: ");
        for h in &req.headers {
            if !h.value.is_empty() && h.name.get(buf).eq_ignore_ascii_case(b"x-forwarded-for") {
                out.extend_from_slice(h.value.get(buf));
                out.extend_from_slice(b", ");
            }
        }
        out.extend_from_slice(ip);
        out.extend_from_slice(b"\r\n");
    }
    field(out, b"X-Forwarded-Proto", fwd.scheme);
    if authority.is_some() || req.host.is_some() {
        field(out, b"X-Forwarded-Host", req.host(buf));
    }
    if !has_request_id {
        field(out, b"X-Request-Id", fwd.new_request_id);
    }
    out.extend_from_slice(b"\r\n");
    !has_request_id
}

/// How the client connection goes on after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientConnection {
    /// HTTP/1.1 keep-alive: nothing to say.
    KeepAlive,
    /// An HTTP/1.0 client that asked for keep-alive.
    KeepAlive10,
    Close,
    /// 101: the connection becomes a tunnel.
    Upgrade,
}

/// The status line and fields for the client: the upstream's fields minus
/// hop-by-hop ones and those `extra` replaces, then `extra`
/// (`response_headers`), then `Connection` as `conn` says. A body with a
/// length or chunks gets its framing field written afresh (`framing`); a
/// de-chunked one (an HTTP/1.0 client) none; a body without framing (a
/// HEAD's answer, a close-delimited body) keeps the upstream's fields.
pub fn client_response(
    out: &mut Vec<u8>,
    buf: &[u8],
    resp: &ResponseHead,
    extra: &[(HeaderName, HeaderValue)],
    conn: ClientConnection,
    framing: Framing,
) {
    let reframed = matches!(framing, Framing::Dechunk | Framing::AsIs(BodyKind::Length(_) | BodyKind::Chunked));
    out.extend_from_slice(b"HTTP/1.1 ");
    status_digits(out, resp.status);
    out.push(b' ');
    out.extend_from_slice(resp.reason.get(buf));
    out.extend_from_slice(b"\r\n");
    for h in &resp.headers {
        let name = h.name.get(buf);
        let upgrade_kept = conn == ClientConnection::Upgrade && name.eq_ignore_ascii_case(b"upgrade");
        if (is_hop_by_hop(name) && !upgrade_kept)
            || listed(buf, &resp.connection_listed, name)
            || (reframed && is_framing(name))
            || extra.iter().any(|(n, _)| n.as_str().as_bytes().eq_ignore_ascii_case(name))
        {
            continue;
        }
        field(out, name, h.value.get(buf));
    }
    if let Framing::AsIs(body) = framing {
        framing_field(out, body);
    }
    extra_fields(out, extra);
    connection_field(out, conn);
    out.extend_from_slice(b"\r\n");
}

fn extra_fields(out: &mut Vec<u8>, extra: &[(HeaderName, HeaderValue)]) {
    for (name, value) in extra {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
}

fn connection_field(out: &mut Vec<u8>, conn: ClientConnection) {
    match conn {
        ClientConnection::KeepAlive => {}
        ClientConnection::KeepAlive10 => field(out, b"Connection", b"keep-alive"),
        ClientConnection::Close => field(out, b"Connection", b"close"),
        ClientConnection::Upgrade => field(out, b"Connection", b"upgrade"),
    }
}

/// A response tandem makes itself (404 without a route, 502, 504, 400...):
/// a small HTML page as nginx sends, with `extra` and `Connection`. With
/// `head_only` (a HEAD request) the body is left out, its length kept.
pub fn error_response(
    out: &mut Vec<u8>,
    status: u16,
    extra: &[(HeaderName, HeaderValue)],
    conn: ClientConnection,
    head_only: bool,
) {
    own_response(out, status, None, extra, conn, head_only);
}

/// Where an HTTPS redirect points: `https://{host}[:{port}]{target}`.
pub struct HttpsLocation<'a> {
    /// The request's host, without its port.
    pub host: &'a [u8],
    /// The TLS listener's port; left out when it is 443.
    pub port: u16,
    /// The request target in origin form (path and query).
    pub target: &'a [u8],
}

/// tandem's redirect of a plain-HTTP request to HTTPS (nginx's `return 301
/// https://$host$request_uri`): 301 keeps GET and HEAD, 308 any method.
pub fn https_redirect(
    out: &mut Vec<u8>,
    status: u16,
    location: &HttpsLocation<'_>,
    extra: &[(HeaderName, HeaderValue)],
    conn: ClientConnection,
    head_only: bool,
) {
    own_response(out, status, Some(location), extra, conn, head_only);
}

fn own_response(
    out: &mut Vec<u8>,
    status: u16,
    location: Option<&HttpsLocation<'_>>,
    extra: &[(HeaderName, HeaderValue)],
    conn: ClientConnection,
    head_only: bool,
) {
    let reason = http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    let mut body = [0u8; 256];
    let body_len = {
        use std::io::Write;
        let mut cursor = &mut body[..];
        let _ = write!(
            cursor,
            "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>tandem</center>\r\n</body>\r\n</html>\r\n"
        );
        256 - cursor.len()
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    status_digits(out, status);
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/html\r\nContent-Length: ");
    decimal(out, body_len as u64);
    out.extend_from_slice(b"\r\n");
    if let Some(l) = location {
        out.extend_from_slice(b"Location: https://");
        out.extend_from_slice(l.host);
        if l.port != 443 {
            out.push(b':');
            decimal(out, u64::from(l.port));
        }
        out.extend_from_slice(l.target);
        out.extend_from_slice(b"\r\n");
    }
    extra_fields(out, extra);
    connection_field(out, conn);
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&body[..body_len]);
    }
}

/// A small answer of tandem's own with a text body (an ACME challenge's
/// key authorization).
pub fn text_response(
    out: &mut Vec<u8>,
    status: u16,
    body: &[u8],
    extra: &[(HeaderName, HeaderValue)],
    conn: ClientConnection,
    head_only: bool,
) {
    let reason = http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("OK");
    out.extend_from_slice(b"HTTP/1.1 ");
    status_digits(out, status);
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    decimal(out, body.len() as u64);
    out.extend_from_slice(b"\r\n");
    extra_fields(out, extra);
    connection_field(out, conn);
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// `100 Continue`, for a client that sent `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

fn status_digits(out: &mut Vec<u8>, status: u16) {
    let s = status.min(999);
    out.extend_from_slice(&[b'0' + (s / 100) as u8, b'0' + (s / 10 % 10) as u8, b'0' + (s % 10) as u8]);
}

/// A number in decimal, without allocating.
pub fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::request::{parse_request, HeadLimits};
    use crate::http1::response::parse_response;

    fn request(text: &str) -> RequestHead {
        let mut head = RequestHead::default();
        assert_eq!(parse_request(text.as_bytes(), HeadLimits::default(), &mut head), Ok(true));
        head
    }

    const FWD: Forwarding<'static> = Forwarding {
        client_ip: Some(b"10.0.0.7"),
        scheme: b"http",
        new_request_id: b"0123456789abcdef0123456789abcdef",
        default_host: b"127.0.0.1:9001",
    };

    fn forwarded(text: &str, answer_continue: bool) -> String {
        let head = request(text);
        let mut out = Vec::new();
        upstream_request(&mut out, text.as_bytes(), &head, &FWD, answer_continue);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn the_upstream_request_carries_the_forwarding_fields() {
        let out = forwarded(
            "GET /a?b HTTP/1.1\r\nHost: shop:8080\r\nX-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\n\r\n",
            false,
        );
        assert_eq!(
            out,
            "GET /a?b HTTP/1.1\r\nHost: shop:8080\r\nAccept: */*\r\nX-Real-IP: 10.0.0.7\r\n\
             X-Forwarded-For: 203.0.113.9, 10.0.0.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: shop:8080\r\n\
             X-Request-Id: 0123456789abcdef0123456789abcdef\r\n\r\n"
        );
    }

    #[test]
    fn every_earlier_forwarded_for_is_kept_in_order() {
        let out = forwarded(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n",
            false,
        );
        assert!(out.contains("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7\r\n"), "{out}");
    }

    #[test]
    fn a_client_request_id_is_kept_and_forged_forwarding_fields_replaced() {
        let out = forwarded(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: req-42\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n",
            false,
        );
        assert!(out.contains("X-Request-Id: req-42\r\n") && !out.contains("0123456789abcdef"), "{out}");
        assert!(!out.contains("6.6.6.6") && !out.contains("https") && !out.contains("evil"), "{out}");
    }

    #[test]
    fn hop_by_hop_fields_stay_behind() {
        let out = forwarded(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\nTE: trailers\r\n\
             X-Secret: 1\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nX-Kept: 2\r\n\r\n",
            false,
        );
        for gone in ["Connection", "Keep-Alive", "TE:", "X-Secret", "Upgrade", "Proxy-Connection"] {
            assert!(!out.contains(gone), "{gone} forwarded: {out}");
        }
        assert!(out.contains("X-Kept: 2\r\n"));
    }

    #[test]
    fn an_upgrade_keeps_its_upgrade_field_and_says_so() {
        let out = forwarded("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false);
        assert!(out.contains("Upgrade: websocket\r\n") && out.contains("Connection: upgrade\r\n"), "{out}");
    }

    #[test]
    fn a_request_without_host_gets_the_server_address_and_expect_can_be_answered_here() {
        let out = forwarded("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", true);
        assert!(out.contains("Host: 127.0.0.1:9001\r\n") && !out.contains("Expect"), "{out}");
        assert!(out.contains("Content-Length: 1\r\n"));
    }

    #[test]
    fn the_framing_goes_upstream_as_tandem_read_it() {
        let out = forwarded("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", false);
        assert_eq!(out.matches("Content-Length").count(), 1, "{out}");
        assert!(out.contains("Content-Length: 5\r\n"), "{out}");
        let out = forwarded("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", false);
        assert!(out.contains("Transfer-Encoding: chunked\r\n") && !out.contains("Chunked"), "{out}");
        let out = forwarded("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", false);
        assert!(out.contains("Content-Length: 0\r\n"), "an empty POST keeps saying so: {out}");
        let out = forwarded("GET / HTTP/1.1\r\nHost: h\r\n\r\n", false);
        assert!(!out.contains("Content-Length") && !out.contains("Transfer-Encoding"), "{out}");
    }

    #[test]
    fn an_absolute_form_request_goes_upstream_in_origin_form_for_its_authority() {
        let out = forwarded("GET http://shop.example:81/a?b HTTP/1.1\r\nHost: other\r\n\r\n", false);
        assert!(out.starts_with("GET /a?b HTTP/1.1\r\n"), "{out}");
        assert!(out.contains("Host: shop.example:81\r\n") && !out.contains("other"), "{out}");
        assert!(out.contains("X-Forwarded-Host: shop.example:81\r\n"), "{out}");
    }

    #[test]
    fn an_upstream_cannot_make_its_framing_hop_by_hop() {
        let out = response(
            "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\n",
            &[],
            ClientConnection::KeepAlive,
            false,
        );
        assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
    }

    fn response(text: &str, extra: &[(HeaderName, HeaderValue)], conn: ClientConnection, dechunk: bool) -> String {
        let mut head = ResponseHead::default();
        assert_eq!(parse_response(text.as_bytes(), 32 * 1024, &mut head), Ok(true));
        let framing = if dechunk { Framing::Dechunk } else { Framing::AsIs(head.body(false)) };
        let mut out = Vec::new();
        client_response(&mut out, text.as_bytes(), &head, extra, conn, framing);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn the_client_response_replaces_configured_fields_and_drops_hop_by_hop_ones() {
        let extra = [(HeaderName::from_static("x-tandem-node"), HeaderValue::from_static("lb1"))];
        let out = response(
            "HTTP/1.0 200 Fine\r\nX-Tandem-Node: app\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n",
            &extra,
            ClientConnection::Close,
            false,
        );
        assert_eq!(out, "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nx-tandem-node: lb1\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn a_dechunked_response_loses_its_transfer_encoding() {
        let out = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &[], ClientConnection::Close, true);
        assert_eq!(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let out =
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &[], ClientConnection::KeepAlive, false);
        assert_eq!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    }

    #[test]
    fn a_length_does_not_go_out_with_chunks() {
        let out = response(
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n",
            &[],
            ClientConnection::KeepAlive,
            false,
        );
        assert_eq!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    }

    #[test]
    fn switching_protocols_keeps_upgrade() {
        let out = response(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
            &[],
            ClientConnection::Upgrade,
            false,
        );
        assert_eq!(
            out,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n"
        );
    }

    #[test]
    fn an_error_response_is_a_whole_small_page() {
        let mut out = Vec::new();
        let extra = [(HeaderName::from_static("x-tandem-node"), HeaderValue::from_static("lb2"))];
        error_response(&mut out, 502, &extra, ClientConnection::Close, false);
        let text = String::from_utf8(out).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{head}");
        assert!(head.contains("x-tandem-node: lb2") && head.contains("Connection: close"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        assert!(body.contains("<h1>502 Bad Gateway</h1>"));
        let mut head_only = Vec::new();
        error_response(&mut head_only, 404, &[], ClientConnection::KeepAlive, true);
        assert!(String::from_utf8(head_only).expect("ascii").ends_with("\r\n\r\n"), "no body for HEAD");
    }

    #[test]
    fn decimals_are_written_without_allocation() {
        let mut out = Vec::new();
        decimal(&mut out, 0);
        out.push(b' ');
        decimal(&mut out, 18_446_744_073_709_551_615);
        assert_eq!(out, b"0 18446744073709551615");
    }

    #[test]
    fn an_https_redirect_names_the_host_the_port_unless_443_and_the_target() {
        let mut out = Vec::new();
        let l = HttpsLocation { host: b"shop.example", port: 8443, target: b"/cart?x=1" };
        https_redirect(&mut out, 301, &l, &[], ClientConnection::KeepAlive, false);
        let text = String::from_utf8(out).expect("text");
        assert!(text.starts_with("HTTP/1.1 301 Moved Permanently\r\n"), "{text}");
        assert!(text.contains("\r\nLocation: https://shop.example:8443/cart?x=1\r\n"), "{text}");
        let mut out = Vec::new();
        let l = HttpsLocation { host: b"shop.example", port: 443, target: b"/" };
        https_redirect(&mut out, 308, &l, &[], ClientConnection::Close, true);
        let text = String::from_utf8(out).expect("text");
        assert!(text.contains("\r\nLocation: https://shop.example/\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "a HEAD answer has no body: {text}");
    }
}
