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
    io_errors: Vec<Option<String>>,
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
        let io_errors = vec![None; opts.len()];
        Ok(Controller { config, opts, addrs, conns, planner, started: Instant::now(), io_errors })
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
        for (i, s) in seen.iter().enumerate() {
            if s.reachable && s.io_error != self.io_errors[i] {
                match &s.io_error {
                    Some(e) => {
                        log::error!("{} cannot replicate ({e}); a diverged node needs an operator", self.addrs[i])
                    }
                    None => log::info!("{} replication error cleared", self.addrs[i]),
                }
                self.io_errors[i] = s.io_error.clone();
            }
        }
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let before = self.planner.master;
        let actions = self.planner.step(&seen, &self.addrs, now_ms);
        if before != self.planner.master && actions.is_empty() {
            if let Some(m) = self.planner.master {
                log::info!("master is {}", self.addrs[m]);
            }
        }
        for action in &actions {
            if let Action::Hold { candidate, behind } = action {
                log::error!(
                    "not promoting {}: it is {behind} transactions behind the last master, which ran without a \
                     replica (async); promote by hand once the old master's data is recovered or written off",
                    self.addrs[*candidate]
                );
                continue;
            }
            if let Err(e) = self.act(action).await {
                log::error!("{action:?} failed: {e}");
                if matches!(action, Action::Promote { .. }) {
                    // Rejoining others to a node that is not writable would
                    // throw away their relay logs for nothing.
                    self.planner.forget_master();
                    break;
                }
            }
        }
        actions
    }

    async fn act(&mut self, action: &Action) -> Result<(), String> {
        let node = match action {
            Action::Promote { node } | Action::Fence { node } | Action::Rejoin { node, .. } => *node,
            Action::SemiSync { node, .. } => *node,
            Action::Hold { .. } => return Ok(()),
        };
        // Every action is bounded: a node that freezes mid-action must not
        // stop the controller. A promotion may wait for the relay log.
        let limit = match action {
            Action::Promote { .. } => act::APPLY_WAIT + self.config.timeout * 4,
            _ => self.config.timeout * 4,
        };
        let addr = self.addrs[node].clone();
        let started = Instant::now();
        let conn = match &mut self.conns[node] {
            Some(conn) => conn,
            None => return Err(format!("no connection to {addr}")),
        };
        let master_addr = match action {
            Action::Rejoin { master, .. } => {
                Some((self.opts[*master].ip_or_hostname().to_string(), self.opts[*master].tcp_port()))
            }
            _ => None,
        };
        let (user, password) = (self.config.repl_user.clone(), self.config.repl_password.clone());
        let work = async {
            match action {
                Action::Promote { .. } => act::promote(conn).await,
                Action::Fence { .. } => act::fence(conn).await,
                Action::SemiSync { on, .. } => act::semi_sync(conn, *on).await,
                Action::Rejoin { .. } | Action::Hold { .. } => match &master_addr {
                    Some((host, port)) => act::rejoin(conn, host, *port, &user, &password).await,
                    None => Ok(()),
                },
            }
        };
        let result = match timeout(limit, work).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("timed out after {limit:?}")),
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
                    Action::Hold { .. } => {}
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
