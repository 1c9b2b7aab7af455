//! One server's passive health and balancing state: nginx's
//! `ngx_http_upstream_rr_peer_t` and the rules of
//! `ngx_http_upstream_round_robin.c`, as pure code with time passed in.
//!
//! The rules, exactly as nginx applies them (see
//! `shared/reference/nginx-upstream.md`):
//! - quarantined: `max_fails > 0 && fails >= max_fails && now - checked <= fail_timeout`;
//! - picked: if `now - checked > fail_timeout` then `checked = now` (this turns
//!   the first pick after a quarantine into the single live probe: it re-arms
//!   the quarantine for everyone else while the probe is in flight);
//! - failed: `fails += 1; accessed = checked = now;
//!   effective_weight -= weight / max_fails` (floor 0);
//! - succeeded: if `accessed < checked` then `fails = 0` (a success forgives
//!   the history only after a quiet period: this is not a sliding window).
//!
//! One deliberate extension: when the group has active health checks,
//! recovery from a quarantine is gated by them ([`Recovery::ByActiveCheck`]):
//! the quarantine does not expire by itself and no client request is used as a
//! probe; an active pass that comes after `fail_timeout` ends it.

/// Milliseconds on a monotonic clock: the only notion of time in pure code.
pub type Millis = i64;

/// A time long before any real one, so `now - NEVER > fail_timeout` always holds
/// (nginx starts `checked` and `accessed` at 0 on the epoch clock).
pub const NEVER: Millis = i64::MIN / 4;

/// How a quarantined server comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// nginx: after `fail_timeout` one live client request probes the server.
    ByClientProbe,
    /// tandem with active checks: an active pass after `fail_timeout` ends the
    /// quarantine; client requests never probe a quarantined server.
    ByActiveCheck,
}

/// The static parameters of a server (from the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerParams {
    pub weight: i64,
    pub max_fails: u32,
    pub fail_timeout: Millis,
    pub down: bool,
    pub max_conns: u32,
    /// nginx Plus `slow_start`: a server that comes back or joins ramps its
    /// weight up from almost nothing to `weight` over this long; 0 = off.
    pub slow_start: Millis,
}

/// The scale of a weight in the balancers' arithmetic: a weight of 1 is
/// 1000 units, so a ramping server can hold a fraction of it.
pub const WEIGHT_UNITS: i64 = 1000;

/// How long a response-time average keeps half its value without a new
/// sample (`least_time`): a server that was slow is tried again once its
/// old average has faded, instead of never.
pub const TIME_HALF_LIFE: Millis = 10_000;

/// Active health of a server, as the active checker last decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveState {
    /// No active checks in this group, or the server passed them.
    Up,
    /// The server failed `fall` consecutive checks.
    Down,
    /// `mandatory` checks: not yet checked once; takes no traffic.
    Checking,
}

/// What an operator set through the runtime API (not in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminState {
    /// Takes traffic as the config and its health say.
    #[default]
    Normal,
    /// No new requests; those in flight finish. Active checks go on.
    Draining,
    /// Maintenance: no new requests and no active checks.
    Disabled,
}

/// Mutable state of one server. Lives inside the group's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub params: PeerParams,
    /// Weight after failures; regrows by one per selection pass.
    pub effective_weight: i64,
    /// Smooth weighted round robin accumulator.
    pub current_weight: i64,
    /// Failures counted since the last forgiving success.
    pub fails: u32,
    /// Time of the last failure.
    pub accessed: Millis,
    /// Time of the last failure, or of the first pick after a quiet period.
    pub checked: Millis,
    /// Requests in flight to this server (for `least_conn` and `max_conns`).
    pub conns: u32,
    pub active: ActiveState,
    pub admin: AdminState,
    /// When the current slow-start ramp began ([`NEVER`]: none).
    pub ramp_from: Millis,
    /// `least_time`: the decayed average response time in microseconds,
    /// -1 before the first sample; and when that sample came.
    pub avg_time_us: i64,
    pub time_at: Millis,
}

impl Peer {
    pub fn new(params: PeerParams, active: ActiveState) -> Self {
        Peer {
            params,
            effective_weight: params.weight,
            current_weight: 0,
            fails: 0,
            accessed: NEVER,
            checked: NEVER,
            conns: 0,
            active,
            admin: AdminState::Normal,
            ramp_from: NEVER,
            avg_time_us: -1,
            time_at: NEVER,
        }
    }

