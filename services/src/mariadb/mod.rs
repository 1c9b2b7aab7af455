//! MariaDB nodes: a handle per `mariadbd` with the controls failure drills
//! need (kill, stop, restart, pause) and SQL as the admin user.

mod client;
pub(crate) mod config;
mod replication;
pub(crate) mod template;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

pub(crate) use client::{greeting, rows_at, sql_at};
pub use client::{parse_batch, Row, SQL_TIMEOUT};
use config::{my_cnf, NodeConfig, NodeLayout, MAX_SOCKET_PATH};
pub use replication::change_master_sql;

use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER, APP_DATABASE, APP_PASSWORD, APP_USER};
use crate::error::{Error, Result};
use crate::process::{find_program, Daemon};

/// How long a (re)started node may take to answer: normally well under a
/// second, more when crash recovery has work to do.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`MariaDb::stop`] waits after SIGTERM before SIGKILL. A clean
/// shutdown takes about a second.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// The MariaDB programs, found once per tier.
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    pub(crate) server: PathBuf,
    pub(crate) client: PathBuf,
    pub(crate) install_db: PathBuf,
}

impl Programs {
    pub(crate) fn find() -> Result<Self> {
        Ok(Programs {
            server: find_program("mariadbd", "mariadb-server")?,
            client: find_program("mariadb", "mariadb-client")?,
            install_db: find_program("mariadb-install-db", "mariadb-server")?,
        })
    }
}

/// One `mariadbd`. All nodes share one config shape (see
/// [`DataTier`](crate::DataTier)): each boots read-only, without replication,
/// and with crash recovery as a replica, so a restart never makes a second
/// writable master.
#[derive(Debug)]
pub struct MariaDb {
    /// The address it listens on (the tier's host).
    pub host: Ipv4Addr,
    /// TCP port on `host`.
    pub port: u16,
    /// `server-id`, unique in the tier (index + 1).
    pub server_id: u32,
    layout: NodeLayout,
    client: PathBuf,
    daemon: Daemon,
}

