//! The request path: tandem's own HTTP/1.1 proxy on tokio, run as a
//! Pingora service so that Pingora's server still handles signals, the
//! graceful upgrade (listening sockets handed to the new process) and the
//! shutdown grace.
//!
//! Why not Pingora's `ProxyHttp`: measured against nginx on the same
//! machine, Pingora's generic proxy path cost about 2.6x nginx's CPU per
//! request and 64 KiB per idle connection (loadtest/README.md); this path
//! is built for the common case and keeps every rule tandem had.
//!
//! - [`service`]: the Pingora service; [`listener`]: sockets, bound or inherited.
//! - [`worker`]: one thread and single-threaded runtime per worker, each
//!   with its accept loops, upstream pool and buffers (nothing shared on
//!   the request path but the group state and relaxed counters).
//! - [`conn`]: one client connection, keep-alive and pipelining;
//!   [`exchange`]: one request and its tries; [`relay`], [`tunnel`]: bodies
//!   and upgrades; [`respond`]: tandem's own answers and the record of
//!   each request.
//! - Decisions as pure code: [`retry`] (nginx's `proxy_next_upstream`),
//!   [`errors`], [`route`], [`key`] (what the hash balancers hash).
//!
//! Per request: one atomic load to see whether a reload swapped the
//! runtime, the group lock twice per try (pick, report), relaxed counters,
//! no allocation (buffers and parsed heads come from per-thread free
//! lists), no logging but on failures and state changes.

pub mod buffers;
pub mod conn;
pub mod errors;
pub mod exchange;
pub mod h2;
pub mod io;
pub mod key;
pub mod listener;
pub mod relay;
pub mod request_id;
pub mod respond;
pub mod retry;
pub mod route;
pub mod scratch;
pub mod service;
pub mod stream;
pub mod tries;
pub mod tunnel;
pub mod upstream;
pub mod upstream_stream;
pub mod worker;

pub use service::ProxyService;
