//! Path spellings (docs/protocol.md § Which requests are protected): for generated mutations of the
//! protected and pass-through routes, a request the gate lets through as unprotected never
//! reads as a protected route on any origin. The origin is modelled here independently of the
//! gate's matcher, as the most permissive server there is: it decodes percent-escapes (and
//! overlong UTF-8) until nothing changes, cuts at NUL, `?` and `#`, reads `\` as `/`, drops
//! `;params` and `:streams`, trims dots, spaces and controls from segment ends, resolves dot
//! segments, folds case and width, and drops a last-segment extension.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::request::route::{self, Judged, Route};
use proptest::prelude::*;

/// The shipped policy's routes, and one with any-method routes (so GET is judged too).
fn configs() -> Vec<(Vec<Route>, Vec<Route>)> {
    let parse = |specs: &[&str]| specs.iter().map(|s| Route::parse(s).unwrap()).collect::<Vec<_>>();
    vec![
        (
            parse(&["POST /signup", "POST /api/register", "POST /api/otp/send"]),
            parse(&["POST /login", "POST /api/login"]),
        ),
        (parse(&["* /signup", "* /api/otp/*"]), parse(&["* /login"])),
    ]
}

/// The paths mutations start from: the routes themselves and a few neighbours.
const BASES: &[&str] = &["/signup", "/api/register", "/api/otp/send", "/login", "/api/login", "/account"];

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Overlong two- and three-byte forms of ASCII, as old decoders read them.
fn overlong(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if (b == 0xC0 || b == 0xC1) && i + 1 < bytes.len() {
            out.push(((b & 0x1F) << 6) | (bytes[i + 1] & 0x3F));
            i += 2;
        } else if b == 0xE0 && i + 2 < bytes.len() && bytes[i + 1] < 0xA0 {
            let v = (u32::from(bytes[i + 1] & 0x3F) << 6) | u32::from(bytes[i + 2] & 0x3F);
            if v < 0x80 {
                out.push(v as u8);
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Every route an origin could read a path as (see the module docs).
fn origin_readings(path: &str) -> Vec<String> {
    let mut levels = vec![path.as_bytes().to_vec()];
    loop {
        let next = overlong(&percent_decode(levels.last().unwrap()));
        if &next == levels.last().unwrap() || levels.len() > 8 {
            break;
        }
        levels.push(next);
    }
    let mut readings = Vec::new();
    let mut texts = Vec::new();
    for bytes in levels {
        let text = String::from_utf8_lossy(&bytes).to_string();
        let text = text.split(['\0', '?', '#']).next().unwrap().to_string();
        // some servers take everything after the first ';' as parameters
        texts.push(text.split(';').next().unwrap().to_string());
        texts.push(text);
    }
    for text in texts {
        let mut stack: Vec<String> = Vec::new();
        for seg in text.split(['/', '\\']) {
            let seg = seg.split([';', ':']).next().unwrap();
            let seg: String = seg
                .chars()
                .map(|c| {
                    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
                        char::from_u32(c as u32 - 0xFEE0).unwrap()
                    } else {
                        c
                    }
                })
                .collect::<String>()
                .to_uppercase()
                .to_lowercase()
                .replace('+', " ");
            let core = seg.trim_matches(|c: char| c.is_whitespace() || c.is_control());
            if core == ".." {
                stack.pop();
                continue;
            }
            let seg = core.trim_end_matches(|c: char| c == '.' || c.is_whitespace() || c.is_control());
            if !seg.is_empty() {
                stack.push(seg.to_string());
            }
        }
        let full = format!("/{}", stack.join("/"));
        readings.push(full);
        if let Some(last) = stack.pop() {
            let stem = last.split('.').next().unwrap_or("");
            if !stem.is_empty() {
                stack.push(stem.to_string());
            }
            readings.push(format!("/{}", stack.join("/")));
        }
    }
    readings
}

/// One way to respell a path.
#[derive(Clone, Debug)]
enum Op {
    /// Percent-encode the character at this index (upper- or lower-case hex), maybe twice.
    Encode(usize, bool, bool),
    /// Toggle the case of the character at this index.
    Case(usize),
    /// Replace a letter with a look-alike that folds to it (full-width, long s, Kelvin, ...).
    LookAlike(usize),
    /// Add text at the end.
    Suffix(usize),
    /// Add text at the start.
    Prefix(usize),
    /// Insert text after the slash at this index.
    Insert(usize, usize),
}

const SUFFIXES: &[&str] = &[
    ".",
    "..",
    " ",
    "%20",
    "%00",
    "%09",
    "%0a",
    "%0d",
    "%0b",
    "%0c",
    "%7f",
    "/",
    "//",
    ";x=1",
    ";",
    "%3b",
    ".json",
    ".do",
    "%2e",
    "%2e%2e",
    "%3f",
    "%3fx=1",
    "%23x",
    "#x",
    "?x=1",
    "::$DATA",
    ":",
    "\\",
    "%5c",
    "+",
    "%2b",
    "%2f",
    "%2f.",
    "%252e",
    "%2520",
    "%25252e",
    "%c0%ae",
    "%c0%af",
    "%e0%80%ae",
    "%ff",
    "%",
    "%2",
    "%u002e",
    "%00.php",
    "/.",
    "/./",
    "/..",
    "/x/..",
    "%ef%bc%8e",
    "%e3%80%82",
    "\u{3002}",
    "\t",
    "%e2%80%8b",
    "%ef%bb%bf",
    "/%2e/",
    ".%20",
];
const PREFIXES: &[&str] = &[
    "/.",
    "/./",
    "//",
    "/x/..",
    "/x/%2e%2e",
    "/%2e",
    "/.%2f",
    "/x/..%2f",
    "\\",
    "/login/..%2f",
    "/;x/",
    "/x/..;",
    "/%2e%2e",
    "/x/%252e%252e",
    "/%c0%ae%c0%ae",
    "/x%c0%af..%c0%af",
    "/x/.%2e",
    "/x\\..\\",
    "/%20",
    "/x/..%5c",
    "/%2f",
    "/%252f",
];
const INSERTS: &[&str] =
    &["/", ";x=1", "./", "../", "%2f", "%2e/", "x/../", ";/", "%00", " ", "%20", "%09", "\\"];

/// `chars` with the one at `i` (modulo the length) replaced by `respell(c)`.
fn respell_one(chars: &[char], i: usize, respell: impl Fn(char) -> String) -> String {
    let i = i % chars.len().max(1);
    chars.iter().enumerate().map(|(j, c)| if j == i { respell(*c) } else { c.to_string() }).collect()
}

fn apply(base: &str, ops: &[Op]) -> String {
    let mut path = base.to_string();
    for op in ops {
        let chars: Vec<char> = path.chars().collect();
        path = match op {
            Op::Encode(i, upper, twice) => respell_one(&chars, *i, |c| {
                let mut buf = [0u8; 4];
                let enc: String = c
                    .encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| if *upper { format!("%{b:02X}") } else { format!("%{b:02x}") })
                    .collect();
                if *twice { enc.replace('%', "%25") } else { enc }
            }),
            Op::Case(i) => respell_one(&chars, *i, |c| {
                if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
                    .to_string()
            }),
            Op::LookAlike(i) => respell_one(&chars, *i, |c| match c {
                's' => "%C5%BF".to_string(),
                'i' => "%C4%B1".to_string(),
                'k' => "%E2%84%AA".to_string(),
                c if c.is_ascii_alphabetic() => {
                    let wide = char::from_u32(c as u32 + 0xFEE0).unwrap();
                    let mut buf = [0u8; 4];
                    wide.encode_utf8(&mut buf).bytes().map(|b| format!("%{b:02X}")).collect()
                }
                c => c.to_string(),
            }),
            Op::Suffix(k) => format!("{path}{}", SUFFIXES[k % SUFFIXES.len()]),
            Op::Prefix(k) => format!("{}{path}", PREFIXES[k % PREFIXES.len()]),
            Op::Insert(i, k) => {
                let slashes: Vec<usize> = path.match_indices('/').map(|(j, _)| j).collect();
                match slashes.get(i % slashes.len().max(1)) {
                    Some(&at) => format!("{}{}{}", &path[..=at], INSERTS[k % INSERTS.len()], &path[at + 1..]),
                    None => path.clone(),
                }
            }
        };
    }
    path
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..40usize, any::<bool>(), any::<bool>()).prop_map(|(i, u, t)| Op::Encode(i, u, t)),
        (0..40usize).prop_map(Op::Case),
        (0..40usize).prop_map(Op::LookAlike),
        (0..100usize).prop_map(Op::Suffix),
        (0..100usize).prop_map(Op::Prefix),
        (0..10usize, 0..100usize).prop_map(|(i, k)| Op::Insert(i, k)),
    ]
}

