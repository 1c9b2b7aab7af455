//! `/metrics`: the status report in the Prometheus text exposition format,
//! version 0.0.4. Rendered per scrape from the same [`StatusReport`] as
//! `/status.json` and the status page, so the three agree.
//!
//! Every metric's name, type and help text is in [`METRICS`]; nothing else in
//! this file names a metric. Labels: `upstream` (the group's name), `server`
//! (the server's address; when a group lists one address several times, as
//! nginx allows, the second is `addr#2`, the third `addr#3`, the order a
//! reload matches servers by), `listener` (a `listen` address). Every family
//! gets its `# HELP` and `# TYPE` lines even when it has no samples.
//!
//! Process and config:
//! - `tandem_build_info{version}` gauge: always 1.
//! - `tandem_uptime_seconds` gauge.
//! - `tandem_config_generation` gauge: 1 at start, +1 per applied reload.
//! - `tandem_config_reloads_total{result="ok"|"failed"}` counter.
//! - `tandem_config_last_reload_ok` gauge: 1 or 0; absent until the first reload.
//! - `tandem_access_log_dropped_total` counter.
//!
//! Per listener:
//! - `tandem_listener_connections_total{listener}` counter.
//! - `tandem_listener_requests_total{listener}` counter.
//! - `tandem_listener_open_connections{listener}` gauge.
//! - `tandem_client_refusals_total{reason}` counter: requests and connections
//!   refused before anything reached an upstream (`Refusal` in stats).
//! - `tandem_tls_handshakes_total{listener,result="ok"|"failed"}` counter:
//!   TLS listeners only; failed includes timed out.
//!
//! Per certificate (`{listener,cert}`, `cert` its key path such as
//! `listen[1].tls.certificates[0]`, plus `names`, comma-separated):
//! - `tandem_tls_certificate_expiry_seconds` gauge: seconds until it expires
//!   (negative once expired); alert on it as on `ssl_certificate` expiry.
//! - `tandem_acme_orders_total{result="ok"|"failed"}` counter: ACME
//!   attempts since start (absent without an `acme` section).
//! - `tandem_acme_failures_in_a_row` gauge: 0 once an attempt succeeds.
//!
//! Per upstream group:
//! - `tandem_upstream_usable_servers{upstream}` gauge.
//! - `tandem_upstream_no_live_total{upstream}` counter: requests refused
//!   (502) because no server was usable.
//!
//! Per server (`{upstream,server}` plus what is listed):
//! - `tandem_upstream_server_state{state}` gauge: one series per state word
//!   (up, backup, quarantined, failing, checking, full, draining, drained,
//!   disabled, down), 1 for the current one and 0 for the others.
//! - `tandem_upstream_active_connections` gauge.
//! - `tandem_upstream_weight` gauge (the runtime API may have changed it).
//! - `tandem_upstream_effective_weight` gauge.
//! - `tandem_upstream_requests_total` counter: tries sent.
//! - `tandem_upstream_responses_total{class="1xx".."5xx"}` counter.
//! - `tandem_upstream_failures_total{reason}` counter, `reason` as in `FailureReason`.
//! - `tandem_upstream_retries_total` counter.
//! - `tandem_upstream_quarantines_total` counter.
//! - `tandem_upstream_latency_seconds` histogram: `le` from 0.0005 to 60, then `+Inf`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write};

