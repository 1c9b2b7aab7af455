//! Everything a request handler needs, built once at start.

use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::monitor::Monitor;
use crate::db::{Db, DbSettings};
use http::HeaderValue;
use std::sync::Arc;

pub struct AppState {
    pub config: AppConfig,
    pub db: Arc<Db>,
    pub cache: Cache,
    /// `X-Served-By`, made once.
    pub served_by: HeaderValue,
    /// `X-Db-Node` per node index, made once.
    pub node_headers: Vec<HeaderValue>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Connects what can be connected, probes the database once (so the first
    /// request already knows the roles), and starts the background tasks: the
    /// role monitor and the Redis link. A data tier that is down is no error:
    /// the app starts, reports it on `/readyz` and recovers when it returns.
    pub async fn start(config: AppConfig) -> Result<SharedState, String> {
        let settings = DbSettings {
            timeout: config.db_timeout,
            gtid_wait: config.gtid_wait,
            max_replica_lag: config.max_replica_lag,
            probe_interval: config.db_probe_interval,
        };
        let db = Arc::new(Db::new(&config.db_nodes, config.db_pool_max, settings)?);
        let mut monitor = Monitor::new(db.clone());
        monitor.probe_once().await;
        tokio::spawn(monitor.run());
        let cache =
            Cache::start(config.sentinels.clone(), config.redis_master.clone(), config.cache_ttl, config.cache_timeout);
        let served_by = HeaderValue::from_str(&config.name)
            .map_err(|_| format!("TANDEM_APP_NAME={:?} cannot be sent as a header", config.name))?;
        let node_headers = db
            .nodes()
            .iter()
            .map(|n| HeaderValue::from_str(&n.name).unwrap_or_else(|_| HeaderValue::from_static("unknown")))
            .collect();
        Ok(Arc::new(AppState { config, db, cache, served_by, node_headers }))
    }
}
