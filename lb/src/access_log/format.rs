//! Access log lines, pure: text in nginx's combined format plus tandem's
//! fields, or one JSON object per line.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::stats::FailureReason;
use crate::timefmt;

/// How one try on one server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryResult {
    /// The server answered with this status.
    Status(u16),
    Failed(FailureReason),
    /// Ended without a verdict (the client went away).
    Abandoned,
}

/// One try: the server (its index in the group's config) and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryRecord {
    pub server: u16,
    pub result: TryResult,
}

/// Everything one line says. `tries` holds server names already resolved.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub time: SystemTime,
    /// The client's address as text (nginx `$remote_addr`).
    pub client: Option<&'a str>,
    pub method: &'a str,
    /// Path and query, as the client sent them.
    pub uri: &'a str,
    pub protocol: &'a str,
    pub status: u16,
    /// Body bytes sent to the client.
    pub bytes: usize,
    pub duration: Duration,
    /// The upstream group, empty when no route matched.
    pub upstream: &'a str,
    pub tries: &'a [(&'a str, TryResult)],
    pub request_id: &'a str,
    pub host: &'a str,
    pub referer: &'a str,
    pub user_agent: &'a str,
}

/// `127.0.0.1 - - [21/Nov/2026:10:04:05 +0000] "GET /x HTTP/1.1" 200 12 "-" "curl/8"
/// rt=0.003 upstream=app tries="127.0.0.1:9001 connect_refused, 127.0.0.1:9002 200" host="a" id=...`
pub fn format_text(e: &Entry<'_>) -> String {
    let mut out = Vec::with_capacity(256);
    write_text(&mut out, e);
    String::from_utf8(out).unwrap_or_default()
}

/// [`format_text`] appended to `out`, without allocating.
pub fn write_text(out: &mut Vec<u8>, e: &Entry<'_>) {
    out.extend_from_slice(e.client.unwrap_or("-").as_bytes());
    out.extend_from_slice(b" - - [");
    timefmt::write_common_log_bytes(out, e.time);
    out.extend_from_slice(b"] \"");
    escape_into(out, e.method);
    out.push(b' ');
    escape_into(out, e.uri);
    out.push(b' ');
    out.extend_from_slice(e.protocol.as_bytes());
    out.extend_from_slice(b"\" ");
    decimal(out, u64::from(e.status));
    out.push(b' ');
    decimal(out, e.bytes as u64);
    out.extend_from_slice(b" \"");
    escape_or_dash(out, e.referer);
    out.extend_from_slice(b"\" \"");
    escape_or_dash(out, e.user_agent);
    // Seconds with milliseconds, as nginx's $request_time (rounded down).
    let ms = e.duration.as_millis() as u64;
    out.extend_from_slice(b"\" rt=");
    decimal(out, ms / 1000);
    out.push(b'.');
    let frac = ms % 1000;
    out.extend_from_slice(&[b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8]);
    out.extend_from_slice(b" upstream=");
    out.extend_from_slice(if e.upstream.is_empty() { b"-" } else { e.upstream.as_bytes() });
    out.extend_from_slice(b" tries=\"");
    for (i, (server, result)) in e.tries.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        escape_into(out, server);
        out.push(b' ');
        match result {
            TryResult::Status(s) => decimal(out, u64::from(*s)),
            TryResult::Failed(reason) => out.extend_from_slice(reason.as_str().as_bytes()),
            TryResult::Abandoned => out.push(b'-'),
        }
    }
    out.extend_from_slice(b"\" host=\"");
    escape_or_dash(out, e.host);
    out.extend_from_slice(b"\" id=");
    escape_into(out, e.request_id);
    out.push(b'\n');
}

fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[derive(Serialize)]
struct JsonTry<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    time: String,
    client: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
    protocol: &'a str,
    status: u16,
    bytes: usize,
    duration_ms: f64,
    upstream: Option<&'a str>,
    tries: Vec<JsonTry<'a>>,
    request_id: &'a str,
    host: &'a str,
    referer: &'a str,
    user_agent: &'a str,
}

/// One JSON object and a newline; field names as in [`Entry`].
pub fn format_json(e: &Entry<'_>) -> String {
    let mut out = Vec::with_capacity(384);
    write_json(&mut out, e);
    String::from_utf8(out).unwrap_or_default()
}

