//! Test harness: scripted upstream HTTP servers on 127.0.0.1:0, the real
//! `tandem` binary on an ephemeral port, and a minimal HTTP/1.1 client.
//! Everything is stopped on drop.
#![allow(dead_code)]

pub mod nginx;
pub mod raw;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What a scripted upstream does with each request.
#[derive(Debug, Clone, PartialEq)]
pub enum Behavior {
    /// 200 with its name as the body.
    Name,
    /// This status with its name as the body.
    Status(u16),
    /// Read the request, then reset the connection (no response).
    Reset,
    /// Read the request and never answer.
    Hang,
    /// Wait, then answer 200 with its name.
    Slow(Duration),
    /// Answer garbage that is not HTTP.
    Garbage,
}

/// A request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

struct UpstreamState {
    behavior: Mutex<Behavior>,
    hits: AtomicUsize,
    connections: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// A scripted upstream HTTP server (thread per connection, keep-alive).
pub struct Upstream {
    pub name: String,
    pub addr: SocketAddr,
    state: Arc<UpstreamState>,
    listener: Option<TcpListener>,
}

impl Upstream {
    pub fn start(name: &str, behavior: Behavior) -> Upstream {
        Upstream::start_on(name, "127.0.0.1:0".parse().expect("addr"), behavior)
    }

    /// A scripted upstream on a chosen address (to bring a refused one back).
    pub fn start_on(name: &str, addr: SocketAddr, behavior: Behavior) -> Upstream {
        let listener = TcpListener::bind(addr).expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(UpstreamState {
            behavior: Mutex::new(behavior),
            hits: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accept = listener.try_clone().expect("clone listener");
        let (st, nm) = (state.clone(), name.to_string());
        thread::spawn(move || {
            for conn in accept.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                st.connections.fetch_add(1, Ordering::SeqCst);
                let (st, nm) = (st.clone(), nm.clone());
                thread::spawn(move || serve_connection(conn, &nm, &st));
            }
        });
        Upstream { name: name.to_string(), addr, state, listener: Some(listener) }
    }

    /// An address where nothing listens: connections are refused.
    pub fn refused(name: &str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let state = Arc::new(UpstreamState {
            behavior: Mutex::new(Behavior::Name),
            hits: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(true),
        });
        Upstream { name: name.to_string(), addr, state, listener: None }
    }

    pub fn set(&self, behavior: Behavior) {
        *self.state.behavior.lock().expect("lock") = behavior;
    }

    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far (keep-alive reuse keeps this low).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    /// Stop accepting: later connections are refused (the port is closed).
    pub fn stop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(l) = self.listener.take() {
            // wake the accept loop so it sees `stop`, then close the socket
            let _ = TcpStream::connect(self.addr);
            drop(l);
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_connection(conn: TcpStream, name: &str, st: &UpstreamState) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone conn"));
    let mut conn = conn;
    loop {
        let Some(req) = read_request(&mut reader) else { return };
        if st.stop.load(Ordering::SeqCst) {
            return;
        }
        st.hits.fetch_add(1, Ordering::SeqCst);
        st.seen.lock().expect("lock").push(req);
        let behavior = st.behavior.lock().expect("lock").clone();
        let (status, delay) = match behavior {
            Behavior::Name => (200, None),
            Behavior::Status(s) => (s, None),
            Behavior::Slow(d) => (200, Some(d)),
            Behavior::Reset => {
                let _ = socket_reset(&conn);
                return;
            }
            Behavior::Hang => {
                thread::sleep(Duration::from_secs(60));
                return;
            }
            Behavior::Garbage => {
                let _ = conn.write_all(b"this is not http\r\n\r\n");
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
        };
        if let Some(d) = delay {
            thread::sleep(d);
        }
        let body = name.as_bytes();
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nX-Upstream: {name}\r\nConnection: keep-alive\r\n\r\n",
            body.len()
        );
        if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body)).is_err() {
            return;
        }
    }
}

/// Close with RST instead of FIN (SO_LINGER 0).
fn socket_reset(conn: &TcpStream) -> std::io::Result<()> {
    let sock = socket2::SockRef::from(conn);
    sock.set_linger(Some(Duration::ZERO))?;
    conn.shutdown(Shutdown::Read)
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if headers.get("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        let body = read_chunked(reader)?;
        return Some(Seen { method, path, headers, body });
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { method, path, headers, body })
}

/// A chunked body's data (no extensions or trailers expected).
fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; n + 2];
        if n == 0 {
            let mut end = String::new();
            reader.read_line(&mut end).ok()?;
            return Some(body);
        }
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..n]);
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `N` different free loopback ports: all held while they are picked, so
/// the kernel cannot hand the same one out twice (released one at a time,
/// it did: a proxy got its admin port equal to its listen port).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    std::array::from_fn(|i| held[i].local_addr().expect("addr").port())
}

