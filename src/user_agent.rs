//! A small, allocation-light User-Agent reader: browser family and major version.
//!
//! Only what the gate needs: the family and major version for the client binding, and (for the
//! fingerprint checks) enough to compare the header with client hints. It is not a general
//! UA database; unknown agents keep their first product token (`curl/8.5.0` → `curl`, 8).

/// A browser or tool family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Google Chrome and Chromium (desktop, Android, iOS `CriOS`).
    Chrome,
    /// Chrome in headless mode (announces itself as `HeadlessChrome`).
    HeadlessChrome,
    /// Microsoft Edge (Chromium).
    Edge,
    /// Opera (Chromium).
    Opera,
    /// Samsung Internet (Chromium).
    Samsung,
    /// Mozilla Firefox (desktop, Android, iOS `FxiOS`).
    Firefox,
    /// Apple Safari (and other WebKit shells that announce `Version/`).
    Safari,
    /// Anything else, named by its first product token, lower-cased (`curl`, `python-requests`).
    Other(String),
    /// No User-Agent header, or an empty one.
    Missing,
}

impl Family {
    /// A short lower-case name, stable across versions, for logs and bindings.
    pub fn name(&self) -> &str {
        match self {
            Family::Chrome => "chrome",
            Family::HeadlessChrome => "headlesschrome",
            Family::Edge => "edge",
            Family::Opera => "opera",
            Family::Samsung => "samsung",
            Family::Firefox => "firefox",
            Family::Safari => "safari",
            Family::Other(name) => name,
            Family::Missing => "-",
        }
    }

    /// True for the families built on Chromium (they send `Sec-CH-UA` client hints).
    pub fn is_chromium(&self) -> bool {
        matches!(
            self,
            Family::Chrome | Family::HeadlessChrome | Family::Edge | Family::Opera | Family::Samsung
        )
    }

    /// True for the mainstream browser families.
    pub fn is_browser(&self) -> bool {
        matches!(
            self,
            Family::Chrome
                | Family::HeadlessChrome
                | Family::Edge
                | Family::Opera
                | Family::Samsung
                | Family::Firefox
                | Family::Safari
        )
    }
}

/// The operating system a User-Agent claims, named as `Sec-CH-UA-Platform` names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Windows.
    Windows,
    /// macOS.
    MacOs,
    /// Linux (desktop).
    Linux,
    /// Android.
    Android,
    /// iOS and iPadOS.
    Ios,
    /// ChromeOS.
    ChromeOs,
    /// Not stated.
    Unknown,
}

impl Platform {
    /// Reads the platform from a User-Agent string.
    pub fn of(raw: &str) -> Platform {
        if raw.contains("iPhone") || raw.contains("iPad") || raw.contains("iPod") {
            Platform::Ios
        } else if raw.contains("Android") {
            Platform::Android
        } else if raw.contains("CrOS") {
            Platform::ChromeOs
        } else if raw.contains("Windows") {
            Platform::Windows
        } else if raw.contains("Macintosh") || raw.contains("Mac OS X") {
            Platform::MacOs
        } else if raw.contains("Linux") || raw.contains("X11") {
            Platform::Linux
        } else {
            Platform::Unknown
        }
    }

    /// The platform named by a `Sec-CH-UA-Platform` value or `navigator.userAgentData.platform`.
    pub fn from_client_hint(value: &str) -> Platform {
        match value.trim().trim_matches('"').to_ascii_lowercase().as_str() {
            "windows" => Platform::Windows,
            "macos" => Platform::MacOs,
            "linux" => Platform::Linux,
            "android" => Platform::Android,
            "ios" => Platform::Ios,
            "chrome os" | "chromeos" | "chromium os" => Platform::ChromeOs,
            _ => Platform::Unknown,
        }
    }
}

