//! The phone parser against libphonenumber itself and against the classes of input it must
//! survive: every answer PyPI `phonenumbers` gives in tests/data/phone/oracle.tsv (spellings of
//! every example number of the metadata, in other scripts, with extensions, mutated), known
//! answers per country, and property tests (no panic on any text; one E.164 whichever way a
//! number is typed; E.164 round trips; a national number read in the wrong region).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::request::phone::{self, NumberType, ParseOptions, PhoneError, Region};
use proptest::prelude::*;
use std::sync::OnceLock;

const ORACLE: &str = include_str!("data/phone/oracle.tsv");
const EXAMPLES: &str = include_str!("data/phone/examples.tsv");

fn region(code: &str) -> Region {
    Region::new(code).unwrap_or_else(|| panic!("no region {code}"))
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.split('\t').collect())
}

fn kind(e: PhoneError) -> &'static str {
    e.code().strip_prefix("phone_").unwrap()
}

/// What the gate answers, in the oracle's columns.
fn answer(input: &str, home: Option<Region>) -> Vec<String> {
    match phone::parse(input, home) {
        Ok(n) => vec![
            "ok".into(),
            n.e164().into(),
            n.region().map_or("-".into(), |r| r.to_string()),
            n.number_type().as_str().into(),
            n.destination_code().len().to_string(),
            n.extension().unwrap_or("-").into(),
        ],
        Err(e) => vec!["err".into(), kind(e).into()],
    }
}

#[test]
fn agrees_with_libphonenumber_on_every_oracle_row() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for row in rows(ORACLE) {
        let (input, home) = (row[0], row[1]);
        let home = (home != "-").then(|| region(home));
        let got = answer(input, home);
        let want: Vec<String> = row[2..].iter().map(|s| s.to_string()).collect();
        checked += 1;
        if got != want {
            wrong.push(format!("{input:?} in {home:?}: gate {got:?}, phonenumbers {want:?}"));
        }
    }
    assert!(checked > 6000, "{checked} rows");
    assert!(wrong.is_empty(), "{} of {checked} rows differ:\n{}", wrong.len(), wrong.join("\n"));
}

#[derive(Debug)]
struct Example {
    id: &'static str,
    code: u16,
    nsn: &'static str,
    national: Option<&'static str>,
}

fn examples() -> &'static [Example] {
    static ALL: OnceLock<Vec<Example>> = OnceLock::new();
    ALL.get_or_init(|| {
        rows(EXAMPLES)
            .map(|r| Example {
                id: r[0],
                code: r[1].parse().unwrap(),
                nsn: r[3],
                national: (r[4] != "-").then_some(r[4]),
            })
            .collect()
    })
}

#[test]
fn every_example_number_is_valid_with_its_type() {
    for row in rows(EXAMPLES) {
        let n =
            phone::parse(&format!("+{} {}", row[1], row[3]), None).unwrap_or_else(|e| panic!("{row:?}: {e}"));
        let t = n.number_type();
        let expected = NumberType::from_name(row[2]).unwrap();
        let same = t == expected
            || (t == NumberType::FixedLineOrMobile
                && matches!(expected, NumberType::FixedLine | NumberType::Mobile));
        // a few examples fall in an earlier-tested type's range (libphonenumber tests
        // premium rate, toll free … before fixed line and mobile): the oracle checks those
        let earlier =
            !matches!(t, NumberType::FixedLine | NumberType::Mobile | NumberType::FixedLineOrMobile);
        assert!(same || earlier, "{row:?}: {t:?}");
        // the region is the entry's, or another sharing its code (AG's toll-free example is a
        // US number: NANP toll-free ranges are the main region's)
        match n.region() {
            Some(r) => assert_eq!(r.calling_code(), n.calling_code(), "{row:?}"),
            None => assert!(row[0].parse::<u16>().is_ok(), "{row:?}"),
        }
    }
}

