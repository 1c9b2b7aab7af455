//! Certificates by ACME against Debian's pebble (the ACME test CA), started
//! by the test on loopback: the first certificate obtained by HTTP-01 (the
//! challenge answered by tandem's own plain listener) and served on the TLS
//! listener; a renewal swapped in live; a failed challenge that leaves the
//! current certificate in place, in the log, the status report and metrics.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};

/// pebble on loopback, stopped by PID on drop.
struct Pebble {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
    management: SocketAddr,
}

impl Pebble {
    /// Validating HTTP-01 against `http_port` on the identifier's address.
    fn start(dir: &Path, addr: SocketAddr, management: SocketAddr, http_port: u16) -> Pebble {
        let config = format!(
            "{{\"pebble\":{{\"listenAddress\":\"{addr}\",\"managementListenAddress\":\"{management}\",\
             \"certificate\":\"{d}/pebble-cert.pem\",\"privateKey\":\"{d}/pebble-key.pem\",\
             \"httpPort\":{http_port},\"tlsPort\":{tls},\"ocspResponderURL\":\"\",\
             \"externalAccountBindingRequired\":false}}}}",
            d = dir.display(),
            tls = free_port(),
        );
        let path = dir.join("pebble.json");
        std::fs::write(&path, config).expect("pebble config");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("pebble.log")).expect("log");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&path)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start pebble (Debian package pebble; make test installs it)");
        let pebble = Pebble { child, dir: dir.to_path_buf(), addr, management };
        let deadline = Instant::now() + Duration::from_secs(20);
        while curl(&pebble.ca(), &format!("https://{addr}/dir")).is_none() {
            assert!(Instant::now() < deadline, "pebble did not serve its directory: {}", pebble.log());
            thread::sleep(Duration::from_millis(100));
        }
        pebble
    }

    /// The CA of pebble's own HTTPS (made by the test).
    fn ca(&self) -> PathBuf {
        self.dir.join("pebble-ca.pem")
    }

    /// The root that signs what pebble issues (new at every pebble start).
    fn issuing_root(&self) -> PathBuf {
        let pem = curl(&self.ca(), &format!("https://{}/roots/0", self.management)).expect("pebble root");
        let path = self.dir.join("issuing-root.pem");
        std::fs::write(&path, pem).expect("write root");
        path
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a certificate for localhost and 127.0.0.1 for pebble's HTTPS.
fn pebble_tls(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "pebble test CA");
    ca.distinguished_name = dn;
    let ca_key = KeyPair::generate().expect("key");
    let ca = ca.self_signed(&ca_key).expect("ca");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    let key = KeyPair::generate().expect("key");
    let leaf = leaf.signed_by(&key, &ca, &ca_key).expect("leaf");
    std::fs::write(dir.join("pebble-ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("pebble-cert.pem"), leaf.pem()).expect("write");
    std::fs::write(dir.join("pebble-key.pem"), key.serialize_pem()).expect("write");
}

/// GET `url` trusting `ca`; the body, or None when it failed.
fn curl(ca: &Path, url: &str) -> Option<String> {
    let out = Command::new("curl").args(["-sf", "--max-time", "5", "--cacert"]).arg(ca).arg(url).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// The leaf certificate a TLS handshake with SNI `localhost` gets, as PEM.
fn served_certificate(addr: SocketAddr) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-servername", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    drop(child.stdin.take());
    let out = String::from_utf8_lossy(&child.wait_with_output().expect("output").stdout).to_string();
    let begin = out.find("-----BEGIN CERTIFICATE-----").unwrap_or_else(|| panic!("no certificate served:\n{out}"));
    let end = out[begin..].find("-----END CERTIFICATE-----").expect("end") + begin + "-----END CERTIFICATE-----".len();
    out[begin..end].to_string()
}

/// Poll `/status.json` until `acme` satisfies `done`; returns it.
fn wait_acme(proxy: &Proxy, what: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let acme = proxy.status()["acme"].clone();
        if done(&acme) {
            return acme;
        }
        assert!(Instant::now() < deadline, "{what}: acme status {acme}\n{}", proxy.log());
        thread::sleep(Duration::from_millis(100));
    }
}

fn renew(proxy: &Proxy) {
    let r = proxy.admin_post("/api/acme/renew");
    assert_eq!(r.status, 202, "{}", r.body);
}

#[test]
fn a_certificate_is_obtained_renewed_and_kept_when_a_challenge_fails() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("acme");
    pebble_tls(&dir);
    let [directory_port, management_port, challenge_port, tls_port] = free_ports();
    let at = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().expect("addr") };
    let pebble = Pebble::start(&dir, at(directory_port), at(management_port), challenge_port);

    // The challenge is answered on a plain listener of tandem's own.
    let tls = at(tls_port);
    let listen =
        format!("\"127.0.0.1:{challenge_port}\", {{ addr: \"{tls}\", tls: {{ certificates: [{{ acme: true }}] }} }}");
    let body = format!(
        "{}acme:\n  directory: \"https://{}/dir\"\n  email: ops@example.com\n  domains: [localhost]\n  state_dir: \"{}\"\n  ca: \"{}\"\n",
        common::app(&[], &[(&app, "")]),
        pebble.addr,
        dir.join("acme").display(),
        pebble.ca().display()
    );
    let proxy = Proxy::start_full(&listen, &body, 2, &format!("token: {TOKEN}"), &[]);

    let acme = wait_acme(&proxy, "first certificate", |a| a["state"] == "valid" && a["obtained"] == 1);
    assert!(acme["not_after"].is_string(), "{acme}");
    let first = served_certificate(tls);
    let root = pebble.issuing_root();
    let url = format!("https://localhost:{tls_port}/");
    assert_eq!(
        curl(&root, &url).as_deref(),
        Some("app1"),
        "the chain verifies against pebble's root; requests are proxied"
    );
    assert!(dir.join("acme/account.json").exists() && dir.join("acme/cert.pem").exists());
    let status = proxy.status();
    let cert = &status["certificates"][0];
    assert_eq!(cert["names"], serde_json::json!(["localhost"]), "{cert}");
    assert!(cert["issuer"].as_str().unwrap_or("").contains("Pebble"), "{cert}");

    // Renewal (forced: pebble's certificates live five years): swapped in live.
    renew(&proxy);
    wait_acme(&proxy, "renewal", |a| a["obtained"] == 2);
    let second = served_certificate(tls);
    assert_ne!(first, second, "new connections get the renewed certificate");
    assert_eq!(curl(&root, &url).as_deref(), Some("app1"));

    // A CA that validates against a port where nothing answers: the
    // challenge fails, the renewed certificate stays.
    drop(pebble);
    let dead_port = free_port();
    let pebble = Pebble::start(&dir, at(directory_port), at(management_port), dead_port);
    renew(&proxy);
    let acme = wait_acme(&proxy, "failed renewal", |a| a["failed"] == 1);
    assert_eq!(acme["state"], "failed", "{acme}");
    // The CA could not fetch the challenge (the stored account was
    // re-registered first: this pebble is new and knows none).
    assert!(acme["last_error"].as_str().is_some_and(|e| e.contains("/.well-known/acme-challenge/")), "{acme}");
    assert_eq!(served_certificate(tls), second, "the current certificate stays");
    assert!(proxy.log().contains("acme: obtaining the certificate for localhost failed"), "{}", proxy.log());
    let metrics = proxy.metrics();
    assert!(metrics.contains("tandem_acme_orders_total{result=\"failed\"} 1"), "{metrics}");
    assert!(metrics.contains("tandem_acme_failures_in_a_row 1"), "{metrics}");
    // An unknown token is a 404 on the plain listener, and never proxied.
    let hits = app.hits();
    let r = request(at(challenge_port), "GET", "/.well-known/acme-challenge/nothing-here", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(app.hits(), hits);
    drop(pebble);
}
