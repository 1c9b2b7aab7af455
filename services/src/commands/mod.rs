//! What `tandem-services up|down|status` do, for a tier that outlives the
//! command: `up` detaches the servers and records them in the directory,
//! `down` and `status` work from that record alone.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER};
use crate::error::{Error, Result};
use crate::mariadb::{rows_at, sql_at};
use crate::ports::Ports;
use crate::process::{find_program, pid_runs, signal_pid, POLL};
use crate::redis::{cli_at, info_field, parse_info};
use crate::sentinel::master_addr_at;
use crate::state::{env_text, read_state, records, state_text, Kind, Record, ENV_FILE, STATE_FILE};
use crate::tier::tier_env;
use crate::{DataTier, DataTierOptions};

/// Default directory of a development tier.
pub const DEFAULT_DIR: &str = "/tmp/tandem-services";
/// How long `down` waits after SIGTERM before SIGKILL.
pub const DOWN_GRACE: Duration = Duration::from_secs(30);

/// `tandem-services up`: what to start, where.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dir: PathBuf,
    pub replicas: usize,
    pub ports: Ports,
    pub semi_sync: bool,
}

/// Starts a detached tier in `opts.dir`, writes `env` and the state file,
/// and prints the environment. Refuses if the directory holds a running
/// tier; a stale one (all its servers gone) is cleared first.
pub fn up(opts: &UpOptions) -> Result<()> {
    let dir = &opts.dir;
    if let Some(recorded) = read_state(dir)? {
        let running: Vec<String> = recorded
            .iter()
            .filter(|r| pid_runs(r.pid, &r.program))
            .map(|r| format!("{} (pid {})", r.name, r.pid))
            .collect();
        if !running.is_empty() {
            return Err(Error::Invalid(format!(
                "{} already has a running tier: {}. Stop it first: tandem-services down --dir {}",
                dir.display(),
                running.join(", "),
                dir.display()
            )));
        }
        println!("clearing a stale tier in {} (none of its servers runs)", dir.display());
        std::fs::remove_dir_all(dir).map_err(Error::io_at("remove", dir))?;
    }
    // Ours to remove again if the start fails: new or empty now.
    let ours = std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()).unwrap_or(true);
    let started = DataTier::start(DataTierOptions {
        dir: Some(dir.clone()),
        replicas: opts.replicas,
        ports: opts.ports,
        semi_sync: opts.semi_sync,
        own_process_group: true,
    });
    let tier = match started {
        Ok(tier) => tier,
        Err(e) => {
            if ours {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(e);
        }
    };
    let dir = tier.dir().to_path_buf();
    let env_path = dir.join(ENV_FILE);
    std::fs::write(&env_path, env_text(&tier.env())).map_err(Error::io_at("write", &env_path))?;
    let state_path = dir.join(STATE_FILE);
    std::fs::write(&state_path, state_text(&records(&tier))).map_err(Error::io_at("write", &state_path))?;
    let took = tier.started_in();
    let env = tier.env();
    let servers = records(&tier);
    tier.detach();

    println!("data tier up in {} ms in {}", took.as_millis(), dir.display());
    for r in &servers {
        println!("  {:<11} 127.0.0.1:{:<5} pid {}", r.name, r.port, r.pid);
    }
    println!("\nenvironment ({}; load with `set -a; . {}; set +a`):", env_path.display(), env_path.display());
    for (k, v) in &env {
        println!("{k}={v}");
    }
    println!(
        "\nstatus: tandem-services status --dir {0}\nstop:   tandem-services down --dir {0}   (or: make services-down)",
        dir.display()
    );
    Ok(())
}

/// Stops the servers recorded in `dir` (Sentinels first, so none fails
/// over while the rest stops): SIGTERM, up to [`DOWN_GRACE`], then SIGKILL.
/// Then removes the directory. Nothing recorded is not an error.
pub fn down(dir: &Path) -> Result<()> {
    let Some(recorded) = read_state(dir)? else {
        println!("nothing to stop: no tandem-services tier in {}", dir.display());
        return Ok(());
    };
    let (sentinels, rest): (Vec<Record>, Vec<Record>) =
        recorded.into_iter().partition(|r| r.kind() == Some(Kind::Sentinel));
    let mut stuck = stop_all(&sentinels);
    stuck.extend(stop_all(&rest));
    if !stuck.is_empty() {
        return Err(Error::Invalid(format!(
            "still running after SIGKILL: {}; {} kept",
            stuck.join(", "),
            dir.display()
        )));
    }
    std::fs::remove_dir_all(dir).map_err(Error::io_at("remove", dir))?;
    println!("removed {}", dir.display());
    Ok(())
}

