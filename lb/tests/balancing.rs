//! Selection through the real proxy: weights, backups, 502, least_conn, hashing.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn weights_5_1_1_give_a_a_b_a_c_a_a() {
    let (a, b, c) = (
        Upstream::start("a", Behavior::Name),
        Upstream::start("b", Behavior::Name),
        Upstream::start("c", Behavior::Name),
    );
    let proxy = Proxy::start(&app(&[], &[(&a, "weight: 5"), (&b, ""), (&c, "")]));
    assert_eq!(sequence(&proxy, 14).join(" "), "a a b a c a a a a b a c a a");
}

#[test]
fn backup_serves_only_when_every_primary_is_out() {
    let (mut a, mut b, x) = (
        Upstream::start("a", Behavior::Name),
        Upstream::start("b", Behavior::Name),
        Upstream::start("x", Behavior::Name),
    );
    let proxy = Proxy::start(&app(&[], &[(&a, "fail_timeout: 30s"), (&b, "fail_timeout: 30s"), (&x, "backup: true")]));
    assert!(sequence(&proxy, 6).iter().all(|u| u != "x"), "backup idle while primaries are up");
    b.stop();
    assert_eq!(sequence(&proxy, 4), ["a"; 4], "one primary left: still no backup");
    a.stop();
    assert_eq!(sequence(&proxy, 4), ["x"; 4], "every primary out: the backup serves");
    assert_eq!(x.hits(), 4);
}

#[test]
fn every_server_out_gives_502_until_fail_timeout() {
    let (a, b) = (Upstream::start("a", Behavior::Reset), Upstream::start("b", Behavior::Reset));
    let proxy = Proxy::start(&app(&[], &[(&a, "fail_timeout: 2s"), (&b, "fail_timeout: 2s")]));
    assert_eq!(proxy.get("/").status, 502, "both reset: both tried, both out");
    assert_eq!((a.hits(), b.hits()), (1, 1));
    a.set(Behavior::Name);
    b.set(Behavior::Name);
    let r = proxy.get("/");
    assert_eq!(r.status, 502, "no live upstreams: counters are not reset");
    assert_eq!((a.hits(), b.hits()), (1, 1), "nothing was sent upstream");
    std::thread::sleep(Duration::from_millis(2300));
    assert_eq!(proxy.get("/").status, 200, "back after fail_timeout");
}

#[test]
fn least_conn_prefers_the_idle_server() {
    let (a, b) =
        (Upstream::start("a", Behavior::Slow(Duration::from_millis(1500))), Upstream::start("b", Behavior::Name));
    let proxy = Proxy::start(&app(&["balance: least_conn"], &[(&a, ""), (&b, "")]));
    let addr = proxy.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/", &[], b"").upstream().to_string());
    std::thread::sleep(Duration::from_millis(300));
    let seq = sequence(&proxy, 5);
    assert_eq!(seq, vec!["b"; 5], "a is busy with one request");
    assert_eq!(slow.join().expect("slow request"), "a");
}

#[test]
fn hash_keys_stay_on_their_server() {
    let ups: Vec<Upstream> = ["a", "b", "c"].iter().map(|n| Upstream::start(n, Behavior::Name)).collect();
    let servers: Vec<_> = ups.iter().map(|u| (u, "")).collect();
    let proxy = Proxy::start(&app(&["balance: hash", "hash: { key: \"header:X-User\" }"], &servers));
    let mut homes = std::collections::HashSet::new();
    for user in 0..12 {
        let user = format!("user{user}");
        let first = proxy.send("GET", "/", &[("X-User", &user)], b"").upstream().to_string();
        for _ in 0..3 {
            assert_eq!(proxy.send("GET", "/", &[("X-User", &user)], b"").upstream(), first, "{user} moved");
        }
        homes.insert(first);
    }
    assert!(homes.len() > 1, "keys spread over servers");
}

#[test]
fn ketama_remaps_about_one_nth_of_keys_when_a_server_goes() {
    let mut ups: Vec<Upstream> = ["a", "b", "c", "d", "e"].iter().map(|n| Upstream::start(n, Behavior::Name)).collect();
    let servers: Vec<_> = ups.iter().map(|u| (u, "max_fails: 1, fail_timeout: 60s")).collect();
    let proxy = Proxy::start(&app(&["balance: hash", "hash: { key: \"arg:k\", consistent: true }"], &servers));
    let keys: Vec<String> = (0..250).map(|i| format!("/?k=key{i}")).collect();
    let before: Vec<String> = keys.iter().map(|k| proxy.get(k).upstream().to_string()).collect();
    ups[4].stop(); // e goes: refused, then quarantined for 60 s
    let after: Vec<String> = keys.iter().map(|k| proxy.get(k).upstream().to_string()).collect();
    let on_e = before.iter().filter(|u| *u == "e").count();
    let moved_others = before.iter().zip(&after).filter(|(b, a)| *b != "e" && b != a).count();
    assert!(after.iter().all(|u| u != "e" && u != "-"), "every key still served");
    assert_eq!(moved_others, 0, "only e's keys move");
    let share = on_e as f64 / keys.len() as f64;
    assert!((0.08..0.35).contains(&share), "e held about 1/5 of keys: {share}");
}
