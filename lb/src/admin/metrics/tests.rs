use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::admin::status::{self, ReloadStatus};
use crate::live::Live;
use crate::stats::FailureReason;
use crate::upstream::Outcome;

const YAML: &str = "listen: [127.0.0.1:1, 127.0.0.1:2]\nupstreams:\n  app:\n    servers:\n\
                    \x20     - { addr: \"127.0.0.1:11\" }\n      - { addr: \"127.0.0.1:12\" }\n\
                    \x20     - { addr: \"127.0.0.1:12\" }\n      - { addr: \"127.0.0.1:13\", backup: true }\n\
                    \x20 api:\n    servers:\n      - { addr: \"127.0.0.1:21\" }\n\
                    routes:\n  - { upstream: app }\n";

/// A live state where one server of `app` failed (connection refused, then
/// quarantined) and another answered three times; returns the failed
/// server's address.
fn live_with_traffic() -> (Live, String) {
    let config = crate::config::parse_str(YAML, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let live = Live::new(Path::new("t.yaml"), config, 0).unwrap_or_else(|e| panic!("{e}"));
    live.listeners[0].on_request(true);
    live.listeners[0].on_request(false);
    let runtime = live.runtime();
    let up = &runtime.upstreams[0];
    let mut a = up.group.start(0);
    let id = up.group.pick(&mut a, b"").unwrap_or_else(|| unreachable!());
    let failed = up.server_index(id);
    up.stats[failed].on_try();
    up.stats[failed].on_failure(FailureReason::ConnectRefused, true);
    up.group.finish(&mut a, id, Outcome::Failed);
    up.stats[failed].on_quarantine();
    let ok = &up.stats[(failed + 1) % 3];
    for (status, took) in
        [(200, Duration::from_millis(3)), (503, Duration::from_secs(2)), (200, Duration::from_secs(100))]
    {
        ok.on_try();
        ok.on_response(status, took);
    }
    let addr = up.config.servers[failed].addr.to_string();
    drop(runtime);
    (live, addr)
}

fn scrape() -> (String, String) {
    let (live, failed) = live_with_traffic();
    (render(&status::build(&live)), failed)
}

#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(|c| !c.is_ascii_digit() && ok(c)) && chars.all(ok)
}

/// Parses one sample line strictly (`name{label="value",...} value`),
/// undoing the label escapes; `None` when it is malformed.
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = vec![];
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        while !rest.starts_with('}') {
            let (label, after) = rest.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return None,
                    },
                    (_, c) => value.push(c),
                }
            };
            if !is_name(label, false) {
                return None;
            }
            labels.push((label.to_string(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        rest = &rest[1..];
    }
    let value = match rest.strip_prefix(' ')? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v if v.contains(['e', 'E']) => return None,
        v => v.parse().ok()?,
    };
    is_name(name, true).then(|| Sample { name: name.to_string(), labels, value })
}

/// Every sample, checking that each line is a HELP, a TYPE or a sample
/// of the family whose TYPE came last.
fn parse(text: &str) -> Vec<Sample> {
    let mut family: Option<(&str, &str)> = None;
    let mut samples = vec![];
    for line in text.lines() {
        if line.starts_with("# HELP ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line {line:?}"));
            family = Some((name, kind));
            continue;
        }
        let sample = parse_sample(line).unwrap_or_else(|| panic!("malformed line {line:?}"));
        let (name, kind) = family.unwrap_or_else(|| panic!("sample before any TYPE: {line:?}"));
        let own = match kind {
            "histogram" => ["_bucket", "_sum", "_count"].iter().any(|s| sample.name == format!("{name}{s}")),
            _ => sample.name == name,
        };
        assert!(own, "{line:?} outside its family (in {name})");
        samples.push(sample);
    }
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<_> =
        samples.iter().filter(|s| s.name == name && labels.iter().all(|&(k, v)| s.label(k) == Some(v))).collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

#[test]
fn every_line_is_a_comment_or_a_well_formed_sample_of_its_family() {
    let (text, _) = scrape();
    assert!(text.ends_with('\n'));
    assert!(parse(&text).len() > 100);
    // The checker itself is strict.
    assert!(parse_sample("x{a=\"b\\\"\"} 1").is_some());
    for bad in ["x{a=\"b} 1", "x{a=\"b\\q\"} 1", "x 1e5", "1x 1", "x{1a=\"b\"} 1", "x  1", "x{a=\"b\"}"] {
        assert_eq!(parse_sample(bad), None, "{bad}");
    }
}

