//! The two files `tandem-services up` leaves in its directory:
//!
//! - `env`: `KEY=VALUE` lines for `set -a; . DIR/env; set +a` (also fine for
//!   `docker --env-file` and systemd, as values need no quoting);
//! - `tandem-services.state`: one line per server (`name port pid program`),
//!   all that `down` and `status` need. `down` signals only these PIDs, and
//!   only while `/proc/<pid>/exe` is still the recorded program.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::DataTier;

/// File name of the state file inside the tier directory.
pub const STATE_FILE: &str = "tandem-services.state";
/// File name of the environment file inside the tier directory.
pub const ENV_FILE: &str = "env";

/// Which kind of server a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MariaDb,
    Redis,
    Sentinel,
}

/// One started server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `mariadb-0`, `redis-1`, `sentinel-2`...
    pub name: String,
    pub port: u16,
    pub pid: u32,
    /// The executable, checked against `/proc/<pid>/exe` before signalling.
    pub program: PathBuf,
}

impl Record {
    /// The kind, from the name's prefix.
    pub fn kind(&self) -> Option<Kind> {
        let prefix = self.name.rsplit_once('-').map(|(p, _)| p)?;
        match prefix {
            "mariadb" => Some(Kind::MariaDb),
            "redis" => Some(Kind::Redis),
            "sentinel" => Some(Kind::Sentinel),
            _ => None,
        }
    }
}

/// The records of a running tier (servers without a PID are left out).
pub fn records(tier: &DataTier) -> Vec<Record> {
    let mut out = Vec::new();
    for m in &tier.mariadb {
        out.extend(m.pid().map(|pid| record(m.name(), m.port, pid, m.program())));
    }
    for r in &tier.redis {
        out.extend(r.pid().map(|pid| record(r.name(), r.port, pid, r.program())));
    }
    for s in &tier.sentinels {
        out.extend(s.pid().map(|pid| record(s.name(), s.port, pid, s.program())));
    }
    out
}

fn record(name: &str, port: u16, pid: u32, program: &Path) -> Record {
    let program = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    Record { name: name.to_string(), port, pid, program }
}

/// The state file's text.
pub fn state_text(records: &[Record]) -> String {
    let mut text = String::from("# tandem-services: servers started by `up` (name port pid program)\n");
    for r in records {
        text.push_str(&format!("{} {} {} {}\n", r.name, r.port, r.pid, r.program.display()));
    }
    text
}

/// Parses the state file; `path` is for error messages.
pub fn parse_state(text: &str, path: &Path) -> Result<Vec<Record>> {
    let bad = |n: usize, why: &str| Error::Invalid(format!("{}:{}: {why}", path.display(), n + 1));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, ' ');
        let (Some(name), Some(port), Some(pid), Some(program)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(n, "expected `name port pid program`"));
        };
        let record = Record {
            name: name.to_string(),
            port: port.parse().map_err(|_| bad(n, "port is not a number"))?,
            pid: pid.parse().map_err(|_| bad(n, "pid is not a number"))?,
            program: PathBuf::from(program),
        };
        if record.kind().is_none() {
            return Err(bad(n, "unknown server name"));
        }
        out.push(record);
    }
    Ok(out)
}

/// Reads `DIR/tandem-services.state`; `Ok(None)` when there is none.
pub fn read_state(dir: &Path) -> Result<Option<Vec<Record>>> {
    let path = dir.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_state(&text, &path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("read {}", path.display()), e)),
    }
}

/// The env file's text. Values made only of URL-safe characters are written
/// bare; anything else is single-quoted for the shell.
pub fn env_text(env: &[(String, String)]) -> String {
    let mut text = String::from(
        "# tandem-services data tier. LOCAL-DEMO CREDENTIALS (passwords equal user names).\n\
         # Load with: set -a; . ./env; set +a\n",
    );
    for (key, value) in env {
        text.push_str(&format!("{key}={}\n", shell_value(value)));
    }
    text
}

fn shell_value(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./?-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let records = vec![
            Record { name: "mariadb-0".into(), port: 13306, pid: 42, program: "/usr/sbin/mariadbd".into() },
            Record { name: "sentinel-2".into(), port: 26481, pid: 43, program: "/usr/bin/redis check".into() },
        ];
        let text = state_text(&records);
        assert_eq!(parse_state(&text, Path::new("s")).expect("parses"), records);
        assert_eq!(records[0].kind(), Some(Kind::MariaDb));
        assert_eq!(records[1].kind(), Some(Kind::Sentinel));
    }

    #[test]
    fn bad_state_lines_name_the_file_and_line() {
        let err = parse_state("# c\nmariadb-0 x 1 /p\n", Path::new("/d/state")).expect_err("bad port");
        assert_eq!(err.to_string(), "/d/state:2: port is not a number");
        let err = parse_state("nginx-0 1 1 /p\n", Path::new("s")).expect_err("unknown");
        assert!(err.to_string().contains("unknown server name"));
    }

    #[test]
    fn env_values_are_bare_when_shell_safe_and_quoted_otherwise() {
        let env = vec![
            ("A".to_string(), "mysql://app:app@127.0.0.1:1/appdb?prefer_socket=false,mysql://x".to_string()),
            ("B".to_string(), "it's $HOME".to_string()),
        ];
        let text = env_text(&env);
        assert!(text.contains("\nA=mysql://app:app@127.0.0.1:1/appdb?prefer_socket=false,mysql://x\n"), "{text}");
        assert!(text.contains("\nB='it'\\''s $HOME'\n"), "{text}");
    }
}
