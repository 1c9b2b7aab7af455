//! `acme`: certificates obtained and renewed by tandem itself (RFC 8555,
//! HTTP-01), used by TLS listeners that list `{ acme: true }`.
//!
//! | key | default | certbot / Caddy |
//! |---|---|---|
//! | `acme.directory` | (required) | `--server` / `acme_ca` |
//! | `acme.email` | none | `--email` / `email` |
//! | `acme.domains` | (required) | `-d` / site names |
//! | `acme.state_dir` | (required) | `/etc/letsencrypt` / data dir |
//! | `acme.ca` | the system's CAs | `REQUESTS_CA_BUNDLE` / `acme_ca_root` |

use std::path::PathBuf;

use super::address::is_hostname;
use super::error::Report;
use super::model::Acme;
use super::raw::RawAcme;

pub(crate) fn acme(raw: Option<RawAcme>, report: &mut Report<'_>) -> Option<Acme> {
    let raw = raw?;
    let directory = match raw.directory {
        Some(url) if url.starts_with("https://") && url.len() > "https://".len() => url,
        Some(url) => {
            report.error(
                "acme.directory",
                format!("`{url}` is not an https:// URL (ACME directories are served over HTTPS)"),
            );
            String::new()
        }
        None => {
            report.error(
                "acme.directory",
                "is required: the CA's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory",
            );
            String::new()
        }
    };
    let domains: Vec<String> = match raw.domains {
        None => {
            report.error("acme.domains", "is required: the names the certificate is for, e.g. [shop.example.com]");
            Vec::new()
        }
        Some(list) if list.0.is_empty() => {
            report.error("acme.domains", "needs at least one name");
            Vec::new()
        }
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for (i, name) in list.0.into_iter().enumerate() {
                let name = name.to_ascii_lowercase();
                if name.starts_with("*.") {
                    report.error(
                        &format!("acme.domains[{i}]"),
                        format!("`{name}`: wildcards need DNS-01, and tandem answers HTTP-01 only"),
                    );
                } else if name.parse::<std::net::IpAddr>().is_err() && !is_hostname(&name) {
                    report.error(&format!("acme.domains[{i}]"), format!("`{name}` is not a host name or IP address"));
                } else if out.contains(&name) {
                    report.error(&format!("acme.domains[{i}]"), format!("`{name}` is listed twice"));
                } else {
                    out.push(name);
                }
            }
            out
        }
    };
    let state_dir = match raw.state_dir {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            report.error(
                "acme.state_dir",
                "is required: where the account and certificates are kept, e.g. /var/lib/tandem/acme",
            );
            PathBuf::new()
        }
    };
    let email = raw.email.filter(|e| !e.is_empty());
    if let Some(e) = &email {
        if !e.contains('@') || e.contains(char::is_whitespace) {
            report.error("acme.email", format!("`{e}` is not an email address"));
        }
    }
    Some(Acme { directory, email, domains, state_dir, ca: raw.ca.map(PathBuf::from) })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_error, config};

    const BASE: &str = "listen: [\"127.0.0.1:80\"]\nupstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";

    #[test]
    fn an_acme_section_is_read_with_its_defaults() {
        let c = config(&format!(
            "{BASE}acme:\n  directory: https://ca.example/dir\n  domains: [Shop.Example.com, 127.0.0.1]\n  state_dir: /var/lib/tandem/acme\n"
        ));
        let acme = c.acme.expect("acme");
        assert_eq!(acme.domains, ["shop.example.com", "127.0.0.1"]);
        assert_eq!((acme.email, acme.ca), (None, None));
    }

    #[test]
    fn a_plain_http_directory_a_wildcard_and_a_missing_state_dir_are_refused() {
        let text = format!("{BASE}acme:\n  directory: http://ca.example/dir\n  domains: [\"*.example.com\"]\n");
        assert_error(&text, "acme.directory", 6, "https://");
        assert_error(&text, "acme.domains[0]", 7, "HTTP-01");
        assert_error(&text, "acme.state_dir", 5, "is required");
    }

    #[test]
    fn an_acme_certificate_needs_the_acme_section() {
        let text = "listen:\n  - addr: \"127.0.0.1:443\"\n    tls: { certificates: [{ acme: true }] }\nupstreams:\n  app:\n    servers: [{ addr: \"127.0.0.1:9001\" }]\n";
        assert_error(text, "listen[0].tls.certificates[0].acme", 3, "top-level `acme`");
    }

    #[test]
    fn an_acme_certificate_reads_the_state_dir_files() {
        let c = config(&format!(
            "listen:\n  - addr: \"127.0.0.1:443\"\n    tls: {{ certificates: [{{ acme: true }}] }}\n{}acme:\n  directory: https://ca.example/dir\n  domains: [a.example]\n  state_dir: /s\n",
            &BASE[BASE.find("upstreams").expect("upstreams")..]
        ));
        let cert = &c.listen[0].tls.as_ref().expect("tls").certificates[0];
        assert!(cert.acme);
        assert_eq!(cert.cert, std::path::Path::new("/s/cert.pem"));
        assert_eq!(cert.key, std::path::Path::new("/s/key.pem"));
    }
}