use super::status::{ServerStatus, StatusReport};
use crate::stats::BUCKET_BOUNDS_US;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric family, in output order.
const METRICS: &[Metric] = &[
    Metric {
        name: "tandem_build_info",
        kind: Kind::Gauge,
        help: "Always 1; the version label is the running tandem's version.",
        source: Source::Report(build_info),
    },
    Metric {
        name: "tandem_uptime_seconds",
        kind: Kind::Gauge,
        help: "Seconds since the process started.",
        source: Source::Report(|s, f| f.sample("", &[], s.report.uptime_s)),
    },
    Metric {
        name: "tandem_config_generation",
        kind: Kind::Gauge,
        help: "Config generation: 1 at start, +1 per applied reload.",
        source: Source::Report(|s, f| f.sample("", &[], s.report.config.generation)),
    },
    Metric {
        name: "tandem_config_reloads_total",
        kind: Kind::Counter,
        help: "Config reloads since start, applied (ok) or rejected (failed).",
        source: Source::Report(config_reloads),
    },
    Metric {
        name: "tandem_config_last_reload_ok",
        kind: Kind::Gauge,
        help: "1 if the last reload was applied, 0 if it was rejected; absent before the first reload.",
        source: Source::Report(config_last_reload_ok),
    },
    Metric {
        name: "tandem_access_log_dropped_total",
        kind: Kind::Counter,
        help: "Access log lines dropped because the writer fell behind.",
        source: Source::Report(|s, f| f.sample("", &[], s.report.access_log.dropped)),
    },
    Metric {
        name: "tandem_listener_connections_total",
        kind: Kind::Counter,
        help: "Client connections that carried at least one request, per listen address.",
        source: Source::Report(listener_connections),
    },
    Metric {
        name: "tandem_listener_requests_total",
        kind: Kind::Counter,
        help: "Client requests, per listen address.",
        source: Source::Report(listener_requests),
    },
    Metric {
        name: "tandem_listener_open_connections",
        kind: Kind::Gauge,
        help: "Client connections open now, per listen address.",
        source: Source::Report(listener_open),
    },
    Metric {
        name: "tandem_client_refusals_total",
        kind: Kind::Counter,
        help: "Client requests and connections refused before reaching an upstream, by reason.",
        source: Source::Report(client_refusals),
    },
    Metric {
        name: "tandem_tls_handshakes_total",
        kind: Kind::Counter,
        help: "TLS handshakes on a TLS listener, completed (ok) or failed and timed out (failed).",
        source: Source::Report(tls_handshakes),
    },
    Metric {
        name: "tandem_tls_certificate_expiry_seconds",
        kind: Kind::Gauge,
        help: "Seconds until the certificate's notAfter; negative once expired.",
        source: Source::Report(tls_certificate_expiry),
    },
    Metric {
        name: "tandem_acme_orders_total",
        kind: Kind::Counter,
        help: "ACME certificate attempts since start: obtained (ok) or failed.",
        source: Source::Report(acme_orders),
    },
    Metric {
        name: "tandem_acme_failures_in_a_row",
        kind: Kind::Gauge,
        help: "Failed ACME attempts since the last success.",
        source: Source::Report(|s, f| {
            if let Some(a) = &s.report.acme {
                f.sample("", &[], u64::from(a.failures));
            }
        }),
    },
    Metric {
        name: "tandem_upstream_usable_servers",
        kind: Kind::Gauge,
        help: "Servers of the group that would take a request now.",
        source: Source::Report(usable_servers),
    },
    Metric {
        name: "tandem_upstream_no_live_total",
        kind: Kind::Counter,
        help: "Requests answered 502 because no server of the group was usable (nginx: no live upstreams).",
        source: Source::Report(no_live),
    },
    Metric {
        name: "tandem_upstream_server_state",
        kind: Kind::Gauge,
        help: "1 for the server's current state, 0 for the other states.",
        source: Source::Report(server_state),
    },
    Metric {
        name: "tandem_upstream_active_connections",
        kind: Kind::Gauge,
        help: "Requests in flight to the server.",
        source: Source::Server(|s| s.active_connections.into()),
    },
    Metric {
        name: "tandem_upstream_weight",
        kind: Kind::Gauge,
        help: "The server's weight: the config's, or the runtime API's override.",
        source: Source::Server(|s| s.weight.into()),
    },
    Metric {
        name: "tandem_upstream_effective_weight",
        kind: Kind::Gauge,
        help: "The weight the balancer uses now: lowered by failures, back up by one per selection pass.",
        source: Source::Server(|s| s.effective_weight.into()),
    },
    Metric {
        name: "tandem_upstream_requests_total",
        kind: Kind::Counter,
        help: "Tries sent to the server, first tries and retries alike.",
        source: Source::Server(|s| s.requests.into()),
    },
    Metric {
        name: "tandem_upstream_responses_total",
        kind: Kind::Counter,
        help: "Response headers received from the server, by status class.",
        source: Source::Report(responses),
    },
    Metric {
        name: "tandem_upstream_failures_total",
        kind: Kind::Counter,
        help: "Failed tries on the server, by reason.",
        source: Source::Report(failures),
    },
    Metric {
        name: "tandem_upstream_retries_total",
        kind: Kind::Counter,
        help: "Tries on the server after which the request moved on to another server.",
        source: Source::Server(|s| s.retries.into()),
    },
    Metric {
        name: "tandem_upstream_quarantines_total",
        kind: Kind::Counter,
        help: "Times passive health checks (max_fails) took the server out.",
        source: Source::Server(|s| s.quarantines.into()),
    },
    Metric {
        name: "tandem_upstream_latency_seconds",
        kind: Kind::Histogram,
        help: "Time from choosing the server to its response header.",
        source: Source::Report(latency),
    },
];

