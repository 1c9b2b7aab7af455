//! The operations keys: `admin`, `access_log`, `pid_file`, `upgrade_sock`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::address::parse_listen;
use super::error::Report;
use super::model::{AccessLog, Admin, IpNet, LogFormat, LogTarget, Secret};
use super::raw::{RawAccessLog, RawAdmin, StringList};

/// The admin listener's default: loopback only, so nothing is exposed until
/// the operator decides to.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9090";
/// Shortest accepted admin token: 16 characters (128 bits of hex or so).
const MIN_TOKEN_LEN: usize = 16;
/// Where the pid file goes by default (`tandem reload` reads it).
pub const DEFAULT_PID_FILE: &str = "/run/tandem.pid";
/// Pingora's socket for handing listeners to a new process on an upgrade.
pub const DEFAULT_UPGRADE_SOCK: &str = "/run/tandem-upgrade.sock";

pub(super) fn admin(raw: Option<RawAdmin>, report: &mut Report<'_>) -> Admin {
    let raw = raw.unwrap_or_default();
    let listen = match raw.listen.as_deref() {
        None => parse_listen(DEFAULT_ADMIN_LISTEN).unwrap_or_else(|_| unreachable!("valid default")),
        Some(text) => parse_listen(text).unwrap_or_else(|message| {
            report.error("admin.listen", message);
            SocketAddr::from(([127, 0, 0, 1], 0))
        }),
    };
    let token = match (raw.token, raw.token_file) {
        (Some(_), Some(_)) => {
            report.error("admin.token_file", "give either token or token_file, not both");
            None
        }
        (Some(token), None) => check_token(token, "admin.token", report),
        (None, Some(file)) => match std::fs::read_to_string(&file) {
            Ok(text) => check_token(text.trim().to_string(), "admin.token_file", report),
            Err(err) => {
                report.error("admin.token_file", format!("cannot read `{file}`: {err}"));
                None
            }
        },
        (None, None) => None,
    };
    let allow = match raw.allow {
        None => vec![
            IpNet::new(IpAddr::from([127, 0, 0, 0]), 8),
            IpNet::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 128),
        ],
        Some(StringList(list)) => {
            let mut nets = Vec::new();
            for (i, text) in list.iter().enumerate() {
                match parse_net(text) {
                    Ok(net) => nets.push(net),
                    Err(message) => report.error(&format!("admin.allow[{i}]"), message),
                }
            }
            nets
        }
    };
    Admin { listen, token, allow }
}

fn check_token(token: String, path: &str, report: &mut Report<'_>) -> Option<Secret> {
    if token.chars().count() < MIN_TOKEN_LEN || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        report.error(
            path,
            format!(
                "the token must be at least {MIN_TOKEN_LEN} characters without spaces (e.g. `openssl rand -hex 16`)"
            ),
        );
        return None;
    }
    Some(Secret(token))
}

/// `10.0.0.0/8`, `::1/128`, or a single address (`192.168.1.5`).
pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    let bad = || format!("`{text}` is not an address or network, e.g. 127.0.0.1, 10.0.0.0/8 or ::1/128");
    let (ip, prefix) = match text.split_once('/') {
        None => (text, None),
        Some((ip, prefix)) => (ip, Some(prefix)),
    };
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
    };
    Ok(IpNet::new(ip, prefix))
}

pub(super) fn access_log(raw: Option<RawAccessLog>, report: &mut Report<'_>) -> Option<AccessLog> {
    let raw = raw?;
    let format = match raw.format.as_deref().unwrap_or("text") {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            report.error("access_log.format", format!("unknown format `{other}` (valid: text, json)"));
            LogFormat::Text
        }
    };
    let target = match raw.path.as_deref().unwrap_or("stderr") {
        "stderr" => LogTarget::Stderr,
        "stdout" => LogTarget::Stdout,
        "" => {
            report.error("access_log.path", "is empty; write stderr, stdout or a file path");
            LogTarget::Stderr
        }
        path if !path.starts_with('/') => {
            report.error("access_log.path", format!("`{path}`: write an absolute path, or stderr / stdout"));
            LogTarget::Stderr
        }
        path => LogTarget::File(PathBuf::from(path)),
    };
    Some(AccessLog { format, target })
}

