//! tandem: a Pingora reverse proxy that keeps nginx's upstream contract.
//!
//! - [`config`]: YAML -> validated model (errors name key path and line).
//! - [`upstream`]: nginx's balancers and passive health, pure and tested.
//! - [`health`]: active health checks, off the request path.
//! - [`http1`]: HTTP/1.x heads and bodies, parsed and written, without I/O.
//! - [`proxy`]: the request path (tandem's HTTP/1 proxy, a Pingora service).
//! - [`runtime`]: the state built from one config (groups, peers, counters).
//! - [`acme`]: certificates by ACME (HTTP-01), renewed and swapped in live.
//! - [`tls`]: TLS listeners' certificates (SNI, checks, reload).
//! - [`live`]: the process's current runtime, reloads and runtime API changes.
//! - [`stats`]: per-server and per-listener counters, latency histograms.
//! - [`access_log`]: one line per request, written off the request path.
//! - [`admin`]: the admin listener: status page, JSON, metrics, runtime API.
//! - [`control`]: pid file and SIGHUP.
//! - [`server`]: assembles the Pingora server from a config.

pub mod access_log;
pub mod acme;
pub mod admin;
pub mod config;
pub mod control;
pub mod health;
pub mod http1;
pub mod live;
pub mod proxy;
pub mod runtime;
pub mod server;
pub mod signal_reload;
pub mod stats;
pub mod timefmt;
pub mod tls;
pub mod upstream;
