//! tandem's data tier, started from Debian packages for development and
//! integration tests: a MariaDB master with replicas (GTID, semi-sync
//! AFTER_SYNC, every node booting read-only), a Redis master and replica, and
//! three Sentinels (quorum 2) watching it as `mymaster`. Everything listens on
//! one address only, 127.0.0.1 unless [`DataTierOptions::host`] names another
//! (e.g. a network namespace's), and uses LOCAL-DEMO credentials ([`credentials`]).
//!
//! ```no_run
//! use tandem_services::{DataTier, DataTierOptions};
//!
//! let mut tier = DataTier::start(DataTierOptions::default())?; // free ports, temp dir
//! tier.mariadb[0].sql("CREATE TABLE appdb.t (id INT PRIMARY KEY)")?;
//! for (key, value) in tier.env() {
//!     println!("{key}={value}"); // TANDEM_APP_DB_NODES=mysql://app:app@127.0.0.1:P/appdb?... etc.
//! }
//! tier.redis[0].kill(); // a drill: the Sentinels promote redis[1] within ~2.5 s
//! # Ok::<(), tandem_services::Error>(())
//! ```
//!
//! Dropping the [`DataTier`] SIGKILLs its servers and removes its directory.
//! For a long-lived development tier, the `tandem-services` binary (`make
//! services`) starts one on fixed ports ([`FixedPorts::DEFAULT`]) and leaves it
//! running; `tandem-services start NAME` restarts one of its servers after a
//! kill, `status --porcelain` reports them for scripts, and `make services-down`
//! stops it.
//!
//! Packages: `mariadb-server mariadb-client redis-server redis-sentinel`
//! (`make deps`). Nothing here needs systemd or starts the packaged services.

pub mod commands;
pub mod credentials;
mod error;
pub mod mariadb;
mod ports;
mod process;
pub mod redis;
pub mod sentinel;
pub mod state;
mod tier;

pub use error::{Error, Result};
pub use mariadb::MariaDb;
pub use ports::{FixedPorts, Ports, LOOPBACK};
pub use redis::Redis;
pub use sentinel::Sentinel;
pub use tier::{admin_db_urls, app_db_urls, env_vars, sentinel_addrs, tier_env, DataTier, DataTierOptions};
