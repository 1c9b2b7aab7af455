//! The `servers` list of a group: nginx's `server ADDR [params]` lines.

use std::time::Duration;

use super::address::resolve_server;
use super::error::Report;
use super::model::{Balance, Server};
use super::raw::RawServer;
use super::validate::duration;

const DEFAULT_FAIL_TIMEOUT: Duration = Duration::from_secs(10);
/// nginx has no documented cap; 1000 keeps a ketama ring at most 160,000 points
/// per server and the smooth round-robin arithmetic far from overflow.
const MAX_WEIGHT: i64 = 1000;
const MAX_SERVERS: usize = 256;

pub(super) fn servers(
    list: Option<Vec<RawServer>>,
    balance: &Balance,
    path: &str,
    report: &mut Report<'_>,
) -> Vec<Server> {
    let Some(list) = list else {
        report.error(path, "is required: at least one server, e.g. servers: [{ addr: \"127.0.0.1:9001\" }]");
        return Vec::new();
    };
    if list.is_empty() {
        report.error(path, "needs at least one server");
    } else if !list.iter().any(|s| s.backup != Some(true)) {
        report.error(path, "needs at least one server that is not a backup");
    }
    let hash_name = match balance {
        Balance::IpHash => Some("ip_hash"),
        Balance::Hash { .. } => Some("hash"),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, raw) in list.into_iter().enumerate() {
        let path = format!("{path}[{i}]");
        if let (Some(true), Some(method)) = (raw.backup, hash_name) {
            report.error(
                &format!("{path}.backup"),
                format!(
                    "backup servers cannot be used with {method}: nginx refuses this because \
                     a hash must map a key to one fixed server"
                ),
            );
        }
        if let (Some(_), Some(method)) = (&raw.slow_start, hash_name) {
            report.error(
                &format!("{path}.slow_start"),
                format!("cannot be used with {method} (as in nginx Plus): a hash maps a key to one fixed server"),
            );
        }
        out.extend(server(raw, &path, report));
    }
    if out.len() > MAX_SERVERS {
        report.error(
            path,
            format!("has {} servers after resolving hostnames; at most {MAX_SERVERS} per group", out.len()),
        );
    }
    out
}

