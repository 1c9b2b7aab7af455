//! Certificates by ACME (RFC 8555, HTTP-01): a background service that
//! obtains the `acme.domains` certificate, keeps it and the account in
//! `acme.state_dir`, renews it at two thirds of its lifetime ([`plan`]),
//! and swaps it into the TLS listeners that list `{ acme: true }` without
//! dropping a connection. A failed attempt keeps the current certificate,
//! is logged and shown on the status page, and is retried with a backoff.
//!
//! HTTP-01 challenges are answered by the plain-HTTP listeners themselves
//! (`crate::proxy::exchange`): from this process's tokens ([`state`]), or
//! from `state_dir/challenges/` (so the other balancer of a pair sharing the
//! directory answers too, whichever holds the VIP).

pub mod files;
pub mod issue;
pub mod plan;
pub mod state;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use log::{info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::config::Acme;
use crate::live::Live;
use crate::timefmt::rfc3339;
use plan::Validity;

pub use state::{AcmeShared, AcmeStatus};

/// The ACME background service (idle when the config has no `acme`).
pub struct AcmeService {
    live: Arc<Live>,
}

impl AcmeService {
    pub fn new(live: Arc<Live>) -> AcmeService {
        AcmeService { live }
    }

    /// One attempt: obtain, write, swap in; the status says how it went.
    async fn attempt(&self, acme: &Acme) {
        let shared = &self.live.acme;
        shared.update(|s| s.state = "obtaining");
        info!("acme: obtaining a certificate for {} from {}", acme.domains.join(", "), acme.directory);
        let result = match issue::obtain(acme, shared).await {
            Ok(issued) => files::write_certificate(&acme.state_dir, &issued.chain, &issued.key)
                .map_err(|e| format!("writing {}: {e}", acme.state_dir.display())),
            Err(e) => Err(e),
        };
        let result = result
            .and_then(|()| self.live.refresh_tls().map_err(|e| format!("the new certificate was not loaded: {e}")));
        let now = SystemTime::now();
        match result {
            Ok(()) => {
                let validity = current_validity(acme);
                shared.update(|s| {
                    s.state = "valid";
                    s.last_attempt = Some(now);
                    s.last_success = Some(now);
                    s.last_error = None;
                    s.failures = 0;
                    s.obtained += 1;
                    s.not_after = validity.map(|v| v.not_after);
                });
                let until = validity.map_or_else(|| "?".to_string(), |v| rfc3339(v.not_after));
                info!("acme: certificate for {} obtained and in use, valid until {until}", acme.domains.join(", "));
            }
            Err(e) => {
                let mut failures = 0;
                shared.update(|s| {
                    s.state = "failed";
                    s.last_attempt = Some(now);
                    s.last_error = Some(e.clone());
                    s.failures += 1;
                    s.failed += 1;
                    failures = s.failures;
                });
                warn!(
                    "acme: obtaining the certificate for {} failed: {e}; the current certificate stays; next try in {:?}",
                    acme.domains.join(", "),
                    plan::backoff(failures)
                );
            }
        }
    }
}

#[async_trait]
impl BackgroundService for AcmeService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut changes = self.live.subscribe();
        let shared = &self.live.acme;
        loop {
            let Some(acme) = self.live.config().acme.clone() else {
                // No acme section: wait for a reload that adds one.
                tokio::select! {
                    _ = changes.changed() => continue,
                    _ = shutdown.changed() => return,
                }
            };
            let current = current_validity(&acme);
            let status = shared.status();
            let due = plan::next_attempt(current, status.failures, status.last_attempt);
            shared.update(|s| {
                s.next_attempt = Some(due);
                s.not_after = current.map(|v| v.not_after);
                if s.state.is_empty() || s.state == "starting" {
                    s.state = if current.is_some() { "valid" } else { "starting" };
                }
            });
            let wait = due.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shared.renew_now.notified() => info!("acme: renewal asked for (runtime API)"),
                _ = changes.changed() => continue,
                _ = shutdown.changed() => return,
            }
            self.attempt(&acme).await;
        }
    }
}

/// The validity of the certificate in the state directory, if there is one
/// that covers every configured name.
fn current_validity(acme: &Acme) -> Option<Validity> {
    let pem = std::fs::read(acme.cert_file()).ok()?;
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_ascii_lowercase()),
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    if !acme.domains.iter().all(|d| names.contains(d)) {
        return None;
    }
    let at =
        |t: &x509_parser::time::ASN1Time| SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64);
    Some(Validity { not_before: at(&cert.validity().not_before), not_after: at(&cert.validity().not_after) })
}
