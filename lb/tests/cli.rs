//! The command line: `tandem check` like `nginx -t`, and a bad config never starts.

mod common;
use std::process::Command;

fn tandem(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().expect("run tandem");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(text: &str) -> String {
    let dir = common::temp_dir("cli");
    let path = dir.join("lb.yaml");
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

const BAD: &str = "listen: [\"127.0.0.1:18080\"]
upstreams:
  app:
    balance: ip_hash
    servers:
      - { addr: \"127.0.0.1:9001\", weight: 0 }
      - { addr: \"127.0.0.1:9002\", backup: true }
      - { addr: \"127.0.0.1:9003\", fail_timeout: 10 }
";

#[test]
fn check_accepts_the_annotated_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lb.yaml");
    let (code, out, _) = tandem(&["check", "--config", example]);
    assert_eq!(code, 0);
    assert!(out.contains("test is successful"));
}

#[test]
fn check_prints_every_error_with_key_path_and_line_and_exits_1() {
    let path = write(BAD);
    let (code, _, err) = tandem(&["check", "-c", &path]);
    assert_eq!(code, 1);
    assert!(err.contains("upstreams.app.servers[0].weight: must be >= 1 (") && err.contains("lb.yaml:6)"), "{err}");
    assert!(err.contains("upstreams.app.servers[1].backup") && err.contains("lb.yaml:7)"), "{err}");
    assert!(err.contains("upstreams.app.servers[2].fail_timeout") && err.contains("lb.yaml:8)"), "{err}");
}

#[test]
fn an_unknown_key_is_named_with_its_path() {
    let path = write("listen: [\"127.0.0.1:18080\"]\nupstreams:\n  app:\n    servers:\n      - { addr: \"127.0.0.1:9001\", wieght: 2 }\n");
    let (code, _, err) = tandem(&["check", "-c", &path]);
    assert_eq!(code, 1);
    assert!(err.contains("upstreams.app.servers[0].wieght: unknown key") && err.contains("lb.yaml:5)"), "{err}");
}

#[test]
fn a_bad_config_does_not_start_the_proxy() {
    let path = write(BAD);
    let (code, _, err) = tandem(&["--config", &path]);
    assert_eq!(code, 1, "exits instead of serving");
    assert!(err.contains("weight: must be >= 1"), "{err}");
}

#[test]
fn help_explains_the_flags_and_version_prints_the_version() {
    let (code, out, _) = tandem(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--config") && out.contains("check"), "{out}");
    let (code, out, _) = tandem(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("tandem ") && out.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_config_is_a_usage_error() {
    let (code, _, err) = tandem(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("--config"));
}
