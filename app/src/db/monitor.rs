//! Re-discovers roles: probes every node each `probe_interval`, and at once
//! (at most every 100 ms) when a request saw a role-changing error.

use super::probe::probe;
use super::schema;
use super::topology::{decide, replica_problem, NodeStatus, Roles};
use super::Db;
use mysql_async::Conn;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, timeout, Instant};

/// Shortest gap between two probes, so a burst of failing requests does not
/// turn into a probe storm.
const MIN_PROBE_GAP: Duration = Duration::from_millis(100);
/// Bound on one node's probe (connecting included), below the request
/// timeout: a round publishes roles only once every node answered or timed
/// out, and a node whose host is gone (a stopped container, a lost host)
/// black-holes the connect, so it would hold back the news of a new master
/// by the whole request timeout (2 s). A live node answers in about a
/// millisecond; one slower than this is reported unreachable for the round.
const PROBE_BOUND: Duration = Duration::from_millis(500);
/// Bound on one migration attempt (lock wait included).
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Owns one dedicated connection per node (probes never queue behind busy
/// requests). Probes all nodes concurrently.
pub struct Monitor {
    db: Arc<Db>,
    conns: Vec<Option<Conn>>,
    first_round: bool,
}

impl Monitor {
    pub fn new(db: Arc<Db>) -> Monitor {
        let conns = db.nodes().iter().map(|_| None).collect();
        Monitor { db, conns, first_round: true }
    }

    /// One probe round: statuses in, roles decided and published, schema
    /// migrated once a master is known.
    pub async fn probe_once(&mut self) {
        let db = self.db.clone();
        let limit = db.settings().timeout.min(PROBE_BOUND);
        let rounds = db.nodes().iter().zip(self.conns.iter_mut()).map(|(node, slot)| async move {
            let result = timeout(limit, async {
                if slot.is_none() {
                    *slot = Some(node.dedicated_conn().await?);
                }
                match slot.as_mut() {
                    Some(conn) => probe(conn).await,
                    None => unreachable_status(),
                }
            })
            .await;
            match result {
                Ok(Ok(status)) => status,
                Ok(Err(e)) => {
                    *slot = None;
                    NodeStatus { error: Some(e.to_string()), ..NodeStatus::default() }
                }
                Err(_) => {
                    *slot = None;
                    NodeStatus { error: Some("probe timed out".into()), ..NodeStatus::default() }
                }
            }
        });
        let statuses = futures_util::future::join_all(rounds).await;
        let max_lag = db.settings().max_replica_lag.as_secs();
        let roles = decide(statuses, max_lag);
        log_changes(&db, &db.roles(), &roles, max_lag);
        let master = roles.master;
        db.roles.store(Arc::new(roles));
        if let Some(master) = master {
            if !db.schema_ready() && !db.migrating.swap(true, Ordering::AcqRel) {
                let task = migrate(db.clone(), master);
                if self.first_round {
                    // At start the app waits for it, so the first request finds the tables.
                    task.await;
                } else {
                    tokio::spawn(task);
                }
            }
        }
        self.first_round = false;
    }

    /// Probes forever: every `probe_interval`, or sooner when asked.
    pub async fn run(mut self) {
        let interval = self.db.settings().probe_interval;
        loop {
            let started = Instant::now();
            self.probe_once().await;
            tokio::select! {
                _ = sleep(interval) => {}
                _ = self.db.probe_now.notified() => {
                    let next = started + MIN_PROBE_GAP;
                    tokio::time::sleep_until(next).await;
                }
            }
        }
    }
}

/// Creates or migrates the schema on `master`, on a connection of its own
/// (never a pooled one: a migration cut short must close its session, which
/// releases the schema lock). Runs beside the probes, so a frozen master
/// cannot stall role discovery.
async fn migrate(db: Arc<Db>, master: usize) {
    let node = &db.nodes()[master];
    let result = timeout(MIGRATION_TIMEOUT, async {
        let mut conn = node.dedicated_conn().await?;
        let result = schema::migrate(&mut conn).await;
        let _ = conn.disconnect().await;
        result
    })
    .await;
    match result {
        Ok(Ok(())) => {
            log::info!("schema ready on {}", node.name);
            db.schema_ready.store(true, Ordering::Release);
        }
        Ok(Err(e)) => log::warn!("schema migration on {} failed, will retry: {e}", node.name),
        Err(_) => log::warn!("schema migration on {} timed out, will retry", node.name),
    }
    db.migrating.store(false, Ordering::Release);
}

fn unreachable_status() -> Result<NodeStatus, mysql_async::Error> {
    Ok(NodeStatus { error: Some("no connection".into()), ..NodeStatus::default() })
}

/// Logs only transitions, so a steady state stays quiet.
fn log_changes(db: &Db, old: &Roles, new: &Roles, max_lag: u64) {
    if old.master != new.master || (old.statuses.is_empty() && new.master.is_none()) {
        match new.master {
            Some(m) => log::info!("database master is {}", db.node_name(m)),
            None => log::warn!("no writable database master: writes answer 503 until one appears"),
        }
    }
    if new.split_brain && !old.split_brain {
        log::error!("more than one writable database node: writes answer 503 until the controller fences one");
    }
    for (i, status) in new.statuses.iter().enumerate() {
        let before = old.statuses.get(i);
        let was_reachable = before.is_none_or(|s| s.reachable);
        if was_reachable && !status.reachable {
            log::warn!("database node {} unreachable: {}", db.node_name(i), status.error.as_deref().unwrap_or("?"));
        } else if !was_reachable && status.reachable {
            log::info!("database node {} reachable again", db.node_name(i));
        }
        if Some(i) != new.master && status.reachable {
            let problem = replica_problem(status, max_lag);
            let old_problem = before.filter(|s| s.reachable).and_then(|s| replica_problem(s, max_lag));
            if problem != old_problem {
                match problem {
                    None => log::info!("replica {} serves reads", db.node_name(i)),
                    Some(p) => log::warn!("replica {} serves no reads: {p:?}", db.node_name(i)),
                }
            }
        }
    }
}
