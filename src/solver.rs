//! The browser solver: the core's proof-of-work search compiled to Wasm with wasm-bindgen.
//!
//! A stepped API so a Web Worker can run a bounded number of tries, report progress, and be
//! cancelled between steps (by `terminate()`):
//!
//! ```js
//! const s = new Solver(tokenBytes, signalsBytes);   // once per challenge; check s.valid()
//! s.begin(i, 0, 0);                                 // sub-puzzle i from nonce 0
//! while (!s.solve_step(250_000)) postMessage({ tries: s.tries() });
//! postMessage({ hi: s.nonce_hi(), lo: s.nonce_lo() });
//! ```
//!
//! No strings cross the boundary (numbers and byte slices only), which keeps wasm-bindgen's
//! text-decoding glue and the formatting machinery out of the module.
//!
//! Built twice by `scripts/build-widget`: with `simd128` (four nonces per instruction) and
//! without (one nonce at a time); the widget loads the first the browser can run.

use crate::pow::kernel::Scanner;
use crate::pow::{self, Step};
use crate::protocol::challenge;
use wasm_bindgen::prelude::*;

/// The solver allocates a few small buffers per challenge, never in the hash loop, so a simple
/// free-list allocator serves it as well as the standard one (dlmalloc), whose code was the
/// module's largest part after the hash loop. Locked (not the unsafe `AssumeSingleThreaded`):
/// safe to build, and the lock is uncontended in a Web Worker.
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[cfg(target_feature = "simd128")]
type Lanes = (crate::pow::kernel::V128, crate::pow::kernel::V128);
#[cfg(not(target_feature = "simd128"))]
type Lanes = u32;

/// A solver for one challenge.
#[wasm_bindgen]
pub struct Solver {
    seed: [u8; pow::SEED_LEN],
    difficulty: u8,
    k: u8,
    scanner: Option<Scanner>,
    found: Option<u64>,
    exhausted: bool,
}

/// A top-up token's difficulty and `k` (layout in `protocol::topup`), read without the full
/// decoder: the solver only needs these two bytes, and the module stays small.
fn top_up_terms(token: &[u8]) -> Option<(u8, u8)> {
    use crate::protocol::topup;
    let route_len = usize::from(*token.get(71)?);
    let whole = token.len() >= topup::MIN_LEN && token.len() == 72 + route_len + 32 && route_len > 0;
    if token.first() != Some(&topup::KIND) || !whole {
        return None;
    }
    Some((*token.get(53)?, *token.get(54)?))
}

#[wasm_bindgen]
impl Solver {
    /// Reads the token (raw bytes, not base64: a challenge's or a top-up's) and computes the
    /// seed with the client signals.
    /// An unreadable token gives a solver with `valid() == false` and `k() == 0`.
    #[wasm_bindgen(constructor)]
    pub fn new(token: &[u8], signals: &[u8]) -> Solver {
        // a challenge token, or a top-up of one (same seed and sub-puzzles)
        let (difficulty, k) = match challenge::decode(token) {
            Ok(d) => (d.challenge.difficulty, d.challenge.k),
            Err(_) => top_up_terms(token).unwrap_or((0, 0)),
        };
        Solver {
            // the compact SHA-256 keeps the module small; tests pin it to `pow::seed`
            seed: crate::pow::kernel::seed(token, signals),
            difficulty,
            k,
            scanner: None,
            found: None,
            exhausted: false,
        }
    }

    /// Whether the token could be read.
    pub fn valid(&self) -> bool {
        self.k > 0
    }

    /// Number of sub-puzzles.
    pub fn k(&self) -> u32 {
        u32::from(self.k)
    }

    /// Leading zero bits required per sub-puzzle.
    pub fn difficulty(&self) -> u32 {
        u32::from(self.difficulty)
    }

    /// True in the `simd128` build.
    pub fn simd() -> bool {
        cfg!(target_feature = "simd128")
    }

    /// Starts sub-puzzle `index` at nonce `start_hi << 32 | start_lo`.
    pub fn begin(&mut self, index: u32, start_hi: u32, start_lo: u32) {
        let start = (u64::from(start_hi) << 32) | u64::from(start_lo);
        self.scanner = Some(Scanner::new(&self.seed, index, self.difficulty, start));
        self.found = None;
        self.exhausted = false;
    }

    /// Tries about `budget` nonces; true once a nonce is found (then read it with `nonce_hi` and `nonce_lo`).
    pub fn solve_step(&mut self, budget: u32) -> bool {
        if self.found.is_some() {
            return true;
        }
        let Some(scanner) = self.scanner.as_mut() else { return false };
        match scanner.step::<Lanes>(u64::from(budget)) {
            Step::Found { nonce, .. } => {
                self.found = Some(nonce);
                true
            }
            Step::Pending { .. } => false,
            Step::Exhausted => {
                self.exhausted = true;
                false
            }
        }
    }

    /// Nonces tried on the current sub-puzzle.
    pub fn tries(&self) -> f64 {
        self.scanner.as_ref().map_or(0.0, |s| s.tries() as f64)
    }

    /// The high 32 bits of the found nonce (0 before one is found).
    pub fn nonce_hi(&self) -> u32 {
        (self.found.unwrap_or(0) >> 32) as u32
    }

    /// The low 32 bits of the found nonce.
    pub fn nonce_lo(&self) -> u32 {
        self.found.unwrap_or(0) as u32
    }

    /// True if the nonce space ran out (2^64 tries; not reachable in practice).
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }
}
