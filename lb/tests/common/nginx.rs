//! Debian's nginx (`nginx-light`) as a child process in front of test
//! upstreams: one worker in one process (`master_process off`, so killing
//! the child leaves no worker behind), its prefix, config, logs and temp
//! paths in a temp dir. Stopped on drop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{free_port, temp_dir, wait_listening};

const NGINX_BIN: &str = "/usr/sbin/nginx";

pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// `upstream app { upstream_body }` and `location / { proxy_pass http://app; location_extra }`.
    pub fn start(upstream_body: &str, location_extra: &str) -> Nginx {
        Nginx::start_with(upstream_body, location_extra, "")
    }

    /// As [`Nginx::start`], with `http_extra` directives in the `http` block.
    pub fn start_with(upstream_body: &str, location_extra: &str, http_extra: &str) -> Nginx {
        let dir = temp_dir("nginx");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let d = dir.display();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{http_extra}    upstream app {{
{upstream_body}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
{location_extra}        }}
    }}
}}
"
        );
        Nginx::spawn(dir, addr, &conf)
    }

    /// An HTTPS origin server (not a proxy) with `cert` and `key`: every
    /// path answers 200 with `sni=$ssl_server_name` (the name the client sent).
    pub fn start_tls_origin(cert: &std::path::Path, key: &std::path::Path) -> Nginx {
        let dir = temp_dir("nginx-tls");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let d = dir.display();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ return 200 \"sni=$ssl_server_name\"; }}
    }}
}}
",
            cert = cert.display(),
            key = key.display(),
        );
        Nginx::spawn(dir, addr, &conf)
    }

    fn spawn(dir: PathBuf, addr: SocketAddr, conf: &str) -> Nginx {
        let d = dir.display().to_string();
        std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
        let child = Command::new(NGINX_BIN)
            .arg("-p")
            .arg(format!("{d}/"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start /usr/sbin/nginx (Debian package nginx-light)");
        let mut nginx = Nginx { addr, child, dir };
        let (addr, dir) = (nginx.addr, nginx.dir.clone());
        wait_listening(&mut nginx.child, addr, "nginx", || Nginx::read_log(&dir));
        nginx
    }

    pub fn log(&self) -> String {
        Nginx::read_log(&self.dir)
    }

    fn read_log(dir: &std::path::Path) -> String {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
