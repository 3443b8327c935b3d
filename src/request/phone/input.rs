//! From what a person typed to ASCII digits: digits of any script, the separators phone
//! keyboards and people put between them, leading plus signs, an optional `tel:` and an
//! extension in the forms libphonenumber reads.
//!
//! Stricter than libphonenumber on one point, on purpose: it skips any text before the first
//! digit or plus ("Tel: +1 …") and reads letters as keypad digits ("1-800-FLOWERS"); a sign-up's
//! phone field holds a number, so the gate refuses letters and text instead of guessing.

use super::PhoneError;
use super::data::DIGIT_ZEROS;

/// libphonenumber's limit on the text it reads (`MAX_INPUT_STRING_LENGTH`, in characters).
const MAX_INPUT_CHARS: usize = 250;

/// A number as dialled: whether it began with `+`, its digits in ASCII, and its extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dialled {
    pub(super) plus: bool,
    pub(super) digits: String,
    pub(super) extension: Option<String>,
}

/// Reads a phone field. Errors: [`PhoneError::NotANumber`] for text that is not a number,
/// [`PhoneError::TooLong`] past libphonenumber's 250 characters.
pub(super) fn read(value: &str) -> Result<Dialled, PhoneError> {
    if value.chars().nth(MAX_INPUT_CHARS).is_some() {
        return Err(PhoneError::TooLong { calling_code: None });
    }
    let trimmed = value.trim();
    let trimmed = match trimmed.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => trimmed.get(4..).unwrap_or_default(),
        _ => trimmed,
    };
    // `maybeStripExtension`: an extension counts only if what precedes it is a number.
    if let Some((start, extension)) = extension(trimmed)
        && let Some(mut dialled) = trimmed.get(..start).and_then(number)
    {
        dialled.extension = Some(extension);
        return Ok(dialled);
    }
    number(trimmed).ok_or(PhoneError::NotANumber)
}

/// The number part: separators anywhere, one or more plus signs before the first digit, and
/// enough digits to be a number (`isViablePhoneNumber`: two digits alone, or three or more).
fn number(text: &str) -> Option<Dialled> {
    let mut digits = String::with_capacity(text.len().min(20));
    let mut plus = false;
    let mut plus_run_over = false;
    let mut others = false;
    for c in text.chars() {
        if let Some(d) = digit(c) {
            digits.push(d);
        } else if is_plus(c) {
            // pluses only as one run before the first digit
            if !digits.is_empty() || plus_run_over {
                return None;
            }
            plus = true;
        } else if is_separator(c) {
            plus_run_over |= plus;
            others = true;
        } else {
            return None;
        }
    }
    let viable = digits.len() >= 3 || (digits.len() == 2 && !plus && !others);
    viable.then_some(Dialled { plus, digits, extension: None })
}

/// The ASCII digit a character stands for, if it is a decimal digit of any script.
pub(super) fn digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let cp = u32::from(c);
    if cp < 0x660 {
        return None;
    }
    // the runs are sorted: the last zero at or below `cp`
    let i = DIGIT_ZEROS.partition_point(|z| *z <= cp).checked_sub(1)?;
    let offset = cp - DIGIT_ZEROS.get(i)?;
    (offset < 10).then(|| char::from_digit(offset, 10)).flatten()
}

/// `+`, full-width `＋` and small `﹢`.
fn is_plus(c: char) -> bool {
    matches!(c, '+' | '\u{FF0B}' | '\u{FE62}')
}

/// Separators between digits: white space and libphonenumber's punctuation (dashes, dots,
/// slashes, brackets, tildes as in `8~10`, their full-width forms, soft hyphen, zero-width
/// spaces, the Katakana long vowel mark).
pub(super) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '[' | ']' | '/' | '~' | '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{2053}'
                    | '\u{223C}'
                    | '\u{30FC}'
                    | '\u{FF08}'
                    | '\u{FF09}'
                    | '\u{FF0D}'
                    | '\u{FF0E}'
                    | '\u{FF0F}'
                    | '\u{FF3B}'
                    | '\u{FF3D}'
                    | '\u{FF5E}'
        )
}

