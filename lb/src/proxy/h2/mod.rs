//! HTTP/2 to clients (over TLS, by ALPN): each stream becomes one HTTP/1.1
//! request on an in-memory pipe, served by the same connection handler as
//! every other request ([`super::conn`]): routing, balancing, passive
//! health, retries, headers, the access log and the limits all apply to it
//! unchanged, and it goes upstream over HTTP/1.1 keep-alive. What the
//! handler answers is turned back into an HTTP/2 response ([`bridge`]).
//!
//! The price: each stream's head and body are copied once more (through
//! the pipe) than an HTTP/1.1 request's. Server push, extended CONNECT
//! (WebSocket over HTTP/2) and trailers are not offered.

pub mod bridge;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use log::debug;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::conn;
use super::stream::ClientStream;
use super::worker::Worker;
use crate::http1::{parse_response, BodyKind, ChunkedDecoder, ResponseHead};

/// Streams a client may have open at once (nginx `http2_max_concurrent_streams`).
const MAX_STREAMS: u32 = 128;
/// Flow-control windows: per stream, and for the whole connection.
const STREAM_WINDOW: u32 = 256 * 1024;
const CONNECTION_WINDOW: u32 = 1024 * 1024;
/// The in-memory pipe between a stream and its handler, each way.
const PIPE: usize = 64 * 1024;
/// Largest response head the handler's answer may have.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Serve an HTTP/2 connection (TLS done, `h2` negotiated) until the client
/// closes it, it idles past `keepalive_timeout` with no stream open, or the
/// process stops (then GOAWAY, and open streams finish).
pub async fn serve(worker: Rc<Worker>, stream: ClientStream, addr: SocketAddr, listener: usize) {
    let limits = worker.view().runtime.client;
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(MAX_STREAMS)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_header_list_size(u32::try_from(limits.max_head()).unwrap_or(u32::MAX));
    let mut h2 = match tokio::time::timeout(limits.header_timeout, builder.handshake::<_, Bytes>(stream)).await {
        Ok(Ok(h2)) => h2,
        Ok(Err(e)) => {
            debug!("client {addr}: HTTP/2 preface: {e}");
            return;
        }
        Err(_) => return,
    };
    let open = Rc::new(Cell::new(0usize));
    // Woken when a stream ends, so the idle limit starts from the last one.
    let ended = Rc::new(tokio::sync::Notify::new());
    let mut first = true;
    let mut going_away = false;
    loop {
        if worker.stopping() && !going_away {
            h2.graceful_shutdown();
            going_away = true;
        }
        let stopped = worker.stopped();
        let idle = if open.get() == 0 { limits.keepalive_timeout } else { Duration::from_secs(3600) };
        let next = tokio::select! {
            next = h2.accept() => next,
            _ = tokio::time::sleep(idle), if !going_away => {
                h2.graceful_shutdown();
                going_away = true;
                continue;
            }
            _ = stopped, if !going_away => continue,
            _ = ended.notified(), if open.get() > 0 => continue,
        };
        match next {
            Some(Ok((request, respond))) => {
                open.set(open.get() + 1);
                let (worker, open, ended) = (worker.clone(), open.clone(), ended.clone());
                tokio::task::spawn_local(async move {
                    stream_request(worker, request, respond, addr, listener, first).await;
                    open.set(open.get() - 1);
                    ended.notify_one();
                });
                first = false;
            }
            Some(Err(e)) => {
                debug!("client {addr}: HTTP/2: {e}");
                return;
            }
            None => return,
        }
    }
}

/// One stream: its request into a pipe to the connection handler, the
/// handler's answer back as the stream's response.
async fn stream_request(
    worker: Rc<Worker>,
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    addr: SocketAddr,
    listener: usize,
    first: bool,
) {
    let (parts, body) = request.into_parts();
    let mut head = Vec::with_capacity(1024);
    let chunked = bridge::request_head(&mut head, &parts, body.is_end_stream());
    let is_head = parts.method == http::Method::HEAD;
    let (ours, theirs) = tokio::io::duplex(PIPE);
    tokio::task::spawn_local(conn::serve_bridged(worker.clone(), theirs, addr, listener, first));
    let (mut rx, mut tx) = tokio::io::split(ours);
    let send_timeout = worker.view().runtime.client.send_timeout;
    let request_side = async {
        if tx.write_all(&head).await.is_err() {
            return;
        }
        drop(head);
        let _ = request_body(&mut tx, body, chunked).await;
    };
    let response_side = async {
        match response(&mut rx, &mut respond, is_head, send_timeout).await {
            Ok(()) => {}
            Err(Relay::NoAnswer) => {
                // The handler closed without an answer (it never should).
                let mut r = http::Response::new(());
                *r.status_mut() = http::StatusCode::BAD_GATEWAY;
                let _ = respond.send_response(r, true);
            }
            Err(Relay::Reset) => respond.send_reset(h2::Reason::INTERNAL_ERROR),
            Err(Relay::ClientGone) => {}
        }
    };
    // The answer may come before the body is all sent (a 413, an early
    // upstream answer): both directions run at once; the stream is done
    // when its response is.
    tokio::pin!(request_side, response_side);
    tokio::select! {
        _ = &mut response_side => {}
        _ = &mut request_side => response_side.await,
    }
}

