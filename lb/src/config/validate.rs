//! Raw file structs -> validated [`Config`]: defaults filled in, every rule
//! checked, every problem reported (not only the first).
//!
//! The top level and routes live here; an upstream group is checked in
//! `upstream.rs`.

use std::time::Duration;

use super::acme;
use super::address::is_hostname;
use super::client;
use super::duration::parse_duration;
use super::error::Report;
use super::listen;
use super::model::{Config, HostMatch, Route};
use super::ops;
use super::raw::{RawConfig, RawRoute, Scalar};
use super::response_headers;
use super::upstream::validate_upstream;

/// Pingora's default, and a sane one for a small deployment.
const DEFAULT_THREADS: i64 = 1;
const MAX_THREADS: i64 = 256;
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Builds the model. The result is only meaningful if `report` is still clean.
pub(crate) fn validate(raw: RawConfig, report: &mut Report<'_>) -> Config {
    let acme = acme::acme(raw.acme, report);
    let listen = listen::listen(raw.listen, acme.as_ref(), report);

    let threads = raw.threads.unwrap_or(DEFAULT_THREADS);
    if !(1..=MAX_THREADS).contains(&threads) {
        report.error("threads", format!("must be between 1 and {MAX_THREADS}"));
    }
    let threads = usize::try_from(threads.clamp(1, MAX_THREADS)).unwrap_or(1);

    let shutdown_grace = duration(report, "shutdown_grace", raw.shutdown_grace.as_ref(), DEFAULT_SHUTDOWN_GRACE);

    let groups = raw.upstreams.map(|m| m.0).unwrap_or_default();
    if groups.is_empty() {
        report.error(
            "upstreams",
            "is required: at least one upstream group, e.g. upstreams: { app: { servers: [...] } }",
        );
    }
    let names: Vec<String> = groups.iter().map(|(name, _)| name.clone()).collect();
    let mut upstreams = Vec::new();
    for (name, group) in groups {
        let path = format!("upstreams.{name}");
        if !is_group_name(&name) {
            report.error(&path, "an upstream name may only use letters, digits, `_`, `.` and `-`");
        }
        upstreams.push(validate_upstream(name, group, &path, report));
    }

    let routes = match raw.routes {
        Some(routes) => validate_routes(routes, &names, listen.iter().any(|l| l.tls.is_some()), report),
        None if names.len() == 1 => {
            vec![Route::catch_all("/", 0)]
        }
        None if names.is_empty() => Vec::new(),
        None => {
            report.error(
                "routes",
                "is required when there is more than one upstream group (only a single group gets a default route)",
            );
            Vec::new()
        }
    };

    let admin = ops::admin(raw.admin, report);
    if let Some(clash) = listen.iter().map(|l| l.addr).find(|l| same_socket(l, &admin.listen)) {
        report.error(
            "admin.listen",
            format!("{} clashes with listen {clash}; give the admin listener its own port", admin.listen),
        );
    }
    let access_log = ops::access_log(raw.access_log, report);
    let pid_file = ops::path(raw.pid_file, "pid_file", ops::DEFAULT_PID_FILE, report);
    let upgrade_sock = ops::path(raw.upgrade_sock, "upgrade_sock", ops::DEFAULT_UPGRADE_SOCK, report);

    let response_headers = response_headers::response_headers(raw.response_headers, report);
    let client = client::client_limits(
        client::RawClient {
            client_header_timeout: raw.client_header_timeout,
            client_body_timeout: raw.client_body_timeout,
            client_max_body_size: raw.client_max_body_size,
            large_client_header_buffers: raw.large_client_header_buffers,
            client_max_headers: raw.client_max_headers,
            keepalive_timeout: raw.keepalive_timeout,
            keepalive_requests: raw.keepalive_requests,
            send_timeout: raw.send_timeout,
            max_client_connections: raw.max_client_connections,
        },
        report,
    );

    Config {
        listen,
        threads,
        shutdown_grace,
        upstreams,
        routes,
        admin,
        access_log,
        pid_file,
        upgrade_sock,
        response_headers,
        client,
        acme,
    }
}

