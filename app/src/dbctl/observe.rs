//! Reads what the controller needs from one node (MariaDB).

use super::plan::Observed;
use crate::db::gtid::position_seq;
use crate::db::probe::column_text;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

pub async fn observe(conn: &mut Conn) -> Result<Observed, mysql_async::Error> {
    let read_only: Option<i64> = conn.query_first("SELECT @@global.read_only").await?;
    let current: Option<String> = conn.query_first("SELECT @@global.gtid_current_pos").await?;
    let semi_sync: Option<i64> = conn.query_first("SELECT @@global.rpl_semi_sync_master_enabled").await?;
    let row: Option<Row> = conn.query_first("SHOW SLAVE STATUS").await?;
    let mut seen = Observed {
        reachable: true,
        read_only: read_only.unwrap_or(1) != 0,
        position: position_seq(current.as_deref().unwrap_or_default()),
        semi_sync_master: semi_sync.unwrap_or(0) != 0,
        ..Observed::default()
    };
    if let Some(row) = row {
        let host = column_text(&row, &["Master_Host"]).unwrap_or_default();
        let port = column_text(&row, &["Master_Port"]).unwrap_or_default();
        if !host.is_empty() {
            seen.source = Some(format!("{host}:{port}"));
        }
        seen.io_running = column_text(&row, &["Slave_IO_Running"]).as_deref() == Some("Yes");
        let errno = column_text(&row, &["Last_IO_Errno"]).unwrap_or_default();
        if !errno.is_empty() && errno != "0" {
            seen.io_error = Some(format!("{errno}: {}", column_text(&row, &["Last_IO_Error"]).unwrap_or_default()));
        }
        let received = position_seq(&column_text(&row, &["Gtid_IO_Pos"]).unwrap_or_default());
        seen.position = seen.position.max(received);
    }
    Ok(seen)
}
