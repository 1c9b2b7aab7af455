//! `tandem-services start` and `status --porcelain` against a detached tier
//! on free ports: a Redis master killed with SIGKILL comes back as a replica
//! of the master the Sentinels promoted, a killed MariaDB replica comes back
//! read-only, a restarted Sentinel rejoins, a start that cannot work says
//! why and where the logs are, and the state file follows the new PIDs.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{run, text, Down};

/// One `status --porcelain` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    name: String,
    kind: String,
    addr: String,
    pid: u32,
    up: bool,
    role: String,
}

fn porcelain(dir: &str) -> Vec<Line> {
    let out = run(&["status", "--dir", dir, "--porcelain"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stderr.is_empty(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "{l:?}");
            assert!(f[4] == "up" || f[4] == "down", "{l:?}");
            Line {
                name: f[0].into(),
                kind: f[1].into(),
                addr: f[2].into(),
                pid: f[3].parse().expect("pid"),
                up: f[4] == "up",
                role: f[5].into(),
            }
        })
        .collect()
}

fn line(dir: &str, name: &str) -> Line {
    porcelain(dir).into_iter().find(|l| l.name == name).unwrap_or_else(|| panic!("no {name}"))
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "not {what} after {timeout:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn kill9(pid: u32) {
    let status = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
    assert!(status.success(), "kill -KILL {pid}");
}

