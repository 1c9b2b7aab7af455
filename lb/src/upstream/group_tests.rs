//! Rule-by-rule tests of the group: nginx's tier, retry and balancer rules.

use super::attempt::{Outcome, PeerId, Tier};
use super::balance::TwoBy;
use super::group::{Group, MethodKind, ServerSpec};
use super::peer::{ActiveState, PeerParams, Recovery};

fn spec(name: &str, weight: i64) -> ServerSpec {
    ServerSpec {
        name: name.to_string(),
        params: PeerParams { weight, max_fails: 1, fail_timeout: 10_000, down: false, max_conns: 0, slow_start: 0 },
        backup: false,
    }
}

fn backup(name: &str) -> ServerSpec {
    ServerSpec { backup: true, ..spec(name, 1) }
}

fn down(name: &str) -> ServerSpec {
    let mut s = spec(name, 1);
    s.params.down = true;
    s
}

fn group(method: MethodKind, servers: &[ServerSpec]) -> Group {
    Group::new(method, servers, Recovery::ByClientProbe, ActiveState::Up)
}

fn names(servers: &[ServerSpec]) -> impl Fn(PeerId) -> String + '_ {
    move |id| {
        let mut list = servers.iter().filter(|s| (id.tier == Tier::Backup) == s.backup);
        list.nth(id.index as usize).map(|s| s.name.clone()).unwrap_or_default()
    }
}

/// One whole request that succeeds on its first try.
fn serve(g: &mut Group, key: &[u8], now: i64) -> Option<PeerId> {
    let mut a = g.start(0, now);
    let id = g.pick(&mut a, key, now)?;
    g.finish(&mut a, id, Outcome::Passed, now);
    Some(id)
}

/// One request whose tries all fail until nothing is left: the servers tried.
fn fail_everywhere(g: &mut Group, now: i64) -> Vec<PeerId> {
    let mut a = g.start(0, now);
    let mut tried = vec![];
    while a.tries_left > 0 {
        let Some(id) = g.pick(&mut a, b"", now) else { break };
        g.finish(&mut a, id, Outcome::Failed, now);
        tried.push(id);
    }
    tried
}

#[test]
fn weights_5_1_1_give_a_a_b_a_c_a_a() {
    let servers = [spec("a", 5), spec("b", 1), spec("c", 1)];
    let mut g = group(MethodKind::RoundRobin, &servers);
    let name = names(&servers);
    let seq: Vec<String> = (0..14).map(|_| name(serve(&mut g, b"", 0).expect("live"))).collect();
    assert_eq!(seq.join(" "), "a a b a c a a a a b a c a a");
}

#[test]
fn a_retry_never_goes_to_a_server_already_tried_by_the_request() {
    let servers = [spec("a", 1), spec("b", 1), spec("c", 1)];
    let mut g = group(MethodKind::RoundRobin, &servers);
    let tried = fail_everywhere(&mut g, 0);
    assert_eq!(tried.len(), 3);
    let mut idx: Vec<u16> = tried.iter().map(|p| p.index).collect();
    idx.sort();
    assert_eq!(idx, [0, 1, 2]);
}

#[test]
fn backup_servers_take_requests_only_when_every_primary_is_out() {
    let servers = [spec("a", 1), spec("b", 1), backup("x")];
    let mut g = group(MethodKind::RoundRobin, &servers);
    let name = names(&servers);
    for _ in 0..4 {
        assert_ne!(name(serve(&mut g, b"", 0).expect("live")), "x");
    }
    let tried: Vec<String> = fail_everywhere(&mut g, 0).into_iter().map(&name).collect();
    assert_eq!(tried.last().map(String::as_str), Some("x"), "backup is the last try: {tried:?}");
    // a and b are now quarantined; x failed too, so nothing is left
    assert_eq!(serve(&mut g, b"", 1), None);
}

