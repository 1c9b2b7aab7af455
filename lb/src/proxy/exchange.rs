//! One request, start to end: route it, read a small body whole (so it can
//! be resent), then try servers as the group's balancer picks them, with
//! nginx's `proxy_next_upstream` rules on every failure, until one answers
//! or nothing is left to try; relay the answer; record the request.

use std::io::IoSlice;
use std::time::Instant;

use log::debug;

use super::buffers::{Buffer, RELAY};
use super::conn::Client;
use super::errors::TryFail;
use super::io;
use super::key::{ip_text, request_key};
use super::relay::{self, Framing, PendingBody, RelayFail, BODY_TIMEOUT};
use super::request_id::new_request_id;
use super::respond::{self, Done, SEND_TIMEOUT};
use super::retry::{is_non_idempotent, retry_after_failure, status_action, StatusAction};
use super::scratch::Scratch;
use super::tries::Tries;
use super::tunnel::tunnel;
use super::upstream;
use super::worker::{View, Worker};
use crate::http1::write::{self, ClientConnection, Forwarding};
use crate::http1::{parse_response, BodyKind, ChunkedDecoder, RequestHead, ResponseHead};
use crate::runtime::UpstreamRuntime;
use crate::stats::FailureReason;
use crate::upstream::Outcome;

/// Request bodies up to this size are read whole before the first try and
/// kept for resends; a larger one streams and is not resent once sent (as
/// nginx with an unbuffered body).
pub const RETRY_BUFFER: usize = 64 * 1024;
/// Longest response head accepted from an upstream; a longer one is an
/// invalid header (nginx: "upstream sent too big header").
pub const MAX_RESPONSE_HEAD: usize = 32 * 1024;

/// Where the request body is.
enum Body {
    None,
    /// Whole, right after the head in the client buffer: can be resent.
    Buffered(usize),
    /// `in_buf` bytes after the head, the rest still with the client.
    Streaming {
        in_buf: usize,
        pending: PendingBody,
    },
}

/// Handle the request whose head is `s.req` at the start of `buf`; on
/// return `buf` holds only what the client sent after this request (a
/// pipelined one). True when the connection may carry another request.
pub async fn handle(w: &Worker, client: &mut Client, buf: &mut Buffer, s: &mut Scratch) -> bool {
    let started = Instant::now();
    let view = w.view();
    let Scratch { req, resp, out } = s;
    let is_head = req.is_head(buf);

    if req.method(buf) == b"CONNECT" {
        // A forward proxy's method: nothing to route (nginx answers 405 too).
        let ok = respond::error(client, out, &view, 405, ClientConnection::Close, false).await;
        finish(w, &view, client, buf, req, &Done::own(started, if ok { 405 } else { 499 }), req.len);
        return false;
    }
    let Some(index) = view.runtime.router.find(req.host(buf), req.path(buf)) else {
        let keep = req.body == BodyKind::None && !req.close && !w.stopping();
        let ok = respond::error(client, out, &view, 404, client_connection(req, keep), is_head).await;
        finish(w, &view, client, buf, req, &Done::own(started, if ok { 404 } else { 499 }), req.len);
        return ok && keep;
    };
    let up: &UpstreamRuntime = &view.runtime.upstreams[index];

    if req.expect_continue && req.body != BodyKind::None && buf.len() == req.len {
        // The client waits for this before its body (nginx answers it too).
        if io::write_one(&mut client.stream, write::CONTINUE, SEND_TIMEOUT).await.is_err() {
            finish(w, &view, client, buf, req, &Done::own(started, 499), buf.len());
            return false;
        }
    }
    let mut body = match prefetch(&mut client.stream, buf, req).await {
        Ok(body) => body,
        Err(RelayFail::BadClientBody) => {
            let ok = respond::error(client, out, &view, 400, ClientConnection::Close, is_head).await;
            finish(w, &view, client, buf, req, &Done::own(started, if ok { 400 } else { 499 }), buf.len());
            return false;
        }
        Err(_) => {
            finish(w, &view, client, buf, req, &Done::own(started, 499), buf.len());
            return false;
        }
    };

    let made_id = new_request_id();
    // The client's address as text (nginx `$remote_addr`), on the stack.
    let ip_key = ip_text(client.ip());
    let request_id: &[u8] = req.header(buf, b"x-request-id").unwrap_or(&made_id);
    // Bytes the client sent after a streamed body (a pipelined request).
    let mut rest: Option<Buffer> = None;
    let mut tries = Tries::new(up, started);
    let end = {
        let mut t = TryCtx {
            w,
            view: &view,
            up,
            stream: &mut client.stream,
            ip_text: ip_key.bytes(),
            ip: Some(client.addr.ip()),
            buf: &buf[..],
            req,
            resp,
            out,
            is_head,
            non_idempotent: is_non_idempotent(req.method(buf)),
            made_id: &made_id,
        };
        run_tries(&mut t, &mut tries, &mut body, &mut rest).await
    };
    let (status, bytes, keep) = match end {
        End::Answered { status, bytes, keep_alive } => (status, bytes, keep_alive),
        End::Error(status) => {
            let keep = !matches!(body, Body::Streaming { .. }) && !req.close && !w.stopping();
            let ok = respond::error(client, out, &view, status, client_connection(req, keep), is_head).await;
            (if ok { status } else { 499 }, 0, ok && keep)
        }
        End::ClientGone => (499, 0, false),
        End::BadClientBody => {
            let ok = respond::error(client, out, &view, 400, ClientConnection::Close, is_head).await;
            (if ok { 400 } else { 499 }, 0, false)
        }
    };
    let (consumed, body_complete) = match &body {
        Body::None => (req.len, true),
        Body::Buffered(n) => (req.len + n, true),
        Body::Streaming { in_buf, pending } => (req.len + in_buf, pending.is_done()),
    };
    let done = Done { started, status, bytes, upstream: Some(up), tries: &tries.records, request_id };
    respond::record_with_ip(w, &view, client, ip_key.bytes(), req, buf, &done);
    buf.consume(consumed);
    if let Some(rest) = rest {
        buf.extend_from_slice(&rest);
    }
    keep && body_complete && !req.close && !w.stopping()
}

