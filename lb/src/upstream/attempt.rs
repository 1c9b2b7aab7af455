//! Per-request selection state: nginx's `ngx_http_upstream_rr_peer_data_t`
//! plus the hash balancers' cursors. Lives in the request context, never shared.

use super::peer::Millis;

/// Which set of servers a request is being served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Primary,
    Backup,
}

/// A server in a group: its tier and index in that tier (config order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId {
    pub tier: Tier,
    pub index: u16,
}

/// Most servers one tier of a group can hold (config validation enforces it).
pub const MAX_TIER_SERVERS: usize = 256;

/// Servers already tried by this request in the current tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tried([u64; MAX_TIER_SERVERS / 64]);

impl Tried {
    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    pub fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub fn clear(&mut self) {
        self.0 = [0; MAX_TIER_SERVERS / 64];
    }
}

/// Where a hash balancer is in its search (kept across retries, as nginx).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashCursor {
    /// False until the first pick computed the starting point from the key.
    pub started: bool,
    /// ip_hash: the running hash (starts at 89). hash: the running sum.
    /// consistent hash: the ring index.
    pub hash: u32,
    /// Re-hash attempts so far; past 20 the request falls back to round robin.
    pub tries: u32,
    /// hash: how many times the key was re-hashed (the `REHASH` prefix).
    pub rehash: u32,
}

/// How an attempt on a server ended, from the balancer's point of view.
/// (nginx's third state, `NGX_PEER_NEXT` for a listed 403/404, is handled by
/// the round-robin code exactly like a success, so it is `Passed` here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counts against the server (nginx `NGX_PEER_FAILED`).
    Failed,
    /// Anything else, including errors after the response header arrived.
    Passed,
}

/// The selection state of one request.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub tier: Tier,
    pub tried: Tried,
    /// Attempts left (nginx `pc->tries`): non-down primaries + backups, capped
    /// by `next_upstream_tries`. 0 once the request may not move on.
    pub tries_left: u32,
    pub cursor: HashCursor,
    /// When the first attempt started, for `next_upstream_timeout`.
    pub started_at: Millis,
}

impl Attempt {
    /// A request's first state: nothing tried, `max_tries` (the group's count)
    /// capped by `next_upstream_tries` (0 = no cap).
    pub fn new(max_tries: u32, next_upstream_tries: u32, now: Millis) -> Attempt {
        let tries_left = if next_upstream_tries > 0 { max_tries.min(next_upstream_tries) } else { max_tries };
        Attempt {
            tier: Tier::Primary,
            tried: Tried::default(),
            tries_left,
            cursor: HashCursor::default(),
            started_at: now,
        }
    }
}
