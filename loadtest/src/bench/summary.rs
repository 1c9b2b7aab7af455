//! From runs to the numbers in the report: per (workload, workers, proxy)
//! the median over rounds of each measure, and ratios against a reference
//! proxy taken *within* each round (the reference ran minutes, not hours,
//! before or after), then the median of those per-round ratios.

use super::plan::{Proxy, Workload};
use super::wrk::WrkResult;

/// One measured run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Run {
    pub round: u32,
    pub workload: Workload,
    pub workers: u32,
    pub proxy: Proxy,
    pub wrk: WrkResult,
    /// The proxy's user + system CPU over the run, per request answered.
    pub cpu_us_per_request: f64,
    /// Peak RSS of the proxy's processes during the run, KiB.
    pub peak_rss_kib: u64,
    /// Connections the backends accepted during the run (all of them from
    /// the proxy, active health checks included).
    pub upstream_connections: u64,
}

/// The medians of one proxy in one (workload, workers) cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    pub workload: Workload,
    pub workers: u32,
    pub proxy: Proxy,
    pub rounds: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu_us_per_request: f64,
    /// Highest peak over the rounds.
    pub peak_rss_kib: u64,
    /// Requests per upstream connection opened, as a share: 1 - opened / requests.
    pub upstream_reuse: f64,
    pub non_2xx: u64,
    pub socket_errors: u64,
    /// Against nginx (per-round ratio, median); `None` without nginx in the run.
    pub vs_nginx: Option<Ratios>,
    /// Against the tandem of [`Proxy::tandem_reference`]: tandem-full against
    /// tandem-bare (the features), tandem-bare against tandem-unchecked (the
    /// request validation).
    pub vs_tandem: Option<Ratios>,
}

/// This proxy's measure divided by the reference's, median of per-round
/// ratios, with the middle half of those ratios (25th to 75th percentile)
/// for req/s and CPU: how much one round can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Ratios {
    pub rps: f64,
    pub cpu: f64,
    pub p99: f64,
    pub rps_iqr: (f64, f64),
    pub cpu_iqr: (f64, f64),
}

/// The `q` quantile (0..1) of `values`, linearly interpolated.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The cells in plan order: workload, then workers, then proxy.
pub fn cells(runs: &[Run], workloads: &[Workload], workers: &[u32], proxies: &[Proxy]) -> Vec<Cell> {
    let mut out = Vec::new();
    for &workload in workloads {
        for &w in workers {
            for &proxy in proxies {
                let mine: Vec<&Run> =
                    runs.iter().filter(|r| r.workload == workload && r.workers == w && r.proxy == proxy).collect();
                if mine.is_empty() {
                    continue;
                }
                let med = |f: &dyn Fn(&Run) -> f64| median(&mut mine.iter().map(|r| f(r)).collect::<Vec<_>>());
                let requests: u64 = mine.iter().map(|r| r.wrk.requests).sum();
                let opened: u64 = mine.iter().map(|r| r.upstream_connections).sum();
                out.push(Cell {
                    workload,
                    workers: w,
                    proxy,
                    rounds: mine.len(),
                    rps: med(&|r| r.wrk.rps),
                    p50_ms: med(&|r| r.wrk.p50_ms),
                    p99_ms: med(&|r| r.wrk.p99_ms),
                    cpu_us_per_request: med(&|r| r.cpu_us_per_request),
                    peak_rss_kib: mine.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
                    upstream_reuse: if requests == 0 { 0.0 } else { 1.0 - opened as f64 / requests as f64 },
                    non_2xx: mine.iter().map(|r| r.wrk.non_2xx).sum(),
                    socket_errors: mine.iter().map(|r| r.wrk.socket_errors).sum(),
                    vs_nginx: ratios(runs, workload, w, proxy, Proxy::Nginx),
                    vs_tandem: proxy.tandem_reference().and_then(|(r, _)| ratios(runs, workload, w, proxy, r)),
                });
            }
        }
    }
    out
}

