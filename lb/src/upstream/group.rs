//! One upstream group's shared selection state and nginx's tier logic:
//! primaries, then backups, the single-server exemption, the hash balancers'
//! fall back to round robin, and the count of tries a request may make.
//!
//! Pure: no locks, no clock, no I/O. [`super::SharedGroup`] wraps it.

use super::attempt::{Attempt, Outcome, PeerId, Tier};
use super::balance::{self, Rng, TwoBy};
use super::ketama::Ring;
use super::peer::{ActiveState, Millis, Peer, PeerParams, Recovery};

/// The balancing method with what it needs precomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    RoundRobin,
    LeastConn,
    IpHash,
    Hash,
    ConsistentHash(Ring),
    LeastTime,
    Random(Option<TwoBy>),
}

/// The kind of balancing method, for building a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    RoundRobin,
    LeastConn,
    IpHash,
    Hash,
    ConsistentHash,
    /// nginx Plus `least_time`.
    LeastTime,
    /// nginx `random [two least_conn|least_time]`.
    Random(Option<TwoBy>),
}

/// One server as the group needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// As written in the config; ketama hashes it and servers sharing a name
    /// share ring points.
    pub name: String,
    pub params: PeerParams,
    pub backup: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    method: Method,
    primary: Vec<Peer>,
    backup: Vec<Peer>,
    /// Names of the primaries, in order (to rebuild the ketama ring).
    primary_names: Vec<String>,
    /// For each primary, the index of its name among distinct names.
    name_ids: Vec<u32>,
    /// nginx `peers->single`: exactly one primary address and no backup.
    single: bool,
    /// Sum of primary weights, down servers included (hash balancers).
    total_weight: u32,
    /// Non-down primaries plus non-down backups: the most tries a request gets.
    tries: u32,
    recovery: Recovery,
    /// `random`'s draws.
    rng: Rng,
}

/// The ketama ring of the primaries: 160 points per weight unit.
fn ring(names: &[String], name_ids: &[u32], primary: &[Peer]) -> Ring {
    Ring::build(names.iter().zip(name_ids).zip(primary).map(|((n, id), p)| (n.as_str(), *id, p.params.weight as u32)))
}

