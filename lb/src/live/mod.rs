//! The process's live state: the current [`Runtime`] behind an `ArcSwap`
//! (requests load it without a lock), the config it came from, the
//! operators' overrides, the listener counters, the access log, and the
//! history of reloads.
//!
//! - [`Live::reload`] re-reads the file. A valid config is swapped in
//!   atomically; requests in flight finish on the runtime they started with.
//!   An invalid one changes nothing and is remembered for the status page.
//! - [`Live::change_server`] is the runtime API (drain, disable, enable,
//!   weight): applied to the running group at once and kept for reloads.

mod upgrade;

pub use upgrade::needs_upgrade;

use std::path::{Path, PathBuf};
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption, Guard};
use log::{info, warn};

use crate::access_log::AccessLogger;
use crate::config::{self, Config, ConfigError, ConfigErrors};
use crate::runtime::{Override, Overrides, Runtime};
use crate::stats::{ListenerStats, Refusals};
use crate::tls::TlsSet;
use crate::upstream::{ActiveState, AdminState, Clock};

/// Which config is running, and how the last reload went.
#[derive(Debug, Clone)]
pub struct ConfigState {
    /// 1 for the config the process started with, +1 per applied reload.
    pub generation: u64,
    /// CRC-32 of the running file's bytes.
    pub digest: u32,
    pub loaded_at: SystemTime,
    pub last_reload: Option<ReloadReport>,
}

/// The outcome of one reload attempt.
#[derive(Debug, Clone)]
pub struct ReloadReport {
    pub at: SystemTime,
    /// Empty when the new config was applied.
    pub errors: Vec<String>,
    /// Keys that changed but only take effect through a graceful upgrade.
    pub needs_upgrade: Vec<&'static str>,
}

/// A runtime API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerChange {
    Drain,
    Disable,
    Enable,
    Weight(u32),
}

/// Why a runtime API call could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    NoUpstream(String),
    NoServer { upstream: String, server: String },
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeError::NoUpstream(name) => write!(f, "no upstream group named `{name}`"),
            ChangeError::NoServer { upstream, server } => {
                write!(f, "upstream `{upstream}` has no server `{server}` (use its address, its name or its index)")
            }
        }
    }
}

pub struct Live {
    path: PathBuf,
    clock: Clock,
    runtime: ArcSwap<Runtime>,
    config: ArcSwap<Config>,
    /// The config the process started with: the keys a reload cannot change.
    boot: Config,
    /// Serialises reloads (held while the file is read and names resolved).
    reloading: Mutex<()>,
    /// The runtime API's changes; held only to record one or to build and
    /// swap a runtime, never by requests and never across I/O.
    overrides: Mutex<Overrides>,
    state: Mutex<ConfigState>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    pub listeners: Vec<ListenerStats>,
    /// Client requests and connections refused, by reason.
    pub refusals: Refusals,
    access_log: ArcSwapOption<AccessLogger>,
    /// The TLS listeners' acceptors and certificates, rebuilt on reload.
    tls: ArcSwap<TlsSet>,
    /// Bumped on every swap; the health checker follows it.
    changes: tokio::sync::watch::Sender<u64>,
    /// Bumped after every swap of the runtime and the access log: the
    /// proxy workers compare it (one atomic load) to refresh their copies.
    swaps: AtomicU64,
    pub started_at: SystemTime,
    /// The ACME service's tokens and status (`crate::acme`).
    pub acme: crate::acme::AcmeShared,
}

