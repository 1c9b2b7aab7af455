//! Memory per idle keep-alive client connection: the proxy's RSS before,
//! while this process holds `n` connections that each made one request and
//! then went silent, and after they are closed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::procs;

/// Connections opened at the same time while building the idle set.
const OPEN_AT_ONCE: usize = 200;

/// The memory of one proxy around an idle-connection hold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IdleMemory {
    /// Connections asked for.
    pub connections: u32,
    /// Connections that got their answer and were held.
    pub held: u32,
    pub rss_before_kib: u64,
    pub rss_holding_kib: u64,
    pub rss_after_kib: u64,
}

impl IdleMemory {
    /// Growth per held connection, KiB.
    pub fn per_connection_kib(&self) -> f64 {
        self.rss_holding_kib.saturating_sub(self.rss_before_kib) as f64 / f64::from(self.held.max(1))
    }

    /// What the proxy kept after the clients had gone, KiB.
    pub fn retained_kib(&self) -> i64 {
        self.rss_after_kib as i64 - self.rss_before_kib as i64
    }
}

/// Hold `n` idle connections to `addr` (each after one `GET /tiny`), reading
/// the RSS of `pid`'s process tree before, during and after; `settle` is
/// the time the proxy gets after the connections are made and after they
/// are closed, before its RSS is read.
pub fn measure(pid: u32, addr: SocketAddr, n: u32, settle: Duration) -> Result<IdleMemory, String> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("runtime: {e}"))?;
    let rss_before_kib = procs::rss_kib(pid);
    let conns = runtime.block_on(open_all(addr, n as usize))?;
    std::thread::sleep(settle);
    let rss_holding_kib = procs::rss_kib(pid);
    let held = conns.len() as u32;
    drop(conns);
    drop(runtime);
    std::thread::sleep(settle);
    let rss_after_kib = procs::rss_kib(pid);
    Ok(IdleMemory { connections: n, held, rss_before_kib, rss_holding_kib, rss_after_kib })
}

async fn open_all(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>, String> {
    let mut conns = Vec::with_capacity(n);
    let mut first_error = None;
    while conns.len() < n {
        let batch = OPEN_AT_ONCE.min(n - conns.len());
        let tasks: Vec<_> = (0..batch).map(|_| tokio::spawn(open_one(addr))).collect();
        let mut failed = 0;
        for t in tasks {
            match t.await {
                Ok(Ok(s)) => conns.push(s),
                Ok(Err(e)) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(format!("task: {e}")),
            }
        }
        if failed == batch {
            // A whole batch failed: the proxy (or this process) is at a limit.
            break;
        }
    }
    if conns.is_empty() {
        return Err(format!("no idle connection could be opened: {}", first_error.unwrap_or_default()));
    }
    if let Some(e) = first_error {
        eprintln!("bench: {} of {n} idle connections held (first error: {e})", conns.len());
    }
    Ok(conns)
}

async fn open_one(addr: SocketAddr) -> Result<TcpStream, String> {
    let work = async {
        let mut s = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        s.write_all(b"GET /tiny HTTP/1.1\r\nHost: bench\r\n\r\n").await.map_err(|e| format!("send: {e}"))?;
        let mut buf = Vec::with_capacity(512);
        loop {
            let mut chunk = [0u8; 512];
            let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("closed before the answer ended".to_string());
            }
            buf.extend_from_slice(&chunk[..n]);
            match response_complete(&buf) {
                Some(true) => return Ok(s),
                Some(false) => {}
                None => return Err("not a keep-alive answer with a Content-Length".to_string()),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), work).await.map_err(|_| "timed out".to_string())?
}

/// `Some(true)` once a whole response with a `Content-Length` is in `buf`,
/// `Some(false)` while more is needed, `None` for a response the idle test
/// cannot use (no length, or the proxy closes the connection).
fn response_complete(buf: &[u8]) -> Option<bool> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { return Some(false) };
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut length = None;
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            return None;
        }
    }
    Some(buf.len() >= end + 4 + length?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_complete_once_its_body_is_in() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(response_complete(head), Some(false));
        assert_eq!(response_complete(&[&head[..], b"ok"].concat()), Some(true));
        assert_eq!(response_complete(b"HTTP/1.1 200 OK\r\nConte"), Some(false));
    }

    #[test]
    fn a_closing_or_unsized_response_cannot_be_held() {
        assert_eq!(response_complete(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), None);
        assert_eq!(response_complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), None);
    }

    #[test]
    fn growth_per_connection_and_retained_memory() {
        let m = IdleMemory {
            connections: 100,
            held: 100,
            rss_before_kib: 1000,
            rss_holding_kib: 1300,
            rss_after_kib: 1100,
        };
        assert!((m.per_connection_kib() - 3.0).abs() < 1e-9);
        assert_eq!(m.retained_kib(), 100);
    }
}
