//! Talking to a MariaDB node by address: the `mariadb` command-line client for
//! SQL (over TCP, `--no-defaults` so Debian's client config does not leak in)
//! and a greeting probe for "is it up".

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::error::Result;
use crate::process::run;

/// How long one SQL command may take before it is killed (a paused server
/// accepts connections and never answers).
pub const SQL_TIMEOUT: Duration = Duration::from_secs(10);

/// One result row: column name to value as the client prints it in batch
/// mode (`NULL` for NULL; tabs, newlines and backslashes escaped).
pub type Row = BTreeMap<String, String>;

/// Runs `sql` as `user` on the node at `addr` and returns stdout
/// (`--batch --skip-column-names`: one line per row, tab-separated).
pub(crate) fn sql_at(client: &Path, addr: SocketAddr, user: &str, password: &str, sql: &str) -> Result<String> {
    let mut cmd = client_command(client, addr, user, password);
    cmd.args(["--skip-column-names", &format!("--execute={sql}")]);
    run(&mut cmd, &label(addr, user, sql), SQL_TIMEOUT)
}

/// Runs `sql` and returns its rows keyed by column name.
pub(crate) fn rows_at(client: &Path, addr: SocketAddr, user: &str, password: &str, sql: &str) -> Result<Vec<Row>> {
    let mut cmd = client_command(client, addr, user, password);
    cmd.arg(format!("--execute={sql}"));
    run(&mut cmd, &label(addr, user, sql), SQL_TIMEOUT).map(|out| parse_batch(&out))
}

fn client_command(client: &Path, addr: SocketAddr, user: &str, password: &str) -> Command {
    let mut cmd = Command::new(client);
    cmd.args([
        "--no-defaults".to_string(),
        "--protocol=TCP".into(),
        format!("--host={}", addr.ip()),
        format!("--port={}", addr.port()),
        format!("--user={user}"),
        format!("--password={password}"),
        "--connect-timeout=2".into(),
        "--batch".into(),
    ]);
    cmd
}

fn label(addr: SocketAddr, user: &str, sql: &str) -> String {
    format!("mariadb -u {user} -h {} -P {} -e \"{sql}\"", addr.ip(), addr.port())
}

/// Parses `--batch` output with a header line into rows.
pub fn parse_batch(output: &str) -> Vec<Row> {
    let mut lines = output.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let columns: Vec<&str> = header.split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|line| columns.iter().map(|c| c.to_string()).zip(line.split('\t').map(str::to_string)).collect())
        .collect()
}

/// `Ok` once the node at `addr` sends its handshake greeting. mariadbd opens
/// its port only after storage engines, recovery and grants are loaded, so a
/// greeting means it accepts logins. `Err` says why not yet.
pub(crate) fn greeting(addr: SocketAddr) -> std::result::Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_millis(1000))).map_err(|e| e.to_string())?;
    // 3-byte length, sequence id, then protocol version 10 (0xff: an error
    // packet such as "too many connections" - alive, but refusing).
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).map_err(|e| format!("no greeting: {e}"))?;
    match head[4] {
        10 => Ok(()),
        0xff => Err("server answered with an error packet".into()),
        other => Err(format!("unexpected greeting byte {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_becomes_rows_keyed_by_column() {
        let rows = parse_batch("Slave_IO_Running\tSlave_SQL_Running\tLast_IO_Error\nYes\tYes\t\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Slave_IO_Running"], "Yes");
        assert_eq!(rows[0]["Slave_SQL_Running"], "Yes");
        assert_eq!(rows[0]["Last_IO_Error"], "");
    }

    #[test]
    fn empty_output_has_no_rows() {
        assert!(parse_batch("").is_empty());
        assert!(parse_batch("a\tb\n").is_empty());
    }

    #[test]
    fn greeting_fails_clearly_when_nothing_listens() {
        let addr = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("port");
        assert!(greeting(addr).is_err());
    }
}
