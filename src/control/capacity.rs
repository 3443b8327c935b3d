//! The capacity controller: prices driven by how many sign-ups per minute the origin (or its
//! SMS provider, for an OTP route) can take, instead of fixed per-cohort thresholds.
//!
//! Modelled on Tor's onion-service proof of work (proposal 327, now the `hspow` spec): the
//! service, not the client, adapts a suggested effort at fixed update periods — up when its
//! introduction queue is not being served, down when it is — and clients pay that effort.
//! Here the "queue" is the origin: the controller compares admitted sign-ups with the stated
//! capacity once per [`Params::period_ms`] and moves prices in bits (each bit doubles the
//! work, so a rational solver's admitted rate halves):
//!
//! 1. **Measure** arrivals per minute over the last period from the decaying counters (the
//!    difference of two readings, `(v₂ − v₁·e^{−Δ/W}) ÷ W(1 − e^{−Δ/W})` per second: no counter
//!    lag, and the period's own arrivals' decay accounted for), for the route (its total) and
//!    for each cohort read in the last two periods; a cohort read after a gap (too rare in this
//!    isolate to be read every period) by its share of the route's count over the window (the
//!    driver passes only what its shards answered lately).
//! 2. **Raise** when admitted sign-ups exceed [`Params::high`] of capacity: first the
//!    cohorts whose share of sign-ups is furthest above their *usual share* (learned while the
//!    route is not under pressure), each by the bits that bring the predicted total down to
//!    [`Params::target`], biggest contributor first; only if no cohort stands out, everyone's
//!    price by one bit. A cohort whose price would pass `ceiling` bits is shed (`busy`); the
//!    site-wide step stops at the ceiling (a uniform overload is priced, not shed).
//! 3. **Relax** one step per period when that step is predicted (from the cohort's measured
//!    demand, `rate · 2^step`) to keep the total at or below [`Params::low`]: the hysteresis
//!    between `low` and `high` is wider than one step's effect, so a settled price does not
//!    flap. A shed cohort's demand is unobservable; it is halved every `shed_hold` periods, so
//!    a cohort that stopped is let back in to be measured.
//!
//! Pure: time and the counter readings are arguments.

use super::line::{Line, Mark, Readings, Serving, Stand};
use std::collections::BTreeMap;

/// Tuning (the defaults are what the tests and docs/attack-mode.md describe).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Params {
    /// Sign-ups per minute the route can take.
    pub capacity_per_minute: f64,
    /// Extra bits at which a cohort is shed.
    pub ceiling: u8,
    /// Update period, ms.
    pub period_ms: u64,
    /// Raise above this fraction of capacity.
    pub high: f64,
    /// Aim for this fraction after raising.
    pub target: f64,
    /// Relax only if predicted to stay at or below this fraction.
    pub low: f64,
    /// A cohort stands out when its share exceeds its usual share by this much.
    pub min_excess: f64,
    /// Periods after which a shed cohort's presumed demand halves.
    pub shed_hold: u32,
    /// Time constant of the usual shares, ms.
    pub usual_ms: u64,
    /// Whether the route has a waiting line ([`super::line`]): it rations a load nothing
    /// stands out in, instead of a site-wide price.
    pub line: bool,
}

impl Params {
    /// The tuning for a route's `[[attack.capacity]]` entry.
    pub fn of(c: &crate::policy::Capacity) -> Params {
        Params {
            period_ms: u64::from(c.period_secs.max(1)) * 1000,
            line: c.line_max_wait_secs > 0,
            ..Params::new(c.per_minute, c.ceiling_bits)
        }
    }