/// Typed, default region, E.164, region, type, range.
type Answer = (&'static str, Option<&'static str>, &'static str, &'static str, NumberType, &'static str);

#[test]
fn known_answers_per_country() {
    // as phonenumbers 9.0.43 answers them
    let cases: &[Answer] = &[
        ("+86 138 0013 8000", None, "+8613800138000", "CN", NumberType::Mobile, "+86 138"),
        ("+86 150 1234 5678", None, "+8615012345678", "CN", NumberType::Mobile, "+86 150"),
        ("188 1234 5678", Some("CN"), "+8618812345678", "CN", NumberType::Mobile, "+86 188"),
        ("010 1234 5678", Some("CN"), "+861012345678", "CN", NumberType::FixedLine, "+86 10"),
        ("+1 201 555 0123", None, "+12015550123", "US", NumberType::FixedLineOrMobile, "+1 201"),
        ("(604) 555-0123", Some("US"), "+16045550123", "CA", NumberType::FixedLineOrMobile, "+1 604"),
        ("+1 876 210 1234", None, "+18762101234", "JM", NumberType::Mobile, "+1 876"),
        ("+1 268 464 1234", None, "+12684641234", "AG", NumberType::Mobile, "+1 268"),
        ("+1 900 234 5678", None, "+19002345678", "US", NumberType::PremiumRate, "+1 900"),
        ("+1 800 234 5678", None, "+18002345678", "US", NumberType::TollFree, "+1 800"),
        ("8 912 345 67 89", Some("RU"), "+79123456789", "RU", NumberType::Mobile, "+7 912"),
        ("+7 701 234 5678", None, "+77012345678", "KZ", NumberType::Mobile, "+7 701"),
        ("8 727 258 1234", Some("KZ"), "+77272581234", "KZ", NumberType::FixedLine, "+7 7272"),
        ("07400 123456", Some("GB"), "+447400123456", "GB", NumberType::Mobile, "+44 7400"),
        ("0909 876 5432", Some("GB"), "+449098765432", "GB", NumberType::PremiumRate, "+44 909"),
        ("056 1234 5678", Some("GB"), "+445612345678", "GB", NumberType::Voip, "+44 56"),
        ("07640 123456", Some("GB"), "+447640123456", "GB", NumberType::Pager, "+44 76"),
        ("070 1234 5678", Some("GB"), "+447012345678", "GB", NumberType::PersonalNumber, "+44 70"),
        ("0300 123 4567", Some("GB"), "+443001234567", "GB", NumberType::Uan, "+44 300"),
        ("01481 256789", Some("GB"), "+441481256789", "GG", NumberType::FixedLine, "+44 1481"),
        ("+49 1512 3456789", None, "+4915123456789", "DE", NumberType::Mobile, "+49 1512"),
        ("030 123456", Some("DE"), "+4930123456", "DE", NumberType::FixedLine, "+49 30"),
        ("0900 1 234567", Some("DE"), "+499001234567", "DE", NumberType::PremiumRate, "+49 900"),
        ("098765 43210", Some("IN"), "+919876543210", "IN", NumberType::Mobile, "+91 98765"),
        ("+55 11 96123 4567", None, "+5511961234567", "BR", NumberType::Mobile, "+55 11"),
        ("0 21 11 96123 4567", Some("BR"), "+5511961234567", "BR", NumberType::Mobile, "+55 11"),
        ("0802 123 4567", Some("NG"), "+2348021234567", "NG", NumberType::Mobile, "+234 802"),
        ("0812-3456-7890", Some("ID"), "+6281234567890", "ID", NumberType::Mobile, "+62 812"),
        ("0810 12 34 56", Some("FR"), "+33810123456", "FR", NumberType::SharedCost, "+33 810"),
        ("09 12 34 56 78", Some("FR"), "+33912345678", "FR", NumberType::Voip, "+33 9"),
        ("+800 1234 5678", None, "+80012345678", "-", NumberType::TollFree, "+800 1234"),
        ("+883 5100 1234 5678", None, "+883510012345678", "-", NumberType::Voip, "+883 510"),
        ("+39 06 6982 1234", None, "+390669821234", "VA", NumberType::FixedLine, "+39 06"),
        ("+52 55 1234 5678", None, "+525512345678", "MX", NumberType::FixedLineOrMobile, "+52 55"),
        ("+880 1712 345678", None, "+8801712345678", "BD", NumberType::Mobile, "+880 1712"),
    ];
    for (typed, home, e164, region_code, kind, range) in cases {
        let n = phone::parse(typed, home.map(region)).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
        let got = (
            n.e164(),
            n.region().map_or("-".into(), |r| r.to_string()),
            n.number_type(),
            n.range().to_string(),
        );
        assert_eq!(got, (*e164, region_code.to_string(), *kind, range.to_string()), "{typed:?} in {home:?}");
    }
    // +52 1 (Mexico's mobile token until 2019) is one digit too many now; a +882 number of a
    // possible length outside the metadata's ranges is refused, or typed unknown on request
    assert_eq!(phone::parse("+52 1 55 1234 5678", None), Err(PhoneError::TooLong { calling_code: Some(52) }));
    assert_eq!(phone::parse("+882 1234 5678 90", None), Err(PhoneError::NotInUse { calling_code: 882 }));
    let lenient = ParseOptions { accept_possible: true, ..ParseOptions::default() };
    let n = phone::parse_with("+882 1234 5678 90", &lenient).unwrap();
    assert_eq!(
        (n.number_type(), n.region(), n.range().to_string()),
        (NumberType::Unknown, None, "+882 123".into())
    );
}

/// Digits of the scripts people's keyboards type, with their zeros.
const SCRIPTS: [u32; 8] = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1040];
const SEPARATORS: [&str; 10] =
    ["", " ", "-", ".", "\u{00A0}", "\u{2011}", "\u{3000}", "/", "\u{30FC}", "\u{FF0D}"];

