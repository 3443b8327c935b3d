//! A number's first digits, as the widget sends them ahead of a submission (with a challenge
//! or a top-up request): enough for the gate to find the number's range and price it before
//! the form is posted, never the subscriber's last four digits. The submission still reads the
//! whole number; a prefix only lets the price be paid ahead (a wrong one costs its sender a
//! top-up at submission, nothing else).

use super::{Range, input, metadata, parse};

/// The most leading digits (calling code included) the widget sends: one more than the longest
/// range of libphonenumber's example numbers of every region, calling code included (eight,
/// `tests::prefixes_find_the_range_of_every_example_number_they_can`); with eight, 14 of the
/// 2,282 example prefixes gave another range (`+353 1` for `+353 1800`: the ninth digit tells).
pub const PREFIX_DIGITS: usize = 9;

/// Digits a range never holds at a number's end: never sent either.
const UNSENT_DIGITS: usize = parse::HIDDEN_DIGITS;

/// What a prefix tells: the calling code, and the range where the digits decide it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefix {
    /// The calling code (`86`).
    pub calling_code: Option<&'static str>,
    /// The range (`+86 138`), when the digits sent hold all of it.
    pub range: Option<Range>,
}

/// The prefix the widget sends for a number as typed (`+86 138 0013 8000` → `861380013`): the
/// digits after `+` or `00`, the first three always (the calling code, while the number is
/// being typed), else all but the last four, at most `most` (read up to anything that is not a
/// digit or a separator). Empty for a number not typed in international form. `www/gate/gate.js`'s `phonePrefix` is the same rule.
pub fn prefix_of(value: &str, most: usize) -> String {
    let (plus, digits) = leading_digits(value, usize::MAX);
    let digits = match (plus, digits.strip_prefix("00")) {
        (true, _) => digits.as_str(),
        (false, Some(rest)) => rest,
        (false, None) => return String::new(),
    };
    let keep = digits.len().min(3).max(most.min(digits.len().saturating_sub(UNSENT_DIGITS)));
    digits.get(..keep).unwrap_or_default().to_string()
}

/// The digits at the start of a number as typed (after `tel:`, separators dropped, any
/// script's digits as ASCII, at most `most`), up to anything else (an extension, text); and
/// whether a plus sign led them.
fn leading_digits(value: &str, most: usize) -> (bool, String) {
    let trimmed = value.trim();
    let mut digits = String::new();
    let mut plus = false;
    for c in trimmed.strip_prefix("tel:").unwrap_or(trimmed).chars() {
        if let Some(d) = input::digit(c) {
            if digits.len() >= most {
                break;
            }
            digits.push(d);
        } else if matches!(c, '+' | '\u{FF0B}' | '\u{FE62}') && digits.is_empty() && !plus {
            plus = true;
        } else if !input::is_separator(c) {
            break;
        }
    }
    (plus, digits)
}

/// Reads a prefix (`861380013`, `+86 138`, `0086138`, `tel:+86…`; reading stops at anything
/// that is not a digit or a separator, and at [`PREFIX_DIGITS`] digits): its calling code, and
/// when `with_range`, its range where a number that starts with these digits and is in use has
/// a range that lies within them (the first such number found, filled with zeros or fives).
/// Bounded work on any input: at most 26 parses, none without `with_range`.
pub fn read_prefix(value: &str, with_range: bool) -> Prefix {
    // two more for a leading `00`
    let (plus, digits) = leading_digits(value, PREFIX_DIGITS + 2);
    let digits = if plus { digits.as_str() } else { digits.strip_prefix("00").unwrap_or(&digits) };
    let digits = digits.get(..PREFIX_DIGITS).unwrap_or(digits);
    let Some((code, national)) = metadata::split_code(digits) else { return Prefix::default() };
    let calling_code = metadata::code_str(code);
    let range = if with_range && !national.is_empty() { range_within(code, national) } else { None };
    Prefix { calling_code, range }
}

/// The range of the first number in use that starts with `national` and whose range lies
/// within those digits.
fn range_within(code: u16, national: &str) -> Option<Range> {
    // at least the four digits the widget never sends first, then fewer (longer prefixes, a
    // whole number)
    for pad in (UNSENT_DIGITS..=12).chain((0..UNSENT_DIGITS).rev()) {
        for fill in ['0', '5'] {
            let padded = format!("{national}{}", fill.to_string().repeat(pad));
            let Ok(number) = parse::parse(&format!("+{code}{padded}"), None) else { continue };
            // a number the plan rewrote is another number (Madagascar's seven digits gain the
            // area code 20: `+261 22 00000` reads as `+261 20 2200000`)
            if number.national_number() == padded && number.range().digits().len() <= national.len() {
                return Some(number.range().clone());
            }
        }
    }
    None
}
