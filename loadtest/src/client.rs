//! A minimal HTTP/1.1 client on hyper: one new TCP connection per request,
//! `Connection: close`, the whole exchange (connect, send, whole body) bounded
//! by one timeout.
//!
//! Why a new connection each time: a drill measures what a new client sees
//! while the VIP moves. A pooled keep-alive connection would stay pinned to the
//! old balancer (and fail or hang there) long after the VIP moved, mixing
//! "connection died" with "service unavailable" and hiding how fast new
//! connections reach the new owner. Every request here does its own SYN, so
//! refused, reset and timeout map directly to what happened on the network.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::record::ErrorKind;

/// Bodies over this are an error (`other`): the API's pages are a few KiB.
const MAX_BODY: usize = 1 << 20;

/// Where requests go: `http://host[:port][/base]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// `Host` header value (host, and port when not 80).
    pub authority: String,
    /// Path prefix without a trailing slash (`""` for the root).
    pub base: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("url `{url}`: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("url `{url}`: only http:// is supported"));
        }
        let authority = uri.authority().ok_or_else(|| format!("url `{url}`: no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(80);
        let base = uri.path().trim_end_matches('/').to_string();
        Ok(Target { host, port, authority: authority.as_str().to_string(), base })
    }

    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

/// A failed exchange: its kind, and the error's text for `other`.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub detail: String,
}

/// Sends one request on a new connection; `body` goes as JSON.
pub async fn send(
    target: &Target,
    method: Method,
    path: &str,
    headers: &[(HeaderName, String)],
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Response, Failure> {
    match tokio::time::timeout(timeout, exchange(target, method, path, headers, body)).await {
        Ok(result) => result,
        Err(_) => Err(Failure { kind: ErrorKind::Timeout, detail: format!("no response within {timeout:?}") }),
    }
}

async fn exchange(
    target: &Target,
    method: Method,
    path: &str,
    headers: &[(HeaderName, String)],
    body: Option<Bytes>,
) -> Result<Response, Failure> {
    let stream = TcpStream::connect((target.host.as_str(), target.port)).await.map_err(io_failure)?;
    // Small requests: send them now rather than wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(hyper_failure)?;
    // The connection task dies with this future (a timeout drops it), so a
    // timed-out request leaves no socket behind.
    let _connection = AbortOnDrop(tokio::spawn(connection));

    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, &target.authority)
        .header(CONNECTION, "close")
        .header(USER_AGENT, "tandem-drill");
    if body.is_some() {
        request = request.header(CONTENT_TYPE, "application/json");
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|e| Failure { kind: ErrorKind::Other, detail: format!("bad request: {e}") })?;
    let response = sender.send_request(request).await.map_err(hyper_failure)?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BODY).collect().await.map_err(body_failure)?.to_bytes();
    Ok(Response { status: parts.status.as_u16(), headers: parts.headers, body })
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Maps an I/O error kind to the drill's error kinds.
pub fn classify_io(kind: std::io::ErrorKind) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match kind {
        Io::ConnectionRefused => ErrorKind::Refused,
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => ErrorKind::Reset,
        Io::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

fn io_failure(error: std::io::Error) -> Failure {
    Failure { kind: classify_io(error.kind()), detail: error.to_string() }
}

/// hyper wraps the socket's error; a peer that closes mid-response is a reset.
fn hyper_failure(error: hyper::Error) -> Failure {
    let detail = error.to_string();
    if let Some(io) = find_io(&error) {
        return Failure { kind: classify_io(io.kind()), detail };
    }
    let kind = if error.is_incomplete_message() || error.is_canceled() { ErrorKind::Reset } else { ErrorKind::Other };
    Failure { kind, detail }
}

fn body_failure(error: Box<dyn std::error::Error + Send + Sync>) -> Failure {
    match error.downcast::<hyper::Error>() {
        Ok(hyper) => hyper_failure(*hyper),
        Err(other) => Failure { kind: ErrorKind::Other, detail: other.to_string() },
    }
}

fn find_io<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
