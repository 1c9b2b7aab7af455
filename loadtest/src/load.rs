//! The open-loop load: slot `n` is due `n / rate` seconds after the start,
//! whatever the answers do, so a stalled service cannot slow the drill down
//! (a closed loop would send less exactly when things break, and measure less).
//!
//! Bounds: no slot starts after `duration`; each request ends within
//! `timeout`; at most `max_in_flight` are outstanding, and a slot that finds
//! them all taken is recorded as `overload` instead of being sent. If the
//! generator itself falls behind (a stalled scheduler), slots whose time has
//! fully passed are skipped and counted, never sent in a burst to catch up.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::{self, Target};
use crate::config::RunConfig;
use crate::mix;
use crate::record::{ErrorKind, Kind, Outcome, Record};

/// A POST the service acknowledged (201 with an `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Acked {
    pub id: u64,
    pub address: String,
    /// The `X-Gtid` it answered, for a read-your-writes read-back.
    pub gtid: Option<String>,
}

/// What the load produced.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub records: Vec<Record>,
    pub acked: Vec<Acked>,
    /// Slots skipped because the generator was late by a whole interval or more.
    pub skipped_slots: u64,
    /// When the load stopped, ms from the start: the duration, or earlier if stopped.
    pub end_ms: f64,
}

/// Shared by the scheduler and every request task.
struct Shared {
    target: Target,
    run_id: String,
    lb_header: String,
    timeout: Duration,
    t0: Instant,
    acked: Mutex<Vec<Acked>>,
}

/// The slot to run next and how many were skipped: when `elapsed` is already
/// past the slot after `next`, jump to the current slot instead of bursting.
pub fn next_slot(next: u64, elapsed: Duration, rate: f64) -> (u64, u64) {
    let current = (elapsed.as_secs_f64() * rate).floor() as u64;
    if current > next {
        (current, current - next)
    } else {
        (next, 0)
    }
}

/// Resolves once `stop` turns true; never, if its sender is gone.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn due(slot: u64, rate: f64) -> Duration {
    Duration::from_secs_f64(slot as f64 / rate)
}

/// Runs the load from `t0` until the duration has passed or `stop` turns true.
pub async fn run(
    config: &RunConfig,
    target: Target,
    run_id: &str,
    t0: Instant,
    mut stop: watch::Receiver<bool>,
) -> LoadResult {
    let shared = Arc::new(Shared {
        target,
        run_id: run_id.to_string(),
        lb_header: config.lb_header.clone(),
        timeout: config.timeout,
        t0,
        acked: Mutex::new(Vec::new()),
    });
    let permits = Arc::new(Semaphore::new(config.max_in_flight));
    let mut tasks = JoinSet::new();
    let mut records = Vec::new();
    let (mut next, mut skipped) = (0u64, 0u64);
    let mut end = config.duration;
    // Slots due before the end: only these count as skipped when jumped over.
    let slots = (config.duration.as_secs_f64() * config.rate).ceil() as u64;
    loop {
        if due(next, config.rate) >= config.duration {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(t0 + due(next, config.rate)) => {}
            _ = stopped(&mut stop) => {
                end = t0.elapsed().min(config.duration);
                break;
            }
        }
        let (kind, id) = choose(&shared, next, config.post_share);
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let shared = shared.clone();
                tasks.spawn(async move {
                    let record = request(&shared, next, kind, id).await;
                    drop(permit);
                    record
                });
            }
            Err(_) => records.push(overloaded(&shared, next, kind)),
        }
        let wanted = next + 1;
        next = next_slot(wanted, t0.elapsed(), config.rate).0;
        skipped += next.min(slots).saturating_sub(wanted);
    }
    while let Some(result) = tasks.join_next().await {
        if let Ok(record) = result {
            records.push(record);
        }
    }
    records.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms).then(a.seq.cmp(&b.seq)));
    let acked = shared.acked.lock().map(|a| a.clone()).unwrap_or_default();
    LoadResult { records, acked, skipped_slots: skipped, end_ms: end.as_secs_f64() * 1000.0 }
}