impl Done<'static> {
    /// A request tandem answered itself without trying any server.
    fn own(started: Instant, status: u16) -> Done<'static> {
        Done { started, status, bytes: 0, upstream: None, tries: &[], request_id: b"-" }
    }
}

/// Record the request, then drop its `consumed` bytes from the buffer.
fn finish(
    w: &Worker,
    view: &View,
    client: &Client,
    buf: &mut Buffer,
    req: &RequestHead,
    done: &Done<'_>,
    consumed: usize,
) {
    respond::record(w, view, client, req, buf, done);
    buf.consume(consumed);
}

fn client_connection(req: &RequestHead, keep: bool) -> ClientConnection {
    match (keep, req.minor) {
        (false, _) => ClientConnection::Close,
        (true, 0) => ClientConnection::KeepAlive10,
        (true, _) => ClientConnection::KeepAlive,
    }
}

/// Read a body of up to [`RETRY_BUFFER`] bytes whole into `buf`, after the
/// head; a larger one is left to stream.
async fn prefetch(stream: &mut tokio::net::TcpStream, buf: &mut Buffer, req: &RequestHead) -> Result<Body, RelayFail> {
    match req.body {
        BodyKind::None | BodyKind::UntilClose => Ok(Body::None),
        BodyKind::Length(n) if n as usize <= RETRY_BUFFER => {
            let end = req.len + n as usize;
            while buf.len() < end {
                let want = end - buf.len();
                match io::read_some(stream, buf, BODY_TIMEOUT, want).await {
                    Ok(got) if got > 0 => {}
                    _ => return Err(RelayFail::Client),
                }
            }
            Ok(Body::Buffered(n as usize))
        }
        BodyKind::Length(n) => {
            let in_buf = (buf.len() - req.len).min(n as usize);
            Ok(Body::Streaming { in_buf, pending: PendingBody::length(n - in_buf as u64) })
        }
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut at = req.len;
            loop {
                let p = decoder.feed(&buf[at..], |_| {}).map_err(|_| RelayFail::BadClientBody)?;
                at += p.consumed;
                if p.done {
                    return Ok(Body::Buffered(at - req.len));
                }
                if at - req.len > RETRY_BUFFER {
                    return Ok(Body::Streaming { in_buf: at - req.len, pending: PendingBody::chunked(decoder) });
                }
                match io::read_some(stream, buf, BODY_TIMEOUT, RELAY).await {
                    Ok(got) if got > 0 => {}
                    _ => return Err(RelayFail::Client),
                }
            }
        }
    }
}

/// How the tries ended.
enum End {
    /// A response went to the client.
    Answered {
        status: u16,
        bytes: u64,
        keep_alive: bool,
    },
    /// Nothing (more) to try: tandem answers this status.
    Error(u16),
    ClientGone,
    BadClientBody,
}

