//! Route matching: the first route whose host, path prefix, method and
//! header match wins.

use crate::config::{HostMatch, Route};

/// What a route looks at in a request (borrowed: no allocation).
pub struct RequestView<'a, H: Fn(&[u8]) -> Option<&'a [u8]>> {
    /// The Host header (a port is ignored).
    pub host: &'a [u8],
    pub path: &'a [u8],
    pub method: &'a [u8],
    /// The first value of a header by lowercase name.
    pub header: H,
}

/// The routes in file order.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Router {
        Router { routes }
    }

    /// The route for a request. No allocation.
    pub fn find<'a, H: Fn(&[u8]) -> Option<&'a [u8]>>(&self, req: &RequestView<'a, H>) -> Option<&Route> {
        let host = host_without_port(req.host);
        self.routes.iter().find(|r| {
            host_matches(&r.host, host)
                && req.path.starts_with(r.path_prefix.as_bytes())
                && (r.methods.is_empty() || r.methods.iter().any(|m| m.as_bytes() == req.method))
                && r.header.as_ref().is_none_or(|h| (req.header)(h.name.as_bytes()).is_some_and(|v| h.value.matches(v)))
        })
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

    use crate::config::{HeaderMatch, ValueMatch};

    fn route(host: HostMatch, prefix: &str, upstream: usize) -> Route {
        Route { host, ..Route::catch_all(prefix, upstream) }
    }

    /// The upstream chosen for a GET without headers.
    fn find(r: &Router, host: &[u8], path: &[u8]) -> Option<usize> {
        find_with(r, host, path, b"GET", &[])
    }

    fn find_with(r: &Router, host: &[u8], path: &[u8], method: &[u8], headers: &[(&str, &str)]) -> Option<usize> {
        let header = |name: &[u8]| {
            headers.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
        };
        r.find(&RequestView { host, path, method, header }).map(|r| r.upstream)
    }

    #[test]
    fn routes_may_need_a_method_and_a_header_value_or_prefix() {
        let region = |value: ValueMatch| Some(HeaderMatch { name: "x-region".into(), value });
        let r = Router::new(vec![
            Route { header: region(ValueMatch::Exact("EU".into())), ..Route::catch_all("/", 1) },
            Route { header: region(ValueMatch::Prefix("us-".into())), ..Route::catch_all("/", 2) },
            Route { methods: vec!["POST".into(), "PUT".into()], ..Route::catch_all("/api/", 3) },
            Route::catch_all("/", 0),
        ]);
        assert_eq!(find_with(&r, b"h", b"/", b"GET", &[("X-Region", "EU")]), Some(1));
        assert_eq!(find_with(&r, b"h", b"/", b"GET", &[("X-Region", "eu")]), Some(0), "values are case-sensitive");
        assert_eq!(find_with(&r, b"h", b"/", b"GET", &[("x-region", "us-east")]), Some(2));
        assert_eq!(find_with(&r, b"h", b"/", b"GET", &[("X-Region", "EU-west")]), Some(0), "exact is exact");
        assert_eq!(find_with(&r, b"h", b"/api/x", b"POST", &[]), Some(3));
        assert_eq!(find_with(&r, b"h", b"/api/x", b"GET", &[]), Some(0));
        assert_eq!(find_with(&r, b"h", b"/api/x", b"post", &[]), Some(0), "methods are case-sensitive");
    }

    #[test]
    fn the_first_matching_route_wins() {
        let r = Router::new(vec![
            route(HostMatch::Exact("api.example.com".into()), "/v1/", 1),
            route(HostMatch::Any, "/static/", 2),
            route(HostMatch::Any, "/", 0),
        ]);
        assert_eq!(find(&r, b"API.example.com:8080", b"/v1/users"), Some(1));
        assert_eq!(find(&r, b"www.example.com", b"/v1/users"), Some(0));
        assert_eq!(find(&r, b"api.example.com", b"/static/x.css"), Some(2));
    }

    #[test]
    fn a_wildcard_host_matches_subdomains_only() {
        let r = Router::new(vec![route(HostMatch::Suffix(".example.com".into()), "/", 0)]);
        assert_eq!(find(&r, b"a.example.com", b"/"), Some(0));
        assert_eq!(find(&r, b"example.com", b"/"), None);
        assert_eq!(find(&r, b"badexample.com", b"/"), None);
    }

    #[test]
    fn no_matching_route_gives_none() {
        let r = Router::new(vec![route(HostMatch::Any, "/api/", 0)]);
        assert_eq!(find(&r, b"x", b"/other"), None);
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        assert_eq!(host_without_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(host_without_port(b"[::1]"), b"[::1]");
    }
}
