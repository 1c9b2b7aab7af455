//! Child processes: the long-running servers ([`Daemon`]), short client
//! commands run with a deadline ([`run`]), and signalling a recorded PID that
//! is not our child (for `tandem-services down`).
//!
//! Processes are only ever addressed by PID, never by name patterns, and a
//! recorded PID is signalled only while `/proc/<pid>/exe` is still the program
//! we started there (PIDs get reused).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{log_tail, Error, Result};

/// How often readiness probes and exit checks poll: short, because the whole
/// tier is up in about a second and every poll interval adds to that.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// Lines of each log quoted in an error.
const TAIL_LINES: usize = 25;

/// A server process of the tier, restartable with the same program and args.
///
/// Dropping a `Daemon` SIGKILLs and reaps its process unless [`detach`](Self::detach)
/// was called: a test that panics leaves nothing running.
#[derive(Debug)]
pub(crate) struct Daemon {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    /// stdout and stderr of the process (early failures land here).
    output: PathBuf,
    /// Files quoted when the process fails: `output` and the server's own log.
    logs: Vec<PathBuf>,
    own_process_group: bool,
    child: Option<Child>,
}

impl Daemon {
    pub(crate) fn new(
        name: impl Into<String>,
        program: PathBuf,
        args: Vec<OsString>,
        output: PathBuf,
        server_log: Option<PathBuf>,
        own_process_group: bool,
    ) -> Self {
        let mut logs = vec![output.clone()];
        logs.extend(server_log);
        Daemon { name: name.into(), program, args, output, logs, own_process_group, child: None }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn program(&self) -> &Path {
        &self.program
    }

    /// The arguments it is started with (without a restart's extras).
    pub(crate) fn args(&self) -> &[OsString] {
        &self.args
    }

    /// Where its stdout and stderr go.
    pub(crate) fn output(&self) -> &Path {
        &self.output
    }

    /// The server's own log file, if it has one.
    pub(crate) fn server_log(&self) -> Option<&Path> {
        self.logs.get(1).map(PathBuf::as_path)
    }

    /// Starts the process with its args plus `extra`. Fails if it is running.
    pub(crate) fn spawn(&mut self, extra: &[OsString]) -> Result<()> {
        if self.is_running() {
            return Err(Error::Invalid(format!("{} is already running (pid {:?})", self.name, self.pid())));
        }
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .map_err(Error::io_at("open", &self.output))?;
        let err = out.try_clone().map_err(Error::io_at("dup", &self.output))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).args(extra).stdin(Stdio::null()).stdout(out).stderr(err);
        if self.own_process_group {
            // Detached tiers (`tandem-services up`) must not get the terminal's
            // Ctrl-C; test tiers stay in the test's group so a killed test
            // takes them along.
            cmd.process_group(0);
        }
        let child =
            cmd.spawn().map_err(|e| Error::io(format!("{}: spawn {}", self.name, self.program.display()), e))?;
        self.child = Some(child);
        Ok(())
    }

