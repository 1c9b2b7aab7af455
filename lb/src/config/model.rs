//! The validated configuration model.
//!
//! This is the buffer between the YAML file format (`raw.rs`) and the rest of
//! tandem: every value here has been checked, every default filled in, every
//! duration is a real [`Duration`] and every address is resolved. Code outside
//! `config/` only ever sees these types.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the proxy listens, plain HTTP or TLS. Required, at least one.
    pub listen: Vec<Listen>,
    /// Worker threads for the proxy service. Default: 1 (Pingora's default).
    pub threads: usize,
    /// How long the process stays after a graceful stop (SIGTERM) or an
    /// upgrade hand-over so requests in flight finish (whole seconds).
    /// Default 5s (Pingora's own default is 300s, far too long for a drill).
    pub shutdown_grace: Duration,
    /// Upstream groups in the order they appear in the file.
    pub upstreams: Vec<Upstream>,
    /// Routes, tried in file order; the first match wins.
    pub routes: Vec<Route>,
    /// The admin listener (status page, metrics, runtime API).
    pub admin: Admin,
    /// One line per request, when configured. Default: off (the metrics carry
    /// the same counts).
    pub access_log: Option<AccessLog>,
    /// Where the process writes its pid (`tandem reload` reads it).
    /// Default `/run/tandem.pid`.
    pub pid_file: PathBuf,
    /// Pingora's socket for handing the listeners to a new process on a
    /// graceful upgrade. Default `/run/tandem-upgrade.sock`.
    pub upgrade_sock: PathBuf,
    /// Headers added to every response tandem sends (proxied or its own
    /// errors), in file order, e.g. `X-Tandem-Node: lb1`. Default: none.
    pub response_headers: Vec<(String, String)>,
    /// Limits and timeouts on client connections (nginx's defaults).
    pub client: ClientLimits,
    /// Certificates by ACME, when configured.
    pub acme: Option<Acme>,
}

/// The `acme` section: see `config/acme.rs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Acme {
    /// The CA's directory URL (https://).
    pub directory: String,
    /// Contact for the account (`mailto:`); none by default.
    pub email: Option<String>,
    /// The names of the one certificate, lowercase; IP literals allowed.
    pub domains: Vec<String>,
    /// The account key, the certificate and key, and the HTTP-01 tokens
    /// (`challenges/`): shared by both balancers of a pair when it is on a
    /// shared filesystem.
    pub state_dir: PathBuf,
    /// Trust only this CA for the directory's HTTPS (a test CA such as
    /// pebble's); default the system's.
    pub ca: Option<PathBuf>,
}

impl Acme {
    pub fn cert_file(&self) -> PathBuf {
        self.state_dir.join("cert.pem")
    }

    pub fn key_file(&self) -> PathBuf {
        self.state_dir.join("key.pem")
    }
}

/// One `listen` entry: an address, and TLS settings when it terminates TLS.
#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    pub addr: SocketAddr,
    pub tls: Option<ListenTls>,
}

/// A TLS listener's settings (the files are read by `crate::tls`, at start
/// and on every reload).
#[derive(Debug, Clone, PartialEq)]
pub struct ListenTls {
    /// Chosen by the client's SNI against each certificate's names; the
    /// first is the default (no SNI, or a name none of them has).
    pub certificates: Vec<CertificateFiles>,
    /// ALPN protocols offered, in preference order. Default `[h2, http/1.1]`.
    pub protocols: Vec<Alpn>,
    /// Oldest TLS version accepted. Default 1.2 (nginx's default
    /// `ssl_protocols TLSv1.2 TLSv1.3`).
    pub min_version: TlsVersion,
}

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    /// Where it is written: `listen[1].tls.certificates[0]`, and its line,
    /// so a problem found when the files are read names it.
    pub key_path: String,
    pub line: Option<usize>,
    /// The lines of its `cert` and `key` keys.
    pub cert_line: Option<usize>,
    pub key_line: Option<usize>,
    /// `{ acme: true }`: the files are the ACME state's (`acme.state_dir`),
    /// which may not exist yet or be expired: skipped then, not an error.
    pub acme: bool,
}

