//! One h2load run (Debian `nghttp2-client`): HTTP/2 over TLS, kept alive,
//! several streams at once per connection. Its summary gives the counts;
//! the per-request log (`--log-file`) gives the latency percentiles, which
//! h2load does not print.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use super::plan::Workload;
use super::wrk::{Load, WrkResult};

/// Streams in flight per connection (h2load `-m`).
pub const STREAMS: u32 = 10;

/// Run h2load against the TLS listener `addr`; `log` is a scratch file.
pub fn run(h2load: &Path, addr: SocketAddr, workload: Workload, load: Load, log: &Path) -> Result<WrkResult, String> {
    let secs = load.duration.as_secs().max(1);
    let out = Command::new(h2load)
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-m{STREAMS}"))
        .arg(format!("-D{secs}"))
        .arg("--log-file")
        .arg(log)
        .arg(format!("https://{addr}{}", workload.path()))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", h2load.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("h2load failed ({}): {stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let log_text = std::fs::read_to_string(log).map_err(|e| format!("h2load log {}: {e}", log.display()))?;
    let _ = std::fs::remove_file(log);
    parse(&stdout, &log_text).ok_or_else(|| format!("cannot read h2load's output:\n{stdout}"))
}

/// The summary (`finished in 2.00s, 1234.50 req/s`, `requests: ...`,
/// `status codes: N 2xx, ...`) and the log's latency column (µs).
fn parse(stdout: &str, log: &str) -> Option<WrkResult> {
    let finished = stdout.lines().find_map(|l| l.strip_prefix("finished in "))?;
    let (secs, rest) = finished.split_once("s, ")?;
    let seconds: f64 = secs.parse().ok()?;
    let rps: f64 = rest.split_once(" req/s")?.0.parse().ok()?;
    let counts = stdout.lines().find_map(|l| l.strip_prefix("requests: "))?;
    let count = |what: &str| -> Option<u64> {
        counts.split(", ").find_map(|part| part.strip_suffix(what)).and_then(|n| n.trim().parse().ok())
    };
    let done = count(" done")?;
    let failed = count(" failed")? + count(" errored")? + count(" timeout")?;
    let codes = stdout.lines().find_map(|l| l.strip_prefix("status codes: "))?;
    let ok: u64 = codes.split(", ").find_map(|p| p.strip_suffix(" 2xx")).and_then(|n| n.trim().parse().ok())?;
    let mut latencies: Vec<u64> =
        log.lines().filter_map(|l| l.split('\t').nth(2)).filter_map(|v| v.trim().parse().ok()).collect();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    Some(WrkResult {
        requests: done,
        seconds,
        rps,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
        socket_errors: failed,
        non_2xx: done.saturating_sub(ok),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_summary_and_percentiles_from_the_log() {
        let out = "starting benchmark...\nfinished in 2.00s, 1500.50 req/s, 100KB/s\n\
                   requests: 3001 total, 3001 started, 3000 done, 2999 succeeded, 1 failed, 0 errored, 0 timeout\n\
                   status codes: 2998 2xx, 0 3xx, 1 4xx, 1 5xx\n";
        let log: String = (1..=100).map(|i| format!("1700000000000000\t200\t{}\n", i * 1000)).collect();
        let r = parse(out, &log).expect("parsed");
        assert_eq!((r.requests, r.socket_errors, r.non_2xx), (3000, 1, 2));
        assert!((r.rps - 1500.5).abs() < 1e-9 && (r.seconds - 2.0).abs() < 1e-9);
        assert_eq!((r.p50_ms, r.p99_ms, r.max_ms), (50.0, 99.0, 100.0));
        assert!(parse("nothing", "").is_none());
    }
}
