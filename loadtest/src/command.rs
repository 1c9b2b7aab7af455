//! Fault, recovery and settle commands: `sh -c CMD` with stdout and stderr in
//! files of the report directory, bounded by a time limit. A command over its
//! limit is killed with its whole process group (it runs in a new one), so a
//! hung `ssh` or `docker` child does not outlive the drill.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::analysis::Span;

/// How one command went. Times are ms from the run's start (negative for a
/// settle command, which runs before it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRun {
    /// `fault`, `recover` or `settle`; also the stem of the output files.
    pub label: String,
    pub command: String,
    pub start_ms: f64,
    pub end_ms: f64,
    /// `exit 0`, `exit 3`, `signal 9`, `killed after 60s (time limit)`, `failed to start: ...`.
    pub status: String,
    /// Exit status 0 within the time limit.
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CommandRun {
    pub fn span(&self) -> Span {
        Span { start_ms: self.start_ms, end_ms: self.end_ms }
    }
}

/// Describes an exit: `(status text, ok)`.
pub fn describe_exit(code: Option<i32>, signal: Option<i32>) -> (String, bool) {
    match (code, signal) {
        (Some(code), _) => (format!("exit {code}"), code == 0),
        (None, Some(signal)) => (format!("signal {signal}"), false),
        (None, None) => ("unknown exit".to_string(), false),
    }
}

/// A short name for a command, for charts: `deploy/lab kill lb1/tandem` becomes
/// `kill lb1/tandem` (a leading path-like program is dropped), at most 24 chars.
pub fn short_name(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let words = match words.split_first() {
        Some((first, rest)) if first.contains('/') && !rest.is_empty() => rest,
        _ => &words[..],
    };
    let text = words.join(" ");
    if text.chars().count() > 24 {
        format!("{}…", text.chars().take(23).collect::<String>())
    } else {
        text
    }
}

/// Runs `command` now, writing `DIR/LABEL.stdout` and `DIR/LABEL.stderr`.
pub async fn run(label: &str, command: &str, dir: &Path, t0: Instant, limit: Duration) -> CommandRun {
    let (stdout, stderr) = (format!("{label}.stdout"), format!("{label}.stderr"));
    let ms = |at: Instant| {
        if at >= t0 {
            at.duration_since(t0).as_secs_f64() * 1000.0
        } else {
            -(t0.duration_since(at).as_secs_f64() * 1000.0)
        }
    };
    let start = Instant::now();
    let (status, ok) = execute(command, &dir.join(&stdout), &dir.join(&stderr), limit).await;
    CommandRun {
        label: label.to_string(),
        command: command.to_string(),
        start_ms: ms(start),
        end_ms: ms(Instant::now()),
        status,
        ok,
        stdout,
        stderr,
    }
}

async fn execute(command: &str, stdout: &Path, stderr: &Path, limit: Duration) -> (String, bool) {
    let files = std::fs::File::create(stdout).and_then(|out| Ok((out, std::fs::File::create(stderr)?)));
    let (out, err) = match files {
        Ok(files) => files,
        Err(e) => return (format!("failed to start: cannot create output files: {e}"), false),
    };
    let mut child = match tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return (format!("failed to start: {e}"), false),
    };
    let pid = child.id();
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            describe_exit(status.code(), status.signal())
        }
        Ok(Err(e)) => (format!("wait failed: {e}"), false),
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // The group id is the shell's pid (process_group(0) above).
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.kill().await;
            (format!("killed after {:?} (time limit)", limit), false)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_and_only_zero_is_ok() {
        assert_eq!(describe_exit(Some(0), None), ("exit 0".to_string(), true));
        assert_eq!(describe_exit(Some(3), None), ("exit 3".to_string(), false));
        assert_eq!(describe_exit(None, Some(9)), ("signal 9".to_string(), false));
    }

    #[test]
    fn short_names_drop_the_program_path_and_stay_short() {
        assert_eq!(short_name("deploy/lab kill lb1/tandem"), "kill lb1/tandem");
        assert_eq!(short_name("touch /tmp/x"), "touch /tmp/x");
        assert_eq!(short_name("./x"), "./x");
        assert_eq!(short_name("echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").chars().count(), 24);
    }

    #[tokio::test]
    async fn output_and_exit_status_are_captured() {
        let dir = std::env::temp_dir().join(format!("drill-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = run("fault", "echo out; echo err >&2; exit 3", &dir, Instant::now(), Duration::from_secs(5)).await;
        assert_eq!((run.status.as_str(), run.ok), ("exit 3", false));
        assert_eq!(std::fs::read_to_string(dir.join("fault.stdout")).unwrap(), "out\n");
        assert_eq!(std::fs::read_to_string(dir.join("fault.stderr")).unwrap(), "err\n");
        assert!(run.end_ms >= run.start_ms);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_command_over_its_limit_is_killed_with_its_children() {
        let dir = std::env::temp_dir().join(format!("drill-cmd-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let started = Instant::now();
        let run = run("recover", "sleep 30 & sleep 30", &dir, started, Duration::from_millis(200)).await;
        assert!(run.status.starts_with("killed after"), "{}", run.status);
        assert!(started.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
