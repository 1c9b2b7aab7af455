//! `response_headers`: fixed headers added to every response tandem sends,
//! like nginx's `add_header NAME VALUE always` at the `http` level.
//!
//! The usual use is naming the balancer that answered (`X-Tandem-Node: lb1`)
//! so a client behind a virtual IP, a drill or a browser can tell which of an
//! HA pair served it. Names and values are checked here, once, so the request
//! path only clones prebuilt `HeaderName`/`HeaderValue`s (reference counted,
//! no formatting).

use http::header::{HeaderName, HeaderValue};

use super::error::Report;
use super::raw::{NamedMap, Scalar};

/// Headers a balancer must not override: they describe the message itself,
/// and a fixed value would corrupt it.
const RESERVED: &[&str] =
    &["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"];

/// Checks `response_headers` (default: none). Every bad entry is reported as
/// `response_headers.NAME` with what is wrong.
pub(super) fn response_headers(raw: Option<NamedMap<Scalar>>, report: &mut Report<'_>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, Scalar { text: value, .. }) in raw.map(|m| m.0).unwrap_or_default() {
        let path = format!("response_headers.{name}");
        if let Err(message) = check(&name, &value) {
            report.error(&path, message);
        } else if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            report.error(&path, "is given twice (header names are case-insensitive)");
        } else {
            headers.push((name, value));
        }
    }
    headers
}

fn check(name: &str, value: &str) -> Result<(), String> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| "is not a valid header name (letters, digits and `-`, e.g. X-Tandem-Node)".to_string())?;
    if RESERVED.contains(&parsed.as_str()) {
        return Err(format!("`{name}` is managed by the proxy and cannot be set"));
    }
    HeaderValue::from_str(value).map_err(|_| "the value must be visible ASCII text without line breaks".to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};

    const BASE: &str = "listen: 0.0.0.0:8080\nupstreams: {app: {servers: [{addr: 127.0.0.1:1}]}}\n";

    #[test]
    fn headers_keep_their_order_and_default_to_none() {
        assert!(config(BASE).response_headers.is_empty());
        let c = config(&format!("{BASE}response_headers:\n  X-Tandem-Node: lb1\n  X-Zone: a\n"));
        assert_eq!(
            c.response_headers,
            vec![("X-Tandem-Node".to_string(), "lb1".to_string()), ("X-Zone".to_string(), "a".to_string())]
        );
    }

    #[test]
    fn bad_names_values_and_duplicates_name_the_key_and_line() {
        assert_error(
            &format!("{BASE}response_headers:\n  \"X Node\": lb1\n"),
            "response_headers.X Node",
            4,
            "valid header name",
        );
        assert_error(
            &format!("{BASE}response_headers:\n  X-Node: \"a\\nb\"\n"),
            "response_headers.X-Node",
            4,
            "visible ASCII",
        );
        assert_error(
            &format!("{BASE}response_headers:\n  Content-Length: 1\n"),
            "response_headers.Content-Length",
            4,
            "managed by the proxy",
        );
        assert_error(&format!("{BASE}response_headers:\n  X-A: 1\n  x-a: 2\n"), "response_headers.x-a", 5, "twice");
    }
}