/// An ALPN protocol tandem serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    H2,
    Http11,
}

impl Alpn {
    /// The protocol's ALPN identifier.
    pub fn id(self) -> &'static [u8] {
        match self {
            Alpn::H2 => b"h2",
            Alpn::Http11 => b"http/1.1",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

/// What a client may send and how long it may take (the defaults are
/// nginx's: see `client.rs` for each key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// The whole request head must arrive within this.
    pub header_timeout: Duration,
    /// Longest wait between two reads of a request body.
    pub body_timeout: Duration,
    /// Largest request body, bytes; 0 = no limit.
    pub max_body_size: u64,
    /// `large_client_header_buffers`: a line of the head is at most
    /// `header_buffer_size` bytes, the head at most `header_buffers` of them.
    pub header_buffers: u32,
    pub header_buffer_size: usize,
    pub max_headers: u32,
    /// Idle time between requests on a kept-alive connection; zero = close
    /// after every response.
    pub keepalive_timeout: Duration,
    /// Requests on one connection before it is closed.
    pub keepalive_requests: u32,
    /// Longest wait between two writes to a client.
    pub send_timeout: Duration,
    /// Client connections at once per listener; 0 = no cap.
    pub max_connections: u32,
}

impl ClientLimits {
    /// The largest request head, bytes.
    pub fn max_head(&self) -> usize {
        self.header_buffers as usize * self.header_buffer_size
    }

    /// Whether a connection that has served `requests` may take another.
    pub fn keeps_alive_after(&self, requests: u32) -> bool {
        !self.keepalive_timeout.is_zero() && requests < self.keepalive_requests
    }
}

/// The admin listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// Default `127.0.0.1:9090`: loopback only.
    pub listen: SocketAddr,
    /// Bearer token for changing calls. Without one, changing calls are refused.
    pub token: Option<Secret>,
    /// Clients that may make changing calls. Default loopback (127.0.0.0/8, ::1).
    pub allow: Vec<IpNet>,
}

/// A string that never shows in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An IP network (`10.0.0.0/8`); a single address has the full prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn new(addr: IpAddr, prefix: u8) -> IpNet {
        IpNet { addr, prefix }
    }

    /// True when `ip` is in this network. An IPv4-mapped IPv6 client
    /// (`::ffff:127.0.0.1`) is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Access log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    /// Default text (combined-log-like).
    pub format: LogFormat,
    /// Default stderr.
    pub target: LogTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Stderr,
    Stdout,
    /// Appended to; reopened on every reload (for logrotate).
    File(PathBuf),
}

/// One upstream group (nginx's `upstream NAME { ... }` plus the `proxy_*` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    pub name: String,
    pub balance: Balance,
    /// nginx `proxy_connect_timeout`; default 60s as nginx.
    pub connect_timeout: Duration,
    /// nginx `proxy_read_timeout` (between two reads); default 60s as nginx.
    pub read_timeout: Duration,
    /// nginx `proxy_send_timeout` (between two writes); default 60s as nginx.
    pub send_timeout: Duration,
    /// nginx `proxy_next_upstream`; default `[error, timeout]`.
    pub next_upstream: NextUpstream,
    /// nginx `proxy_next_upstream_tries`; 0 = no cap (default).
    pub next_upstream_tries: u32,
    /// nginx `proxy_next_upstream_timeout`; `Duration::ZERO` = no bound (default).
    pub next_upstream_timeout: Duration,
    /// Servers in file order. A hostname that resolves to several addresses
    /// becomes several entries, one per address, as in nginx.
    pub servers: Vec<Server>,
    /// Optional active health checks.
    pub health_check: Option<HealthCheck>,
    /// TLS to the servers (and their active checks); default off.
    pub tls: Option<UpstreamTls>,
}

