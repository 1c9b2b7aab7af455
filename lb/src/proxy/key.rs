//! The hash input of a request: client address bytes for `ip_hash`, a header,
//! cookie, query argument, client address text or URI for `hash`. Borrowed
//! from the request or kept on the stack: no allocation.

use std::io::Write;
use std::net::IpAddr;

use crate::config::{Balance, HashKey};
use crate::http1::RequestHead;

/// Key bytes, borrowed from the request or held inline.
pub enum Key<'a> {
    Borrowed(&'a [u8]),
    Inline([u8; 48], usize),
}

impl Key<'_> {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Key::Borrowed(b) => b,
            Key::Inline(buf, len) => &buf[..*len],
        }
    }
}

/// The key the group's balancer hashes for the request `head` (parsed from
/// `buf`) of a client at `client` (whose address as text is `client_text`),
/// or empty when it hashes nothing.
pub fn request_key<'a>(
    balance: &Balance,
    head: &RequestHead,
    buf: &'a [u8],
    client: Option<IpAddr>,
    client_text: &'a [u8],
) -> Key<'a> {
    match balance {
        Balance::RoundRobin | Balance::LeastConn | Balance::LeastTime(_) | Balance::Random(_) => Key::Borrowed(b""),
        Balance::IpHash => match client {
            Some(ip) => ip_hash_bytes(ip),
            // nginx uses three zero bytes for non-IP clients (unix sockets)
            None => Key::Inline([0; 48], 3),
        },
        Balance::Hash { key, .. } => match key {
            HashKey::Header(name) => Key::Borrowed(head.header(buf, name.as_bytes()).unwrap_or(b"")),
            HashKey::Cookie(name) => Key::Borrowed(cookie(head.header(buf, b"cookie").unwrap_or(b""), name.as_bytes())),
            HashKey::Arg(name) => Key::Borrowed(query_arg(head.query(buf), name.as_bytes())),
            HashKey::ClientIp => Key::Borrowed(client_text),
            HashKey::Uri => Key::Borrowed(head.target(buf)),
        },
    }
}

/// The first three octets of IPv4, all sixteen of IPv6 (nginx ip_hash).
pub fn ip_hash_bytes(ip: IpAddr) -> Key<'static> {
    let mut buf = [0u8; 48];
    match ip {
        IpAddr::V4(v4) => {
            buf[..3].copy_from_slice(&v4.octets()[..3]);
            Key::Inline(buf, 3)
        }
        IpAddr::V6(v6) => {
            buf[..16].copy_from_slice(&v6.octets());
            Key::Inline(buf, 16)
        }
    }
}

/// The client address as text (nginx `$remote_addr`), on the stack.
pub fn ip_text(ip: IpAddr) -> Key<'static> {
    let mut buf = [0u8; 48];
    let len = {
        let mut cursor = &mut buf[..];
        let _ = write!(cursor, "{ip}");
        48 - cursor.len()
    };
    Key::Inline(buf, len)
}

/// The value of cookie `name` in a Cookie header, or empty. The name matches
/// case-insensitively, as nginx's `$cookie_NAME`.
pub fn cookie<'a>(header: &'a [u8], name: &[u8]) -> &'a [u8] {
    for pair in header.split(|&b| b == b';') {
        let pair = trim(pair);
        if let Some(eq) = pair.iter().position(|&b| b == b'=') {
            if pair[..eq].eq_ignore_ascii_case(name) {
                return &pair[eq + 1..];
            }
        }
    }
    b""
}

/// The raw (undecoded) value of the first query argument `name`, or empty.
/// The name matches case-insensitively, as nginx's `$arg_NAME`.
pub fn query_arg<'a>(query: &'a [u8], name: &[u8]) -> &'a [u8] {
    for pair in query.split(|&b| b == b'&') {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        };
        if k.eq_ignore_ascii_case(name) {
            return v;
        }
    }
    b""
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others() {
        assert_eq!(cookie(b"a=1; session=xyz; b=2", b"session"), b"xyz");
        assert_eq!(cookie(b"a=1", b"session"), b"");
    }

    #[test]
    fn a_query_argument_is_found_by_exact_name() {
        assert_eq!(query_arg(b"user=bob&userid=7", b"userid"), b"7");
        assert_eq!(query_arg(b"flag&x=1", b"flag"), b"");
        assert_eq!(query_arg(b"", b"x"), b"");
    }

    #[test]
    fn argument_and_cookie_names_match_regardless_of_case_as_in_nginx() {
        assert_eq!(query_arg(b"K=v", b"k"), b"v");
        assert_eq!(cookie(b"SID=v", b"sid"), b"v");
    }

    #[test]
    fn ip_hash_takes_three_octets_of_ipv4_and_all_of_ipv6() {
        assert_eq!(ip_hash_bytes("10.1.2.3".parse().expect("ip")).bytes(), [10, 1, 2]);
        assert_eq!(ip_hash_bytes("::1".parse().expect("ip")).bytes().len(), 16);
    }

    #[test]
    fn the_client_address_text_is_nginx_remote_addr() {
        assert_eq!(ip_text("127.0.0.1".parse().expect("ip")).bytes(), b"127.0.0.1");
    }
}
