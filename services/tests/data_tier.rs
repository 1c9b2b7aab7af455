//! The data tier on free ports, end to end: MariaDB replication with
//! semi-sync, the app user's limits, Redis replication, Sentinel failover,
//! node restarts, cleanup on drop, and a tier on another address.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use tandem_services::{DataTier, DataTierOptions};

fn start() -> DataTier {
    let tier = DataTier::start(DataTierOptions::default()).unwrap_or_else(|e| panic!("data tier: {e}"));
    eprintln!("data tier started in {} ms in {}", tier.started_in().as_millis(), tier.dir().display());
    tier
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "not {what} after {timeout:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn status_var(node: &tandem_services::MariaDb, name: &str) -> String {
    let out = node.sql(&format!("SHOW GLOBAL STATUS LIKE '{name}'")).expect("show status");
    out.trim().split('\t').nth(1).unwrap_or_default().to_string()
}

#[test]
fn tier_replicates_with_semi_sync_and_sentinels_fail_over_a_killed_redis_master() {
    let mut tier = start();
    let (master, replica) = (&tier.mariadb[0], &tier.mariadb[1]);

    // A write on the master reaches the replica.
    let gtid = master
        .sql("CREATE TABLE appdb.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO appdb.t VALUES (1, 'one'); SELECT @@last_gtid;")
        .expect("write on master");
    let gtid = gtid.trim();
    assert!(gtid.starts_with("0-1-"), "gtid {gtid:?}");
    assert_eq!(replica.sql(&format!("SELECT MASTER_GTID_WAIT('{gtid}', 5)")).expect("wait").trim(), "0");
    assert_eq!(replica.sql("SELECT v FROM appdb.t WHERE id = 1").expect("read").trim(), "one");

    // Semi-sync is on and acknowledged that write.
    assert_eq!(status_var(master, "Rpl_semi_sync_master_status"), "ON");
    assert_eq!(status_var(master, "Rpl_semi_sync_master_clients"), "1");
    assert!(status_var(master, "Rpl_semi_sync_master_yes_tx").parse::<u64>().expect("yes_tx") >= 1);

    // Roles: writable master, read-only replica that refuses the app's writes
    // but lets it read its replication status.
    assert_eq!(master.sql("SELECT @@global.read_only").expect("ro").trim(), "0");
    assert_eq!(replica.sql("SELECT @@global.read_only").expect("ro").trim(), "1");
    master.sql_as("app", "app", "INSERT INTO appdb.t VALUES (2, 'two')").expect("app writes on the master");
    let refused = replica.sql_as("app", "app", "INSERT INTO appdb.t VALUES (3, 'three')").expect_err("read-only");
    assert!(refused.to_string().contains("1290"), "{refused}");
    let status = replica.slave_status().expect("slave status").expect("replica has a master");
    assert_eq!(status["Slave_IO_Running"], "Yes");
    assert_eq!(status["Slave_SQL_Running"], "Yes");
    assert_eq!(status["Master_Port"], master.port.to_string());
    replica.sql_as("app", "app", "SHOW SLAVE STATUS").expect("app may read replication status");

    // Environment for the app.
    let env = tier.env();
    let get = |k: &str| env.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone()).expect(k);
    assert_eq!(get("TANDEM_APP_DB_NODES"), tier.app_db_urls());
    assert!(tier
        .app_db_urls()
        .starts_with(&format!("mysql://app:app@127.0.0.1:{}/appdb?prefer_socket=false,", master.port)));
    assert_eq!(get("TANDEM_APP_SENTINELS"), tier.sentinel_addrs());
    assert_eq!(get("TANDEM_APP_REDIS_MASTER"), DataTier::REDIS_MASTER_NAME);

    // Redis replicates; every Sentinel names the master.
    let (redis_master, redis_replica) = (tier.redis[0].addr(), tier.redis[1].addr());
    assert_eq!(tier.redis[0].cli(&["SET", "k", "v"]).expect("set").trim(), "OK");
    assert_eq!(tier.redis[0].cli(&["WAIT", "1", "2000"]).expect("wait").trim(), "1");
    // WAIT counts the replica's acknowledgement; a replica still swapping in
    // its first full sync may answer from its old (empty) data set a moment
    // longer (seen once in a full run).
    eventually("the key on the replica", Duration::from_secs(5), || {
        tier.redis[1].cli(&["GET", "k"]).is_ok_and(|v| v.trim() == "v")
    });
    assert_eq!(tier.redis_master_addr(), Some(redis_master));
    for s in &tier.sentinels {
        assert_eq!(s.master_addr().expect("sentinel answers"), Some(redis_master), "{}", s.name());
    }

    // Kill the Redis master: the Sentinels promote the replica.
    let killed = Instant::now();
    tier.redis[0].kill();
    eventually("failed over to the replica", Duration::from_secs(20), || {
        tier.sentinels.iter().all(|s| s.master_addr().ok().flatten() == Some(redis_replica))
    });
    eprintln!("sentinels named the new master {} ms after the kill", killed.elapsed().as_millis());
    eventually("promoted", Duration::from_secs(10), || tier.redis[1].role().is_ok_and(|r| r == "master"));
    assert_eq!(tier.redis[1].cli(&["GET", "k"]).expect("get").trim(), "v");

    // The old master comes back as a replica of the new one.
    tier.redis[0].start_as_replica_of(redis_replica).expect("old master restarts as replica");
    tier.redis[0].wait_link_up(Duration::from_secs(10)).expect("old master replicates");
    assert_eq!(tier.redis[0].role().expect("role"), "slave");

    // Dropping the tier kills everything and removes its directory.
    let dir = tier.dir().to_path_buf();
    let pids: Vec<u32> = tier
        .mariadb
        .iter()
        .filter_map(|m| m.pid())
        .chain(tier.redis.iter().filter_map(|r| r.pid()))
        .chain(tier.sentinels.iter().filter_map(|s| s.pid()))
        .collect();
    assert_eq!(pids.len(), 7);
    drop(tier);
    assert!(!dir.exists(), "{} removed", dir.display());
    for pid in pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} gone");
    }
}

