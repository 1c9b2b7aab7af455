//! Connections to upstream servers: opened with the group's
//! `connect_timeout`, kept alive between requests in a per-worker pool (no
//! lock: each worker thread has its own), checked before reuse.
//!
//! The pool keeps at most [`KEEP_PER_SERVER`] idle connections per server
//! and worker (nginx: `keepalive N` in an `upstream` block, per worker),
//! each for at most [`IDLE_TIMEOUT`] (nginx's upstream `keepalive_timeout`
//! default). A connection the server has closed while idle is noticed
//! before reuse from the readiness the event loop already has (no system
//! call when it is still open), so a request is not sent down a dead one
//! when that can be known; a close that races with the request is the
//! "reused keep-alive connection failed" case nginx retries once more.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Idle connections kept per server and worker thread.
pub const KEEP_PER_SERVER: usize = 128;
/// How long an idle upstream connection is kept (nginx: 60s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum ConnectFail {
    Refused,
    Timeout,
    Other(std::io::Error),
}

/// Open a connection to `addr` within `limit`, Nagle off.
pub async fn connect(addr: SocketAddr, limit: Duration) -> Result<TcpStream, ConnectFail> {
    match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Err(_) => Err(ConnectFail::Timeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(ConnectFail::Refused),
        Ok(Err(e)) => Err(ConnectFail::Other(e)),
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
    }
}

/// FNV-1a: server addresses are few and not attacker-chosen, so a fast
/// hash with no seed will do.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// One worker's idle upstream connections, by server address.
#[derive(Default)]
pub struct Pool {
    idle: HashMap<SocketAddr, Vec<Idle>, BuildHasherDefault<Fnv>>,
}

impl Pool {
    /// The most recently released live connection to `addr`, if any.
    pub fn take(&mut self, addr: SocketAddr, now: Instant) -> Option<TcpStream> {
        let list = self.idle.get_mut(&addr)?;
        while let Some(idle) = list.pop() {
            if now.saturating_duration_since(idle.since) < IDLE_TIMEOUT && still_open(&idle.stream) {
                return Some(idle.stream);
            }
        }
        None
    }

    /// Keep `stream` for the next request to `addr` (closed if the pool is full).
    pub fn put(&mut self, addr: SocketAddr, stream: TcpStream, now: Instant) {
        let list = self.idle.entry(addr).or_default();
        if list.len() < KEEP_PER_SERVER {
            list.push(Idle { stream, since: now });
        }
    }

    /// Close connections idle past [`IDLE_TIMEOUT`] or closed by their server.
    pub fn sweep(&mut self, now: Instant) {
        for list in self.idle.values_mut() {
            list.retain(|i| now.saturating_duration_since(i.since) < IDLE_TIMEOUT && still_open(&i.stream));
        }
        self.idle.retain(|_, list| !list.is_empty());
    }

    /// Idle connections held (all servers).
    pub fn len(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// False when the server closed the connection or sent something unasked.
/// A connection the event loop has seen no event on is open: no system call.
fn still_open(stream: &TcpStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    match stream.poll_read_ready(&mut cx) {
        Poll::Pending => true,
        Poll::Ready(Err(_)) => false,
        // Readable: EOF, stray bytes, or a stale flag; a peek tells (and a
        // WouldBlock clears the flag).
        Poll::Ready(Ok(())) => {
            let mut byte = [0u8; 1];
            matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn server() -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        (l, addr)
    }

    #[tokio::test]
    async fn a_released_connection_is_reused_last_in_first_out() {
        let (l, addr) = server().await;
        let mut pool = Pool::default();
        let a = connect(addr, Duration::from_secs(1)).await.expect("a");
        let b = connect(addr, Duration::from_secs(1)).await.expect("b");
        let (_sa, _) = l.accept().await.expect("accept");
        let (_sb, _) = l.accept().await.expect("accept");
        let b_port = b.local_addr().expect("addr").port();
        let now = Instant::now();
        pool.put(addr, a, now);
        pool.put(addr, b, now);
        let got = pool.take(addr, now).expect("pooled");
        assert_eq!(got.local_addr().expect("addr").port(), b_port);
        assert_eq!(pool.len(), 1);
    }

    #[tokio::test]
    async fn a_connection_closed_by_its_server_is_not_reused() {
        let (l, addr) = server().await;
        let mut pool = Pool::default();
        let c = connect(addr, Duration::from_secs(1)).await.expect("connect");
        let (s, _) = l.accept().await.expect("accept");
        pool.put(addr, c, Instant::now());
        drop(s);
        // Let the event loop see the FIN.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take(addr, Instant::now()).is_none());
    }

    #[tokio::test]
    async fn a_connection_with_unasked_bytes_or_past_its_idle_time_is_not_reused() {
        let (l, addr) = server().await;
        let mut pool = Pool::default();
        let c = connect(addr, Duration::from_secs(1)).await.expect("connect");
        let (mut s, _) = l.accept().await.expect("accept");
        pool.put(addr, c, Instant::now());
        s.write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n").await.expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take(addr, Instant::now()).is_none(), "stray bytes");
        let c = connect(addr, Duration::from_secs(1)).await.expect("connect");
        let _s2 = l.accept().await.expect("accept");
        let then = Instant::now();
        pool.put(addr, c, then);
        assert!(pool.take(addr, then + IDLE_TIMEOUT).is_none(), "too old");
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        let (l, addr) = server().await;
        drop(l);
        assert!(matches!(connect(addr, Duration::from_secs(1)).await, Err(ConnectFail::Refused)));
    }
}
