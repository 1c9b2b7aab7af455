//! Property tests of a group under random sequences of requests, failures,
//! time, weight and state changes: the rules hold whatever the order.
//! - a pick never chooses a server that is down, drained, disabled, failing
//!   its checks, full or quarantined, and finds one whenever one is usable;
//! - a backup is chosen only when no primary is usable;
//! - a lone server is never taken out by failures;
//! - smooth weighted round robin gives each server exactly its weight's
//!   share of every full cycle.

use proptest::prelude::*;

use super::attempt::{Outcome, PeerId, Tier};
use super::balance::TwoBy;
use super::group::{Group, MethodKind, ServerSpec};
use super::peer::{ActiveState, AdminState, PeerParams, Recovery};

#[derive(Debug, Clone)]
enum Op {
    /// A request; its first try fails when `fail`.
    Request {
        fail: bool,
        key: u8,
    },
    Advance(i64),
    Weight(usize, i64),
    Admin(usize, u8),
    Active(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), any::<u8>()).prop_map(|(fail, key)| Op::Request { fail, key }),
        2 => (0i64..4000).prop_map(Op::Advance),
        1 => (0usize..8, 1i64..6).prop_map(|(i, w)| Op::Weight(i, w)),
        1 => (0usize..8, 0u8..3).prop_map(|(i, a)| Op::Admin(i, a)),
        1 => (0usize..8, any::<bool>()).prop_map(|(i, up)| Op::Active(i, up)),
    ]
}

fn server(backups_allowed: bool) -> impl Strategy<Value = ServerSpec> {
    (1i64..6, 0u32..4, 500i64..3000, any::<bool>(), 0u8..10).prop_map(move |(weight, max_fails, fail_timeout, b, d)| {
        ServerSpec {
            name: String::new(),
            params: PeerParams { weight, max_fails, fail_timeout, down: d == 0, max_conns: 0, slow_start: 0 },
            backup: backups_allowed && b,
        }
    })
}

fn method() -> impl Strategy<Value = MethodKind> {
    prop_oneof![
        Just(MethodKind::RoundRobin),
        Just(MethodKind::LeastConn),
        Just(MethodKind::IpHash),
        Just(MethodKind::Hash),
        Just(MethodKind::ConsistentHash),
        Just(MethodKind::LeastTime),
        Just(MethodKind::Random(None)),
        Just(MethodKind::Random(Some(TwoBy::LeastConn))),
        Just(MethodKind::Random(Some(TwoBy::LeastTime))),
    ]
}

fn ids(g: &Group, servers: &[ServerSpec]) -> Vec<PeerId> {
    let (mut p, mut b) = (0u16, 0u16);
    let _ = g;
    servers
        .iter()
        .map(|s| {
            let (tier, n) = if s.backup { (Tier::Backup, &mut b) } else { (Tier::Primary, &mut p) };
            *n += 1;
            PeerId { tier, index: *n - 1 }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn picks_follow_the_rules_whatever_happened_before(
        method in method(),
        checks in any::<bool>(),
        servers in (any::<bool>()).prop_flat_map(|b| proptest::collection::vec(server(b), 1..7)),
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        // Backups go with round robin and least_conn only (nginx refuses them with hashing).
        let hashing = matches!(method, MethodKind::IpHash | MethodKind::Hash | MethodKind::ConsistentHash);
        let servers: Vec<ServerSpec> = servers
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                s.name = format!("s{i}");
                s.backup &= !hashing;
                s
            })
            .collect();
        prop_assume!(servers.iter().any(|s| !s.backup));
        let rec = if checks { Recovery::ByActiveCheck } else { Recovery::ByClientProbe };
        let mut g = Group::new(method, &servers, rec, ActiveState::Up);
        let all = ids(&g, &servers);
        let mut now = 1_000_000i64;
        for op in ops {
            match op {
                Op::Advance(ms) => now += ms,
                Op::Weight(i, w) => g.set_weight(all[i % all.len()], w),
                Op::Admin(i, a) => {
                    g.peer_mut(all[i % all.len()]).admin = [AdminState::Normal, AdminState::Draining, AdminState::Disabled][a as usize];
                }
                Op::Active(i, up) => {
                    g.peer_mut(all[i % all.len()]).active = if up { ActiveState::Up } else { ActiveState::Down };
                }
                Op::Request { fail, key } => {
                    let usable = |g: &Group, tier: Tier| {
                        all.iter().filter(|id| id.tier == tier).any(|&id| g.peer(id).is_usable(now, rec))
                    };
                    let (primary_usable, backup_usable) = (usable(&g, Tier::Primary), usable(&g, Tier::Backup));
                    let before = g.clone();
                    let mut a = g.start(0, now);
                    let picked = g.pick(&mut a, &[key, 1, 2], now);
                    match picked {
                        Some(id) => {
                            let p = before.peer(id);
                            prop_assert!(!p.params.down && p.admin_allows() && p.active == ActiveState::Up && !p.is_full(),
                                "picked {id:?} in state {p:?}");
                            if !g.is_single() {
                                prop_assert!(p.is_usable(now, rec), "picked {id:?} while quarantined: {p:?}");
                            }
                            if primary_usable {
                                prop_assert_eq!(id.tier, Tier::Primary, "a backup while a primary was usable");
                            }
                            let outcome = if fail { Outcome::Failed } else { Outcome::Passed };
                            g.finish(&mut a, id, outcome, now);
                        }
                        None => {
                            prop_assert!(!primary_usable && !backup_usable || g.is_single(),
                                "no pick while a server was usable (primary {primary_usable}, backup {backup_usable})");
                        }
                    }
                    if g.is_single() {
                        let lone = g.peer(all[servers.iter().position(|s| !s.backup).unwrap_or(0)]);
                        prop_assert_eq!(lone.fails, 0, "a lone server is never charged");
                    }
                }
            }
        }
    }

    #[test]
    fn smooth_weighted_round_robin_gives_every_cycle_its_weights(
        weights in proptest::collection::vec(1i64..8, 2..6),
        cycles in 1usize..4,
    ) {
        let servers: Vec<ServerSpec> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ServerSpec {
                name: format!("s{i}"),
                params: PeerParams { weight: w, max_fails: 1, fail_timeout: 10_000, down: false, max_conns: 0, slow_start: 0 },
                backup: false,
            })
            .collect();
        let mut g = Group::new(MethodKind::RoundRobin, &servers, Recovery::ByClientProbe, ActiveState::Up);
        let total: i64 = weights.iter().sum();
        for _ in 0..cycles {
            let mut counts = vec![0i64; weights.len()];
            for _ in 0..total {
                let mut a = g.start(0, 0);
                let id = g.pick(&mut a, b"", 0).expect("a pick");
                counts[id.index as usize] += 1;
                g.finish(&mut a, id, Outcome::Passed, 0);
            }
            prop_assert_eq!(&counts, &weights);
        }
    }
}
