//! The live state built from a validated config: one [`UpstreamRuntime`] per
//! group (shared selection state, prebuilt Pingora peers) and the router.
//!
//! `Runtime::build` is a plain function of the config, so a reload can build a
//! new runtime and swap it in; readers (status page, metrics) use
//! [`UpstreamRuntime::snapshot`], which holds the group lock only to copy.

use std::sync::Arc;
use std::time::Duration;

use pingora::upstreams::peer::HttpPeer;

use crate::config::{Balance, Config, Upstream};
use crate::proxy::route::Router;
use crate::upstream::{
    ActiveState, Clock, Group, MethodKind, Peer, PeerId, PeerParams, Recovery, ServerSpec, SharedGroup, Tier,
};

/// How long an idle upstream keep-alive connection stays in the pool
/// (nginx `keepalive_timeout` in an upstream block defaults to 60s).
const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the proxy needs at request time.
pub struct Runtime {
    pub upstreams: Vec<Arc<UpstreamRuntime>>,
    pub router: Router,
}

/// One upstream group at run time.
pub struct UpstreamRuntime {
    pub config: Upstream,
    pub group: SharedGroup,
    /// Prebuilt Pingora peers, in `config.servers` order.
    http_peers: Vec<HttpPeer>,
    /// The group id of each server, in `config.servers` order.
    ids: Vec<PeerId>,
    /// Index into `config.servers`, by tier (the inverse of `ids`).
    primary_servers: Vec<usize>,
    backup_servers: Vec<usize>,
}

/// A copy of one server's state for status readers.
#[derive(Debug, Clone)]
pub struct ServerSnapshot {
    pub name: String,
    pub addr: std::net::SocketAddr,
    pub backup: bool,
    pub peer: Peer,
    /// True when the balancer would consider it now (not down, quarantined,
    /// full, or failing active checks).
    pub usable: bool,
}

impl Runtime {
    pub fn build(config: &Config) -> Runtime {
        let clock = Clock::new();
        Runtime {
            upstreams: config.upstreams.iter().map(|u| Arc::new(UpstreamRuntime::build(u, clock))).collect(),
            router: Router::new(config.routes.clone()),
        }
    }
}

impl UpstreamRuntime {
    pub fn build(config: &Upstream, clock: Clock) -> UpstreamRuntime {
        let method = match &config.balance {
            Balance::RoundRobin => MethodKind::RoundRobin,
            Balance::LeastConn => MethodKind::LeastConn,
            Balance::IpHash => MethodKind::IpHash,
            Balance::Hash { consistent: false, .. } => MethodKind::Hash,
            Balance::Hash { consistent: true, .. } => MethodKind::ConsistentHash,
        };
        let (recovery, initial) = match &config.health_check {
            None => (Recovery::ByClientProbe, ActiveState::Up),
            Some(hc) if hc.mandatory => (Recovery::ByActiveCheck, ActiveState::Checking),
            Some(_) => (Recovery::ByActiveCheck, ActiveState::Up),
        };
        let specs: Vec<ServerSpec> = config
            .servers
            .iter()
            .map(|s| ServerSpec {
                name: s.name.clone(),
                params: PeerParams {
                    weight: i64::from(s.weight),
                    max_fails: s.max_fails,
                    fail_timeout: s.fail_timeout.as_millis() as i64,
                    down: s.down,
                    max_conns: s.max_conns,
                },
                backup: s.backup,
            })
            .collect();
        let group = Group::new(method, &specs, recovery, initial);
        let mut rt = UpstreamRuntime {
            config: config.clone(),
            group: SharedGroup::new(group, clock),
            http_peers: vec![],
            ids: vec![],
            primary_servers: vec![],
            backup_servers: vec![],
        };
        for (i, s) in config.servers.iter().enumerate() {
            let mut peer = HttpPeer::new(s.addr, false, String::new());
            peer.options.connection_timeout = Some(config.connect_timeout);
            peer.options.read_timeout = Some(config.read_timeout);
            peer.options.write_timeout = Some(config.send_timeout);
            peer.options.idle_timeout = Some(UPSTREAM_IDLE_TIMEOUT);
            rt.http_peers.push(peer);
            // Group::new numbers each tier's servers in config order too.
            let (tier, list) = if s.backup {
                (Tier::Backup, &mut rt.backup_servers)
            } else {
                (Tier::Primary, &mut rt.primary_servers)
            };
            rt.ids.push(PeerId { tier, index: list.len() as u16 });
            list.push(i);
        }
        rt
    }

    /// The prebuilt Pingora peer for a server.
    pub fn http_peer(&self, id: PeerId) -> &HttpPeer {
        &self.http_peers[self.server_index(id)]
    }

    /// Index into `config.servers` of a server.
    pub fn server_index(&self, id: PeerId) -> usize {
        match id.tier {
            Tier::Primary => self.primary_servers[id.index as usize],
            Tier::Backup => self.backup_servers[id.index as usize],
        }
    }

    /// The group id of `config.servers[index]`.
    pub fn peer_id(&self, index: usize) -> PeerId {
        self.ids[index]
    }

    /// Every server's state, in config order. Holds the lock only to copy.
    pub fn snapshot(&self) -> Vec<ServerSnapshot> {
        self.group.with(|g, now| {
            let rec = g.recovery();
            self.config
                .servers
                .iter()
                .zip(&self.ids)
                .map(|(s, &id)| {
                    let p = g.peer(id);
                    ServerSnapshot {
                        name: s.name.clone(),
                        addr: s.addr,
                        backup: s.backup,
                        peer: p.clone(),
                        usable: p.is_usable(now, rec),
                    }
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::Outcome;

    fn runtime(yaml: &str) -> Runtime {
        let config = crate::config::parse_str(yaml, "test.yaml").expect("valid config");
        Runtime::build(&config)
    }

    #[test]
    fn a_snapshot_lists_servers_in_config_order_across_tiers_with_their_state() {
        let rt = runtime(
            "listen: [\"127.0.0.1:1\"]\nupstreams:\n  app:\n    servers:\n\
             \x20     - { addr: \"127.0.0.1:11\" }\n\
             \x20     - { addr: \"127.0.0.1:12\", backup: true }\n\
             \x20     - { addr: \"127.0.0.1:13\" }\n",
        );
        let up = &rt.upstreams[0];
        let mut attempt = up.group.start(0);
        let id = up.group.pick(&mut attempt, b"").expect("live");
        up.group.finish(&mut attempt, id, Outcome::Failed);
        let snap = up.snapshot();
        let names: Vec<&str> = snap.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["127.0.0.1:11", "127.0.0.1:12", "127.0.0.1:13"]);
        assert_eq!(snap.iter().map(|s| s.backup).collect::<Vec<_>>(), [false, true, false]);
        let failed = up.server_index(id);
        assert_eq!(snap[failed].peer.fails, 1);
        assert!(!snap[failed].usable, "quarantined after max_fails=1");
        assert_eq!(up.peer_id(failed), id);
        assert_eq!(up.http_peer(id)._address.to_string(), snap[failed].addr.to_string());
    }
}
