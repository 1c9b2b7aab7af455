//! One error type for the crate. Every variant names what failed (a process, a
//! client command, a file) and, for a process, carries the tail of its logs: a
//! failed start should be diagnosable from the error alone.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why starting, stopping or querying the data tier failed.
#[derive(Debug)]
pub enum Error {
    /// A file or directory operation, or spawning a program, failed.
    Io { context: String, source: io::Error },
    /// A server process exited or did not become ready in time.
    Process {
        /// The process' name in the tier, e.g. `mariadb-1`, `sentinel-0`.
        name: String,
        /// What went wrong, e.g. "exited with exit status: 1 while starting".
        problem: String,
        /// The last lines of the process' log files, each headed by its path.
        log_tail: String,
    },
    /// A client command (`mariadb`, `redis-cli`, `mariadb-install-db`) failed.
    Command { command: String, detail: String },
    /// A required program is not installed.
    MissingProgram { program: String, package: String },
    /// The caller asked for something that cannot work (bad ports, dir in use...).
    Invalid(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// A wrapper for `map_err`: `fs::write(..).map_err(Error::io_at("write", &path))`.
    pub(crate) fn io_at(action: &str, path: &std::path::Path) -> impl FnOnce(io::Error) -> Self {
        let context = format!("{action} {}", path.display());
        move |source| Error::Io { context, source }
    }

    /// True when a server could not bind its port: the tier retries with other
    /// free ports (only when it picked them itself).
    pub fn is_port_in_use(&self) -> bool {
        match self {
            Error::Process { log_tail, .. } => log_tail.contains("Address already in use"),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Process { name, problem, log_tail } => {
                write!(f, "{name}: {problem}")?;
                if !log_tail.is_empty() {
                    write!(f, "\n{log_tail}")?;
                }
                Ok(())
            }
            Error::Command { command, detail } => write!(f, "`{command}` failed: {detail}"),
            Error::MissingProgram { program, package } => write!(
                f,
                "{program} not found in PATH, /usr/sbin or /usr/bin: install the Debian package {package} \
                 (`make deps` installs it)"
            ),
            Error::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The last `lines` lines of each log, headed by its path; missing or empty
/// logs are skipped.
pub(crate) fn log_tail(logs: &[PathBuf], lines: usize) -> String {
    let mut out = String::new();
    for path in logs {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if all.is_empty() {
            continue;
        }
        let start = all.len().saturating_sub(lines);
        out.push_str(&format!("--- last {} lines of {} ---\n", all.len() - start, path.display()));
        for line in &all[start..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_is_recognised_from_the_log_tail() {
        let err = Error::Process {
            name: "redis-0".into(),
            problem: "exited".into(),
            log_tail: "Warning: Could not create server TCP listening socket 127.0.0.1:1: bind: Address already in use"
                .into(),
        };
        assert!(err.is_port_in_use());
        assert!(!Error::Invalid("Address already in use".into()).is_port_in_use());
    }

    #[test]
    fn log_tail_keeps_the_last_lines_and_names_the_file() {
        let dir = std::env::temp_dir().join(format!("tandem-services-logtail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let log = dir.join("x.log");
        std::fs::write(&log, "a\nb\n\nc\nd\n").expect("write");
        let tail = log_tail(&[log.clone(), dir.join("missing.log")], 2);
        assert!(tail.contains("x.log"), "{tail}");
        assert!(tail.ends_with("c\nd\n"), "{tail}");
        assert!(!tail.contains("\na\n"), "{tail}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
