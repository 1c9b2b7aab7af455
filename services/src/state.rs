//! The two files `tandem-services up` leaves in its directory:
//!
//! - `env`: `KEY=VALUE` lines for `set -a; . DIR/env; set +a` (also fine for
//!   `docker --env-file` and systemd, as values need no quoting);
//! - `tandem-services.state`: one line per server, all that `down`,
//!   `status` and `start` need. `down` signals only these PIDs, and only while
//!   `/proc/<pid>/exe` is still the recorded program.
//!
//! State lines are tab-separated (a backslash, tab, newline and carriage
//! return in a field are written `\\`, `\t`, `\n`, `\r`):
//!
//! ```text
//! name  host  port  pid  program  output  log  command...
//! ```
//!
//! `program` is the executable resolved (what `/proc/<pid>/exe` shows),
//! `output` takes the server's stdout/stderr, `log` is its own log (empty if
//! none), and `command` is its command line as started (the program as
//! named then, since `redis-server` is a symlink that acts by its name, and
//! its arguments), so `start` can run it again.
//! Lines without a tab are the older format `name port pid program`
//! (space-separated): host 127.0.0.1, no command line, so `status` and
//! `down` work on them and `start` refuses.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ports::LOOPBACK;
use crate::process::Daemon;
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

impl Kind {
    /// `mariadb`, `redis` or `sentinel`: the prefix of the record names.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MariaDb => "mariadb",
            Kind::Redis => "redis",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// One started server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `mariadb-0`, `redis-1`, `sentinel-2`...
    pub name: String,
    /// The address it listens on; 127.0.0.1 in state files that do not say.
    pub host: Ipv4Addr,
    pub port: u16,
    pub pid: u32,
    /// The executable, checked against `/proc/<pid>/exe` before signalling.
    pub program: PathBuf,
    /// How to start it again; `None` in state files of the older format.
    pub launch: Option<Launch>,
}

/// What `start` needs to run a recorded server again as it first ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The command line: the program as named at the first start (e.g.
    /// `/usr/bin/redis-server`, not the file it links to), then its
    /// arguments (config file, `--sentinel`...). Never empty.
    pub command: Vec<String>,
    /// Where stdout and stderr go (appended).
    pub output: PathBuf,
    /// The server's own log, if it has one.
    pub log: Option<PathBuf>,
}

impl Record {
    /// The kind, from the name's prefix.
    pub fn kind(&self) -> Option<Kind> {
        let prefix = self.name.rsplit_once('-').map(|(p, _)| p)?;
        [Kind::MariaDb, Kind::Redis, Kind::Sentinel].into_iter().find(|k| k.as_str() == prefix)
    }

    /// `host:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.host, self.port))
    }
}

/// The records of a running tier (servers without a PID are left out).
pub fn records(tier: &DataTier) -> Vec<Record> {
    let mut out = Vec::new();
    for m in &tier.mariadb {
        out.extend(record(m.daemon(), m.host, m.port));
    }
    for r in &tier.redis {
        out.extend(record(r.daemon(), r.host, r.port));
    }
    for s in &tier.sentinels {
        out.extend(record(s.daemon(), s.host, s.port));
    }
    out
}

/// A non-UTF-8 path in the command line is recorded lossily (the configs
/// written for the servers hold such paths lossily already).
fn record(daemon: &Daemon, host: Ipv4Addr, port: u16) -> Option<Record> {
    let pid = daemon.pid()?;
    let started = daemon.program();
    let program = std::fs::canonicalize(started).unwrap_or_else(|_| started.to_path_buf());
    Some(Record {
        name: daemon.name().to_string(),
        host,
        port,
        pid,
        program,
        launch: Some(Launch {
            command: std::iter::once(daemon.program().as_os_str())
                .chain(daemon.args().iter().map(|a| a.as_os_str()))
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            output: daemon.output().to_path_buf(),
            log: daemon.server_log().map(Path::to_path_buf),
        }),
    })
}

