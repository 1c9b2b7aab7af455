//! GTIDs: the token a write answers with and a read may present to see it.
//!
//! MariaDB's GTID is `domain-server-seq` (`0-1-42`): within a domain the
//! sequence number only grows, across failovers too (`gtid_strict_mode`), so two
//! GTIDs of one domain compare by `seq`. MySQL 8's is a GTID *set*
//! (`uuid:1-42,...`): kept opaque and only waited for, never compared.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gtid {
    Maria { domain: u32, server: u32, seq: u64 },
    Mysql(String),
}

impl Gtid {
    /// Parses a token a client presented or a server returned.
    pub fn parse(text: &str) -> Result<Gtid, String> {
        let text = text.trim();
        let mut parts = text.splitn(3, '-');
        let maria = (parts.next(), parts.next(), parts.next());
        if let (Some(d), Some(s), Some(q)) = maria {
            if let (Ok(domain), Ok(server), Ok(seq)) = (d.parse(), s.parse(), q.parse()) {
                return Ok(Gtid::Maria { domain, server, seq });
            }
        }
        let mysql_chars = |c: char| c.is_ascii_hexdigit() || matches!(c, '-' | ':' | ',');
        if text.contains(':') && text.len() <= 4096 && text.chars().all(mysql_chars) {
            return Ok(Gtid::Mysql(text.to_string()));
        }
        Err(format!("{text:?} is not a GTID (MariaDB: domain-server-seq, e.g. 0-1-42)"))
    }

    /// The MariaDB sequence number, used to keep the newest of several GTIDs.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Gtid::Maria { seq, .. } => Some(*seq),
            Gtid::Mysql(_) => None,
        }
    }

    /// True when a node that has applied `self` has certainly applied `other`.
    pub fn covers(&self, other: &Gtid) -> bool {
        match (self, other) {
            (Gtid::Maria { domain: a, seq: x, .. }, Gtid::Maria { domain: b, seq: y, .. }) => a == b && x >= y,
            (Gtid::Mysql(a), Gtid::Mysql(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtid::Maria { domain, server, seq } => write!(f, "{domain}-{server}-{seq}"),
            Gtid::Mysql(set) => f.write_str(set),
        }
    }
}

/// The highest sequence number of domain 0 in a MariaDB position list such as
/// `@@gtid_binlog_pos` (`0-1-42,1-3-7`); 0 when there is none.
pub fn position_seq(position: &str) -> u64 {
    position
        .split(',')
        .filter_map(|g| Gtid::parse(g).ok())
        .filter_map(|g| match g {
            Gtid::Maria { domain: 0, seq, .. } => Some(seq),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_gtids_round_trip() {
        let g = Gtid::parse("0-1-42").expect("valid");
        assert_eq!(g, Gtid::Maria { domain: 0, server: 1, seq: 42 });
        assert_eq!(g.to_string(), "0-1-42");
    }

    #[test]
    fn a_later_gtid_of_the_same_domain_covers_an_earlier_one_from_any_server() {
        let before_failover = Gtid::parse("0-1-42").expect("valid");
        let after_failover = Gtid::parse("0-2-43").expect("valid");
        assert!(after_failover.covers(&before_failover));
        assert!(!before_failover.covers(&after_failover));
        assert!(!Gtid::parse("1-2-99").expect("valid").covers(&before_failover), "other domain");
    }

    #[test]
    fn mysql_gtid_sets_are_opaque() {
        let set = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5";
        let g = Gtid::parse(set).expect("valid");
        assert_eq!(g.seq(), None);
        assert_eq!(g.to_string(), set);
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "abc", "0-1", "0-1-x", "'; DROP TABLE x; --", "0-1-2 OR 1=1"] {
            assert!(Gtid::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn position_lists_yield_domain_zero() {
        assert_eq!(position_seq("0-1-42,1-3-700"), 42);
        assert_eq!(position_seq(""), 0);
    }
}
