//! SMS in a scenario (issue 20): whether people and fleets enter the codes they are sent
//! (`verify`), and the number ranges a fleet asks codes for (`phone_ranges`, `sequential`).

use super::Problems;
use serde::Deserialize;

/// `verify = { probability = 0.85, delay_secs = [10, 90] }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyFile {
    probability: f64,
    #[serde(default = "default_delay")]
    delay_secs: (u32, u32),
}

fn default_delay() -> (u32, u32) {
    (10, 90)
}

/// Whether a code that was sent is entered, and when.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Verify {
    /// The chance a sent code is entered (a check request).
    pub probability: f64,
    /// The delay from the send to the check, drawn uniformly, seconds.
    pub delay_secs: (u32, u32),
}

/// A number range a fleet asks codes for: `+996 500`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneRange {
    /// The calling code (`996`).
    pub code: String,
    /// The range as written, normalized (`+996 500`).
    pub range: String,
}

pub(super) fn verify(p: &mut Problems, at: &str, f: Option<&VerifyFile>) -> Option<Verify> {
    let f = f?;
    if !(0.0..=1.0).contains(&f.probability) {
        p.add(format!("{at}.verify.probability"), format!("{} is outside 0..=1", f.probability));
    }
    let (lo, hi) = f.delay_secs;
    if lo > hi || hi > 86_400 {
        p.add(format!("{at}.verify.delay_secs"), format!("[{lo}, {hi}] is not a range within a day"));
    }
    Some(Verify { probability: f.probability.clamp(0.0, 1.0), delay_secs: (lo.min(hi), hi.max(lo)) })
}

/// People who ask for a code enter it, unless the scenario says otherwise: 85 % of them,
/// 10 to 90 s later (the figure; no public per-site rate is known). Without it every
/// range of people would look pumped once the policy judges conversion.
pub(super) fn people_default(route: &str, otp_route: Option<&str>) -> Option<Verify> {
    (otp_route == Some(route)).then_some(Verify { probability: 0.85, delay_secs: (10, 90) })
}

/// `phone_ranges = ["+996 500", …]`: each a calling code and the national digits that open
/// the range.
pub(super) fn ranges(p: &mut Problems, at: &str, list: &[String]) -> Vec<PhoneRange> {
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let place = format!("{at}.phone_ranges[{i}]");
        let parts: Vec<&str> = r.trim().trim_start_matches('+').split_whitespace().collect();
        let (Some(code), Some(digits), 2) = (parts.first(), parts.get(1), parts.len()) else {
            p.add(place, format!("{r:?} is not \"+<calling code> <digits>\" (\"+996 500\")"));
            continue;
        };
        if !crate::request::phone::is_calling_code(code) {
            p.add(place, format!("{code:?} is not an assigned calling code"));
            continue;
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 8 {
            p.add(place, format!("{digits:?} is not 1 to 8 digits"));
            continue;
        }
        if crate::drill::population::numbers::in_range(&format!("+{code} {digits}"), 0).is_none() {
            p.add(place, format!("no number in use starts with +{code} {digits} (the numbering data)"));
            continue;
        }
        out.push(PhoneRange { code: code.to_string(), range: format!("+{code} {digits}") });
    }
    out
}
