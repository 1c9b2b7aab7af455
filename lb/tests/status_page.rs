//! The status page in a real browser: Debian's chromium, headless, loads it
//! from the admin listener; the DOM must show every server with its state,
//! and a PNG screenshot is kept as an artifact (target/artifacts/).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Run chromium on `url` with `args`, a fresh profile, bounded to 60 s.
fn chromium(profile: &Path, url: &str, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("60")
        .arg("chromium")
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium (make test installs Debian's chromium package)")
}

/// The attributes of every `<tr ...>` start tag whose class is `server`.
fn server_rows(dom: &str) -> Vec<HashMap<String, String>> {
    dom.split("<tr ")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let mut attrs = HashMap::new();
            for part in tag.split("\" ") {
                if let Some((k, v)) = part.split_once("=\"") {
                    attrs.insert(k.trim().to_string(), v.trim_end_matches('"').to_string());
                }
            }
            (attrs.get("class").map(String::as_str) == Some("server")).then_some(attrs)
        })
        .collect()
}

fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

#[test]
fn chromium_renders_every_server_with_its_state_and_a_screenshot_is_kept() {
    let a = Upstream::start("a", Behavior::Name);
    let b = Upstream::refused("b");
    let c = Upstream::start("c", Behavior::Name);
    let proxy =
        Proxy::start(&app(&[], &[(&a, "weight: 3"), (&b, "max_fails: 1, fail_timeout: 60s"), (&c, "backup: true")]));
    for _ in 0..5 {
        assert_eq!(proxy.get("/").status, 200);
    }
    let url = format!("http://{}/", proxy.admin);
    let profile = temp_dir("chromium");

    let out = chromium(&profile, &url, &["--virtual-time-budget=3000", "--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let rows = server_rows(&dom);
    let state_of = |addr: std::net::SocketAddr| {
        rows.iter()
            .find(|r| r.get("data-server") == Some(&addr.to_string()))
            .and_then(|r| r.get("data-state").cloned())
            .unwrap_or_else(|| panic!("no row for {addr} in the DOM:\n{dom}"))
    };
    assert_eq!(rows.len(), 3, "one row per server: {rows:?}");
    assert!(rows.iter().all(|r| r.get("data-upstream").map(String::as_str) == Some("app")));
    assert_eq!(state_of(a.addr), "up");
    assert_eq!(state_of(b.addr), "quarantined");
    assert_eq!(state_of(c.addr), "backup");
    assert!(dom.contains("id=\"generation\""), "generation shown");
    assert!(dom.contains("data-healthy=\"true\""), "health shown");

    let png = artifacts_dir().join("status-page.png");
    let _ = std::fs::remove_file(&png);
    let shot = format!("--screenshot={}", png.display());
    let out =
        chromium(&profile, &url, &["--virtual-time-budget=3000", "--window-size=1400,900", "--hide-scrollbars", &shot]);
    assert!(out.status.success(), "chromium screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "a real PNG ({} bytes)", bytes.len());
    eprintln!("status page screenshot: {}", png.display());
    let _ = std::fs::remove_dir_all(&profile);
}
