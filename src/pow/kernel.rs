//! The solver's hashing kernel: SHA-256 of the one-block preimage, specialised for searching.
//!
//! The block is `seed (W0..W7) ‖ index (W8) ‖ nonce_hi (W9) ‖ nonce_lo (W10) ‖ padding
//! (W11..W15)`. Everything but `nonce_lo` is fixed while the low 32 bits of the nonce run, so
//! (the classic miner optimisations):
//!
//! - rounds 0–9 depend only on W0..W9: their output (the *midstate*) is computed once;
//! - round 10 adds `nonce_lo` to a precomputed sum;
//! - W16, W18, W20, W22 are constant and the other early schedule words are a constant plus a
//!   term in `nonce_lo`; K[i] + W[i] is folded wherever W[i] is constant;
//! - only H0 = IV0 + a₆₄ is needed to test `difficulty ≤ 32` leading zero bits: a try meets
//!   the target iff H0 < 2^(32 − difficulty). Larger difficulties use H0 = 0 as a filter and
//!   confirm candidates with the full digest.
//!
//! So a try costs rounds 10–63 (54 of 64) and a shorter schedule. The code is written once,
//! generic over [`Lanes`]: `u32` (one nonce at a time, for Wasm without SIMD), `[u32; 4]`
//! (portable four lanes, so native tests cover the four-lane logic), and on wasm32 with
//! `simd128`, `v128` (four nonces per instruction). Lanes hold consecutive nonces and the lowest
//! passing lane wins, so every variant finds exactly the nonce a sequential search finds.

#![allow(clippy::indexing_slicing)] // fixed-size arrays indexed by constant round numbers < 64

use super::{SEED_LEN, Step};

/// SHA-256 round constants (FIPS 180-4, 4.2.2).
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

mod lanes;

pub use lanes::Lanes;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use lanes::V128;

#[inline(always)]
fn big_sigma0<L: Lanes>(a: L) -> L {
    a.rotr::<2>().xor(a.rotr::<13>()).xor(a.rotr::<22>())
}
#[inline(always)]
fn big_sigma1<L: Lanes>(e: L) -> L {
    e.rotr::<6>().xor(e.rotr::<11>()).xor(e.rotr::<25>())
}
#[inline(always)]
fn small_sigma0<L: Lanes>(x: L) -> L {
    x.rotr::<7>().xor(x.rotr::<18>()).xor(x.shr::<3>())
}
#[inline(always)]
fn small_sigma1<L: Lanes>(x: L) -> L {
    x.rotr::<17>().xor(x.rotr::<19>()).xor(x.shr::<10>())
}
/// Ch(e, f, g): f where e is 1, g where e is 0.
#[inline(always)]
fn ch<L: Lanes>(e: L, f: L, g: L) -> L {
    f.select(g, e)
}
/// Maj(a, b, c): where a and b agree that bit, else c.
#[inline(always)]
fn maj<L: Lanes>(a: L, b: L, c: L) -> L {
    c.select(b, a.xor(b))
}

/// One SHA-256 round; `kw` is K[i] + W[i].
#[inline(always)]
fn round<L: Lanes>(s: &mut [L; 8], kw: L) {
    let [a, b, c, d, e, f, g, h] = *s;
    let t1 = h.add(big_sigma1(e)).add(ch(e, f, g)).add(kw);
    let t2 = big_sigma0(a).add(maj(a, b, c));
    *s = [t1.add(t2), a, b, c, d.add(t1), e, f, g];
}

fn sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
fn sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// Everything about a sub-puzzle that does not depend on the low nonce word.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// State after rounds 0–9.
    mid: [u32; 8],
    /// Round 10's T1 without W10, and its T2.
    t1_10: u32,
    t2_10: u32,
    /// K[i] + W[i] for the rounds whose W is constant (11–16, 18, 20, 22).
    kw: [u32; 23],
    /// Constant parts of W17, W19, W21, W23, W24..W31 (see `scan`).
    c: [u32; 32],
    /// W0..W15 (W10 = 0) and W16..W22's constant values, for the general schedule.
    w: [u32; 23],
}

