//! What the controller should do, given what it saw. Pure: time is passed in.

/// One node as the controller saw it in one round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub reachable: bool,
    pub read_only: bool,
    /// `host:port` it replicates from, if it has a replication source.
    pub source: Option<String>,
    pub io_running: bool,
    /// How far its data goes: the highest domain-0 sequence number it has
    /// received or applied (`Gtid_IO_Pos`, `@@gtid_current_pos`).
    pub position: u64,
    pub semi_sync_master: bool,
    /// The replication IO error (`Last_IO_Errno: Last_IO_Error`), if any: a
    /// node that diverged (1236) cannot rejoin and needs an operator.
    pub io_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make `node` the master (it is the most advanced reachable node).
    Promote { node: usize },
    /// Set `read_only=1` on a writable node that is not the master.
    Fence { node: usize },
    /// Point `node` at `master`.
    Rejoin { node: usize, master: usize },
    /// Turn the master's semi-sync wait on or off.
    SemiSync { node: usize, on: bool },
    /// No promotion: the best candidate is `behind` transactions behind the
    /// last master, which had no replica attached (so its writes were
    /// acknowledged asynchronously and exist nowhere else). Emitted once.
    Hold { candidate: usize, behind: u64 },
}

/// Minimum spacing of rejoin attempts on one node, so a node that cannot
/// rejoin (diverged data) is retried, not hammered.
pub const REJOIN_BACKOFF_MS: u64 = 5_000;

pub struct Planner {
    /// The node the controller considers master.
    pub master: Option<usize>,
    misses: u32,
    allowed_misses: u32,
    last_rejoin: Vec<Option<u64>>,
    semi_sync: bool,
    /// The master's last observed position, and whether it then ran with no
    /// replica attached: a replica behind an unattached master lacks writes
    /// that clients saw acknowledged.
    master_position: u64,
    master_alone: bool,
    holding: bool,
}

impl Planner {
    pub fn new(nodes: usize, allowed_misses: u32, semi_sync: bool) -> Planner {
        Planner {
            master: None,
            misses: 0,
            allowed_misses: allowed_misses.max(1),
            last_rejoin: vec![None; nodes],
            semi_sync,
            master_position: 0,
            master_alone: false,
            holding: false,
        }
    }

    /// Forgets the master, e.g. after its promotion failed.
    pub fn forget_master(&mut self) {
        self.master = None;
    }

