//! Per-thread free lists of I/O buffers, so that a request allocates none
//! and an idle keep-alive connection holds none: a connection takes a
//! buffer when bytes arrive and gives it back when the request is done
//! (unless a pipelined request is already in it).
//!
//! Two sizes: [`HEAD`] for client request heads (grown up to the head limit
//! for the rare large one, which is then freed instead of kept), and
//! [`RELAY`] for upstream responses and bodies. Each thread keeps at most
//! [`KEEP`] of each, so a burst of connections does not pin memory forever.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Room for a client's request head (and a small body): most heads are
/// well under 1 KiB (nginx's `client_header_buffer_size` is 1k).
pub const HEAD: usize = 4096;
/// Room for an upstream's response head and each read of a body.
pub const RELAY: usize = 16 * 1024;
/// Buffers of each size a thread keeps for reuse.
const KEEP: usize = 64;

thread_local! {
    static FREE: RefCell<[Vec<Vec<u8>>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

fn class(capacity: usize) -> Option<usize> {
    match capacity {
        HEAD => Some(0),
        RELAY => Some(1),
        _ => None,
    }
}

/// An empty buffer with room for `size` bytes (`HEAD` or `RELAY`), from
/// this thread's free list when it has one; back to the list on drop.
pub struct Buffer(Vec<u8>);

impl Buffer {
    pub fn take(size: usize) -> Buffer {
        let reused = class(size).and_then(|c| FREE.with(|f| f.borrow_mut()[c].pop()));
        Buffer(reused.unwrap_or_else(|| Vec::with_capacity(size)))
    }

    /// Drop the first `n` bytes, moving what follows (a pipelined request) to the front.
    pub fn consume(&mut self, n: usize) {
        if n >= self.0.len() {
            self.0.clear();
        } else {
            self.0.drain(..n);
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let mut v = std::mem::take(&mut self.0);
        let Some(c) = class(v.capacity()) else { return };
        v.clear();
        // A thread being torn down has no free list left: just free.
        let _ = FREE.try_with(|f| {
            let mut f = f.borrow_mut();
            if f[c].len() < KEEP {
                f[c].push(v);
            }
        });
    }
}

impl Deref for Buffer {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_handed_out_again_empty() {
        let mut b = Buffer::take(HEAD);
        b.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let ptr = b.as_ptr();
        drop(b);
        let again = Buffer::take(HEAD);
        assert_eq!(again.as_ptr(), ptr, "same allocation");
        assert!(again.is_empty());
    }

    #[test]
    fn a_grown_buffer_is_freed_not_kept() {
        let mut b = Buffer::take(HEAD);
        b.reserve(HEAD * 4);
        let grown = b.as_ptr();
        drop(b);
        let next = Buffer::take(HEAD);
        assert_ne!(next.as_ptr(), grown);
        assert_eq!(next.capacity(), HEAD);
    }

    #[test]
    fn consuming_keeps_what_follows() {
        let mut b = Buffer::take(HEAD);
        b.extend_from_slice(b"firstsecond");
        b.consume(5);
        assert_eq!(&b[..], b"second");
        b.consume(100);
        assert!(b.is_empty());
    }
}
