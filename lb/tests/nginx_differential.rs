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
//! Each request is recorded as `answering-upstream status tried[...]`, where
//! `tried` lists the servers that received the request during it (from their
//! hit counters; a refused connection leaves no hit).

mod common;
use common::*;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const NGINX_BIN: &str = "/usr/sbin/nginx";

/// Longer than fail_timeout=2s plus nginx's one-second clock resolution plus a
/// margin: after this pause a quarantine that began just before it is over
/// for both proxies, whatever the sub-second phase.
const PAST_FAIL_TIMEOUT_2S: Duration = Duration::from_millis(3600);

// ---------------------------------------------------------------------------
// nginx as a child process
// ---------------------------------------------------------------------------

/// Real nginx with one `upstream app` and `location / { proxy_pass http://app; }`.
struct Nginx {
    addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// `upstream_body`: the lines inside `upstream app { }`; `location_extra`:
    /// directives added to `location /`.
    fn start(upstream_body: &str, location_extra: &str) -> Nginx {
        let dir = temp_dir("nginx");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let d = dir.display();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream app {{
{upstream_body}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
{location_extra}        }}
    }}
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
        let child = Command::new(NGINX_BIN)
            .arg("-p")
            .arg(format!("{d}/"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start /usr/sbin/nginx (Debian package nginx-light)");
        let mut nginx = Nginx { addr, child, dir };
        nginx.wait_ready();
        nginx
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited early ({status}): {}", self.log());
            }
            if TcpStream::connect(self.addr).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("nginx did not listen on {} in time: {}", self.addr, self.log());
    }

    fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// One upstream group, written for both proxies
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Balance {
    RoundRobin,
    IpHash,
    /// `hash $arg_k` / `hash: { key: "arg:k" }`
    HashArgK,
    /// `hash $arg_k consistent` / `hash: { key: "arg:k", consistent: true }`
    ConsistentArgK,
}

#[derive(Debug, Clone)]
struct Srv {
    name: &'static str,
    weight: Option<u32>,
    max_fails: Option<u32>,
    fail_timeout_s: Option<u32>,
    backup: bool,
    down: bool,
    /// How the scripted server behaves from the start.
    behavior: Behavior,
}

fn srv(name: &'static str) -> Srv {
    Srv {
        name,
        weight: None,
        max_fails: None,
        fail_timeout_s: None,
        backup: false,
        down: false,
        behavior: Behavior::Name,
    }
}

impl Srv {
    fn weight(mut self, w: u32) -> Srv {
        self.weight = Some(w);
        self
    }
    fn fails(mut self, max_fails: u32, fail_timeout_s: u32) -> Srv {
        self.max_fails = Some(max_fails);
        self.fail_timeout_s = Some(fail_timeout_s);
        self
    }
    fn backup(mut self) -> Srv {
        self.backup = true;
        self
    }
    fn down(mut self) -> Srv {
        self.down = true;
        self
    }
    fn behaving(mut self, b: Behavior) -> Srv {
        self.behavior = b;
        self
    }

    fn nginx_line(&self, u: &Upstream) -> String {
        let mut line = format!("        server {}", u.addr);
        if let Some(w) = self.weight {
            line.push_str(&format!(" weight={w}"));
        }
        if let Some(m) = self.max_fails {
            line.push_str(&format!(" max_fails={m}"));
        }
        if let Some(t) = self.fail_timeout_s {
            line.push_str(&format!(" fail_timeout={t}s"));
        }
        if self.backup {
            line.push_str(" backup");
        }
        if self.down {
            line.push_str(" down");
        }
        line.push_str(";\n");
        line
    }

    fn yaml_line(&self, u: &Upstream) -> String {
        let mut extra = Vec::new();
        if let Some(w) = self.weight {
            extra.push(format!("weight: {w}"));
        }
        if let Some(m) = self.max_fails {
            extra.push(format!("max_fails: {m}"));
        }
        if let Some(t) = self.fail_timeout_s {
            extra.push(format!("fail_timeout: {t}s"));
        }
        if self.backup {
            extra.push("backup: true".to_string());
        }
        if self.down {
            extra.push("down: true".to_string());
        }
        server(u, &extra.join(", "))
    }
}

#[derive(Debug, Clone)]
struct Group {
    balance: Balance,
    servers: Vec<Srv>,
    /// `proxy_next_upstream` / `next_upstream`.
    next_upstream: &'static [&'static str],
}

fn group(balance: Balance, servers: Vec<Srv>) -> Group {
    Group { balance, servers, next_upstream: &["error", "timeout"] }
}

impl Group {
    fn start_upstreams(&self) -> Vec<Upstream> {
        self.servers.iter().map(|s| Upstream::start(s.name, s.behavior.clone())).collect()
    }

    fn nginx_upstream(&self, ups: &[Upstream]) -> String {
        let mut body = match self.balance {
            Balance::RoundRobin => String::new(),
            Balance::IpHash => "        ip_hash;\n".to_string(),
            Balance::HashArgK => "        hash $arg_k;\n".to_string(),
            Balance::ConsistentArgK => "        hash $arg_k consistent;\n".to_string(),
        };
        for (s, u) in self.servers.iter().zip(ups) {
            body.push_str(&s.nginx_line(u));
        }
        body
    }

    fn nginx_location(&self) -> String {
        format!("            proxy_next_upstream {};\n", self.next_upstream.join(" "))
    }

