//! `timeline.svg`, hand-written (no dependency): per 100 ms, a stacked bar of
//! successes and failures (by request start); error windows shaded; the
//! longest, takeover and failback stalls (no successful completion) hatched
//! over the bars, which count requests that succeeded late as successes; the
//! fault and recovery commands as vertical lines (solid at start, dashed at
//! end); underneath, bands for the error windows and the stalls, one coloured
//! by the balancer that answered most and one by the app.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Report;
use crate::analysis::served::{buckets, Bucket};
use crate::analysis::stalls::Stall;
use crate::command::short_name;
use crate::duration::human_ms;

const BUCKET_MS: f64 = 100.0;
const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
/// Room above the chart for the title, subtitle and two command labels.
const TOP: f64 = 92.0;
const CHART_H: f64 = 200.0;
const BAND_H: f64 = 16.0;
const BAND_GAP: f64 = 6.0;
const OK: &str = "#43a047";
const FAILED: &str = "#e53935";
const NONE: &str = "#e0e0e0";
/// Stalls: dark slate hatching, unlike any solid fill here.
const STALL: &str = "#263238";
const STALL_FILL: &str = "url(#stall-hatch)";
/// Legend entries per row.
const LEGEND_COLUMNS: usize = 5;
const LB_COLORS: [&str; 6] = ["#1e88e5", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#546e7a"];
const APP_COLORS: [&str; 6] = ["#7cb342", "#f4511e", "#3949ab", "#fdd835", "#d81b60", "#00acc1"];

pub fn render(r: &Report) -> String {
    let markers: Vec<_> = r.commands.iter().filter(|c| c.label != "settle").collect();
    let end_ms = markers.iter().map(|c| c.end_ms).fold(r.load.end_ms, f64::max).max(BUCKET_MS);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |ms: f64| LEFT + ms.clamp(0.0, end_ms) / end_ms * plot_w;
    let buckets = buckets(&r.records, BUCKET_MS, r.load.end_ms.max(BUCKET_MS));
    let y_max = buckets.iter().map(|b| b.ok + b.failed).max().unwrap_or(0).max(1) as f64;
    let bottom = TOP + CHART_H;
    let lb_colors = palette(buckets.iter().flat_map(|b| b.lb.keys()), &LB_COLORS);
    let app_colors = palette(buckets.iter().flat_map(|b| b.app.keys()), &APP_COLORS);
    let band_y = bottom + 46.0;
    let bands_end = band_y + 4.0 * (BAND_H + BAND_GAP);
    let legend_y = bands_end + 16.0;
    let mut items: Vec<(String, &str)> = vec![
        ("success".into(), OK),
        ("failure".into(), FAILED),
        ("no answer".into(), NONE),
        ("stall (no completion)".into(), STALL_FILL),
    ];
    items.extend(lb_colors.iter().map(|(name, color)| (format!("balancer {name}"), *color)));
    items.extend(app_colors.iter().map(|(name, color)| (format!("app {name}"), *color)));
    let legend_rows = items.len().div_ceil(LEGEND_COLUMNS).max(1);
    let height = legend_y + legend_rows as f64 * 20.0 + 10.0;
    let stalls = stalls_to_mark(r);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><pattern id="stall-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="{STALL}" fill-opacity="0.12"/><line x1="0" y1="0" x2="0" y2="6" stroke="{STALL}" stroke-width="2" stroke-opacity="0.7"/></pattern></defs>"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let verdict_color = if r.verdict == super::Verdict::Pass { OK } else { FAILED };
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">drill {} — <tspan fill="{verdict_color}">{}</tspan></text>"#,
        escape(&r.name),
        r.verdict.word()
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="42" fill="#555">{} req/s, {} failed of {}, per {BUCKET_MS} ms{}</text>"##,
        r.config.rate,
        r.metrics.failed,
        r.metrics.requests,
        escape(&stall_summary(r))
    );

    // Error windows, behind the bars.
    for w in &r.metrics.windows["overall"] {
        let (x0, x1) = (x(w.start_ms), x(w.end_ms));
        let _ = writeln!(
            s,
            r#"<rect class="window" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{CHART_H}" fill="{FAILED}" fill-opacity="0.12"/>"#,
            (x1 - x0).max(1.0)
        );
    }
    // Stacked bars.
    let bar_w = (plot_w * BUCKET_MS / end_ms).max(0.5);
    for b in &buckets {
        let x0 = x(b.from_ms);
        let ok_h = b.ok as f64 / y_max * CHART_H;
        let failed_h = b.failed as f64 / y_max * CHART_H;
        if b.ok > 0 {
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{bar_w:.1}" height="{ok_h:.1}" fill="{OK}"/>"#,
                bottom - ok_h
            );
        }
        if b.failed > 0 {
            let y = bottom - ok_h - failed_h;
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{bar_w:.1}" height="{failed_h:.1}" fill="{FAILED}"/>"#
            );
        }
    }
    // Stalls over the bars: their requests often count as successes (late ones).
    for (names, stall) in &stalls {
        let (x0, x1) = (x(stall.start_ms), x(stall.end_ms));
        let _ = writeln!(
            s,
            r#"<rect class="stall" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{CHART_H}" fill="{STALL_FILL}"><title>{}</title></rect>"#,
            (x1 - x0).max(1.0),
            escape(&stall_title(names, stall))
        );
    }
    // Axes and ticks.
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#333"/>"##, WIDTH - RIGHT);
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333"/>"##);
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{y_max}</text>"#, LEFT - 6.0, TOP + 4.0);
    let _ = writeln!(s, r#"<text x="{}" y="{bottom}" text-anchor="end">0</text>"#, LEFT - 6.0);
    let step = tick_step(end_ms / 1000.0);
    let mut t = 0.0;
    while t <= end_ms / 1000.0 + 1e-9 {
        let tx = x(t * 1000.0);
        let _ = writeln!(s, r##"<line x1="{tx:.1}" y1="{bottom}" x2="{tx:.1}" y2="{}" stroke="#333"/>"##, bottom + 5.0);
        let _ = writeln!(s, r#"<text x="{tx:.1}" y="{}" text-anchor="middle">{t}</text>"#, bottom + 18.0);
        t += step;
    }
    let _ =
        writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">time (s)</text>"#, LEFT + plot_w / 2.0, bottom + 34.0);

    // Bands: error windows (visible even where full bars hide the shading), who served.
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">errors</text>"#, LEFT - 6.0, band_y + BAND_H - 4.0);
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{band_y}" width="{plot_w}" height="{BAND_H}" fill="{NONE}" fill-opacity="0.4"/>"#
    );
    for w in &r.metrics.windows["overall"] {
        let (x0, x1) = (x(w.start_ms), x(w.end_ms));
        let _ = writeln!(
            s,
            r#"<rect class="window-band" x="{x0:.1}" y="{band_y}" width="{:.1}" height="{BAND_H}" fill="{FAILED}"/>"#,
            (x1 - x0).max(1.0)
        );
    }
    let stall_y = band_y + BAND_H + BAND_GAP;
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">stalls</text>"#, LEFT - 6.0, stall_y + BAND_H - 4.0);
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{stall_y}" width="{plot_w}" height="{BAND_H}" fill="{NONE}" fill-opacity="0.4"/>"#
    );
    for (names, stall) in &stalls {
        let (x0, x1) = (x(stall.start_ms), x(stall.end_ms));
        let _ = writeln!(
            s,
            r#"<rect class="stall-band" x="{x0:.1}" y="{stall_y}" width="{:.1}" height="{BAND_H}" fill="{STALL_FILL}" stroke="{STALL}" stroke-width="0.5"><title>{}</title></rect>"#,
            (x1 - x0).max(1.0),
            escape(&stall_title(names, stall))
        );
    }
    let lb_y = stall_y + BAND_H + BAND_GAP;
    band(&mut s, "balancer", lb_y, &buckets, &x, bar_w, |b| b.top_lb(), &lb_colors);
    band(&mut s, "app", lb_y + BAND_H + BAND_GAP, &buckets, &x, bar_w, |b| b.top_app(), &app_colors);

    // Command markers over everything.
    for (i, c) in markers.iter().enumerate() {
        let color = if c.label == "fault" { "#d84315" } else { "#1565c0" };
        for (ms, dash) in [(c.start_ms, ""), (c.end_ms, r#" stroke-dasharray="4 3""#)] {
            let mx = x(ms);
            let _ = writeln!(
                s,
                r#"<line class="marker" x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{}" stroke="{color}" stroke-width="1.5"{dash}/>"#,
                66.0 + 16.0 * i as f64,
                bands_end - BAND_GAP
            );
        }
        let label = format!("{}: {}", c.label, short_name(&c.command));
        // Labels right of the line, or left of it in the chart's right half.
        let anchor = if x(c.start_ms) < LEFT + plot_w * 0.6 { "start" } else { "end" };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" fill="{color}" text-anchor="{anchor}">{}</text>"#,
            x(c.start_ms) + if anchor == "start" { 3.0 } else { -3.0 },
            62.0 + 16.0 * i as f64,
            escape(&label)
        );
    }

    // Legend.
    for (i, (name, color)) in items.iter().enumerate() {
        let (col, row) = (i % LEGEND_COLUMNS, i / LEGEND_COLUMNS);
        let lx = LEFT + col as f64 * 180.0;
        let ly = legend_y + row as f64 * 20.0;
        let _ = writeln!(s, r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{color}"/>"#, ly - 10.0);
        let _ = writeln!(s, r#"<text x="{}" y="{ly}">{}</text>"#, lx + 16.0, escape(name));
    }
    s.push_str("</svg>\n");
    s
}

/// The stalls worth drawing: the longest, the takeover and the failback one,
/// each once (one stall is often several of these), in time order.
fn stalls_to_mark(r: &Report) -> Vec<(Vec<&'static str>, Stall)> {
    let st = &r.metrics.stalls;
    let mut marked: Vec<(Vec<&'static str>, Stall)> = Vec::new();
    for (name, stall) in [("longest", st.overall), ("takeover", st.takeover), ("failback", st.failback)] {
        let Some(stall) = stall else { continue };
        match marked.iter_mut().find(|(_, s)| *s == stall) {
            Some((names, _)) => names.push(name),
            None => marked.push((vec![name], stall)),
        }
    }
    marked.sort_by(|a, b| a.1.start_ms.total_cmp(&b.1.start_ms));
    marked
}

/// `takeover, longest stall: no successful completion for 410 ms (0.992-1.402 s)`.
fn stall_title(names: &[&str], stall: &Stall) -> String {
    format!(
        "{} stall: no successful completion for {} ({:.3}-{:.3} s)",
        names.join(", "),
        human_ms(stall.duration_ms),
        stall.start_ms / 1000.0,
        stall.end_ms / 1000.0
    )
}

/// `; takeover stall 410 ms, failback stall 110 ms` for the subtitle (the
/// longest stall when there was no fault).
fn stall_summary(r: &Report) -> String {
    let st = &r.metrics.stalls;
    let mut parts = Vec::new();
    if let Some(stall) = st.takeover {
        parts.push(format!("takeover stall {}", human_ms(stall.duration_ms)));
    }
    if let Some(stall) = st.failback {
        parts.push(format!("failback stall {}", human_ms(stall.duration_ms)));
    }
    if parts.is_empty() {
        if let Some(stall) = st.overall {
            parts.push(format!("longest stall {}", human_ms(stall.duration_ms)));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; {}", parts.join(", "))
    }
}

/// A row of rects coloured by `name(bucket)`; neighbours of one colour merge.
#[allow(clippy::too_many_arguments)]
fn band(
    s: &mut String,
    label: &str,
    y: f64,
    buckets: &[Bucket],
    x: &dyn Fn(f64) -> f64,
    bar_w: f64,
    name: impl Fn(&Bucket) -> Option<&str>,
    colors: &BTreeMap<String, &str>,
) {
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#, LEFT - 6.0, y + BAND_H - 4.0);
    let mut runs: Vec<(f64, f64, &str)> = Vec::new();
    for b in buckets {
        let color = name(b).and_then(|n| colors.get(n).copied()).unwrap_or(NONE);
        let (x0, x1) = (x(b.from_ms), x(b.from_ms) + bar_w);
        match runs.last_mut() {
            Some(last) if last.2 == color => last.1 = x1,
            _ => runs.push((x0, x1, color)),
        }
    }
    for (x0, x1, color) in runs {
        let _ = writeln!(
            s,
            r#"<rect class="band" x="{x0:.1}" y="{y}" width="{:.1}" height="{BAND_H}" fill="{color}"/>"#,
            x1 - x0
        );
    }
}

/// Names in order, each with the next colour (cycling).
fn palette<'a>(names: impl Iterator<Item = &'a String>, colors: &[&'static str]) -> BTreeMap<String, &'static str> {
    let mut unique: Vec<&String> = names.collect();
    unique.sort();
    unique.dedup();
    unique.into_iter().enumerate().map(|(i, n)| (n.clone(), colors[i % colors.len()])).collect()
}

/// Seconds between x ticks: at most about 15 ticks.
pub fn tick_step(span_s: f64) -> f64 {
    [0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|step| span_s / step <= 15.0)
        .unwrap_or(600.0)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn the_timeline_has_bars_windows_markers_bands_and_a_legend() {
        let svg = render(&sample());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("drill lb-tandem-kill — <tspan fill=\"#e53935\">FAIL</tspan>"));
        assert_eq!(svg.matches("class=\"window\"").count(), 2);
        assert_eq!(svg.matches("class=\"window-band\"").count(), 2);
        assert_eq!(svg.matches("class=\"marker\"").count(), 4);
        assert!(svg.contains("fault: kill lb1/tandem"));
        assert!(svg.contains("recover: start lb1/tandem"));
        assert!(svg.contains(&format!("fill=\"{FAILED}\"")));
        assert_eq!(svg.matches("class=\"stall\"").count(), 2);
        assert_eq!(svg.matches("class=\"stall-band\"").count(), 2);
        assert!(
            svg.contains("<title>longest, takeover stall: no successful completion for 410 ms (0.992-1.402 s)</title>")
        );
        assert!(svg.contains("<title>failback stall: no successful completion for 110 ms (2.192-2.302 s)</title>"));
        assert!(svg.contains("per 100 ms; takeover stall 410 ms, failback stall 110 ms</text>"));
        assert!(svg.contains("<pattern id=\"stall-hatch\""));
        for name in
            ["balancer lb1", "balancer lb2", "app app1", "app app2", "success", "failure", "stall (no completion)"]
        {
            assert!(svg.contains(&format!(">{name}</text>")), "{name}");
        }
        assert!(svg.matches("class=\"band\"").count() >= 4);
    }

    #[test]
    fn a_run_without_a_fault_marks_its_longest_stall() {
        let mut report = sample();
        report.metrics.stalls.takeover = None;
        report.metrics.stalls.failback = None;
        let svg = render(&report);
        assert_eq!(svg.matches("class=\"stall\"").count(), 1);
        assert!(svg.contains("per 100 ms; longest stall 410 ms</text>"));
        report.metrics.stalls.overall = None;
        let svg = render(&report);
        assert_eq!(svg.matches("class=\"stall\"").count(), 0);
        assert!(svg.contains("per 100 ms</text>"));
    }

    #[test]
    fn many_balancers_and_apps_get_more_legend_rows_inside_the_picture() {
        let mut report = sample();
        for (i, r) in report.records.iter_mut().enumerate() {
            if r.is_success() {
                r.lb = Some(format!("lb{}", i % 6));
                r.app = Some(format!("app{}", i % 6));
            }
        }
        let svg = render(&report);
        let height: f64 = svg.split("height=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        let lowest = svg
            .split("<text ")
            .skip(1)
            .filter_map(|t| t.split(" y=\"").nth(1)?.split('"').next()?.parse::<f64>().ok())
            .fold(0.0, f64::max);
        assert!(svg.contains(">app app5</text>"));
        assert!(lowest < height, "text at y {lowest} in a picture {height} high");
    }

    #[test]
    fn tags_balance() {
        let svg = render(&sample());
        let opened = svg.matches('<').count();
        let self_closed = svg.matches("/>").count();
        let closing = svg.matches("</").count();
        // Every element either closes itself or has one closing tag.
        assert_eq!(opened - closing, self_closed + closing);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(3.0), 0.5);
        assert_eq!(tick_step(15.0), 1.0);
        assert_eq!(tick_step(60.0), 5.0);
        assert_eq!(tick_step(100_000.0), 600.0);
    }
}
