//! The access log against the real binary: one line per request with the
//! tries, in JSON and text, and the request id passed to the upstream.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

fn lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn json_lines_show_every_try_and_the_request_id_reaches_the_upstream() {
    let a = Upstream::refused("a");
    let b = Upstream::start("b", Behavior::Name);
    let dir = temp_dir("access");
    let log = dir.join("access.log");
    let body = format!(
        "access_log: {{ format: json, path: {} }}\n{}",
        log.display(),
        app(&[], &[(&a, "fail_timeout: 30s"), (&b, "fail_timeout: 30s")])
    );
    let proxy = Proxy::start(&body);
    let r = proxy.send("GET", "/first?x=1", &[("User-Agent", "drill/1")], b"");
    assert_eq!(r.status, 200);
    let r = proxy.send("GET", "/second", &[("X-Request-Id", "client-id-1")], b"");
    assert_eq!(r.status, 200);
    let got = lines(&log, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    // Each worker thread hands its lines over in batches: lines of requests
    // served by different threads need not be in request order.
    let parsed: Vec<serde_json::Value> = got.iter().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let by_uri = |uri: &str| parsed.iter().find(|v| v["uri"] == uri).cloned().expect("a line for the request");
    let first = by_uri("/first?x=1");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["uri"], "/first?x=1");
    assert_eq!(first["status"], 200);
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["upstream"], "app");
    assert_eq!(first["user_agent"], "drill/1");
    assert_eq!(first["bytes"], 1);
    assert_eq!(first["tries"][0]["server"], a.addr.to_string());
    assert_eq!(first["tries"][0]["error"], "connect_refused");
    assert_eq!(first["tries"][1]["server"], b.addr.to_string());
    assert_eq!(first["tries"][1]["status"], 200);
    let id = first["request_id"].as_str().expect("id");
    assert_eq!(id.len(), 32, "{id}");
    let seen = b.seen();
    assert_eq!(seen[0].headers.get("x-request-id").map(String::as_str), Some(id), "upstream saw the same id");
    let second = by_uri("/second");
    assert_eq!(second["request_id"], "client-id-1", "a client's id is kept");
    assert!(second["duration_ms"].as_f64().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_lines_look_like_combined_log_and_a_reload_reopens_the_file() {
    let a = Upstream::start("a", Behavior::Status(503));
    let dir = temp_dir("access-text");
    let log = dir.join("access.log");
    let body = format!("access_log: {{ path: {} }}\n{}", log.display(), app(&[], &[(&a, "")]));
    let proxy = Proxy::start(&body);
    assert_eq!(proxy.get("/x").status, 503);
    let got = lines(&log, 1);
    let line = &got[0];
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(line.contains("] \"GET /x HTTP/1.1\" 503 1 \"-\" \"-\" rt="), "{line}");
    assert!(line.contains(&format!("upstream=app tries=\"{} 503\"", a.addr)), "{line}");
    // logrotate: move the file away, reload, and the next line goes to a new file.
    std::fs::rename(&log, dir.join("access.log.1")).expect("rotate");
    assert_eq!(proxy.reload(&body)["ok"], true);
    assert_eq!(proxy.get("/y").status, 503);
    let got = lines(&log, 1);
    assert!(got.first().is_some_and(|l| l.contains("GET /y")), "{got:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