/// The path the Worker sees: workerd hands it the URL as the WHATWG parser serializes it
/// (the `url` crate implements the same standard).
fn as_received(raw: &str) -> Option<String> {
    url::Url::parse(&format!("https://gate.example{raw}")).ok().map(|u| u.path().to_string())
}

fn check(raw: &str) -> Result<(), TestCaseError> {
    let Some(path) = as_received(raw) else { return Ok(()) };
    let readings = origin_readings(&path);
    let is = |p: &Route, r: &str| if p.prefix { r.starts_with(&p.path) } else { p.path == r };
    for (protected, pass) in configs() {
        for methods in [&["POST"][..], &["GET"], &["GET", "POST"], &["PUT"]] {
            let allowed = |p: &Route| p.method.as_deref().is_none_or(|m| methods.contains(&m));
            let judged = route::judge(&protected, &pass, methods, &path);
            // a reading that is a protected route and not exactly a pass-through route
            let hit = readings.iter().find(|r| {
                protected.iter().any(|p| allowed(p) && is(p, r))
                    && !pass.iter().any(|p| allowed(p) && is(p, r))
            });
            if let Some(reading) = hit {
                prop_assert!(
                    !matches!(judged, Judged::Unprotected),
                    "{methods:?} {raw:?} (received as {path:?}) reads as {reading:?} on some origin but the gate passes it"
                );
            }
            if route::is_unsafe(methods) && !matches!(judged, Judged::Refused(_)) {
                // what is forwarded for an unsafe method is canonical: one reading, no decoding
                prop_assert!(route::canonical(&path).is_ok());
                prop_assert!(
                    path.split('%').skip(1).all(|h| h.as_bytes().first().is_some_and(|b| *b >= b'8'))
                );
            }
            if !route::is_unsafe(methods) {
                prop_assert!(!matches!(judged, Judged::Refused(_)), "a safe method is never refused");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_spelling_reaches_a_protected_handler_unjudged(
        base in 0..BASES.len(),
        ops in proptest::collection::vec(op(), 0..5),
    ) {
        check(&apply(BASES[base], &ops))?;
    }
}

/// Every single suffix, prefix and encoding on every base, exhaustively (the generated cases
/// above combine them).
#[test]
fn every_single_mutation() {
    let mut n = 0;
    for base in BASES {
        let len = base.chars().count();
        let mut single: Vec<Vec<Op>> = Vec::new();
        single.extend((0..SUFFIXES.len()).map(|k| vec![Op::Suffix(k)]));
        single.extend((0..PREFIXES.len()).map(|k| vec![Op::Prefix(k)]));
        for i in 0..len {
            for (u, t) in [(true, false), (false, false), (true, true)] {
                single.push(vec![Op::Encode(i, u, t)]);
            }
            single.push(vec![Op::Case(i)]);
            single.push(vec![Op::LookAlike(i)]);
            for k in 0..INSERTS.len() {
                single.push(vec![Op::Insert(i, k)]);
            }
        }
        for ops in single {
            check(&apply(base, &ops)).unwrap();
            n += 1;
        }
    }
    assert!(n > 1000, "{n} mutations");
}

/// The spellings an independent attack run found reaching the origin unverified.
#[test]
fn the_reported_spellings_are_refused() {
    let (protected, pass) = configs().remove(0);
    for raw in [
        "/signup%00",
        "/signup%20",
        "/signup%0a",
        "/signup.",
        "/signup%2e",
        "/signup%23x",
        "/signup%3fx=1",
        "/signup%2520",
        "/.%2fsignup",
        "/x/..%2fsignup",
        "/api/register%20",
        "/api/otp/send%20",
    ] {
        let path = as_received(raw).unwrap();
        assert!(
            matches!(route::judge(&protected, &pass, &["POST"], &path), Judged::Refused(_)),
            "{raw} as {path}"
        );
    }
    let path = as_received("/signup.json").unwrap();
    assert!(matches!(route::judge(&protected, &pass, &["POST"], &path), Judged::Protected(_)));
}
