//! TLS listeners against the real binary: SNI picks the certificate
//! (openssl s_client and a rustls client), `min_version` refuses older
//! clients, curl is served over HTTP/1.1, a reload swaps certificates under
//! load without a failed request, an unfit certificate refuses the reload
//! and the old one is still served, `tandem check` names the key, plain
//! requests on an `https_redirect` route are redirected, and the status
//! page and metrics show each certificate.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rcgen::{date_time_ymd, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};

/// A local CA and the certificates it signs, as PEM files in `dir`.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

/// A certificate written by [`Pki::issue`]: its files and its DER.
#[derive(Clone)]
struct Issued {
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = name("tandem test CA");
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("key");
        let ca = params.self_signed(&ca_key).expect("CA");
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write CA");
        Pki { dir: dir.to_path_buf(), ca, ca_key }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A certificate for `names`, valid 2020 to 2036 unless `expired`
    /// (2020 to 2021), written as `{file}.pem` and `{file}.key`.
    fn issue(&self, file: &str, names: &[&str], expired: bool) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name = name(&format!("{} ({file})", names[0]));
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = if expired { date_time_ymd(2021, 1, 1) } else { date_time_ymd(2036, 1, 1) };
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).expect("sign");
        let issued = Issued {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
            der: cert.der().to_vec(),
        };
        std::fs::write(&issued.cert, cert.pem()).expect("write cert");
        std::fs::write(&issued.key, key.serialize_pem()).expect("write key");
        issued
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// The YAML flow entry of a TLS listener on `addr`.
fn tls_listen(addr: SocketAddr, certs: &[&Issued], extra: &str) -> String {
    let list: Vec<String> =
        certs.iter().map(|c| format!("{{ cert: \"{}\", key: \"{}\" }}", c.cert.display(), c.key.display())).collect();
    format!("{{ addr: \"{addr}\", tls: {{ certificates: [{}]{extra} }} }}", list.join(", "))
}

fn tls_addr() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().expect("addr")
}

/// What a TLS client got: the server's certificate and the HTTP answer.
struct TlsAnswer {
    peer_der: Vec<u8>,
    alpn: Option<Vec<u8>>,
    status: u16,
    head: String,
    body: String,
}

/// GET `path` over a fresh TLS connection to `addr` with SNI `sni`,
/// trusting only `ca`; `Connection: close`.
fn tls_get(addr: SocketAddr, sni: &str, ca: &Path, path: &str) -> Result<TlsAnswer, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls_pki_types::CertificateDer::from_pem_file(ca).map_err(|e| e.to_string())?;
    roots.add(ca).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server_name = rustls_pki_types::ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), server_name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let req = format!("GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer that closes without close_notify after a complete answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("read: {e}")),
    }
    let peer_der = tls.conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
    let alpn = tls.conn.alpn_protocol().map(|p| p.to_vec());
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("no head in {text:?}"))?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad status in {head}"))?;
    Ok(TlsAnswer { peer_der, alpn, status, head: head.to_string(), body: body.to_string() })
}

/// `openssl s_client` to `addr` with `args`; its output (stdout and
/// stderr) and whether the handshake succeeded.
fn s_client(addr: SocketAddr, args: &[&str]) -> (bool, String) {
    let mut child = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client (Debian package openssl)");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("s_client output");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // s_client exits 0 after a completed handshake when stdin closes.
    (out.status.success() && text.contains("Cipher is") && !text.contains("Cipher is (NONE)"), text)
}

#[test]
fn sni_picks_the_certificate_whose_names_match_and_the_first_is_the_default() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-sni");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let b = pki.issue("b", &["b.test", "*.b.test"], false);
    let addr = tls_addr();
    let proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a, &b], ""), &common::app(&[], &[(&app, "")]));

    let (ok, out) = s_client(addr, &["-servername", "b.test"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("CN = b.test (b)") || out.contains("CN=b.test (b)"),
        "SNI b.test gets b's certificate:\n{out}"
    );
    let (ok, out) = s_client(addr, &["-noservername"]);
    assert!(ok, "{out}");
    assert!(out.contains("a.test (a)"), "no SNI gets the first certificate:\n{out}");

    for (sni, want) in [("a.test", &a), ("b.test", &b), ("www.b.test", &b)] {
        let got = tls_get(addr, sni, &pki.ca_file(), "/").unwrap_or_else(|e| panic!("{sni}: {e}\n{}", proxy.log()));
        assert_eq!(got.peer_der, want.der, "SNI {sni}");
        assert_eq!(got.status, 200);
        assert_eq!(got.body, "app1");
        assert_eq!(got.alpn.as_deref(), Some(&b"http/1.1"[..]), "a client offering http/1.1 gets it");
    }
    let seen = app.seen();
    let last = seen.last().expect("a request reached the app");
    assert_eq!(last.headers.get("x-forwarded-proto").map(String::as_str), Some("https"));
    // The plain listener still says http.
    assert_eq!(proxy.get("/").status, 200);
    assert_eq!(app.seen().last().and_then(|s| s.headers.get("x-forwarded-proto").cloned()).as_deref(), Some("http"));
}