/// Terminates the running ones among `records`; returns those that survive
/// even SIGKILL.
fn stop_all(records: &[Record]) -> Vec<String> {
    let running: Vec<&Record> = records.iter().filter(|r| pid_runs(r.pid, &r.program)).collect();
    for r in records.iter().filter(|r| !running.contains(r)) {
        println!("{} (pid {}) was not running", r.name, r.pid);
    }
    for r in &running {
        signal_pid(r.pid, Signal::SIGTERM);
        signal_pid(r.pid, Signal::SIGCONT); // a paused server must run to act on SIGTERM
    }
    let alive = |rs: &[&Record]| rs.iter().filter(|r| pid_runs(r.pid, &r.program)).count();
    let began = Instant::now();
    wait_while(|| alive(&running) > 0, DOWN_GRACE);
    for r in &running {
        if pid_runs(r.pid, &r.program) {
            println!("{} (pid {}) ignored SIGTERM for {DOWN_GRACE:?}: SIGKILL", r.name, r.pid);
            signal_pid(r.pid, Signal::SIGKILL);
        }
    }
    wait_while(|| alive(&running) > 0, Duration::from_secs(5));
    let mut stuck = Vec::new();
    for r in &running {
        if pid_runs(r.pid, &r.program) {
            stuck.push(format!("{} (pid {})", r.name, r.pid));
        } else {
            println!("stopped {} (pid {}) in {} ms", r.name, r.pid, began.elapsed().as_millis());
        }
    }
    stuck
}

fn wait_while(mut condition: impl FnMut() -> bool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while condition() && Instant::now() < deadline {
        thread::sleep(POLL);
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
                Some(Kind::MariaDb) => describe_mariadb(&client, r.port),
                Some(Kind::Redis) => describe_redis(&cli, r.port),
                Some(Kind::Sentinel) => describe_sentinel(&cli, r.port),
                None => Ok(String::new()),
            };
            described.unwrap_or_else(|e| format!("not answering: {e}"))
        };
        println!(
            "  {:<11} 127.0.0.1:{:<5} pid {:<7} {:<4} {detail}",
            r.name,
            r.port,
            r.pid,
            if up { "up" } else { "DOWN" }
        );
    }
    let ports = |kind| recorded.iter().filter(|r| r.kind() == Some(kind)).map(|r| r.port).collect::<Vec<_>>();
    println!("\nenvironment: {} (same as:)", dir.join(ENV_FILE).display());
    for (k, v) in tier_env(&ports(Kind::MariaDb), &ports(Kind::Sentinel)) {
        println!("  {k}={v}");
    }
    Ok(all_up)
}

fn describe_mariadb(client: &Path, port: u16) -> Result<String> {
    let sql = |q: &str| sql_at(client, port, ADMIN_USER, ADMIN_PASSWORD, q);
    let vars = sql("SELECT @@global.read_only, @@global.gtid_binlog_pos, @@global.gtid_slave_pos")?;
    let vars: Vec<&str> = vars.trim_end_matches('\n').split('\t').collect();
    let get = |i: usize| vars.get(i).copied().unwrap_or("?");
    let mut text = format!("read_only={} gtid_binlog_pos={:?} gtid_slave_pos={:?}", get(0), get(1), get(2));
    let status = rows_at(client, port, ADMIN_USER, ADMIN_PASSWORD, "SHOW SLAVE STATUS")?;
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
        port,
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

fn describe_redis(cli: &Path, port: u16) -> Result<String> {
    let info = parse_info(&cli_at(cli, port, &["INFO", "replication"])?);
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

fn describe_sentinel(cli: &Path, port: u16) -> Result<String> {
    Ok(match master_addr_at(cli, port)? {
        Some(addr) => format!("master {} = {addr}", DataTier::REDIS_MASTER_NAME),
        None => format!("knows no master {}", DataTier::REDIS_MASTER_NAME),
    })
}
