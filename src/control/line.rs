//! The waiting line of a route with a capacity (docs/attack-mode.md § The waiting line): when
//! the origin is full, sign-ups are admitted in the order their challenges were issued, at the
//! capacity's rate, instead of priced out or answered "busy".
//!
//! A place in the line is the challenge itself: its signed `issued_at` is the place, its
//! binding and single use keep it to one client and one sign-up, its work is the entry price.
//! The line is a **"now serving" watermark** `W` (ms): a submission whose challenge was issued
//! at or before `W` is served; a later one is answered `in_line` with its estimated wait and
//! keeps its challenge unspent. No object is called per waiting request.
//!
//! - **Opening.** At a controller tick that measures admitted sign-ups above `high` of
//!   capacity, the line opens at the latest place this isolate served (the newest challenge
//!   issue time among the sign-ups it forwarded), at most a minute behind now: the challenges
//!   issued since (forms still being filled in, which would all arrive over capacity) wait
//!   their turn; an isolate that served none opens a minute behind now.
//! - **Speed.** `W` moves at `speed` seconds of issue time per second from the start of each
//!   controller period (`W = W_k + speed_k·(now − k·period)`); the first tick in period `k`
//!   sets `speed_k = speed_{k−1}·(target·capacity ÷ admitted)^0.35` (bounded), so the served
//!   rate settles at `target` of capacity whatever the share of places whose holders left.
//! - **Skipping.** A tick that measures the load under half of `target` while the earliest
//!   place answered `in_line` since the last tick lies beyond a period's move of `W` sets `W`
//!   to that place (never into the last minute's places, whose people may still be typing; the
//!   speed moves as in any tick): the places in between were left by people who gave up, and a
//!   mark crossing them at feedback speed serves nobody for minutes.
//! - **Holding still.** A tick at which this isolate held more served places (the route was
//!   full when they came back) than it forwarded over the period keeps `W` where it is for the
//!   period: the watermark ran ahead of what the origin takes, and a place it passed would
//!   otherwise wait among thousands of others served, drawn at random, told "now" for minutes
//!   (`crowd-launch` seed 19: 2,046 people gave up after ten minutes of 1-second waits). The
//!   speed it cruises at ([`Mark::cruise_milli`]) moves as in any tick and is what waits are
//!   estimated from, so a hold does not tell the places behind it a wait over the line's bound.
//! - **Full.** Whatever `W`, a route whose count reaches [`FULL_AT`] of capacity holds even a
//!   served place ([`full_secs`]), and from [`ROOM_FROM`] lets through only a falling share of
//!   them ([`room_milli`]): the watermark orders the places, these bound the rate when the
//!   places served all come back at once.
//! - **Closing.** When `W` reaches `now` the line is empty and closes.
//! - **Across isolates.** A period's state ([`Mark`]: period, `W_k`, `speed_k`) is published to
//!   the route's counter shard, which keeps the largest; an isolate that finds period `k` set
//!   adopts it, one that does not carries `k − 1` on. The speed changes once per period however
//!   many isolates tick, and a cold isolate serves the published state before its first tick.
//!   Isolates that read the same period's state agree exactly; one a refresh behind serves the
//!   previous state carried on (one period's speed change over a second).
//!
//! Pure: time and readings are arguments.

pub use crate::policy::{Serving, Turn};
pub use crate::store::cohorts::Mark;

