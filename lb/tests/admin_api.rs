//! The admin listener against the real binary: status.json and metrics
//! through a failure and recovery, drain, the runtime API's guards, healthz.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Poll `f` every 20 ms for up to `secs` seconds until it is true.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The value of one metrics series, e.g. `tandem_upstream_retries_total{upstream="app",server="..."}`.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn status_and_metrics_follow_a_refused_server_through_quarantine_probe_and_back() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::refused("b");
    let proxy = Proxy::start(&app(&[], &[(&a, "fail_timeout: 2s"), (&b, "max_fails: 1, fail_timeout: 2s")]));
    let before = proxy.server_status("app", b.addr);
    assert_eq!(before["state"], "up");
    assert_eq!(before["requests"], 0);

    // Round robin sends one of the first two requests to b: refused, retried on a.
    for _ in 0..2 {
        assert_eq!(proxy.get("/").status, 200);
    }
    let s = proxy.server_status("app", b.addr);
    assert_eq!(s["state"], "quarantined", "{s}");
    let left = s["quarantine_left_ms"].as_i64().expect("time left");
    assert!(left > 0 && left <= 2001, "{left}");
    assert_eq!(s["failures"]["connect_refused"], 1);
    assert_eq!(s["failures_total"], 1);
    assert_eq!(s["retries"], 1);
    assert_eq!(s["quarantines"], 1);
    assert_eq!(s["last_failure"]["reason"], "connect_refused");
    assert_eq!(proxy.status()["upstreams"][0]["usable"], 1);

    let m = proxy.metrics();
    let labels = format!("upstream=\"app\",server=\"{}\"", b.addr);
    assert_eq!(
        metric(&m, &format!("tandem_upstream_failures_total{{{labels},reason=\"connect_refused\"}}")),
        Some(1.0)
    );
    assert_eq!(metric(&m, &format!("tandem_upstream_server_state{{{labels},state=\"quarantined\"}}")), Some(1.0));
    assert_eq!(metric(&m, &format!("tandem_upstream_server_state{{{labels},state=\"up\"}}")), Some(0.0));
    assert_eq!(metric(&m, &format!("tandem_upstream_quarantines_total{{{labels}}}")), Some(1.0));

    // The server comes back; after fail_timeout one client request probes it.
    let b = Upstream::start_on("b", b.addr, Behavior::Name);
    eventually(5, "quarantine over", || proxy.server_status("app", b.addr)["state"] == "up");
    for _ in 0..4 {
        assert_eq!(proxy.get("/").status, 200);
    }
    assert!(b.hits() >= 1, "the probe reached b");
    let s = proxy.server_status("app", b.addr);
    assert_eq!(s["state"], "up");
    assert_eq!(s["fails"], 0, "the probe's success forgave the failure");
    assert!(s["responses"]["2xx"].as_u64() >= Some(1), "{s}");
    assert!(s["latency_ms"]["count"].as_u64() >= Some(1));
    assert!(s["latency_ms"]["p50"].as_f64().is_some());
    let m = proxy.metrics();
    assert_eq!(metric(&m, &format!("tandem_upstream_server_state{{{labels},state=\"up\"}}")), Some(1.0));
    assert!(metric(&m, &format!("tandem_upstream_responses_total{{{labels},class=\"2xx\"}}")) >= Some(1.0));
    assert!(metric(&m, &format!("tandem_upstream_latency_seconds_count{{{labels}}}")) >= Some(1.0));
}

#[test]
fn active_checks_show_a_refused_server_failing_then_up_again() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::refused("b");
    let proxy = Proxy::start(&app(
        &["health_check: { interval: 100ms, timeout: 500ms, rise: 1, fall: 1, path: / }"],
        &[(&a, ""), (&b, "")],
    ));
    eventually(5, "b failing", || proxy.server_status("app", b.addr)["state"] == "failing");
    assert_eq!(proxy.server_status("app", b.addr)["active_check"], "down");
    let _b = Upstream::start_on("b", b.addr, Behavior::Name);
    eventually(5, "b up", || proxy.server_status("app", b.addr)["state"] == "up");
    assert_eq!(proxy.server_status("app", b.addr)["active_check"], "up");
}

