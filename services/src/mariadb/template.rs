//! The template datadir: `mariadb-install-db` runs once per tier (~0.5 s,
//! fsync-bound, up to 3 s on a busy disk) and every node gets a `cp -a` copy
//! (datadirs carry no server identity; server-id lives in my.cnf).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::config::{init_sql, install_db_args};
use crate::error::{log_tail, Error, Result};
use crate::process::{log_file, run, POLL};

/// Bound on `mariadb-install-db`; it normally takes well under 3 s.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A template datadir being created in the background.
#[derive(Debug)]
pub(crate) struct Template {
    dir: PathBuf,
    child: Option<Child>,
}

impl Template {
    /// Starts `mariadb-install-db` into `dir` (created) and returns at once,
    /// so Redis can start meanwhile.
    pub(crate) fn begin(dir: &Path, install_db: &Path, as_root: bool) -> Result<Self> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(Error::io_at("create", dir))?;
        let sql_path = dir.join("init.sql");
        std::fs::write(&sql_path, init_sql()).map_err(Error::io_at("write", &sql_path))?;
        let log = log_file(&dir.join("install-db.log"))?;
        let err = log.try_clone().map_err(|e| Error::io("dup install-db log", e))?;
        let child = Command::new(install_db)
            .args(install_db_args(dir, as_root))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", install_db.display()), e))?;
        Ok(Template { dir: dir.to_path_buf(), child: Some(child) })
    }

    /// Waits for `mariadb-install-db` and returns the template datadir.
    pub(crate) fn finish(&mut self) -> Result<PathBuf> {
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + INSTALL_TIMEOUT;
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => thread::sleep(POLL),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                }
            };
            let problem = match status {
                Some(status) if status.success() => None,
                Some(status) => Some(format!("{status}")),
                None => Some(format!("did not finish within {INSTALL_TIMEOUT:?}")),
            };
            if let Some(problem) = problem {
                return Err(Error::Process {
                    name: "mariadb-install-db".into(),
                    problem,
                    log_tail: log_tail(&[self.dir.join("install-db.log")], 25),
                });
            }
        }
        Ok(self.dir.join("data"))
    }
}

impl Drop for Template {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `cp -a template datadir` (std has no recursive copy; `-a` keeps modes and
/// sparse files).
pub(crate) fn copy_datadir(template: &Path, datadir: &Path) -> Result<()> {
    let mut cmd = Command::new("cp");
    cmd.arg("-a").arg(template).arg(datadir);
    run(&mut cmd, &format!("cp -a {} {}", template.display(), datadir.display()), Duration::from_secs(60)).map(|_| ())
}
