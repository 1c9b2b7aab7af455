//! One upstream group: balancer, timeouts, retries; servers and health checks
//! are checked in `server.rs` and `health_check.rs`.

use std::time::Duration;

use super::error::Report;
use super::health_check::health_check;
use super::model::{Balance, HashKey, NextUpstream, RandomTwo, TimeMeasure, Upstream};
use super::raw::{RawHash, RawUpstream, StringList};
use super::server::servers;
use super::validate::{duration, positive_duration};

/// nginx's `proxy_connect_timeout`, `proxy_read_timeout`, `proxy_send_timeout` default.
const DEFAULT_PROXY_TIMEOUT: Duration = Duration::from_secs(60);
const NEXT_UPSTREAM_VALID: &str = "error, timeout, invalid_header, http_500, http_502, http_503, \
                                   http_504, http_403, http_404, http_429, non_idempotent, off";
const HASH_KEY_VALID: &str = "header:NAME, cookie:NAME, arg:NAME, client_ip or uri";

pub(super) fn validate_upstream(name: String, raw: RawUpstream, path: &str, report: &mut Report<'_>) -> Upstream {
    let balance = balance(raw.balance.as_deref(), raw.hash, path, report);
    let balance = timed_balance(balance, raw.least_time.as_deref(), raw.two.as_deref(), path, report);
    let connect_timeout = positive_duration(
        report,
        &format!("{path}.connect_timeout"),
        raw.connect_timeout.as_ref(),
        DEFAULT_PROXY_TIMEOUT,
    );
    let read_timeout =
        positive_duration(report, &format!("{path}.read_timeout"), raw.read_timeout.as_ref(), DEFAULT_PROXY_TIMEOUT);
    let send_timeout =
        positive_duration(report, &format!("{path}.send_timeout"), raw.send_timeout.as_ref(), DEFAULT_PROXY_TIMEOUT);
    let next_upstream = next_upstream(raw.next_upstream, &format!("{path}.next_upstream"), report);
    let next_upstream_timeout =
        duration(report, &format!("{path}.next_upstream_timeout"), raw.next_upstream_timeout.as_ref(), Duration::ZERO);
    let servers = servers(raw.servers, &balance, &format!("{path}.servers"), report);
    let health_check = raw.health_check.map(|hc| health_check(hc, &format!("{path}.health_check"), report));
    let tls = super::upstream_tls::upstream_tls(raw.tls, &format!("{path}.tls"), report);
    Upstream {
        name,
        balance,
        connect_timeout,
        read_timeout,
        send_timeout,
        next_upstream,
        next_upstream_tries: raw.next_upstream_tries.unwrap_or(0),
        next_upstream_timeout,
        servers,
        health_check,
        tls,
    }
}

fn balance(text: Option<&str>, hash: Option<RawHash>, path: &str, report: &mut Report<'_>) -> Balance {
    let hash_path = format!("{path}.hash");
    let balance = match text.unwrap_or("round_robin") {
        "round_robin" => Balance::RoundRobin,
        "least_conn" => Balance::LeastConn,
        "ip_hash" => Balance::IpHash,
        "least_time" => Balance::LeastTime(TimeMeasure::Header),
        "random" => Balance::Random(None),
        "hash" => match &hash {
            Some(hash) => hash_balance(hash, &hash_path, report),
            None => {
                report.error(&hash_path, "is required when balance is hash, e.g. hash: { key: client_ip }");
                Balance::Hash { key: HashKey::ClientIp, consistent: false }
            }
        },
        other => {
            report.error(
                &format!("{path}.balance"),
                format!(
                    "unknown balance `{other}` (valid: round_robin, least_conn, ip_hash, hash, least_time, random)"
                ),
            );
            Balance::RoundRobin
        }
    };
    if hash.is_some() && !matches!(balance, Balance::Hash { .. }) {
        report.error(&hash_path, "only applies with balance: hash (nginx's `hash` directive is the balancer)");
    }
    balance
}

