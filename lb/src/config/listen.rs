//! `listen`: plain addresses and TLS listeners.
//!
//! | key | default | nginx |
//! |---|---|---|
//! | `listen[i]` as `"ip:port"` | (required) | `listen 80` |
//! | `listen[i].addr` | (required) | `listen 443 ssl` |
//! | `listen[i].tls.certificates` | (required, one or more `{cert, key}`) | `ssl_certificate`, `ssl_certificate_key` (several: one `server` each) |
//! | `listen[i].tls.protocols` | `[h2, http/1.1]` | `http2 on` |
//! | `listen[i].tls.min_version` | `"1.2"` | `ssl_protocols TLSv1.2 TLSv1.3` |
//!
//! Only the settings are checked here; the files are read (and a missing,
//! expired or mismatched one refused with the same key paths) by
//! `crate::tls`, when the process starts, on `tandem check` and on reload.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::address::parse_listen;
use super::error::Report;
use super::model::{Acme, Alpn, CertificateFiles, Listen, ListenTls, TlsVersion};
use super::raw::{ListenList, RawListen, RawTls};

/// `acme`: the validated `acme` section, for `{ acme: true }` certificates.
pub(crate) fn listen(raw: Option<ListenList>, acme: Option<&Acme>, report: &mut Report<'_>) -> Vec<Listen> {
    let entries = match raw {
        None => {
            report.error("listen", "is required: one or more ip:port addresses, e.g. 0.0.0.0:8080");
            return Vec::new();
        }
        Some(list) if list.0.is_empty() => {
            report.error("listen", "needs at least one ip:port address");
            return Vec::new();
        }
        Some(list) => list.0,
    };
    let mut out: Vec<Listen> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let path = format!("listen[{i}]");
        let (text, addr_path, tls) = match entry {
            RawListen::Plain(text) => (Some(text), path.clone(), None),
            RawListen::Mapping(m) => (m.addr, format!("{path}.addr"), m.tls),
        };
        let Some(text) = text else {
            report.error(&addr_path, "is required: the ip:port to listen on, e.g. 0.0.0.0:443");
            continue;
        };
        let tls = tls.map(|t| listen_tls(t, &format!("{path}.tls"), acme, report));
        match parse_listen(&text) {
            Ok(addr) if out.iter().any(|l| l.addr == addr) => {
                report.error(&addr_path, format!("{addr} is listed twice"));
            }
            Ok(addr) => out.push(Listen { addr, tls }),
            Err(message) => report.error(&addr_path, message),
        }
    }
    out
}

fn listen_tls(raw: RawTls, path: &str, acme: Option<&Acme>, report: &mut Report<'_>) -> ListenTls {
    let certificates = match raw.certificates {
        None => {
            report.error(&format!("{path}.certificates"), "is required: one or more { cert: FILE, key: FILE }");
            Vec::new()
        }
        Some(list) if list.is_empty() => {
            report.error(&format!("{path}.certificates"), "needs at least one { cert: FILE, key: FILE }");
            Vec::new()
        }
        Some(list) => list
            .into_iter()
            .enumerate()
            .filter_map(|(j, c)| {
                let at = format!("{path}.certificates[{j}]");
                if c.acme == Some(true) {
                    return acme_certificate(c.cert.is_some() || c.key.is_some(), acme, at, report);
                }
                let cert = file(c.cert, &format!("{at}.cert"), "the certificate chain (PEM)", report);
                let key = file(c.key, &format!("{at}.key"), "the private key (PEM)", report);
                Some(CertificateFiles {
                    cert: cert?,
                    key: key?,
                    line: report.line(&at),
                    cert_line: report.line(&format!("{at}.cert")),
                    key_line: report.line(&format!("{at}.key")),
                    key_path: at,
                    acme: false,
                })
            })
            .collect(),
    };
    let protocols = match raw.protocols {
        None => vec![Alpn::H2, Alpn::Http11],
        Some(list) => {
            let at = format!("{path}.protocols");
            let mut out = Vec::new();
            for name in list.0 {
                let protocol = match name.as_str() {
                    "h2" => Alpn::H2,
                    "http/1.1" => Alpn::Http11,
                    other => {
                        report.error(&at, format!("`{other}` is not a protocol tandem serves (valid: h2, http/1.1)"));
                        continue;
                    }
                };
                if out.contains(&protocol) {
                    report.error(&at, format!("{name} is listed twice"));
                } else {
                    out.push(protocol);
                }
            }
            if out.is_empty() {
                report.error(&at, "needs at least one protocol (valid: h2, http/1.1)");
            }
            out
        }
    };
    let min_version = match raw.min_version.as_ref().map(|s| s.text.as_str()) {
        None | Some("1.2") => TlsVersion::V1_2,
        Some("1.3") => TlsVersion::V1_3,
        Some(other) => {
            report.error(
                &format!("{path}.min_version"),
                format!(
                    "`{other}` is not a TLS version tandem accepts (valid: \"1.2\", \"1.3\"; older ones are unsafe)"
                ),
            );
            TlsVersion::V1_2
        }
    };
    ListenTls { certificates, protocols, min_version }
}

