//! What `tandem-services up|down|status|start` do, for a tier that outlives
//! the command: `up` detaches the servers and records them in the
//! directory, `down`, `status` and `start` work from that record alone.

mod serve;
mod start;
mod status;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

pub use self::serve::{master_at_start, prepare, serve, ServeKind, ServeOptions};
pub use self::start::start;
pub use self::status::{mariadb_role, porcelain_line, redis_role, status, status_porcelain};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::process::{pid_runs, signal_pid, POLL};
use crate::state::{env_text, read_state, records, write_state, Kind, Record, ENV_FILE};
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
    /// The address every server listens on ([`DataTierOptions::host`]).
    pub host: Ipv4Addr,
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
        host: opts.host,
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
    write_state(&dir, &records(&tier))?;
    let took = tier.started_in();
    let env = tier.env();
    let servers = records(&tier);
    tier.detach();

    println!("data tier up in {} ms in {}", took.as_millis(), dir.display());
    for r in &servers {
        println!("  {:<11} {:<21} pid {}", r.name, r.addr(), r.pid);
    }
    println!("\nenvironment ({}; load with `set -a; . {}; set +a`):", env_path.display(), env_path.display());
    for (k, v) in &env {
        println!("{k}={v}");
    }
    println!(
        "\nstatus:  tandem-services status --dir {0}\nrestart: tandem-services start --dir {0} NAME   (one stopped server)\n\
         stop:    tandem-services down --dir {0}   (or: make services-down)",
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
