//! The access log: one line per request, text (combined-log-like) or JSON,
//! to stderr, stdout or a file.
//!
//! Off the request path: each proxy worker formats lines into its own
//! batch (no allocation per line) and hands a batch to the writer thread
//! when it holds [`BATCH_BYTES`] or every [`FLUSH_EVERY`] (nginx's
//! `access_log ... buffer= flush=`); the writer writes and flushes. The
//! proxy never waits on I/O: when the writer is [`QUEUE_BATCHES`] batches
//! behind, a batch is dropped and its lines counted ([`dropped`], also in
//! the metrics) rather than slowing requests down.

mod format;

pub use format::{format_json, format_text, write_json, write_text, Entry, TryRecord, TryResult};

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use crate::config::{AccessLog, LogFormat, LogTarget};

/// A worker hands its lines over once they fill this many bytes...
pub const BATCH_BYTES: usize = 64 * 1024;
/// ...or this long after the first of them, whichever comes first.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Batches waiting for the writer before new ones are dropped (4 MiB).
pub const QUEUE_BATCHES: usize = 64;

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Lines dropped because the writer could not keep up, since start.
pub fn dropped() -> u64 {
    DROPPED.load(Relaxed)
}

/// An open access log. Dropping it lets the writer thread finish the queue,
/// flush and exit (a reload swaps in a new one, reopening the file).
#[derive(Debug)]
pub struct AccessLogger {
    format: LogFormat,
    batches: SyncSender<Vec<u8>>,
}

impl AccessLogger {
    /// Open the target (a file is created if needed and appended to) and
    /// start its writer thread.
    pub fn open(config: &AccessLog) -> io::Result<AccessLogger> {
        let out: Box<dyn Write + Send> = match &config.target {
            LogTarget::Stderr => Box::new(io::stderr()),
            LogTarget::Stdout => Box::new(io::stdout()),
            LogTarget::File(path) => Box::new(OpenOptions::new().create(true).append(true).open(path)?),
        };
        let (batches, rx) = sync_channel(QUEUE_BATCHES);
        std::thread::Builder::new().name("access-log".into()).spawn(move || write_batches(rx, out))?;
        Ok(AccessLogger { format: config.format, batches })
    }

    /// Append the line for `entry` to `batch`.
    pub fn format_into(&self, batch: &mut Vec<u8>, entry: &Entry<'_>) {
        match self.format {
            LogFormat::Text => write_text(batch, entry),
            LogFormat::Json => write_json(batch, entry),
        }
    }

    /// Hand whole lines to the writer; never blocks.
    pub fn send(&self, batch: Vec<u8>) {
        if batch.is_empty() {
            return;
        }
        if let Err(TrySendError::Full(batch)) = self.batches.try_send(batch) {
            let lines = batch.iter().filter(|&&b| b == b'\n').count();
            DROPPED.fetch_add(lines as u64, Relaxed);
        }
    }

    /// One line on its own (tests, and callers without a batch).
    pub fn log(&self, entry: &Entry<'_>) {
        let mut line = Vec::with_capacity(256);
        self.format_into(&mut line, entry);
        self.send(line);
    }
}

/// Write batches as they come, flushing whenever the queue runs empty.
fn write_batches(rx: Receiver<Vec<u8>>, out: Box<dyn Write + Send>) {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(batch) = rx.recv() {
        let _ = out.write_all(&batch);
        while let Ok(batch) = rx.try_recv() {
            let _ = out.write_all(&batch);
        }
        if let Err(e) = out.flush() {
            log::warn!("access log: cannot write: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn lines_reach_the_file_in_order_and_the_writer_stops_when_dropped() {
        let dir = std::env::temp_dir().join(format!("tandem-access-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("access.log");
        let _ = std::fs::remove_file(&path);
        let logger = AccessLogger::open(&AccessLog { format: LogFormat::Json, target: LogTarget::File(path.clone()) })
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..3 {
            let uri = format!("/item/{i}");
            logger.log(&Entry {
                time: SystemTime::now(),
                client: None,
                method: "GET",
                uri: &uri,
                protocol: "HTTP/1.1",
                status: 200,
                bytes: 2,
                duration: Duration::from_millis(1),
                upstream: "app",
                tries: &[],
                request_id: "r",
                host: "",
                referer: "",
                user_agent: "",
            });
        }
        drop(logger);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let text = loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 3 || std::time::Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let uris: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_default()["uri"].to_string())
            .collect();
        assert_eq!(uris, ["\"/item/0\"", "\"/item/1\"", "\"/item/2\""]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
