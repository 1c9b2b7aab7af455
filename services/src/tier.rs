//! The whole data tier: MariaDB master + replicas with GTID semi-sync
//! replication, Redis master + replica, three Sentinels.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER, APP_PASSWORD, APP_USER, REPL_PASSWORD, REPL_USER};
use crate::error::{Error, Result};
use crate::mariadb::template::Template;
use crate::mariadb::{self, mysql_url, MariaDb};
use crate::ports::{PortPlan, Ports, LOOPBACK};
use crate::redis::{self, Redis};
use crate::sentinel::{self, new_ids, sentinel_conf, Sentinel, SentinelConfig};

/// Environment variables [`DataTier::env`] sets, for the app and the
/// promotion controller.
pub mod env_vars {
    /// Comma-separated app-user URLs of every MariaDB node, master first at start.
    pub const APP_DB_NODES: &str = "TANDEM_APP_DB_NODES";
    /// Comma-separated `host:port` of the Sentinels.
    pub const APP_SENTINELS: &str = "TANDEM_APP_SENTINELS";
    /// The name the Sentinels know the Redis master by (`mymaster`).
    pub const APP_REDIS_MASTER: &str = "TANDEM_APP_REDIS_MASTER";
    /// Comma-separated admin-user URLs of every MariaDB node (promotion controller).
    pub const DBCTL_NODES: &str = "TANDEM_DBCTL_NODES";
    /// Replication user for `CHANGE MASTER TO` after a promotion.
    pub const DBCTL_REPL_USER: &str = "TANDEM_DBCTL_REPL_USER";
    /// Its password (local demo).
    pub const DBCTL_REPL_PASSWORD: &str = "TANDEM_DBCTL_REPL_PASSWORD";
}

/// Bound on replication coming up (both threads, semi-sync clients, Redis
/// link, Sentinel group) once the servers answer; normally well under 1 s.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Start attempts when a chosen free port gets taken before the server binds it.
const PORT_ATTEMPTS: usize = 3;

/// How to start a [`DataTier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTierOptions {
    /// Where every file goes. Default `None`: a fresh directory under
    /// `std::env::temp_dir()`, removed on drop. A given directory must be
    /// empty or absent and is kept on drop.
    pub dir: Option<PathBuf>,
    /// MariaDB replicas besides the master. Default 1.
    pub replicas: usize,
    /// Default [`Ports::Free`] (tests); `tandem-services up` uses fixed ports.
    pub ports: Ports,
    /// The one address every server listens on, replicates to and is
    /// announced at, and that the URLs of [`DataTier::env`] name. Default
    /// [`LOOPBACK`] (127.0.0.1). Any other address must be one of this
    /// host's (e.g. the address of the network namespace the tier runs in);
    /// the tier then also accepts clients from other hosts (see
    /// [`credentials`](crate::credentials): local-demo passwords).
    pub host: Ipv4Addr,
    /// Semi-synchronous replication (AFTER_SYNC, 1 s timeout). Default true:
    /// a failover then loses no acknowledged write.
    pub semi_sync: bool,
    /// Run the servers in their own process group, so a terminal's Ctrl-C
    /// does not reach them. Default false: a test's servers stay in its
    /// group and go down with it. `tandem-services up` sets it.
    pub own_process_group: bool,
}

impl Default for DataTierOptions {
    fn default() -> Self {
        DataTierOptions {
            dir: None,
            replicas: 1,
            ports: Ports::Free,
            host: LOOPBACK,
            semi_sync: true,
            own_process_group: false,
        }
    }
}

/// A running data tier. Dropping it SIGKILLs every server it started and
/// removes its directory (unless the directory was given or [`keep_dir`](Self::keep_dir)
/// was called); [`detach`](Self::detach) leaves everything running instead.
///
/// The handles are public for failure drills: `tier.mariadb[0].kill()`,
/// `tier.redis[0].pause()`, ...
#[derive(Debug)]
pub struct DataTier {
    /// MariaDB nodes; `[0]` is the initial (writable) master, the rest replicate from it.
    pub mariadb: Vec<MariaDb>,
    /// `[0]` the initial Redis master, `[1]` its replica.
    pub redis: Vec<Redis>,
    /// Three Sentinels, quorum 2.
    pub sentinels: Vec<Sentinel>,
    host: Ipv4Addr,
    dir: PathBuf,
    remove_dir: bool,
    semi_sync: bool,
    started_in: Duration,
}

impl DataTier {
    /// The name the Sentinels know the Redis master by.
    pub const REDIS_MASTER_NAME: &'static str = sentinel::REDIS_MASTER_NAME;

