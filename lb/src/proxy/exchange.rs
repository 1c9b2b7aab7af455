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
use super::relay::{self, BodyLimits, PendingBody, RelayFail};
use super::request_id::new_request_id;
use super::respond::{self, Done};
use super::retry::{is_non_idempotent, retry_after_failure, status_action, StatusAction};
use super::route::RequestView;
use super::scratch::Scratch;
use super::stream::ClientStream;
use super::tries::Tries;
use super::tunnel::tunnel;
use super::upstream;
use super::worker::{View, Worker};
use crate::config::ClientLimits;
use crate::http1::write::{self, ClientConnection, Forwarding, Framing};
use crate::http1::{parse_response, BodyKind, ChunkedDecoder, RequestHead, ResponseHead};
use crate::runtime::UpstreamRuntime;
use crate::stats::FailureReason;
use crate::stats::Refusal;
use crate::upstream::Outcome;

/// Request bodies up to this size are read whole before the first try and
/// kept for resends; a larger one streams and is not resent once sent (as
/// nginx with an unbuffered body).
pub const RETRY_BUFFER: usize = 64 * 1024;
/// When writing the request fails, how long to look for an answer the
/// upstream may have sent before closing (bounded by `read_timeout` too).
const EARLY_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Interim (1xx) answers skipped before a response head; more is an
/// invalid header (a server trickling 1xx forever would hold the request).
const MAX_INTERIM: usize = 16;
/// Longest response head accepted from an upstream; a longer one is an
/// invalid header (nginx: "upstream sent too big header").
pub const MAX_RESPONSE_HEAD: usize = 32 * 1024;

/// Where the request body is.
enum Body {
    None,
    /// Whole, right after the head in the client buffer: can be resent.
    Buffered(usize),
    /// `in_buf` bytes after the head, the rest still with the client;
    /// `started` once a try began sending the rest (no resend after that).
    Streaming {
        in_buf: usize,
        pending: PendingBody,
        started: bool,
    },
}