/// `pid_file` and `upgrade_sock`: absolute paths.
pub(super) fn path(raw: Option<String>, key: &str, default: &str, report: &mut Report<'_>) -> PathBuf {
    let text = raw.unwrap_or_else(|| default.to_string());
    if !text.starts_with('/') {
        report.error(key, format!("`{text}`: write an absolute path"));
    }
    PathBuf::from(text)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};
    use super::*;

    const BASE: &str = "listen: 0.0.0.0:8080\nupstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";

    #[test]
    fn defaults_are_a_loopback_admin_without_token_and_no_access_log() {
        let c = config(BASE);
        assert_eq!(c.admin.listen.to_string(), DEFAULT_ADMIN_LISTEN);
        assert!(c.admin.token.is_none());
        assert!(c.admin.allow.iter().any(|n| n.contains("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()))));
        assert!(c.admin.allow.iter().any(|n| n.contains("::1".parse().unwrap_or_else(|_| unreachable!()))));
        assert!(!c.admin.allow.iter().any(|n| n.contains("10.0.0.1".parse().unwrap_or_else(|_| unreachable!()))));
        assert!(c.access_log.is_none());
        assert_eq!(c.pid_file, PathBuf::from(DEFAULT_PID_FILE));
        assert_eq!(c.upgrade_sock, PathBuf::from(DEFAULT_UPGRADE_SOCK));
    }

    #[test]
    fn admin_keys_are_read() {
        let c = config(&format!(
            "{BASE}admin:\n  listen: 127.0.0.1:9999\n  token: 0123456789abcdef\n  allow: [10.1.0.0/16, 127.0.0.1]\n"
        ));
        assert_eq!(c.admin.listen.port(), 9999);
        assert_eq!(c.admin.token.as_ref().map(|t| t.0.as_str()), Some("0123456789abcdef"));
        assert_eq!(c.admin.allow.len(), 2);
        assert!(c.admin.allow[0].contains("10.1.200.3".parse().unwrap_or_else(|_| unreachable!())));
        assert!(!c.admin.allow[0].contains("10.2.0.1".parse().unwrap_or_else(|_| unreachable!())));
        assert!(!c.admin.allow[1].contains("127.0.0.2".parse().unwrap_or_else(|_| unreachable!())));
    }

    #[test]
    fn a_short_token_is_rejected_and_never_shown() {
        let text = format!("{BASE}admin:\n  token: short\n");
        assert_error(&text, "admin.token", 6, "at least 16 characters");
        let shown = super::super::testing::error_at(&text, "admin.token").to_string();
        assert!(!shown.contains("short"), "{shown}");
    }

    #[test]
    fn token_file_is_read_and_trimmed_and_a_missing_one_is_named() {
        let dir = std::env::temp_dir().join(format!("tandem-token-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("token");
        let _ = std::fs::write(&file, "fedcba9876543210fedc\n");
        let c = config(&format!("{BASE}admin:\n  token_file: {}\n", file.display()));
        assert_eq!(c.admin.token.as_ref().map(|t| t.0.as_str()), Some("fedcba9876543210fedc"));
        assert_error(&format!("{BASE}admin:\n  token_file: /nonexistent/t\n"), "admin.token_file", 6, "cannot read");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_debug_print_of_the_config_hides_the_token() {
        let c = config(&format!("{BASE}admin:\n  token: 0123456789abcdef\n"));
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn bad_allow_entries_are_named() {
        let text = format!("{BASE}admin:\n  allow: [127.0.0.1/8, 10.0.0.0/33]\n");
        assert_error(&text, "admin.allow[1]", 6, "not an address or network");
    }

    #[test]
    fn bad_admin_listen_is_named() {
        assert_error(&format!("{BASE}admin:\n  listen: localhost:9090\n"), "admin.listen", 6, "not an ip:port");
    }

    #[test]
    fn access_log_format_and_path() {
        let c = config(&format!("{BASE}access_log: {{ format: json, path: /var/log/tandem.log }}\n"));
        let log = c.access_log.unwrap_or_else(|| unreachable!());
        assert_eq!(log.format, LogFormat::Json);
        assert_eq!(log.target, LogTarget::File(PathBuf::from("/var/log/tandem.log")));
        let c = config(&format!("{BASE}access_log: {{}}\n"));
        assert_eq!(c.access_log, Some(AccessLog { format: LogFormat::Text, target: LogTarget::Stderr }));
        assert_error(&format!("{BASE}access_log: {{ format: xml }}\n"), "access_log.format", 5, "valid: text, json");
        assert_error(&format!("{BASE}access_log: {{ path: logs/a.log }}\n"), "access_log.path", 5, "absolute");
    }

    #[test]
    fn relative_pid_file_is_rejected() {
        assert_error(&format!("{BASE}pid_file: tandem.pid\n"), "pid_file", 5, "absolute path");
    }
}