fn validate_routes(routes: Vec<RawRoute>, names: &[String], has_tls: bool, report: &mut Report<'_>) -> Vec<Route> {
    if routes.is_empty() {
        report.error("routes", "needs at least one route (or leave routes out when there is one upstream group)");
    }
    let mut out = Vec::new();
    for (i, route) in routes.into_iter().enumerate() {
        let path = format!("routes[{i}]");
        let host = match route.host.as_deref() {
            None => HostMatch::Any,
            Some(text) => parse_host(text).unwrap_or_else(|message| {
                report.error(&format!("{path}.host"), message);
                HostMatch::Any
            }),
        };
        let path_prefix = route.path_prefix.unwrap_or_else(|| "/".to_string());
        if !path_prefix.starts_with('/') {
            report.error(&format!("{path}.path_prefix"), "must start with `/`");
        }
        let upstream = match route.upstream {
            None => {
                report.error(&format!("{path}.upstream"), "is required: the name of an upstream group");
                0
            }
            Some(name) => match names.iter().position(|n| *n == name) {
                Some(index) => index,
                None => {
                    let defined = names.join(", ");
                    report.error(
                        &format!("{path}.upstream"),
                        format!("no upstream group named `{name}` (defined: {defined})"),
                    );
                    0
                }
            },
        };
        let https_redirect = route.https_redirect.unwrap_or(false);
        if https_redirect && !has_tls {
            report.error(
                &format!("{path}.https_redirect"),
                "needs a TLS listener to redirect to (a listen entry with tls)",
            );
        }
        let methods = super::route_match::methods(route.methods, &format!("{path}.methods"), report);
        let header = route.header.and_then(|h| super::route_match::header(h, &format!("{path}.header"), report));
        out.push(Route { host, path_prefix, upstream, https_redirect, methods, header });
    }
    out
}