/// Handle the request whose head is `s.req` at the start of `buf`; on
/// return `buf` holds only what the client sent after this request (a
/// pipelined one). True when the connection may carry another request.
pub async fn handle(w: &Worker, client: &mut Client, buf: &mut Buffer, s: &mut Scratch) -> bool {
    let started = Instant::now();
    let view = w.view();
    let limits = view.runtime.client;
    let Scratch { req, resp, out } = s;
    let is_head = req.is_head(buf);
    // What keep-alive allows after this request, before anything goes wrong.
    let may_keep = !req.close && !w.stopping() && limits.keeps_alive_after(client.served + 1);

    if req.method(buf) == b"CONNECT" {
        // A forward proxy's method: nothing to route (nginx answers 405 too).
        return refuse(w, &view, client, buf, req, out, started, 405, None).await;
    }
    if let BodyKind::Length(n) = req.body {
        if limits.max_body_size > 0 && n > limits.max_body_size {
            return refuse(w, &view, client, buf, req, out, started, 413, Some(Refusal::BodyTooLarge)).await;
        }
    }
    if view.runtime.acme_dir.is_some() && !client.stream.is_tls() {
        if let Some(token) = req.path(buf).strip_prefix(ACME_CHALLENGE) {
            let token = token.to_vec();
            return Box::pin(acme_challenge(w, &view, client, buf, req, out, started, may_keep, &token)).await;
        }
    }
    let find = RequestView {
        host: req.host(buf),
        path: req.path(buf),
        method: req.method(buf),
        header: |name: &[u8]| req.header(buf, name),
    };
    let Some(route) = view.runtime.router.find(&find) else {
        let keep = req.body == BodyKind::None && may_keep;
        let ok = respond::error(client, out, &view, 404, client_connection(req, keep), is_head).await;
        // A body that was not read is still on the connection.
        client.linger = req.body != BodyKind::None;
        finish(w, &view, client, buf, req, &Done::own(started, if ok { 404 } else { 499 }), req.len);
        return ok && keep;
    };
    if route.https_redirect && !client.stream.is_tls() {
        return Box::pin(redirect(w, &view, client, buf, req, out, started, may_keep)).await;
    }
    let up: &UpstreamRuntime = &view.runtime.upstreams[route.upstream];

    // HTTP/1.1 only: an HTTP/1.0 client must not get a 1xx (RFC 9110 15.2).
    if req.expect_continue && req.minor == 1 && req.body != BodyKind::None && buf.len() == req.len {
        // The client waits for this before its body (nginx answers it too).
        if io::write_one(&mut client.stream, write::CONTINUE, limits.send_timeout).await.is_err() {
            finish(w, &view, client, buf, req, &Done::own(started, 499), buf.len());
            return false;
        }
    }
    let mut body = match prefetch(&mut client.stream, buf, req, &limits).await {
        Ok(body) => body,
        Err(RelayFail::BadClientBody) => {
            return refuse(w, &view, client, buf, req, out, started, 400, Some(Refusal::BadRequest)).await;
        }
        Err(RelayFail::TooLarge) => {
            return refuse(w, &view, client, buf, req, out, started, 413, Some(Refusal::BodyTooLarge)).await;
        }
        Err(RelayFail::ClientTimeout) => {
            // nginx: 408 when the body stalls past client_body_timeout.
            return refuse(w, &view, client, buf, req, out, started, 408, Some(Refusal::BodyTimeout)).await;
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
            scheme: client.scheme(),
            stream: &mut client.stream,
            linger: &mut client.linger,
            ip_text: ip_key.bytes(),
            ip: Some(client.addr.ip()),
            buf: &buf[..],
            req,
            resp,
            out,
            is_head,
            non_idempotent: is_non_idempotent(req.method(buf)),
            made_id: &made_id,
            limits,
            may_keep,
        };
        run_tries(&mut t, &mut tries, &mut body, &mut rest).await
    };
    let (status, bytes, keep) = match end {
        End::Answered { status, bytes, keep_alive } => (status, bytes, keep_alive),
        End::Error(status) => {
            let streaming = matches!(&body, Body::Streaming { pending, .. } if !pending.is_done());
            client.linger |= streaming;
            // The client's own fault, met while its body streamed.
            let client_fault = matches!(status, 400 | 408 | 413);
            match status {
                400 => w.live.refusals.count(Refusal::BadRequest),
                408 => w.live.refusals.count(Refusal::BodyTimeout),
                413 => w.live.refusals.count(Refusal::BodyTooLarge),
                _ => {}
            }
            client.linger |= client_fault;
            let keep = !streaming && may_keep && !client_fault;
            let ok = respond::error(client, out, &view, status, client_connection(req, keep), is_head).await;
            (if ok { status } else { 499 }, 0, ok && keep)
        }
        End::ClientGone => (499, 0, false),
    };
    let (consumed, body_complete) = match &body {
        Body::None => (req.len, true),
        Body::Buffered(n) => (req.len + n, true),
        Body::Streaming { in_buf, pending, .. } => (req.len + in_buf, pending.is_done()),
    };
    let done = Done { started, status, bytes, upstream: Some(up), tries: &tries.records, request_id };
    respond::record_with_ip(w, &view, client, ip_key.bytes(), req, buf, &done);
    buf.consume(consumed);
    if let Some(rest) = rest {
        buf.extend_from_slice(&rest);
    }
    keep && body_complete && may_keep && !w.stopping()
}

/// Where an ACME CA asks for an HTTP-01 challenge's answer (RFC 8555 8.3).
const ACME_CHALLENGE: &[u8] = b"/.well-known/acme-challenge/";