fn choose(shared: &Shared, seq: u64, post_share: f64) -> (Kind, Option<u64>) {
    let Ok(acked) = shared.acked.lock() else { return (Kind::GetList, None) };
    match mix::kind_for(seq, post_share, !acked.is_empty()) {
        Kind::GetId => (Kind::GetId, Some(acked[mix::pick_index(seq, acked.len())].id)),
        kind => (kind, None),
    }
}

fn since_start_ms(shared: &Shared) -> f64 {
    shared.t0.elapsed().as_secs_f64() * 1000.0
}

fn overloaded(shared: &Shared, seq: u64, kind: Kind) -> Record {
    Record {
        seq,
        start_ms: since_start_ms(shared),
        latency_ms: 0.0,
        kind,
        outcome: Outcome::Error(ErrorKind::Overload),
        id: None,
        app: None,
        lb: None,
        detail: None,
    }
}

async fn request(shared: &Shared, seq: u64, kind: Kind, id: Option<u64>) -> Record {
    let (method, path, body) = match kind {
        Kind::GetList => (Method::GET, "/api/property?limit=5".to_string(), None),
        Kind::GetId => (Method::GET, format!("/api/property/{}", id.unwrap_or_default()), None),
        Kind::Post => (Method::POST, "/api/property".to_string(), Some(mix::post_body(&shared.run_id, seq))),
    };
    let start_ms = since_start_ms(shared);
    let result =
        client::send(&shared.target, method, &shared.target.path(&path), &[], body.map(Bytes::from), shared.timeout)
            .await;
    let latency_ms = since_start_ms(shared) - start_ms;
    let mut record =
        Record { seq, start_ms, latency_ms, kind, outcome: Outcome::Status(0), id, app: None, lb: None, detail: None };
    match result {
        Ok(response) => {
            record.outcome = Outcome::Status(response.status);
            record.app = response.header("x-served-by");
            record.lb = response.header(&shared.lb_header);
            if kind == Kind::Post && response.status == 201 {
                if let Some(new_id) = created_id(&response.body) {
                    record.id = Some(new_id);
                    let write = Acked {
                        id: new_id,
                        address: mix::address(&shared.run_id, seq),
                        gtid: response.header("x-gtid"),
                    };
                    if let Ok(mut acked) = shared.acked.lock() {
                        acked.push(write);
                    }
                }
            }
        }
        Err(failure) => {
            record.outcome = Outcome::Error(failure.kind);
            if failure.kind == ErrorKind::Other {
                record.detail = Some(failure.detail);
            }
        }
    }
    record
}

/// The `id` of a created property: `{"id": 42, ...}`.
pub fn created_id(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(body).ok()?.get("id")?.as_u64()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_slightly_late_scheduler_runs_the_next_slot_without_skipping() {
        // 100 req/s: slot 5 is due at 50 ms; at 55 ms we are late but inside its interval.
        assert_eq!(next_slot(5, Duration::from_millis(55), 100.0), (5, 0));
        assert_eq!(next_slot(5, Duration::from_millis(40), 100.0), (5, 0));
    }

    #[test]
    fn a_stalled_scheduler_skips_passed_slots_instead_of_bursting() {
        // At 83 ms slots 5, 6 and 7 have fully passed; slot 8 is due now.
        assert_eq!(next_slot(5, Duration::from_millis(83), 100.0), (8, 3));
    }

    #[test]
    fn created_ids_come_from_the_json_body() {
        assert_eq!(created_id(br#"{"id":42,"address":"x"}"#), Some(42));
        assert_eq!(created_id(br#"{"address":"x"}"#), None);
        assert_eq!(created_id(br#"{"id":"42"}"#), None);
        assert_eq!(created_id(b"not json"), None);
    }
}
