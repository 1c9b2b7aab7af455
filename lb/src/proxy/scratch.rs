//! The per-request working set (parsed request and response heads, the
//! buffer heads are written into), recycled through a per-thread free list
//! like the I/O buffers: a request allocates none of it, an idle
//! connection holds none of it.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use crate::http1::{RequestHead, ResponseHead};

/// Scratch sets a thread keeps for reuse.
const KEEP: usize = 64;
/// An `out` buffer grown past this (a huge head) is freed, not kept.
const OUT_KEEP: usize = 8 * 1024;

#[derive(Default)]
pub struct Scratch {
    pub req: RequestHead,
    pub resp: ResponseHead,
    /// Heads being written (to the upstream, then to the client).
    pub out: Vec<u8>,
}

thread_local! {
    // Boxed so that handing one out moves a pointer, and a connection's
    // future holds 8 bytes for it, not the whole set.
    #[allow(clippy::vec_box)]
    static FREE: RefCell<Vec<Box<Scratch>>> = const { RefCell::new(Vec::new()) };
}

/// A scratch set, returned to this thread's free list on drop.
pub struct ScratchBox(Option<Box<Scratch>>);

impl ScratchBox {
    pub fn take() -> ScratchBox {
        let s = FREE
            .with(|f| f.borrow_mut().pop())
            .unwrap_or_else(|| Box::new(Scratch { out: Vec::with_capacity(1024), ..Scratch::default() }));
        ScratchBox(Some(s))
    }
}

impl Drop for ScratchBox {
    fn drop(&mut self) {
        let Some(mut s) = self.0.take() else { return };
        if s.out.capacity() > OUT_KEEP {
            return;
        }
        s.out.clear();
        let _ = FREE.try_with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(s);
            }
        });
    }
}

impl Deref for ScratchBox {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        self.0.as_deref().unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl DerefMut for ScratchBox {
    fn deref_mut(&mut self) -> &mut Scratch {
        self.0.as_deref_mut().unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}
