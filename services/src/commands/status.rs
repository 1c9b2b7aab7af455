//! `tandem-services status`: what each recorded server says now, as a
//! report for people or (`--porcelain`) one stable line per server for
//! scripts.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER};
use crate::error::Result;
use crate::mariadb::{rows_at, sql_at};
use crate::ports::LOOPBACK;
use crate::process::{find_program, pid_runs};
use crate::redis::{cli_at, info_field, parse_info};
use crate::sentinel::master_addr_at;
use crate::state::{read_state, Kind, Record, ENV_FILE};
use crate::tier::tier_env;
use crate::DataTier;

/// `status --porcelain`: one line per recorded server, in state-file order
/// (MariaDB nodes, Redis, Sentinels), nothing else on stdout:
///
/// ```text
/// name<TAB>kind<TAB>host:port<TAB>pid<TAB>up|down<TAB>role
/// ```
///
/// `kind` is `mariadb`, `redis` or `sentinel`; `pid` the recorded one;
/// `role` is what the server says now: `master` or `replica` (MariaDB by
/// `@@global.read_only`, 0 = master; Redis by `INFO replication`),
/// `sentinel`, or `-` when it is down or does not answer. Returns false
/// (after a message on stderr) only when `dir` holds no tier; servers being
/// down is reported, not an error. A reader that stops reading (`| head -1`)
/// ends the output quietly.
pub fn status_porcelain(dir: &Path) -> Result<bool> {
    let Some(recorded) = read_state(dir)? else {
        eprintln!("no tandem-services tier in {}", dir.display());
        return Ok(false);
    };
    let client = find_program("mariadb", "mariadb-client")?;
    let cli = find_program("redis-cli", "redis-tools")?;
    for r in &recorded {
        let up = pid_runs(r.pid, &r.program);
        let role = if !up {
            "-"
        } else {
            match r.kind() {
                Some(Kind::MariaDb) => {
                    sql_at(&client, r.addr(), ADMIN_USER, ADMIN_PASSWORD, "SELECT @@global.read_only")
                        .map_or("-", |out| mariadb_role(&out))
                }
                Some(Kind::Redis) => cli_at(&cli, r.addr(), &["INFO", "replication"])
                    .map_or("-", |out| redis_role(info_field(&parse_info(&out), "role"))),
                Some(Kind::Sentinel) => match cli_at(&cli, r.addr(), &["PING"]) {
                    Ok(out) if out.trim() == "PONG" => "sentinel",
                    _ => "-",
                },
                None => "-",
            }
        };
        if writeln!(std::io::stdout(), "{}", porcelain_line(r, up, role)).is_err() {
            break;
        }
    }
    Ok(true)
}

/// One `--porcelain` line (without the newline).
pub fn porcelain_line(r: &Record, up: bool, role: &str) -> String {
    let kind = r.kind().map_or("-", Kind::as_str);
    let state = if up { "up" } else { "down" };
    format!("{}\t{kind}\t{}\t{}\t{state}\t{role}", r.name, r.addr(), r.pid)
}

/// A MariaDB node's role from `SELECT @@global.read_only` output: `master`
/// for 0, `replica` for 1, `-` otherwise.
pub fn mariadb_role(read_only: &str) -> &'static str {
    match read_only.trim() {
        "0" => "master",
        "1" => "replica",
        _ => "-",
    }
}

/// A Redis server's role from `INFO replication`'s `role`: `master`,
/// `replica` (for `slave`), `-` otherwise.
pub fn redis_role(role: &str) -> &'static str {
    match role {
        "master" => "master",
        "slave" => "replica",
        _ => "-",
    }
}

/// Prints each recorded server: up or down, and its role. Returns true when
/// every server runs.
pub fn status(dir: &Path) -> Result<bool> {
    let Some(recorded) = read_state(dir)? else {
        println!("no tandem-services tier in {}", dir.display());
        return Ok(false);
    };
    let client = find_program("mariadb", "mariadb-client")?;
    let cli = find_program("redis-cli", "redis-tools")?;
    let mut all_up = true;
    println!("tier in {}", dir.display());
    for r in &recorded {
        let up = pid_runs(r.pid, &r.program);
        all_up &= up;
        let detail = if !up {
            String::new()
        } else {
            let described = match r.kind() {
                Some(Kind::MariaDb) => describe_mariadb(&client, r.addr()),
                Some(Kind::Redis) => describe_redis(&cli, r.addr()),
                Some(Kind::Sentinel) => describe_sentinel(&cli, r.addr()),
                None => Ok(String::new()),
            };
            described.unwrap_or_else(|e| format!("not answering: {e}"))
        };
        println!("  {:<11} {:<21} pid {:<7} {:<4} {detail}", r.name, r.addr(), r.pid, if up { "up" } else { "DOWN" });
    }
    let ports = |kind| recorded.iter().filter(|r| r.kind() == Some(kind)).map(|r| r.port).collect::<Vec<_>>();
    println!("\nenvironment: {} (same as:)", dir.join(ENV_FILE).display());
    let host = recorded.first().map_or(LOOPBACK, |r| r.host);
    for (k, v) in tier_env(host, &ports(Kind::MariaDb), &ports(Kind::Sentinel)) {
        println!("  {k}={v}");
    }
    Ok(all_up)
}

