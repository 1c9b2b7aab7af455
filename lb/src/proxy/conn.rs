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
use super::worker::Worker;
use crate::http1::{parse_request, HeadLimits, RequestError, RequestHead};

/// nginx `keepalive_timeout` default: an idle keep-alive connection is
/// closed after this long.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(75);
/// nginx `client_header_timeout` default: the whole request head must
/// arrive within this time (measured from its first byte on a kept-alive
/// connection, from the accept on a new one).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// When the process shuts down, a connection still waiting for its first
/// request gets this long to send it (it was accepted before the listener
/// closed, so its client expects an answer); kept-alive connections between
/// requests are closed at once.
pub const SHUTDOWN_READ_GRACE: Duration = Duration::from_secs(1);

/// The client side of a connection.
pub struct Client {
    pub stream: TcpStream,
    pub addr: SocketAddr,
    ip_text: [u8; 46],
    ip_len: u8,
    /// Index of the listener (in `listen` order).
    pub listener: usize,
    /// Requests answered on this connection so far.
    pub served: u32,
}

impl Client {
    fn new(stream: TcpStream, addr: SocketAddr, listener: usize) -> Client {
        let mut ip_text = [0u8; 46];
        let ip_len = {
            use std::io::Write;
            let mut cursor = &mut ip_text[..];
            let _ = write!(cursor, "{}", addr.ip());
            46 - cursor.len()
        };
        Client { stream, addr, ip_text, ip_len: ip_len as u8, listener, served: 0 }
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// The client's address as text (nginx `$remote_addr`), made once per connection.
    pub fn ip_text(&self) -> &[u8] {
        &self.ip_text[..usize::from(self.ip_len)]
    }

    /// The stream to write to and the address text, borrowed together.
    pub fn parts(&mut self) -> (&mut TcpStream, &[u8]) {
        (&mut self.stream, &self.ip_text[..usize::from(self.ip_len)])
    }
}

pub async fn serve(worker: Rc<Worker>, stream: TcpStream, addr: SocketAddr, listener: usize) {
    let mut client = Client::new(stream, addr, listener);
    // Bytes of a pipelined request read along with the previous one.
    let mut pending: Option<Buffer> = None;
    loop {
        let mut buf = match pending.take() {
            Some(buf) => buf,
            None => {
                if !wait_for_request(&worker, &client).await {
                    return;
                }
                Buffer::take(HEAD)
            }
        };
        let limit = if worker.stopping() { SHUTDOWN_READ_GRACE } else { HEADER_TIMEOUT };
        let mut scratch = ScratchBox::take();
        match read_head(&mut client.stream, &mut buf, &mut scratch.req, Instant::now() + limit).await {
            Head::Ready => {}
            Head::Gone => return,
            Head::Refused(e) => {
                debug!("client {}: {} ({})", client.addr, e.reason(), e.status());
                respond::refuse(&worker, &mut client, e.status()).await;
                return;
            }
        }
        let keep_alive = exchange::handle(&worker, &mut client, &mut buf, &mut scratch).await;
        client.served += 1;
        if !keep_alive || worker.stopping() {
            return;
        }
        if !buf.is_empty() {
            pending = Some(buf);
        }
    }
}

/// Wait, holding no buffer, until the next request's first bytes can be
/// read. False when the connection should close instead: the keep-alive
/// (or, for a first request, the header) timeout passed, or the process
/// stops and this connection is between requests.
async fn wait_for_request(worker: &Worker, client: &Client) -> bool {
    let first = client.served == 0;
    let stopped = worker.stopped();
    if worker.stopping() {
        return first && readable_within(client, SHUTDOWN_READ_GRACE).await;
    }
    let limit = if first { HEADER_TIMEOUT } else { KEEPALIVE_TIMEOUT };
    tokio::select! {
        r = client.stream.readable() => r.is_ok(),
        _ = tokio::time::sleep(limit) => false,
        _ = stopped => first && readable_within(client, SHUTDOWN_READ_GRACE).await,
    }
}

async fn readable_within(client: &Client, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, client.stream.readable()).await, Ok(Ok(())))
}

enum Head {
    Ready,
    /// Closed, reset or timed out before a whole head: nothing to answer.
    Gone,
    Refused(RequestError),
}

/// Read until `buf` starts with a whole request head (parsed into `head`),
/// by `deadline`.
async fn read_head(stream: &mut TcpStream, buf: &mut Buffer, head: &mut RequestHead, deadline: Instant) -> Head {
    let limits = HeadLimits::default();
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
            // Closed, reset, or too slow (nginx closes without an answer too).
            _ => return Head::Gone,
        }
    }
}