/// Label names.
const VERSION: &str = "version";
const RESULT: &str = "result";
const LISTENER: &str = "listener";
const UPSTREAM: &str = "upstream";
const SERVER: &str = "server";
const STATE: &str = "state";
const CLASS: &str = "class";
const REASON: &str = "reason";
const LE: &str = "le";

/// The words `ServerStatus::state` takes, one `tandem_upstream_server_state`
/// series each.
const STATES: [&str; 10] =
    ["up", "backup", "quarantined", "failing", "checking", "full", "draining", "drained", "disabled", "down"];

struct Metric {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

enum Source {
    /// Writes its own samples.
    Report(fn(&Scrape<'_>, &mut Family<'_>)),
    /// One sample per server, labelled `upstream` and `server`.
    Server(fn(&ServerStatus) -> Value),
}

pub fn render(report: &StatusReport) -> String {
    let scrape = Scrape::new(report);
    // About 50 lines of 100 bytes per server, plus the process families.
    let mut out = String::with_capacity(2048 + 5000 * scrape.servers.len());
    for m in METRICS {
        for (keyword, text) in [("# HELP ", m.help), ("# TYPE ", m.kind.as_str())] {
            out.push_str(keyword);
            out.push_str(m.name);
            out.push(' ');
            out.push_str(text);
            out.push('\n');
        }
        let mut family = Family { out: &mut out, name: m.name };
        match m.source {
            Source::Report(write) => write(&scrape, &mut family),
            Source::Server(value) => {
                for row in &scrape.servers {
                    family.sample("", &row.labels(), value(row.status));
                }
            }
        }
    }
    out
}

/// The report and its servers with their `server` label, worked out once.
struct Scrape<'a> {
    report: &'a StatusReport,
    servers: Vec<ServerRow<'a>>,
}

struct ServerRow<'a> {
    upstream: &'a str,
    server: Cow<'a, str>,
    status: &'a ServerStatus,
}

impl<'a> Scrape<'a> {
    fn new(report: &'a StatusReport) -> Scrape<'a> {
        let mut servers = vec![];
        for up in &report.upstreams {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for s in &up.servers {
                let n = seen.entry(s.addr.as_str()).or_insert(0);
                *n += 1;
                let server =
                    if *n == 1 { Cow::Borrowed(s.addr.as_str()) } else { Cow::Owned(format!("{}#{n}", s.addr)) };
                servers.push(ServerRow { upstream: &up.name, server, status: s });
            }
        }
        Scrape { report, servers }
    }
}

impl ServerRow<'_> {
    fn labels(&self) -> [(&'static str, &str); 2] {
        [(UPSTREAM, self.upstream), (SERVER, &self.server)]
    }
}

/// Writes the samples of one family.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    /// `name` + `suffix` (`_bucket`, `_sum`, `_count` for a histogram, else
    /// empty), the labels, the value.
    fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        let out = &mut *self.out;
        out.push_str(self.name);
        out.push_str(suffix);
        if !labels.is_empty() {
            out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(label);
                out.push_str("=\"");
                push_escaped(out, value);
                out.push('"');
            }
            out.push('}');
        }
        // Writing to a String cannot fail.
        let _ = writeln!(out, " {}", value.into());
    }
}

/// A label value with `\`, `"` and newline escaped as the format requires.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A sample value: integers print exactly, floats in plain decimal (never
/// with an exponent), infinities as Prometheus spells them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Int(i128),
    Float(f64),
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Int(n as i128)
            }
        }
    )*};
}
int_values!(u32, u64, i64, usize);

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Int(i128::from(b))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) if x.is_nan() => f.write_str("NaN"),
            Value::Float(x) if x.is_infinite() => f.write_str(if x > 0.0 { "+Inf" } else { "-Inf" }),
            Value::Float(x) => write!(f, "{x}"),
        }
    }
}

fn build_info(s: &Scrape<'_>, f: &mut Family<'_>) {
    f.sample("", &[(VERSION, s.report.version)], 1u32);
}

fn config_reloads(s: &Scrape<'_>, f: &mut Family<'_>) {
    f.sample("", &[(RESULT, "ok")], s.report.config.reloads_ok);
    f.sample("", &[(RESULT, "failed")], s.report.config.reloads_failed);
}

