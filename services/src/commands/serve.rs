//! `tandem-services serve KIND`: one server of the tier in the foreground,
//! one per container (the Docker stack, `docker-compose.yml`). It writes the
//! same config the local tier uses ([`my_cnf`], [`redis_conf`],
//! [`sentinel_conf`]) for this host's address, then replaces itself with the
//! server (`exec`), so the server is the container's main process: `docker
//! stop` reaches it directly and its exit ends the container.
//!
//! What a (re)started server is:
//! - MariaDB: the datadir is made once (`mariadb-install-db`, the tier's
//!   users); every start is read-only and not replicating (`read-only=ON`,
//!   `skip-slave-start` in my.cnf). The promotion controller (`tandem-dbctl`)
//!   picks the master (the first node of its list when both are fresh) and
//!   points the other at it.
//! - Redis: a replica of the master the Sentinels name, when they name
//!   another server; their choice wins over `--replica-of`, the role at first
//!   start, so a returning old master never comes back as a second master.
//! - Sentinel: its own rewritten config when it has one (what it learnt),
//!   a fresh one watching `--master` otherwise. Peers find each other through
//!   the master (hello messages, ~2 s).

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::mariadb::config::{my_cnf, NodeConfig, NodeLayout};
use crate::mariadb::template::Template;
use crate::mariadb::Programs as MariaDbPrograms;
use crate::redis::{redis_conf, Programs as RedisPrograms};
use crate::sentinel::{master_addr_at, new_ids, sentinel_conf, SentinelConfig};
use crate::tier::running_as_root;

/// Which server, with what it needs to know about the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeKind {
    /// A MariaDB node; `server_id` must differ between nodes (1, 2, ...).
    MariaDb { server_id: u32 },
    /// A Redis server: `replica_of` is its master at first start (none: it
    /// starts as the master); `sentinels` are asked first on every start.
    Redis { replica_of: Option<SocketAddr>, sentinels: Vec<SocketAddr> },
    /// A Sentinel watching `master` (and knowing `replicas` from the start).
    Sentinel { master: SocketAddr, replicas: Vec<SocketAddr> },
}

/// `tandem-services serve`: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Config, data and logs; kept across restarts of the container.
    pub dir: PathBuf,
    /// This host's address: listened on, announced to the others.
    pub host: Ipv4Addr,
    pub port: u16,
    pub kind: ServeKind,
}

/// Prepares the server's files and execs it; returns only on failure.
pub fn serve(opts: &ServeOptions) -> Error {
    match prepare(opts) {
        Ok(mut command) => {
            let program = command.get_program().to_owned();
            Error::io(format!("exec {}", Path::new(&program).display()), command.exec())
        }
        Err(e) => e,
    }
}

/// Writes the config (and the datadir, once) and returns the server's command.
pub fn prepare(opts: &ServeOptions) -> Result<Command> {
    std::fs::create_dir_all(&opts.dir).map_err(Error::io_at("create", &opts.dir))?;
    match &opts.kind {
        ServeKind::MariaDb { server_id } => prepare_mariadb(opts, *server_id),
        ServeKind::Redis { replica_of, sentinels } => {
            let programs = RedisPrograms::find()?;
            let me = SocketAddr::from((opts.host, opts.port));
            let named = sentinels.iter().find_map(|s| master_addr_at(&programs.cli, *s).ok().flatten());
            let master = master_at_start(me, *replica_of, named);
            let conf = opts.dir.join("redis.conf");
            write(&conf, &redis_conf(opts.host, opts.port, &opts.dir, master))?;
            Ok(foreground(&programs.server, [conf.into_os_string()]))
        }
        ServeKind::Sentinel { master, replicas } => {
            let programs = RedisPrograms::find()?;
            let conf = opts.dir.join("sentinel.conf");
            if !conf.exists() {
                let ids = new_ids(1)?;
                let text = sentinel_conf(&SentinelConfig {
                    host: opts.host,
                    port: opts.port,
                    dir: &opts.dir,
                    myid: &ids[0],
                    master: *master,
                    replicas,
                    peers: &[],
                });
                write(&conf, &text)?;
            }
            Ok(foreground(&programs.server, [conf.into_os_string(), "--sentinel".into()]))
        }
    }
}

fn prepare_mariadb(opts: &ServeOptions, server_id: u32) -> Result<Command> {
    let programs = MariaDbPrograms::find()?;
    let as_root = running_as_root();
    let layout = NodeLayout::new(&opts.dir);
    if !layout.datadir().exists() {
        // Made beside the datadir and moved in whole: a container stopped
        // half-way leaves no datadir that looks made.
        let scratch = opts.dir.join("install");
        let _ = std::fs::remove_dir_all(&scratch);
        let made = Template::begin(&scratch, &programs.install_db, as_root)?.finish()?;
        std::fs::rename(&made, layout.datadir()).map_err(Error::io_at("move into place", &made))?;
        std::fs::remove_dir_all(&scratch).map_err(Error::io_at("remove", &scratch))?;
    }
    std::fs::create_dir_all(layout.tmpdir()).map_err(Error::io_at("create", &layout.tmpdir()))?;
    let node = NodeConfig { layout: &layout, host: opts.host, port: opts.port, server_id, as_root };
    write(&layout.my_cnf(), &my_cnf(&node))?;
    let mut command = Command::new(&programs.server);
    command.arg(format!("--defaults-file={}", layout.my_cnf().display()));
    Ok(command)
}

/// The master a Redis server follows when it starts: the Sentinels' choice
/// when they name one (none when they name this server), the first-start
/// role when none answers.
pub fn master_at_start(
    me: SocketAddr,
    first_start: Option<SocketAddr>,
    sentinels_name: Option<SocketAddr>,
) -> Option<SocketAddr> {
    match sentinels_name {
        Some(master) if master == me => None,
        Some(master) => Some(master),
        None => first_start,
    }
}

/// The server with its log on standard output (`docker logs`) instead of
/// the file its config names.
fn foreground<const N: usize>(program: &Path, args: [OsString; N]) -> Command {
    let mut command = Command::new(program);
    command.args(args).args(["--logfile", ""]);
    command
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(Error::io_at("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("addr")
    }

    #[test]
    fn a_redis_server_follows_the_sentinels_then_its_first_start_role() {
        let me = addr("10.230.0.33:6379");
        let other = addr("10.230.0.34:6379");
        assert_eq!(master_at_start(me, None, Some(other)), Some(other), "old master comes back as a replica");
        assert_eq!(master_at_start(me, Some(other), Some(me)), None, "a promoted replica stays master");
        assert_eq!(master_at_start(me, Some(other), None), Some(other), "first start: its configured role");
        assert_eq!(master_at_start(me, None, None), None);
    }
}
