//! Active health checks, run in a background service off the request path.
//!
//! How active and passive health combine (documented in lb/examples/lb.yaml):
//! - A server failing its active checks (`fall` in a row) takes no traffic,
//!   whatever its passive state; it returns after `rise` passes in a row.
//! - In a group with active checks, a passive quarantine (max_fails within
//!   fail_timeout) does not end with a live client request as the probe:
//!   it ends with the first active pass after `fail_timeout`. Clients never
//!   pay for probing a broken server.
//! - `mandatory: true` starts every server as "checking" (no traffic) until
//!   its first probe passes; otherwise servers start healthy, as in nginx.

mod checker;
mod counter;
mod probe;

pub use checker::HealthChecker;
pub use counter::Counter;
pub use probe::{parse_status, probe};