    /// Defaults for a capacity and a ceiling.
    pub fn new(capacity_per_minute: u32, ceiling: u8) -> Params {
        Params {
            capacity_per_minute: f64::from(capacity_per_minute.max(1)),
            ceiling,
            period_ms: 10_000,
            high: 0.9,
            target: 0.8,
            low: 0.7,
            min_excess: 0.1,
            shed_hold: 6,
            usual_ms: 3_600_000,
            line: false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Cohort {
    /// Extra bits; `ceiling + 1` is shed.
    step: u8,
    /// Last measured arrivals per minute.
    rate: f64,
    /// Presumed arrivals per minute at the base price (`rate · 2^step`).
    demand: f64,
    /// Usual share of the route's sign-ups.
    usual: f64,
    /// Periods spent shed.
    shed_for: u32,
    /// Whether its usual share has been learned at least once.
    learned: bool,
    /// Calm readings its usual share was learned from (the first ones are averaged: one
    /// period's share is noisy).
    calm_readings: u32,
    /// Its last reading (a tick's time, ms; the count): its share and rate are as of then.
    read: Option<(u64, f64)>,
    /// Its share of the route's sign-ups, averaged over the last few periods while read every
    /// period.
    share: f64,
    /// The share its usual share learns from when the period is calm: the period's own when
    /// it was read the period before too, else its share of the window's count.
    calm_share: f64,
}

impl Cohort {
    fn read_now(&self, now_ms: u64) -> bool {
        self.read.is_some_and(|(t, _)| t == now_ms)
    }
}

/// What the controller asks of one request's cohorts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Price {
    /// Extra difficulty bits (0: the base price).
    Extra(u8),
    /// Shed (`busy`): this cohort reached the ceiling.
    Shed(String),
}

/// One route's controller as the stats page shows it (this isolate's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// The protected route.
    pub route: String,
    /// Admitted per minute, last period.
    pub admitted_per_minute: f64,
    /// The site-wide step, bits.
    pub site_bits: u8,
    /// Cohorts priced above the base, with their extra bits.
    pub raised: Vec<(String, u8)>,
    /// Price changes so far (up, down).
    pub changes: (u64, u64),
}

/// The controller of one route.
#[derive(Clone, Debug, Default)]
pub struct Controller {
    global: u8,
    cohorts: BTreeMap<String, Cohort>,
    /// The route's last count (ms, value): its admitted rate is the difference of two.
    site_reading: Option<(u64, f64)>,
    last_tick_ms: Option<u64>,
    /// Admitted sign-ups per minute, last period.
    admitted: f64,
    /// Price changes so far (up, down), for tests and the stats page.
    pub changes: (u64, u64),
    /// When prices were last raised (ms), newest last: the forecast's trend.
    raised_at: Vec<u64>,
    /// Load (admitted ÷ capacity) at the last tick.
    load: f64,
    /// The waiting line, on a route that has one.
    line: Line,
    /// Calm periods measured (load under `low`, no line open): before [`CALM_PERIODS`], no usual share is
    /// known, so on a route with a waiting line no cohort is said to stand out (a cold
    /// controller would otherwise raise the biggest cohorts, a big country or carrier, first);
    /// the line rations the load. Without a line the biggest contributor is still priced first,
    /// as a site-wide price would land on everyone.
    calm_periods: u32,
    /// Whether the last tick measured the load (a cold controller's first one cannot).
    measured: bool,
    /// The latest place (challenge issue time, ms) this isolate forwarded on the route: a line
    /// opens there.
    served_place_ms: Option<u64>,
    /// When this isolate forwarded the route's last sign-ups (ms, oldest first, taken by
    /// [`Controller::hold`], the last [`HERE_WINDOW_MS`]'s, at most [`RECENT_MAX`]): the exact
    /// count behind the shared decaying one.
    recent: std::collections::VecDeque<u64>,
    /// The earliest place answered `in_line` here since the last tick (ms): the front of the
    /// places still asking, as this isolate sees them.
    asked_front_ms: Option<u64>,
    /// The served places held here since the last tick (their issue times, at most
    /// [`RECENT_MAX`]: a held place asks again every few seconds and is counted once).
    held_places: std::collections::BTreeSet<u64>,
    /// Sign-ups forwarded here since the last tick.
    served_since_tick: u32,
}

/// Forward times a controller keeps for its exact minute.
const RECENT_MAX: usize = 4096;

/// The exact minute's length: a minute and a second, as a forward reaches the origin a little
/// after the gate takes it, and the origin's own sliding minute must stay within capacity too.
const HERE_WINDOW_MS: u64 = 61_000;

/// A cohort stands out when its share is also at least this multiple of its usual share: a big
/// cohort's share (a country of 30 %) wanders by more than `min_excess` from one period to the
/// next, an attacking one's grows many times over.
const STANDS_OUT: f64 = 1.5;

/// Weight of a period's share in a cohort's averaged share (about the last three periods).
const SHARE_WEIGHT: f64 = 0.35;

/// The share of capacity a waiting line serves.
pub const LINE_TARGET: f64 = 0.9;

/// Calm periods after which usual shares are known well enough for a cohort to stand out on a
/// route with a line (a minute at the default period).
const CALM_PERIODS: u32 = 6;

/// Calm periods a cohort is read in before its usual share counts as known on a route with
/// a line (a period's share of a cohort of a few sign-ups is mostly noise).
const KNOWN_AFTER: u32 = 6;

/// How far ahead the forecast looks, ms: about the time a person spends on a sign-up form,
/// which is the time the widget has to bank work toward the suggestion.
pub const FORECAST_MS: u64 = 60_000;

impl Controller {
    /// Whether a tick at `now` would act (once per period): callers skip gathering the
    /// readings otherwise, which keeps a request's cost independent of the number of cohorts.
    pub fn due(&self, p: &Params, now_ms: u64) -> bool {
        self.last_tick_ms.is_none_or(|t| now_ms.saturating_sub(t) >= p.period_ms)
    }

