//! Upstream groups: nginx's selection and passive health, plus active checks.
//!
//! `peer`, `balance`, `ketama`, `attempt` and `group` are pure (time passed
//! in). [`SharedGroup`] is the one piece with a lock: each group's state sits
//! behind its own mutex, shared by every proxy thread (nginx with a `zone`),
//! held only for a pick or a report (a few hundred nanoseconds), never across
//! I/O. There is no global lock: groups never share one.

pub mod attempt;
pub mod balance;
pub mod group;
pub mod ketama;
pub mod peer;
mod shared;

#[cfg(test)]
mod group_props;
#[cfg(test)]
mod group_tests;

pub use attempt::{Attempt, Outcome, PeerId, Tier};
pub use balance::TwoBy;
pub use group::{Group, MethodKind, ServerSpec};
pub use peer::{ActiveState, AdminState, Millis, Peer, PeerParams, Recovery};
pub use shared::{Clock, SharedGroup};
