//! # gate
//!
//! An edge sign-up gate: a Cloudflare Worker that lets a site keep registrations open during
//! an attack by pricing each sign-up with a signed, single-use proof of work and checking what
//! the edge sees about the client, while logins and every other route pass untouched.
//!
//! The crate is one library with three products, split by Cargo features:
//!
//! - the **core** (no feature): challenges, proof of work, verification, configuration. It is
//!   sans-IO: it never reads a clock, randomness or the network; time and random bytes are
//!   arguments, so native `cargo test` covers it fully;
//! - **`edge`**: the Worker glue in [`edge`] (wasm32 only), built with `worker-build`;
//! - **`solver`**: the browser solver export in `solver` (wasm32 only): the stepped search
//!   over the specialised kernel in [`pow::kernel`].
#![forbid(unsafe_code)]

#[cfg(all(not(target_arch = "wasm32"), feature = "cli"))]
pub mod cli;
pub mod config;
pub mod control;
pub mod decision_log;
#[cfg(all(not(target_arch = "wasm32"), feature = "cli"))]
pub mod drill;
pub mod pipeline;
pub mod policy;
pub mod pow;
pub mod present;
pub mod protocol;
pub mod request;
pub mod signals;
pub mod store;

#[cfg(all(target_arch = "wasm32", feature = "edge"))]
pub mod edge;

#[cfg(all(target_arch = "wasm32", feature = "solver"))]
pub mod solver;
