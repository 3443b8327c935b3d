use super::metadata::{self, Meta};
use super::pattern;
use super::*;

fn region(code: &str) -> Region {
    Region::new(code).unwrap()
}

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
fn calling_codes_are_prefix_free_and_every_entry_is_reachable() {
    let codes: Vec<String> = calling_codes().map(|c| c.to_string()).collect();
    for a in &codes {
        assert!(is_calling_code(a));
        for b in &codes {
            assert!(a == b || !b.starts_with(a.as_str()), "{a} is a prefix of {b}");
        }
    }
    assert!(
        !is_calling_code("379") && !is_calling_code("086") && !is_calling_code("") && !is_calling_code("1a")
    );
    for m in super::data::METADATA.iter() {
        if let Some(id) = m.region() {
            assert_eq!(region(id).calling_code(), m.code);
        }
        assert!(
            metadata::for_code(m.code).any(|e| std::ptr::eq(e, m)),
            "{:?} unreachable from +{}",
            m.region(),
            m.code
        );
    }
    assert_eq!(Region::all().count(), metadata::regions().len());
}

/// Every pattern in the table parses as the subset the matcher reads: balanced groups, classes
/// of digits, well-formed quantifiers (a typo would silently match nothing).
#[test]
fn every_pattern_is_in_the_supported_subset() {
    fn check(p: &str, what: &str) {
        let b = p.as_bytes();
        let (mut depth, mut i) = (0i32, 0);
        while i < b.len() {
            match b[i] {
                b'(' => {
                    depth += 1;
                    if b.get(i + 1) == Some(&b'?') {
                        assert_eq!(b.get(i + 2), Some(&b':'), "{what}: {p}");
                        i += 2;
                    }
                }
                b')' => depth -= 1,
                b'[' => {
                    let close =
                        b[i..].iter().position(|c| *c == b']').unwrap_or_else(|| panic!("{what}: {p}"));
                    assert!(
                        b[i + 1..i + close].iter().all(|c| c.is_ascii_digit() || *c == b'-'),
                        "{what}: {p}"
                    );
                    i += close;
                }
                b'\\' => {
                    assert_eq!(b.get(i + 1), Some(&b'd'), "{what}: {p}");
                    i += 1;
                }
                b'{' => {
                    let close =
                        b[i..].iter().position(|c| *c == b'}').unwrap_or_else(|| panic!("{what}: {p}"));
                    let body = std::str::from_utf8(&b[i + 1..i + close]).unwrap();
                    let (lo, hi) = body.split_once(',').unwrap_or((body, body));
                    assert!(lo.parse::<u32>().unwrap() <= hi.parse::<u32>().unwrap(), "{what}: {p}");
                    i += close;
                }
                c => assert!(c.is_ascii_digit() || matches!(c, b'|' | b'?' | b'$'), "{what}: {p}"),
            }
            assert!(depth >= 0, "{what}: {p}");
            i += 1;
        }
        assert_eq!(depth, 0, "{what}: {p}");
    }
    let all = |m: &Meta| {
        let mut v = vec![m.idd, m.national_prefix_for_parsing, m.leading_digits, m.general.pattern];
        v.extend(m.descs().iter().map(|d| d.pattern));
        v.extend(m.formats().iter().map(|f| f.leading));
        v
    };
    let mut count = 0;
    for m in super::data::METADATA.iter() {
        for p in all(m) {
            assert!(p.in_bounds(), "{:?}: a piece past the text", m.region());
            check(p.get(), m.region().unwrap_or("non-geographic"));
            count += 1;
        }
    }
    assert!(count > 2500, "{count} patterns");
}

