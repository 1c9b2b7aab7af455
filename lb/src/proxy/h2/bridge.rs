//! An HTTP/2 stream's request as an HTTP/1.1 head, and an HTTP/1.1
//! response head as an HTTP/2 response: pure conversions (RFC 9113 section
//! 8.2.2 and 8.3), tested apart from any connection.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;

use crate::http1::ResponseHead;

/// Fields that only mean something on one HTTP/1.1 connection: never sent
/// in HTTP/2 (RFC 9113 section 8.2.2).
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"];

/// Write `parts` as an HTTP/1.1 request head into `out`. `end_stream`: the
/// stream carries no body. Returns whether the body must be sent chunked
/// (it has no `content-length` and is not empty). The head asks for
/// `Connection: close`: the bridge carries one request.
pub fn request_head(out: &mut Vec<u8>, parts: &Parts, end_stream: bool) -> bool {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let target = parts.uri.path_and_query().map(|p| p.as_str()).filter(|p| !p.is_empty()).unwrap_or("/");
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // `:authority` wins over a `host` field (RFC 9113 section 8.3.1).
    let authority = parts.uri.authority().map(|a| a.as_str().as_bytes());
    if let Some(host) = authority.or_else(|| parts.headers.get(header::HOST).map(HeaderValue::as_bytes)) {
        field(out, b"Host", host);
    }
    let mut cookies: Option<Vec<u8>> = None;
    for (name, value) in &parts.headers {
        if name == header::HOST || HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if name == header::COOKIE {
            // Split into several fields in HTTP/2; one in HTTP/1.1 (8.2.3).
            let joined = cookies.get_or_insert_with(Vec::new);
            if !joined.is_empty() {
                joined.extend_from_slice(b"; ");
            }
            joined.extend_from_slice(value.as_bytes());
            continue;
        }
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if let Some(c) = cookies {
        field(out, b"Cookie", &c);
    }
    let chunked = !end_stream && !parts.headers.contains_key(header::CONTENT_LENGTH);
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    chunked
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The HTTP/2 response for the HTTP/1.1 head `head` parsed from `buf`:
/// its status and end-to-end fields (hop-by-hop ones, and those listed in
/// `Connection`, left out; `Content-Length` kept unless chunked).
pub fn response(head: &ResponseHead, buf: &[u8]) -> http::Response<()> {
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for h in &head.headers {
        let name = h.name.get(buf);
        let listed = head.connection_listed.iter().any(|l| l.get(buf).eq_ignore_ascii_case(name));
        let Ok(name) = HeaderName::from_bytes(name) else { continue };
        if listed || HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if name == header::CONTENT_LENGTH && head.is_chunked() {
            continue;
        }
        if let Ok(value) = HeaderValue::from_bytes(h.value.get(buf)) {
            headers.append(name, value);
        }
    }
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::from_u16(head.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: http::request::Builder) -> Parts {
        req.body(()).expect("request").into_parts().0
    }

    #[test]
    fn a_request_keeps_method_target_and_fields_takes_host_from_the_authority_and_joins_cookies() {
        let p = parts(
            http::Request::get("https://shop.example:8443/cart?x=1")
                .header("host", "ignored.example")
                .header("cookie", "a=1")
                .header("cookie", "b=2")
                .header("te", "trailers")
                .header("accept", "*/*"),
        );
        let mut out = Vec::new();
        assert!(!request_head(&mut out, &p, true), "no body, nothing chunked");
        let text = String::from_utf8(out).expect("text");
        assert_eq!(
            text,
            "GET /cart?x=1 HTTP/1.1\r\nHost: shop.example:8443\r\naccept: */*\r\nCookie: a=1; b=2\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_body_without_a_length_is_sent_chunked_and_one_with_a_length_is_not() {
        let mut out = Vec::new();
        let p = parts(http::Request::post("https://a.example/up"));
        assert!(request_head(&mut out, &p, false));
        assert!(String::from_utf8_lossy(&out).contains("\r\nTransfer-Encoding: chunked\r\n"));
        let mut out = Vec::new();
        let p = parts(http::Request::post("https://a.example/up").header("content-length", "5"));
        assert!(!request_head(&mut out, &p, false));
        assert!(!String::from_utf8_lossy(&out).contains("chunked"));
    }

    #[test]
    fn a_response_loses_its_hop_by_hop_fields_and_a_chunked_length() {
        let raw = b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nConnection: close, x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
        let mut head = ResponseHead::default();
        assert_eq!(crate::http1::parse_response(raw, 8192, &mut head), Ok(true));
        let r = response(&head, raw);
        assert_eq!(r.status(), 201);
        let names: Vec<_> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "set-cookie"]);
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
    }
}
