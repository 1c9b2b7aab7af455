//! One client connection: wait for a request without holding a buffer,
//! read its head within `client_header_timeout`, hand it to the exchange,
//! and keep the connection for the next one as nginx's `keepalive_timeout`
//! says. Pipelined requests are answered in order from what is already
//! read. A head that cannot be parsed gets its 4xx/5xx and a close.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use log::debug;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::buffers::{Buffer, HEAD};
use super::exchange;
use super::respond;
use super::scratch::ScratchBox;
use super::stream::ClientStream;
use super::worker::Worker;
use crate::http1::write::{self, ClientConnection};
use crate::http1::{parse_request, HeadLimits, RequestError, RequestHead};
use crate::stats::Refusal;

/// When the process shuts down, a connection still waiting for its first
/// request gets this long to send it (it was accepted before the listener
/// closed, so its client expects an answer); kept-alive connections between
/// requests are closed at once.
pub const SHUTDOWN_READ_GRACE: Duration = Duration::from_secs(1);

/// The client side of a connection.
/// Kept small: every idle keep-alive connection's task holds one.
pub struct Client {
    pub stream: ClientStream,
    pub addr: SocketAddr,
    /// Index of the listener (in `listen` order).
    pub listener: u16,
    /// Requests answered on this connection so far.
    pub served: u32,
    /// The connection closes with client input unread (a refused request,
    /// a body not read): close it as nginx's `lingering_close` does, so the
    /// client reads the answer instead of a reset.
    pub linger: bool,
}

impl Client {
    fn new(stream: ClientStream, addr: SocketAddr, listener: usize) -> Client {
        Client { stream, addr, listener: listener as u16, served: 0, linger: false }
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// `X-Forwarded-Proto`: how the client reached tandem.
    pub fn scheme(&self) -> &'static [u8] {
        if self.stream.is_tls() {
            b"https"
        } else {
            b"http"
        }
    }
}

/// Serve one accepted plain connection; `listener` counts it as open until it ends.
pub async fn serve(worker: Rc<Worker>, stream: TcpStream, addr: SocketAddr, listener: usize) {
    serve_stream(worker, ClientStream::Plain(stream), addr, listener).await;
}

/// Serve one accepted connection on a TLS listener: the handshake within
/// `client_header_timeout` (nginx bounds it by the same timeout), then
/// requests as on a plain one.
pub async fn serve_tls(
    worker: Rc<Worker>,
    stream: TcpStream,
    addr: SocketAddr,
    listener: usize,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let limit = worker.view().runtime.client.header_timeout;
    let stats = &worker.live.listeners[listener];
    // Boxed: the handshake's state is large and lives only until it is done.
    match tokio::time::timeout(limit, Box::pin(acceptor.accept(stream))).await {
        Ok(Ok(tls)) => {
            stats.on_handshake(true);
            let stream = ClientStream::Tls(Box::new(tls));
            if stream.alpn() == Some(b"h2") {
                Box::pin(super::h2::serve(worker.clone(), stream, addr, listener)).await;
                worker.live.listeners[listener].on_close();
            } else {
                serve_stream(worker, stream, addr, listener).await;
            }
        }
        Ok(Err(e)) => {
            stats.on_handshake(false);
            debug!("client {addr}: TLS handshake failed: {e}");
            worker.live.listeners[listener].on_close();
        }
        Err(_) => {
            stats.on_handshake(false);
            debug!("client {addr}: no TLS handshake within {limit:?}");
            worker.live.listeners[listener].on_close();
        }
    }
}

/// Serve one HTTP/2 stream's request, bridged as HTTP/1.1 (`super::h2`).
/// `first`: the first stream of its connection (which counts the
/// connection); the connection's place on the listener is its own.
pub async fn serve_bridged(
    worker: Rc<Worker>,
    pipe: tokio::io::DuplexStream,
    addr: SocketAddr,
    listener: usize,
    first: bool,
) {
    let mut client = Client::new(ClientStream::Bridge(pipe), addr, listener);
    client.served = u32::from(!first);
    serve_requests(&worker, &mut client).await;
}

async fn serve_stream(worker: Rc<Worker>, stream: ClientStream, addr: SocketAddr, listener: usize) {
    let mut client = Client::new(stream, addr, listener);
    serve_requests(&worker, &mut client).await;
    if client.linger {
        // Boxed: rare, and kept out of the idle task.
        Box::pin(linger_close(&mut client.stream)).await;
    }
    worker.live.listeners[listener].on_close();
}

/// A connection over the listener's `max_client_connections`: `503` and a
/// close, without reading its request (nginx stops accepting instead, which
/// leaves clients waiting in the backlog with no answer).
pub async fn refuse_full(worker: Rc<Worker>, mut stream: TcpStream) {
    worker.live.refusals.count(Refusal::Connections);
    let view = worker.view();
    let mut out = Vec::with_capacity(512);
    write::error_response(&mut out, 503, &view.runtime.response_headers, ClientConnection::Close, false);
    if super::io::write_one(&mut stream, &out, Duration::from_secs(1)).await.is_ok() {
        linger_close(&mut stream).await;
    }
}

