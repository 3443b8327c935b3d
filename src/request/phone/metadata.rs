//! The shape of the generated numbering table (`data.rs`) and the lookups and length rules
//! libphonenumber applies to it (`getNumberTypeHelper`, `testNumberLength`,
//! `getRegionCodeForNumberFromRegionList`), each ported as written there.
//!
//! The table is compact on purpose (it is linked into the Worker): every pattern is stored
//! once in one text ([`TEXT`]) and referred to by index ([`Str`], 2 bytes), entries refer to
//! their number types and formats by index ranges ([`Span`]), and a format is its groups'
//! lengths. As `&'static str` fields and nested slices the same data was twice the size
//! compressed: pointers and lengths do not compress.

use super::NumberType;
use super::data::{CALLING_CODES, DESCS, ENTRIES, FORMATS, METADATA, PIECE_LENGTHS, REGION_COUNT, TEXT};
use super::pattern;
use std::sync::OnceLock;

/// A piece of [`TEXT`], by its index in [`PIECE_LENGTHS`].
#[derive(Clone, Copy)]
pub(super) struct Str(u16);

/// Piece `index` (the generated tables' constructor).
pub(super) const fn t(index: u16) -> Str {
    Str(index)
}

/// Where each piece starts in [`TEXT`]: the lengths' running sums, computed once per isolate
/// (a 2,000-entry sum; storing them instead cost ~5 kB gzip of bundle).
fn offsets() -> &'static [u32] {
    static OFFSETS: OnceLock<Vec<u32>> = OnceLock::new();
    OFFSETS.get_or_init(|| {
        let mut at = 0u32;
        let mut out = Vec::with_capacity(PIECE_LENGTHS.len() + 1);
        out.push(0);
        for len in PIECE_LENGTHS {
            at += u32::from(len);
            out.push(at);
        }
        out
    })
}

/// The jump table of a pattern of [`TEXT`] (`None` for any other text), built the first time
/// the isolate matches it.
pub(super) fn jumps(pattern: &str) -> Option<&'static pattern::Jumps> {
    static JUMPS: OnceLock<Vec<OnceLock<pattern::Jumps>>> = OnceLock::new();
    let start = (pattern.as_ptr() as usize).checked_sub(TEXT.as_ptr() as usize)?;
    let offsets = offsets();
    // the last piece starting there (piece 0, "", starts where piece 1 does)
    let i = offsets.partition_point(|o| (*o as usize) <= start).checked_sub(1)?;
    let (begin, end) = (*offsets.get(i)? as usize, *offsets.get(i + 1)? as usize);
    if pattern.is_empty() || begin != start || start + pattern.len() != end {
        return None;
    }
    let cells = JUMPS.get_or_init(|| (0..PIECE_LENGTHS.len()).map(|_| OnceLock::new()).collect());
    Some(cells.get(i)?.get_or_init(|| pattern::Jumps::of(pattern)))
}

impl Str {
    /// The text ("" if out of range, which the tests rule out).
    pub(super) fn get(self) -> &'static str {
        let i = usize::from(self.0);
        let offsets = offsets();
        match (offsets.get(i), offsets.get(i + 1)) {
            (Some(a), Some(b)) => TEXT.get(*a as usize..*b as usize).unwrap_or_default(),
            _ => "",
        }
    }

    /// Whether the piece lies within the text (checked for every piece by the tests).
    #[cfg(test)]
    pub(super) fn in_bounds(self) -> bool {
        if self.0 > 0 && !self.get().is_empty() {
            assert!(jumps(self.get()).is_some(), "piece {} has no jump table", self.0);
        }
        let i = usize::from(self.0);
        offsets().get(i + 1).is_some_and(|end| *end as usize <= TEXT.len())
    }
}

/// A run of a table's rows.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub(super) start: u16,
    pub(super) len: u8,
}

impl Span {
    fn of<T>(self, table: &'static [T]) -> &'static [T] {
        let start = usize::from(self.start);
        table.get(start..start + usize::from(self.len)).unwrap_or_default()
    }
}

/// A set of numbers: libphonenumber's pattern for the national significant number and the
/// lengths it can have (bit `n` set for length `n`; 0 when the metadata lists none, which
/// means "as the region's general description").
pub(super) struct Desc {
    pub(super) kind: NumberType,
    pub(super) pattern: Str,
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
        let p = self.pattern.get();
        !p.is_empty() && pattern::full_match(p, nsn.as_bytes())
    }
}

/// One way a main region writes numbers internationally: the leading digits it applies to and
/// its digit groups' (min, max) lengths, written out in order (`(0, 0)` past the last). The
/// generator checks every format of the metadata has this shape (`(\d{3})(\d{3,4})`, `$1 $2`).
pub(super) struct Format {
    pub(super) leading: Str,
    pub(super) groups: [(u8, u8); 5],
}

impl Format {
    /// The groups' lengths for a number of `len` digits, if the format's pattern matches it:
    /// greedy, as a backtracking engine splits `(\d{a,b})(\d{c,d})…`. Unused groups are 0.
    pub(super) fn split(&self, len: usize) -> Option<[usize; 5]> {
        let mut out = [0; 5];
        let mut rest = len;
        for (i, (lo, hi)) in self.groups.iter().enumerate().take_while(|(_, g)| g.1 > 0) {
            let later = self.groups.get(i + 1..).unwrap_or_default();
            let later_min: usize = later.iter().map(|g| usize::from(g.0)).sum();
            let later_max: usize = later.iter().map(|g| usize::from(g.1)).sum();
            let take = usize::from(*hi).min(rest.checked_sub(later_min)?);
            if take < usize::from(*lo) || rest - take > later_max {
                return None;
            }
            *out.get_mut(i)? = take;
            rest -= take;
        }
        (rest == 0 && out[0] > 0).then_some(out)
    }
}

