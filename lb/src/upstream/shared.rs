//! The lock around a [`Group`] and the clock that feeds it.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::attempt::{Attempt, Outcome, PeerId};
use super::group::Group;
use super::peer::Millis;

/// Monotonic milliseconds since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock { origin: Instant::now() }
    }

    pub fn now(&self) -> Millis {
        self.origin.elapsed().as_millis() as Millis
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A group shared by all proxy threads and the health checker.
#[derive(Debug)]
pub struct SharedGroup {
    state: Mutex<Group>,
    clock: Clock,
    /// The group's fixed try count, kept outside the lock so that starting a
    /// request takes no lock.
    max_tries: u32,
}

impl SharedGroup {
    pub fn new(group: Group, clock: Clock) -> SharedGroup {
        SharedGroup { max_tries: group.max_tries(), state: Mutex::new(group), clock }
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn start(&self, next_upstream_tries: u32) -> Attempt {
        Attempt::new(self.max_tries, next_upstream_tries, self.clock.now())
    }

    pub fn pick(&self, attempt: &mut Attempt, key: &[u8]) -> Option<PeerId> {
        let now = self.clock.now();
        self.lock().pick(attempt, key, now)
    }

    pub fn finish(&self, attempt: &mut Attempt, id: PeerId, outcome: Outcome) -> bool {
        let now = self.clock.now();
        self.lock().finish(attempt, id, outcome, now)
    }

    /// [`SharedGroup::finish`] with the try's response time (`least_time`).
    pub fn finish_timed(&self, attempt: &mut Attempt, id: PeerId, outcome: Outcome, time_us: Option<i64>) -> bool {
        let now = self.clock.now();
        self.lock().finish_timed(attempt, id, outcome, time_us, now)
    }

    pub fn abandon(&self, id: PeerId) {
        self.lock().abandon(id)
    }

    /// Run `f` on the group under the lock: for the health checker and the
    /// status readers, which must keep `f` short and free of I/O.
    pub fn with<R>(&self, f: impl FnOnce(&mut Group, Millis) -> R) -> R {
        let now = self.clock.now();
        f(&mut self.lock(), now)
    }

    /// The lock survives a panicking holder: the group's state is plain
    /// counters, always consistent between two statements that matter.
    fn lock(&self) -> MutexGuard<'_, Group> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
