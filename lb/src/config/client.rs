//! The client side's limits and timeouts, top-level keys named as nginx
//! names them, with nginx's defaults:
//!
//! | key | default | nginx |
//! |---|---|---|
//! | `client_header_timeout` | 60s, the whole head | `client_header_timeout` |
//! | `client_body_timeout` | 60s between two reads | `client_body_timeout` |
//! | `client_max_body_size` | 1m, 0 = no limit (413) | `client_max_body_size` |
//! | `large_client_header_buffers` | `{ number: 4, size: 8k }`: a line at most `size` (414 for the request line, 431 for a field), the head at most `number` x `size` (431) | `large_client_header_buffers` |
//! | `client_max_headers` | 100 fields (431) | (none; HAProxy's `tune.http.maxhdr` is 101) |
//! | `keepalive_timeout` | 75s, 0 = no keep-alive | `keepalive_timeout` |
//! | `keepalive_requests` | 1000 per connection | `keepalive_requests` |
//! | `send_timeout` | 60s between two writes to a client | `send_timeout` |
//! | `max_client_connections` | 0 = no cap; per listener (503 and close when full) | (`worker_connections`, per worker) |

use std::time::Duration;

use serde::Deserialize;

use super::error::Report;
use super::model::ClientLimits;
use super::raw::Scalar;
use super::size::parse_size;
use super::validate::{duration, positive_duration};

/// The most header fields a request may be allowed (the parser's array).
pub const MAX_HEADERS_CAP: u32 = 512;

/// The top-level keys this module reads (fields of the raw config: serde
/// cannot refuse unknown keys of a flattened struct).
#[derive(Debug, Default)]
pub(crate) struct RawClient {
    pub client_header_timeout: Option<Scalar>,
    pub client_body_timeout: Option<Scalar>,
    pub client_max_body_size: Option<Scalar>,
    pub large_client_header_buffers: Option<RawHeaderBuffers>,
    pub client_max_headers: Option<u32>,
    pub keepalive_timeout: Option<Scalar>,
    pub keepalive_requests: Option<u32>,
    pub send_timeout: Option<Scalar>,
    pub max_client_connections: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with number and size, e.g. { number: 4, size: 8k }")]
pub(crate) struct RawHeaderBuffers {
    pub number: Option<u32>,
    pub size: Option<Scalar>,
}

pub(crate) fn client_limits(raw: RawClient, report: &mut Report<'_>) -> ClientLimits {
    let d = ClientLimits::default();
    let header_timeout =
        positive_duration(report, "client_header_timeout", raw.client_header_timeout.as_ref(), d.header_timeout);
    let body_timeout =
        positive_duration(report, "client_body_timeout", raw.client_body_timeout.as_ref(), d.body_timeout);
    let send_timeout = positive_duration(report, "send_timeout", raw.send_timeout.as_ref(), d.send_timeout);
    let keepalive_timeout = duration(report, "keepalive_timeout", raw.keepalive_timeout.as_ref(), d.keepalive_timeout);
    let max_body_size = match &raw.client_max_body_size {
        None => d.max_body_size,
        Some(s) => parse_size(&s.text).unwrap_or_else(|message| {
            report.error("client_max_body_size", message);
            d.max_body_size
        }),
    };
    let (mut buffers, mut buffer_size) = (d.header_buffers, d.header_buffer_size);
    if let Some(b) = raw.large_client_header_buffers {
        if let Some(n) = b.number {
            if !(1..=64).contains(&n) {
                report.error("large_client_header_buffers.number", "must be between 1 and 64");
            } else {
                buffers = n;
            }
        }
        if let Some(size) = &b.size {
            match parse_size(&size.text) {
                Ok(bytes) if !(1024..=1 << 20).contains(&bytes) => {
                    report.error("large_client_header_buffers.size", "must be between 1k and 1m");
                }
                Ok(bytes) => buffer_size = bytes as usize,
                Err(message) => report.error("large_client_header_buffers.size", message),
            }
        }
        if buffers as usize * buffer_size > 4 << 20 {
            report.error("large_client_header_buffers", "number x size must be at most 4m");
        }
    }
    let max_headers = raw.client_max_headers.unwrap_or(d.max_headers);
    if !(1..=MAX_HEADERS_CAP).contains(&max_headers) {
        report.error("client_max_headers", format!("must be between 1 and {MAX_HEADERS_CAP}"));
    }
    let keepalive_requests = raw.keepalive_requests.unwrap_or(d.keepalive_requests);
    if keepalive_requests == 0 {
        report.error("keepalive_requests", "must be at least 1 (keepalive_timeout: 0s turns keep-alive off)");
    }
    ClientLimits {
        header_timeout,
        body_timeout,
        max_body_size,
        header_buffers: buffers,
        header_buffer_size: buffer_size,
        max_headers: max_headers.clamp(1, MAX_HEADERS_CAP),
        keepalive_timeout,
        keepalive_requests: keepalive_requests.max(1),
        send_timeout,
        max_connections: raw.max_client_connections.unwrap_or(0),
    }
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_body_size: 1 << 20,
            header_buffers: 4,
            header_buffer_size: 8 * 1024,
            max_headers: 100,
            keepalive_timeout: Duration::from_secs(75),
            keepalive_requests: 1000,
            send_timeout: Duration::from_secs(60),
            max_connections: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};
    use super::*;

