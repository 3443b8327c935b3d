//! Phone numbers: a sign-up's phone field read to E.164 with libphonenumber's numbering data,
//! and reduced to what the policy needs: the calling code, the region, the number's type and
//! its range. The number itself is never logged or stored, only its range and a keyed hash.
//!
//! # Reading a number
//! [`parse`] follows libphonenumber's `parse` and `isValidNumber` step by step: an extension
//! split off the end; `+` (one or more), or the origin's default region's international
//! prefix (`00`, `011` in NANP, `0011` in AU, `010` in JP, `810` typed `8~10` in RU, and
//! every other pattern the metadata gives); the calling code; the national prefix (trunk
//! `0`, `1`, `8`…) stripped, and transformed where the metadata says (AR `0 11 15` → `9 11`);
//! then the region by leading digits where calling codes are shared (NANP, +7, +44…) and the
//! type by the region's number patterns. A number that is not valid under the metadata is a
//! [`PhoneError`], each with its reason, unless [`ParseOptions::accept_possible`].
//!
//! Two deliberate departures: text around the number and letters are refused (libphonenumber
//! skips "Tel:" and reads keypad letters); and with no default region, a leading `00` is read
//! as the international prefix (libphonenumber then needs `+`).
//!
//! # The range
//! A number's [`Range`] is its calling code and national destination code, derived as
//! libphonenumber's `getLengthOfNationalDestinationCode` does: the first group of the number in
//! international format (`+86 138 0013 8000` → `138`, `+44 7400 123456` → `7400`, `+1 415…` →
//! `415`), with the mobile token where a country has one (`+54 9 11…` → `911`). Where the format
//! has no separate group, it is the first [`ParseOptions::range_fallback_digits`] national
//! digits. A range never holds a number's last four digits, so it never names a subscriber.
//!
//! # Why a generated table and this matcher (measured)
//! The data is libphonenumber's metadata as PyPI `phonenumbers` (pinned in scripts/phone-data)
//! ships it, generated into `data.rs`: every pattern as libphonenumber writes it, once, matched
//! by a small backtracking matcher of the metadata's regex subset (`pattern.rs`). Nothing is
//! compiled: an isolate's first use of a pattern records where its groups end (one pass).
//! Measured on one tree (the Worker as `wrangler deploy --dry-run` bundles it, the parser
//! linked in on the request path; a wasm32 module exporting only `parse`, built like the
//! Worker; native: `cargo bench --bench phone`, every example number of the metadata, and a
//! side-by-side run with the crate, on a loaded 2-core machine):
//!
//! | | Worker bundle, gzip | module alone, gzip | parse, native, mean | first parse |
//! |---|---|---|---|---|
//! | before: `calling_code` only | 447.6 kB | 3.1 kB | 0.21 µs | – |
//! | this table + matcher | 498.1 kB (+50.5) | 63.3 kB | 5.2 µs (25× in the same run) | 0.04–0.1 ms |
//! | crate `phonenumber` 0.3.10 | not built (≈ +490) | 494.2 kB | 1.1–1.6 ms (~200×) | 130–270 ms |
//!
//! Re-measured after the merge with the refactored core (2026-12-02, `scripts/bench bundle`):
//! 459.8 kB gzip without the table, 512.0 kB with it and `parse` on the request path (+52.2 kB;
//! docs/performance.md).
//! Per number: 3.4 µs for a US national number, 5.1 µs for a CN mobile, ~1 µs for short plans.
//! The crate (metadata 9.0.33, ten releases behind) pulls `regex` with its Unicode tables,
//! `nom`, `quick-xml` and `postcard` into the module, deserializes all the metadata and
//! compiles regexes per isolate (its warm time is over every region's examples: compiled
//! regexes evicted from its cache are the likely cause).
//! Under V8 (a module exporting `parse`, built with the Worker's flags, timed from Node) a parse
//! took 3.4 µs median, 10 µs mean: ten times `calling_code` there. Of the table's ~45 kB gzip, the
//! patterns' text is 27 kB (fixed-line area-code lists alone 11 kB); the first layout, with
//! `&'static str` fields and Unicode case tables, cost 57 kB. A DFA per region instead of a
//! matcher measured 21 362 states and 42 040 transition runs: about three times the text.
//! `cargo bench --bench phone` measures `parse` and `calling_code` side by side.