    /// Take over the health of the same server from the previous config (a
    /// reload): failures and their times, and, when `keep_active`, the
    /// active-check verdict. The smooth-WRR position carries over only when
    /// the weight did not change. In-flight counts stay with the old config,
    /// whose requests release them there.
    pub fn inherit(&mut self, old: &Peer, keep_active: bool) {
        self.fails = old.fails;
        self.accessed = old.accessed;
        self.checked = old.checked;
        if keep_active {
            self.active = old.active;
        }
        if old.params.weight == self.params.weight {
            self.effective_weight = old.effective_weight;
            self.current_weight = old.current_weight;
        }
        self.ramp_from = old.ramp_from;
        self.avg_time_us = old.avg_time_us;
        self.time_at = old.time_at;
    }

    /// Begin a slow-start ramp at `now` (no effect without `slow_start`).
    pub fn start_ramp(&mut self, now: Millis) {
        if self.params.slow_start > 0 {
            self.ramp_from = now;
        }
    }

    /// True while a slow-start ramp runs.
    pub fn is_ramping(&self, now: Millis) -> bool {
        self.params.slow_start > 0 && now - self.ramp_from < self.params.slow_start
    }

    /// The share of its weight the server has at `now`, in thousandths:
    /// 1000, or during a slow start the elapsed part of it (at least 1, so a
    /// ramping server is never left out entirely).
    pub fn ramp_permille(&self, now: Millis) -> i64 {
        if !self.is_ramping(now) {
            return WEIGHT_UNITS;
        }
        ((now - self.ramp_from).max(0) * WEIGHT_UNITS / self.params.slow_start).clamp(1, WEIGHT_UNITS)
    }

    /// The weight the balancers use at `now`, in [`WEIGHT_UNITS`]: the
    /// effective weight (reduced by failures) times the slow-start ramp.
    pub fn weight_units(&self, now: Millis) -> i64 {
        self.effective_weight * self.ramp_permille(now)
    }

    /// The server's active state changes to `state` (an active check's
    /// verdict). Coming back from `Down` starts a slow-start ramp, and so
    /// does passing the first check of a server that joined moments ago.
    pub fn set_active(&mut self, state: ActiveState, now: Millis) {
        let ramping_join = self.active == ActiveState::Checking && self.is_ramping(now);
        if state == ActiveState::Up && (self.active == ActiveState::Down || ramping_join) {
            self.start_ramp(now);
        }
        self.active = state;
    }

    /// The average response time at `now`, halved for every
    /// [`TIME_HALF_LIFE`] since the last sample; `None` before any sample.
    pub fn avg_time_at(&self, now: Millis) -> Option<i64> {
        if self.avg_time_us < 0 {
            return None;
        }
        let halvings = ((now - self.time_at).max(0) / TIME_HALF_LIFE).min(62);
        Some(self.avg_time_us >> halvings)
    }

    /// A response time sample (microseconds): the first one is taken as
    /// it is, later ones move the average by an eighth of the difference
    /// (nginx Plus does not document its factor; 1/8 is TCP's SRTT gain).
    pub fn on_time_sample(&mut self, sample_us: i64, now: Millis) {
        self.avg_time_us = match self.avg_time_at(now) {
            None => sample_us,
            Some(avg) => avg + (sample_us - avg) / 8,
        };
        self.time_at = now;
    }

    /// True when the server may take new requests as far as the operator is
    /// concerned (not drained, not disabled).
    pub fn admin_allows(&self) -> bool {
        self.admin == AdminState::Normal
    }

    /// True while failure accounting keeps this server out of selection.
    pub fn is_quarantined(&self, now: Millis, recovery: Recovery) -> bool {
        let p = &self.params;
        if p.max_fails == 0 || self.fails < p.max_fails {
            return false;
        }
        match recovery {
            Recovery::ByClientProbe => now - self.checked <= p.fail_timeout,
            Recovery::ByActiveCheck => true,
        }
    }

    /// True when the server is at its `max_conns` cap.
    pub fn is_full(&self) -> bool {
        self.params.max_conns > 0 && self.conns >= self.params.max_conns
    }

    /// The test every balancer applies before considering a server (not
    /// counting the per-request "already tried" test).
    pub fn is_usable(&self, now: Millis, recovery: Recovery) -> bool {
        !self.params.down
            && self.admin_allows()
            && self.active == ActiveState::Up
            && !self.is_quarantined(now, recovery)
            && !self.is_full()
    }