/// A parsed User-Agent header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgent {
    /// The browser or tool family.
    pub family: Family,
    /// The major version, when the header states one.
    pub major: Option<u32>,
    /// True when the header claims a mobile device (`Mobile`, `Android`, `iPhone`, `iPad`).
    pub mobile: bool,
    /// The claimed operating system.
    pub platform: Platform,
    /// The iOS major version (`CPU iPhone OS 17_7`), for browsers on iOS (all WebKit).
    pub ios_major: Option<u32>,
}

/// Marker tokens in priority order: the first one present decides the family. Chromium-based
/// browsers also say `Chrome/` and `Safari/`, so the specific ones come first.
const MARKERS: &[(&str, Family)] = &[
    ("Edg/", Family::Edge),
    ("EdgA/", Family::Edge),
    ("EdgiOS/", Family::Edge),
    ("OPR/", Family::Opera),
    ("SamsungBrowser/", Family::Samsung),
    ("HeadlessChrome/", Family::HeadlessChrome),
    ("CriOS/", Family::Chrome),
    ("FxiOS/", Family::Firefox),
    ("Firefox/", Family::Firefox),
    ("Chrome/", Family::Chrome),
    ("Chromium/", Family::Chrome),
];

impl UserAgent {
    /// Parses a User-Agent header value. Never fails: odd input becomes `Other` or `Missing`.
    pub fn parse(raw: &str) -> UserAgent {
        let raw = raw.trim();
        let mobile = ["Mobile", "Android", "iPhone", "iPad"].iter().any(|m| raw.contains(m));
        let platform = Platform::of(raw);
        let ios_major = if platform == Platform::Ios { version_after(raw, " OS ").flatten() } else { None };
        let ua =
            |family: Family, major: Option<u32>| UserAgent { family, major, mobile, platform, ios_major };
        if raw.is_empty() {
            return ua(Family::Missing, None);
        }
        if raw.starts_with("Mozilla/") {
            for (marker, family) in MARKERS {
                if let Some(major) = version_after(raw, marker) {
                    return ua(family.clone(), major);
                }
            }
            if (raw.contains("Safari/") || raw.contains("AppleWebKit/"))
                && let Some(major) = version_after(raw, "Version/")
            {
                return ua(Family::Safari, major);
            }
        }
        // First product token: `name/version ...`.
        let first = raw.split_whitespace().next().unwrap_or(raw);
        let (name, version) = match first.split_once('/') {
            Some((n, v)) => (n, Some(v)),
            None => (first, None),
        };
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(32)
            .collect::<String>()
            .to_ascii_lowercase();
        let family = if name.is_empty() { Family::Other("unknown".into()) } else { Family::Other(name) };
        ua(family, version.and_then(leading_number))
    }

    /// True for browsers on iOS: whatever the brand, they are WebKit (no client hints).
    pub fn on_ios(&self) -> bool {
        self.platform == Platform::Ios
    }

    /// Whether this browser sends `Sec-Fetch-*` request headers (Chromium 80+, Firefox 90+,
    /// Safari and every iOS browser from 16.4, counted here from 17).
    pub fn sends_fetch_metadata(&self) -> bool {
        let major = self.major.unwrap_or(0);
        if self.on_ios() {
            return self.ios_major.unwrap_or(0) >= 17;
        }
        match self.family {
            Family::Chrome | Family::Edge | Family::HeadlessChrome => major >= 80,
            Family::Opera => major >= 67,
            Family::Samsung => major >= 13,
            Family::Firefox => major >= 90,
            Family::Safari => major >= 17,
            _ => false,
        }
    }

    /// Whether this browser sends `Sec-CH-UA` and has `navigator.userAgentData` in a secure
    /// context (Chromium 90+, not on iOS).
    pub fn sends_client_hints(&self) -> bool {
        let major = self.major.unwrap_or(0);
        if self.on_ios() {
            return false;
        }
        match self.family {
            Family::Chrome | Family::Edge | Family::HeadlessChrome => major >= 90,
            Family::Opera => major >= 76,
            Family::Samsung => major >= 15,
            _ => false,
        }
    }

