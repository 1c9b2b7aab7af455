//! The proxy's side of the access log: the request id and the line's fields.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::SystemTime;

use pingora::prelude::*;
use pingora::proxy::Session;
use smallvec::SmallVec;

use super::errors::error_status;
use super::RequestCtx;
use crate::access_log::{AccessLogger, Entry, TryResult};

pub const REQUEST_ID: &str = "x-request-id";
/// Longest client-supplied request id that is kept (longer ones are replaced).
const MAX_CLIENT_ID: usize = 64;

/// The client's `X-Request-Id` when it is short printable ASCII; otherwise a
/// new 32-hex-digit id (a per-process random prefix and a counter), also
/// sent to the upstream so its logs carry the same id.
pub fn request_id(session: &mut Session) -> Result<String> {
    if let Some(id) = session.req_header().headers.get(REQUEST_ID) {
        let bytes = id.as_bytes();
        if !bytes.is_empty() && bytes.len() <= MAX_CLIENT_ID && bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Ok(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = format!("{:016x}{:016x}", process_seed(), NEXT.fetch_add(1, Relaxed));
    session.req_header_mut().insert_header(REQUEST_ID, &id)?;
    Ok(id)
}

/// Different in every process (start time and pid, mixed).
fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        let mut x = t ^ (u64::from(std::process::id()) << 32);
        // splitmix64 finaliser
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    })
}

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
