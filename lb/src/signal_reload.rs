//! `tandem reload -c FILE`: check the file, send `SIGHUP` to the process in
//! the file's `pid_file`, and report what the process made of it (read from
//! its admin listener's `/status.json`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::config::Config;
use crate::control::read_pid_file;

/// How long to wait for the running process to report the reload.
const REPORT_WAIT: Duration = Duration::from_secs(10);

pub fn run(path: &Path, config: &Config) -> ExitCode {
    let pid = match read_pid_file(&config.pid_file) {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!(
                "tandem: cannot read the pid file {}: {e}; is tandem running with this config?",
                config.pid_file.display()
            );
            return ExitCode::from(1);
        }
    };
    let before = fetch_status(config.admin.listen);
    if let Some(status) = &before {
        if status["pid"].as_u64() != Some(u64::from(pid)) {
            eprintln!(
                "tandem: the pid file says {pid} but the tandem on {} is pid {}: stale pid file, not signalling",
                config.admin.listen, status["pid"]
            );
            return ExitCode::from(1);
        }
        let running = status["config"]["path"].as_str().unwrap_or("");
        if Path::new(running) != path {
            eprintln!("tandem: note: pid {pid} re-reads its own file {running}, not {}", path.display());
        }
    }
    if let Err(e) = kill(Pid::from_raw(pid as i32), Signal::SIGHUP) {
        eprintln!("tandem: cannot signal pid {pid}: {e}");
        return ExitCode::from(1);
    }
    let Some(before) = before else {
        println!("tandem: sent SIGHUP to pid {pid} (admin listener {} not reachable: no report)", config.admin.listen);
        return ExitCode::SUCCESS;
    };
    let attempts = |s: &serde_json::Value| {
        s["config"]["reloads_ok"].as_u64().unwrap_or(0) + s["config"]["reloads_failed"].as_u64().unwrap_or(0)
    };
    let deadline = Instant::now() + REPORT_WAIT;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let Some(now) = fetch_status(config.admin.listen) else { continue };
        if attempts(&now) <= attempts(&before) {
            continue;
        }
        let last = &now["config"]["last_reload"];
        if last["ok"].as_bool() == Some(true) {
            println!("tandem: pid {pid} reloaded, generation {}", now["config"]["generation"]);
            if let Some(keys) = last["needs_upgrade"].as_array().filter(|k| !k.is_empty()) {
                let keys: Vec<&str> = keys.iter().filter_map(|k| k.as_str()).collect();
                println!(
                    "tandem: {} changed and needs a graceful upgrade (see README, Graceful upgrade)",
                    keys.join(", ")
                );
            }
            return ExitCode::SUCCESS;
        }
        eprintln!("tandem: pid {pid} rejected the new config and keeps the old one:");
        for e in last["errors"].as_array().into_iter().flatten() {
            eprintln!("{}", e.as_str().unwrap_or(""));
        }
        return ExitCode::from(1);
    }
    eprintln!("tandem: sent SIGHUP to pid {pid} but saw no reload reported within {REPORT_WAIT:?}");
    ExitCode::from(1)
}

/// GET /status.json from the admin listener, or `None`.
fn fetch_status(admin: SocketAddr) -> Option<serde_json::Value> {
    let mut stream = TcpStream::connect_timeout(&admin, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"GET /status.json HTTP/1.1\r\nHost: tandem\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let start = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    serde_json::from_slice(&response[start..]).ok()
}
