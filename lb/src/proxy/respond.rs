//! What tandem answers itself (no route, no server, upstream failures,
//! malformed requests) and the record it keeps of every request (listener
//! counters, the access log line).

use std::io::IoSlice;
use std::time::{Instant, SystemTime};

use smallvec::SmallVec;

use super::conn::Client;
use super::io;
use super::key::ip_text;
use super::worker::{View, Worker};
use crate::access_log::{Entry, TryRecord, TryResult};
use crate::http1::write::{self, ClientConnection};
use crate::http1::RequestHead;
use crate::runtime::UpstreamRuntime;

/// Send tandem's own answer with `status`. Returns false when the client
/// could not be written to.
pub async fn error(
    client: &mut Client,
    out: &mut Vec<u8>,
    view: &View,
    status: u16,
    conn: ClientConnection,
    head_only: bool,
) -> bool {
    out.clear();
    write::error_response(out, status, &view.runtime.response_headers, conn, head_only);
    io::write_all(&mut client.stream, &mut [IoSlice::new(out)], view.runtime.client.send_timeout).await.is_ok()
}

/// Answer a request head that could not be accepted, then the caller closes.
pub async fn refuse(worker: &Worker, client: &mut Client, status: u16) {
    let view = worker.view();
    let mut out = Vec::with_capacity(512);
    error(client, &mut out, &view, status, ClientConnection::Close, false).await;
}

/// How a request ended, for the record.
pub struct Done<'a> {
    pub started: Instant,
    /// The status sent (or 499 when the client went away first).
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: u64,
    pub upstream: Option<&'a UpstreamRuntime>,
    pub tries: &'a [TryRecord],
    /// The `X-Request-Id` sent upstream (the client's or the one made).
    pub request_id: &'a [u8],
}

/// Count the request on its listener and write its access log line.
pub fn record(worker: &Worker, view: &View, client: &Client, head: &RequestHead, buf: &[u8], done: &Done<'_>) {
    record_with_ip(worker, view, client, ip_text(client.ip()).bytes(), head, buf, done)
}

/// [`record`] with the client's address already as text.
pub fn record_with_ip(
    worker: &Worker,
    view: &View,
    client: &Client,
    client_text: &[u8],
    head: &RequestHead,
    buf: &[u8],
    done: &Done<'_>,
) {
    worker.live.listeners[usize::from(client.listener)].on_request(client.served == 0);
    let Some(log) = &view.access_log else { return };
    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap_or("-")
    }
    let header = |name: &[u8]| head.header(buf, name).map(text).unwrap_or("");
    let tries: SmallVec<[(&str, TryResult); 2]> = done
        .tries
        .iter()
        .map(|t| {
            let name = done.upstream.and_then(|u| u.config.servers.get(t.server as usize)).map(|s| s.name.as_str());
            (name.unwrap_or("?"), t.result)
        })
        .collect();
    let entry = Entry {
        time: SystemTime::now(),
        client: Some(text(client_text)),
        method: text(head.method(buf)),
        uri: text(head.target(buf)),
        protocol: if client.stream.is_http2() {
            "HTTP/2.0"
        } else if head.minor == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        },
        status: done.status,
        bytes: done.bytes as usize,
        duration: done.started.elapsed(),
        upstream: done.upstream.map(|u| u.config.name.as_str()).unwrap_or(""),
        tries: &tries,
        request_id: text(done.request_id),
        host: head.host.map(|h| text(h.get(buf))).unwrap_or(""),
        referer: header(b"referer"),
        user_agent: header(b"user-agent"),
    };
    worker.log(log, &entry);
}