impl Live {
    /// The state for the config the process starts with. Fails when the
    /// access log cannot be opened or a TLS listener's files are unfit.
    pub fn new(path: &Path, config: Config, digest: u32) -> Result<Live, ConfigErrors> {
        let clock = Clock::new();
        let tls = TlsSet::load(&config, &path.display().to_string(), SystemTime::now())?;
        let access_log = open_access_log(&config, path)?;
        let runtime = Runtime::build(&config, clock, None, &Overrides::default());
        let now = SystemTime::now();
        Ok(Live {
            path: path.to_path_buf(),
            clock,
            runtime: ArcSwap::from_pointee(runtime),
            listeners: config.listen.iter().map(|l| ListenerStats::new(l.addr, l.tls.is_some())).collect(),
            refusals: Refusals::default(),
            boot: config.clone(),
            config: ArcSwap::from_pointee(config),
            reloading: Mutex::new(()),
            overrides: Mutex::new(Overrides::default()),
            state: Mutex::new(ConfigState { generation: 1, digest, loaded_at: now, last_reload: None }),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            access_log: ArcSwapOption::new(access_log.map(Arc::new)),
            tls: ArcSwap::from_pointee(tls),
            changes: tokio::sync::watch::channel(1).0,
            swaps: AtomicU64::new(0),
            started_at: now,
            acme: crate::acme::AcmeShared::default(),
        })
    }