/// The extension at the end of `text`, as libphonenumber's `EXTN_PATTERNS_FOR_PARSING` finds
/// it (case-insensitively, the leftmost start that reaches the end): where it starts (a byte
/// offset) and its digits in ASCII.
fn extension(text: &str) -> Option<(usize, String)> {
    // every form has a label, `#`, `;`, `,` or `~`: a number of digits, plus signs and other
    // separators has none (most inputs: no allocation, no search)
    let plain = |c: char| digit(c).is_some() || is_plus(c) || (is_separator(c) && c != '~');
    if text.chars().all(plain) {
        return None;
    }
    let chars: Vec<char> = text.chars().map(fold_case).collect();
    let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    (0..chars.len()).find_map(|start| {
        let rest = chars.get(start..)?;
        let digits = EXTENSION_FORMS.iter().find_map(|form| form(rest))?;
        Some((*offsets.get(start)?, digits))
    })
}

/// Lower case for the letters extension labels are made of (Latin, Latin-1, Cyrillic, full
/// width), as Java's case-insensitive Unicode matching compares them. (`char::to_lowercase`
/// would link Unicode's whole case table into the Worker for these few letters.)
fn fold_case(c: char) -> char {
    let lower = match u32::from(c) {
        0x41..=0x5A | 0xC0..=0xDE | 0x410..=0x42F | 0xFF21..=0xFF3A if c != '\u{D7}' => u32::from(c) + 0x20,
        _ => return c,
    };
    char::from_u32(lower).unwrap_or(c)
}

type Form = fn(&[char]) -> Option<String>;

/// libphonenumber's extension forms, each matched against the whole rest of the text.
const EXTENSION_FORMS: [Form; 6] =
    [rfc3966, explicit_label, ambiguous_label, american, auto_dialling, commas];

/// `;ext=123`
fn rfc3966(s: &[char]) -> Option<String> {
    let s = literal(s, ";ext=")?;
    ext_digits(s, 20, false)
}

/// ` ext. 123`, `extension 123`, `anexo 123`, `доб 123`, full-width `ｅｘｔ`.
fn explicit_label(s: &[char]) -> Option<String> {
    let s = skip(s, |c| matches!(c, ' ' | '\u{A0}' | '\t' | ','));
    const LABELS: [&str; 13] = [
        "extensio\u{301}n",
        "extension",
        "extensión",
        "xtensio\u{301}n",
        "xtension",
        "xtensión",
        "extn",
        "ext",
        "xtn",
        "xt",
        "доб",
        "anexo",
        "\u{FF45}\u{FF58}\u{FF54}\u{FF4E}",
    ];
    const SHORT_WIDE: [&str; 3] =
        ["\u{FF45}\u{FF58}\u{FF54}", "\u{FF58}\u{FF54}\u{FF4E}", "\u{FF58}\u{FF54}"];
    LABELS.iter().chain(SHORT_WIDE.iter()).find_map(|label| {
        let s = literal(s, label)?;
        ext_digits(after_label(s), 20, true)
    })
}

/// ` x 123`, ` # 123`, ` ~ 123`, ` int 123` (fewer digits: the labels are ambiguous).
fn ambiguous_label(s: &[char]) -> Option<String> {
    let s = skip(s, |c| matches!(c, ' ' | '\u{A0}' | '\t' | ','));
    ["x", "\u{FF58}", "#", "\u{FF03}", "~", "\u{FF5E}", "int", "\u{FF49}\u{FF4E}\u{FF54}"].iter().find_map(
        |label| {
            let s = literal(s, label)?;
            ext_digits(after_label(s), 9, true)
        },
    )
}

/// ` - 503#` (American style: up to six digits closed by `#`).
fn american(s: &[char]) -> Option<String> {
    let rest = skip(s, |c| matches!(c, '-' | ' '));
    if rest.len() == s.len() {
        return None;
    }
    let (digits, rest) = take_digits(rest, 6)?;
    (rest == ['#']).then_some(digits)
}

/// `,,123` or `;123` (auto-dialling).
fn auto_dialling(s: &[char]) -> Option<String> {
    let s = skip(s, |c| matches!(c, ' ' | '\u{A0}' | '\t'));
    let s = literal(s, ",,").or_else(|| literal(s, ";"))?;
    ext_digits(after_label(s), 15, true)
}

/// `,123` (commas alone: few digits).
fn commas(s: &[char]) -> Option<String> {
    let s = skip(s, |c| matches!(c, ' ' | '\u{A0}' | '\t'));
    let rest = skip(s, |c| c == ',');
    if rest.len() == s.len() {
        return None;
    }
    ext_digits(after_label(rest), 9, true)
}

/// `[:.．]?[ \u00A0\t,-]*` after a label.
fn after_label(s: &[char]) -> &[char] {
    let s = match s.first() {
        Some(':' | '.' | '\u{FF0E}') => s.get(1..).unwrap_or_default(),
        _ => s,
    };
    skip(s, |c| matches!(c, ' ' | '\u{A0}' | '\t' | ',' | '-'))
}

