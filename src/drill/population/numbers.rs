//! The phone numbers the drill's clients type: numbers of their calling code that the numbering
//! data reads as valid (the gate refuses any other with `invalid_phone`), mobile where the plan
//! tells mobiles apart, each client's own (its last digits drawn).
//!
//! A calling code's pool is found once per process by drawing digits and keeping what
//! `request::phone::parse` accepts, from a generator seeded by the code, so every run and
//! every thread sees the same pool.

use crate::drill::rng::Rng;
use crate::request::phone::{self, NumberType};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// National numbers kept per calling code.
const POOL: usize = 24;
/// Draws per calling code at most (about 5 µs each).
const TRIES: u32 = 40_000;

/// A number in international form (`+86…`) for `code`, drawn with `rng`: a number of the
/// code's pool with its last four (else three) digits drawn, where that is still valid. A code with no
/// valid number found (not a calling code) gets nine drawn digits, which the gate refuses.
pub fn draw(code: &str, rng: &mut Rng) -> String {
    let pool = pool(code);
    let Some(stem) = pool.get(rng.below(pool.len() as u64) as usize) else {
        return format!("+{code}{:09}", rng.below(1_000_000_000));
    };
    // four drawn digits where the number stays valid (two people rarely share a number: with
    // three, a few hundred people of one code would, and a number's backoff would keep one
    // of them waiting), else three, else the stem; one draw either way
    let drawn = rng.below(10_000);
    let ours = |digits: usize, tail: u64| {
        let keep = stem.len().saturating_sub(digits);
        let n = format!("+{code}{}{tail:0digits$}", stem.get(..keep).unwrap_or(stem));
        phone::parse(&n, None).is_ok().then_some(n)
    };
    ours(4, drawn).or_else(|| ours(3, drawn % 1000)).unwrap_or_else(|| format!("+{code}{stem}"))
}

/// Numbers kept per range (a fleet cycles through them).
const RANGE_POOL: usize = 4096;

/// The `n`-th number in use in `range` (`+996 500`), counting up from its first (a fleet
/// pumping one number after another), cycling past the numbers found; `None` for a range
/// with none.
pub fn in_range(range: &str, n: u64) -> Option<String> {
    let pool = range_pool(range);
    pool.get((n % pool.len().max(1) as u64) as usize).cloned()
}

/// The range's numbers, counting up, found on first use.
fn range_pool(range: &str) -> Arc<Vec<String>> {
    static POOLS: OnceLock<Mutex<HashMap<String, Arc<Vec<String>>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    if let Some(found) = pools.lock().ok().and_then(|p| p.get(range).cloned()) {
        return found;
    }
    let found = Arc::new(count_up(range));
    if let Ok(mut p) = pools.lock() {
        p.insert(range.to_string(), Arc::clone(&found));
    }
    found
}

/// Numbers in use whose range is `range`, counting up from its first: for each subscriber
/// length, every tail from 0 until the pool is full (at most `TRIES` readings per length).
fn count_up(range: &str) -> Vec<String> {
    let digits: String = range.chars().filter(char::is_ascii_digit).collect();
    let mut out = Vec::new();
    for width in 3..=10u32 {
        let mut tried = 0u32;
        for tail in 0..10u64.pow(width) {
            tried += 1;
            if out.len() >= RANGE_POOL || tried > TRIES {
                break;
            }
            let candidate = format!("+{digits}{tail:0w$}", w = width as usize);
            if phone::parse(&candidate, None).is_ok_and(|p| p.range().to_string() == range) {
                out.push(candidate);
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The calling code's pool, found on first use.
fn pool(code: &str) -> Arc<Vec<String>> {
    static POOLS: OnceLock<Mutex<HashMap<String, Arc<Vec<String>>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    if let Some(found) = pools.lock().ok().and_then(|p| p.get(code).cloned()) {
        return found;
    }
    let found = Arc::new(find(code));
    if let Ok(mut p) = pools.lock() {
        p.insert(code.to_string(), Arc::clone(&found));
    }
    found
}

/// Valid national numbers of `code`: mobile (or fixed-or-mobile) ones where any are found,
/// else fixed lines.
fn find(code: &str) -> Vec<String> {
    let seed = code.bytes().fold(0x5eed_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = Rng::new(seed);
    let (mut mobile, mut fixed) = (Vec::new(), Vec::new());
    for _ in 0..TRIES {
        if mobile.len() >= POOL {
            break;
        }
        let len = 6 + rng.below(7);
        let mut n = String::with_capacity(len as usize);
        n.push(char::from(b'1' + rng.below(9) as u8));
        for _ in 1..len {
            n.push(char::from(b'0' + rng.below(10) as u8));
        }
        let Ok(read) = phone::parse(&format!("+{code}{n}"), None) else { continue };
        if read.calling_code().to_string() != code {
            continue;
        }
        match read.number_type() {
            NumberType::Mobile | NumberType::FixedLineOrMobile => mobile.push(n),
            NumberType::FixedLine if fixed.len() < POOL => fixed.push(n),
            _ => {}
        }
    }
    if mobile.is_empty() { fixed } else { mobile }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::*;

    #[test]
    fn numbers_are_valid_mobiles_of_their_code_and_differ() {
        let mut rng = Rng::new(7);
        for code in ["1", "7", "33", "44", "49", "55", "62", "81", "86", "91", "234", "880"] {
            let drawn: Vec<String> = (0..50).map(|_| draw(code, &mut rng)).collect();
            for n in &drawn {
                let read = phone::parse(n, None).unwrap_or_else(|e| panic!("{n}: {e}"));
                assert_eq!(read.calling_code().to_string(), code, "{n}");
                assert!(
                    matches!(read.number_type(), NumberType::Mobile | NumberType::FixedLineOrMobile),
                    "{n}: {:?}",
                    read.number_type()
                );
            }
            let mut distinct = drawn.clone();
            distinct.sort();
            distinct.dedup();
            assert!(distinct.len() > 40, "{code}: {drawn:?}");
        }
    }

    #[test]
    fn a_range_counts_up_through_numbers_in_use_in_it() {
        for range in ["+996 500", "+358 41", "+94 74", "+62 831", "+7 747", "+86 138", "+44 7400"] {
            let first: Vec<String> = (0..5).filter_map(|n| in_range(range, n)).collect();
            assert_eq!(first.len(), 5, "{range}");
            for n in &first {
                let read = phone::parse(n, None).unwrap_or_else(|e| panic!("{n}: {e}"));
                assert_eq!(read.range().to_string(), range, "{n}");
            }
            assert!(first.windows(2).all(|w| w[0] < w[1]), "counting up: {first:?}");
        }
        assert_eq!(in_range("+996 123", 0), None, "no number in use starts so");
    }

    #[test]
    fn a_code_that_is_not_one_gets_digits_the_gate_refuses() {
        let n = draw("999", &mut Rng::new(1));
        assert!(phone::parse(&n, None).is_err(), "{n}");
    }
}