fn describe_mariadb(client: &Path, addr: SocketAddr) -> Result<String> {
    let sql = |q: &str| sql_at(client, addr, ADMIN_USER, ADMIN_PASSWORD, q);
    let vars = sql("SELECT @@global.read_only, @@global.gtid_binlog_pos, @@global.gtid_slave_pos")?;
    let vars: Vec<&str> = vars.trim_end_matches('\n').split('\t').collect();
    let get = |i: usize| vars.get(i).copied().unwrap_or("?");
    let mut text = format!("read_only={} gtid_binlog_pos={:?} gtid_slave_pos={:?}", get(0), get(1), get(2));
    let status = rows_at(client, addr, ADMIN_USER, ADMIN_PASSWORD, "SHOW SLAVE STATUS")?;
    if let Some(row) = status.first() {
        let f = |k: &str| row.get(k).map(String::as_str).unwrap_or("?");
        text.push_str(&format!(
            " | replica of {}:{} io={} sql={} behind={} gtid_io_pos={:?}",
            f("Master_Host"),
            f("Master_Port"),
            f("Slave_IO_Running"),
            f("Slave_SQL_Running"),
            f("Seconds_Behind_Master"),
            f("Gtid_IO_Pos")
        ));
        for key in ["Last_IO_Error", "Last_SQL_Error"] {
            if !f(key).is_empty() {
                text.push_str(&format!(" {key}={:?}", f(key)));
            }
        }
    }
    let semi = rows_at(
        client,
        addr,
        ADMIN_USER,
        ADMIN_PASSWORD,
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')",
    )?;
    let value = |name: &str| {
        semi.iter().find(|r| r.get("Variable_name").is_some_and(|n| n == name)).and_then(|r| r.get("Value").cloned())
    };
    if value("Rpl_semi_sync_master_status").as_deref() == Some("ON") {
        text.push_str(&format!(
            " | semi-sync master ON, {} replica(s)",
            value("Rpl_semi_sync_master_clients").unwrap_or_default()
        ));
    }
    Ok(text)
}

fn describe_redis(cli: &Path, addr: SocketAddr) -> Result<String> {
    let info = parse_info(&cli_at(cli, addr, &["INFO", "replication"])?);
    Ok(match info_field(&info, "role") {
        "master" => format!("master, {} replica(s)", info_field(&info, "connected_slaves")),
        role => format!(
            "{role} of {}:{} link={}",
            info_field(&info, "master_host"),
            info_field(&info, "master_port"),
            info_field(&info, "master_link_status")
        ),
    })
}

fn describe_sentinel(cli: &Path, addr: SocketAddr) -> Result<String> {
    Ok(match master_addr_at(cli, addr)? {
        Some(addr) => format!("master {} = {addr}", DataTier::REDIS_MASTER_NAME),
        None => format!("knows no master {}", DataTier::REDIS_MASTER_NAME),
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn record(name: &str, host: Ipv4Addr, port: u16) -> Record {
        Record { name: name.into(), host, port, pid: 4242, program: "/usr/sbin/mariadbd".into(), launch: None }
    }

    #[test]
    fn porcelain_lines_are_six_tab_separated_fields() {
        let r = record("mariadb-1", Ipv4Addr::new(10, 231, 0, 30), 13307);
        assert_eq!(porcelain_line(&r, true, "replica"), "mariadb-1\tmariadb\t10.231.0.30:13307\t4242\tup\treplica");
        let r = record("sentinel-2", LOOPBACK, 26481);
        assert_eq!(porcelain_line(&r, false, "-"), "sentinel-2\tsentinel\t127.0.0.1:26481\t4242\tdown\t-");
        assert_eq!(porcelain_line(&record("redis-0", LOOPBACK, 1), true, "master").split('\t').count(), 6);
    }

    #[test]
    fn roles_come_from_read_only_and_info_replication() {
        assert_eq!(mariadb_role("0\n"), "master");
        assert_eq!(mariadb_role("1\n"), "replica");
        assert_eq!(mariadb_role(""), "-");
        assert_eq!(redis_role("master"), "master");
        assert_eq!(redis_role("slave"), "replica");
        assert_eq!(redis_role("-"), "-");
    }
}
