//! `response_headers`: every response names the balancer that sent it, the
//! proxied ones and tandem's own errors alike, and a reload changes the value.

mod common;
use common::*;

#[test]
fn configured_headers_are_on_proxied_responses_and_on_tandems_own_errors() {
    let (a, refused) = (Upstream::start("a", Behavior::Name), Upstream::refused("gone"));
    let body = |node: &str, servers: &str| format!("response_headers:\n  X-Tandem-Node: {node}\n{servers}");
    let proxy = Proxy::start(&body("lb1", &app(&[], &[(&a, "")])));

    let ok = proxy.get("/");
    assert_eq!((ok.status, ok.upstream()), (200, "a"));
    assert_eq!(ok.headers.get("x-tandem-node").map(String::as_str), Some("lb1"));

    let verdict = proxy.reload(&body("lb2", &app(&[], &[(&refused, "")])));
    assert_eq!(verdict["ok"], true, "{verdict}");
    let failed = proxy.get("/");
    assert_eq!(failed.status, 502, "the only server refuses");
    assert_eq!(failed.upstream(), "-", "tandem made this response itself");
    assert_eq!(failed.headers.get("x-tandem-node").map(String::as_str), Some("lb2"), "reloaded value");
}
