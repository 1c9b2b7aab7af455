//! Headers tandem adds to the request it sends upstream: `X-Real-IP`,
//! `X-Forwarded-For` (appended), `X-Forwarded-Proto`, `X-Forwarded-Host` and
//! `X-Request-Id` (kept when the client sent one). Host passes through.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderValue;
use pingora::http::RequestHeader;
use pingora::Result;

use super::key::ip_text;

/// Set the forwarding headers on `req` for a client at `client`.
pub fn add_forwarding_headers(req: &mut RequestHeader, client: Option<IpAddr>, scheme: &'static str) -> Result<()> {
    if let Some(ip) = client {
        let ip_key = ip_text(ip);
        let ip_text = ip_key.bytes();
        let len = ip_text.len();
        let forwarded_for = match req.headers.get("x-forwarded-for") {
            Some(prev) if !prev.is_empty() => {
                let mut v = Vec::with_capacity(prev.len() + 2 + len);
                v.extend_from_slice(prev.as_bytes());
                v.extend_from_slice(b", ");
                v.extend_from_slice(ip_text);
                HeaderValue::from_bytes(&v)
            }
            _ => HeaderValue::from_bytes(ip_text),
        };
        if let (Ok(real_ip), Ok(xff)) = (HeaderValue::from_bytes(ip_text), forwarded_for) {
            req.insert_header("x-real-ip", real_ip)?;
            req.insert_header("x-forwarded-for", xff)?;
        }
    }
    req.insert_header("x-forwarded-proto", HeaderValue::from_static(scheme))?;
    if let Some(host) = req.headers.get(http::header::HOST).cloned() {
        req.insert_header("x-forwarded-host", host)?;
    }
    if !req.headers.contains_key("x-request-id") {
        req.insert_header("x-request-id", new_request_id())?;
    }
    Ok(())
}

/// A fresh request id: 32 lowercase hex digits from a per-thread generator
/// (splitmix64), unique per process run without locks or system calls.
pub fn new_request_id() -> HeaderValue {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    let (a, b) = STATE.with(|s| {
        let a = splitmix64(s);
        (a, splitmix64(s))
    });
    let mut out = [0u8; 32];
    for (i, word) in [a, b].into_iter().enumerate() {
        for j in 0..16 {
            let nibble = (word >> (60 - 4 * j)) & 0xf;
            out[i * 16 + j] = b"0123456789abcdef"[nibble as usize];
        }
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

fn seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let time =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let n = NEXT.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    time ^ n ^ u64::from(std::process::id()).rotate_left(32)
}

fn splitmix64(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&'static str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/", None).expect("valid");
        for (k, v) in headers {
            req.insert_header(*k, v.to_string()).expect("valid");
        }
        req
    }

    fn get<'a>(req: &'a RequestHeader, name: &str) -> &'a str {
        req.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[test]
    fn forwarded_for_is_appended_to_what_the_client_sent() {
        let mut req = request(&[("x-forwarded-for", "203.0.113.9")]);
        add_forwarding_headers(&mut req, Some("10.0.0.7".parse().expect("ip")), "http").expect("ok");
        assert_eq!(get(&req, "x-forwarded-for"), "203.0.113.9, 10.0.0.7");
        assert_eq!(get(&req, "x-real-ip"), "10.0.0.7");
        assert_eq!(get(&req, "x-forwarded-proto"), "http");
    }

    #[test]
    fn forwarded_host_copies_host_and_host_is_untouched() {
        let mut req = request(&[("host", "shop.example.com:8080")]);
        add_forwarding_headers(&mut req, None, "http").expect("ok");
        assert_eq!(get(&req, "x-forwarded-host"), "shop.example.com:8080");
        assert_eq!(get(&req, "host"), "shop.example.com:8080");
    }

    #[test]
    fn a_client_request_id_is_kept_and_a_missing_one_is_made() {
        let mut req = request(&[("x-request-id", "abc-123")]);
        add_forwarding_headers(&mut req, None, "http").expect("ok");
        assert_eq!(get(&req, "x-request-id"), "abc-123");
        let mut req = request(&[]);
        add_forwarding_headers(&mut req, None, "http").expect("ok");
        assert_eq!(get(&req, "x-request-id").len(), 32);
    }

    #[test]
    fn request_ids_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
