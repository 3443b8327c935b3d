//! Protected routes: which method and path combinations need a solved challenge.
//!
//! Matching is deliberately loose about spelling, because the origin may be: `/SignUp/`,
//! `//signup`, `/signup;jsessionid=1` and `/sign%75p` all match a `/signup` rule, so an
//! attacker cannot reach the origin's sign-up handler through a spelling the gate passes
//! untouched. Method-override headers count as the method.

use std::fmt;

/// One protected route, e.g. `POST /signup` or `* /api/register/*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `None` for any method.
    pub method: Option<String>,
    /// The path as configured (what challenges carry), normalized.
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
        Ok(Route { method, path: normalize(path), prefix })
    }

    /// Whether a request with this method (or override) and path is covered.
    pub fn matches(&self, methods: &[&str], normalized_path: &str) -> bool {
        let method_ok = match &self.method {
            None => true,
            Some(m) => methods.iter().any(|x| x.eq_ignore_ascii_case(m)),
        };
        if !method_ok {
            return false;
        }
        if self.prefix { normalized_path.starts_with(&self.path) } else { normalized_path == self.path }
    }
}

/// Parses a list of routes separated by commas or newlines, reporting every bad entry.
pub fn parse_list(spec: &str) -> Result<Vec<Route>, Vec<RouteError>> {
    let mut routes = Vec::new();
    let mut errors = Vec::new();
    for entry in spec.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
        match Route::parse(entry) {
            Ok(r) => routes.push(r),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(routes) } else { Err(errors) }
}

/// The first route covering this request, if any.
pub fn find<'a>(routes: &'a [Route], methods: &[&str], raw_path: &str) -> Option<&'a Route> {
    let path = normalize(raw_path);
    routes.iter().find(|r| r.matches(methods, &path))
}

/// Canonical spelling of a path for matching: percent-decoded (ASCII only), lower-case,
/// without `;params`, with runs of `/` collapsed and no trailing `/` (except the root).
pub fn normalize(raw: &str) -> String {
    let decoded = percent_decode_ascii(raw);
    let without_params = decoded.split(';').next().unwrap_or("");
    let mut out = String::with_capacity(without_params.len());
    let mut last_slash = false;
    for ch in without_params.chars() {
        if ch == '/' {
            if !last_slash {
                out.push('/');
            }
            last_slash = true;
        } else {
            out.push(ch.to_ascii_lowercase());
            last_slash = false;
        }
    }
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Decodes `%XX` escapes of ASCII characters; leaves everything else as written.
fn percent_decode_ascii(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| char::from(*c).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| char::from(*c).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let v = hi * 16 + lo;
                if (0x20..0x80).contains(&v) {
                    out.push(char::from_u32(v).unwrap_or('%'));
                    i += 3;
                    continue;
                }
            }
        }
        // copy one whole UTF-8 character
        let ch = raw.get(i..).and_then(|s| s.chars().next()).unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        let cases = [
            ("/signup", "/signup"),
            ("/SignUp/", "/signup"),
            ("//signup//", "/signup"),
            ("/signup;jsessionid=1", "/signup"),
            ("/sign%75p", "/signup"),
            ("/sign%2Fup", "/sign/up"),
            ("/signup%00", "/signup%00"),
            ("/", "/"),
            ("", "/"),
            ("///", "/"),
            ("/é/", "/é"),
            ("/%", "/%"),
            ("/%4", "/%4"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn parse_and_match() {
        let routes = parse_list("POST /signup, post /api/register\n* /otp/*").unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[0].to_string(), "POST /signup");
        // a prefix rule over-matches rather than under-matches: "/otp/*" also covers "/otpx"
        assert_eq!(routes[2].to_string(), "* /otp*");
        let cases: &[(&[&str], &str, Option<&str>)] = &[
            (&["POST"], "/signup", Some("/signup")),
            (&["post"], "/SIGNUP/", Some("/signup")),
            (&["GET"], "/signup", None),
            (&["GET", "POST"], "/signup", Some("/signup")), // method override
            (&["POST"], "/signup/extra", None),
            (&["POST"], "/api/register", Some("/api/register")),
            (&["GET"], "/otp/send", Some("/otp")),
            (&["GET"], "/OTP", Some("/otp")),
            (&["POST"], "/login", None),
        ];
        for (methods, path, want) in cases {
            assert_eq!(find(&routes, methods, path).map(|r| r.path.as_str()), *want, "{methods:?} {path}");
        }
    }

    #[test]
    fn bad_specs_are_all_reported() {
        let errs = parse_list("POST signup, GET, P0ST /x, POST /a*b, POST /ok").unwrap_err();
        assert_eq!(errs.len(), 4);
        assert!(matches!(errs[0], RouteError::Path(_)));
        assert!(matches!(errs[1], RouteError::Shape(_)));
        assert!(matches!(errs[2], RouteError::Method(_)));
        assert!(matches!(errs[3], RouteError::Path(_)));
    }
}
