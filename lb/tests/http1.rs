//! HTTP/1.1 through the real proxy, byte for byte: pipelining, chunked
//! bodies both ways (de-chunked for HTTP/1.0 clients), large bodies,
//! 100-continue, upgrades, HEAD, and malformed requests that never reach
//! an upstream.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::raw::{self, RawUpstream};
use common::*;

fn proxy_to(addr: std::net::SocketAddr) -> Proxy {
    proxy_with(addr, "")
}

/// A proxy for `addr` with more top-level keys (`"client_max_body_size: 0\n"`).
fn proxy_with(addr: std::net::SocketAddr, keys: &str) -> Proxy {
    Proxy::start(&format!("{keys}upstreams:\n  app:\n    servers:\n      - {{ addr: \"{addr}\" }}\n"))
}

/// Each request an upstream saw: its head and its body as framed.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An upstream that records each request (head and framed body) and
/// answers `reply` on a kept-alive connection.
fn recording(reply: &'static [u8]) -> (RawUpstream, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let up = RawUpstream::start(move |mut s| {
        let mut pending = Vec::new();
        while let Some(msg) = raw::read_message(&mut s, &mut pending, false) {
            log.lock().expect("lock").push(msg);
            if s.write_all(reply).is_err() {
                return;
            }
        }
    });
    (up, seen)
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .expect("send");
    let mut pending = Vec::new();
    for _ in 0..3 {
        let (head, body) = raw::read_message(&mut s, &mut pending, false).expect("a response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"ok");
    }
    let paths: Vec<String> =
        seen.lock().expect("lock").iter().map(|(h, _)| h.split(' ').nth(1).unwrap_or("").to_string()).collect();
    assert_eq!(paths, ["/a", "/b", "/c"]);
}

