//! The app's settings, read from `TANDEM_APP_*` environment variables.
//!
//! Parsing is pure: [`AppConfig::from_lookup`] takes a lookup function, so tests
//! pass a map and `main` passes `std::env::var`. Every default suits the local
//! lab started by `make services` (see `app/README.md`).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Default database nodes: the pair `make services` starts. Local-demo
/// credentials (`app`/`app`), never for a real deployment.
pub const DEFAULT_DB_NODES: &str = "mysql://app:app@127.0.0.1:13306/appdb,mysql://app:app@127.0.0.1:13307/appdb";
/// Default Sentinels: the three `make services` starts.
pub const DEFAULT_SENTINELS: &str = "127.0.0.1:26479,127.0.0.1:26480,127.0.0.1:26481";

#[derive(Debug, Clone, PartialEq)]
pub struct AppConfig {
    /// `TANDEM_APP_NAME`: sent as `X-Served-By`. Default: `app`.
    pub name: String,
    /// `TANDEM_APP_LISTEN`: default `127.0.0.1:8000` (loopback unless told otherwise).
    pub listen: SocketAddr,
    /// `TANDEM_APP_DB_NODES`: every database node, master and replicas alike; roles
    /// are discovered from `@@global.read_only`, never configured.
    pub db_nodes: Vec<String>,
    /// `TANDEM_APP_SENTINELS`: `host:port,...`; empty turns the cache off.
    pub sentinels: Vec<String>,
    /// `TANDEM_APP_REDIS_MASTER`: the Sentinel master name. Default `mymaster`.
    pub redis_master: String,
    /// `TANDEM_APP_CACHE_TTL`: lifetime of a cached GET. Default 30 s: it bounds how
    /// long an entry can stay stale when an invalidation was lost (Redis down
    /// during a write, or a Redis failover that lost the delete).
    pub cache_ttl: Duration,
    /// `TANDEM_APP_CACHE_TIMEOUT`: longest wait for Redis before the request goes to
    /// the database instead. Default 250 ms.
    pub cache_timeout: Duration,
    /// `TANDEM_APP_MAX_REPLICA_LAG`: a replica further behind (`Seconds_Behind_Master`,
    /// whole seconds) serves no reads. Default 5 s.
    pub max_replica_lag: Duration,
    /// `TANDEM_APP_DB_TIMEOUT`: bound on one database operation, connecting
    /// included. Default 2 s, so a frozen node costs a request at most that.
    pub db_timeout: Duration,
    /// `TANDEM_APP_DB_PROBE_INTERVAL`: how often roles and lag are re-discovered.
    /// Default 1 s; errors trigger an immediate probe as well.
    pub db_probe_interval: Duration,
    /// `TANDEM_APP_DB_POOL_MAX`: connections per node. Default 32.
    pub db_pool_max: usize,
    /// `TANDEM_APP_GTID_WAIT`: how long a read-your-writes read waits for a replica to
    /// apply the presented GTID before it goes to the master. Default 1 s.
    pub gtid_wait: Duration,
}

