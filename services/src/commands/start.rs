//! `tandem-services start NAME`: runs one recorded server again after a
//! crash, a kill or a drill, as `up` first started it: same program, command
//! line, config file and data directory, in its own process group so it
//! outlives the command. Its new PID goes into the state file.
//!
//! - A MariaDB node comes back read-only and not replicating (its my.cnf:
//!   `read-only=ON`, `skip-slave-start`), so it cannot be a second writable
//!   master; the promotion controller (`tandem-dbctl`) rejoins it as a replica.
//! - A Redis server comes back as a replica of the master the Sentinels name
//!   (`--replicaof`, on top of its config file) unless they name this server
//!   itself: an old master restarted from its config alone would be a second
//!   writable master until the Sentinels demote it (~10 s).
//! - A Sentinel comes back with its own rewritten config.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Instant;

use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER};
use crate::error::{Error, Result};
use crate::mariadb::{self, greeting, sql_at};
use crate::process::{find_program, pid_runs, Daemon};
use crate::redis::{self, answered_by, cli_at, info_field, parse_info};
use crate::sentinel::{self, master_addr_at, names_a_master};
use crate::state::{read_state, write_state, Kind, Launch, Record};

/// Starts the recorded server `name` of the tier in `dir` if it does not
/// run, waits until it answers (MariaDB up to [`mariadb::START_TIMEOUT`],
/// 60 s, for crash recovery; Redis [`redis::START_TIMEOUT`] and Sentinel
/// [`sentinel::START_TIMEOUT`], 20 s), records its PID and prints what it
/// is now. Already running is not an error. On failure the new process is
/// killed and the error quotes its logs and names them.
pub fn start(dir: &Path, name: &str) -> Result<()> {
    let Some(mut recorded) = read_state(dir)? else {
        return Err(Error::Invalid(format!("no tandem-services tier in {}", dir.display())));
    };
    let Some(index) = recorded.iter().position(|r| r.name == name) else {
        let names: Vec<&str> = recorded.iter().map(|r| r.name.as_str()).collect();
        return Err(Error::Invalid(format!("{} has no server {name:?}; it has {}", dir.display(), names.join(", "))));
    };
    let r = recorded[index].clone();
    if pid_runs(r.pid, &r.program) {
        println!("{name} already runs (pid {}) on {}", r.pid, r.addr());
        return Ok(());
    }
    let (Some(launch), Some(kind)) = (r.launch.as_ref(), r.kind()) else {
        return Err(Error::Invalid(format!(
            "{name} was recorded by an older tandem-services, without its command line: restart the whole tier \
             (tandem-services down --dir {0}, then up --dir {0})",
            dir.display()
        )));
    };
    if let Err(e) = TcpListener::bind(r.addr()) {
        return Err(Error::Invalid(format!(
            "{name} cannot listen on {} ({e}): another process holds it; stop that first",
            r.addr()
        )));
    }
    let (command, args) = launch.command.split_first().ok_or_else(|| Error::Invalid(format!("{name}: no command")))?;
    let mut daemon = Daemon::new(
        name,
        command.into(),
        args.iter().map(OsString::from).collect(),
        launch.output.clone(),
        launch.log.clone(),
        true,
    );
    let began = Instant::now();
    let detail = match kind {
        Kind::MariaDb => start_mariadb(&mut daemon, r.addr()),
        Kind::Redis => start_redis(&mut daemon, &r, &recorded),
        Kind::Sentinel => start_sentinel(&mut daemon, r.addr()),
    }
    .map_err(|e| naming_logs(e, launch))?;
    let pid = daemon.pid().ok_or_else(|| Error::Invalid(format!("{name}: no pid after start")))?;
    daemon.detach();
    recorded[index].pid = pid;
    write_state(dir, &recorded)?;
    println!("started {name} (pid {pid}) on {} in {} ms: {detail}", r.addr(), began.elapsed().as_millis());
    Ok(())
}