#[test]
fn drain_lets_the_request_in_flight_finish_and_sends_no_new_ones() {
    let slow = Upstream::start("slow", Behavior::Slow(Duration::from_millis(1500)));
    let other = Upstream::start("other", Behavior::Name);
    let proxy = Proxy::start_with_admin(&app(&[], &[(&slow, ""), (&other, "")]), 2, &format!("token: {TOKEN}"));
    let drain = |u: &Upstream| proxy.admin_post(&format!("/api/upstreams/app/servers/{}/drain", u.addr));
    let enable = |u: &Upstream| proxy.admin_post(&format!("/api/upstreams/app/servers/{}/enable", u.addr));

    // Only `slow` takes the first request.
    assert_eq!(drain(&other).status, 200);
    let addr = proxy.addr;
    let in_flight = thread::spawn(move || request(addr, "GET", "/", &[], b""));
    eventually(5, "request reached slow", || slow.hits() == 1);
    assert_eq!(enable(&other).status, 200);
    let r = drain(&slow);
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(body["servers"][0]["state"], "draining", "{body}");
    assert_eq!(body["servers"][0]["active_connections"], 1);

    for _ in 0..10 {
        let r = proxy.get("/");
        assert_eq!((r.status, r.upstream()), (200, "other"));
    }
    let done = in_flight.join().expect("client thread");
    assert_eq!((done.status, done.upstream()), (200, "slow"), "the drained server finished its request");
    assert_eq!(slow.hits(), 1, "no new request reached the drained server");
    eventually(2, "drained", || proxy.server_status("app", slow.addr)["state"] == "drained");
    assert_eq!(proxy.server_status("app", slow.addr)["admin"], "draining");

    // Weight and disable/enable show up too.
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/weight?value=7", other.addr)).status, 200);
    let s = proxy.server_status("app", other.addr);
    assert_eq!((s["weight"].as_i64(), s["config_weight"].as_i64()), (Some(7), Some(1)));
    assert_eq!(enable(&slow).status, 200);
    assert_eq!(proxy.server_status("app", slow.addr)["state"], "up");
    let unknown = proxy.admin_post("/api/upstreams/app/servers/127.0.0.1:1/drain");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let bad = proxy.admin_post(&format!("/api/upstreams/app/servers/{}/weight?value=0", other.addr));
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[test]
fn changing_calls_need_the_token_and_an_allowed_client() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start_with_admin(&app(&[], &[(&a, "")]), 1, &format!("token: {TOKEN}\nallow: [127.0.0.1/32]"));
    let path = format!("/api/upstreams/app/servers/{}/disable", a.addr);
    let no_token = request(proxy.admin, "POST", &path, &[], b"");
    assert_eq!(no_token.status, 401, "{}", no_token.body);
    assert_eq!(no_token.headers.get("www-authenticate").map(String::as_str), Some("Bearer"));
    let wrong = request(proxy.admin, "POST", &path, &[("Authorization", "Bearer test-token-0123456780")], b"");
    assert_eq!(wrong.status, 401);
    let auth = format!("Bearer {TOKEN}");
    let other_client = "127.0.0.2".parse().expect("ip");
    let refused = request_from(other_client, proxy.admin, "POST", &path, &[("Authorization", &auth)], b"");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(proxy.server_status("app", a.addr)["state"], "up", "nothing changed");
    // Reading stays open to whoever reaches the listener.
    assert_eq!(request_from(other_client, proxy.admin, "GET", "/status.json", &[], b"").status, 200);
    let ok = request(proxy.admin, "POST", &path, &[("Authorization", &auth)], b"");
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(proxy.server_status("app", a.addr)["state"], "disabled");
    assert!(proxy.log().contains("admin: refused POST"), "refusals are logged");
}

#[test]
fn without_a_token_the_runtime_api_is_off() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    let r = proxy.admin_post(&format!("/api/upstreams/app/servers/{}/drain", a.addr));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("admin.token"), "{}", r.body);
}

#[test]
fn healthz_is_503_when_no_server_is_usable() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start_with_admin(&app(&[], &[(&a, "")]), 1, &format!("token: {TOKEN}"));
    assert_eq!(proxy.admin_get("/healthz").status, 200);
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/disable", a.addr)).status, 200);
    let r = proxy.admin_get("/healthz");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(proxy.status()["healthy"], false);
    assert_eq!(proxy.get("/").status, 502, "nothing to send to");
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/enable", a.addr)).status, 200);
    assert_eq!(proxy.admin_get("/healthz").status, 200);
}

#[test]
fn listeners_count_connections_and_requests() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    // Three requests on one keep-alive connection, then one on a new one.
    let mut conn = TcpStream::connect(proxy.addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    for _ in 0..3 {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("\r\n\r\na") {
            let n = conn.read(&mut buf).expect("read");
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
    }
    drop(conn);
    assert_eq!(proxy.get("/").status, 200);
    let l = &proxy.status()["listeners"][0];
    assert_eq!(l["addr"], proxy.addr.to_string());
    assert_eq!((l["requests"].as_u64(), l["connections"].as_u64()), (Some(4), Some(2)), "{l}");
}

#[test]
fn unknown_paths_and_wrong_methods_get_json_errors() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    let r = proxy.admin_get("/nope");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("\"error\""));
    let r = request(proxy.admin, "DELETE", "/status.json", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow").map(String::as_str), Some("GET, HEAD"));
    let page = proxy.admin_get("/");
    assert_eq!(page.status, 200);
    assert!(page.headers.get("content-type").is_some_and(|t| t.starts_with("text/html")));
}