/// `least_time: header | last_byte` (what least_time measures, also for
/// `two: least_time`) and `two: least_conn | least_time` (with random).
fn timed_balance(
    balance: Balance,
    least_time: Option<&str>,
    two: Option<&str>,
    path: &str,
    report: &mut Report<'_>,
) -> Balance {
    let measure = match least_time {
        None | Some("header") => TimeMeasure::Header,
        Some("last_byte") => TimeMeasure::LastByte,
        Some(other) => {
            report
                .error(&format!("{path}.least_time"), format!("unknown measure `{other}` (valid: header, last_byte)"));
            TimeMeasure::Header
        }
    };
    let balance = match (balance, two) {
        (Balance::Random(_), Some("least_conn")) => Balance::Random(Some(RandomTwo::LeastConn)),
        (Balance::Random(_), Some("least_time")) => Balance::Random(Some(RandomTwo::LeastTime(measure))),
        (Balance::Random(r), Some(other)) => {
            report.error(&format!("{path}.two"), format!("unknown method `{other}` (valid: least_conn, least_time)"));
            Balance::Random(r)
        }
        (b, Some(_)) => {
            report.error(&format!("{path}.two"), "only applies with balance: random (nginx `random two least_conn`)");
            b
        }
        (Balance::LeastTime(_), None) => Balance::LeastTime(measure),
        (b, None) => b,
    };
    if least_time.is_some() && balance.time_measure().is_none() {
        report.error(
            &format!("{path}.least_time"),
            "only applies with balance: least_time or with balance: random and two: least_time",
        );
    }
    balance
}

fn hash_balance(hash: &RawHash, path: &str, report: &mut Report<'_>) -> Balance {
    let key_path = format!("{path}.key");
    let key = match hash.key.as_deref() {
        None => {
            report.error(&key_path, format!("is required: {HASH_KEY_VALID}"));
            HashKey::ClientIp
        }
        Some(text) => parse_hash_key(text).unwrap_or_else(|message| {
            report.error(&key_path, message);
            HashKey::ClientIp
        }),
    };
    Balance::Hash { key, consistent: hash.consistent.unwrap_or(false) }
}

fn parse_hash_key(text: &str) -> Result<HashKey, String> {
    match text {
        "client_ip" => return Ok(HashKey::ClientIp),
        "uri" => return Ok(HashKey::Uri),
        _ => {}
    }
    let bad = || format!("`{text}` is not a hash key (valid: {HASH_KEY_VALID})");
    let (kind, name) = text.split_once(':').ok_or_else(bad)?;
    if name.is_empty() {
        return Err(format!("`{text}` needs a name after `{kind}:`"));
    }
    let token = |s: &str| s.chars().all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c));
    match kind {
        "header" if token(name) => Ok(HashKey::Header(name.to_ascii_lowercase())),
        "header" => Err(format!("`{name}` is not a valid header name")),
        "cookie" if token(name) => Ok(HashKey::Cookie(name.to_string())),
        "cookie" => Err(format!("`{name}` is not a valid cookie name")),
        "arg" if !name.contains(['&', '=', ' ']) => Ok(HashKey::Arg(name.to_string())),
        "arg" => Err(format!("`{name}` is not a valid query argument name")),
        _ => Err(bad()),
    }
}

