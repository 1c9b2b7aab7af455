//! Who is master, who may serve reads: decided from probe results. Pure.
//!
//! Roles are discovered, never configured: the writable node
//! (`@@global.read_only = 0`) is the master. Reads prefer replicas that
//! replicate (both threads running) within the lag limit, then the master;
//! with no master at all, any reachable node serves reads, because stale
//! reads beat failed ones while a promotion is under way.

/// What one probe of one node found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeStatus {
    pub reachable: bool,
    pub read_only: bool,
    /// `None` when the node replicates from nobody.
    pub replica: Option<ReplicaStatus>,
    /// Why it is unreachable, for `/readyz` and the logs.
    pub error: Option<String>,
    pub flavor: Flavor,
}

/// Which server family a node runs: the SQL for GTIDs and replica status differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    #[default]
    MariaDb,
    MySql,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaStatus {
    pub io_running: bool,
    pub sql_running: bool,
    /// `Seconds_Behind_Master`; `None` when a thread is stopped.
    pub lag_secs: Option<u64>,
}

/// Why a reachable non-master serves no ordinary reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaProblem {
    NotReplicating,
    Lagging,
}

/// The decision the request path reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roles {
    pub master: Option<usize>,
    /// Replicas fit for reads, in node order.
    pub replicas: Vec<usize>,
    /// Reachable nodes that serve reads only when there is no master.
    pub last_resort: Vec<usize>,
    /// More than one writable node was seen (a fencing failure): no master
    /// until it is resolved; logged loudly.
    pub split_brain: bool,
    pub statuses: Vec<NodeStatus>,
}

/// Where a read goes: `first`, and `second` if `first` fails or, for a
/// read-your-writes read, has not applied the GTID in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPlan {
    pub first: usize,
    pub first_is_replica: bool,
    pub second: Option<usize>,
}

pub fn decide(statuses: Vec<NodeStatus>, max_lag_secs: u64) -> Roles {
    let writable: Vec<usize> =
        (0..statuses.len()).filter(|&i| statuses[i].reachable && !statuses[i].read_only).collect();
    // Two writable nodes mean a fencing failure (an old master woke up): which
    // one the controller keeps is not ours to guess, so writes wait (503)
    // until one is fenced, which takes the controller one round.
    let master = match writable.as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    let replicas = (0..statuses.len())
        .filter(|&i| Some(i) != master && replica_problem(&statuses[i], max_lag_secs).is_none())
        .collect();
    let mut last_resort: Vec<usize> =
        (0..statuses.len()).filter(|&i| statuses[i].reachable && Some(i) != master).collect();
    // Among last resorts, nodes whose applier still runs have the freshest data.
    last_resort.sort_by_key(|&i| !statuses[i].replica.as_ref().is_some_and(|r| r.sql_running));
    Roles { master, replicas, last_resort, split_brain: writable.len() > 1, statuses }
}

/// `None` when a reachable read-only node is fit to serve reads.
pub fn replica_problem(status: &NodeStatus, max_lag_secs: u64) -> Option<ReplicaProblem> {
    if !status.reachable || !status.read_only {
        return Some(ReplicaProblem::NotReplicating);
    }
    match &status.replica {
        Some(r) if r.io_running && r.sql_running => match r.lag_secs {
            Some(lag) if lag <= max_lag_secs => None,
            _ => Some(ReplicaProblem::Lagging),
        },
        Some(r) if !r.sql_running => Some(ReplicaProblem::Lagging),
        _ => Some(ReplicaProblem::NotReplicating),
    }
}

impl Roles {
    /// The read plan for the `turn`-th read (round robin over fit replicas).
    pub fn read_plan(&self, turn: usize) -> Option<ReadPlan> {
        if !self.replicas.is_empty() {
            let first = self.replicas[turn % self.replicas.len()];
            let second = self
                .master
                .or_else(|| (self.replicas.len() > 1).then(|| self.replicas[(turn + 1) % self.replicas.len()]));
            return Some(ReadPlan { first, first_is_replica: true, second });
        }
        if let Some(master) = self.master {
            return Some(ReadPlan { first: master, first_is_replica: false, second: None });
        }
        let first = *self.last_resort.first()?;
        Some(ReadPlan { first, first_is_replica: true, second: self.last_resort.get(1).copied() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> NodeStatus {
        NodeStatus { reachable: true, read_only: false, ..NodeStatus::default() }
    }
    fn replica(io: bool, sql: bool, lag: Option<u64>) -> NodeStatus {
        NodeStatus {
            reachable: true,
            read_only: true,
            replica: Some(ReplicaStatus { io_running: io, sql_running: sql, lag_secs: lag }),
            ..NodeStatus::default()
        }
    }
    fn down() -> NodeStatus {
        NodeStatus { error: Some("refused".into()), ..NodeStatus::default() }
    }

    #[test]
    fn the_writable_node_is_master_and_healthy_replicas_take_reads_in_turn() {
        let roles = decide(vec![replica(true, true, Some(0)), master(), replica(true, true, Some(1))], 5);
        assert_eq!(roles.master, Some(1));
        assert_eq!(roles.replicas, vec![0, 2]);
        assert_eq!(roles.read_plan(0), Some(ReadPlan { first: 0, first_is_replica: true, second: Some(1) }));
        assert_eq!(roles.read_plan(1).map(|p| p.first), Some(2));
    }

    #[test]
    fn a_lagging_or_stopped_replica_sends_reads_to_the_master() {
        for r in [replica(true, true, Some(6)), replica(true, false, None), replica(false, false, None), down()] {
            let roles = decide(vec![master(), r.clone()], 5);
            assert_eq!(roles.read_plan(0), Some(ReadPlan { first: 0, first_is_replica: false, second: None }), "{r:?}");
        }
    }

    #[test]
    fn without_a_master_reads_go_to_any_reachable_node_freshest_first() {
        let roles = decide(vec![down(), replica(false, false, None), replica(false, true, None)], 5);
        assert_eq!(roles.master, None);
        assert_eq!(roles.read_plan(0), Some(ReadPlan { first: 2, first_is_replica: true, second: Some(1) }));
    }

    #[test]
    fn nothing_reachable_means_no_plan() {
        assert_eq!(decide(vec![down(), down()], 5).read_plan(0), None);
    }

    #[test]
    fn with_two_writable_nodes_nobody_takes_writes_until_one_is_fenced() {
        let roles = decide(vec![master(), master()], 5);
        assert_eq!(roles.master, None);
        assert!(roles.split_brain);
        assert!(roles.replicas.is_empty(), "a writable node never serves as a replica");
        assert!(roles.read_plan(0).is_some(), "reads go on");
    }

    #[test]
    fn a_read_only_node_replicating_from_nobody_is_not_a_replica() {
        let mut lonely = replica(true, true, Some(0));
        lonely.replica = None;
        let roles = decide(vec![master(), lonely], 5);
        assert!(roles.replicas.is_empty());
        assert_eq!(roles.last_resort, vec![1]);
    }
}
