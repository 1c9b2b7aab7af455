//! Replication setup and the checks that say it works.

use std::net::SocketAddr;
use std::path::Path;

use super::client::{rows_at, Row};
use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER, REPL_PASSWORD, REPL_USER};

/// `CHANGE MASTER TO` for GTID replication from `master`: resume from the
/// replica's own `gtid_slave_pos`, reconnect every second, heartbeat every
/// second (a dead master is noticed fast).
pub fn change_master_sql(master: SocketAddr) -> String {
    format!(
        "CHANGE MASTER TO MASTER_HOST='{}', MASTER_PORT={}, MASTER_USER='{REPL_USER}', \
         MASTER_PASSWORD='{REPL_PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, \
         MASTER_HEARTBEAT_PERIOD=1;",
        master.ip(),
        master.port()
    )
}

/// Probe: `Ok` when both replication threads run, else what the node says.
pub(crate) fn replicating(client: &Path, addr: SocketAddr) -> Result<(), String> {
    let rows = rows_at(client, addr, ADMIN_USER, ADMIN_PASSWORD, "SHOW SLAVE STATUS").map_err(|e| e.to_string())?;
    let row = rows.first().ok_or("no master configured")?;
    threads_running(row)
}

/// `Ok` when `Slave_IO_Running` and `Slave_SQL_Running` are both `Yes`.
pub(crate) fn threads_running(row: &Row) -> Result<(), String> {
    let field = |name: &str| row.get(name).map(String::as_str).unwrap_or("");
    if field("Slave_IO_Running") == "Yes" && field("Slave_SQL_Running") == "Yes" {
        return Ok(());
    }
    Err(format!(
        "Slave_IO_Running={} Slave_SQL_Running={} Last_IO_Error={:?} Last_SQL_Error={:?}",
        field("Slave_IO_Running"),
        field("Slave_SQL_Running"),
        field("Last_IO_Error"),
        field("Last_SQL_Error")
    ))
}

/// Probe: `Ok` when the master has at least `replicas` semi-sync clients and
/// semi-sync is active.
pub(crate) fn semi_sync_ready(client: &Path, addr: SocketAddr, replicas: usize) -> Result<(), String> {
    let rows = rows_at(client, addr, ADMIN_USER, ADMIN_PASSWORD, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'")
        .map_err(|e| e.to_string())?;
    semi_sync_status(&rows, replicas)
}

/// Reads `Rpl_semi_sync_master_clients` and `_status` from `SHOW STATUS` rows.
pub(crate) fn semi_sync_status(rows: &[Row], replicas: usize) -> Result<(), String> {
    let value = |name: &str| {
        rows.iter()
            .find(|r| r.get("Variable_name").is_some_and(|n| n == name))
            .and_then(|r| r.get("Value"))
            .cloned()
            .unwrap_or_default()
    };
    let clients: usize = value("Rpl_semi_sync_master_clients").parse().unwrap_or(0);
    let status = value("Rpl_semi_sync_master_status");
    if clients >= replicas && status == "ON" {
        Ok(())
    } else {
        Err(format!("Rpl_semi_sync_master_clients={clients} Rpl_semi_sync_master_status={status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mariadb::parse_batch;

    #[test]
    fn change_master_uses_gtid_and_fast_retries() {
        let sql = change_master_sql("127.0.0.1:13306".parse().expect("addr"));
        assert_eq!(
            sql,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=13306, MASTER_USER='repl', \
             MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1;"
        );
    }

    #[test]
    fn replication_counts_as_running_only_with_both_threads() {
        let ok = parse_batch("Slave_IO_Running\tSlave_SQL_Running\nYes\tYes\n");
        assert!(threads_running(&ok[0]).is_ok());
        let connecting = parse_batch(
            "Slave_IO_Running\tSlave_SQL_Running\tLast_IO_Error\tLast_SQL_Error\nConnecting\tYes\terror connecting\t\n",
        );
        let why = threads_running(&connecting[0]).expect_err("not running");
        assert!(why.contains("Slave_IO_Running=Connecting") && why.contains("error connecting"), "{why}");
    }

    #[test]
    fn semi_sync_needs_enough_clients_and_status_on() {
        let rows =
            parse_batch("Variable_name\tValue\nRpl_semi_sync_master_clients\t1\nRpl_semi_sync_master_status\tON\n");
        assert!(semi_sync_status(&rows, 1).is_ok());
        assert!(semi_sync_status(&rows, 2).is_err());
        let off =
            parse_batch("Variable_name\tValue\nRpl_semi_sync_master_clients\t1\nRpl_semi_sync_master_status\tOFF\n");
        assert_eq!(
            semi_sync_status(&off, 1).expect_err("off"),
            "Rpl_semi_sync_master_clients=1 Rpl_semi_sync_master_status=OFF"
        );
    }
}
