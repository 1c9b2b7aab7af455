//! tandem: a Pingora reverse proxy that keeps nginx's upstream contract.
//!
//! - [`config`]: YAML -> validated model (errors name key path and line).
//! - [`upstream`]: nginx's balancers and passive health, pure and tested.
//! - [`health`]: active health checks, off the request path.
//! - [`proxy`]: the Pingora `ProxyHttp` implementation.
//! - [`runtime`]: the live state built from a config (seam for reload/status).
//! - [`server`]: assembles the Pingora server from a config.

pub mod config;
pub mod health;
pub mod proxy;
pub mod runtime;
pub mod server;
pub mod upstream;
