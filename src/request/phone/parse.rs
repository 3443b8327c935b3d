//! The reading itself: libphonenumber's `parseHelper`, `maybeExtractCountryCode`,
//! `maybeStripNationalPrefixAndCarrierCode`, `isValidNumber` and
//! `getLengthOfNationalDestinationCode`, ported step by step (their names are in the comments)
//! over the generated table.

use super::input::{self, Dialled};
use super::metadata::{self, Length, Meta};
use super::pattern;
use super::{NumberType, PhoneError, PhoneNumber, Range, RangeSource, Region};

/// libphonenumber's bounds on a national significant number.
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;

/// Digits at the end of a number no range includes: a range never names a subscriber.
pub(super) const HIDDEN_DIGITS: usize = 4;

/// How to read numbers: the site's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// The region national numbers (`0138…`, `(415) 555…`) are read in, and whose international
    /// prefix (`011`, `0011`, `00`…) introduces a foreign number; `None` reads only `+` and
    /// `00` numbers.
    pub default_region: Option<Region>,
    /// National digits a range has where the metadata gives no destination code.
    pub range_fallback_digits: u8,
    /// National digits a range has past the destination code (0: the destination code alone).
    pub range_extra_digits: u8,
    /// Accept numbers of a possible length outside every known range, typed
    /// [`NumberType::Unknown`] (for ranges opened since the metadata release), instead of
    /// refusing them as [`PhoneError::NotInUse`].
    pub accept_possible: bool,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            default_region: None,
            range_fallback_digits: 3,
            range_extra_digits: 0,
            accept_possible: false,
        }
    }
}

/// Reads a sign-up's phone field with the default options and `default_region`.
pub fn parse(input: &str, default_region: Option<Region>) -> Result<PhoneNumber, PhoneError> {
    parse_with(input, &ParseOptions { default_region, ..ParseOptions::default() })
}

/// Reads a sign-up's phone field: the number in E.164 with its region, type and range, or why
/// it is not a number in use. Never panics; work is bounded on any input.
pub fn parse_with(input: &str, options: &ParseOptions) -> Result<PhoneNumber, PhoneError> {
    let dialled = input::read(input)?;
    let home = options.default_region.and_then(|r| metadata::for_region(r.as_str()));
    let (code, mut national, meta) = country_code(&dialled, home)?;
    if national.len() < MIN_NSN {
        return Err(PhoneError::TooShort { calling_code: Some(code) });
    }
    // A stripped national prefix stands only if what remains can still be a number.
    let mut stripped = national.clone();
    strip_national_prefix(&mut stripped, meta);
    if !matches!(
        metadata::test_length(&stripped, meta),
        Length::TooShort | Length::LocalOnly | Length::Invalid
    ) {
        national = stripped;
    }
    if national.len() < MIN_NSN {
        return Err(PhoneError::TooShort { calling_code: Some(code) });
    }
    if national.len() > MAX_NSN {
        return Err(PhoneError::TooLong { calling_code: Some(code) });
    }
    // isValidNumber: the region by leading digits (or a valid type), then a type there.
    let entry = metadata::entry_for_number(code, &national);
    let number_type = match entry.and_then(|(_, t)| t) {
        Some(t) => t,
        None => unknown_type(code, &national, options.accept_possible)?,
    };
    let region = entry.and_then(|(m, _)| m.region()).and_then(Region::new);
    let ndc = destination_code_len(code, &national, number_type);
    let (wanted, range_source) = match ndc {
        0 => (usize::from(options.range_fallback_digits), RangeSource::LeadingDigits),
        n => (n + usize::from(options.range_extra_digits), RangeSource::DestinationCode),
    };
    let range_len = wanted.min(national.len().saturating_sub(HIDDEN_DIGITS));
    let range_digits = national.get(..range_len).unwrap_or_default();
    let range = Range::new(code, range_digits).ok_or(PhoneError::InvalidCallingCode)?;
    Ok(PhoneNumber {
        e164: format!("+{code}{national}"),
        calling_code: code,
        national,
        region,
        number_type,
        range,
        range_source,
        destination_code_len: ndc,
        extension: dialled.extension,
    })
}

/// Why a number in no range is refused (`isPossibleNumberWithReason`, under the main
/// region of its code), or [`NumberType::Unknown`] if possible numbers are accepted.
fn unknown_type(code: u16, national: &str, accept_possible: bool) -> Result<NumberType, PhoneError> {
    let main = metadata::main_for_code(code).ok_or(PhoneError::InvalidCallingCode)?;
    match metadata::test_length(national, main) {
        Length::Possible if accept_possible => Ok(NumberType::Unknown),
        Length::Possible => Err(PhoneError::NotInUse { calling_code: code }),
        Length::LocalOnly => Err(PhoneError::LocalOnly { calling_code: code }),
        Length::TooShort => Err(PhoneError::TooShort { calling_code: Some(code) }),
        Length::TooLong => Err(PhoneError::TooLong { calling_code: Some(code) }),
        Length::Invalid => Err(PhoneError::InvalidLength { calling_code: code }),
    }
}

