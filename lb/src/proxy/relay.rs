//! Bodies in flight: the rest of a large request body from the client to
//! the upstream, the response body from the upstream to the client (as is,
//! or de-chunked for an HTTP/1.0 client), and the body of a refused
//! response read off so its keep-alive connection can be reused.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::buffers::{Buffer, RELAY};
use super::io::{self, IoFail};
use super::stream::ClientStream;
use super::upstream_stream::UpstreamStream;
use crate::http1::write::Framing;
use crate::http1::{BodyKind, ChunkedDecoder};

/// A response refused for a retry is read off (to keep its connection) only
/// up to this many body bytes and for this long; past that the connection
/// is closed instead.
pub const DRAIN_MAX: u64 = 64 * 1024;
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// How a body relay ended badly.
#[derive(Debug)]
pub enum RelayFail {
    /// The client went away (or could not be written to in `send_timeout`).
    Client,
    /// The client's body stalled past `client_body_timeout` (408).
    ClientTimeout,
    /// The body grew past `client_max_body_size` (413).
    TooLarge,
    /// The upstream closed, stalled past `read_timeout`, or broke the framing.
    Upstream,
    /// Writing the request body to the upstream failed.
    UpstreamWrite(IoFail),
    /// The client's chunked framing is invalid (400).
    BadClientBody,
}

/// The part of a request body still to come from the client after what
/// was already read with the head.
pub struct PendingBody {
    kind: PendingKind,
}

enum PendingKind {
    Length(u64),
    /// The decoder, and the data bytes seen so far (the prefetched ones too).
    Chunked(ChunkedDecoder, u64),
}

impl PendingBody {
    pub fn length(left: u64) -> PendingBody {
        PendingBody { kind: PendingKind::Length(left) }
    }

    /// The rest of a chunked body whose first `data` bytes were read with the head.
    pub fn chunked(decoder: ChunkedDecoder, data: u64) -> PendingBody {
        PendingBody { kind: PendingKind::Chunked(decoder, data) }
    }

    pub fn is_done(&self) -> bool {
        match &self.kind {
            PendingKind::Length(left) => *left == 0,
            PendingKind::Chunked(d, _) => d.is_done(),
        }
    }
}

/// How sending the rest of a request body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySent {
    /// All of it went out.
    Whole,
    /// The upstream spoke (or closed) before the body was sent: its answer
    /// comes first (an early 413 or 401); the rest of the body is not sent.
    UpstreamAnswered,
}

/// How a streamed request body is bounded.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// `client_body_timeout`: between two reads from the client.
    pub read_timeout: Duration,
    /// The group's `send_timeout`: between two writes to the upstream.
    pub send_timeout: Duration,
    /// `client_max_body_size` in bytes of data; 0 = none.
    pub max_size: u64,
}

/// Copy the rest of the request body from `client` to `upstream`, watching
/// the upstream for an early answer all along. Bytes the client sent after
/// the body (a pipelined request) stay at the front of `rest` (which is
/// empty otherwise).
pub async fn request_body(
    client: &mut ClientStream,
    upstream: &mut UpstreamStream,
    body: &mut PendingBody,
    rest: &mut Buffer,
    limits: BodyLimits,
) -> Result<BodySent, RelayFail> {
    match upstream {
        UpstreamStream::Plain(tcp) => {
            let (upstream_rx, upstream_tx) = tcp.split();
            let rx = &upstream_rx;
            copy_body(client, upstream_tx, || async move { rx.readable().await }, body, rest, limits).await
        }
        // Bytes on a TLS socket may be a session ticket rather than an
        // answer: no early-answer watch; a server that answers and closes
        // makes the next write fail, which ends the body the same way.
        UpstreamStream::Tls(tls) => {
            copy_body(client, tls.as_mut(), std::future::pending::<std::io::Result<()>>, body, rest, limits).await
        }
    }
}

