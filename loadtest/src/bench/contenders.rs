//! The servers of a bench run: two nginx backends and, in front of them on
//! loopback, the proxies under test, each from its own config file in the
//! run's directory. Configs are like for like: every proxy keeps client and
//! upstream connections alive without a request cap, balances round robin
//! over the same two backends, logs nothing per request (but tandem-full),
//! and sets the same forwarding headers tandem sets by default (`X-Real-IP`,
//! `X-Forwarded-For`, `-Proto`, `-Host`, `X-Request-Id`), so each does the
//! same work per request.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::http;
use super::plan::Proxy;
use super::procs::Process;

/// How long a server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports are picked free, then bound by the server: another process can take
/// one in between, so a server that fails to start is tried on a new port.
const START_TRIES: u32 = 3;

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub nginx: PathBuf,
    pub haproxy: PathBuf,
    pub tandem: PathBuf,
    /// RLIMIT_NOFILE the proxies inherit: nginx's `worker_rlimit_nofile`,
    /// HAProxy's `ulimit-n` and `maxconn` follow it.
    pub open_files: u64,
}

/// The two upstream servers, nginx with one worker each.
pub struct Backends {
    pub addrs: Vec<SocketAddr>,
    _procs: Vec<Process>,
}

impl Backends {
    pub fn start(dir: &Path, nginx: &Path) -> Result<Backends, String> {
        let www = dir.join("www");
        fs::create_dir_all(&www).map_err(|e| format!("{}: {e}", www.display()))?;
        fs::write(www.join("4k"), vec![b'a'; 4096]).map_err(|e| e.to_string())?;
        fs::write(www.join("64k"), vec![b'b'; 65536]).map_err(|e| e.to_string())?;
        let mut addrs = Vec::new();
        let mut procs = Vec::new();
        for i in 1..=2 {
            let name = format!("backend{i}");
            let (proc, addr) = start_with_retries(&name, |port| {
                let d = dir.join(&name);
                fs::create_dir_all(d.join("tmp")).map_err(|e| e.to_string())?;
                let conf = backend_conf(&d, &www, port, 4096);
                let path = d.join("nginx.conf");
                fs::write(&path, conf).map_err(|e| e.to_string())?;
                Ok((nginx_command(nginx, &d, &path), d.join("out.log")))
            })?;
            addrs.push(addr);
            procs.push(proc);
        }
        Ok(Backends { addrs, _procs: procs })
    }

    /// Connections the backends have accepted so far (nginx stub_status),
    /// the connections of this reading included.
    pub fn accepts(&self) -> Result<u64, String> {
        let mut total = 0;
        for &addr in &self.addrs {
            let (status, body) = http::get(addr, "/_status", Duration::from_secs(5))
                .map_err(|e| format!("stub_status of {addr}: {e}"))?;
            let text = String::from_utf8_lossy(&body);
            let accepts = parse_stub_accepts(&text)
                .filter(|_| status == 200)
                .ok_or_else(|| format!("stub_status of {addr}: unexpected answer {status}: {text}"))?;
            total += accepts;
        }
        Ok(total)
    }

    /// Connections opened by others between two [`Backends::accepts`]
    /// readings: the later reading's own connections do not count.
    pub fn opened_between(&self, before: u64, after: u64) -> u64 {
        after.saturating_sub(before).saturating_sub(self.addrs.len() as u64)
    }
}

/// The `accepts` count of nginx's stub_status page.
fn parse_stub_accepts(text: &str) -> Option<u64> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("server accepts"));
    lines.next()?;
    lines.next()?.split_whitespace().next()?.parse().ok()
}

/// The certificate every proxy's TLS listener serves (self-signed, P-256,
/// for `localhost` and 127.0.0.1; the load generators do not verify it).
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Certificate then key in one file (HAProxy's `crt`).
    pub combined: PathBuf,
}

