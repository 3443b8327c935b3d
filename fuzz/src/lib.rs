//! The fuzz targets' bodies, one public function per target (`fuzzers/<name>.rs` calls it).
//!
//! Each feeds a parser an attacker or an operator controls, and asserts what the parser
//! promises where that is cheap to state: never a panic, and where the crate has an encoder,
//! that what parses is written back and reads as the same value. A failed assertion is a
//! finding, like a panic. docs/fuzzing.md lists the targets and what was run.
#![forbid(unsafe_code)]

mod config;
mod protocol;
mod request;
mod signals;

pub use config::{decision_log, policy, scenario};
pub use protocol::{VerifyInput, solution, token, verdict, verify};
pub use request::{form, headers, phone, route, user_agent};
pub use signals::signals;

/// Splits `data` at its first `n - 1` newlines (the last part keeps the rest, newlines and all),
/// for targets whose input has several fields: `a\nb\nrest`.
fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == b'\n').collect()
}

/// The `n`-th field as text; `None` when absent or not UTF-8 (headers and paths reach the core
/// as `&str`).
fn text<'a>(parts: &[&'a [u8]], n: usize) -> Option<&'a str> {
    parts.get(n).and_then(|p| std::str::from_utf8(p).ok())
}
