//! The report is whole only when every number is there for every proxy.

use std::time::Duration;

use crate::idle::IdleMemory;
use crate::plan::{Plan, Proxy, Workload};
use crate::report::{problems, Machine, MemoryRow, Report};
use crate::summary::{cells, Run};
use crate::wrk::WrkResult;

fn plan() -> Plan {
    Plan {
        proxies: vec![Proxy::Nginx, Proxy::TandemBare],
        workloads: vec![Workload::Tiny],
        workers: vec![1],
        rounds: 2,
        duration: Duration::from_secs(1),
        wrk_threads: 2,
        wrk_connections: 64,
        idle_connections: 100,
    }
}

fn run(round: u32, proxy: Proxy) -> Run {
    Run {
        round,
        workload: Workload::Tiny,
        workers: 1,
        proxy,
        wrk: WrkResult {
            requests: 1000,
            seconds: 1.0,
            rps: 1000.0,
            p50_ms: 0.5,
            p99_ms: 2.0,
            max_ms: 5.0,
            socket_errors: 0,
            non_2xx: 0,
        },
        cpu_us_per_request: 30.0,
        peak_rss_kib: 5000,
        upstream_connections: 3,
    }
}

fn memory(proxy: Proxy) -> MemoryRow {
    let idle =
        IdleMemory { connections: 100, held: 100, rss_before_kib: 5000, rss_holding_kib: 5100, rss_after_kib: 5000 };
    MemoryRow::new(proxy, 1, idle)
}

fn report(runs: Vec<Run>, memory: Vec<MemoryRow>) -> Report {
    let plan = plan();
    let cells = cells(&runs, &plan.workloads, &plan.workers, &plan.proxies);
    let machine =
        Machine { cpu: "x".into(), cores: 2, kernel: "6".into(), versions: vec![], tandem_commit: "abc".into() };
    Report { started_at: "2026-12-04T00:00:00Z".into(), machine, plan, cells, memory, runs }
}

fn whole() -> (Vec<Run>, Vec<MemoryRow>) {
    let runs = vec![run(0, Proxy::Nginx), run(0, Proxy::TandemBare), run(1, Proxy::TandemBare), run(1, Proxy::Nginx)];
    (runs, vec![memory(Proxy::Nginx), memory(Proxy::TandemBare)])
}

#[test]
fn a_whole_report_has_no_problems() {
    let (runs, mem) = whole();
    assert_eq!(problems(&report(runs, mem)), Vec::<String>::new());
}

#[test]
fn a_missing_round_is_a_problem() {
    let (mut runs, mem) = whole();
    runs.pop();
    let p = problems(&report(runs, mem));
    assert!(p.iter().any(|p| p.contains("nginx") && p.contains("1 of 2 rounds")), "{p:?}");
}

#[test]
fn a_proxy_that_never_ran_is_a_problem() {
    let (runs, mem) = whole();
    let runs = runs.into_iter().filter(|r| r.proxy != Proxy::TandemBare).collect();
    let p = problems(&report(runs, mem));
    assert!(p.iter().any(|p| p.contains("tandem-bare: no run")), "{p:?}");
}

#[test]
fn a_zero_or_missing_number_is_a_problem() {
    let (mut runs, mem) = whole();
    runs[1].cpu_us_per_request = 0.0;
    runs[2].cpu_us_per_request = 0.0;
    let p = problems(&report(runs, mem));
    assert!(p.iter().any(|p| p.contains("tandem-bare") && p.contains("CPU per request")), "{p:?}");
}

#[test]
fn failed_requests_are_a_problem() {
    let (mut runs, mem) = whole();
    runs[1].wrk.non_2xx = 500;
    let p = problems(&report(runs, mem));
    assert!(p.iter().any(|p| p.contains("500 of 2000 requests failed")), "{p:?}");
}

#[test]
fn a_proxy_without_its_memory_row_is_a_problem() {
    let (runs, mut mem) = whole();
    mem.pop();
    let p = problems(&report(runs, mem));
    assert!(p.iter().any(|p| p.contains("memory, tandem-bare")), "{p:?}");
}

#[test]
fn the_outputs_render_every_proxy() {
    let (runs, mem) = whole();
    let r = report(runs, mem);
    let md = crate::report::markdown::render(&r);
    assert!(md.contains("| tiny | tandem-bare | 1000 | 1.00 (1.00-1.00) |"), "{md}");
    assert!(md.contains("## Memory: 100 idle keep-alive client connections"));
    let svg = crate::report::svg::render(&r);
    assert!(svg.starts_with("<svg") && svg.contains("tandem-bare tiny: 1.00"), "{svg}");
    let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).expect("json")).expect("parse");
    assert_eq!(json["cells"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["memory"][0]["held"], 100);
}
