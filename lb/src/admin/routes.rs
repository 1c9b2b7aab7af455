//! The admin listener's URL space, parsed purely from method and path.

use crate::live::ServerChange;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Page,
    StatusJson,
    Metrics,
    Healthz,
    /// `POST /api/upstreams/{upstream}/servers/{server}/{drain|disable|enable|weight}`
    ChangeServer {
        upstream: String,
        server: String,
        change: ServerChange,
    },
    /// `POST /api/reload`
    Reload,
    /// `POST /api/acme/renew`: obtain the ACME certificate now.
    AcmeRenew,
    /// The path exists but not with this method; the allowed one.
    WrongMethod(&'static str),
    /// A known action with a bad argument (weight).
    BadRequest(String),
    NotFound,
}

/// Most a runtime weight may be (the config's own cap).
const MAX_WEIGHT: u32 = 1000;

pub fn route(method: &str, path: &str, query: Option<&str>) -> Route {
    let read = |r: Route| if method == "GET" || method == "HEAD" { r } else { Route::WrongMethod("GET, HEAD") };
    match path {
        "/" => return read(Route::Page),
        "/status.json" => return read(Route::StatusJson),
        "/metrics" => return read(Route::Metrics),
        "/healthz" => return read(Route::Healthz),
        "/api/reload" => return if method == "POST" { Route::Reload } else { Route::WrongMethod("POST") },
        "/api/acme/renew" => return if method == "POST" { Route::AcmeRenew } else { Route::WrongMethod("POST") },
        _ => {}
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["api", "upstreams", upstream, "servers", server, action] = parts[..] else { return Route::NotFound };
    let change = match action {
        "drain" => ServerChange::Drain,
        "disable" => ServerChange::Disable,
        "enable" => ServerChange::Enable,
        "weight" => match weight_arg(query) {
            Ok(w) => ServerChange::Weight(w),
            Err(message) => return Route::BadRequest(message),
        },
        _ => return Route::NotFound,
    };
    if method != "POST" {
        return Route::WrongMethod("POST");
    }
    Route::ChangeServer { upstream: decode(upstream), server: decode(server), change }
}

fn weight_arg(query: Option<&str>) -> Result<u32, String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("value=").or_else(|| kv.strip_prefix("weight=")))
        .ok_or_else(|| "give the new weight as ?value=N".to_string())?;
    match value.parse::<u32>() {
        Ok(w) if (1..=MAX_WEIGHT).contains(&w) => Ok(w),
        _ => Err(format!("weight must be a whole number from 1 to {MAX_WEIGHT}, got `{value}`")),
    }
}

/// Percent-decoding for path segments (`[::1]:80` arrives as `%5B::1%5D:80`).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_endpoints_take_get_and_head_only() {
        assert_eq!(route("GET", "/", None), Route::Page);
        assert_eq!(route("HEAD", "/metrics", None), Route::Metrics);
        assert_eq!(route("GET", "/status.json", None), Route::StatusJson);
        assert_eq!(route("GET", "/healthz", None), Route::Healthz);
        assert_eq!(route("POST", "/status.json", None), Route::WrongMethod("GET, HEAD"));
        assert_eq!(route("GET", "/nope", None), Route::NotFound);
    }

    #[test]
    fn server_changes_parse_names_and_actions() {
        assert_eq!(
            route("POST", "/api/upstreams/app/servers/127.0.0.1:9001/drain", None),
            Route::ChangeServer {
                upstream: "app".into(),
                server: "127.0.0.1:9001".into(),
                change: ServerChange::Drain
            }
        );
        assert_eq!(
            route("POST", "/api/upstreams/app/servers/%5B::1%5D:80/weight", Some("value=7")),
            Route::ChangeServer { upstream: "app".into(), server: "[::1]:80".into(), change: ServerChange::Weight(7) }
        );
        assert_eq!(route("GET", "/api/upstreams/app/servers/0/enable", None), Route::WrongMethod("POST"));
        assert_eq!(route("POST", "/api/upstreams/app/servers/0/explode", None), Route::NotFound);
        assert_eq!(route("POST", "/api/reload", None), Route::Reload);
        assert_eq!(route("GET", "/api/reload", None), Route::WrongMethod("POST"));
        assert_eq!(route("POST", "/api/acme/renew", None), Route::AcmeRenew);
        assert_eq!(route("GET", "/api/acme/renew", None), Route::WrongMethod("POST"));
    }

    #[test]
    fn a_bad_weight_is_a_bad_request() {
        for q in [None, Some("value=0"), Some("value=1001"), Some("value=x")] {
            assert!(matches!(route("POST", "/api/upstreams/a/servers/0/weight", q), Route::BadRequest(_)), "{q:?}");
        }
    }

    #[test]
    fn percent_decoding_leaves_broken_escapes_alone() {
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41"), "A");
    }
}
