//! `bench.svg`: per worker count, two bar charts of the ratios against
//! nginx (throughput, CPU per request), grouped by workload; each bar is
//! the median of the per-round ratios, its whisker their middle half. One
//! file, no external assets.

use std::fmt::Write as _;

use super::Report;
use crate::plan::Proxy;
use crate::summary::Ratios;

const WIDTH: f64 = 960.0;
const PANEL_H: f64 = 230.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 50.0;

fn color(p: Proxy) -> &'static str {
    match p {
        Proxy::Nginx => "#4a7c3a",
        Proxy::Haproxy => "#3a5f9c",
        Proxy::TandemBare => "#d2691e",
        Proxy::TandemUnchecked => "#e9a36b",
        Proxy::TandemFull => "#a0522d",
    }
}

/// Which ratio a panel shows: the median and its middle half.
type Metric = fn(&Ratios) -> (f64, (f64, f64));

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn render(report: &Report) -> String {
    let plan = &report.plan;
    let panels: Vec<(u32, &str, Metric)> = plan
        .workers
        .iter()
        .flat_map(|&w| {
            [
                (w, "req/s vs nginx (higher is better)", (|r: &Ratios| (r.rps, r.rps_iqr)) as Metric),
                (w, "CPU per request vs nginx (lower is better)", |r: &Ratios| (r.cpu, r.cpu_iqr)),
            ]
        })
        .collect();
    let height = TOP + panels.len() as f64 * (PANEL_H + 60.0) + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"20\" font-size=\"15\">{}</text>",
        esc(&format!("Proxy benchmark {}: ratios to nginx, median of per-round ratios", report.started_at))
    );
    // Legend.
    for (i, p) in plan.proxies.iter().enumerate() {
        let x = LEFT + i as f64 * 130.0;
        let _ = writeln!(s, "<rect x=\"{x}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\"/>", color(*p));
        let _ = writeln!(s, "<text x=\"{}\" y=\"37\">{p}</text>", x + 14.0);
    }
    for (i, (workers, title, metric)) in panels.iter().enumerate() {
        let y0 = TOP + 30.0 + i as f64 * (PANEL_H + 60.0);
        panel(&mut s, report, *workers, title, *metric, y0);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, report: &Report, workers: u32, title: &str, metric: Metric, y0: f64) {
    let plan = &report.plan;
    let values: Vec<f64> = report
        .cells
        .iter()
        .filter(|c| c.workers == workers)
        .filter_map(|c| c.vs_nginx.map(|r| metric(&r).1 .1))
        .filter(|v| v.is_finite())
        .collect();
    let top = values.iter().cloned().fold(1.2_f64, f64::max).ceil().max(1.5);
    let plot_w = WIDTH - LEFT - 20.0;
    let y = |v: f64| y0 + PANEL_H - v / top * PANEL_H;
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{} worker{}: {}</text>",
        y0 - 16.0,
        workers,
        if workers == 1 { "" } else { "s" },
        esc(title)
    );
    // Axis and grid.
    let mut tick = 0.0;
    while tick <= top + 1e-9 {
        let ty = y(tick);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick:.1}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            ty + 4.0
        );
        tick += 0.5;
    }
    let one = y(1.0);
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{one:.1}\" y2=\"{one:.1}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>",
        LEFT + plot_w
    );
    let groups = plan.workloads.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w - 20.0) / plan.proxies.len().max(1) as f64;
    for (g, workload) in plan.workloads.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w + 10.0;
        for (b, proxy) in plan.proxies.iter().enumerate() {
            let cell =
                report.cells.iter().find(|c| c.workers == workers && c.workload == *workload && c.proxy == *proxy);
            let Some((v, (lo, hi))) = cell.and_then(|c| c.vs_nginx).map(|r| metric(&r)).filter(|m| m.0.is_finite())
            else {
                continue;
            };
            let x = gx + b as f64 * bar_w;
            let by = y(v.min(top));
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{proxy} {workload}: {v:.2}</title></rect>",
                bar_w - 2.0,
                y0 + PANEL_H - by,
                color(*proxy)
            );
            let cx = x + bar_w / 2.0 - 1.0;
            if lo.is_finite() && hi.is_finite() {
                let (ylo, yhi) = (y(lo.min(top)), y(hi.min(top)));
                let _ = writeln!(
                    s,
                    "<path d=\"M{cx:.1} {ylo:.1}V{yhi:.1}M{:.1} {ylo:.1}h6M{:.1} {yhi:.1}h6\" stroke=\"#222\" fill=\"none\"/>",
                    cx - 3.0,
                    cx - 3.0
                );
            }
            let label_y = y(hi.max(v).min(top)) - 3.0;
            let _ = writeln!(
                s,
                "<text x=\"{cx:.1}\" y=\"{label_y:.1}\" text-anchor=\"middle\" font-size=\"10\">{v:.2}</text>"
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{workload}</text>",
            gx + (group_w - 20.0) / 2.0,
            y0 + PANEL_H + 16.0
        );
    }
}
