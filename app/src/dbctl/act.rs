//! The SQL behind each action (measured recipes in data-tier.md).

use crate::db::probe::column_text;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use std::time::Duration;

/// Longest wait for a promoted replica to apply what it already received.
pub const APPLY_WAIT: Duration = Duration::from_secs(10);

/// Promotes `conn`'s node: stop receiving, apply everything received, forget
/// the old master, accept writes. If what was received cannot be applied in
/// time, the promotion fails and nothing is reset: the relay log holds
/// transactions semi-sync already acknowledged to clients, and `RESET SLAVE
/// ALL` would delete them.
pub async fn promote(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    let status: Option<Row> = conn.query_first("SHOW SLAVE STATUS").await?;
    if status.is_some() {
        conn.query_drop("STOP SLAVE IO_THREAD").await?;
        // The applier may have been stopped by hand: it must finish the relay log.
        conn.query_drop("START SLAVE SQL_THREAD").await?;
        let status: Option<Row> = conn.query_first("SHOW SLAVE STATUS").await?;
        let received = status.as_ref().and_then(|row| column_text(row, &["Gtid_IO_Pos"])).unwrap_or_default();
        if !received.is_empty() {
            let applied: Option<i64> =
                conn.exec_first("SELECT MASTER_GTID_WAIT(?, ?)", (received.as_str(), APPLY_WAIT.as_secs_f64())).await?;
            if applied != Some(0) {
                return Err(mysql_async::Error::Other(
                    format!("the relay log up to {received} was not applied within {APPLY_WAIT:?}; not promoting")
                        .into(),
                ));
            }
        }
        conn.query_drop("STOP SLAVE").await?;
        conn.query_drop("RESET SLAVE ALL").await?;
    }
    conn.query_drop("SET GLOBAL read_only = 0").await?;
    Ok(())
}

/// Makes the node read-only, disconnects its clients, then stops it waiting
/// for semi-sync acks (only a master may have that switch on: on a replica it
/// stalls the applier). The order matters: a commit still waiting for an ack
/// on a fenced node must reach its client as an error, never as an OK that
/// the rejoin would later discard.
pub async fn fence(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    conn.query_drop("SET GLOBAL read_only = 1").await?;
    let sessions: Vec<u64> = conn
        .query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
             AND USER NOT IN ('system user', 'event_scheduler')",
        )
        .await?;
    for id in sessions {
        // A session may end on its own meanwhile (error 1094): fine.
        let _ = conn.query_drop(format!("KILL CONNECTION {id}")).await;
    }
    conn.query_drop("SET GLOBAL rpl_semi_sync_master_enabled = OFF").await
}

/// Points the node at `master_host:master_port`, continuing from its own
/// binlog position (which covers everything it applied).
pub async fn rejoin(
    conn: &mut Conn,
    master_host: &str,
    master_port: u16,
    user: &str,
    password: &str,
) -> Result<(), mysql_async::Error> {
    fence(conn).await?;
    conn.query_drop("STOP SLAVE").await?;
    conn.query_drop("RESET SLAVE ALL").await?;
    conn.query_drop("SET GLOBAL gtid_slave_pos = @@global.gtid_binlog_pos").await?;
    conn.query_drop(change_master_sql(master_host, master_port, user, password)).await?;
    conn.query_drop("START SLAVE").await
}

pub async fn semi_sync(conn: &mut Conn, on: bool) -> Result<(), mysql_async::Error> {
    conn.query_drop(if on {
        "SET GLOBAL rpl_semi_sync_master_enabled = ON"
    } else {
        "SET GLOBAL rpl_semi_sync_master_enabled = OFF"
    })
    .await
}

/// `CHANGE MASTER TO` takes no placeholders: values are quoted here.
pub fn change_master_sql(host: &str, port: u16, user: &str, password: &str) -> String {
    format!(
        "CHANGE MASTER TO MASTER_HOST={}, MASTER_PORT={port}, MASTER_USER={}, MASTER_PASSWORD={}, \
         MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1",
        quote(host),
        quote(user),
        quote(password)
    )
}

/// A single-quoted SQL string literal with `\` and `'` escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_change_master_are_quoted() {
        let sql = change_master_sql("10.0.0.5", 3306, "repl", "p'w\\d");
        assert!(sql.contains("MASTER_HOST='10.0.0.5'"));
        assert!(sql.contains("MASTER_PASSWORD='p\\'w\\\\d'"));
        assert!(sql.contains("MASTER_USE_GTID=slave_pos"));
    }
}
