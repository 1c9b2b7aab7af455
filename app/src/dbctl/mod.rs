//! `tandem-dbctl`: the promotion controller for a MariaDB master and its
//! replicas (MariaDB only: the failover SQL is MariaDB's).
//!
//! Every node boots read-only (fencing); the controller decides who writes:
//! - it watches every node each `interval` (default 100 ms) over a dedicated
//!   admin connection;
//! - when the master is unreachable or read-only for `misses` rounds in a row
//!   (default 3, so ~0.3 s), it promotes the most advanced reachable node: stop
//!   its IO thread, wait until the relay log is applied, `RESET SLAVE ALL`,
//!   `read_only=0`;
//! - any other reachable node that does not replicate from the master (a
//!   returning old master, a replica of the dead one) is pointed at it with
//!   `CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos`;
//! - a second writable node (a paused old master that woke up) is fenced with
//!   `read_only=1` at once, then rejoined;
//! - semi-sync (`AFTER_SYNC`) is on at the master while a replica is attached,
//!   so every acknowledged write is on two nodes; with no replica left it is
//!   turned off rather than stalling each write for its timeout.
//!
//! The decisions are pure ([`plan`]); the SQL is in [`act`].

pub mod act;
pub mod config;
pub mod observe;
pub mod plan;
pub mod watch;