    /// Feeds the counter readings at `now` (decaying counts over `window_secs`: the route's
    /// `site` total and each cohort's); acts at most once per period. Returns whether a price
    /// changed.
    pub fn tick(
        &mut self,
        p: &Params,
        window_secs: u32,
        site_value: f64,
        cohorts: &[(String, f64)],
        now_ms: u64,
    ) -> bool {
        if !self.due(p, now_ms) {
            return false;
        }
        self.last_tick_ms = Some(now_ms);
        self.measured = false;
        let w = f64::from(window_secs.max(1));
        // what arrived at a steady rate r over dt is worth r·w·(1 − e^{−dt/w}) by now (the
        // early arrivals decayed too): dividing by dt instead read 8 % low at 10 s of 60
        let per_minute = |(t, v1): (u64, f64), v: f64| -> f64 {
            let dt = (now_ms.saturating_sub(t) as f64 / 1000.0).max(1e-3);
            let fresh = (v - v1 * (-dt / w).exp()).max(0.0);
            fresh / (w * (1.0 - (-dt / w).exp())).max(1e-9) * 60.0
        };
        let Some(previous) = self.site_reading.replace((now_ms, site_value)) else { return false };
        let admitted = per_minute(previous, site_value);
        self.admitted = admitted;
        self.measured = true;
        for (key, v) in cohorts {
            let c = self.cohorts.entry(key.clone()).or_default();
            // read last period too: the difference of the two readings, its share averaged
            // (one period's wanders too much to say a cohort stands out). Read after a gap (a
            // cohort too rare in this isolate to be read every period): its share of the
            // route's count over the same window, as a difference over the gap reads it as
            // nothing for minutes, then as a burst (and its usual share was learned low)
            let counted = if site_value > 0.0 { (*v / site_value).min(1.0) } else { 0.0 };
            match c.read.filter(|(t, _)| *t == previous.0) {
                Some(before) => {
                    c.rate = per_minute(before, *v);
                    let share = if admitted > 0.0 { (c.rate / admitted).min(1.0) } else { 0.0 };
                    c.share += SHARE_WEIGHT * (share - c.share);
                    c.calm_share = share;
                }
                None => {
                    c.rate = admitted * counted;
                    c.share = counted;
                    c.calm_share = counted;
                }
            }
            c.read = Some((now_ms, *v));
            if c.step <= p.ceiling {
                c.demand = c.rate * 2f64.powi(i32::from(c.step));
            }
        }
        let cap = p.capacity_per_minute;
        let load = admitted / cap;
        self.load = load;
        let alpha = (p.period_ms as f64 / p.usual_ms.max(1) as f64).min(1.0);
        // a period the line itself holds under `low` is not calm: the mix served is the line's
        if load < p.low && !self.line.is_open() {
            self.calm_periods = self.calm_periods.saturating_add(1);
            for c in self.cohorts.values_mut().filter(|c| c.read_now(now_ms)) {
                let share = c.calm_share;
                // the mean of the first calm readings, then a slow moving average
                c.calm_readings = c.calm_readings.saturating_add(1);
                let weight = (1.0 / f64::from(c.calm_readings)).max(alpha);
                c.usual = if c.learned { c.usual + weight * (share - c.usual) } else { share };
                c.learned = true;
            }
        }
        let changed = if load > p.high { self.raise(p, admitted, now_ms) } else { self.relax(p, admitted) };
        if changed && load > p.high {
            self.raised_at.push(now_ms);
        }
        self.raised_at.retain(|t| now_ms.saturating_sub(*t) < FORECAST_MS);
        // forget quiet cohorts at the base price
        self.cohorts.retain(|_, c| c.step > 0 || c.rate >= 0.5 || c.usual >= 0.01);
        changed
    }

