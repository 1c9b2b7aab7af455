//! `tandem-services`: a development data tier that outlives the command.
//!
//! ```text
//! tandem-services up     [--dir DIR] [--host ADDR] [--replicas N] [--mariadb-port P] [--redis-port P]
//!                        [--sentinel-port P] [--free-ports] [--no-semi-sync]
//! tandem-services status [--dir DIR] [--porcelain]
//! tandem-services start  [--dir DIR] NAME
//! tandem-services down   [--dir DIR]
//! tandem-services serve  mariadb  --dir DIR --host ADDR --port P --server-id N
//! tandem-services serve  redis    --dir DIR --host ADDR --port P [--replica-of ADDR:P] [--sentinels ADDR:P,...]
//! tandem-services serve  sentinel --dir DIR --host ADDR --port P --master ADDR:P [--replicas ADDR:P,...]
//! ```
//! `make services` runs `up`, `make services-down` runs `down`. `status`,
//! `start` and `down` take the address and everything else from DIR's state file.
//! `serve` runs one server in the foreground, one per container (`docker-compose.yml`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tandem_services::commands::{self, ServeKind, ServeOptions, UpOptions, DEFAULT_DIR};
use tandem_services::{FixedPorts, Ports, LOOPBACK};

#[derive(Parser)]
#[command(
    name = "tandem-services",
    version,
    about = "Start, inspect and stop tandem's local data tier \
    (MariaDB master/replica, Redis + 3 Sentinels) on one address (default 127.0.0.1), with local-demo credentials"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the tier and leave it running; writes DIR/env for `set -a; . DIR/env`.
    Up(Up),
    /// Show each server: up or down, role, replication.
    Status(Status),
    /// Start one recorded server that is not running (e.g. after a kill), as `up` started it.
    Start(Start),
    /// Stop the servers `up` started (by recorded PID) and remove DIR.
    Down(Dir),
    /// Run one server in the foreground with the tier's config, one per
    /// container: writes its config (and datadir, once) under DIR, then
    /// becomes the server.
    Serve(Serve),
}

#[derive(Args)]
struct Serve {
    #[command(subcommand)]
    kind: ServeCommand,
}

#[derive(Args)]
struct Node {
    /// Config, data and logs, kept across restarts.
    #[arg(long)]
    dir: PathBuf,
    /// This host's address: listened on and announced to the others.
    #[arg(long, value_name = "ADDR")]
    host: Ipv4Addr,
    #[arg(long)]
    port: u16,
}

#[derive(Subcommand)]
enum ServeCommand {
    /// A MariaDB node, read-only until the promotion controller (tandem-dbctl) picks it.
    Mariadb {
        #[command(flatten)]
        node: Node,
        /// Unique per node: 1, 2, ...
        #[arg(long)]
        server_id: u32,
    },
    /// A Redis server: the replica of the master the Sentinels name, else of --replica-of, else a master.
    Redis {
        #[command(flatten)]
        node: Node,
        /// Its master at first start (none: it starts as the master).
        #[arg(long, value_name = "ADDR:PORT")]
        replica_of: Option<SocketAddr>,
        /// Sentinels asked for the current master before every start.
        #[arg(long, value_name = "ADDR:PORT,...", value_delimiter = ',')]
        sentinels: Vec<SocketAddr>,
    },
    /// A Sentinel (quorum 2 of 3) watching the Redis master.
    Sentinel {
        #[command(flatten)]
        node: Node,
        /// The Redis master at first start.
        #[arg(long, value_name = "ADDR:PORT")]
        master: SocketAddr,
        /// Its replicas at first start.
        #[arg(long, value_name = "ADDR:PORT,...", value_delimiter = ',')]
        replicas: Vec<SocketAddr>,
    },
}

impl ServeCommand {
    fn into_options(self) -> ServeOptions {
        let (Node { dir, host, port }, kind) = match self {
            ServeCommand::Mariadb { node, server_id } => (node, ServeKind::MariaDb { server_id }),
            ServeCommand::Redis { node, replica_of, sentinels } => (node, ServeKind::Redis { replica_of, sentinels }),
            ServeCommand::Sentinel { node, master, replicas } => (node, ServeKind::Sentinel { master, replicas }),
        };
        ServeOptions { dir, host, port, kind }
    }
}

#[derive(Args)]
struct Dir {
    /// Directory holding the tier's files, env and state.
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
}

#[derive(Args)]
struct Status {
    #[command(flatten)]
    dir: Dir,
    /// For scripts: one line per server, `name<TAB>kind<TAB>host:port<TAB>pid<TAB>up|down<TAB>role`,
    /// role `master`, `replica`, `sentinel` or `-`; nothing else.
    #[arg(long)]
    porcelain: bool,
}

#[derive(Args)]
struct Start {
    #[command(flatten)]
    dir: Dir,
    /// The server's name as `status` shows it: mariadb-0, redis-1, sentinel-2, ...
    name: String,
}

#[derive(Args)]
struct Up {
    #[command(flatten)]
    dir: Dir,
    /// The IPv4 address every server listens on (only there) and the printed URLs name;
    /// one of this host's, e.g. a network namespace's.
    #[arg(long, value_name = "ADDR", default_value_t = LOOPBACK)]
    host: Ipv4Addr,
    /// MariaDB replicas besides the master.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// First MariaDB port; node i listens on PORT+i.
    #[arg(long, default_value_t = FixedPorts::DEFAULT.mariadb)]
    mariadb_port: u16,
    /// Redis master port; its replica listens on PORT+1.
    #[arg(long, default_value_t = FixedPorts::DEFAULT.redis)]
    redis_port: u16,
    /// First Sentinel port; Sentinels listen on PORT, PORT+1, PORT+2.
    #[arg(long, default_value_t = FixedPorts::DEFAULT.sentinel)]
    sentinel_port: u16,
    /// Use free ephemeral ports instead of the fixed ones (see DIR/env for them).
    #[arg(long, conflicts_with_all = ["mariadb_port", "redis_port", "sentinel_port"])]
    free_ports: bool,
    /// Plain asynchronous MariaDB replication instead of semi-sync.
    #[arg(long)]
    no_semi_sync: bool,
}

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let result = match command {
        Command::Up(Up {
            dir: Dir { dir },
            host,
            replicas,
            mariadb_port,
            redis_port,
            sentinel_port,
            free_ports,
            no_semi_sync,
        }) => {
            let ports = if free_ports {
                Ports::Free
            } else {
                Ports::Fixed(FixedPorts { mariadb: mariadb_port, redis: redis_port, sentinel: sentinel_port })
            };
            commands::up(&UpOptions { dir, replicas, ports, host, semi_sync: !no_semi_sync }).map(|()| true)
        }
        Command::Status(Status { dir: Dir { dir }, porcelain: false }) => commands::status(&dir),
        Command::Status(Status { dir: Dir { dir }, porcelain: true }) => commands::status_porcelain(&dir),
        Command::Start(Start { dir: Dir { dir }, name }) => commands::start(&dir, &name).map(|()| true),
        Command::Down(Dir { dir }) => commands::down(&dir).map(|()| true),
        Command::Serve(Serve { kind }) => Err(commands::serve(&kind.into_options())),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("tandem-services: {e}");
            ExitCode::FAILURE
        }
    }
}
