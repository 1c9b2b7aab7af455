//! The process's control surface: the pid file and `SIGHUP` (reload).
//!
//! The pid file is written only once the `SIGHUP` handler is installed (a
//! `SIGHUP` before that would kill the process). It is removed at a normal
//! exit if it still holds this process's pid, and left alone after `SIGQUIT`
//! (a graceful upgrade: it belongs to the new process).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use log::{error, info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::signal::unix::{signal, SignalKind};

use crate::live::Live;

pub struct Control {
    live: Arc<Live>,
    pid_file: PathBuf,
}

impl Control {
    pub fn new(live: Arc<Live>) -> Control {
        let pid_file = live.config().pid_file.clone();
        Control { live, pid_file }
    }
}

#[async_trait]
impl BackgroundService for Control {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                error!("cannot handle SIGHUP, reload by signal is off: {e}");
                None
            }
        };
        // Pingora handles SIGQUIT (hand the sockets to a new process); we only
        // note it, so the pid file is left to the new process.
        let mut quits = signal(SignalKind::quit()).ok();
        let mut upgrading = false;
        let pid = std::process::id();
        match write_pid_file(&self.pid_file, pid) {
            Ok(()) => info!("pid {pid} written to {}", self.pid_file.display()),
            Err(e) => warn!("cannot write the pid file {}: {e} (tandem reload needs it)", self.pid_file.display()),
        }
        loop {
            let hangup = async {
                match &mut hangups {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let quit = async {
                match &mut quits {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = quit => upgrading = true,
                _ = hangup => {
                    info!("SIGHUP: reloading {}", self.live.config_path().display());
                    let live = self.live.clone();
                    if let Err(e) = tokio::task::spawn_blocking(move || live.reload()).await {
                        error!("reload task failed: {e}");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        if !upgrading {
            remove_pid_file_if_ours(&self.pid_file, pid);
        }
    }
}

/// Write atomically (temp file + rename) so a reader never sees half a pid.
pub fn write_pid_file(path: &Path, pid: u32) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{pid}"));
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, path)
}

/// The pid in a pid file, if it holds one.
pub fn read_pid_file(path: &Path) -> std::io::Result<u32> {
    let text = std::fs::read_to_string(path)?;
    text.trim()
        .parse()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("`{}` is not a pid", text.trim())))
}

fn remove_pid_file_if_ours(path: &Path, pid: u32) {
    if read_pid_file(path).ok() == Some(pid) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_round_trips_and_is_removed_only_by_its_owner() {
        let dir = std::env::temp_dir().join(format!("tandem-pid-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("tandem.pid");
        write_pid_file(&path, 42).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_pid_file(&path).ok(), Some(42));
        remove_pid_file_if_ours(&path, 43);
        assert!(path.exists(), "another process's file stays");
        remove_pid_file_if_ours(&path, 42);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
