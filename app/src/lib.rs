//! tandem's app tier: a JSON API over a MariaDB/MySQL master with replicas
//! (writes to the master, reads to a fit replica, read-your-writes on request)
//! and a Redis cache found through Sentinel. `tandem-dbctl` promotes a replica
//! when the master dies.

pub mod cache;
pub mod config;
#[macro_use]
pub mod db;
pub mod dbctl;
pub mod http;
pub mod model;
pub mod state;

pub use http::router;
pub use state::{AppState, SharedState};