    const BASE: &str = "listen: [\"0.0.0.0:8080\"]\nupstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";

    #[test]
    fn nginx_defaults_apply_when_nothing_is_said() {
        assert_eq!(config(BASE).client, ClientLimits::default());
        let d = ClientLimits::default();
        assert_eq!((d.header_buffers, d.header_buffer_size, d.max_body_size), (4, 8192, 1 << 20));
    }

    #[test]
    fn every_key_is_read() {
        let text = format!(
            "{BASE}client_header_timeout: 10s\nclient_body_timeout: 5s\nclient_max_body_size: 10m\n\
             large_client_header_buffers: {{ number: 8, size: 16k }}\nclient_max_headers: 50\n\
             keepalive_timeout: 0s\nkeepalive_requests: 7\nsend_timeout: 3s\nmax_client_connections: 100\n"
        );
        let c = config(&text).client;
        assert_eq!(c.header_timeout, Duration::from_secs(10));
        assert_eq!(c.body_timeout, Duration::from_secs(5));
        assert_eq!(c.max_body_size, 10 << 20);
        assert_eq!((c.header_buffers, c.header_buffer_size), (8, 16 * 1024));
        assert_eq!(c.max_headers, 50);
        assert_eq!(c.keepalive_timeout, Duration::ZERO);
        assert_eq!(c.keepalive_requests, 7);
        assert_eq!(c.send_timeout, Duration::from_secs(3));
        assert_eq!(c.max_connections, 100);
        assert_eq!(c.max_head(), 8 * 16 * 1024);
    }

    #[test]
    fn out_of_range_values_name_their_key_and_line() {
        assert_error(&format!("{BASE}client_max_body_size: 1t\n"), "client_max_body_size", 5, "unknown unit");
        assert_error(
            &format!("{BASE}large_client_header_buffers: {{ number: 4, size: 512 }}\n"),
            "large_client_header_buffers.size",
            5,
            "between 1k and 1m",
        );
        assert_error(&format!("{BASE}client_max_headers: 0\n"), "client_max_headers", 5, "between 1 and 512");
        assert_error(&format!("{BASE}keepalive_requests: 0\n"), "keepalive_requests", 5, "at least 1");
        assert_error(&format!("{BASE}client_header_timeout: 0s\n"), "client_header_timeout", 5, "greater than 0");
        assert_error(&format!("{BASE}client_body_timeout: 5\n"), "client_body_timeout", 5, "needs a unit");
    }
}
