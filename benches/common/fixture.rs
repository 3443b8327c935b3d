//! The proof every verification benchmark checks: a default-terms challenge (k = 32,
//! difficulty 17), solved once, so native and Wasm measure exactly the same bytes.
#![allow(dead_code)] // each benchmark uses part of it

use gate::binding::Binding;
use gate::challenge::{self, Terms};
use gate::config::defaults;
use gate::key::{Key, KeyRing};
use gate::solution::{self, Expectation};
use gate::time::UnixTime;

/// The challenge key.
pub const SECRET: &[u8] = b"benchmark secret, at least thirty-two bytes long";
/// Issue time.
pub const NOW: UnixTime = UnixTime(1_700_000_000);
/// The protected route.
pub const ROUTE: &str = "/signup";
/// The client binding.
pub const BINDING: Binding = Binding([7; 16]);

/// The key ring holding `SECRET`.
pub fn keys() -> KeyRing {
    KeyRing::new(Key::new(SECRET), None)
}

/// A solved default challenge, as the wire string.
pub fn solution(difficulty: u8, k: u8) -> String {
    let terms = Terms { route: ROUTE.into(), difficulty, k, risk: 0, ttl: defaults::TTL, binding: BINDING };
    let signed =
        challenge::issue(&Key::new(SECRET), &terms, NOW, [0x5a; 16]).unwrap_or_else(|_| unreachable!());
    solution::solve(signed.bytes(), b"").unwrap_or_else(|_| unreachable!()).encode()
}

/// What the verifier checks the proof against (5 s after issue).
pub fn expectation(keys: &KeyRing) -> Expectation<'_> {
    Expectation { keys, now: NOW.plus(5), skew: defaults::SKEW, route: ROUTE, binding: BINDING }
}