/// Per-round ratios of `proxy` to `reference` in one cell, medians; `None`
/// when no round has both.
fn ratios(runs: &[Run], workload: Workload, workers: u32, proxy: Proxy, reference: Proxy) -> Option<Ratios> {
    let find = |p: Proxy, round: u32| {
        runs.iter().find(|r| r.workload == workload && r.workers == workers && r.proxy == p && r.round == round)
    };
    let (mut rps, mut cpu, mut p99) = (Vec::new(), Vec::new(), Vec::new());
    for r in runs.iter().filter(|r| r.workload == workload && r.workers == workers && r.proxy == proxy) {
        let Some(base) = find(reference, r.round) else { continue };
        rps.push(r.wrk.rps / base.wrk.rps);
        cpu.push(r.cpu_us_per_request / base.cpu_us_per_request);
        p99.push(r.wrk.p99_ms / base.wrk.p99_ms);
    }
    if rps.is_empty() {
        return None;
    }
    Some(Ratios {
        rps_iqr: (quantile(&mut rps, 0.25), quantile(&mut rps, 0.75)),
        cpu_iqr: (quantile(&mut cpu, 0.25), quantile(&mut cpu, 0.75)),
        rps: median(&mut rps),
        cpu: median(&mut cpu),
        p99: median(&mut p99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(round: u32, proxy: Proxy, rps: f64, cpu: f64) -> Run {
        Run {
            round,
            workload: Workload::Tiny,
            workers: 1,
            proxy,
            wrk: WrkResult {
                requests: (rps * 2.0) as u64,
                seconds: 2.0,
                rps,
                p50_ms: 1.0,
                p99_ms: 4.0,
                max_ms: 9.0,
                socket_errors: 0,
                non_2xx: 0,
            },
            cpu_us_per_request: cpu,
            peak_rss_kib: 1000 + round as u64,
            upstream_connections: 2,
        }
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn ratios_are_taken_within_a_round_before_the_median() {
        // The machine halves its speed in round 1: per-round ratios stay 0.5,
        // while a ratio of medians would say 0.5 too only by luck of counts.
        let runs = vec![
            run(0, Proxy::Nginx, 1000.0, 10.0),
            run(0, Proxy::TandemBare, 500.0, 20.0),
            run(1, Proxy::Nginx, 500.0, 20.0),
            run(1, Proxy::TandemBare, 250.0, 40.0),
            run(2, Proxy::Nginx, 400.0, 25.0),
            run(2, Proxy::TandemBare, 200.0, 50.0),
        ];
        let cells = cells(&runs, &[Workload::Tiny], &[1], &[Proxy::Nginx, Proxy::TandemBare]);
        let tandem = &cells[1];
        let r = tandem.vs_nginx.expect("ratios");
        assert!((r.rps - 0.5).abs() < 1e-9, "{r:?}");
        assert!((r.cpu - 2.0).abs() < 1e-9);
        assert_eq!(tandem.rps, 250.0);
        assert_eq!(tandem.peak_rss_kib, 1002);
        assert_eq!(cells[0].vs_nginx.map(|r| r.rps), Some(1.0));
        assert_eq!(tandem.vs_tandem, None, "no tandem-unchecked in this run");
    }

    #[test]
    fn quantiles_interpolate_between_neighbours() {
        let mut v = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&mut v, 0.25), 2.0);
        assert_eq!(quantile(&mut v, 0.5), 3.0);
        assert_eq!(quantile(&mut [1.0, 2.0], 0.25), 1.25);
        assert!(quantile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn reuse_counts_requests_per_upstream_connection() {
        let runs = vec![run(0, Proxy::Nginx, 1000.0, 10.0)];
        let cell = &cells(&runs, &[Workload::Tiny], &[1], &[Proxy::Nginx])[0];
        assert!((cell.upstream_reuse - (1.0 - 2.0 / 2000.0)).abs() < 1e-12);
    }

    #[test]
    fn the_full_profile_is_compared_with_the_bare_one() {
        let runs = vec![run(0, Proxy::TandemBare, 1000.0, 10.0), run(0, Proxy::TandemFull, 950.0, 11.0)];
        let cells = cells(&runs, &[Workload::Tiny], &[1], &[Proxy::TandemBare, Proxy::TandemFull]);
        let full = cells[1].vs_tandem.expect("vs bare");
        assert!((full.rps - 0.95).abs() < 1e-9);
        assert_eq!(cells[1].vs_nginx, None, "no nginx in this run");
    }

    #[test]
    fn the_bare_profile_is_compared_with_validation_bypassed() {
        let runs = vec![run(0, Proxy::TandemUnchecked, 1000.0, 10.0), run(0, Proxy::TandemBare, 980.0, 10.2)];
        let cells = cells(&runs, &[Workload::Tiny], &[1], &[Proxy::TandemBare, Proxy::TandemUnchecked]);
        let bare = cells[0].vs_tandem.expect("vs unchecked");
        assert!((bare.rps - 0.98).abs() < 1e-9 && (bare.cpu - 1.02).abs() < 1e-9, "{bare:?}");
        assert_eq!(cells[1].vs_tandem, None, "unchecked is compared with nothing");
    }
}
