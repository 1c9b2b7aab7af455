//! Differential tests against real nginx: the same upstream group, written once
//! in nginx syntax and once in tandem YAML, gets the same requests, and the two
//! proxies must answer from the same servers in the same order, with the same
//! statuses, after trying the same servers.
//!
//! nginx is the Debian package `nginx-light` (/usr/sbin/nginx), run in the
//! foreground as a single process (`master_process off`: one process holds the
//! balancer state, as one worker does, and killing the child leaves no orphan
//! worker behind) with its prefix, config, logs and temp paths in a temp dir.
//!
//! Two ways to run a scenario:
//! - separate upstream sets: each proxy has its own scripted servers with the
//!   same names; every behaviour change and pause applies to both at the same
//!   point, and each request goes to nginx then to tandem (for anything with
//!   failure state);
//! - one shared set: first every request through nginx, then every request
//!   through tandem (for stateless hashing, where the ring is built from the
//!   server addresses as written, which must therefore be identical).
//!
//! The machinery (nginx process, group rendering, traces, runners) lives in
//! `differential/mod.rs`; this file holds only the scenarios.
//!
//! Each request is recorded as `answering-upstream status tried[...]`, where
//! `tried` lists the servers that received the request during it (from their
//! hit counters; a refused connection leaves no hit).

mod common;
mod differential;

use common::Behavior;
use differential::*;
use std::net::{IpAddr, Ipv4Addr};

// ---------------------------------------------------------------------------
// 1. Smooth weighted round robin
// ---------------------------------------------------------------------------

#[test]
fn weighted_round_robin_5_1_1_matches_nginx() {
    let g = group(Balance::RoundRobin, vec![srv("a").weight(5), srv("b"), srv("c")]);
    run_separate("rr 5/1/1", &g, &[Step::Send("rr", gets(21))]);
}

#[test]
fn weighted_round_robin_3_2_1_1_matches_nginx() {
    let g = group(Balance::RoundRobin, vec![srv("a").weight(3), srv("b").weight(2), srv("c"), srv("d")]);
    run_separate("rr 3/2/1/1", &g, &[Step::Send("rr", gets(21))]);
}

#[test]
fn weighted_round_robin_with_a_down_server_matches_nginx() {
    let g =
        group(Balance::RoundRobin, vec![srv("a").weight(2), srv("b").weight(4).down(), srv("c").weight(3), srv("d")]);
    run_separate("rr 2/down/3/1", &g, &[Step::Send("rr", gets(18))]);
}

// ---------------------------------------------------------------------------
// 2. max_fails / fail_timeout: failures, quarantine, probes, recovery
// ---------------------------------------------------------------------------

/// a (weight 4, max_fails=2, fail_timeout=2s) starts resetting connections and
/// is quarantined after two failures, losing effective weight; c (max_fails=1
/// fail_timeout=2s) is shut down (refused). After fail_timeout both are probed
/// by one client request each and fail again; then a is healthy again, and
/// after another fail_timeout its probe succeeds and its weight regrows while
/// c keeps failing its probes.
#[test]
fn max_fails_quarantine_probe_and_recovery_match_nginx() {
    let g = group(Balance::RoundRobin, vec![srv("a").weight(4).fails(2, 2), srv("b").weight(2), srv("c").fails(1, 2)]);
    run_separate(
        "max_fails/fail_timeout",
        &g,
        &[
            Step::Send("healthy", gets(14)),
            Step::Set("a", Behavior::Reset),
            Step::Send("a-resets", gets(10)),
            Step::Stop("c"),
            Step::Send("c-refused", gets(6)),
            Step::Sleep(PAST_FAIL_TIMEOUT_2S),
            Step::Send("probes-fail", gets(10)),
            Step::Set("a", Behavior::Name),
            Step::Sleep(PAST_FAIL_TIMEOUT_2S),
            Step::Send("a-recovers", gets(24)),
        ],
    );
}

