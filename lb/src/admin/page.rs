//! PLACEHOLDER: being written (the HTML status page).

use super::status::StatusReport;

pub fn render(report: &StatusReport) -> String {
    serde_json::to_string(report).unwrap_or_default()
}
