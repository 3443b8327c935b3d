//! The proof-of-work puzzle: one SHA-256 compression per try.
//!
//! For sub-puzzle `i` of a challenge the client finds an 8-byte `nonce` such that
//! `SHA-256(seed ‖ be32(i) ‖ nonce)` starts with at least `difficulty` zero bits, where
//! `seed = SHA-256(token ‖ SHA-256(signals))`. The preimage is 44 bytes, so with SHA-256
//! padding it is exactly one 64-byte block: the solver prepares the block once and per try
//! writes 8 nonce bytes and runs one compression, and the verifier does the same `k` times.

pub mod kernel;

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

/// Bytes in a seed.
pub const SEED_LEN: usize = 32;
/// Bytes in a nonce.
pub const NONCE_LEN: usize = 8;
/// Bytes hashed per try: seed, sub-puzzle index (u32), nonce.
pub const PREIMAGE_LEN: usize = SEED_LEN + 4 + NONCE_LEN;
/// Where the nonce sits in the block.
const NONCE_AT: usize = SEED_LEN + 4;

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
pub const IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The per-challenge seed. `signals` are the raw client-signal bytes the submission carries
/// (empty when there are none); hashing them in means a solution is only valid together with
/// the exact signals it was solved with.
pub fn seed(token: &[u8], signals: &[u8]) -> [u8; SEED_LEN] {
    let signals_digest = Sha256::digest(signals);
    let mut h = Sha256::new();
    h.update(token);
    h.update(signals_digest);
    h.finalize().into()
}

/// The padded SHA-256 block for sub-puzzle `index`, with nonce zero.
pub fn block(seed: &[u8; SEED_LEN], index: u32) -> [u8; 64] {
    let mut b = [0u8; 64];
    let (head, rest) = b.split_at_mut(SEED_LEN);
    head.copy_from_slice(seed);
    let (idx, rest) = rest.split_at_mut(4);
    idx.copy_from_slice(&index.to_be_bytes());
    // rest[..8] is the nonce; then the 0x80 terminator, zeros, and the bit length.
    if let Some(t) = rest.get_mut(NONCE_LEN) {
        *t = 0x80;
    }
    let bits = (PREIMAGE_LEN as u64) * 8;
    if let Some(len) = b.get_mut(56..64) {
        len.copy_from_slice(&bits.to_be_bytes());
    }
    b
}

/// Writes `nonce` (big-endian) into a prepared block.
pub fn set_nonce(block: &mut [u8; 64], nonce: u64) {
    if let Some(n) = block.get_mut(NONCE_AT..NONCE_AT + NONCE_LEN) {
        n.copy_from_slice(&nonce.to_be_bytes());
    }
}

/// Leading zero bits of a digest given as SHA-256 state words.
pub fn leading_zero_bits(state: &[u32; 8]) -> u32 {
    let mut bits = 0;
    for word in state {
        bits += word.leading_zeros();
        if *word != 0 {
            break;
        }
    }
    bits
}

/// The digest state of one prepared block.
pub fn digest_block(block: &[u8; 64]) -> [u32; 8] {
    let mut state = IV;
    compress256(&mut state, core::slice::from_ref(block));
    state
}

/// Leading zero bits of `SHA-256(seed ‖ be32(index) ‖ be64(nonce))`.
pub fn zero_bits(seed: &[u8; SEED_LEN], index: u32, nonce: u64) -> u32 {
    let mut b = block(seed, index);
    set_nonce(&mut b, nonce);
    leading_zero_bits(&digest_block(&b))
}

/// Whether `nonce` solves sub-puzzle `index` at `difficulty`.
pub fn meets(seed: &[u8; SEED_LEN], index: u32, nonce: u64, difficulty: u8) -> bool {
    zero_bits(seed, index, nonce) >= u32::from(difficulty)
}

/// The first sub-puzzle whose nonce does not meet `difficulty`, and the zero bits it has.
/// In Wasm builds with `simd128` (the Worker) four sub-puzzles are checked per pass; elsewhere
/// one at a time with `sha2`'s compression (SHA extensions natively).
pub fn first_insufficient(seed: &[u8; SEED_LEN], nonces: &[u64], difficulty: u8) -> Option<(u32, u32)> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        kernel::first_insufficient::<kernel::V128>(seed, nonces, difficulty)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        (0u32..)
            .zip(nonces)
            .map(|(i, n)| (i, zero_bits(seed, i, *n)))
            .find(|(_, bits)| *bits < u32::from(difficulty))
    }
}

/// The state of a stepped search for one sub-puzzle, so a caller (a browser Web Worker) can
/// run a bounded number of tries, report progress, and be cancelled between steps.
#[derive(Clone, Debug)]
pub struct Search {
    block: [u8; 64],
    next: u64,
    difficulty: u32,
    tries: u64,
}

