//! Phone numbers, reduced to what the policy needs: the country calling code.
//!
//! Sign-up abuse often arrives as bulk SMS sign-ups from one country's numbers, so the policy
//! can allow, price or shed by calling code. Only the code is ever used or logged, never the
//! number. Numbers must be in international form (`+86 138…`, `0086…`); national forms carry no
//! code and are treated as having none.

/// ITU-T E.164 country calling codes (assigned as of 2024), as digit strings. One-, two- and
/// three-digit codes never share a prefix, so the first match by length is unambiguous.
const CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66",
    "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98", "211", "212", "213", "216", "218",
    "220", "221", "222", "223", "224", "225", "226", "227", "228", "229", "230", "231", "232", "233", "234",
    "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246", "247", "248", "249",
    "250", "251", "252", "253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265",
    "266", "267", "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355",
    "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378", "379", "380",
    "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501", "502", "503", "504",
    "505", "506", "507", "508", "509", "590", "591", "592", "593", "594", "595", "596", "597", "598", "599",
    "670", "672", "673", "674", "675", "676", "677", "678", "679", "680", "681", "682", "683", "685", "686",
    "687", "688", "689", "690", "691", "692", "800", "808", "850", "852", "853", "855", "856", "870", "878",
    "880", "881", "882", "883", "886", "888", "960", "961", "962", "963", "964", "965", "966", "967", "968",
    "970", "971", "972", "973", "974", "975", "976", "977", "979", "992", "993", "994", "995", "996", "998",
];

/// Whether `code` (digits, no `+`) is an assigned calling code.
pub fn is_calling_code(code: &str) -> bool {
    CODES.contains(&code)
}

/// Code points of the zero digit of each Unicode decimal-digit run that phone keyboards
/// produce (libphonenumber normalizes all of them): full-width, Arabic-Indic, Persian,
/// Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Thai, Lao,
/// Tibetan, Myanmar, Khmer, Mongolian.
const ZEROS: &[u32] = &[
    0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0E50,
    0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810,
];

/// The ASCII digit a character stands for, if it is a decimal digit of any listed script.
fn digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let cp = u32::from(c);
    ZEROS.iter().find(|z| (**z..**z + 10).contains(&cp)).and_then(|z| char::from_digit(cp - z, 10))
}

/// Separators people and phone keyboards put between digits (libphonenumber's punctuation).
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '[' | ']' | '/' | '~' | '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{30FC}'
                    | '\u{FF0D}'
                    | '\u{FF0E}'
                    | '\u{FF0F}'
                    | '\u{FF08}'
                    | '\u{FF09}'
                    | '\u{FF3B}'
                    | '\u{FF3D}'
                    | '\u{FF5E}'
                    | '\u{2053}'
                    | '\u{223C}'
        )
}

/// A number as ASCII: digits of any script as ASCII digits, `+`/`＋` as `+`, separators
/// dropped, and a leading `tel:` ignored. `None` when anything else is in it before the
/// first four digits (letters, a second `+`): then it is not a number the gate can read.
pub fn normalize(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let trimmed = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
    let mut out = String::with_capacity(8);
    let mut digits = 0;
    for c in trimmed.chars() {
        if digits >= 4 {
            break;
        }
        if let Some(d) = digit(c) {
            out.push(d);
            digits += 1;
        } else if matches!(c, '+' | '\u{FF0B}' | '\u{FE62}') {
            if !out.is_empty() {
                return None;
            }
            out.push('+');
        } else if !is_separator(c) {
            return None;
        }
    }
    Some(out)
}

/// The calling code of a phone number in international form (`+86 138…`, `＋８６…`,
/// `0086…`), or of a value that is just a code (`"+86"`, `"86"` when `code_only`). `None`
/// when there is none to be had.
pub fn calling_code(value: &str, code_only: bool) -> Option<&'static str> {
    let normalized = normalize(value)?;
    let digits = if let Some(r) = normalized.strip_prefix('+') {
        r
    } else if let Some(r) = normalized.strip_prefix("00") {
        r
    } else if code_only {
        normalized.as_str()
    } else {
        return None;
    };
    (1..=3.min(digits.len())).find_map(|n| {
        let candidate = digits.get(..n)?;
        CODES.iter().find(|c| **c == candidate).copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_from_numbers() {
        let cases = [
            ("+86 138 0013 8000", false, Some("86")),
            ("+8613800138000", false, Some("86")),
            ("0086 13800138000", false, Some("86")),
            ("+1 (415) 555-0100", false, Some("1")),
            ("+44 20 7946 0958", false, Some("44")),
            ("+852 5123 4567", false, Some("852")),
            ("+971501234567", false, Some("971")),
            ("+7 912 345 67 89", false, Some("7")),
            ("13800138000", false, None),
            ("", false, None),
            ("+", false, None),
            ("+abc", false, None),
            ("+0123", false, None),
            ("+86", true, Some("86")),
            ("86", true, Some("86")),
            ("1", true, Some("1")),
            ("999", true, None),
            // as CJK and other keyboards type them
            ("＋８６ １３８ ００１３ ８０００", false, Some("86")),
            ("＋86-138", false, Some("86")),
            ("００８６ 138", false, Some("86")),
            ("+٩٧١ ٥٠ ١٢٣", false, Some("971")),
            ("+۹۸ ۹۱۲", false, Some("98")),
            ("+९१ ९८७६५", false, Some("91")),
            ("tel:+44-20-7946", false, Some("44")),
            ("(+1) 415", false, Some("1")),
            ("+1\u{00A0}415", false, Some("1")),
            ("+1\u{2011}415", false, Some("1")),
            ("８６", true, Some("86")),
            ("+8+6", false, None),
            ("+86x", false, None),
            ("x+86", false, None),
            ("+1a", false, None),
        ];
        for (value, code_only, want) in cases {
            assert_eq!(calling_code(value, code_only), want, "{value:?}");
        }
    }

    #[test]
    fn no_code_is_a_prefix_of_another() {
        for a in CODES {
            for b in CODES {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }
}
