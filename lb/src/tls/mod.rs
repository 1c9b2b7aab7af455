//! TLS on the listeners: rustls (aws-lc-rs provider) on tandem's own accept
//! path. Why rustls rather than Pingora's TLS features: tandem's request
//! path is its own tokio HTTP/1 proxy (`crate::proxy`), so the handshake
//! happens there, and rustls gives the two hard parts directly: a
//! certificate resolver per handshake (SNI, [`sni`]) and server configs
//! that are plain values, built fresh on every reload and swapped in with
//! the runtime, while open connections keep the session they have.
//!
//! - [`TlsSet::load`]: every TLS listener's certificates read and checked
//!   (at start, by `tandem check`, on every reload; an error refuses the
//!   whole reload and names the key path and line).
//! - [`sni`]: which certificate a handshake gets; [`load`]: one chain and key.

pub mod load;
pub mod sni;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, ConfigError, ConfigErrors, ListenTls, TlsVersion};
pub use load::CertificateInfo;

/// The TLS state built from one config: an acceptor per TLS listener and
/// what the status page shows of each certificate.
#[derive(Default)]
pub struct TlsSet {
    acceptors: Vec<(SocketAddr, TlsAcceptor)>,
    pub certificates: Vec<CertificateInfo>,
    /// By upstream group name: the connector of a group with `tls`.
    upstreams: Vec<(String, tokio_rustls::TlsConnector)>,
}

impl TlsSet {
    /// Read every TLS listener's files as of `now`. `file` is the config
    /// file's name, for the errors.
    pub fn load(config: &Config, file: &str, now: SystemTime) -> Result<TlsSet, ConfigErrors> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut set = TlsSet::default();
        let mut errors = Vec::new();
        for listen in &config.listen {
            let Some(tls) = &listen.tls else { continue };
            match listener(tls, &listen.addr.to_string(), &provider, file, now) {
                Ok((server, infos)) => {
                    set.acceptors.push((listen.addr, TlsAcceptor::from(Arc::new(server))));
                    set.certificates.extend(infos);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        for up in &config.upstreams {
            let Some(tls) = &up.tls else { continue };
            match upstream::connector(tls, &provider) {
                Ok(c) => set.upstreams.push((up.name.clone(), c)),
                Err(message) => errors.push(ConfigError {
                    path: format!("upstreams.{}.tls{}", up.name, if tls.ca.is_some() { ".ca" } else { "" }),
                    line: tls.line,
                    message,
                    file: file.to_string(),
                }),
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The connector of upstream group `name`, when it has `tls`.
    pub fn upstream(&self, name: &str) -> Option<&tokio_rustls::TlsConnector> {
        self.upstreams.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The acceptor for the TLS listener on `addr`.
    pub fn acceptor(&self, addr: SocketAddr) -> Option<&TlsAcceptor> {
        self.acceptors.iter().find(|(a, _)| *a == addr).map(|(_, acceptor)| acceptor)
    }

    /// After a reload whose `listen` change waits for an upgrade: the
    /// listeners that run TLS now but have no settings in the new config
    /// keep the ones they had (with their certificates on the status page).
    pub fn keep_running(&mut self, old: &TlsSet, running: impl Iterator<Item = SocketAddr>) {
        for addr in running {
            if self.acceptor(addr).is_some() {
                continue;
            }
            if let Some(acceptor) = old.acceptor(addr) {
                self.acceptors.push((addr, acceptor.clone()));
                let listener = addr.to_string();
                self.certificates.extend(old.certificates.iter().filter(|c| c.listener == listener).cloned());
            }
        }
    }
}

type Built = (ServerConfig, Vec<CertificateInfo>);

fn listener(
    tls: &ListenTls,
    listener: &str,
    provider: &Arc<CryptoProvider>,
    file: &str,
    now: SystemTime,
) -> Result<Built, Vec<ConfigError>> {
    let mut keys = Vec::new();
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    for files in &tls.certificates {
        match load::load(files, listener, provider, now) {
            Ok((key, info)) => {
                keys.push((info.names.clone(), key));
                infos.push(info);
            }
            // The ACME certificate may not be there yet, or have expired
            // while the CA was unreachable: not the config's fault. Served
            // without it until `crate::acme` gets one.
            Err(e) if files.acme => {
                log::warn!("{listener}: no usable ACME certificate yet ({}: {})", files.key_path, e.message);
            }
            Err(e) => errors.push(ConfigError {
                path: format!("{}.{}", files.key_path, e.key),
                line: if e.key == "cert" { files.cert_line } else { files.key_line }.or(files.line),
                message: e.message,
                file: file.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let versions: &[&'static rustls::SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions).map_err(|e| {
            vec![ConfigError {
                path: String::new(),
                line: None,
                message: format!("TLS settings of {listener}: {e}"),
                file: file.to_string(),
            }]
        })?;
    let mut server = builder.with_no_client_auth().with_cert_resolver(Arc::new(sni::SniResolver::new(keys)));
    server.alpn_protocols = tls.protocols.iter().map(|p| p.id().to_vec()).collect();
    // Resumption (nginx: ssl_session_cache): TLS 1.3 tickets and a session
    // cache, so a returning client skips the full handshake.
    server.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
    if let Ok(ticketer) = rustls::crypto::aws_lc_rs::Ticketer::new() {
        server.ticketer = ticketer;
    }
    Ok((server, infos))
}

/// Sessions kept for resumption per TLS listener (about 200 bytes each).
const SESSION_CACHE: usize = 10_000;