#[test]
fn a_client_below_min_version_is_refused_and_counted_as_a_failed_handshake() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-version");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let proxy =
        Proxy::start_with_listen(&tls_listen(addr, &[&a], ", min_version: \"1.3\""), &common::app(&[], &[(&app, "")]));
    let (ok, out) = s_client(addr, &["-servername", "a.test", "-tls1_2"]);
    assert!(!ok, "TLS 1.2 must be refused with min_version 1.3:\n{out}");
    let (ok, out) = s_client(addr, &["-servername", "a.test", "-tls1_3"]);
    assert!(ok, "{out}");
    assert!(out.contains("TLSv1.3"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = proxy.metrics();
        let failed = format!("tandem_tls_handshakes_total{{listener=\"{addr}\",result=\"failed\"}} 1");
        let ok = format!("tandem_tls_handshakes_total{{listener=\"{addr}\",result=\"ok\"}} 1");
        if metrics.contains(&failed) && metrics.contains(&ok) {
            break;
        }
        assert!(Instant::now() < deadline, "handshakes not counted:\n{metrics}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// curl against `proxy`'s TLS listener `addr` as `a.test`; its stdout.
fn curl(pki: &Pki, addr: SocketAddr, args: &[&str]) -> String {
    let resolve = format!("a.test:{}:127.0.0.1", addr.port());
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(pki.ca_file())
        .args(["--resolve", &resolve])
        .args(args)
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn curl_is_served_over_https_with_http2_and_with_http_1_1() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-curl");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &common::app(&[], &[(&app, "")]));
    let url = format!("https://a.test:{}/hello?x=1", addr.port());
    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let got = curl(&pki, addr, &[flag, "-w", " %{http_code} %{http_version}", &url]);
        assert_eq!(got, format!("app1 200 {version}"), "curl {flag}");
        let seen = app.seen();
        let last = seen.last().expect("seen");
        assert_eq!((last.method.as_str(), last.path.as_str()), ("GET", "/hello?x=1"));
        assert_eq!(last.headers.get("host").map(String::as_str), Some(&*format!("a.test:{}", addr.port())));
        assert_eq!(last.headers.get("x-forwarded-proto").map(String::as_str), Some("https"));
    }
    // A HEAD over HTTP/2 gets the head alone; a 404 of tandem's own comes through.
    let got = curl(&pki, addr, &["--http2", "-I", "-o", "/dev/null", "-w", "%{http_code}", &url]);
    assert_eq!(got, "200");
    let _ = proxy;
}

#[test]
fn the_streams_of_one_http2_connection_are_balanced_over_the_upstreams_with_bodies_both_ways() {
    let ups = [
        Upstream::start("u1", Behavior::Name),
        Upstream::start("u2", Behavior::Name),
        Upstream::start("u3", Behavior::Name),
    ];
    let dir = temp_dir("tls-h2-balance");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let servers: Vec<(&Upstream, &str)> = ups.iter().map(|u| (u, "")).collect();
    let proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &common::app(&[], &servers));
    let urls: Vec<String> = (0..6).map(|i| format!("https://a.test:{}/n/{i}", addr.port())).collect();
    // Six requests, in parallel on one multiplexed connection.
    let mut args = vec!["--http2", "-Z", "-w", "%{http_version}\n"];
    for url in &urls {
        args.extend(["-o", "/dev/null", url.as_str()]);
    }
    let got = curl(&pki, addr, &args);
    assert_eq!(got.lines().collect::<Vec<_>>(), ["2"; 6], "{got}");
    let hits: Vec<usize> = ups.iter().map(Upstream::hits).collect();
    assert_eq!(hits, [2, 2, 2], "round robin over the streams");
    let handshakes = format!("tandem_tls_handshakes_total{{listener=\"{addr}\",result=\"ok\"}} 1");
    assert!(proxy.metrics().contains(&handshakes), "one connection carried them: {}", proxy.metrics());

    // A 1 MiB upload, with and without a length, and its answer.
    let file = dir.join("big");
    std::fs::write(&file, vec![b'y'; 1024 * 1024]).expect("write");
    let data = format!("@{}", file.display());
    let url = format!("https://a.test:{}/up", addr.port());
    for chunked in [false, true] {
        let mut args = vec!["--http2", "--data-binary", &data, "-w", " %{http_code}", &url];
        if chunked {
            args.extend(["-H", "Transfer-Encoding: chunked"]);
        }
        let got = curl(&pki, addr, &args);
        assert!(got.ends_with(" 200"), "{got}");
    }
    let bodies: Vec<usize> =
        ups.iter().flat_map(|u| u.seen()).filter(|s| s.path == "/up").map(|s| s.body.len()).collect();
    assert_eq!(bodies, [1024 * 1024, 1024 * 1024], "both uploads arrived whole");
}

#[test]
fn a_reload_swaps_the_certificate_under_load_without_a_failed_request() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-swap");
    let pki = Pki::new(&dir);
    let old = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let listen = tls_listen(addr, &[&old], "");
    let body = common::app(&[], &[(&app, "")]);
    let proxy = Proxy::start_with_listen(&listen, &body);

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen_new = Arc::new(AtomicUsize::new(0));
    let new_der = Arc::new(Mutex::new(Vec::<u8>::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed, seen_new, new_der) =
                (stop.clone(), ok.clone(), failed.clone(), seen_new.clone(), new_der.clone());
            let ca = pki.ca_file();
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match tls_get(addr, "a.test", &ca, "/") {
                        Ok(r) if r.status == 200 && r.body == "app1" => {
                            ok.fetch_add(1, Ordering::SeqCst);
                            if r.peer_der == *new_der.lock().expect("lock") {
                                seen_new.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok(r) => failed.lock().expect("lock").push(format!("{}: {}", r.status, r.head)),
                        Err(e) => failed.lock().expect("lock").push(e),
                    }
                }
            })
        })
        .collect();
    let wait_for = |n: usize, what: &str, count: &AtomicUsize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while count.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "{what}: {}", proxy.log());
            thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(20, "no load before the swap", &ok);
    // New files under new names, so the old ones are never half written.
    let new = pki.issue("a2", &["a.test"], false);
    *new_der.lock().expect("lock") = new.der.clone();
    std::fs::write(proxy.config_path(), proxy.config_text(&body).replace(&listen, &tls_listen(addr, &[&new], "")))
        .expect("write config");
    let before = ok.load(Ordering::SeqCst);
    proxy.signal("HUP");
    wait_for(1, "the new certificate was never served", &seen_new);
    assert_eq!(proxy.status()["config"]["last_reload"]["ok"], true);
    wait_for(before + 50, "load stopped after the swap", &ok);
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    let failed = failed.lock().expect("lock");
    assert!(
        failed.is_empty(),
        "{} failed of {}: {:?}",
        failed.len(),
        ok.load(Ordering::SeqCst),
        &failed[..failed.len().min(5)]
    );
    let got = tls_get(addr, "a.test", &pki.ca_file(), "/").expect("after the swap");
    assert_eq!(got.peer_der, new.der, "new connections get the new certificate");
}