mod data;
mod input;
mod metadata;
mod parse;
mod pattern;
mod prefix;

pub use parse::{ParseOptions, parse, parse_with};
pub use prefix::{PREFIX_DIGITS, Prefix, prefix_of, read_prefix};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// The libphonenumber metadata release the numbering table comes from.
pub const METADATA_VERSION: &str = data::VERSION;

/// A region of the numbering plan: an ISO 3166-1 alpha-2 code libphonenumber has metadata
/// for (`CN`, `US`, `GB`, `KZ`…).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region([u8; 2]);

impl Region {
    /// The region for a code, in any case (`"cn"`, `"CN"`); `None` if the metadata has no such
    /// region.
    pub fn new(code: &str) -> Option<Region> {
        let upper: [u8; 2] = code.as_bytes().try_into().ok()?;
        let upper = upper.map(|b| b.to_ascii_uppercase());
        let text = std::str::from_utf8(&upper).ok()?;
        metadata::for_region(text).map(|_| Region(upper))
    }

    /// The two upper-case letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The region's calling code (`CN` → 86, `CA` → 1).
    pub fn calling_code(self) -> u16 {
        metadata::for_region(self.as_str()).map_or(0, |m| m.code)
    }

    /// Every region the metadata knows, in alphabetical order.
    pub fn all() -> impl Iterator<Item = Region> {
        metadata::regions().iter().filter_map(|m| m.region()).filter_map(Region::new)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({})", self.as_str())
    }
}

/// A region code the numbering metadata does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a region of the numbering plan (an ISO 3166-1 alpha-2 code such as \"CN\" or \"US\")")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;
    fn from_str(s: &str) -> Result<Region, UnknownRegion> {
        Region::new(s).ok_or_else(|| UnknownRegion(s.to_string()))
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Region, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What kind of line a number is, as libphonenumber's metadata says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    /// A fixed line.
    FixedLine,
    /// A mobile line.
    Mobile,
    /// Either: the region's ranges do not tell them apart (NANP, and others).
    FixedLineOrMobile,
    /// Free to the caller.
    TollFree,
    /// Charged at a premium to the caller: the ranges SMS pumping earns from.
    PremiumRate,
    /// Cost shared between caller and called.
    SharedCost,
    /// Voice over IP.
    Voip,
    /// A personal number, routed to wherever its holder is.
    PersonalNumber,
    /// A pager.
    Pager,
    /// Universal access number (a company's number).
    Uan,
    /// Voicemail access.
    Voicemail,
    /// In no range of its region: only with [`ParseOptions::accept_possible`].
    Unknown,
}

impl NumberType {
    /// Every type.
    pub const ALL: [NumberType; 12] = [
        NumberType::FixedLine,
        NumberType::Mobile,
        NumberType::FixedLineOrMobile,
        NumberType::TollFree,
        NumberType::PremiumRate,
        NumberType::SharedCost,
        NumberType::Voip,
        NumberType::PersonalNumber,
        NumberType::Pager,
        NumberType::Uan,
        NumberType::Voicemail,
        NumberType::Unknown,
    ];

    /// The snake-case name the policy and the stats use (`premium_rate`).
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::FixedLine => "fixed_line",
            NumberType::Mobile => "mobile",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::Voip => "voip",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }

    /// The type of a name ([`NumberType::as_str`]).
    pub fn from_name(name: &str) -> Option<NumberType> {
        NumberType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Every type's name, comma-separated (for error messages).
    pub fn names() -> String {
        NumberType::ALL.map(NumberType::as_str).join(", ")
    }
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a range's digits come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RangeSource {
    /// The national destination code (area code, mobile operator prefix), from the metadata.
    DestinationCode,
    /// The first national digits, where the metadata gives no destination code.
    LeadingDigits,
}