/// Slowest and fastest the watermark moves (issue seconds per second).
const MIN_SPEED: f64 = 0.02;
const MAX_SPEED: f64 = 2.0;
/// Most a tick changes the speed by (down, up): a faster watermark shows in the admitted rate
/// only once the places it serves come back (up to [`POLL_SECS`] later), so a steep rise
/// overshoots and serves a burst.
const SLOWER: f64 = 0.6;
/// The exponent of the correction `(target ÷ load)^GAIN` a tick applies: under one, because a
/// change shows in the load only a poll or two later.
const GAIN: f64 = 0.35;
const FASTER: f64 = 1.25;
/// A published state older than this many periods belongs to a line nobody carries on.
const LIVE_PERIODS: u64 = 3;
/// A line skips an empty stretch only when it serves under this share of its target.
const SKIP_UNDER: f64 = 0.5;
/// A backlog shorter than this (ms of issue time) is no line.
const EMPTY_MS: u64 = 1000;
/// How far behind now a new line starts serving at most, ms: about the time a person spends
/// on a sign-up form after the widget fetched its challenge (issue 18's fill times).
pub const OPEN_BEHIND_MS: u64 = 60_000;
/// The longest a client is told to wait before asking again, seconds: its turn may come
/// sooner than estimated when people ahead left.
pub const POLL_SECS: u32 = 10;

/// The share of capacity at which a route counts as full. A calendar minute's forwards scatter
/// around the rate the guard holds, so holding at capacity itself sends every other minute
/// over; the middle of the band the line is asked to keep (95–100 %) does not.
pub const FULL_AT: f64 = 0.975;

/// Seconds until a route's admitted count (decaying over `window_secs`, so about the rate
/// times the window) falls back under its capacity of `per_minute`: 0 while under it.
pub fn full_secs(count: f64, per_minute: u32, window_secs: u32) -> u32 {
    let window = f64::from(window_secs.max(1));
    let full = in_window(per_minute, window_secs) * FULL_AT;
    if full <= 0.0 || count < full {
        return 0;
    }
    (window * (count / full).ln()).ceil().clamp(1.0, window) as u32
}

/// A capacity of `per_minute` as a count decaying over `window_secs` holds it at that rate.
fn in_window(per_minute: u32, window_secs: u32) -> f64 {
    f64::from(per_minute) * f64::from(window_secs.max(1)) / 60.0
}

/// The share of capacity from which a route near full forwards only part of its served
/// places, falling to none at [`FULL_AT`].
pub const ROOM_FROM: f64 = 0.925;

/// Thousandths of a route's served places forwarded at a `count` (decaying over
/// `window_secs`) against a capacity of `per_minute`: all under [`ROOM_FROM`] of it, none from
/// [`FULL_AT`], a straight line between.
pub fn room_milli(count: f64, per_minute: u32, window_secs: u32) -> u16 {
    let capacity = in_window(per_minute, window_secs);
    if capacity <= 0.0 {
        return 1000;
    }
    let share = ((FULL_AT - count / capacity) / (FULL_AT - ROOM_FROM)).clamp(0.0, 1.0);
    (share * 1000.0).round() as u16
}

/// A mark's speed, bounded (0 while it holds still).
fn speed(m: &Mark) -> f64 {
    if m.speed_milli == 0 && m.cruise_milli > 0 {
        return 0.0;
    }
    (f64::from(m.speed_milli) / 1000.0).clamp(MIN_SPEED, MAX_SPEED)
}

/// The speed a mark cruises at (its speed, unless it holds still), bounded.
fn cruise(m: &Mark) -> f64 {
    match m.cruise_milli {
        0 => speed(m),
        c => (f64::from(c) / 1000.0).clamp(MIN_SPEED, MAX_SPEED),
    }
}

/// A mark's watermark at `now`: moving at its speed from the period's start, never past now.
fn serving_at(m: &Mark, period_ms: u64, now_ms: u64) -> u64 {
    let start = m.period.saturating_mul(period_ms);
    let moved = (now_ms.saturating_sub(start) as f64 * speed(m)) as u64;
    m.serving_ms.saturating_add(moved).min(now_ms)
}

/// The mark of a period moving at its cruising `speed`.
fn mark_of(period: u64, serving_ms: u64, speed: f64) -> Mark {
    let speed_milli = milli(speed);
    Mark { period, serving_ms, speed_milli, cruise_milli: speed_milli }
}

/// The mark of a period holding still at `serving_ms`, to cruise at `speed` after.
fn held_at(period: u64, serving_ms: u64, speed: f64) -> Mark {
    Mark { period, serving_ms, speed_milli: 0, cruise_milli: milli(speed) }
}

