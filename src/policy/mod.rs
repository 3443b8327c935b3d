//! The policy: what operators edit instead of code (docs/policy.md).
//!
//! A TOML file (`policy/gate.toml`, bundled into the Worker at build time) declares the
//! protected and pass-through routes, the base price, the fingerprint thresholds, per-cohort
//! attack mode, and ordered rules that allow, price, deny or shed requests by country, ASN,
//! CIDR, User-Agent, risk reasons and phone calling code. [`load`] reports every problem at
//! once with its location; [`Policy::decide`] is pure: the edge passes in what it knows, the
//! cohort state read from the counters, and gets back the outcome (and, in shadow mode, the
//! outcome that would have been enforced).
//!
//! One concern per file: `file` (the document as written, serde) → `load` (validation,
//! every problem with its place) → the validated [`Policy`], whose `rules`, attack-mode
//! `cohort`s and `nojs` path `decide` reads. Every public item is re-exported here, so
//! `gate::policy::X` is the one path to each.

mod cohort;
mod cohort_key;
mod decide;
mod file;
mod load;
mod nojs;
mod otp;
mod rules;
mod usual;

pub use cohort::{
    Attack, Capacity, CapacityOf, CapacityPrice, CohortKind, CohortState, Counter, Level, Serving, Turn,
    ip_prefix,
};
pub use cohort_key::{CohortKey, OtpCount, Scope};
pub use decide::{Decision, Outcome, Shadow};
#[cfg(feature = "toml")]
pub use load::to_json;
#[cfg(all(not(target_arch = "wasm32"), feature = "cli"))]
pub(crate) use load::toml_location;
pub use load::{PolicyError, PolicyErrors, load, routes_only};
pub use nojs::NoJs;
pub use otp::{
    Backoff, FirstSeen, Network, NumberSource, Otp, RangeAction, RangeLevel, RangeReading, RangeScope,
    RangeVerdict, Seen, Share, SiteSends, Surge, WiderReadings, calling_code_in_scope, calling_code_of,
    calling_code_scope, is_calling_code_scope, network_in_scope, network_of, network_scope, wilson_upper,
};
pub use rules::{Action, Cidr, Conditions, Rule};
pub use usual::UsualShares;

use crate::request::route::Route;
use crate::signals::{Assessment, RiskPolicy};
use std::net::IpAddr;

/// The policy format version this build reads.
pub const VERSION: u32 = 1;

/// The policy file bundled at build time, as JSON (build.rs converts the TOML).
pub const BUNDLED: &str = include_str!(concat!(env!("OUT_DIR"), "/policy.json"));
/// Where the bundled policy came from, relative to the crate.
pub const BUNDLED_PATH: &str = env!("GATE_POLICY_PATH");
/// [`fingerprint`] of the bundled TOML file, as `gate policy check` prints it.
pub const BUNDLED_FINGERPRINT: &str = env!("GATE_POLICY_FINGERPRINT");

/// A short fingerprint of a policy text (first 8 bytes of SHA-256, hex), for logs and stats.
pub fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::protocol::key::hex(Sha256::digest(text.as_bytes()).get(..8).unwrap_or(&[]))
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Base difficulty (leading zero bits per sub-puzzle).
    pub difficulty: u8,
    /// Base number of sub-puzzles.
    pub k: u8,
    /// Global shadow mode: decide and log, but enforce only the base price.
    pub shadow: bool,
    /// Fingerprint thresholds.
    pub risk: RiskPolicy,
    /// Routes that need a solved challenge.
    pub protected: Vec<Route>,
    /// Routes that are never gated, even if a protected pattern covers them.
    pub pass: Vec<Route>,
    /// Form/JSON field with the full phone number (international form).
    pub phone_field: Option<String>,
    /// Form/JSON field with just the calling code (`+86`).
    pub phone_code_field: Option<String>,
    /// The region whose national forms (`0138…`, `(415) 555…`) and international prefix
    /// (`011…`, `0011…`) the phone field is read in; `None`: only `+…` and `00…` numbers.
    pub phone_region: Option<crate::request::phone::Region>,
    /// Per-cohort attack mode.
    pub attack: Attack,
    /// Ordered rules: the first match decides.
    pub rules: Vec<Rule>,
    /// The no-JavaScript sign-up path (off unless it lists routes).
    pub no_js: NoJs,
    /// SMS by number range: the OTP send and check routes, and the range levels.
    pub otp: Option<Otp>,
}

/// Something known, or not yet known (a phone number at challenge time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known<T> {
    /// Not known yet: conditions on it neither hold nor fail.
    Unknown,
    /// Known.
    Is(T),
}

/// What the edge knows about a request when deciding.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    /// The protected route (normalized path).
    pub route: String,
    /// `cf.country`.
    pub country: Option<&'a str>,
    /// `cf.asn`.
    pub asn: Option<u32>,
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The User-Agent header.
    pub user_agent: Option<&'a str>,
    /// The fingerprint assessment.
    pub assessment: Assessment,
    /// The phone calling code of the sign-up.
    pub phone_code: Known<Option<String>>,
    /// The type of the sign-up's phone number (known only from the whole number, at
    /// submission).
    pub phone_type: Known<Option<crate::request::phone::NumberType>>,
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{Known, Subject};
    use crate::signals::Assessment;

    pub(crate) fn subject<'a>(a: &'a Assessment) -> Subject<'a> {
        Subject {
            route: "/signup".into(),
            country: Some("DE"),
            asn: Some(3320),
            ip: "198.51.100.9".parse().ok(),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0"),
            assessment: a.clone(),
            phone_code: Known::Is(None),
            phone_type: Known::Is(None),
        }
    }
}
