//! The lane types the kernel is generic over: one nonce (`u32`), four portable lanes
//! (`[u32; 4]`), four Wasm SIMD lanes (`V128`, wasm32 with `simd128`), and pairs of any of them.

#![allow(clippy::indexing_slicing)] // `[u32; 4]` lanes indexed by `i & 3`

/// A vector of 32-bit lanes, each holding one nonce's computation.
pub trait Lanes: Copy {
    /// Number of lanes.
    const N: u32;
    /// Every lane `x`.
    fn splat(x: u32) -> Self;
    /// Lanes `base, base + 1, ...` (wrapping).
    fn ramp(base: u32) -> Self;
    /// Lane-wise wrapping add.
    fn add(self, o: Self) -> Self;
    /// Lane-wise xor.
    fn xor(self, o: Self) -> Self;
    /// Lane-wise and.
    fn and(self, o: Self) -> Self;
    /// Lane-wise rotate right by `R`.
    fn rotr<const R: u32>(self) -> Self;
    /// Bitwise select: bits of `self` where `mask` is 1, bits of `other` where it is 0.
    /// (One `v128.bitselect` in Wasm SIMD; three operations elsewhere.)
    #[inline(always)]
    fn select(self, other: Self, mask: Self) -> Self {
        other.xor(mask.and(self.xor(other)))
    }
    /// Lane-wise logical shift right by `S`.
    fn shr<const S: u32>(self) -> Self;
    /// The lowest lane whose value is (unsigned) below `limit`.
    fn first_below(self, limit: u32) -> Option<u32>;
    /// Lanes `f(0), f(1), ...`.
    fn gather(f: impl Fn(u32) -> u32) -> Self;
    /// The value in lane `i` (`i < N`).
    fn lane(self, i: u32) -> u32;
}

impl Lanes for u32 {
    const N: u32 = 1;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn ramp(base: u32) -> Self {
        base
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn rotr<const R: u32>(self) -> Self {
        self.rotate_right(R)
    }
    #[inline(always)]
    fn shr<const S: u32>(self) -> Self {
        self >> S
    }
    #[inline(always)]
    fn first_below(self, limit: u32) -> Option<u32> {
        (self < limit).then_some(0)
    }
    #[inline(always)]
    fn gather(f: impl Fn(u32) -> u32) -> Self {
        f(0)
    }
    #[inline(always)]
    fn lane(self, _: u32) -> u32 {
        self
    }
}

impl Lanes for [u32; 4] {
    const N: u32 = 4;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        [x; 4]
    }
    #[inline(always)]
    fn ramp(base: u32) -> Self {
        [base, base.wrapping_add(1), base.wrapping_add(2), base.wrapping_add(3)]
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        [0, 1, 2, 3].map(|i| self[i].wrapping_add(o[i]))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        [0, 1, 2, 3].map(|i| self[i] ^ o[i])
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        [0, 1, 2, 3].map(|i| self[i] & o[i])
    }
    #[inline(always)]
    fn rotr<const R: u32>(self) -> Self {
        self.map(|x| x.rotate_right(R))
    }
    #[inline(always)]
    fn shr<const S: u32>(self) -> Self {
        self.map(|x| x >> S)
    }
    #[inline(always)]
    fn first_below(self, limit: u32) -> Option<u32> {
        (0u32..).zip(self).find(|(_, x)| *x < limit).map(|(i, _)| i)
    }
    #[inline(always)]
    fn gather(f: impl Fn(u32) -> u32) -> Self {
        [f(0), f(1), f(2), f(3)]
    }
    #[inline(always)]
    fn lane(self, i: u32) -> u32 {
        self[(i & 3) as usize]
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// Four lanes in one wasm `v128`.
    #[derive(Copy, Clone)]
    pub struct V128(pub v128);

    impl Lanes for V128 {
        const N: u32 = 4;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V128(u32x4_splat(x))
        }
        #[inline(always)]
        fn ramp(base: u32) -> Self {
            V128(u32x4(base, base.wrapping_add(1), base.wrapping_add(2), base.wrapping_add(3)))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V128(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V128(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            V128(v128_and(self.0, o.0))
        }
        #[inline(always)]
        fn rotr<const R: u32>(self) -> Self {
            V128(v128_or(u32x4_shr(self.0, R), i32x4_shl(self.0, 32 - R)))
        }
        #[inline(always)]
        fn select(self, other: Self, mask: Self) -> Self {
            V128(v128_bitselect(self.0, other.0, mask.0))
        }
        #[inline(always)]
        fn shr<const S: u32>(self) -> Self {
            V128(u32x4_shr(self.0, S))
        }
        #[inline(always)]
        fn first_below(self, limit: u32) -> Option<u32> {
            let mask = i32x4_bitmask(u32x4_lt(self.0, u32x4_splat(limit)));
            (mask != 0).then(|| (mask as u32).trailing_zeros())
        }
        #[inline(always)]
        fn gather(f: impl Fn(u32) -> u32) -> Self {
            V128(u32x4(f(0), f(1), f(2), f(3)))
        }
        #[inline(always)]
        fn lane(self, i: u32) -> u32 {
            match i & 3 {
                0 => u32x4_extract_lane::<0>(self.0),
                1 => u32x4_extract_lane::<1>(self.0),
                2 => u32x4_extract_lane::<2>(self.0),
                _ => u32x4_extract_lane::<3>(self.0),
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd::V128;

/// Two interleaved lane groups: independent dependency chains the CPU can overlap.
impl<L: Lanes> Lanes for (L, L) {
    const N: u32 = 2 * L::N;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        (L::splat(x), L::splat(x))
    }
    #[inline(always)]
    fn ramp(base: u32) -> Self {
        (L::ramp(base), L::ramp(base.wrapping_add(L::N)))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        (self.0.add(o.0), self.1.add(o.1))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        (self.0.xor(o.0), self.1.xor(o.1))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        (self.0.and(o.0), self.1.and(o.1))
    }
    #[inline(always)]
    fn rotr<const R: u32>(self) -> Self {
        (self.0.rotr::<R>(), self.1.rotr::<R>())
    }
    #[inline(always)]
    fn select(self, other: Self, mask: Self) -> Self {
        (self.0.select(other.0, mask.0), self.1.select(other.1, mask.1))
    }
    #[inline(always)]
    fn shr<const S: u32>(self) -> Self {
        (self.0.shr::<S>(), self.1.shr::<S>())
    }
    #[inline(always)]
    fn first_below(self, limit: u32) -> Option<u32> {
        self.0.first_below(limit).or_else(|| self.1.first_below(limit).map(|i| i + L::N))
    }
    #[inline(always)]
    fn gather(f: impl Fn(u32) -> u32) -> Self {
        (L::gather(&f), L::gather(|i| f(i + L::N)))
    }
    #[inline(always)]
    fn lane(self, i: u32) -> u32 {
        if i < L::N { self.0.lane(i) } else { self.1.lane(i - L::N) }
    }
}
