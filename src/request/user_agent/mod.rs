//! A small, allocation-light User-Agent reader: browser family and major version.
//!
//! Only what the gate needs: the family and major version for the client binding, and (for the
//! fingerprint checks) enough to compare the header with client hints. It is not a general
//! UA database; unknown agents keep their first product token (`curl/8.5.0` → `curl`, 8).
//!
//! A family names the *engine a client really is*, because that is what its headers and
//! JavaScript betray: in-app browsers and regional browsers belong to the family of the engine
//! they embed (an iOS WKWebView in WeChat is `safari`, an Android WebView in Instagram or UC
//! Browser is `chrome`). The app that wraps the engine is kept apart in [`UserAgent::app`]
//! (for logs), and whether the engine is embedded in [`UserAgent::webview`]; neither feeds the
//! binding or the `ua_family` cohort, so one word keeps one meaning there.

use std::cell::RefCell;

/// A browser or tool family: the engine and its vendor, never the app around it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Chromium engines without a family of their own: Google Chrome and Chromium (desktop,
    /// Android, iOS `CriOS`), Android WebView (in-app browsers), and browsers built on it that
    /// say `Chrome/` (Yandex, Vivaldi, Whale, Brave, DuckDuckGo, UC, QQ, Quark, Huawei, MIUI).
    Chrome,
    /// Chrome in headless mode (announces itself as `HeadlessChrome`).
    HeadlessChrome,
    /// Microsoft Edge (Chromium).
    Edge,
    /// Opera (Chromium: desktop, GX, Android, Mini's WebView), and Opera Mini's Presto proxy.
    Opera,
    /// Samsung Internet (Chromium).
    Samsung,
    /// Mozilla Firefox (desktop, Android, iOS `FxiOS`).
    Firefox,
    /// WebKit on iOS and macOS: Safari, browsers that keep Safari's `Version/`, and iOS in-app
    /// WebViews (WKWebView), whose WebKit is the iOS version.
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
    /// The browser or tool family (the engine's, for in-app and regional browsers).
    pub family: Family,
    /// The major version, when the header states one (for an iOS WKWebView: the iOS version).
    pub major: Option<u32>,
    /// True when the header claims a mobile device (`Mobile`, `Android`, `iPhone`, `iPad`).
    pub mobile: bool,
    /// True when the header carries the `Mobile` token itself. Chromium's `Sec-CH-UA-Mobile`
    /// and `userAgentData.mobile` follow it: Android tablets (and WebViews, which may omit it,
    /// Android CDD 3.4.1) leave it out and say `?0`.
    pub mobile_token: bool,
    /// The claimed operating system.
    pub platform: Platform,
    /// The iOS major version (`CPU iPhone OS 17_7`), for browsers on iOS (all WebKit).
    pub ios_major: Option<u32>,
    /// The Chromium version (`Chrome/NNN`) of a Chromium family, which Opera and Samsung
    /// number apart from their own (Opera for Android 67 is Chromium 96).
    pub chromium: Option<u32>,
    /// The engine is embedded in an app rather than a standalone browser: an Android WebView
    /// (`; wv)`, or the WebView's `Version/4.0` token), or an iOS WKWebView (no `Version/`).
    pub webview: bool,
    /// The app or regional browser the header names, if any (`wechat`, `instagram`,
    /// `ucbrowser`, `yandex`, ...): for logs and for knowing the header was rewritten by an app.
    pub app: Option<&'static str>,
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

/// Tokens by which in-app and regional browsers name themselves, first match wins (more
/// specific first). Case-sensitive, as the apps write them.
const APPS: &[(&str, &str)] = &[
    ("wxwork/", "wecom"),
    ("MicroMessenger/", "wechat"),
    ("Instagram ", "instagram"),
    ("FBAN/", "facebook"),
    ("FB_IAB/", "facebook"),
    ("musical_ly", "tiktok"),
    ("trill_", "tiktok"),
    ("aweme", "douyin"),
    ("BytedanceWebview/", "tiktok"),
    (" Line/", "line"),
    ("Snapchat", "snapchat"),
    ("[Pinterest/", "pinterest"),
    ("[LinkedInApp]", "linkedin"),
    ("KAKAOTALK", "kakaotalk"),
    ("NAVER(inapp", "naver"),
    ("Weibo", "weibo"),
    ("TwitterAndroid", "twitter"),
    ("GSA/", "google"),
    ("UCBrowser/", "ucbrowser"),
    ("MQQBrowser/", "qqbrowser"),
    ("QQBrowser/", "qqbrowser"),
    ("baiduboxapp/", "baidu"),
    ("Quark/", "quark"),
    ("HuaweiBrowser/", "huawei"),
    ("MiuiBrowser/", "miui"),
    ("YaBrowser/", "yandex"),
    ("YaSearchBrowser/", "yandex"),
    ("Vivaldi/", "vivaldi"),
    ("Whale/", "whale"),
    ("DuckDuckGo/", "duckduckgo"),
    ("Opera Mini/", "operamini"),
];