    /// PID of the last started process, while we have not reaped it.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process runs (a stopped, i.e. paused, process counts).
    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_))) | Some(Err(_)) => false,
            None => false,
        }
    }

    /// The exit status if the process has exited (it stays recorded).
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL and reap. No-op when nothing runs.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Kill even a stopped process: SIGKILL needs no SIGCONT.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (plus SIGCONT, so a paused process can act on it), wait up to
    /// `grace`, then SIGKILL. Err when the process needed the SIGKILL.
    pub(crate) fn terminate(&mut self, grace: Duration) -> Result<()> {
        let Some(pid) = self.pid() else { return Ok(()) };
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return Ok(());
            }
            thread::sleep(POLL);
        }
        self.kill();
        Err(self.failure(format!("did not exit within {grace:?} of SIGTERM; killed with SIGKILL")))
    }

    /// Sends `signal` to the running process (SIGSTOP/SIGCONT for drills).
    pub(crate) fn signal(&self, signal: Signal) {
        if let Some(pid) = self.pid() {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    /// Leaves the process running when this handle is dropped.
    pub(crate) fn detach(&mut self) {
        // std's Child neither kills nor waits on drop.
        self.child = None;
    }

    /// An [`Error::Process`] for this process with its log tail.
    pub(crate) fn failure(&self, problem: impl Into<String>) -> Error {
        Error::Process { name: self.name.clone(), problem: problem.into(), log_tail: log_tail(&self.logs, TAIL_LINES) }
    }

    /// Polls `probe` every [`POLL`] until it returns `Ok`, the process exits,
    /// or `timeout` passes. `probe` returns `Err(reason)` for "not yet"; the
    /// last reason is quoted in the timeout error.
    pub(crate) fn wait_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut() -> std::result::Result<T, String>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Err(self.failure(format!("{status} while waiting until {what}")));
            }
            if self.child.is_none() {
                return Err(self.failure(format!("not running, so never {what}")));
            }
            let last = match probe() {
                Ok(value) => return Ok(value),
                Err(reason) => reason,
            };
            if Instant::now() >= deadline {
                return Err(self.failure(format!("not {what} after {timeout:?} (last check: {last})")));
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a short client command with stdin closed, killing it after `timeout`
/// (a paused server accepts TCP connections and never answers). Returns
/// stdout; a non-zero exit becomes [`Error::Command`] with stderr.
/// `label` names the command in errors (kept free of passwords).
pub(crate) fn run(cmd: &mut Command, label: &str, timeout: Duration) -> Result<String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::io(format!("spawn `{label}`"), e))?;
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.map(|t| t.join().unwrap_or_default()).unwrap_or_default();
    let stderr = stderr.map(|t| t.join().unwrap_or_default()).unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(stdout),
        Some(status) => {
            let detail = [stderr.trim(), stdout.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
            Err(Error::Command { command: label.to_string(), detail: format!("{status}: {}", detail.join("; ")) })
        }
        None => Err(Error::Command { command: label.to_string(), detail: format!("no answer within {timeout:?}") }),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Finds `program` in `PATH`, then `/usr/sbin` and `/usr/bin` (Debian puts
/// `mariadbd` in `/usr/sbin`, often not in a user's PATH).
pub(crate) fn find_program(program: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::MissingProgram { program: program.into(), package: package.into() })
}

/// True when `pid` is a live (not zombie) process running `program`: the
/// guard before signalling a PID read from a state file.
pub(crate) fn pid_runs(pid: u32, program: &Path) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else { return false };
    let exe = exe.to_string_lossy().trim_end_matches(" (deleted)").to_string();
    let expected = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    if Path::new(&exe) != expected {
        return false;
    }
    // A zombie has no exe link already, but check the state for the window
    // between exit and that.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_none_or(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Sends `signal` to a recorded PID (checked with [`pid_runs`] first).
pub(crate) fn signal_pid(pid: u32, signal: Signal) {
    let _ = kill(Pid::from_raw(pid as i32), signal);
}

/// Creates (truncating) a file that stdout/stderr of a one-shot command go to.
pub(crate) fn log_file(path: &Path) -> Result<File> {
    File::create(path).map_err(Error::io_at("create", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_returns_stdout_and_reports_failures_with_stderr() {
        let out = run(Command::new("sh").args(["-c", "echo hi"]), "echo", Duration::from_secs(5)).expect("runs");
        assert_eq!(out, "hi\n");
        let err = run(Command::new("sh").args(["-c", "echo bad >&2; exit 3"]), "fails", Duration::from_secs(5))
            .expect_err("fails");
        let text = err.to_string();
        assert!(text.contains("`fails`") && text.contains("bad") && text.contains('3'), "{text}");
    }

    #[test]
    fn run_kills_a_command_that_does_not_answer_in_time() {
        let start = Instant::now();
        let err = run(Command::new("sleep").arg("10"), "sleep", Duration::from_millis(100)).expect_err("times out");
        assert!(err.to_string().contains("no answer"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_recorded_pid_counts_only_while_it_runs_the_recorded_program() {
        let mut child = Command::new("sleep").arg("10").spawn().expect("spawn sleep");
        let sleep = find_program("sleep", "coreutils").expect("sleep");
        assert!(pid_runs(child.id(), &sleep));
        assert!(!pid_runs(child.id(), Path::new("/bin/sh")));
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(!pid_runs(child.id(), &sleep));
    }

    #[test]
    fn daemon_wait_reports_an_early_exit_with_its_output() {
        let dir = std::env::temp_dir().join(format!("tandem-services-daemon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut d = Daemon::new(
            "demo-0",
            PathBuf::from("/bin/sh"),
            vec!["-c".into(), "echo boom; exit 7".into()],
            dir.join("demo.out"),
            None,
            false,
        );
        d.spawn(&[]).expect("spawn");
        let err = d.wait_until("ready", Duration::from_secs(5), || Err::<(), _>("no".into())).expect_err("exits");
        let text = err.to_string();
        assert!(text.starts_with("demo-0: exit status: 7"), "{text}");
        assert!(text.contains("boom"), "{text}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