#[test]
fn a_killed_replica_restarts_read_only_and_catches_up_while_the_master_falls_back_to_async() {
    let mut tier = start();
    tier.mariadb[0].sql("CREATE TABLE appdb.t (id INT PRIMARY KEY)").expect("create");
    tier.mariadb[1].kill();
    assert_eq!(tier.mariadb[1].pid(), None);

    // With no replica to acknowledge, a commit waits rpl_semi_sync_master_timeout
    // (1 s) once, then the master goes asynchronous.
    let began = Instant::now();
    tier.mariadb[0].sql("INSERT INTO appdb.t VALUES (1)").expect("write without replica");
    assert!(began.elapsed() < Duration::from_secs(5), "semi-sync timeout is short: {:?}", began.elapsed());
    assert_eq!(status_var(&tier.mariadb[0], "Rpl_semi_sync_master_status"), "OFF");

    // Restarted: read-only, not replicating until told (skip-slave-start).
    tier.mariadb[1].start().expect("replica restarts");
    assert_eq!(tier.mariadb[1].sql("SELECT @@global.read_only").expect("ro").trim(), "1");
    let status = tier.mariadb[1].slave_status().expect("status").expect("master still configured");
    assert_eq!(status["Slave_IO_Running"], "No");
    tier.mariadb[1].sql("START SLAVE").expect("start slave");
    tier.mariadb[1].wait_replicating(Duration::from_secs(10)).expect("replicating again");
    tier.mariadb[0].wait_semi_sync_clients(1, Duration::from_secs(10)).expect("semi-sync back");
    let gtid = tier.mariadb[0].sql("INSERT INTO appdb.t VALUES (2); SELECT @@last_gtid").expect("write");
    assert_eq!(
        tier.mariadb[1].sql(&format!("SELECT MASTER_GTID_WAIT('{}', 5)", gtid.trim())).expect("wait").trim(),
        "0"
    );
    assert_eq!(tier.mariadb[1].sql("SELECT COUNT(*) FROM appdb.t").expect("count").trim(), "2");
}

