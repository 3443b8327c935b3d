//! The exported browser solver against the known-answer vectors: for every challenge, the
//! stepped `Solver` must find exactly the smallest nonce the independent implementation found.

use super::vectors::vectors;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gate::solver::Solver;

/// Solves every vector challenge with `Solver`, in small steps; returns the sub-puzzles checked.
pub fn check_solver_vectors() -> usize {
    let v = vectors();
    let mut checked = 0;
    for c in v["challenges"].as_array().unwrap() {
        let token = URL_SAFE_NO_PAD.decode(c["token"].as_str().unwrap()).unwrap();
        let signals = c["signals"].as_str().unwrap().as_bytes();
        let mut s = Solver::new(&token, signals);
        assert!(s.valid(), "token {c}");
        assert_eq!(u64::from(s.k()), c["k"].as_u64().unwrap());
        assert_eq!(u64::from(s.difficulty()), c["difficulty"].as_u64().unwrap());
        for (i, want) in c["nonces"].as_array().unwrap().iter().enumerate() {
            s.begin(i as u32, 0, 0);
            let mut steps = 0;
            while !s.solve_step(64) {
                steps += 1;
                assert!(steps < 1_000_000, "no nonce found");
                assert!(!s.exhausted());
            }
            let got = (u64::from(s.nonce_hi()) << 32) | u64::from(s.nonce_lo());
            assert_eq!(got, want.as_u64().unwrap(), "sub-puzzle {i}");
            assert_eq!(s.tries(), (want.as_u64().unwrap() + 1) as f64, "tries count every nonce");
            checked += 1;
        }
    }
    assert_eq!(Solver::simd(), cfg!(target_feature = "simd128"));
    checked
}

/// A search that starts just below a 2^32 boundary crosses into the next high word correctly.
pub fn check_solver_crosses_high_words() {
    let v = vectors();
    let c = &v["challenges"][0];
    let token = URL_SAFE_NO_PAD.decode(c["token"].as_str().unwrap()).unwrap();
    let mut s = Solver::new(&token, b"");
    s.begin(0, 0, u32::MAX - 2);
    while !s.solve_step(1000) {}
    let nonce = (u64::from(s.nonce_hi()) << 32) | u64::from(s.nonce_lo());
    assert!(nonce >= u64::from(u32::MAX - 2));
    let seed = gate::pow::seed(&token, b"");
    assert!(gate::pow::meets(&seed, 0, nonce, c["difficulty"].as_u64().unwrap() as u8));
    assert!(!Solver::new(b"not a token", b"").valid());
    assert_eq!(Solver::new(b"not a token", b"").k(), 0);
}
