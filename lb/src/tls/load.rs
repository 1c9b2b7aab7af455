//! Reading one certificate chain and its key: every way it can be unfit is
//! an error at the key that names the file (`listen[1].tls.certificates[0].key:
//! ...`), found before anything running changes.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::CertificateFiles;

/// What the status page and the metrics show of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateInfo {
    /// The listener's address, as written.
    pub listener: String,
    /// `listen[1].tls.certificates[0]`.
    pub key_path: String,
    pub cert_file: String,
    /// DNS names of the subject alternative names (the common name when
    /// there are none), lowercase: what SNI is matched against.
    pub names: Vec<String>,
    pub issuer: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl CertificateInfo {
    /// Seconds until it expires (negative once it has).
    pub fn expires_in(&self, now: SystemTime) -> f64 {
        match self.not_after.duration_since(now) {
            Ok(left) => left.as_secs_f64(),
            Err(past) => -past.duration().as_secs_f64(),
        }
    }
}

/// A problem with one of the files: the key it belongs to (`.cert` or
/// `.key`) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub key: &'static str,
    pub message: String,
}

fn at(key: &'static str, message: String) -> LoadError {
    LoadError { key, message }
}

/// Read and check `files` as of `now`.
pub fn load(
    files: &CertificateFiles,
    listener: &str,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<(Arc<CertifiedKey>, CertificateInfo), LoadError> {
    let chain = read_chain(&files.cert)?;
    let info = describe(&chain[0], files, listener).map_err(|m| at("cert", m))?;
    check_validity(&info, now).map_err(|m| at("cert", m))?;
    let key = read_key(&files.key)?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => at(
            "key",
            format!(
                "{} is not the key of the certificate in {} (their public keys differ)",
                files.key.display(),
                files.cert.display()
            ),
        ),
        other => at("key", format!("{}: not a usable private key: {other}", files.key.display())),
    })?;
    Ok((Arc::new(certified), info))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| at("cert", format!("cannot read {}: {e}", path.display())))?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| at("cert", format!("{}: not a PEM certificate chain: {e}", path.display())))?;
    if chain.is_empty() {
        return Err(at(
            "cert",
            format!("{}: no certificate in it (expected -----BEGIN CERTIFICATE-----)", path.display()),
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| at("key", format!("cannot read {}: {e}", path.display())))?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| at("key", format!("{}: no private key in it (PKCS#8, PKCS#1 or SEC1 PEM): {e}", path.display())))
}

fn describe(leaf: &CertificateDer<'_>, files: &CertificateFiles, listener: &str) -> Result<CertificateInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("{}: the first certificate cannot be read: {e}", files.cert.display()))?;
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        if let Some(cn) = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()) {
            names.push(cn.to_ascii_lowercase());
        }
    }
    let time = |t: &x509_parser::time::ASN1Time| {
        let secs = t.timestamp();
        if secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            SystemTime::UNIX_EPOCH
        }
    };
    Ok(CertificateInfo {
        listener: listener.to_string(),
        key_path: files.key_path.clone(),
        cert_file: files.cert.display().to_string(),
        names,
        issuer: cert.issuer().to_string(),
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
    })
}

/// An expired certificate, or one not valid yet, would fail every
/// handshake: refused rather than served.
pub fn check_validity(info: &CertificateInfo, now: SystemTime) -> Result<(), String> {
    let day = |t: SystemTime| crate::timefmt::rfc3339(t);
    if info.not_after <= now {
        return Err(format!("{}: the certificate expired on {}", info.cert_file, day(info.not_after)));
    }
    if info.not_before > now {
        return Err(format!("{}: the certificate is not valid before {}", info.cert_file, day(info.not_before)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(not_before: u64, not_after: u64) -> CertificateInfo {
        CertificateInfo {
            listener: "127.0.0.1:443".into(),
            key_path: "listen[0].tls.certificates[0]".into(),
            cert_file: "a.pem".into(),
            names: vec!["a.example".into()],
            issuer: "CN=lab".into(),
            not_before: SystemTime::UNIX_EPOCH + Duration::from_secs(not_before),
            not_after: SystemTime::UNIX_EPOCH + Duration::from_secs(not_after),
        }
    }

    #[test]
    fn an_expired_or_not_yet_valid_certificate_is_refused() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(check_validity(&info(0, 2_000_000), now).is_ok());
        assert!(check_validity(&info(0, 999_999), now).expect_err("expired").contains("expired on 1970-01-12"));
        assert!(check_validity(&info(1_000_001, 2_000_000), now)
            .expect_err("not yet valid")
            .contains("not valid before"));
    }

    #[test]
    fn time_left_is_negative_once_expired() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(info(0, 1600).expires_in(now), 600.0);
        assert_eq!(info(0, 400).expires_in(now), -600.0);
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let files = CertificateFiles {
            cert: "/nonexistent/a.pem".into(),
            key: "/nonexistent/a.key".into(),
            key_path: "listen[0].tls.certificates[0]".into(),
            line: None,
            cert_line: None,
            key_line: None,
            acme: false,
        };
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let e = load(&files, "127.0.0.1:443", &provider, SystemTime::now()).expect_err("missing file");
        assert_eq!(e.key, "cert");
        assert!(e.message.contains("cannot read /nonexistent/a.pem"), "{}", e.message);
    }
}