#[test]
fn an_unfit_certificate_refuses_the_reload_by_key_path_and_the_old_one_is_still_served() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-refuse");
    let pki = Pki::new(&dir);
    let good = pki.issue("a", &["a.test"], false);
    let other = pki.issue("other", &["a.test"], false);
    let expired = pki.issue("expired", &["a.test"], true);
    let addr = tls_addr();
    let listen = tls_listen(addr, &[&good], "");
    let body = common::app(&[], &[(&app, "")]);
    let proxy = Proxy::start_with_listen(&listen, &body);

    // The good certificate with another certificate's key.
    let mismatched = Issued { cert: good.cert.clone(), key: other.key.clone(), der: good.der.clone() };
    let missing = Issued { cert: dir.join("nope.pem"), key: good.key.clone(), der: vec![] };
    for (bad, key, words) in [
        (&mismatched, "key", "is not the key of the certificate"),
        (&expired, "cert", "expired on 2021-01-01"),
        (&missing, "cert", "cannot read"),
    ] {
        let text = proxy.config_text(&body).replace(&listen, &tls_listen(addr, &[bad], ""));
        std::fs::write(proxy.config_path(), &text).expect("write config");
        // `tandem check` reports the same as the reload.
        let check = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("--config")
            .arg(proxy.config_path())
            .arg("check")
            .output()
            .expect("tandem check");
        let stderr = String::from_utf8_lossy(&check.stderr);
        assert!(!check.status.success(), "check accepted {bad:?}", bad = bad.cert);
        let path = format!("listen[1].tls.certificates[0].{key}: ");
        assert!(stderr.contains(&path) && stderr.contains(words), "{stderr}");
        assert!(stderr.contains("lb.yaml:1)"), "the line of the key: {stderr}");

        let attempts = |s: &serde_json::Value| s["config"]["reloads_failed"].as_u64().unwrap_or(0);
        let before = attempts(&proxy.status());
        proxy.signal("HUP");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            let s = proxy.status();
            if attempts(&s) > before {
                break s;
            }
            assert!(Instant::now() < deadline, "reload not reported");
            thread::sleep(Duration::from_millis(10));
        };
        let errors = status["config"]["last_reload"]["errors"].to_string();
        assert!(errors.contains(&path) && errors.contains(words), "{errors}");
        let got = tls_get(addr, "a.test", &pki.ca_file(), "/").expect("still served");
        assert_eq!(got.peer_der, good.der, "the old certificate stays");
        assert_eq!(got.status, 200);
    }
    assert!(proxy.log().contains("reload of"), "the refusal is logged");
}

