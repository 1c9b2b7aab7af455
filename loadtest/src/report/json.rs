//! `report.json`: the report indented for reading, then `requests`, every
//! record on one line (thousands of them: one per line keeps the file
//! greppable and diffable without making it ten times longer).

use super::Report;

pub fn render(report: &Report) -> std::io::Result<String> {
    let head = serde_json::to_string_pretty(report)?;
    let head = head.trim_end().strip_suffix('}').unwrap_or(&head).trim_end();
    let mut out = String::with_capacity(head.len() + report.records.len() * 120);
    out.push_str(head);
    out.push_str(",\n  \"requests\": [");
    for (i, record) in report.records.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&serde_json::to_string(record)?);
    }
    out.push_str(if report.records.is_empty() { "]\n}\n" } else { "\n  ]\n}\n" });
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn the_report_parses_back_with_every_request() {
        let report = sample();
        let text = render(&report).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["requests"].as_array().unwrap().len(), report.records.len());
        assert_eq!(value["verdict"], "FAIL");
        assert_eq!(value["metrics"]["failed_reads"], 50);
        assert_eq!(value["metrics"]["longest"]["takeover"]["duration_ms"], 400.0);
        let metrics = &value["metrics"];
        assert_eq!(metrics["longest_stall_ms"], 410.0);
        assert_eq!(metrics["takeover_stall_ms"], 410.0);
        assert_eq!(metrics["failback_stall_ms"], 110.0);
        assert_eq!(metrics["stalls"]["failback"]["start_ms"], 2192.0);
        assert_eq!((metrics["slow"].as_u64(), metrics["by_kind"]["post"]["slow"].as_u64()), (Some(5), Some(1)));
        assert_eq!(value["config"]["slow"], 500.0);
        assert_eq!(value["config"]["fault"]["command"], "deploy/lab kill lb1/tandem");
        assert_eq!(value["config"]["fault"]["at"], 1000.0);
        assert_eq!(value["commands"][0]["label"], "fault");
        for key in ["tool", "name", "run_id", "url", "started_at", "load", "budgets", "problems", "warnings"] {
            assert!(value.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn stalls_without_a_fault_are_null() {
        let mut report = sample();
        report.metrics.takeover_stall_ms = None;
        report.metrics.failback_stall_ms = None;
        let value: serde_json::Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        assert!(value["metrics"]["takeover_stall_ms"].is_null());
        assert!(value["metrics"].get("failback_stall_ms").is_some_and(|v| v.is_null()));
    }

    #[test]
    fn one_request_per_line() {
        let text = render(&sample()).unwrap();
        let lines = text.lines().filter(|l| l.trim_start().starts_with("{\"seq\":")).count();
        assert_eq!(lines, 300);
    }

    #[test]
    fn a_run_without_requests_is_still_valid_json() {
        let mut report = sample();
        report.records.clear();
        let value: serde_json::Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        assert_eq!(value["requests"], serde_json::json!([]));
    }
}