/// [`format_json`] appended to `out`.
pub fn write_json(out: &mut Vec<u8>, e: &Entry<'_>) {
    let tries = e
        .tries
        .iter()
        .map(|(server, result)| JsonTry {
            server,
            status: match result {
                TryResult::Status(s) => Some(*s),
                _ => None,
            },
            error: match result {
                TryResult::Failed(reason) => Some(reason.as_str()),
                TryResult::Abandoned => Some("abandoned"),
                TryResult::Status(_) => None,
            },
        })
        .collect();
    let line = JsonLine {
        time: timefmt::rfc3339(e.time),
        client: e.client,
        method: e.method,
        uri: e.uri,
        protocol: e.protocol,
        status: e.status,
        bytes: e.bytes,
        duration_ms: (e.duration.as_secs_f64() * 1e6).round() / 1e3,
        upstream: (!e.upstream.is_empty()).then_some(e.upstream),
        tries,
        request_id: e.request_id,
        host: e.host,
        referer: e.referer,
        user_agent: e.user_agent,
    };
    if serde_json::to_writer(&mut *out, &line).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.push(b'\n');
}

fn escape_or_dash(out: &mut Vec<u8>, value: &str) {
    if value.is_empty() {
        out.push(b'-');
    } else {
        escape_into(out, value);
    }
}

/// nginx's escaping for log fields: `"`, `\` and bytes outside printable
/// ASCII become `\xHH`, so a client cannot forge lines or fields.
fn escape_into(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let needs = |b: u8| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b);
    if !value.bytes().any(needs) {
        // The usual case: copied at once.
        out.extend_from_slice(value.as_bytes());
        return;
    }
    for b in value.bytes() {
        if needs(b) {
            out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry<'a>(tries: &'a [(&'a str, TryResult)]) -> Entry<'a> {
        Entry {
            time: UNIX_EPOCH + Duration::from_secs(1_795_255_445),
            client: Some("10.0.0.7"),
            method: "GET",
            uri: "/a?b=\"c\"",
            protocol: "HTTP/1.1",
            status: 200,
            bytes: 12,
            duration: Duration::from_micros(3_456),
            upstream: "app",
            tries,
            request_id: "00ab",
            host: "example.com",
            referer: "",
            user_agent: "curl/8\n",
        }
    }

    const TRIES: [(&str, TryResult); 2] = [
        ("127.0.0.1:9001", TryResult::Failed(FailureReason::ConnectRefused)),
        ("127.0.0.1:9002", TryResult::Status(200)),
    ];

    #[test]
    fn text_line_is_combined_log_plus_tries_and_escapes_client_input() {
        assert_eq!(
            format_text(&entry(&TRIES)),
            "10.0.0.7 - - [21/Nov/2026:10:04:05 +0000] \"GET /a?b=\\x22c\\x22 HTTP/1.1\" 200 12 \"-\" \"curl/8\\x0A\" \
             rt=0.003 upstream=app tries=\"127.0.0.1:9001 connect_refused, 127.0.0.1:9002 200\" host=\"example.com\" id=00ab\n"
        );
    }

    #[test]
    fn json_line_has_every_field() {
        let line = format_json(&entry(&TRIES));
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["time"], "2026-11-21T10:04:05.000Z");
        assert_eq!(v["client"], "10.0.0.7");
        assert_eq!(v["uri"], "/a?b=\"c\"");
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 12);
        assert_eq!(v["duration_ms"], 3.456);
        assert_eq!(v["upstream"], "app");
        assert_eq!(v["tries"][0]["server"], "127.0.0.1:9001");
        assert_eq!(v["tries"][0]["error"], "connect_refused");
        assert_eq!(v["tries"][1]["status"], 200);
        assert_eq!(v["request_id"], "00ab");
        assert_eq!(v["user_agent"], "curl/8\n");
    }

    #[test]
    fn a_request_without_route_or_tries_shows_dashes() {
        let mut e = entry(&[]);
        e.upstream = "";
        let text = format_text(&e);
        assert!(text.contains(" upstream=- tries=\"\" "), "{text}");
        let v: serde_json::Value = serde_json::from_str(&format_json(&e)).unwrap_or_default();
        assert!(v["upstream"].is_null());
    }
}