    /// Starts everything and returns once MariaDB replicates (semi-sync
    /// active when asked), the Redis replica is linked, and every Sentinel
    /// watches the master with both peers connected. Each wait is bounded;
    /// an error names the process and quotes its log.
    pub fn start(opts: DataTierOptions) -> Result<Self> {
        let began = Instant::now();
        let mariadb_programs = mariadb::Programs::find()?;
        let redis_programs = redis::Programs::find()?;
        let (dir, created) = prepare_dir(opts.dir.as_deref())?;
        let result = (|| {
            let mut template = Template::begin(&dir.join("template"), &mariadb_programs.install_db, running_as_root())?;
            let mut attempt = 1;
            loop {
                let plan = opts.ports.plan(opts.host, 1 + opts.replicas)?;
                let progs = (&mariadb_programs, &redis_programs);
                match start_once(&opts, &dir, &plan, &mut template, progs) {
                    Err(e) if e.is_port_in_use() && opts.ports.retryable() && attempt < PORT_ATTEMPTS => {
                        attempt += 1;
                        clear_nodes(&dir)?;
                    }
                    other => return other,
                }
            }
        })();
        match result {
            Ok(mut tier) => {
                let _ = std::fs::remove_dir_all(dir.join("template"));
                tier.remove_dir = created;
                tier.started_in = began.elapsed();
                Ok(tier)
            }
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                Err(e)
            }
        }
    }

    /// The address every server listens on.
    pub fn host(&self) -> Ipv4Addr {
        self.host
    }

    /// The tier's directory (one subdirectory per server).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long [`start`](Self::start) took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Whether semi-sync replication was set up.
    pub fn semi_sync(&self) -> bool {
        self.semi_sync
    }

    /// App-user URLs of every MariaDB node, comma-separated, initial master
    /// first: `mysql://app:app@HOST:P1/appdb?prefer_socket=false,...`.
    pub fn app_db_urls(&self) -> String {
        app_db_urls(self.host, &self.mariadb_ports())
    }

    /// The same with the admin user, for a promotion controller.
    pub fn admin_db_urls(&self) -> String {
        admin_db_urls(self.host, &self.mariadb_ports())
    }

    /// `HOST:S1,HOST:S2,HOST:S3`.
    pub fn sentinel_addrs(&self) -> String {
        sentinel_addrs(self.host, &self.sentinels.iter().map(|s| s.port).collect::<Vec<_>>())
    }

    /// The environment for the app and the promotion controller (names in
    /// [`env_vars`]).
    pub fn env(&self) -> Vec<(String, String)> {
        tier_env(self.host, &self.mariadb_ports(), &self.sentinels.iter().map(|s| s.port).collect::<Vec<_>>())
    }

    fn mariadb_ports(&self) -> Vec<u16> {
        self.mariadb.iter().map(|m| m.port).collect()
    }

    /// The Redis master as the first answering Sentinel names it
    /// (`SENTINEL get-master-addr-by-name`); `None` if none answers.
    pub fn redis_master_addr(&self) -> Option<SocketAddr> {
        self.sentinels.iter().find_map(|s| s.master_addr().ok().flatten())
    }

    /// Keeps the directory (logs, datadirs) when the tier is dropped.
    pub fn keep_dir(&mut self) {
        self.remove_dir = false;
    }

    /// Leaves every server running and the directory in place, and returns
    /// the directory (`tandem-services up`).
    pub fn detach(mut self) -> PathBuf {
        self.remove_dir = false;
        self.mariadb.iter_mut().for_each(MariaDb::detach);
        self.redis.iter_mut().for_each(Redis::detach);
        self.sentinels.iter_mut().for_each(Sentinel::detach);
        self.dir.clone()
    }
}

