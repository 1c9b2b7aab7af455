//! One request's tries on one group: choosing each server, the passive
//! health verdict and counters of each try, and the record the access log
//! prints. Every try that starts is reported exactly once, to the group
//! (nginx's `free` of the peer) and to the server's counters; a request
//! dropped mid-try frees its slot without judging the server.

use std::time::{Duration, Instant};

use log::{debug, info, warn};
use smallvec::SmallVec;

use super::retry::Situation;
use crate::access_log::{TryRecord, TryResult};
use crate::config::TimeMeasure;
use crate::runtime::UpstreamRuntime;
use crate::stats::FailureReason;
use crate::upstream::{Attempt, Outcome, PeerId};

pub struct Tries<'a> {
    pub up: &'a UpstreamRuntime,
    pub attempt: Attempt,
    /// The try in progress, until its outcome is reported.
    current: Option<PeerId>,
    /// When the current try's server was chosen (its latency).
    started: Instant,
    /// The current try received a response header.
    pub header_received: bool,
    /// How long the current try took to its response header.
    header_time: Duration,
    /// Every try so far, for the access log.
    pub records: SmallVec<[TryRecord; 2]>,
}

impl<'a> Tries<'a> {
    pub fn new(up: &'a UpstreamRuntime, now: Instant) -> Tries<'a> {
        Tries {
            up,
            attempt: up.group.start(up.config.next_upstream_tries),
            current: None,
            started: now,
            header_received: false,
            header_time: Duration::ZERO,
            records: SmallVec::new(),
        }
    }

    /// Choose the server for the next try (its index in the group's
    /// `servers`), or `None` when no server may be tried. A group that has
    /// no usable server at all logs it once, not per request, and counts the
    /// refusal.
    pub fn pick(&mut self, key: &[u8], now: Instant) -> Option<usize> {
        let first = self.records.is_empty();
        let Some(id) = self.up.group.pick(&mut self.attempt, key) else {
            if first {
                if self.up.no_live.on_refused() {
                    warn!("upstream {}: no live upstreams", self.up.config.name);
                }
            } else {
                debug!("upstream {}: no server left to try", self.up.config.name);
            }
            return None;
        };
        if self.up.no_live.on_picked() {
            info!("upstream {}: servers available again", self.up.config.name);
        }
        let index = self.up.server_index(id);
        self.up.stats[index].on_try();
        self.current = Some(id);
        self.started = now;
        self.header_received = false;
        Some(index)
    }

    /// The current try's server answered with a response header.
    pub fn on_response(&mut self, status: u16) {
        self.header_received = true;
        self.header_time = self.started.elapsed();
        if let Some(id) = self.current {
            let index = self.up.server_index(id);
            self.up.stats[index].on_response(status, self.header_time);
            self.records.push(TryRecord { server: index as u16, result: TryResult::Status(status) });
        }
    }

    /// Report the current try's outcome, once. `failure` names a failed try;
    /// `retried` says the request moves on to another server.
    pub fn finish(&mut self, outcome: Outcome, failure: Option<FailureReason>, retried: bool) {
        let Some(id) = self.current.take() else { return };
        let index = self.up.server_index(id);
        let stats = &self.up.stats[index];
        stats.on_try_end();
        match failure {
            Some(reason) => {
                stats.on_failure(reason, retried);
                self.records.push(TryRecord { server: index as u16, result: TryResult::Failed(reason) });
            }
            None if retried => stats.on_retry(),
            None if !self.header_received => {
                // Ended without a response header and without a failure:
                // the client went away first.
                self.records.push(TryRecord { server: index as u16, result: TryResult::Abandoned });
            }
            None => {}
        }
        // least_time averages the answered tries' times (failures count
        // through max_fails instead).
        let time = match self.up.config.balance.time_measure() {
            Some(_) if !self.header_received || failure.is_some() => None,
            Some(TimeMeasure::Header) => Some(self.header_time),
            Some(TimeMeasure::LastByte) => Some(self.started.elapsed()),
            None => None,
        };
        let time_us = time.map(|t| t.as_micros().min(i64::MAX as u128) as i64);
        if self.up.group.finish_timed(&mut self.attempt, id, outcome, time_us) {
            stats.on_quarantine();
            let s = &self.up.config.servers[index];
            warn!(
                "upstream {} server {}: temporarily disabled after {} failure(s)",
                self.up.config.name, s.name, s.max_fails
            );
        }
    }

    /// The facts a retry decision needs.
    pub fn situation(&self, request_sent: bool, non_idempotent: bool, body_replayable: bool) -> Situation {
        let cfg = &self.up.config;
        Situation {
            next_upstream: cfg.next_upstream,
            tries_left: self.attempt.tries_left,
            request_sent,
            non_idempotent,
            body_replayable,
            elapsed: Duration::from_millis((self.up.group.now() - self.attempt.started_at).max(0) as u64),
            timeout: cfg.next_upstream_timeout,
        }
    }
}

impl Drop for Tries<'_> {
    fn drop(&mut self) {
        // A try abandoned without an outcome (client gone, task cancelled):
        // free its slot without judging the server.
        if let Some(id) = self.current.take() {
            self.up.group.abandon(id);
            self.up.stats[self.up.server_index(id)].on_try_end();
        }
    }
}
