//! A minimal HTTP/1.1 client on hyper: one new TCP connection per request,
//! `Connection: close`, the whole exchange (connect, TLS handshake for an
//! https:// target, send, whole body) bounded by one timeout.
//!
//! An https:// target trusts the CA certificates in the file named by
//! `SSL_CERT_FILE` (as OpenSSL and curl do; the lab prints its CA's path),
//! else the system's bundle (`/etc/ssl/certs/ca-certificates.crt`).
//!
//! Why a new connection each time: a drill measures what a new client sees
//! while the VIP moves. A pooled keep-alive connection would stay pinned to the
//! old balancer (and fail or hang there) long after the VIP moved, mixing
//! "connection died" with "service unavailable" and hiding how fast new
//! connections reach the new owner. Every request here does its own SYN, so
//! refused, reset and timeout map directly to what happened on the network.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::record::ErrorKind;

/// Bodies over this are an error (`other`): the API's pages are a few KiB.
const MAX_BODY: usize = 1 << 20;

/// Where requests go: `http://host[:port][/base]` or `https://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// `Host` header value (host, and port when not the scheme's default).
    pub authority: String,
    /// Path prefix without a trailing slash (`""` for the root).
    pub base: String,
    /// Set for https://: how to make the TLS connection.
    pub tls: Option<TlsTarget>,
}

/// The TLS side of an https:// target: the client config (CAs trusted,
/// ALPN http/1.1) and the name the certificate must carry.
#[derive(Clone)]
pub struct TlsTarget {
    connector: tokio_rustls::TlsConnector,
    name: rustls_pki_types::ServerName<'static>,
}

impl PartialEq for TlsTarget {
    fn eq(&self, other: &TlsTarget) -> bool {
        self.name == other.name
    }
}

impl Eq for TlsTarget {}

impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsTarget({:?})", self.name)
    }
}

/// The CA file an https:// target trusts when `SSL_CERT_FILE` is not set.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

impl Target {
    /// `url`; an https:// one trusts the CAs in `SSL_CERT_FILE`, else the system's.
    pub fn parse(url: &str) -> Result<Target, String> {
        let cas = std::env::var_os("SSL_CERT_FILE").map_or_else(|| SYSTEM_CAS.into(), std::path::PathBuf::from);
        Target::parse_trusting(url, &cas)
    }

    /// `url`; an https:// one trusts the CA certificates in the PEM file `cas`.
    pub fn parse_trusting(url: &str, cas: &std::path::Path) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("url `{url}`: {e}"))?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("url `{url}`: only http:// and https:// are supported")),
        };
        let authority = uri.authority().ok_or_else(|| format!("url `{url}`: no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let base = uri.path().trim_end_matches('/').to_string();
        let tls =
            if secure { Some(TlsTarget::new(&host, cas).map_err(|e| format!("url `{url}`: {e}"))?) } else { None };
        Ok(Target { host, port, authority: authority.as_str().to_string(), base, tls })
    }

    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl TlsTarget {
    /// Trust the PEM certificates in `cas`; check the server's certificate
    /// for `host` (a name or an IP address).
    fn new(host: &str, cas: &std::path::Path) -> Result<TlsTarget, String> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(cas)
            .map_err(|e| format!("CA file {} (SSL_CERT_FILE): {e}", cas.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("CA file {}: {e}", cas.display()))?;
            roots.add(cert).map_err(|e| format!("CA file {}: {e}", cas.display()))?;
        }
        if roots.is_empty() {
            return Err(format!("CA file {} holds no certificate", cas.display()));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name =
            rustls_pki_types::ServerName::try_from(host.to_string()).map_err(|e| format!("host `{host}`: {e}"))?;
        Ok(TlsTarget { connector: tokio_rustls::TlsConnector::from(Arc::new(config)), name })
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
    match &target.tls {
        None => send_on(stream, target, method, path, headers, body).await,
        Some(tls) => {
            let stream = tls.connector.connect(tls.name.clone(), stream).await.map_err(tls_failure)?;
            send_on(stream, target, method, path, headers, body).await
        }
    }
}

/// The exchange on a connected (and for https, handshaken) stream.
async fn send_on<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    target: &Target,
    method: Method,
    path: &str,
    headers: &[(HeaderName, String)],
    body: Option<Bytes>,
) -> Result<Response, Failure> {
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

/// A failed handshake: a socket error keeps its kind; a refused
/// certificate or protocol is `other`, with rustls' words.
fn tls_failure(error: std::io::Error) -> Failure {
    let kind = if error.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
        ErrorKind::Other
    } else {
        classify_io(error.kind())
    };
    Failure { kind, detail: format!("TLS: {error}") }
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
