//! The shape of the generated numbering table (`data.rs`) and the lookups and length rules
//! libphonenumber applies to it (`getNumberTypeHelper`, `testNumberLength`,
//! `getRegionCodeForNumberFromRegionList`), each ported as written there.

use super::NumberType;
use super::data::{CALLING_CODES, METADATA, REGION_COUNT};
use super::pattern;

/// A set of numbers: libphonenumber's pattern for the national significant number and the
/// lengths it can have (bit `n` set for length `n`; 0 when the metadata lists none, which
/// means "as the region's general description").
pub(super) struct Desc {
    pub(super) pattern: &'static str,
    pub(super) lengths: u32,
}

impl Desc {
    /// `isNumberMatchingDesc`: a listed length, then the whole number matching the pattern.
    pub(super) fn matches(&self, nsn: &str) -> bool {
        if self.lengths != 0 && !has_length(self.lengths, nsn.len()) {
            return false;
        }
        self.matches_pattern(nsn)
    }

    /// `matchNationalNumber`: the pattern alone (no length check); an empty pattern matches
    /// nothing, as in libphonenumber.
    pub(super) fn matches_pattern(&self, nsn: &str) -> bool {
        !self.pattern.is_empty() && pattern::full_match(self.pattern, nsn.as_bytes())
    }
}

/// One way a main region writes numbers internationally: the pattern that splits the national
/// number into groups, the leading digits it applies to, and the groups' layout (`$1 $2 $3`).
pub(super) struct Format {
    pub(super) pattern: &'static str,
    pub(super) leading: &'static str,
    pub(super) format: &'static str,
}

/// What libphonenumber knows of one region (or one non-geographic calling code) that parsing
/// and typing a number need.
pub(super) struct Meta {
    /// ISO 3166 alpha-2 region, or the calling code for non-geographic entities (`"800"`).
    pub(super) id: &'static str,
    pub(super) code: u16,
    /// International dialling prefix pattern (`00`, `011`, `0(?:0|1[0-4])…`); empty if none.
    pub(super) idd: &'static str,
    pub(super) national_prefix_for_parsing: &'static str,
    /// Replacement for a matched national prefix with groups (`9$1` in AR); empty if none.
    pub(super) transform: &'static str,
    /// For regions sharing a calling code: the leading digits that make a number theirs.
    pub(super) leading_digits: &'static str,
    pub(super) general: Desc,
    /// Lengths dialled only locally (without an area code).
    pub(super) local_lengths: u32,
    pub(super) fixed_line: Option<Desc>,
    /// `None` when mobile and fixed-line numbers are indistinguishable (see below).
    pub(super) mobile: Option<Desc>,
    pub(super) same_mobile_and_fixed_line: bool,
    /// The other types, in the order libphonenumber tests them.
    pub(super) others: &'static [(NumberType, Desc)],
    /// International formats (main regions only; empty elsewhere).
    pub(super) formats: &'static [Format],
}

/// Whether bit `len` is set.
pub(super) fn has_length(lengths: u32, len: usize) -> bool {
    u32::try_from(len).ok().and_then(|n| lengths.checked_shr(n)).is_some_and(|b| b & 1 == 1)
}

/// The metadata of a region (two upper-case letters).
pub(super) fn for_region(region: &str) -> Option<&'static Meta> {
    let regions = METADATA.get(..REGION_COUNT)?;
    regions.binary_search_by(|m| m.id.cmp(region)).ok().and_then(|i| regions.get(i))
}

/// Every region's metadata, in region order.
pub(super) fn regions() -> &'static [Meta] {
    METADATA.get(..REGION_COUNT).unwrap_or_default()
}

/// The metadata entries sharing a calling code, the main one first; empty if unassigned.
pub(super) fn for_code(code: u16) -> impl Iterator<Item = &'static Meta> {
    let entries = match CALLING_CODES.binary_search_by_key(&code, |(c, _, _)| *c) {
        Ok(i) => CALLING_CODES.get(i).map(|(_, _, e)| *e).unwrap_or_default(),
        Err(_) => &[],
    };
    entries.iter().filter_map(|i| METADATA.get(usize::from(*i)))
}

/// The main entry for a calling code (whose formats the code uses).
pub(super) fn main_for_code(code: u16) -> Option<&'static Meta> {
    for_code(code).next()
}

/// Whether `code` is an assigned calling code.
pub(super) fn is_code(code: u16) -> bool {
    code_str(code).is_some()
}

/// An assigned calling code in decimal (`"86"`).
pub(super) fn code_str(code: u16) -> Option<&'static str> {
    let i = CALLING_CODES.binary_search_by_key(&code, |(c, _, _)| *c).ok()?;
    CALLING_CODES.get(i).map(|(_, s, _)| *s)
}

/// Every assigned calling code, ascending.
pub(super) fn codes() -> impl Iterator<Item = u16> {
    CALLING_CODES.iter().map(|(c, _, _)| *c)
}

/// `extractCountryCode`: the calling code at the start of `digits` (codes are prefix-free) and
/// the rest. Codes never start with 0.
pub(super) fn split_code(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3.min(digits.len())).find_map(|n| {
        let code = digits.get(..n)?.parse::<u16>().ok()?;
        is_code(code).then(|| (code, digits.get(n..).unwrap_or_default()))
    })
}

/// `getNumberTypeHelper`: the type of a national significant number under one region's
/// metadata, or `None` when the region has no such number.
pub(super) fn number_type(nsn: &str, meta: &Meta) -> Option<NumberType> {
    if !meta.general.matches(nsn) {
        return None;
    }
    if let Some((t, _)) = meta.others.iter().find(|(_, d)| d.matches(nsn)) {
        return Some(*t);
    }
    let fixed = meta.fixed_line.as_ref().is_some_and(|d| d.matches(nsn));
    let mobile = || meta.mobile.as_ref().is_some_and(|d| d.matches(nsn));
    if fixed {
        if meta.same_mobile_and_fixed_line || mobile() {
            return Some(NumberType::FixedLineOrMobile);
        }
        return Some(NumberType::FixedLine);
    }
    (!meta.same_mobile_and_fixed_line && mobile()).then_some(NumberType::Mobile)
}

/// `getRegionCodeForNumberFromRegionList`: which of the entries sharing `code` the number
/// belongs to (by leading digits where the metadata gives them, else by a valid type).
pub(super) fn entry_for_number(code: u16, nsn: &str) -> Option<&'static Meta> {
    let mut entries = for_code(code);
    let first = entries.next()?;
    let mut rest = entries.peekable();
    if rest.peek().is_none() {
        return Some(first);
    }
    std::iter::once(first).chain(rest).find(|m| {
        if m.leading_digits.is_empty() {
            number_type(nsn, m).is_some()
        } else {
            pattern::prefix_match(m.leading_digits, nsn.as_bytes()).is_some()
        }
    })
}

/// `testNumberLength` against a region's general description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

pub(super) fn test_length(nsn: &str, meta: &Meta) -> Length {
    let possible = meta.general.lengths;
    if possible == 0 {
        return Length::Invalid;
    }
    let len = nsn.len();
    if has_length(meta.local_lengths, len) {
        return Length::LocalOnly;
    }
    let min = possible.trailing_zeros() as usize;
    let max = 31 - possible.leading_zeros() as usize;
    if len < min {
        Length::TooShort
    } else if len > max {
        Length::TooLong
    } else if has_length(possible, len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}
