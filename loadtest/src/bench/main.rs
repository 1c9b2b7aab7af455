//! `bench`: tandem against nginx and HAProxy on the same machine, in the
//! same run (`make bench`; method and results in `loadtest/README.md`).
//!
//! ```text
//! bench [--rounds 10] [--duration 2s] [--workers 1,2] [--workloads tiny,4k,64k,post-1k,close,tls-close,h2]
//!       [--proxies nginx,haproxy,tandem-bare,tandem-unchecked,tandem-full] [--idle-connections 10000]
//!       [--wrk-threads 2] [--wrk-connections 64] [--tandem target/release/tandem]
//!       [--out target/bench] [--smoke] [--keep]
//! ```
//! Starts two nginx backends and every proxy at every worker count on
//! loopback, runs wrk in rotated rounds, then holds idle connections to read
//! memory; writes `bench.json`, `bench.md` and `bench.svg` to `--out` and
//! prints the tables. Exit status: 0 when every number was produced for
//! every proxy, 1 when one is missing (the report says which), 2 when the
//! bench could not run.

#[allow(dead_code)]
#[path = "../clock.rs"]
mod clock;
#[allow(dead_code)]
#[path = "../duration.rs"]
mod duration;

mod contenders;
mod h2load;
mod http;
mod idle;
mod plan;
mod procs;
mod report;
mod summary;
mod wrk;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use contenders::{Backends, Contender, Programs, TlsFiles};
use plan::{Plan, Proxy, Slot, Workload};
use report::{Machine, MemoryRow, Report};
use summary::Run;

#[derive(Parser)]
#[command(name = "bench", version, about = "tandem against nginx and HAProxy: throughput, latency, CPU and memory")]
struct Args {
    /// Rounds; each runs every workload against every proxy once.
    #[arg(long)]
    rounds: Option<u32>,
    /// One wrk run (whole seconds: wrk's unit).
    #[arg(long, value_parser = duration::parse_duration)]
    duration: Option<Duration>,
    /// Worker counts, comma-separated (nginx worker_processes, HAProxy nbthread, tandem threads).
    #[arg(long, value_delimiter = ',')]
    workers: Option<Vec<u32>>,
    /// Workloads, comma-separated: tiny, 4k, 64k, post-1k, close, tls-close, h2.
    #[arg(long, value_delimiter = ',', value_parser = Workload::parse)]
    workloads: Option<Vec<Workload>>,
    /// Proxies, comma-separated: nginx, haproxy, tandem-bare, tandem-unchecked, tandem-full.
    #[arg(long, value_delimiter = ',', value_parser = Proxy::parse)]
    proxies: Option<Vec<Proxy>>,
    /// Idle keep-alive connections held for the memory measurement (0: skip it).
    #[arg(long)]
    idle_connections: Option<u32>,
    #[arg(long, default_value_t = 2)]
    wrk_threads: u32,
    #[arg(long, default_value_t = 64)]
    wrk_connections: u32,
    /// The tandem binary under test.
    #[arg(long, default_value = "target/release/tandem")]
    tandem: PathBuf,
    /// Where bench.json, bench.md and bench.svg go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// The short run `make test` makes: 1 round of 1 s, 1 worker, 1,000 idle
    /// connections (flags given as well still apply).
    #[arg(long)]
    smoke: bool,
    /// Keep the run's directory (configs, logs) instead of removing it.
    #[arg(long)]
    keep: bool,
}