#[test]
fn backups_serve_while_the_primaries_are_quarantined() {
    let servers = [spec("a", 1), backup("x")];
    let mut g = group(MethodKind::RoundRobin, &servers);
    let name = names(&servers);
    let mut a = g.start(0, 0);
    let first = g.pick(&mut a, b"", 0).expect("live");
    g.finish(&mut a, first, Outcome::Failed, 0);
    assert_eq!(name(serve(&mut g, b"", 1).expect("backup")), "x");
    assert_eq!(name(serve(&mut g, b"", 10_001).expect("probe")), "a", "primary probed after fail_timeout");
}

#[test]
fn when_everything_is_out_there_is_no_live_upstream_and_counters_are_not_reset() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = group(MethodKind::RoundRobin, &servers);
    fail_everywhere(&mut g, 0);
    assert_eq!(serve(&mut g, b"", 5_000), None);
    assert_eq!(serve(&mut g, b"", 10_000), None, "still out until fail_timeout");
    assert!(serve(&mut g, b"", 10_001).is_some());
}

#[test]
fn tries_are_non_down_primaries_plus_backups_capped_by_next_upstream_tries() {
    let servers = [spec("a", 1), spec("b", 1), down("c"), backup("x")];
    let g = group(MethodKind::RoundRobin, &servers);
    assert_eq!(g.start(0, 0).tries_left, 3);
    assert_eq!(g.start(2, 0).tries_left, 2);
    assert_eq!(g.start(9, 0).tries_left, 3);
}

#[test]
fn a_single_server_is_never_quarantined_and_never_retried() {
    let servers = [spec("a", 1)];
    let mut g = group(MethodKind::RoundRobin, &servers);
    assert!(g.is_single());
    for t in 0..5 {
        let mut a = g.start(0, t);
        let id = g.pick(&mut a, b"", t).expect("single server always picked");
        g.finish(&mut a, id, Outcome::Failed, t);
        assert_eq!(a.tries_left, 0, "no retry for a single server");
    }
    assert_eq!(g.peer(PeerId { tier: Tier::Primary, index: 0 }).fails, 0);
}

#[test]
fn a_down_entry_cancels_the_single_server_exemption() {
    let servers = [spec("a", 1), down("b")];
    let mut g = group(MethodKind::RoundRobin, &servers);
    assert!(!g.is_single());
    fail_everywhere(&mut g, 0);
    assert_eq!(serve(&mut g, b"", 1), None, "a is quarantined like any server");
}

#[test]
fn a_backup_cancels_the_single_server_exemption() {
    let g = group(MethodKind::RoundRobin, &[spec("a", 1), backup("x")]);
    assert!(!g.is_single());
}

#[test]
fn a_failure_lowers_a_servers_share_until_its_weight_regrows() {
    let servers = [spec("a", 1), spec("b", 4)];
    let mut servers = servers.to_vec();
    servers[1].params.max_fails = 4; // each failure costs weight/max_fails = 1
    let mut g = group(MethodKind::RoundRobin, &servers);
    let b = PeerId { tier: Tier::Primary, index: 1 };
    let mut a = g.start(0, 0);
    let first = g.pick(&mut a, b"", 0).expect("live");
    assert_eq!(first, b);
    g.finish(&mut a, first, Outcome::Failed, 0);
    assert_eq!(g.peer(b).effective_weight, 3);
    serve(&mut g, b"", 1);
    assert_eq!(g.peer(b).effective_weight, 4, "+1 per selection pass");
}

#[test]
fn least_conn_prefers_the_server_with_fewer_requests_in_flight() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = group(MethodKind::LeastConn, &servers);
    let mut busy = g.start(0, 0);
    let first = g.pick(&mut busy, b"", 0).expect("live");
    for _ in 0..5 {
        let id = serve(&mut g, b"", 0).expect("live");
        assert_ne!(id, first, "the busy server is avoided");
    }
}

#[test]
fn least_conn_breaks_ties_by_weighted_round_robin() {
    let servers = [spec("a", 2), spec("b", 1)];
    let mut g = group(MethodKind::LeastConn, &servers);
    let name = names(&servers);
    let seq: Vec<String> = (0..6).map(|_| name(serve(&mut g, b"", 0).expect("live"))).collect();
    assert_eq!(seq.join(" "), "a b a a b a");
}

