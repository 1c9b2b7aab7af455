//! What one bench run measures: the contenders, the workloads, the worker
//! counts, and the order of the runs. Pure: no processes, no clock.

use std::fmt;
use std::time::Duration;

/// A proxy under test. nginx is the reference every ratio is taken against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proxy {
    Nginx,
    Haproxy,
    /// One group, two servers, no active checks, no access log.
    TandemBare,
    /// tandem-bare with request validation bypassed (`--unchecked-requests`):
    /// the same build, to show what the front door's checks cost.
    TandemUnchecked,
    /// Active checks every second, passive health, an access log to a file,
    /// response headers, and `/metrics` scraped every second during its runs.
    TandemFull,
}

impl Proxy {
    pub const ALL: [Proxy; 5] =
        [Proxy::Nginx, Proxy::Haproxy, Proxy::TandemBare, Proxy::TandemUnchecked, Proxy::TandemFull];

    pub fn name(self) -> &'static str {
        match self {
            Proxy::Nginx => "nginx",
            Proxy::Haproxy => "haproxy",
            Proxy::TandemBare => "tandem-bare",
            Proxy::TandemUnchecked => "tandem-unchecked",
            Proxy::TandemFull => "tandem-full",
        }
    }

    /// The tandem this one is compared with besides nginx, and what the
    /// ratio measures: the features (full against bare), the request
    /// validation (bare against unchecked).
    pub fn tandem_reference(self) -> Option<(Proxy, &'static str)> {
        match self {
            Proxy::TandemFull => Some((Proxy::TandemBare, "checks, passive health, access log, headers, metrics")),
            Proxy::TandemBare => Some((Proxy::TandemUnchecked, "request validation")),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Result<Proxy, String> {
        Proxy::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or_else(|| format!("unknown proxy `{text}` (one of {})", Proxy::ALL.map(Proxy::name).join(", ")))
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the load generator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// GET of a 2-byte 200.
    Tiny,
    /// GET of a 4 KiB file.
    Get4k,
    /// GET of a 64 KiB file.
    Get64k,
    /// POST with a 1 KiB body, answered by a 2-byte 200.
    Post1k,
    /// The tiny GET on a new client connection per request (`Connection: close`).
    Close,
    /// `close` over HTTPS: a full TLS handshake per request (wrk, HTTP/1.1).
    TlsClose,
    /// The tiny GET over HTTP/2 on TLS, kept alive, 10 streams at once per
    /// connection (h2load).
    H2,
}

impl Workload {
    pub const ALL: [Workload; 7] = [
        Workload::Tiny,
        Workload::Get4k,
        Workload::Get64k,
        Workload::Post1k,
        Workload::Close,
        Workload::TlsClose,
        Workload::H2,
    ];

    /// Sent to the proxy's TLS listener.
    pub fn is_tls(self) -> bool {
        matches!(self, Workload::TlsClose | Workload::H2)
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Tiny => "tiny",
            Workload::Get4k => "4k",
            Workload::Get64k => "64k",
            Workload::Post1k => "post-1k",
            Workload::Close => "close",
            Workload::TlsClose => "tls-close",
            Workload::H2 => "h2",
        }
    }

    pub fn parse(text: &str) -> Result<Workload, String> {
        Workload::ALL.into_iter().find(|w| w.name() == text).ok_or_else(|| {
            format!("unknown workload `{text}` (one of {})", Workload::ALL.map(Workload::name).join(", "))
        })
    }

    /// The path on the backends.
    pub fn path(self) -> &'static str {
        match self {
            Workload::Tiny | Workload::Close | Workload::TlsClose | Workload::H2 => "/tiny",
            Workload::Get4k => "/4k",
            Workload::Get64k => "/64k",
            Workload::Post1k => "/post",
        }
    }

    /// What a person reads in the report.
    pub fn describe(self) -> &'static str {
        match self {
            Workload::Tiny => "GET, 2-byte 200",
            Workload::Get4k => "GET, 4 KiB 200",
            Workload::Get64k => "GET, 64 KiB 200",
            Workload::Post1k => "POST, 1 KiB body, 2-byte 200",
            Workload::Close => "GET, 2-byte 200, new connection per request",
            Workload::TlsClose => "HTTPS GET, 2-byte 200, new TLS connection (full handshake) per request",
            Workload::H2 => "HTTP/2 GET over TLS, 2-byte 200, kept alive, 10 streams per connection (h2load)",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings of one bench run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub proxies: Vec<Proxy>,
    pub workloads: Vec<Workload>,
    /// Worker processes (nginx), threads (HAProxy `nbthread`, tandem `threads`).
    pub workers: Vec<u32>,
    pub rounds: u32,
    /// Length of one measured wrk run, whole seconds (wrk's unit).
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub wrk_threads: u32,
    pub wrk_connections: u32,
    /// Idle keep-alive client connections held for the memory measurement.
    pub idle_connections: u32,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// One measured run: a workload against one proxy at one worker count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub round: u32,
    pub workload: Workload,
    pub workers: u32,
    pub proxy: Proxy,
}

impl Plan {
    /// Every run in the order it happens. Each round goes through every
    /// workload and worker count; within one (workload, workers) cell the
    /// proxies run back to back, their order rotated by one each round, so
    /// that drift on a shared machine (a neighbour's load, thermal state)
    /// hits every contender alike and the ratios taken within a round stay fair.
    pub fn schedule(&self) -> Vec<Slot> {
        let mut slots = Vec::new();
        let n = self.proxies.len();
        for round in 0..self.rounds {
            for &workload in &self.workloads {
                for &workers in &self.workers {
                    for i in 0..n {
                        let proxy = self.proxies[(i + round as usize) % n];
                        slots.push(Slot { round, workload, workers, proxy });
                    }
                }
            }
        }
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rounds: u32) -> Plan {
        Plan {
            proxies: Proxy::ALL.to_vec(),
            workloads: vec![Workload::Tiny, Workload::Close],
            workers: vec![1, 2],
            rounds,
            duration: Duration::from_secs(1),
            wrk_threads: 2,
            wrk_connections: 64,
            idle_connections: 10,
        }
    }

    #[test]
    fn every_proxy_runs_once_per_cell_and_round() {
        let slots = plan(3).schedule();
        assert_eq!(slots.len(), 3 * 2 * 2 * Proxy::ALL.len());
        for round in 0..3 {
            for workload in [Workload::Tiny, Workload::Close] {
                for workers in [1, 2] {
                    let mut seen: Vec<Proxy> = slots
                        .iter()
                        .filter(|s| s.round == round && s.workload == workload && s.workers == workers)
                        .map(|s| s.proxy)
                        .collect();
                    seen.sort();
                    assert_eq!(seen, Proxy::ALL.to_vec());
                }
            }
        }
    }

    #[test]
    fn the_order_of_the_proxies_rotates_each_round() {
        let slots = plan(5).schedule();
        let first_of_round: Vec<Proxy> =
            (0..5).map(|r| slots.iter().find(|s| s.round == r).expect("slot").proxy).collect();
        assert_eq!(first_of_round, Proxy::ALL.to_vec());
    }

    #[test]
    fn names_parse_back() {
        for p in Proxy::ALL {
            assert_eq!(Proxy::parse(p.name()), Ok(p));
        }
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Ok(w));
        }
        assert!(Proxy::parse("envoy").is_err_and(|e| e.contains("tandem-bare")));
    }
}
