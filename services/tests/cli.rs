//! `tandem-services up`, `status`, `down` on free ports in a scratch directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem-services")).args(args).output().expect("run tandem-services")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `down` when the test ends, even on panic: `up` detaches its servers.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = run(&["down", "--dir", &self.0.to_string_lossy()]);
    }
}

fn recorded_pids(dir: &Path) -> Vec<u32> {
    let state = std::fs::read_to_string(dir.join("tandem-services.state")).expect("state file");
    state
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').nth(2).expect("pid").parse().expect("pid"))
        .collect()
}

#[test]
fn up_detaches_a_tier_that_status_reports_and_down_stops() {
    let dir = std::env::temp_dir().join(format!("tandem-services-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().to_string();
    let _down = Down(dir.clone());

    let up = run(&["up", "--dir", &d, "--free-ports"]);
    assert!(up.status.success(), "{}", text(&up));
    let env = std::fs::read_to_string(dir.join("env")).expect("env file");
    for key in [
        "TANDEM_APP_DB_NODES=mysql://app:app@127.0.0.1:",
        "TANDEM_APP_SENTINELS=127.0.0.1:",
        "TANDEM_APP_REDIS_MASTER=mymaster",
    ] {
        assert!(env.contains(key), "{key} in\n{env}");
    }
    let pids = recorded_pids(&dir);
    assert_eq!(pids.len(), 7);

    let again = run(&["up", "--dir", &d, "--free-ports"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already has a running tier"), "{}", text(&again));

    let status = run(&["status", "--dir", &d]);
    let report = text(&status);
    assert!(status.status.success(), "{report}");
    assert!(report.contains("read_only=0") && report.contains("io=Yes sql=Yes"), "{report}");
    assert!(report.contains("master mymaster = 127.0.0.1:"), "{report}");

    let down = run(&["down", "--dir", &d]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(!dir.exists());
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie_or_gone = stat.rsplit_once(") ").is_none_or(|(_, rest)| rest.starts_with('Z'));
        assert!(zombie_or_gone, "pid {pid} still runs: {stat}");
    }

    let idle = run(&["down", "--dir", &d]);
    assert!(idle.status.success());
    assert!(text(&idle).contains("nothing to stop"), "{}", text(&idle));
}