#[test]
fn least_conn_compares_load_relative_to_weight() {
    let servers = [spec("a", 3), spec("b", 1)];
    let mut g = group(MethodKind::LeastConn, &servers);
    let mut held = vec![];
    for _ in 0..2 {
        let mut a = g.start(0, 0);
        held.push(g.pick(&mut a, b"", 0).expect("live").index);
    }
    assert_eq!(held, [0, 1], "a tie goes to a by WRR, then b is idle");
    // In flight: a 1 of weight 3, b 1 of weight 1: a is less loaded.
    let mut a = g.start(0, 0);
    assert_eq!(g.pick(&mut a, b"", 0).expect("live").index, 0);
}

#[test]
fn ip_hash_keys_on_the_first_three_octets() {
    let servers = [spec("a", 1), spec("b", 1), spec("c", 1), spec("d", 1)];
    let mut g = group(MethodKind::IpHash, &servers);
    let first = serve(&mut g, &[10, 1, 2], 0);
    for _ in 0..5 {
        assert_eq!(serve(&mut g, &[10, 1, 2], 0), first, "same /24, same server");
    }
    let spread: std::collections::HashSet<_> =
        (0..50u8).map(|i| serve(&mut g, &[10, i, 7], 0).expect("live").index).collect();
    assert!(spread.len() > 1, "different networks spread over servers");
}

#[test]
fn ip_hash_rehashes_past_an_unusable_server_and_stays_stable() {
    let servers = [spec("a", 1), spec("b", 1), spec("c", 1)];
    let mut g = group(MethodKind::IpHash, &servers);
    let home = serve(&mut g, &[192, 168, 5], 0).expect("live");
    let mut a = g.start(0, 0);
    let id = g.pick(&mut a, &[192, 168, 5], 0).expect("live");
    assert_eq!(id, home);
    g.finish(&mut a, id, Outcome::Failed, 0);
    let moved = serve(&mut g, &[192, 168, 5], 1).expect("live");
    assert_ne!(moved, home);
    for _ in 0..3 {
        assert_eq!(serve(&mut g, &[192, 168, 5], 2), Some(moved), "rehash is deterministic");
    }
    assert_eq!(serve(&mut g, &[192, 168, 5], 10_001), Some(home), "home again after fail_timeout");
}

#[test]
fn hash_falls_back_to_round_robin_after_twenty_unusable_picks() {
    // Only one of many servers is usable: the rehash walk may miss it 20 times,
    // after which round robin must still find it.
    let mut servers: Vec<ServerSpec> = (0..30).map(|i| down(&format!("s{i}"))).collect();
    servers.push(spec("live", 1));
    let mut g = group(MethodKind::Hash, &servers);
    for k in 0..50 {
        let key = format!("user{k}");
        let id = serve(&mut g, key.as_bytes(), 0).expect("round robin finds the live server");
        assert_eq!(id.index, 30);
    }
}

#[test]
fn an_empty_hash_key_uses_round_robin() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = group(MethodKind::Hash, &servers);
    let seq: Vec<u16> = (0..4).map(|_| serve(&mut g, b"", 0).expect("live").index).collect();
    assert_eq!(seq, [0, 1, 0, 1]);
}

#[test]
fn consistent_hash_moves_only_the_keys_of_a_removed_server() {
    let five: Vec<ServerSpec> = (1..=5).map(|i| spec(&format!("10.0.0.{i}:80"), 1)).collect();
    let mut g5 = group(MethodKind::ConsistentHash, &five);
    let mut g4 = group(MethodKind::ConsistentHash, &five[..4]);
    let (mut moved, mut lost) = (0, 0);
    let n = 5000;
    for k in 0..n {
        let key = format!("key-{k}");
        let before = serve(&mut g5, key.as_bytes(), 0).expect("live");
        let after = serve(&mut g4, key.as_bytes(), 0).expect("live");
        if before.index == 4 {
            lost += 1;
        } else if before != after {
            moved += 1;
        }
    }
    assert_eq!(moved, 0, "keys of surviving servers stay put");
    let share = lost as f64 / n as f64;
    assert!((0.12..0.28).contains(&share), "about 1/5 of keys remapped, got {share}");
}