/// Listed statuses: `proxy_next_upstream error timeout http_503`. A 503 moves
/// the request on and counts as a failure, except on the last possible try
/// (passed to the client and recorded as a success) and for POST (not
/// idempotent: passed through as a success, which also ends a quarantine
/// when the POST was the probe).
#[test]
fn http_503_failures_match_nginx() {
    let mut g = group(Balance::RoundRobin, vec![srv("a").fails(1, 2), srv("b").fails(1, 2), srv("c").fails(1, 2)]);
    g.next_upstream = &["error", "timeout", "http_503"];
    let posts = vec![Req { method: "POST", path: "/".to_string(), from: None }; 4];
    run_separate(
        "http_503",
        &g,
        &[
            Step::Send("healthy", gets(6)),
            Step::Set("b", Behavior::Status(503)),
            Step::Send("post-b-503", posts.clone()),
            Step::Send("get-b-503", gets(6)),
            Step::Sleep(PAST_FAIL_TIMEOUT_2S),
            Step::Set("a", Behavior::Status(503)),
            Step::Set("c", Behavior::Status(503)),
            Step::Send("all-503", gets(6)),
            Step::Sleep(PAST_FAIL_TIMEOUT_2S),
            Step::Set("a", Behavior::Name),
            Step::Set("b", Behavior::Name),
            Step::Send("only-c-503", gets(6)),
            Step::Sleep(PAST_FAIL_TIMEOUT_2S),
            Step::Send("post-c-503", posts),
            Step::Set("c", Behavior::Name),
            Step::Send("all-healthy", gets(9)),
        ],
    );
}

// ---------------------------------------------------------------------------
// 3. Backup servers
// ---------------------------------------------------------------------------

#[test]
fn backup_servers_take_over_as_in_nginx() {
    let g = group(Balance::RoundRobin, vec![srv("a"), srv("b"), srv("x").weight(2).backup(), srv("y").backup()]);
    run_separate(
        "backup",
        &g,
        &[
            Step::Send("healthy", gets(6)),
            Step::Set("b", Behavior::Reset),
            Step::Send("b-resets", gets(5)),
            Step::Set("a", Behavior::Reset),
            Step::Send("primaries-out", gets(9)),
            Step::Set("x", Behavior::Reset),
            Step::Send("x-resets", gets(4)),
            Step::Set("y", Behavior::Reset),
            Step::Send("everything-out", gets(3)),
        ],
    );
}

// ---------------------------------------------------------------------------
// 4. ip_hash
// ---------------------------------------------------------------------------

/// Clients from 24 different /24 networks (127.A.B.1), each twice.
fn ip_hash_requests() -> Vec<Req> {
    let mut reqs = Vec::new();
    for i in 0..24u8 {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 1 + i * 7 % 250, i.wrapping_mul(37), 1));
        for _ in 0..2 {
            reqs.push(Req { method: "GET", path: "/".to_string(), from: Some(ip) });
        }
    }
    reqs
}

#[test]
fn ip_hash_maps_client_networks_as_nginx() {
    let g = group(Balance::IpHash, vec![srv("a"), srv("b"), srv("c"), srv("d")]);
    run_shared("ip_hash", &g, &ip_hash_requests());
}

#[test]
fn ip_hash_with_a_down_server_rehashes_as_nginx() {
    let g = group(Balance::IpHash, vec![srv("a"), srv("b"), srv("c").down(), srv("d")]);
    run_shared("ip_hash down", &g, &ip_hash_requests());
}

#[test]
fn ip_hash_with_weights_matches_nginx() {
    let g = group(Balance::IpHash, vec![srv("a").weight(2), srv("b"), srv("c").weight(3), srv("d")]);
    run_shared("ip_hash weights", &g, &ip_hash_requests());
}

/// b resets every connection: its clients fail over (rehash) on the first
/// request, then skip it while it is quarantined.
#[test]
fn ip_hash_with_a_failing_server_rehashes_as_nginx() {
    let g = group(Balance::IpHash, vec![srv("a"), srv("b").fails(1, 30).behaving(Behavior::Reset), srv("c"), srv("d")]);
    run_shared("ip_hash failing", &g, &ip_hash_requests());
}

