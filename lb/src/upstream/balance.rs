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
        total += peers[i].wrr_step(now);
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
                let (lhs, rhs) = cross(&peers[i], &peers[b], now);
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
            let (lhs, rhs) = cross(&peers[i], &peers[first], now);
            if lhs != rhs {
                continue;
            }
            total += peers[i].wrr_step(now);
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
/// without division. The weights are the configured ones (as nginx), times
/// the slow-start ramp.
fn cross(a: &Peer, b: &Peer, now: Millis) -> (i64, i64) {
    (i64::from(a.conns) * conn_weight(b, now), i64::from(b.conns) * conn_weight(a, now))
}

fn conn_weight(p: &Peer, now: Millis) -> i64 {
    p.params.weight * p.ramp_permille(now)
}

/// `least_time`: the lowest `average response time x (in-flight + 1) /
/// weight`; ties (servers without samples, typically) by smooth WRR among
/// the tied. A server without a sample yet counts the lowest average of the
/// others, so a new server gets its share, not the whole load.
pub fn least_time(peers: &mut [Peer], tried: &mut Tried, now: Millis, rec: Recovery) -> Option<usize> {
    let floor = known_floor(peers, tried, now, rec);
    let mut best: Option<usize> = None;
    let mut many = false;
    for i in 0..peers.len() {
        if tried.contains(i) || !peers[i].is_usable(now, rec) {
            continue;
        }
        match best {
            None => best = Some(i),
            Some(b) => match time_order(&peers[i], &peers[b], floor, now) {
                std::cmp::Ordering::Less => {
                    best = Some(i);
                    many = false;
                }
                std::cmp::Ordering::Equal => many = true,
                std::cmp::Ordering::Greater => {}
            },
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
            if time_order(&peers[i], &peers[first], floor, now) != std::cmp::Ordering::Equal {
                continue;
            }
            total += peers[i].wrr_step(now);
            if peers[i].current_weight > peers[b].current_weight {
                b = i;
            }
        }
    }
    peers[b].current_weight -= total;
    take(peers, tried, b, now);
    Some(b)
}

/// The lowest known average among the candidates (0 when none has one).
fn known_floor(peers: &[Peer], tried: &Tried, now: Millis, rec: Recovery) -> i64 {
    (0..peers.len())
        .filter(|&i| !tried.contains(i) && peers[i].is_usable(now, rec))
        .filter_map(|i| peers[i].avg_time_at(now))
        .min()
        .unwrap_or(0)
}

/// `least_time`'s score of `p`, as a fraction (numerator, denominator):
/// `avg x (conns + 1) / weight`.
fn time_score(p: &Peer, floor: i64, now: Millis) -> (u128, u128) {
    let avg = p.avg_time_at(now).unwrap_or(floor).max(0) as u128;
    (avg * (u128::from(p.conns) + 1), conn_weight(p, now).max(1) as u128)
}

/// Compares two servers' `least_time` scores without division.
pub fn time_order(a: &Peer, b: &Peer, floor: i64, now: Millis) -> std::cmp::Ordering {
    let (na, da) = time_score(a, floor, now);
    let (nb, db) = time_score(b, floor, now);
    (na * db).cmp(&(nb * da))
}

/// What `random two` compares its two candidates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoBy {
    LeastConn,
    LeastTime,
}

/// nginx `random`: a server drawn with probability proportional to its
/// weight (times its slow-start ramp); with `two`, two distinct servers
/// drawn so, and the one with less load per weight (`least_conn`) or the
/// lower `least_time` score wins (the first drawn on a tie).
pub fn random(
    peers: &mut [Peer],
    tried: &mut Tried,
    rng: &mut Rng,
    two: Option<TwoBy>,
    now: Millis,
    rec: Recovery,
) -> Option<usize> {
    let first = draw(peers, tried, None, rng, now, rec)?;
    let chosen = match two.and_then(|by| Some((by, draw(peers, tried, Some(first), rng, now, rec)?))) {
        None => first,
        Some((TwoBy::LeastConn, second)) => {
            let (lhs, rhs) = cross(&peers[second], &peers[first], now);
            if lhs < rhs {
                second
            } else {
                first
            }
        }
        Some((TwoBy::LeastTime, second)) => {
            let floor = known_floor(peers, tried, now, rec);
            if time_order(&peers[second], &peers[first], floor, now).is_lt() {
                second
            } else {
                first
            }
        }
    };
    take(peers, tried, chosen, now);
    Some(chosen)
}

/// One weighted draw among the usable, untried servers other than `skip`.
fn draw(
    peers: &[Peer],
    tried: &Tried,
    skip: Option<usize>,
    rng: &mut Rng,
    now: Millis,
    rec: Recovery,
) -> Option<usize> {
    let candidate = |i: usize| Some(i) != skip && !tried.contains(i) && peers[i].is_usable(now, rec);
    let total: i64 = (0..peers.len()).filter(|&i| candidate(i)).map(|i| conn_weight(&peers[i], now)).sum();
    if total <= 0 {
        return None;
    }
    let mut point = (rng.next_u64() % total as u64) as i64;
    for i in (0..peers.len()).filter(|&i| candidate(i)) {
        point -= conn_weight(&peers[i], now);
        if point < 0 {
            return Some(i);
        }
    }
    None
}

/// A small fast generator (xorshift64*) for `random`: one per group, seeded
/// per process so that balancers sharing an app tier draw differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // xorshift needs a non-zero state.
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
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
            total += peers[i].wrr_step(now);
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