impl AppConfig {
    /// Reads the settings through `lookup` (an environment variable getter).
    /// Every bad value is reported, each naming its variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AppConfig, ConfigErrors> {
        let mut errors = Vec::new();
        let get = |key: &'static str, default: &str| -> (String, &'static str) {
            (lookup(key).unwrap_or_else(|| default.to_string()), key)
        };
        let name = get("TANDEM_APP_NAME", "app").0;
        let listen = get("TANDEM_APP_LISTEN", "127.0.0.1:8000");
        let db_nodes = get("TANDEM_APP_DB_NODES", DEFAULT_DB_NODES);
        let sentinels = get("TANDEM_APP_SENTINELS", DEFAULT_SENTINELS);
        let redis_master = get("TANDEM_APP_REDIS_MASTER", "mymaster").0;
        let durations = [
            get("TANDEM_APP_CACHE_TTL", "30s"),
            get("TANDEM_APP_CACHE_TIMEOUT", "250ms"),
            get("TANDEM_APP_MAX_REPLICA_LAG", "5s"),
            get("TANDEM_APP_DB_TIMEOUT", "2s"),
            get("TANDEM_APP_DB_PROBE_INTERVAL", "1s"),
            get("TANDEM_APP_GTID_WAIT", "1s"),
        ];
        let pool_max = get("TANDEM_APP_DB_POOL_MAX", "32");

        let mut parsed = [Duration::ZERO; 6];
        for (slot, (text, key)) in parsed.iter_mut().zip(&durations) {
            match parse_duration(text) {
                Ok(d) => *slot = d,
                Err(e) => errors.push(ConfigError::new(key, text, e)),
            }
        }
        let listen_addr = listen.0.parse::<SocketAddr>().unwrap_or_else(|_| {
            errors.push(ConfigError::new(listen.1, &listen.0, "expected ip:port, e.g. 0.0.0.0:8000".into()));
            SocketAddr::from(([127, 0, 0, 1], 8000))
        });
        let db_nodes_list = split_list(&db_nodes.0);
        if db_nodes_list.is_empty() {
            errors.push(ConfigError::new(db_nodes.1, &db_nodes.0, "at least one mysql:// URL is needed".into()));
        }
        for url in &db_nodes_list {
            if !url.starts_with("mysql://") {
                errors.push(ConfigError::new(
                    db_nodes.1,
                    url,
                    "each node must be a mysql://user:pass@host:port/db URL".into(),
                ));
            }
        }
        let sentinel_list = split_list(&sentinels.0);
        for addr in &sentinel_list {
            if addr.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).is_none() {
                errors.push(ConfigError::new(sentinels.1, addr, "each Sentinel must be host:port".into()));
            }
        }
        let db_pool_max = match pool_max.0.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push(ConfigError::new(pool_max.1, &pool_max.0, "expected a positive integer".into()));
                1
            }
        };
        if parsed[3].is_zero() {
            errors.push(ConfigError::new("TANDEM_APP_DB_TIMEOUT", &durations[3].0, "must be above zero".into()));
        }
        if parsed[4].is_zero() {
            errors.push(ConfigError::new("TANDEM_APP_DB_PROBE_INTERVAL", &durations[4].0, "must be above zero".into()));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let [cache_ttl, cache_timeout, max_replica_lag, db_timeout, db_probe_interval, gtid_wait] = parsed;
        Ok(AppConfig {
            name,
            listen: listen_addr,
            db_nodes: db_nodes_list,
            sentinels: sentinel_list,
            redis_master,
            cache_ttl,
            cache_timeout,
            max_replica_lag,
            db_timeout,
            db_probe_interval,
            db_pool_max,
            gtid_wait,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<AppConfig, ConfigErrors> {
        AppConfig::from_lookup(|key| std::env::var(key).ok())
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Parses `250ms`, `30s`, `5m` or `0`. A unit is required for anything but zero,
/// so `30` is never silently read as milliseconds or seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| format!("expected a duration like 30s or 500ms, got {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" => Ok(Duration::from_secs(value * 60)),
        "" => Err(format!("{text:?} needs a unit: ms, s or m")),
        _ => Err(format!("unknown unit {unit:?} in {text:?}: use ms, s or m")),
    }
}

/// One bad setting: the variable, the value and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub key: &'static str,
    pub value: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: &'static str, value: &str, message: String) -> ConfigError {
        ConfigError { key, value: value.to_string(), message }
    }
}

/// Every bad setting found in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}={:?}: {}", e.key, e.value, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<AppConfig, ConfigErrors> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AppConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_suit_the_local_services() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.listen, "127.0.0.1:8000".parse().expect("addr"));
        assert_eq!(c.db_nodes.len(), 2);
        assert_eq!(c.sentinels.len(), 3);
        assert_eq!(c.redis_master, "mymaster");
        assert_eq!(c.cache_ttl, Duration::from_secs(30));
        assert_eq!(c.max_replica_lag, Duration::from_secs(5));
    }

    #[test]
    fn lists_are_split_on_commas_and_trimmed() {
        let c = config(&[("TANDEM_APP_DB_NODES", " mysql://a@h:1/d , mysql://b@h:2/d,"), ("TANDEM_APP_SENTINELS", "")])
            .expect("valid");
        assert_eq!(c.db_nodes, vec!["mysql://a@h:1/d", "mysql://b@h:2/d"]);
        assert!(c.sentinels.is_empty(), "an empty list turns the cache off");
    }

    #[test]
    fn every_bad_value_is_reported_with_its_variable() {
        let err = config(&[
            ("TANDEM_APP_CACHE_TTL", "30"),
            ("TANDEM_APP_LISTEN", "nowhere"),
            ("TANDEM_APP_DB_NODES", "postgres://x"),
            ("TANDEM_APP_SENTINELS", "host-without-port"),
            ("TANDEM_APP_DB_POOL_MAX", "0"),
        ])
        .expect_err("invalid");
        let text = err.to_string();
        for key in [
            "TANDEM_APP_CACHE_TTL",
            "TANDEM_APP_LISTEN",
            "TANDEM_APP_DB_NODES",
            "TANDEM_APP_SENTINELS",
            "TANDEM_APP_DB_POOL_MAX",
        ] {
            assert!(text.contains(key), "{key} missing from: {text}");
        }
        assert_eq!(err.0.len(), 5);
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
    }
}
