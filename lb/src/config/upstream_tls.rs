//! An upstream group's `tls`: `true`, or a mapping.
//!
//! | key | default | nginx |
//! |---|---|---|
//! | `tls` | off | `proxy_pass https://...` |
//! | `tls.sni` | each server's host as written (a name; none for an IP) | `proxy_ssl_server_name on` + `proxy_ssl_name` |
//! | `tls.verify` | `true` (nginx's default is off) | `proxy_ssl_verify` |
//! | `tls.ca` | the system's CAs | `proxy_ssl_trusted_certificate` |
//!
//! The CA file is read with the listeners' certificates (`crate::tls`), at
//! start, by `tandem check` and on reload.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::address::is_hostname;
use super::error::Report;
use super::model::UpstreamTls;

/// `tls: true | false | { sni, verify, ca }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawUpstreamTls {
    Switch(bool),
    Mapping(RawUpstreamTlsMapping),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a tls mapping (sni, verify, ca)")]
pub(crate) struct RawUpstreamTlsMapping {
    pub sni: Option<String>,
    pub verify: Option<bool>,
    pub ca: Option<String>,
}

impl<'de> Deserialize<'de> for RawUpstreamTls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TlsVisitor;
        impl<'de> Visitor<'de> for TlsVisitor {
            type Value = RawUpstreamTls;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a mapping with sni, verify and ca")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawUpstreamTls, E> {
                Ok(RawUpstreamTls::Switch(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawUpstreamTls, A::Error> {
                RawUpstreamTlsMapping::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawUpstreamTls::Mapping)
            }
        }
        deserializer.deserialize_any(TlsVisitor)
    }
}

pub(crate) fn upstream_tls(raw: Option<RawUpstreamTls>, path: &str, report: &mut Report<'_>) -> Option<UpstreamTls> {
    let m = match raw? {
        RawUpstreamTls::Switch(false) => return None,
        RawUpstreamTls::Switch(true) => RawUpstreamTlsMapping { sni: None, verify: None, ca: None },
        RawUpstreamTls::Mapping(m) => m,
    };
    let sni = m.sni.map(|s| s.to_ascii_lowercase());
    if let Some(name) = &sni {
        if !is_hostname(name) {
            report.error(&format!("{path}.sni"), format!("`{name}` is not a host name"));
        }
    }
    let verify = m.verify.unwrap_or(true);
    let ca = m.ca.map(PathBuf::from);
    if ca.is_some() && !verify {
        report.error(&format!("{path}.ca"), "is only used with verify: true");
    }
    Some(UpstreamTls { sni, verify, ca, line: report.line(path) })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};

    fn group(tls: &str) -> String {
        format!("listen: \"127.0.0.1:80\"\nupstreams:\n  app:\n    tls: {tls}\n    servers: [{{ addr: \"127.0.0.1:9443\" }}]\n")
    }

    #[test]
    fn tls_true_verifies_with_the_system_cas_and_each_servers_host() {
        let t = config(&group("true")).upstreams[0].tls.clone().expect("tls");
        assert!(t.verify);
        assert_eq!((t.sni, t.ca), (None, None));
        assert!(config(&group("false")).upstreams[0].tls.is_none());
    }

    #[test]
    fn a_mapping_sets_sni_verification_and_the_ca() {
        let t = config(&group("{ sni: App.Internal, ca: /etc/tandem/app-ca.pem }")).upstreams[0].tls.clone();
        let t = t.expect("tls");
        assert_eq!(t.sni.as_deref(), Some("app.internal"));
        assert_eq!(t.ca.as_deref(), Some(std::path::Path::new("/etc/tandem/app-ca.pem")));
    }

    #[test]
    fn a_ca_without_verification_and_a_bad_sni_are_refused() {
        assert_error(&group("{ verify: false, ca: /x.pem }"), "upstreams.app.tls.ca", 4, "verify: true");
        assert_error(&group("{ sni: \"a b\" }"), "upstreams.app.tls.sni", 4, "not a host name");
        assert_error(&group("{ verfy: false }"), "upstreams.app.tls.verfy", 4, "valid: sni, verify, ca");
    }
}