/// An upstream group's TLS (see `config/upstream_tls.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamTls {
    /// The name sent (SNI) and verified; default each server's host as
    /// written (none for an IP address, which is then verified as one).
    pub sni: Option<String>,
    /// Verify the server's certificate; default true.
    pub verify: bool,
    /// Trust these CAs instead of the system's.
    pub ca: Option<PathBuf>,
    /// The line of the group's `tls` key, for errors found reading `ca`.
    pub line: Option<usize>,
}

/// Balancing method (nginx: default round robin, `least_conn`, `ip_hash`,
/// `hash`, `random [two ...]`; nginx Plus: `least_time`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    IpHash,
    Hash {
        key: HashKey,
        consistent: bool,
    },
    /// The lowest average response time x (in-flight + 1) / weight.
    LeastTime(TimeMeasure),
    /// A weighted random draw; with `two`, the better of two draws.
    Random(Option<RandomTwo>),
}

impl Balance {
    /// The response time the balancer averages, when it averages one.
    pub fn time_measure(&self) -> Option<TimeMeasure> {
        match self {
            Balance::LeastTime(m) | Balance::Random(Some(RandomTwo::LeastTime(m))) => Some(*m),
            _ => None,
        }
    }

    /// True for the balancers that hash a request key.
    pub fn is_hash(&self) -> bool {
        matches!(self, Balance::IpHash | Balance::Hash { .. })
    }
}

/// What `least_time` measures (nginx Plus `least_time header|last_byte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMeasure {
    /// From choosing the server to its response head (the default).
    Header,
    /// From choosing the server to the last byte of its response.
    LastByte,
}

/// How `random two` chooses between its two draws (nginx `random two
/// least_conn`, nginx Plus `least_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomTwo {
    LeastConn,
    LeastTime(TimeMeasure),
}

/// What a `hash` balancer hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashKey {
    /// `header:NAME`, the value of a request header (name stored lowercase).
    Header(String),
    /// `cookie:NAME`, the value of a cookie.
    Cookie(String),
    /// `arg:NAME`, the value of a query-string argument.
    Arg(String),
    /// `client_ip`, the client address as text (nginx `$remote_addr`).
    ClientIp,
    /// `uri`, the request path with query string (nginx `$request_uri`).
    Uri,
}

/// One upstream server (nginx `server ADDR [params]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The address as written in the file (`"app1:8000"`); ketama hashes this,
    /// as nginx does, and the status page shows it.
    pub name: String,
    /// The resolved address.
    pub addr: SocketAddr,
    /// Default 1; must be >= 1.
    pub weight: u32,
    /// Default 1; 0 turns failure accounting off.
    pub max_fails: u32,
    /// Default 10s.
    pub fail_timeout: Duration,
    /// Default false; refused with `hash` and `ip_hash`.
    pub backup: bool,
    /// Default false.
    pub down: bool,
    /// Default 0 = no cap on simultaneous requests.
    pub max_conns: u32,
    /// nginx Plus `slow_start`: the time over which a server that comes
    /// back or joins ramps its weight up. Default 0 = off.
    pub slow_start: Duration,
}

/// Which failures move a request to the next server (nginx `proxy_next_upstream`).
/// A bit set; `off` is the empty set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NextUpstream(pub u16);

impl NextUpstream {
    pub const ERROR: u16 = 1 << 0;
    pub const TIMEOUT: u16 = 1 << 1;
    pub const INVALID_HEADER: u16 = 1 << 2;
    pub const HTTP_500: u16 = 1 << 3;
    pub const HTTP_502: u16 = 1 << 4;
    pub const HTTP_503: u16 = 1 << 5;
    pub const HTTP_504: u16 = 1 << 6;
    pub const HTTP_403: u16 = 1 << 7;
    pub const HTTP_404: u16 = 1 << 8;
    pub const HTTP_429: u16 = 1 << 9;
    pub const NON_IDEMPOTENT: u16 = 1 << 10;

    /// nginx's default: `error timeout`.
    pub const DEFAULT: NextUpstream = NextUpstream(Self::ERROR | Self::TIMEOUT);

