//! The live state built from a config: one [`UpstreamRuntime`] per
//! group (shared selection state, prebuilt Pingora peers, counters) and the
//! router.
//!
//! [`Runtime::build`] is a plain function of the config and, on a reload, of
//! the previous runtime: servers whose group and address did not change keep
//! their passive-health state and their counters, and the operators'
//! [`Overrides`] are applied again. Readers (status page, metrics) use
//! [`UpstreamRuntime::snapshot`], which holds the group lock only to copy.

mod overrides;

pub use overrides::{Override, Overrides};

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};

use crate::config::{Balance, ClientLimits, Config, RandomTwo, Upstream};
use crate::proxy::route::Router;
use crate::stats::{NoLive, ServerStats};
use crate::upstream::{
    ActiveState, Clock, Group, MethodKind, Peer, PeerId, PeerParams, Recovery, ServerSpec, SharedGroup, Tier, TwoBy,
};

/// Everything the proxy needs at request time.
pub struct Runtime {
    pub upstreams: Vec<Arc<UpstreamRuntime>>,
    pub router: Router,
    /// `response_headers`, parsed once: the request path clones them.
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// The client side's limits and timeouts (applied on reload).
    pub client: ClientLimits,
    /// Where `https_redirect` routes send plain-HTTP requests: the port of
    /// the first TLS listener (none when there is no TLS listener).
    pub https_port: Option<u16>,
    /// `acme.state_dir` when ACME is configured: the plain listeners answer
    /// HTTP-01 challenges (from memory, else from its `challenges/`).
    pub acme_dir: Option<std::path::PathBuf>,
}

/// One upstream group at run time.
pub struct UpstreamRuntime {
    pub config: Upstream,
    pub group: SharedGroup,
    /// Requests refused for want of a usable server; kept across reloads.
    pub no_live: Arc<NoLive>,
    /// The group id of each server, in `config.servers` order.
    ids: Vec<PeerId>,
    /// Index into `config.servers`, by tier (the inverse of `ids`).
    primary_servers: Vec<usize>,
    backup_servers: Vec<usize>,
    /// Counters, in `config.servers` order; shared with the runtimes before
    /// and after this one for the same server.
    pub stats: Vec<Arc<ServerStats>>,
    /// Which upstream connections of the worker pools this group may reuse:
    /// 0 for plain ones, else a digest of the group's name and TLS settings,
    /// so a connection made with one group's SNI and verification is never
    /// handed to another group that lists the same address.
    pub pool_tag: u32,
}

/// A copy of one server's state for status readers.
#[derive(Debug, Clone)]
pub struct ServerSnapshot {
    pub name: String,
    pub addr: std::net::SocketAddr,
    pub backup: bool,
    pub peer: Peer,
    /// True when the balancer would consider it now (not down, quarantined,
    /// full, drained, or failing active checks).
    pub usable: bool,
    /// Milliseconds until a passive quarantine ends by itself (client-probe
    /// recovery), `None` when not quarantined or when an active check must end it.
    pub quarantine_left_ms: Option<i64>,
    /// During a slow start, the share of its weight the server has now
    /// (thousandths).
    pub ramp_permille: Option<i64>,
    /// `least_time`'s decayed average response time now, microseconds.
    pub avg_time_us: Option<i64>,
    pub stats: Arc<ServerStats>,
}

impl Runtime {
    /// Build the runtime for `config`. `previous` (on a reload) hands over the
    /// state of servers that kept their group and address; `overrides` are
    /// the runtime API's changes. All runtimes of a process share `clock`.
    pub fn build(config: &Config, clock: Clock, previous: Option<&Runtime>, overrides: &Overrides) -> Runtime {
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| {
                let old = previous.and_then(|p| p.upstreams.iter().find(|o| o.config.name == u.name));
                Arc::new(UpstreamRuntime::build(u, clock, old.map(|o| &**o), overrides))
            })
            .collect();
        let response_headers = config
            .response_headers
            .iter()
            .filter_map(|(name, value)| {
                // Checked by the config loader; a failure here would be a bug there.
                Some((HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?))
            })
            .collect();
        let https_port = config.listen.iter().find(|l| l.tls.is_some()).map(|l| l.addr.port());
        Runtime {
            upstreams,
            router: Router::new(config.routes.clone()),
            response_headers,
            client: config.client,
            https_port,
            acme_dir: config.acme.as_ref().map(|a| a.state_dir.clone()),
        }
    }

    /// True when at least one server of some group can take a request now.
    pub fn any_usable(&self) -> bool {
        self.upstreams.iter().any(|u| u.usable_count() > 0)
    }

    pub fn upstream(&self, name: &str) -> Option<&Arc<UpstreamRuntime>> {
        self.upstreams.iter().find(|u| u.config.name == name)
    }
}