/// A block of numbers: a calling code and the first national digits (`+86 138`). What the
/// gate counts and prices, never the number itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Range {
    calling_code: u16,
    digits: String,
}

impl Range {
    /// The range of a calling code and national digits; `None` for an unassigned code or
    /// digits that are not all ASCII digits.
    pub fn new(calling_code: u16, digits: &str) -> Option<Range> {
        let ok = metadata::is_code(calling_code)
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.len() <= 17;
        ok.then(|| Range { calling_code, digits: digits.to_string() })
    }

    /// The calling code (`86`).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The national digits after the calling code (`138`).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Whether a number lies in this range.
    pub fn contains(&self, number: &PhoneNumber) -> bool {
        number.calling_code == self.calling_code && number.national.starts_with(&self.digits)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            write!(f, "+{}", self.calling_code)
        } else {
            write!(f, "+{} {}", self.calling_code, self.digits)
        }
    }
}

impl fmt::Debug for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Range({self})")
    }
}

/// Text that is not a range: `+`, a calling code, then digits (`"+86 138"`, `"+86138"`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a number range (write + and the calling code, then the first national digits: \"+86 138\")"
)]
pub struct BadRange(pub String);

impl FromStr for Range {
    type Err = BadRange;
    fn from_str(s: &str) -> Result<Range, BadRange> {
        let bad = || BadRange(s.to_string());
        let rest = s.trim().strip_prefix('+').ok_or_else(bad)?;
        let (code, digits) = match rest.split_once(' ') {
            Some((code, digits)) => (code.parse::<u16>().map_err(|_| bad())?, digits.trim()),
            None => metadata::split_code(rest).ok_or_else(bad)?,
        };
        Range::new(code, digits).ok_or_else(bad)
    }
}

/// A valid phone number, read from a sign-up. Its `Debug` shows the range, not the number.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    calling_code: u16,
    national: String,
    region: Option<Region>,
    number_type: NumberType,
    range: Range,
    range_source: RangeSource,
    destination_code_len: usize,
    extension: Option<String>,
}

impl PhoneNumber {
    /// The number in E.164 (`+8613800138000`): the same whichever way it was typed.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The country calling code (`86`).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The national significant number (`13800138000`).
    pub fn national_number(&self) -> &str {
        &self.national
    }

    /// The region the metadata places the number in (`CA` for `+1 506…`, `KZ` for
    /// `+7 701…`); `None` for non-geographic codes (`+800`, `+882`, `+883`…).
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// The number's type.
    pub fn number_type(&self) -> NumberType {
        self.number_type
    }

    /// The number's range (`+86 138`).
    pub fn range(&self) -> &Range {
        &self.range
    }

    /// The national destination code as the metadata gives it (`138`, `7400`, `911`), whole
    /// (the range may hold fewer digits, never a number's last four); empty where the
    /// international format has no separate group.
    pub fn destination_code(&self) -> &str {
        self.national.get(..self.destination_code_len).unwrap_or_default()
    }

    /// Whether the range is the destination code or a fallback of leading digits.
    pub fn range_source(&self) -> RangeSource {
        self.range_source
    }

    /// The extension, if one was typed (never part of the E.164 form).
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }
}

impl fmt::Debug for PhoneNumber {
    // Never print the number: Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneNumber")
            .field("range", &self.range)
            .field("region", &self.region)
            .field("number_type", &self.number_type)
            .finish_non_exhaustive()
    }
}

