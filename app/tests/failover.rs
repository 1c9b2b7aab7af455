//! Failures of the data tier: the MySQL master dies (tandem-dbctl promotes),
//! no master at all (writes fail fast), the Redis master dies (no request fails).

mod common;

use common::{blocking, property, wait_until, App, Dbctl};
use http::{Method, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_master_reads_work_and_writes_fail_fast_with_retry_after() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    app.post("/api/property", &property("1")).await;
    tier.mariadb[0].sql("SET GLOBAL read_only = 1").expect("demote the master");
    let state = app.state.clone();
    wait_until("no master", Duration::from_secs(5), || {
        let state = state.clone();
        async move { state.db.roles().master.is_none() }
    })
    .await;
    let started = Instant::now();
    let refused = app.post("/api/property", &property("2")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), "1");
    assert!(started.elapsed() < Duration::from_millis(500), "failed fast: {:?}", started.elapsed());
    let read = app.send(Method::GET, "/api/property", &[("cache-control", "no-cache")], None).await;
    assert_eq!(read.status, StatusCode::OK);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "reads still work, so the app is ready");
    assert!(ready.json()["degraded"].to_string().contains("no writable master"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_rejected_by_a_demoted_master_is_a_503_not_a_500() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[("TANDEM_APP_DB_PROBE_INTERVAL", "1m")])).await;
    tier.mariadb[0].sql("SET GLOBAL read_only = 1").expect("demote behind the app's back");
    let refused = app.post("/api/property", &property("1")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.text());
    let state = app.state.clone();
    wait_until("the error triggered a probe", Duration::from_secs(3), || {
        let state = state.clone();
        async move { state.db.roles().master.is_none() }
    })
    .await;
}

