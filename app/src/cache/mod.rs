//! Cache-aside for GETs in Redis, behind Sentinel. Any Redis trouble turns
//! into a bypass (the request goes to the database): a cache outage fails no
//! request. See [`keys`] for how writes and fills stay ordered.

pub mod keys;
mod link;

pub use keys::Family;
use link::RedisLink;

use crate::db::Gtid;
use bytes::Bytes;
use redis::Script;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::timeout;

/// The floor a reader saw when it missed; a fill is kept only if it is unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ticket {
    floor: Option<String>,
}

impl Ticket {
    /// The GTID the database read must be at least as fresh as.
    pub fn floor(&self) -> Option<Gtid> {
        self.floor.as_deref().and_then(|f| Gtid::parse(f).ok())
    }

    /// A floor set by a write whose GTID is unknown: no read can be proven
    /// fresh enough, so nothing is cached until a GTID'd write or the floor's
    /// TTL replaces it.
    pub fn is_opaque(&self) -> bool {
        self.floor.is_some() && self.floor().is_none()
    }
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// The cached body, and the floor it is at least as fresh as.
    Hit {
        body: Bytes,
        ticket: Ticket,
    },
    Miss(Ticket),
    /// The cache is off, down or too slow.
    Bypass,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheState {
    Disabled,
    Up { master: String },
    Down,
}

pub struct Cache {
    link: Option<Arc<RedisLink>>,
    ttl_secs: u64,
    timeout: Duration,
    invalidate: Script,
    fill: Script,
}

impl Cache {
    /// A cache that always bypasses (no Sentinels configured).
    pub fn disabled() -> Cache {
        Cache::with_link(None, Duration::from_secs(1), Duration::from_secs(1))
    }

    /// Starts the link task; the cache bypasses until the master is resolved.
    pub fn start(sentinels: Vec<String>, master_name: String, ttl: Duration, op_timeout: Duration) -> Cache {
        if sentinels.is_empty() {
            return Cache::disabled();
        }
        let link = Arc::new(RedisLink::new(sentinels, master_name, op_timeout));
        tokio::spawn(link.clone().run());
        Cache::with_link(Some(link), ttl, op_timeout)
    }

    fn with_link(link: Option<Arc<RedisLink>>, ttl: Duration, op_timeout: Duration) -> Cache {
        Cache {
            link,
            ttl_secs: ttl.as_secs().max(1),
            timeout: op_timeout,
            invalidate: Script::new(keys::INVALIDATE),
            fill: Script::new(keys::FILL),
        }
    }

    pub fn state(&self) -> CacheState {
        match &self.link {
            None => CacheState::Disabled,
            Some(link) => match link.current() {
                Some(linked) => CacheState::Up { master: linked.addr.clone() },
                None => CacheState::Down,
            },
        }
    }

    /// Looks up one item and the family's floor in one round trip.
    pub async fn get_item(&self, family: Family, id: u64) -> Lookup {
        let mut pipe = redis::pipe();
        pipe.get(family.item_key(id)).get(family.floor_key());
        self.lookup(pipe).await
    }

    /// Looks up one list page and the family's floor in one round trip.
    pub async fn get_list(&self, family: Family, field: &str) -> Lookup {
        let mut pipe = redis::pipe();
        pipe.hget(family.list_key(), field).get(family.floor_key());
        self.lookup(pipe).await
    }

    async fn lookup(&self, pipe: redis::Pipeline) -> Lookup {
        let Some((link, linked)) = self.linked() else {
            return Lookup::Bypass;
        };
        let mut conn = linked.conn.clone();
        match timeout(self.timeout, pipe.query_async::<(Option<Vec<u8>>, Option<String>)>(&mut conn)).await {
            Ok(Ok((Some(body), floor))) => Lookup::Hit { body: Bytes::from(body), ticket: Ticket { floor } },
            Ok(Ok((None, floor))) => Lookup::Miss(Ticket { floor }),
            Ok(Err(e)) => {
                log::debug!("cache lookup failed: {e}");
                link.report_broken(&linked);
                Lookup::Bypass
            }
            Err(_) => {
                link.report_broken(&linked);
                Lookup::Bypass
            }
        }
    }

