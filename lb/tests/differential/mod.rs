//! The machinery of the nginx differential tests: real nginx as a child
//! process, one upstream group written in both nginx syntax and tandem YAML,
//! request traces, and the two ways of running a scenario (see
//! `nginx_differential.rs` for the scenarios themselves).

use crate::common::nginx::Nginx;
use crate::common::*;

use std::net::{IpAddr, SocketAddr};
use std::thread;
use std::time::Duration;

/// Longer than fail_timeout=2s plus nginx's one-second clock resolution plus a
/// margin: after this pause a quarantine that began just before it is over
/// for both proxies, whatever the sub-second phase.
pub const PAST_FAIL_TIMEOUT_2S: Duration = Duration::from_millis(3600);

// ---------------------------------------------------------------------------
// One upstream group, written for both proxies
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Balance {
    RoundRobin,
    IpHash,
    /// `hash $arg_k` / `hash: { key: "arg:k" }`
    HashArgK,
    /// `hash $arg_k consistent` / `hash: { key: "arg:k", consistent: true }`
    ConsistentArgK,
}

#[derive(Debug, Clone)]
pub struct Srv {
    name: &'static str,
    weight: Option<u32>,
    max_fails: Option<u32>,
    fail_timeout_s: Option<u32>,
    backup: bool,
    down: bool,
    /// How the scripted server behaves from the start.
    behavior: Behavior,
}

pub fn srv(name: &'static str) -> Srv {
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
    pub fn weight(mut self, w: u32) -> Srv {
        self.weight = Some(w);
        self
    }
    pub fn fails(mut self, max_fails: u32, fail_timeout_s: u32) -> Srv {
        self.max_fails = Some(max_fails);
        self.fail_timeout_s = Some(fail_timeout_s);
        self
    }
    pub fn backup(mut self) -> Srv {
        self.backup = true;
        self
    }
    pub fn down(mut self) -> Srv {
        self.down = true;
        self
    }
    pub fn behaving(mut self, b: Behavior) -> Srv {
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
pub struct Group {
    balance: Balance,
    servers: Vec<Srv>,
    /// `proxy_next_upstream` / `next_upstream`.
    pub next_upstream: &'static [&'static str],
}

pub fn group(balance: Balance, servers: Vec<Srv>) -> Group {
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
pub struct Req {
    pub method: &'static str,
    pub path: String,
    /// Client source address (a 127.x.y.z loopback address), or the default.
    pub from: Option<IpAddr>,
}

pub fn get(path: &str) -> Req {
    Req { method: "GET", path: path.to_string(), from: None }
}

pub fn gets(n: usize) -> Vec<Req> {
    vec![get("/"); n]
}

#[derive(Debug, Clone)]
pub enum Step {
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
pub fn run_separate(title: &str, g: &Group, steps: &[Step]) {
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
pub fn run_shared(title: &str, g: &Group, reqs: &[Req]) {
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