/// One `servers[i]` entry: one [`Server`] per resolved address.
fn server(raw: RawServer, path: &str, report: &mut Report<'_>) -> Vec<Server> {
    let weight = raw.weight.unwrap_or(1);
    if weight < 1 {
        report.error(&format!("{path}.weight"), "must be >= 1");
    } else if weight > MAX_WEIGHT {
        report.error(
            &format!("{path}.weight"),
            format!("must be <= {MAX_WEIGHT} (tandem's cap; nginx sets none, ketama needs 160 points per unit)"),
        );
    }
    let weight = u32::try_from(weight.clamp(1, MAX_WEIGHT)).unwrap_or(1);
    let fail_timeout =
        duration(report, &format!("{path}.fail_timeout"), raw.fail_timeout.as_ref(), DEFAULT_FAIL_TIMEOUT);
    let slow_start = duration(report, &format!("{path}.slow_start"), raw.slow_start.as_ref(), Duration::ZERO);
    let addr_path = format!("{path}.addr");
    let Some(name) = raw.addr else {
        report.error(&addr_path, "is required: host:port, e.g. 127.0.0.1:9001");
        return Vec::new();
    };
    let addrs = resolve_server(&name).unwrap_or_else(|message| {
        report.error(&addr_path, message);
        Vec::new()
    });
    addrs
        .into_iter()
        .map(|addr| Server {
            name: name.clone(),
            addr,
            weight,
            max_fails: raw.max_fails.unwrap_or(1),
            fail_timeout,
            backup: raw.backup.unwrap_or(false),
            down: raw.down.unwrap_or(false),
            max_conns: raw.max_conns.unwrap_or(0),
            slow_start,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::super::testing::{assert_error, config};
    use super::*;

    /// A one-group file; `servers` starts on line 5, its items on line 6 onwards.
    fn group(settings: &str, servers: &[&str]) -> String {
        let mut text = format!("listen: 0.0.0.0:8080\nupstreams:\n  app:\n    balance: {settings}\n    servers:\n");
        for server in servers {
            text.push_str(&format!("      - {server}\n"));
        }
        text
    }

    #[test]
    fn server_defaults_follow_nginx() {
        let c = config(&group("round_robin", &["{ addr: \"127.0.0.1:9001\" }"]));
        let s = &c.upstreams[0].servers[0];
        assert_eq!(s.name, "127.0.0.1:9001");
        assert_eq!(s.addr, SocketAddr::from(([127, 0, 0, 1], 9001)));
        assert_eq!((s.weight, s.max_fails, s.max_conns), (1, 1, 0));
        assert_eq!(s.fail_timeout, Duration::from_secs(10));
        assert!(!s.backup && !s.down);
    }

    #[test]
    fn server_parameters_are_read() {
        let c = config(&group(
            "round_robin",
            &[
                "{ addr: \"127.0.0.1:9001\", weight: 5, max_fails: 3, fail_timeout: 30s, max_conns: 100 }",
                "{ addr: \"127.0.0.1:9002\", backup: true }",
                "{ addr: \"127.0.0.1:9003\", down: true, max_fails: 0 }",
            ],
        ));
        let s = &c.upstreams[0].servers;
        assert_eq!((s[0].weight, s[0].max_fails, s[0].max_conns), (5, 3, 100));
        assert_eq!(s[0].fail_timeout, Duration::from_secs(30));
        assert!(s[1].backup && s[2].down);
        assert_eq!(s[2].max_fails, 0);
    }

    #[test]
    fn weight_zero_is_rejected_with_key_path_and_line() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:9001\" }", "{ addr: \"127.0.0.1:9002\", weight: 0 }"]);
        let error = super::super::testing::error_at(&text, "upstreams.app.servers[1].weight");
        assert_eq!(error.to_string(), "upstreams.app.servers[1].weight: must be >= 1 (lb.yaml:7)");
    }

    #[test]
    fn negative_weight_is_rejected() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:9001\", weight: -3 }"]);
        assert_error(&text, "upstreams.app.servers[0].weight", 6, "must be >= 1");
    }

    #[test]
    fn weight_above_1000_is_rejected() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:9001\", weight: 1001 }"]);
        assert_error(&text, "upstreams.app.servers[0].weight", 6, "must be <= 1000");
    }

    #[test]
    fn backup_with_ip_hash_is_refused_with_the_reason() {
        let text = group("ip_hash", &["{ addr: \"127.0.0.1:9001\" }", "{ addr: \"127.0.0.1:9002\", backup: true }"]);
        assert_error(
            &text,
            "upstreams.app.servers[1].backup",
            7,
            "backup servers cannot be used with ip_hash: nginx refuses this because a hash must map a key to one fixed server",
        );
    }

    #[test]
    fn backup_with_hash_is_refused_with_the_reason() {
        let text = group(
            "hash\n    hash: { key: uri }",
            &["{ addr: \"127.0.0.1:9001\" }", "{ addr: \"127.0.0.1:9002\", backup: true }"],
        );
        assert_error(
            &text,
            "upstreams.app.servers[1].backup",
            8,
            "backup servers cannot be used with hash: nginx refuses",
        );
    }

    #[test]
    fn slow_start_is_read_and_refused_with_a_hash() {
        let c = config(&group("least_conn", &["{ addr: \"127.0.0.1:9001\", slow_start: 30s }"]));
        assert_eq!(c.upstreams[0].servers[0].slow_start, Duration::from_secs(30));
        let text = group("ip_hash", &["{ addr: \"127.0.0.1:9001\", slow_start: 30s }"]);
        assert_error(&text, "upstreams.app.servers[0].slow_start", 6, "cannot be used with ip_hash");
    }

    #[test]
    fn servers_are_required() {
        let text = "listen: 0.0.0.0:8080\nupstreams:\n  app:\n    balance: least_conn\n";
        assert_error(text, "upstreams.app.servers", 3, "is required");
        assert_error(
            &group("round_robin", &[]).replace("servers:\n", "servers: []\n"),
            "upstreams.app.servers",
            5,
            "at least one server",
        );
    }

    #[test]
    fn group_of_only_backups_is_rejected() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:9001\", backup: true }"]);
        assert_error(&text, "upstreams.app.servers", 5, "at least one server that is not a backup");
    }

    #[test]
    fn duplicate_server_addresses_are_allowed_as_in_nginx() {
        let c = config(&group("round_robin", &["{ addr: \"127.0.0.1:9001\" }", "{ addr: \"127.0.0.1:9001\" }"]));
        assert_eq!(c.upstreams[0].servers.len(), 2);
    }

    #[test]
    fn missing_addr_is_rejected() {
        assert_error(&group("round_robin", &["{ weight: 2 }"]), "upstreams.app.servers[0].addr", 6, "is required");
    }

    #[test]
    fn hostname_becomes_one_server_per_address_with_the_written_name() {
        let c = config(&group("round_robin", &["{ addr: \"localhost:8000\", weight: 3 }"]));
        let servers = &c.upstreams[0].servers;
        assert!(!servers.is_empty());
        assert!(servers.iter().all(|s| s.name == "localhost:8000" && s.weight == 3 && s.addr.port() == 8000));
    }

    #[test]
    fn unresolvable_hostname_is_an_error_naming_the_path() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:1\" }", "{ addr: \"no-such-host.invalid:80\" }"]);
        assert_error(&text, "upstreams.app.servers[1].addr", 7, "cannot resolve `no-such-host.invalid`");
    }

    #[test]
    fn more_than_256_servers_in_a_group_are_rejected() {
        let servers: Vec<String> = (0..257).map(|i| format!("{{ addr: \"127.0.0.1:{}\" }}", 10_000 + i)).collect();
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        assert_error(&group("round_robin", &servers), "upstreams.app.servers", 5, "at most 256 per group");
    }

    #[test]
    fn bad_fail_timeout_is_rejected_with_path_and_line() {
        let text = group("round_robin", &["{ addr: \"127.0.0.1:9001\", fail_timeout: 10 }"]);
        assert_error(&text, "upstreams.app.servers[0].fail_timeout", 6, "needs a unit, e.g. 10s");
    }
}
