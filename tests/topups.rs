//! Top-ups (docs/protocol.md § Top-ups): work that adds to a challenge. A bundle of a solved
//! challenge and solved (or partly solved) top-ups verifies with the sum of their work, and
//! every way of reusing, forging or stretching a part is refused: generated bundles, every
//! single byte of every token flipped, parts of another challenge, repeats, too many parts,
//! more nonces than offered, expiry, bad work anywhere.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use gate::pow;
use gate::protocol::binding::{BINDING_LEN, Binding};
use gate::protocol::challenge::{self, Challenge, Terms};
use gate::protocol::key::{Key, KeyRing};
use gate::protocol::reject::RejectKind;
use gate::protocol::solution::{self, Expectation, Solution, TopUpPart, work_of};
use gate::protocol::time::UnixTime;
use gate::protocol::topup;
use proptest::prelude::*;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const SECRET: &[u8] = b"top-up bundle test secret, 32+ bytes long";

fn key() -> Key {
    Key::new(SECRET)
}

fn ring() -> KeyRing {
    KeyRing::new(key(), None)
}

fn first(id: u8, difficulty: u8, k: u8) -> (Vec<u8>, Challenge) {
    let terms = Terms {
        route: "/signup".into(),
        difficulty,
        k,
        risk: 0,
        ttl: 300,
        binding: Binding([4; BINDING_LEN]),
    };
    let s = challenge::issue(&key(), &terms, NOW, [id; 16]).unwrap();
    (s.bytes().to_vec(), s.challenge().clone())
}

/// A top-up for `c`, with the nonces of its first `solved` sub-puzzles.
fn top_up(c: &Challenge, id: u8, difficulty: u8, k: u8, solved: usize, signals: &[u8]) -> TopUpPart {
    let token = topup::issue(&key(), c, difficulty, k, NOW.plus(10), [id; 16]).unwrap();
    let seed = pow::seed(&token, signals);
    let nonces = (0..solved as u32).map(|i| pow::solve(&seed, i, difficulty).unwrap()).collect();
    TopUpPart { token, nonces }
}

fn expect(keys: &KeyRing) -> Expectation<'_> {
    Expectation {
        keys,
        now: NOW.plus(20),
        skew: 5,
        route: Some("/signup"),
        binding: Some(Binding([4; BINDING_LEN])),
        order: 7,
    }
}

fn bundle(signals: &[u8], parts: &[(u8, u8, usize)]) -> (Solution, Challenge) {
    let (token, c) = first(1, 6, 4);
    let mut s = solution::solve(&token, signals).unwrap();
    for (n, (d, k, solved)) in parts.iter().enumerate() {
        s.topups.push(top_up(&c, 10 + n as u8, *d, *k, *solved, signals));
    }
    (s, c)
}

#[test]
fn a_bundle_pays_the_sum_of_its_parts() {
    let keys = ring();
    let (s, _) = bundle(b"{\"v\":1}", &[(7, 8, 8), (9, 4, 2)]);
    let v = solution::verify(&s.encode(), &expect(&keys)).unwrap();
    assert_eq!(v.work, work_of(4, 6) + work_of(8, 7) + work_of(2, 9));
    assert_eq!(v.topups, 2);
    // the wire form round-trips
    assert_eq!(Solution::parse(&s.encode()).unwrap(), s);
    // a plain challenge solution is unchanged by the extension
    let (plain, _) = bundle(b"", &[]);
    assert!(!plain.encode().contains('~'));
    assert_eq!(solution::verify(&plain.encode(), &expect(&keys)).unwrap().work, work_of(4, 6));
}

fn refused(s: &Solution) -> Option<RejectKind> {
    let keys = ring();
    solution::verify(&s.encode(), &expect(&keys)).err().map(|r| r.kind())
}