/// The body loop: `answered` resolves when the upstream has something to
/// say before the body is all sent.
async fn copy_body<W, F, Fut>(
    client: &mut ClientStream,
    mut upstream_tx: W,
    answered: F,
    body: &mut PendingBody,
    rest: &mut Buffer,
    limits: BodyLimits,
) -> Result<BodySent, RelayFail>
where
    W: tokio::io::AsyncWrite + Unpin,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    let send_timeout = limits.send_timeout;
    rest.clear();
    while !body.is_done() {
        rest.clear();
        let n = tokio::select! {
            biased;
            _ = answered() => return Ok(BodySent::UpstreamAnswered),
            r = io::read_some(client, rest, limits.read_timeout, RELAY) => match r {
                Ok(n) => n,
                Err(IoFail::Timeout) => return Err(RelayFail::ClientTimeout),
                Err(_) => return Err(RelayFail::Client),
            },
        };
        if n == 0 {
            return Err(RelayFail::Client);
        }
        let take = match &mut body.kind {
            PendingKind::Length(left) => {
                let take = (n as u64).min(*left) as usize;
                *left -= take as u64;
                take
            }
            PendingKind::Chunked(d, data) => {
                let p = d.feed(rest, |chunk| *data += chunk.len() as u64).map_err(|_| RelayFail::BadClientBody)?;
                if limits.max_size > 0 && *data > limits.max_size {
                    return Err(RelayFail::TooLarge);
                }
                p.consumed
            }
        };
        let write = async {
            upstream_tx.write_all(&rest[..take]).await?;
            upstream_tx.flush().await
        };
        let sent = tokio::select! {
            biased;
            _ = answered() => return Ok(BodySent::UpstreamAnswered),
            r = tokio::time::timeout(send_timeout, write) => r,
        };
        match sent {
            Ok(Ok(())) => {}
            // A server that answered and closed its reading side: its answer
            // (if any) is what the caller reads next.
            Ok(Err(_)) => return Ok(BodySent::UpstreamAnswered),
            Err(_) => return Err(RelayFail::UpstreamWrite(IoFail::Timeout)),
        }
        rest.consume(take);
    }
    Ok(BodySent::Whole)
}

/// What a finished response relay leaves.
#[derive(Debug, Clone, Copy)]
pub struct Relayed {
    /// Body bytes the client got.
    pub bytes: u64,
    /// The upstream connection ended the response cleanly and may be reused.
    pub upstream_clean: bool,
}