/// `text` with its ASCII digits in `script` and a separator from `seps` after each digit
/// (cycling), a full-width `＋` if `wide_plus`.
fn respell(text: &str, script: u32, seps: &[usize], wide_plus: bool) -> String {
    let mut out = String::new();
    let mut k = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                out.push(char::from_u32(script + (c as u32 - '0' as u32)).unwrap());
                out.push_str(SEPARATORS[seps[k % seps.len()]]);
                k += 1;
            }
            '+' if wide_plus => out.push('\u{FF0B}'),
            _ => out.push(c),
        }
    }
    out
}

/// How one example can be dialled: (text, default region).
fn spellings(e: &Example) -> Vec<(String, Option<Region>)> {
    let intl = format!("{}{}", e.code, e.nsn);
    let mut out = vec![
        (format!("+{intl}"), None),
        (format!("00{intl}"), None),
        (format!("00 {intl}"), Some(region("DE"))),
        (format!("00{intl}"), Some(region("CN"))),
        (format!("011 {intl}"), Some(region("US"))),
        (format!("0011 {intl}"), Some(region("AU"))),
        (format!("010 {intl}"), Some(region("JP"))),
        (format!("8~10 {intl}"), Some(region("RU"))),
        (format!("810{intl}"), Some(region("RU"))),
        (format!("+{} {}", e.code, e.nsn), Some(region("BR"))),
    ];
    if let (Some(national), Some(home)) = (e.national, Region::new(e.id)) {
        out.push((national.to_string(), Some(home)));
    }
    out
}

fn example() -> impl Strategy<Value = &'static Example> {
    (0..examples().len()).prop_map(|i| &examples()[i])
}