/// `*`, `example.com` or `*.example.com`; stored lowercase.
fn parse_host(text: &str) -> Result<HostMatch, String> {
    if text == "*" {
        return Ok(HostMatch::Any);
    }
    let lower = text.to_ascii_lowercase();
    let (suffix, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    if name.contains('*') {
        return Err(format!("`{text}`: `*` is only allowed alone or as a leading `*.`, e.g. *.example.com"));
    }
    if name.contains(':') {
        return Err(format!("`{text}`: write the host without a port (the port is ignored when matching)"));
    }
    if !is_hostname(name) {
        return Err(format!("`{text}` is not a host name; use *, example.com or *.example.com"));
    }
    Ok(if suffix { HostMatch::Suffix(format!(".{name}")) } else { HostMatch::Exact(name.to_string()) })
}

/// True when binding both would conflict: same port, and the same IP or a
/// wildcard on either side.
fn same_socket(a: &std::net::SocketAddr, b: &std::net::SocketAddr) -> bool {
    a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn is_group_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A duration key: its default when absent, the parse error reported otherwise.
pub(super) fn duration(report: &mut Report<'_>, path: &str, value: Option<&Scalar>, default: Duration) -> Duration {
    match value {
        None => default,
        Some(scalar) => parse_duration(&scalar.text).unwrap_or_else(|message| {
            report.error(path, message);
            default
        }),
    }
}

/// A duration that must be greater than zero.
pub(super) fn positive_duration(
    report: &mut Report<'_>,
    path: &str,
    value: Option<&Scalar>,
    default: Duration,
) -> Duration {
    let parsed = duration(report, path, value, default);
    if parsed.is_zero() {
        report.error(path, "must be greater than 0");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};
    use super::*;

    const UPSTREAM: &str = "upstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";

    #[test]
    fn listen_is_required() {
        assert_error(UPSTREAM, "listen", 1, "is required");
    }

    #[test]
    fn listen_entry_that_is_not_ip_port_is_rejected_with_path_and_line() {
        let text = format!("listen:\n  - 0.0.0.0:8080\n  - localhost:80\n{UPSTREAM}");
        assert_error(&text, "listen[1]", 3, "is not an ip:port address");
    }

    #[test]
    fn listen_address_listed_twice_is_rejected() {
        let text = format!("listen: [\"0.0.0.0:80\", \"0.0.0.0:80\"]\n{UPSTREAM}");
        assert_error(&text, "listen[1]", 1, "listed twice");
    }

    #[test]
    fn empty_listen_list_is_rejected() {
        let text = format!("listen: []\n{UPSTREAM}");
        assert_error(&text, "listen", 1, "at least one");
    }

    #[test]
    fn threads_and_shutdown_grace_have_defaults() {
        let c = config(&format!("listen: 0.0.0.0:8080\n{UPSTREAM}"));
        assert_eq!(c.threads, 1);
        assert_eq!(c.shutdown_grace, Duration::from_secs(5));
        assert_eq!(
            super::listen::addresses(&c.listen),
            vec!["0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!())]
        );
        assert!(c.listen[0].tls.is_none());
    }

    #[test]
    fn threads_outside_one_to_256_are_rejected_with_path_and_line() {
        let text = format!("listen: 0.0.0.0:8080\nthreads: 257\n{UPSTREAM}");
        assert_error(&text, "threads", 2, "must be between 1 and 256");
        let text = format!("listen: 0.0.0.0:8080\nthreads: 0\n{UPSTREAM}");
        assert_error(&text, "threads", 2, "must be between 1 and 256");
    }

    #[test]
    fn shutdown_grace_without_unit_asks_for_one() {
        let text = format!("listen: 0.0.0.0:8080\nshutdown_grace: 10\n{UPSTREAM}");
        assert_error(&text, "shutdown_grace", 2, "needs a unit, e.g. 10s");
    }

    #[test]
    fn upstreams_are_required() {
        assert_error("listen: 0.0.0.0:8080\n", "upstreams", 1, "is required");
        assert_error("listen: 0.0.0.0:8080\nupstreams: {}\n", "upstreams", 2, "is required");
    }

    #[test]
    fn upstream_name_with_other_characters_is_rejected() {
        let text = "listen: 0.0.0.0:8080\nupstreams:\n  \"my app\":\n    servers: [{ addr: \"127.0.0.1:1\" }]\n";
        assert_error(text, "upstreams.my app", 3, "letters, digits");
    }

    #[test]
    fn single_upstream_gets_a_default_catch_all_route() {
        let c = config(&format!("listen: 0.0.0.0:8080\n{UPSTREAM}"));
        assert_eq!(c.routes, vec![Route::catch_all("/", 0)]);
    }

    const TWO: &str = "listen: 0.0.0.0:8080
upstreams:
  app:
    servers: [{ addr: \"127.0.0.1:9001\" }]
  api:
    servers: [{ addr: \"127.0.0.1:9002\" }]
";

    #[test]
    fn routes_are_required_with_several_upstreams() {
        assert_error(TWO, "routes", 1, "is required when there is more than one upstream group");
    }

    #[test]
    fn routes_pick_upstreams_by_name_and_parse_hosts() {
        let text = format!(
            "{TWO}routes:\n  - {{ host: \"*.Example.com\", path_prefix: /api, upstream: api }}\n  \
             - {{ host: Example.COM, upstream: app }}\n  - {{ host: \"*\", upstream: app }}\n"
        );
        let c = config(&text);
        assert_eq!(c.routes[0].host, HostMatch::Suffix(".example.com".into()));
        assert_eq!(c.routes[0].path_prefix, "/api");
        assert_eq!(c.routes[0].upstream, 1);
        assert_eq!(c.routes[1].host, HostMatch::Exact("example.com".into()));
        assert_eq!(c.routes[1].path_prefix, "/");
        assert_eq!(c.routes[2].host, HostMatch::Any);
    }

    #[test]
    fn route_naming_an_unknown_upstream_is_rejected_listing_the_defined_ones() {
        let text = format!("{TWO}routes:\n  - {{ upstream: app }}\n  - {{ upstream: nope }}\n");
        assert_error(&text, "routes[1].upstream", 9, "no upstream group named `nope` (defined: app, api)");
    }

    #[test]
    fn route_without_upstream_is_rejected() {
        let text = format!("{TWO}routes:\n  - {{ host: \"*\" }}\n");
        assert_error(&text, "routes[0].upstream", 8, "is required");
    }

    #[test]
    fn route_host_with_a_star_inside_is_rejected() {
        let text = format!("{TWO}routes:\n  - {{ host: \"a.*.com\", upstream: app }}\n");
        assert_error(&text, "routes[0].host", 8, "only allowed alone or as a leading");
    }

    #[test]
    fn route_host_with_a_port_is_rejected() {
        let text = format!("{TWO}routes:\n  - {{ host: \"a.com:80\", upstream: app }}\n");
        assert_error(&text, "routes[0].host", 8, "without a port");
    }

    #[test]
    fn route_path_prefix_must_start_with_a_slash() {
        let text = format!("{TWO}routes:\n  - {{ path_prefix: api, upstream: app }}\n");
        assert_error(&text, "routes[0].path_prefix", 8, "must start with `/`");
    }

    #[test]
    fn an_admin_listener_on_a_proxy_port_is_rejected() {
        let text = format!("listen: 0.0.0.0:9090\n{UPSTREAM}admin: {{ listen: 127.0.0.1:9090 }}\n");
        assert_error(&text, "admin.listen", 5, "clashes with listen 0.0.0.0:9090");
        config(&format!("listen: 0.0.0.0:8080\n{UPSTREAM}admin: {{ listen: 127.0.0.1:9090 }}\n"));
    }

    #[test]
    fn empty_routes_list_is_rejected() {
        let text = format!("{TWO}routes: []\n");
        assert_error(&text, "routes", 7, "at least one route");
    }
}
