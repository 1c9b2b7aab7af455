//! TLS to upstream servers: one client config per group with `tls`,
//! verifying the server's certificate against the group's CA file or the
//! system's bundle (or, with `verify: false`, not at all), ALPN http/1.1.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::TlsConnector;

use crate::config::UpstreamTls;

/// Debian's (and most distributions') bundle of the system's trusted CAs.
pub const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The connector for a group's `tls`; the error names the CA file.
pub fn connector(tls: &UpstreamTls, provider: &Arc<CryptoProvider>) -> Result<TlsConnector, String> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if tls.verify {
        let path = tls.ca.as_deref().unwrap_or(Path::new(SYSTEM_CAS));
        builder.with_root_certificates(roots(path)?).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone()))).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Session resumption to the same server saves a full handshake per new
    // upstream connection (rustls keeps 256 sessions by default).
    Ok(TlsConnector::from(Arc::new(config)))
}

fn roots(path: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: not a PEM certificate list: {e}", path.display()))?;
        roots.add(cert).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate in it", path.display()));
    }
    Ok(roots)
}

/// The name a connection to a server sends and verifies: the group's
/// `sni`, else the server's host as written (`app.internal:8443`), an IP
/// address verified as one.
pub fn server_name(sni: Option<&str>, written: &str) -> Option<ServerName<'static>> {
    let host = sni.unwrap_or_else(|| host_of(written));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_string()).ok()
}

fn host_of(written: &str) -> &str {
    if written.starts_with('[') {
        return written.split_once(']').map_or(written, |(h, _)| &h[1..]);
    }
    written.rsplit_once(':').map_or(written, |(h, _)| h)
}

/// `verify: false`: any certificate is accepted (the signatures of the
/// handshake are still checked, so the session is with the key holder).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_sni_else_the_host_as_written_and_an_ip_stays_an_ip() {
        assert_eq!(server_name(None, "app.internal:8443"), ServerName::try_from("app.internal").ok());
        assert_eq!(server_name(Some("api.example"), "10.0.0.1:443"), ServerName::try_from("api.example").ok());
        assert!(matches!(server_name(None, "10.0.0.1:443"), Some(ServerName::IpAddress(_))));
        assert!(matches!(server_name(None, "[::1]:443"), Some(ServerName::IpAddress(_))));
    }

    #[test]
    fn a_missing_ca_file_names_the_file() {
        let tls = UpstreamTls { sni: None, verify: true, ca: Some("/nonexistent/ca.pem".into()), line: None };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let e = connector(&tls, &provider).err().expect("an error");
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
