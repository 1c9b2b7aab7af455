//! What operators changed through the runtime API: drain, disable, weight.
//! Kept apart from the config so that a reload re-applies them to the new
//! runtime (keyed by group name and server address).

use std::net::SocketAddr;

use crate::upstream::AdminState;

/// One server's runtime changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Override {
    pub admin: AdminState,
    /// Replaces the config's weight while set.
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    entries: Vec<(String, SocketAddr, Override)>,
}

impl Overrides {
    pub fn get(&self, upstream: &str, addr: SocketAddr) -> Option<Override> {
        self.entries.iter().find(|(u, a, _)| u == upstream && *a == addr).map(|(_, _, o)| *o)
    }

    /// Record a change; an override back to the config's own values is dropped.
    pub fn set(&mut self, upstream: &str, addr: SocketAddr, change: impl FnOnce(&mut Override)) {
        let mut current = self.get(upstream, addr).unwrap_or(Override { admin: AdminState::Normal, weight: None });
        change(&mut current);
        self.entries.retain(|(u, a, _)| !(u == upstream && *a == addr));
        if current.admin != AdminState::Normal || current.weight.is_some() {
            self.entries.push((upstream.to_string(), addr, current));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn changes_accumulate_per_server_and_a_return_to_normal_forgets_it() {
        let mut o = Overrides::default();
        o.set("app", addr("127.0.0.1:1"), |o| o.admin = AdminState::Draining);
        o.set("app", addr("127.0.0.1:1"), |o| o.weight = Some(7));
        assert_eq!(o.get("app", addr("127.0.0.1:1")), Some(Override { admin: AdminState::Draining, weight: Some(7) }));
        assert_eq!(o.get("api", addr("127.0.0.1:1")), None, "other group");
        o.set("app", addr("127.0.0.1:1"), |o| *o = Override { admin: AdminState::Normal, weight: None });
        assert!(o.is_empty());
    }
}