/// How long a closing connection's unread input is read off, at most, and
/// how much of it (nginx: `lingering_time` 30s, `lingering_timeout` 5s;
/// shorter here: the client already has its answer).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// Send FIN after the answer, then read and drop what the client still
/// sends, until it closes or the time or byte budget is spent: closing a
/// socket with unread input sends a reset, which can destroy the answer in
/// flight before the client reads it.
async fn linger_close<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: &mut S) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.shutdown().await;
    let deadline = Instant::now() + LINGER_TIME;
    let mut sink = [0u8; 4096];
    let mut seen = 0;
    while seen < LINGER_BYTES {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => seen += n,
            _ => return,
        }
    }
}

async fn serve_requests(worker: &Worker, client: &mut Client) {
    let accepted = Instant::now();
    // Bytes of a pipelined request read along with the previous one.
    let mut pending: Option<Buffer> = None;
    loop {
        let mut buf = match pending.take() {
            Some(buf) => buf,
            None => {
                let limits = worker.view().runtime.client;
                if !wait_for_request(worker, client, accepted + limits.header_timeout, limits.keepalive_timeout).await {
                    return;
                }
                Buffer::take(HEAD)
            }
        };
        // The whole head within client_header_timeout: counted from the
        // accept for a first request, from its first byte for a later one.
        let limits = worker.view().runtime.client;
        let deadline = if worker.stopping() {
            Instant::now() + SHUTDOWN_READ_GRACE
        } else if client.served == 0 {
            accepted + limits.header_timeout
        } else {
            Instant::now() + limits.header_timeout
        };
        let head_limits = HeadLimits {
            max_head: limits.max_head(),
            max_line: limits.header_buffer_size,
            max_headers: limits.max_headers as usize,
            validate: crate::http1::unchecked::validation(),
        };
        let mut scratch = ScratchBox::take();
        match read_head(&mut client.stream, &mut buf, &mut scratch.req, head_limits, deadline).await {
            Head::Ready => {}
            Head::Gone => return,
            Head::TimedOut => {
                // nginx: 408, logged, the connection closed without an answer.
                worker.live.refusals.count(Refusal::HeaderTimeout);
                return;
            }
            Head::Refused(e) => {
                debug!("client {}: {} ({})", client.addr, e.reason(), e.status());
                worker.live.refusals.count(Refusal::for_status(e.status()));
                // Boxed like the exchange: rare, and kept out of the idle task.
                Box::pin(respond::refuse(worker, client, e.status())).await;
                client.linger = true;
                return;
            }
        }
        // Boxed: the request's state (its tries, relays, timers) lives only
        // while it is in flight, so an idle keep-alive connection's task
        // stays a few hundred bytes instead of carrying it.
        let keep_alive = Box::pin(exchange::handle(worker, client, &mut buf, &mut scratch)).await;
        client.served += 1;
        if !keep_alive || worker.stopping() {
            // Requests pipelined behind this one are not answered: linger so
            // the client gets this answer rather than a reset.
            client.linger |= !buf.is_empty();
            return;
        }
        if !buf.is_empty() {
            pending = Some(buf);
        }
    }
}

/// Wait, holding no buffer, until the next request's first bytes can be
/// read. False when the connection should close instead: `keepalive`
/// passed (for a first request: `first_deadline`, the header timeout from
/// the accept), or the process stops and this connection is between
/// requests.
async fn wait_for_request(worker: &Worker, client: &Client, first_deadline: Instant, keepalive: Duration) -> bool {
    let first = client.served == 0;
    let stopped = worker.stopped();
    if worker.stopping() {
        return first && Box::pin(readable_within(client, SHUTDOWN_READ_GRACE)).await;
    }
    let until = if first { first_deadline } else { Instant::now() + keepalive };
    let stopped_first = tokio::select! {
        r = read_ready(&client.stream) => return r.is_ok(),
        _ = tokio::time::sleep_until(until.into()) => return false,
        _ = stopped => first,
    };
    // Boxed: only at shutdown, so its timer is not part of every idle task.
    stopped_first && Box::pin(readable_within(client, SHUTDOWN_READ_GRACE)).await
}

async fn readable_within(client: &Client, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, read_ready(&client.stream)).await, Ok(Ok(())))
}

/// Resolves once `stream` has bytes (or an EOF) to read. The same as
/// `stream.readable()`, which carries a 150-byte waiter: this keeps the
/// waker in the socket's own reader slot, so an idle task stays small (a
/// connection has one reader).
fn read_ready(stream: &ClientStream) -> impl std::future::Future<Output = std::io::Result<()>> + '_ {
    std::future::poll_fn(move |cx| stream.poll_read_ready(cx))
}

enum Head {
    Ready,
    /// Closed or reset before a whole head: nothing to answer.
    Gone,
    /// No whole head by the deadline (`client_header_timeout`).
    TimedOut,
    Refused(RequestError),
}

/// Read until `buf` starts with a whole request head (parsed into `head`),
/// by `deadline`.
async fn read_head(
    stream: &mut ClientStream,
    buf: &mut Buffer,
    head: &mut RequestHead,
    limits: HeadLimits,
    deadline: Instant,
) -> Head {
    loop {
        if !buf.is_empty() {
            match parse_request(buf, limits, head) {
                Ok(true) => return Head::Ready,
                Ok(false) => {}
                Err(e) => return Head::Refused(e),
            }
        }
        if buf.capacity() == buf.len() {
            // A head larger than the buffer: grow (this buffer is then freed, not recycled).
            buf.reserve(HEAD);
        }
        match tokio::time::timeout_at(deadline.into(), stream.read_buf(&mut **buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Head::Gone,
            // Too slow: nginx closes without an answer too.
            Err(_) => return Head::TimedOut,
        }
    }
}