/// 1 to `max` digits ending the text, optionally followed by `#`.
fn ext_digits(s: &[char], max: usize, hash_suffix: bool) -> Option<String> {
    let (digits, rest) = take_digits(s, max)?;
    (rest.is_empty() || (hash_suffix && rest == ['#'])).then_some(digits)
}

/// Up to `max` leading digits (at least one) in ASCII, and what follows them.
fn take_digits(s: &[char], max: usize) -> Option<(String, &[char])> {
    let n = s.iter().take_while(|c| digit(**c).is_some()).count();
    if n == 0 || n > max {
        return None;
    }
    let digits = s.get(..n)?.iter().filter_map(|c| digit(*c)).collect();
    Some((digits, s.get(n..)?))
}

fn literal<'s>(s: &'s [char], word: &str) -> Option<&'s [char]> {
    let mut rest = s;
    for w in word.chars() {
        let (first, tail) = rest.split_first()?;
        if *first != w {
            return None;
        }
        rest = tail;
    }
    Some(rest)
}

fn skip(s: &[char], f: impl Fn(char) -> bool) -> &[char] {
    let n = s.iter().take_while(|c| f(**c)).count();
    s.get(n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str) -> (bool, String, Option<String>) {
        let d = read(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        (d.plus, d.digits, d.extension)
    }

    #[test]
    fn digits_of_every_script_and_separators() {
        assert_eq!(ok("+86 138 0013 8000"), (true, "8613800138000".into(), None));
        assert_eq!(ok("＋８６ １３８ ００１３ ８０００"), (true, "8613800138000".into(), None));
        assert_eq!(ok("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧"), (true, "971501234567".into(), None));
        assert_eq!(ok("+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹"), (true, "989123456789".into(), None));
        assert_eq!(ok("(+1) 415‑555‑0100"), (true, "14155550100".into(), None));
        assert_eq!(ok("tel:+44-20-7946-0958"), (true, "442079460958".into(), None));
        assert_eq!(ok("TEL:+44 20 7946 0958"), (true, "442079460958".into(), None));
        assert_eq!(ok("8~10 44 20 7946 0958"), (false, "81044207946095".to_string() + "8", None));
        assert_eq!(ok("++44 20"), (true, "4420".into(), None));
        assert_eq!(ok("12"), (false, "12".into(), None));
        assert_eq!(ok("\u{1D7CE}\u{1D7CF}\u{1D7D0}"), (false, "012".into(), None));
        for bad in [
            "",
            "+",
            "+1",
            "1",
            "1 2",
            "+8+6 138",
            "+ +86 138",
            "86+138",
            "+86x",
            "x+86 138 0013",
            "1-800-FLOWERS",
            "+86 138 #",
        ] {
            assert_eq!(read(bad), Err(PhoneError::NotANumber), "{bad:?}");
        }
        assert!(matches!(read(&"1".repeat(251)), Err(PhoneError::TooLong { .. })));
    }

    #[test]
    fn extensions_in_libphonenumbers_forms() {
        let ext = |v: &str| read(v).ok().and_then(|d| d.extension);
        assert_eq!(ext("+1 415 555 0100 ext. 123"), Some("123".into()));
        assert_eq!(ext("+1 415 555 0100 EXT 123"), Some("123".into()));
        assert_eq!(ext("+1 415 555 0100 extension 12"), Some("12".into()));
        assert_eq!(ext("+1 415 555 0100 x12"), Some("12".into()));
        assert_eq!(ext("+1 415 555 0100 #12"), Some("12".into()));
        assert_eq!(ext("+1 415 555 0100;ext=5"), Some("5".into()));
        assert_eq!(ext("+1 415 555 0100,,123"), Some("123".into()));
        assert_eq!(ext("+1 415 555 0100,123"), Some("123".into()));
        assert_eq!(ext("+1 415 555 0100 - 503#"), Some("503".into()));
        assert_eq!(ext("+7 912 345 67 89 доб. 55"), Some("55".into()));
        assert_eq!(ext("+7 912 345 67 89 ДОБ 55"), Some("55".into()));
        assert_eq!(ext("+34 912 345 678 anexo 7"), Some("7".into()));
        assert_eq!(ext("+1 415 555 0100 x 1234567890"), None, "at most 9 digits after x");
        assert_eq!(read("+1 ext 12"), Err(PhoneError::NotANumber), "no number before the extension");
    }
}