    pub async fn fill_item(&self, family: Family, id: u64, ticket: &Ticket, body: &[u8]) {
        self.fill(family.floor_key(), &family.item_key(id), "", ticket, body).await;
    }

    pub async fn fill_list(&self, family: Family, field: &str, ticket: &Ticket, body: &[u8]) {
        self.fill(family.floor_key(), family.list_key(), field, ticket, body).await;
    }

    async fn fill(&self, floor_key: &str, target: &str, field: &str, ticket: &Ticket, body: &[u8]) {
        let Some((link, linked)) = self.linked() else {
            return;
        };
        let mut conn = linked.conn.clone();
        let mut invocation = self.fill.key(floor_key);
        invocation.key(target).arg(ticket.floor.as_deref().unwrap_or("")).arg(body).arg(self.ttl_secs).arg(field);
        match timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                log::debug!("cache fill failed: {e}");
                link.report_broken(&linked);
            }
            Err(_) => link.report_broken(&linked),
        }
    }

    /// Called after a committed write. False when Redis could not be told: the
    /// stale entries then live until their TTL, which is why the TTL is short.
    pub async fn invalidate(&self, family: Family, id: Option<u64>, gtid: Option<&Gtid>) -> bool {
        let Some((link, linked)) = self.linked() else {
            return self.link.is_none();
        };
        let mut conn = linked.conn.clone();
        let item = id.map(|id| family.item_key(id)).unwrap_or_else(|| family.list_key().to_string());
        // Without a GTID the floor still has to move, so a fill racing this
        // write is dropped: a unique token stands in (it waits for nothing).
        let gtid_text = gtid.map(Gtid::to_string).unwrap_or_else(unique_token);
        let seq = gtid.and_then(Gtid::seq).map(|s| s.to_string()).unwrap_or_default();
        let mut invocation = self.invalidate.key(family.floor_key());
        invocation.key(item).key(family.list_key()).arg(gtid_text).arg(seq).arg(self.ttl_secs);
        match timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                log::warn!("cache invalidation failed (entries stay until their TTL): {e}");
                link.report_broken(&linked);
                false
            }
            Err(_) => {
                log::warn!("cache invalidation timed out (entries stay until their TTL)");
                link.report_broken(&linked);
                false
            }
        }
    }

    fn linked(&self) -> Option<(&Arc<RedisLink>, Arc<link::Linked>)> {
        let link = self.link.as_ref()?;
        Some((link, link.current()?))
    }
}

/// A floor value no GTID parses as, distinct per call.
fn unique_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("write-{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// What a database read must wait for, given the GTID a client presented and
/// the floor the cache showed, and whether its result may be cached: only
/// when it is at least as fresh as the floor.
pub fn freshness(after: Option<&Gtid>, floor: Option<Gtid>) -> (Option<Gtid>, bool) {
    match (after, floor) {
        (None, floor) => (floor, true),
        (Some(after), None) => (Some(after.clone()), true),
        (Some(after), Some(floor)) if floor.covers(after) => (Some(floor), true),
        (Some(after), Some(floor)) => (Some(after.clone()), after.covers(&floor)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str) -> Gtid {
        Gtid::parse(text).expect("valid")
    }

    #[test]
    fn a_read_waits_for_the_newer_of_the_client_gtid_and_the_floor() {
        assert_eq!(freshness(None, Some(g("0-1-5"))), (Some(g("0-1-5")), true));
        assert_eq!(freshness(Some(&g("0-1-9")), Some(g("0-1-5"))), (Some(g("0-1-9")), true));
        assert_eq!(freshness(Some(&g("0-1-3")), Some(g("0-1-5"))), (Some(g("0-1-5")), true));
        assert_eq!(freshness(None, None), (None, true));
    }

    #[test]
    fn incomparable_gtids_are_served_but_not_cached() {
        let (wait, may_fill) = freshness(Some(&g("0-1-3")), Some(g("1-1-5")));
        assert_eq!(wait, Some(g("0-1-3")));
        assert!(!may_fill);
    }

    #[test]
    fn unique_tokens_differ_and_are_not_gtids() {
        let (a, b) = (unique_token(), unique_token());
        assert_ne!(a, b);
        assert!(Gtid::parse(&a).is_err());
    }
}
