//! The Pingora `ProxyHttp` implementation: route, pick a server with the
//! group's balancer, forward with nginx's headers, and apply nginx's
//! `proxy_next_upstream` rules to every failure.
//!
//! Per try, the group lock is taken twice (pick, report); the runtime is
//! loaded once per request without a lock (a reload swaps it); counters are
//! relaxed atomics. Logging on the request path happens only for failures;
//! the access log line is formatted here (only when it is on) and written by
//! its own thread.

mod access;
pub mod errors;
pub mod headers;
pub mod key;
pub mod retry;
pub mod route;

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::header::{HeaderName, HeaderValue};
use log::{debug, warn};
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{ErrorSource, ErrorType};
use smallvec::SmallVec;

use crate::access_log::{TryRecord, TryResult};
use crate::live::Live;
use crate::runtime::UpstreamRuntime;
use crate::stats::{listener_index, FailureReason};
use crate::upstream::{Attempt, Outcome, PeerId};
use errors::{classify, error_status, failure_reason};
use retry::{is_non_idempotent, retry_after_failure, status_action, Failure, Situation, StatusAction};

/// The proxy service logic. Cheap to share: all state is in [`Live`].
pub struct TandemProxy {
    live: Arc<Live>,
}

impl TandemProxy {
    pub fn new(live: Arc<Live>) -> TandemProxy {
        TandemProxy { live }
    }

    /// Pingora's error response for `code`, with `response_headers` added.
    async fn respond_error(&self, session: &mut Session, code: u16) -> Result<()> {
        let runtime = self.live.runtime();
        if runtime.response_headers.is_empty() {
            drop(runtime);
            return session.respond_error(code).await;
        }
        let mut response = pingora::protocols::http::ServerSession::generate_error(code);
        add_response_headers(&mut response, &runtime.response_headers)?;
        drop(runtime);
        session.write_error_response(response, bytes::Bytes::new()).await
    }
}

/// Sets each configured header (replacing an upstream's header of the same name).
fn add_response_headers(response: &mut ResponseHeader, headers: &[(HeaderName, HeaderValue)]) -> Result<()> {
    for (name, value) in headers {
        response.insert_header(name.clone(), value.clone())?;
    }
    Ok(())
}

/// Per-request state.
pub struct RequestCtx {
    started: Instant,
    /// A later request on a keep-alive connection (not a new connection).
    reused_connection: bool,
    /// Every try so far, for the access log.
    tries: SmallVec<[TryRecord; 2]>,
    /// When the current try's server was chosen (for its latency).
    try_started: Instant,
    /// Set when the access log is on: the `X-Request-Id` sent upstream (the
    /// client's, or the one `headers` made).
    request_id: Option<String>,
    upstream: Option<Arc<UpstreamRuntime>>,
    attempt: Option<Attempt>,
    /// The server of the try in progress, until its outcome is reported.
    current: Option<PeerId>,
    /// The current try received a response header.
    header_received: bool,
    /// The current try ended on a listed status and was already reported:
    /// `error_while_proxy` must let the retry go ahead.
    status_retry: bool,
}

impl RequestCtx {
    fn new() -> RequestCtx {
        let now = Instant::now();
        RequestCtx {
            started: now,
            reused_connection: false,
            tries: SmallVec::new(),
            try_started: now,
            request_id: None,
            upstream: None,
            attempt: None,
            current: None,
            header_received: false,
            status_retry: false,
        }
    }

    /// Report the outcome of the current try, once: to the group (passive
    /// health) and to the server's counters. `failure` names a failed try;
    /// `retried` says the request moves on to another server.
    fn finish(&mut self, outcome: Outcome, failure: Option<FailureReason>, retried: bool) {
        let (Some(up), Some(attempt), Some(id)) = (&self.upstream, &mut self.attempt, self.current.take()) else {
            return;
        };
        let index = up.server_index(id);
        let stats = &up.stats[index];
        stats.on_try_end();
        match failure {
            Some(reason) => {
                stats.on_failure(reason, retried);
                self.tries.push(TryRecord { server: index as u16, result: TryResult::Failed(reason) });
            }
            None if retried => stats.on_retry(),
            None if !self.header_received => {
                // Ended without a response header and without a failure:
                // the client went away first.
                self.tries.push(TryRecord { server: index as u16, result: TryResult::Abandoned });
            }
            None => {}
        }
        if up.group.finish(attempt, id, outcome) {
            stats.on_quarantine();
            let s = &up.config.servers[index];
            warn!(
                "upstream {} server {}: temporarily disabled after {} failure(s)",
                up.config.name, s.name, s.max_fails
            );
        }
    }

    fn situation(&self, session: &Session, request_sent: bool) -> Option<Situation> {
        let (up, attempt) = (self.upstream.as_ref()?, self.attempt.as_ref()?);
        let cfg = &up.config;
        Some(Situation {
            next_upstream: cfg.next_upstream,
            tries_left: attempt.tries_left,
            request_sent,
            non_idempotent: is_non_idempotent(&session.req_header().method),
            body_replayable: !session.as_ref().retry_buffer_truncated(),
            elapsed: Duration::from_millis((up.group.now() - attempt.started_at).max(0) as u64),
            timeout: cfg.next_upstream_timeout,
        })
    }
}

impl Drop for RequestCtx {
    fn drop(&mut self) {
        // A try abandoned without an outcome (client gone, task cancelled):
        // free its slot without judging the server.
        if let (Some(up), Some(id)) = (&self.upstream, self.current.take()) {
            up.group.abandon(id);
            up.stats[up.server_index(id)].on_try_end();
        }
    }
}

