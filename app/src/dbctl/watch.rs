//! The controller loop: observe every node, plan, act, log what changed.

use super::act;
use super::config::DbctlConfig;
use super::observe::observe;
use super::plan::{Action, Observed, Planner};
use mysql_async::{Conn, Opts, OptsBuilder};
use std::time::Instant;
use tokio::time::{sleep_until, timeout};

pub struct Controller {
    config: DbctlConfig,
    opts: Vec<Opts>,
    addrs: Vec<String>,
    conns: Vec<Option<Conn>>,
    planner: Planner,
    started: Instant,
}

impl Controller {
    pub fn new(config: DbctlConfig) -> Result<Controller, String> {
        let mut opts = Vec::new();
        for url in &config.nodes {
            let parsed = Opts::from_url(url).map_err(|e| format!("bad node URL {}: {e}", crate::db::redact(url)))?;
            opts.push(Opts::from(OptsBuilder::from_opts(parsed).prefer_socket(false)));
        }
        let addrs = opts.iter().map(|o| format!("{}:{}", o.ip_or_hostname(), o.tcp_port())).collect();
        let planner = Planner::new(opts.len(), config.misses, config.semi_sync);
        let conns = opts.iter().map(|_| None).collect();
        Ok(Controller { config, opts, addrs, conns, planner, started: Instant::now() })
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Observes every node concurrently, each bounded by the probe timeout.
    pub async fn observe_all(&mut self) -> Vec<Observed> {
        let limit = self.config.timeout;
        let rounds = self.opts.iter().zip(self.conns.iter_mut()).map(|(opts, slot)| async move {
            let result = timeout(limit, async {
                if slot.is_none() {
                    *slot = Some(Conn::new(opts.clone()).await?);
                }
                match slot.as_mut() {
                    Some(conn) => observe(conn).await,
                    None => Ok(Observed::default()),
                }
            })
            .await;
            match result {
                Ok(Ok(seen)) => seen,
                _ => {
                    *slot = None;
                    Observed::default()
                }
            }
        });
        futures_util::future::join_all(rounds).await
    }

    /// One round; returns the actions it took.
    pub async fn round(&mut self) -> Vec<Action> {
        let seen = self.observe_all().await;
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let before = self.planner.master;
        let actions = self.planner.step(&seen, &self.addrs, now_ms);
        if before != self.planner.master && actions.is_empty() {
            if let Some(m) = self.planner.master {
                log::info!("master is {}", self.addrs[m]);
            }
        }
        for action in &actions {
            if let Err(e) = self.act(action).await {
                log::error!("{action:?} failed: {e}");
                if matches!(action, Action::Promote { .. }) {
                    self.planner.forget_master();
                }
            }
        }
        actions
    }

    async fn act(&mut self, action: &Action) -> Result<(), String> {
        let node = match action {
            Action::Promote { node } | Action::Fence { node } | Action::Rejoin { node, .. } => *node,
            Action::SemiSync { node, .. } => *node,
        };
        let addr = self.addrs[node].clone();
        let started = Instant::now();
        let conn = match &mut self.conns[node] {
            Some(conn) => conn,
            None => return Err(format!("no connection to {addr}")),
        };
        let result = match action {
            Action::Promote { .. } => act::promote(conn).await,
            Action::Fence { .. } => act::fence(conn).await,
            Action::SemiSync { on, .. } => act::semi_sync(conn, *on).await,
            Action::Rejoin { master, .. } => {
                let (host, port) = (self.opts[*master].ip_or_hostname().to_string(), self.opts[*master].tcp_port());
                act::rejoin(conn, &host, port, &self.config.repl_user, &self.config.repl_password).await
            }
        };
        match result {
            Ok(()) => {
                let took = started.elapsed().as_millis();
                match action {
                    Action::Promote { .. } => log::warn!("promoted {addr} to master in {took} ms"),
                    Action::Fence { .. } => log::warn!("fenced {addr}: a second writable node is now read-only"),
                    Action::Rejoin { master, .. } => log::info!("{addr} now replicates from {}", self.addrs[*master]),
                    Action::SemiSync { on, .. } => {
                        log::info!("semi-sync on master {addr}: {}", if *on { "on" } else { "off" })
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.conns[node] = None;
                Err(format!("{addr}: {e}"))
            }
        }
    }

    /// Runs rounds forever, one every `interval`.
    pub async fn run(mut self) {
        log::info!(
            "watching {} every {:?}; promoting after {} missed rounds",
            self.addrs.join(", "),
            self.config.interval,
            self.config.misses
        );
        loop {
            let next = tokio::time::Instant::now() + self.config.interval;
            self.round().await;
            sleep_until(next).await;
        }
    }
}