fn any_region() -> impl Strategy<Value = Option<Region>> {
    let all: Vec<Region> = Region::all().collect();
    prop::option::of(prop::sample::select(all))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_any_text(text in any::<String>(), home in any_region()) {
        let _ = phone::parse(&text, home);
    }

    /// Text made of what phone fields hold (digits of several scripts, separators, plus signs,
    /// extension labels), which reaches deeper than arbitrary strings.
    #[test]
    fn never_panics_on_number_like_text(
        text in "[+＋0-9٠-٩०-९ ()\\-./~,;#xX]{0,40}(ext|x|#|;ext=|,,)?[0-9]{0,25}",
        home in any_region(),
        accept_possible in any::<bool>(),
        fallback in 0u8..20,
        extra in 0u8..20,
    ) {
        let options = ParseOptions { default_region: home, range_fallback_digits: fallback, range_extra_digits: extra, accept_possible };
        if let Ok(n) = phone::parse_with(&text, &options) {
            prop_assert!(n.e164().starts_with('+') && n.e164().len() <= 21);
            prop_assert!(n.range().contains(&n));
            prop_assert!(n.range().digits().len() + 4 <= n.national_number().len().max(4));
        }
    }

    #[test]
    fn one_e164_whichever_way_a_number_is_typed(
        e in example(),
        which in any::<prop::sample::Index>(),
        script in prop::sample::select(SCRIPTS.to_vec()),
        seps in prop::collection::vec(0..SEPARATORS.len(), 1..6),
        wide_plus in any::<bool>(),
    ) {
        let reference = phone::parse(&format!("+{}{}", e.code, e.nsn), None).unwrap();
        let all = spellings(e);
        let (text, home) = &all[which.index(all.len())];
        let typed = respell(text, script, &seps, wide_plus);
        let n = phone::parse(&typed, *home);
        prop_assert_eq!(n.as_ref().map(|n| n.e164()), Ok(reference.e164()), "{:?} in {:?}", typed, home);
        let n = n.unwrap();
        prop_assert_eq!((n.region(), n.number_type(), n.range()), (reference.region(), reference.number_type(), reference.range()));
    }

    /// The widget's prefix of a number however it is typed (scripts, separators, `＋`, `00`, an
    /// extension after it): the same digits as typed plainly, never the last four, and the
    /// gate reads the same calling code from it and, where it reads a range, one that contains
    /// the number or none at all for the few example numbers it gets wrong.
    #[test]
    fn a_prefix_keeps_the_calling_code_and_never_the_last_four_digits(
        e in example(),
        script in prop::sample::select(SCRIPTS.to_vec()),
        seps in prop::collection::vec(0..SEPARATORS.len(), 1..6),
        wide_plus in any::<bool>(),
        double_zero in any::<bool>(),
        extension in prop::option::of("[0-9]{1,5}"),
        most in 3usize..12,
    ) {
        let number = phone::parse(&format!("+{}{}", e.code, e.nsn), None).unwrap();
        let intl = format!("{}{}", e.code, e.nsn);
        let plain = if double_zero { format!("00{intl}") } else { format!("+{intl}") };
        let mut typed = respell(&plain, script, &seps, wide_plus);
        if let Some(x) = &extension {
            typed.push_str(&format!(" ext. {x}"));
        }
        let sent = phone::prefix_of(&typed, most);
        prop_assert_eq!(&sent, &phone::prefix_of(&format!("+{intl}"), most), "{:?}", typed);
        prop_assert!(intl.starts_with(&sent) && sent.len() <= most.max(3));
        prop_assert!(sent.len() <= 3 || sent.len() + 4 <= intl.len(), "{} of {}", sent, intl);
        let read = phone::read_prefix(&sent, true);
        let code = e.code.to_string();
        prop_assert_eq!(read.calling_code, Some(code.as_str()), "{}", sent);
        if let Some(r) = read.range {
            prop_assert!(r.calling_code() == e.code && sent.len() >= code.len() + r.digits().len());
        }
        prop_assert!(number.range().digits().len() + code.len() < phone::PREFIX_DIGITS);
    }

    /// Any text: read without a panic, and a prefix is only ever digits.
    #[test]
    fn prefixes_of_any_text_are_digits_and_read_without_a_panic(text in any::<String>(), most in 0usize..20) {
        let sent = phone::prefix_of(&text, most);
        prop_assert!(sent.bytes().all(|b| b.is_ascii_digit()));
        let _ = phone::read_prefix(&text, true);
        let _ = phone::read_prefix(&sent, true);
    }

    /// Whatever parses, its E.164 form parses to the same number, region, type and range.
    #[test]
    fn e164_round_trips(e in example(), digit in 0u8..10, at in any::<prop::sample::Index>(), op in 0..3, home in any_region()) {
        // the example itself, or a neighbour of it (often another valid number)
        let mut nsn: Vec<u8> = e.nsn.bytes().collect();
        let i = at.index(nsn.len() + 1);
        match op {
            0 => {}
            1 => nsn.insert(i, b'0' + digit),
            _ => { if i < nsn.len() { nsn[i] = b'0' + digit } }
        }
        let nsn = String::from_utf8(nsn).unwrap();
        for (text, home) in [(format!("+{} {nsn}", e.code), None), (nsn.clone(), home)] {
            if let Ok(n) = phone::parse(&text, home) {
                let again = phone::parse(n.e164(), None).unwrap();
                prop_assert_eq!(again.e164(), n.e164());
                prop_assert_eq!((again.region(), again.number_type(), again.range()), (n.region(), n.number_type(), n.range()));
            }
        }
    }

    /// A national number read in a region with another calling code fails, or is read as a
    /// number elsewhere; it never panics and never lands in its own region by accident.
    #[test]
    fn a_national_number_in_the_wrong_region(e in example(), other in prop::sample::select(Region::all().collect::<Vec<_>>())) {
        let Some(home) = Region::new(e.id) else { return Ok(()) };
        prop_assume!(other.calling_code() != home.calling_code());
        for text in [e.nsn, e.national.unwrap_or(e.nsn)] {
            match phone::parse(text, Some(other)) {
                Err(_) => {}
                Ok(n) => prop_assert_ne!(n.region(), Some(home), "{:?} in {}", text, other),
            }
        }
    }
}