/// Typed, default region, E.164, region, type, range.
type Answer =
    (&'static str, Option<&'static str>, &'static str, Option<&'static str>, NumberType, &'static str);

#[test]
fn known_answers() {
    let cases: [Answer; 14] = [
        ("+86 138 0013 8000", None, "+8613800138000", Some("CN"), NumberType::Mobile, "+86 138"),
        ("0086 15912345678", None, "+8615912345678", Some("CN"), NumberType::Mobile, "+86 159"),
        ("186 1234 5678", Some("CN"), "+8618612345678", Some("CN"), NumberType::Mobile, "+86 186"),
        ("(415) 555-2671", Some("US"), "+14155552671", Some("US"), NumberType::FixedLineOrMobile, "+1 415"),
        ("1 506 234 5678", Some("US"), "+15062345678", Some("CA"), NumberType::FixedLineOrMobile, "+1 506"),
        ("011 44 7400 123456", Some("US"), "+447400123456", Some("GB"), NumberType::Mobile, "+44 7400"),
        ("07400 123456", Some("GB"), "+447400123456", Some("GB"), NumberType::Mobile, "+44 7400"),
        ("0011 61 412 345 678", Some("AU"), "+61412345678", Some("AU"), NumberType::Mobile, "+61 412"),
        ("8 (912) 345-67-89", Some("RU"), "+79123456789", Some("RU"), NumberType::Mobile, "+7 912"),
        ("8~10 86 138 0013 8000", Some("RU"), "+8613800138000", Some("CN"), NumberType::Mobile, "+86 138"),
        ("+7 701 234 5678", None, "+77012345678", Some("KZ"), NumberType::Mobile, "+7 701"),
        (
            "010 1 415 555 2671",
            Some("JP"),
            "+14155552671",
            Some("US"),
            NumberType::FixedLineOrMobile,
            "+1 415",
        ),
        ("+54 9 11 2345 6789", None, "+5491123456789", Some("AR"), NumberType::Mobile, "+54 911"),
        ("011 15 2345-6789", Some("AR"), "+5491123456789", Some("AR"), NumberType::Mobile, "+54 911"),
    ];
    for (input, home, e164, region_code, kind, range) in cases {
        let n = parse(input, home.map(region)).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(n.e164(), e164, "{input:?}");
        assert_eq!(n.region().map(|r| r.to_string()).as_deref(), region_code, "{input:?}");
        assert_eq!(n.number_type(), kind, "{input:?}");
        assert_eq!(n.range().to_string(), range, "{input:?}");
    }
}

#[test]
fn errors_say_why() {
    let cn = Some(region("CN"));
    assert_eq!(parse("hello", cn), Err(PhoneError::NotANumber));
    assert_eq!(parse("13800138000", None), Err(PhoneError::NoRegion));
    assert_eq!(parse("+999 1234 5678", None), Err(PhoneError::InvalidCallingCode));
    assert_eq!(parse("+86 12", None), Err(PhoneError::TooShort { calling_code: Some(86) }));
    assert_eq!(parse("+86 1380013800012345678", None), Err(PhoneError::TooLong { calling_code: Some(86) }));
    assert_eq!(parse("555 0100", Some(region("US"))), Err(PhoneError::LocalOnly { calling_code: 1 }));
    assert_eq!(parse("+1 555 555 0100", None), Err(PhoneError::NotInUse { calling_code: 1 }));
    assert_eq!(parse("+44 7400 12345", None), Err(PhoneError::NotInUse { calling_code: 44 }));
    assert_eq!(parse("+44 7400 1234", None), Err(PhoneError::LocalOnly { calling_code: 44 }));
    assert_eq!(parse("+61 1800 1234 156", None), Err(PhoneError::InvalidLength { calling_code: 61 }));
    let lenient = ParseOptions { accept_possible: true, ..ParseOptions::default() };
    assert_eq!(parse_with("+1 555 555 0100", &lenient).map(|n| n.number_type()), Ok(NumberType::Unknown));
    for e in [PhoneError::NotANumber, PhoneError::NotInUse { calling_code: 86 }] {
        assert!(e.code().starts_with("phone_") && e.to_string().ends_with('.'));
    }
}

#[test]
fn ranges_follow_the_options_and_never_name_a_subscriber() {
    let n = parse("+86 138 0013 8000", None).unwrap();
    assert_eq!((n.range().to_string(), n.range_source()), ("+86 138".into(), RangeSource::DestinationCode));
    let wide = ParseOptions { range_extra_digits: 2, ..ParseOptions::default() };
    assert_eq!(parse_with("+86 138 0013 8000", &wide).unwrap().range().to_string(), "+86 13800");
    let all = ParseOptions { range_extra_digits: 20, ..ParseOptions::default() };
    assert_eq!(parse_with("+86 138 0013 8000", &all).unwrap().range().to_string(), "+86 1380013");
    // +247 (Ascension) numbers are written as one group: the fallback digits, capped
    let n = parse("+247 62889", None).unwrap();
    assert_eq!((n.range().to_string(), n.range_source()), ("+247 6".into(), RangeSource::LeadingDigits));
    assert!(n.range().contains(&n));
    assert_eq!("+86 138".parse::<Range>().unwrap(), Range::new(86, "138").unwrap());
    assert_eq!("+86138".parse::<Range>().unwrap(), Range::new(86, "138").unwrap());
    assert!(
        "86 138".parse::<Range>().is_err()
            && "+999 1".parse::<Range>().is_err()
            && "+86 1a".parse::<Range>().is_err()
    );
}

#[test]
fn the_number_stays_out_of_debug_and_hashes_by_key() {
    let n = parse("+86 138 0013 8000", None).unwrap();
    let shown = format!("{n:?}");
    assert!(!shown.contains("8000") && shown.contains("+86 138"), "{shown}");
    let same = parse("0086 138-0013-8000", None).unwrap();
    assert_eq!(keyed_hash(&n, b"key one"), keyed_hash(&same, b"key one"));
    assert_ne!(keyed_hash(&n, b"key one"), keyed_hash(&n, b"key two"));
    let other = parse("+86 138 0013 8001", None).unwrap();
    assert_ne!(keyed_hash(&n, b"key one"), keyed_hash(&other, b"key one"));
}

#[test]
fn regions_and_types_by_name() {
    assert_eq!(Region::new("cn"), Some(region("CN")));
    assert_eq!(Region::new("XX"), None);
    assert_eq!(Region::new("001"), None);
    assert_eq!("us".parse::<Region>().map(|r| r.calling_code()), Ok(1));
    assert!("ZZ".parse::<Region>().is_err());
    for t in NumberType::ALL {
        assert_eq!(NumberType::from_name(t.as_str()), Some(t));
    }
    let json = serde_json::to_string(&(region("GB"), NumberType::PremiumRate)).unwrap();
    assert_eq!(json, r#"["GB","premium_rate"]"#);
    assert_eq!(
        serde_json::from_str::<(Region, NumberType)>(&json).unwrap(),
        (region("GB"), NumberType::PremiumRate)
    );
    assert!(serde_json::from_str::<Region>(r#""QQ""#).is_err());
}

/// A format's group lengths, computed from its (min, max) list, are what a backtracking regex
/// engine captures with the pattern those groups spell, for every length a number can have.
#[test]
fn format_groups_split_like_the_pattern_they_spell() {
    let mut checked = 0;
    for f in super::data::FORMATS.iter() {
        let spelled: String = f
            .groups
            .iter()
            .take_while(|g| g.1 > 0)
            .map(|(lo, hi)| if lo == hi { format!("(\\d{{{lo}}})") } else { format!("(\\d{{{lo},{hi}}})") })
            .collect();
        for len in 1..=17 {
            let digits = "1".repeat(len);
            let by_regex = pattern::full_captures(&spelled, digits.as_bytes()).map(|c| {
                let mut out = [0; 5];
                for (i, o) in out.iter_mut().enumerate() {
                    *o = c.group(i + 1).map_or(0, |(a, b)| b - a);
                }
                out
            });
            assert_eq!(f.split(len), by_regex, "{spelled} on {len} digits");
            checked += 1;
        }
    }
    assert!(checked > 3000);
}

/// No pattern comes near the matcher's step budget on the numbers it reads: every example
/// number against every pattern of the entries sharing its calling code, and every pattern
/// against 17 repeated digits and a 17-digit count (the longest numbers, the most branches).
#[test]
fn matching_stays_far_below_the_step_budget() {
    let examples = include_str!("../../../tests/data/phone/examples.tsv");
    let patterns = |m: &'static Meta| {
        let mut v = vec![m.general.pattern.get()];
        v.extend(m.descs().iter().map(|d| d.pattern.get()));
        v
    };
    let mut worst = (0, String::new());
    let mut check = |p: &str, input: &str| {
        let steps = pattern::steps_for_full_match(p, input.as_bytes());
        if steps > worst.0 {
            worst = (steps, format!("{p} on {input}"));
        }
    };
    for line in examples.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        for m in metadata::for_code(cols[1].parse().unwrap()) {
            for p in patterns(m) {
                check(p, cols[3]);
            }
        }
    }
    let long: Vec<String> =
        (0..10).map(|d| d.to_string().repeat(17)).chain(["12345678901234567".into()]).collect();
    for m in super::data::METADATA.iter() {
        for p in patterns(m) {
            for input in &long {
                check(p, input);
            }
        }
    }
    assert!(worst.0 < pattern::STEPS / 10, "{} steps: {}", worst.0, worst.1);
}

#[test]
fn prefixes_find_the_range_of_every_example_number_they_can() {
    let examples = include_str!("../../../tests/data/phone/examples.tsv");
    let (mut found, mut unknown, mut wrong, mut longest) = (0, 0, Vec::new(), 0);
    for line in examples.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let Ok(number) = super::parse(&format!("+{}{}", cols[1], cols[3]), None) else { continue };
        longest = longest.max(cols[1].len() + number.range().digits().len());
        for typed in [number.e164().to_string(), format!("00{}", &number.e164()[1..])] {
            let sent = super::prefix_of(&typed, super::PREFIX_DIGITS);
            assert!(sent.len() <= super::PREFIX_DIGITS && number.e164()[1..].starts_with(&sent), "{sent}");
            // never the last four digits
            assert!(sent.len() <= 3.max(number.e164().len() - 1 - 4), "{typed}: {sent}");
            let read = super::read_prefix(&sent, true);
            assert_eq!(read.calling_code, Some(cols[1]), "{sent}");
            match read.range {
                Some(r) if &r == number.range() => found += 1,
                Some(r) => wrong.push(format!("{}: {r} for {:?}", cols[0], number.range())),
                None => unknown += 1,
            }
        }
    }
    println!(
        "ranges from prefixes: {found} found, {unknown} unknown, {} wrong; longest {longest}",
        wrong.len()
    );
    println!("{wrong:?}");
    // 2026-12-06: 2250 found, 30 unknown (priced at submission), 2 wrong (PY +595 980 for
    // +595 9800; until then also NF +672 3 for +672 10, a number the plan rewrote)
    let total = found + unknown + wrong.len();
    assert!(found * 100 >= total * 97, "{found} of {total}");
    assert!(wrong.len() * 200 <= total, "{wrong:?}");
    // the longest range, calling code included, is 8 digits: the widget sends one more
    assert!(longest < super::PREFIX_DIGITS, "a range of {longest} digits");
}

/// Every shorter prefix of every example number (what the widget sends while the number is
/// typed): a range read from it lies within its digits, so it is never another range that a
/// numbering plan's rewrite of a short number gives (Madagascar's seven digits gain the area
/// code 20: `26122` once read as `+261 20`).
#[test]
fn a_range_read_from_a_prefix_lies_within_its_digits() {
    let examples = include_str!("../../../tests/data/phone/examples.tsv");
    let mut read_ranges = 0;
    for line in examples.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let intl = format!("{}{}", cols[1], cols[3]);
        for most in 3..=super::PREFIX_DIGITS {
            let sent = super::prefix_of(&format!("+{intl}"), most);
            if let Some(r) = super::read_prefix(&sent, true).range {
                let digits = format!("{}{}", r.calling_code(), r.digits());
                assert!(sent.starts_with(&digits), "{}: {sent} read as {r}", cols[0]);
                read_ranges += 1;
            }
        }
    }
    assert!(read_ranges > 5_000, "{read_ranges}");
    assert_eq!(super::read_prefix("26122", true).range.map(|r| r.to_string()), Some("+261 22".into()));
}

