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
    /// Pingora peers, by tier, in the group's order.
    primary_peers: Vec<HttpPeer>,
    backup_peers: Vec<HttpPeer>,
    /// Index into `config.servers`, by tier.
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
            primary_peers: vec![],
            backup_peers: vec![],
            primary_servers: vec![],
            backup_servers: vec![],
        };
        for (i, s) in config.servers.iter().enumerate() {
            let mut peer = HttpPeer::new(s.addr, false, String::new());
            peer.options.connection_timeout = Some(config.connect_timeout);
            peer.options.read_timeout = Some(config.read_timeout);
            peer.options.write_timeout = Some(config.send_timeout);
            peer.options.idle_timeout = Some(UPSTREAM_IDLE_TIMEOUT);
            if s.backup {
                rt.backup_peers.push(peer);
                rt.backup_servers.push(i);
            } else {
                rt.primary_peers.push(peer);
                rt.primary_servers.push(i);
            }
        }
        rt
    }

    /// The prebuilt Pingora peer for a server.
    pub fn http_peer(&self, id: PeerId) -> &HttpPeer {
        match id.tier {
            Tier::Primary => &self.primary_peers[id.index as usize],
            Tier::Backup => &self.backup_peers[id.index as usize],
        }
    }

    /// Index into `config.servers` of a server.
    pub fn server_index(&self, id: PeerId) -> usize {
        match id.tier {
            Tier::Primary => self.primary_servers[id.index as usize],
            Tier::Backup => self.backup_servers[id.index as usize],
        }
    }

    /// Every server's state, in config order. Holds the lock only to copy.
    pub fn snapshot(&self) -> Vec<ServerSnapshot> {
        let mut out: Vec<ServerSnapshot> = self.group.with(|g, now| {
            let rec = g.recovery();
            g.peers()
                .map(|(id, p)| {
                    let s = &self.config.servers[self.server_index(id)];
                    ServerSnapshot {
                        name: s.name.clone(),
                        addr: s.addr,
                        backup: s.backup,
                        peer: p.clone(),
                        usable: p.is_usable(now, rec),
                    }
                })
                .collect()
        });
        let order: Vec<usize> = self.primary_servers.iter().chain(&self.backup_servers).copied().collect();
        let mut indexed: Vec<(usize, ServerSnapshot)> = order.into_iter().zip(out.drain(..)).collect();
        indexed.sort_by_key(|(i, _)| *i);
        indexed.into_iter().map(|(_, s)| s).collect()
    }
}

impl UpstreamRuntime {
    /// The group id of `config.servers[index]`.
    pub fn peer_id(&self, index: usize) -> PeerId {
        let find = |list: &[usize]| list.iter().position(|&i| i == index).map(|p| p as u16);
        match find(&self.primary_servers) {
            Some(i) => PeerId { tier: Tier::Primary, index: i },
            None => PeerId { tier: Tier::Backup, index: find(&self.backup_servers).unwrap_or(0) },
        }
    }
}