/// What one try needs.
struct TryCtx<'a> {
    w: &'a Worker,
    view: &'a View,
    up: &'a UpstreamRuntime,
    stream: &'a mut tokio::net::TcpStream,
    ip_text: &'a [u8],
    ip: Option<std::net::IpAddr>,
    buf: &'a [u8],
    req: &'a RequestHead,
    resp: &'a mut ResponseHead,
    out: &'a mut Vec<u8>,
    is_head: bool,
    non_idempotent: bool,
    made_id: &'a [u8; 32],
}

/// How one try ended.
enum TryEnd {
    Answered {
        status: u16,
        bytes: u64,
        keep_alive: bool,
    },
    /// Failed before a response header; `reused`: on a kept-alive connection.
    Failed {
        fail: TryFail,
        reused: bool,
    },
    /// A listed status moved the request on (already reported).
    StatusRetry,
    ClientGone,
    BadClientBody,
}

async fn run_tries(t: &mut TryCtx<'_>, tries: &mut Tries<'_>, body: &mut Body, rest: &mut Option<Buffer>) -> End {
    let key = request_key(&t.up.config.balance, t.req, t.buf, t.ip, t.ip_text);
    let mut last: Option<TryFail> = None;
    loop {
        let now = Instant::now();
        let Some(index) = tries.pick(key.bytes(), now) else {
            return End::Error(last.map_or(502, TryFail::client_status));
        };
        match try_once(t, tries, index, now, body, rest).await {
            TryEnd::Answered { status, bytes, keep_alive } => return End::Answered { status, bytes, keep_alive },
            TryEnd::StatusRetry => {}
            TryEnd::ClientGone => {
                tries.finish(Outcome::Passed, None, false);
                return End::ClientGone;
            }
            TryEnd::BadClientBody => {
                tries.finish(Outcome::Passed, None, false);
                return End::BadClientBody;
            }
            TryEnd::Failed { fail, reused } => {
                let sent = !fail.before_sending();
                if reused && fail == TryFail::Closed {
                    // nginx: a kept-alive connection that fails earns the
                    // request one extra try (still charged to the server).
                    tries.attempt.tries_left += 1;
                }
                let replayable = !matches!(body, Body::Streaming { .. });
                let situation = tries.situation(sent, t.non_idempotent, replayable);
                let retry = retry_after_failure(fail.condition(), &situation);
                tries.finish(Outcome::Failed, Some(fail.reason()), retry);
                debug!(
                    "upstream {}: {fail:?}{}",
                    t.up.config.name,
                    if retry { ", trying the next server" } else { "" }
                );
                if !retry {
                    return End::Error(fail.client_status());
                }
                last = Some(fail);
            }
        }
    }
}

