//! `tandem-services up`, `status`, `down` on free ports in a scratch directory,
//! on 127.0.0.1 and on another address (`--host 127.0.0.2`: all of 127/8 is
//! local on Linux).

mod common;

use std::path::Path;

use common::{run, text, Down};

fn recorded_pids(dir: &Path) -> Vec<u32> {
    let state = std::fs::read_to_string(dir.join("tandem-services.state")).expect("state file");
    state
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(3).expect("pid").parse().expect("pid"))
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

#[test]
fn up_on_another_address_records_it_for_status_and_the_env() {
    let dir = std::env::temp_dir().join(format!("tandem-services-cli-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().to_string();
    let _down = Down(dir.clone());

    let up = run(&["up", "--dir", &d, "--free-ports", "--host", "127.0.0.2"]);
    assert!(up.status.success(), "{}", text(&up));
    let env = std::fs::read_to_string(dir.join("env")).expect("env file");
    for key in [
        "TANDEM_APP_DB_NODES=mysql://app:app@127.0.0.2:",
        "TANDEM_APP_SENTINELS=127.0.0.2:",
        "TANDEM_DBCTL_NODES=mysql://admin:admin@127.0.0.2:",
    ] {
        assert!(env.contains(key), "{key} in\n{env}");
    }
    assert!(!env.contains("127.0.0.1"), "{env}");

    let porcelain = run(&["status", "--dir", &d, "--porcelain"]);
    let out = String::from_utf8_lossy(&porcelain.stdout).to_string();
    assert!(porcelain.status.success(), "{}", text(&porcelain));
    assert_eq!(out.lines().count(), 7, "{out}");
    assert!(out.lines().all(|l| l.split('\t').nth(2).is_some_and(|a| a.starts_with("127.0.0.2:"))), "{out}");

    let status = run(&["status", "--dir", &d]);
    let report = text(&status);
    assert!(status.status.success(), "{report}");
    assert!(report.contains("master mymaster = 127.0.0.2:"), "{report}");
    assert!(report.contains("replica of 127.0.0.2:"), "{report}");

    let down = run(&["down", "--dir", &d]);
    assert!(down.status.success(), "{}", text(&down));
}

#[test]
fn bad_arguments_and_missing_tiers_are_refused() {
    let out = run(&["up", "--host", "localhost"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--host"), "{}", text(&out));
    let out = run(&["start"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("NAME"), "{}", text(&out));

    let none = std::env::temp_dir().join(format!("tandem-services-cli-none-{}", std::process::id()));
    let none = none.to_string_lossy().to_string();
    let out = run(&["status", "--dir", &none, "--porcelain"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = run(&["start", "--dir", &none, "redis-0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no tandem-services tier"), "{}", text(&out));
}