fn start_mariadb(daemon: &mut Daemon, addr: SocketAddr) -> Result<String> {
    let client = find_program("mariadb", "mariadb-client")?;
    daemon.spawn(&[])?;
    let read_only = daemon.wait_until("accepting connections", mariadb::START_TIMEOUT, || {
        greeting(addr)?;
        sql_at(&client, addr, ADMIN_USER, ADMIN_PASSWORD, "SELECT @@global.read_only").map_err(|e| e.to_string())
    })?;
    Ok(match read_only.trim() {
        "1" => "read_only=1, not replicating; the promotion controller (tandem-dbctl) rejoins it as a replica".into(),
        other => format!("read_only={other}: NOT read-only, check read-only=ON in its my.cnf"),
    })
}

fn start_redis(daemon: &mut Daemon, me: &Record, recorded: &[Record]) -> Result<String> {
    let cli = find_program("redis-cli", "redis-tools")?;
    let master = recorded
        .iter()
        .filter(|r| r.kind() == Some(Kind::Sentinel) && pid_runs(r.pid, &r.program))
        .find_map(|s| master_addr_at(&cli, s.addr()).ok().flatten());
    let extra = replicaof_args(me.addr(), master);
    daemon.spawn(&extra.iter().map(OsString::from).collect::<Vec<_>>())?;
    let (addr, pid) = (me.addr(), daemon.pid());
    daemon.wait_until("answering", redis::START_TIMEOUT, || answered_by(&cli, addr, pid))?;
    let role = cli_at(&cli, addr, &["INFO", "replication"]).map(|out| parse_info(&out))?;
    let why = match master {
        Some(m) if m != addr => format!("the Sentinels name {m} the master"),
        Some(_) => "the Sentinels name it the master".to_string(),
        None => "no Sentinel named a master; started from its config".to_string(),
    };
    Ok(match info_field(&role, "role") {
        "slave" => {
            format!("replica of {}:{} ({why})", info_field(&role, "master_host"), info_field(&role, "master_port"))
        }
        other => format!("{other} ({why})"),
    })
}

/// Extra arguments for a restarted Redis at `me`: `--replicaof IP PORT` when
/// the Sentinels name another server the master, none otherwise.
pub(crate) fn replicaof_args(me: SocketAddr, sentinels_master: Option<SocketAddr>) -> Vec<String> {
    match sentinels_master {
        Some(master) if master != me => {
            vec!["--replicaof".into(), master.ip().to_string(), master.port().to_string()]
        }
        _ => Vec::new(),
    }
}

fn start_sentinel(daemon: &mut Daemon, addr: SocketAddr) -> Result<String> {
    let cli = find_program("redis-cli", "redis-tools")?;
    daemon.spawn(&[])?;
    let pid = daemon.pid();
    daemon.wait_until("naming a master", sentinel::START_TIMEOUT, || names_a_master(&cli, addr, pid))?;
    Ok(match master_addr_at(&cli, addr)? {
        Some(m) => format!("names {m} the master"),
        None => "names no master".into(),
    })
}

/// Adds the log files' paths to a process error (its tail quotes only
/// non-empty ones).
fn naming_logs(e: Error, launch: &Launch) -> Error {
    match e {
        Error::Process { name, problem, log_tail } => {
            let mut logs = vec![launch.output.display().to_string()];
            logs.extend(launch.log.as_ref().map(|l| l.display().to_string()));
            Error::Process { name, problem: format!("{problem}; see {}", logs.join(" and ")), log_tail }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_redis_follows_the_master_the_sentinels_name() {
        let me: SocketAddr = "10.231.0.30:16379".parse().expect("addr");
        let other: SocketAddr = "10.231.0.30:16380".parse().expect("addr");
        assert_eq!(replicaof_args(me, Some(other)), ["--replicaof", "10.231.0.30", "16380"]);
        assert!(replicaof_args(me, Some(me)).is_empty());
        assert!(replicaof_args(me, None).is_empty());
    }

    #[test]
    fn process_errors_name_the_logs() {
        let launch = Launch {
            command: vec!["/usr/bin/redis-server".into()],
            output: "/t/redis-0/redis.out".into(),
            log: Some("/t/redis-0/redis.log".into()),
        };
        let e = Error::Process { name: "redis-0".into(), problem: "exited".into(), log_tail: String::new() };
        assert_eq!(
            naming_logs(e, &launch).to_string(),
            "redis-0: exited; see /t/redis-0/redis.out and /t/redis-0/redis.log"
        );
    }
}