#[test]
fn a_plain_request_on_an_https_redirect_route_is_redirected_and_never_forwarded() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-redirect");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let body = format!(
        "{}routes:\n  - {{ path_prefix: /api/, upstream: app }}\n  - {{ path_prefix: /, upstream: app, https_redirect: true }}\n",
        common::app(&[], &[(&app, "")])
    );
    let proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &body);
    // The harness's requests carry `Host: test.local`.
    let r = proxy.send("GET", "/shop?item=1", &[], b"");
    assert_eq!(r.status, 301);
    let want = format!("https://test.local:{}/shop?item=1", addr.port());
    assert_eq!(r.headers.get("location"), Some(&want));
    let r = proxy.send("POST", "/cart", &[], b"x=1");
    assert_eq!(r.status, 308, "other methods keep theirs");
    assert_eq!(app.hits(), 0, "a redirected request is not forwarded");
    assert_eq!(proxy.get("/api/x").status, 200, "a route without the flag is proxied");
    let got = tls_get(addr, "a.test", &pki.ca_file(), "/shop").expect("https");
    assert_eq!((got.status, got.body.as_str()), (200, "app1"), "over HTTPS the same route is proxied");
}

#[test]
fn the_status_report_and_metrics_show_each_certificate() {
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-status");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test", "www.a.test"], false);
    let addr = tls_addr();
    let proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &common::app(&[], &[(&app, "")]));
    let status = proxy.status();
    let cert = &status["certificates"][0];
    assert_eq!(cert["listener"], addr.to_string());
    assert_eq!(cert["key_path"], "listen[1].tls.certificates[0]");
    assert_eq!(cert["names"], serde_json::json!(["a.test", "www.a.test"]));
    assert!(cert["issuer"].as_str().unwrap_or("").contains("tandem test CA"), "{cert}");
    assert_eq!(cert["not_after"], "2036-01-01T00:00:00.000Z");
    let days = cert["days_left"].as_i64().expect("days_left");
    assert!(days > 3000 && days < 3700, "{cert}");
    assert_eq!(status["listeners"][1]["tls"], true);
    let metrics = proxy.metrics();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("tandem_tls_certificate_expiry_seconds{"))
        .unwrap_or_else(|| panic!("no expiry metric:\n{metrics}"));
    assert!(
        line.contains("cert=\"listen[1].tls.certificates[0]\"") && line.contains("names=\"a.test,www.a.test\""),
        "{line}"
    );
    let secs: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("value");
    assert!((secs / 86_400.0 - days as f64).abs() < 1.5, "{line} vs {days} days");
}

#[test]
fn one_tls_connection_carries_keep_alive_requests_and_a_large_body_both_ways() {
    use rustls_pki_types::pem::PemObject;
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-keepalive");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let _proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &common::app(&[], &[(&app, "")]));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(pki.ca_file()).expect("ca")).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("a.test").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // A body far larger than a TLS record and than the retry buffer.
    let big = vec![b'x'; 1024 * 1024];
    for round in 0..3 {
        let head = format!("POST /up/{round} HTTP/1.1\r\nHost: a.test\r\nContent-Length: {}\r\n\r\n", big.len());
        tls.write_all(head.as_bytes()).expect("head");
        tls.write_all(&big).expect("body");
        // Read one answer: head, then its Content-Length of body.
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            tls.read_exact(&mut byte).expect("answer head");
            got.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&got).to_string();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let len: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("length");
        let mut body = vec![0u8; len];
        tls.read_exact(&mut body).expect("answer body");
        assert_eq!(body, b"app1");
    }
    let seen = app.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.body.len() == big.len()), "every body arrived whole");
}