impl Drop for DataTier {
    fn drop(&mut self) {
        // Sentinels first, so none starts a failover while the rest goes.
        self.sentinels.iter_mut().for_each(Sentinel::kill);
        self.redis.iter_mut().for_each(Redis::kill);
        self.mariadb.iter_mut().for_each(MariaDb::kill);
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// App-user URLs for MariaDB nodes on `host`:`ports`, comma-separated.
pub fn app_db_urls(host: Ipv4Addr, ports: &[u16]) -> String {
    ports.iter().map(|p| mysql_url(APP_USER, APP_PASSWORD, SocketAddr::from((host, *p)))).collect::<Vec<_>>().join(",")
}

/// Admin-user URLs for MariaDB nodes on `host`:`ports`, comma-separated.
pub fn admin_db_urls(host: Ipv4Addr, ports: &[u16]) -> String {
    let url = |p: &u16| mysql_url(ADMIN_USER, ADMIN_PASSWORD, SocketAddr::from((host, *p)));
    ports.iter().map(url).collect::<Vec<_>>().join(",")
}

/// `host:port` list, comma-separated.
pub fn sentinel_addrs(host: Ipv4Addr, ports: &[u16]) -> String {
    ports.iter().map(|p| SocketAddr::from((host, *p)).to_string()).collect::<Vec<_>>().join(",")
}

/// The tier's environment for MariaDB nodes and Sentinels on `host` and
/// these ports (what [`DataTier::env`] returns; `tandem-services` rebuilds it
/// from its state file).
pub fn tier_env(host: Ipv4Addr, mariadb_ports: &[u16], sentinel_ports: &[u16]) -> Vec<(String, String)> {
    use env_vars::*;
    [
        (APP_DB_NODES, app_db_urls(host, mariadb_ports)),
        (APP_SENTINELS, sentinel_addrs(host, sentinel_ports)),
        (APP_REDIS_MASTER, sentinel::REDIS_MASTER_NAME.to_string()),
        (DBCTL_NODES, admin_db_urls(host, mariadb_ports)),
        (DBCTL_REPL_USER, REPL_USER.to_string()),
        (DBCTL_REPL_PASSWORD, REPL_PASSWORD.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// One start with fixed ports. Spawns everything first (Redis while the
/// template datadir is still being made), then waits, so the tier starts
/// in about the time of its slowest part.
fn start_once(
    opts: &DataTierOptions,
    dir: &Path,
    plan: &PortPlan,
    template: &mut Template,
    (mariadb_programs, redis_programs): (&mariadb::Programs, &redis::Programs),
) -> Result<DataTier> {
    let (group, host) = (opts.own_process_group, opts.host);
    // Dropped on any error below, killing what was started; the directory
    // stays for a retry (the caller removes it).
    let mut tier = DataTier {
        mariadb: Vec::new(),
        redis: Vec::new(),
        sentinels: Vec::new(),
        host,
        dir: dir.to_path_buf(),
        remove_dir: false,
        semi_sync: opts.semi_sync,
        started_in: Duration::ZERO,
    };

    let [redis_master, redis_replica] = plan.redis;
    tier.redis.push(Redis::create(0, dir, (host, redis_master), None, redis_programs, group)?);
    tier.redis.push(Redis::create(1, dir, (host, redis_replica), Some(redis_master), redis_programs, group)?);
    for r in &mut tier.redis {
        r.spawn()?;
    }
    let ids = new_ids(plan.sentinels.len())?;
    for (i, (&port, id)) in plan.sentinels.iter().zip(&ids).enumerate() {
        let peers: Vec<(SocketAddr, String)> = plan
            .sentinels
            .iter()
            .zip(&ids)
            .filter(|(p, _)| **p != port)
            .map(|(p, id)| (SocketAddr::from((host, *p)), id.clone()))
            .collect();
        let conf = |dir: &Path| {
            sentinel_conf(&SentinelConfig {
                host,
                port,
                dir,
                myid: id,
                master: SocketAddr::from((host, redis_master)),
                replicas: &[SocketAddr::from((host, redis_replica))],
                peers: &peers,
            })
        };
        let mut s = Sentinel::create(i, dir, conf, (host, port), id.clone(), redis_programs, group)?;
        s.spawn()?;
        tier.sentinels.push(s);
    }

    let datadir = template.finish()?;
    let as_root = running_as_root();
    for (i, &port) in plan.mariadb.iter().enumerate() {
        let mut node = MariaDb::create(i, dir, (host, port), &datadir, mariadb_programs, as_root, group)?;
        node.spawn()?;
        tier.mariadb.push(node);
    }

    for node in &mut tier.mariadb {
        node.wait_ready(mariadb::START_TIMEOUT)?;
    }
    let (master, replicas) = tier.mariadb.split_first_mut().ok_or_else(|| Error::Invalid("no MariaDB node".into()))?;
    master.become_master(opts.semi_sync).map_err(|e| master_failure(master, e))?;
    for replica in replicas.iter() {
        replica.replicate_from(master.addr())?;
    }
    for replica in replicas.iter_mut() {
        replica.wait_replicating(SETTLE_TIMEOUT)?;
    }
    if opts.semi_sync && !replicas.is_empty() {
        master.wait_semi_sync_clients(replicas.len(), SETTLE_TIMEOUT)?;
    }

    for r in &mut tier.redis {
        r.wait_ready(redis::START_TIMEOUT)?;
    }
    tier.redis[1].wait_link_up(SETTLE_TIMEOUT)?;
    let peers = tier.sentinels.len() - 1;
    for s in &mut tier.sentinels {
        s.wait_ready(peers, SETTLE_TIMEOUT)?;
    }
    Ok(tier)
}

fn master_failure(master: &MariaDb, e: Error) -> Error {
    Error::Process {
        name: master.name().into(),
        problem: format!("could not become master: {e}"),
        log_tail: String::new(),
    }
}

/// Creates the tier directory: the given one (must be empty or absent) or a
/// fresh one under the temp dir. Returns it absolute, and whether it is ours
/// to remove.
fn prepare_dir(given: Option<&Path>) -> Result<(PathBuf, bool)> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let (dir, created) = match given {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(Error::io_at("create", dir))?;
            let mut entries = std::fs::read_dir(dir).map_err(Error::io_at("read", dir))?;
            if entries.next().is_some() {
                return Err(Error::Invalid(format!(
                    "{} is not empty: give an empty or new directory for the data tier",
                    dir.display()
                )));
            }
            (dir.to_path_buf(), false)
        }
        None => loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("tandem-services-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break (dir, true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(format!("create {}", dir.display()), e)),
            }
        },
    };
    let dir = std::fs::canonicalize(&dir).map_err(Error::io_at("canonicalize", &dir))?;
    Ok((dir, created))
}

/// Removes every server's directory, keeping the template, for a retry.
fn clear_nodes(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(Error::io_at("read", dir))? {
        let path = entry.map_err(Error::io_at("read", dir))?.path();
        if path.file_name().is_some_and(|n| n != "template") {
            std::fs::remove_dir_all(&path).map_err(Error::io_at("remove", &path))?;
        }
    }
    Ok(())
}

/// mariadbd must be told `user=root` when run as root, and refuses it otherwise.
pub(crate) fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lists_every_node_master_first_and_the_sentinels() {
        let env = tier_env(LOOPBACK, &[13306, 13307], &[26479, 26480, 26481]);
        let get = |k: &str| env.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str()).expect(k);
        assert_eq!(
            get("TANDEM_APP_DB_NODES"),
            "mysql://app:app@127.0.0.1:13306/appdb?prefer_socket=false,\
             mysql://app:app@127.0.0.1:13307/appdb?prefer_socket=false"
        );
        assert_eq!(
            get("TANDEM_DBCTL_NODES"),
            "mysql://admin:admin@127.0.0.1:13306/appdb?prefer_socket=false,\
             mysql://admin:admin@127.0.0.1:13307/appdb?prefer_socket=false"
        );
        assert_eq!(get("TANDEM_APP_SENTINELS"), "127.0.0.1:26479,127.0.0.1:26480,127.0.0.1:26481");
        assert_eq!(get("TANDEM_APP_REDIS_MASTER"), "mymaster");
        assert_eq!(get("TANDEM_DBCTL_REPL_USER"), "repl");
        assert_eq!(get("TANDEM_DBCTL_REPL_PASSWORD"), "repl");
        assert_eq!(env.len(), 6);
    }

