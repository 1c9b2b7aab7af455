//! The real `tandem-app` binary over a real socket.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn bad_settings_exit_2_naming_each_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem-app"))
        .env("TANDEM_APP_LISTEN", "everywhere")
        .env("TANDEM_APP_CACHE_TTL", "10")
        .output()
        .expect("run tandem-app");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TANDEM_APP_LISTEN") && stderr.contains("TANDEM_APP_CACHE_TTL"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_http_and_stops_cleanly_on_sigterm() {
    let tier = common::tier().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem-app"))
        .envs(tier.env())
        .env("TANDEM_APP_NAME", "app-binary")
        .env("TANDEM_APP_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tandem-app");
    let started = Instant::now();
    let health = loop {
        if let Some(response) = http_get(port, "/healthz") {
            break response;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "tandem-app never listened");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.to_ascii_lowercase().contains("x-served-by: app-binary"), "{health}");
    let list = http_get(port, "/api/property").expect("list");
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    assert!(list.to_ascii_lowercase().contains("x-db-node: "), "{list}");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "tandem-app ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
