//! Asks one node what it is: writable or not, replicating or not, how far behind.

use super::topology::{Flavor, NodeStatus, ReplicaStatus};
use mysql_async::prelude::Queryable;
use mysql_async::{from_value_opt, Conn, Row};

/// Runs the probe statements on `conn`. Each is its own SELECT: on MariaDB
/// 10.11 `@@global.read_only` read next to an aggregate came back wrong
/// (data-tier.md).
pub async fn probe(conn: &mut Conn) -> Result<NodeStatus, mysql_async::Error> {
    let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
    let flavor = Flavor::from_version(version.as_deref().unwrap_or_default());
    let read_only: Option<i64> = conn.query_first("SELECT @@global.read_only").await?;
    let replica_row: Option<Row> = conn.query_first(flavor.replica_status_sql()).await?;
    Ok(NodeStatus {
        reachable: true,
        read_only: read_only.unwrap_or(1) != 0,
        replica: replica_row.as_ref().map(replica_status),
        error: None,
        flavor,
    })
}

/// Reads `SHOW SLAVE STATUS` (MariaDB) or `SHOW REPLICA STATUS` (MySQL 8) by
/// column name, accepting either family's names.
pub fn replica_status(row: &Row) -> ReplicaStatus {
    let text = |names: &[&str]| column_text(row, names).unwrap_or_default();
    ReplicaStatus {
        io_running: text(&["Slave_IO_Running", "Replica_IO_Running"]) == "Yes",
        sql_running: text(&["Slave_SQL_Running", "Replica_SQL_Running"]) == "Yes",
        lag_secs: column_text(row, &["Seconds_Behind_Master", "Seconds_Behind_Source"]).and_then(|s| s.parse().ok()),
    }
}

/// The first of `names` that the row has, as text (`None` for NULL or absent).
pub fn column_text(row: &Row, names: &[&str]) -> Option<String> {
    let columns = row.columns_ref();
    let index = columns.iter().position(|c| names.iter().any(|n| c.name_str() == *n))?;
    let value = row.as_ref(index)?.clone();
    from_value_opt::<Option<String>>(value).ok().flatten()
}