    /// Raises the cohorts read at this tick (`now_ms`) that stand out; if none, without a line,
    /// everyone's price by a bit.
    fn raise(&mut self, p: &Params, admitted: f64, now_ms: u64) -> bool {
        let cap = p.capacity_per_minute;
        let goal = p.target * cap;
        let mut predicted = admitted;
        let usual = self.usual_shares(p);
        let mut order: Vec<(String, f64)> = self
            .cohorts
            .iter()
            .zip(usual)
            .filter(|((_, c), _)| c.step <= p.ceiling && c.rate > 0.0 && c.read_now(now_ms))
            .filter(|((_, c), usual)| c.share >= STANDS_OUT * usual)
            .map(|((k, c), usual)| (k.clone(), c.share - usual))
            .filter(|(_, excess)| (self.calm_periods >= CALM_PERIODS || !p.line) && *excess >= p.min_excess)
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut changed = false;
        for (key, _) in order {
            if predicted <= goal {
                break;
            }
            let Some(c) = self.cohorts.get_mut(&key) else { continue };
            // bits that bring this cohort's part down enough (at least one, at most four)
            let keep = (c.rate - (predicted - goal)).max(c.rate / 16.0);
            let bits = (c.rate / keep).log2().ceil().clamp(1.0, 4.0) as u8;
            let step = c.step.saturating_add(bits);
            let after = if step > p.ceiling {
                c.step = p.ceiling.saturating_add(1);
                c.shed_for = 0;
                0.0
            } else {
                c.step = step;
                c.rate / 2f64.powi(i32::from(bits))
            };
            predicted -= c.rate - after;
            changed = true;
        }
        if !changed && !p.line && self.global < p.ceiling {
            self.global += 1;
            changed = true;
        }
        if changed {
            self.changes.0 += 1;
        }
        changed
    }

    /// Each cohort's usual share, in the order of `cohorts`. On a route with a line, one this
    /// isolate has not read in [`KNOWN_AFTER`] calm periods (too rare here to be read often,
    /// or new) is not known to be small: its usual share is up to what the well-known cohorts
    /// of its kind leave of the whole. A new attacking network still stands out where the
    /// usual ones are known; a country read twice while calm, or never, does not stand out
    /// when the crowd comes.
    fn usual_shares(&self, p: &Params) -> Vec<f64> {
        fn kind(key: &str) -> &str {
            key.split_once(':').map_or(key, |(kind, _)| kind)
        }
        let known = |c: &Cohort| c.calm_readings >= KNOWN_AFTER;
        let mut accounted: BTreeMap<&str, f64> = BTreeMap::new();
        for (k, c) in self.cohorts.iter().filter(|(_, c)| known(c)) {
            *accounted.entry(kind(k)).or_default() += c.usual;
        }
        self.cohorts
            .iter()
            .map(|(k, c)| match known(c) || !p.line {
                true => c.usual,
                false => c.usual.max(1.0 - accounted.get(kind(k)).copied().unwrap_or(0.0)),
            })
            .collect()
    }