/// An HTTP-01 challenge on a plain listener: the key authorization of a
/// token this process published, else one in `acme.state_dir/challenges/`
/// (published by the other balancer of a pair sharing the directory); 404
/// otherwise. Never proxied.
#[allow(clippy::too_many_arguments)]
async fn acme_challenge(
    w: &Worker,
    view: &View,
    client: &mut Client,
    buf: &mut Buffer,
    req: &RequestHead,
    out: &mut Vec<u8>,
    started: Instant,
    may_keep: bool,
    token: &[u8],
) -> bool {
    let mut answer = None;
    if crate::acme::state::is_token(token) {
        let token = String::from_utf8_lossy(token);
        answer = w.live.acme.key_authorization(&token);
        if answer.is_none() {
            if let Some(dir) = &view.runtime.acme_dir {
                answer = tokio::fs::read_to_string(dir.join("challenges").join(&*token)).await.ok();
            }
        }
    }
    let keep = req.body == BodyKind::None && may_keep;
    let status = if answer.is_some() { 200 } else { 404 };
    out.clear();
    let conn = client_connection(req, keep);
    match &answer {
        Some(a) => write::text_response(out, 200, a.as_bytes(), &view.runtime.response_headers, conn, req.is_head(buf)),
        None => write::error_response(out, 404, &view.runtime.response_headers, conn, req.is_head(buf)),
    }
    let ok =
        io::write_all(&mut client.stream, &mut [IoSlice::new(out)], view.runtime.client.send_timeout).await.is_ok();
    client.linger = req.body != BodyKind::None;
    finish(w, view, client, buf, req, &Done::own(started, if ok { status } else { 499 }), req.len);
    ok && keep
}

/// A plain-HTTP request on an `https_redirect` route: 301 (GET, HEAD) or
/// 308 to the same host and target over HTTPS, without reading a body
/// (the connection then closes if one was sent).
#[allow(clippy::too_many_arguments)]
async fn redirect(
    w: &Worker,
    view: &View,
    client: &mut Client,
    buf: &mut Buffer,
    req: &RequestHead,
    out: &mut Vec<u8>,
    started: Instant,
    may_keep: bool,
) -> bool {
    let host = super::route::host_without_port(req.host(buf));
    let port = view.runtime.https_port.unwrap_or(443);
    if host.is_empty() {
        // No host to send the client to (an HTTP/1.0 request without Host).
        return refuse(w, view, client, buf, req, out, started, 400, Some(Refusal::BadRequest)).await;
    }
    let status = if matches!(req.method(buf), b"GET" | b"HEAD") { 301 } else { 308 };
    let keep = req.body == BodyKind::None && may_keep;
    out.clear();
    let location = write::HttpsLocation { host, port, target: req.origin_target(buf) };
    write::https_redirect(
        out,
        status,
        &location,
        &view.runtime.response_headers,
        client_connection(req, keep),
        req.is_head(buf),
    );
    let ok =
        io::write_all(&mut client.stream, &mut [IoSlice::new(out)], view.runtime.client.send_timeout).await.is_ok();
    client.linger = req.body != BodyKind::None;
    finish(w, view, client, buf, req, &Done::own(started, if ok { status } else { 499 }), req.len);
    ok && keep
}

