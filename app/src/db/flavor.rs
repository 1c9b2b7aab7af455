//! The few statements that differ between MariaDB and MySQL 8.

use super::topology::Flavor;

impl Flavor {
    /// Detects the family from `SELECT VERSION()`.
    pub fn from_version(version: &str) -> Flavor {
        if version.contains("MariaDB") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }

    /// Run right after a write on the same connection: a GTID that covers it.
    /// MariaDB gives the session's own (`@@last_gtid`); MySQL's executed set is
    /// a superset, which is as good for waiting.
    pub fn last_gtid_sql(self) -> &'static str {
        match self {
            Flavor::MariaDb => "SELECT @@last_gtid",
            Flavor::MySql => "SELECT @@global.gtid_executed",
        }
    }

    /// Waits up to `?` seconds for GTID `?`; answers 0 once applied.
    pub fn gtid_wait_sql(self) -> &'static str {
        match self {
            Flavor::MariaDb => "SELECT MASTER_GTID_WAIT(?, ?)",
            Flavor::MySql => "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)",
        }
    }

    pub fn replica_status_sql(self) -> &'static str {
        match self {
            Flavor::MariaDb => "SHOW SLAVE STATUS",
            Flavor::MySql => "SHOW REPLICA STATUS",
        }
    }
}
