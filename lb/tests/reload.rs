//! Live reload and graceful upgrade against the real binary, under a
//! continuous client loop that must see no failed request.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Clients sending GET / on fresh connections until stopped (or 120 s),
/// counting answers and anything that is not a 200 from an upstream.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<Mutex<Vec<String>>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    fn start(addr: std::net::SocketAddr, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
                let epoch = Instant::now();
                thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(120);
                    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                        let r = std::panic::catch_unwind(|| request(addr, "GET", "/", &[], b""));
                        match r {
                            Ok(r) if r.status == 200 && r.upstream() != "-" => {
                                ok.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(r) => failed.lock().expect("lock").push(format!(
                                "{} {} at {:?}",
                                r.status,
                                r.body,
                                epoch.elapsed()
                            )),
                            Err(_) => {
                                failed.lock().expect("lock").push(format!("connection failed at {:?}", epoch.elapsed()))
                            }
                        }
                    }
                })
            })
            .collect();
        Load { stop, ok, failed, threads }
    }

    /// Stop the clients; (answered, failures).
    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        let failed = self.failed.lock().expect("lock").clone();
        (self.ok.load(Ordering::SeqCst), failed)
    }
}

#[test]
fn twenty_reloads_under_load_fail_no_request_and_keep_passive_state() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::start("b", Behavior::Name);
    let c = Upstream::start("c", Behavior::Name);
    let gone = Upstream::refused("gone");
    // `gone` is quarantined for the whole test; it must stay so across reloads.
    let config = |i: usize| {
        let extra = if i % 2 == 0 { (&c, "weight: 2") } else { (&b, "weight: 3") };
        app(&[], &[(&a, ""), (&gone, "max_fails: 1, fail_timeout: 60s"), extra])
    };
    let proxy = Proxy::start(&config(0));
    for _ in 0..3 {
        assert_eq!(proxy.get("/").status, 200);
    }
    assert_eq!(proxy.server_status("app", gone.addr)["state"], "quarantined");

    let load = Load::start(proxy.addr, 4);
    thread::sleep(Duration::from_millis(200));
    for i in 1..=20 {
        let report = proxy.reload(&config(i));
        assert_eq!(report["ok"], true, "reload {i}: {report}");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(200));
    let (answered, failed) = load.finish();
    assert!(
        failed.is_empty(),
        "{} failed requests during reloads, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(answered > 100, "the load ran: {answered} answers");
    let status = proxy.status();
    assert_eq!(status["config"]["generation"], 21);
    assert_eq!(status["config"]["reloads_ok"], 20);
    let gone_now = proxy.server_status("app", gone.addr);
    assert_eq!(gone_now["state"], "quarantined", "passive state survived 20 reloads: {gone_now}");
    assert_eq!(gone_now["failures"]["connect_refused"], 1, "and so did its counters");
    assert!(b.hits() > 0 && c.hits() > 0, "both alternating servers served");
}

#[test]
fn an_invalid_reload_keeps_the_old_config_and_reports_why() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    let before = proxy.status()["config"].clone();
    let report = proxy.reload(&app(&[], &[(&a, "weight: 0")]));
    assert_eq!(report["ok"], false);
    let error = report["errors"][0].as_str().expect("error text");
    assert!(
        error.starts_with("upstreams.app.servers[0].weight: must be >= 1 (") && error.contains("lb.yaml:"),
        "{error}"
    );
    let after = proxy.status()["config"].clone();
    assert_eq!(after["generation"], before["generation"]);
    assert_eq!(after["crc32"], before["crc32"]);
    assert_eq!(after["reloads_failed"], 1);
    assert_eq!(proxy.get("/").status, 200, "the old config keeps serving");
    assert!(proxy.metrics().contains("tandem_config_reloads_total{result=\"failed\"} 1"));
    assert!(proxy.log().contains("reload of"), "the rejection is logged");
    assert!(
        proxy.admin_get("/").body.contains("must be &gt;= 1")
            || proxy.admin_get("/").body.contains("must be \\u003e= 1")
    );
}

