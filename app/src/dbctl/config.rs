//! `tandem-dbctl` settings, from `TANDEM_DBCTL_*` environment variables.

use crate::config::parse_duration;
use std::time::Duration;

/// The admin accounts of the pair `make services` starts: local-demo
/// credentials, never for a real deployment.
pub const DEFAULT_NODES: &str = "mysql://admin:admin@127.0.0.1:13306/,mysql://admin:admin@127.0.0.1:13307/";

#[derive(Debug, Clone, PartialEq)]
pub struct DbctlConfig {
    /// `TANDEM_DBCTL_NODES`: every node's admin URL (a user allowed to change
    /// `read_only` and replication), master and replicas alike.
    pub nodes: Vec<String>,
    /// `TANDEM_DBCTL_REPL_USER` / `_PASSWORD`: the account replicas connect with.
    /// Default `repl`/`repl` (local demo).
    pub repl_user: String,
    pub repl_password: String,
    /// `TANDEM_DBCTL_INTERVAL`: time between rounds. Default 100 ms.
    pub interval: Duration,
    /// `TANDEM_DBCTL_MISSES`: rounds the master may be missing before a
    /// promotion. Default 3: ~0.3 s of detection, yet a single lost probe
    /// never promotes.
    pub misses: u32,
    /// `TANDEM_DBCTL_TIMEOUT`: bound on one probe. Default 500 ms.
    pub timeout: Duration,
    /// `TANDEM_DBCTL_SEMI_SYNC`: `on` (default) or `off`.
    pub semi_sync: bool,
}

impl DbctlConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<DbctlConfig, String> {
        let get = |key: &str, default: &str| lookup(key).unwrap_or_else(|| default.to_string());
        let mut errors = Vec::new();
        let nodes: Vec<String> = get("TANDEM_DBCTL_NODES", DEFAULT_NODES)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if nodes.len() < 2 {
            errors.push("TANDEM_DBCTL_NODES: at least two mysql:// URLs are needed".to_string());
        }
        let mut duration = |key: &str, default: &str| match parse_duration(&get(key, default)) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                errors.push(format!("{key}: must be above zero"));
                Duration::from_secs(1)
            }
            Err(e) => {
                errors.push(format!("{key}: {e}"));
                Duration::from_secs(1)
            }
        };
        let interval = duration("TANDEM_DBCTL_INTERVAL", "100ms");
        let timeout = duration("TANDEM_DBCTL_TIMEOUT", "500ms");
        let misses = match get("TANDEM_DBCTL_MISSES", "3").parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push("TANDEM_DBCTL_MISSES: expected a positive integer".to_string());
                1
            }
        };
        let semi_sync = match get("TANDEM_DBCTL_SEMI_SYNC", "on").as_str() {
            "on" => true,
            "off" => false,
            other => {
                errors.push(format!("TANDEM_DBCTL_SEMI_SYNC: expected on or off, got {other:?}"));
                true
            }
        };
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(DbctlConfig {
            nodes,
            repl_user: get("TANDEM_DBCTL_REPL_USER", "repl"),
            repl_password: get("TANDEM_DBCTL_REPL_PASSWORD", "repl"),
            interval,
            misses,
            timeout,
            semi_sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_watch_the_local_pair_every_100ms() {
        let c = DbctlConfig::from_lookup(|_| None).expect("valid");
        assert_eq!(c.nodes.len(), 2);
        assert_eq!(c.interval, Duration::from_millis(100));
        assert_eq!(c.misses, 3);
        assert!(c.semi_sync);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = DbctlConfig::from_lookup(|k| match k {
            "TANDEM_DBCTL_NODES" => Some("mysql://a@h:1/".into()),
            "TANDEM_DBCTL_INTERVAL" => Some("100".into()),
            "TANDEM_DBCTL_SEMI_SYNC" => Some("maybe".into()),
            _ => None,
        })
        .expect_err("invalid");
        for key in ["TANDEM_DBCTL_NODES", "TANDEM_DBCTL_INTERVAL", "TANDEM_DBCTL_SEMI_SYNC"] {
            assert!(err.contains(key), "{key} missing in {err}");
        }
    }
}
