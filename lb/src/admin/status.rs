//! The status report: one snapshot of everything the admin plane shows.
//! `/status.json` is this struct serialized; the status page renders it and
//! `/metrics` is rendered from it, so the three always agree.
//! Documented field by field in README.md ("status.json").

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::Balance;
use crate::live::Live;
use crate::runtime::ServerSnapshot;
use crate::stats::{FailureReason, HistogramSnapshot, StatusClass};
use crate::timefmt::rfc3339;
use crate::upstream::{ActiveState, AdminState};

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub version: &'static str,
    pub pid: u32,
    pub started_at: String,
    pub uptime_s: f64,
    pub now: String,
    /// Same verdict as `/healthz`.
    pub healthy: bool,
    pub health_reason: &'static str,
    pub config: ConfigStatus,
    pub listeners: Vec<ListenerStatus>,
    /// The TLS listeners' certificates, in `listen` order.
    pub certificates: Vec<CertificateStatus>,
    /// Certificates by ACME; null without an `acme` section.
    pub acme: Option<AcmeReport>,
    /// Client requests and connections refused, by reason (all listeners).
    pub client_refusals: std::collections::BTreeMap<&'static str, u64>,
    pub access_log: AccessLogStatus,
    pub upstreams: Vec<UpstreamStatus>,
}

#[derive(Debug, Serialize)]
pub struct ConfigStatus {
    pub path: String,
    /// 1 at start, +1 per applied reload.
    pub generation: u64,
    /// CRC-32 of the running file, 8 hex digits.
    pub crc32: String,
    pub loaded_at: String,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub last_reload: Option<ReloadStatus>,
}

#[derive(Debug, Serialize)]
pub struct ReloadStatus {
    pub at: String,
    pub ok: bool,
    /// Why it was rejected, one entry per problem (key path and line).
    pub errors: Vec<String>,
    /// Keys that changed and wait for a graceful upgrade.
    pub needs_upgrade: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ListenerStatus {
    pub addr: String,
    pub connections: u64,
    pub requests: u64,
    /// Client connections open now.
    pub open: u64,
    pub tls: bool,
    /// TLS listeners: handshakes completed, and failed or timed out.
    pub tls_handshakes: u64,
    pub tls_handshake_failures: u64,
}

#[derive(Debug, Serialize)]
pub struct AcmeReport {
    pub directory: String,
    pub domains: Vec<String>,
    /// starting, obtaining, valid, failed (a certificate may still be served).
    pub state: &'static str,
    pub not_after: Option<String>,
    pub next_attempt: Option<String>,
    pub last_attempt: Option<String>,
    pub last_success: Option<String>,
    /// Why the last attempt failed; null after a success.
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// Since start: certificates obtained, attempts failed.
    pub obtained: u64,
    pub failed: u64,
}

#[derive(Debug, Serialize)]
pub struct CertificateStatus {
    pub listener: String,
    /// Where it is configured: `listen[1].tls.certificates[0]`.
    pub key_path: String,
    pub file: String,
    /// The names SNI is matched against (subject alternative names).
    pub names: Vec<String>,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// Seconds until `not_after`; negative once expired.
    pub expires_in_s: f64,
    /// Whole days left (rounded down), as operators read it.
    pub days_left: i64,
}

#[derive(Debug, Serialize)]
pub struct AccessLogStatus {
    pub enabled: bool,
    pub dropped: u64,
}

#[derive(Debug, Serialize)]
pub struct UpstreamStatus {
    pub name: String,
    pub balance: &'static str,
    pub health_check: bool,
    /// Servers that would take a request now.
    pub usable: usize,
    /// Requests answered 502 because no server of the group was usable
    /// (nginx's "no live upstreams"), since start.
    pub no_live_refusals: u64,
    pub servers: Vec<ServerStatus>,
}

#[derive(Debug, Serialize)]
pub struct ServerStatus {
    /// As written in the config.
    pub name: String,
    pub addr: String,
    /// Position in the group's `servers` list (the runtime API accepts it).
    pub index: usize,
    pub backup: bool,
    /// up, backup (a healthy standby), quarantined, failing (active checks),
    /// checking (mandatory checks pending), full (max_conns), draining,
    /// drained, disabled, down.
    pub state: &'static str,
    /// Time left of a passive quarantine that ends by itself; null when not
    /// quarantined or when an active check has to end it.
    pub quarantine_left_ms: Option<i64>,
    /// up, down, checking, or off (no active checks in the group).
    pub active_check: &'static str,
    /// normal, draining or disabled (runtime API).
    pub admin: &'static str,
    pub weight: i64,
    pub config_weight: u32,
    pub effective_weight: i64,
    /// During a slow start (`slow_start`), the percentage of its weight the
    /// server has now; null otherwise.
    pub slow_start_percent: Option<f64>,
    /// `least_time`'s decayed average response time, ms; null before the
    /// first sample or with another balancer.
    pub avg_response_ms: Option<f64>,
    /// Requests in flight to the server, including those that started
    /// under an earlier config generation.
    pub active_connections: u64,
    pub max_conns: u32,
    pub fails: u32,
    pub max_fails: u32,
    pub fail_timeout_ms: i64,
    /// Tries sent to this server.
    pub requests: u64,
    /// Response headers received, by status class (`1xx` .. `5xx`).
    pub responses: Counts,
    /// Failed tries by reason (see `FailureReason`).
    pub failures: Counts,
    pub failures_total: u64,
    /// Failed (or listed-status) tries here that moved the request on.
    pub retries: u64,
    pub quarantines: u64,
    pub last_failure: Option<LastFailureStatus>,
    pub latency_ms: LatencyStatus,
    #[serde(skip)]
    pub latency_buckets: HistogramSnapshot,
}

/// Named counters in a fixed order, serialized as a JSON object.
#[derive(Debug, Clone)]
pub struct Counts(pub Vec<(&'static str, u64)>);

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, n) in &self.0 {
            map.serialize_entry(name, n)?;
        }
        map.end()
    }
}

