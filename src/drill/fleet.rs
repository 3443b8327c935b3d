//! An attacker fleet's state while it plays: its solvers (a fluid queue), and how it adapts
//! to what the gate asks (drills/README.md § Attackers): pausing or stopping above a price
//! ceiling, moving to the cheapest network and country, and holding solutions for a burst.
//! Only what a real attacker sees drives it: the price a challenge states and the answers.

use crate::drill::population::Factory;
use crate::drill::rng::Rng;
use crate::drill::scenario::{AboveCeiling, Attacker, Budget, Cost, Device, Money};

/// One (network, country) a fleet can send from.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// Network index.
    pub network: usize,
    /// Claimed country code.
    pub country: String,
}

/// A fleet's state.
#[derive(Clone, Debug, Default)]
pub struct FleetState {
    /// When its solvers are next free (virtual ms, fluid queue over all solvers).
    pub free_at_ms: f64,
    /// It waits above its ceiling until then (virtual ms).
    pub paused_until_ms: u64,
    /// It stopped for good (above its ceiling, `then = "stop"`).
    pub stopped: bool,
    /// Where it can send from, and the last price each was asked (solver-seconds; `None`:
    /// not tried yet).
    pub options: Vec<(Source, Option<f64>)>,
}

/// What a fleet does with a challenge it was asked to pay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Solve it.
    Solve,
    /// Too dear: drop it (and wait or stop).
    HoldBack,
}

/// The solver-seconds a challenge of `difficulty` (the full price) and `k` sub-puzzles is
/// expected to cost: k · 2^difficulty hashes at the solver's rate (a device: its class's rate
/// on as many of its threads as there are sub-puzzles, paid as core-seconds on each).
pub fn expected_cost(budget: &Budget, device: Option<&Device>, difficulty: u32, k: u32) -> f64 {
    let hashes = f64::from(k.max(1)) * 2f64.powi(i32::try_from(difficulty).unwrap_or(i32::MAX));
    if budget.devices {
        let d = device.map_or((1.0e6, 1), |d| (d.hash_rate, d.threads));
        let threads = f64::from(d.1.min(k.max(1)));
        // wall time on the device times the threads it keeps busy
        hashes / (d.0 * threads) * threads
    } else {
        hashes / budget.hash_rate
    }
}

/// Money for solver-seconds at the scenario's prices.
pub fn money(money: &Money, solver_seconds: f64, gpu: bool) -> f64 {
    let per_hour = if gpu { money.gpu_hour } else { money.core_hour };
    solver_seconds / 3600.0 * per_hour
}

impl FleetState {
    /// The state of a fleet before it starts: every network and country it may use.
    pub fn new(a: &Attacker) -> FleetState {
        let options = a
            .networks
            .iter()
            .flat_map(|(n, _)| {
                a.countries.iter().map(move |(c, _)| (Source { network: *n, country: c.clone() }, None))
            })
            .collect();
        FleetState { options, ..Default::default() }
    }

    /// Whether the fleet sends an attempt at `t_ms` (not stopped, not waiting).
    pub fn active(&self, t_ms: u64) -> bool {
        !self.stopped && t_ms >= self.paused_until_ms
    }

    /// Where the next attempt goes: by the fleet's weights, or, moving to the cheapest, the
    /// option asked the least last time (untried ones first, a tenth of attempts exploring).
    pub fn choose(
        &self,
        rng: &mut Rng,
        a: &Attacker,
        factory: &Factory<'_>,
    ) -> (crate::drill::population::Location, String) {
        let weighted = |rng: &mut Rng| {
            let weights: Vec<f64> = a.networks.iter().map(|n| n.1).collect();
            let n = a.networks.get(rng.weighted(&weights)).map_or(0, |n| n.0);
            let cc = crate::drill::population::pick(rng, &a.countries);
            (factory.location_in_country(rng, n, &cc), cc)
        };
        if !a.adapt.cheapest_cohort || self.options.is_empty() || rng.chance(0.1) {
            return weighted(rng);
        }
        let untried: Vec<usize> =
            self.options.iter().enumerate().filter(|(_, o)| o.1.is_none()).map(|(i, _)| i).collect();
        let pick = if untried.is_empty() {
            let best = self.options.iter().filter_map(|o| o.1).fold(f64::INFINITY, f64::min);
            let cheapest: Vec<usize> =
                self.options.iter().enumerate().filter(|(_, o)| o.1 == Some(best)).map(|(i, _)| i).collect();
            cheapest.get(rng.below(cheapest.len() as u64) as usize).copied()
        } else {
            untried.get(rng.below(untried.len() as u64) as usize).copied()
        };
        match pick.and_then(|i| self.options.get(i)) {
            Some((o, _)) => (factory.location_in_country(rng, o.network, &o.country), o.country.clone()),
            None => weighted(rng),
        }
    }

    /// Remembers the price an option was asked.
    pub fn observe(&mut self, network: usize, country: &str, cost: f64) {
        for (o, price) in &mut self.options {
            if o.network == network && o.country == country {
                *price = Some(cost);
            }
        }
    }

    /// Decides on a challenge expected to cost `cost` solver-seconds, at `t_ms`; above the
    /// ceiling the fleet waits or stops.
    pub fn decide(&mut self, a: &Attacker, prices: &Money, cost: f64, t_ms: u64) -> Decision {
        let Some(ceiling) = &a.adapt.ceiling else { return Decision::Solve };
        let above = match ceiling.limit {
            Cost::SolverSeconds(limit) => cost > limit,
            Cost::Money(limit) => money(prices, cost, a.budget.gpu) > limit,
        };
        if !above {
            return Decision::Solve;
        }
        match ceiling.then {
            AboveCeiling::Wait(secs) => self.paused_until_ms = t_ms + u64::from(secs) * 1000,
            AboveCeiling::Stop => self.stopped = true,
        }
        Decision::HoldBack
    }

    /// When a solution ready at `ready_ms` is sent: at once, or held for the next burst.
    pub fn submit_at(a: &Attacker, ready_ms: u64) -> u64 {
        match &a.adapt.stockpile {
            Some(s) => {
                let every = u64::from(s.every_secs) * 1000;
                ready_ms.div_ceil(every.max(1)) * every
            }
            None => ready_ms,
        }
    }
}

#[cfg(test)]
mod tests;
