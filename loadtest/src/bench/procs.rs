//! The processes the bench starts, and what /proc says about them.
//!
//! Every process is started here and stopped by its PID (SIGTERM, then
//! SIGKILL after a grace period), never by name. CPU and memory are read for
//! a process and all its descendants (nginx's workers are children of its
//! master), so a multi-process proxy is charged for all of its processes.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A started program, stopped (and reaped) on drop.
pub struct Process {
    child: Child,
}

impl Process {
    /// Start `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Process, String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{name}: cannot open {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{name}: {e}"))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| format!("{name}: cannot start {:?}: {e}", cmd.get_program()))?;
        Ok(Process { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` when the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; always reaped.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// `pid` and every live descendant of it.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some(stat) = read_stat(p) {
                parents.push((p, stat.ppid));
            }
        }
    }
    descendants(pid, &parents)
}

/// `root` and the processes below it in a (pid, ppid) table.
fn descendants(root: u32, table: &[(u32, u32)]) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(table.iter().filter(|&&(_, pp)| pp == parent).map(|&(p, _)| p));
        i += 1;
    }
    out
}

/// The fields of /proc/PID/stat the bench uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// /proc/PID/stat: `pid (comm) state ppid ...`; comm may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After comm: state(0) ppid(1) ... utime(11) stime(12).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat { ppid, cpu_ticks: utime + stime })
}

fn ticks_per_second() -> u64 {
    // SAFETY-free: sysconf is exposed by nix.
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().map(|t| t as u64).unwrap_or(100)
}

/// CPU time (user + system) of a process tree, in microseconds.
pub fn cpu_us(pid: u32) -> u64 {
    let ticks: u64 = tree(pid).into_iter().filter_map(read_stat).map(|s| s.cpu_ticks).sum();
    ticks * 1_000_000 / ticks_per_second()
}

/// A `Vm*:` line of /proc/PID/status, in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, key)
}

fn parse_status_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))?;
    line[key.len() + 1..].split_whitespace().next()?.parse().ok()
}

/// Resident memory of a process tree, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    tree(pid).into_iter().filter_map(|p| status_kib(p, "VmRSS")).sum()
}

/// Peak resident memory of a process tree since the last [`reset_peak`],
/// KiB (the sum of each process's peak).
pub fn peak_rss_kib(pid: u32) -> u64 {
    tree(pid).into_iter().filter_map(|p| status_kib(p, "VmHWM")).sum()
}

/// Start a new peak-RSS window for a process tree (`5` to clear_refs resets
/// VmHWM to the current RSS). Returns false when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    tree(pid).into_iter().all(|p| fs::write(format!("/proc/{p}/clear_refs"), "5").is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (nginx: worker (x)) S 4200 4200 4200 0 -1 4194624 100 0 0 0 37 12 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some(Stat { ppid: 4200, cpu_ticks: 49 }));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_values_are_read_by_exact_key() {
        let text = "Name:\tnginx\nVmHWM:\t  9000 kB\nVmRSS:\t  8123 kB\nVmRSSx:\t1 kB\n";
        assert_eq!(parse_status_kib(text, "VmRSS"), Some(8123));
        assert_eq!(parse_status_kib(text, "VmHWM"), Some(9000));
        assert_eq!(parse_status_kib(text, "VmSwap"), None);
    }

    #[test]
    fn descendants_include_grandchildren_and_nothing_else() {
        let table = [(1, 0), (10, 1), (11, 10), (12, 10), (13, 11), (20, 1)];
        let mut d = descendants(10, &table);
        d.sort();
        assert_eq!(d, vec![10, 11, 12, 13]);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let me = std::process::id();
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_us(me) > 0);
        assert!(rss_kib(me) > 0);
        assert!(peak_rss_kib(me) >= rss_kib(me) / 2);
    }
}
