//! Reads go to the replica, wait for a presented GTID, and fall back to the
//! master when the replica is stopped or lagging.

mod common;

use common::{blocking, property, wait_until, App};
use http::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_served_by_the_replica_and_writes_by_the_master() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    assert_eq!(app.post("/api/property", &property("1")).await.header("x-db-node"), app.node(0));
    for _ in 0..5 {
        let r = app.send(Method::GET, "/api/property", &[("cache-control", "no-cache")], None).await;
        assert_eq!(
            (r.status, r.header("x-db-node"), r.header("x-cache")),
            (StatusCode::OK, app.node(1).as_str(), "BYPASS")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_presenting_a_gtid_sees_the_write_on_the_replica() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    for i in 0..20 {
        let created = app.post("/api/property", &property(&i.to_string())).await;
        let id = created.json()["id"].as_u64().expect("id");
        let gtid = created.header("x-gtid").to_string();
        let read = app
            .send(
                Method::GET,
                &format!("/api/property/{id}"),
                &[("x-after-gtid", &gtid), ("cache-control", "no-cache")],
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "write {i} not visible: {}", read.text());
        assert_eq!(read.header("x-db-node"), app.node(1), "served by the replica after it caught up");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_sends_reads_to_the_master_without_failures() {
    let mut tier = common::tier().await;
    let app = Arc::new(App::ready(common::config(&tier, &[])).await);
    app.post("/api/property", &property("1")).await;
    let reader = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut nodes = Vec::new();
            for _ in 0..150 {
                let r = app.send(Method::GET, "/api/property", &[("cache-control", "no-cache")], None).await;
                assert_eq!(r.status, StatusCode::OK, "a read failed: {}", r.text());
                nodes.push(r.header("x-db-node").to_string());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            nodes
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replica = tier.mariadb.remove(1);
    let replica = blocking(move || {
        let mut replica = replica;
        replica.stop().expect("stop the replica");
        replica
    })
    .await;
    let nodes = reader.await.expect("reader");
    assert!(nodes.first() == Some(&app.node(1)), "replica served before: {nodes:?}");
    assert_eq!(nodes.last(), Some(&app.node(0)), "master serves after: {nodes:?}");
    drop(replica);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_applier_stopped_serves_no_reads() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    tier.mariadb[1].sql("STOP SLAVE SQL_THREAD").expect("stop the applier");
    let state = app.state.clone();
    wait_until("the replica is seen lagging", Duration::from_secs(5), || {
        let state = state.clone();
        async move { state.db.roles().replicas.is_empty() }
    })
    .await;
    let created = app.post("/api/property", &property("1")).await;
    let id = created.json()["id"].as_u64().expect("id");
    let read = app.send(Method::GET, &format!("/api/property/{id}"), &[("cache-control", "no-cache")], None).await;
    assert_eq!((read.status, read.header("x-db-node")), (StatusCode::OK, app.node(0).as_str()));
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["nodes"][1]["role"], "replica (lagging)", "{ready}");
    assert!(ready["degraded"].to_string().contains("lagging"), "{ready}");

    tier.mariadb[1].sql("START SLAVE SQL_THREAD").expect("restart the applier");
    let state = app.state.clone();
    wait_until("the replica serves again", Duration::from_secs(5), || {
        let state = state.clone();
        async move { state.db.roles().replicas == vec![1] }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_cannot_satisfy_a_gtid_so_the_master_answers() {
    let tier = common::tier().await;
    // Probes only at start: the monitor never sees the stopped applier, so the
    // replica stays in the read set and the GTID wait is what sends the read on.
    let settings = [("TANDEM_APP_GTID_WAIT", "300ms"), ("TANDEM_APP_DB_PROBE_INTERVAL", "10m")];
    let app = App::ready(common::config(&tier, &settings)).await;
    tier.mariadb[1].sql("STOP SLAVE SQL_THREAD").expect("stop the applier");
    let created = app.post("/api/property", &property("1")).await;
    let id = created.json()["id"].as_u64().expect("id");
    let gtid = created.header("x-gtid").to_string();
    assert_eq!(app.state.db.roles().replicas, vec![1], "the replica is still a reader");
    let read = app.get(&format!("/api/property/{id}?after_gtid={gtid}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(read.header("x-db-node"), app.node(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_spread_over_several_replicas() {
    let tier = common::blocking(|| {
        tandem_services::DataTier::start(tandem_services::DataTierOptions { replicas: 2, ..Default::default() })
            .expect("a master and two replicas")
    })
    .await;
    let app = App::ready(common::config(&tier, &[])).await;
    let mut served = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let r = app.send(Method::GET, "/api/property", &[("cache-control", "no-cache")], None).await;
        assert_eq!(r.status, StatusCode::OK);
        *served.entry(r.header("x-db-node").to_string()).or_insert(0) += 1;
    }
    let expected: std::collections::BTreeMap<String, i32> =
        [(app.node(1), 10), (app.node(2), 10)].into_iter().collect();
    assert_eq!(served, expected, "round robin over the two replicas, none to the master");
}
