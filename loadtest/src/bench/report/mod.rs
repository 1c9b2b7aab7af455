//! The bench's results: everything measured (`bench.json`), the tables
//! (`bench.md`) and a chart of the ratios (`bench.svg`).

pub mod markdown;
pub mod svg;

use super::idle::IdleMemory;
use super::plan::{Plan, Proxy};
use super::summary::{Cell, Run};

/// Where and with what the numbers were made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    /// `nginx -v`, `haproxy -v`, `wrk -v`, `tandem --version`, first lines.
    pub versions: Vec<(String, String)>,
    /// `git describe --always --dirty` of the tree tandem was built from.
    pub tandem_commit: String,
}

/// One proxy's idle-connection memory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryRow {
    pub proxy: Proxy,
    pub workers: u32,
    #[serde(flatten)]
    pub idle: IdleMemory,
    pub per_connection_kib: f64,
    pub retained_kib: i64,
}

impl MemoryRow {
    pub fn new(proxy: Proxy, workers: u32, idle: IdleMemory) -> MemoryRow {
        MemoryRow {
            proxy,
            workers,
            per_connection_kib: idle.per_connection_kib(),
            retained_kib: idle.retained_kib(),
            idle,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// RFC 3339 UTC.
    pub started_at: String,
    pub machine: Machine,
    pub plan: Plan,
    pub cells: Vec<Cell>,
    pub memory: Vec<MemoryRow>,
    pub runs: Vec<Run>,
}

/// What is missing or wrong in a report: a cell without every number, a
/// proxy without its memory row, or requests that failed. Empty when whole.
pub fn problems(report: &Report) -> Vec<String> {
    let plan = &report.plan;
    let mut out = Vec::new();
    let with_nginx = plan.proxies.contains(&Proxy::Nginx);
    for &workload in &plan.workloads {
        for &workers in &plan.workers {
            for &proxy in &plan.proxies {
                let at = format!("{workload}, workers {workers}, {proxy}");
                let Some(c) =
                    report.cells.iter().find(|c| c.workload == workload && c.workers == workers && c.proxy == proxy)
                else {
                    out.push(format!("{at}: no run"));
                    continue;
                };
                if c.rounds != plan.rounds as usize {
                    out.push(format!("{at}: {} of {} rounds", c.rounds, plan.rounds));
                }
                let numbers = [
                    ("req/s", c.rps),
                    ("p50", c.p50_ms),
                    ("p99", c.p99_ms),
                    ("CPU per request", c.cpu_us_per_request),
                    ("peak RSS", c.peak_rss_kib as f64),
                ];
                for (name, v) in numbers {
                    if !(v.is_finite() && v > 0.0) {
                        out.push(format!("{at}: {name} is {v}"));
                    }
                }
                if !c.upstream_reuse.is_finite() {
                    out.push(format!("{at}: upstream reuse is {}", c.upstream_reuse));
                }
                let ratios_ok = c.vs_nginx.is_some_and(|r| [r.rps, r.cpu, r.p99].iter().all(|v| v.is_finite()));
                if with_nginx && !ratios_ok {
                    out.push(format!("{at}: no ratio against nginx"));
                }
                let requests: u64 = report
                    .runs
                    .iter()
                    .filter(|r| r.workload == workload && r.workers == workers && r.proxy == proxy)
                    .map(|r| r.wrk.requests)
                    .sum();
                let failed = c.non_2xx + c.socket_errors;
                if failed * 100 > requests {
                    out.push(format!("{at}: {failed} of {requests} requests failed (non-2xx or socket errors)"));
                }
            }
        }
    }
    let memory_planned = plan.idle_connections > 0;
    for &workers in plan.workers.iter().filter(|_| memory_planned) {
        for &proxy in &plan.proxies {
            let at = format!("memory, {proxy}, workers {workers}");
            match report.memory.iter().find(|m| m.proxy == proxy && m.workers == workers) {
                None => out.push(format!("{at}: not measured")),
                Some(m) => {
                    if m.idle.held == 0
                        || m.idle.rss_before_kib == 0
                        || m.idle.rss_holding_kib == 0
                        || m.idle.rss_after_kib == 0
                    {
                        out.push(format!("{at}: incomplete ({:?})", m.idle));
                    }
                }
            }
        }
    }
    out
}