/// The `tandem` binary running a config, stopped on drop.
pub struct Proxy {
    pub addr: SocketAddr,
    /// The admin listener (a free port per proxy).
    pub admin: SocketAddr,
    child: Child,
    pub dir: PathBuf,
    threads: usize,
    admin_keys: String,
    /// More `listen` entries after the plain one (YAML flow entries).
    listen_extra: String,
}

/// The admin token the harness configures with [`Proxy::start_with_admin`].
pub const TOKEN: &str = "test-token-0123456789";

impl Proxy {
    /// Start tandem with `body`: the config after the `listen:` line, which
    /// the harness supplies on a free port.
    pub fn start(body: &str) -> Proxy {
        Proxy::start_with_threads(body, 2)
    }

    /// As [`Proxy::start`], with `threads` worker threads.
    pub fn start_with_threads(body: &str, threads: usize) -> Proxy {
        Proxy::start_with_admin(body, threads, "")
    }

    /// As [`Proxy::start`], with extra keys in the `admin:` mapping
    /// (`"token: ..."`, `"allow: [...]"`).
    pub fn start_with_admin(body: &str, threads: usize, admin_keys: &str) -> Proxy {
        Proxy::start_with_args(body, threads, admin_keys, &[])
    }

    /// As [`Proxy::start_with_admin`], with extra command-line arguments.
    pub fn start_with_args(body: &str, threads: usize, admin_keys: &str, args: &[&str]) -> Proxy {
        Proxy::start_full("", body, threads, admin_keys, args)
    }

    /// As [`Proxy::start`], with more `listen` entries after the harness's
    /// plain one: YAML flow entries such as `{ addr: "127.0.0.1:1", tls: {...} }`.
    pub fn start_with_listen(listen_extra: &str, body: &str) -> Proxy {
        Proxy::start_full(listen_extra, body, 2, "", &[])
    }

    /// Every option: more `listen` entries, worker threads, admin keys, arguments.
    pub fn start_full(listen_extra: &str, body: &str, threads: usize, admin_keys: &str, args: &[&str]) -> Proxy {
        let [port, admin_port] = free_ports();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().expect("addr");
        let dir = temp_dir("proxy");
        let mut proxy = Proxy {
            addr,
            admin,
            child: spawn_placeholder(),
            dir,
            threads,
            admin_keys: admin_keys.to_string(),
            listen_extra: listen_extra.to_string(),
        };
        proxy.write_config(body);
        proxy.child = proxy.spawn(args);
        proxy.wait_ready();
        proxy
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("lb.yaml")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("tandem.pid")
    }

    /// The full config text for `body`, with this proxy's listener, admin
    /// listener, pid file and upgrade socket.
    pub fn config_text(&self, body: &str) -> String {
        let mut admin = format!("admin:\n  listen: \"{}\"\n", self.admin);
        for line in self.admin_keys.lines() {
            admin.push_str(&format!("  {line}\n"));
        }
        format!(
            "listen: [\"{}\"{}]\nthreads: {}\npid_file: {}\nupgrade_sock: {}\n{admin}{body}",
            self.addr,
            if self.listen_extra.is_empty() { String::new() } else { format!(", {}", self.listen_extra) },
            self.threads,
            self.pid_file().display(),
            self.dir.join("upgrade.sock").display()
        )
    }

    /// Replace the config file (for a reload).
    pub fn write_config(&self, body: &str) {
        std::fs::write(self.config_path(), self.config_text(body)).expect("write config");
    }