/// Posts in a loop until `stop`; returns (acknowledged ids, failed statuses,
/// longest time without an acknowledged write).
async fn writer(app: Arc<App>, run_for: Duration) -> (Vec<u64>, Vec<StatusCode>, Duration) {
    let started = Instant::now();
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    let mut last_ack = Instant::now();
    let mut longest_gap = Duration::ZERO;
    let mut i = 0;
    while started.elapsed() < run_for {
        i += 1;
        let t = Instant::now();
        let r = app.post("/api/property", &property(&format!("w{i}"))).await;
        assert!(t.elapsed() < Duration::from_secs(5), "a write hung for {:?}", t.elapsed());
        if r.status == StatusCode::CREATED {
            acked.push(r.json()["id"].as_u64().expect("id"));
            longest_gap = longest_gap.max(last_ack.elapsed());
            last_ack = Instant::now();
        } else {
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "only 503s while failing over: {}", r.text());
            failed.push(r.status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (acked, failed, longest_gap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_replaced_and_no_acknowledged_write_is_lost() {
    let mut tier = common::tier().await;
    let dbctl = Dbctl::start(&tier);
    let app = Arc::new(App::ready(common::config(&tier, &[])).await);
    let writes = tokio::spawn(writer(app.clone(), Duration::from_secs(6)));
    let reads = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut failed = 0;
            for _ in 0..200 {
                let r = app.send(Method::GET, "/api/property", &[("cache-control", "no-cache")], None).await;
                if r.status != StatusCode::OK {
                    failed += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            failed
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let old_master = tier.mariadb.remove(0);
    let mut old_master = blocking(move || {
        let mut m = old_master;
        m.kill();
        m
    })
    .await;
    let (acked, failed, longest_gap) = writes.await.expect("writer");
    let failed_reads = reads.await.expect("reader");
    println!("acked {} writes, {} refused, longest gap {longest_gap:?}", acked.len(), failed.len());
    assert!(longest_gap < Duration::from_secs(3), "writes resumed after {longest_gap:?}\n{}", dbctl.log_text());
    assert_eq!(failed_reads, 0, "reads kept working through the failover");
    assert_eq!(app.state.db.roles().master, Some(1), "the replica was promoted");

    let new_master = &tier.mariadb[0];
    let stored = new_master.sql("SELECT id FROM appdb.property").expect("query the new master");
    let stored: std::collections::HashSet<u64> = stored.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");

    // The old master returns read-only and the controller makes it a replica.
    old_master = blocking(move || {
        old_master.start().expect("restart the old master");
        old_master
    })
    .await;
    let state = app.state.clone();
    wait_until("the old master replicates and serves reads", Duration::from_secs(15), || {
        let state = state.clone();
        async move { state.db.roles().replicas == vec![0] }
    })
    .await;
    assert!(dbctl.log_text().contains("promoted"), "{}", dbctl.log_text());
    let created = app.post("/api/property", &property("after")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let gtid = created.header("x-gtid").to_string();
    let id = created.json()["id"].as_u64().expect("id");
    let read = app
        .send(
            Method::GET,
            &format!("/api/property/{id}"),
            &[("x-after-gtid", &gtid), ("cache-control", "no-cache")],
            None,
        )
        .await;
    assert_eq!(
        (read.status, read.header("x-db-node")),
        (StatusCode::OK, app.node(0).as_str()),
        "the rejoined node serves"
    );
    drop(old_master);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_master_fails_no_request() {
    let mut tier = common::tier().await;
    let app = Arc::new(App::ready(common::config(&tier, &[])).await);
    let created = app.post("/api/property", &property("1")).await;
    let id = created.json()["id"].as_u64().expect("id");
    let traffic = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut caches = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(6);
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let read = app.get(&format!("/api/property/{id}")).await;
                assert_eq!(read.status, StatusCode::OK, "read failed: {}", read.text());
                assert!(t.elapsed() < Duration::from_secs(1), "a read waited {:?} on the cache", t.elapsed());
                caches.push(read.header("x-cache").to_string());
                if i % 10 == 0 {
                    let w = app.post("/api/property", &property(&format!("r{i}"))).await;
                    assert_eq!(w.status, StatusCode::CREATED, "write failed: {}", w.text());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            caches
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let old = tier.redis[0].addr();
    tier.redis[0].kill();
    let caches = traffic.await.expect("traffic");
    assert!(caches.iter().any(|c| c == "BYPASS"), "the outage was noticed: {caches:?}");
    assert_eq!(caches.last().map(String::as_str), Some("HIT"), "the cache works again after the failover");
    let now = tier.redis_master_addr().expect("sentinels name a master");
    assert_ne!(now, old);
    assert_eq!(app.get("/readyz").await.json()["cache"]["master"], now.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_redis_process_dead_requests_are_served_from_the_database() {
    let mut tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let created = app.post("/api/property", &property("1")).await;
    let id = created.json()["id"].as_u64().expect("id");
    for sentinel in tier.sentinels.iter_mut() {
        sentinel.kill();
    }
    for redis in tier.redis.iter_mut() {
        redis.kill();
    }
    let started = Instant::now();
    for i in 0..20 {
        let read = app.get(&format!("/api/property/{id}")).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        if i > 0 {
            assert_eq!(read.header("x-cache"), "BYPASS");
        }
        let write = app.post("/api/property", &property(&format!("d{i}"))).await;
        assert_eq!(write.status, StatusCode::CREATED, "{}", write.text());
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no request waited long on the dead cache: {:?}",
        started.elapsed()
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["cache"]["state"], "down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_master_costs_at_most_the_cache_timeout() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[("TANDEM_APP_CACHE_TIMEOUT", "200ms")])).await;
    let created = app.post("/api/property", &property("1")).await;
    let id = created.json()["id"].as_u64().expect("id");
    tier.redis[0].pause();
    for _ in 0..10 {
        let started = Instant::now();
        let read = app.get(&format!("/api/property/{id}")).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_millis(1500), "waited {:?}", started.elapsed());
    }
    tier.redis[0].resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_master_that_wakes_up_after_a_promotion_is_fenced_and_rejoined() {
    let tier = common::tier().await;
    let dbctl = Dbctl::start(&tier);
    let app = App::ready(common::config(&tier, &[])).await;
    assert_eq!(app.post("/api/property", &property("1")).await.status, StatusCode::CREATED);
    tier.mariadb[0].pause();
    let state = app.state.clone();
    wait_until("the replica is promoted", Duration::from_secs(15), || {
        let state = state.clone();
        async move { state.db.roles().master == Some(1) }
    })
    .await;
    assert_eq!(app.post("/api/property", &property("2")).await.status, StatusCode::CREATED);
    tier.mariadb[0].resume();
    let state = app.state.clone();
    wait_until("the old master is fenced and replicates", Duration::from_secs(15), || {
        let state = state.clone();
        async move {
            let roles = state.db.roles();
            roles.master == Some(1) && roles.replicas == vec![0]
        }
    })
    .await;
    assert!(dbctl.log_text().contains("fenced"), "{}", dbctl.log_text());
    assert_eq!(tier.mariadb[0].sql("SELECT @@global.read_only").expect("sql").trim(), "1");
    assert_eq!(app.post("/api/property", &property("3")).await.status, StatusCode::CREATED);
}
