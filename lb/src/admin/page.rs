//! The status page (`GET /` on the admin listener): one static document,
//! `page.html`, with its CSS and script inline and nothing loaded from
//! anywhere else, so it works offline and needs no build step. `render`
//! embeds the current report as JSON for the first paint; the script draws
//! the page from it, then polls `status.json` every 2 s and redraws in place.

use super::status::StatusReport;

const PAGE: &str = include_str!("page.html");

/// Where `render` puts the report, inside
/// `<script id="initial" type="application/json">`; it occurs once in `page.html`.
const SLOT: &str = "__TANDEM_STATUS_JSON__";

pub fn render(report: &StatusReport) -> String {
    // Serializing these plain structs cannot fail; `null` makes the page fetch instead.
    let json = serde_json::to_string(report).unwrap_or_else(|_| "null".to_owned());
    PAGE.replacen(SLOT, &script_safe(&json), 1)
}

/// JSON that can sit inside a `<script>` element: a server name or a config
/// error holding `</script>` or `<!--` must not end or alter the element. `<`,
/// `>` and `&` only occur inside JSON strings, where their `\u` escapes parse
/// to the same text.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const OPEN: &str = r#"<script id="initial" type="application/json">"#;

    /// A report from a real `Live` built from a config file in a directory of its own.
    fn report(name: &str) -> StatusReport {
        let dir: PathBuf = std::env::temp_dir().join(format!("tandem-page-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("lb.yaml");
        let yaml = "listen: 127.0.0.1:1\nupstreams:\n  app:\n    servers:\n\
                    \x20     - { addr: \"127.0.0.1:11\" }\n      - { addr: \"127.0.0.1:12\", backup: true }\n";
        std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{e}"));
        let (config, digest) = crate::config::load_file_with_digest(&path).unwrap_or_else(|e| panic!("{e}"));
        let live = crate::live::Live::new(&path, config, digest).unwrap_or_else(|e| panic!("{e}"));
        let report = crate::admin::status::build(&live);
        let _ = std::fs::remove_dir_all(&dir);
        report
    }

    /// The text of the embedded report element.
    fn embedded(page: &str) -> &str {
        let start = page.find(OPEN).unwrap_or_else(|| panic!("no initial report in the page")) + OPEN.len();
        let len = page[start..].find("</script>").unwrap_or_else(|| panic!("initial report not closed"));
        &page[start..start + len]
    }

    #[test]
    fn the_template_has_one_slot_inside_the_initial_report_element() {
        assert_eq!(PAGE.matches(SLOT).count(), 1);
        assert_eq!(embedded(PAGE), SLOT);
    }

    #[test]
    fn page_embeds_the_report_as_status_json_would_serve_it() {
        let report = report("embed");
        let page = render(&report);
        assert!(!page.contains(SLOT));
        let parsed: serde_json::Value = serde_json::from_str(embedded(&page)).unwrap_or_else(|e| panic!("{e}"));
        let expected = serde_json::to_value(&report).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, expected);
        assert_eq!(parsed["upstreams"][0]["servers"][1]["state"], "backup");
    }

    #[test]
    fn page_loads_nothing_from_elsewhere() {
        let page = render(&report("offline"));
        for external in ["http://", "https://", "src=\"http", "href=\"http", "url(http", "@import", "src=", "url("] {
            assert!(!page.contains(external), "page contains {external:?}");
        }
        // The only links are relative: status.json and metrics.
        for link in page.split("href=\"").skip(1) {
            let target = link.split('"').next().unwrap_or("");
            assert!(!target.contains(':') && !target.starts_with("//"), "external link {target}");
        }
    }

    #[test]
    fn a_server_name_cannot_close_the_script_element() {
        let mut report = report("inject");
        let name = "</script><script>alert(1)</script><!--";
        report.upstreams[0].servers[0].name = name.to_owned();
        report.config.path = "a&b>c".to_owned();
        let page = render(&report);
        assert!(!page.contains("alert(1)</script>"));
        assert!(!page.contains("<!--"));
        assert_eq!(page.matches("</script>").count(), PAGE.matches("</script>").count());
        let parsed: serde_json::Value = serde_json::from_str(embedded(&page)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed["upstreams"][0]["servers"][0]["name"], name);
        assert_eq!(parsed["config"]["path"], "a&b>c");
    }

    #[test]
    fn dom_hooks_for_browser_tests_stay_in_the_page() {
        let hooks = [
            r#"class: "server""#,
            r#""data-upstream": u.name"#,
            r#""data-server": s.addr"#,
            r#""data-state": s.state"#,
            r#"id: "generation""#,
            r#"id: "health""#,
            r#""data-healthy""#,
            r#"id: "reload-error""#,
            r#"id="updated""#,
        ];
        for hook in hooks {
            assert!(PAGE.contains(hook), "page.html lost the hook {hook}");
        }
    }
}
