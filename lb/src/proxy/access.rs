//! The proxy's side of the access log: the line's fields from the session.

use std::time::SystemTime;

use pingora::prelude::*;
use pingora::proxy::Session;
use smallvec::SmallVec;

use super::errors::error_status;
use super::RequestCtx;
use crate::access_log::{AccessLogger, Entry, TryResult};

/// Write the request's line.
pub fn log(log: &AccessLogger, session: &Session, e: Option<&Error>, ctx: &RequestCtx) {
    let req = session.req_header();
    let header = |name: http::header::HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let status = match session.response_written() {
        Some(resp) => resp.status.as_u16(),
        // nginx's 499: the client went away before an answer.
        None => e.map(error_status).filter(|&s| s > 0).unwrap_or(499),
    };
    let upstream = ctx.upstream.as_deref();
    let tries: SmallVec<[(&str, TryResult); 2]> = ctx
        .tries
        .iter()
        .map(|t| {
            let name = upstream.and_then(|u| u.config.servers.get(t.server as usize)).map(|s| s.name.as_str());
            (name.unwrap_or("?"), t.result)
        })
        .collect();
    log.log(&Entry {
        time: SystemTime::now(),
        client: session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip()),
        method: req.method.as_str(),
        uri: req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        protocol: protocol(req.version),
        status,
        bytes: session.body_bytes_sent(),
        duration: ctx.started.elapsed(),
        upstream: upstream.map(|u| u.config.name.as_str()).unwrap_or(""),
        tries: &tries,
        request_id: ctx.request_id.as_deref().unwrap_or("-"),
        host: header(http::header::HOST),
        referer: header(http::header::REFERER),
        user_agent: header(http::header::USER_AGENT),
    });
}

fn protocol(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}
