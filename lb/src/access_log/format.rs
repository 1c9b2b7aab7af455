//! Access log lines, pure: text in nginx's combined format plus tandem's
//! fields, or one JSON object per line.

use std::fmt::Write;
use std::net::IpAddr;
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
    pub client: Option<IpAddr>,
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

fn result_text(r: TryResult) -> std::borrow::Cow<'static, str> {
    match r {
        TryResult::Status(s) => s.to_string().into(),
        TryResult::Failed(reason) => reason.as_str().into(),
        TryResult::Abandoned => "-".into(),
    }
}

/// `127.0.0.1 - - [21/Nov/2026:10:04:05 +0000] "GET /x HTTP/1.1" 200 12 "-" "curl/8"
/// rt=0.003 upstream=app tries="127.0.0.1:9001 connect_refused, 127.0.0.1:9002 200" host="a" id=...`
pub fn format_text(e: &Entry<'_>) -> String {
    let mut s = String::with_capacity(256);
    match e.client {
        Some(ip) => {
            let _ = write!(s, "{ip}");
        }
        None => s.push('-'),
    }
    s.push_str(" - - [");
    timefmt::write_common_log(&mut s, e.time);
    s.push_str("] \"");
    escape_into(&mut s, e.method);
    s.push(' ');
    escape_into(&mut s, e.uri);
    s.push(' ');
    s.push_str(e.protocol);
    let _ = write!(s, "\" {} {} \"", e.status, e.bytes);
    escape_or_dash(&mut s, e.referer);
    s.push_str("\" \"");
    escape_or_dash(&mut s, e.user_agent);
    let _ = write!(s, "\" rt={:.3} upstream=", e.duration.as_secs_f64());
    if e.upstream.is_empty() {
        s.push('-');
    } else {
        s.push_str(e.upstream);
    }
    s.push_str(" tries=\"");
    for (i, (server, result)) in e.tries.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        escape_into(&mut s, server);
        s.push(' ');
        s.push_str(&result_text(*result));
    }
    s.push_str("\" host=\"");
    escape_or_dash(&mut s, e.host);
    s.push_str("\" id=");
    escape_into(&mut s, e.request_id);
    s.push('\n');
    s
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
    client: Option<String>,
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
        client: e.client.map(|ip| ip.to_string()),
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
    let mut s = serde_json::to_string(&line).unwrap_or_else(|_| String::from("{}"));
    s.push('\n');
    s
}

fn escape_or_dash(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push('-');
    } else {
        escape_into(out, value);
    }
}

/// nginx's escaping for log fields: `"`, `\` and bytes outside printable
/// ASCII become `\xHH`, so a client cannot forge lines or fields.
fn escape_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b as char);
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
            client: Some("10.0.0.7".parse().unwrap_or_else(|_| unreachable!())),
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
