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
    pub fn parse(raw: &str) -> UserAgent {
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

    /// In-app and regional browsers, as their vendors or well-known UA references document
    /// them (sources in tests/data/corpus.json): read as the engine they are.
    pub(super) const IN_APP: &[(&str, &str, Option<&str>, bool)] = &[
        // iOS WKWebViews: Safari's engine, versioned like iOS, no `Version/`.
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN",
            "safari/18",
            Some("wechat"),
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 283.0.0.16.103 (iPhone15,3; iOS 16_5; ru_UZ; ru-UZ; scale=3.00; 1290x2796; 474411477)",
            "safari/16",
            Some("instagram"),
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21G93 [FBAN/FBIOS;FBAV/479.1.0.33.109;FBBV/637241220;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.6.1;FBSS/3;FBID/phone;FBLC/es_ES;FBOP/5;FBRV/639094949;IABMV/1]",
            "safari/17",
            Some("facebook"),
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 BytedanceWebview/d8a21c6 trill_34.9.0 JsSdk/2.0 NetType/4G Channel/App Store ByteLocale/en Region/MY",
            "safari/17",
            Some("tiktok"),
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
            "safari/18",
            Some("line"),
            true,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "safari/17",
            None,
            true,
        ),
        // iOS browsers that keep Safari's `Version/`: Safari's version, not a WebView.
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 MQQBrowser/19.2.7 Mobile/15E148 Safari/604.1 QBWebViewUA/2 QBWebViewType/1 WKType/1",
            "safari/18",
            Some("qqbrowser"),
            false,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1 musical_ly_34.3.1 JsSdk/2.0 NetType/4G Channel/App Store ByteLocale/en Region/US isDarkMode/1 WKWebView/1 RevealType/Dialog",
            "safari/17",
            Some("tiktok"),
            false,
        ),
        // Android WebViews (`; wv)`, `Version/4.0`): Chromium, versioned by `Chrome/`.
        (
            "Mozilla/5.0 (Linux; Android 12; DCO-AL00 Build/HUAWEIDCO-AL00; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/134.0.6998.136 Mobile Safari/537.36 XWEB/1340075 MMWEBSDK/20250201 MMWEBID/7690 MicroMessenger/8.0.58.2841(0x28003A3C) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
            "chrome/134",
            Some("wechat"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 324.0.0.27.50 Android (34/14; 420dpi; 1080x2127; samsung; SM-S921N; e1s; s5e9945; ko_KR; 581020724)",
            "chrome/122",
            Some("instagram"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; SM-A105M Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/95.0.4638.50 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/357.0.0.23.115;]",
            "chrome/95",
            Some("facebook"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; moto g(7) Build/QP6_S30.52-23-13-4; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 Mobile Safari/537.36 musical_ly_2022704050 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/27.4.5",
            "chrome/108",
            Some("tiktok"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 11; SC-42A Build/RP1A.200720.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 Mobile Safari/537.36 Line/12.21.1/IAB",
            "chrome/108",
            Some("line"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            "chrome/125",
            None,
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; CLT-AL01 Build/HUAWEICLT-AL01; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/76.0.3809.89 Mobile Safari/537.36 T7/12.24 BDOS/1.0 (HarmonyOS 2.2.0) SP-engine/2.36.0 baiduboxapp/12.25.0.10 (Baidu; P1 10) NABar/1.0",
            "chrome/76",
            Some("baidu"),
            true,
        ),
        // Regional browsers on Chromium.
        (
            "Mozilla/5.0 (Linux; U; Android 16; en-US; NLA-NX1 Build/HONORNLA-N31N) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.80 UCBrowser/15.1.9.1395 Mobile Safari/537.36",
            "chrome/123",
            Some("ucbrowser"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 12; zh-cn; DCO-AL00 Build/HUAWEIDCO-AL00) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.71 MQQBrowser/16.3 Mobile Safari/537.36 COVC/047707",
            "chrome/121",
            Some("qqbrowser"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 11; zh-cn; NX659J Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0   MQQBrowser/9.6 Mobile Safari/537.36",
            "chrome",
            Some("qqbrowser"),
            true,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 QQBrowser/19.4.5.209",
            "chrome/123",
            Some("qqbrowser"),
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 12; HarmonyOS; DCO-AL00; HMSCore 6.15.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.196 HuaweiBrowser/16.0.4.301 Mobile Safari/537.36",
            "chrome/114",
            Some("huawei"),
            false,
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 14; zh-cn; 24094RAD4C Build/UP1A.231005.007) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.119 Mobile Safari/537.36 XiaoMi/MiuiBrowser/18.7.921118",
            "chrome/122",
            Some("miui"),
            false,
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 16; zh-CN; iPA2575 Build/BP2A.250605.031.A3_V000L1) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/144.0.7559.86 Quark/10.12.3.1098 Mobile Safari/537.36",
            "chrome/144",
            Some("quark"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; arm_64; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.174 YaApp_Android/22.14.1 YaSearchBrowser/22.14.1 BroPP/1.0 SA/3 Mobile Safari/537.36",
            "chrome/96",
            Some("yandex"),
            false,
        ),
        (
            "Mozilla/5.0 (Wayland; Linux x86_64; System76) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.133 Safari/537.36 Ubuntu/22.04 (5.2.2623.34-1) Vivaldi/5.2.2623.39",
            "chrome/100",
            Some("vivaldi"),
            false,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.104 Whale/3.13.131.36 Safari/537.36",
            "chrome/98",
            Some("whale"),
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/128.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
            "chrome/128",
            Some("duckduckgo"),
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.1 Chrome/130.0.0.0 Mobile Safari/537.36",
            "samsung/28",
            None,
            false,
        ),
        (
            "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168",
            "opera/67",
            None,
            false,
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 11; 2201116SG Build/RKQ1.211001.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/94.0.4606.85 Mobile Safari/537.36 OPR/63.0.2254.61370",
            "opera/63",
            None,
            true,
        ),
        (
            "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
            "opera/12",
            Some("operamini"),
            false,
        ),
    ];

    #[test]
    fn in_app_and_regional_browsers_are_their_engine() {
        for (raw, want, app, webview) in IN_APP {
            let ua = UserAgent::parse(raw);
            assert_eq!(ua.family_major(), *want, "{raw}");
            assert_eq!(ua.app, *app, "app of {raw}");
            assert_eq!(ua.webview, *webview, "webview of {raw}");
            assert!(ua.family.is_browser(), "{raw}");
            assert!(ua.mobile || !raw.contains("Android"), "{raw}");
            if ua.on_ios() {
                assert!(
                    !ua.may_send_client_hints() && !ua.sends_client_hints(),
                    "iOS has no client hints: {raw}"
                );
                assert_eq!(ua.family, Family::Safari, "every iOS WebView is WebKit: {raw}");
            }
            if ua.platform == Platform::Android && ua.family.is_chromium() {
                assert!(ua.may_send_client_hints(), "a Chromium on Android may send hints: {raw}");
                // Only the vendor's own browsers must: WebViews and apps that rewrite the
                // header may not.
                if ua.webview || ua.app.is_some() {
                    assert!(!ua.sends_client_hints(), "hints optional for {raw}");
                }
            }
        }
    }

    #[test]
    fn hints_stay_required_where_the_vendor_sends_them() {
        // Plain Chrome, and a desktop User-Agent that carries an app token (apps run as
        // WebViews on phones; a desktop "WeChat" built on Chrome 131 would send its hints).
        for raw in [
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 MicroMessenger/8.0.47",
        ] {
            assert!(UserAgent::parse(raw).sends_client_hints(), "{raw}");
        }
        // A desktop WeChat token without an engine stays unread: not a browser family.
        let fake = UserAgent::parse(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.47",
        );
        assert_eq!(fake.family, Family::Other("mozilla".into()));
        assert_eq!(fake.app, Some("wechat"));
    }

    #[test]
    fn the_mobile_hint_follows_the_mobile_token_on_android() {
        let phone = UserAgent::parse(
            "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
        );
        let tablet = UserAgent::parse(
            "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Safari/537.36",
        );
        assert!(phone.hint_mobile() && phone.mobile);
        assert!(!tablet.hint_mobile() && tablet.mobile, "a tablet: mobile device, ?0 hint");
        let desktop = UserAgent::parse(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        );
        assert!(!desktop.hint_mobile());
    }

    #[test]
    fn family_names_stay_short_and_stable() {
        // The names feed the client binding and the `ua_family` cohort: in-app browsers share
        // their engine's, so no per-app key appears.
        let mut names: Vec<&str> =
            IN_APP.iter().map(|(_, want, _, _)| want.split('/').next().unwrap_or("")).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, ["chrome", "opera", "safari", "samsung"]);
        for (raw, ..) in IN_APP {
            let ua = UserAgent::parse(raw);
            assert!(ua.family.name().len() <= 16 && ua.family.name().bytes().all(|b| b.is_ascii_lowercase()));
        }
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