/// The calling code, the national digits after it, and the metadata to read them with
/// (`parseHelper` around `maybeExtractCountryCode`).
fn country_code(
    dialled: &Dialled,
    home: Option<&'static Meta>,
) -> Result<(u16, String, &'static Meta), PhoneError> {
    let extracted = match extract_code(&dialled.digits, dialled.plus, home) {
        // `+` then no code: libphonenumber tries again as if the `+` were not there (`+011…`)
        // (with no default region there is nothing else to read it as)
        Err(PhoneError::InvalidCallingCode) if dialled.plus => match home {
            Some(_) => extract_code(&dialled.digits, false, home)?.ok_or(PhoneError::InvalidCallingCode)?,
            None => return Err(PhoneError::InvalidCallingCode),
        },
        other => match other? {
            Some(found) => found,
            None => {
                let home = home.ok_or(PhoneError::NoRegion)?;
                return Ok((home.code, dialled.digits.clone(), home));
            }
        },
    };
    let (code, national) = extracted;
    let meta = metadata::main_for_code(code).ok_or(PhoneError::InvalidCallingCode)?;
    Ok((code, national, meta))
}

/// `maybeExtractCountryCode`: after `+` or the international prefix of the default region (or
/// `00` without one), the calling code and the rest; the default region's own code typed
/// without a prefix where that reads better; else `None` (a national number).
fn extract_code(digits: &str, plus: bool, home: Option<&Meta>) -> Result<Option<(u16, String)>, PhoneError> {
    let international = if plus {
        Some(digits)
    } else {
        let idd = home.map_or("00", |m| m.idd.get());
        strip_idd(idd, digits)
    };
    if let Some(rest) = international {
        if rest.len() <= MIN_NSN {
            return Err(PhoneError::TooShort { calling_code: None });
        }
        let (code, national) = metadata::split_code(rest).ok_or(PhoneError::InvalidCallingCode)?;
        return Ok(Some((code, national.to_string())));
    }
    let Some(home) = home else {
        return Err(PhoneError::NoRegion);
    };
    // `8613800138000` typed in CN: the code without `+`, if the number reads better without it
    let Some(after) = metadata::code_str(home.code).and_then(|c| digits.strip_prefix(c)) else {
        return Ok(None);
    };
    let mut national = after.to_string();
    strip_national_prefix(&mut national, home);
    let better = !home.general.matches_pattern(digits) && home.general.matches_pattern(&national);
    if better || metadata::test_length(digits, home) == Length::TooLong {
        return Ok(Some((home.code, national)));
    }
    Ok(None)
}

/// `parsePrefixAsIdd`: the digits after the international prefix, unless the next digit is a
/// 0 (no calling code starts with one).
fn strip_idd<'d>(idd: &str, digits: &'d str) -> Option<&'d str> {
    if idd.is_empty() {
        return None;
    }
    let m = pattern::prefix_match(idd, digits.as_bytes())?;
    let rest = digits.get(m.end..)?;
    (!rest.starts_with('0')).then_some(rest)
}

/// `maybeStripNationalPrefixAndCarrierCode`: the national (trunk) prefix and any carrier code
/// removed, or transformed where the metadata has a rule, if the number stays viable.
fn strip_national_prefix(number: &mut String, meta: &Meta) {
    let prefix = meta.national_prefix_for_parsing.get();
    if number.is_empty() || prefix.is_empty() {
        return;
    }
    let Some(m) = pattern::prefix_match(prefix, number.as_bytes()) else {
        return;
    };
    let viable = meta.general.matches_pattern(number);
    let rest = number.get(m.end..).unwrap_or_default();
    let last_group = m.group(pattern::group_count(prefix));
    let transform = meta.transform.get();
    let replacement = if transform.is_empty() || last_group.is_none() {
        rest.to_string()
    } else {
        let mut out = String::with_capacity(number.len() + 4);
        pattern::expand(transform, number, &m, &mut out);
        out.push_str(rest);
        out
    };
    if viable && !meta.general.matches_pattern(&replacement) {
        return;
    }
    *number = replacement;
}

/// `getLengthOfNationalDestinationCode`: the first group of the number in international format
/// (with the mobile token's group where the country has one), 0 if the format has one group.
fn destination_code_len(code: u16, national: &str, number_type: NumberType) -> usize {
    let Some(main) = metadata::main_for_code(code) else {
        return 0;
    };
    // chooseFormattingPatternForNumber: the first format whose leading digits and pattern match
    let groups = main.formats().iter().find_map(|f| {
        let leading = f.leading.get();
        let leads = leading.is_empty() || pattern::prefix_match(leading, national.as_bytes()).is_some();
        leads.then(|| f.split(national.len())).flatten()
    });
    match groups {
        Some([first, second, ..]) if second > 0 => {
            let token = super::data::MOBILE_TOKENS.iter().any(|(c, _)| *c == code);
            if number_type == NumberType::Mobile && token { first + second } else { first }
        }
        _ => 0,
    }
}