#[derive(Debug, Serialize)]
pub struct LastFailureStatus {
    pub reason: &'static str,
    pub at: String,
    pub ago_s: f64,
}

/// Time from choosing the server to its response header, since start.
#[derive(Debug, Serialize)]
pub struct LatencyStatus {
    pub count: u64,
    pub sum: f64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

/// Whether this tandem can serve: its config is loaded (it is, once the
/// process answers) and at least one upstream server is usable.
pub fn health(live: &Live) -> (bool, &'static str) {
    if live.runtime().any_usable() {
        (true, "ok")
    } else {
        (false, "no usable upstream server")
    }
}

pub fn build(live: &Live) -> StatusReport {
    let now = SystemTime::now();
    let state = live.config_state();
    let config = live.config();
    let (reloads_ok, reloads_failed) = live.reload_counts();
    let runtime = live.runtime();
    let upstreams: Vec<UpstreamStatus> = runtime
        .upstreams
        .iter()
        .map(|up| {
            let snapshots = up.snapshot();
            let usable = snapshots.iter().filter(|s| s.usable).count();
            let servers: Vec<ServerStatus> = snapshots
                .into_iter()
                .enumerate()
                .map(|(index, s)| {
                    server_status(index, &s, up.config.servers[index].weight, up.config.health_check.is_some(), now)
                })
                .collect();
            UpstreamStatus {
                name: up.config.name.clone(),
                balance: balance_name(&up.config.balance),
                health_check: up.config.health_check.is_some(),
                usable,
                no_live_refusals: up.no_live.refusals(),
                servers,
            }
        })
        .collect();
    let (healthy, health_reason) = health(live);
    StatusReport {
        version: env!("CARGO_PKG_VERSION"),
        pid: std::process::id(),
        started_at: rfc3339(live.started_at),
        uptime_s: secs(now.duration_since(live.started_at).unwrap_or_default()),
        now: rfc3339(now),
        healthy,
        health_reason,
        config: ConfigStatus {
            path: live.config_path().display().to_string(),
            generation: state.generation,
            crc32: format!("{:08x}", state.digest),
            loaded_at: rfc3339(state.loaded_at),
            reloads_ok,
            reloads_failed,
            last_reload: state.last_reload.map(|r| ReloadStatus {
                at: rfc3339(r.at),
                ok: r.errors.is_empty(),
                errors: r.errors,
                needs_upgrade: r.needs_upgrade,
            }),
        },
        listeners: live
            .listeners
            .iter()
            .map(|l| ListenerStatus {
                addr: l.addr.to_string(),
                connections: l.connections.load(std::sync::atomic::Ordering::Relaxed),
                requests: l.requests.load(std::sync::atomic::Ordering::Relaxed),
                open: l.open.load(std::sync::atomic::Ordering::Relaxed),
                tls: l.tls,
                tls_handshakes: l.tls_handshakes.load(std::sync::atomic::Ordering::Relaxed),
                tls_handshake_failures: l.tls_failures.load(std::sync::atomic::Ordering::Relaxed),
            })
            .collect(),
        certificates: live
            .tls_arc()
            .certificates
            .iter()
            .map(|c| {
                let left = c.expires_in(now);
                CertificateStatus {
                    listener: c.listener.clone(),
                    key_path: c.key_path.clone(),
                    file: c.cert_file.clone(),
                    names: c.names.clone(),
                    issuer: c.issuer.clone(),
                    not_before: rfc3339(c.not_before),
                    not_after: rfc3339(c.not_after),
                    expires_in_s: left,
                    days_left: (left / 86_400.0).floor() as i64,
                }
            })
            .collect(),
        acme: config.acme.as_ref().map(|a| {
            let st = live.acme.status();
            AcmeReport {
                directory: a.directory.clone(),
                domains: a.domains.clone(),
                state: if st.state.is_empty() { "starting" } else { st.state },
                not_after: st.not_after.map(rfc3339),
                next_attempt: st.next_attempt.map(rfc3339),
                last_attempt: st.last_attempt.map(rfc3339),
                last_success: st.last_success.map(rfc3339),
                last_error: st.last_error,
                failures: st.failures,
                obtained: st.obtained,
                failed: st.failed,
            }
        }),
        client_refusals: live.refusals.snapshot().into_iter().collect(),
        access_log: AccessLogStatus { enabled: live.access_log().is_some(), dropped: crate::access_log::dropped() },
        upstreams,
    }
}

fn server_status(index: usize, s: &ServerSnapshot, config_weight: u32, checks: bool, now: SystemTime) -> ServerStatus {
    let p = &s.peer;
    let stats = s.stats.snapshot();
    let latency = stats.latency;
    ServerStatus {
        name: s.name.clone(),
        addr: s.addr.to_string(),
        index,
        backup: s.backup,
        state: state_name(s),
        quarantine_left_ms: s.quarantine_left_ms,
        active_check: match (checks, p.active) {
            (false, _) => "off",
            (true, ActiveState::Up) => "up",
            (true, ActiveState::Down) => "down",
            (true, ActiveState::Checking) => "checking",
        },
        admin: match p.admin {
            AdminState::Normal => "normal",
            AdminState::Draining => "draining",
            AdminState::Disabled => "disabled",
        },
        weight: p.params.weight,
        config_weight,
        effective_weight: p.effective_weight,
        slow_start_percent: s.ramp_permille.map(|r| r as f64 / 10.0),
        avg_response_ms: s.avg_time_us.map(|us| us as f64 / 1000.0),
        active_connections: stats.in_flight,
        max_conns: p.params.max_conns,
        fails: p.fails,
        max_fails: p.params.max_fails,
        fail_timeout_ms: p.params.fail_timeout,
        requests: stats.requests,
        responses: Counts(StatusClass::NAMES.iter().copied().zip(stats.responses).collect()),
        failures: Counts(FailureReason::ALL.iter().map(|r| r.as_str()).zip(stats.failures).collect()),
        failures_total: stats.failures.iter().sum(),
        retries: stats.retries,
        quarantines: stats.quarantines,
        last_failure: stats.last_failure.map(|f| LastFailureStatus {
            reason: f.reason.as_str(),
            at: rfc3339(f.at),
            ago_s: secs(now.duration_since(f.at).unwrap_or_default()),
        }),
        latency_ms: LatencyStatus {
            count: latency.count(),
            sum: latency.sum_us as f64 / 1000.0,
            p50: latency.quantile_ms(0.5).map(round3),
            p99: latency.quantile_ms(0.99).map(round3),
        },
        latency_buckets: latency,
    }
}

/// The one word the status page shows for a server, most important first.
pub fn state_name(s: &ServerSnapshot) -> &'static str {
    let p = &s.peer;
    if p.params.down {
        "down"
    } else if p.admin == AdminState::Disabled {
        "disabled"
    } else if p.admin == AdminState::Draining {
        // In flight counts every generation's requests, not just this group's.
        if s.stats.in_flight() > 0 {
            "draining"
        } else {
            "drained"
        }
    } else if p.active == ActiveState::Checking {
        "checking"
    } else if p.active == ActiveState::Down {
        "failing"
    } else if !s.usable && !p.is_full() {
        "quarantined"
    } else if p.is_full() {
        "full"
    } else if s.backup {
        "backup"
    } else {
        "up"
    }
}

