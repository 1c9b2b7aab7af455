//! The balancers over one tier of servers, as nginx's `get_peer` functions.
//! Each returns the index of the chosen server (already marked tried and
//! picked) or `None` when nothing in the tier is usable.

use super::attempt::{HashCursor, Tried};
use super::ketama::Ring;
use super::peer::{Millis, Peer, Recovery};

/// Smooth weighted round robin (`ngx_http_upstream_get_peer`).
pub fn round_robin(peers: &mut [Peer], tried: &mut Tried, now: Millis, rec: Recovery) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut total = 0;
    for i in 0..peers.len() {
        if tried.contains(i) || !peers[i].is_usable(now, rec) {
            continue;
        }
        total += peers[i].wrr_step();
        if best.is_none_or(|b| peers[i].current_weight > peers[b].current_weight) {
            best = Some(i);
        }
    }
    let b = best?;
    peers[b].current_weight -= total;
    take(peers, tried, b, now);
    Some(b)
}

/// Fewest in-flight requests relative to weight; ties by smooth WRR among the
/// tied servers (`ngx_http_upstream_get_least_conn_peer`).
pub fn least_conn(peers: &mut [Peer], tried: &mut Tried, now: Millis, rec: Recovery) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut many = false;
    for i in 0..peers.len() {
        if tried.contains(i) || !peers[i].is_usable(now, rec) {
            continue;
        }
        match best {
            None => best = Some(i),
            Some(b) => {
                let (lhs, rhs) = cross(&peers[i], &peers[b]);
                if lhs < rhs {
                    best = Some(i);
                    many = false;
                } else if lhs == rhs {
                    many = true;
                }
            }
        }
    }
    let mut b = best?;
    let mut total = 0;
    if many {
        let first = b;
        for i in first..peers.len() {
            if tried.contains(i) || !peers[i].is_usable(now, rec) {
                continue;
            }
            let (lhs, rhs) = cross(&peers[i], &peers[first]);
            if lhs != rhs {
                continue;
            }
            total += peers[i].wrr_step();
            if peers[i].current_weight > peers[b].current_weight {
                b = i;
            }
        }
    }
    peers[b].current_weight -= total;
    take(peers, tried, b, now);
    Some(b)
}

/// `conns_a * weight_b` and `conns_b * weight_a`: compares load per weight
/// without division.
fn cross(a: &Peer, b: &Peer) -> (i64, i64) {
    (i64::from(a.conns) * b.params.weight, i64::from(b.conns) * a.params.weight)
}

/// `ip_hash` over the client address bytes (first three octets of IPv4, all
/// sixteen of IPv6). Gives up after 20 unusable picks (caller falls back to
/// round robin). `total_weight` counts every primary, down ones included.
pub fn ip_hash(
    peers: &mut [Peer],
    tried: &mut Tried,
    cursor: &mut HashCursor,
    addr: &[u8],
    total_weight: u32,
    now: Millis,
    rec: Recovery,
) -> Option<usize> {
    if !cursor.started {
        cursor.started = true;
        cursor.hash = 89;
    }
    let mut hash = cursor.hash;
    loop {
        for &b in addr {
            hash = (hash * 113 + u32::from(b)) % 6271;
        }
        let i = weighted_slot(peers, hash % total_weight);
        if !tried.contains(i) && peers[i].is_usable(now, rec) {
            cursor.hash = hash;
            take(peers, tried, i, now);
            return Some(i);
        }
        cursor.tries += 1;
        if cursor.tries > 20 {
            return None;
        }
    }
}

/// `hash KEY` (not consistent): Cache::Memcached's
/// `((crc32([REHASH] KEY) >> 16) & 0x7fff) + PREV_HASH`, modulo total weight.
pub fn key_hash(
    peers: &mut [Peer],
    tried: &mut Tried,
    cursor: &mut HashCursor,
    key: &[u8],
    total_weight: u32,
    now: Millis,
    rec: Recovery,
) -> Option<usize> {
    cursor.started = true;
    loop {
        let mut h = crc32fast::Hasher::new();
        if cursor.rehash > 0 {
            h.update(Decimal::new(cursor.rehash).digits());
        }
        h.update(key);
        let part = (h.finalize() >> 16) & 0x7fff;
        cursor.hash = cursor.hash.wrapping_add(part);
        cursor.rehash += 1;
        let i = weighted_slot(peers, cursor.hash % total_weight);
        if !tried.contains(i) && peers[i].is_usable(now, rec) {
            take(peers, tried, i, now);
            return Some(i);
        }
        cursor.tries += 1;
        if cursor.tries > 20 {
            return None;
        }
    }
}

/// `hash KEY consistent`: walk the ring from the key's point; at each point,
/// smooth WRR among the usable servers carrying that point's name.
#[allow(clippy::too_many_arguments)]
pub fn consistent_hash(
    peers: &mut [Peer],
    name_ids: &[u32],
    ring: &Ring,
    tried: &mut Tried,
    cursor: &mut HashCursor,
    key: &[u8],
    now: Millis,
    rec: Recovery,
) -> Option<usize> {
    if !cursor.started {
        cursor.started = true;
        cursor.hash = ring.find(crc32fast::hash(key)) as u32;
    }
    loop {
        let name = ring.name_at(cursor.hash);
        let mut best: Option<usize> = None;
        let mut total = 0;
        for i in 0..peers.len() {
            if name_ids[i] != name || tried.contains(i) || !peers[i].is_usable(now, rec) {
                continue;
            }
            total += peers[i].wrr_step();
            if best.is_none_or(|b| peers[i].current_weight > peers[b].current_weight) {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            peers[b].current_weight -= total;
            take(peers, tried, b, now);
            return Some(b);
        }
        cursor.hash = cursor.hash.wrapping_add(1);
        cursor.tries += 1;
        if cursor.tries > 20 {
            return None;
        }
    }
}

/// The server owning weight slot `w` when every server holds `weight` slots
/// in config order.
fn weighted_slot(peers: &[Peer], mut w: u32) -> usize {
    let mut i = 0;
    while i + 1 < peers.len() && w >= peers[i].params.weight as u32 {
        w -= peers[i].params.weight as u32;
        i += 1;
    }
    i
}

fn take(peers: &mut [Peer], tried: &mut Tried, i: usize, now: Millis) {
    tried.insert(i);
    peers[i].on_picked(now);
}

/// Decimal digits of a number without allocating (nginx's `%ui`).
struct Decimal {
    buf: [u8; 10],
    start: usize,
}

impl Decimal {
    fn new(mut n: u32) -> Decimal {
        let mut buf = [0u8; 10];
        let mut start = buf.len();
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { buf, start }
    }

    fn digits(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}
