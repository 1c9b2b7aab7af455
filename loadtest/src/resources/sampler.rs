//! Reads what a soak watches from /proc: a process's resident memory
//! (`VmRSS` in /proc/PID/status) and its open descriptors (entries of
//! /proc/PID/fd). `drill` runs in the lab's client namespace, which shares
//! the host's /proc, so lab processes are visible by pid.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Sample, Series};
use crate::config::Watch;
use crate::load;

/// A pid command over this is given up (the watch then fails the run).
const PID_COMMAND_LIMIT: Duration = Duration::from_secs(10);

/// `VmRSS` of a /proc/PID/status text, in kB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].split_whitespace().next()?.parse().ok()
}

/// The pid a watch's command prints (its first word).
pub async fn resolve(watch: &Watch) -> Result<u32, String> {
    let run = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&watch.pid)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(PID_COMMAND_LIMIT, run).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("pid command `{}` failed to start: {e}", watch.pid)),
        Err(_) => return Err(format!("pid command `{}` took over {PID_COMMAND_LIMIT:?}", watch.pid)),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match stdout.split_whitespace().next().map(str::parse::<u32>) {
        Some(Ok(pid)) if output.status.success() => Ok(pid),
        _ => Err(format!(
            "pid command `{}` gave no pid ({}): {}",
            watch.pid,
            output.status,
            stderr.trim().lines().last().unwrap_or(stdout.trim())
        )),
    }
}

/// One reading of `pid`; an error when the process is gone.
pub fn read(pid: u32, t_ms: f64) -> Result<Sample, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("pid {pid}: {e}"))?;
    let rss_kb = parse_vm_rss(&status).ok_or_else(|| format!("pid {pid}: no VmRSS (a zombie?)"))?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| format!("pid {pid}: {e}"))?.count() as u64;
    Ok(Sample { t_ms, rss_kb, fds })
}

/// Resolves every watch, then samples each every `every` from `t0` until
/// `until` (from `t0`) or `stop`. A process that cannot be found or that
/// exits is reported in its series' `problem`, never silently dropped.
pub async fn run(
    watches: &[Watch],
    every: Duration,
    t0: Instant,
    until: Duration,
    mut stop: watch::Receiver<bool>,
) -> Vec<Series> {
    let mut series = Vec::new();
    for w in watches {
        let mut s = Series { name: w.name.clone(), ..Series::default() };
        match resolve(w).await {
            Ok(pid) => s.pid = Some(pid),
            Err(e) => s.problem = Some(e),
        }
        series.push(s);
    }
    let mut tick = 0u32;
    loop {
        let at = t0 + every * tick;
        if at.duration_since(t0) >= until {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = load::stopped(&mut stop) => break,
        }
        let t_ms = t0.elapsed().as_secs_f64() * 1000.0;
        for s in series.iter_mut().filter(|s| s.problem.is_none()) {
            let Some(pid) = s.pid else { continue };
            match read(pid, t_ms) {
                Ok(sample) => s.samples.push(sample),
                Err(e) => s.problem = Some(format!("{} exited at {:.1} s ({e})", s.name, t_ms / 1000.0)),
            }
        }
        tick += 1;
    }
    series
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kilobytes() {
        let status = "Name:\ttandem\nVmPeak:\t  900 kB\nVmRSS:\t   51234 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(51234));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[tokio::test]
    async fn this_process_can_be_watched_by_a_pid_command() {
        let me = std::process::id();
        let watch = Watch { name: "me".into(), pid: format!("echo {me}") };
        assert_eq!(resolve(&watch).await, Ok(me));
        let sample = read(me, 0.0).unwrap();
        assert!(sample.rss_kb > 0 && sample.fds > 0, "{sample:?}");
    }

    #[tokio::test]
    async fn a_pid_command_that_fails_or_prints_no_pid_is_an_error() {
        let failing = Watch { name: "x".into(), pid: "echo nothing runs >&2; exit 1".into() };
        let err = resolve(&failing).await.unwrap_err();
        assert!(err.contains("gave no pid") && err.contains("nothing runs"), "{err}");
        let wordy = Watch { name: "x".into(), pid: "echo hello".into() };
        assert!(resolve(&wordy).await.is_err());
    }

    #[tokio::test]
    async fn a_process_that_exits_ends_its_series_with_a_problem() {
        let mut child = std::process::Command::new("sleep").arg("0.3").spawn().unwrap();
        let watch = Watch { name: "sleeper".into(), pid: format!("echo {}", child.id()) };
        let (_tx, stop) = watch::channel(false);
        let waiter = std::thread::spawn(move || child.wait());
        let series = run(&[watch], Duration::from_millis(100), Instant::now(), Duration::from_secs(2), stop).await;
        waiter.join().unwrap().unwrap();
        let s = &series[0];
        assert!(!s.samples.is_empty(), "{s:?}");
        assert!(s.problem.as_deref().unwrap_or("").contains("sleeper exited at"), "{s:?}");
    }
}