    /// Start another tandem process on this proxy's config, logging to
    /// `tandem.log` too (`--upgrade` for a graceful upgrade).
    pub fn spawn(&self, args: &[&str]) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("tandem.log")).expect("log");
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tandem")
    }

    /// Swap the running process (after a graceful upgrade, the new one is
    /// stopped on drop instead).
    pub fn replace_child(&mut self, child: Child) -> Child {
        std::mem::replace(&mut self.child, child)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) {
        let (addr, dir) = (self.addr, self.dir.clone());
        wait_listening(&mut self.child, addr, "tandem", || {
            std::fs::read_to_string(dir.join("tandem.log")).unwrap_or_default()
        });
        // The pid file is written once SIGHUP is handled: wait for it too.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(self.pid_file()).map(|p| p.trim() != self.pid().to_string()).unwrap_or(true) {
            assert!(Instant::now() < deadline, "no pid file: {}", self.log());
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tandem.log")).unwrap_or_default()
    }

    /// GET on the admin listener.
    pub fn admin_get(&self, path: &str) -> Response {
        request(self.admin, "GET", path, &[], b"")
    }

    /// POST on the admin listener with the harness token.
    pub fn admin_post(&self, path: &str) -> Response {
        let auth = format!("Bearer {TOKEN}");
        request(self.admin, "POST", path, &[("Authorization", &auth)], b"")
    }

    /// `/status.json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let r = self.admin_get("/status.json");
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str(&r.body).expect("status.json is JSON")
    }

    /// One server's entry in `/status.json`.
    pub fn server_status(&self, upstream: &str, addr: SocketAddr) -> serde_json::Value {
        let status = self.status();
        let servers = status["upstreams"]
            .as_array()
            .and_then(|ups| ups.iter().find(|u| u["name"] == upstream))
            .map(|u| u["servers"].clone())
            .expect("upstream in status");
        servers
            .as_array()
            .and_then(|s| s.iter().find(|s| s["addr"] == addr.to_string()).cloned())
            .expect("server in status")
    }

    /// `/metrics` as text.
    pub fn metrics(&self) -> String {
        let r = self.admin_get("/metrics");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Send a signal to the running process (`kill -SIG pid`).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().expect("kill");
        assert!(ok.success(), "kill -{signal} failed");
    }

    /// Write `body` as the new config, send SIGHUP, and wait until the
    /// process reports the attempt; returns its `last_reload`.
    pub fn reload(&self, body: &str) -> serde_json::Value {
        let attempts = |s: &serde_json::Value| {
            s["config"]["reloads_ok"].as_u64().unwrap_or(0) + s["config"]["reloads_failed"].as_u64().unwrap_or(0)
        };
        let before = attempts(&self.status());
        self.write_config(body);
        self.signal("HUP");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.status();
            if attempts(&status) > before {
                return status["config"]["last_reload"].clone();
            }
            assert!(Instant::now() < deadline, "reload not reported: {}", self.log());
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"")
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        request(self.addr, method, path, headers, body)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child that has already exited, to fill the slot until the real one starts.
fn spawn_placeholder() -> Child {
    let mut c = Command::new("true").spawn().expect("spawn true");
    let _ = c.wait();
    c
}

/// Wait until `child` accepts connections on `addr` (20 s at most); panic
/// with its log if it exits first or never listens.
pub fn wait_listening(child: &mut Child, addr: SocketAddr, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early ({status}): {}", log());
        }
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on {addr} in time: {}", log());
}

/// A response as the client saw it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Response {
    /// The upstream that answered (its `X-Upstream` header), or "-" for a
    /// response tandem made itself.
    pub fn upstream(&self) -> &str {
        self.headers.get("x-upstream").map(String::as_str).unwrap_or("-")
    }
}

/// One request on a fresh connection (`Connection: close`), as a browser or
/// wrk with keep-alive off would send it.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let conn = TcpStream::connect(addr).expect("connect to proxy");
    exchange(conn, method, path, headers, body)
}

/// Send one request on `conn` and read the response until the server closes.
fn exchange(mut conn: TcpStream, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    conn.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    conn.write_all(head.as_bytes()).expect("send head");
    conn.write_all(body).expect("send body");
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response { status, headers, body: body.to_string() }
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tandem-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The YAML of one upstream group `app`: `settings` are group keys
/// (`"read_timeout: 300ms"`), each server an upstream with its extra params.
pub fn app(settings: &[&str], servers: &[(&Upstream, &str)]) -> String {
    let mut yaml = String::from("upstreams:\n  app:\n");
    for s in settings {
        yaml.push_str(&format!("    {s}\n"));
    }
    yaml.push_str("    servers:\n");
    for (u, extra) in servers {
        yaml.push_str(&server(u, extra));
    }
    yaml
}

/// A YAML server list entry for an upstream with extra params.
pub fn server(u: &Upstream, extra: &str) -> String {
    if extra.is_empty() {
        format!("      - {{ addr: \"{}\" }}\n", u.addr)
    } else {
        format!("      - {{ addr: \"{}\", {extra} }}\n", u.addr)
    }
}

/// The upstream names of `n` GET / requests in a row.
pub fn sequence(proxy: &Proxy, n: usize) -> Vec<String> {
    (0..n).map(|_| proxy.get("/").upstream().to_string()).collect()
}

/// One request like [`request`] (fresh connection, `Connection: close`), but
/// from a chosen source address: on Linux every 127.x.y.z is loopback, so a
/// client can pose as many networks (for `ip_hash`, which keys on the first
/// three octets).
pub fn request_from(
    source: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("client socket");
    sock.bind(&SocketAddr::new(source, 0).into()).expect("bind client source address");
    sock.connect(&addr.into()).expect("connect to proxy");
    let conn: TcpStream = sock.into();
    exchange(conn, method, path, headers, body)
}