/// Why a phone field is not a number the gate accepts. The message is for the person who
/// typed it (it never repeats the number); [`PhoneError::code`] is for the JSON `error` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Letters, symbols, or too few digits.
    #[error("The phone number could not be read: use digits, with + and the country calling code.")]
    NotANumber,
    /// A national number, and the site has no default region to read it in.
    #[error("Write the phone number with + and its country calling code.")]
    NoRegion,
    /// After `+` or an international prefix, no assigned calling code.
    #[error("The phone number does not start with a country calling code in use.")]
    InvalidCallingCode,
    /// Fewer digits than any number of the country has.
    #[error("The phone number is too short{}.", in_code(*calling_code))]
    TooShort {
        /// The calling code, once known.
        calling_code: Option<u16>,
    },
    /// More digits than any number of the country has.
    #[error("The phone number is too long{}.", in_code(*calling_code))]
    TooLong {
        /// The calling code, once known.
        calling_code: Option<u16>,
    },
    /// A length between the country's shortest and longest numbers, but not one of them.
    #[error("No phone number in +{calling_code} has this many digits.")]
    InvalidLength {
        /// The calling code.
        calling_code: u16,
    },
    /// A number dialled only locally, without its area code.
    #[error("The phone number needs its area code.")]
    LocalOnly {
        /// The calling code.
        calling_code: u16,
    },
    /// A possible length, but in no range of numbers in use.
    #[error("The phone number is not in a range of numbers in use in +{calling_code}.")]
    NotInUse {
        /// The calling code.
        calling_code: u16,
    },
}

fn in_code(code: Option<u16>) -> String {
    code.map(|c| format!(" for +{c}")).unwrap_or_default()
}

impl PhoneError {
    /// The stable machine-readable code (`phone_too_short`).
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::NotANumber => "phone_not_a_number",
            PhoneError::NoRegion => "phone_no_region",
            PhoneError::InvalidCallingCode => "phone_invalid_calling_code",
            PhoneError::TooShort { .. } => "phone_too_short",
            PhoneError::TooLong { .. } => "phone_too_long",
            PhoneError::InvalidLength { .. } => "phone_invalid_length",
            PhoneError::LocalOnly { .. } => "phone_local_only",
            PhoneError::NotInUse { .. } => "phone_not_in_use",
        }
    }
}

/// The number's keyed hash: HMAC-SHA256 of its E.164 form under `key`, truncated to 16 bytes.
/// Per-number state (backoff, first seen) is keyed by it, so the number is never stored; without
/// the key, the small space of phone numbers cannot be searched for a hash.
pub fn keyed_hash(number: &PhoneNumber, key: &[u8]) -> [u8; 16] {
    // `Hmac` takes keys of any length, so this cannot fail (as in protocol::key).
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
    };
    mac.update(b"gate phone v1\0");
    mac.update(number.e164.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    for (o, t) in out.iter_mut().zip(tag) {
        *o = t;
    }
    out
}

/// Whether `code` (digits, no `+`) is an assigned calling code.
pub fn is_calling_code(code: &str) -> bool {
    code.len() <= 3 && !code.starts_with('0') && code.parse::<u16>().is_ok_and(metadata::is_code)
}

/// Every assigned calling code, ascending.
pub fn calling_codes() -> impl Iterator<Item = u16> {
    metadata::codes()
}

/// The calling code of a phone number in international form (`+86 138…`, `＋８６…`,
/// `0086…`), or of a value that is just a code (`"+86"`, `"86"` when `code_only`), reading
/// only its first digits. `None` when there is none to be had. (What the widget sends at issue
/// time: the gate reads whole numbers with [`parse`].)
pub fn calling_code(value: &str, code_only: bool) -> Option<&'static str> {
    let mut normalized = String::with_capacity(8);
    let trimmed = value.trim();
    let trimmed = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
    let mut digits = 0;
    for c in trimmed.chars() {
        if digits >= 4 {
            break;
        }
        if let Some(d) = input::digit(c) {
            normalized.push(d);
            digits += 1;
        } else if matches!(c, '+' | '\u{FF0B}' | '\u{FE62}') {
            if !normalized.is_empty() {
                return None;
            }
            normalized.push('+');
        } else if !input::is_separator(c) {
            return None;
        }
    }
    let digits = if let Some(r) = normalized.strip_prefix('+') {
        r
    } else if let Some(r) = normalized.strip_prefix("00") {
        r
    } else if code_only {
        normalized.as_str()
    } else {
        return None;
    };
    metadata::split_code(digits).and_then(|(code, _)| metadata::code_str(code))
}

#[cfg(test)]
mod tests;
