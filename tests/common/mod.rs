//! Code shared by several test targets.
#![allow(dead_code)]
#[cfg(not(target_arch = "wasm32"))]
pub mod chrome;
#[cfg(not(target_arch = "wasm32"))]
pub mod corpus;
#[cfg(not(target_arch = "wasm32"))]
pub mod driver;
#[cfg(not(target_arch = "wasm32"))]
pub mod fixtures;
#[cfg(not(target_arch = "wasm32"))]
pub mod otp;
#[cfg(all(target_arch = "wasm32", feature = "solver"))]
pub mod solver;
pub mod vectors;

/// The known-answer test functions, one set for every runner (`vector_tests!(test)` natively,
/// `vector_tests!(wasm_bindgen_test)` under Node and in headless Chromium), so the runners cannot
/// drift apart: each check with the number of vectors it must have checked.
#[allow(unused_macros)] // expanded only by the test crates that run the vectors
macro_rules! vector_tests {
    (@each $test:meta; $($name:ident: $check:ident = $count:expr,)*) => {
        $(
            #[$test]
            fn $name() {
                assert_eq!(common::vectors::$check(), $count);
            }
        )*
    };
    ($test:meta) => {
        vector_tests!(@each $test;
            key_ids: check_keys = 3,
            bindings: check_bindings = 4,
            challenges_seeds_and_nonces: check_challenges = 3,
            pow_digests: check_pow = 4,
            verdict_headers: check_verdicts = 2,
            rejections: check_rejections = 21,
            topups_and_bundles: check_topups = 2,
        );

        #[cfg(all(target_arch = "wasm32", feature = "solver"))]
        #[$test]
        fn solver_finds_the_vector_nonces() {
            assert_eq!(common::solver::check_solver_vectors(), 4 + 3 + 2);
        }

        #[cfg(all(target_arch = "wasm32", feature = "solver"))]
        #[$test]
        fn solver_crosses_high_words() {
            common::solver::check_solver_crosses_high_words();
        }
    };
}
