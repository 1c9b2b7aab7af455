//! nginx's proxy_next_upstream rules through the real proxy.

mod common;
use common::*;

fn two(a: &Upstream, b: &Upstream, settings: &[&str]) -> Proxy {
    Proxy::start(&app(settings, &[(a, "fail_timeout: 30s"), (b, "fail_timeout: 30s")]))
}

#[test]
fn a_get_is_retried_on_another_server_after_a_reset() {
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &[]);
    let r = proxy.get("/");
    assert_eq!((r.status, r.upstream()), (200, "b"));
    assert_eq!(a.hits(), 1);
}

#[test]
fn a_post_is_not_retried_once_it_reached_the_upstream() {
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &[]);
    let r = proxy.send("POST", "/orders", &[], b"{\"qty\":1}");
    assert_eq!(r.status, 502);
    assert_eq!((a.hits(), b.hits()), (1, 0), "the POST went to a only");
}

#[test]
fn a_post_is_retried_when_non_idempotent_is_listed() {
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, non_idempotent]"]);
    let r = proxy.send("POST", "/orders", &[], b"{\"qty\":1}");
    assert_eq!((r.status, r.upstream()), (200, "b"));
    assert_eq!(b.seen()[0].body, b"{\"qty\":1}", "the body was replayed");
}

#[test]
fn a_post_is_retried_when_the_connection_was_refused() {
    let (a, b) = (Upstream::refused("a"), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &[]);
    let r = proxy.send("POST", "/orders", &[], b"x");
    assert_eq!((r.status, r.upstream()), (200, "b"), "nothing was sent: safe to retry");
}

#[test]
fn a_listed_status_moves_the_request_on() {
    let (a, b) = (Upstream::start("a", Behavior::Status(503)), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, http_503]"]);
    let r = proxy.get("/");
    assert_eq!((r.status, r.upstream()), (200, "b"));
    assert_eq!(sequence(&proxy, 3), ["b"; 3], "a was charged a failure and is out");
}

#[test]
fn an_unlisted_status_passes_to_the_client() {
    let (a, b) = (Upstream::start("a", Behavior::Status(503)), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &[]);
    let r = proxy.get("/");
    assert_eq!((r.status, r.upstream()), (503, "a"));
    assert_eq!(b.hits(), 0);
}

#[test]
fn a_listed_status_on_the_last_try_passes_to_the_client() {
    let (a, b) = (Upstream::start("a", Behavior::Status(502)), Upstream::start("b", Behavior::Status(502)));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, http_502]"]);
    let r = proxy.get("/");
    assert_eq!(r.status, 502);
    assert_eq!(r.upstream(), "b", "b's own 502 reaches the client");
    assert_eq!((a.hits(), b.hits()), (1, 1), "never the same server twice");
}

#[test]
fn next_upstream_tries_caps_the_attempts() {
    let ups: Vec<Upstream> = ["a", "b", "c"].iter().map(|n| Upstream::start(n, Behavior::Reset)).collect();
    let servers: Vec<_> = ups.iter().map(|u| (u, "fail_timeout: 30s")).collect();
    let proxy = Proxy::start(&app(&["next_upstream_tries: 2"], &servers));
    assert_eq!(proxy.get("/").status, 502);
    assert_eq!(ups.iter().map(Upstream::hits).sum::<usize>(), 2);
}

#[test]
fn invalid_header_moves_on_only_when_listed() {
    let (a, b) = (Upstream::start("a", Behavior::Garbage), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, invalid_header]"]);
    assert_eq!(proxy.get("/").upstream(), "b");
}

#[test]
fn forwarding_headers_reach_the_upstream_and_host_passes_through() {
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &[]);
    proxy.send("GET", "/x", &[("X-Forwarded-For", "203.0.113.5"), ("X-Request-Id", "req-42")], b"");
    proxy.get("/y");
    let seen: Vec<Seen> = a.seen().into_iter().chain(b.seen()).collect();
    let first = seen.iter().find(|s| s.path == "/x").expect("first request");
    assert_eq!(first.headers["host"], "test.local");
    assert_eq!(first.headers["x-forwarded-for"], "203.0.113.5, 127.0.0.1");
    assert_eq!(first.headers["x-real-ip"], "127.0.0.1");
    assert_eq!(first.headers["x-forwarded-proto"], "http");
    assert_eq!(first.headers["x-forwarded-host"], "test.local");
    assert_eq!(first.headers["x-request-id"], "req-42");
    let second = seen.iter().find(|s| s.path == "/y").expect("second request");
    assert_eq!(second.headers["x-request-id"].len(), 32, "a request id is made when missing");
}

#[test]
fn a_request_with_no_matching_route_gets_404() {
    let a = Upstream::start("a", Behavior::Name);
    let routes = "routes:\n  - { host: \"*\", path_prefix: \"/api/\", upstream: app }\n";
    let proxy = Proxy::start(&(app(&[], &[(&a, "")]) + routes));
    assert_eq!(proxy.get("/other").status, 404);
    assert_eq!(proxy.get("/api/x").upstream(), "a");
}

#[test]
fn a_retry_on_a_listed_status_keeps_the_upstream_connection_alive() {
    // Pingora issues 866/873: aborting a response to retry used to drop the
    // connection that carried it. a answers 502 (listed), then recovers: its
    // later requests must reuse the one connection it already accepted.
    // One thread: with several, Pingora 0.9's pool sometimes fails to take
    // back a connection released on another thread ("failed to acquire
    // reusable stream") and opens a new one, whatever the retry did.
    let (a, b) = (Upstream::start("a", Behavior::Status(502)), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start_with_threads(
        &app(&["next_upstream: [error, timeout, http_502]"], &[(&a, "max_fails: 0"), (&b, "")]),
        1,
    );
    let r = proxy.get("/");
    assert_eq!((r.status, r.upstream()), (200, "b"), "moved on from a's 502");
    assert_eq!(a.hits(), 1);
    a.set(Behavior::Name);
    let seq = sequence(&proxy, 6);
    assert!(seq.iter().filter(|u| *u == "a").count() >= 2, "{seq:?}");
    assert_eq!(
        a.connections(),
        1,
        "a's keep-alive connection survived the retry: seq {seq:?}, a hits {}, b hits {} b conns {}\n{}",
        a.hits(),
        b.hits(),
        b.connections(),
        proxy.log()
    );
}

#[test]
fn a_body_larger_than_the_retry_buffer_is_not_resent() {
    // Bodies up to 64 KiB are kept for a resend; a larger one streams through
    // unbuffered and, as nginx does then, is never resent once sent.
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, non_idempotent]"]);
    let small = vec![b'x'; 16 * 1024];
    assert_eq!(proxy.send("PUT", "/blob", &[], &small).upstream(), "b", "small body resent");
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Name));
    let proxy = two(&a, &b, &["next_upstream: [error, timeout, non_idempotent]"]);
    let large = vec![b'x'; 256 * 1024];
    let r = proxy.send("PUT", "/blob", &[], &large);
    assert_eq!(r.status, 502);
    assert_eq!(b.hits(), 0, "the large body was not resent");
}