#[test]
fn consistent_hash_skips_a_quarantined_server_and_returns_after_fail_timeout() {
    let servers: Vec<ServerSpec> = (1..=3).map(|i| spec(&format!("10.0.0.{i}:80"), 1)).collect();
    let mut g = group(MethodKind::ConsistentHash, &servers);
    let home = serve(&mut g, b"alice", 0).expect("live");
    let mut a = g.start(0, 0);
    let id = g.pick(&mut a, b"alice", 0).expect("live");
    g.finish(&mut a, id, Outcome::Failed, 0);
    let moved = serve(&mut g, b"alice", 1).expect("live");
    assert_ne!(moved, home);
    assert_eq!(serve(&mut g, b"alice", 10_001), Some(home));
}

#[test]
fn mandatory_checks_keep_servers_out_until_they_pass_once() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = Group::new(MethodKind::RoundRobin, &servers, Recovery::ByActiveCheck, ActiveState::Checking);
    assert_eq!(serve(&mut g, b"", 0), None);
    g.peer_mut(PeerId { tier: Tier::Primary, index: 1 }).active = ActiveState::Up;
    assert_eq!(serve(&mut g, b"", 0).map(|p| p.index), Some(1));
}

/// Requests that each take `time_us` on the server they land on (by name),
/// `n` of them one after another: how many each server got.
fn timed_run(g: &mut Group, servers: &[ServerSpec], n: usize, time_us: impl Fn(&str) -> i64, start: i64) -> Vec<usize> {
    let name = names(servers);
    let mut counts = vec![0; servers.len()];
    for i in 0..n {
        let now = start + i as i64;
        let mut a = g.start(0, now);
        let id = g.pick(&mut a, b"", now).expect("a pick");
        let n = name(id);
        counts[servers.iter().position(|s| s.name == n).unwrap_or(0)] += 1;
        g.finish_timed(&mut a, id, Outcome::Passed, Some(time_us(&n)), now);
    }
    counts
}

#[test]
fn least_time_sends_the_sequential_load_to_the_fastest_server_once_each_was_measured() {
    let servers = [spec("fast", 1), spec("slow", 1), spec("mid", 1)];
    let mut g = group(MethodKind::LeastTime, &servers);
    let time = |n: &str| match n {
        "fast" => 1_000,
        "mid" => 5_000,
        _ => 50_000,
    };
    let counts = timed_run(&mut g, &servers, 100, time, 0);
    assert!(counts[0] >= 97, "fast gets nearly everything: {counts:?}");
    assert!(counts[1] >= 1 && counts[2] >= 1, "each is measured at least once: {counts:?}");
}

#[test]
fn least_time_weighs_in_flight_requests_so_a_fast_server_is_not_buried() {
    let servers = [spec("fast", 1), spec("slow", 1)];
    let mut g = group(MethodKind::LeastTime, &servers);
    let name = names(&servers);
    // Measured: fast 1 ms, slow 3 ms.
    for (n, t) in [("fast", 1_000), ("slow", 3_000)] {
        for _ in 0..2 {
            let mut a = g.start(0, 0);
            let id = g.pick(&mut a, b"", 0).expect("a pick");
            let us = if name(id) == n {
                t
            } else if n == "fast" {
                3_000
            } else {
                1_000
            };
            g.finish_timed(&mut a, id, Outcome::Passed, Some(us), 0);
        }
    }
    // 8 requests held in flight at once: score = avg x (conns + 1).
    let held: Vec<String> = (0..8)
        .map(|_| {
            let mut a = g.start(0, 1);
            name(g.pick(&mut a, b"", 1).expect("a pick"))
        })
        .collect();
    let fast = held.iter().filter(|n| *n == "fast").count();
    assert_eq!(fast, 6, "1 ms x 7 > 3 ms x 2 while 1 ms x 6 < 3 ms x 3: {held:?}");
}