#[test]
fn every_family_has_one_help_and_one_type_line_in_table_order() {
    let (text, _) = scrape();
    let helps: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next()).collect();
    let types: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    let names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
    assert_eq!(helps, names);
    assert_eq!(types, names);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
}

#[test]
fn names_follow_the_conventions() {
    for m in METRICS {
        assert!(m.name.starts_with("tandem_") && is_name(m.name, false), "{}", m.name);
        assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
        assert!(!m.help.is_empty() && !m.help.contains(['\\', '\n']), "{}", m.name);
    }
}

#[test]
fn the_module_doc_lists_every_metric() {
    let doc: String = include_str!("mod.rs").lines().filter(|l| l.starts_with("//!")).collect();
    for m in METRICS {
        assert!(doc.contains(&format!("`{}", m.name)), "{} is not in the module doc", m.name);
    }
}

#[test]
fn no_series_appears_twice_even_for_a_repeated_address() {
    let (text, _) = scrape();
    let samples = parse(&text);
    let mut seen = HashSet::new();
    for s in &samples {
        let mut labels = s.labels.clone();
        labels.sort();
        assert!(seen.insert((s.name.clone(), labels)), "duplicate series {s:?}");
    }
    let requests = |server| value(&samples, "tandem_upstream_requests_total", &[("server", server)]);
    let all = ["127.0.0.1:11", "127.0.0.1:12", "127.0.0.1:12#2", "127.0.0.1:13"].map(requests);
    assert_eq!(all.iter().sum::<f64>(), 4.0, "{all:?}");
}

#[test]
fn a_refused_connection_counts_once_for_its_server() {
    let (text, failed) = scrape();
    let samples = parse(&text);
    let server = [("upstream", "app"), ("server", failed.as_str())];
    let failures =
        |reason| value(&samples, "tandem_upstream_failures_total", &[server[0], server[1], ("reason", reason)]);
    assert_eq!(failures("connect_refused"), 1.0);
    for reason in FailureReason::ALL.iter().skip(1) {
        assert_eq!(failures(reason.as_str()), 0.0, "{reason:?}");
    }
    assert_eq!(value(&samples, "tandem_upstream_requests_total", &server), 1.0);
    assert_eq!(value(&samples, "tandem_upstream_retries_total", &server), 1.0);
    assert_eq!(value(&samples, "tandem_upstream_quarantines_total", &server), 1.0);
    assert_eq!(value(&samples, "tandem_upstream_usable_servers", &[("upstream", "app")]), 3.0);
    let listener = [("listener", "127.0.0.1:1")];
    assert_eq!(value(&samples, "tandem_listener_requests_total", &listener), 2.0);
    assert_eq!(value(&samples, "tandem_listener_connections_total", &listener), 1.0);
    assert_eq!(value(&samples, "tandem_config_reloads_total", &[("result", "failed")]), 0.0);
}

#[test]
fn each_server_has_exactly_one_current_state() {
    let (text, failed) = scrape();
    let samples = parse(&text);
    let states: Vec<&Sample> = samples.iter().filter(|s| s.name == "tandem_upstream_server_state").collect();
    let servers: HashSet<_> = states.iter().map(|s| (s.label("upstream"), s.label("server"))).collect();
    assert_eq!(servers.len(), 5);
    for (upstream, server) in servers {
        let mine: Vec<_> =
            states.iter().filter(|s| (s.label("upstream"), s.label("server")) == (upstream, server)).collect();
        assert_eq!(mine.len(), STATES.len());
        assert_eq!(mine.iter().filter(|s| s.value == 1.0).count(), 1, "{server:?}");
        assert!(mine.iter().all(|s| s.value == 0.0 || s.value == 1.0));
    }
    let state = |server: &str, state| {
        value(&samples, "tandem_upstream_server_state", &[("upstream", "app"), ("server", server), ("state", state)])
    };
    assert_eq!(state(&failed, "quarantined"), 1.0);
    assert_eq!(state("127.0.0.1:13", "backup"), 1.0);
}

