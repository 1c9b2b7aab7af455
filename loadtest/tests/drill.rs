//! The real `drill` binary against a tiny stand-in for the app API on
//! 127.0.0.1: a fault command (`touch FILE`) turns every answer into 503, the
//! recovery (`rm FILE`) turns them back; another server variant "loses" one
//! acknowledged write.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

struct Fake {
    items: Mutex<HashMap<u64, String>>,
    next_id: AtomicU64,
    answers: AtomicU64,
    /// While this file exists every request answers 503.
    fail_file: PathBuf,
    /// Acknowledge this id but never store it.
    lose_id: Option<u64>,
    /// Reads that came with `Cache-Control: no-cache` and `X-After-Gtid`.
    readbacks_with_gtid: AtomicU64,
}

async fn create(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    let id = fake.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let address = body["address"].as_str().unwrap_or_default().to_string();
    if fake.lose_id != Some(id) {
        fake.items.lock().unwrap().insert(id, address.clone());
    }
    let gtid = [("x-gtid", format!("0-1-{id}"))];
    (StatusCode::CREATED, gtid, Json(json!({"id": id, "address": address}))).into_response()
}

async fn read(State(fake): State<Arc<Fake>>, UrlPath(id): UrlPath<u64>, request: Request) -> Response {
    let headers = request.headers();
    let no_cache = headers.get("cache-control").is_some_and(|v| v == "no-cache");
    if no_cache && headers.get("x-after-gtid").is_some_and(|v| v == format!("0-1-{id}").as_str()) {
        fake.readbacks_with_gtid.fetch_add(1, Ordering::SeqCst);
    }
    match fake.items.lock().unwrap().get(&id) {
        Some(address) => Json(json!({"id": id, "address": address})).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

async fn list() -> Json<Value> {
    Json(json!({"items": [], "next_after": null}))
}

/// The balancer and app headers, and the outage switch.
async fn front(State(fake): State<Arc<Fake>>, request: Request, next: Next) -> Response {
    if fake.fail_file.exists() {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let mut response = next.run(request).await;
    let n = fake.answers.fetch_add(1, Ordering::SeqCst);
    let headers = response.headers_mut();
    headers.insert("x-tandem-node", HeaderValue::from_static("lb1"));
    headers.insert("x-served-by", HeaderValue::from_static(if n % 2 == 0 { "app1" } else { "app2" }));
    response
}

/// Starts the fake on a free port; returns its URL and state.
async fn start(name: &str, lose_id: Option<u64>) -> (String, Arc<Fake>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("drill-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fake = Arc::new(Fake {
        items: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        answers: AtomicU64::new(0),
        fail_file: dir.join("down"),
        lose_id,
        readbacks_with_gtid: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/api/property", get(list).post(create))
        .route("/api/property/{id}", get(read))
        .layer(middleware::from_fn_with_state(fake.clone(), front))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake, dir)
}

async fn drill(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_drill")).args(args).output().await.unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn failed(request: &Value) -> bool {
    request.get("error").is_some() || request["status"].as_u64().is_some_and(|s| s >= 500)
}

/// 3 s at 50 req/s (a slot every 20 ms); `touch` at 1.01 s and `rm` at 2.01 s,
/// between two slots, so no request races a command's start.
async fn fault_drill(name: &str, budgets: &[&str]) -> (Output, Value, Arc<Fake>) {
    let (url, fake, dir) = start(name, None).await;
    let flag = fake.fail_file.display().to_string();
    let (fault, recover, out) = (format!("touch {flag}"), format!("rm -f {flag}"), dir.join("report"));
    let out_arg = out.display().to_string();
    let mut args = vec![
        "run",
        "--url",
        &url,
        "--name",
        name,
        "--rate",
        "50",
        "--duration",
        "3s",
        "--fault-at",
        "1010ms",
        "--fault",
        &fault,
        "--recover-at",
        "2010ms",
        "--recover",
        &recover,
        "--out",
        &out_arg,
        "--readback-delay",
        "100ms",
    ];
    for budget in budgets {
        args.extend(["--budget", budget]);
    }
    let output = drill(&args).await;
    let report = report(&out);
    for file in ["report.md", "timeline.svg", "fault.stdout", "recover.stderr"] {
        assert!(out.join(file).exists(), "{file}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    (output, report, fake)
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_stay_inside_the_fault_and_every_write_is_read_back() {
    let (output, report, fake) = fault_drill(
        "fault",
        &["takeover_window=2s", "failed_writes=100", "takeover_stall=2s", "failback_stall_le_takeover=true"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("report.md") && stdout.contains("PASS fault:"), "{stdout}");
    assert!(stdout.contains(", takeover stall "), "{stdout}");

    let fault = &report["commands"][0];
    let recover = &report["commands"][1];
    assert_eq!((fault["label"].as_str(), fault["ok"].as_bool()), (Some("fault"), Some(true)));
    assert_eq!((recover["label"].as_str(), recover["ok"].as_bool()), (Some("recover"), Some(true)));
    let (fault_start, recover_end) = (fault["start_ms"].as_f64().unwrap(), recover["end_ms"].as_f64().unwrap());

    let requests = report["requests"].as_array().unwrap();
    assert!((130..=151).contains(&requests.len()), "{} requests", requests.len());
    let failures: Vec<&Value> = requests.iter().filter(|r| failed(r)).collect();
    assert!(failures.len() >= 40, "{} failures", failures.len());
    for failure in &failures {
        let start = failure["start_ms"].as_f64().unwrap();
        assert!(start >= fault_start && start <= recover_end + 25.0, "failure at {start} outside the fault: {failure}");
    }

    let metrics = &report["metrics"];
    let takeover = metrics["longest"]["takeover"]["duration_ms"].as_f64().unwrap();
    let fault_lasted = recover["start_ms"].as_f64().unwrap() - fault_start;
    assert!((takeover - fault_lasted).abs() < 200.0, "takeover {takeover} ms for a {fault_lasted} ms fault");
    assert!(metrics["longest"]["failback"].is_null(), "{}", metrics["longest"]);
    // Nothing succeeded from the fault to the recovery: one stall, which spans
    // the recovery's start and so is both the takeover and the failback stall.
    let stall = metrics["takeover_stall_ms"].as_f64().unwrap();
    assert!((stall - fault_lasted).abs() < 200.0, "takeover stall {stall} ms for a {fault_lasted} ms fault");
    assert_eq!(metrics["longest_stall_ms"].as_f64(), Some(stall));
    assert_eq!(metrics["failback_stall_ms"].as_f64(), Some(stall));
    assert!(metrics["slow"].is_u64() && metrics["by_kind"]["post"]["slow"].is_u64(), "{metrics}");
    assert_eq!(metrics["failures"]["503"].as_u64(), Some(failures.len() as u64));

    let writes = &metrics["writes"];
    let acknowledged = writes["acknowledged"].as_u64().unwrap();
    assert!(acknowledged >= 15, "{writes}");
    assert_eq!((writes["missing"].as_u64(), writes["unverified"].as_u64()), (Some(0), Some(0)));
    assert_eq!(fake.readbacks_with_gtid.load(Ordering::SeqCst), acknowledged);
    assert_eq!(report["verdict"], "PASS");
    let keys: Vec<&str> = report["budgets"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"takeover_stall") && keys.contains(&"failback_stall_le_takeover"), "{keys:?}");
    assert_eq!(metrics["lb_segments"][0]["name"], "lb1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_budget_of_zero_fails_the_run_with_exit_1() {
    let (output, report, _) = fault_drill("budget", &["failed=0"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("FAIL budget:"));
    let check = report["budgets"].as_array().unwrap().iter().find(|c| c["key"] == "failed").unwrap().clone();
    assert_eq!(check["pass"], false);
    assert_eq!(report["verdict"], "FAIL");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_acknowledged_write_is_missing_and_fails_the_run() {
    let (url, _fake, dir) = start("lost", Some(3)).await;
    let out = dir.join("report");
    let args = ["run", "--url", &url, "--name", "lost", "--rate", "50", "--duration", "2s", "--readback-delay", "0ms"];
    let output = drill(&[&args[..], &["--out", &out.display().to_string()]].concat()).await;
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let report = report(&out);
    let writes = &report["metrics"]["writes"];
    assert_eq!((writes["missing"].as_u64(), writes["missing_ids"][0].as_u64()), (Some(1), Some(3)));
    let check = report["budgets"].as_array().unwrap().iter().find(|c| c["key"] == "missing_writes").unwrap().clone();
    assert_eq!((check["pass"].as_bool(), check["implicit"].as_bool()), (Some(false), Some(true)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_runs_every_scenario_and_fails_if_one_does() {
    let (url, fake, dir) = start("suite", None).await;
    let flag = fake.fail_file.display();
    let file = dir.join("suite.yaml");
    let yaml = format!(
        "defaults: {{rate: 40, duration: 1500ms, fault_at: 500ms, recover_at: 1s, readback_delay: 0ms}}\n\
         scenarios:\n\
         \x20 - name: clean\n\
         \x20   settle: \"true\"\n\
         \x20 - name: outage\n\
         \x20   fault: \"touch {flag}\"\n\
         \x20   recover: \"rm -f {flag}\"\n\
         \x20   budgets: {{failed_reads: 0}}\n"
    );
    std::fs::write(&file, yaml).unwrap();
    let out = dir.join("suite-out");
    let args =
        ["suite", &file.display().to_string(), "--url", &url, "--out", &out.display().to_string()].map(String::from);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_drill")).args(&args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("FAIL suite") && stdout.contains("1/2 scenarios passed"), "{stdout}");
    let suite: Value = serde_json::from_str(&std::fs::read_to_string(out.join("suite.json")).unwrap()).unwrap();
    let verdicts: Vec<&str> =
        suite["scenarios"].as_array().unwrap().iter().map(|s| s["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["PASS", "FAIL"]);
    let markdown = std::fs::read_to_string(out.join("suite.md")).unwrap();
    assert!(markdown.contains("[report](outage/report.md)"), "{markdown}");
    assert!(markdown.contains("| takeover | failback | takeover stall | failback stall | recover |"), "{markdown}");
    assert!(suite["scenarios"][1]["takeover_stall_ms"].as_f64().unwrap() > 300.0, "{suite}");
    assert!(out.join("clean/settle.stdout").exists() && out.join("outage/timeline.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