#[test]
fn a_slow_average_fades_so_the_server_is_tried_again() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = group(MethodKind::LeastTime, &servers);
    let time = |n: &str| if n == "a" { 1_000 } else { 64_000 };
    assert_eq!(timed_run(&mut g, &servers, 2, time, 0), vec![1, 1], "each measured once");
    // One request a second: a stays at 1 ms; b's 64 ms halves every 10 s
    // unsampled: after 60 s it is 1 ms too, a tie smooth WRR soon gives b.
    let mut back = None;
    for second in 1..=80 {
        if timed_run(&mut g, &servers, 1, time, second * 1_000)[1] == 1 {
            back = Some(second);
            break;
        }
    }
    assert!(back.is_some_and(|s| (61..=62).contains(&s)), "b is tried again once its average faded: {back:?}");
}

#[test]
fn random_draws_in_proportion_to_weight() {
    let servers = [spec("a", 3), spec("b", 1)];
    let mut g = group(MethodKind::Random(None), &servers);
    g.seed(42);
    let counts = timed_run(&mut g, &servers, 4_000, |_| 1, 0);
    assert!((2_800..3_200).contains(&counts[0]), "a ~3/4: {counts:?}");
}

#[test]
fn random_two_least_conn_never_picks_the_busier_of_two() {
    let servers = [spec("a", 1), spec("b", 1)];
    let mut g = group(MethodKind::Random(Some(TwoBy::LeastConn)), &servers);
    g.seed(7);
    let name = names(&servers);
    // With two servers, both are always drawn: the one with fewer in flight wins.
    let held: Vec<String> = (0..10)
        .map(|_| {
            let mut a = g.start(0, 0);
            name(g.pick(&mut a, b"", 0).expect("a pick"))
        })
        .collect();
    let a = held.iter().filter(|n| *n == "a").count();
    assert_eq!(a, 5, "kept level: {held:?}");
}

#[test]
fn random_with_different_seeds_draws_differently() {
    let servers = [spec("a", 1), spec("b", 1), spec("c", 1)];
    let draws = |seed| {
        let mut g = group(MethodKind::Random(None), &servers);
        g.seed(seed);
        let name = names(&servers);
        (0..32).map(|_| name(serve(&mut g, b"", 0).expect("a pick"))).collect::<Vec<_>>()
    };
    assert_eq!(draws(1), draws(1));
    assert_ne!(draws(1), draws(2));
}

#[test]
fn a_server_that_comes_back_with_slow_start_gets_a_ramped_share() {
    let mut servers = [spec("a", 1), spec("b", 1)];
    servers[1].params.slow_start = 10_000;
    let mut g = group(MethodKind::RoundRobin, &servers);
    let b = PeerId { tier: Tier::Primary, index: 1 };
    g.peer_mut(b).active = ActiveState::Down;
    g.peer_mut(b).set_active(ActiveState::Up, 0);
    let share = |g: &mut Group, at: i64| {
        let name = names(&servers);
        (0..1_000).filter(|_| name(serve(g, b"", at).expect("a pick")) == "b").count()
    };
    let early = share(&mut g, 1_000);
    let half = share(&mut g, 5_000);
    let done = share(&mut g, 10_000);
    assert!((80..100).contains(&early), "1/10 of its weight: ~1/11 of requests, got {early}");
    assert!((320..350).contains(&half), "1/2 of its weight: 1/3 of requests, got {half}");
    assert_eq!(done, 500, "full weight after slow_start");
}

#[test]
fn least_conn_with_slow_start_gives_a_ramping_server_its_share_of_concurrency() {
    let mut servers = [spec("a", 1), spec("b", 1)];
    servers[1].params.slow_start = 10_000;
    let mut g = group(MethodKind::LeastConn, &servers);
    let b = PeerId { tier: Tier::Primary, index: 1 };
    g.peer_mut(b).start_ramp(0);
    let name = names(&servers);
    // 40 requests held at 2.5 s: b has a quarter of a's weight.
    let to_b = (0..40)
        .filter(|_| {
            let mut a = g.start(0, 2_500);
            name(g.pick(&mut a, b"", 2_500).expect("a pick")) == "b"
        })
        .count();
    assert!((7..=9).contains(&to_b), "about 1/5 of the concurrency: {to_b}");
}