fn milli(speed: f64) -> u32 {
    (speed.clamp(MIN_SPEED, MAX_SPEED) * 1000.0).round() as u32
}

/// What an isolate measured of a route since its last controller tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Readings {
    /// Admitted ÷ capacity over the last period (`None`: not measured yet, a cold isolate's
    /// first reading).
    pub load: Option<f64>,
    /// The latest place this isolate served (ms): a new line opens there.
    pub served_place: Option<u64>,
    /// The earliest place it answered `in_line` (ms): the front of the places still asking.
    pub asked_front: Option<u64>,
    /// Served places it held because the route was full (each counted once) and sign-ups it
    /// forwarded, over the period: more held than forwarded, beyond a count's noise, is more
    /// than a period's service waiting among places already served.
    pub held: (u32, u32),
}

/// Whether `held` served places against `forwarded` sign-ups in a period are more than a
/// period's service beyond the noise of small counts (two standard deviations of a Poisson
/// count): one isolate's reading decides for the route's period, and with 20 isolates a
/// period's counts are a handful.
fn holds(held: u32, forwarded: u32) -> bool {
    let f = f64::from(forwarded);
    f64::from(held) > f + 2.0 * (f + 1.0).sqrt()
}

/// Where a place that asked and was told to wait stood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stand {
    /// Issued after the watermark: its turn has not come.
    Ahead,
    /// Served, but held because the route was full.
    Held,
}

/// A route's line in one isolate: the latest state it knows (its own or adopted).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    state: Option<Mark>,
}

