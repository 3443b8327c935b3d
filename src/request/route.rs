//! Protected routes, and the one spelling of a path the gate judges.
//!
//! Origins disagree about what a path means: IIS strips trailing dots and spaces, servlet
//! containers drop `;params`, older Spring treats `/signup.json` as `/signup`, some servers
//! decode `%2f`, `%3f` or `%00` after routing, others fold case. A list of "bad spellings" always
//! misses one, so two structural rules replace it:
//!
//! 1. **Unsafe requests use canonical paths.** Any method but GET, HEAD and OPTIONS (method
//!    override headers count) must come with a path in [`canonical`] form, or it is refused
//!    with `400 non_canonical_path` and never forwarded. A canonical path has one reading on
//!    every server: no percent-escape of an ASCII byte, no dot or empty segment, no segment
//!    ending in `.`, only RFC 3986 path characters, and non-ASCII text only from scripts that
//!    no normalization maps to ASCII letters. No browser form posts anything else.
//! 2. **Matching undoes everything an origin might.** A route matches the path's [`MatchKey`]:
//!    at every level of percent-decoding up to a fixed point, cut at `?`, `#` or NUL, `\` as `/`, `;params` and `:streams`
//!    dropped per segment, trailing dots and spaces trimmed, dot segments resolved, empty
//!    segments dropped, case folded, and (for protected routes) with or without an extension on
//!    the last segment. So anything an origin could read as a protected route is judged as one.
//!
//! The origin then receives the path the gate judged (workerd hands the Worker the URL as its
//! parser serialized it, and the forward uses that same serialization).

use std::fmt;

/// Longest path an unsafe request may carry.
pub const MAX_PATH: usize = 2048;

/// One protected route, e.g. `POST /signup` or `* /api/register/*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `None` for any method.
    pub method: Option<String>,
    /// The path as configured (what challenges carry), as its match key.
    pub path: String,
    /// True when the path ended in `*`: every path below it matches.
    pub prefix: bool,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}",
            self.method.as_deref().unwrap_or("*"),
            self.path,
            if self.prefix { "*" } else { "" }
        )
    }
}

/// Why a route spec could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not `METHOD /path`.
    #[error("route {0:?} is not of the form \"METHOD /path\"")]
    Shape(String),
    /// The method is not an HTTP token.
    #[error("route {0:?} has an invalid method")]
    Method(String),
    /// The path does not start with `/`, or has `*` anywhere but the end.
    #[error("route {0:?} needs a path starting with / and at most a trailing *")]
    Path(String),
    /// The path is not canonical, so no browser could post to it as written.
    #[error("route {0:?} is not a canonical path: {1}")]
    NotCanonical(String, NonCanonical),
}

/// Why a path is not canonical (the log's detail for `400 non_canonical_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonCanonical {
    /// Longer than [`MAX_PATH`].
    TooLong,
    /// Does not start with `/`.
    NotAbsolute,
    /// `%XX` of an ASCII byte (`%75`, `%2f`, `%00`, `%20`): servers differ on decoding it.
    EscapedAscii,
    /// `%` not followed by two hex digits, or escapes that are not UTF-8 (overlong, invalid).
    BadEscape,
    /// An ASCII character that is not a path character (space, control, `\`, `|`, ...).
    Character(u8),
    /// A non-ASCII character from outside the scripts no normalization folds to ASCII.
    Unicode(char),
    /// `//`: an empty segment before the end.
    EmptySegment,
    /// A `.` or `..` segment (also with `;params`).
    DotSegment,
    /// A segment ending in `.` (IIS and Windows strip it).
    TrailingDot,
    /// A Windows 8.3 short name (`JOIN~1.PHP` is `join.php` on such a file system).
    ShortName,
}

impl fmt::Display for NonCanonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonCanonical::TooLong => write!(f, "longer than {MAX_PATH} bytes"),
            NonCanonical::NotAbsolute => write!(f, "does not start with /"),
            NonCanonical::EscapedAscii => write!(f, "percent-escapes an ASCII character"),
            NonCanonical::BadEscape => write!(f, "has a percent-escape that is not UTF-8"),
            NonCanonical::Character(b) => write!(f, "has the character 0x{b:02x}"),
            NonCanonical::Unicode(c) => write!(f, "has the character U+{:04X}", u32::from(*c)),
            NonCanonical::EmptySegment => write!(f, "has an empty segment (//)"),
            NonCanonical::DotSegment => write!(f, "has a . or .. segment"),
            NonCanonical::TrailingDot => write!(f, "has a segment ending in ."),
            NonCanonical::ShortName => write!(f, "has a Windows short name (~digit)"),
        }
    }
}

