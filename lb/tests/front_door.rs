//! The front door against malformed and hostile HTTP/1.1, case by case,
//! through tandem and through Debian's nginx in the same run.
//!
//! One recording upstream serves both proxies. For every case and proxy the
//! test sends the raw bytes, reads what comes back (answers and whether the
//! connection closed), and notes what reached the upstream. It fails when:
//! - tandem's outcome is not the case's expected one;
//! - anything carrying the marker `SMUGGLED` reached the upstream through
//!   tandem (a request hidden in a body or a header);
//! - nginx refused a case that tandem let through: tandem must be at least
//!   as strict;
//! - a normal request on a new connection fails after a case.
//!
//! Both proxies get the same limits (timeouts of 2 s, bodies up to 1 KiB,
//! nginx's header buffers); a table of every case's outcome through both is
//! printed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::nginx::Nginx;
use common::raw::{self, RawUpstream};
use common::*;

/// What a case must get from tandem.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused: the first answer is one of these statuses (0: closed with no
    /// answer at all), then the connection closes.
    Refused(&'static [u16]),
    /// This many answers, all 2xx.
    Answered(usize),
}

struct Case {
    name: &'static str,
    /// Written in turn, `pause` apart.
    parts: Vec<Vec<u8>>,
    pause: Duration,
    expect: Expect,
}

fn case(name: &'static str, bytes: impl AsRef<[u8]>, expect: Expect) -> Case {
    Case { name, parts: vec![bytes.as_ref().to_vec()], pause: Duration::ZERO, expect }
}

/// A smuggled request: never to reach an upstream.
const SMUGGLED: &str = "GET /SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n";

