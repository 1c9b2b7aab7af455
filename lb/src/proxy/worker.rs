//! Worker threads: each runs its own single-threaded tokio runtime with an
//! accept loop on every listener (nginx's worker processes, as threads), its
//! own upstream connection pool and buffers, and the connections it
//! accepted, start to end. Nothing on the request path is shared between
//! workers but the group state (one lock per group, held for a pick or a
//! report) and relaxed counters.

use std::cell::{Cell, RefCell};
use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, warn};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use super::conn;
use super::upstream::Pool;
use crate::access_log::{AccessLogger, Entry, BATCH_BYTES, FLUSH_EVERY};
use crate::live::Live;
use crate::runtime::Runtime;

/// How often a worker closes upstream connections idle too long.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// After `accept` fails for lack of descriptors (EMFILE, ENFILE), wait this
/// long before trying again instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

/// What a request needs from the live state, as of the last reload this
/// worker has seen; shared by the requests in flight on it.
pub struct View {
    pub runtime: Arc<Runtime>,
    pub access_log: Option<Arc<AccessLogger>>,
    pub tls: Arc<crate::tls::TlsSet>,
}

impl View {
    fn of(live: &Live) -> View {
        View { runtime: live.runtime_arc(), access_log: live.access_log_arc(), tls: live.tls_arc() }
    }
}

/// One worker thread's state. Lives on its thread (`Rc`), never shared.
pub struct Worker {
    pub live: Arc<Live>,
    pub pool: RefCell<Pool>,
    view: RefCell<(u64, Rc<View>)>,
    /// Access log lines not yet handed to the writer.
    log: RefCell<LogBatch>,
    /// Set once the process shuts down: finish what is in flight, keep no
    /// connection alive.
    stopping: Cell<bool>,
    stop: Notify,
}

impl Worker {
    fn new(live: Arc<Live>) -> Worker {
        let view = Rc::new(View::of(&live));
        Worker {
            view: RefCell::new((live.swaps(), view)),
            live,
            pool: RefCell::new(Pool::default()),
            log: RefCell::new(LogBatch::default()),
            stopping: Cell::new(false),
            stop: Notify::new(),
        }
    }

    /// The runtime and access log to serve a request with: the worker's
    /// copy, refreshed when a reload swapped them (one atomic load per
    /// request otherwise, no reference count shared with other threads).
    pub fn view(&self) -> Rc<View> {
        let swaps = self.live.swaps();
        let mut cached = self.view.borrow_mut();
        if cached.0 != swaps {
            *cached = (swaps, Rc::new(View::of(&self.live)));
        }
        cached.1.clone()
    }

    /// Add the line for `entry` to this worker's batch for `logger`.
    pub fn log(&self, logger: &Arc<AccessLogger>, entry: &Entry<'_>) {
        let mut batch = self.log.borrow_mut();
        if !batch.logger.as_ref().is_some_and(|l| Arc::ptr_eq(l, logger)) {
            // A reload opened a new log: the old one gets its lines first.
            batch.flush();
            batch.logger = Some(logger.clone());
        }
        logger.format_into(&mut batch.lines, entry);
        // Once stopping, nothing waits: the process ends after the grace.
        if batch.lines.len() >= BATCH_BYTES || self.stopping.get() {
            batch.flush();
        }
    }

    pub fn stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Resolves once the worker stops. Create it before checking
    /// [`Worker::stopping`], so a stop in between is not missed.
    pub fn stopped(&self) -> tokio::sync::futures::Notified<'_> {
        self.stop.notified()
    }

    fn begin_stop(&self) {
        self.stopping.set(true);
        self.stop.notify_waiters();
        self.log.borrow_mut().flush();
    }
}

/// Start `threads` workers accepting on `listeners` (index = the listener's
/// position in `listen`) until `shutdown` turns true.
pub fn spawn(
    live: Arc<Live>,
    listeners: &[StdListener],
    threads: usize,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    for n in 0..threads {
        let mine: Vec<StdListener> = listeners.iter().map(StdListener::try_clone).collect::<Result<_, _>>()?;
        let (live, shutdown) = (live.clone(), shutdown.clone());
        std::thread::Builder::new().name(format!("tandem-w{n}")).spawn(move || run(live, mine, shutdown))?;
    }
    Ok(())
}

fn run(live: Arc<Live>, listeners: Vec<StdListener>, mut shutdown: watch::Receiver<bool>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            error!("worker: cannot start its runtime: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let worker = Rc::new(Worker::new(live));
        for (index, std) in listeners.into_iter().enumerate() {
            match TcpListener::from_std(std) {
                Ok(l) => {
                    tokio::task::spawn_local(accept_loop(worker.clone(), l, index));
                }
                Err(e) => {
                    error!("worker: cannot register a listener: {e}");
                    std::process::exit(1);
                }
            }
        }
        tokio::task::spawn_local(sweep(worker.clone()));
        tokio::task::spawn_local(flush_log(worker.clone()));
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        worker.begin_stop();
        // Requests in flight go on until Pingora ends the process after
        // `shutdown_grace`; this runtime stays up for them.
        std::future::pending::<()>().await;
    });
}

async fn accept_loop(worker: Rc<Worker>, listener: TcpListener, index: usize) {
    loop {
        let stopped = worker.stopped();
        if worker.stopping() {
            // Dropping the listener closes this worker's copy of the socket.
            return;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let view = worker.view();
                let stats = &worker.live.listeners[index];
                if !stats.try_open(view.runtime.client.max_connections) {
                    if stats.tls {
                        // A TLS client cannot read a plain 503: closed at once.
                        worker.live.refusals.count(crate::stats::Refusal::Connections);
                    } else {
                        tokio::task::spawn_local(conn::refuse_full(worker.clone(), stream));
                    }
                    continue;
                }
                if !stats.tls {
                    tokio::task::spawn_local(conn::serve(worker.clone(), stream, peer, index));
                } else if let Some(acceptor) = view.tls.acceptor(stats.addr) {
                    tokio::task::spawn_local(conn::serve_tls(worker.clone(), stream, peer, index, acceptor.clone()));
                } else {
                    stats.on_close();
                }
            }
            // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM):
            // accept would fail again at once, so wait instead of spinning.
            Err(e) if matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12)) => {
                warn!("accept on {}: {e}; pausing accepts for {ACCEPT_BACKOFF:?}", worker.live.listeners[index].addr);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
            // A connection reset before it was accepted, and the like.
            Err(_) => {}
        }
    }
}

/// Lines waiting for their log's writer, from this worker.
#[derive(Default)]
struct LogBatch {
    logger: Option<Arc<AccessLogger>>,
    lines: Vec<u8>,
}

impl LogBatch {
    fn flush(&mut self) {
        if let Some(logger) = &self.logger {
            if !self.lines.is_empty() {
                logger.send(std::mem::replace(&mut self.lines, Vec::with_capacity(BATCH_BYTES + 1024)));
            }
        }
    }
}

/// Hand the access log lines over at least every [`FLUSH_EVERY`].
async fn flush_log(worker: Rc<Worker>) {
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        worker.log.borrow_mut().flush();
    }
}

async fn sweep(worker: Rc<Worker>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        worker.pool.borrow_mut().sweep(Instant::now());
        if worker.stopping() && worker.pool.borrow().is_empty() {
            return;
        }
    }
}
