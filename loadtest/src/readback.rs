//! Reads back every acknowledged POST after the drill: `GET /api/property/{id}`
//! with `Cache-Control: no-cache` (the database, not a cache entry that may
//! outlive a lost row) and `X-After-Gtid` (read-your-writes: a lagging replica
//! waits or the master answers, so "not replicated yet" is not "lost").

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, CACHE_CONTROL};
use http::Method;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::analysis::WriteVerdict;
use crate::client::{self, Target};
use crate::load::Acked;

/// Attempts per write before it counts as unverified.
const ATTEMPTS: u32 = 5;
/// Pause between attempts: 5 attempts span about 2 s plus the answers' time.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Per attempt: longer than the drill's timeout, since a GTID wait may take a second.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Reads in flight at once.
const PARALLEL: usize = 16;
/// The whole read-back stops here; writes not judged by then are unverified.
const DEADLINE: Duration = Duration::from_secs(60);

/// One answer, judged: a verdict, or try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    Final(WriteVerdict),
    Retry,
}

/// 200 with the expected address: present. 404, or 200 with another address:
/// missing. Anything else (5xx, no answer, an unreadable 200): retry.
pub fn judge(status: Option<u16>, body: &[u8], expected_address: &str) -> Judgement {
    match status {
        Some(200) => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => match value.get("address").and_then(|a| a.as_str()) {
                Some(address) if address == expected_address => Judgement::Final(WriteVerdict::Present),
                Some(_) => Judgement::Final(WriteVerdict::Missing),
                None => Judgement::Retry,
            },
            Err(_) => Judgement::Retry,
        },
        Some(404) => Judgement::Final(WriteVerdict::Missing),
        _ => Judgement::Retry,
    }
}

/// Reads back `writes`; the verdicts come back in the same order.
pub async fn verify(target: &Target, writes: &[Acked]) -> Vec<(u64, WriteVerdict)> {
    let deadline = Instant::now() + DEADLINE;
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let target = Arc::new(target.clone());
    let mut tasks = JoinSet::new();
    for (index, write) in writes.iter().cloned().enumerate() {
        let (permits, target) = (permits.clone(), target.clone());
        tasks.spawn(async move {
            let verdict = match permits.acquire_owned().await {
                Ok(_permit) => match tokio::time::timeout_at(deadline, check(&target, &write)).await {
                    Ok(verdict) => verdict,
                    Err(_) => WriteVerdict::Unverified,
                },
                Err(_) => WriteVerdict::Unverified,
            };
            (index, write.id, verdict)
        });
    }
    let mut verdicts: Vec<(usize, u64, WriteVerdict)> = Vec::with_capacity(writes.len());
    while let Some(result) = tasks.join_next().await {
        if let Ok(verdict) = result {
            verdicts.push(verdict);
        }
    }
    verdicts.sort_by_key(|(index, _, _)| *index);
    verdicts.into_iter().map(|(_, id, verdict)| (id, verdict)).collect()
}

async fn check(target: &Target, write: &Acked) -> WriteVerdict {
    let mut headers = vec![(CACHE_CONTROL, "no-cache".to_string())];
    if let Some(gtid) = &write.gtid {
        headers.push((HeaderName::from_static("x-after-gtid"), gtid.clone()));
    }
    let path = target.path(&format!("/api/property/{}", write.id));
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        let judgement = match client::send(target, Method::GET, &path, &headers, None, ATTEMPT_TIMEOUT).await {
            Ok(response) => judge(Some(response.status), &response.body, &write.address),
            Err(_) => judge(None, b"", &write.address),
        };
        if let Judgement::Final(verdict) = judgement {
            return verdict;
        }
    }
    WriteVerdict::Unverified
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_same_address_is_present() {
        let body = br#"{"id":1,"address":"drill r #4"}"#;
        assert_eq!(judge(Some(200), body, "drill r #4"), Judgement::Final(WriteVerdict::Present));
    }

    #[test]
    fn not_found_or_another_address_is_missing() {
        assert_eq!(judge(Some(404), b"{}", "a"), Judgement::Final(WriteVerdict::Missing));
        let body = br#"{"id":1,"address":"someone else"}"#;
        assert_eq!(judge(Some(200), body, "drill r #4"), Judgement::Final(WriteVerdict::Missing));
    }

    #[test]
    fn errors_and_unreadable_answers_are_retried() {
        assert_eq!(judge(Some(503), b"", "a"), Judgement::Retry);
        assert_eq!(judge(None, b"", "a"), Judgement::Retry);
        assert_eq!(judge(Some(200), b"<html>", "a"), Judgement::Retry);
        assert_eq!(judge(Some(200), b"{}", "a"), Judgement::Retry);
    }
}