/// The ranges docs/design/sms-ranges.md proposes for the drill are what the metadata says:
/// a number in each parses to that range, in that region, with that type.
#[test]
fn drill_ranges_are_what_the_metadata_says() {
    use NumberType::{FixedLineOrMobile as Either, Mobile, PremiumRate as Premium, SharedCost as Shared};
    // (sample number, region, type, range)
    let cases: &[(&str, &str, NumberType, &str)] = &[
        ("+86 138 2345 6789", "CN", Mobile, "+86 138"),
        ("+86 139 2345 6789", "CN", Mobile, "+86 139"),
        ("+86 150 2345 6789", "CN", Mobile, "+86 150"),
        ("+86 186 2345 6789", "CN", Mobile, "+86 186"),
        ("+86 188 2345 6789", "CN", Mobile, "+86 188"),
        ("+1 212 555 0123", "US", Either, "+1 212"),
        ("+1 312 555 0123", "US", Either, "+1 312"),
        ("+1 415 555 0123", "US", Either, "+1 415"),
        ("+1 646 555 0123", "US", Either, "+1 646"),
        ("+91 98100 56789", "IN", Mobile, "+91 98100"),
        ("+91 99100 56789", "IN", Mobile, "+91 99100"),
        ("+91 70000 56789", "IN", Mobile, "+91 70000"),
        ("+91 81000 56789", "IN", Mobile, "+91 81000"),
        ("+55 11 96123 4567", "BR", Mobile, "+55 11"),
        ("+55 21 96123 4567", "BR", Mobile, "+55 21"),
        ("+55 31 96123 4567", "BR", Mobile, "+55 31"),
        ("+49 1512 3456789", "DE", Mobile, "+49 1512"),
        ("+49 160 23456789", "DE", Mobile, "+49 160"),
        ("+49 170 23456789", "DE", Mobile, "+49 170"),
        ("+49 176 23456789", "DE", Mobile, "+49 176"),
        ("+44 7400 123456", "GB", Mobile, "+44 7400"),
        ("+44 7507 123456", "GB", Mobile, "+44 7507"),
        ("+44 7700 123456", "GB", Mobile, "+44 7700"),
        ("+44 7911 234567", "GB", Mobile, "+44 7911"),
        ("+81 70 1234 5678", "JP", Mobile, "+81 70"),
        ("+81 80 1234 5678", "JP", Mobile, "+81 80"),
        ("+81 90 1234 5678", "JP", Mobile, "+81 90"),
        ("+82 10 2000 0000", "KR", Mobile, "+82 10"),
        ("+33 6 12 34 56 78", "FR", Mobile, "+33 6"),
        ("+33 7 55 50 12 34", "FR", Mobile, "+33 7"),
        ("+62 812 345 678", "ID", Mobile, "+62 812"),
        ("+62 813 345 678", "ID", Mobile, "+62 813"),
        ("+62 857 345 678", "ID", Mobile, "+62 857"),
        ("+62 878 345 678", "ID", Mobile, "+62 878"),
        ("+7 903 345 67 89", "RU", Mobile, "+7 903"),
        ("+7 912 345 67 89", "RU", Mobile, "+7 912"),
        ("+7 916 345 67 89", "RU", Mobile, "+7 916"),
        ("+7 926 345 67 89", "RU", Mobile, "+7 926"),
        ("+90 532 234 5678", "TR", Mobile, "+90 532"),
        ("+90 542 234 5678", "TR", Mobile, "+90 542"),
        ("+90 555 234 5678", "TR", Mobile, "+90 555"),
        ("+84 90 234 56 78", "VN", Mobile, "+84 902"),
        ("+84 91 234 56 78", "VN", Mobile, "+84 912"),
        ("+84 97 234 56 78", "VN", Mobile, "+84 972"),
        ("+84 98 234 56 78", "VN", Mobile, "+84 982"),
        ("+52 33 2123 4567", "MX", Either, "+52 33"),
        ("+52 55 2123 4567", "MX", Either, "+52 55"),
        ("+52 81 2123 4567", "MX", Either, "+52 81"),
        ("+234 803 123 4567", "NG", Mobile, "+234 803"),
        ("+234 805 123 4567", "NG", Mobile, "+234 805"),
        ("+234 806 123 4567", "NG", Mobile, "+234 806"),
        ("+234 813 123 4567", "NG", Mobile, "+234 813"),
        ("+20 10 0123 4567", "EG", Mobile, "+20 10"),
        ("+20 11 0123 4567", "EG", Mobile, "+20 11"),
        ("+20 12 0123 4567", "EG", Mobile, "+20 12"),
        // pumping: premium rate and shared cost
        ("+44 909 012 3456", "GB", Premium, "+44 909"),
        ("+44 871 012 3456", "GB", Premium, "+44 871"),
        ("+44 843 012 3456", "GB", Premium, "+44 843"),
        ("+33 899 345 678", "FR", Premium, "+33 899"),
        ("+33 819 345 678", "FR", Premium, "+33 819"),
        ("+43 900 123456", "AT", Premium, "+43 900"),
        ("+43 930 123456", "AT", Premium, "+43 930"),
        ("+370 900 34567", "LT", Premium, "+370 900"),
        ("+371 90 234567", "LV", Premium, "+371 90"),
        ("+381 900 234567", "RS", Premium, "+381 900"),
        ("+420 906 123 456", "CZ", Premium, "+420 906"),
        ("+421 976 123 456", "SK", Premium, "+421 976"),
        ("+420 810 123 456", "CZ", Shared, "+420 810"),
        ("+421 850 123 456", "SK", Shared, "+421 850"),
        // pumping and farms: mobile ranges (illustrative)
        ("+358 41 234 5678", "FI", Mobile, "+358 41"),
        ("+358 44 234 5678", "FI", Mobile, "+358 44"),
        ("+996 500 123 456", "KG", Mobile, "+996 500"),
        ("+996 700 123 456", "KG", Mobile, "+996 700"),
        ("+992 00 712 3456", "TJ", Mobile, "+992 00"),
        ("+992 55 712 3456", "TJ", Mobile, "+992 55"),
        ("+998 33 234 5678", "UZ", Mobile, "+998 33"),
        ("+998 88 234 5678", "UZ", Mobile, "+998 88"),
        ("+994 60 123 4567", "AZ", Mobile, "+994 60"),
        ("+994 99 123 4567", "AZ", Mobile, "+994 99"),
        ("+94 74 234 5678", "LK", Mobile, "+94 74"),
        ("+94 76 234 5678", "LK", Mobile, "+94 76"),
        ("+63 895 123 4567", "PH", Mobile, "+63 895"),
        ("+63 896 123 4567", "PH", Mobile, "+63 896"),
        ("+62 831 345 678", "ID", Mobile, "+62 831"),
        ("+62 838 345 678", "ID", Mobile, "+62 838"),
        ("+7 747 000 9998", "KZ", Mobile, "+7 747"),
        ("+7 771 000 9998", "KZ", Mobile, "+7 771"),
    ];
    let mut wrong = Vec::new();
    for (typed, region_code, kind, range) in cases {
        let n = phone::parse(typed, None).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
        let got = (n.region().map(|r| r.to_string()), n.number_type(), n.range().to_string());
        if got != (Some(region_code.to_string()), *kind, range.to_string()) {
            wrong.push(format!("{typed:?}: {got:?} (ndc {:?})", n.destination_code()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
