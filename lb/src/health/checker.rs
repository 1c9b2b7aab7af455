//! The background service that probes every server of every group with
//! `health_check` and feeds the results to the group's state. It follows
//! reloads: each new runtime gets fresh probing loops (its servers already
//! carry the verdicts of the old one), and disabled servers are not probed.

use std::sync::Arc;

use async_trait::async_trait;
use log::{info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::task::JoinSet;

use super::counter::Counter;
use super::probe::probe;
use crate::live::Live;
use crate::runtime::UpstreamRuntime;
use crate::upstream::{ActiveState, AdminState};

/// Runs one probing loop per group that has active checks.
pub struct HealthChecker {
    live: Arc<Live>,
}

impl HealthChecker {
    pub fn new(live: Arc<Live>) -> HealthChecker {
        HealthChecker { live }
    }
}

#[async_trait]
impl BackgroundService for HealthChecker {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut changes = self.live.subscribe();
        loop {
            let runtime = self.live.runtime().clone();
            let tls = self.live.tls_arc();
            let mut loops = JoinSet::new();
            for up in &runtime.upstreams {
                if up.config.health_check.is_some() {
                    let connector = up.config.tls.as_ref().and_then(|_| tls.upstream(&up.config.name)).cloned();
                    loops.spawn(check_group(up.clone(), connector));
                }
            }
            let stop = tokio::select! {
                _ = shutdown.changed() => true,
                changed = changes.changed() => changed.is_err(),
            };
            loops.abort_all();
            if stop {
                return;
            }
        }
    }
}

/// Probe every server of `up` each interval (the first round at once), all
/// servers in parallel, until aborted.
/// `tls`: the group's connector when it has `tls` (probes go over TLS too).
async fn check_group(up: Arc<UpstreamRuntime>, tls: Option<tokio_rustls::TlsConnector>) {
    let Some(check) = up.config.health_check.clone() else { return };
    let check = Arc::new(check);
    let mut counters = vec![Counter::default(); up.config.servers.len()];
    let mut ticker = tokio::time::interval(check.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut probes = JoinSet::new();
        for (index, server) in up.config.servers.iter().enumerate() {
            let id = up.peer_id(index);
            if server.down || up.group.with(|g, _| g.peer(id).admin == AdminState::Disabled) {
                continue;
            }
            let host = check.host.clone().unwrap_or_else(|| server.name.clone());
            let (addr, check) = (server.addr, check.clone());
            let sni = up.config.tls.as_ref().and_then(|t| t.sni.as_deref());
            let probe_tls = tls.clone().and_then(|c| Some((c, crate::tls::upstream::server_name(sni, &server.name)?)));
            probes.spawn(async move { (index, probe(addr, &host, &check, probe_tls).await) });
        }
        while let Some(done) = probes.join_next().await {
            let Ok((index, result)) = done else { continue };
            apply(&up, &mut counters[index], index, result, check.rise, check.fall);
        }
    }
}

/// Feed one probe result to the group; log only changes.
fn apply(up: &UpstreamRuntime, counter: &mut Counter, index: usize, result: Result<(), String>, rise: u32, fall: u32) {
    let id = up.peer_id(index);
    let name = &up.config.servers[index].name;
    let group = &up.config.name;
    up.group.with(|g, now| {
        let peer = g.peer_mut(id);
        if let Some(state) = counter.record(peer.active, result.is_ok(), rise, fall) {
            peer.set_active(state, now);
            match (&result, state) {
                (Err(why), ActiveState::Down) => {
                    warn!("upstream {group} server {name}: health check failed ({why}), server is down")
                }
                (_, ActiveState::Up) => info!("upstream {group} server {name}: health check passed, server is up"),
                _ => {}
            }
        }
        if result.is_ok() && peer.on_active_pass(now) {
            info!("upstream {group} server {name}: health check passed after fail_timeout, passive quarantine ended");
        }
    });
}