impl Prepared {
    /// Precomputes for `seed`, sub-puzzle `index`, and the high nonce word `hi`.
    pub fn new(seed: &[u8; SEED_LEN], index: u32, hi: u32) -> Prepared {
        let mut w = [0u32; 23];
        for (i, chunk) in seed.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        w[8] = index;
        w[9] = hi;
        w[10] = 0;
        w[11] = 0x8000_0000;
        w[15] = (super::PREIMAGE_LEN as u32) * 8;
        // the words that do not depend on W10
        w[16] = sigma1(w[14]).wrapping_add(w[9]).wrapping_add(sigma0(w[1])).wrapping_add(w[0]);
        w[18] = sigma1(w[16]).wrapping_add(w[11]).wrapping_add(sigma0(w[3])).wrapping_add(w[2]);
        w[20] = sigma1(w[18]).wrapping_add(w[13]).wrapping_add(sigma0(w[5])).wrapping_add(w[4]);
        w[22] = sigma1(w[20]).wrapping_add(w[15]).wrapping_add(sigma0(w[7])).wrapping_add(w[6]);
        let mut c = [0u32; 32];
        // W17 = c17 + lo, W19 = σ1(W17) + c19, W21 = σ1(W19) + c21, W23 = σ1(W21) + c23
        c[17] = sigma1(w[15]).wrapping_add(sigma0(w[2])).wrapping_add(w[1]);
        c[19] = w[12].wrapping_add(sigma0(w[4])).wrapping_add(w[3]);
        c[21] = w[14].wrapping_add(sigma0(w[6])).wrapping_add(w[5]);
        c[23] = w[16].wrapping_add(sigma0(w[8])).wrapping_add(w[7]);
        // W24 = W17 + c24; W25 = σ1(W23) + σ0(lo) + c25; W26 = σ1(W24) + W19 + lo + c26
        c[24] = sigma1(w[22]).wrapping_add(sigma0(w[9])).wrapping_add(w[8]);
        c[25] = w[18].wrapping_add(w[9]);
        c[26] = sigma0(w[11]);
        // W27 = σ1(W25) + c27; W28 = σ1(W26) + W21 + c28; W29 = σ1(W27) + c29
        c[27] = w[20].wrapping_add(sigma0(w[12])).wrapping_add(w[11]);
        c[28] = sigma0(w[13]).wrapping_add(w[12]);
        c[29] = w[22].wrapping_add(sigma0(w[14])).wrapping_add(w[13]);
        // W30 = σ1(W28) + W23 + c30; W31 = σ1(W29) + W24 + c31
        c[30] = sigma0(w[15]).wrapping_add(w[14]);
        c[31] = sigma0(w[16]).wrapping_add(w[15]);

        let mut s = super::IV;
        for i in 0..10 {
            round(&mut s, K[i].wrapping_add(w[i]));
        }
        let [a, b, c_, _d, e, f, g, h] = s;
        let t1_10 = h
            .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
            .wrapping_add(g ^ (e & (f ^ g)))
            .wrapping_add(K[10]);
        let t2_10 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
            .wrapping_add(b ^ ((a ^ b) & (b ^ c_)));
        let mut kw = [0u32; 23];
        for i in [11, 12, 13, 14, 15, 16, 18, 20, 22] {
            kw[i] = K[i].wrapping_add(w[i]);
        }
        Prepared { mid: s, t1_10, t2_10, kw, c, w }
    }