    #[test]
    fn env_names_the_tier_address() {
        let env = tier_env(Ipv4Addr::new(10, 231, 0, 30), &[13306], &[26479, 26480]);
        let get = |k: &str| env.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str()).expect(k);
        assert_eq!(get("TANDEM_APP_DB_NODES"), "mysql://app:app@10.231.0.30:13306/appdb?prefer_socket=false");
        assert_eq!(get("TANDEM_DBCTL_NODES"), "mysql://admin:admin@10.231.0.30:13306/appdb?prefer_socket=false");
        assert_eq!(get("TANDEM_APP_SENTINELS"), "10.231.0.30:26479,10.231.0.30:26480");
    }

    #[test]
    fn options_default_to_loopback() {
        assert_eq!(DataTierOptions::default().host, Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn a_given_directory_must_be_empty() {
        let dir = std::env::temp_dir().join(format!("tandem-services-prep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("x"), "").expect("write");
        let err = prepare_dir(Some(&dir)).expect_err("not empty");
        assert!(err.to_string().contains("is not empty"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn default_directories_are_fresh_and_ours_to_remove() {
        let (a, created_a) = prepare_dir(None).expect("a");
        let (b, created_b) = prepare_dir(None).expect("b");
        assert!(created_a && created_b && a != b);
        std::fs::remove_dir(&a).expect("cleanup a");
        std::fs::remove_dir(&b).expect("cleanup b");
    }
}
