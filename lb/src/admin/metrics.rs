//! PLACEHOLDER: being written (Prometheus text rendering of the status report).

use super::status::StatusReport;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn render(_report: &StatusReport) -> String {
    String::new()
}
