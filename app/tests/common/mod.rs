//! Harness: a real data tier (MariaDB pair, Redis + Sentinels, from Debian's
//! packages, on free loopback ports), the app's router in-process, requests
//! through `tower::ServiceExt::oneshot`, and the real `tandem-dbctl` binary.
#![allow(dead_code)]

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tandem_app::config::AppConfig;
use tandem_app::{router, AppState, SharedState};
use tandem_services::{DataTier, DataTierOptions};
use tower::ServiceExt;

/// Starts a data tier (blocking work, off the async threads).
pub async fn tier() -> DataTier {
    tokio::task::spawn_blocking(|| DataTier::start(DataTierOptions::default()).expect("start the data tier"))
        .await
        .expect("join")
}

/// Runs blocking drill steps (kill, sql) off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

/// App settings for `tier`: fast probes, then `overrides`.
pub fn config(tier: &DataTier, overrides: &[(&str, &str)]) -> AppConfig {
    let mut vars: HashMap<String, String> = tier.env().into_iter().collect();
    vars.insert("TANDEM_APP_NAME".into(), "test-app".into());
    vars.insert("TANDEM_APP_DB_PROBE_INTERVAL".into(), "200ms".into());
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    AppConfig::from_lookup(|k| vars.get(k).cloned()).expect("valid config")
}

pub struct App {
    pub state: SharedState,
    pub router: Router,
}

impl App {
    pub async fn start(config: AppConfig) -> App {
        let state = AppState::start(config).await.expect("app starts");
        let router = router(state.clone());
        App { state, router }
    }

    /// Starts the app and waits until the schema exists and the cache (when
    /// configured) is linked.
    pub async fn ready(config: AppConfig) -> App {
        let cache_on = !config.sentinels.is_empty();
        let app = App::start(config).await;
        let state = app.state.clone();
        wait_until("schema and cache ready", Duration::from_secs(15), || {
            let state = state.clone();
            async move {
                state.db.schema_ready()
                    && (!cache_on || matches!(state.cache.state(), tandem_app::cache::CacheState::Up { .. }))
            }
        })
        .await;
        app
    }

    pub async fn send(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        Reply { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], None).await
    }

    pub async fn post(&self, uri: &str, json: &str) -> Reply {
        self.send(Method::POST, uri, &[("content-type", "application/json")], Some(json)).await
    }

    /// The node name (`X-Db-Node`) of MariaDB node `i`.
    pub fn node(&self, i: usize) -> String {
        self.state.db.node_name(i).to_string()
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A property body with a unique address.
pub fn property(tag: &str) -> String {
    format!(r#"{{"address":"{tag} Main St","suburb":"Carlton","property_type":"house","bedrooms":3,"price":900000}}"#)
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The real `tandem-dbctl watch`, killed on drop; its log is in the tier dir.
pub struct Dbctl {
    child: Child,
    pub log: std::path::PathBuf,
}

impl Dbctl {
    pub fn start(tier: &DataTier) -> Dbctl {
        let log = tier.dir().join("dbctl.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tandem-dbctl"))
            .arg("watch")
            .envs(tier.env())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn tandem-dbctl");
        Dbctl { child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dbctl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
