//! Database failures, sorted by what the client should be told.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// No node accepts writes (none writable, or the master just failed).
    NoMaster,
    /// No node can serve this read (all down, or a read-your-writes read that no
    /// node could satisfy in time).
    NoReader,
    /// The node failed or did not answer in time: worth a retry later.
    Unavailable { node: String, detail: String },
    /// A unique key already holds this value (MySQL error 1062).
    Duplicate,
    /// Anything else: a bug or a schema problem. Logged, never sent to clients.
    Internal { node: String, detail: String },
}

impl DbError {
    /// Sorts a driver error. `stale_role` is true when the error means the node
    /// is no longer what we thought (read-only, shutting down, gone), so roles
    /// should be re-discovered now.
    pub fn from_driver(node: &str, error: &mysql_async::Error) -> (DbError, bool) {
        let unavailable = || DbError::Unavailable { node: node.to_string(), detail: error.to_string() };
        match error {
            mysql_async::Error::Server(server) => match server.code {
                1062 => (DbError::Duplicate, false),
                // 1290: --read-only refuses the write (the node was demoted);
                // 1836: read-only mode; 1053/1927/1317: shutdown, killed, interrupted.
                1290 | 1836 | 1053 | 1927 | 1317 => (unavailable(), true),
                // Lock wait timeout, deadlock, too many connections (1040,
                // 1203), statement timeout (1969 MariaDB, 3024 MySQL), idle
                // transaction killed (4031): transient, no role change.
                1205 | 1213 | 1040 | 1203 | 1969 | 3024 | 4031 => (unavailable(), false),
                _ => (DbError::Internal { node: node.to_string(), detail: error.to_string() }, false),
            },
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => (unavailable(), true),
            _ => (DbError::Internal { node: node.to_string(), detail: error.to_string() }, false),
        }
    }

    pub fn timed_out(node: &str) -> DbError {
        DbError::Unavailable { node: node.to_string(), detail: "timed out".to_string() }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::NoMaster => f.write_str("no writable database master"),
            DbError::NoReader => f.write_str("no database node can serve this read"),
            DbError::Unavailable { node, detail } => write!(f, "database node {node} unavailable: {detail}"),
            DbError::Duplicate => f.write_str("duplicate key"),
            DbError::Internal { node, detail } => write!(f, "database error on {node}: {detail}"),
        }
    }
}

impl std::error::Error for DbError {}
