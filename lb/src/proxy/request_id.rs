//! Request ids for `X-Request-Id` (made when the client sent none): 32
//! lowercase hex digits from a per-thread generator, without locks or
//! system calls. The other forwarding fields are written with the request
//! head (`crate::http1::write::upstream_request`).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh request id: 32 lowercase hex digits from a per-thread generator
/// (splitmix64), unique per process run without locks or system calls.
pub fn new_request_id() -> [u8; 32] {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    let (a, b) = STATE.with(|s| {
        let a = splitmix64(s);
        (a, splitmix64(s))
    });
    let mut out = [0u8; 32];
    for (i, word) in [a, b].into_iter().enumerate() {
        for j in 0..16 {
            let nibble = (word >> (60 - 4 * j)) & 0xf;
            out[i * 16 + j] = b"0123456789abcdef"[nibble as usize];
        }
    }
    out
}

fn seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let time =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let n = NEXT.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    time ^ n ^ u64::from(std::process::id()).rotate_left(32)
}

fn splitmix64(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_32_hex_digits_and_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
    }
}