/// One try on server `index`, picked at `now` (the pool's clock too: an idle
/// connection's age needs no finer time).
async fn try_once(
    t: &mut TryCtx<'_>,
    tries: &mut Tries<'_>,
    index: usize,
    now: Instant,
    body: &mut Body,
    rest: &mut Option<Buffer>,
) -> TryEnd {
    let cfg = &t.up.config;
    let server = &cfg.servers[index];
    let pooled = t.w.pool.borrow_mut().take(server.addr, now);
    let reused = pooled.is_some();
    let mut conn = match pooled {
        Some(c) => c,
        None => match upstream::connect(server.addr, cfg.connect_timeout).await {
            Ok(c) => c,
            Err(e) => return TryEnd::Failed { fail: TryFail::from_connect(&e), reused: false },
        },
    };

    // The request: head and what is here of the body in one write.
    t.out.clear();
    let fwd = Forwarding {
        client_ip: Some(t.ip_text),
        scheme: b"http",
        new_request_id: t.made_id,
        default_host: server.name.as_bytes(),
    };
    write::upstream_request(t.out, t.buf, t.req, &fwd, t.req.expect_continue);
    let body_here: &[u8] = match body {
        Body::None => b"",
        Body::Buffered(n) => &t.buf[t.req.len..t.req.len + *n],
        Body::Streaming { in_buf, .. } => &t.buf[t.req.len..t.req.len + *in_buf],
    };
    if let Err(e) =
        io::write_all(&mut conn, &mut [IoSlice::new(t.out), IoSlice::new(body_here)], cfg.send_timeout).await
    {
        return TryEnd::Failed { fail: TryFail::from_write(&e), reused };
    }
    if let Body::Streaming { pending, .. } = body {
        let spill = rest.get_or_insert_with(|| Buffer::take(RELAY));
        match relay::request_body(t.stream, &mut conn, pending, spill, cfg.send_timeout).await {
            Ok(()) => {}
            Err(RelayFail::Client) => return TryEnd::ClientGone,
            Err(RelayFail::BadClientBody) => return TryEnd::BadClientBody,
            Err(RelayFail::Upstream) => return TryEnd::Failed { fail: TryFail::Closed, reused },
        }
    }

    // The response head.
    let mut ubuf = Buffer::take(RELAY);
    if let Err(fail) = read_response_head(&mut conn, &mut ubuf, t.resp, cfg.read_timeout).await {
        return TryEnd::Failed { fail, reused };
    }
    let status = t.resp.status;
    if status == 101 && !t.req.upgrade {
        // Switching protocols nobody asked for.
        return TryEnd::Failed { fail: TryFail::InvalidHeader, reused };
    }
    tries.on_response(status);
    let resp_body = t.resp.body(t.is_head);
    if status >= 400 {
        let replayable = !matches!(body, Body::Streaming { .. });
        if let StatusAction::Retry { charge } =
            status_action(status, &tries.situation(true, t.non_idempotent, replayable))
        {
            if charge {
                tries.finish(Outcome::Failed, Some(FailureReason::HttpStatus), true);
            } else {
                tries.finish(Outcome::Passed, None, true);
            }
            debug!("upstream {} server {}: {status}, trying the next server", cfg.name, server.name);
            let close = t.resp.close;
            ubuf.consume(t.resp.len);
            if relay::drain(&mut conn, &mut ubuf, resp_body).await && !close {
                t.w.pool.borrow_mut().put(server.addr, conn, now);
            }
            return TryEnd::StatusRetry;
        }
    }

    // The answer to the client.
    let dechunk = resp_body == BodyKind::Chunked && t.req.minor == 0;
    let body_complete = match body {
        Body::Streaming { pending, .. } => pending.is_done(),
        _ => true,
    };
    let keep = !t.req.close && !t.w.stopping() && body_complete && resp_body != BodyKind::UntilClose && !dechunk;
    let conn_kind = if status == 101 { ClientConnection::Upgrade } else { client_connection(t.req, keep) };
    t.out.clear();
    write::client_response(t.out, &ubuf, t.resp, &t.view.runtime.response_headers, conn_kind, dechunk);
    let upstream_close = t.resp.close;
    ubuf.consume(t.resp.len);

    if status == 101 {
        tries.finish(Outcome::Passed, None, false);
        // What the client sent after its request (and any body, already
        // forwarded) belongs to the new protocol.
        let sent = match body {
            Body::None => 0,
            Body::Buffered(n) => *n,
            Body::Streaming { in_buf, .. } => *in_buf,
        };
        let early = &t.buf[(t.req.len + sent).min(t.buf.len())..];
        let ok = io::write_all(t.stream, &mut [IoSlice::new(t.out), IoSlice::new(&ubuf)], SEND_TIMEOUT).await.is_ok()
            && io::write_one(&mut conn, early, cfg.send_timeout).await.is_ok();
        if ok {
            drop(ubuf);
            tunnel(t.stream, &mut conn, cfg.read_timeout).await;
        }
        return TryEnd::Answered { status, bytes: 0, keep_alive: false };
    }

    let framing = if dechunk { Framing::Dechunk } else { Framing::AsIs(resp_body) };
    let (relayed, fail) = relay::response(t.stream, &mut conn, t.out, &mut ubuf, framing, cfg.read_timeout).await;
    // nginx: what goes wrong once the header went out never counts against
    // the server, and nothing can be retried.
    tries.finish(Outcome::Passed, None, false);
    if fail.is_none() && relayed.upstream_clean && !upstream_close && body_complete {
        t.w.pool.borrow_mut().put(server.addr, conn, now);
    }
    TryEnd::Answered { status, bytes: relayed.bytes, keep_alive: keep && fail.is_none() }
}

/// Read the response head (skipping interim 1xx answers) into `resp`,
/// leaving it and what followed in `ubuf`.
async fn read_response_head(
    conn: &mut tokio::net::TcpStream,
    ubuf: &mut Buffer,
    resp: &mut ResponseHead,
    read_timeout: std::time::Duration,
) -> Result<(), TryFail> {
    loop {
        if !ubuf.is_empty() {
            match parse_response(ubuf, MAX_RESPONSE_HEAD, resp) {
                Ok(true) if resp.is_interim() => {
                    ubuf.consume(resp.len);
                    continue;
                }
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(_) => return Err(TryFail::InvalidHeader),
            }
        }
        match io::read_some(conn, ubuf, read_timeout, 4096).await {
            Ok(0) => return Err(TryFail::Closed),
            Ok(_) => {}
            Err(e) => return Err(TryFail::from_read(&e)),
        }
    }
}