    fn relax(&mut self, p: &Params, admitted: f64) -> bool {
        let cap = p.capacity_per_minute;
        // shed cohorts: presumed demand halves every `shed_hold` periods
        for c in self.cohorts.values_mut().filter(|c| c.step > p.ceiling) {
            c.shed_for += 1;
            if c.shed_for.is_multiple_of(p.shed_hold.max(1)) {
                c.demand /= 2.0;
            }
        }
        if admitted / cap > p.low {
            return false;
        }
        // undoing a site-wide bit may double every elastic solver's rate: predict the worst;
        // cohort steps wait until the site-wide step is undone
        if self.global > 0 {
            if 2.0 * admitted > p.low * cap {
                return false;
            }
            self.global -= 1;
            self.changes.1 += 1;
            return true;
        }
        // the cheapest step to undo: the smallest predicted increase that stays under `low`
        let best = self
            .cohorts
            .iter()
            .filter(|(_, c)| c.step > 0)
            .map(|(k, c)| {
                let now = if c.step > p.ceiling { 0.0 } else { c.rate };
                let next = c.step.min(p.ceiling.saturating_add(1)) - 1;
                let then = c.demand / 2f64.powi(i32::from(next));
                (k.clone(), then - now)
            })
            .filter(|(_, inc)| admitted + inc <= p.low * cap)
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let Some((key, _)) = best else { return false };
        if let Some(c) = self.cohorts.get_mut(&key) {
            c.step -= 1;
            c.shed_for = 0;
            self.changes.1 += 1;
            return true;
        }
        false
    }

    /// The price for a request in these cohorts: shed if one of them is, else the highest
    /// step among them and the site-wide step.
    pub fn price(&self, p: &Params, keys: &[&str]) -> Price {
        let mut extra = self.global;
        for k in keys {
            if let Some(c) = self.cohorts.get(*k) {
                if c.step > p.ceiling {
                    return Price::Shed((*k).to_string());
                }
                extra = extra.max(c.step);
            }
        }
        Price::Extra(extra)
    }

    /// The extra bits the gate expects to ask these cohorts soon (within [`FORECAST_MS`]):
    /// today's price plus every raise of the last minute again (the trend goes on), and at
    /// least one more while the route is over its `high` mark (the next period raises). When
    /// an attack stops, raises stop: the forecast falls back to the price a minute after the
    /// last raise, and the price itself relaxes a step per period once the load is under
    /// `low`. A shed cohort's forecast is the ceiling.
    pub fn forecast(&self, p: &Params, keys: &[&str], now_ms: u64) -> u8 {
        let now = match self.price(p, keys) {
            Price::Extra(bits) => bits,
            Price::Shed(_) => return p.ceiling,
        };
        let recent = self.raised_at.iter().filter(|t| now_ms.saturating_sub(**t) < FORECAST_MS).count();
        let trend = u8::try_from(recent).unwrap_or(u8::MAX).max(u8::from(self.load > p.high));
        now.saturating_add(trend).min(p.ceiling)
    }

    /// Notes a sign-up forwarded on the route from a challenge issued at `place_ms`.
    pub fn served(&mut self, place_ms: u64) {
        self.served_place_ms = Some(self.served_place_ms.map_or(place_ms, |s| s.max(place_ms)));
        self.served_since_tick = self.served_since_tick.saturating_add(1);
    }

    /// Takes a forward at `now_ms` in this isolate's exact minute if it has room for one
    /// more under `per_minute`: 0 when taken, else the seconds until it has room (nothing
    /// taken).
    pub fn hold(&mut self, per_minute: u32, now_ms: u64) -> u32 {
        let full = self.full_here_secs(per_minute, now_ms);
        if full == 0 {
            self.recent.push_back(now_ms);
        }
        full
    }

    fn forget(&mut self, now_ms: u64) {
        while self.recent.front().is_some_and(|t| now_ms.saturating_sub(*t) >= HERE_WINDOW_MS)
            || self.recent.len() > RECENT_MAX
        {
            self.recent.pop_front();
        }
    }

