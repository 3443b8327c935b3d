//! Work as the price: what a decision asks in expected hashes, what the gate suggests banking
//! toward (the capacity controller's forecast), and how much a bundle may fall short (one
//! bit: a browser's challenge fetch and its form post differ in a few headers).

use crate::policy::{CohortState, Decision, Outcome};
use crate::protocol::challenge::WorkJson;
use crate::protocol::solution::work_of;

/// Highest difficulty a suggestion reaches.
const MAX_BITS: u8 = 32;

/// The work a decision asks, in expected hashes (`None` for deny and busy).
pub fn asked(d: &Decision) -> Option<u64> {
    match d.outcome {
        Outcome::Price { difficulty, k } => Some(work_of(usize::from(k), difficulty)),
        _ => None,
    }
}

/// What the gate asks and suggests banking toward: the price with the capacity controller's
/// forecast bits instead of today's (the price itself without a capacity route).
pub fn quote(d: &Decision, state: &CohortState) -> Option<WorkJson> {
    let Outcome::Price { difficulty, k } = d.outcome else { return None };
    let ahead = state.capacity.as_ref().map_or(0, |c| c.forecast_bits.saturating_sub(c.extra_bits));
    let suggested_bits = difficulty.saturating_add(ahead).min(MAX_BITS.max(difficulty));
    Some(WorkJson {
        asked: work_of(usize::from(k), difficulty),
        suggested: work_of(usize::from(k), suggested_bits),
    })
}

/// Whether `paid` covers `asked` within one bit.
pub fn covers(paid: u64, asked: u64) -> bool {
    paid.saturating_mul(2) >= asked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::CapacityPrice;

    fn priced(difficulty: u8, k: u8) -> Decision {
        Decision {
            outcome: Outcome::Price { difficulty, k },
            why: String::new(),
            rule: None,
            level: 0,
            shadow: None,
        }
    }

    #[test]
    fn the_quote_follows_the_forecast_and_the_slack_is_one_bit() {
        let d = priced(17, 32);
        let calm = quote(&d, &CohortState::default()).unwrap();
        assert_eq!((calm.asked, calm.suggested), (32 << 17, 32 << 17));
        let rising = CohortState {
            capacity: Some(CapacityPrice {
                extra_bits: 2,
                shed: None,
                admitted_per_minute: 100.0,
                per_minute: 60,
                forecast_bits: 5,
                line: None,
            }),
            ..CohortState::default()
        };
        let q = quote(&d, &rising).unwrap();
        assert_eq!(q.suggested, 32 << 20, "three bits ahead of the price asked");
        assert!(covers(32 << 16, 32 << 17) && !covers((32 << 16) - 1, 32 << 17));
        assert_eq!(asked(&Decision { outcome: Outcome::Busy, ..d }), None);
    }
}
