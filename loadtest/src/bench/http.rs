//! A one-shot HTTP/1.1 GET over a new connection, for readiness checks,
//! nginx's stub_status and tandem's /metrics. Not a load generator.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `GET path` with `Connection: close`; the status and the body, read to
/// the end of the connection.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}

/// Status and body of a whole `Connection: close` response (the body is
/// whatever follows the header; the bench's servers do not chunk these).
fn parse(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, raw[end + 4..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_splits_into_status_and_body() {
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nok"), Some((200, b"ok".to_vec())));
        assert_eq!(parse(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"), Some((503, vec![])));
        assert_eq!(parse(b"garbage"), None);
    }
}
