//! The API against a real data tier: CRUD, users, caching, bad input.

mod common;

use common::{property, App};
use http::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_goes_through_create_read_replace_delete() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;

    let created = app.post("/api/property", &property("1")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.header("x-served-by"), "test-app");
    assert_eq!(created.header("x-db-node"), app.node(0), "writes go to the master");
    let gtid = created.header("x-gtid").to_string();
    assert!(gtid.starts_with("0-"), "a MariaDB GTID: {gtid:?}");
    let id = created.json()["id"].as_u64().expect("id");
    assert_eq!(created.header("location"), format!("/api/property/{id}"));

    let read = app.send(Method::GET, &format!("/api/property/{id}"), &[("x-after-gtid", &gtid)], None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["address"], "1 Main St");
    assert_eq!(read.json()["bedrooms"], 3);

    let replaced = app
        .send(
            Method::PUT,
            &format!("/api/property/{id}"),
            &[],
            Some(
                r#"{"address":"1 Main St","suburb":"Fitzroy","property_type":"unit","price":5,"sold_at":"2024-02-29"}"#,
            ),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    let gtid = replaced.header("x-gtid").to_string();
    let read = app.get(&format!("/api/property/{id}?after_gtid={gtid}")).await;
    assert_eq!(read.json()["suburb"], "Fitzroy");
    assert_eq!(read.json()["sold_at"], "2024-02-29");
    assert!(read.json()["bedrooms"].is_null(), "PUT replaces every field");

    let same_again = app
        .send(
            Method::PUT,
            &format!("/api/property/{id}"),
            &[],
            Some(
                r#"{"address":"1 Main St","suburb":"Fitzroy","property_type":"unit","price":5,"sold_at":"2024-02-29"}"#,
            ),
        )
        .await;
    assert_eq!(same_again.status, StatusCode::OK, "an unchanged row is still found");

    let deleted = app.send(Method::DELETE, &format!("/api/property/{id}"), &[], None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gtid = deleted.header("x-gtid").to_string();
    let gone = app.get(&format!("/api/property/{id}?after_gtid={gtid}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.json()["error"], "no such property");
    assert_eq!(app.send(Method::DELETE, &format!("/api/property/{id}"), &[], None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_newest_first_with_a_cursor() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let mut gtid = String::new();
    for i in 0..5 {
        let r = app.post("/api/property", &property(&i.to_string())).await;
        assert_eq!(r.status, StatusCode::CREATED);
        gtid = r.header("x-gtid").to_string();
    }
    let first = app.get(&format!("/api/property?limit=3&after_gtid={gtid}")).await;
    assert_eq!(first.status, StatusCode::OK);
    let items = first.json()["items"].as_array().expect("items").clone();
    let addresses: Vec<_> = items.iter().map(|p| p["address"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(addresses, ["4 Main St", "3 Main St", "2 Main St"]);
    let next = first.json()["next_after"].as_u64().expect("a full page has a next cursor");
    let second = app.get(&format!("/api/property?limit=3&after={next}&after_gtid={gtid}")).await;
    let rest: Vec<_> = second.json()["items"].as_array().expect("items").iter().map(|p| p["address"].clone()).collect();
    assert_eq!(rest, ["1 Main St", "0 Main St"]);
    assert!(second.json()["next_after"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_have_unique_emails_regardless_of_case() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let created = app.post("/api/users", r#"{"email":"Ada@example.com"}"#).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["is_active"], true);
    let id = created.json()["id"].as_u64().expect("id");
    let gtid = created.header("x-gtid").to_string();

    let duplicate = app.post("/api/users", r#"{"email":"ada@EXAMPLE.com","is_active":false}"#).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text());

    let read = app.send(Method::GET, &format!("/api/users/{id}"), &[("x-after-gtid", &gtid)], None).await;
    assert_eq!(read.json()["email"], "Ada@example.com");
    let list = app.send(Method::GET, "/api/users", &[("x-after-gtid", &gtid)], None).await;
    assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.get("/api/users/999").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_are_cached_until_a_write_invalidates_them() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let created = app.post("/api/property", &property("7")).await;
    let id = created.json()["id"].as_u64().expect("id");
    let uri = format!("/api/property/{id}");

    let miss = app.get(&uri).await;
    assert_eq!((miss.status, miss.header("x-cache")), (StatusCode::OK, "MISS"));
    assert_ne!(miss.header("x-db-node"), "none");
    let hit = app.get(&uri).await;
    assert_eq!((hit.header("x-cache"), hit.header("x-db-node")), ("HIT", "none"));
    assert_eq!(hit.json(), miss.json());
    let bypass = app.send(Method::GET, &uri, &[("cache-control", "no-cache")], None).await;
    assert_eq!(bypass.header("x-cache"), "BYPASS");

    assert_eq!(app.get("/api/property").await.header("x-cache"), "MISS");
    assert_eq!(app.get("/api/property").await.header("x-cache"), "HIT");

    let body = r#"{"address":"7 Main St","suburb":"Brunswick","property_type":"house","price":1}"#;
    let put = app.send(Method::PUT, &uri, &[], Some(body)).await;
    assert_eq!(put.status, StatusCode::OK);
    // No GTID presented: the cache's own floor makes the refill fresh.
    let after = app.get(&uri).await;
    assert_eq!(after.header("x-cache"), "MISS", "the write deleted the entry");
    assert_eq!(after.json()["suburb"], "Brunswick", "and the refill is not older than the write");
    let list = app.get("/api/property").await;
    assert_eq!(list.header("x-cache"), "MISS", "list pages are invalidated too");
    assert_eq!(list.json()["items"][0]["suburb"], "Brunswick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_with_a_json_error() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let cases: Vec<(Method, &str, Option<String>, StatusCode)> = vec![
        (Method::POST, "/api/property", Some("{not json".into()), StatusCode::BAD_REQUEST),
        (Method::POST, "/api/property", Some(r#"{"price":"a lot"}"#.into()), StatusCode::BAD_REQUEST),
        (Method::POST, "/api/property", Some(r#"{"bedroom":2}"#.into()), StatusCode::BAD_REQUEST),
        (Method::POST, "/api/property", Some("[1,2]".into()), StatusCode::BAD_REQUEST),
        (Method::POST, "/api/property", None, StatusCode::BAD_REQUEST),
        (Method::POST, "/api/property", Some(r#"{"bedrooms":2}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        (
            Method::POST,
            "/api/property",
            Some(format!(r#"{{"address":"{}"}}"#, "x".repeat(300))),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/property",
            Some(format!(r#"{{"address":"{}"}}"#, "x".repeat(40_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (Method::PUT, "/api/property/1", Some(r#"{"address":"a"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        (Method::PUT, "/api/property/999999", Some(property("9")), StatusCode::NOT_FOUND),
        (Method::GET, "/api/property/abc", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/property/0", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/property/999999", None, StatusCode::NOT_FOUND),
        (Method::GET, "/api/property?limit=1000", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/property?after=x", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/property?after_gtid=1;DROP", None, StatusCode::BAD_REQUEST),
        (Method::POST, "/api/users", Some(r#"{"email":"nope"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        (Method::POST, "/api/users", Some(r#"{"email":"a@b.io","admin":true}"#.into()), StatusCode::BAD_REQUEST),
        (Method::GET, "/api/nothing", None, StatusCode::NOT_FOUND),
    ];
    for (method, uri, body, expected) in cases {
        let reply = app.send(method.clone(), uri, &[("content-type", "application/json")], body.as_deref()).await;
        assert_eq!(reply.status, expected, "{method} {uri}: {}", reply.text());
        if expected != StatusCode::PAYLOAD_TOO_LARGE {
            assert!(reply.json()["error"].is_string(), "{method} {uri}: {}", reply.text());
        }
        assert_eq!(reply.header("x-served-by"), "test-app");
    }
    let invalid = app.post("/api/property", r#"{"bedrooms":2000}"#).await;
    let fields: Vec<_> =
        invalid.json()["fields"].as_array().expect("fields").iter().map(|f| f["field"].clone()).collect();
    assert_eq!(fields, ["address", "suburb", "property_type", "bedrooms", "price"]);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_properties_escaped_and_who_answered() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let created = app
        .post("/api/property", r#"{"address":"<b>5</b> Main St","suburb":"Carlton","property_type":"house","price":1}"#)
        .await;
    let gtid = created.header("x-gtid").to_string();
    let page = app.get(&format!("/?after_gtid={gtid}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    let html = page.text();
    assert!(html.contains("&lt;b&gt;5&lt;/b&gt; Main St"), "{html}");
    assert!(html.contains("instance test-app"));
    assert!(html.contains(&format!("db {}", app.node(1))), "read from the replica after waiting for the GTID");
    assert!(html.contains("<form id=\"add\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_roles_and_what_is_degraded() {
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    let body = ready.json();
    assert_eq!(body["master"], app.node(0));
    assert_eq!(body["nodes"][1]["role"], "replica");
    assert_eq!(body["cache"]["state"], "up");
    assert_eq!(body["degraded"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(app.get("/healthz").await.json()["instance"], "test-app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_raced_a_write_is_dropped() {
    use tandem_app::cache::{Family, Lookup};
    let tier = common::tier().await;
    let app = App::ready(common::config(&tier, &[])).await;
    let cache = &app.state.cache;
    let Lookup::Miss(ticket) = cache.get_item(Family::Property, 42).await else { panic!("expected a miss") };
    // A write lands between the reader's database read and its fill.
    let gtid = tandem_app::db::Gtid::parse("0-1-999").expect("gtid");
    assert!(cache.invalidate(Family::Property, Some(42), Some(&gtid)).await);
    cache.fill_item(Family::Property, 42, &ticket, br#"{"stale":true}"#).await;
    let Lookup::Miss(after) = cache.get_item(Family::Property, 42).await else { panic!("the stale fill was cached") };
    assert_eq!(after.floor(), Some(gtid.clone()), "the floor moved to the write's GTID");
    // A reader that saw the new floor may fill.
    cache.fill_item(Family::Property, 42, &after, br#"{"fresh":true}"#).await;
    match cache.get_item(Family::Property, 42).await {
        Lookup::Hit { body, .. } => assert_eq!(&body[..], br#"{"fresh":true}"#),
        other => panic!("expected a hit, got {other:?}"),
    }
    // An older GTID arriving late never lowers the floor.
    let older = tandem_app::db::Gtid::parse("0-1-5").expect("gtid");
    assert!(cache.invalidate(Family::Property, Some(42), Some(&older)).await);
    let Lookup::Miss(last) = cache.get_item(Family::Property, 42).await else { panic!("deleted") };
    assert_eq!(last.floor(), Some(gtid));
}