#[async_trait]
impl ProxyHttp for TandemProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let runtime = self.live.runtime();
        let req = session.req_header();
        let host = req
            .headers
            .get(http::header::HOST)
            .map(|h| h.as_bytes())
            .or_else(|| req.uri.host().map(str::as_bytes))
            .unwrap_or(b"");
        let found = runtime.router.find(host, req.uri.path().as_bytes()).map(|i| runtime.upstreams[i].clone());
        drop(runtime);
        let Some(up) = found else {
            self.respond_error(session, 404).await?;
            return Ok(true);
        };
        ctx.attempt = Some(up.group.start(up.config.next_upstream_tries));
        ctx.upstream = Some(up);
        let client = session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip());
        headers::add_forwarding_headers(session.req_header_mut(), client, "http")?;
        if self.live.access_log().is_some() {
            let id = session.req_header().headers.get("x-request-id");
            ctx.request_id = id.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        }
        Ok(false)
    }

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        let (Some(up), Some(attempt)) = (&ctx.upstream, &mut ctx.attempt) else {
            return Err(Error::explain(ErrorType::InternalError, "no upstream chosen"));
        };
        let picked = {
            let key = key::request_key(&up.config.balance, session);
            up.group.pick(attempt, key.bytes())
        };
        let Some(id) = picked else {
            warn!("upstream {}: no live upstreams", up.config.name);
            return Err(Error::explain(ErrorType::HTTPStatus(502), "no live upstreams"));
        };
        let peer = Box::new(up.http_peer(id).clone());
        up.stats[up.server_index(id)].on_try();
        ctx.try_started = Instant::now();
        ctx.current = Some(id);
        ctx.header_received = false;
        ctx.status_retry = false;
        Ok(peer)
    }

    fn fail_to_connect(
        &self,
        session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let failure = classify(e.etype()).unwrap_or(Failure::Error);
        let retry = ctx.situation(session, false).is_some_and(|s| retry_after_failure(failure, &s));
        ctx.finish(Outcome::Failed, Some(failure_reason(e.etype(), true)), retry);
        e.set_retry(retry);
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        if std::mem::take(&mut ctx.status_retry) {
            e.set_retry(true);
            return e;
        }
        if ctx.header_received || *e.esource() == ErrorSource::Downstream {
            // nginx: errors after the response header never count, never
            // retry; nor does a client that went away (499).
            ctx.finish(Outcome::Passed, None, false);
            e.set_retry(false);
            return e;
        }
        let failure = classify(e.etype()).unwrap_or(Failure::Error);
        if client_reused && failure == Failure::Error {
            // nginx: an error on a reused keep-alive connection earns the
            // request one extra try (still charged to the server below).
            if let Some(a) = &mut ctx.attempt {
                a.tries_left += 1;
            }
        }
        let retry = ctx.situation(session, true).is_some_and(|s| retry_after_failure(failure, &s));
        ctx.finish(Outcome::Failed, Some(failure_reason(e.etype(), false)), retry);
        e.set_retry(retry);
        e
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let status = response.status.as_u16();
        if response.status.is_informational() && status != 101 {
            // 100 Continue and friends: the real response header follows.
            return Ok(());
        }
        ctx.header_received = true;
        if let (Some(up), Some(id)) = (&ctx.upstream, ctx.current) {
            let index = up.server_index(id);
            up.stats[index].on_response(status, ctx.try_started.elapsed());
            ctx.tries.push(TryRecord { server: index as u16, result: TryResult::Status(status) });
        }
        if status < 400 {
            return Ok(());
        }
        let Some(situation) = ctx.situation(session, true) else { return Ok(()) };
        match status_action(status, &situation) {
            StatusAction::Pass => Ok(()),
            StatusAction::Retry { charge } => {
                if charge {
                    ctx.finish(Outcome::Failed, Some(FailureReason::HttpStatus), true);
                } else {
                    ctx.finish(Outcome::Passed, None, true);
                }
                ctx.status_retry = true;
                debug!("upstream answered {status}: trying the next server");
                let mut e = Error::explain(ErrorType::HTTPStatus(status), "next upstream on status");
                e.set_retry(true);
                Err(e)
            }
        }
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        response: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
    ) -> Result<()> {
        let runtime = self.live.runtime();
        add_response_headers(response, &runtime.response_headers)
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
        // Whatever happened, the try in progress is over.
        if ctx.current.is_some() {
            let not_upstreams_fault = ctx.header_received || *e.esource() == ErrorSource::Downstream;
            if not_upstreams_fault {
                ctx.finish(Outcome::Passed, None, false);
            } else {
                ctx.finish(Outcome::Failed, Some(failure_reason(e.etype(), false)), false);
            }
        }
        let code = error_status(e);
        if code > 0 {
            let _ = self.respond_error(session, code).await;
        }
        FailToProxy { error_code: code, can_reuse_downstream: false }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        ctx.finish(Outcome::Passed, None, false);
        if let Some(local) = session.server_addr().and_then(|a| a.as_inet()) {
            if let Some(i) = listener_index(&self.live.listeners, *local) {
                self.live.listeners[i].on_request(!ctx.reused_connection);
            }
        }
        if let Some(log) = &*self.live.access_log() {
            access::log(log, session, e, ctx);
        }
    }

    /// Mark the next request on this keep-alive connection as a reuse (a
    /// zero-sized box: no allocation), so listeners count connections.
    fn persist_connection_context(&self, _session: &Session, _ctx: &RequestCtx) -> Option<Box<dyn Any + Send + Sync>> {
        Some(Box::new(()))
    }

    fn on_connection_reuse(&self, _session: &mut Session, ctx: &mut RequestCtx, _prev: Box<dyn Any + Send + Sync>) {
        ctx.reused_connection = true;
    }
}