#[test]
fn no_part_can_be_reused_forged_or_stretched() {
    let (good, c) = bundle(b"", &[(7, 8, 8)]);
    // a top-up of another challenge
    let (_, other) = first(2, 6, 4);
    let mut s = good.clone();
    s.topups[0] = top_up(&other, 10, 7, 8, 8, b"");
    assert_eq!(refused(&s), Some(RejectKind::BindingMismatch));
    // the same top-up twice
    let mut s = good.clone();
    s.topups.push(s.topups[0].clone());
    assert_eq!(refused(&s), Some(RejectKind::MalformedSolution));
    // more nonces than the top-up offers
    let mut s = good.clone();
    s.topups[0].nonces.push(0);
    assert_eq!(refused(&s), Some(RejectKind::MalformedSolution));
    // more top-ups than a bundle carries
    let mut s = good.clone();
    for n in 0..solution::MAX_TOP_UPS as u8 {
        s.topups.push(top_up(&c, 20 + n, 3, 1, 1, b""));
    }
    assert!(Solution::parse(&s.encode()).is_err_and(|r| r.kind() == RejectKind::MalformedSolution));
    // a top-up that expired with its challenge
    let keys = ring();
    let late = Expectation { now: NOW.plus(400), ..expect(&keys) };
    assert_eq!(solution::verify(&good.encode(), &late).err().map(|r| r.kind()), Some(RejectKind::Expired));
    // bad work in a top-up, wherever the sampled checks fall
    for order in 0..16u64 {
        let mut s = good.clone();
        s.topups[0].nonces[5] =
            (0..).find(|n| !pow::meets(&pow::seed(&s.topups[0].token, b""), 5, *n, 7)).unwrap();
        let e = Expectation { order, ..expect(&keys) };
        assert_eq!(
            solution::verify(&s.encode(), &e).err().map(|r| r.kind()),
            Some(RejectKind::InsufficientWork)
        );
    }
    // a top-up's signals are the challenge's: other signals change its seed
    let mut s = good.clone();
    s.signals = b"{}".to_vec();
    assert_eq!(refused(&s), Some(RejectKind::InsufficientWork));
}

#[test]
fn every_flipped_byte_of_a_top_up_token_is_refused() {
    let (good, _) = bundle(b"", &[(5, 4, 4)]);
    let len = good.topups[0].token.len();
    for at in 0..len {
        for bit in [0x01u8, 0x80] {
            let mut s = good.clone();
            s.topups[0].token[at] ^= bit;
            assert!(refused(&s).is_some(), "byte {at} bit {bit:#x} was accepted");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Generated bundles: the work credited is exactly the sum of the parts solved.
    #[test]
    fn generated_bundles_verify_with_their_work(parts in prop::collection::vec((1u8..8, 1u8..6, 0usize..6), 0..=3)) {
        let parts: Vec<(u8, u8, usize)> = parts.into_iter().map(|(d, k, s)| (d, k, s.clamp(1, usize::from(k)))).collect();
        let (s, _) = bundle(b"", &parts);
        let keys = ring();
        let v = solution::verify(&s.encode(), &expect(&keys)).unwrap();
        let want = parts.iter().fold(work_of(4, 6), |w, (d, _, n)| w + work_of(*n, *d));
        prop_assert_eq!(v.work, want);
    }

    /// Any text after a valid solution's `~` is refused or verified, never a panic.
    #[test]
    fn anything_appended_is_read_safely(tail in "[A-Za-z0-9_~.-]{0,300}") {
        let (s, _) = bundle(b"", &[]);
        let keys = ring();
        let _ = solution::verify(&format!("{}~{tail}", s.encode()), &expect(&keys));
    }
}

#[test]
fn a_rise_to_the_ceiling_is_one_top_up() {
    // from the default price (17 bits x 32) to 8 bits more: one top-up covers the difference
    let asked = work_of(32, 17 + 8);
    let paid = work_of(32, 17);
    let (d, k) = topup::sized(asked - paid).unwrap();
    assert!(work_of(usize::from(k), d) >= asked - paid);
    assert!(k <= topup::MAX_K);
}