    pub fn contains(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// The condition bit for a response status, if that status can be listed.
    pub fn status_bit(status: u16) -> Option<u16> {
        Some(match status {
            500 => Self::HTTP_500,
            502 => Self::HTTP_502,
            503 => Self::HTTP_503,
            504 => Self::HTTP_504,
            403 => Self::HTTP_403,
            404 => Self::HTTP_404,
            429 => Self::HTTP_429,
            _ => return None,
        })
    }

    /// Parse one list entry as written in YAML (`error`, `http_502`, `off`, ...).
    /// `off` parses to 0.
    pub fn parse_entry(entry: &str) -> Option<u16> {
        Some(match entry {
            "error" => Self::ERROR,
            "timeout" => Self::TIMEOUT,
            "invalid_header" => Self::INVALID_HEADER,
            "http_500" => Self::HTTP_500,
            "http_502" => Self::HTTP_502,
            "http_503" => Self::HTTP_503,
            "http_504" => Self::HTTP_504,
            "http_403" => Self::HTTP_403,
            "http_404" => Self::HTTP_404,
            "http_429" => Self::HTTP_429,
            "non_idempotent" => Self::NON_IDEMPOTENT,
            "off" => 0,
            _ => return None,
        })
    }
}

/// Active health checks for one upstream group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// `tcp: true` checks only that a TCP connection opens. Default false (HTTP).
    pub tcp: bool,
    /// HTTP path probed with GET. Default `/`.
    pub path: String,
    /// Host header for the probe. Default: the server's `name`.
    pub host: Option<String>,
    /// Time between two probes of one server. Default 5s (nginx Plus default).
    pub interval: Duration,
    /// Connect + response timeout of one probe. Default 1s.
    pub timeout: Duration,
    /// Consecutive passes that bring a server back. Default 2.
    pub rise: u32,
    /// Consecutive failures that take a server out. Default 2.
    pub fall: u32,
    /// Status range that passes, inclusive. Default 200-399.
    pub expect: (u16, u16),
    /// nginx Plus `mandatory`: servers start as "checking" and take no traffic
    /// until their first probe passes. Default false: servers start healthy.
    pub mandatory: bool,
}

/// One route: the first route whose host and path prefix match picks the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub host: HostMatch,
    /// Default `/`.
    pub path_prefix: String,
    /// Index into [`Config::upstreams`].
    pub upstream: usize,
    /// Plain-HTTP requests on this route are redirected to HTTPS (301 for
    /// GET and HEAD, 308 otherwise) instead of proxied. Default false.
    pub https_redirect: bool,
    /// The request methods this route takes (exact, as sent: `GET`).
    /// Default empty = any method.
    pub methods: Vec<String>,
    /// A request header the route needs. Default none.
    pub header: Option<HeaderMatch>,
}

impl Route {
    /// Any host, any method, no header: the route of a file with one group.
    pub fn catch_all(path_prefix: &str, upstream: usize) -> Route {
        Route {
            host: HostMatch::Any,
            path_prefix: path_prefix.to_string(),
            upstream,
            https_redirect: false,
            methods: Vec::new(),
            header: None,
        }
    }
}

/// A route's `header: { name, value | prefix }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatch {
    /// Stored lowercase; matched case-insensitively, as header names are.
    pub name: String,
    pub value: ValueMatch,
}

/// How a header's value must look (case-sensitive, as nginx's `map`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueMatch {
    /// `value: EU`: exactly this.
    Exact(String),
    /// `prefix: eu-`: starts with this.
    Prefix(String),
}

impl ValueMatch {
    pub fn matches(&self, value: &[u8]) -> bool {
        match self {
            ValueMatch::Exact(v) => value == v.as_bytes(),
            ValueMatch::Prefix(p) => value.starts_with(p.as_bytes()),
        }
    }
}

/// How a route matches the request's Host (port ignored, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// `*` (the default): any host.
    Any,
    /// `example.com`: exactly this host (stored lowercase).
    Exact(String),
    /// `*.example.com`: any subdomain, stored as `.example.com`.
    Suffix(String),
}
