//! The database tier as the request path sees it: writes go to the master,
//! reads to a fit replica (or the master), with read-your-writes on request.
//!
//! Roles live in an [`ArcSwap`]: a request reads them without a lock; the
//! monitor ([`monitor`]) replaces them after every probe. A request that meets
//! a role-changing error asks the monitor to probe at once.
//!
//! Queries are passed as closures that take a pooled connection by value and
//! give it back with their result (see `on_conn!`): no borrowed connection
//! crosses an `await` inside a higher-ranked closure, which keeps the handlers
//! `Send`.

/// Wraps a query on `conn` into the closure [`Db::read`] and [`Db::write`]
/// take: `on_conn!(|conn| property_sql::get(&mut conn, id))`.
macro_rules! on_conn {
    (|$conn:ident| $body:expr) => {
        move |mut $conn: mysql_async::Conn| async move {
            let result = $body.await;
            ($conn, result)
        }
    };
}

mod error;
mod flavor;
pub mod gtid;
pub mod monitor;
mod node;
pub mod probe;
pub mod property_sql;
pub mod schema;
pub mod topology;
pub mod user_sql;

pub use error::DbError;
pub use gtid::Gtid;
pub use node::{redact, Node};

use arc_swap::ArcSwap;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::timeout;
use topology::{Flavor, Roles};

/// The knobs the request path needs (from `AppConfig`).
#[derive(Debug, Clone, Copy)]
pub struct DbSettings {
    pub timeout: Duration,
    pub gtid_wait: Duration,
    pub max_replica_lag: Duration,
    pub probe_interval: Duration,
}

pub struct Db {
    nodes: Vec<Node>,
    roles: ArcSwap<Roles>,
    turn: AtomicUsize,
    probe_now: Notify,
    schema_ready: AtomicBool,
    migrating: AtomicBool,
    settings: DbSettings,
}

/// A successful write: its value, the node and a GTID that covers it.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub node: usize,
    pub gtid: Option<Gtid>,
}

/// A successful read and the node that answered.
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub node: usize,
}

enum Attempt<T> {
    Done(T),
    NotCaughtUp,
    Failed(DbError),
}

impl Db {
    pub fn new(urls: &[String], pool_max: usize, settings: DbSettings) -> Result<Db, String> {
        let nodes = urls.iter().map(|url| Node::new(url, pool_max)).collect::<Result<Vec<_>, _>>()?;
        Ok(Db {
            nodes,
            roles: ArcSwap::from_pointee(Roles::default()),
            turn: AtomicUsize::new(0),
            probe_now: Notify::new(),
            schema_ready: AtomicBool::new(false),
            migrating: AtomicBool::new(false),
            settings,
        })
    }

    pub fn node_name(&self, index: usize) -> &str {
        &self.nodes[index].name
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn roles(&self) -> Arc<Roles> {
        self.roles.load_full()
    }

    pub fn settings(&self) -> DbSettings {
        self.settings
    }

    pub fn schema_ready(&self) -> bool {
        self.schema_ready.load(Ordering::Acquire)
    }

    /// The server family of the cluster: the master's, else any reachable node's.
    pub fn flavor(&self) -> Flavor {
        let roles = self.roles.load();
        let index = roles.master.or_else(|| roles.statuses.iter().position(|s| s.reachable));
        index.map(|i| roles.statuses[i].flavor).unwrap_or_default()
    }

    /// Asks the monitor to re-discover roles now (it spaces probes itself).
    pub fn probe_soon(&self) {
        self.probe_now.notify_one();
    }

    /// Runs `op` on the master, then reads a GTID covering it on the same
    /// connection. Never retried: a write must not run twice. With no master
    /// it fails at once with [`DbError::NoMaster`].
    pub async fn write<T, F>(&self, op: impl FnOnce(Conn) -> F) -> Result<Written<T>, DbError>
    where
        F: Future<Output = (Conn, Result<T, mysql_async::Error>)>,
    {
        let roles = self.roles.load();
        let Some(master) = roles.master else {
            self.probe_soon();
            return Err(DbError::NoMaster);
        };
        let flavor = roles.statuses[master].flavor;
        let node = &self.nodes[master];
        let work = async {
            let (conn, value) = op(node.conn().await?).await;
            Ok::<_, mysql_async::Error>((conn, value?))
        };
        let (mut conn, value) = match timeout(self.settings.timeout, work).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(self.failed(master, &e)),
            Err(_) => {
                self.probe_soon();
                return Err(DbError::timed_out(&node.name));
            }
        };
        // The write is committed: from here on nothing may turn it into an
        // error, or a client would retry a write that happened. The GTID is
        // best effort (without it, read-your-writes falls back to plain reads).
        let gtid = match timeout(self.settings.timeout, conn.query_first::<String, _>(flavor.last_gtid_sql())).await {
            Ok(Ok(gtid)) => gtid.as_deref().and_then(|g| Gtid::parse(g).ok()),
            Ok(Err(e)) => {
                log::warn!("write committed on {} but its GTID could not be read: {e}", node.name);
                None
            }
            Err(_) => {
                log::warn!("write committed on {} but reading its GTID timed out", node.name);
                None
            }
        };
        Ok(Written { value, node: master, gtid })
    }

