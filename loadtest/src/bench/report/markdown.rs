//! `bench.md`: the tables a person reads (and `loadtest/README.md` quotes).

use std::fmt::Write as _;

use super::Report;
use crate::summary::Ratios;

fn ratio(r: Option<Ratios>, f: fn(&Ratios) -> f64) -> String {
    r.map(|r| format!("{:.2}", f(&r))).unwrap_or_else(|| "-".into())
}

/// The median and, in parentheses, the middle half of the per-round ratios.
fn ratio_iqr(r: Option<Ratios>, f: fn(&Ratios) -> f64, iqr: fn(&Ratios) -> (f64, f64)) -> String {
    r.map(|r| {
        let (lo, hi) = iqr(&r);
        format!("{:.2} ({lo:.2}-{hi:.2})", f(&r))
    })
    .unwrap_or_else(|| "-".into())
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub fn render(report: &Report) -> String {
    let plan = &report.plan;
    let m = &report.machine;
    let mut s = String::new();
    let _ = writeln!(s, "# Proxy benchmark, {}\n", report.started_at);
    let _ = writeln!(s, "{} cores ({}), Linux {}; tandem {}.", m.cores, m.cpu, m.kernel, m.tandem_commit);
    let versions: Vec<String> = m.versions.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(s, "{}.\n", versions.join("; "));
    let _ = writeln!(
        s,
        "wrk -t{} -c{} -d{}s per run, {} rounds, proxies in rotated order each round; medians over rounds, \
         ratios per round against nginx (then the median; in parentheses the middle half of the per-round \
         ratios, 25th to 75th percentile). CPU is the proxy's user+system time per request; peak RSS the \
         highest over the rounds; upstream reuse = 1 - upstream connections opened / requests.\n",
        plan.wrk_threads,
        plan.wrk_connections,
        plan.duration.as_secs(),
        plan.rounds
    );
    let workloads: Vec<String> = plan.workloads.iter().map(|w| format!("`{w}` {}", w.describe())).collect();
    let _ = writeln!(s, "Workloads: {}.\n", workloads.join("; "));
    for &workers in &plan.workers {
        let _ = writeln!(s, "## {workers} worker{}\n", if workers == 1 { "" } else { "s" });
        let _ = writeln!(
            s,
            "| workload | proxy | req/s | vs nginx | p50 ms | p99 ms | p99 vs nginx | CPU µs/req | CPU vs nginx | peak RSS MiB | upstream reuse | non-2xx | socket errors |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for c in report.cells.iter().filter(|c| c.workers == workers) {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {} | {:.2} | {:.2} | {} | {:.1} | {} | {} | {:.2}% | {} | {} |",
                c.workload,
                c.proxy,
                c.rps,
                ratio_iqr(c.vs_nginx, |r| r.rps, |r| r.rps_iqr),
                c.p50_ms,
                c.p99_ms,
                ratio(c.vs_nginx, |r| r.p99),
                c.cpu_us_per_request,
                ratio_iqr(c.vs_nginx, |r| r.cpu, |r| r.cpu_iqr),
                mib(c.peak_rss_kib),
                c.upstream_reuse * 100.0,
                c.non_2xx,
                c.socket_errors
            );
        }
        s.push('\n');
    }
    let against: Vec<_> = report.cells.iter().filter(|c| c.vs_tandem.is_some()).collect();
    if !against.is_empty() {
        let _ = writeln!(s, "## tandem against tandem\n");
        let _ = writeln!(
            s,
            "Per-round ratios, medians: what the features cost (tandem-full / tandem-bare) and what \
             request validation costs (tandem-bare / tandem-unchecked, the same build with validation bypassed).\n"
        );
        let _ = writeln!(s, "| workload | workers | proxy | against | cost of | req/s | CPU per request | p99 |");
        let _ = writeln!(s, "|---|---:|---|---|---|---:|---:|---:|");
        for c in against {
            let Some((reference, what)) = c.proxy.tandem_reference() else { continue };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {reference} | {what} | {} | {} | {} |",
                c.workload,
                c.workers,
                c.proxy,
                ratio(c.vs_tandem, |r| r.rps),
                ratio(c.vs_tandem, |r| r.cpu),
                ratio(c.vs_tandem, |r| r.p99)
            );
        }
        s.push('\n');
    }
    if !report.memory.is_empty() {
        let _ = writeln!(s, "## Memory: {} idle keep-alive client connections\n", plan.idle_connections);
        let _ = writeln!(s, "Each connection made one `GET /tiny`, then stayed open and silent.\n");
        let _ = writeln!(
            s,
            "| proxy | workers | held | RSS before MiB | holding MiB | KiB per connection | after close MiB | kept after close MiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &report.memory {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.2} | {} | {:.1} |",
                r.proxy,
                r.workers,
                r.idle.held,
                mib(r.idle.rss_before_kib),
                mib(r.idle.rss_holding_kib),
                r.per_connection_kib,
                mib(r.idle.rss_after_kib),
                r.retained_kib as f64 / 1024.0
            );
        }
    }
    s
}