    /// The Chromium engine version a Chromium-based UA carries in `Chrome/NNN`.
    pub fn chromium_major(raw: &str) -> Option<u32> {
        version_after(raw, "Chrome/").flatten()
    }

    /// `family/major`, e.g. `chrome/131`, `curl/8`, `-` when missing.
    pub fn family_major(&self) -> String {
        match self.major {
            Some(m) => format!("{}/{m}", self.family.name()),
            None => self.family.name().to_string(),
        }
    }
}

/// If `marker` occurs in `raw`, the major version right after it (or `None` inside when the
/// version is not numeric). The outer `None` means the marker is absent.
fn version_after(raw: &str, marker: &str) -> Option<Option<u32>> {
    let at = raw.find(marker)?;
    let rest = raw.get(at + marker.len()..).unwrap_or("");
    Some(leading_number(rest))
}

fn leading_number(s: &str) -> Option<u32> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).take(9).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_versions() {
        let cases: &[(&str, &str, bool)] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "chrome/131",
                false,
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "chrome/131",
                true,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "chrome/131",
                true,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "edge/131",
                false,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "opera/115",
                false,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "samsung/26",
                true,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "headlesschrome/131",
                false,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
                "firefox/133",
                false,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
                "firefox/133",
                true,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "safari/18",
                false,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
                "safari/17",
                true,
            ),
            ("curl/8.5.0", "curl/8", false),
            ("python-requests/2.32.3", "python-requests/2", false),
            ("Go-http-client/1.1", "go-http-client/1", false),
            ("Wget/1.21.4", "wget/1", false),
            ("node", "node", false),
            ("Mozilla/5.0", "mozilla/5", false),
            ("", "-", false),
            ("   ", "-", false),
            ("/////", "unknown", false),
            ("Mozilla/5.0 Chrome/", "chrome", false),
        ];
        for (raw, want, mobile) in cases {
            let ua = UserAgent::parse(raw);
            assert_eq!(ua.family_major(), *want, "{raw}");
            assert_eq!(ua.mobile, *mobile, "{raw}");
        }
    }

    #[test]
    fn chromium_and_browser_flags() {
        assert!(UserAgent::parse("Mozilla/5.0 (X11) Chrome/131.0 Safari/537.36").family.is_chromium());
        assert!(
            !UserAgent::parse("Mozilla/5.0 (X11; rv:133.0) Gecko/20100101 Firefox/133.0")
                .family
                .is_chromium()
        );
        assert!(!UserAgent::parse("curl/8.5.0").family.is_browser());
    }

    #[test]
    fn platforms_and_capabilities() {
        let cases: &[(&str, Platform, bool, bool)] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Platform::Windows,
                true,
                true,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
                Platform::MacOs,
                true,
                false,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Gecko/20100101 Firefox/78.0",
                Platform::Linux,
                false,
                false,
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                Platform::Android,
                true,
                true,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                Platform::Ios,
                true,
                false,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
                Platform::Ios,
                false,
                false,
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Platform::ChromeOs,
                true,
                true,
            ),
            ("curl/8.5.0", Platform::Unknown, false, false),
        ];
        for (raw, platform, fetch_md, hints) in cases {
            let ua = UserAgent::parse(raw);
            assert_eq!(ua.platform, *platform, "{raw}");
            assert_eq!(ua.sends_fetch_metadata(), *fetch_md, "fetch metadata {raw}");
            assert_eq!(ua.sends_client_hints(), *hints, "client hints {raw}");
        }
        assert_eq!(UserAgent::parse(cases[4].0).ios_major, Some(17));
        assert_eq!(Platform::from_client_hint("\"macOS\""), Platform::MacOs);
        assert_eq!(Platform::from_client_hint("Chrome OS"), Platform::ChromeOs);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for raw in [
            "Mozilla/5.0 Edg/",
            "Mozilla/5.0 Version/99999999999999999999 Safari/1",
            "\u{0}\u{ffff}/é",
            "Mozilla/5.0 Firefox/ä",
        ] {
            let _ = UserAgent::parse(raw).family_major();
        }
    }
}
