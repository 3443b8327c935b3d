//! Which Worker isolate serves each request. Production runs many isolates, each with its own
//! attack-mode state (snapshot, batch, capacity controllers); a request lands on any of them,
//! and an isolate can be replaced by a cold one at any time (eviction, a new version, a
//! machine restart). The drill spreads requests evenly at random and restarts each isolate
//! after an exponentially distributed life, handing the choice to the in-memory gate
//! ([`crate::drill::gate::Isolate`]).
//!
//! Common random numbers: each isolate's restarts follow its own clock-driven schedule, and
//! the isolate a request lands on is drawn from the requesting population's own stream. So two
//! runs that treat one fleet differently (a policy A/B) draw the same isolates for everyone
//! else, and their figures differ by what the defence did, not by reshuffled luck.

use crate::drill::gate::Isolate;
use crate::drill::rng::Rng;

/// The isolates' schedule.
#[derive(Clone, Debug)]
pub struct Isolates {
    /// When each isolate is next replaced by a cold one (virtual ms; `u64::MAX`: never).
    restart_at: Vec<u64>,
    /// Each isolate's own stream for its lives (drawn on the clock, not per request).
    lives: Vec<Rng>,
    /// Mean life in ms (0: never restarted).
    life_ms: f64,
    /// Cold starts so far (restarts a request landed on).
    pub cold_starts: u64,
}

impl Isolates {
    /// `n` isolates living `life_secs` on average (0: for ever), all cold at the start; `rng`
    /// seeds each isolate's schedule.
    pub fn new(n: u32, life_secs: u32, mut rng: Rng) -> Isolates {
        let life_ms = f64::from(life_secs) * 1000.0;
        let mut lives: Vec<Rng> = (0..n.max(1)).map(|_| Rng::new(rng.next_u64())).collect();
        let restart_at = lives.iter_mut().map(|r| after(0, life_ms, r)).collect();
        Isolates { restart_at, lives, life_ms, cold_starts: 0 }
    }

    /// The isolate for a request at `now_ms`, drawn evenly with the requester's own `rng`;
    /// `fresh` when it was replaced since it last served (it starts cold now).
    pub fn pick(&mut self, now_ms: u64, rng: &mut Rng) -> Isolate {
        let index = rng.below(self.restart_at.len() as u64) as usize;
        let (Some(at), Some(life)) = (self.restart_at.get_mut(index), self.lives.get_mut(index)) else {
            return Isolate { index, fresh: false };
        };
        let due = *at <= now_ms;
        if due {
            // the schedule runs on the clock: lives that ended unserved pass unseen
            while *at <= now_ms {
                *at = after(*at, self.life_ms, life);
            }
            self.cold_starts += 1;
        }
        Isolate { index, fresh: due }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.restart_at.len()
    }

    /// Never empty (at least one isolate).
    pub fn is_empty(&self) -> bool {
        self.restart_at.is_empty()
    }
}

/// The end of a life that starts at `from_ms` (`u64::MAX`: lives for ever).
fn after(from_ms: u64, life_ms: f64, rng: &mut Rng) -> u64 {
    if life_ms <= 0.0 {
        return u64::MAX;
    }
    // at least a millisecond, so a schedule always moves forward
    from_ms.saturating_add((rng.exp(life_ms).ceil() as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_spread_evenly_and_isolates_restart_at_their_mean_life() {
        let mut iso = Isolates::new(20, 600, Rng::new(1));
        let mut requester = Rng::new(3);
        let mut served = [0u32; 20];
        // one request every 10 ms for 10 virtual hours
        for i in 0..3_600_000u64 {
            let got = iso.pick(i * 10, &mut requester);
            served[got.index] += 1;
        }
        let mean = 3_600_000.0 / 20.0;
        assert!(served.iter().all(|s| (f64::from(*s) - mean).abs() < mean * 0.02), "{served:?}");
        // 20 isolates x 36 000 s / 600 s = 1 200 restarts expected
        assert!((1_050..=1_350).contains(&iso.cold_starts), "{}", iso.cold_starts);
        let mut forever = Isolates::new(3, 0, Rng::new(2));
        assert!((0..10_000).all(|t| !forever.pick(t * 1000, &mut requester).fresh));
    }

    #[test]
    fn an_isolates_restarts_do_not_depend_on_who_else_was_served() {
        // two runs: one requester alone, and the same requester with another's traffic between
        // its requests; the first requester lands on the same isolates, and every isolate is
        // replaced on the same schedule
        let seen = |crowded: bool| {
            let mut iso = Isolates::new(8, 30, Rng::new(7));
            let (mut mine, mut other) = (Rng::new(11), Rng::new(13));
            let mut out = Vec::new();
            for i in 0..20_000u64 {
                if crowded {
                    for k in 0..(i % 5) {
                        iso.pick(i * 100 + k, &mut other);
                    }
                }
                out.push(iso.pick(i * 100 + 50, &mut mine).index);
            }
            (out, iso.restart_at)
        };
        assert_eq!(seen(false), seen(true));
    }
}