#[test]
fn an_http2_connection_with_no_open_stream_is_closed_after_keepalive_timeout() {
    use rustls_pki_types::pem::PemObject;
    let app = Upstream::start("app1", Behavior::Name);
    let dir = temp_dir("tls-h2-idle");
    let pki = Pki::new(&dir);
    let a = pki.issue("a", &["a.test"], false);
    let addr = tls_addr();
    let body = format!("keepalive_timeout: 1s\n{}", common::app(&[], &[(&app, "")]));
    let _proxy = Proxy::start_with_listen(&tls_listen(addr, &[&a], ""), &body);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(pki.ca_file()).expect("ca")).expect("root");
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls_pki_types::ServerName::try_from("a.test").expect("name");
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("handshake");
        let (mut client, connection) = h2::client::handshake(tls).await.expect("h2 preface");
        let connection = tokio::spawn(connection);
        for i in 0..3 {
            let request = http::Request::get(format!("https://a.test/{i}")).body(()).expect("request");
            let (response, _) = client.send_request(request, true).expect("send");
            let response = response.await.expect("response");
            assert_eq!(response.status(), 200);
            let mut body = response.into_body();
            let mut got = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk.expect("data");
                body.flow_control().release_capacity(chunk.len()).expect("credit");
                got.extend_from_slice(&chunk);
            }
            assert_eq!(got, b"app1");
        }
        // Kept open from this side (an h2 client whose handles are all gone
        // closes by itself): the last stream ended; tandem sends GOAWAY
        // after 1 s and closes.
        let _still_wanted = client;
        let started = Instant::now();
        let closed = tokio::time::timeout(Duration::from_secs(10), connection).await;
        assert!(closed.is_ok(), "the idle HTTP/2 connection was not closed");
        assert!(started.elapsed() >= Duration::from_millis(900), "closed before keepalive_timeout");
    });
    assert_eq!(app.hits(), 3);
}

#[test]
fn an_upstream_group_with_tls_is_reached_over_verified_tls_with_its_sni_and_checked_over_tls() {
    let dir = temp_dir("tls-upstream");
    let pki = Pki::new(&dir);
    let app = pki.issue("app", &["app.test"], false);
    let origin = common::nginx::Nginx::start_tls_origin(&app.cert, &app.key);
    let other = Pki::new(&temp_dir("tls-upstream-other"));
    let group = |name: &str, tls: &str| {
        format!(
            "  {name}:\n    tls: {tls}\n    health_check: {{ path: /healthz, interval: 200ms, timeout: 1s }}\n    servers: [{{ addr: \"{}\" }}]\n",
            origin.addr
        )
    };
    let body = format!(
        "upstreams:\n{}{}{}routes:\n  - {{ path_prefix: /wrong/, upstream: wrong_ca }}\n  - {{ path_prefix: /blind/, upstream: blind }}\n  - {{ path_prefix: /, upstream: good }}\n",
        group("good", &format!("{{ sni: app.test, ca: \"{}\" }}", pki.ca_file().display())),
        group("wrong_ca", &format!("{{ sni: app.test, ca: \"{}\" }}", other.ca_file().display())),
        group("blind", "{ verify: false }"),
    );
    let proxy = Proxy::start(&body);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.server_status("good", origin.addr)["active_check"] != "up" {
        assert!(Instant::now() < deadline, "the TLS health check never passed: {}", proxy.log());
        thread::sleep(Duration::from_millis(50));
    }
    let r = proxy.get("/x");
    assert_eq!((r.status, r.body.as_str()), (200, "sni=app.test"), "verified, and the configured SNI sent");
    // A second request (on the pooled TLS connection while it stays open).
    assert_eq!(proxy.get("/y").status, 200);
    let r = proxy.get("/blind/x");
    assert_eq!((r.status, r.body.as_str()), (200, "sni="), "verify: false accepts any certificate; an IP gets no SNI");
    let r = proxy.get("/wrong/x");
    assert_eq!(r.status, 502, "a certificate from another CA is refused: {}", r.body);
    let wrong = proxy.server_status("wrong_ca", origin.addr);
    assert!(wrong["failures"]["connect_error"].as_u64().unwrap_or(0) >= 1, "{wrong}");
    // Its checks fail the same way (it starts up: `fall` failures take it down).
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.server_status("wrong_ca", origin.addr)["active_check"] != "down" {
        assert!(Instant::now() < deadline, "the TLS check against the wrong CA never failed: {}", proxy.log());
        thread::sleep(Duration::from_millis(50));
    }
}