fn next_upstream(list: Option<StringList>, path: &str, report: &mut Report<'_>) -> NextUpstream {
    let Some(StringList(entries)) = list else {
        return NextUpstream::DEFAULT;
    };
    if entries.is_empty() {
        report.error(path, "must list at least one condition, or `off`");
        return NextUpstream::DEFAULT;
    }
    let mut bits = 0;
    for (i, entry) in entries.iter().enumerate() {
        let entry_path = format!("{path}[{i}]");
        match NextUpstream::parse_entry(entry) {
            Some(0) if entries.len() > 1 => {
                report.error(&entry_path, "`off` must be the only entry: it turns retries off")
            }
            Some(bit) => bits |= bit,
            None => report.error(&entry_path, format!("unknown condition `{entry}` (valid: {NEXT_UPSTREAM_VALID})")),
        }
    }
    NextUpstream(bits)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};
    use super::*;

    /// A one-group file whose group body is `body` (indented four spaces);
    /// the group's first own line is line 4.
    fn group(body: &str) -> String {
        format!("listen: 0.0.0.0:8080\nupstreams:\n  app:\n{body}    servers: [{{ addr: \"127.0.0.1:9001\" }}]\n")
    }

    #[test]
    fn group_defaults_follow_nginx() {
        let c = config(&group(""));
        let u = &c.upstreams[0];
        assert_eq!(u.name, "app");
        assert_eq!(u.balance, Balance::RoundRobin);
        assert_eq!(u.connect_timeout, Duration::from_secs(60));
        assert_eq!(u.read_timeout, Duration::from_secs(60));
        assert_eq!(u.send_timeout, Duration::from_secs(60));
        assert_eq!(u.next_upstream, NextUpstream::DEFAULT);
        assert_eq!(u.next_upstream_tries, 0);
        assert_eq!(u.next_upstream_timeout, Duration::ZERO);
        assert_eq!(u.health_check, None);
    }

    #[test]
    fn every_balance_method_is_understood() {
        assert_eq!(config(&group("    balance: least_conn\n")).upstreams[0].balance, Balance::LeastConn);
        assert_eq!(config(&group("    balance: ip_hash\n")).upstreams[0].balance, Balance::IpHash);
        let c = config(&group("    balance: hash\n    hash: { key: \"header:X-User-Email\", consistent: true }\n"));
        let expected = Balance::Hash { key: HashKey::Header("x-user-email".into()), consistent: true };
        assert_eq!(c.upstreams[0].balance, expected);
    }

    #[test]
    fn unknown_balance_is_rejected_listing_the_valid_ones() {
        let text = group("    balance: fastest\n");
        assert_error(
            &text,
            "upstreams.app.balance",
            4,
            "valid: round_robin, least_conn, ip_hash, hash, least_time, random",
        );
    }

    #[test]
    fn least_time_measures_the_header_unless_told_last_byte() {
        let b = |body: &str| config(&group(body)).upstreams[0].balance.clone();
        assert_eq!(b("    balance: least_time\n"), Balance::LeastTime(TimeMeasure::Header));
        assert_eq!(
            b("    balance: least_time\n    least_time: last_byte\n"),
            Balance::LeastTime(TimeMeasure::LastByte)
        );
        assert_error(
            &group("    balance: least_time\n    least_time: first_byte\n"),
            "upstreams.app.least_time",
            5,
            "valid: header, last_byte",
        );
        assert_error(
            &group("    least_time: header\n"),
            "upstreams.app.least_time",
            4,
            "only applies with balance: least_time",
        );
    }

    #[test]
    fn random_takes_two_least_conn_or_least_time() {
        let b = |body: &str| config(&group(body)).upstreams[0].balance.clone();
        assert_eq!(b("    balance: random\n"), Balance::Random(None));
        assert_eq!(b("    balance: random\n    two: least_conn\n"), Balance::Random(Some(RandomTwo::LeastConn)));
        assert_eq!(
            b("    balance: random\n    two: least_time\n    least_time: last_byte\n"),
            Balance::Random(Some(RandomTwo::LeastTime(TimeMeasure::LastByte)))
        );
        assert_error(
            &group("    balance: random\n    two: ip_hash\n"),
            "upstreams.app.two",
            5,
            "valid: least_conn, least_time",
        );
        assert_error(&group("    two: least_conn\n"), "upstreams.app.two", 4, "only applies with balance: random");
    }

    #[test]
    fn balance_hash_without_hash_mapping_is_rejected() {
        assert_error(&group("    balance: hash\n"), "upstreams.app.hash", 3, "is required when balance is hash");
    }

    #[test]
    fn hash_mapping_without_balance_hash_is_rejected() {
        let text = group("    balance: least_conn\n    hash: { key: uri }\n");
        assert_error(&text, "upstreams.app.hash", 5, "only applies with balance: hash");
        assert_error(&group("    hash: { key: uri }\n"), "upstreams.app.hash", 4, "only applies with balance: hash");
    }

    #[test]
    fn hash_keys_of_every_kind_parse() {
        assert_eq!(parse_hash_key("cookie:sid"), Ok(HashKey::Cookie("sid".into())));
        assert_eq!(parse_hash_key("arg:user"), Ok(HashKey::Arg("user".into())));
        assert_eq!(parse_hash_key("client_ip"), Ok(HashKey::ClientIp));
        assert_eq!(parse_hash_key("uri"), Ok(HashKey::Uri));
        assert!(parse_hash_key("header:").is_err());
        assert!(parse_hash_key("header:X Y").is_err());
    }

    #[test]
    fn hash_consistent_defaults_to_false() {
        let c = config(&group("    balance: hash\n    hash: { key: client_ip }\n"));
        assert_eq!(c.upstreams[0].balance, Balance::Hash { key: HashKey::ClientIp, consistent: false });
    }

    #[test]
    fn unknown_hash_key_is_rejected_with_path_and_line() {
        let text = group("    balance: hash\n    hash:\n      key: $remote_addr\n");
        assert_error(&text, "upstreams.app.hash.key", 6, "valid: header:NAME, cookie:NAME");
    }

    #[test]
    fn missing_hash_key_is_rejected() {
        let text = group("    balance: hash\n    hash: { consistent: true }\n");
        assert_error(&text, "upstreams.app.hash.key", 5, "is required");
    }

    #[test]
    fn timeouts_must_be_greater_than_zero() {
        assert_error(&group("    connect_timeout: 0s\n"), "upstreams.app.connect_timeout", 4, "greater than 0");
        assert_error(&group("    read_timeout: 0ms\n"), "upstreams.app.read_timeout", 4, "greater than 0");
        assert_error(&group("    send_timeout: 0s\n"), "upstreams.app.send_timeout", 4, "greater than 0");
    }

    #[test]
    fn timeouts_take_units() {
        let c = config(&group("    connect_timeout: 500ms\n    read_timeout: 1m30s\n    next_upstream_timeout: 2s\n"));
        assert_eq!(c.upstreams[0].connect_timeout, Duration::from_millis(500));
        assert_eq!(c.upstreams[0].read_timeout, Duration::from_secs(90));
        assert_eq!(c.upstreams[0].next_upstream_timeout, Duration::from_secs(2));
    }

    #[test]
    fn timeout_without_unit_is_rejected_with_path_and_line() {
        assert_error(&group("    read_timeout: 30\n"), "upstreams.app.read_timeout", 4, "needs a unit, e.g. 30s");
    }

    #[test]
    fn next_upstream_entries_become_bits() {
        let c = config(&group("    next_upstream: [error, http_502, non_idempotent]\n    next_upstream_tries: 3\n"));
        let bits = NextUpstream::ERROR | NextUpstream::HTTP_502 | NextUpstream::NON_IDEMPOTENT;
        assert_eq!(c.upstreams[0].next_upstream, NextUpstream(bits));
        assert_eq!(c.upstreams[0].next_upstream_tries, 3);
        assert_eq!(config(&group("    next_upstream: off\n")).upstreams[0].next_upstream, NextUpstream(0));
    }

    #[test]
    fn off_with_other_next_upstream_entries_is_rejected() {
        let text = group("    next_upstream: [error, off]\n");
        assert_error(&text, "upstreams.app.next_upstream[1]", 4, "`off` must be the only entry");
    }

    #[test]
    fn unknown_next_upstream_entry_is_rejected_listing_the_valid_ones() {
        let text = group("    next_upstream:\n      - error\n      - http_501\n");
        assert_error(&text, "upstreams.app.next_upstream[1]", 6, "unknown condition `http_501` (valid: error, timeout");
    }

    #[test]
    fn empty_next_upstream_list_is_rejected() {
        assert_error(&group("    next_upstream: []\n"), "upstreams.app.next_upstream", 4, "at least one condition");
    }
}