#[test]
fn tandem_reload_signals_the_running_process_and_prints_its_verdict() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::start("b", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    let reload = || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("reload")
            .arg("-c")
            .arg(proxy.config_path())
            .output()
            .expect("run")
    };
    proxy.write_config(&app(&[], &[(&b, "")]));
    let out = reload();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("reloaded, generation 2"), "{stdout}");
    assert_eq!(proxy.get("/").upstream(), "b");

    // An invalid file is refused before anything is signalled.
    std::fs::write(proxy.config_path(), "listen: [oops]\n").expect("write");
    let out = reload();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen[0]"));
    assert_eq!(proxy.status()["config"]["reloads_failed"], 0, "never signalled");
}

#[test]
fn a_reload_that_moves_the_listener_says_it_needs_an_upgrade() {
    let a = Upstream::start("a", Behavior::Name);
    let proxy = Proxy::start(&app(&[], &[(&a, "")]));
    let other = free_port();
    let text =
        proxy.config_text(&app(&[], &[(&a, "")])).replace(&proxy.addr.to_string(), &format!("127.0.0.1:{other}"));
    std::fs::write(proxy.config_path(), text).expect("write");
    proxy.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.status()["config"]["reloads_ok"] != 1 {
        assert!(Instant::now() < deadline, "no reload");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(proxy.status()["config"]["last_reload"]["needs_upgrade"][0], "listen");
    assert_eq!(proxy.get("/").status, 200, "still on the old address");
}

#[test]
fn a_graceful_upgrade_under_load_fails_no_request() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::start("b", Behavior::Name);
    let mut proxy = Proxy::start(&app(&["health_check: { interval: 200ms }"], &[(&a, ""), (&b, "")]));
    let old_pid = proxy.pid();
    let load = Load::start(proxy.addr, 4);
    thread::sleep(Duration::from_millis(300));

    // The documented recipe: start the new binary with --upgrade, then SIGQUIT the old one.
    let started = Instant::now();
    let new = proxy.spawn(&["--upgrade"]);
    thread::sleep(Duration::from_millis(500));
    proxy.signal("QUIT");
    let mut old = proxy.replace_child(new);
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = old.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "old process still running: {}", proxy.log());
        thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    thread::sleep(Duration::from_millis(500));
    let (answered, failed) = load.finish();
    assert!(
        failed.is_empty(),
        "{} failed requests during the upgrade, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(answered > 100, "the load ran: {answered}");
    assert!(exit.success(), "old process exit: {exit}");
    assert!(took < Duration::from_secs(15), "the upgrade took {took:?}");
    let status = proxy.status();
    assert_eq!(status["pid"], proxy.pid(), "the new process answers the admin listener");
    assert_ne!(proxy.pid(), old_pid);
    let pid_file = std::fs::read_to_string(proxy.pid_file()).expect("pid file");
    assert_eq!(pid_file.trim(), proxy.pid().to_string(), "the new process owns the pid file");
    assert_eq!(proxy.get("/").status, 200);
}

#[test]
fn a_server_drained_across_a_reload_stays_draining_until_its_request_finishes() {
    let slow = Upstream::start("slow", Behavior::Slow(Duration::from_millis(2000)));
    let other = Upstream::start("other", Behavior::Name);
    let body = app(&[], &[(&slow, ""), (&other, "")]);
    let proxy = Proxy::start_with_admin(&body, 2, &format!("token: {TOKEN}"));
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/drain", other.addr)).status, 200);
    let addr = proxy.addr;
    let in_flight = thread::spawn(move || request(addr, "GET", "/", &[], b""));
    let deadline = Instant::now() + Duration::from_secs(5);
    while slow.hits() == 0 {
        assert!(Instant::now() < deadline, "request did not reach slow");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/enable", other.addr)).status, 200);
    assert_eq!(proxy.admin_post(&format!("/api/upstreams/app/servers/{}/drain", slow.addr)).status, 200);
    assert_eq!(proxy.reload(&body)["ok"], true);
    let s = proxy.server_status("app", slow.addr);
    assert_eq!((s["state"].as_str(), s["active_connections"].as_u64()), (Some("draining"), Some(1)), "{s}");
    assert_eq!(proxy.get("/").upstream(), "other", "the drain survived the reload");
    assert_eq!(in_flight.join().expect("client").status, 200);
    assert_eq!(proxy.server_status("app", slow.addr)["state"], "drained");
}