/// Whether any of the request's methods (its own and its overrides) may change state.
pub fn is_unsafe(methods: &[&str]) -> bool {
    methods.iter().any(|m| !matches!(m.to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS"))
}

/// RFC 3986 `pchar` minus `%` (handled as escapes), plus `/`.
fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
}

/// Letters of scripts that have no compatibility or best-fit mapping to ASCII letters
/// (CJK, kana, Hangul, Cyrillic, Hebrew, Arabic, Devanagari, Thai; their digits excluded).
fn is_safe_unicode(c: char) -> bool {
    matches!(u32::from(c),
        0x0400..=0x04FF | 0x0531..=0x0587 | 0x05D0..=0x05EA
        | 0x0620..=0x065F | 0x066E..=0x06D3 | 0x0900..=0x0965 | 0x0970..=0x097F
        | 0x0E01..=0x0E4F | 0x1100..=0x11FF | 0x3041..=0x3096 | 0x30A1..=0x30FA
        | 0x3131..=0x318E | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3)
}

/// Checks that `path` is in the one spelling every server reads the same way (module docs).
pub fn canonical(path: &str) -> Result<(), NonCanonical> {
    if path.len() > MAX_PATH {
        return Err(NonCanonical::TooLong);
    }
    if !path.starts_with('/') {
        return Err(NonCanonical::NotAbsolute);
    }
    // Raw ASCII stays as written; escapes may only carry non-ASCII bytes.
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let byte = bytes.get(i + 1..i + 3).and_then(hex_byte).ok_or(NonCanonical::BadEscape)?;
            if byte < 0x80 {
                return Err(NonCanonical::EscapedAscii);
            }
            decoded.push(byte);
            i += 3;
        } else {
            if b.is_ascii() && !is_path_char(b) {
                return Err(NonCanonical::Character(b));
            }
            decoded.push(b);
            i += 1;
        }
    }
    let text = std::str::from_utf8(&decoded).map_err(|_| NonCanonical::BadEscape)?;
    if let Some(c) = text.chars().find(|c| !c.is_ascii() && !is_safe_unicode(*c)) {
        return Err(NonCanonical::Unicode(c));
    }
    let segments: Vec<&str> = text.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (n, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            if n != last {
                return Err(NonCanonical::EmptySegment);
            }
            continue;
        }
        let base = segment.split([';', ':']).next().unwrap_or("");
        if base == "." || base == ".." {
            return Err(NonCanonical::DotSegment);
        }
        if base.ends_with('.') {
            return Err(NonCanonical::TrailingDot);
        }
        if base
            .as_bytes()
            .windows(2)
            .any(|w| w.first() == Some(&b'~') && w.get(1).is_some_and(u8::is_ascii_digit))
        {
            return Err(NonCanonical::ShortName);
        }
    }
    Ok(())
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let hi = char::from(*pair.first()?).to_digit(16)?;
    let lo = char::from(*pair.get(1)?).to_digit(16)?;
    u8::try_from(hi * 16 + lo).ok()
}

/// What routes are compared with: every reading of a path an origin might make, with every
/// spelling difference it might ignore taken out (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchKey {
    /// The folded path, e.g. `/signup.json`.
    pub full: String,
    /// Every reading: at every decoding level, the folded path, the same without an
    /// extension on the last segment (`/signup`, as suffix-matching frameworks read it), and
    /// both again for the path cut at its first `;` (as servers that take everything after it
    /// as parameters read it). The fully decoded reading comes first.
    pub readings: Vec<String>,
}