impl TlsFiles {
    /// Made with `openssl req` in `dir`.
    pub fn make(dir: &Path) -> Result<TlsFiles, String> {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .map_err(|e| format!("cannot run openssl (Debian package openssl): {e}"))?;
        if !out.status.success() {
            return Err(format!("openssl req failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let combined = dir.join("combined.pem");
        let both =
            [fs::read(&cert), fs::read(&key)].into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        fs::write(&combined, both.concat()).map_err(|e| e.to_string())?;
        Ok(TlsFiles { cert, key, combined })
    }
}

/// One proxy at one worker count, running.
pub struct Contender {
    pub proxy: Proxy,
    pub workers: u32,
    pub addr: SocketAddr,
    /// Its TLS listener (HTTP/1.1 and h2 by ALPN), same certificate for all.
    pub tls_addr: SocketAddr,
    /// tandem's admin listener (status, /metrics).
    pub admin: Option<SocketAddr>,
    /// Most client connections it accepts at once (HAProxy's `maxconn`).
    pub max_clients: Option<u64>,
    process: Process,
}

impl Contender {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// An error when the process is gone (it must stay up for the whole run).
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.process.exited() {
            Some(status) => Err(format!("{} (workers {}) exited: {status}", self.proxy, self.workers)),
            None => Ok(()),
        }
    }

    pub fn start(
        proxy: Proxy,
        workers: u32,
        dir: &Path,
        programs: &Programs,
        backends: &Backends,
        tls: &TlsFiles,
    ) -> Result<Contender, String> {
        let name = format!("{proxy}-w{workers}");
        let d = dir.join(&name);
        fs::create_dir_all(d.join("tmp")).map_err(|e| format!("{}: {e}", d.display()))?;
        let mut admin = None;
        let mut tls_port = 0;
        let (process, addr) = start_with_retries(&name, |port| {
            let log = d.join("out.log");
            tls_port = free_port()?;
            let tls = Listener { port: tls_port, files: tls };
            Ok(match proxy {
                Proxy::Nginx => {
                    let path = d.join("nginx.conf");
                    let conf = nginx_proxy_conf(&d, port, &tls, workers, &backends.addrs, programs.open_files);
                    fs::write(&path, conf).map_err(|e| e.to_string())?;
                    (nginx_command(&programs.nginx, &d, &path), log)
                }
                Proxy::Haproxy => {
                    let path = d.join("haproxy.cfg");
                    let conf = haproxy_conf(port, &tls, workers, &backends.addrs, programs.open_files);
                    fs::write(&path, conf).map_err(|e| e.to_string())?;
                    let mut cmd = Command::new(&programs.haproxy);
                    cmd.arg("-db").arg("-f").arg(&path);
                    (cmd, log)
                }
                Proxy::TandemBare | Proxy::TandemUnchecked | Proxy::TandemFull => {
                    let admin_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
                    admin = Some(admin_addr);
                    let path = d.join("tandem.yaml");
                    let full = proxy == Proxy::TandemFull;
                    let conf = tandem_conf(&d, port, &tls, admin_addr, workers, &backends.addrs, full);
                    fs::write(&path, conf).map_err(|e| e.to_string())?;
                    let mut cmd = Command::new(&programs.tandem);
                    cmd.arg("--config").arg(&path);
                    if proxy == Proxy::TandemUnchecked {
                        cmd.arg("--unchecked-requests");
                    }
                    (cmd, log)
                }
            })
        })?;
        let max_clients = (proxy == Proxy::Haproxy).then(|| haproxy_maxconn(programs.open_files));
        let tls_addr = SocketAddr::from(([127, 0, 0, 1], tls_port));
        Ok(Contender { proxy, workers, addr, tls_addr, admin, max_clients, process })
    }
}

/// Start a server on a free port, wait until `GET /tiny` answers 200 through
/// it, retrying on a new port when it exits first.
fn start_with_retries(
    name: &str,
    mut prepare: impl FnMut(u16) -> Result<(Command, PathBuf), String>,
) -> Result<(Process, SocketAddr), String> {
    let mut last = String::new();
    for _ in 0..START_TRIES {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let (cmd, log) = prepare(port)?;
        let mut process = Process::spawn(name, cmd, &log)?;
        match wait_ready(&mut process, addr) {
            Ok(()) => return Ok((process, addr)),
            Err(e) => {
                process.stop(Duration::from_secs(2));
                let tail = fs::read_to_string(&log).unwrap_or_default();
                last = format!("{name}: {e}; its output ({}):\n{}", log.display(), tail_lines(&tail, 15));
            }
        }
    }
    Err(last)
}

fn wait_ready(process: &mut Process, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = process.exited() {
            return Err(format!("exited before answering: {status}"));
        }
        if let Ok((200, _)) = http::get(addr, "/tiny", Duration::from_secs(1)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no 200 from http://{addr}/tiny within {READY_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn nginx_command(nginx: &Path, dir: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(nginx);
    cmd.arg("-p").arg(dir).arg("-c").arg(conf).arg("-e").arg(dir.join("error.log"));
    cmd
}

/// The lines every nginx of the bench shares: foreground, files in `dir`,
/// and as root the workers stay root so they can read the run's directory.
fn nginx_common(dir: &Path, workers: u32, open_files: u64) -> String {
    let d = dir.display();
    let user = if nix::unistd::geteuid().is_root() { "user root;\n" } else { "" };
    let connections = open_files.saturating_sub(100).min(65_536);
    format!(
        "{user}daemon off;\nmaster_process on;\nworker_processes {workers};\nworker_rlimit_nofile {open_files};\n\
         pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections {connections}; }}\n"
    )
}

fn nginx_temp_paths(dir: &Path) -> String {
    let d = dir.display();
    ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].iter().fold(String::new(), |mut s, t| {
        let _ = writeln!(s, "    {t}_temp_path {d}/tmp/{t};");
        s
    })
}

fn backend_conf(dir: &Path, www: &Path, port: u16, open_files: u64) -> String {
    format!(
        "{common}http {{\n    access_log off;\n    sendfile on;\n    tcp_nopush on;\n    default_type text/plain;\n\
         {temps}    keepalive_timeout 75s;\n    keepalive_requests 1000000;\n    server {{\n\
         \x20       listen 127.0.0.1:{port} backlog=4096;\n        root {www};\n\
         \x20       location = /tiny {{ return 200 \"ok\"; }}\n        location = /post {{ return 200 \"ok\"; }}\n\
         \x20       location = /_status {{ stub_status; }}\n    }}\n}}\n",
        common = nginx_common(dir, 1, open_files),
        temps = nginx_temp_paths(dir),
        www = www.display(),
    )
}

/// A proxy's TLS listener: its port and the run's certificate.
struct Listener<'a> {
    port: u16,
    files: &'a TlsFiles,
}

fn nginx_proxy_conf(
    dir: &Path,
    port: u16,
    tls: &Listener<'_>,
    workers: u32,
    backends: &[SocketAddr],
    open_files: u64,
) -> String {
    let servers: String = backends.iter().map(|a| format!("        server {a};\n")).collect();
    format!(
        "{common}http {{\n    access_log off;\n{temps}    keepalive_timeout 75s;\n    keepalive_requests 1000000;\n\
         \x20   map $http_x_request_id $tandem_request_id {{ default $http_x_request_id; \"\" $request_id; }}\n\
         \x20   upstream backends {{\n{servers}        keepalive 128;\n        keepalive_requests 1000000;\n    }}\n\
         \x20   server {{\n        listen 127.0.0.1:{port} backlog=4096;\n\
         \x20       listen 127.0.0.1:{tls_port} ssl http2 backlog=4096;\n\
         \x20       ssl_certificate {cert};\n        ssl_certificate_key {key};\n\
         \x20       ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_session_cache shared:SSL:10m;\n\
         \x20       ssl_session_tickets on;\n        location / {{\n\
         \x20           proxy_pass http://backends;\n            proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n            proxy_set_header Host $http_host;\n\
         \x20           proxy_set_header X-Real-IP $remote_addr;\n\
         \x20           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20           proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20           proxy_set_header X-Forwarded-Host $http_host;\n\
         \x20           proxy_set_header X-Request-Id $tandem_request_id;\n        }}\n    }}\n}}\n",
        common = nginx_common(dir, workers, open_files),
        temps = nginx_temp_paths(dir),
        tls_port = tls.port,
        cert = tls.files.cert.display(),
        key = tls.files.key.display(),
    )
}

/// HAProxy reserves two descriptors per `maxconn` (client and server side)
/// and refuses to start when the limit is lower, so under a 20,000 limit it
/// takes fewer than 10,000 clients at once.
fn haproxy_maxconn(open_files: u64) -> u64 {
    (open_files.saturating_sub(100) / 2).min(30_000)
}

fn haproxy_conf(port: u16, tls: &Listener<'_>, workers: u32, backends: &[SocketAddr], open_files: u64) -> String {
    let servers: String = backends.iter().enumerate().map(|(i, a)| format!("    server s{i} {a}\n")).collect();
    let maxconn = haproxy_maxconn(open_files);
    format!(
        "global\n    nbthread {workers}\n    ulimit-n {open_files}\n    maxconn {maxconn}\n\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 75s\n    timeout server 60s\n\
         \x20   timeout http-keep-alive 75s\n    http-reuse always\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   bind 127.0.0.1:{tls_port} ssl crt {combined} alpn h2,http/1.1\n    option forwardfor\n\
         \x20   unique-id-format %[uuid()]\n\
         \x20   http-request set-header X-Real-IP %[src]\n\
         \x20   http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}\n\
         \x20   http-request set-header X-Forwarded-Proto http unless {{ ssl_fc }}\n\
         \x20   http-request set-header X-Forwarded-Host %[req.hdr(host)]\n\
         \x20   http-request set-header X-Request-Id %[unique-id] unless {{ req.hdr(x-request-id) -m found }}\n\
         \x20   default_backend be\n\n\
         backend be\n    balance roundrobin\n{servers}",
        tls_port = tls.port,
        combined = tls.files.combined.display(),
    )
}

fn tandem_conf(
    dir: &Path,
    port: u16,
    tls: &Listener<'_>,
    admin: SocketAddr,
    workers: u32,
    backends: &[SocketAddr],
    full: bool,
) -> String {
    let d = dir.display();
    let mut conf = format!(
        "listen:\n  - \"127.0.0.1:{port}\"\n  - addr: \"127.0.0.1:{tls_port}\"\n    tls:\n      certificates:\n\
         \x20       - {{ cert: \"{cert}\", key: \"{key}\" }}\n\
         threads: {workers}\npid_file: {d}/tandem.pid\nupgrade_sock: {d}/upgrade.sock\n\
         admin: {{ listen: \"{admin}\" }}\n",
        tls_port = tls.port,
        cert = tls.files.cert.display(),
        key = tls.files.key.display(),
    );
    if full {
        let _ = write!(
            conf,
            "access_log: {{ path: {d}/access.log, format: text }}\nresponse_headers: {{ X-Tandem-Node: bench }}\n"
        );
    }
    conf.push_str("upstreams:\n  app:\n    servers:\n");
    for a in backends {
        let passive = if full { ", max_fails: 3, fail_timeout: 10s" } else { "" };
        let _ = writeln!(conf, "      - {{ addr: \"{a}\"{passive} }}");
    }
    if full {
        conf.push_str("    health_check: { path: /tiny, interval: 1s, timeout: 1s }\n");
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_status_accepts_are_read() {
        let text =
            "Active connections: 1 \nserver accepts handled requests\n 17 17 230 \nReading: 0 Writing: 1 Waiting: 0 \n";
        assert_eq!(parse_stub_accepts(text), Some(17));
        assert_eq!(parse_stub_accepts("nothing"), None);
    }

    #[test]
    fn the_full_tandem_profile_has_checks_an_access_log_and_headers_and_the_bare_one_none() {
        let b = ["127.0.0.1:1".parse().expect("addr"), "127.0.0.1:2".parse().expect("addr")];
        let admin = "127.0.0.1:9".parse().expect("addr");
        let files = TlsFiles { cert: "/tmp/c.pem".into(), key: "/tmp/k.pem".into(), combined: "/tmp/ck.pem".into() };
        let tls = Listener { port: 8443, files: &files };
        let full = tandem_conf(Path::new("/tmp/x"), 8080, &tls, admin, 2, &b, true);
        let bare = tandem_conf(Path::new("/tmp/x"), 8080, &tls, admin, 2, &b, false);
        for key in ["health_check", "access_log", "response_headers", "max_fails"] {
            assert!(full.contains(key), "{key} in {full}");
            assert!(!bare.contains(key), "{key} in {bare}");
        }
        assert!(bare.contains("threads: 2") && bare.contains("127.0.0.1:2"));
        assert!(bare.contains("addr: \"127.0.0.1:8443\"") && bare.contains("cert: \"/tmp/c.pem\""), "{bare}");
    }
}