/// The state file's text (always the current, tab-separated format).
pub fn state_text(records: &[Record]) -> String {
    let mut text = String::from(
        "# tandem-services: servers started by `up` (tab-separated, \\\\ \\t \\n \\r escaped):\n\
         # name host port pid program output log command...\n",
    );
    for r in records {
        let mut fields = vec![
            r.name.clone(),
            r.host.to_string(),
            r.port.to_string(),
            r.pid.to_string(),
            r.program.display().to_string(),
        ];
        match &r.launch {
            Some(l) => {
                fields.push(l.output.display().to_string());
                fields.push(l.log.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
                fields.extend(l.command.iter().cloned());
            }
            // Unknown (an older state file): empty output and log, no command.
            None => fields.extend([String::new(), String::new()]),
        }
        let fields: Vec<String> = fields.iter().map(|f| escape(f)).collect();
        text.push_str(&fields.join("\t"));
        text.push('\n');
    }
    text
}

/// Parses the state file (either format); `path` is for error messages.
pub fn parse_state(text: &str, path: &Path) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| Error::Invalid(format!("{}:{}: {why}", path.display(), n + 1));
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let record = if line.contains('\t') { parse_line(line) } else { parse_old_line(line.trim()) };
        let record = record.map_err(|why| bad(&why))?;
        if record.kind().is_none() {
            return Err(bad("unknown server name"));
        }
        out.push(record);
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> std::result::Result<T, String> {
    text.parse().map_err(|_| format!("{what} is not a number"))
}

/// `name host port pid program output log command...`, tab-separated.
fn parse_line(line: &str) -> std::result::Result<Record, String> {
    let fields = line.split('\t').map(unescape).collect::<std::result::Result<Vec<String>, String>>()?;
    let [name, host, port, pid, program, output, log, command @ ..] = fields.as_slice() else {
        return Err("expected `name host port pid program output log command...` (tab-separated)".into());
    };
    let launch = match (output.is_empty(), command.is_empty()) {
        (true, true) => None,
        (false, false) => Some(Launch {
            command: command.to_vec(),
            output: PathBuf::from(output),
            log: (!log.is_empty()).then(|| PathBuf::from(log)),
        }),
        _ => return Err("output and command go together".into()),
    };
    Ok(Record {
        name: name.clone(),
        host: host.parse().map_err(|_| format!("host {host:?} is not an IPv4 address"))?,
        port: number(port, "port")?,
        pid: number(pid, "pid")?,
        program: PathBuf::from(program),
        launch,
    })
}

/// The older `name port pid program` (space-separated, program to the end).
fn parse_old_line(line: &str) -> std::result::Result<Record, String> {
    let mut parts = line.splitn(4, ' ');
    let (Some(name), Some(port), Some(pid), Some(program)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected `name port pid program`".into());
    };
    Ok(Record {
        name: name.to_string(),
        host: LOOPBACK,
        port: number(port, "port")?,
        pid: number(pid, "pid")?,
        program: PathBuf::from(program),
        launch: None,
    })
}

fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(field: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => return Err(format!("bad escape \\{} in {field:?}", other.map(String::from).unwrap_or_default())),
        }
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

/// Writes `DIR/tandem-services.state` whole (a temporary file renamed over
/// it, so a reader never sees half a file).
pub fn write_state(dir: &Path, records: &[Record]) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, state_text(records)).map_err(Error::io_at("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(Error::io_at("replace", &path))
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

    fn mariadb_record() -> Record {
        Record {
            name: "mariadb-0".into(),
            host: Ipv4Addr::new(10, 231, 0, 30),
            port: 13306,
            pid: 42,
            program: "/usr/sbin/mariadbd".into(),
            launch: Some(Launch {
                command: vec!["/usr/sbin/mariadbd".into(), "--defaults-file=/t/my dir/mariadb-0/my.cnf".into()],
                output: "/t/my dir/mariadb-0/mariadbd.out".into(),
                log: Some("/t/my dir/mariadb-0/error.log".into()),
            }),
        }
    }

    #[test]
    fn state_round_trips_with_host_and_command_line() {
        let records = vec![
            mariadb_record(),
            Record {
                name: "sentinel-2".into(),
                host: LOOPBACK,
                port: 26481,
                pid: 43,
                program: "/usr/bin/redis check".into(),
                launch: Some(Launch {
                    command: vec![
                        "/usr/bin/redis-server".into(),
                        "/t/odd\tname\\x/sentinel.conf".into(),
                        "--sentinel".into(),
                    ],
                    output: "/t/sentinel-2/sentinel.out".into(),
                    log: None,
                }),
            },
        ];
        let text = state_text(&records);
        assert!(text.contains("\nmariadb-0\t10.231.0.30\t13306\t42\t/usr/sbin/mariadbd\t"), "{text}");
        assert!(text.contains("\t/t/odd\\tname\\\\x/sentinel.conf\t--sentinel\n"), "{text}");
        assert_eq!(parse_state(&text, Path::new("s")).expect("parses"), records);
        assert_eq!(records[0].kind(), Some(Kind::MariaDb));
        assert_eq!(records[1].kind(), Some(Kind::Sentinel));
        assert_eq!(records[0].addr().to_string(), "10.231.0.30:13306");
    }

    #[test]
    fn old_state_files_read_as_loopback_without_a_command_line() {
        let text = "# tandem-services: servers started by `up` (name port pid program)\n\
                    redis-1 16380 7 /usr/bin/redis-server\nsentinel-0 26479 8 /usr/bin/redis check\n";
        let records = parse_state(text, Path::new("s")).expect("parses");
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].host, records[0].port, records[0].pid), (LOOPBACK, 16380, 7));
        assert_eq!(records[1].program, PathBuf::from("/usr/bin/redis check"));
        assert!(records.iter().all(|r| r.launch.is_none()));
        // Written again, they keep what is known and still parse.
        assert_eq!(parse_state(&state_text(&records), Path::new("s")).expect("parses"), records);
    }

    #[test]
    fn bad_state_lines_name_the_file_and_line() {
        let err = parse_state("# c\nmariadb-0 x 1 /p\n", Path::new("/d/state")).expect_err("bad port");
        assert_eq!(err.to_string(), "/d/state:2: port is not a number");
        let err = parse_state("nginx-0 1 1 /p\n", Path::new("s")).expect_err("unknown");
        assert!(err.to_string().contains("unknown server name"));
        let err = parse_state("redis-0\tlocalhost\t1\t1\t/p\t\t\n", Path::new("s")).expect_err("host");
        assert!(err.to_string().contains("not an IPv4 address"), "{err}");
        let err = parse_state("redis-0\t127.0.0.1\t1\n", Path::new("s")).expect_err("short");
        assert!(err.to_string().starts_with("s:1: expected `name host port pid"), "{err}");
        let err = parse_state("redis-0\t127.0.0.1\t1\t1\t/p\\q\t\t\n", Path::new("s")).expect_err("escape");
        assert!(err.to_string().contains("bad escape"), "{err}");
    }

    #[test]
    fn state_is_written_whole() {
        let dir = std::env::temp_dir().join(format!("tandem-services-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        write_state(&dir, &[mariadb_record()]).expect("write");
        assert_eq!(read_state(&dir).expect("read"), Some(vec![mariadb_record()]));
        assert!(!dir.join(format!("{STATE_FILE}.tmp")).exists());
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(read_state(&dir).expect("no state"), None);
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
