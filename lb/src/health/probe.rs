//! One active probe: a TCP connect, or an HTTP/1.1 `GET` whose status must
//! fall in the expected range. Bounded by the check's `timeout` end to end.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::HealthCheck;

/// The longest status line + headers a probe reads before giving up.
const MAX_HEAD: usize = 8 * 1024;

/// TLS for the probes of a group with `tls`: its connector, and the name
/// each server is verified as.
pub type ProbeTls = Option<(tokio_rustls::TlsConnector, rustls_pki_types::ServerName<'static>)>;

/// Probe `addr`; `host` is the Host header to send; with `tls` the `GET`
/// goes over TLS (a `tcp` check stays a TCP connect). `Err` says why it failed.
pub async fn probe(addr: SocketAddr, host: &str, check: &HealthCheck, tls: ProbeTls) -> Result<(), String> {
    match tokio::time::timeout(check.timeout, probe_inner(addr, host, check, tls)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {}", fmt_duration(check.timeout))),
    }
}

async fn probe_inner(addr: SocketAddr, host: &str, check: &HealthCheck, tls: ProbeTls) -> Result<(), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    if check.tcp {
        return Ok(());
    }
    match tls {
        None => get(stream, host, check).await,
        Some((connector, name)) => {
            let stream = connector.connect(name, stream).await.map_err(|e| format!("TLS: {e}"))?;
            get(stream, host, check).await
        }
    }
}

/// The check's `GET` on a connected stream, and its verdict.
async fn get<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, host: &str, check: &HealthCheck) -> Result<(), String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tandem-health-check\r\nConnection: close\r\n\r\n",
        check.path, host
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    stream.flush().await.map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before a status line".into());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return Err("no status line in the first 8 KiB".into());
        }
    }
    let status = parse_status(&head).ok_or_else(|| "malformed status line".to_string())?;
    if (check.expect.0..=check.expect.1).contains(&status) {
        Ok(())
    } else {
        Err(format!("status {status}, expected {}-{}", check.expect.0, check.expect.1))
    }
}

/// The status code of `HTTP/1.x NNN ...`.
pub fn parse_status(head: &[u8]) -> Option<u16> {
    let line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

fn fmt_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_gives_its_code() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 503\r\n"), Some(503));
    }

    #[test]
    fn garbage_is_not_a_status_line() {
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 2000 x\r\n"), None);
    }
}