    fn tandem_yaml(&self, ups: &[Upstream]) -> String {
        let balance = match self.balance {
            Balance::RoundRobin => "    balance: round_robin\n",
            Balance::IpHash => "    balance: ip_hash\n",
            Balance::HashArgK => "    balance: hash\n    hash: { key: \"arg:k\" }\n",
            Balance::ConsistentArgK => "    balance: hash\n    hash: { key: \"arg:k\", consistent: true }\n",
        };
        let servers: String = self.servers.iter().zip(ups).map(|(s, u)| s.yaml_line(u)).collect();
        format!(
            "upstreams:\n  app:\n{balance}    next_upstream: [{}]\n    servers:\n{servers}",
            self.next_upstream.join(", ")
        )
    }
}

// ---------------------------------------------------------------------------
// Requests, steps and traces
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    /// Client source address (a 127.x.y.z loopback address), or the default.
    from: Option<IpAddr>,
}

fn get(path: &str) -> Req {
    Req { method: "GET", path: path.to_string(), from: None }
}

fn gets(n: usize) -> Vec<Req> {
    vec![get("/"); n]
}

#[derive(Debug, Clone)]
enum Step {
    /// A labelled run of requests.
    Send(&'static str, Vec<Req>),
    /// Change a server's behaviour (in both proxies' sets).
    Set(&'static str, Behavior),
    /// Close a server's port: later connections are refused.
    Stop(&'static str),
    /// Let time pass (fail_timeout).
    Sleep(Duration),
}

/// Send one request and describe what happened.
fn trace(proxy: SocketAddr, ups: &[Upstream], label: &str, i: usize, req: &Req) -> String {
    let before: Vec<usize> = ups.iter().map(Upstream::hits).collect();
    let resp = match req.from {
        Some(ip) => request_from(ip, proxy, req.method, &req.path, &[], b""),
        None => request(proxy, req.method, &req.path, &[], b""),
    };
    let tried: Vec<String> = ups
        .iter()
        .zip(before)
        .filter_map(|(u, b)| match u.hits() - b {
            0 => None,
            1 => Some(u.name.clone()),
            n => Some(format!("{}x{n}", u.name)),
        })
        .collect();
    let from = req.from.map(|ip| format!(" from {ip}")).unwrap_or_default();
    format!(
        "{label}#{i} {} {}{from} -> {} {} tried[{}]",
        req.method,
        req.path,
        resp.upstream(),
        resp.status,
        tried.join(" ")
    )
}

fn find<'a>(ups: &'a mut [Upstream], name: &str) -> &'a mut Upstream {
    ups.iter_mut().find(|u| u.name == name).unwrap_or_else(|| panic!("no server {name}"))
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Assert both traces are identical; on failure print them side by side.
fn assert_same(title: &str, g: &Group, nginx: &[String], tandem: &[String], nginx_log: &str, tandem_log: &str) {
    if nginx == tandem {
        // shown with --nocapture
        println!("{title}: nginx and tandem agree\n  {}", nginx.join("\n  "));
        return;
    }
    let mut report = format!("{title}: nginx and tandem differ\ngroup: {g:?}\n");
    let n = nginx.len().max(tandem.len());
    for i in 0..n {
        let a = nginx.get(i).map(String::as_str).unwrap_or("<none>");
        let b = tandem.get(i).map(String::as_str).unwrap_or("<none>");
        let mark = if a == b { "  " } else { "!!" };
        report.push_str(&format!("{mark} nginx : {a}\n{mark} tandem: {b}\n"));
    }
    report.push_str(&format!(
        "--- nginx log (tail) ---\n{}\n--- tandem log (tail) ---\n{}\n",
        tail(nginx_log, 3000),
        tail(tandem_log, 3000)
    ));
    panic!("{report}");
}

/// Each proxy with its own upstream set; every step applies to both; each
/// request goes to nginx, then the same request to tandem.
fn run_separate(title: &str, g: &Group, steps: &[Step]) {
    let mut ng_ups = g.start_upstreams();
    let mut tn_ups = g.start_upstreams();
    let nginx = Nginx::start(&g.nginx_upstream(&ng_ups), &g.nginx_location());
    let tandem = Proxy::start(&g.tandem_yaml(&tn_ups));
    let (mut ng, mut tn) = (Vec::new(), Vec::new());
    for step in steps {
        match step {
            Step::Send(label, reqs) => {
                for (i, r) in reqs.iter().enumerate() {
                    ng.push(trace(nginx.addr, &ng_ups, label, i, r));
                    tn.push(trace(tandem.addr, &tn_ups, label, i, r));
                }
            }
            Step::Set(name, b) => {
                find(&mut ng_ups, name).set(b.clone());
                find(&mut tn_ups, name).set(b.clone());
            }
            Step::Stop(name) => {
                find(&mut ng_ups, name).stop();
                find(&mut tn_ups, name).stop();
                // let the accept threads see the stop and close the port
                thread::sleep(Duration::from_millis(200));
            }
            Step::Sleep(d) => thread::sleep(*d),
        }
    }
    assert_same(title, g, &ng, &tn, &nginx.log(), &tandem.log());
}

/// One shared upstream set (identical addresses, so identical hash rings):
/// every request through nginx, then every request through tandem.
fn run_shared(title: &str, g: &Group, reqs: &[Req]) {
    let ups = g.start_upstreams();
    let (ng, nginx_log) = {
        let nginx = Nginx::start(&g.nginx_upstream(&ups), &g.nginx_location());
        let ng: Vec<String> = reqs.iter().enumerate().map(|(i, r)| trace(nginx.addr, &ups, "req", i, r)).collect();
        (ng, nginx.log())
    };
    let tandem = Proxy::start(&g.tandem_yaml(&ups));
    let tn: Vec<String> = reqs.iter().enumerate().map(|(i, r)| trace(tandem.addr, &ups, "req", i, r)).collect();
    assert_same(title, g, &ng, &tn, &nginx_log, &tandem.log());
}

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