fn config_last_reload_ok(s: &Scrape<'_>, f: &mut Family<'_>) {
    if let Some(reload) = &s.report.config.last_reload {
        f.sample("", &[], reload.ok);
    }
}

fn listener_connections(s: &Scrape<'_>, f: &mut Family<'_>) {
    for l in &s.report.listeners {
        f.sample("", &[(LISTENER, &l.addr)], l.connections);
    }
}

fn listener_requests(s: &Scrape<'_>, f: &mut Family<'_>) {
    for l in &s.report.listeners {
        f.sample("", &[(LISTENER, &l.addr)], l.requests);
    }
}

fn listener_open(s: &Scrape<'_>, f: &mut Family<'_>) {
    for l in &s.report.listeners {
        f.sample("", &[(LISTENER, &l.addr)], l.open);
    }
}

fn tls_handshakes(s: &Scrape<'_>, f: &mut Family<'_>) {
    for l in s.report.listeners.iter().filter(|l| l.tls) {
        f.sample("", &[(LISTENER, &l.addr), ("result", "ok")], l.tls_handshakes);
        f.sample("", &[(LISTENER, &l.addr), ("result", "failed")], l.tls_handshake_failures);
    }
}

fn tls_certificate_expiry(s: &Scrape<'_>, f: &mut Family<'_>) {
    for c in &s.report.certificates {
        let names = c.names.join(",");
        f.sample("", &[(LISTENER, &c.listener), ("cert", &c.key_path), ("names", &names)], c.expires_in_s);
    }
}

fn acme_orders(s: &Scrape<'_>, f: &mut Family<'_>) {
    if let Some(a) = &s.report.acme {
        f.sample("", &[("result", "ok")], a.obtained);
        f.sample("", &[("result", "failed")], a.failed);
    }
}

fn client_refusals(s: &Scrape<'_>, f: &mut Family<'_>) {
    for (reason, n) in &s.report.client_refusals {
        f.sample("", &[("reason", reason)], *n);
    }
}

fn usable_servers(s: &Scrape<'_>, f: &mut Family<'_>) {
    for up in &s.report.upstreams {
        f.sample("", &[(UPSTREAM, &up.name)], up.usable);
    }
}

fn no_live(s: &Scrape<'_>, f: &mut Family<'_>) {
    for up in &s.report.upstreams {
        f.sample("", &[(UPSTREAM, &up.name)], up.no_live_refusals);
    }
}

/// The enum-as-gauge convention, so an alert can select `state="quarantined"`.
/// A state word missing from [`STATES`] still gets its series (with 1).
fn server_state(s: &Scrape<'_>, f: &mut Family<'_>) {
    for row in &s.servers {
        let [upstream, server] = row.labels();
        let current = row.status.state;
        let unknown = (!STATES.contains(&current)).then_some(current);
        for state in STATES.into_iter().chain(unknown) {
            f.sample("", &[upstream, server, (STATE, state)], state == current);
        }
    }
}

fn responses(s: &Scrape<'_>, f: &mut Family<'_>) {
    for row in &s.servers {
        let [upstream, server] = row.labels();
        for &(class, n) in &row.status.responses.0 {
            f.sample("", &[upstream, server, (CLASS, class)], n);
        }
    }
}

fn failures(s: &Scrape<'_>, f: &mut Family<'_>) {
    for row in &s.servers {
        let [upstream, server] = row.labels();
        for &(reason, n) in &row.status.failures.0 {
            f.sample("", &[upstream, server, (REASON, reason)], n);
        }
    }
}

/// `latency_buckets` holds per-bucket counts with the overflow last; the
/// exposition wants them cumulative, the overflow only in `+Inf`.
fn latency(s: &Scrape<'_>, f: &mut Family<'_>) {
    let bounds: Vec<String> = BUCKET_BOUNDS_US.iter().map(|&us| Value::from(us as f64 / 1e6).to_string()).collect();
    for row in &s.servers {
        let [upstream, server] = row.labels();
        let h = &row.status.latency_buckets;
        let mut cumulative = 0u64;
        for (le, n) in bounds.iter().zip(h.counts) {
            cumulative += n;
            f.sample("_bucket", &[upstream, server, (LE, le)], cumulative);
        }
        let count = h.count();
        f.sample("_bucket", &[upstream, server, (LE, "+Inf")], count);
        f.sample("_sum", &[upstream, server], h.sum_us as f64 / 1e6);
        f.sample("_count", &[upstream, server], count);
    }
}

#[cfg(test)]
mod tests;