impl Group {
    /// Build a group. `initial` is the active state servers start in
    /// (`Up`, or `Checking` for mandatory active checks).
    pub fn new(method: MethodKind, servers: &[ServerSpec], recovery: Recovery, initial: ActiveState) -> Group {
        let mut primary = Vec::new();
        let mut backup = Vec::new();
        let mut primary_names = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut name_ids = Vec::new();
        for s in servers {
            let peer = Peer::new(s.params, initial);
            if s.backup {
                backup.push(peer);
                continue;
            }
            let id = names.iter().position(|n| *n == s.name).unwrap_or_else(|| {
                names.push(&s.name);
                names.len() - 1
            });
            name_ids.push(id as u32);
            primary.push(peer);
            primary_names.push(s.name.clone());
        }
        let method = match method {
            MethodKind::RoundRobin => Method::RoundRobin,
            MethodKind::LeastConn => Method::LeastConn,
            MethodKind::IpHash => Method::IpHash,
            MethodKind::Hash => Method::Hash,
            MethodKind::ConsistentHash => Method::ConsistentHash(ring(&primary_names, &name_ids, &primary)),
            MethodKind::LeastTime => Method::LeastTime,
            MethodKind::Random(two) => Method::Random(two),
        };
        let live = |v: &[Peer]| v.iter().filter(|p| !p.params.down).count() as u32;
        Group {
            single: primary.len() == 1 && backup.is_empty(),
            total_weight: primary.iter().map(|p| p.params.weight as u32).sum(),
            tries: live(&primary) + live(&backup),
            method,
            primary,
            backup,
            primary_names,
            name_ids,
            recovery,
            rng: Rng::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// Seed `random`'s draws (a fixed seed by default, for tests; the
    /// runtime seeds every group differently per process).
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// Begin a request: nothing tried, tries capped by `next_upstream_tries`
    /// (0 = no cap).
    pub fn start(&self, next_upstream_tries: u32, now: Millis) -> Attempt {
        Attempt::new(self.tries, next_upstream_tries, now)
    }

    /// Non-down primaries plus non-down backups: the most tries a request
    /// gets. Fixed when the group is built.
    pub fn max_tries(&self) -> u32 {
        self.tries
    }

    /// Choose the server for the next try of this request, or `None`
    /// ("no live upstreams"). `key` is the hash input: the client address
    /// bytes for ip_hash, the key value for hash; ignored otherwise.
    pub fn pick(&mut self, a: &mut Attempt, key: &[u8], now: Millis) -> Option<PeerId> {
        let rec = self.recovery;
        let hashing = a.tier == Tier::Primary && self.primary.len() >= 2 && a.cursor.tries <= 20 && !key.is_empty();
        if hashing {
            let found = match &self.method {
                Method::IpHash => {
                    balance::ip_hash(&mut self.primary, &mut a.tried, &mut a.cursor, key, self.total_weight, now, rec)
                }
                Method::Hash => {
                    balance::key_hash(&mut self.primary, &mut a.tried, &mut a.cursor, key, self.total_weight, now, rec)
                }
                Method::ConsistentHash(ring) => balance::consistent_hash(
                    &mut self.primary,
                    &self.name_ids,
                    ring,
                    &mut a.tried,
                    &mut a.cursor,
                    key,
                    now,
                    rec,
                ),
                _ => None,
            };
            if let Some(i) = found {
                return Some(PeerId { tier: Tier::Primary, index: i as u16 });
            }
        }
        self.pick_in_tiers(a, now)
    }

    /// nginx `ngx_http_upstream_get_round_robin_peer` (and least_conn's twin):
    /// the current tier, then the backup tier with a fresh tried-set. The
    /// hash balancers fall back to round robin here.
    fn pick_in_tiers(&mut self, a: &mut Attempt, now: Millis) -> Option<PeerId> {
        let rec = self.recovery;
        loop {
            let found = if self.single {
                let p = &mut self.primary[0];
                let ok = !p.params.down && p.admin_allows() && !p.is_full() && p.active == ActiveState::Up;
                if ok {
                    p.conns += 1;
                }
                ok.then_some(0)
            } else {
                let peers = match a.tier {
                    Tier::Primary => &mut self.primary,
                    Tier::Backup => &mut self.backup,
                };
                match self.method {
                    Method::LeastConn => balance::least_conn(peers, &mut a.tried, now, rec),
                    Method::LeastTime => balance::least_time(peers, &mut a.tried, now, rec),
                    Method::Random(two) => balance::random(peers, &mut a.tried, &mut self.rng, two, now, rec),
                    _ => balance::round_robin(peers, &mut a.tried, now, rec),
                }
            };
            if let Some(i) = found {
                return Some(PeerId { tier: a.tier, index: i as u16 });
            }
            if a.tier == Tier::Backup || self.backup.is_empty() {
                return None;
            }
            a.tier = Tier::Backup;
            a.tried.clear();
        }
    }

    /// Record how a try ended. Returns true when a failure disabled the
    /// server (nginx logs "upstream server temporarily disabled").
    pub fn finish(&mut self, a: &mut Attempt, id: PeerId, outcome: Outcome, now: Millis) -> bool {
        self.finish_timed(a, id, outcome, None, now)
    }

    /// [`Group::finish`] with the try's response time in microseconds (to
    /// the header or to the last byte, as `least_time` measures), when it
    /// had one: the `least_time` balancers keep its average.
    pub fn finish_timed(
        &mut self,
        a: &mut Attempt,
        id: PeerId,
        outcome: Outcome,
        time_us: Option<i64>,
        now: Millis,
    ) -> bool {
        let single = self.single;
        let peer = self.peer_mut(id);
        if let Some(us) = time_us {
            peer.on_time_sample(us, now);
        }
        if single {
            // nginx: a lone server is never charged and never retried.
            peer.on_released();
            a.tries_left = 0;
            return false;
        }
        let disabled = match outcome {
            Outcome::Failed => peer.on_failure(now),
            Outcome::Passed => {
                peer.on_success(now);
                false
            }
        };
        peer.on_released();
        a.tries_left = a.tries_left.saturating_sub(1);
        disabled
    }

    /// Release a pick that never reached an upstream (the request was
    /// abandoned before the try had an outcome): only the slot is freed.
    pub fn abandon(&mut self, id: PeerId) {
        self.peer_mut(id).on_released();
    }

    pub fn peer(&self, id: PeerId) -> &Peer {
        match id.tier {
            Tier::Primary => &self.primary[id.index as usize],
            Tier::Backup => &self.backup[id.index as usize],
        }
    }

    pub fn peer_mut(&mut self, id: PeerId) -> &mut Peer {
        match id.tier {
            Tier::Primary => &mut self.primary[id.index as usize],
            Tier::Backup => &mut self.backup[id.index as usize],
        }
    }

    /// Set a server's weight at run time (the runtime API). The hash
    /// balancers' totals and the ketama ring follow; smooth WRR restarts the
    /// server's share from the new weight.
    pub fn set_weight(&mut self, id: PeerId, weight: i64) {
        let peer = self.peer_mut(id);
        peer.params.weight = weight;
        peer.effective_weight = weight;
        peer.current_weight = 0;
        self.total_weight = self.primary.iter().map(|p| p.params.weight as u32).sum();
        if let Method::ConsistentHash(_) = self.method {
            self.method = Method::ConsistentHash(ring(&self.primary_names, &self.name_ids, &self.primary));
        }
    }

    pub fn is_single(&self) -> bool {
        self.single
    }

    pub fn recovery(&self) -> Recovery {
        self.recovery
    }
}