/// What libphonenumber knows of one region (or one non-geographic calling code) that parsing
/// and typing a number need.
pub(super) struct Meta {
    /// ISO 3166 alpha-2 region; `[0, 0]` for a non-geographic code (`+800`, `+882`…).
    pub(super) region: [u8; 2],
    pub(super) code: u16,
    /// International dialling prefix pattern (`00`, `011`, `0(?:0|1[0-4])…`); empty if none.
    pub(super) idd: Str,
    pub(super) national_prefix_for_parsing: Str,
    /// Replacement for a matched national prefix with groups (`9$1` in AR); empty if none.
    pub(super) transform: Str,
    /// For regions sharing a calling code: the leading digits that make a number theirs.
    pub(super) leading_digits: Str,
    pub(super) general: Desc,
    /// Lengths dialled only locally (without an area code).
    pub(super) local_lengths: u32,
    /// Mobile and fixed-line numbers are indistinguishable (the mobile set is left out).
    pub(super) same_mobile_and_fixed_line: bool,
    /// Its number types in [`DESCS`].
    pub(super) descs: Span,
    /// Its international formats in [`FORMATS`] (main regions only).
    pub(super) formats: Span,
}

impl Meta {
    /// The region code, for a geographic entry.
    pub(super) fn region(&self) -> Option<&str> {
        std::str::from_utf8(&self.region).ok().filter(|r| r.bytes().all(|b| b.is_ascii_uppercase()))
    }

    /// Its number types, in libphonenumber's order.
    pub(super) fn descs(&self) -> &'static [Desc] {
        self.descs.of(&DESCS)
    }

    /// Its international formats.
    pub(super) fn formats(&self) -> &'static [Format] {
        self.formats.of(&FORMATS)
    }
}

/// A calling code, its decimal text, and its entries in [`ENTRIES`].
pub(super) struct CallingCode {
    pub(super) code: u16,
    pub(super) text: Str,
    pub(super) entries: Span,
}

/// Whether bit `len` is set.
pub(super) fn has_length(lengths: u32, len: usize) -> bool {
    u32::try_from(len).ok().and_then(|n| lengths.checked_shr(n)).is_some_and(|b| b & 1 == 1)
}

/// The metadata of a region (two upper-case letters).
pub(super) fn for_region(region: &str) -> Option<&'static Meta> {
    let regions = regions();
    regions.binary_search_by(|m| m.region.as_slice().cmp(region.as_bytes())).ok().and_then(|i| regions.get(i))
}

/// Every region's metadata, in region order.
pub(super) fn regions() -> &'static [Meta] {
    METADATA.get(..REGION_COUNT).unwrap_or_default()
}

fn calling_code(code: u16) -> Option<&'static CallingCode> {
    let i = CALLING_CODES.binary_search_by_key(&code, |c| c.code).ok()?;
    CALLING_CODES.get(i)
}

/// The metadata entries sharing a calling code, the main one first; empty if unassigned.
pub(super) fn for_code(code: u16) -> impl Iterator<Item = &'static Meta> {
    let entries = calling_code(code).map(|c| c.entries.of(&ENTRIES)).unwrap_or_default();
    entries.iter().filter_map(|i| METADATA.get(usize::from(*i)))
}

/// The main entry for a calling code (whose formats the code uses).
pub(super) fn main_for_code(code: u16) -> Option<&'static Meta> {
    for_code(code).next()
}

/// Whether `code` is an assigned calling code.
pub(super) fn is_code(code: u16) -> bool {
    calling_code(code).is_some()
}

/// An assigned calling code in decimal (`"86"`).
pub(super) fn code_str(code: u16) -> Option<&'static str> {
    calling_code(code).map(|c| c.text.get())
}

/// Every assigned calling code, ascending.
pub(super) fn codes() -> impl Iterator<Item = u16> {
    CALLING_CODES.iter().map(|c| c.code)
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
    let descs = meta.descs();
    let is = |kind: NumberType| descs.iter().any(|d| d.kind == kind && d.matches(nsn));
    let special = |d: &&Desc| !matches!(d.kind, NumberType::FixedLine | NumberType::Mobile);
    if let Some(d) = descs.iter().filter(special).find(|d| d.matches(nsn)) {
        return Some(d.kind);
    }
    if is(NumberType::FixedLine) {
        if meta.same_mobile_and_fixed_line || is(NumberType::Mobile) {
            return Some(NumberType::FixedLineOrMobile);
        }
        return Some(NumberType::FixedLine);
    }
    (!meta.same_mobile_and_fixed_line && is(NumberType::Mobile)).then_some(NumberType::Mobile)
}

/// `getRegionCodeForNumberFromRegionList`: which of the entries sharing `code` the number
/// belongs to (by leading digits where the metadata gives them, else by a valid type), with
/// the number's type there (`None`: the number is in no range of that entry).
pub(super) fn entry_for_number(code: u16, nsn: &str) -> Option<(&'static Meta, Option<NumberType>)> {
    let mut entries = for_code(code);
    let first = entries.next()?;
    let mut rest = entries.peekable();
    if rest.peek().is_none() {
        return Some((first, number_type(nsn, first)));
    }
    std::iter::once(first).chain(rest).find_map(|m| {
        let leading = m.leading_digits.get();
        if leading.is_empty() {
            number_type(nsn, m).map(|t| (m, Some(t)))
        } else {
            pattern::prefix_match(leading, nsn.as_bytes()).map(|_| (m, number_type(nsn, m)))
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