impl MatchKey {
    /// The key of a raw path (any bytes; never fails).
    pub fn of(raw: &str) -> MatchKey {
        let mut texts = Vec::new();
        for decoded in decodings(raw) {
            let cut = decoded.split(['?', '#', '\0']).next().unwrap_or("").to_string();
            texts.push(cut.split(';').next().unwrap_or("").to_string());
            texts.push(cut);
        }
        // the fully decoded reading first: it is the one `full` names
        texts.reverse();
        let mut readings = Vec::with_capacity(texts.len());
        let mut main = Vec::new();
        let mut scripted = Vec::new();
        for text in &texts {
            let segments = segments(text);
            // a script segment hands the rest of the path to the script as its route
            for (i, segment) in segments.iter().enumerate() {
                let script = segment.rsplit_once('.').is_some_and(|(_, ext)| SCRIPTS.contains(&ext));
                if script && i + 1 < segments.len() {
                    scripted.push(segments.get(i + 1..).map(<[String]>::to_vec).unwrap_or_default());
                }
            }
            main.push(segments);
        }
        // the fully decoded, uncut reading stays first
        let all_segments = main.into_iter().chain(scripted);
        for segments in all_segments {
            readings.push(format!("/{}", segments.join("/")));
            if let Some((last, rest)) = segments.split_last()
                && let Some((stem, _)) = last.split_once('.')
            {
                let mut shorter = rest.to_vec();
                if !stem.is_empty() {
                    shorter.push(stem.to_string());
                }
                readings.push(format!("/{}", shorter.join("/")));
            }
        }
        let mut unique: Vec<String> = Vec::with_capacity(readings.len());
        for r in readings {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        let readings = unique;
        let full = readings.first().cloned().unwrap_or_else(|| "/".to_string());
        MatchKey { full, readings }
    }
}

/// The folded, resolved segments of a decoded path.
fn segments(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for segment in text.split(['/', '\\']) {
        let base = segment.split([';', ':']).next().unwrap_or("");
        let folded = fold(base.replace('+', " ").trim_matches(|c: char| trim_char(c, false)));
        match folded.as_str() {
            "." => continue,
            ".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        match folded.trim_end_matches(|c: char| trim_char(c, true)) {
            "" => {}
            s => out.push(s.to_string()),
        }
    }
    out
}

/// Characters origins trim from segment ends: whitespace, controls, and (at the end) dots.
fn trim_char(c: char, dots: bool) -> bool {
    c.is_whitespace() || c.is_control() || c == '\u{feff}' || c == '\u{200b}' || (dots && c == '.')
}

/// Case and width folding: full-width ASCII as ASCII; upper- then lower-case (so `ſ`, `K`
/// and dotless `ı` fold like the ASCII letters they upper-case to).
fn fold(segment: &str) -> String {
    segment
        .chars()
        .map(|c| match u32::from(c) {
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Most decodings a path is read at: no server decodes a path this many times.
const MAX_DECODINGS: usize = 8;

/// The path as written, then percent-decoded (with overlong UTF-8 read as ASCII) again and
/// again until nothing changes: a server may route at any of these levels (so `%2573` is
/// `%73` at one and `s` at the next). Invalid UTF-8 reads as U+FFFD.
fn decodings(raw: &str) -> Vec<String> {
    let mut current = raw.as_bytes().to_vec();
    let mut levels = vec![raw.to_string()];
    while levels.len() < MAX_DECODINGS {
        let mut out = Vec::with_capacity(current.len());
        let mut i = 0;
        while let Some(&b) = current.get(i) {
            if b == b'%'
                && let Some(byte) = current.get(i + 1..i + 3).and_then(hex_byte)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(b);
            i += 1;
        }
        let next = overlong_as_ascii(&out);
        if next == current {
            break;
        }
        levels.push(String::from_utf8_lossy(&next).into_owned());
        current = next;
    }
    levels
}

/// Reads overlong UTF-8 forms of ASCII (`C0 AF` for `/`, `E0 80 AE` for `.`) as the ASCII
/// they spell, as old decoders did: over-reading is safe, under-reading is a bypass.
fn overlong_as_ascii(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let cont = |b: Option<&u8>| b.copied().filter(|b| (0x80..0xC0).contains(b)).map(|b| u32::from(b & 0x3F));
    while let Some(&b) = bytes.get(i) {
        if (b == 0xC0 || b == 0xC1)
            && let Some(c1) = cont(bytes.get(i + 1))
        {
            out.extend(u8::try_from((u32::from(b & 0x1F) << 6) | c1));
            i += 2;
        } else if b == 0xE0
            && let (Some(c1), Some(c2)) = (cont(bytes.get(i + 1)), cont(bytes.get(i + 2)))
            && c1 < 0x20
        {
            out.extend(u8::try_from((c1 << 6) | c2).ok().filter(u8::is_ascii));
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

impl Route {
    /// Parses `METHOD /path` (method may be `*`; path may end in `*`).
    pub fn parse(spec: &str) -> Result<Route, RouteError> {
        let mut words = spec.split_whitespace();
        let (method, path) = match (words.next(), words.next(), words.next()) {
            (Some(m), Some(p), None) => (m, p),
            _ => return Err(RouteError::Shape(spec.to_string())),
        };
        let method = if method == "*" {
            None
        } else if method.bytes().all(|b| b.is_ascii_alphabetic()) {
            Some(method.to_ascii_uppercase())
        } else {
            return Err(RouteError::Method(spec.to_string()));
        };
        let (path, prefix) = match path.strip_suffix('*') {
            Some(p) => (p, true),
            None => (path, false),
        };
        if !path.starts_with('/') || path.contains('*') || path.len() > 200 {
            return Err(RouteError::Path(spec.to_string()));
        }
        canonical(path).map_err(|why| RouteError::NotCanonical(spec.to_string(), why))?;
        Ok(Route { method, path: MatchKey::of(path).full, prefix })
    }

    /// Whether the request's methods are this route's. A route for an unsafe method covers
    /// every unsafe method (`POST /signup` also covers `PUT` and `PATCH`): many handlers accept
    /// any method.
    fn method_ok(&self, methods: &[&str]) -> bool {
        match &self.method {
            None => true,
            Some(m) => {
                methods.iter().any(|x| x.eq_ignore_ascii_case(m) || (is_unsafe(&[m]) && is_unsafe(&[x])))
            }
        }
    }

    /// Whether one reading of a path is this route (or below it, for a prefix route): the
    /// reading a pass-through route must match.
    fn is(&self, reading: &str) -> bool {
        if self.prefix { reading.starts_with(&self.path) } else { reading == self.path }
    }

    /// Whether one reading of a path reaches this route's handler: the route itself, or a path
    /// below it (handlers mounted on a prefix, `app.use('/signup')`, Go subtree patterns).
    fn reaches(&self, reading: &str) -> bool {
        self.is(reading)
            || (self.path != "/"
                && reading.strip_prefix(self.path.as_str()).is_some_and(|rest| rest.starts_with('/')))
    }
}

/// Extensions of script files that take the rest of the path as their own route (PATH_INFO:
/// `/index.php/signup`, `/app.aspx/signup`).
const SCRIPTS: &[&str] = &[
    "php", "php5", "phtml", "aspx", "asp", "ashx", "asmx", "jsp", "jspx", "do", "action", "cgi", "pl", "py",
    "fcgi", "dll",
];

/// How the gate judges a request's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judged<'a> {
    /// Refused before anything else: an unsafe request with a non-canonical path.
    Refused(NonCanonical),
    /// Covered by this protected route.
    Protected(&'a Route),
    /// Not protected: passed to the origin untouched.
    Unprotected,
}

/// Judges a request: the canonical-path rule first; then it is protected when any reading of
/// its path is a protected route that is not also a pass-through route (a pass route exempts
/// only the readings it names exactly: `/login` passes, `/login;/../signup` does not).
pub fn judge<'a>(protected: &'a [Route], pass: &[Route], methods: &[&str], raw_path: &str) -> Judged<'a> {
    judge_target(protected, pass, methods, raw_path, None)
}

/// [`judge`] with the query string: one that starts with `/` is read as a path too
/// (`/index.php?/signup`, as CodeIgniter routes it).
pub fn judge_target<'a>(
    protected: &'a [Route],
    pass: &[Route],
    methods: &[&str],
    raw_path: &str,
    query: Option<&str>,
) -> Judged<'a> {
    if is_unsafe(methods)
        && let Err(why) = canonical(raw_path)
    {
        return Judged::Refused(why);
    }
    let mut readings = MatchKey::of(raw_path).readings;
    if let Some(q) = query {
        let first = q.split('&').next().unwrap_or("");
        let first = first.split('=').next().unwrap_or("");
        if MatchKey::of(first).full != "/" && decodings(first).iter().any(|d| d.starts_with('/')) {
            readings.extend(MatchKey::of(first).readings);
        }
    }
    for reading in &readings {
        if pass.iter().any(|r| r.method_ok(methods) && r.is(reading)) {
            continue;
        }
        if let Some(r) = protected.iter().find(|r| r.method_ok(methods) && r.reaches(reading)) {
            return Judged::Protected(r);
        }
    }
    Judged::Unprotected
}

/// The protected route a challenge request names (`?route=/signup`), by its key.
pub fn named<'a>(protected: &'a [Route], wanted: &str) -> Option<&'a Route> {
    let key = MatchKey::of(wanted);
    key.readings.iter().find_map(|reading| protected.iter().find(|r| r.is(reading)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_table() {
        use NonCanonical as N;
        let cases: &[(&str, Result<(), NonCanonical>)] = &[
            ("/signup", Ok(())),
            ("/SignUp/", Ok(())),
            ("/", Ok(())),
            ("/api/v1.2/register", Ok(())),
            ("/signup.json", Ok(())),
            ("/signup;jsessionid=1", Ok(())),
            ("/%E6%B3%A8%E5%86%8C", Ok(())),
            ("/%e6%b3%a8%e5%86%8c", Ok(())),
            ("/sign%75p", Err(N::EscapedAscii)),
            ("/signup%00", Err(N::EscapedAscii)),
            ("/signup%20", Err(N::EscapedAscii)),
            ("/signup%2e", Err(N::EscapedAscii)),
            ("/signup%2520", Err(N::EscapedAscii)),
            ("/.%2fsignup", Err(N::EscapedAscii)),
            ("/signup.", Err(N::TrailingDot)),
            ("/signup.;x", Err(N::TrailingDot)),
            ("/x/../signup", Err(N::DotSegment)),
            ("/x/..;/signup", Err(N::DotSegment)),
            ("/./signup", Err(N::DotSegment)),
            ("//signup", Err(N::EmptySegment)),
            ("/a//b", Err(N::EmptySegment)),
            ("/signup ", Err(N::Character(b' '))),
            ("/signup\\", Err(N::Character(b'\\'))),
            ("/signup|", Err(N::Character(b'|'))),
            ("/%", Err(N::BadEscape)),
            ("/%4", Err(N::BadEscape)),
            ("/%zz", Err(N::BadEscape)),
            ("/%c0%af", Err(N::BadEscape)),
            ("/%ff", Err(N::BadEscape)),
            ("/%EF%BD%93ignup", Err(N::Unicode('ｓ'))),
            ("/%C5%BFignup", Err(N::Unicode('ſ'))),
            ("signup", Err(N::NotAbsolute)),
        ];
        for (path, want) in cases {
            assert_eq!(canonical(path), *want, "{path:?}");
        }
        assert_eq!(canonical(&format!("/{}", "a".repeat(MAX_PATH))), Err(N::TooLong));
    }

    #[test]
    fn key_table() {
        let cases: &[(&str, &[&str])] = &[
            ("/signup", &["/signup"]),
            ("/SignUp/", &["/signup"]),
            ("//signup//", &["/signup"]),
            ("/signup;jsessionid=1", &["/signup"]),
            ("/sign%75p", &["/signup"]),
            ("/sign%2Fup", &["/sign/up"]),
            ("/signup%00.php", &["/signup"]),
            ("/signup%2520", &["/signup"]),
            ("/signup%3fx=1", &["/signup"]),
            ("/signup%23x", &["/signup"]),
            ("/signup. . ", &["/signup"]),
            ("/signup.json", &["/signup.json", "/signup"]),
            ("/x/..%2fsignup", &["/signup"]),
            ("/.%2fsignup", &["/signup"]),
            ("/a\\..\\signup", &["/signup"]),
            ("/signup::$DATA", &["/signup"]),
            ("/%EF%BD%93ignup", &["/signup"]),
            ("/%C5%BFignup", &["/signup"]),
            ("/x%c0%af..%c0%afsignup", &["/signup"]),
            ("/x/%e0%80%ae%e0%80%ae/signup", &["/signup"]),
            ("/signup;/../login", &["/login", "/signup"]),
            ("/", &["/"]),
            ("", &["/"]),
            ("/é/", &["/é"]),
            ("/%", &["/%"]),
        ];
        for (raw, want) in cases {
            let k = MatchKey::of(raw);
            assert_eq!(k.full, want[0], "{raw:?}");
            for w in *want {
                assert!(k.readings.iter().any(|r| r == w), "{raw:?}: {w} not in {:?}", k.readings);
            }
        }
    }

    fn routes(specs: &[&str]) -> Vec<Route> {
        specs.iter().map(|s| Route::parse(s).unwrap()).collect()
    }

    #[test]
    fn judge_table() {
        let protected = routes(&["POST /signup", "post /api/register", "* /otp/*", "POST /join.php"]);
        let pass = routes(&["POST /login", "POST /join"]);
        assert_eq!(protected[2].to_string(), "* /otp*");
        let cases: &[(&[&str], &str, Option<&str>)] = &[
            (&["POST"], "/signup", Some("/signup")),
            (&["post"], "/SIGNUP/", Some("/signup")),
            (&["POST"], "/signup.json", Some("/signup")),
            (&["GET"], "/signup", None),
            (&["GET", "POST"], "/signup", Some("/signup")), // method override
            (&["POST"], "/signup/extra", Some("/signup")),
            (&["PUT"], "/signup", Some("/signup")),
            (&["PATCH"], "/api/register", Some("/api/register")),
            (&["GET"], "/signup/extra", None),
            (&["POST"], "/index.php/signup", Some("/signup")),
            (&["POST"], "/app/index.php/api/register", Some("/api/register")),
            (&["POST"], "/signupx", None),
            (&["POST"], "/blog/signup", None),
            (&["POST"], "/api/register", Some("/api/register")),
            (&["GET"], "/otp/send", Some("/otp")),
            (&["GET"], "/OTP%2fsend", Some("/otp")),
            (&["GET"], "/signup%20", None),
            (&["POST"], "/login", None),
            (&["POST"], "/login.json", None),
            // a pass route's spelling does not exempt a protected one
            (&["POST"], "/join.php", Some("/join.php")),
            (&["POST"], "/join", None),
            (&["GET"], "/login;/../otp/x", Some("/otp")),
        ];
        for (methods, path, want) in cases {
            let got = match judge(&protected, &pass, methods, path) {
                Judged::Protected(r) => Some(r.path.as_str()),
                Judged::Unprotected => None,
                Judged::Refused(why) => panic!("{path} refused: {why}"),
            };
            assert_eq!(got, *want, "{methods:?} {path}");
        }
        for path in ["/signup%20", "/signup.", "//signup", "/x/..%2fsignup", "/login%2e"] {
            assert!(matches!(judge(&protected, &pass, &["POST"], path), Judged::Refused(_)), "{path}");
            assert!(matches!(judge(&protected, &pass, &["GET", "PUT"], path), Judged::Refused(_)), "{path}");
        }
        let q = |query: &str| judge_target(&protected, &pass, &["POST"], "/index.php", Some(query));
        assert!(matches!(q("/signup"), Judged::Protected(_)));
        assert!(matches!(q("%2fsignup&x=1"), Judged::Protected(_)));
        assert!(matches!(q("/login"), Judged::Unprotected));
        assert!(matches!(q("page=signup"), Judged::Unprotected));
        assert!(matches!(
            judge(&protected, &pass, &["POST"], "/JOIN~1.PHP"),
            Judged::Refused(NonCanonical::ShortName)
        ));
        assert_eq!(named(&protected, "/SignUp").map(|r| r.path.as_str()), Some("/signup"));
        assert_eq!(named(&protected, "/login"), None);
    }

    #[test]
    fn bad_specs() {
        let cases = [
            ("POST signup", "Path"),
            ("GET", "Shape"),
            ("P0ST /x", "Method"),
            ("POST /a*b", "Path"),
            ("POST /a%20b", "NotCanonical"),
            ("POST /a/../b", "NotCanonical"),
        ];
        for (spec, want) in cases {
            let got = format!("{:?}", Route::parse(spec).unwrap_err());
            assert!(got.starts_with(want), "{spec}: {got}");
        }
    }
}