/// Send `head` (already written for the client) and the response body:
/// `ubuf` holds what was read past the response head, the rest comes from
/// `upstream`, each read within `read_timeout`.
pub async fn response(
    client: &mut ClientStream,
    upstream: &mut UpstreamStream,
    head: &mut Vec<u8>,
    ubuf: &mut Buffer,
    framing: Framing,
    read_timeout: Duration,
    send_timeout: Duration,
) -> (Relayed, Option<RelayFail>) {
    let mut sent = 0u64;
    let fail = |sent, f| (Relayed { bytes: sent, upstream_clean: false }, Some(f));
    match framing {
        Framing::AsIs(BodyKind::None) => {
            if io::write_one(client, head, send_timeout).await.is_err() {
                return fail(0, RelayFail::Client);
            }
            (Relayed { bytes: 0, upstream_clean: ubuf.is_empty() }, None)
        }
        Framing::AsIs(BodyKind::Length(n)) => {
            let first = (ubuf.len() as u64).min(n) as usize;
            let mut extra = ubuf.len() > first;
            if io::write_head_and(client, head, &ubuf[..first], send_timeout).await.is_err() {
                return fail(0, RelayFail::Client);
            }
            sent += first as u64;
            while sent < n {
                ubuf.clear();
                let got = match read_upstream(upstream, ubuf, read_timeout).await {
                    Ok(got) => got,
                    Err(f) => return fail(sent, f),
                };
                let take = (got as u64).min(n - sent) as usize;
                extra |= got > take;
                if io::write_one(client, &ubuf[..take], send_timeout).await.is_err() {
                    return fail(sent, RelayFail::Client);
                }
                sent += take as u64;
            }
            (Relayed { bytes: sent, upstream_clean: !extra }, None)
        }
        Framing::AsIs(BodyKind::Chunked) | Framing::Dechunk => {
            let dechunk = framing == Framing::Dechunk;
            let mut decoder = ChunkedDecoder::new();
            let mut first = true;
            loop {
                if !first {
                    ubuf.clear();
                    if let Err(f) = read_upstream(upstream, ubuf, read_timeout).await {
                        return fail(sent, f);
                    }
                    head.clear();
                }
                first = false;
                let before = head.len();
                let progress = match decoder.feed(ubuf, |data| {
                    if dechunk {
                        head.extend_from_slice(data);
                    }
                }) {
                    Ok(p) => p,
                    Err(_) => return fail(sent, RelayFail::Upstream),
                };
                let chunk: &[u8] = if dechunk { &[] } else { &ubuf[..progress.consumed] };
                sent += if dechunk { (head.len() - before) as u64 } else { chunk.len() as u64 };
                if io::write_head_and(client, head, chunk, send_timeout).await.is_err() {
                    return fail(sent, RelayFail::Client);
                }
                if progress.done {
                    return (Relayed { bytes: sent, upstream_clean: progress.consumed == ubuf.len() }, None);
                }
            }
        }
        Framing::AsIs(BodyKind::UntilClose) => {
            if io::write_head_and(client, head, ubuf, send_timeout).await.is_err() {
                return fail(0, RelayFail::Client);
            }
            sent += ubuf.len() as u64;
            loop {
                ubuf.clear();
                match io::read_some(upstream, ubuf, read_timeout, RELAY).await {
                    Ok(0) => return (Relayed { bytes: sent, upstream_clean: false }, None),
                    Ok(_) => {}
                    Err(_) => return fail(sent, RelayFail::Upstream),
                }
                if io::write_one(client, ubuf, send_timeout).await.is_err() {
                    return fail(sent, RelayFail::Client);
                }
                sent += ubuf.len() as u64;
            }
        }
    }
}

/// One read of more body; the upstream closing mid-body is a failure.
async fn read_upstream(upstream: &mut UpstreamStream, ubuf: &mut Buffer, limit: Duration) -> Result<usize, RelayFail> {
    match io::read_some(upstream, ubuf, limit, RELAY).await {
        Ok(0) | Err(_) => Err(RelayFail::Upstream),
        Ok(n) => Ok(n),
    }
}

async fn read_by(upstream: &mut UpstreamStream, ubuf: &mut Buffer, deadline: Instant) -> Result<usize, IoFail> {
    ubuf.clear();
    io::read_some(upstream, ubuf, deadline.saturating_duration_since(Instant::now()), RELAY).await
}

/// Read off the body of a response that is not passed on (a status that
/// moves the request to another server), within [`DRAIN_MAX`] bytes and
/// [`DRAIN_TIMEOUT`]: true when the connection ended the response cleanly
/// and may be reused. `ubuf` holds what was read past the head.
pub async fn drain(upstream: &mut UpstreamStream, ubuf: &mut Buffer, body: BodyKind) -> bool {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    match body {
        BodyKind::None => ubuf.is_empty(),
        BodyKind::UntilClose => false,
        BodyKind::Length(n) if n > DRAIN_MAX => false,
        BodyKind::Length(n) => {
            let mut seen = ubuf.len() as u64;
            while seen < n {
                match read_by(upstream, ubuf, deadline).await {
                    Ok(got) if got > 0 => seen += got as u64,
                    _ => return false,
                }
            }
            seen == n
        }
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut seen = 0u64;
            loop {
                let Ok(p) = decoder.feed(ubuf, |_| {}) else { return false };
                seen += p.consumed as u64;
                if p.done {
                    return p.consumed == ubuf.len();
                }
                if seen > DRAIN_MAX {
                    return false;
                }
                match read_by(upstream, ubuf, deadline).await {
                    Ok(got) if got > 0 => {}
                    _ => return false,
                }
            }
        }
    }
}