impl Args {
    fn plan(&self) -> Plan {
        let smoke = self.smoke;
        Plan {
            proxies: self.proxies.clone().unwrap_or_else(|| Proxy::ALL.to_vec()),
            workloads: self.workloads.clone().unwrap_or_else(|| Workload::ALL.to_vec()),
            workers: self.workers.clone().unwrap_or_else(|| if smoke { vec![1] } else { vec![1, 2] }),
            rounds: self.rounds.unwrap_or(if smoke { 1 } else { 10 }).max(1),
            duration: self
                .duration
                .unwrap_or(Duration::from_secs(if smoke { 1 } else { 2 }))
                .max(Duration::from_secs(1)),
            wrk_threads: self.wrk_threads,
            wrk_connections: self.wrk_connections,
            idle_connections: self.idle_connections.unwrap_or(if smoke { 1000 } else { 10_000 }),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = args.plan();
    match run(&args, plan) {
        Ok(report) => {
            let problems = report::problems(&report);
            if problems.is_empty() {
                eprintln!("bench: every number produced for every proxy; report in {}", args.out.display());
                ExitCode::SUCCESS
            } else {
                eprintln!("bench: the report is incomplete:");
                for p in problems {
                    eprintln!("  - {p}");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args, plan: Plan) -> Result<Report, String> {
    let open_files = raise_open_files_limit();
    if u64::from(plan.idle_connections) + 1000 > open_files {
        return Err(format!(
            "{} idle connections need more than the {open_files} open files allowed here (ulimit -n); use --idle-connections",
            plan.idle_connections
        ));
    }
    let programs = Programs {
        nginx: find_program("nginx")?,
        haproxy: find_program("haproxy")?,
        tandem: fs::canonicalize(&args.tandem).map_err(|e| format!("tandem binary {}: {e}", args.tandem.display()))?,
        open_files,
    };
    let wrk_bin = find_program("wrk")?;
    let h2load_bin = if plan.workloads.contains(&Workload::H2) { Some(find_program("h2load")?) } else { None };
    let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/wrk/bench.lua"));
    fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let work = WorkDir::create(args.keep)?;
    let started_at = clock::iso(clock::now_unix());
    let machine = machine(&programs, &wrk_bin);

    eprintln!("bench: backends and {} proxies in {}", plan.proxies.len() * plan.workers.len(), work.path.display());
    let backends = Backends::start(&work.path, &programs.nginx)?;
    let tls = TlsFiles::make(&work.path)?;
    let mut contenders = Vec::new();
    for &workers in &plan.workers {
        for &proxy in &plan.proxies {
            contenders.push(Contender::start(proxy, workers, &work.path, &programs, &backends, &tls)?);
        }
    }
    let load = wrk::Load { threads: plan.wrk_threads, connections: plan.wrk_connections, duration: plan.duration };
    // Warm every proxy (pools, caches, page faults) before anything counts;
    // the smoke run asserts no timing and skips it.
    for c in contenders.iter().filter(|_| !args.smoke) {
        wrk::run(&wrk_bin, &script, c.addr, Workload::Tiny, wrk::Load { duration: Duration::from_secs(1), ..load })?;
    }
    // After the idle connections are made and after they close, before RSS
    // is read: time for the proxy to accept, answer, free.
    let settle = if args.smoke { Duration::from_millis(500) } else { Duration::from_secs(2) };
    let schedule = plan.schedule();
    let mut runs = Vec::with_capacity(schedule.len());
    for (i, slot) in schedule.iter().enumerate() {
        let c = contenders
            .iter_mut()
            .find(|c| c.proxy == slot.proxy && c.workers == slot.workers)
            .ok_or("no contender for a slot")?;
        let tools = Tools { wrk: &wrk_bin, script: &script, h2load: h2load_bin.as_deref(), scratch: &work.path };
        let run = measure(slot, c, &backends, &tools, load)?;
        eprintln!(
            "[{:>3}/{}] round {} {:<7} w{} {:<11} {:>8.0} req/s  p99 {:>6.2} ms  {:>6.1} µs/req{}",
            i + 1,
            schedule.len(),
            slot.round + 1,
            slot.workload.name(),
            slot.workers,
            slot.proxy.name(),
            run.wrk.rps,
            run.wrk.p99_ms,
            run.cpu_us_per_request,
            if run.wrk.non_2xx + run.wrk.socket_errors > 0 {
                format!("  {} non-2xx, {} socket errors", run.wrk.non_2xx, run.wrk.socket_errors)
            } else {
                String::new()
            }
        );
        runs.push(run);
    }
    let mut memory = Vec::new();
    if plan.idle_connections > 0 {
        for c in &mut contenders {
            // Leave HAProxy a margin under its maxconn for the health of the run.
            let n =
                c.max_clients.map_or(plan.idle_connections, |m| plan.idle_connections.min(m.saturating_sub(50) as u32));
            if n < plan.idle_connections {
                eprintln!("memory {}: {n} connections (its maxconn under the open-files limit)", c.proxy.name());
            }
            let idle = idle::measure(c.pid(), c.addr, n, settle)?;
            c.check_alive()?;
            let row = MemoryRow::new(c.proxy, c.workers, idle);
            eprintln!(
                "memory {:<11} w{}: {} idle connections, {:.2} KiB each, {:.1} MiB kept after close",
                c.proxy.name(),
                c.workers,
                row.idle.held,
                row.per_connection_kib,
                row.retained_kib as f64 / 1024.0
            );
            memory.push(row);
        }
    }
    drop(contenders);
    drop(backends);

    let cells = summary::cells(&runs, &plan.workloads, &plan.workers, &plan.proxies);
    let report = Report { started_at, machine, plan, cells, memory, runs };
    write_outputs(&report, &args.out)?;
    println!("{}", report::markdown::render(&report));
    Ok(report)
}

/// The load generators and where they keep scratch files.
struct Tools<'a> {
    wrk: &'a Path,
    script: &'a Path,
    h2load: Option<&'a Path>,
    scratch: &'a Path,
}

/// One load run against `c` (wrk; h2load for `h2`), with the proxy's CPU,
/// peak memory and the upstream connections it opened over exactly that run.
fn measure(
    slot: &Slot,
    c: &mut Contender,
    backends: &Backends,
    tools: &Tools<'_>,
    load: wrk::Load,
) -> Result<Run, String> {
    c.check_alive()?;
    let pid = c.pid();
    let accepts_before = backends.accepts()?;
    procs::reset_peak(pid);
    let scraper = (c.proxy == Proxy::TandemFull).then(|| c.admin.map(Scraper::start)).flatten();
    let cpu_before = procs::cpu_us(pid);
    let addr = if slot.workload.is_tls() { c.tls_addr } else { c.addr };
    let result = match (slot.workload, tools.h2load) {
        (Workload::H2, Some(h2load)) => {
            h2load::run(h2load, addr, slot.workload, load, &tools.scratch.join("h2load.log"))
        }
        (Workload::H2, None) => Err("h2load not found".to_string()),
        _ => wrk::run(tools.wrk, tools.script, addr, slot.workload, load),
    };
    let cpu_after = procs::cpu_us(pid);
    drop(scraper);
    let peak_rss_kib = procs::peak_rss_kib(pid);
    let accepts_after = backends.accepts()?;
    c.check_alive()?;
    let wrk = result?;
    Ok(Run {
        round: slot.round,
        workload: slot.workload,
        workers: slot.workers,
        proxy: slot.proxy,
        wrk,
        cpu_us_per_request: (cpu_after.saturating_sub(cpu_before)) as f64 / wrk.requests.max(1) as f64,
        peak_rss_kib,
        upstream_connections: backends.opened_between(accepts_before, accepts_after),
    })
}

/// GET /metrics every second from tandem's admin listener while it lives:
/// the monitoring load the full profile includes.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scraper {
    fn start(admin: std::net::SocketAddr) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let _ = http::get(admin, "/metrics", Duration::from_secs(2));
                for _ in 0..10 {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Scraper { stop, thread: Some(thread) }
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_outputs(report: &Report, out: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let files = [
        ("bench.json", json),
        ("bench.md", report::markdown::render(report)),
        ("bench.svg", report::svg::render(report)),
    ];
    for (name, text) in files {
        let path = out.join(name);
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The run's directory under /tmp: configs, logs, the backends' files.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn create(keep: bool) -> Result<WorkDir, String> {
        let path = std::env::temp_dir().join(format!("tandem-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("bench: kept {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Descriptors wanted: 10,000 idle clients plus their upstreams in the
/// proxy, and HAProxy asks for two per `maxconn`.
const OPEN_FILES: u64 = 131_072;

/// 10,000 idle connections need as many descriptors here and in the proxy,
/// which inherits the limit: raise it to [`OPEN_FILES`] where allowed
/// (CAP_SYS_RESOURCE), else the soft limit to the hard one. Returns the
/// limit in force.
fn raise_open_files_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if setrlimit(Resource::RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    getrlimit(Resource::RLIMIT_NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
}

fn find_program(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found.ok_or_else(|| format!("{name} not found (loadtest/bench.sh installs nginx-light, haproxy and wrk)"))
}

fn machine(programs: &Programs, wrk: &Path) -> Machine {
    let first_line = |cmd: &Path, arg: &str| -> String {
        Command::new(cmd)
            .arg(arg)
            .output()
            .map(|o| {
                let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
                let line = String::from_utf8_lossy(&text).lines().next().unwrap_or("").to_string();
                // Drop the banner's tail: HAProxy's URL, wrk's copyright.
                let end = [" - http", " Copyright"].iter().filter_map(|m| line.find(m)).min().unwrap_or(line.len());
                line[..end].trim().to_string()
            })
            .unwrap_or_default()
    };
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string(),
        versions: vec![
            ("nginx".into(), first_line(&programs.nginx, "-v").trim_start_matches("nginx version: ").to_string()),
            ("haproxy".into(), first_line(&programs.haproxy, "-v")),
            ("wrk".into(), first_line(wrk, "-v")),
            ("tandem".into(), first_line(&programs.tandem, "--version")),
        ],
        tandem_commit: commit,
    }
}