    /// H0 (the first digest word) for the nonces `lo` (one per lane).
    #[inline(always)]
    pub fn h0<L: Lanes>(&self, lo: L) -> L {
        let m = self.mid;
        let sp = L::splat;
        // round 10: T1 = t1_10 + lo
        let t1 = sp(self.t1_10).add(lo);
        let mut s: [L; 8] = [
            t1.add(sp(self.t2_10)),
            sp(m[0]),
            sp(m[1]),
            sp(m[2]),
            sp(m[3]).add(t1),
            sp(m[4]),
            sp(m[5]),
            sp(m[6]),
        ];
        let kw = |i: usize| sp(self.kw[i]);
        for i in 11..=16 {
            round(&mut s, kw(i));
        }
        let c = |i: usize| sp(self.c[i]);
        let w17 = c(17).add(lo);
        round(&mut s, w17.add(sp(K[17])));
        round(&mut s, kw(18));
        let w19 = small_sigma1(w17).add(c(19));
        round(&mut s, w19.add(sp(K[19])));
        round(&mut s, kw(20));
        let w21 = small_sigma1(w19).add(c(21));
        round(&mut s, w21.add(sp(K[21])));
        round(&mut s, kw(22));
        let w23 = small_sigma1(w21).add(c(23));
        round(&mut s, w23.add(sp(K[23])));
        let w24 = w17.add(c(24));
        round(&mut s, w24.add(sp(K[24])));
        let w25 = small_sigma1(w23).add(small_sigma0(lo)).add(c(25));
        round(&mut s, w25.add(sp(K[25])));
        let w26 = small_sigma1(w24).add(w19).add(lo).add(c(26));
        round(&mut s, w26.add(sp(K[26])));
        let w27 = small_sigma1(w25).add(c(27));
        round(&mut s, w27.add(sp(K[27])));
        let w28 = small_sigma1(w26).add(w21).add(c(28));
        round(&mut s, w28.add(sp(K[28])));
        let w29 = small_sigma1(w27).add(c(29));
        round(&mut s, w29.add(sp(K[29])));
        let w30 = small_sigma1(w28).add(w23).add(c(30));
        round(&mut s, w30.add(sp(K[30])));
        let w31 = small_sigma1(w29).add(w24).add(c(31));
        round(&mut s, w31.add(sp(K[31])));
        // rounds 32–63: the general schedule over a 16-word window
        let w = |i: usize| sp(self.w[i]);
        let mut win: [L; 16] =
            [w(16), w17, w(18), w19, w(20), w21, w(22), w23, w24, w25, w26, w27, w28, w29, w30, w31];
        for i in 32..64 {
            let j = i & 15;
            let next = small_sigma1(win[(i - 2) & 15])
                .add(win[(i - 7) & 15])
                .add(small_sigma0(win[(i - 15) & 15]))
                .add(win[j]);
            win[j] = next;
            round(&mut s, next.add(sp(K[i])));
        }
        s[0].add(sp(super::IV[0]))
    }
}

/// The full digests (as state words) of `SHA-256(seed ‖ be32(index) ‖ be64(nonce))` for
/// several sub-puzzles at once, one per lane: the verifier's multi-buffer path.
#[inline(always)]
pub fn digests<L: Lanes>(seed: &[u32; 8], index: L, hi: L, lo: L) -> [L; 8] {
    let sp = L::splat;
    let bits = (super::PREIMAGE_LEN as u32) * 8;
    let mut w: [L; 16] = [
        sp(seed[0]),
        sp(seed[1]),
        sp(seed[2]),
        sp(seed[3]),
        sp(seed[4]),
        sp(seed[5]),
        sp(seed[6]),
        sp(seed[7]),
        index,
        hi,
        lo,
        sp(0x8000_0000),
        sp(0),
        sp(0),
        sp(0),
        sp(bits),
    ];
    let mut s = super::IV.map(sp);
    for i in 0..64 {
        if i >= 16 {
            w[i & 15] = small_sigma1(w[(i - 2) & 15])
                .add(w[(i - 7) & 15])
                .add(small_sigma0(w[(i - 15) & 15]))
                .add(w[i & 15]);
        }
        round(&mut s, w[i & 15].add(sp(K[i])));
    }
    let mut out = s;
    for (o, iv) in out.iter_mut().zip(super::IV) {
        *o = o.add(sp(iv));
    }
    out
}

