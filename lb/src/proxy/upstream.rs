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
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::upstream_stream::UpstreamStream;

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

/// Open a connection to `addr` within `limit`, Nagle off; with `tls`, the
/// TLS handshake too, within the same `limit` (nginx bounds the upstream
/// SSL handshake by `proxy_connect_timeout` as well). A failed handshake
/// (a certificate that does not verify) is a connect error.
pub async fn connect(
    addr: SocketAddr,
    limit: Duration,
    tls: Option<(&TlsConnector, ServerName<'static>)>,
) -> Result<UpstreamStream, ConnectFail> {
    let deadline = tokio::time::Instant::now() + limit;
    let tcp = match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
        Err(_) => return Err(ConnectFail::Timeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Err(ConnectFail::Refused),
        Ok(Err(e)) => return Err(ConnectFail::Other(e)),
        Ok(Ok(s)) => s,
    };
    let _ = tcp.set_nodelay(true);
    let Some((connector, name)) = tls else { return Ok(UpstreamStream::Plain(tcp)) };
    match tokio::time::timeout_at(deadline, Box::pin(connector.connect(name, tcp))).await {
        Err(_) => Err(ConnectFail::Timeout),
        Ok(Err(e)) => Err(ConnectFail::Other(e)),
        Ok(Ok(s)) => Ok(UpstreamStream::Tls(Box::new(s))),
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
    stream: UpstreamStream,
    since: Instant,
}

/// Where an idle connection goes: the server's address and the group's
/// `pool_tag` (0 for plain TCP; TLS connections are kept per group).
pub type PoolKey = (SocketAddr, u32);

/// One worker's idle upstream connections, by server address and TLS tag.
#[derive(Default)]
pub struct Pool {
    idle: HashMap<PoolKey, Vec<Idle>, BuildHasherDefault<Fnv>>,
}

impl Pool {
    /// The most recently released live connection to `addr`, if any.
    pub fn take(&mut self, addr: PoolKey, now: Instant) -> Option<UpstreamStream> {
        let list = self.idle.get_mut(&addr)?;
        while let Some(mut idle) = list.pop() {
            if now.saturating_duration_since(idle.since) < IDLE_TIMEOUT && idle.stream.still_open() {
                return Some(idle.stream);
            }
        }
        None
    }

    /// Keep `stream` for the next request to `addr` (closed if the pool is full).
    pub fn put(&mut self, addr: PoolKey, stream: UpstreamStream, now: Instant) {
        let list = self.idle.entry(addr).or_default();
        if list.len() < KEEP_PER_SERVER {
            list.push(Idle { stream, since: now });
        }
    }

    /// Close connections idle past [`IDLE_TIMEOUT`] or closed by their server.
    pub fn sweep(&mut self, now: Instant) {
        for list in self.idle.values_mut() {
            list.retain_mut(|i| now.saturating_duration_since(i.since) < IDLE_TIMEOUT && i.stream.still_open());
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
        let a = connect(addr, Duration::from_secs(1), None).await.expect("a");
        let b = connect(addr, Duration::from_secs(1), None).await.expect("b");
        let (_sa, _) = l.accept().await.expect("accept");
        let (_sb, _) = l.accept().await.expect("accept");
        let port = |s: &UpstreamStream| match s {
            UpstreamStream::Plain(t) => t.local_addr().expect("addr").port(),
            UpstreamStream::Tls(_) => unreachable!("plain connections"),
        };
        let b_port = port(&b);
        let now = Instant::now();
        pool.put((addr, 0), a, now);
        pool.put((addr, 0), b, now);
        let got = pool.take((addr, 0), now).expect("pooled");
        assert_eq!(port(&got), b_port);
        assert_eq!(pool.len(), 1);
        assert!(pool.take((addr, 7), now).is_none(), "another group's TLS tag gets none of them");
    }

    #[tokio::test]
    async fn a_connection_closed_by_its_server_is_not_reused() {
        let (l, addr) = server().await;
        let mut pool = Pool::default();
        let c = connect(addr, Duration::from_secs(1), None).await.expect("connect");
        let (s, _) = l.accept().await.expect("accept");
        pool.put((addr, 0), c, Instant::now());
        drop(s);
        // Let the event loop see the FIN.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take((addr, 0), Instant::now()).is_none());
    }

    #[tokio::test]
    async fn a_connection_with_unasked_bytes_or_past_its_idle_time_is_not_reused() {
        let (l, addr) = server().await;
        let mut pool = Pool::default();
        let c = connect(addr, Duration::from_secs(1), None).await.expect("connect");
        let (mut s, _) = l.accept().await.expect("accept");
        pool.put((addr, 0), c, Instant::now());
        s.write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n").await.expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take((addr, 0), Instant::now()).is_none(), "stray bytes");
        let c = connect(addr, Duration::from_secs(1), None).await.expect("connect");
        let _s2 = l.accept().await.expect("accept");
        let then = Instant::now();
        pool.put((addr, 0), c, then);
        assert!(pool.take((addr, 0), then + IDLE_TIMEOUT).is_none(), "too old");
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        let (l, addr) = server().await;
        drop(l);
        assert!(matches!(connect(addr, Duration::from_secs(1), None).await, Err(ConnectFail::Refused)));
    }
}