    /// The runtime to serve a request with (lock-free).
    pub fn runtime(&self) -> Guard<Arc<Runtime>> {
        self.runtime.load()
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub fn config_path(&self) -> &Path {
        &self.path
    }

    pub fn access_log(&self) -> Guard<Option<Arc<AccessLogger>>> {
        self.access_log.load()
    }

    /// The runtime, to hold across awaits (a proxy worker's copy).
    pub fn runtime_arc(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    pub fn access_log_arc(&self) -> Option<Arc<AccessLogger>> {
        self.access_log.load_full()
    }

    /// The TLS acceptors and certificates of the running config.
    pub fn tls_arc(&self) -> Arc<TlsSet> {
        self.tls.load_full()
    }

    /// Changes whenever [`Live::runtime_arc`], [`Live::access_log_arc`] or
    /// [`Live::tls_arc`] would return something new (read it before them).
    pub fn swaps(&self) -> u64 {
        self.swaps.load(Acquire)
    }

    pub fn config_state(&self) -> ConfigState {
        lock(&self.state).clone()
    }

    /// (applied, rejected) reloads since start.
    pub fn reload_counts(&self) -> (u64, u64) {
        (self.reloads_ok.load(Relaxed), self.reloads_failed.load(Relaxed))
    }

    /// Follows runtime swaps (the value is the generation).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Re-read the config file and swap it in if it is valid. Blocking (file
    /// I/O, name resolution): call it off the async workers.
    pub fn reload(&self) -> ReloadReport {
        let _one_reload_at_a_time = lock(&self.reloading);
        let at = SystemTime::now();
        let loaded = config::load_file_with_digest(&self.path).and_then(|(config, digest)| {
            let tls = TlsSet::load(&config, &self.path.display().to_string(), at)?;
            let log = open_access_log(&config, &self.path)?;
            Ok((config, digest, tls, log))
        });
        let (config, digest, mut tls, access_log) = match loaded {
            Ok(loaded) => loaded,
            Err(errors) => {
                self.reloads_failed.fetch_add(1, Relaxed);
                warn!("reload of {} rejected, the running config stays:\n{errors}", self.path.display());
                let report = ReloadReport {
                    at,
                    errors: errors.0.iter().map(|e| e.to_string()).collect(),
                    needs_upgrade: vec![],
                };
                lock(&self.state).last_reload = Some(report.clone());
                return report;
            }
        };
        let needs_upgrade = needs_upgrade(&self.boot, &config);
        let running_tls = self.boot.listen.iter().filter(|l| l.tls.is_some()).map(|l| l.addr);
        tls.keep_running(&self.tls.load(), running_tls);
        {
            let overrides = lock(&self.overrides);
            let runtime = Runtime::build(&config, self.clock, Some(&self.runtime.load()), &overrides);
            self.runtime.store(Arc::new(runtime));
        }
        self.access_log.store(access_log.map(Arc::new));
        self.tls.store(Arc::new(tls));
        self.swaps.fetch_add(1, Release);
        self.config.store(Arc::new(config));
        self.reloads_ok.fetch_add(1, Relaxed);
        let report = ReloadReport { at, errors: vec![], needs_upgrade };
        let generation = {
            let mut state = lock(&self.state);
            state.generation += 1;
            state.digest = digest;
            state.loaded_at = at;
            state.last_reload = Some(report.clone());
            state.generation
        };
        self.changes.send_replace(generation);
        info!("reloaded {} (generation {generation}, crc32 {digest:08x})", self.path.display());
        if !report.needs_upgrade.is_empty() {
            warn!(
                "reload: {} changed; the running process keeps the old values until a graceful upgrade (tandem -u)",
                report.needs_upgrade.join(", ")
            );
        }
        report
    }

    /// Re-read the TLS listeners' certificates of the running config (a
    /// new ACME certificate) and swap them in; the running ones stay on error.
    pub fn refresh_tls(&self) -> Result<(), ConfigErrors> {
        let _one_reload_at_a_time = lock(&self.reloading);
        let config = self.config();
        let mut tls = TlsSet::load(&config, &self.path.display().to_string(), SystemTime::now())?;
        let running_tls = self.boot.listen.iter().filter(|l| l.tls.is_some()).map(|l| l.addr);
        tls.keep_running(&self.tls.load(), running_tls);
        self.tls.store(Arc::new(tls));
        self.swaps.fetch_add(1, Release);
        Ok(())
    }

    /// Apply a runtime API call to every server `server` names in group
    /// `upstream`; returns their indexes. Kept across reloads.
    pub fn change_server(&self, upstream: &str, server: &str, change: ServerChange) -> Result<Vec<usize>, ChangeError> {
        let mut overrides = lock(&self.overrides);
        let runtime = self.runtime.load();
        let up = runtime.upstream(upstream).ok_or_else(|| ChangeError::NoUpstream(upstream.to_string()))?;
        let found = up.find_servers(server);
        if found.is_empty() {
            return Err(ChangeError::NoServer { upstream: upstream.to_string(), server: server.to_string() });
        }
        for &index in &found {
            let s = &up.config.servers[index];
            overrides.set(upstream, s.addr, |o| apply(o, change, s.weight));
            let o = overrides.get(upstream, s.addr).unwrap_or(Override { admin: AdminState::Normal, weight: None });
            let id = up.peer_id(index);
            let checked = up.config.health_check.is_some();
            up.group.with(|g, now| {
                let peer = g.peer_mut(id);
                if checked && peer.admin == AdminState::Disabled && o.admin != AdminState::Disabled {
                    // Probes were paused: take traffic again only after one passes.
                    peer.active = ActiveState::Checking;
                }
                if peer.admin != AdminState::Normal && o.admin == AdminState::Normal {
                    // Back in service: a slow start, when the server has one.
                    peer.start_ramp(now);
                }
                peer.admin = o.admin;
                let weight = i64::from(o.weight.unwrap_or(s.weight));
                if g.peer(id).params.weight != weight {
                    g.set_weight(id, weight);
                }
            });
            info!("admin: upstream {upstream} server {}: {change:?}", s.name);
        }
        Ok(found)
    }
}

fn apply(o: &mut Override, change: ServerChange, config_weight: u32) {
    match change {
        ServerChange::Drain => o.admin = AdminState::Draining,
        ServerChange::Disable => o.admin = AdminState::Disabled,
        ServerChange::Enable => o.admin = AdminState::Normal,
        ServerChange::Weight(w) => o.weight = (w != config_weight).then_some(w),
    }
}

fn open_access_log(config: &Config, path: &Path) -> Result<Option<AccessLogger>, ConfigErrors> {
    let Some(log) = &config.access_log else { return Ok(None) };
    AccessLogger::open(log).map(Some).map_err(|err| {
        ConfigErrors(vec![ConfigError {
            path: "access_log.path".into(),
            line: None,
            message: format!("cannot open the access log: {err}"),
            file: path.display().to_string(),
        }])
    })
}

/// The locks here guard plain data that stays consistent if a holder panics.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
