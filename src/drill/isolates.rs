//! Which Worker isolate serves each request. Production runs many isolates, each with its own
//! attack-mode state (snapshot, batch, capacity controllers); a request lands on any of them,
//! and an isolate can be replaced by a cold one at any time (eviction, a new version, a
//! machine restart). The drill spreads requests evenly at random and restarts each isolate
//! after an exponentially distributed life; the choice is made here, with the engine's seeded
//! randomness, and handed to the in-memory gate ([`crate::drill::gate::Isolate`]).

use crate::drill::gate::Isolate;
use crate::drill::rng::Rng;

/// The isolates' schedule.
#[derive(Clone, Debug)]
pub struct Isolates {
    /// When each isolate is next replaced by a cold one (virtual ms; `u64::MAX`: never).
    restart_at: Vec<u64>,
    /// Mean life in ms (0: never restarted).
    life_ms: f64,
    /// Cold starts so far.
    pub cold_starts: u64,
    rng: Rng,
}

impl Isolates {
    /// `n` isolates living `life_secs` on average (0: for ever), all cold at the start.
    pub fn new(n: u32, life_secs: u32, rng: Rng) -> Isolates {
        let mut s =
            Isolates { restart_at: Vec::new(), life_ms: f64::from(life_secs) * 1000.0, cold_starts: 0, rng };
        s.restart_at = (0..n.max(1)).map(|_| s.next_restart(0)).collect();
        s
    }

    fn next_restart(&mut self, now_ms: u64) -> u64 {
        if self.life_ms <= 0.0 {
            return u64::MAX;
        }
        now_ms.saturating_add(self.rng.exp(self.life_ms).ceil() as u64)
    }

    /// The isolate for a request at `now_ms`: any of them, evenly; `fresh` when its life ran
    /// out since it last served (it starts cold now).
    pub fn pick(&mut self, now_ms: u64) -> Isolate {
        let index = self.rng.below(self.restart_at.len() as u64) as usize;
        let due = self.restart_at.get(index).is_some_and(|at| *at <= now_ms);
        if due {
            let next = self.next_restart(now_ms);
            if let Some(at) = self.restart_at.get_mut(index) {
                *at = next;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_spread_evenly_and_isolates_restart_at_their_mean_life() {
        let mut iso = Isolates::new(20, 600, Rng::new(1));
        let mut served = [0u32; 20];
        // one request every 10 ms for 10 virtual hours
        for i in 0..3_600_000u64 {
            let got = iso.pick(i * 10);
            served[got.index] += 1;
        }
        let mean = 3_600_000.0 / 20.0;
        assert!(served.iter().all(|s| (f64::from(*s) - mean).abs() < mean * 0.02), "{served:?}");
        // 20 isolates x 36 000 s / 600 s = 1 200 restarts expected
        assert!((1_050..=1_350).contains(&iso.cold_starts), "{}", iso.cold_starts);
        let mut forever = Isolates::new(3, 0, Rng::new(2));
        assert!((0..10_000).all(|t| !forever.pick(t * 1000).fresh));
    }
}
