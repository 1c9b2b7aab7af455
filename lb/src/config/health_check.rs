//! A group's optional `health_check` (active probes, nginx Plus style).

use std::time::Duration;

use super::error::Report;
use super::model::HealthCheck;
use super::raw::RawHealthCheck;
use super::validate::positive_duration;

pub(super) fn health_check(raw: RawHealthCheck, path: &str, report: &mut Report<'_>) -> HealthCheck {
    let hc_path = path;
    let path = raw.path.unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') {
        report.error(&format!("{hc_path}.path"), "must start with `/`");
    }
    if raw.host.as_deref().is_some_and(|h| h.is_empty() || h.contains(char::is_whitespace)) {
        report.error(&format!("{hc_path}.host"), "must be a non-empty host name without spaces");
    }
    let interval =
        positive_duration(report, &format!("{hc_path}.interval"), raw.interval.as_ref(), Duration::from_secs(5));
    let timeout =
        positive_duration(report, &format!("{hc_path}.timeout"), raw.timeout.as_ref(), Duration::from_secs(1));
    let mut at_least_one = |key: &str, value: Option<u32>| {
        let value = value.unwrap_or(2);
        if value == 0 {
            report.error(&format!("{hc_path}.{key}"), "must be >= 1");
        }
        value.max(1)
    };
    let rise = at_least_one("rise", raw.rise);
    let fall = at_least_one("fall", raw.fall);
    let expect = match raw.expect {
        None => (200, 399),
        Some(scalar) => parse_expect(&scalar.text).unwrap_or_else(|message| {
            report.error(&format!("{hc_path}.expect"), message);
            (200, 399)
        }),
    };
    HealthCheck {
        tcp: raw.tcp.unwrap_or(false),
        path,
        host: raw.host,
        interval,
        timeout,
        rise,
        fall,
        expect,
        mandatory: raw.mandatory.unwrap_or(false),
    }
}

/// `200` or `200-399`, statuses within 100..=599.
fn parse_expect(text: &str) -> Result<(u16, u16), String> {
    let status = |s: &str| s.trim().parse::<u16>().ok().filter(|n| (100..=599).contains(n));
    let bad = || format!("`{text}` is not a status or status range from 100 to 599, e.g. 200 or 200-399");
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (status(low).ok_or_else(bad)?, status(high).ok_or_else(bad)?),
        None => {
            let one = status(text).ok_or_else(bad)?;
            (one, one)
        }
    };
    if low > high {
        return Err(format!("`{text}`: the range must go from low to high"));
    }
    Ok((low, high))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};
    use super::*;

    /// A one-group file whose health_check mapping holds `body`; its keys start on line 6.
    fn with_check(body: &str) -> String {
        format!(
            "listen: 0.0.0.0:8080\nupstreams:\n  app:\n    servers: [{{ addr: \"127.0.0.1:9001\" }}]\n    health_check:\n{body}"
        )
    }

    #[test]
    fn health_check_defaults_are_filled_in() {
        let c = config(&with_check("      tcp: false\n"));
        let expected = HealthCheck {
            tcp: false,
            path: "/".into(),
            host: None,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 2,
            expect: (200, 399),
            mandatory: false,
        };
        assert_eq!(c.upstreams[0].health_check, Some(expected));
    }

    #[test]
    fn health_check_settings_are_read() {
        let c = config(&with_check(
            "      { path: /healthz, interval: 2s, timeout: 500ms, rise: 3, fall: 1, expect: 200, host: app.local, mandatory: true, tcp: true }\n",
        ));
        let hc = c.upstreams[0].health_check.clone().unwrap_or_else(|| unreachable!());
        assert_eq!(hc.path, "/healthz");
        assert_eq!((hc.interval, hc.timeout), (Duration::from_secs(2), Duration::from_millis(500)));
        assert_eq!((hc.rise, hc.fall, hc.expect), (3, 1, (200, 200)));
        assert_eq!(hc.host.as_deref(), Some("app.local"));
        assert!(hc.mandatory && hc.tcp);
    }

    #[test]
    fn health_check_path_must_start_with_a_slash() {
        assert_error(&with_check("      path: healthz\n"), "upstreams.app.health_check.path", 6, "must start with `/`");
    }

    #[test]
    fn health_check_interval_and_timeout_must_be_greater_than_zero() {
        let text = with_check("      interval: 0s\n      timeout: 0ms\n");
        assert_error(&text, "upstreams.app.health_check.interval", 6, "greater than 0");
        assert_error(&text, "upstreams.app.health_check.timeout", 7, "greater than 0");
    }

    #[test]
    fn health_check_rise_and_fall_must_be_at_least_one() {
        let text = with_check("      rise: 0\n      fall: 0\n");
        assert_error(&text, "upstreams.app.health_check.rise", 6, "must be >= 1");
        assert_error(&text, "upstreams.app.health_check.fall", 7, "must be >= 1");
    }

    #[test]
    fn health_check_expect_outside_100_to_599_is_rejected() {
        let text = with_check("      expect: \"200-600\"\n");
        assert_error(&text, "upstreams.app.health_check.expect", 6, "from 100 to 599");
    }

    #[test]
    fn expect_takes_one_status_or_a_low_to_high_range() {
        assert_eq!(parse_expect("200"), Ok((200, 200)));
        assert_eq!(parse_expect("200-399"), Ok((200, 399)));
        assert!(parse_expect("399-200").is_err());
        assert!(parse_expect("2xx").is_err());
        assert!(parse_expect("99").is_err());
    }
}