    /// Runs `op` where the read plan says. With `after`, a replica first waits
    /// (up to `gtid_wait`) until it has applied that GTID; if it cannot, the
    /// read goes to the next node in the plan (the master when there is one).
    /// A node that fails is charged once and the next one is tried.
    pub async fn read<T, F>(&self, after: Option<&Gtid>, op: impl Fn(Conn) -> F) -> Result<Read<T>, DbError>
    where
        F: Future<Output = (Conn, Result<T, mysql_async::Error>)>,
    {
        let roles = self.roles.load();
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let Some(plan) = roles.read_plan(turn) else {
            self.probe_soon();
            return Err(DbError::NoReader);
        };
        let first_wait = if plan.first_is_replica { after } else { None };
        let first_error = match self.read_on(plan.first, first_wait, &roles, &op).await {
            Attempt::Done(value) => return Ok(Read { value, node: plan.first }),
            Attempt::NotCaughtUp => DbError::NoReader,
            Attempt::Failed(e) => e,
        };
        let Some(second) = plan.second else {
            return Err(first_error);
        };
        let second_wait = if Some(second) == roles.master { None } else { after };
        match self.read_on(second, second_wait, &roles, &op).await {
            Attempt::Done(value) => Ok(Read { value, node: second }),
            Attempt::NotCaughtUp => Err(DbError::NoReader),
            Attempt::Failed(e) => Err(e),
        }
    }

    async fn read_on<T, F>(
        &self,
        index: usize,
        after: Option<&Gtid>,
        roles: &Roles,
        op: &impl Fn(Conn) -> F,
    ) -> Attempt<T>
    where
        F: Future<Output = (Conn, Result<T, mysql_async::Error>)>,
    {
        let node = &self.nodes[index];
        let flavor = roles.statuses.get(index).map(|s| s.flavor).unwrap_or_default();
        let wait = self.settings.gtid_wait;
        let work = async {
            let mut conn = node.conn().await?;
            if let Some(gtid) = after {
                if !caught_up(&mut conn, flavor, gtid, wait).await? {
                    return Ok(None);
                }
            }
            op(conn).await.1.map(Some)
        };
        let limit = self.settings.timeout + if after.is_some() { wait } else { Duration::ZERO };
        match timeout(limit, work).await {
            Ok(Ok(Some(value))) => Attempt::Done(value),
            Ok(Ok(None)) => Attempt::NotCaughtUp,
            Ok(Err(e)) => Attempt::Failed(self.failed(index, &e)),
            Err(_) => {
                self.probe_soon();
                Attempt::Failed(DbError::timed_out(&node.name))
            }
        }
    }

    fn failed(&self, index: usize, error: &mysql_async::Error) -> DbError {
        let (sorted, stale_role) = DbError::from_driver(&self.nodes[index].name, error);
        if stale_role {
            self.probe_soon();
        }
        sorted
    }
}

/// Waits on `conn` until `gtid` is applied, for at most `wait`.
async fn caught_up(conn: &mut Conn, flavor: Flavor, gtid: &Gtid, wait: Duration) -> Result<bool, mysql_async::Error> {
    let answer: Option<i64> = conn.exec_first(flavor.gtid_wait_sql(), (gtid.to_string(), wait.as_secs_f64())).await?;
    Ok(answer == Some(0))
}
