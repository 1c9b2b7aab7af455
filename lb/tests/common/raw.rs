//! Raw sockets for HTTP/1 framing tests: an upstream whose every
//! connection runs a scripted handler, and helpers that read one message
//! (head plus body by Content-Length or chunked) off a stream.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// An upstream that hands each accepted connection to `handler` on its own thread.
pub struct RawUpstream {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl RawUpstream {
    pub fn start(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw upstream");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, handler) = (stop.clone(), Arc::new(handler));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let h = handler.clone();
                thread::spawn(move || h(conn));
            }
        });
        RawUpstream { addr, stop }
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One message off `s`: its head (through the blank line) and its body
/// bytes exactly as framed on the wire (chunks and all). `None` when the
/// stream closed first. `no_body` for responses to HEAD (and 1xx/204/304).
pub fn read_message(s: &mut TcpStream, pending: &mut Vec<u8>, no_body: bool) -> Option<(String, Vec<u8>)> {
    let head_end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(s, pending)?;
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
    let lower = head.to_ascii_lowercase();
    let status_no_body = lower.starts_with("http/1.") && {
        let code = lower.split(' ').nth(1).unwrap_or("");
        code.starts_with('1') || code == "204" || code == "304"
    };
    let body_len = if no_body || status_no_body {
        0
    } else if lower.contains("transfer-encoding: chunked") {
        loop {
            if let Some(n) = chunked_len(&pending[head_end..]) {
                break n;
            }
            fill(s, pending)?;
        }
    } else if let Some(n) = header_value(&lower, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        while pending.len() < head_end + n {
            fill(s, pending)?;
        }
        n
    } else if lower.starts_with("http/1.") && !lower.starts_with("http/1.1 101") {
        // A response without a length: until the close.
        while fill(s, pending).is_some() {}
        pending.len() - head_end
    } else {
        0
    };
    let body = pending[head_end..head_end + body_len].to_vec();
    pending.drain(..head_end + body_len);
    Some((head, body))
}

fn fill(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 16384];
    match s.read(&mut chunk) {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            pending.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

/// The length of a complete chunked body at the start of `b`, trailers included.
fn chunked_len(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + b[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailer lines, then the blank line.
            loop {
                let end = at + b[at..].windows(2).position(|w| w == b"\r\n")?;
                let blank = end == at;
                at = end + 2;
                if blank {
                    return Some(at);
                }
            }
        }
        if b.len() < at + size + 2 {
            return None;
        }
        at += size + 2;
    }
}

pub fn header_value<'a>(lower_head: &'a str, name: &str) -> Option<&'a str> {
    lower_head.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(str::trim))
}

/// The body of a chunked message without its framing.
pub fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(line_end) = b[at..].windows(2).position(|w| w == b"\r\n").map(|p| at + p) {
        let size = std::str::from_utf8(&b[at..line_end])
            .ok()
            .and_then(|t| usize::from_str_radix(t.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[line_end + 2..line_end + 2 + size]);
        at = line_end + 2 + size + 2;
    }
    out
}

/// Connect to `addr` with a read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s
}

/// Send `bytes`, then read everything until the server closes.
pub fn send_and_read_all(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(bytes).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// True when the server closed `s` (a read returns 0 or a reset) within 5 s;
/// false when it sent bytes or nothing happened.
pub fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}
