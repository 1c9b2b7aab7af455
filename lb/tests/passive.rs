//! nginx's max_fails / fail_timeout through the real proxy.

mod common;
use common::*;
use std::thread::sleep;
use std::time::Duration;

#[test]
fn a_failing_server_is_skipped_for_fail_timeout_then_probed_once_then_back() {
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&[], &[(&a, "max_fails: 1, fail_timeout: 2s"), (&b, "")]));
    a.set(Behavior::Reset);
    // The request that meets a's reset moves to b; a is now out.
    assert_eq!(proxy.get("/").upstream(), "b");
    assert_eq!(a.hits(), 1);
    assert_eq!(sequence(&proxy, 6), ["b"; 6], "a skipped during fail_timeout");
    assert_eq!(a.hits(), 1, "not one request reached a while it was out");
    sleep(Duration::from_millis(2300));
    // Still failing: exactly one probe goes to a, the request moves to b.
    assert_eq!(sequence(&proxy, 4), ["b"; 4]);
    assert_eq!(a.hits(), 2, "exactly one probe after fail_timeout");
    a.set(Behavior::Name);
    sleep(Duration::from_millis(2300));
    // a's effective weight fell to 0 with its failures and regrows by one per
    // pass, so (as in nginx) the probe goes out on a later pass, not at once.
    let seq = sequence(&proxy, 4);
    assert_eq!(seq.iter().filter(|u| *u == "a").count(), 1, "one probe, which succeeds: {seq:?}");
    assert_eq!(a.hits(), 3);
    let seq = sequence(&proxy, 4);
    assert_eq!(seq.iter().filter(|u| *u == "a").count(), 2, "a is back in rotation: {seq:?}");
}

#[test]
fn failures_add_up_while_each_comes_within_fail_timeout_of_the_last() {
    // max_fails=3 fail_timeout=2s; failures 1.5 s apart with good traffic in
    // between span 3 s, more than fail_timeout: a sliding window would never
    // hold three, nginx's quiet-period rule disables a on the third.
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&[], &[(&a, "max_fails: 3, fail_timeout: 2s"), (&b, "")]));
    for round in 1..=3 {
        if round > 1 {
            sleep(Duration::from_millis(1500));
        }
        a.set(Behavior::Reset);
        let hits = a.hits();
        for _ in 0..4 {
            if a.hits() > hits {
                break;
            }
            proxy.get("/");
        }
        assert_eq!(a.hits(), hits + 1, "round {round}: one failure on a");
        a.set(Behavior::Name);
        if round < 3 {
            let good = sequence(&proxy, 6);
            assert!(good.contains(&"a".to_string()), "round {round}: a still serves: {good:?}");
        }
    }
    let seq = sequence(&proxy, 6);
    assert!(seq.iter().all(|u| u == "b"), "third failure disabled a: {seq:?}");
}

#[test]
fn a_lone_server_is_never_taken_out() {
    let a = Upstream::start("a", Behavior::Reset);
    let proxy = Proxy::start(&app(&[], &[(&a, "max_fails: 1, fail_timeout: 30s")]));
    assert_eq!(proxy.get("/").status, 502);
    a.set(Behavior::Name);
    assert_eq!(proxy.get("/").upstream(), "a", "nginx ignores max_fails for a single server");
    assert_eq!(a.hits(), 2);
}

#[test]
fn a_timeout_counts_as_a_failure_and_the_client_gets_504_when_nothing_is_left() {
    let (a, b) = (Upstream::start("a", Behavior::Hang), Upstream::start("b", Behavior::Hang));
    let proxy = Proxy::start(&app(&["read_timeout: 300ms"], &[(&a, "fail_timeout: 30s"), (&b, "fail_timeout: 30s")]));
    let r = proxy.get("/");
    assert_eq!(r.status, 504);
    assert_eq!((a.hits(), b.hits()), (1, 1), "the GET was tried on both");
    assert_eq!(proxy.get("/").status, 502, "both out: no live upstreams");
}

#[test]
fn a_client_that_hangs_up_is_not_charged_to_the_upstream() {
    // nginx: a client closing early is a 499, and the server is not failed.
    let (a, b) =
        (Upstream::start("a", Behavior::Slow(Duration::from_millis(800))), Upstream::start("b", Behavior::Name));
    let proxy =
        Proxy::start(&app(&[], &[(&a, "max_fails: 1, fail_timeout: 30s"), (&b, "max_fails: 1, fail_timeout: 30s")]));
    {
        use std::io::Write;
        let mut conn = std::net::TcpStream::connect(proxy.addr).expect("connect");
        conn.write_all(b"GET / HTTP/1.1\r\nHost: test.local\r\n\r\n").expect("send");
        sleep(Duration::from_millis(200));
    } // hang up while a is still working
    sleep(Duration::from_millis(900));
    assert_eq!(a.hits(), 1);
    a.set(Behavior::Name);
    let seq = sequence(&proxy, 4);
    assert_eq!(seq.iter().filter(|u| *u == "a").count(), 2, "a still in rotation: {seq:?}");
}

#[test]
fn a_group_with_no_usable_server_says_so_once_and_counts_every_refusal() {
    let (a, b) = (Upstream::refused("a"), Upstream::refused("b"));
    let proxy =
        Proxy::start(&app(&[], &[(&a, "max_fails: 1, fail_timeout: 30s"), (&b, "max_fails: 1, fail_timeout: 30s")]));
    // Both refuse: the first request tries both and takes both out.
    assert_eq!(proxy.get("/").status, 502);
    for _ in 0..5 {
        assert_eq!(proxy.get("/").status, 502, "nginx: no live upstreams");
    }
    let status = proxy.status();
    let group = &status["upstreams"][0];
    assert_eq!(group["no_live_refusals"], 5, "{group}");
    assert!(proxy.metrics().contains("tandem_upstream_no_live_total{upstream=\"app\"} 5"), "{}", proxy.metrics());
    let log = proxy.log();
    assert_eq!(log.matches("no live upstreams").count(), 1, "logged when it started, not per request:\n{log}");
}