// ---------------------------------------------------------------------------
// 5. hash $arg_k [consistent]
// ---------------------------------------------------------------------------

fn key_requests(n: usize) -> Vec<Req> {
    (0..n).map(|i| get(&format!("/?k=user{i}"))).collect()
}

#[test]
fn consistent_hash_maps_keys_as_nginx() {
    let g = group(Balance::ConsistentArgK, vec![srv("a"), srv("b"), srv("c").weight(2), srv("d")]);
    run_shared("hash consistent", &g, &key_requests(60));
}

#[test]
fn plain_hash_maps_keys_as_nginx() {
    let g = group(Balance::HashArgK, vec![srv("a"), srv("b").weight(2), srv("c"), srv("d")]);
    run_shared("hash", &g, &key_requests(60));
}

#[test]
fn consistent_hash_with_a_down_and_a_failing_server_matches_nginx() {
    let g = group(
        Balance::ConsistentArgK,
        vec![srv("a"), srv("b").down(), srv("c").fails(1, 30).behaving(Behavior::Reset), srv("d"), srv("e")],
    );
    run_shared("hash consistent down/failing", &g, &key_requests(60));
}

#[test]
fn plain_hash_with_a_down_and_a_failing_server_matches_nginx() {
    let g = group(
        Balance::HashArgK,
        vec![srv("a"), srv("b").down(), srv("c").fails(1, 30).behaving(Behavior::Reset), srv("d"), srv("e")],
    );
    run_shared("hash down/failing", &g, &key_requests(60));
}

/// How `$arg_k` is read: missing or empty (both fall back to round robin),
/// repeated (the first wins), percent-encoded or with `+` (raw, not decoded),
/// a longer name that starts with `k`.
fn key_edge_case_requests() -> Vec<Req> {
    [
        "/",
        "/?k=",
        "/?x=1",
        "/?k=alpha",
        "/?k=alpha&k=beta",
        "/?x=1&k=beta",
        "/?kk=alpha",
        "/?k=a%20b",
        "/?k=a+b",
        "/?k&x=1",
        "/",
        "/?k=",
        "/?x=2",
        "/?k=alpha",
    ]
    .iter()
    .map(|p| get(p))
    .collect()
}

#[test]
fn plain_hash_key_edge_cases_match_nginx() {
    let g = group(Balance::HashArgK, vec![srv("a"), srv("b"), srv("c"), srv("d")]);
    run_shared("hash key edge cases", &g, &key_edge_case_requests());
}

#[test]
fn consistent_hash_key_edge_cases_match_nginx() {
    let g = group(Balance::ConsistentArgK, vec![srv("a"), srv("b"), srv("c"), srv("d")]);
    run_shared("hash consistent key edge cases", &g, &key_edge_case_requests());
}

/// nginx finds `$arg_NAME` whatever the case of the name in the query
/// (`ngx_http_arg` compares with `ngx_strlcasestrn`): `?K=alpha` and
/// `?USER=bob` hash as `?k=alpha` and `?user=bob`.
fn arg_case_requests() -> Vec<Req> {
    let mut reqs = Vec::new();
    for i in 0..8 {
        reqs.push(get(&format!("/?k=key{i}")));
        reqs.push(get(&format!("/?K=key{i}")));
    }
    reqs
}

#[test]
fn plain_hash_arg_name_case_matches_nginx() {
    let g = group(Balance::HashArgK, vec![srv("a"), srv("b"), srv("c"), srv("d")]);
    run_shared("hash $arg_k vs ?K=", &g, &arg_case_requests());
}

#[test]
fn consistent_hash_arg_name_case_matches_nginx() {
    let g = group(Balance::ConsistentArgK, vec![srv("a"), srv("b"), srv("c"), srv("d")]);
    run_shared("hash $arg_k consistent vs ?K=", &g, &arg_case_requests());
}
