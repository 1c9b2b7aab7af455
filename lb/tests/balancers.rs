//! The balancers beyond nginx's open-source four, through the real proxy:
//! `least_time`, `random two least_conn`, and `slow_start` after a recovery.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn least_time_sends_few_requests_to_a_slow_server() {
    let (a, b) =
        (Upstream::start("a", Behavior::Slow(Duration::from_millis(100))), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&["balance: least_time"], &[(&a, ""), (&b, "")]));
    let seq = sequence(&proxy, 40);
    let to_a = seq.iter().filter(|u| *u == "a").count();
    assert!((1..=4).contains(&to_a), "a measured, then avoided: {seq:?}");
    assert_eq!(proxy.status()["upstreams"][0]["balance"], "least_time");
    let avg = proxy.server_status("app", a.addr)["avg_response_ms"].as_f64().expect("a measured");
    assert!(avg >= 100.0, "a's average includes its 100 ms delay: {avg}");
}

#[test]
fn least_time_last_byte_also_avoids_a_slow_server() {
    let (a, b) =
        (Upstream::start("a", Behavior::Slow(Duration::from_millis(100))), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&["balance: least_time", "least_time: last_byte"], &[(&a, ""), (&b, "")]));
    let to_a = sequence(&proxy, 30).iter().filter(|u| *u == "a").count();
    assert!((1..=4).contains(&to_a), "{to_a} of 30 to the slow server");
}

#[test]
fn random_two_least_conn_avoids_the_busy_server() {
    let (a, b) =
        (Upstream::start("a", Behavior::Slow(Duration::from_millis(1500))), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&["balance: random", "two: least_conn"], &[(&a, ""), (&b, "")]));
    // Until a has a request in flight, draws go either way.
    let addr = proxy.addr;
    let slow = std::thread::spawn(move || {
        // Keep asking until one request lands on a (each b answer is quick).
        (0..50).find_map(|_| {
            let r = request(addr, "GET", "/", &[], b"");
            (r.upstream() == "a").then_some(())
        })
    });
    // Wait for a to hold a request.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while a.hits() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(a.hits(), 1, "one request held by a");
    let hits = a.hits();
    let seq = sequence(&proxy, 10);
    assert_eq!(seq, vec!["b"; 10], "with two servers both are drawn, and a is busier");
    assert_eq!(a.hits(), hits);
    assert!(slow.join().expect("slow request").is_some());
}

#[test]
fn random_spreads_over_every_server() {
    let (a, b, c) = (
        Upstream::start("a", Behavior::Name),
        Upstream::start("b", Behavior::Name),
        Upstream::start("c", Behavior::Name),
    );
    let proxy = Proxy::start(&app(&["balance: random"], &[(&a, ""), (&b, ""), (&c, "")]));
    sequence(&proxy, 90);
    for u in [&a, &b, &c] {
        assert!((10..=60).contains(&u.hits()), "{}: {} of 90", u.name, u.hits());
    }
}

#[test]
fn a_server_back_from_quarantine_with_slow_start_ramps_up_its_share() {
    let (a, b) = (Upstream::start("a", Behavior::Name), Upstream::start("b", Behavior::Reset));
    let proxy = Proxy::start(&app(&[], &[(&a, "fail_timeout: 1s"), (&b, "fail_timeout: 1s, slow_start: 30s")]));
    // b fails once and is out for fail_timeout.
    let _ = sequence(&proxy, 2);
    assert_eq!(b.hits(), 1);
    b.set(Behavior::Name);
    std::thread::sleep(Duration::from_millis(1100));
    // The first pick of b after fail_timeout is the probe; it passes and b
    // starts its ramp: a few percent of its weight in the first seconds.
    let before = b.hits();
    let seq = sequence(&proxy, 100);
    let to_b = b.hits() - before;
    assert!((1..=20).contains(&to_b), "b ramps (equal weights would give 50): {to_b} of 100, {seq:?}");
    let ramp = proxy.server_status("app", b.addr)["slow_start_percent"].as_f64().expect("b is in its slow start");
    assert!(ramp > 0.0 && ramp < 50.0, "{ramp}% of its weight");
    assert!(proxy.server_status("app", a.addr)["slow_start_percent"].is_null());
}
