//! # gate
//!
//! An edge sign-up gate: a Cloudflare Worker that lets a site keep registrations open during
//! an attack by pricing each sign-up with a signed, single-use proof of work and checking what
//! the edge sees about the client, while logins and every other route pass untouched.
//!
//! The crate is one library with three products, split by Cargo features: the **core** (no
//! feature, sans-IO: it never reads a clock, randomness or the network; time, random bytes and
//! what the stores answered are arguments), **`edge`** (the Worker, wasm32) and **`solver`**
//! (the browser solver, wasm32); `cli` adds the native `gate` and `demo-origin` programs.
//!
//! ## Layers
//!
//! Each module may use only the modules listed before it (`tests/layers.rs` fails a build
//! that imports upward). Core, from the bottom:
//!
//! 1. `pow` — the SHA-256 proof-of-work kernel
//! 2. `request` — a request's facts as the edge reads them (headers, form fields, routes,
//!    User-Agent, phone)
//! 3. `protocol` — the wire formats: challenge, solution, verdict, wait token, rejections
//! 4. `signals` — fingerprint checks
//! 5. `policy` — what operators edit, and the pure decision
//! 6. `store` — the Durable Objects' logic over plain data (ledger, counter and stats shards)
//! 7. `control` — one isolate's attack-mode state and the rules of every call it makes
//! 8. `config` — the Worker's configuration from its vars and secrets
//! 9. `decision_log` — the typed log line and policy replay
//! 10. `present` — what people and clients see (replies, pages)
//! 11. `operator` — the operators' views (stats page, panic requests)
//! 12. `pipeline` — the request flow and the driver contract (`pipeline::start`, `Step`)
//!
//! Drivers, which only perform the IO the steps name and convert types:
//!
//! 13. `memory` — the stores in memory (the drill and the native tests)
//! 14. `drill` — the attack drill; `cli` — the command-line client; `edge` — the Worker;
//!     `solver` — the browser solver's Wasm export
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod decision_log;
pub mod operator;
pub mod pipeline;
pub mod policy;
pub mod pow;
pub mod present;
pub mod protocol;
pub mod request;
pub mod signals;
pub mod store;

#[cfg(not(target_arch = "wasm32"))]
pub mod memory;

#[cfg(all(not(target_arch = "wasm32"), feature = "cli"))]
pub mod cli;
#[cfg(all(not(target_arch = "wasm32"), feature = "cli"))]
pub mod drill;
#[cfg(all(target_arch = "wasm32", feature = "edge"))]
pub mod edge;
#[cfg(all(target_arch = "wasm32", feature = "solver"))]
pub mod solver;
