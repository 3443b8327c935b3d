//! Per-number backoff (`[otp.backoff]`): how the wait between codes sent to one number grows.
//! What a number's cell does with it is `store::numbers`; the send's steps `pipeline::backoff`.

use super::super::load::Problems;
use super::load::within;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `[otp.backoff]` as written: every key has a default, so `[otp.backoff]` alone turns it on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackoffFile {
    #[serde(default = "defaults::free_sends")]
    free_sends: u32,
    #[serde(default = "defaults::base_secs")]
    base_secs: u32,
    #[serde(default = "defaults::factor")]
    factor: f64,
    #[serde(default = "defaults::max_secs")]
    max_secs: u32,
    #[serde(default = "defaults::jitter")]
    jitter: f64,
    #[serde(default = "defaults::reset_after_secs")]
    reset_after_secs: u32,
}

mod defaults {
    pub(super) fn free_sends() -> u32 {
        1
    }
    pub(super) fn base_secs() -> u32 {
        30
    }
    pub(super) fn factor() -> f64 {
        2.0
    }
    pub(super) fn max_secs() -> u32 {
        3600
    }
    pub(super) fn jitter() -> f64 {
        0.25
    }
    pub(super) fn reset_after_secs() -> u32 {
        86_400
    }
}

/// Per-number backoff: how the wait between codes to one number grows.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
pub struct Backoff {
    /// Sends in a row without a wait (the first code).
    pub free_sends: u32,
    /// The wait before the first send past the free ones, seconds; then times `factor` each.
    pub base_secs: u32,
    /// How much each further send multiplies the wait by.
    pub factor: f64,
    /// The longest wait, seconds.
    pub max_secs: u32,
    /// Each wait is stretched by up to this fraction (derived from the number's key and the
    /// streak, so every isolate computes the same wait and nobody can predict it).
    pub jitter: f64,
    /// A number idle this long starts over, seconds (and its cell is forgotten).
    pub reset_after_secs: u32,
}

impl Backoff {
    /// The wait after `sends` sends in a row to the number with this key, ms: none within the
    /// free sends, then `base · factor^(sends − free)` up to `max`, stretched by the jitter.
    pub fn wait_ms(&self, key: &str, sends: u32) -> u64 {
        if sends < self.free_sends {
            return 0;
        }
        let over = i32::try_from(sends - self.free_sends).unwrap_or(i32::MAX).min(64);
        let secs =
            (f64::from(self.base_secs) * self.factor.max(1.0).powi(over)).min(f64::from(self.max_secs));
        let stretched = secs * (1.0 + self.jitter.clamp(0.0, 1.0) * unit(key, sends));
        (stretched * 1000.0) as u64
    }
}

/// A number in [0, 1) derived from the number's key and the streak: the jitter, the same in
/// every isolate, unpredictable without the key the hash was made with.
fn unit(key: &str, sends: u32) -> f64 {
    let digest = Sha256::new().chain_update(key.as_bytes()).chain_update(sends.to_be_bytes()).finalize();
    let mut four = [0u8; 4];
    for (f, d) in four.iter_mut().zip(digest.iter()) {
        *f = *d;
    }
    f64::from(u32::from_be_bytes(four)) / 4_294_967_296.0
}

/// Reads `[otp.backoff]`, every problem into `p`.
pub(super) fn load(p: &mut Problems, b: &BackoffFile) -> Backoff {
    let free_sends = within(p, "otp.backoff.free_sends", b.free_sends, 1, 10);
    let base_secs = within(p, "otp.backoff.base_secs", b.base_secs, 1, 3600);
    let max_secs = within(p, "otp.backoff.max_secs", b.max_secs, 1, 7 * 86_400);
    let reset_after_secs = within(p, "otp.backoff.reset_after_secs", b.reset_after_secs, 60, 30 * 86_400);
    if max_secs < base_secs {
        p.add("otp.backoff.max_secs", format!("{max_secs} is below base_secs ({base_secs})"));
    }
    let longest = f64::from(max_secs) * (1.0 + b.jitter.clamp(0.0, 1.0));
    if f64::from(reset_after_secs) <= longest {
        p.add(
            "otp.backoff.reset_after_secs",
            format!("must be longer than the longest wait, max_secs × (1 + jitter) = {longest:.0} s"),
        );
    }
    let factor = if (1.0..=10.0).contains(&b.factor) {
        b.factor
    } else {
        p.add("otp.backoff.factor", format!("{} is outside 1..=10", b.factor));
        2.0
    };
    let jitter = if (0.0..=1.0).contains(&b.jitter) {
        b.jitter
    } else {
        p.add("otp.backoff.jitter", format!("{} is outside 0..=1", b.jitter));
        0.0
    };
    Backoff { free_sends, base_secs, factor, max_secs, jitter, reset_after_secs }
}
