//! User queries.

use crate::model::user::{NewUser, User};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

type UserRow = (u64, String, bool);

fn from_row((id, email, is_active): UserRow) -> User {
    User { id, email, is_active }
}

pub async fn get(conn: &mut Conn, id: u64) -> Result<Option<User>, mysql_async::Error> {
    let row: Option<UserRow> = conn.exec_first("SELECT id, email, is_active FROM users WHERE id = ?", (id,)).await?;
    Ok(row.map(from_row))
}

/// Newest first; `before` is the keyset cursor.
pub async fn list(conn: &mut Conn, before: Option<u64>, limit: u32) -> Result<Vec<User>, mysql_async::Error> {
    let rows: Vec<UserRow> = match before {
        Some(id) => {
            conn.exec("SELECT id, email, is_active FROM users WHERE id < ? ORDER BY id DESC LIMIT ?", (id, limit))
                .await?
        }
        None => conn.exec("SELECT id, email, is_active FROM users ORDER BY id DESC LIMIT ?", (limit,)).await?,
    };
    Ok(rows.into_iter().map(from_row).collect())
}

/// Fails with MySQL error 1062 when the email is taken (any case: the column's
/// collation is case-insensitive).
pub async fn insert(conn: &mut Conn, user: &NewUser) -> Result<u64, mysql_async::Error> {
    conn.exec_drop("INSERT INTO users (email, is_active) VALUES (?, ?)", (&user.email, user.is_active)).await?;
    Ok(conn.last_insert_id().unwrap_or(0))
}