    /// One smooth-WRR step for a candidate: add its effective weight and let a
    /// reduced effective weight regrow by one. Returns the weight added to the
    /// pass total.
    pub fn wrr_step(&mut self, now: Millis) -> i64 {
        let added = self.weight_units(now);
        self.current_weight += added;
        if self.effective_weight < self.params.weight {
            self.effective_weight += 1;
        }
        added
    }

    /// The server was chosen for a request.
    pub fn on_picked(&mut self, now: Millis) {
        if now - self.checked > self.params.fail_timeout {
            self.checked = now;
        }
        self.conns += 1;
    }

    /// The attempt failed (an error, a timeout, or a listed status that moved
    /// the request on). Returns true when this failure disabled the server.
    pub fn on_failure(&mut self, now: Millis) -> bool {
        self.fails = self.fails.saturating_add(1);
        self.accessed = now;
        self.checked = now;
        let mut disabled = false;
        if self.params.max_fails > 0 {
            self.effective_weight -= self.params.weight / i64::from(self.params.max_fails);
            disabled = self.fails >= self.params.max_fails;
        }
        if self.effective_weight < 0 {
            self.effective_weight = 0;
        }
        disabled
    }

    /// The attempt succeeded (or ended in a way nginx does not count).
    /// A success that ends a quarantine (the client probe) starts a
    /// slow-start ramp.
    pub fn on_success(&mut self, now: Millis) {
        if self.accessed < self.checked {
            if self.params.max_fails > 0 && self.fails >= self.params.max_fails {
                self.start_ramp(now);
            }
            self.fails = 0;
        }
    }

    /// The attempt is over: release its connection slot.
    pub fn on_released(&mut self) {
        self.conns = self.conns.saturating_sub(1);
    }

