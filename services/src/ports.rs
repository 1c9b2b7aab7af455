//! Which ports the tier listens on, on its one address (default [`LOOPBACK`]).
//!
//! Tests use [`Ports::Free`]: ports the kernel hands out for `HOST:0`, so
//! parallel tests never collide (a port taken between choosing and binding
//! makes the tier retry with new ones). `tandem-services up` uses
//! [`Ports::Fixed`] with [`FixedPorts::DEFAULT`], so the URLs stay the same from
//! one run to the next.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use crate::error::{Error, Result};

/// The default address of the tier: every server listens on this one
/// address only, unless [`DataTierOptions::host`](crate::DataTierOptions::host)
/// (`tandem-services up --host`) names another.
pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Port selection for a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ports {
    /// Free ephemeral ports chosen at start (the default: right for tests).
    #[default]
    Free,
    /// Consecutive ports from fixed bases (right for a development tier).
    Fixed(FixedPorts),
}

/// Base ports of a fixed layout: MariaDB node `i` listens on `mariadb + i`,
/// the Redis master on `redis` and its replica on `redis + 1`, Sentinel `i`
/// on `sentinel + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPorts {
    pub mariadb: u16,
    pub redis: u16,
    pub sentinel: u16,
}

impl FixedPorts {
    /// 13306.. for MariaDB, 16379-16380 for Redis, 26479-26481 for Sentinel:
    /// the usual ports shifted, so a system MariaDB (3306), Redis (6379) or
    /// Sentinel (26379, which Debian's redis-sentinel unit takes) can run
    /// alongside.
    pub const DEFAULT: FixedPorts = FixedPorts { mariadb: 13306, redis: 16379, sentinel: 26479 };
}

impl Default for FixedPorts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The concrete ports of one start attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortPlan {
    pub(crate) mariadb: Vec<u16>,
    pub(crate) redis: [u16; 2],
    pub(crate) sentinels: [u16; 3],
}

impl Ports {
    /// Chooses the ports on `host` for `mariadb_nodes` MariaDB servers, 2
    /// Redis and 3 Sentinels. Fixed ports are checked to be free on `host`
    /// now, so a clash is reported by port number rather than by a server's log.
    pub(crate) fn plan(&self, host: Ipv4Addr, mariadb_nodes: usize) -> Result<PortPlan> {
        match self {
            Ports::Free => free_plan(host, mariadb_nodes),
            Ports::Fixed(fixed) => {
                let plan = fixed_plan(fixed, mariadb_nodes)?;
                for (name, port) in plan.named() {
                    if let Err(e) = TcpListener::bind((host, port)) {
                        return Err(Error::Invalid(format!(
                            "cannot listen on {host}:{port} for {name} ({e}): stop what listens there, choose other \
                             base ports, or give an address of this host"
                        )));
                    }
                }
                Ok(plan)
            }
        }
    }

    /// True when the tier chose the ports and may choose again after a clash.
    pub(crate) fn retryable(&self) -> bool {
        matches!(self, Ports::Free)
    }
}

impl PortPlan {
    /// Every port with the name of the process that gets it.
    pub(crate) fn named(&self) -> Vec<(String, u16)> {
        let mut all: Vec<(String, u16)> =
            self.mariadb.iter().enumerate().map(|(i, p)| (format!("mariadb-{i}"), *p)).collect();
        all.extend(self.redis.iter().enumerate().map(|(i, p)| (format!("redis-{i}"), *p)));
        all.extend(self.sentinels.iter().enumerate().map(|(i, p)| (format!("sentinel-{i}"), *p)));
        all
    }
}

fn fixed_plan(fixed: &FixedPorts, mariadb_nodes: usize) -> Result<PortPlan> {
    let add = |base: u16, i: usize, what: &str| {
        u16::try_from(i)
            .ok()
            .and_then(|i| base.checked_add(i))
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::Invalid(format!("{what} base port {base} + {i} is not a valid port")))
    };
    let mariadb = (0..mariadb_nodes).map(|i| add(fixed.mariadb, i, "MariaDB")).collect::<Result<Vec<_>>>()?;
    let redis = [add(fixed.redis, 0, "Redis")?, add(fixed.redis, 1, "Redis")?];
    let sentinels =
        [add(fixed.sentinel, 0, "Sentinel")?, add(fixed.sentinel, 1, "Sentinel")?, add(fixed.sentinel, 2, "Sentinel")?];
    let plan = PortPlan { mariadb, redis, sentinels };
    let named = plan.named();
    for (i, (name, port)) in named.iter().enumerate() {
        if let Some((other, _)) = named[..i].iter().find(|(_, p)| p == port) {
            return Err(Error::Invalid(format!(
                "{name} and {other} would both listen on port {port}: spread the base ports"
            )));
        }
    }
    Ok(plan)
}

/// Holds all listeners on `host` at once so the kernel hands out distinct
/// ports, then releases them for the servers to bind.
fn free_plan(host: Ipv4Addr, mariadb_nodes: usize) -> Result<PortPlan> {
    let count = mariadb_nodes + 5;
    let listeners = (0..count)
        .map(|_| TcpListener::bind((host, 0)).map_err(|e| Error::io(format!("bind {host}:0 to find a free port"), e)))
        .collect::<Result<Vec<_>>>()?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a: SocketAddr| a.port()).map_err(|e| Error::io("local_addr", e)))
        .collect::<Result<Vec<_>>>()?;
    drop(listeners);
    let n = mariadb_nodes;
    Ok(PortPlan {
        mariadb: ports[..n].to_vec(),
        redis: [ports[n], ports[n + 1]],
        sentinels: [ports[n + 2], ports[n + 3], ports[n + 4]],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ports_count_up_from_each_base() {
        let plan = fixed_plan(&FixedPorts::DEFAULT, 3).expect("valid");
        assert_eq!(plan.mariadb, vec![13306, 13307, 13308]);
        assert_eq!(plan.redis, [16379, 16380]);
        assert_eq!(plan.sentinels, [26479, 26480, 26481]);
    }

    #[test]
    fn overlapping_fixed_ranges_are_refused_naming_both_processes() {
        let err = fixed_plan(&FixedPorts { mariadb: 16378, redis: 16379, sentinel: 26479 }, 2).expect_err("overlap");
        let text = err.to_string();
        assert!(text.contains("redis-0") && text.contains("mariadb-1") && text.contains("16379"), "{text}");
    }

    #[test]
    fn fixed_ports_past_65535_are_refused() {
        let err = fixed_plan(&FixedPorts { mariadb: 13306, redis: 16379, sentinel: 65534 }, 1).expect_err("overflow");
        assert!(err.to_string().contains("Sentinel base port 65534 + 2"), "{err}");
    }

    #[test]
    fn free_ports_are_distinct() {
        let plan = free_plan(LOOPBACK, 2).expect("free ports");
        let mut ports: Vec<u16> = plan.named().into_iter().map(|(_, p)| p).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 7);
    }

    #[test]
    fn fixed_ports_are_checked_on_the_tier_address() {
        let taken = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).expect("bind 127.0.0.2");
        let port = taken.local_addr().expect("addr").port();
        let fixed = Ports::Fixed(FixedPorts { mariadb: port, redis: 1, sentinel: 3 });
        let err = fixed.plan(Ipv4Addr::new(127, 0, 0, 2), 1).expect_err("taken on 127.0.0.2");
        assert!(err.to_string().contains(&format!("127.0.0.2:{port} for mariadb-0")), "{err}");
    }
}