fn redis_cli(addr: &str, args: &[&str]) -> String {
    let (host, port) = addr.split_once(':').expect("host:port");
    let out = Command::new("redis-cli").args(["-h", host, "-p", port]).args(args).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn info_field(info: &str, key: &str) -> String {
    info.lines().find_map(|l| l.trim_end().strip_prefix(&format!("{key}:"))).unwrap_or("-").to_string()
}

#[test]
fn start_brings_back_a_killed_redis_master_as_a_replica_and_a_killed_mariadb_replica_read_only() {
    let dir = std::env::temp_dir().join(format!("tandem-services-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().to_string();
    let _down = Down(dir.clone());
    let up = run(&["up", "--dir", &d, "--free-ports"]);
    assert!(up.status.success(), "{}", text(&up));

    // Porcelain: every server, in order, with its role.
    let all = porcelain(&d);
    let summary: Vec<(&str, &str, bool, &str)> =
        all.iter().map(|l| (l.name.as_str(), l.kind.as_str(), l.up, l.role.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("mariadb-0", "mariadb", true, "master"),
            ("mariadb-1", "mariadb", true, "replica"),
            ("redis-0", "redis", true, "master"),
            ("redis-1", "redis", true, "replica"),
            ("sentinel-0", "sentinel", true, "sentinel"),
            ("sentinel-1", "sentinel", true, "sentinel"),
            ("sentinel-2", "sentinel", true, "sentinel"),
        ]
    );
    assert!(all.iter().all(|l| l.addr.starts_with("127.0.0.1:")), "{all:?}");

    // A running server is left alone.
    let again = run(&["start", "--dir", &d, "redis-0"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("redis-0 already runs"), "{}", text(&again));
    let unknown = run(&["start", "--dir", &d, "redis-7"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("mariadb-0, mariadb-1, redis-0, redis-1"), "{}", text(&unknown));

    // Kill the Redis master; the Sentinels promote redis-1.
    let (old, new) = (line(&d, "redis-0"), line(&d, "redis-1"));
    kill9(old.pid);
    let sentinels: Vec<String> = all.iter().filter(|l| l.kind == "sentinel").map(|l| l.addr.clone()).collect();
    eventually("failed over to redis-1", Duration::from_secs(30), || {
        sentinels.iter().all(|s| {
            let named = redis_cli(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
            named.split_whitespace().collect::<Vec<_>>().join(":") == new.addr
        })
    });
    eventually("redis-1 promoted", Duration::from_secs(10), || line(&d, "redis-1").role == "master");
    let down = line(&d, "redis-0");
    assert!(!down.up && down.role == "-", "{down:?}");

    // `start` brings it back as a replica of the new master, never a second master.
    let started = run(&["start", "--dir", &d, "redis-0"]);
    assert!(started.status.success(), "{}", text(&started));
    assert!(text(&started).contains(&format!("replica of {}", new.addr)), "{}", text(&started));
    let redis_back = line(&d, "redis-0");
    assert!(redis_back.up && redis_back.role == "replica" && redis_back.pid != old.pid, "{redis_back:?}");
    eventually("redis-0 replicating from redis-1", Duration::from_secs(10), || {
        let info = redis_cli(&old.addr, &["INFO", "replication"]);
        info_field(&info, "master_link_status") == "up"
    });
    let info = redis_cli(&old.addr, &["INFO", "replication"]);
    assert_eq!(format!("{}:{}", info_field(&info, "master_host"), info_field(&info, "master_port")), new.addr);
    // The Sentinels keep it that way (they would demote a second master).
    thread::sleep(Duration::from_secs(2));
    let redis: Vec<(String, String)> =
        porcelain(&d).into_iter().filter(|l| l.kind == "redis").map(|l| (l.name, l.role)).collect();
    assert_eq!(redis, [("redis-0".to_string(), "replica".to_string()), ("redis-1".to_string(), "master".to_string())]);

    // Kill the MariaDB replica; `start` brings it back read-only.
    let replica = line(&d, "mariadb-1");
    kill9(replica.pid);
    eventually("mariadb-1 down", Duration::from_secs(10), || !line(&d, "mariadb-1").up);
    let started = run(&["start", "--dir", &d, "mariadb-1"]);
    assert!(started.status.success(), "{}", text(&started));
    assert!(text(&started).contains("read_only=1"), "{}", text(&started));
    let back = line(&d, "mariadb-1");
    assert!(back.up && back.role == "replica" && back.pid != replica.pid, "{back:?}");
    let (host, port) = back.addr.split_once(':').expect("host:port");
    let out = Command::new("mariadb")
        .args(["--no-defaults", "--protocol=TCP", &format!("-h{host}"), &format!("-P{port}"), "-uadmin", "-padmin"])
        .args(["--skip-column-names", "-e", "SELECT @@global.read_only"])
        .output()
        .expect("mariadb");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(line(&d, "mariadb-0").role, "master");

    // A Sentinel whose port another process holds is refused before it starts.
    let s2 = line(&d, "sentinel-2");
    kill9(s2.pid);
    eventually("sentinel-2 down", Duration::from_secs(10), || !line(&d, "sentinel-2").up);
    let holder = TcpListener::bind(s2.addr.as_str()).expect("hold the port");
    let refused = run(&["start", "--dir", &d, "sentinel-2"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains(&format!("sentinel-2 cannot listen on {}", s2.addr)), "{}", text(&refused));
    drop(holder);
    let started = run(&["start", "--dir", &d, "sentinel-2"]);
    assert!(started.status.success(), "{}", text(&started));
    assert!(text(&started).contains(&format!("names {} the master", new.addr)), "{}", text(&started));
    assert_eq!(line(&d, "sentinel-2").role, "sentinel");

    // A server that cannot start: the error quotes and names its logs.
    let s1 = line(&d, "sentinel-1");
    kill9(s1.pid);
    eventually("sentinel-1 down", Duration::from_secs(10), || !line(&d, "sentinel-1").up);
    std::fs::write(dir.join("sentinel-1").join("sentinel.conf"), "no-such-directive yes\n").expect("break config");
    let failed = run(&["start", "--dir", &d, "sentinel-1"]);
    let report = text(&failed);
    assert!(!failed.status.success(), "{report}");
    assert!(report.contains("sentinel-1: exit status") && report.contains("sentinel-1/sentinel.out"), "{report}");
    assert!(report.contains("no-such-directive"), "{report}");
    assert_eq!(line(&d, "sentinel-1").pid, s1.pid, "a failed start records nothing");

    // `down` stops the restarted servers by their new PIDs.
    let down = run(&["down", "--dir", &d]);
    let report = text(&down);
    assert!(down.status.success(), "{report}");
    for (name, pid) in [("redis-0", redis_back.pid), ("mariadb-1", back.pid)] {
        assert!(report.contains(&format!("stopped {name} (pid {pid})")), "{report}");
    }
    assert!(!dir.exists());
}
