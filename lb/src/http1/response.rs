//! An upstream's response head, parsed (httparse) and its body framing
//! decided (RFC 9112 section 6.3). Anything this cannot read is the
//! upstream's fault: nginx's `invalid_header`.

use std::mem::MaybeUninit;

use super::request::{parse_decimal, BodyKind, MAX_HEADERS};
use super::span::{is_end_to_end, list_items, HeaderSpan, Span};

/// Why an upstream's response head is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidResponse(pub &'static str);

impl std::fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A parsed response head; spans point into the buffer it was parsed from.
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    pub len: usize,
    pub status: u16,
    pub reason: Span,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<HeaderSpan>,
    length: Option<u64>,
    chunked: bool,
    /// A Transfer-Encoding whose last coding is not chunked: the body runs
    /// until the upstream closes.
    other_coding: bool,
    /// The upstream closes the connection after this response.
    pub close: bool,
    /// Field names listed in `Connection`: hop-by-hop, not forwarded.
    pub connection_listed: Vec<Span>,
}

impl ResponseHead {
    /// Framed in chunks (then any `Content-Length` is not forwarded).
    pub fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// 1xx other than 101: a response header follows it.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// How the body is delimited, given whether the request was a HEAD.
    pub fn body(&self, request_is_head: bool) -> BodyKind {
        if request_is_head || (100..200).contains(&self.status) || self.status == 204 || self.status == 304 {
            return BodyKind::None;
        }
        if self.chunked {
            return BodyKind::Chunked;
        }
        if self.other_coding {
            return BodyKind::UntilClose;
        }
        match self.length {
            Some(0) => BodyKind::None,
            Some(n) => BodyKind::Length(n),
            None => BodyKind::UntilClose,
        }
    }

    fn clear(&mut self) {
        let (mut headers, mut listed) =
            (std::mem::take(&mut self.headers), std::mem::take(&mut self.connection_listed));
        headers.clear();
        listed.clear();
        *self = ResponseHead { headers, connection_listed: listed, ..ResponseHead::default() };
    }
}

/// Parse the head at the start of `buf`: `Ok(true)` when complete,
/// `Ok(false)` when more bytes are needed (an error past `max_head`).
pub fn parse_response(buf: &[u8], max_head: usize, head: &mut ResponseHead) -> Result<bool, InvalidResponse> {
    let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut resp, buf, &mut storage) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= max_head => {
            return Err(InvalidResponse("response header too large"));
        }
        Ok(httparse::Status::Partial) => return Ok(false),
        Err(httparse::Error::TooManyHeaders) => return Err(InvalidResponse("too many response header fields")),
        Err(_) => return Err(InvalidResponse("not an HTTP/1.x response header")),
    };
    if len > max_head {
        return Err(InvalidResponse("response header too large"));
    }
    head.clear();
    head.len = len;
    head.status = resp.code.unwrap_or(0);
    head.reason = Span::of(buf, resp.reason.unwrap_or("").as_bytes());
    head.minor = resp.version.unwrap_or(1);
    let mut keep_alive = false;
    for h in resp.headers.iter() {
        let (name, value) = (h.name.as_bytes(), h.value);
        head.headers.push(HeaderSpan { name: Span::of(buf, name), value: Span::of(buf, value) });
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                for item in list_items(value) {
                    let n = parse_decimal(item).ok_or(InvalidResponse("invalid Content-Length"))?;
                    if head.length.is_some_and(|l| l != n) {
                        return Err(InvalidResponse("conflicting Content-Length values"));
                    }
                    head.length = Some(n);
                }
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                for item in list_items(value) {
                    head.chunked = item.eq_ignore_ascii_case(b"chunked");
                    head.other_coding = !head.chunked;
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list_items(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        head.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    } else if !token.eq_ignore_ascii_case(b"upgrade") && !is_end_to_end(token) {
                        head.connection_listed.push(Span::of(buf, token));
                    }
                }
            }
            _ => {}
        }
    }
    if head.minor == 0 && !keep_alive {
        head.close = true;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ResponseHead, InvalidResponse> {
        let mut head = ResponseHead::default();
        match parse_response(text.as_bytes(), 32 * 1024, &mut head)? {
            true => Ok(head),
            false => Err(InvalidResponse("incomplete")),
        }
    }

    #[test]
    fn a_response_is_read_with_its_framing() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok";
        let h = parse(text).expect("valid");
        assert_eq!((h.status, h.minor, h.len), (200, 1, text.len() - 2));
        assert_eq!(h.reason.get(text.as_bytes()), b"OK");
        assert_eq!(h.body(false), BodyKind::Length(2));
        assert_eq!(h.body(true), BodyKind::None, "the answer to HEAD has no body");
        assert!(!h.close);
    }

    #[test]
    fn bodies_are_delimited_as_rfc_9112_says() {
        let body = |t: &str| parse(t).expect("valid").body(false);
        assert_eq!(
            body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n"),
            BodyKind::Chunked
        );
        assert_eq!(body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), BodyKind::UntilClose);
        assert_eq!(body("HTTP/1.1 200 OK\r\n\r\n"), BodyKind::UntilClose);
        assert_eq!(body("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"), BodyKind::None);
        assert_eq!(body("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), BodyKind::None);
        assert_eq!(body("HTTP/1.1 100 Continue\r\n\r\n"), BodyKind::None);
    }

    #[test]
    fn the_upstream_closes_after_connection_close_or_a_plain_http_1_0_answer() {
        assert!(parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").expect("ok").close);
        assert!(parse("HTTP/1.0 200 OK\r\n\r\n").expect("ok").close);
        assert!(!parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").expect("ok").close);
    }

    #[test]
    fn garbage_and_bad_lengths_are_invalid() {
        assert!(parse("this is not http\r\n\r\n").is_err());
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").is_err());
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        let mut head = ResponseHead::default();
        assert!(parse_response(&[b'a'; 100], 64, &mut head).is_err(), "no head within the limit");
    }

    #[test]
    fn interim_responses_are_told_apart_from_switching_protocols() {
        assert!(parse("HTTP/1.1 100 Continue\r\n\r\n").expect("ok").is_interim());
        assert!(!parse("HTTP/1.1 101 Switching Protocols\r\n\r\n").expect("ok").is_interim());
    }
}