/// Refuse the request with `status` (counted under `reason`) before any
/// try, and close lingering: its body may still be on the connection.
#[allow(clippy::too_many_arguments)]
async fn refuse(
    w: &Worker,
    view: &View,
    client: &mut Client,
    buf: &mut Buffer,
    req: &RequestHead,
    out: &mut Vec<u8>,
    started: Instant,
    status: u16,
    reason: Option<Refusal>,
) -> bool {
    if let Some(r) = reason {
        w.live.refusals.count(r);
    }
    let ok = respond::error(client, out, view, status, ClientConnection::Close, req.is_head(buf)).await;
    client.linger = true;
    let consumed = buf.len();
    finish(w, view, client, buf, req, &Done::own(started, if ok { status } else { 499 }), consumed);
    false
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
/// head; a larger one is left to stream. A chunked body's data past
/// `limits.max_body_size` is refused (a length was checked before).
async fn prefetch(
    stream: &mut ClientStream,
    buf: &mut Buffer,
    req: &RequestHead,
    limits: &ClientLimits,
) -> Result<Body, RelayFail> {
    let read_fail = |e: io::IoFail| match e {
        io::IoFail::Timeout => RelayFail::ClientTimeout,
        _ => RelayFail::Client,
    };
    match req.body {
        BodyKind::None | BodyKind::UntilClose => Ok(Body::None),
        BodyKind::Length(n) if n as usize <= RETRY_BUFFER => {
            let end = req.len + n as usize;
            while buf.len() < end {
                let want = end - buf.len();
                match io::read_some(stream, buf, limits.body_timeout, want).await {
                    Ok(got) if got > 0 => {}
                    Ok(_) => return Err(RelayFail::Client),
                    Err(e) => return Err(read_fail(e)),
                }
            }
            Ok(Body::Buffered(n as usize))
        }
        BodyKind::Length(n) => {
            let in_buf = (buf.len() - req.len).min(n as usize);
            Ok(Body::Streaming { in_buf, pending: PendingBody::length(n - in_buf as u64), started: false })
        }
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut at = req.len;
            let mut data = 0u64;
            loop {
                let p = decoder.feed(&buf[at..], |d| data += d.len() as u64).map_err(|_| RelayFail::BadClientBody)?;
                if limits.max_body_size > 0 && data > limits.max_body_size {
                    return Err(RelayFail::TooLarge);
                }
                at += p.consumed;
                if p.done {
                    return Ok(Body::Buffered(at - req.len));
                }
                if at - req.len > RETRY_BUFFER {
                    return Ok(Body::Streaming {
                        in_buf: at - req.len,
                        pending: PendingBody::chunked(decoder, data),
                        started: false,
                    });
                }
                match io::read_some(stream, buf, limits.body_timeout, RELAY).await {
                    Ok(got) if got > 0 => {}
                    Ok(_) => return Err(RelayFail::Client),
                    Err(e) => return Err(read_fail(e)),
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
}

/// What one try needs.
struct TryCtx<'a> {
    w: &'a Worker,
    view: &'a View,
    up: &'a UpstreamRuntime,
    stream: &'a mut ClientStream,
    /// `X-Forwarded-Proto`.
    scheme: &'static [u8],
    ip_text: &'a [u8],
    ip: Option<std::net::IpAddr>,
    buf: &'a [u8],
    req: &'a RequestHead,
    resp: &'a mut ResponseHead,
    out: &'a mut Vec<u8>,
    is_head: bool,
    non_idempotent: bool,
    made_id: &'a [u8; 32],
    /// Set when the client's connection will close with its input unread.
    linger: &'a mut bool,
    limits: ClientLimits,
    /// Keep-alive allowed after this request, as far as the client and the
    /// limits go.
    may_keep: bool,
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
    /// The client's body was refused while it streamed (400, 408, 413).
    ClientFault(u16),
}

async fn run_tries(t: &mut TryCtx<'_>, tries: &mut Tries<'_>, body: &mut Body, rest: &mut Option<Buffer>) -> End {
    let key = request_key(&t.up.config.balance, t.req, t.buf, t.ip, t.ip_text);
    loop {
        let now = Instant::now();
        let Some(index) = tries.pick(key.bytes(), now) else {
            // nginx: no peer left is NGX_HTTP_UPSTREAM_FT_NOLIVE, a 502.
            return End::Error(502);
        };
        match try_once(t, tries, index, now, body, rest).await {
            TryEnd::Answered { status, bytes, keep_alive } => return End::Answered { status, bytes, keep_alive },
            TryEnd::StatusRetry => {}
            TryEnd::ClientGone => {
                tries.finish(Outcome::Passed, None, false);
                return End::ClientGone;
            }
            TryEnd::ClientFault(status) => {
                tries.finish(Outcome::Passed, None, false);
                return End::Error(status);
            }
            TryEnd::Failed { fail, reused } => {
                let sent = !fail.before_sending();
                if reused && fail == TryFail::Closed {
                    // nginx: a kept-alive connection that fails earns the
                    // request one extra try (still charged to the server).
                    tries.attempt.tries_left += 1;
                }
                // Once a try took part of the body from the client, no other
                // try can have it: none follows, whatever was sent.
                let consumed = matches!(body, Body::Streaming { started: true, .. });
                let situation = tries.situation(sent, t.non_idempotent, !consumed);
                let retry = !consumed && retry_after_failure(fail.condition(), &situation);
                tries.finish(Outcome::Failed, Some(fail.reason()), retry);
                debug!(
                    "upstream {}: {fail:?}{}",
                    t.up.config.name,
                    if retry { ", trying the next server" } else { "" }
                );
                if !retry {
                    return End::Error(fail.client_status());
                }
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
    let pooled = t.w.pool.borrow_mut().take((server.addr, t.up.pool_tag), now);
    let reused = pooled.is_some();
    let mut conn = match pooled {
        Some(c) => c,
        None => match upstream::connect(server.addr, cfg.connect_timeout, upstream_tls(t, server)).await {
            Ok(c) => c,
            Err(e) => return TryEnd::Failed { fail: TryFail::from_connect(&e), reused: false },
        },
    };

    // The request: head and what is here of the body in one write.
    t.out.clear();
    let fwd = Forwarding {
        client_ip: Some(t.ip_text),
        scheme: t.scheme,
        new_request_id: t.made_id,
        default_host: server.name.as_bytes(),
    };
    write::upstream_request(t.out, t.buf, t.req, &fwd, t.req.expect_continue);
    let body_here: &[u8] = match body {
        Body::None => b"",
        Body::Buffered(n) => &t.buf[t.req.len..t.req.len + *n],
        Body::Streaming { in_buf, .. } => &t.buf[t.req.len..t.req.len + *in_buf],
    };
    // False once the upstream answered before it had the whole request:
    // its connection is then not reused.
    let mut request_whole = true;
    let mut ubuf = Buffer::take(RELAY);
    let write = io::write_head_and(&mut conn, t.out, body_here, cfg.send_timeout).await;
    if let Err(e) = write {
        // A server may answer and close without reading the body (413, 401):
        // its answer, if it sent one, is what the client gets.
        let limit = cfg.read_timeout.min(EARLY_ANSWER_WAIT);
        if !matches!(e, io::IoFail::Timeout) && read_response_head(&mut conn, &mut ubuf, t.resp, limit).await.is_ok() {
            request_whole = false;
        } else {
            return TryEnd::Failed { fail: TryFail::from_write(&e), reused };
        }
    } else if let Body::Streaming { pending, started, .. } = body {
        *started = true;
        let spill = rest.get_or_insert_with(|| Buffer::take(RELAY));
        let limits = BodyLimits {
            read_timeout: t.limits.body_timeout,
            send_timeout: cfg.send_timeout,
            max_size: t.limits.max_body_size,
        };
        match relay::request_body(t.stream, &mut conn, pending, spill, limits).await {
            Ok(relay::BodySent::Whole) => {}
            Ok(relay::BodySent::UpstreamAnswered) => request_whole = false,
            Err(RelayFail::Client) => return TryEnd::ClientGone,
            Err(RelayFail::BadClientBody) => return TryEnd::ClientFault(400),
            Err(RelayFail::ClientTimeout) => return TryEnd::ClientFault(408),
            Err(RelayFail::TooLarge) => return TryEnd::ClientFault(413),
            Err(RelayFail::UpstreamWrite(e)) => return TryEnd::Failed { fail: TryFail::from_write(&e), reused },
            Err(RelayFail::Upstream) => return TryEnd::Failed { fail: TryFail::Closed, reused },
        }
    }

    // The response head (unless an early answer's is already parsed).
    if request_whole {
        if let Err(fail) = read_response_head(&mut conn, &mut ubuf, t.resp, cfg.read_timeout).await {
            return TryEnd::Failed { fail, reused };
        }
    } else if ubuf.is_empty() {
        // The upstream spoke while the body streamed: read its answer now.
        if let Err(fail) = read_response_head(&mut conn, &mut ubuf, t.resp, cfg.read_timeout).await {
            return TryEnd::Failed { fail, reused };
        }
    }
    let status = t.resp.status;
    if status == 101 && !t.req.upgrade {
        // Switching protocols nobody asked for.
        return TryEnd::Failed { fail: TryFail::InvalidHeader, reused };
    }
    tries.on_response(status);
    let resp_body = t.resp.body(t.is_head);
    if status >= 400 {
        let consumed = matches!(body, Body::Streaming { started: true, .. });
        let action = if consumed {
            StatusAction::Pass
        } else {
            status_action(status, &tries.situation(true, t.non_idempotent, true))
        };
        if let StatusAction::Retry { charge } = action {
            if charge {
                tries.finish(Outcome::Failed, Some(FailureReason::HttpStatus), true);
            } else {
                tries.finish(Outcome::Passed, None, true);
            }
            debug!("upstream {} server {}: {status}, trying the next server", cfg.name, server.name);
            let close = t.resp.close || !request_whole;
            ubuf.consume(t.resp.len);
            if !close && relay::drain(&mut conn, &mut ubuf, resp_body).await {
                t.w.pool.borrow_mut().put((server.addr, t.up.pool_tag), conn, now);
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
    if !body_complete {
        // The rest of the body is still on the client's connection.
        *t.linger = true;
    }
    let keep = t.may_keep && !t.w.stopping() && body_complete && resp_body != BodyKind::UntilClose && !dechunk;
    let conn_kind = if status == 101 { ClientConnection::Upgrade } else { client_connection(t.req, keep) };
    t.out.clear();
    let framing = if dechunk { Framing::Dechunk } else { Framing::AsIs(resp_body) };
    write::client_response(t.out, &ubuf, t.resp, &t.view.runtime.response_headers, conn_kind, framing);
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
        // And what was read past a streamed body.
        let spilled: &[u8] = rest.as_deref().map_or(&[][..], |r| &r[..]);
        let ok = io::write_all(t.stream, &mut [IoSlice::new(t.out), IoSlice::new(&ubuf)], t.limits.send_timeout)
            .await
            .is_ok()
            && io::write_all(&mut conn, &mut [IoSlice::new(early), IoSlice::new(spilled)], cfg.send_timeout)
                .await
                .is_ok();
        if ok {
            drop(ubuf);
            tunnel(t.stream, &mut conn, cfg.read_timeout).await;
        }
        return TryEnd::Answered { status, bytes: 0, keep_alive: false };
    }

    let (relayed, fail) =
        relay::response(t.stream, &mut conn, t.out, &mut ubuf, framing, cfg.read_timeout, t.limits.send_timeout).await;
    // nginx: what goes wrong once the header went out never counts against
    // the server, and nothing can be retried.
    tries.finish(Outcome::Passed, None, false);
    if fail.is_none() && relayed.upstream_clean && !upstream_close && body_complete && request_whole {
        t.w.pool.borrow_mut().put((server.addr, t.up.pool_tag), conn, now);
    }
    TryEnd::Answered { status, bytes: relayed.bytes, keep_alive: keep && fail.is_none() }
}

/// The TLS connector and server name for a new connection to `server`,
/// when its group has `tls` (the name is made only for new connections).
fn upstream_tls<'a>(
    t: &TryCtx<'a>,
    server: &crate::config::Server,
) -> Option<(&'a tokio_rustls::TlsConnector, rustls_pki_types::ServerName<'static>)> {
    let tls = t.up.config.tls.as_ref()?;
    let connector = t.view.tls.upstream(&t.up.config.name)?;
    let name = crate::tls::upstream::server_name(tls.sni.as_deref(), &server.name)?;
    Some((connector, name))
}

/// Read the response head (skipping interim 1xx answers) into `resp`,
/// leaving it and what followed in `ubuf`.
async fn read_response_head(
    conn: &mut super::upstream_stream::UpstreamStream,
    ubuf: &mut Buffer,
    resp: &mut ResponseHead,
    read_timeout: std::time::Duration,
) -> Result<(), TryFail> {
    let mut interim = 0;
    loop {
        if !ubuf.is_empty() {
            match parse_response(ubuf, MAX_RESPONSE_HEAD, resp) {
                Ok(true) if resp.is_interim() => {
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(TryFail::InvalidHeader);
                    }
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