impl Line {
    /// The latest state known at `now`: this isolate's or the published one, if it is recent
    /// (a line ends when nobody carries it on for a few periods).
    fn latest(&self, published: Option<Mark>, period_ms: u64, now_ms: u64) -> Option<Mark> {
        let period = now_ms / period_ms.max(1);
        let live = |m: &Mark| period.saturating_sub(m.period) <= LIVE_PERIODS;
        match (self.state.filter(live), published.filter(live)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// What requests are served at `now`: `None` when there is no line (or it caught up).
    pub fn serving(&self, published: Option<Mark>, period_ms: u64, now_ms: u64) -> Option<Serving> {
        let m = self.latest(published, period_ms, now_ms)?;
        let w = serving_at(&m, period_ms, now_ms);
        (now_ms.saturating_sub(w) >= EMPTY_MS).then_some(Serving {
            serving_ms: w,
            speed: cruise(&m),
            full_secs: 0,
            room_milli: 1000,
        })
    }

    /// The state to publish: this isolate's, while it has a line.
    pub fn mark(&self) -> Option<Mark> {
        self.state
    }

    /// Moves the line at a controller tick on this isolate's `readings`, toward `target` of
    /// capacity (opening above `high`). Returns whether it opened or closed.
    pub fn tick(
        &mut self,
        readings: Readings,
        (target, high): (f64, f64),
        published: Option<Mark>,
        period_ms: u64,
        now_ms: u64,
    ) -> bool {
        let Readings { load, served_place, asked_front, held } = readings;
        let period = now_ms / period_ms.max(1);
        let had = self.state.is_some();
        match self.latest(published, period_ms, now_ms) {
            // this period's state is set already: adopt it
            Some(m) if m.period >= period => self.state = Some(m),
            Some(m) => {
                let start = period.saturating_mul(period_ms);
                let w = serving_at(&m, period_ms, start);
                if start.saturating_sub(w) < EMPTY_MS {
                    // the watermark reached now: the line is empty
                    self.state = None;
                } else {
                    // only a measured load moves the speed
                    let factor = load.map_or(1.0, |l| {
                        if l > 0.0 { (target / l).powf(GAIN).clamp(SLOWER, FASTER) } else { FASTER }
                    });
                    // far under-served while nobody asks with a place within a period's move of
                    // the mark: the places there were left (people gave up or signed up
                    // otherwise), so the mark skips to the first place still asking, never into
                    // the last minute's places, whose people may still be typing; the speed
                    // moves as ever (a skip that kept it would hold a slowed line a minute
                    // behind now for good)
                    let skip_to = load
                        .filter(|l| *l < target * SKIP_UNDER)
                        .and(asked_front)
                        .map(|f| f.min(start.saturating_sub(OPEN_BEHIND_MS)))
                        .filter(|f| *f > w.saturating_add((cruise(&m) * period_ms as f64) as u64));
                    self.state = Some(if holds(held.0, held.1) {
                        // the places it served wait for the origin: hold still until they are in
                        // (the cruising speed moves as ever: a hold is often one isolate's
                        // few places, and keeping the speed from rising while holding took
                        // crowd-spike's line row from 88 % of people to 68 %)
                        held_at(period, w, cruise(&m) * factor)
                    } else {
                        mark_of(period, skip_to.unwrap_or(w), cruise(&m) * factor)
                    });
                }
            }
            None if load.is_some_and(|l| l > high) => {
                // a new line: the challenges issued after the latest served are still being
                // filled in and would all arrive over capacity, so they wait their turn
                let speed = load.map_or(1.0, |l| target / l).min(1.0);
                let start = period.saturating_mul(period_ms);
                let behind = start.saturating_sub(OPEN_BEHIND_MS);
                let w = served_place.map_or(behind, |s| s.clamp(behind, start));
                self.state = Some(mark_of(period, w, speed));
            }
            None => self.state = None,
        }
        had != self.state.is_some()
    }

    /// Whether this isolate knows of an open line.
    pub fn is_open(&self) -> bool {
        self.state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 10_000;

    /// A tick's readings with only the load.
    fn at(load: Option<f64>) -> Readings {
        Readings { load, ..Readings::default() }
    }

    #[test]
    fn a_line_opens_over_high_serves_what_was_issued_and_closes_when_it_reaches_now() {
        let mut l = Line::default();
        assert!(!l.tick(at(Some(0.5)), (0.8, 0.9), None, P, 100_000));
        assert_eq!(l.serving(None, P, 100_000), None);
        assert!(l.tick(at(Some(1.6)), (0.8, 0.9), None, P, 200_000));
        let s = l.serving(None, P, 200_000);
        assert_eq!(s.map(|s| s.serving_ms), Some(140_000), "the last minute's challenges wait too");
        let s = l.serving(None, P, 210_000).map(|s| (s.serving_ms, s.speed));
        assert_eq!(s, Some((145_000, 0.5)), "half speed at twice the target");
        let Some(s) = l.serving(None, P, 210_000) else { panic!("open") };
        assert_eq!(s.turn(145_000, 0.0), Turn::Now);
        assert_eq!(s.turn(149_000, 0.0), Turn::Wait { wait_secs: 8, ahead_secs: 4 });
        // the load falls under target: faster, up to catching up and closing
        let mut t = 210_000;
        let mut closed = false;
        for _ in 0..80 {
            if l.tick(at(Some(0.1)), (0.8, 0.9), None, P, t) && !l.is_open() {
                closed = true;
                break;
            }
            t += P;
        }
        assert!(closed, "a line with spare capacity empties and closes");
        assert_eq!(l.serving(None, P, t), None);
    }

    #[test]
    fn a_cold_isolate_joins_a_live_line_where_it_serves_and_a_stale_one_is_no_line() {
        let mut a = Line::default();
        a.tick(at(Some(2.0)), (0.8, 0.9), None, P, 100_000);
        let m = a.mark();
        assert_eq!(m, Some(Mark { period: 10, serving_ms: 40_000, speed_milli: 400, cruise_milli: 400 }));
        let mut cold = Line::default();
        assert_eq!(cold.serving(m, P, 131_000).map(|s| s.serving_ms), Some(52_400), "joins before its tick");
        assert!(cold.tick(at(None), (0.8, 0.9), m, P, 131_000), "a live line is joined before a measurement");
        assert_eq!(
            cold.mark(),
            Some(Mark { period: 13, serving_ms: 52_000, speed_milli: 400, cruise_milli: 400 })
        );
        assert_eq!(cold.serving(m, P, 141_000).map(|s| (s.serving_ms, s.speed)), Some((56_400, 0.4)));
        // nobody carried it on for four periods: no line
        assert_eq!(Line::default().serving(m, P, 100_000 + 4 * P), None);
        // the merge is the larger state, in any order
        let other = Mark { period: 11, serving_ms: 30_000, speed_milli: 700, cruise_milli: 0 };
        assert_eq!(m.map(|m| m.merge(other)), m.map(|m| other.merge(m)));
        assert_eq!(m.map(|m| m.merge(other)), Some(other), "a later period wins");
    }

    #[test]
    fn a_line_opens_at_the_latest_place_served_but_never_more_than_a_minute_behind() {
        for (served, at) in [
            (Some(185_000), 185_000), // served up to 15 s ago: the rest wait from there
            (Some(120_000), 140_000), // a stale place: at most a minute behind
            (Some(250_000), 200_000), // a place from the future (a clock ahead): now
            (None, 140_000),          // served none: a minute behind
        ] {
            let mut l = Line::default();
            assert!(l.tick(
                Readings { load: Some(2.0), served_place: served, ..Readings::default() },
                (0.8, 0.9),
                None,
                P,
                200_000
            ));
            assert_eq!(l.mark().map(|m| m.serving_ms), Some(at), "served {served:?}");
        }
    }

    #[test]
    fn an_under_served_line_skips_a_stretch_of_places_nobody_asks_for_to_the_first_still_asking() {
        // a line serving at 100 s of issue time at 0.5 s a second, opened at 200 s
        let open = Mark { period: 20, serving_ms: 100_000, speed_milli: 500, cruise_milli: 0 };
        let tick = |load: f64, asked_front: Option<u64>| {
            let mut l = Line::default();
            l.tick(
                Readings { load: Some(load), asked_front, ..Readings::default() },
                (0.8, 0.9),
                Some(open),
                P,
                210_000,
            );
            l.mark().map(|m| (m.serving_ms, m.speed_milli))
        };
        // the mark reached 105 s; the first place still asking is 140 s: nobody asked for the
        // places between (their people left), so it skips there (and speeds up as ever)
        assert_eq!(tick(0.1, Some(140_000)), Some((140_000, 625)));
        // never into the last minute's places (150 s on): their people may still be typing
        assert_eq!(tick(0.1, Some(160_000)), Some((150_000, 625)));
        assert_eq!(tick(0.1, Some(250_000)), Some((150_000, 625)));
        // someone asks within a period's move of the mark (5 s): no skip, it speeds up
        assert_eq!(tick(0.1, Some(109_000)), Some((105_000, 625)));
        // nobody asked at all: no skip (a quiet isolate knows nothing of the front)
        assert_eq!(tick(0.1, None), Some((105_000, 625)));
        // served at half the target or more: no skip, whatever is asked
        assert_eq!(tick(0.5, Some(140_000)).map(|m| m.0), Some(105_000));
        assert_eq!(tick(0.8, Some(140_000)).map(|m| m.0), Some(105_000));
        assert_eq!(tick(1.6, Some(140_000)).map(|m| m.0), Some(105_000));
    }

    #[test]
    fn a_slowed_line_that_keeps_skipping_still_speeds_up_and_closes() {
        // slowed to the least speed, far under-served, asked for only by the newest places: a
        // skip that kept the speed would hold the mark a minute behind now for good, and every
        // new place would be told a wait over any bound
        let mut l = Line::default();
        let mut published = Some(Mark { period: 20, serving_ms: 100_000, speed_milli: 20, cruise_milli: 0 });
        let mut t = 210_000;
        let mut closed = false;
        for _ in 0..40 {
            let readings = Readings { load: Some(0.1), asked_front: Some(t - 1_000), ..Readings::default() };
            if l.tick(readings, (0.8, 0.9), published, P, t) && !l.is_open() {
                closed = true;
                break;
            }
            published = l.mark();
            t += P;
        }
        assert!(closed, "the line catches up with now: {:?}", l.mark());
    }

    #[test]
    fn a_route_over_capacity_is_full_until_its_count_decays_under_it() {
        // 80 a minute over a 60 s window: full from a count of 78 (FULL_AT of 80)
        assert_eq!(full_secs(77.9, 80, 60), 0);
        assert_eq!(full_secs(78.0, 80, 60), 1);
        assert_eq!(full_secs(78.0 * 1.1, 80, 60), 6, "60·ln(1.1) = 5.7 s");
        assert_eq!(full_secs(1e9, 60, 60), 60, "never longer than the window");
        assert_eq!(full_secs(5.0, 0, 60), 0, "no capacity stated: never full");
        // a served place waits while full, a later one at least as long
        let s = Serving { serving_ms: 100_000, speed: 0.5, full_secs: 6, room_milli: 1000 };
        assert_eq!(s.turn(90_000, 0.0), Turn::Wait { wait_secs: 6, ahead_secs: 0 });
        assert_eq!(s.turn(101_000, 0.0), Turn::Wait { wait_secs: 6, ahead_secs: 1 });
        assert_eq!(s.turn(110_000, 0.0), Turn::Wait { wait_secs: 20, ahead_secs: 10 });
        assert_eq!(Serving { full_secs: 0, ..s }.turn(90_000, 0.0), Turn::Now);
    }

    #[test]
    fn a_route_near_full_lets_through_a_share_of_its_served_places_that_falls_to_none_at_full() {
        // 200 a minute over a 60 s window
        let at = |share: f64| room_milli(200.0 * share, 200, 60);
        assert_eq!(at(0.5), 1000);
        assert_eq!(at(ROOM_FROM), 1000);
        assert_eq!(at((ROOM_FROM + FULL_AT) / 2.0), 500);
        assert_eq!(at(FULL_AT), 0);
        assert_eq!(at(2.0), 0);
        let mut last = 1000;
        for i in 0..=100 {
            let r = at(0.85 + f64::from(i) * 0.002);
            assert!(r <= last, "never more room for a higher count");
            last = r;
        }
        assert_eq!(room_milli(1e9, 0, 60), 1000, "no capacity stated: never thinned");
        // a served place passes when its draw is under the room, waits a second otherwise; a
        // place not yet served waits for its turn whatever it drew
        let s = Serving { serving_ms: 100_000, speed: 1.0, full_secs: 0, room_milli: 250 };
        assert_eq!(s.turn(90_000, 0.2), Turn::Now);
        assert_eq!(s.turn(90_000, 0.3), Turn::Wait { wait_secs: 1, ahead_secs: 0 });
        assert_eq!(s.turn(103_000, 0.0), Turn::Wait { wait_secs: 3, ahead_secs: 3 });
        let passed = (0..1000).filter(|i| s.turn(90_000, f64::from(*i) / 1000.0) == Turn::Now).count();
        assert_eq!(passed, 250);
    }

    /// `n` isolates ticking at staggered times in every period, each reading the others' marks
    /// at once (a shard answers every exchange); returns the published state at the end.
    fn isolates(n: u64, periods: u64, load: f64) -> Mark {
        let mut lines: Vec<Line> = (0..n).map(|_| Line::default()).collect();
        let mut published: Option<Mark> = None;
        let mut t = 100_000;
        for _ in 0..periods {
            for (i, l) in lines.iter_mut().enumerate() {
                let now = t + i as u64 * P / n;
                l.tick(at(Some(load)), (0.8, 0.9), published, P, now);
                if let Some(m) = l.mark() {
                    published = Some(published.map_or(m, |p| p.merge(m)));
                }
            }
            t += P;
        }
        published.unwrap_or_default()
    }

    #[test]
    fn isolates_reanchoring_on_each_other_do_not_add_their_speeds() {
        // at target the speed holds: the shared watermark moves at it, not n times it
        let opened = isolates(8, 1, 2.0);
        assert_eq!(opened.speed_milli, 400);
        let after = isolates(8, 31, 2.0);
        let held = isolates(1, 31, 2.0);
        assert_eq!(after.period, held.period);
        // a load of 2.0 keeps slowing it by the same steps whether one isolate or eight tick
        assert_eq!(after.speed_milli, held.speed_milli, "{after:?} {held:?}");
        assert_eq!(after.serving_ms, held.serving_ms);
    }

    #[test]
    fn the_speed_changes_once_a_period_whatever_the_number_of_isolates() {
        for n in [1, 3, 8, 20] {
            let m = isolates(n, 4, 0.4);
            // 0.4 is under `high`: the line never opens
            assert_eq!(m, Mark::default(), "{n} isolates, no overload: no line");
        }
        // opened by an overload, then three periods at half the target: ×1.25 per period
        let mut lines: Vec<Line> = (0..20).map(|_| Line::default()).collect();
        let mut published: Option<Mark> = None;
        let mut t = 100_000;
        for period in 0..4u64 {
            let load = if period == 0 { 1.6 } else { 0.4 };
            for (i, l) in lines.iter_mut().enumerate() {
                l.tick(at(Some(load)), (0.8, 0.9), published, P, t + i as u64 * P / 20);
                if let Some(m) = l.mark() {
                    published = Some(published.map_or(m, |p| p.merge(m)));
                }
            }
            t += P;
        }
        let speed = published.map_or(0, |m| m.speed_milli);
        // 500 × 1.25³ ≈ 977 (rounded each period), not 1.25 to the 60th
        assert!((975..=978).contains(&speed), "{speed}");
    }

    #[test]
    fn a_line_whose_served_places_are_held_holds_still_and_states_waits_at_its_cruising_speed() {
        // open at twice the target: half speed, a minute behind
        let mut l = Line::default();
        l.tick(at(Some(1.6)), (0.8, 0.9), None, P, 200_000);
        let open = l.serving(None, P, 205_000).map(|s| (s.serving_ms, s.speed));
        assert_eq!(open, Some((142_500, 0.5)));
        // more served places held than forwarded over the period, beyond a count's noise: the
        // watermark stays where the period started for the whole period
        for held in [(4, 0), (9, 3), (40, 20), (130, 100)] {
            let mut h = l.clone();
            h.tick(Readings { load: Some(0.8), held, ..Readings::default() }, (0.8, 0.9), None, P, 210_000);
            let still: Vec<u64> = [210_000, 215_000, 219_999]
                .iter()
                .filter_map(|t| h.serving(None, P, *t))
                .map(|s| s.serving_ms)
                .collect();
            assert_eq!(still, vec![145_000; 3], "held {held:?}: the watermark holds still");
            // waits are stated at the cruising speed, not the speed of a line holding still
            let Some(s) = h.serving(None, P, 215_000) else { panic!("open") };
            assert_eq!(s.speed, 0.5);
            assert_eq!(s.turn(155_000, 0.0), Turn::Wait { wait_secs: 20, ahead_secs: 10 });
            // the places come in: it moves on at its cruising speed
            h.tick(at(Some(0.8)), (0.8, 0.9), None, P, 220_000);
            let moved = h.serving(None, P, 230_000).map(|s| (s.serving_ms, s.speed));
            assert_eq!(moved, Some((150_000, 0.5)), "held {held:?}");
        }
        // as many held as forwarded, fewer, or a few more than a small count's noise: it moves
        // as ever
        for held in [(0, 0), (2, 0), (1, 2), (6, 3), (10, 10), (115, 100)] {
            let mut h = l.clone();
            h.tick(Readings { load: Some(0.8), held, ..Readings::default() }, (0.8, 0.9), None, P, 210_000);
            assert_eq!(h.serving(None, P, 220_000).map(|s| s.serving_ms), Some(150_000), "held {held:?}");
        }
        // a state stored before the cruising speed existed reads its speed
        let old = Mark { period: 21, serving_ms: 145_000, speed_milli: 500, cruise_milli: 0 };
        assert_eq!(Line::default().serving(Some(old), P, 215_000).map(|s| s.speed), Some(0.5));
    }
}