/// The result of one step of a search.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Found a nonce after `tries` tries in total.
    Found {
        /// The solving nonce.
        nonce: u64,
        /// Tries since the search began.
        tries: u64,
    },
    /// Not yet: `tries` so far; call `step` again.
    Pending {
        /// Tries since the search began.
        tries: u64,
    },
    /// The nonce space ran out (2^64 tries; unreachable in practice).
    Exhausted,
}

impl Search {
    /// A search for sub-puzzle `index` starting at nonce `start` (workers searching the same
    /// sub-puzzle use disjoint starts).
    pub fn new(seed: &[u8; SEED_LEN], index: u32, difficulty: u8, start: u64) -> Search {
        Search { block: block(seed, index), next: start, difficulty: u32::from(difficulty), tries: 0 }
    }

    /// Tries up to `budget` nonces.
    pub fn step(&mut self, budget: u64) -> Step {
        for _ in 0..budget {
            let nonce = self.next;
            set_nonce(&mut self.block, nonce);
            self.tries += 1;
            let found = leading_zero_bits(&digest_block(&self.block)) >= self.difficulty;
            match self.next.checked_add(1) {
                Some(n) => self.next = n,
                None if !found => return Step::Exhausted,
                None => {}
            }
            if found {
                return Step::Found { nonce, tries: self.tries };
            }
        }
        Step::Pending { tries: self.tries }
    }
}

/// Solves one sub-puzzle by brute force from nonce 0 (native callers, tests).
pub fn solve(seed: &[u8; SEED_LEN], index: u32, difficulty: u8) -> Option<u64> {
    let mut search = Search::new(seed, index, difficulty, 0);
    loop {
        match search.step(1 << 16) {
            Step::Found { nonce, .. } => return Some(nonce),
            Step::Exhausted => return None,
            Step::Pending { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_matches_sha256_of_the_preimage() {
        let seed = [0xab; SEED_LEN];
        for (index, nonce) in [(0u32, 0u64), (1, 1), (15, 0xdead_beef_0102_0304), (u32::MAX, u64::MAX)] {
            let mut pre = Vec::new();
            pre.extend_from_slice(&seed);
            pre.extend_from_slice(&index.to_be_bytes());
            pre.extend_from_slice(&nonce.to_be_bytes());
            assert_eq!(pre.len(), PREIMAGE_LEN);
            let want: [u8; 32] = Sha256::digest(&pre).into();
            let mut b = block(&seed, index);
            set_nonce(&mut b, nonce);
            let state = digest_block(&b);
            let mut got = [0u8; 32];
            for (chunk, word) in got.chunks_exact_mut(4).zip(state) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            assert_eq!(got, want, "index {index} nonce {nonce}");
        }
    }

    #[test]
    fn leading_zero_bits_counts_across_words() {
        let cases: [([u32; 8], u32); 5] = [
            ([0x8000_0000, 0, 0, 0, 0, 0, 0, 0], 0),
            ([0x0000_ffff, 0, 0, 0, 0, 0, 0, 0], 16),
            ([0, 0x1000_0000, 0, 0, 0, 0, 0, 0], 35),
            ([0, 0, 0, 0, 0, 0, 0, 1], 255),
            ([0; 8], 256),
        ];
        for (state, want) in cases {
            assert_eq!(leading_zero_bits(&state), want, "{state:x?}");
        }
    }

    #[test]
    fn solve_finds_a_nonce_that_meets_and_search_is_resumable() {
        let s = seed(b"token", b"");
        for d in [0u8, 1, 8, 12] {
            let nonce = solve(&s, 3, d).unwrap();
            assert!(meets(&s, 3, nonce, d));
            // the first solution is the smallest: nothing below it meets the difficulty
            assert!((0..nonce).all(|n| !meets(&s, 3, n, d)));
        }
        let mut stepped = Search::new(&s, 3, 12, 0);
        let mut steps = 0;
        let found = loop {
            steps += 1;
            match stepped.step(100) {
                Step::Found { nonce, tries } => break (nonce, tries),
                Step::Pending { tries } => assert_eq!(tries, steps * 100),
                Step::Exhausted => unreachable!(),
            }
        };
        assert_eq!(found.0, solve(&s, 3, 12).unwrap());
        assert_eq!(found.1, found.0 + 1);
    }

    #[test]
    fn seed_depends_on_signals() {
        assert_ne!(seed(b"t", b""), seed(b"t", b"{}"));
        assert_ne!(seed(b"t", b""), seed(b"u", b""));
    }

    #[test]
    fn search_reports_exhaustion_at_the_end_of_the_nonce_space() {
        let s = seed(b"x", b"");
        let mut search = Search::new(&s, 0, 255, u64::MAX - 1);
        assert_eq!(search.step(10), Step::Exhausted);
    }
}
