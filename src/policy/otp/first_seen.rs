//! First seen (`[otp.first_seen]`): a price for ranges and calling codes where nobody has
//! entered a code lately. Judged in `Otp::judge` from a reading's [`super::Seen`] counts.

use super::super::load::Problems;
use super::load::within;
use serde::Deserialize;

/// `[otp.first_seen]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FirstSeenFile {
    #[serde(default = "defaults::learn_days")]
    learn_days: u32,
    #[serde(default = "defaults::range_extra_bits")]
    range_extra_bits: u32,
    #[serde(default = "defaults::calling_code_extra_bits")]
    calling_code_extra_bits: u32,
    #[serde(default = "defaults::warm_up_verified")]
    warm_up_verified: u32,
}

mod defaults {
    pub(super) fn learn_days() -> u32 {
        7
    }
    pub(super) fn range_extra_bits() -> u32 {
        2
    }
    pub(super) fn calling_code_extra_bits() -> u32 {
        4
    }
    pub(super) fn warm_up_verified() -> u32 {
        100
    }
}

/// First seen (`[otp.first_seen]`): where no code was ever entered within `learn_days` (a range,
/// a calling code), a code costs more until one is. Pumping goes where people are not: to
/// ranges and countries a site has never had a sign-up from. It applies once the site itself
/// has `warm_up_verified` codes entered in the period, so a new site is not priced everywhere.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FirstSeen {
    /// How long a verified code keeps a range or calling code "seen", days (a decaying count).
    pub learn_days: u32,
    /// Extra bits for a range with no code entered (0: none).
    pub range_extra_bits: u8,
    /// Extra bits for a calling code with no code entered (0: none).
    pub calling_code_extra_bits: u8,
    /// Codes entered site-wide in the period before anything is judged first seen.
    pub warm_up_verified: u32,
}

impl FirstSeen {
    /// The counting period, seconds.
    pub fn learn_secs(&self) -> u32 {
        self.learn_days.saturating_mul(86_400)
    }
}

/// Reads `[otp.first_seen]`, every problem into `p`.
pub(super) fn load(p: &mut Problems, f: &FirstSeenFile) -> FirstSeen {
    let learn_days = within(p, "otp.first_seen.learn_days", f.learn_days, 1, 90);
    let range_extra_bits = within(p, "otp.first_seen.range_extra_bits", f.range_extra_bits, 0, 15) as u8;
    let calling_code_extra_bits =
        within(p, "otp.first_seen.calling_code_extra_bits", f.calling_code_extra_bits, 0, 15) as u8;
    let warm_up_verified = within(p, "otp.first_seen.warm_up_verified", f.warm_up_verified, 1, 1_000_000);
    if range_extra_bits == 0 && calling_code_extra_bits == 0 {
        p.add("otp.first_seen", "prices nothing: give range_extra_bits or calling_code_extra_bits");
    }
    FirstSeen { learn_days, range_extra_bits, calling_code_extra_bits, warm_up_verified }
}