impl MariaDb {
    /// Lays out node `index` under `dir` from the template datadir, without
    /// starting it.
    pub(crate) fn create(
        index: usize,
        dir: &Path,
        (host, port): (Ipv4Addr, u16),
        template: &Path,
        programs: &Programs,
        as_root: bool,
        own_process_group: bool,
    ) -> Result<Self> {
        let name = format!("mariadb-{index}");
        let layout = NodeLayout::new(dir.join(&name));
        if layout.socket().as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::Invalid(format!(
                "{name}: socket path {} is longer than {MAX_SOCKET_PATH} bytes: choose a shorter --dir",
                layout.socket().display()
            )));
        }
        std::fs::create_dir_all(layout.tmpdir()).map_err(Error::io_at("create", &layout.tmpdir()))?;
        template::copy_datadir(template, &layout.datadir())?;
        let server_id = u32::try_from(index + 1).map_err(|_| Error::Invalid("too many MariaDB nodes".into()))?;
        let text = my_cnf(&NodeConfig { layout: &layout, host, port, server_id, as_root });
        std::fs::write(layout.my_cnf(), text).map_err(Error::io_at("write", &layout.my_cnf()))?;
        let args = vec![format!("--defaults-file={}", layout.my_cnf().display()).into()];
        let daemon = Daemon::new(
            name,
            programs.server.clone(),
            args,
            layout.output(),
            Some(layout.error_log()),
            own_process_group,
        );
        Ok(MariaDb { host, port, server_id, layout, client: programs.client.clone(), daemon })
    }

    /// `mariadb-<index>`.
    pub fn name(&self) -> &str {
        self.daemon.name()
    }

    /// `<host>:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.host, self.port))
    }

    /// The node's directory: my.cnf, data/, tmp/, error.log.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// The server's error log.
    pub fn error_log(&self) -> PathBuf {
        self.layout.error_log()
    }

    pub(crate) fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// `mysql://app:app@<host>:<port>/appdb?prefer_socket=false` (without
    /// `prefer_socket=false`, mysql_async reconnects over the unix socket).
    pub fn app_url(&self) -> String {
        mysql_url(APP_USER, APP_PASSWORD, self.addr())
    }

    /// The same URL with the admin user (for a promotion controller).
    pub fn admin_url(&self) -> String {
        mysql_url(ADMIN_USER, ADMIN_PASSWORD, self.addr())
    }

    /// PID while the process is ours and not reaped.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// True while `mariadbd` runs (paused counts as running).
    pub fn is_running(&mut self) -> bool {
        self.daemon.is_running()
    }

    /// Starts the node (again) with the same my.cnf and datadir and waits
    /// until it answers. It comes back read-only and not replicating; after
    /// a crash, recovery truncates transactions that were never acknowledged
    /// (`init-rpl-role=SLAVE`), so it can rejoin as a replica.
    pub fn start(&mut self) -> Result<()> {
        self.spawn()?;
        self.wait_ready(START_TIMEOUT)
    }

    pub(crate) fn spawn(&mut self) -> Result<()> {
        self.daemon.spawn(&[])
    }

    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let (client, addr, datadir) = (self.client.clone(), self.addr(), self.layout.datadir());
        self.daemon.wait_until("accepting connections", timeout, || {
            greeting(addr)?;
            // A port chosen free may have been taken by another server in
            // the meantime (ours then exits with "Address already in use"):
            // make sure the answer comes from our datadir.
            let theirs =
                sql_at(&client, addr, ADMIN_USER, ADMIN_PASSWORD, "SELECT @@datadir").map_err(|e| e.to_string())?;
            if Path::new(theirs.trim().trim_end_matches('/')) == datadir {
                Ok(())
            } else {
                Err(format!("{addr} is answered by another server (datadir {})", theirs.trim()))
            }
        })
    }

    /// SIGKILL and wait: a crash.
    pub fn kill(&mut self) {
        self.daemon.kill();
    }

    /// SIGTERM, wait up to [`STOP_GRACE`] for a clean shutdown, then SIGKILL
    /// (reported as an error).
    pub fn stop(&mut self) -> Result<()> {
        self.daemon.terminate(STOP_GRACE)
    }

    /// SIGSTOP: the node keeps its connections but answers nothing (a hang).
    pub fn pause(&self) {
        self.daemon.signal(Signal::SIGSTOP);
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.daemon.signal(Signal::SIGCONT);
    }

    /// Runs `sql` as the admin user over TCP (`--batch --skip-column-names`)
    /// and returns stdout. Bounded by [`SQL_TIMEOUT`].
    pub fn sql(&self, sql: &str) -> Result<String> {
        sql_at(&self.client, self.addr(), ADMIN_USER, ADMIN_PASSWORD, sql)
    }

    /// Runs `sql` as another user, e.g. the app user to check that a
    /// read-only replica refuses its writes.
    pub fn sql_as(&self, user: &str, password: &str, sql: &str) -> Result<String> {
        sql_at(&self.client, self.addr(), user, password, sql)
    }

    /// Runs `sql` as the admin user and returns rows keyed by column name.
    pub fn rows(&self, sql: &str) -> Result<Vec<Row>> {
        rows_at(&self.client, self.addr(), ADMIN_USER, ADMIN_PASSWORD, sql)
    }

    /// `SHOW SLAVE STATUS` as a row, `None` when the node has no master configured.
    pub fn slave_status(&self) -> Result<Option<Row>> {
        self.rows("SHOW SLAVE STATUS").map(|rows| rows.into_iter().next())
    }

    /// `CHANGE MASTER TO` `master` with GTIDs (slave_pos) and `START SLAVE`.
    /// For a fresh node; a crashed old master needs `RESET SLAVE ALL` and
    /// `gtid_slave_pos=@@gtid_binlog_pos` first (the controller's job).
    pub fn replicate_from(&self, master: SocketAddr) -> Result<()> {
        self.sql(&format!("{} START SLAVE;", change_master_sql(master))).map(|_| ())
    }

    /// Waits until both replication threads run; the error quotes
    /// `Last_IO_Error`/`Last_SQL_Error` and the node's log.
    pub fn wait_replicating(&mut self, timeout: Duration) -> Result<()> {
        let (client, addr) = (self.client.clone(), self.addr());
        self.daemon.wait_until("replicating (Slave_IO_Running and Slave_SQL_Running Yes)", timeout, || {
            replication::replicating(&client, addr)
        })
    }

    /// Waits until this master has `replicas` semi-sync replicas connected
    /// and `Rpl_semi_sync_master_status` is ON.
    pub fn wait_semi_sync_clients(&mut self, replicas: usize, timeout: Duration) -> Result<()> {
        let (client, addr) = (self.client.clone(), self.addr());
        self.daemon.wait_until(&format!("semi-sync master with {replicas} replica(s)"), timeout, || {
            replication::semi_sync_ready(&client, addr, replicas)
        })
    }

    /// Makes this node the writable master: `read_only=0`, and the master
    /// side of semi-sync when `semi_sync`.
    pub(crate) fn become_master(&self, semi_sync: bool) -> Result<()> {
        let mut sql = String::from("SET GLOBAL read_only=0;");
        if semi_sync {
            sql.push_str(" SET GLOBAL rpl_semi_sync_master_enabled=ON;");
        }
        self.sql(&sql).map(|_| ())
    }

    pub(crate) fn detach(&mut self) {
        self.daemon.detach();
    }
}

/// `mysql://user:password@host:port/appdb?prefer_socket=false`.
pub(crate) fn mysql_url(user: &str, password: &str, addr: SocketAddr) -> String {
    format!("mysql://{user}:{password}@{addr}/{APP_DATABASE}?prefer_socket=false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_use_tcp_to_the_tier_address_and_the_app_database() {
        let url = mysql_url("app", "app", "127.0.0.1:13306".parse().expect("addr"));
        assert_eq!(url, "mysql://app:app@127.0.0.1:13306/appdb?prefer_socket=false");
        let url = mysql_url("admin", "admin", "10.231.0.30:13306".parse().expect("addr"));
        assert_eq!(url, "mysql://admin:admin@10.231.0.30:13306/appdb?prefer_socket=false");
    }
}