#[test]
fn a_prefix_is_read_whatever_it_holds_and_never_panics() {
    let read = |s: &str| super::read_prefix(s, true);
    assert_eq!(read("86").calling_code, Some("86"));
    assert_eq!(read("86").range, None);
    assert_eq!(read("861380013").range.map(|r| r.to_string()), Some("+86 138".into()));
    assert_eq!(read("+86 138 0013").range.map(|r| r.to_string()), Some("+86 138".into()));
    assert_eq!(read("0086138001").range.map(|r| r.to_string()), Some("+86 138".into()));
    // more digits than the widget sends (an API client's): still the range
    assert_eq!(read("996500123").range.map(|r| r.to_string()), Some("+996 500".into()));
    assert_eq!(read("8613800138000").range.map(|r| r.to_string()), Some("+86 138".into()));
    for bad in ["", "0", "abc", "+", "++86", "999"] {
        assert_eq!(read(bad).range, None, "{bad}");
    }
    // what the old calling-code reader took: `tel:`, text after the digits
    assert_eq!(read("tel:+86 138 0013").calling_code, Some("86"));
    assert_eq!(read("+86 138 0013 8000 ext 5").range.map(|r| r.to_string()), Some("+86 138".into()));
    assert_eq!(
        super::read_prefix("861380013", false),
        super::Prefix { calling_code: Some("86"), range: None }
    );
    assert_eq!(super::prefix_of("+86 138 0013 8000", 9), "861380013");
    assert_eq!(super::prefix_of("+1 (415) 555-0100", 9), "1415555");
    assert_eq!(super::prefix_of("+86", 9), "86");
    assert_eq!(super::prefix_of("+8613", 9), "861");
    assert_eq!(super::prefix_of("0138 0013 8000", 9), "");
    assert_eq!(super::prefix_of("call me", 9), "");
    assert_eq!(super::prefix_of("tel:+44 7400 123456", 9), "44740012");
    assert_eq!(super::prefix_of("＋８６ １３８ ００１３ ８０００", 9), "861380013");
    assert_eq!(super::prefix_of("+44 7400 123456 ext. 12", 9), "44740012");
    for s in ["9".repeat(40), "+".repeat(40), "0".repeat(40), "1 ".repeat(40)] {
        let _ = (read(&s), super::prefix_of(&s, 9));
    }
}