#[test]
fn a_chunked_request_body_reaches_the_upstream_as_sent() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").expect("head");
    s.write_all(body).expect("body");
    let (head, _) = raw::read_message(&mut s, &mut Vec::new(), false).expect("response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = seen.lock().expect("lock");
    assert!(seen[0].0.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{}", seen[0].0);
    assert_eq!(seen[0].1, body);
}

fn chunked_upstream() -> RawUpstream {
    RawUpstream::start(|mut s| {
        let mut pending = Vec::new();
        while raw::read_message(&mut s, &mut pending, false).is_some() {
            let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
            if s.write_all(reply).is_err() {
                return;
            }
        }
    })
}

#[test]
fn a_chunked_response_passes_to_http_1_1_clients_as_chunks() {
    let up = chunked_upstream();
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let (head, body) = raw::read_message(&mut s, &mut Vec::new(), false).expect("response");
    assert!(head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    assert_eq!(raw::dechunk(&body), b"abcdefg");
    s.write_all(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n").expect("the connection stays open");
    assert!(raw::read_message(&mut s, &mut Vec::new(), false).is_some());
}

#[test]
fn an_http_1_0_client_gets_the_chunked_body_plain_and_a_close() {
    let up = chunked_upstream();
    let proxy = proxy_to(up.addr);
    let out = raw::send_and_read_all(proxy.addr, b"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding"), "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(body, "abcdefg");
}

#[test]
fn large_bodies_arrive_whole_both_ways() {
    const SIZE: usize = 3 * 1024 * 1024 + 17;
    let up = RawUpstream::start(|mut s| {
        let mut pending = Vec::new();
        while let Some((_, body)) = raw::read_message(&mut s, &mut pending, false) {
            // Echo the body back with a length.
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            if s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body)).is_err() {
                return;
            }
        }
    });
    let proxy = proxy_with(up.addr, "client_max_body_size: 0\n");
    let body: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let mut s = raw::connect(proxy.addr);
    s.write_all(format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes()).expect("head");
    let writer = {
        let mut s = s.try_clone().expect("clone");
        let body = body.clone();
        std::thread::spawn(move || s.write_all(&body).expect("body"))
    };
    let (head, echoed) = raw::read_message(&mut s, &mut Vec::new(), false).expect("response");
    writer.join().expect("sent");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(echoed.len(), SIZE);
    assert!(echoed == body, "the body came back unchanged");
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n").expect("head");
    let mut pending = Vec::new();
    let (interim, _) = raw::read_message(&mut s, &mut pending, true).expect("100");
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    s.write_all(b"data").expect("body");
    let (head, _) = raw::read_message(&mut s, &mut pending, false).expect("response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen[0].1, b"data");
    assert!(!seen[0].0.to_ascii_lowercase().contains("expect:"), "tandem answered it: {}", seen[0].0);
}

/// An upstream that switches protocols and then echoes what it reads.
fn echo_after_upgrade(accept: bool) -> RawUpstream {
    RawUpstream::start(move |mut s| {
        let mut pending = Vec::new();
        let Some((head, _)) = raw::read_message(&mut s, &mut pending, false) else { return };
        let lower = head.to_ascii_lowercase();
        if !accept || !lower.contains("upgrade: websocket") || !lower.contains("connection: upgrade") {
            let _ = s.write_all(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\n\r\nnope");
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        let _ = s.write_all(&pending);
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

#[test]
fn an_upgrade_is_tunneled_both_ways() {
    let up = echo_after_upgrade(true);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(UPGRADE).expect("upgrade");
    let mut pending = Vec::new();
    let (head, _) = raw::read_message(&mut s, &mut pending, true).expect("101");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: websocket"), "{head}");
    for msg in [&b"ping"[..], b"a longer frame of bytes", &[0u8, 255, 10, 13]] {
        s.write_all(msg).expect("send");
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got).expect("echo");
        assert_eq!(got, msg);
    }
}

#[test]
fn an_upstream_that_refuses_the_upgrade_is_answered_as_it_answered() {
    let up = echo_after_upgrade(false);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(UPGRADE).expect("upgrade");
    let (head, body) = raw::read_message(&mut s, &mut Vec::new(), false).expect("answer");
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert_eq!(body, b"nope");
}

#[test]
fn a_head_request_gets_the_length_but_no_body() {
    let (up, _) = recording(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut pending = Vec::new();
    let (head, body) = raw::read_message(&mut s, &mut pending, true).expect("HEAD answer");
    assert!(head.contains("Content-Length: 5"), "{head}");
    assert!(body.is_empty());
    // The next answer starts right after: no body bytes were in between.
    let (next, _) = raw::read_message(&mut s, &mut pending, true).expect("next answer");
    assert!(next.starts_with("HTTP/1.1 200"), "{next}");
}

#[test]
fn malformed_requests_get_their_status_and_a_close_and_reach_no_upstream() {
    let up = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&up, "")]));
    let cases: [(&[u8], &str); 5] = [
        (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501"),
        (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", "505"),
    ];
    for (request, status) in cases {
        let out = raw::send_and_read_all(proxy.addr, request);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{request:?}: {text}");
        assert!(text.contains("Connection: close"), "{text}");
    }
    let mut long = b"GET /".to_vec();
    long.extend(std::iter::repeat_n(b'a', 40 * 1024));
    let out = raw::send_and_read_all(proxy.addr, &long);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 414 "), "a request line over the head limit");
    assert_eq!(up.hits(), 0, "nothing was forwarded");
}

#[test]
fn a_bad_chunked_request_body_gets_400_and_a_close() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        .expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400 "), "{}", String::from_utf8_lossy(&out));
    assert!(seen.lock().expect("lock").is_empty());
}

#[test]
fn an_idle_client_connection_is_kept_for_the_next_request() {
    let (up, _) = recording(OK);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    let mut pending = Vec::new();
    for i in 0..3 {
        s.write_all(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).expect("send");
        assert!(raw::read_message(&mut s, &mut pending, false).is_some(), "answer {i}");
        std::thread::sleep(Duration::from_millis(200));
    }
    s.write_all(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("send");
    let (head, _) = raw::read_message(&mut s, &mut pending, false).expect("last answer");
    assert!(head.contains("Connection: close"), "{head}");
    assert!(raw::closed_by_server(&mut s));
    let _ = TcpStream::connect(proxy.addr).expect("still accepting");
}

#[test]
fn an_early_answer_while_a_large_body_streams_reaches_the_client() {
    // The upstream refuses the upload after its head, without reading the body.
    let up = RawUpstream::start(|mut s| {
        let mut pending = Vec::new();
        let mut chunk = [0u8; 4096];
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = s.write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig");
        std::thread::sleep(Duration::from_millis(200));
    });
    let proxy = proxy_with(up.addr, "client_max_body_size: 0\n");
    let size = 4 * 1024 * 1024;
    let mut s = raw::connect(proxy.addr);
    s.write_all(format!("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n").as_bytes()).expect("head");
    let writer = {
        let mut s = s.try_clone().expect("clone");
        std::thread::spawn(move || {
            let _ = s.write_all(&vec![b'z'; size]);
        })
    };
    let (head, body) = raw::read_message(&mut s, &mut Vec::new(), false).expect("the upstream's answer");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(body, b"big");
    assert!(head.contains("Connection: close"), "the rest of the body is not read: {head}");
    drop(s);
    let _ = writer.join();
    let status = proxy.server_status("app", up.addr);
    assert_eq!(status["failures_total"], 0, "an answer is not a failure: {status}");
}

#[test]
fn connection_cannot_strip_the_framing_of_a_request() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut s = raw::connect(proxy.addr);
    s.write_all(
        format!(
            "POST /public HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: {}\r\n\r\n",
            smuggled.len()
        )
        .as_bytes(),
    )
    .expect("head");
    s.write_all(smuggled).expect("body");
    let (head, _) = raw::read_message(&mut s, &mut Vec::new(), false).expect("response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    std::thread::sleep(Duration::from_millis(200));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "the upstream saw one request, not two: {seen:?}");
    assert_eq!(seen[0].1, smuggled, "the smuggled bytes arrived as the body");
}

#[test]
fn an_absolute_form_request_reaches_the_upstream_in_origin_form() {
    let (up, seen) = recording(OK);
    let proxy = proxy_to(up.addr);
    let mut s = raw::connect(proxy.addr);
    s.write_all(b"GET http://shop.example/a?b=1 HTTP/1.1\r\nHost: elsewhere\r\n\r\n").expect("send");
    let (head, _) = raw::read_message(&mut s, &mut Vec::new(), false).expect("response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = seen.lock().expect("lock");
    assert!(seen[0].0.starts_with("GET /a?b=1 HTTP/1.1\r\n"), "{}", seen[0].0);
    assert!(seen[0].0.contains("Host: shop.example\r\n") && !seen[0].0.contains("elsewhere"), "{}", seen[0].0);
}

#[test]
fn an_http_1_1_request_without_host_gets_400() {
    let up = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&up, "")]));
    let out = raw::send_and_read_all(proxy.addr, b"GET / HTTP/1.1\r\n\r\n");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400 "), "{}", String::from_utf8_lossy(&out));
    let out = raw::send_and_read_all(proxy.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200 "), "HTTP/1.0 may omit it");
    assert_eq!(up.hits(), 1);
}

#[test]
fn a_refused_request_with_an_unread_body_gets_its_answer_not_a_reset() {
    let up = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&format!(
        "upstreams:\n  app:\n    servers:\n{}routes:\n  - {{ path_prefix: /api/, upstream: app }}\n",
        server(&up, "")
    ));
    // A 404 (no route) for a request whose 256 KiB body tandem never reads.
    let mut s = raw::connect(proxy.addr);
    let size = 256 * 1024;
    s.write_all(format!("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n").as_bytes())
        .expect("head");
    let mut writer = s.try_clone().expect("clone");
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(&vec![b'q'; size]);
    });
    let mut out = Vec::new();
    let r = s.read_to_end(&mut out);
    let _ = w.join();
    assert!(r.is_ok(), "closed cleanly, not reset: {r:?}");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 404 "), "{}", String::from_utf8_lossy(&out));
}
