//! The client side's limits and timeouts through the real proxy: each one
//! refuses what it should with its status and a close, counts the refusal,
//! forwards nothing refused, and follows a reload.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::raw;
use common::*;

fn proxy(up: &Upstream, keys: &str) -> Proxy {
    Proxy::start(&format!("{keys}{}", app(&[], &[(up, "")])))
}

fn refusals(p: &Proxy, reason: &str) -> u64 {
    p.status()["client_refusals"][reason].as_u64().unwrap_or(u64::MAX)
}

fn status_of(out: &[u8]) -> String {
    String::from_utf8_lossy(out).split(' ').nth(1).unwrap_or("").to_string()
}

#[test]
fn a_body_over_client_max_body_size_gets_413_and_is_not_forwarded() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "client_max_body_size: 10\n");
    let out = raw::send_and_read_all(p.addr, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0123456789a");
    assert_eq!(status_of(&out), "413", "{}", String::from_utf8_lossy(&out));
    let chunked =
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n6789ab\r\n0\r\n\r\n";
    assert_eq!(status_of(&raw::send_and_read_all(p.addr, chunked)), "413", "chunked data counts too");
    assert_eq!(up.hits(), 0);
    let ok = p.send("POST", "/", &[], b"0123456789");
    assert_eq!(ok.status, 200, "at the limit is fine");
    assert_eq!(refusals(&p, "body_too_large"), 2);
}

#[test]
fn header_lines_and_counts_over_the_limits_are_refused() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "large_client_header_buffers: { number: 2, size: 1k }\nclient_max_headers: 5\n");
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(1100));
    assert_eq!(status_of(&raw::send_and_read_all(p.addr, long_line.as_bytes())), "414");
    let long_field = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(1100));
    assert_eq!(status_of(&raw::send_and_read_all(p.addr, long_field.as_bytes())), "431");
    let many: String = (0..6).map(|i| format!("X-{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(status_of(&raw::send_and_read_all(p.addr, many.as_bytes())), "431");
    let total: String = (0..3).map(|i| format!("X-{i}: {}\r\n", "c".repeat(900))).collect();
    let total = format!("GET / HTTP/1.1\r\nHost: x\r\n{total}\r\n");
    assert_eq!(status_of(&raw::send_and_read_all(p.addr, total.as_bytes())), "431", "over number x size in all");
    assert_eq!(up.hits(), 0);
    assert_eq!(refusals(&p, "uri_too_long"), 1);
    assert_eq!(refusals(&p, "header_too_large"), 3);
    assert!(p.metrics().contains("tandem_client_refusals_total{reason=\"header_too_large\"} 3"));
    assert_eq!(p.get("/").status, 200);
}

#[test]
fn keepalive_requests_ends_a_connection_after_that_many() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "keepalive_requests: 3\n");
    let mut s = raw::connect(p.addr);
    let mut pending = Vec::new();
    for i in 1..=3 {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let (head, _) = raw::read_message(&mut s, &mut pending, false).expect("answer");
        assert_eq!(head.contains("Connection: close"), i == 3, "request {i}: {head}");
    }
    assert!(raw::closed_by_server(&mut s));
}

#[test]
fn keepalive_timeout_closes_an_idle_connection_and_zero_turns_keep_alive_off() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "keepalive_timeout: 500ms\n");
    let mut s = raw::connect(p.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    assert!(raw::read_message(&mut s, &mut Vec::new(), false).is_some());
    let idle = Instant::now();
    assert!(raw::closed_by_server(&mut s), "closed while idle");
    assert!(idle.elapsed() < Duration::from_secs(4), "by the keep-alive timeout, not the client's");
    let off = proxy(&up, "keepalive_timeout: 0s\n");
    let out = raw::send_and_read_all(off.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(String::from_utf8_lossy(&out).contains("Connection: close"), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn a_head_trickling_past_client_header_timeout_is_closed_and_counted() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "client_header_timeout: 1s\n");
    let mut s = raw::connect(p.addr);
    let start = Instant::now();
    // One byte every 200 ms: each read comes well within the timeout, the
    // whole head never does (it would take 12 s).
    for b in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
        if s.write_all(&[*b]).is_err() || start.elapsed() > Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(raw::closed_by_server(&mut s), "closed, without an answer");
    assert!(start.elapsed() < Duration::from_secs(7), "by the header timeout");
    assert_eq!(up.hits(), 0);
    assert_eq!(refusals(&p, "header_timeout"), 1);
}

#[test]
fn max_client_connections_answers_503_when_full_and_frees_places() {
    let up = Upstream::start("a", Behavior::Name);
    let p = proxy(&up, "max_client_connections: 2\n");
    // The harness's own readiness probe is a connection too, until tandem
    // has seen it close.
    wait_open(&p, 0);
    let (mut a, mut b) = (raw::connect(p.addr), raw::connect(p.addr));
    for s in [&mut a, &mut b] {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        assert!(raw::read_message(s, &mut Vec::new(), false).is_some(), "held connections are served");
    }
    let third = raw::send_and_read_all(p.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_of(&third), "503", "{}", String::from_utf8_lossy(&third));
    assert_eq!(refusals(&p, "connections"), 1);
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = raw::send_and_read_all(p.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if status_of(&again) == "200" {
            break;
        }
        assert!(Instant::now() < deadline, "a closed connection's place came free");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_open(&p, 1);
}

/// Wait until the listener counts `n` open client connections.
fn wait_open(p: &Proxy, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.status()["listeners"][0]["open"] != n {
        assert!(Instant::now() < deadline, "open connections: {}", p.status()["listeners"]);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reload_changes_the_limits_of_the_next_requests() {
    let up = Upstream::start("a", Behavior::Name);
    let body = app(&[], &[(&up, "")]);
    let p = Proxy::start(&body);
    assert_eq!(p.send("POST", "/", &[], &[b'x'; 100]).status, 200);
    assert_eq!(p.reload(&format!("client_max_body_size: 50\n{body}"))["ok"], true);
    assert_eq!(p.send("POST", "/", &[], &[b'x'; 100]).status, 413);
}