#[test]
fn two_replicas_both_replicate_and_count_as_semi_sync_clients() {
    let tier = DataTier::start(DataTierOptions { replicas: 2, ..Default::default() }).expect("tier with 2 replicas");
    assert_eq!(tier.mariadb.len(), 3);
    assert_eq!(tier.app_db_urls().split(',').count(), 3);
    assert_eq!(status_var(&tier.mariadb[0], "Rpl_semi_sync_master_clients"), "2");
    let ids: Vec<String> =
        tier.mariadb.iter().map(|m| m.sql("SELECT @@server_id").expect("server id").trim().to_string()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let addr: SocketAddr = tier.mariadb[0].addr();
    for replica in &tier.mariadb[1..] {
        let status = replica.slave_status().expect("status").expect("replica");
        assert_eq!(status["Master_Port"], addr.port().to_string());
    }
}

#[test]
fn a_crashed_master_restarts_without_the_write_no_replica_acknowledged() {
    let mut tier = start();
    let master = &tier.mariadb[0];
    master.sql("CREATE TABLE appdb.t (id INT PRIMARY KEY); INSERT INTO appdb.t VALUES (1)").expect("write");
    let acked = master.sql("SELECT @@global.gtid_binlog_pos").expect("pos").trim().to_string();
    assert_eq!(tier.mariadb[1].sql(&format!("SELECT MASTER_GTID_WAIT('{acked}', 5)")).expect("wait").trim(), "0");
    // A long semi-sync timeout keeps the next commit waiting for its ack.
    master.sql("SET GLOBAL rpl_semi_sync_master_timeout = 30000").expect("timeout");
    tier.mariadb[1].pause();

    let port = master.port;
    let writer = thread::spawn(move || {
        let out = std::process::Command::new("mariadb")
            .args(["--no-defaults", "--protocol=TCP", "-h127.0.0.1", &format!("-P{port}"), "-uadmin", "-padmin"])
            .args(["-e", "INSERT INTO appdb.t VALUES (2)"])
            .output();
        out.map(|o| o.status.success()).unwrap_or(false)
    });
    eventually("the commit waits for an ack", Duration::from_secs(10), || {
        status_var(&tier.mariadb[0], "Rpl_semi_sync_master_wait_sessions") == "1"
    });
    tier.mariadb[0].kill();
    assert!(!writer.join().expect("writer"), "the client never got an OK");
    tier.mariadb[1].resume();

    // init-rpl-role=SLAVE: recovery truncates the unacknowledged transaction,
    // so the old master is not ahead of the replica and can rejoin it.
    tier.mariadb[0].start().expect("old master restarts");
    let master = &tier.mariadb[0];
    assert_eq!(master.sql("SELECT COUNT(*) FROM appdb.t").expect("count").trim(), "1");
    assert_eq!(master.sql("SELECT @@global.gtid_binlog_pos").expect("pos").trim(), acked);
    assert_eq!(master.sql("SELECT @@global.read_only").expect("ro").trim(), "1");
    let log = std::fs::read_to_string(master.error_log()).expect("error log");
    assert!(log.contains("Successfully truncated binlog"), "no truncation in {}", master.error_log().display());
}

/// The network-namespace lab runs the tier on the namespace's address; on
/// Linux all of 127/8 is local, so 127.0.0.2 stands in for it here. Replicas
/// and Sentinels connect from 127.0.0.1 (the kernel's source for 127/8), so
/// this also checks that everything announces 127.0.0.2 rather than the
/// address it connects from.
#[test]
fn a_tier_on_127_0_0_2_listens_announces_and_fails_over_there_only() {
    let host = Ipv4Addr::new(127, 0, 0, 2);
    let mut tier = DataTier::start(DataTierOptions { host, ..Default::default() }).expect("tier on 127.0.0.2");
    assert_eq!(tier.host(), host);

    // The environment names 127.0.0.2 only.
    let env = tier.env();
    let get = |k: &str| env.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone()).expect(k);
    for url in get("TANDEM_APP_DB_NODES").split(',').chain(get("TANDEM_DBCTL_NODES").split(',')) {
        assert!(url.contains("@127.0.0.2:"), "{url}");
    }
    for addr in get("TANDEM_APP_SENTINELS").split(',') {
        assert!(addr.starts_with("127.0.0.2:"), "{addr}");
    }

    // Every server listens on 127.0.0.2 only.
    let ports = tier.mariadb.iter().map(|m| m.port).chain(tier.redis.iter().map(|r| r.port));
    for port in ports.chain(tier.sentinels.iter().map(|s| s.port)) {
        assert!(TcpStream::connect(("127.0.0.2", port)).is_ok(), "nothing on 127.0.0.2:{port}");
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "127.0.0.1:{port} answers");
    }

    // The app user works over 127.0.0.2, with an explicit client too.
    let master = &tier.mariadb[0];
    master
        .sql_as("app", "app", "CREATE TABLE appdb.t (id INT PRIMARY KEY); INSERT INTO appdb.t VALUES (1)")
        .expect("app");
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "--protocol=TCP", "-h127.0.0.2", &format!("-P{}", master.port), "-uapp", "-papp"])
        .args(["--skip-column-names", "-e", "SELECT COUNT(*) FROM appdb.t"])
        .output()
        .expect("mariadb client");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{}", String::from_utf8_lossy(&out.stderr));
    let status = tier.mariadb[1].slave_status().expect("status").expect("replica");
    assert_eq!((status["Master_Host"].as_str(), status["Slave_IO_Running"].as_str()), ("127.0.0.2", "Yes"));

    // Redis and the Sentinels know each other at 127.0.0.2.
    let replicas = tier.sentinels[0].cli(&["SENTINEL", "REPLICAS", "mymaster"]).expect("replicas");
    assert!(replicas.contains(&format!("127.0.0.2:{}", tier.redis[1].port)), "{replicas}");
    let peers = tier.sentinels[0].cli(&["SENTINEL", "SENTINELS", "mymaster"]).expect("sentinels");
    assert!(!peers.contains("127.0.0.1"), "{peers}");

    // A failover promotes the replica at its 127.0.0.2 address.
    let new_master = tier.redis[1].addr();
    tier.redis[0].kill();
    eventually("failed over on 127.0.0.2", Duration::from_secs(20), || {
        tier.sentinels.iter().all(|s| s.master_addr().ok().flatten() == Some(new_master))
    });
    eventually("promoted", Duration::from_secs(10), || tier.redis[1].role().is_ok_and(|r| r == "master"));
}