/// `{ acme: true }`: the certificate in the ACME state directory.
fn acme_certificate(
    with_files: bool,
    acme: Option<&Acme>,
    at: String,
    report: &mut Report<'_>,
) -> Option<CertificateFiles> {
    if with_files {
        report.error(&format!("{at}.acme"), "takes no cert or key: the ACME certificate's files are in acme.state_dir");
        return None;
    }
    let Some(acme) = acme else {
        report.error(&format!("{at}.acme"), "needs the top-level `acme` section (directory, domains, state_dir)");
        return None;
    };
    Some(CertificateFiles {
        cert: acme.cert_file(),
        key: acme.key_file(),
        line: report.line(&at),
        cert_line: None,
        key_line: None,
        key_path: at,
        acme: true,
    })
}

fn file(value: Option<String>, path: &str, what: &str, report: &mut Report<'_>) -> Option<PathBuf> {
    match value {
        None => {
            report.error(path, format!("is required: the file with {what}"));
            None
        }
        Some(text) if text.is_empty() => {
            report.error(path, format!("is empty: give the file with {what}"));
            None
        }
        Some(text) => Some(PathBuf::from(text)),
    }
}

/// The addresses alone, in `listen` order.
pub fn addresses(listen: &[Listen]) -> Vec<SocketAddr> {
    listen.iter().map(|l| l.addr).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};

    const UPSTREAM: &str = "upstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";

    #[test]
    fn plain_strings_and_tls_mappings_mix_in_one_list() {
        let c = config(&format!(
            "listen:\n  - \"127.0.0.1:8080\"\n  - addr: \"127.0.0.1:8443\"\n    tls:\n      certificates:\n        - {{ cert: a.pem, key: a.key }}\n        - {{ cert: b.pem, key: b.key }}\n      min_version: \"1.3\"\n{UPSTREAM}"
        ));
        assert_eq!(c.listen.len(), 2);
        assert!(c.listen[0].tls.is_none());
        let tls = c.listen[1].tls.as_ref().expect("tls");
        assert_eq!(tls.certificates.len(), 2);
        assert_eq!(tls.certificates[1].key_path, "listen[1].tls.certificates[1]");
        assert_eq!(tls.certificates[1].key_line, Some(7));
        assert_eq!(tls.min_version, super::TlsVersion::V1_3);
        assert_eq!(tls.protocols, vec![super::Alpn::H2, super::Alpn::Http11], "both by default, h2 preferred");
    }

    #[test]
    fn a_tls_listener_without_certificates_is_refused_with_its_path() {
        let text = format!("listen:\n  - addr: \"127.0.0.1:8443\"\n    tls: {{ min_version: \"1.2\" }}\n{UPSTREAM}");
        assert_error(&text, "listen[0].tls.certificates", 3, "is required");
    }

    #[test]
    fn a_certificate_without_its_key_is_refused_with_its_path() {
        let text = format!(
            "listen:\n  - addr: \"127.0.0.1:8443\"\n    tls:\n      certificates:\n        - cert: a.pem\n{UPSTREAM}"
        );
        assert_error(&text, "listen[0].tls.certificates[0].key", 5, "private key");
    }

    #[test]
    fn tls_versions_below_1_2_and_unknown_protocols_are_refused() {
        let base = "listen:\n  - addr: \"127.0.0.1:8443\"\n    tls:\n      certificates: [{ cert: a, key: b }]\n";
        assert_error(
            &format!("{base}      min_version: \"1.1\"\n{UPSTREAM}"),
            "listen[0].tls.min_version",
            5,
            "unsafe",
        );
        assert_error(
            &format!("{base}      protocols: [spdy]\n{UPSTREAM}"),
            "listen[0].tls.protocols",
            5,
            "valid: h2, http/1.1",
        );
        let twice = format!("{base}      protocols: [h2, h2]\n{UPSTREAM}");
        assert_error(&twice, "listen[0].tls.protocols", 5, "h2 is listed twice");
    }

    #[test]
    fn a_mapping_without_addr_and_a_duplicate_address_are_refused() {
        let text = format!("listen:\n  - tls: {{ certificates: [{{ cert: a, key: b }}] }}\n{UPSTREAM}");
        assert_error(&text, "listen[0].addr", 2, "is required");
        let text = format!("listen:\n  - \"127.0.0.1:80\"\n  - addr: \"127.0.0.1:80\"\n{UPSTREAM}");
        assert_error(&text, "listen[1].addr", 3, "listed twice");
    }

    #[test]
    fn an_unknown_key_in_a_listen_mapping_names_its_path() {
        let text = format!("listen:\n  - addr: \"127.0.0.1:80\"\n    ssl: true\n{UPSTREAM}");
        assert_error(&text, "listen[0].ssl", 3, "valid: addr, tls");
    }
}
