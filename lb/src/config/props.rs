//! Property tests of the config loader: whatever the file holds, loading
//! gives a config or errors, never a panic, and every error names where it
//! is (a key path under a known top-level key, or the file as a whole) with
//! a line inside the file.

use proptest::prelude::*;

use super::parse_str;

const TOP: [&str; 22] = [
    "listen",
    "threads",
    "shutdown_grace",
    "upstreams",
    "routes",
    "admin",
    "access_log",
    "pid_file",
    "upgrade_sock",
    "response_headers",
    "client_header_timeout",
    "client_body_timeout",
    "client_max_body_size",
    "large_client_header_buffers",
    "client_max_headers",
    "keepalive_timeout",
    "keepalive_requests",
    "send_timeout",
    "max_client_connections",
    "wieght",
    "servers",
    "upstream",
];

/// YAML values of every shape, IP-literal addresses only (a hostname would
/// be resolved).
fn value() -> impl Strategy<Value = serde_yaml::Value> {
    use serde_yaml::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..70000).prop_map(|n| Value::Number(n.into())),
        prop_oneof![
            Just("10s"),
            Just("0s"),
            Just("5"),
            Just("1m"),
            Just("8k"),
            Just("127.0.0.1:9001"),
            Just("0.0.0.0:8080"),
            Just("[::1]:80"),
            Just("round_robin"),
            Just("hash"),
            Just("header:X-A"),
            Just("*"),
            Just("/api/"),
            Just("app"),
            Just("200-399"),
            Just("http_502"),
            Just("off"),
            Just(""),
            Just("a b c"),
            Just("/tmp/x.pid")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            Just("addr"),
            Just("weight"),
            Just("servers"),
            Just("app"),
            Just("balance"),
            Just("hash"),
            Just("key"),
            Just("number"),
            Just("size"),
            Just("listen"),
            Just("token"),
            Just("path_prefix"),
            Just("upstream"),
            Just("health_check"),
            Just("interval"),
            Just("max_fails"),
            Just("backup"),
            Just("format"),
            Just("bogus")
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_yaml::Value::Sequence),
            proptest::collection::vec((key, inner), 0..4).prop_map(|kv| {
                serde_yaml::Value::Mapping(
                    kv.into_iter().map(|(k, v)| (serde_yaml::Value::String(k.into()), v)).collect(),
                )
            }),
        ]
    })
}

fn config() -> impl Strategy<Value = String> {
    proptest::collection::vec((prop::sample::select(TOP.to_vec()), value()), 0..8).prop_map(|entries| {
        let map: serde_yaml::Mapping =
            entries.into_iter().map(|(k, v)| (serde_yaml::Value::String(k.to_string()), v)).collect();
        serde_yaml::to_string(&serde_yaml::Value::Mapping(map)).unwrap_or_default()
    })
}

fn check_errors(text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count().max(1);
    if let Err(errors) = parse_str(text, "lb.yaml") {
        prop_assert!(!errors.0.is_empty(), "an Err carries at least one error");
        for e in &errors.0 {
            prop_assert_eq!(&e.file, "lb.yaml");
            prop_assert!(!e.message.is_empty());
            let top = e.path.split(['.', '[']).next().unwrap_or("");
            // An unknown top-level key is named itself (as written, dots
            // and all); any other error sits under a key the format has.
            let unknown_top = e.message.starts_with("unknown key") && text.contains(e.path.as_str());
            prop_assert!(
                e.path.is_empty() || TOP.contains(&top) || unknown_top,
                "an error under an unknown key: {}",
                e
            );
            if let Some(line) = e.line {
                prop_assert!(line >= 1 && line <= lines + 1, "line {} of {}: {}", line, lines, e);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_mapping_loads_or_names_its_errors(text in config()) {
        check_errors(&text)?;
    }

    #[test]
    fn any_text_loads_or_names_its_errors(text in "[ -~\n\t]{0,300}") {
        check_errors(&text)?;
    }
}
