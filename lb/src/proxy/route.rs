//! Route matching: the first route whose host and path prefix match wins.

use crate::config::{HostMatch, Route};

/// The routes in file order.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Router {
        Router { routes }
    }

    /// The route for a request. `host` is the Host header (a port is
    /// ignored), `path` the request path. No allocation.
    pub fn find(&self, host: &[u8], path: &[u8]) -> Option<&Route> {
        let host = host_without_port(host);
        self.routes.iter().find(|r| host_matches(&r.host, host) && path.starts_with(r.path_prefix.as_bytes()))
    }
}

/// A Host value without its port (`[v6]:port` keeps its brackets).
pub fn host_without_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        // [v6]:port
        return match host.iter().position(|&b| b == b']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(i) => &host[..i],
        None => host,
    }
}

fn host_matches(m: &HostMatch, host: &[u8]) -> bool {
    match m {
        HostMatch::Any => true,
        HostMatch::Exact(h) => host.eq_ignore_ascii_case(h.as_bytes()),
        HostMatch::Suffix(s) => host.len() > s.len() && host[host.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: HostMatch, prefix: &str, upstream: usize) -> Route {
        Route { host, path_prefix: prefix.into(), upstream, https_redirect: false }
    }

    #[test]
    fn the_first_matching_route_wins() {
        let r = Router::new(vec![
            route(HostMatch::Exact("api.example.com".into()), "/v1/", 1),
            route(HostMatch::Any, "/static/", 2),
            route(HostMatch::Any, "/", 0),
        ]);
        assert_eq!(r.find(b"API.example.com:8080", b"/v1/users").map(|r| r.upstream), Some(1));
        assert_eq!(r.find(b"www.example.com", b"/v1/users").map(|r| r.upstream), Some(0));
        assert_eq!(r.find(b"api.example.com", b"/static/x.css").map(|r| r.upstream), Some(2));
    }

    #[test]
    fn a_wildcard_host_matches_subdomains_only() {
        let r = Router::new(vec![route(HostMatch::Suffix(".example.com".into()), "/", 0)]);
        assert_eq!(r.find(b"a.example.com", b"/").map(|r| r.upstream), Some(0));
        assert_eq!(r.find(b"example.com", b"/").map(|r| r.upstream), None);
        assert_eq!(r.find(b"badexample.com", b"/").map(|r| r.upstream), None);
    }

    #[test]
    fn no_matching_route_gives_none() {
        let r = Router::new(vec![route(HostMatch::Any, "/api/", 0)]);
        assert_eq!(r.find(b"x", b"/other").map(|r| r.upstream), None);
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        assert_eq!(host_without_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(host_without_port(b"[::1]"), b"[::1]");
    }
}