impl UpstreamRuntime {
    pub fn build(
        config: &Upstream,
        clock: Clock,
        previous: Option<&UpstreamRuntime>,
        overrides: &Overrides,
    ) -> UpstreamRuntime {
        let method = match &config.balance {
            Balance::RoundRobin => MethodKind::RoundRobin,
            Balance::LeastConn => MethodKind::LeastConn,
            Balance::IpHash => MethodKind::IpHash,
            Balance::Hash { consistent: false, .. } => MethodKind::Hash,
            Balance::Hash { consistent: true, .. } => MethodKind::ConsistentHash,
            Balance::LeastTime(_) => MethodKind::LeastTime,
            Balance::Random(two) => MethodKind::Random(two.map(|t| match t {
                RandomTwo::LeastConn => TwoBy::LeastConn,
                RandomTwo::LeastTime(_) => TwoBy::LeastTime,
            })),
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
                    weight: i64::from(overrides.get(&config.name, s.addr).and_then(|o| o.weight).unwrap_or(s.weight)),
                    max_fails: s.max_fails,
                    fail_timeout: s.fail_timeout.as_millis() as i64,
                    down: s.down,
                    max_conns: s.max_conns,
                    slow_start: s.slow_start.as_millis() as i64,
                },
                backup: s.backup,
            })
            .collect();
        let mut group = Group::new(method, &specs, recovery, initial);
        group.seed(seed_for(&config.name));
        let mut rt = UpstreamRuntime {
            config: config.clone(),
            group: SharedGroup::new(group, clock),
            no_live: previous.map(|p| p.no_live.clone()).unwrap_or_default(),
            ids: vec![],
            primary_servers: vec![],
            backup_servers: vec![],
            stats: vec![],
            pool_tag: config.tls.as_ref().map_or(0, |t| {
                let key = format!("{}|{:?}|{}|{:?}", config.name, t.sni, t.verify, t.ca);
                crc32fast::hash(key.as_bytes()).max(1)
            }),
        };
        for (i, s) in config.servers.iter().enumerate() {
            // Group::new numbers each tier's servers in config order too.
            let (tier, list) = if s.backup {
                (Tier::Backup, &mut rt.backup_servers)
            } else {
                (Tier::Primary, &mut rt.primary_servers)
            };
            rt.ids.push(PeerId { tier, index: list.len() as u16 });
            list.push(i);
        }
        rt.stats = (0..config.servers.len()).map(|_| Arc::new(ServerStats::default())).collect();
        if let Some(old) = previous {
            rt.inherit(old);
        }
        rt.apply_admin_overrides(overrides);
        rt
    }

    /// Take over counters and passive health from the previous runtime's
    /// group for every server whose address is still there (the n-th server
    /// with an address matches the n-th old one with it).
    fn inherit(&mut self, old: &UpstreamRuntime) {
        let keep_active = self.config.health_check.is_some() && old.config.health_check.is_some();
        let old_peers: Vec<Peer> = old.group.with(|g, _| old.ids.iter().map(|&id| g.peer(id).clone()).collect());
        let pairs = match_servers(&old.config.servers.iter().map(|s| s.addr).collect::<Vec<_>>(), &self.addrs());
        self.group.with(|g, now| {
            let mut joined = vec![true; self.ids.len()];
            for &(old_index, new_index) in &pairs {
                g.peer_mut(self.ids[new_index]).inherit(&old_peers[old_index], keep_active);
                joined[new_index] = false;
            }
            // A server new to the group joins with a slow start (when set).
            for (index, joined) in joined.into_iter().enumerate() {
                if joined {
                    g.peer_mut(self.ids[index]).start_ramp(now);
                }
            }
        });
        for (old_index, new_index) in pairs {
            self.stats[new_index] = old.stats[old_index].clone();
        }
    }

    fn apply_admin_overrides(&self, overrides: &Overrides) {
        if overrides.is_empty() {
            return;
        }
        self.group.with(|g, _| {
            for (s, &id) in self.config.servers.iter().zip(&self.ids) {
                if let Some(o) = overrides.get(&self.config.name, s.addr) {
                    g.peer_mut(id).admin = o.admin;
                }
            }
        });
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.config.servers.iter().map(|s| s.addr).collect()
    }

    /// Servers the balancer would consider now.
    pub fn usable_count(&self) -> usize {
        self.group.with(|g, now| {
            let rec = g.recovery();
            self.ids.iter().filter(|&&id| g.peer(id).is_usable(now, rec)).count()
        })
    }

    /// Indexes (config order) of the servers `key` names: an index, an
    /// address (`127.0.0.1:9001`) or the name as written (`app1:8000`, every
    /// address it resolved to).
    pub fn find_servers(&self, key: &str) -> Vec<usize> {
        if let Ok(index) = key.parse::<usize>() {
            return if index < self.config.servers.len() { vec![index] } else { vec![] };
        }
        let by_addr = key.parse::<SocketAddr>().ok();
        (0..self.config.servers.len())
            .filter(|&i| {
                let s = &self.config.servers[i];
                Some(s.addr) == by_addr || s.name == key
            })
            .collect()
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
                .zip(&self.stats)
                .map(|((s, &id), stats)| {
                    let p = g.peer(id);
                    let quarantined = p.is_quarantined(now, rec);
                    ServerSnapshot {
                        name: s.name.clone(),
                        addr: s.addr,
                        backup: s.backup,
                        peer: p.clone(),
                        usable: p.is_usable(now, rec),
                        quarantine_left_ms: (quarantined && rec == Recovery::ByClientProbe)
                            .then(|| (p.checked + p.params.fail_timeout - now + 1).max(0)),
                        ramp_permille: p.is_ramping(now).then(|| p.ramp_permille(now)),
                        avg_time_us: p.avg_time_at(now),
                        stats: stats.clone(),
                    }
                })
                .collect()
        })
    }
}