/// The request body from the client's DATA frames into the pipe, chunked
/// when it has no length; flow-control credit given back as it is written.
async fn request_body(
    tx: &mut tokio::io::WriteHalf<DuplexStream>,
    mut body: RecvStream,
    chunked: bool,
) -> std::io::Result<()> {
    while let Some(data) = body.data().await {
        let Ok(data) = data else { return Ok(()) };
        let n = data.len();
        if n == 0 {
            continue;
        }
        if chunked {
            tx.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            tx.write_all(&data).await?;
            tx.write_all(b"\r\n").await?;
        } else {
            tx.write_all(&data).await?;
        }
        let _ = body.flow_control().release_capacity(n);
    }
    if chunked {
        tx.write_all(b"0\r\n\r\n").await?;
    }
    tx.flush().await
}

enum Relay {
    /// The handler closed before a whole response head.
    NoAnswer,
    /// The answer broke off after its head went out.
    Reset,
    ClientGone,
}

/// Read the handler's answer from the pipe and send it on the stream.
async fn response(
    rx: &mut tokio::io::ReadHalf<DuplexStream>,
    respond: &mut SendResponse<Bytes>,
    is_head: bool,
    send_timeout: Duration,
) -> Result<(), Relay> {
    let mut buf = Vec::with_capacity(4096);
    let mut head = ResponseHead::default();
    loop {
        loop {
            if !buf.is_empty() {
                match parse_response(&buf, MAX_RESPONSE_HEAD, &mut head) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(_) => return Err(Relay::NoAnswer),
                }
            }
            buf.reserve(4096);
            match rx.read_buf(&mut buf).await {
                Ok(n) if n > 0 => {}
                _ => return Err(Relay::NoAnswer),
            }
        }
        if head.is_interim() {
            // 100 Continue and the like: the client's HTTP/2 stream needs none.
            buf.drain(..head.len);
            continue;
        }
        break;
    }
    let kind = head.body(is_head);
    let end = kind == BodyKind::None;
    let mut send = respond.send_response(bridge::response(&head, &buf), end).map_err(|_| Relay::ClientGone)?;
    if end {
        return Ok(());
    }
    let mut rest = Bytes::from(buf).slice(head.len..);
    let mut decoder = ChunkedDecoder::new();
    let mut left = match kind {
        BodyKind::Length(n) => n,
        _ => u64::MAX,
    };
    let deadline = || Instant::now() + send_timeout;
    loop {
        if !rest.is_empty() {
            let data = match kind {
                BodyKind::Chunked => {
                    let mut out = Vec::with_capacity(rest.len());
                    let progress = decoder.feed(&rest, |d| out.extend_from_slice(d)).map_err(|_| Relay::Reset)?;
                    rest = rest.slice(progress.consumed..);
                    Bytes::from(out)
                }
                _ => {
                    let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    left -= take as u64;
                    rest.split_to(take)
                }
            };
            send_data(&mut send, data, deadline()).await?;
            let done = match kind {
                BodyKind::Chunked => decoder.is_done(),
                BodyKind::Length(_) => left == 0,
                _ => false,
            };
            if done {
                break;
            }
            continue;
        }
        let mut more = Vec::with_capacity(16 * 1024);
        match rx.read_buf(&mut more).await {
            Ok(n) if n > 0 => rest = Bytes::from(more),
            _ if kind == BodyKind::UntilClose => break,
            _ => return Err(Relay::Reset),
        }
    }
    send.send_data(Bytes::new(), true).map_err(|_| Relay::ClientGone)
}

/// Send `data` as the client's flow-control window allows, waiting for
/// credit at most until `deadline` (nginx's `send_timeout`).
async fn send_data(send: &mut SendStream<Bytes>, mut data: Bytes, deadline: Instant) -> Result<(), Relay> {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let credit = tokio::time::timeout_at(deadline.into(), std::future::poll_fn(|cx| send.poll_capacity(cx))).await;
        let n = match credit {
            Ok(Some(Ok(n))) if n > 0 => n.min(data.len()),
            Ok(Some(Ok(_))) => continue,
            _ => return Err(Relay::ClientGone),
        };
        send.send_data(data.split_to(n), false).map_err(|_| Relay::ClientGone)?;
    }
    Ok(())
}