/// The first sub-puzzle whose nonce has fewer than `difficulty` leading zero bits, with the
/// bits it has, checking `L::N` sub-puzzles per pass.
pub fn first_insufficient<L: Lanes>(
    seed: &[u8; SEED_LEN],
    nonces: &[u64],
    difficulty: u8,
) -> Option<(u32, u32)> {
    let mut words = [0u32; 8];
    for (w, c) in words.iter_mut().zip(seed.chunks_exact(4)) {
        *w = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    let n = L::N as usize;
    for (batch, chunk) in nonces.chunks(n).enumerate() {
        let base = (batch * n) as u32;
        // a short last chunk repeats its first nonce in the spare lanes (their results are ignored)
        let pick = |i: u32| chunk.get(i as usize).or(chunk.first()).copied().unwrap_or(0);
        let state = digests::<L>(
            &words,
            L::gather(|i| base + i),
            L::gather(|i| (pick(i) >> 32) as u32),
            L::gather(|i| pick(i) as u32),
        );
        for i in 0..chunk.len() as u32 {
            let bits = super::leading_zero_bits(&state.map(|w| w.lane(i)));
            if bits < u32::from(difficulty) {
                return Some((base + i, bits));
            }
        }
    }
    None
}

/// SHA-256 of the concatenation of `parts`, with a rolled loop over the kernel's round
/// function: a few hundred bytes of Wasm instead of the unrolled compression that `sha2`
/// ships. The browser solver hashes only the seed with it (a handful of blocks per
/// challenge), so size matters there and speed does not.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut state = super::IV;
    let mut block = [0u8; 64];
    let mut filled = 0usize;
    let mut total: u64 = 0;
    for part in parts {
        for &byte in *part {
            block[filled] = byte;
            filled += 1;
            if filled == 64 {
                compress_rolled(&mut state, &block);
                filled = 0;
            }
        }
        total = total.wrapping_add(part.len() as u64);
    }
    block[filled] = 0x80;
    for b in &mut block[filled + 1..] {
        *b = 0;
    }
    if filled >= 56 {
        compress_rolled(&mut state, &block);
        block = [0u8; 64];
    }
    block[56..].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    compress_rolled(&mut state, &block);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

fn compress_rolled(state: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (i, c) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    for i in 16..64 {
        w[i] =
            sigma1(w[i - 2]).wrapping_add(w[i - 7]).wrapping_add(sigma0(w[i - 15])).wrapping_add(w[i - 16]);
    }
    let mut s = *state;
    for i in 0..64 {
        round(&mut s, K[i].wrapping_add(w[i]));
    }
    for (x, y) in state.iter_mut().zip(s) {
        *x = x.wrapping_add(y);
    }
}

/// Leading zero bits of a sub-puzzle's digest, with the compact compression (the rare paths
/// of the scanner: difficulty above 32, and the last nonces under a high word).
fn zero_bits(seed: &[u8; SEED_LEN], index: u32, nonce: u64) -> u32 {
    let mut block = super::block(seed, index);
    super::set_nonce(&mut block, nonce);
    let mut state = super::IV;
    compress_rolled(&mut state, &block);
    super::leading_zero_bits(&state)
}

/// The seed (see [`super::seed`]) computed with the compact [`sha256`].
pub fn seed(token: &[u8], signals: &[u8]) -> [u8; SEED_LEN] {
    sha256(&[token, &sha256(&[signals])])
}

/// A resumable search for one sub-puzzle with the specialised kernel; finds exactly the
/// nonce [`super::Search`] finds from the same start.
#[derive(Clone, Debug)]
pub struct Scanner {
    seed: [u8; SEED_LEN],
    index: u32,
    difficulty: u8,
    /// H0 below this meets `min(difficulty, 32)` leading zero bits.
    limit: u32,
    next: u64,
    prepared: Prepared,
    tries: u64,
}

impl Scanner {
    /// A search for sub-puzzle `index` from nonce `start`.
    pub fn new(seed: &[u8; SEED_LEN], index: u32, difficulty: u8, start: u64) -> Scanner {
        let limit = match difficulty {
            0 => u32::MAX, // every nonce meets (checked before the kernel runs)
            d if d >= 32 => 1,
            d => 1u32 << (32 - u32::from(d)),
        };
        Scanner {
            seed: *seed,
            index,
            difficulty,
            limit,
            next: start,
            prepared: Prepared::new(seed, index, (start >> 32) as u32),
            tries: 0,
        }
    }

    /// Nonces tried so far.
    pub fn tries(&self) -> u64 {
        self.tries
    }

    /// Tries about `budget` nonces (rounded up to whole lane batches) with lanes `L`.
    pub fn step<L: Lanes>(&mut self, budget: u64) -> Step {
        if self.difficulty == 0 {
            self.tries += 1;
            return Step::Found { nonce: self.next, tries: self.tries };
        }
        let mut left = budget;
        loop {
            let lo = self.next as u32;
            // stay within this `hi`: the batch must not wrap the low word
            let room = u64::from(u32::MAX - lo) + 1;
            let batch = u64::from(L::N);
            if room < batch {
                // fewer than N nonces left under this hi: finish them one by one
                for _ in 0..room {
                    if let Some(step) = self.try_one(self.next) {
                        return step;
                    }
                }
                continue;
            }
            let lanes = L::ramp(lo);
            let h0 = self.prepared.h0(lanes);
            // nonces this batch accounts for: all of them, or up to and including a candidate
            let used = match h0.first_below(self.limit) {
                None => batch,
                Some(lane) => {
                    let nonce = self.next + u64::from(lane);
                    let confirmed = self.difficulty <= 32
                        || zero_bits(&self.seed, self.index, nonce) >= u32::from(self.difficulty);
                    let used = u64::from(lane) + 1;
                    if confirmed {
                        self.tries += used;
                        self.advance(used);
                        return Step::Found { nonce, tries: self.tries };
                    }
                    used // a difficulty > 32 candidate that failed the full check: resume after it
                }
            };
            self.tries += used;
            if self.advance(used) {
                return Step::Exhausted;
            }
            left = left.saturating_sub(used);
            if left == 0 {
                return Step::Pending { tries: self.tries };
            }
        }
    }

    /// Tries a single nonce with the portable digest (used at the edges of the nonce space).
    fn try_one(&mut self, nonce: u64) -> Option<Step> {
        self.tries += 1;
        let found = zero_bits(&self.seed, self.index, nonce) >= u32::from(self.difficulty);
        if self.advance(1) && !found {
            return Some(Step::Exhausted);
        }
        found.then_some(Step::Found { nonce, tries: self.tries })
    }

    /// Moves `next` forward, re-preparing when the high word changes. True when the nonce
    /// space is exhausted.
    fn advance(&mut self, n: u64) -> bool {
        let old_hi = self.next >> 32;
        match self.next.checked_add(n) {
            Some(next) => {
                self.next = next;
                if next >> 32 != old_hi {
                    self.prepared = Prepared::new(&self.seed, self.index, (next >> 32) as u32);
                }
                false
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Search, seed, zero_bits};
    use super::zero_bits as compact_zero_bits;
    use super::*;

    fn h0_reference(seed: &[u8; 32], index: u32, nonce: u64) -> u32 {
        let mut b = super::super::block(seed, index);
        super::super::set_nonce(&mut b, nonce);
        super::super::digest_block(&b)[0]
    }

    #[test]
    fn h0_matches_the_full_digest_for_every_lane_type() {
        for t in 0u8..20 {
            let s = seed(&[t; 7], b"");
            for (index, hi) in [(0u32, 0u32), (3, 1), (t as u32 * 7, 0xdead_beef), (u32::MAX, u32::MAX)] {
                let p = Prepared::new(&s, index, hi);
                for lo in [0u32, 1, 2, 0x1234_5678, u32::MAX - 3] {
                    let base = (u64::from(hi) << 32) | u64::from(lo);
                    assert_eq!(p.h0::<u32>(lo), h0_reference(&s, index, base));
                    let four = p.h0::<[u32; 4]>(<[u32; 4]>::ramp(lo));
                    for (i, got) in four.iter().enumerate() {
                        assert_eq!(*got, h0_reference(&s, index, base + i as u64), "lane {i}");
                    }
                    if lo <= u32::MAX - 8 {
                        let (x, y) = p.h0::<([u32; 4], [u32; 4])>(<([u32; 4], [u32; 4])>::ramp(lo));
                        for (i, got) in x.iter().chain(y.iter()).enumerate() {
                            assert_eq!(*got, h0_reference(&s, index, base + i as u64), "lane {i} of 8");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn scanner_finds_what_the_sequential_search_finds() {
        for (t, d) in [(0u8, 0u8), (1, 1), (2, 8), (3, 12), (4, 13), (5, 16)] {
            let s = seed(&[t], b"signals");
            for start in [0u64, 5, (1 << 32) - 2, u64::from(u32::MAX) * 7] {
                let mut reference = Search::new(&s, 2, d, start);
                let want = loop {
                    if let Step::Found { nonce, tries } = reference.step(1 << 20) {
                        break (nonce, tries);
                    }
                };
                for lanes in [1u32, 2, 4, 8] {
                    let mut scan = Scanner::new(&s, 2, d, start);
                    let got = loop {
                        let step = match lanes {
                            1 => scan.step::<u32>(1000),
                            2 => scan.step::<(u32, u32)>(1000),
                            4 => scan.step::<[u32; 4]>(1000),
                            _ => scan.step::<([u32; 4], [u32; 4])>(1000),
                        };
                        match step {
                            Step::Found { nonce, tries } => break (nonce, tries),
                            Step::Pending { .. } => {}
                            Step::Exhausted => panic!("exhausted"),
                        }
                    };
                    assert_eq!(got, want, "d {d} start {start} lanes {lanes}");
                    assert!(zero_bits(&s, 2, got.0) >= u32::from(d));
                }
            }
        }
    }

    #[test]
    fn multi_buffer_check_agrees_with_one_at_a_time() {
        for t in 0u8..8 {
            let s = seed(&[t, 1], b"");
            for len in [1usize, 3, 4, 5, 16, 17, 32] {
                let nonces: Vec<u64> =
                    (0..len as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(t)).collect();
                for d in [0u8, 1, 2, 3, 40] {
                    let want = nonces
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (i as u32, zero_bits(&s, i as u32, *n)))
                        .find(|(_, bits)| *bits < u32::from(d));
                    assert_eq!(first_insufficient::<u32>(&s, &nonces, d), want, "u32 len {len} d {d}");
                    assert_eq!(first_insufficient::<[u32; 4]>(&s, &nonces, d), want, "x4 len {len} d {d}");
                    assert_eq!(
                        first_insufficient::<([u32; 4], [u32; 4])>(&s, &nonces, d),
                        want,
                        "x8 len {len} d {d}"
                    );
                }
            }
        }
    }

    #[test]
    fn difficulty_above_32_filters_then_confirms() {
        // Force the > 32 path cheaply: a scanner whose limit lets nearly everything through
        // must still only report nonces that pass the full check.
        let s = seed(b"x", b"");
        let mut scan = Scanner::new(&s, 0, 33, 0);
        scan.limit = u32::MAX; // every lane is a candidate; the full check must reject them
        assert!(matches!(scan.step::<[u32; 4]>(4000), Step::Pending { tries: 4000 }));
    }

    #[test]
    fn compact_sha256_matches_sha2_at_every_padding_boundary() {
        use sha2::{Digest, Sha256};
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let (a, b) = data[..len].split_at(len / 3);
            let want: [u8; 32] = Sha256::digest(&data[..len]).into();
            assert_eq!(sha256(&[a, b]), want, "length {len}");
        }
        for n in [0u64, 1, 77, u64::MAX] {
            let s = super::super::seed(b"t", b"");
            assert_eq!(compact_zero_bits(&s, 5, n), zero_bits(&s, 5, n));
        }
        for t in 0u8..10 {
            let token = vec![t; 96 + usize::from(t)];
            assert_eq!(
                super::seed(&token, b"{\"tz\":\"UTC\"}"),
                super::super::seed(&token, b"{\"tz\":\"UTC\"}")
            );
        }
    }

    #[test]
    fn scanner_reports_exhaustion() {
        let s = seed(b"y", b"");
        let mut scan = Scanner::new(&s, 0, 40, u64::MAX - 5);
        assert_eq!(scan.step::<[u32; 4]>(100), Step::Exhausted);
    }
}