    /// One round: `seen[i]` is node `i`, `addrs[i]` its `host:port`.
    pub fn step(&mut self, seen: &[Observed], addrs: &[String], now_ms: u64) -> Vec<Action> {
        let writable = |i: usize| seen[i].reachable && !seen[i].read_only;
        let mut actions = Vec::new();
        match self.master {
            Some(m) if writable(m) => self.misses = 0,
            None if (0..seen.len()).any(writable) => {
                self.master =
                    (0..seen.len()).filter(|&i| writable(i)).max_by_key(|&i| (seen[i].position, usize::MAX - i));
                self.misses = 0;
            }
            _ => self.misses += 1,
        }
        if self.misses >= self.allowed_misses {
            let candidate = (0..seen.len())
                .filter(|&i| seen[i].reachable)
                .max_by_key(|&i| (seen[i].position, writable(i), usize::MAX - i));
            if let Some(node) = candidate {
                if self.master_alone && seen[node].position < self.master_position {
                    if !self.holding {
                        self.holding = true;
                        actions
                            .push(Action::Hold { candidate: node, behind: self.master_position - seen[node].position });
                    }
                    return actions;
                }
                self.holding = false;
                actions.push(Action::Promote { node });
                self.master = Some(node);
                self.misses = 0;
                for other in (0..seen.len()).filter(|&i| i != node && seen[i].reachable) {
                    actions.push(Action::Rejoin { node: other, master: node });
                    self.last_rejoin[other] = Some(now_ms);
                }
            }
            return actions;
        }
        let Some(master) = self.master.filter(|&m| writable(m)) else {
            return actions;
        };
        for other in (0..seen.len()).filter(|&i| i != master && seen[i].reachable) {
            if writable(other) {
                actions.push(Action::Fence { node: other });
            } else if seen[other].source.as_deref() != Some(addrs[master].as_str()) {
                let due = self.last_rejoin[other].is_none_or(|at| now_ms.saturating_sub(at) >= REJOIN_BACKOFF_MS);
                if due {
                    actions.push(Action::Rejoin { node: other, master });
                    self.last_rejoin[other] = Some(now_ms);
                }
            }
        }
        let attached = (0..seen.len()).any(|i| {
            i != master && seen[i].reachable && seen[i].io_running && seen[i].source.as_deref() == Some(&addrs[master])
        });
        self.master_position = seen[master].position;
        self.master_alone = !attached;
        self.holding = false;
        let want = self.semi_sync && attached;
        if want != seen[master].semi_sync_master {
            actions.push(Action::SemiSync { node: master, on: want });
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<String> {
        vec!["h:1".into(), "h:2".into(), "h:3".into()]
    }
    fn master(position: u64) -> Observed {
        Observed { reachable: true, read_only: false, position, semi_sync_master: true, ..Observed::default() }
    }
    fn replica_of(source: &str, position: u64) -> Observed {
        Observed {
            reachable: true,
            read_only: true,
            source: Some(source.into()),
            io_running: true,
            position,
            ..Observed::default()
        }
    }
    fn down() -> Observed {
        Observed::default()
    }

    #[test]
    fn a_healthy_pair_needs_nothing() {
        let mut p = Planner::new(2, 3, true);
        assert_eq!(p.step(&[master(10), replica_of("h:1", 10)], &addrs(), 0), vec![]);
        assert_eq!(p.master, Some(0));
    }

    #[test]
    fn the_most_advanced_replica_is_promoted_after_the_allowed_misses_and_the_rest_rejoin_it() {
        let mut p = Planner::new(3, 3, true);
        p.step(&[master(10), replica_of("h:1", 9), replica_of("h:1", 10)], &addrs(), 0);
        let dead = [down(), replica_of("h:1", 9), replica_of("h:1", 10)];
        assert_eq!(p.step(&dead, &addrs(), 100), vec![]);
        assert_eq!(p.step(&dead, &addrs(), 200), vec![]);
        let actions = p.step(&dead, &addrs(), 300);
        assert_eq!(actions, vec![Action::Promote { node: 2 }, Action::Rejoin { node: 1, master: 2 }]);
        assert_eq!(p.master, Some(2));
    }

    #[test]
    fn a_master_that_comes_back_within_the_misses_keeps_its_role() {
        let mut p = Planner::new(2, 3, true);
        p.step(&[master(10), replica_of("h:1", 10)], &addrs(), 0);
        p.step(&[down(), replica_of("h:1", 10)], &addrs(), 100);
        p.step(&[down(), replica_of("h:1", 10)], &addrs(), 200);
        assert_eq!(p.step(&[master(10), replica_of("h:1", 10)], &addrs(), 300), vec![]);
        assert_eq!(p.master, Some(0));
    }

    #[test]
    fn a_returning_old_master_is_fenced_then_rejoined() {
        let mut p = Planner::new(2, 1, true);
        p.step(&[master(10), replica_of("h:1", 10)], &addrs(), 0);
        p.step(&[down(), replica_of("h:1", 10)], &addrs(), 100);
        assert_eq!(p.master, Some(1));
        let mut new_master = master(11);
        new_master.semi_sync_master = false;
        let woke_up = master(10);
        assert_eq!(p.step(&[woke_up, new_master.clone()], &addrs(), 200), vec![Action::Fence { node: 0 }]);
        let mut fenced = master(10);
        fenced.read_only = true;
        let actions = p.step(&[fenced, new_master.clone()], &addrs(), 300);
        assert_eq!(actions, vec![Action::Rejoin { node: 0, master: 1 }]);
    }

    #[test]
    fn rejoin_attempts_are_spaced() {
        let mut p = Planner::new(2, 3, false);
        let lonely = Observed { reachable: true, read_only: true, ..Observed::default() };
        let mut m = master(5);
        m.semi_sync_master = false;
        assert_eq!(p.step(&[m.clone(), lonely.clone()], &addrs(), 0), vec![Action::Rejoin { node: 1, master: 0 }]);
        assert_eq!(p.step(&[m.clone(), lonely.clone()], &addrs(), 1_000), vec![]);
        assert_eq!(p.step(&[m, lonely], &addrs(), REJOIN_BACKOFF_MS), vec![Action::Rejoin { node: 1, master: 0 }]);
    }

    #[test]
    fn semi_sync_follows_whether_a_replica_is_attached() {
        let mut p = Planner::new(2, 3, true);
        let mut m = master(5);
        m.semi_sync_master = false;
        assert_eq!(p.step(&[m, replica_of("h:1", 5)], &addrs(), 0), vec![Action::SemiSync { node: 0, on: true }]);
        let mut stopped = replica_of("h:1", 5);
        stopped.reachable = false;
        assert_eq!(p.step(&[master(5), stopped], &addrs(), 100), vec![Action::SemiSync { node: 0, on: false }]);
    }

    #[test]
    fn a_stopped_applier_is_left_alone() {
        let mut p = Planner::new(2, 3, true);
        let mut lagging = replica_of("h:1", 3);
        lagging.io_running = true;
        assert_eq!(p.step(&[master(10), lagging], &addrs(), 0), vec![], "still replicating from the master");
    }

    #[test]
    fn with_no_master_at_start_the_most_advanced_node_is_promoted() {
        let mut p = Planner::new(2, 2, true);
        let a = Observed { reachable: true, read_only: true, position: 4, ..Observed::default() };
        let b = Observed { reachable: true, read_only: true, position: 7, ..Observed::default() };
        p.step(&[a.clone(), b.clone()], &addrs(), 0);
        let actions = p.step(&[a, b], &addrs(), 100);
        assert_eq!(actions, vec![Action::Promote { node: 1 }, Action::Rejoin { node: 0, master: 1 }]);
    }

    #[test]
    fn a_replica_behind_a_master_that_ran_alone_is_not_promoted() {
        let mut p = Planner::new(2, 1, true);
        let mut alone = master(20);
        alone.semi_sync_master = false;
        let stale = Observed { reachable: true, read_only: true, position: 15, ..Observed::default() };
        let detached = Observed { reachable: false, ..Observed::default() };
        p.step(&[alone, detached], &addrs(), 0);
        let actions = p.step(&[down(), stale.clone()], &addrs(), 100);
        assert_eq!(actions, vec![Action::Hold { candidate: 1, behind: 5 }]);
        assert_eq!(p.step(&[down(), stale], &addrs(), 200), vec![], "said once");
        let mut caught_up = Observed { reachable: true, read_only: true, position: 20, ..Observed::default() };
        caught_up.source = None;
        assert_eq!(p.step(&[down(), caught_up], &addrs(), 300), vec![Action::Promote { node: 1 }]);
    }

    #[test]
    fn nothing_reachable_promotes_nothing() {
        let mut p = Planner::new(2, 1, true);
        assert_eq!(p.step(&[down(), down()], &addrs(), 0), vec![]);
        assert_eq!(p.master, None);
    }
}