/// A seed for a group's `random` draws: different per process and group,
/// so that balancers sharing one app tier do not draw alike.
fn seed_for(group: &str) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let salt = u64::from(crc32fast::hash(group.as_bytes())) << 32 | u64::from(std::process::id());
    nanos ^ salt.rotate_left(17)
}

/// Pairs (old index, new index) of servers with the same address; the n-th
/// occurrence of an address matches the n-th old one.
fn match_servers(old: &[SocketAddr], new: &[SocketAddr]) -> Vec<(usize, usize)> {
    let mut taken = vec![false; old.len()];
    let mut pairs = Vec::new();
    for (new_index, addr) in new.iter().enumerate() {
        if let Some(old_index) = (0..old.len()).find(|&i| !taken[i] && old[i] == *addr) {
            taken[old_index] = true;
            pairs.push((old_index, new_index));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::{AdminState, Outcome};

    fn config(yaml: &str) -> Config {
        crate::config::parse_str(yaml, "test.yaml").expect("valid config")
    }

    fn runtime(yaml: &str) -> Runtime {
        Runtime::build(&config(yaml), Clock::new(), None, &Overrides::default())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn servers_match_by_address_and_occurrence() {
        let a = addr("127.0.0.1:1");
        let b = addr("127.0.0.1:2");
        let c = addr("127.0.0.1:3");
        assert_eq!(match_servers(&[a, b, a], &[b, a, c, a, a]), vec![(1, 0), (0, 1), (2, 3)]);
    }

    const TWO: &str = "listen: [\"127.0.0.1:1\"]\nupstreams:\n  app:\n    servers:\n\
                       \x20     - { addr: \"127.0.0.1:11\", max_fails: 1, fail_timeout: 30s }\n\
                       \x20     - { addr: \"127.0.0.1:12\" }\n";

    #[test]
    fn a_rebuild_keeps_the_passive_state_and_counters_of_servers_that_stayed() {
        let clock = Clock::new();
        let old = Runtime::build(&config(TWO), clock, None, &Overrides::default());
        let up = &old.upstreams[0];
        let mut attempt = up.group.start(0);
        let id = up.group.pick(&mut attempt, b"").expect("live");
        up.group.finish(&mut attempt, id, Outcome::Failed);
        let failed = up.server_index(id);
        up.stats[failed].on_try();
        // The new file drops the other server and adds one.
        let kept = up.config.servers[failed].addr;
        let yaml = format!(
            "listen: [\"127.0.0.1:1\"]\nupstreams:\n  app:\n    servers:\n\
             \x20     - {{ addr: \"127.0.0.1:13\" }}\n      - {{ addr: \"{kept}\", max_fails: 1, fail_timeout: 30s }}\n"
        );
        let new = Runtime::build(&config(&yaml), clock, Some(&old), &Overrides::default());
        let snap = new.upstreams[0].snapshot();
        assert_eq!(snap[1].addr, kept);
        assert_eq!(snap[1].peer.fails, 1);
        assert!(!snap[1].usable, "still quarantined after the reload");
        assert!(snap[1].quarantine_left_ms.is_some_and(|ms| ms > 20_000));
        assert!(Arc::ptr_eq(&snap[1].stats, &up.stats[failed]), "same counters");
        assert_eq!(snap[0].peer.fails, 0);
        assert_eq!(snap[0].stats.snapshot().requests, 0);
    }

    #[test]
    fn overrides_apply_to_a_new_runtime() {
        let mut overrides = Overrides::default();
        overrides.set("app", addr("127.0.0.1:12"), |o| {
            o.admin = AdminState::Draining;
            o.weight = Some(9);
        });
        let rt = Runtime::build(&config(TWO), Clock::new(), None, &overrides);
        let snap = rt.upstreams[0].snapshot();
        assert_eq!(snap[1].peer.admin, AdminState::Draining);
        assert_eq!(snap[1].peer.params.weight, 9);
        assert!(!snap[1].usable);
        assert_eq!(snap[0].peer.admin, AdminState::Normal);
        assert_eq!(rt.upstreams[0].usable_count(), 1);
        assert!(rt.any_usable());
    }

    #[test]
    fn servers_are_found_by_index_address_or_name() {
        let rt = runtime(TWO);
        let up = &rt.upstreams[0];
        assert_eq!(up.find_servers("1"), vec![1]);
        assert_eq!(up.find_servers("127.0.0.1:11"), vec![0]);
        assert_eq!(up.find_servers("7"), Vec::<usize>::new());
        assert_eq!(up.find_servers("nope"), Vec::<usize>::new());
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
    }
}
