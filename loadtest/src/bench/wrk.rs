//! One wrk run and its `RESULT {...}` line (`loadtest/wrk/result.lua`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::plan::Workload;

/// What wrk reports for one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub socket_errors: u64,
    pub non_2xx: u64,
}

/// How wrk loads a proxy.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

/// Run wrk against `addr` with `workload`; `script` is `loadtest/wrk/bench.lua`.
pub fn run(wrk: &Path, script: &Path, addr: SocketAddr, workload: Workload, load: Load) -> Result<WrkResult, String> {
    let mut cmd = Command::new(wrk);
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("5s")
        .arg("-s")
        .arg(script);
    if matches!(workload, Workload::Close | Workload::TlsClose) {
        cmd.arg("-H").arg("Connection: close");
    }
    let scheme = if workload.is_tls() { "https" } else { "http" };
    cmd.arg(format!("{scheme}://{addr}{}", workload.path()));
    if workload == Workload::Post1k {
        cmd.arg("--").arg("post");
    }
    let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", wrk.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("wrk failed ({}): {stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    parse_result(&stdout).ok_or_else(|| format!("no RESULT line in wrk's output:\n{stdout}"))
}

fn parse_result(stdout: &str) -> Option<WrkResult> {
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT "))?;
    serde_json::from_str(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_line_is_found_among_wrk_output() {
        let out = "Running 1s test @ http://x\n  2 threads\nRESULT {\"requests\":100,\"seconds\":1.002,\"rps\":99.8,\
                   \"p50_ms\":0.50,\"p99_ms\":2.00,\"max_ms\":3.00,\"socket_errors\":1,\"non_2xx\":0}\n";
        let r = parse_result(out).expect("parsed");
        assert_eq!(r.requests, 100);
        assert_eq!(r.socket_errors, 1);
        assert!((r.p99_ms - 2.0).abs() < 1e-9);
        assert_eq!(parse_result("Running 1s test\n"), None);
    }
}