fn cases() -> Vec<Case> {
    use Expect::*;
    let bad: &'static [u16] = &[400];
    let mut v = vec![
        // The request line.
        case("space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("control byte in the target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("tab in the target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("method not a token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("lowercase method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", Refused(&[505])),
        case("HTTP/0.9 line", "GET /\r\n\r\n", Refused(&[400, 0])),
        case("garbage version", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", Refused(bad)),
        case("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", Answered(1)),
        case("request line over 8k", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000)), Refused(&[414])),
        case("empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        // Host.
        case("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", Refused(bad)),
        case("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Refused(bad)),
        case("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Refused(bad)),
        case("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Refused(bad)),
        case("Host with a bad port", "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", Refused(bad)),
        case("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", Refused(bad)),
        case("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", Answered(1)),
        case("Host with a port", "GET / HTTP/1.1\r\nHost: shop.example:8080\r\n\r\n", Answered(1)),
        case("absolute-form target", "GET http://x/p HTTP/1.1\r\nHost: x\r\n\r\n", Answered(1)),
        case("target authority without a host", "GET http://:x/p HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        case("target authority with userinfo", "GET http://u@x/p HTTP/1.1\r\nHost: x\r\n\r\n", Refused(bad)),
        // Field syntax.
        case("space in a field name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", Refused(bad)),
        case("space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", Refused(bad)),
        case("field without a colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", Refused(bad)),
        case("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", Refused(bad)),
        case("bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", Refused(bad)),
        case("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", Refused(bad)),
        case("parenthesis in a field name", "GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n", Refused(bad)),
        case(
            "a field over 8k",
            format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(9000)),
            Refused(&[400, 431]),
        ),
        case(
            "fields over 32k in all",
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..5).map(|i| format!("X-{i}: {}\r\n", "c".repeat(7000))).collect::<String>()
            ),
            Refused(&[400, 431]),
        ),
        case(
            "200 fields",
            format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", (0..200).map(|i| format!("X-{i}: v\r\n")).collect::<String>()),
            Refused(&[431]),
        ),
        // Framing and smuggling.
        case(
            "Content-Length and Transfer-Encoding",
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
            Refused(bad),
        ),
        case(
            "two different lengths",
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{SMUGGLED}", SMUGGLED.len()),
            Refused(bad),
        ),
        case("a signed length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab", Refused(bad)),
        case("a length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 3\r\n\r\nabc", Refused(bad)),
        case("an overflowing length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", Refused(bad)),
        case(
            "chunked not last",
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n{SMUGGLED}"),
            Refused(&[400, 501]),
        ),
        case("gzip coding only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", Refused(&[400, 501])),
        case(
            "a coding that only looks like chunked",
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{SMUGGLED}"),
            Refused(&[400, 501]),
        ),
        case(
            "an empty coding before chunked",
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"),
            Refused(&[400, 501]),
        ),
        case(
            "chunked on HTTP/1.0",
            format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"),
            Refused(&[400, 501]),
        ),
        case("chunk size not hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", Refused(bad)),
        case(
            "chunk size overflowing",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            Refused(&[400, 413]),
        ),
        case(
            "chunk data not ended by CRLF",
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n{SMUGGLED}"),
            Refused(bad),
        ),
        case(
            "a second number after a chunk size",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 6\r\nhello\r\n0\r\n\r\n",
            Refused(bad),
        ),
        case(
            "bare LF in chunk framing",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
            Refused(bad),
        ),
        case(
            "framing named hop-by-hop",
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
            Answered(1),
        ),
        case(
            "a body over client_max_body_size",
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n{}", "z".repeat(2000)),
            Refused(&[413]),
        ),
        case(
            "chunked data over client_max_body_size",
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n{}\r\n0\r\n\r\n",
                "z".repeat(0x800)
            ),
            Refused(&[413]),
        ),
        case("a valid chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Answered(1)),
        // Pipelining.
        case(
            "three pipelined GETs",
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n",
            Answered(3),
        ),
        case(
            "a POST then a GET, pipelined",
            "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /g HTTP/1.1\r\nHost: x\r\n\r\n",
            Answered(2),
        ),
    ];
    // Slow clients.
    let slow_head: Vec<Vec<u8>> =
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".iter().map(|&b| vec![b]).collect();
    v.push(Case {
        name: "a head one byte every 150 ms",
        parts: slow_head,
        pause: Duration::from_millis(150),
        expect: Expect::Refused(&[0, 408]),
    });
    v.push(Case {
        name: "a body that stalls",
        parts: vec![b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab".to_vec(), b"".to_vec()],
        pause: Duration::from_millis(2600),
        expect: Expect::Refused(&[408, 0]),
    });
    v
}

/// What came back for a case.
#[derive(Debug, Clone, Default, PartialEq)]
struct Outcome {
    statuses: Vec<u16>,
    closed: bool,
}

impl Outcome {
    fn refused(&self) -> bool {
        self.statuses.first().is_none_or(|&s| s >= 400)
    }

    fn text(&self) -> String {
        let s: Vec<String> = self.statuses.iter().map(u16::to_string).collect();
        format!("{}{}", if s.is_empty() { "-".into() } else { s.join(",") }, if self.closed { " close" } else { "" })
    }
}

fn run(addr: SocketAddr, c: &Case) -> Outcome {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    for (i, part) in c.parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(c.pause);
        }
        if s.write_all(part).is_err() {
            break;
        }
    }
    let want = match c.expect {
        Expect::Answered(n) => n,
        Expect::Refused(_) => 1,
    };
    let mut out = Outcome::default();
    let mut pending = Vec::new();
    while out.statuses.len() < want {
        match raw::read_message(&mut s, &mut pending, false) {
            Some((head, _)) => out.statuses.push(head.split(' ').nth(1).and_then(|t| t.parse().ok()).unwrap_or(0)),
            None => {
                out.closed = true;
                return out;
            }
        }
    }
    // A refusal must close; an answer that keeps the connection is not waited on.
    if out.statuses.iter().any(|&st| st >= 400) {
        out.closed = raw::closed_by_server(&mut s);
    }
    out
}

/// Requests the upstream saw: request line, then the body as framed.
type Seen = Arc<Mutex<Vec<String>>>;

fn recording_upstream() -> (RawUpstream, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let up = RawUpstream::start(move |mut s| {
        let mut pending = Vec::new();
        while let Some((head, body)) = raw::read_message(&mut s, &mut pending, false) {
            let line = head.lines().next().unwrap_or("").to_string();
            log.lock().expect("lock").push(format!("{line} | {}", String::from_utf8_lossy(&body)));
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").is_err() {
                return;
            }
        }
    });
    (up, seen)
}

fn normal_request_works(addr: SocketAddr) -> bool {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let _ = s.write_all(b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.starts_with(b"HTTP/1.1 200")
}

#[test]
fn malformed_and_hostile_requests_are_refused_at_least_as_nginx_refuses_them() {
    let (up, seen) = recording_upstream();
    let limits = "client_header_timeout: 2s\nclient_body_timeout: 2s\nclient_max_body_size: 1k\n";
    let tandem =
        Proxy::start(&format!("{limits}upstreams:\n  app:\n    servers:\n      - {{ addr: \"{}\" }}\n", up.addr));
    let nginx = Nginx::start_with(
        &format!("        server {};\n", up.addr),
        "            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n",
        "    client_header_timeout 2s;\n    client_body_timeout 2s;\n    client_max_body_size 1k;\n",
    );
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut table = vec![format!("{:<42} {:<16} {:<16}", "case", "tandem", "nginx")];
    for c in &cases {
        let through = |addr: SocketAddr| {
            let before = seen.lock().expect("lock").len();
            let outcome = run(addr, c);
            std::thread::sleep(Duration::from_millis(50));
            let reached: Vec<String> = seen.lock().expect("lock")[before..].to_vec();
            (outcome, reached)
        };
        let (t, t_reached) = through(tandem.addr);
        let (n, n_reached) = through(nginx.addr);
        table.push(format!("{:<42} {:<16} {:<16}", c.name, t.text(), n.text()));
        match c.expect {
            Expect::Refused(statuses) => {
                let first = t.statuses.first().copied().unwrap_or(0);
                if !statuses.contains(&first) || !t.closed {
                    failures.push(format!(
                        "{}: tandem gave {}, expected one of {statuses:?} and a close",
                        c.name,
                        t.text()
                    ));
                }
                if !t_reached.is_empty() {
                    failures.push(format!("{}: refused, yet reached the upstream: {t_reached:?}", c.name));
                }
            }
            Expect::Answered(k) => {
                if t.statuses.len() != k || t.statuses.iter().any(|s| !(200..300).contains(s)) {
                    failures.push(format!("{}: tandem gave {}, expected {k} answers", c.name, t.text()));
                }
            }
        }
        if t_reached.iter().any(|r| r.starts_with("GET /SMUGGLED")) {
            failures.push(format!("{}: a smuggled request reached the upstream through tandem: {t_reached:?}", c.name));
        }
        if n.refused() && n_reached.is_empty() && (!t.refused() || !t_reached.is_empty()) {
            failures.push(format!("{}: nginx refused it ({}) and tandem did not ({})", c.name, n.text(), t.text()));
        }
        if !normal_request_works(tandem.addr) {
            failures.push(format!("{}: a normal request failed after it", c.name));
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{} problem(s):\n{}\n\n{}", failures.len(), failures.join("\n"), table.join("\n"));
}

#[test]
fn many_idle_and_half_sent_connections_neither_stop_new_requests_nor_stay_open() {
    let up = Upstream::start("a", Behavior::Name);
    let p = Proxy::start(&format!("client_header_timeout: 1s\n{}", app(&[], &[(&up, "")])));
    // 300 connections that say nothing, 100 that stop halfway through a head.
    let mut held: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(p.addr).expect("connect")).collect();
    for _ in 0..100 {
        let mut s = TcpStream::connect(p.addr).expect("connect");
        s.write_all(b"GET /half HTTP/1.1\r\nHost: x\r\nX-Unfinished: ").expect("send");
        held.push(s);
    }
    assert_eq!(p.get("/").status, 200, "a new client is served meanwhile");
    // All of them are closed by the header timeout, not left to the client.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while p.status()["listeners"][0]["open"].as_u64() != Some(0) {
        assert!(std::time::Instant::now() < deadline, "still open: {}", p.status()["listeners"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(p.status()["client_refusals"]["header_timeout"].as_u64() >= Some(400));
    assert_eq!(up.hits(), 1, "only the complete request reached the upstream");
    drop(held);
}

/// `make bench` measures what validation costs against the same build with
/// it bypassed (`--unchecked-requests`, the `tandem-unchecked` contender):
/// that bypass must really skip the checks, or the comparison measures
/// nothing, and the default must not.
#[test]
fn the_bench_only_bypass_forwards_what_validation_refuses_and_the_default_refuses_it() {
    let (up, seen) = recording_upstream();
    let body = format!("upstreams:\n  app:\n    servers:\n      - {{ addr: \"{}\" }}\n", up.addr);
    let no_host = case("no Host on HTTP/1.1", "GET /no-host HTTP/1.1\r\n\r\n", Expect::Refused(&[400]));
    let checked = Proxy::start(&body);
    assert_eq!(run(checked.addr, &no_host).statuses, [400]);
    let unchecked = Proxy::start_with_args(&body, 1, "", &["--unchecked-requests"]);
    assert_eq!(run(unchecked.addr, &no_host).statuses, [200], "{}", unchecked.log());
    assert!(unchecked.log().contains("NOT validated"), "the bypass says so in the log: {}", unchecked.log());
    let forwarded = seen.lock().expect("lock").iter().filter(|l| l.starts_with("GET /no-host")).count();
    assert_eq!(forwarded, 1, "only the unchecked tandem forwarded it");
}
