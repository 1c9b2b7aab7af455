//! Active health checks through the real proxy.

mod common;
use common::*;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Poll until `cond` holds or `limit` passes; true if it held.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        sleep(Duration::from_millis(50));
    }
    cond()
}

fn health_count(u: &Upstream) -> usize {
    u.seen().iter().filter(|s| s.path == "/healthz").count()
}

fn client_count(u: &Upstream) -> usize {
    u.seen().iter().filter(|s| s.path != "/healthz").count()
}

#[test]
fn a_server_failing_its_checks_goes_out_after_fall_and_back_after_rise() {
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(
        &["health_check: { path: /healthz, interval: 200ms, timeout: 500ms, rise: 2, fall: 2 }"],
        &[(&a, ""), (&b, "")],
    ));
    assert!(eventually(Duration::from_secs(3), || health_count(&a) >= 1), "probes run");
    a.set(Behavior::Status(500));
    let probes_at_flip = health_count(&a);
    assert!(
        eventually(Duration::from_secs(5), || sequence(&proxy, 2).iter().all(|u| u == "b")),
        "a taken out by failing checks"
    );
    let failing_probes = health_count(&a) - probes_at_flip;
    assert!(failing_probes >= 2, "not before `fall` failures: {failing_probes}");
    let served = client_count(&a);
    assert_eq!(sequence(&proxy, 6), ["b"; 6]);
    assert_eq!(client_count(&a), served, "no client request reaches a while it is down");
    a.set(Behavior::Name);
    assert!(
        eventually(Duration::from_secs(5), || sequence(&proxy, 2).contains(&"a".to_string())),
        "a back after `rise` passes"
    );
}

#[test]
fn a_passive_quarantine_ends_with_an_active_pass_not_a_client_request() {
    // fail_timeout 1s, checks every 3s: between 1 s and 3 s after the failure,
    // nginx would send a client request as the probe; tandem waits for the
    // next active pass.
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(
        &["health_check: { path: /healthz, interval: 3s, timeout: 500ms, rise: 1, fall: 3 }"],
        &[(&a, "max_fails: 1, fail_timeout: 1s"), (&b, "")],
    ));
    assert!(eventually(Duration::from_secs(2), || health_count(&a) == 1), "first check round at start");
    a.set(Behavior::Reset);
    let mut tries = 0;
    while client_count(&a) == 0 && tries < 4 {
        proxy.get("/");
        tries += 1;
    }
    assert_eq!(client_count(&a), 1, "one client failure quarantines a");
    a.set(Behavior::Name);
    sleep(Duration::from_millis(1500));
    assert_eq!(health_count(&a), 1, "no check since the failure yet");
    let before = client_count(&a);
    assert_eq!(sequence(&proxy, 4), ["b"; 4], "fail_timeout is over, but no client probes a");
    assert_eq!(client_count(&a), before);
    assert!(
        eventually(Duration::from_secs(4), || sequence(&proxy, 2).contains(&"a".to_string())),
        "a back after the next passing check"
    );
    assert!(health_count(&a) >= 2);
}

#[test]
fn mandatory_checks_keep_servers_out_until_their_first_pass() {
    let (a, b) = (Upstream::start("a", Behavior::Status(503)), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(
        &["health_check: { path: /healthz, interval: 200ms, timeout: 500ms, mandatory: true }"],
        &[(&a, ""), (&b, "")],
    ));
    assert!(eventually(Duration::from_secs(3), || health_count(&b) >= 1), "b checked");
    sleep(Duration::from_millis(100));
    assert_eq!(sequence(&proxy, 6), ["b"; 6], "a never passed, takes no traffic");
    assert_eq!(client_count(&a), 0);
}

#[test]
fn tcp_checks_take_out_a_closed_port() {
    let (mut a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(
        &["next_upstream: [off]", "health_check: { tcp: true, interval: 200ms, timeout: 300ms, rise: 1, fall: 1 }"],
        &[(&a, "max_fails: 0"), (&b, "")],
    ));
    a.stop();
    assert!(
        eventually(Duration::from_secs(3), || sequence(&proxy, 2).iter().all(|u| u == "b")),
        "a out after a failed TCP check"
    );
    // No retries and no passive accounting: only the active check keeps
    // clients away from the closed port.
    assert!(sequence(&proxy, 6).iter().all(|u| u == "b"));
}