impl UserAgent {
    /// Parses a User-Agent header value. Never fails: odd input becomes `Other` or `Missing`.
    ///
    /// A request's header is read by several layers (binding, signals, cohorts, the log), so
    /// the last answer is kept per thread: a pure function's memo, not state.
    pub fn parse(raw: &str) -> UserAgent {
        thread_local! {
            static LAST: RefCell<Option<(String, UserAgent)>> = const { RefCell::new(None) };
        }
        let hit = LAST.with(|last| {
            last.try_borrow().ok()?.as_ref().filter(|(r, _)| r == raw).map(|(_, ua)| ua.clone())
        });
        if let Some(ua) = hit {
            return ua;
        }
        let ua = Self::parse_fresh(raw);
        LAST.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some((raw.to_string(), ua.clone()));
            }
        });
        ua
    }

    fn parse_fresh(raw: &str) -> UserAgent {
        let raw = raw.trim();
        let mobile = ["Mobile", "Android", "iPhone", "iPad"].iter().any(|m| raw.contains(m));
        let platform = Platform::of(raw);
        let ios_major = if platform == Platform::Ios { version_after(raw, " OS ").flatten() } else { None };
        let app = APPS.iter().find(|(token, _)| raw.contains(token)).map(|(_, name)| *name);
        let android_webview =
            platform == Platform::Android && (raw.contains("; wv)") || raw.contains("Version/"));
        let ua = |family: Family, major: Option<u32>, webview: bool| UserAgent {
            chromium: if family.is_chromium() { Self::chromium_major(raw) } else { None },
            family,
            major,
            mobile,
            mobile_token: raw.contains("Mobile"),
            platform,
            ios_major,
            webview,
            app,
        };
        if raw.is_empty() {
            return ua(Family::Missing, None, false);
        }
        if raw.starts_with("Mozilla/") {
            for (marker, family) in MARKERS {
                if let Some(major) = version_after(raw, marker) {
                    return ua(family.clone(), major, android_webview);
                }
            }
            let version = version_after(raw, "Version/");
            if raw.contains("AppleWebKit/") {
                match platform {
                    // An iOS WKWebView (in-app browsers) says neither `Version/` nor, often,
                    // `Safari/`: its WebKit is the system's, versioned like iOS.
                    Platform::Ios => {
                        return ua(Family::Safari, version.unwrap_or(ios_major), version.is_none());
                    }
                    // Android's WebView (and browsers built on it) with the `Chrome/` token
                    // left out (`Version/4.0 MQQBrowser/9.6 Mobile Safari/537.36`).
                    Platform::Android if android_webview => return ua(Family::Chrome, None, true),
                    _ => {}
                }
            }
            if (raw.contains("Safari/") || raw.contains("AppleWebKit/"))
                && let Some(major) = version
            {
                return ua(Family::Safari, major, false);
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
        // Opera Mini's server-rendered mode (Presto): `Opera/9.80 (...; Opera Mini/...) ...
        // Version/12.16`. The same family word as Opera, not a second meaning of "opera".
        if name == "opera" {
            let major = version_after(raw, "Version/").unwrap_or_else(|| version.and_then(leading_number));
            return ua(Family::Opera, major, false);
        }
        let family = if name.is_empty() { Family::Other("unknown".into()) } else { Family::Other(name) };
        ua(family, version.and_then(leading_number), false)
    }

    /// True for browsers on iOS: whatever the brand, they are WebKit (no client hints).
    pub fn on_ios(&self) -> bool {
        self.platform == Platform::Ios
    }

    /// What `Sec-CH-UA-Mobile` and `userAgentData.mobile` should say: Chromium on Android
    /// follows the `Mobile` token (tablets omit it), elsewhere the device class.
    pub fn hint_mobile(&self) -> bool {
        if self.platform == Platform::Android { self.mobile_token } else { self.mobile }
    }

    /// Whether this browser sends `Sec-Fetch-*` request headers (Chromium 80+ by its `Chrome/`
    /// version, Firefox 90+,
    /// Safari and every iOS browser from 16.4, counted here from 17).
    pub fn sends_fetch_metadata(&self) -> bool {
        let major = self.major.unwrap_or(0);
        if self.on_ios() {
            return self.ios_major.unwrap_or(0) >= 17;
        }
        match self.family {
            _ if self.family.is_chromium() => self.engine() >= 80,
            Family::Firefox => major >= 90,
            Family::Safari => major >= 17,
            _ => false,
        }
    }

    /// The Chromium version of a Chromium family (its own major when `Chrome/` is absent).
    fn engine(&self) -> u32 {
        self.chromium.or(self.major).unwrap_or(0)
    }

    /// Whether this browser always sends `Sec-CH-UA` and has `navigator.userAgentData` in a
    /// secure context (Chromium 90+ by its `Chrome/` version, not on iOS), so that their
    /// absence counts. Not for
    /// WebViews and mobile apps: Android WebView sends client hints only with its default
    /// User-Agent (since 116), and an app that writes its token into the header has replaced it.
    pub fn sends_client_hints(&self) -> bool {
        !self.on_ios() && self.family.is_chromium() && !self.hints_optional() && self.engine() >= 90
    }

    /// Whether this browser can send `Sec-CH-UA` at all (Chromium 89+ not on iOS; any Chromium
    /// WebView or app, whose `Chrome/` may be rewritten): hints from anything else are
    /// unexpected.
    pub fn may_send_client_hints(&self) -> bool {
        if self.on_ios() || !self.family.is_chromium() {
            return false;
        }
        self.hints_optional() || self.engine() >= 89
    }

    /// An Android WebView, or a mobile app's rewritten header: client hints optional.
    fn hints_optional(&self) -> bool {
        self.webview || (self.app.is_some() && self.mobile)
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
mod tests;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::tests::IN_APP;
    use super::*;
    use proptest::prelude::*;

    /// One of the documented in-app User-Agents, and a mutation of it.
    fn in_app() -> impl Strategy<Value = usize> {
        0..IN_APP.len()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Arbitrary edits (insert, delete or replace any characters anywhere) never panic and
        /// the result is a pure function of the input with a short, plain family name.
        #[test]
        fn mutated_in_app_user_agents_never_panic(
            which in in_app(),
            at in any::<prop::sample::Index>(),
            cut in 0usize..40,
            insert in ".{0,40}",
        ) {
            let raw = IN_APP[which].0;
            let chars: Vec<char> = raw.chars().collect();
            let at = at.index(chars.len() + 1);
            let end = (at + cut).min(chars.len());
            let mutated: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
            let ua = UserAgent::parse(&mutated);
            prop_assert_eq!(&ua, &UserAgent::parse(&mutated));
            prop_assert_eq!(&ua, &UserAgent::parse(&format!("  {mutated}\t")));
            let name = ua.family.name();
            prop_assert!(name.len() <= 32, "{}", name);
            prop_assert!(!name.contains(char::is_whitespace), "{}", name);
            let _ = (ua.sends_client_hints(), ua.may_send_client_hints(), ua.sends_fetch_metadata(), ua.hint_mobile());
        }

        /// What the apps change from build to build (their version numbers and the trailing
        /// tokens they append, like `NetType/4G`) does not change how the header is read.
        #[test]
        fn in_app_user_agents_are_stable_under_version_and_token_changes(
            which in in_app(),
            digits in proptest::collection::vec(0u32..10, 64),
            extra in proptest::collection::vec("X[a-z]{0,6}/[0-9]{1,3}", 0..4),
        ) {
            let (raw, _, _, _) = IN_APP[which];
            let want = UserAgent::parse(raw);
            // Rewrite every digit that follows the app token, or after the last `)` if none.
            let from = want
                .app
                .and_then(|name| APPS.iter().find(|(_, n)| *n == name))
                .and_then(|(token, _)| raw.find(token))
                .unwrap_or_else(|| raw.rfind(')').unwrap_or(raw.len()));
            let mut i = 0;
            let mutated: String = raw
                .char_indices()
                .map(|(at, c)| {
                    if at > from && c.is_ascii_digit() {
                        i += 1;
                        char::from_digit(digits[i % digits.len()], 10).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect();
            let mutated = format!("{mutated} {}", extra.join(" "));
            let got = UserAgent::parse(&mutated);
            prop_assert_eq!(&got.family, &want.family, "{}", mutated);
            prop_assert_eq!(got.app, want.app, "{}", mutated);
            prop_assert_eq!(got.webview, want.webview, "{}", mutated);
            prop_assert_eq!(got.platform, want.platform, "{}", mutated);
        }
    }
}