    /// Notes a place answered `in_line` (issued at `place_ms`), standing where `stand` says.
    pub fn asked(&mut self, place_ms: u64, stand: Stand) {
        match stand {
            Stand::Ahead => {
                self.asked_front_ms = Some(self.asked_front_ms.map_or(place_ms, |f| f.min(place_ms)));
            }
            Stand::Held if self.held_places.len() < RECENT_MAX => {
                self.held_places.insert(place_ms);
            }
            Stand::Held => {}
        }
    }

    /// Sign-ups the other isolates forwarded in the last `stale_ms` as the route's measured
    /// rate has it (the shared count cannot hold them yet): the route's rate less this
    /// isolate's own over the last minute, over that time.
    pub fn unseen_by_snapshot(&mut self, now_ms: u64, stale_ms: u64) -> f64 {
        self.forget(now_ms);
        let mine = self.recent.iter().filter(|t| now_ms.saturating_sub(**t) < 60_000).count();
        let others_per_minute = (self.admitted - mine as f64).max(0.0);
        others_per_minute * stale_ms as f64 / 60_000.0
    }

    /// Seconds until this isolate's own forwards of the last minute fall under `per_minute`
    /// (0: under it): an exact sliding minute, where the shared count decays smoothly.
    pub fn full_here_secs(&mut self, per_minute: u32, now_ms: u64) -> u32 {
        self.forget(now_ms);
        let n = usize::try_from(per_minute).unwrap_or(usize::MAX);
        if n == 0 || self.recent.len() < n {
            return 0;
        }
        // the forward that must age out for one more to fit
        let oldest = self.recent.get(self.recent.len() - n).copied().unwrap_or(now_ms);
        u32::try_from(oldest.saturating_add(HERE_WINDOW_MS).saturating_sub(now_ms).div_ceil(1000))
            .unwrap_or(61)
            .max(1)
    }

    /// Moves the waiting line on the load measured at the last tick (call right after a
    /// [`Controller::tick`] that acted) and returns the mark to publish, if any. `published`
    /// is the route's mark as the shard last answered it.
    pub fn tick_line(&mut self, p: &Params, published: Option<Mark>, now_ms: u64) -> Option<Mark> {
        if !p.line {
            return None;
        }
        // the line admits exactly what it serves, so it aims close to capacity (prices aim
        // lower: an elastic solver's answer to a bit is only predicted). A held period moves the
        // speed like any other: clamping it (so a full route never sped the line up) slowed a
        // line to its least speed through long full stretches, and new places were told waits
        // over any bound (tests/e2e/line.test.mjs: `gate submit` answered busy)
        self.line.tick(
            Readings {
                load: self.measured.then_some(self.load),
                served_place: self.served_place_ms,
                asked_front: self.asked_front_ms.take(),
                held: (
                    u32::try_from(std::mem::take(&mut self.held_places).len()).unwrap_or(u32::MAX),
                    std::mem::take(&mut self.served_since_tick),
                ),
            },
            (LINE_TARGET, p.high),
            published,
            p.period_ms,
            now_ms,
        );
        self.line.mark()
    }

    /// What the route's waiting line serves now (`None`: no line).
    pub fn serving(&self, p: &Params, published: Option<Mark>, now_ms: u64) -> Option<Serving> {
        if !p.line {
            return None;
        }
        self.line.serving(published, p.period_ms, now_ms)
    }

    /// Admitted sign-ups per minute measured over the last period.
    pub fn admitted(&self) -> f64 {
        self.admitted
    }

    /// The site-wide step.
    pub fn global(&self) -> u8 {
        self.global
    }

    /// What the stats page shows of it.
    pub fn reading(&self, route: &str) -> Reading {
        Reading {
            route: route.to_string(),
            admitted_per_minute: self.admitted,
            site_bits: self.global,
            raised: self.raised(),
            changes: self.changes,
        }
    }

    /// The cohorts priced above the base, with their extra bits (`ceiling + 1`: shed).
    pub fn raised(&self) -> Vec<(String, u8)> {
        self.cohorts.iter().filter(|(_, c)| c.step > 0).map(|(k, c)| (k.clone(), c.step)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[k.clone()]` reads better in these tables
mod tests;
