//! The file format: serde structs that mirror `lb.yaml` key for key.
//!
//! Every field is an `Option` so that defaults and checks live in one place
//! (`validate.rs`, `upstream.rs`) and a missing key becomes a clear message
//! rather than serde's "missing field". Unknown keys are refused here.
//! Enumerations (`balance`, `next_upstream`, hash keys) stay strings so that a
//! typo in one of them does not hide the other problems in the file.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::error::Report;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with listen, upstreams and routes")]
pub(crate) struct RawConfig {
    pub listen: Option<ListenList>,
    pub threads: Option<i64>,
    pub shutdown_grace: Option<Scalar>,
    pub upstreams: Option<NamedMap<RawUpstream>>,
    pub routes: Option<Vec<RawRoute>>,
    pub admin: Option<RawAdmin>,
    pub access_log: Option<RawAccessLog>,
    pub pid_file: Option<String>,
    pub upgrade_sock: Option<String>,
    pub response_headers: Option<NamedMap<Scalar>>,
    // The client side's limits and timeouts (nginx's names): `client.rs`.
    pub client_header_timeout: Option<Scalar>,
    pub client_body_timeout: Option<Scalar>,
    pub client_max_body_size: Option<Scalar>,
    pub large_client_header_buffers: Option<super::client::RawHeaderBuffers>,
    pub client_max_headers: Option<u32>,
    pub keepalive_timeout: Option<Scalar>,
    pub keepalive_requests: Option<u32>,
    pub send_timeout: Option<Scalar>,
    pub max_client_connections: Option<u32>,
    pub acme: Option<RawAcme>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an acme mapping (directory, email, domains, state_dir, ca)")]
pub(crate) struct RawAcme {
    pub directory: Option<String>,
    pub email: Option<String>,
    pub domains: Option<StringList>,
    pub state_dir: Option<String>,
    pub ca: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an admin mapping (listen, token, token_file, allow)")]
pub(crate) struct RawAdmin {
    pub listen: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub allow: Option<StringList>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an access_log mapping (format, path)")]
pub(crate) struct RawAccessLog {
    pub format: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an upstream group (a mapping with servers)")]
pub(crate) struct RawUpstream {
    pub balance: Option<String>,
    pub hash: Option<RawHash>,
    pub least_time: Option<String>,
    pub two: Option<String>,
    pub connect_timeout: Option<Scalar>,
    pub read_timeout: Option<Scalar>,
    pub send_timeout: Option<Scalar>,
    pub next_upstream: Option<StringList>,
    pub next_upstream_tries: Option<u32>,
    pub next_upstream_timeout: Option<Scalar>,
    pub servers: Option<Vec<RawServer>>,
    pub health_check: Option<RawHealthCheck>,
    pub tls: Option<super::upstream_tls::RawUpstreamTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with key and consistent")]
pub(crate) struct RawHash {
    pub key: Option<String>,
    pub consistent: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a server (a mapping with addr)")]
pub(crate) struct RawServer {
    pub addr: Option<String>,
    pub weight: Option<i64>,
    pub max_fails: Option<u32>,
    pub fail_timeout: Option<Scalar>,
    pub backup: Option<bool>,
    pub down: Option<bool>,
    pub max_conns: Option<u32>,
    pub slow_start: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a health_check mapping")]
pub(crate) struct RawHealthCheck {
    pub tcp: Option<bool>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub interval: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub expect: Option<Scalar>,
    pub mandatory: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a route (a mapping with host, path_prefix, methods, header, upstream)")]
pub(crate) struct RawRoute {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub upstream: Option<String>,
    pub https_redirect: Option<bool>,
    pub methods: Option<StringList>,
    pub header: Option<RawHeaderMatch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a header mapping (name, and value or prefix)")]
pub(crate) struct RawHeaderMatch {
    pub name: Option<String>,
    pub value: Option<String>,
    pub prefix: Option<String>,
}

/// A `listen` entry: `"0.0.0.0:80"`, or a mapping with `addr` and `tls`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawListen {
    Plain(String),
    Mapping(RawListenMapping),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a listen mapping (addr, tls)")]
pub(crate) struct RawListenMapping {
    pub addr: Option<String>,
    pub tls: Option<RawTls>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a tls mapping (certificates, protocols, min_version)")]
pub(crate) struct RawTls {
    pub certificates: Option<Vec<RawCertificate>>,
    pub protocols: Option<StringList>,
    pub min_version: Option<Scalar>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a certificate mapping (cert and key, or acme: true)")]
pub(crate) struct RawCertificate {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub acme: Option<bool>,
}

impl<'de> Deserialize<'de> for RawListen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawListen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an \"ip:port\" string or a mapping with addr and tls")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawListen, E> {
                Ok(RawListen::Plain(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawListen, A::Error> {
                RawListenMapping::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawListen::Mapping)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// One `listen` entry or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListenList(pub Vec<RawListen>);

impl<'de> Deserialize<'de> for ListenList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ListenList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an \"ip:port\" string or a list of listen entries")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ListenList, E> {
                Ok(ListenList(vec![RawListen::Plain(v.to_string())]))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ListenList, A::Error> {
                let one = RawListenMapping::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ListenList(vec![RawListen::Mapping(one)]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListenList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<RawListen>()? {
                    items.push(item);
                }
                Ok(ListenList(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// A scalar kept as text (`10s`, `200-399`); `is_number` records that YAML saw a
/// number, so that `10` can be told apart from `"10"` if that ever matters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    pub is_number: bool,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string such as 10s")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar { text: v.to_string(), is_number: false })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar { text: v.to_string(), is_number: true })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar { text: v.to_string(), is_number: true })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar { text: v.to_string(), is_number: true })
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// One string or a list of strings: `listen: "0.0.0.0:8080"` or `listen: [a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringList(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// A mapping from names to values that keeps file order (upstream groups are
/// listed in the order written, and the first one is the default route).
#[derive(Debug)]
pub(crate) struct NamedMap<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = NamedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamedMap<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(Name(name)) = map.next_key::<Name>()? {
                    entries.push((name, map.next_value::<T>()?));
                }
                Ok(NamedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

/// A mapping key written as a string or a plain number (`1:` is a fine group name).
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
                Ok(Name(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Name, E> {
                Ok(Name(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Name, E> {
                Ok(Name(v.to_string()))
            }
        }
        deserializer.deserialize_any(NameVisitor)
    }
}

/// Reads the file into raw structs. A YAML syntax error or a structural error
/// (unknown key, wrong type) stops here with one error in `report`.
pub(crate) fn parse(text: &str, report: &mut Report<'_>) -> Option<RawConfig> {
    let value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            let line = err.location().map(|l| l.line());
            report.error_at("", line, format!("not valid YAML: {err}"));
            return None;
        }
    };
    if value.is_null() {
        report.error("", "the file is empty: it needs at least `listen` and `upstreams`");
        return None;
    }
    match serde_path_to_error::deserialize::<_, RawConfig>(value) {
        Ok(raw) => Some(raw),
        Err(err) => {
            let path = err.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = err.into_inner().to_string();
            match non_text_key(&path, &message) {
                Some((parent, key)) => {
                    // serde_path_to_error writes `?` for a key it could not
                    // read as text: name the mapping, and the key's line.
                    let line = report.line(&if parent.is_empty() { key.clone() } else { format!("{parent}.{key}") });
                    let what = format!("key `{key}` is not a name: keys are text, like `listen` or `servers`");
                    report.error_at(&parent, line, what);
                }
                None => report.error(&path, humanize(&message)),
            }
            None
        }
    }
}

/// For an error about a mapping key that is not text (a number, a list):
/// the path of the mapping and the key as written. serde_path_to_error gives
/// such a key the path segment `?`.
fn non_text_key(path: &str, message: &str) -> Option<(String, String)> {
    let parent = if path == "?" { "" } else { path.strip_suffix(".?")? };
    let key = message.split('`').nth(1).unwrap_or("?");
    Some((parent.to_string(), key.to_string()))
}

/// Rewrites serde's wording into the file's terms.
fn humanize(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let expected = match rest.split_once(", expected ") {
            Some((_, expected)) => expected,
            None => return "unknown key (this mapping takes no keys)".to_string(),
        };
        let valid = expected.trim_start_matches("one of ").replace(" or ", ", ").replace('`', "");
        return format!("unknown key (valid: {valid})");
    }
    message
        .replace("expected u32", "expected a whole number from 0 to 4294967295")
        .replace("expected i64", "expected a whole number")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::locate::LineIndex;
    use super::*;

    #[test]
    fn a_key_that_is_not_text_names_its_mapping_and_line() {
        let e = parse_error("listen: [\"127.0.0.1:1\"]\n5: x\n");
        assert_eq!((e.path.as_str(), e.line), ("", Some(2)), "{e}");
        assert!(e.message.starts_with("key `5` is not a name"), "{e}");
        let e = parse_error("listen: [\"127.0.0.1:1\"]\nupstreams:\n  app:\n    7: x\n");
        assert_eq!((e.path.as_str(), e.line), ("upstreams.app", Some(4)), "{e}");
    }

    fn parse_error(text: &str) -> super::super::ConfigError {
        let index = LineIndex::build(text);
        let mut report = Report::new("lb.yaml", &index);
        assert!(parse(text, &mut report).is_none(), "expected an error for {text}");
        report.errors.remove(0)
    }

    #[test]
    fn unknown_key_names_its_path_line_and_the_valid_keys() {
        let text = "listen: [\"0.0.0.0:8080\"]\nupstreams:\n  app:\n    servers:\n      - addr: 127.0.0.1:1\n        wieght: 5\n";
        let err = parse_error(text);
        assert_eq!(err.path, "upstreams.app.servers[0].wieght");
        assert_eq!(err.line, Some(6));
        assert!(err.message.starts_with("unknown key (valid: addr, weight, max_fails"), "{}", err.message);
        assert!(err.to_string().ends_with("(lb.yaml:6)"), "{err}");
    }

    #[test]
    fn unknown_top_level_key_is_rejected_with_path_and_line() {
        let err = parse_error("listen: a\nthread: 2\n");
        assert_eq!(err.path, "thread");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("valid: listen, threads"), "{}", err.message);
    }

    #[test]
    fn wrong_type_names_its_path_and_line() {
        let err = parse_error("listen: a\nupstreams:\n  app:\n    servers:\n      - { addr: a, max_fails: lots }\n");
        assert_eq!(err.path, "upstreams.app.servers[0].max_fails");
        assert_eq!(err.line, Some(5));
        assert!(err.message.contains("whole number"), "{}", err.message);
    }

    #[test]
    fn invalid_yaml_reports_the_line() {
        let err = parse_error("listen: a\nupstreams: [\n  x: : y\n");
        assert_eq!(err.path, "");
        assert!(err.line.is_some());
        assert!(err.message.starts_with("not valid YAML"), "{}", err.message);
    }

    #[test]
    fn empty_file_is_rejected() {
        let err = parse_error("# nothing\n");
        assert!(err.message.contains("empty"), "{}", err.message);
    }

    #[test]
    fn listen_accepts_one_string_or_a_list() {
        let index = LineIndex::build("");
        let mut report = Report::new("lb.yaml", &index);
        let plain = |a: &str| RawListen::Plain(a.into());
        let one = parse("listen: a\n", &mut report).unwrap();
        assert_eq!(one.listen, Some(ListenList(vec![plain("a")])));
        let two = parse("listen: [a, b]\n", &mut report).unwrap();
        assert_eq!(two.listen, Some(ListenList(vec![plain("a"), plain("b")])));
    }

    #[test]
    fn upstream_groups_keep_file_order() {
        let index = LineIndex::build("");
        let mut report = Report::new("lb.yaml", &index);
        let raw = parse("upstreams:\n  zeta: {}\n  alpha: {}\n  7: {}\n", &mut report).unwrap();
        let names: Vec<_> = raw.upstreams.unwrap().0.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["zeta", "alpha", "7"]);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = parse_error("listen: a\nlisten: b\n");
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }
}