    /// An active check passed. Under [`Recovery::ByActiveCheck`] it ends a
    /// quarantine whose `fail_timeout` has run out. Returns true when it did.
    pub fn on_active_pass(&mut self, now: Millis) -> bool {
        let p = &self.params;
        if p.max_fails > 0 && self.fails >= p.max_fails && now - self.checked > p.fail_timeout {
            self.fails = 0;
            self.start_ramp(now);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(weight: i64, max_fails: u32, fail_timeout: Millis) -> Peer {
        Peer::new(
            PeerParams { weight, max_fails, fail_timeout, down: false, max_conns: 0, slow_start: 0 },
            ActiveState::Up,
        )
    }

    const PROBE: Recovery = Recovery::ByClientProbe;

    #[test]
    fn a_new_server_is_usable() {
        assert!(peer(1, 1, 10_000).is_usable(0, PROBE));
    }

    #[test]
    fn max_fails_failures_quarantine_the_server_for_fail_timeout() {
        let mut p = peer(1, 2, 10_000);
        p.on_picked(1_000);
        assert!(!p.on_failure(1_000));
        assert!(p.is_usable(1_000, PROBE), "one failure of two allowed");
        p.on_picked(2_000);
        assert!(p.on_failure(2_000), "second failure disables");
        assert!(!p.is_usable(2_000, PROBE));
        assert!(!p.is_usable(12_000, PROBE), "quarantine includes the boundary");
        assert!(p.is_usable(12_001, PROBE));
    }

    #[test]
    fn max_fails_zero_turns_accounting_off() {
        let mut p = peer(1, 0, 10_000);
        for t in 0..10 {
            p.on_picked(t);
            p.on_failure(t);
        }
        assert!(p.is_usable(10, PROBE));
        assert_eq!(p.effective_weight, 1, "weight is not reduced either");
    }

    #[test]
    fn failures_within_fail_timeout_of_each_other_add_up_despite_successes_between() {
        // nginx issue 599: max_fails=3 fail_timeout=8s, a failure every 5 s with
        // good traffic in between disables the server on the third failure.
        let mut p = peer(1, 3, 8_000);
        let mut t = 0;
        for failure in 1..=3 {
            for _ in 0..4 {
                p.on_picked(t);
                p.on_success(t);
                p.on_released();
                t += 1_000;
            }
            t += 1_000;
            p.on_picked(t);
            let disabled = p.on_failure(t);
            p.on_released();
            assert_eq!(disabled, failure == 3, "failure {failure}");
        }
        assert!(!p.is_usable(t, PROBE));
    }

    #[test]
    fn a_success_after_a_quiet_period_longer_than_fail_timeout_forgives_failures() {
        let mut p = peer(1, 3, 8_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_picked(9_000); // quiet period over: checked moves on
        p.on_success(9_000);
        assert_eq!(p.fails, 0);
    }

    #[test]
    fn a_success_within_fail_timeout_does_not_forgive_failures() {
        let mut p = peer(1, 3, 8_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_picked(8_000);
        p.on_success(8_000);
        assert_eq!(p.fails, 1);
    }

    #[test]
    fn a_failure_after_a_quiet_period_still_adds_to_the_old_count() {
        let mut p = peer(1, 2, 8_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_picked(20_000);
        assert!(p.on_failure(20_000), "nginx forgives only on a success");
    }

    #[test]
    fn the_first_pick_after_quarantine_rearms_it_so_only_one_probe_goes_out() {
        let mut p = peer(1, 1, 10_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_released();
        assert!(p.is_usable(10_001, PROBE));
        p.on_picked(10_001); // the probe
        assert!(!p.is_usable(10_002, PROBE), "others wait while the probe runs");
    }

    #[test]
    fn a_successful_probe_brings_the_server_back_at_once() {
        let mut p = peer(1, 1, 10_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_released();
        p.on_picked(10_001);
        p.on_success(10_001);
        p.on_released();
        assert!(p.is_usable(10_002, PROBE));
        assert_eq!(p.fails, 0);
    }

    #[test]
    fn a_failed_probe_quarantines_for_another_full_fail_timeout() {
        let mut p = peer(1, 1, 10_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_released();
        p.on_picked(10_001);
        p.on_failure(10_001);
        p.on_released();
        assert!(!p.is_usable(20_001, PROBE));
        assert!(p.is_usable(20_002, PROBE));
    }

    #[test]
    fn a_failure_drops_effective_weight_by_weight_over_max_fails() {
        let mut p = peer(10, 3, 10_000);
        p.on_failure(0);
        assert_eq!(p.effective_weight, 7);
        p.on_failure(0);
        p.on_failure(0);
        p.on_failure(0);
        assert_eq!(p.effective_weight, 0, "floored at zero");
    }

    #[test]
    fn effective_weight_regrows_by_one_per_selection_pass() {
        let mut p = peer(3, 1, 10_000);
        p.on_failure(0);
        assert_eq!(p.effective_weight, 0);
        assert_eq!(p.wrr_step(0), 0);
        assert_eq!(p.effective_weight, 1);
        assert_eq!(p.wrr_step(0), WEIGHT_UNITS);
        p.wrr_step(0);
        p.wrr_step(0);
        assert_eq!(p.effective_weight, 3, "never above weight");
    }

    #[test]
    fn a_down_server_is_never_usable() {
        let mut p = peer(1, 1, 10_000);
        p.params.down = true;
        assert!(!p.is_usable(0, PROBE));
    }

    #[test]
    fn a_server_at_max_conns_is_not_usable_until_a_request_ends() {
        let mut p = peer(1, 1, 10_000);
        p.params.max_conns = 2;
        p.on_picked(0);
        p.on_picked(0);
        assert!(!p.is_usable(0, PROBE));
        p.on_released();
        assert!(p.is_usable(0, PROBE));
    }

    #[test]
    fn with_active_recovery_a_quarantine_never_expires_by_itself() {
        let mut p = peer(1, 1, 10_000);
        p.on_failure(0);
        assert!(!p.is_usable(1_000_000, Recovery::ByActiveCheck));
    }

    #[test]
    fn an_active_pass_after_fail_timeout_ends_the_quarantine() {
        let mut p = peer(1, 1, 10_000);
        p.on_failure(0);
        assert!(!p.on_active_pass(5_000), "too early: fail_timeout still runs");
        assert!(!p.is_usable(5_000, Recovery::ByActiveCheck));
        assert!(p.on_active_pass(10_001));
        assert!(p.is_usable(10_001, Recovery::ByActiveCheck));
    }

    #[test]
    fn a_draining_or_disabled_server_is_not_usable_and_normal_brings_it_back() {
        let mut p = peer(1, 1, 10_000);
        p.admin = AdminState::Draining;
        assert!(!p.is_usable(0, PROBE));
        p.admin = AdminState::Disabled;
        assert!(!p.is_usable(0, PROBE));
        p.admin = AdminState::Normal;
        assert!(p.is_usable(0, PROBE));
    }

    #[test]
    fn inherit_takes_failures_and_active_state_and_keeps_the_wrr_position_only_for_the_same_weight() {
        let mut old = peer(4, 2, 10_000);
        old.on_picked(5);
        old.on_failure(5);
        old.wrr_step(0);
        old.active = ActiveState::Down;
        old.conns = 3;
        let mut same = peer(4, 2, 10_000);
        same.inherit(&old, true);
        assert_eq!((same.fails, same.checked, same.accessed), (1, 5, 5));
        assert_eq!(same.active, ActiveState::Down);
        assert_eq!((same.effective_weight, same.current_weight), (old.effective_weight, old.current_weight));
        assert_eq!(same.conns, 0, "in-flight requests release on the old config");
        let mut heavier = peer(8, 2, 10_000);
        heavier.inherit(&old, false);
        assert_eq!(heavier.fails, 1);
        assert_eq!(heavier.active, ActiveState::Up, "no active checks any more");
        assert_eq!((heavier.effective_weight, heavier.current_weight), (8, 0));
    }

    #[test]
    fn an_actively_down_or_checking_server_is_not_usable_whatever_its_passive_state() {
        let mut p = peer(1, 1, 10_000);
        p.active = ActiveState::Down;
        assert!(!p.is_usable(0, PROBE));
        p.active = ActiveState::Checking;
        assert!(!p.is_usable(0, PROBE));
    }

    fn slow(slow_start: Millis) -> Peer {
        let mut p = peer(4, 1, 10_000);
        p.params.slow_start = slow_start;
        p
    }

    #[test]
    fn a_ramp_grows_the_weight_linearly_over_slow_start_and_then_stops() {
        let mut p = slow(30_000);
        assert_eq!(p.weight_units(0), 4 * WEIGHT_UNITS, "no ramp until one starts");
        p.start_ramp(1_000);
        assert_eq!(p.weight_units(1_000), 4, "the least share: 1/1000 of the weight");
        assert_eq!(p.weight_units(16_000), 4 * 500, "half way");
        assert_eq!(p.weight_units(31_000), 4 * WEIGHT_UNITS, "over");
        assert!(!p.is_ramping(31_000));
    }

    #[test]
    fn without_slow_start_nothing_ramps() {
        let mut p = slow(0);
        p.start_ramp(5);
        assert!(!p.is_ramping(5));
        assert_eq!(p.ramp_permille(5), WEIGHT_UNITS);
    }

    #[test]
    fn a_quarantine_ended_by_a_client_probe_or_an_active_pass_starts_a_ramp() {
        let mut p = slow(30_000);
        p.on_picked(0);
        p.on_failure(0);
        p.on_released();
        p.on_picked(10_001);
        p.on_success(10_001);
        assert!(p.is_ramping(10_002));
        let mut q = slow(30_000);
        q.on_failure(0);
        assert!(q.on_active_pass(10_001));
        assert!(q.is_ramping(10_001));
    }

    #[test]
    fn coming_back_up_from_down_ramps_but_a_first_pass_at_start_does_not() {
        let mut p = slow(30_000);
        p.active = ActiveState::Down;
        p.set_active(ActiveState::Up, 7);
        assert!(p.is_ramping(8));
        let mut fresh = slow(30_000);
        fresh.active = ActiveState::Checking;
        fresh.set_active(ActiveState::Up, 7);
        assert!(!fresh.is_ramping(8), "the servers of the first config start at full weight");
        let mut joined = slow(30_000);
        joined.active = ActiveState::Checking;
        joined.start_ramp(0);
        joined.set_active(ActiveState::Up, 2_000);
        assert_eq!(joined.ramp_from, 2_000, "a joining server ramps from its first pass");
    }

    #[test]
    fn the_response_time_average_moves_by_an_eighth_and_fades_without_samples() {
        let mut p = peer(1, 1, 10_000);
        assert_eq!(p.avg_time_at(0), None);
        p.on_time_sample(8_000, 0);
        assert_eq!(p.avg_time_at(0), Some(8_000));
        p.on_time_sample(16_000, 1);
        assert_eq!(p.avg_time_at(1), Some(9_000));
        assert_eq!(p.avg_time_at(1 + TIME_HALF_LIFE), Some(4_500));
        assert_eq!(p.avg_time_at(1 + 3 * TIME_HALF_LIFE), Some(1_125));
    }
}
