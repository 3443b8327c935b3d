//! Code shared by several test targets.
#![allow(dead_code)]
#[cfg(not(target_arch = "wasm32"))]
pub mod corpus;
#[cfg(not(target_arch = "wasm32"))]
pub mod driver;
#[cfg(not(target_arch = "wasm32"))]
pub mod fixtures;
#[cfg(all(target_arch = "wasm32", feature = "solver"))]
pub mod solver;
pub mod vectors;

/// The wasm32 test functions, one set for every runner (Node, headless Chromium), so the
/// runners cannot drift apart. Expands in a test crate that imports `wasm_bindgen_test`.
#[cfg(target_arch = "wasm32")]
macro_rules! wasm_vector_tests {
    () => {
        #[wasm_bindgen_test]
        fn key_ids() {
            assert_eq!(common::vectors::check_keys(), 3);
        }

        #[wasm_bindgen_test]
        fn bindings() {
            assert_eq!(common::vectors::check_bindings(), 4);
        }

        #[wasm_bindgen_test]
        fn challenges_seeds_and_nonces() {
            assert_eq!(common::vectors::check_challenges(), 3);
        }

        #[wasm_bindgen_test]
        fn pow_digests() {
            assert_eq!(common::vectors::check_pow(), 4);
        }

        #[wasm_bindgen_test]
        fn verdict_headers() {
            assert_eq!(common::vectors::check_verdicts(), 2);
        }

        #[wasm_bindgen_test]
        fn topups_and_bundles() {
            assert_eq!(common::vectors::check_topups(), 2);
        }

        #[wasm_bindgen_test]
        fn rejections() {
            assert_eq!(common::vectors::check_rejections(), 21);
        }

        #[cfg(feature = "solver")]
        #[wasm_bindgen_test]
        fn solver_finds_the_vector_nonces() {
            assert_eq!(common::solver::check_solver_vectors(), 4 + 3 + 2);
        }

        #[cfg(feature = "solver")]
        #[wasm_bindgen_test]
        fn solver_crosses_high_words() {
            common::solver::check_solver_crosses_high_words();
        }
    };
}
