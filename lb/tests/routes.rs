//! Routes through the real proxy: host, path, method and header conditions,
//! first match wins, and a request no route takes gets 404.

mod common;
use common::*;

#[test]
fn routes_by_header_value_prefix_and_method_first_match_wins() {
    let (eu, us, writes, rest) = (
        Upstream::start("eu", Behavior::Name),
        Upstream::start("us", Behavior::Name),
        Upstream::start("writes", Behavior::Name),
        Upstream::start("rest", Behavior::Name),
    );
    let group = |name: &str, u: &Upstream| format!("  {name}:\n    servers:\n{}", server(u, ""));
    let proxy = Proxy::start(&format!(
        "upstreams:\n{}{}{}{}routes:\n\
         \x20 - {{ header: {{ name: X-Region, value: EU }}, upstream: eu }}\n\
         \x20 - {{ header: {{ name: x-region, prefix: us- }}, upstream: us }}\n\
         \x20 - {{ path_prefix: /api/, methods: [POST, PUT, DELETE], upstream: writes }}\n\
         \x20 - {{ path_prefix: /api/, upstream: rest }}\n",
        group("eu", &eu),
        group("us", &us),
        group("writes", &writes),
        group("rest", &rest),
    ));
    let to = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let r = proxy.send(method, path, headers, b"");
        assert_eq!(r.status, 200, "{method} {path} {headers:?}");
        r.upstream().to_string()
    };
    assert_eq!(to("GET", "/api/x", &[("X-Region", "EU")]), "eu");
    assert_eq!(to("POST", "/api/x", &[("x-region", "EU")]), "eu", "the header route comes first");
    assert_eq!(to("GET", "/api/x", &[("X-Region", "us-east-1")]), "us");
    assert_eq!(to("GET", "/api/x", &[("X-Region", "eu")]), "rest", "values are case-sensitive");
    assert_eq!(to("POST", "/api/x", &[]), "writes");
    assert_eq!(to("DELETE", "/api/x", &[]), "writes");
    assert_eq!(to("GET", "/api/x", &[]), "rest");
    let r = proxy.send("GET", "/other", &[("X-Region", "EU-west")], b"");
    assert_eq!(r.status, 404, "an exact value is exact, and nothing else takes /other");
    assert_eq!((eu.hits(), us.hits(), writes.hits(), rest.hits()), (2, 1, 2, 2));
}

#[test]
fn a_route_with_a_bad_header_condition_is_refused_by_check_with_its_path_and_line() {
    let up = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&up, "")]));
    let bad = format!("{}routes:\n  - {{ header: {{ name: X-Region }}, upstream: app }}\n", app(&[], &[(&up, "")]));
    let out = proxy.reload(&bad);
    let text = out.to_string();
    assert!(text.contains("routes[0].header: needs value (exact match) or prefix"), "{text}");
    assert_eq!(proxy.get("/").status, 200, "the running config stays");
}