pub fn balance_name(b: &Balance) -> &'static str {
    match b {
        Balance::RoundRobin => "round_robin",
        Balance::LeastConn => "least_conn",
        Balance::IpHash => "ip_hash",
        Balance::Hash { consistent: false, .. } => "hash",
        Balance::Hash { consistent: true, .. } => "consistent_hash",
        Balance::LeastTime(_) => "least_time",
        Balance::Random(None) => "random",
        Balance::Random(Some(crate::config::RandomTwo::LeastConn)) => "random_two_least_conn",
        Balance::Random(Some(crate::config::RandomTwo::LeastTime(_))) => "random_two_least_time",
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Overrides, Runtime};
    use crate::upstream::{Clock, Outcome};

    fn snapshots(yaml: &str) -> (Runtime, Vec<ServerSnapshot>) {
        let config = crate::config::parse_str(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
        let rt = Runtime::build(&config, Clock::new(), None, &Overrides::default());
        let snap = rt.upstreams[0].snapshot();
        (rt, snap)
    }

    #[test]
    fn states_name_the_most_important_condition() {
        let yaml = "listen: 127.0.0.1:1\nupstreams:\n  app:\n    servers:\n\
                    \x20     - { addr: \"127.0.0.1:11\" }\n      - { addr: \"127.0.0.1:12\", backup: true }\n\
                    \x20     - { addr: \"127.0.0.1:13\", down: true }\n";
        let (rt, snap) = snapshots(yaml);
        let names: Vec<_> = snap.iter().map(state_name).collect();
        assert_eq!(names, ["up", "backup", "down"]);
        let up = &rt.upstreams[0];
        let mut a = up.group.start(0);
        let id = up.group.pick(&mut a, b"").unwrap_or_else(|| unreachable!());
        up.group.finish(&mut a, id, Outcome::Failed);
        let mut s = up.snapshot().remove(0);
        assert_eq!(state_name(&s), "quarantined");
        s.peer.admin = AdminState::Draining;
        s.stats.on_try();
        assert_eq!(state_name(&s), "draining");
        s.stats.on_try_end();
        assert_eq!(state_name(&s), "drained");
        s.peer.admin = AdminState::Disabled;
        assert_eq!(state_name(&s), "disabled");
        s.peer.admin = AdminState::Normal;
        s.peer.active = ActiveState::Down;
        assert_eq!(state_name(&s), "failing");
    }
}