#[test]
fn histogram_buckets_are_cumulative_and_inf_equals_count() {
    let (text, _) = scrape();
    let samples = parse(&text);
    let name = METRICS.iter().find(|m| m.kind == Kind::Histogram).map_or("", |m| m.name);
    let mut busiest = 0.0;
    for row in samples.iter().filter(|s| s.name == format!("{name}_count")) {
        let server = [("upstream", row.label("upstream").unwrap_or("")), ("server", row.label("server").unwrap_or(""))];
        let buckets: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == format!("{name}_bucket") && server.iter().all(|&(k, v)| s.label(k) == Some(v)))
            .collect();
        assert_eq!(buckets.len(), BUCKET_BOUNDS_US.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value), "{buckets:?}");
        let les: Vec<f64> = buckets.iter().map(|b| b.label("le").unwrap_or("").parse().unwrap_or(f64::NAN)).collect();
        assert!(les.windows(2).all(|w| w[0] < w[1]), "{les:?}");
        assert_eq!(buckets.last().and_then(|b| b.label("le")), Some("+Inf"));
        assert_eq!(buckets.last().map(|b| b.value), Some(row.value));
        if row.value > busiest {
            busiest = row.value;
            assert_eq!(value(&samples, &format!("{name}_bucket"), &[server[0], server[1], ("le", "0.005")]), 1.0);
            assert_eq!(value(&samples, &format!("{name}_bucket"), &[server[0], server[1], ("le", "60")]), 2.0);
            assert_eq!(value(&samples, &format!("{name}_sum"), &server), 102.003);
        }
    }
    assert_eq!(busiest, 3.0);
    let les: Vec<String> = BUCKET_BOUNDS_US.iter().map(|&us| Value::from(us as f64 / 1e6).to_string()).collect();
    assert_eq!(les[..3], ["0.0005", "0.001", "0.0025"]);
    assert_eq!(les[10..14], ["1", "2.5", "5", "10"]);
}

#[test]
fn last_reload_ok_appears_only_after_a_reload() {
    let (live, _) = live_with_traffic();
    let mut report = status::build(&live);
    let gauge = |report: &StatusReport| {
        let samples = parse(&render(report));
        samples.iter().find(|s| s.name == "tandem_config_last_reload_ok").map(|s| s.value)
    };
    assert_eq!(gauge(&report), None);
    let reload = |ok| ReloadStatus { at: String::new(), ok, errors: vec![], needs_upgrade: vec![] };
    report.config.last_reload = Some(reload(false));
    assert_eq!(gauge(&report), Some(0.0));
    report.config.last_reload = Some(reload(true));
    assert_eq!(gauge(&report), Some(1.0));
}

#[test]
fn label_values_escape_backslash_quote_and_newline() {
    let mut out = String::new();
    push_escaped(&mut out, "a\"b\\c\nd");
    assert_eq!(out, r#"a\"b\\c\nd"#);
    let (live, _) = live_with_traffic();
    let mut report = status::build(&live);
    report.upstreams[1].name = "a\"b\\c\nd".into();
    let text = render(&report);
    // The group: usable, no_live; its one server: states, 6 scalars, classes, reasons, histogram.
    let lines = 2 + STATES.len() + 6 + 5 + FailureReason::ALL.len() + BUCKET_BOUNDS_US.len() + 3;
    assert_eq!(text.lines().filter(|l| l.contains(r#"upstream="a\"b\\c\nd""#)).count(), lines);
    let samples = parse(&text);
    assert_eq!(value(&samples, "tandem_upstream_usable_servers", &[("upstream", "a\"b\\c\nd")]), 1.0);
}

#[test]
fn values_print_without_exponents() {
    let shown = |v: Value| v.to_string();
    assert_eq!(shown(u64::MAX.into()), "18446744073709551615");
    assert_eq!(shown((-3i64).into()), "-3");
    assert_eq!(shown(true.into()), "1");
    assert_eq!(shown(1e-7.into()), "0.0000001");
    assert_eq!(shown(1e21.into()), "1000000000000000000000");
    assert_eq!(shown(102.003.into()), "102.003");
    assert_eq!(shown(f64::INFINITY.into()), "+Inf");
    assert_eq!(shown(f64::NEG_INFINITY.into()), "-Inf");
    assert_eq!(shown(f64::NAN.into()), "NaN");
}
