//! The SQL behind each action (measured recipes in data-tier.md).

use super::observe::text;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// Longest wait for a promoted replica to apply what it already received.
const APPLY_WAIT_SECS: f64 = 10.0;

/// Promotes `conn`'s node: stop receiving, apply everything received, forget
/// the old master, accept writes.
pub async fn promote(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    let status: Option<Row> = conn.query_first("SHOW SLAVE STATUS").await?;
    if status.is_some() {
        conn.query_drop("STOP SLAVE IO_THREAD").await?;
        // The applier may have been stopped by hand: it must finish the relay log.
        conn.query_drop("START SLAVE SQL_THREAD").await?;
        let status: Option<Row> = conn.query_first("SHOW SLAVE STATUS").await?;
        let received = status.as_ref().and_then(|row| text(row, "Gtid_IO_Pos")).unwrap_or_default();
        if !received.is_empty() {
            let applied: Option<i64> =
                conn.exec_first("SELECT MASTER_GTID_WAIT(?, ?)", (received.as_str(), APPLY_WAIT_SECS)).await?;
            if applied != Some(0) {
                log::warn!("promoting before the relay log ({received}) was applied: waited {APPLY_WAIT_SECS} s");
            }
        }
        conn.query_drop("STOP SLAVE").await?;
        conn.query_drop("RESET SLAVE ALL").await?;
    }
    conn.query_drop("SET GLOBAL read_only = 0").await?;
    Ok(())
}

/// Makes the node read-only and stops it waiting for semi-sync acks (only a
/// master may have that switch on: on a replica it stalls the applier).
pub async fn fence(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    conn.query_drop("SET GLOBAL read_only = 1").await?;
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
