//! Fingerprint checks: what the edge sees, what the browser says, and whether the two agree.
//!
//! Proof of work only prices a sign-up. These checks tell browsers from scripts before any
//! work is accepted: each finding is a named [`Reason`] with a weight, their sum is the risk
//! score, and [`RiskPolicy`] turns the score into "normal work", "more work" or "deny".
//!
//! The principle is consistency, not blocklists: a client may claim to be anything, but a
//! real Chrome sends the headers Chrome sends, and its JavaScript reports the same browser,
//! language and time zone as its headers and its network location. Checks that only make
//! sense for browsers run only when the User-Agent claims a browser, so honest API clients
//! are judged by what they are. The weights are in [`weight`]; README § Fingerprint checks
//! lists them with their reasons.
//!
//! Client signals are small and privacy-respecting (no canvas, audio or font probing; the
//! WebGL renderer is reduced to one boolean; nothing stored; the decision log keeps reason
//! codes with a short detail such as the two time zones compared, never the raw signals) and
//! their digest is bound into the proof-of-work seed, so a solution cannot be replayed with
//! other signals.

use crate::request::facts::RequestFacts;
use crate::request::user_agent::{Family, Platform, UserAgent};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The weight of each finding (risk points).
pub mod weight {
    /// No User-Agent at all.
    pub const UA_MISSING: u32 = 50;
    /// A self-declared HTTP library or automation tool (curl, python-requests, ...).
    pub const UA_AUTOMATION: u32 = 80;
    /// Headless browsers that say so (HeadlessChrome, PhantomJS).
    pub const UA_HEADLESS: u32 = 80;
    /// A User-Agent that claims no browser (API clients, apps): judged lightly.
    pub const UA_NOT_BROWSER: u32 = 10;
    /// A browser-looking User-Agent that cannot be read (`Mozilla/5.0` alone, absurd versions).
    pub const UA_MALFORMED: u32 = 25;
    /// `Sec-CH-UA*` disagree with the User-Agent (brand version, platform or mobile).
    pub const CH_MISMATCH: u32 = 35;
    /// Client hints from a browser that does not send them (Firefox, Safari).
    pub const CH_UNEXPECTED: u32 = 25;
    /// No client hints from a Chromium that always sends them in a secure context.
    pub const CH_MISSING: u32 = 15;
    /// No `Sec-Fetch-*` from a browser that always sends them.
    pub const FETCH_METADATA_MISSING: u32 = 20;
    /// `Sec-Fetch-Site: cross-site` on a sign-up or challenge.
    pub const FETCH_CROSS_SITE: u32 = 25;
    /// `Sec-Fetch-Mode`/`Dest` that no form post or fetch produces.
    pub const FETCH_UNUSUAL: u32 = 15;
    /// Browser without `Accept-Language`.
    pub const ACCEPT_LANGUAGE_MISSING: u32 = 20;
    /// Browser without gzip in `Accept-Encoding`.
    pub const ACCEPT_ENCODING_UNUSUAL: u32 = 15;
    /// Browser without `Accept`.
    pub const ACCEPT_MISSING: u32 = 10;
    /// HTTP/1.0.
    pub const HTTP10: u32 = 30;
    /// HTTP/1.1 from a modern browser (they speak HTTP/2 or 3 to Cloudflare).
    pub const HTTP1_BROWSER: u32 = 5;
    /// A browser without TLS.
    pub const NO_TLS: u32 = 10;
    /// TLS 1.0 or 1.1 (no current browser offers them).
    pub const TLS_OLD: u32 = 20;
    /// The network is a hosting/cloud/colocation ASN (data/hosting-asns.txt).
    pub const HOSTING_ASN: u32 = 30;
    /// Cloudflare verified bot (a search engine has no business signing up).
    pub const VERIFIED_BOT: u32 = 50;
    /// Cloudflare JavaScript detection failed.
    pub const JS_DETECTION_FAILED: u32 = 20;
    /// `navigator.webdriver` is true.
    pub const WEBDRIVER: u32 = 60;
    /// Automation framework globals on `window` (Playwright, Puppeteer, Selenium, PhantomJS).
    pub const AUTOMATION_GLOBALS: u32 = 60;
    /// WebGL renders in software (SwiftShader, llvmpipe): headless, or a machine without GPU.
    pub const SOFTWARE_RENDERER: u32 = 15;
    /// A 0×0 outer window.
    pub const ZERO_WINDOW: u32 = 25;
    /// `navigator.languages` is empty.
    pub const NO_LANGUAGES: u32 = 25;
    /// Desktop Chromium without its built-in PDF plugins.
    pub const NO_PLUGINS: u32 = 10;
    /// Screen size no device has.
    pub const SCREEN_IMPLAUSIBLE: u32 = 10;
    /// A browser posting without the widget's signals.
    pub const SIGNALS_MISSING: u32 = 20;
    /// Signals that cannot be read.
    pub const SIGNALS_MALFORMED: u32 = 30;
    /// Browser time zone on another continent than the network location's.
    pub const TZ_MISMATCH: u32 = 25;
    /// Browser time zone differs from the location's on the same continent.
    pub const TZ_REGION_DIFFERS: u32 = 5;
    /// `navigator.languages` and `Accept-Language` disagree.
    pub const LANG_MISMATCH: u32 = 20;
    /// No language of the browser is spoken in the network's country (English excepted).
    pub const LANG_COUNTRY: u32 = 5;
    /// `navigator.userAgentData` disagrees with the User-Agent.
    pub const UAD_MISMATCH: u32 = 35;
    /// A Chromium without `navigator.userAgentData`.
    pub const UAD_MISSING: u32 = 25;
    /// The JavaScript-measured round trip is far above the TCP round trip (a relay).
    pub const RTT_GAP: u32 = 20;
}

/// Every reason code the checks produce (policy rules may name them).
pub const REASON_CODES: &[&str] = &[
    "ua_missing",
    "ua_automation",
    "ua_headless",
    "ua_not_browser",
    "ua_malformed",
    "ch_mismatch",
    "ch_unexpected",
    "ch_missing",
    "fetch_metadata_missing",
    "fetch_cross_site",
    "fetch_unusual",
    "accept_language_missing",
    "accept_encoding_unusual",
    "accept_missing",
    "http10",
    "http1_browser",
    "no_tls",
    "tls_old",
    "hosting_asn",
    "bot_score_low",
    "verified_bot",
    "js_detection_failed",
    "webdriver",
    "automation_globals",
    "software_renderer",
    "zero_window",
    "no_languages",
    "no_plugins",
    "screen_implausible",
    "signals_missing",
    "signals_malformed",
    "tz_mismatch",
    "tz_region_differs",
    "lang_mismatch",
    "lang_country",
    "uad_mismatch",
    "uad_missing",
    "rtt_gap",
];

/// The static code for a reason name, if the checks produce it.
pub fn reason_code(name: &str) -> Option<&'static str> {
    REASON_CODES.iter().find(|c| **c == name).copied()
}

/// Largest client-signals payload accepted.
pub const MAX_SIGNALS_LEN: usize = 4096;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable code (logs, verdict header, policy rules).
    pub code: &'static str,
    /// Risk points.
    pub weight: u32,
    /// What was seen, for the operator's log (never sent to the client).
    pub detail: String,
}

/// The findings about one request and their total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// Sum of the weights.
    pub score: u32,
    /// Every finding, in the order checked.
    pub reasons: Vec<Reason>,
}

impl Assessment {
    /// Records a finding. Each named reason counts once: a second finding with the same code
    /// (say, client hints that contradict the User-Agent in two ways) adds its detail, not
    /// its weight again.
    fn add(&mut self, code: &'static str, weight: u32, detail: impl Into<String>) {
        let detail = detail.into();
        if let Some(r) = self.reasons.iter_mut().find(|r| r.code == code) {
            if r.detail.len() < 200 {
                r.detail.push_str("; ");
                r.detail.push_str(&detail);
            }
            return;
        }
        self.score = self.score.saturating_add(weight);
        self.reasons.push(Reason { code, weight, detail });
    }

    /// Whether a reason with this code was found.
    pub fn has(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason codes, in order.
    pub fn codes(&self) -> Vec<String> {
        self.reasons.iter().map(|r| r.code.to_string()).collect()
    }

    /// The score as the challenge's one-byte risk field.
    pub fn risk_byte(&self) -> u8 {
        u8::try_from(self.score).unwrap_or(u8::MAX)
    }
}

/// `navigator.userAgentData` as the widget reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UaData {
    /// `brands`: `[brand, version]` pairs.
    pub brands: Vec<(String, String)>,
    /// `mobile`.
    pub mobile: bool,
    /// `platform`.
    pub platform: String,
}

/// What the widget reports about the browser (see `www/gate/gate.js`, `collectSignals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientSignals {
    /// Format version (1).
    pub v: u8,
    /// `navigator.webdriver`.
    pub webdriver: Option<bool>,
    /// Names of automation globals found on `window`.
    pub automation: Vec<String>,
    /// WebGL renders in software (the renderer string itself is not sent).
    pub software_renderer: Option<bool>,
    /// `[outerWidth, outerHeight]`.
    pub outer: Option<(u32, u32)>,
    /// `[screen.width, screen.height]`.
    pub screen: Option<(u32, u32)>,
    /// `Intl.DateTimeFormat().resolvedOptions().timeZone`.
    pub time_zone: Option<String>,
    /// `navigator.languages`.
    pub languages: Option<Vec<String>>,
    /// `navigator.plugins.length`.
    pub plugins: Option<u32>,
    /// `navigator.userAgentData`, when the browser has it.
    pub ua_data: Option<UaData>,
    /// `navigator.hardwareConcurrency`.
    pub cores: Option<u32>,
    /// Round trip to the gate measured in JavaScript, ms.
    pub rtt: Option<u32>,
}

/// The client side of an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientSide {
    /// No signals were sent (API clients, or a browser without the widget).
    Absent,
    /// Signals were sent but cannot be read.
    Malformed(String),
    /// The signals.
    Present(Box<ClientSignals>),
}

impl ClientSide {
    /// Reads signal bytes (empty means absent). Bounded in size and shape: never panics.
    pub fn parse(bytes: &[u8]) -> ClientSide {
        if bytes.is_empty() {
            return ClientSide::Absent;
        }
        if bytes.len() > MAX_SIGNALS_LEN {
            return ClientSide::Malformed(format!("{} bytes, limit {MAX_SIGNALS_LEN}", bytes.len()));
        }
        match serde_json::from_slice::<ClientSignals>(bytes) {
            Ok(s) if s.automation.len() > 32 => ClientSide::Malformed("too many automation names".into()),
            Ok(s) if s.languages.as_ref().is_some_and(|l| l.len() > 32) => {
                ClientSide::Malformed("too many languages".into())
            }
            Ok(s) if s.ua_data.as_ref().is_some_and(|u| u.brands.len() > 16) => {
                ClientSide::Malformed("too many brands".into())
            }
            Ok(s) => ClientSide::Present(Box::new(s)),
            Err(e) => ClientSide::Malformed(format!("not signals JSON: {e}")),
        }
    }
}

/// Evaluates only what the edge sees (headers and `request.cf`), without client signals.
pub fn assess_server(facts: &RequestFacts) -> Assessment {
    let mut a = Assessment::default();
    let raw_ua = facts.user_agent().unwrap_or("");
    server(facts, raw_ua, &UserAgent::parse(raw_ua), &mut a);
    a
}

/// Evaluates a request: server-side signals, client signals, and the cross-checks between them.
pub fn assess(facts: &RequestFacts, client: &ClientSide) -> Assessment {
    let mut a = Assessment::default();
    let raw_ua = facts.user_agent().unwrap_or("");
    let ua = UserAgent::parse(raw_ua);
    server(facts, raw_ua, &ua, &mut a);
    match client {
        ClientSide::Absent => {
            if ua.family.is_browser() && facts.method != "GET" {
                a.add(
                    "signals_missing",
                    weight::SIGNALS_MISSING,
                    "browser User-Agent without client signals",
                );
            }
        }
        ClientSide::Malformed(why) => a.add("signals_malformed", weight::SIGNALS_MALFORMED, why.clone()),
        ClientSide::Present(s) => {
            client_only(&ua, s, &mut a);
            cross(facts, raw_ua, &ua, s, &mut a);
        }
    }
    a
}

/// Tools that announce themselves (first product token, lower-case).
const TOOLS: &[&str] = &[
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "python",
    "aiohttp",
    "httpx",
    "go-http-client",
    "node",
    "node-fetch",
    "undici",
    "axios",
    "got",
    "okhttp",
    "java",
    "java-http-client",
    "apache-httpclient",
    "jakarta",
    "libwww-perl",
    "lwp",
    "scrapy",
    "ruby",
    "faraday",
    "guzzlehttp",
    "php",
    "postmanruntime",
    "insomnia",
    "httpie",
    "powershell",
    "deno",
    "bun",
    "reqwest",
    "hyper",
    "ureq",
    "dart",
    "rest-client",
    "mechanize",
    "winhttp",
    "wininet",
];

/// Substrings that mark automation anywhere in a User-Agent.
const AUTOMATION_MARKERS: &[&str] = &[
    "phantomjs",
    "selenium",
    "webdriver",
    "puppeteer",
    "playwright",
    "headless",
    "slimerjs",
    "nightmare",
    "bot/",
    "crawler",
    "spider",
];

fn server(facts: &RequestFacts, raw_ua: &str, ua: &UserAgent, a: &mut Assessment) {
    let h = &facts.headers;
    let lower = raw_ua.to_ascii_lowercase();
    match &ua.family {
        Family::Missing => a.add("ua_missing", weight::UA_MISSING, "no User-Agent"),
        Family::HeadlessChrome => a.add("ua_headless", weight::UA_HEADLESS, ua.family_major()),
        Family::Other(name) if TOOLS.contains(&name.as_str()) => {
            a.add("ua_automation", weight::UA_AUTOMATION, ua.family_major())
        }
        _ if AUTOMATION_MARKERS.iter().any(|m| lower.contains(m)) => {
            let marker = AUTOMATION_MARKERS.iter().find(|m| lower.contains(*m)).copied().unwrap_or("");
            if lower.contains("headless") || lower.contains("phantomjs") {
                a.add("ua_headless", weight::UA_HEADLESS, marker)
            } else {
                a.add("ua_automation", weight::UA_AUTOMATION, marker)
            }
        }
        Family::Other(name) if raw_ua.starts_with("Mozilla/") => {
            a.add("ua_malformed", weight::UA_MALFORMED, format!("Mozilla/ with no browser token ({name})"))
        }
        Family::Other(name) => a.add("ua_not_browser", weight::UA_NOT_BROWSER, name.clone()),
        _ => {}
    }

    // Transport (any client).
    match facts.cf.http_protocol.as_deref() {
        Some("HTTP/1.0") => a.add("http10", weight::HTTP10, "HTTP/1.0"),
        Some("HTTP/1.1") if ua.family.is_browser() && ua.sends_fetch_metadata() => {
            a.add("http1_browser", weight::HTTP1_BROWSER, "HTTP/1.1 from a modern browser")
        }
        _ => {}
    }
    match facts.cf.tls_version.as_deref() {
        Some("TLSv1") | Some("TLSv1.0") | Some("TLSv1.1") => {
            a.add("tls_old", weight::TLS_OLD, facts.cf.tls_version.clone().unwrap_or_default())
        }
        Some("") if ua.family.is_browser() && facts.scheme == "https" => {
            a.add("no_tls", weight::NO_TLS, "browser without TLS")
        }
        _ => {}
    }
    if let Some(asn) = facts.cf.asn
        && hosting_asn(asn)
    {
        let org = facts.cf.as_organization.clone().unwrap_or_default();
        a.add("hosting_asn", weight::HOSTING_ASN, format!("AS{asn} {org}").trim().to_string());
    }
    if let Some(bot) = &facts.cf.bot {
        if let Some(score) = bot.score
            && score < 30
        {
            a.add("bot_score_low", u32::from(30 - score) * 2, format!("bot score {score}"));
        }
        if bot.verified_bot == Some(true) {
            a.add("verified_bot", weight::VERIFIED_BOT, "Cloudflare verified bot");
        }
        if bot.js_detection_passed == Some(false) {
            a.add("js_detection_failed", weight::JS_DETECTION_FAILED, "Cloudflare JS detection failed");
        }
    }

    // The rest only applies to clients that claim to be a browser. A `Mozilla/` header that
    // names no engine still claims one: it is held to the headers every browser sends.
    if !ua.family.is_browser() {
        if matches!(ua.family, Family::Other(_)) && raw_ua.starts_with("Mozilla/") {
            content_negotiation(h, a);
        }
        return;
    }
    // An Android WebView that leaves out `Chrome/` states no engine version; that is not absurd.
    let unversioned_webview = ua.major.is_none() && ua.webview;
    if ua.major.is_none_or(|m| m == 0 || m > 500) && !unversioned_webview {
        a.add("ua_malformed", weight::UA_MALFORMED, format!("implausible version in {}", ua.family_major()));
    }

    // Client hints (an empty `Sec-CH-UA` says nothing).
    let ch = h.get("sec-ch-ua").filter(|v| !v.trim().is_empty());
    if let Some(ch) = ch {
        if !ua.may_send_client_hints() {
            a.add("ch_unexpected", weight::CH_UNEXPECTED, format!("{} sent Sec-CH-UA", ua.family_major()));
        } else {
            let brands = parse_brands(ch);
            if brands.iter().any(|(b, _)| b.eq_ignore_ascii_case("HeadlessChrome")) {
                a.add("ua_headless", weight::UA_HEADLESS, "HeadlessChrome brand in Sec-CH-UA");
            }
            if let Some(why) = brands_disagree(raw_ua, ua, &brands) {
                a.add("ch_mismatch", weight::CH_MISMATCH, why);
            }
            if let Some(p) = h.get("sec-ch-ua-platform") {
                let claimed = Platform::from_client_hint(p);
                if claimed != Platform::Unknown && ua.platform != Platform::Unknown && claimed != ua.platform
                {
                    a.add(
                        "ch_mismatch",
                        weight::CH_MISMATCH,
                        format!("Sec-CH-UA-Platform {p} vs UA {:?}", ua.platform),
                    );
                }
            }
            if let Some(m) = h.get("sec-ch-ua-mobile") {
                let claimed = m.trim() == "?1";
                if claimed != ua.hint_mobile() && ua.platform != Platform::Unknown {
                    a.add(
                        "ch_mismatch",
                        weight::CH_MISMATCH,
                        format!("Sec-CH-UA-Mobile {m} vs UA mobile {}", ua.hint_mobile()),
                    );
                }
            }
        }
    } else if hints_required(facts, ua) {
        a.add("ch_missing", weight::CH_MISSING, format!("{} without Sec-CH-UA", ua.family_major()));
    }

    // Fetch metadata.
    let site = h.get("sec-fetch-site");
    let mode = h.get("sec-fetch-mode");
    let dest = h.get("sec-fetch-dest");
    match (site, mode, dest) {
        (None, None, None) => {
            if ua.sends_fetch_metadata() {
                a.add(
                    "fetch_metadata_missing",
                    weight::FETCH_METADATA_MISSING,
                    format!("{} without Sec-Fetch-*", ua.family_major()),
                );
            }
        }
        _ => {
            if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
                a.add("fetch_cross_site", weight::FETCH_CROSS_SITE, "Sec-Fetch-Site: cross-site");
            }
            let mode = mode.unwrap_or("").to_ascii_lowercase();
            let plausible = matches!(
                (mode.as_str(), dest.unwrap_or("").to_ascii_lowercase().as_str()),
                ("navigate", "document")
                    | ("navigate", "iframe")
                    | ("cors", "empty")
                    | ("same-origin", "empty")
                    | ("no-cors", "empty")
            ) || (
                // Chromium 76-79 (old WebViews such as WeChat's XWEB 78) sent Sec-Fetch-Site,
                // -Mode and -User, but Sec-Fetch-Dest only from 80.
                dest.is_none()
                    && ua.family.is_chromium()
                    && !ua.sends_fetch_metadata()
                    && matches!(mode.as_str(), "navigate" | "cors" | "same-origin" | "no-cors")
            );
            if !plausible {
                a.add(
                    "fetch_unusual",
                    weight::FETCH_UNUSUAL,
                    format!("Sec-Fetch-Mode {mode:?}, Sec-Fetch-Dest {dest:?}"),
                );
            }
        }
    }

    content_negotiation(h, a);
}

/// `X-Requested-With: <app package>` (`com.tencent.mm`): Android's WebView names the app that
/// embeds it, which Chrome never does (`XMLHttpRequest` is a script library's, not a package).
/// Apps that replace the whole User-Agent with a Chrome-like one are WebViews all the same.
fn webview_by_header(facts: &RequestFacts, ua: &UserAgent) -> bool {
    matches!(ua.platform, Platform::Android | Platform::Unknown)
        && facts.headers.get("x-requested-with").is_some_and(|v| {
            let v = v.trim();
            v.contains('.')
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        })
}

/// Whether missing client hints count: a Chromium that always sends them, in a secure
/// context, and not an Android WebView (which sends them only with its default User-Agent).
fn hints_required(facts: &RequestFacts, ua: &UserAgent) -> bool {
    ua.sends_client_hints() && facts.secure_context() && !webview_by_header(facts, ua)
}

/// Content negotiation headers every browser sends.
fn content_negotiation(h: &crate::request::facts::Headers, a: &mut Assessment) {
    if !h.has("accept-language") {
        a.add("accept_language_missing", weight::ACCEPT_LANGUAGE_MISSING, "browser without Accept-Language");
    }
    if !h.get("accept-encoding").is_some_and(|e| e.to_ascii_lowercase().contains("gzip")) {
        a.add(
            "accept_encoding_unusual",
            weight::ACCEPT_ENCODING_UNUSUAL,
            format!("Accept-Encoding {:?}", h.get("accept-encoding")),
        );
    }
    if !h.has("accept") {
        a.add("accept_missing", weight::ACCEPT_MISSING, "browser without Accept");
    }
}

/// Parses `"Brand";v="123", ...` into `(brand, version)` pairs (at most 16).
pub fn parse_brands(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .take(16)
        .filter_map(|item| {
            let (brand, rest) = item.trim().split_once(';')?;
            let version = rest.trim().strip_prefix("v=")?;
            Some((brand.trim().trim_matches('"').to_string(), version.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Why the client-hint brands contradict the User-Agent, if they do.
fn brands_disagree(raw_ua: &str, ua: &UserAgent, brands: &[(String, String)]) -> Option<String> {
    let chromium = brands
        .iter()
        .find(|(b, _)| b == "Chromium")
        .and_then(|(_, v)| v.split('.').next()?.parse::<u32>().ok());
    let ua_chromium = UserAgent::chromium_major(raw_ua);
    if let (Some(ch), Some(uv)) = (chromium, ua_chromium)
        && ch != uv
    {
        return Some(format!("Chromium {ch} in Sec-CH-UA, Chrome/{uv} in User-Agent"));
    }
    // The vendor's own brands. Chromium forks, WebViews and in-app browsers name themselves
    // otherwise ("Android WebView", "YaBrowser", "DuckDuckGo", "Brave") or not at all, so only
    // a brand of the family's own vendor is compared; Opera for Android sends two ("Opera" at
    // its desktop-equivalent version and "OperaMobile" at the `OPR/` version), one must agree.
    let own: &[&str] = match ua.family {
        Family::Chrome => &["Google Chrome"],
        Family::Edge => &["Microsoft Edge"],
        Family::Opera => &["Opera", "OperaMobile", "Opera GX"],
        _ => &[],
    };
    let major = ua.major?;
    let claimed: Vec<&(String, String)> = brands.iter().filter(|(b, _)| own.contains(&b.as_str())).collect();
    let agrees = |v: &str| v.split('.').next().and_then(|v| v.parse::<u32>().ok()) == Some(major);
    if let Some((brand, v)) = claimed.first()
        && !claimed.iter().any(|(_, v)| agrees(v))
    {
        return Some(format!("{brand} {v} in Sec-CH-UA, {} in User-Agent", ua.family_major()));
    }
    None
}

fn client_only(ua: &UserAgent, s: &ClientSignals, a: &mut Assessment) {
    if s.webdriver == Some(true) {
        a.add("webdriver", weight::WEBDRIVER, "navigator.webdriver is true");
    }
    if !s.automation.is_empty() {
        let names: Vec<&str> = s.automation.iter().take(4).map(String::as_str).collect();
        a.add("automation_globals", weight::AUTOMATION_GLOBALS, names.join(","));
    }
    if s.software_renderer == Some(true) {
        a.add("software_renderer", weight::SOFTWARE_RENDERER, "WebGL renders in software");
    }
    if s.outer == Some((0, 0)) {
        a.add("zero_window", weight::ZERO_WINDOW, "outer window 0x0");
    }
    if s.languages.as_ref().is_some_and(Vec::is_empty) {
        a.add("no_languages", weight::NO_LANGUAGES, "navigator.languages is empty");
    }
    if s.plugins == Some(0)
        && ua.family.is_chromium()
        && !ua.mobile
        && !ua.on_ios()
        && ua.major.unwrap_or(0) >= 94
    {
        a.add("no_plugins", weight::NO_PLUGINS, "desktop Chromium without PDF plugins");
    }
    if let Some((w, h)) = s.screen
        && (w < 200 || h < 200 || w > 16384 || h > 16384)
    {
        a.add("screen_implausible", weight::SCREEN_IMPLAUSIBLE, format!("screen {w}x{h}"));
    }
}

fn cross(facts: &RequestFacts, raw_ua: &str, ua: &UserAgent, s: &ClientSignals, a: &mut Assessment) {
    // Time zone vs where the network is.
    if let (Some(client), Some(edge)) = (s.time_zone.as_deref(), facts.cf.timezone.as_deref())
        && !client.eq_ignore_ascii_case(edge)
    {
        if continent(client) != continent(edge) {
            a.add("tz_mismatch", weight::TZ_MISMATCH, format!("browser {client}, network {edge}"));
        } else {
            a.add(
                "tz_region_differs",
                weight::TZ_REGION_DIFFERS,
                format!("browser {client}, network {edge}"),
            );
        }
    }
    // Languages vs Accept-Language (the browser derives one from the other) and the country.
    if let Some(langs) = s.languages.as_ref().filter(|l| !l.is_empty()) {
        let first_js = langs.first().map(|l| base_lang(l)).unwrap_or_default();
        if let Some(header) = facts.headers.get("accept-language") {
            let first_header = header
                .split(',')
                .next()
                .map(|t| base_lang(t.split(';').next().unwrap_or("")))
                .unwrap_or_default();
            if !first_header.is_empty() && first_js != first_header {
                a.add(
                    "lang_mismatch",
                    weight::LANG_MISMATCH,
                    format!("navigator.languages {first_js}, Accept-Language {first_header}"),
                );
            }
        }
        if let Some(country) = facts.cf.country.as_deref()
            && let Some(spoken) = country_languages(country)
        {
            let bases: Vec<String> = langs.iter().map(|l| base_lang(l)).collect();
            if !bases.iter().any(|b| b == "en" || spoken.contains(&b.as_str())) {
                a.add("lang_country", weight::LANG_COUNTRY, format!("{} in {country}", bases.join(",")));
            }
        }
    }
    // userAgentData vs the User-Agent header. One with no brands and no platform says nothing.
    let ua_data = s.ua_data.as_ref().filter(|u| !u.brands.is_empty() || !u.platform.trim().is_empty());
    match ua_data {
        // An app's own User-Agent (`mojeek-app`) in its Android WebView: nothing to compare.
        Some(_) if matches!(ua.family, Family::Other(_)) && webview_by_header(facts, ua) => {}
        Some(uad) => {
            if !ua.family.is_chromium() || ua.on_ios() {
                a.add(
                    "uad_mismatch",
                    weight::UAD_MISMATCH,
                    format!("userAgentData from {}", ua.family_major()),
                );
            } else {
                let brands: Vec<(String, String)> = uad.brands.clone();
                if brands.iter().any(|(b, _)| b.eq_ignore_ascii_case("HeadlessChrome")) {
                    a.add("ua_headless", weight::UA_HEADLESS, "HeadlessChrome brand in userAgentData");
                }
                let platform = Platform::from_client_hint(&uad.platform);
                if let Some(why) = brands_disagree(raw_ua, ua, &brands) {
                    a.add("uad_mismatch", weight::UAD_MISMATCH, why);
                } else if platform != Platform::Unknown
                    && ua.platform != Platform::Unknown
                    && platform != ua.platform
                {
                    a.add(
                        "uad_mismatch",
                        weight::UAD_MISMATCH,
                        format!("userAgentData {} vs UA {:?}", uad.platform, ua.platform),
                    );
                } else if uad.mobile != ua.hint_mobile() && ua.platform != Platform::Unknown {
                    a.add(
                        "uad_mismatch",
                        weight::UAD_MISMATCH,
                        format!("userAgentData mobile {} vs UA mobile {}", uad.mobile, ua.hint_mobile()),
                    );
                }
            }
        }
        None => {
            if hints_required(facts, ua) {
                a.add(
                    "uad_missing",
                    weight::UAD_MISSING,
                    format!("{} without navigator.userAgentData", ua.family_major()),
                );
            }
        }
    }
    // JavaScript round trip vs the TCP round trip the edge measured.
    if let (Some(js), Some(tcp)) = (s.rtt, facts.cf.client_tcp_rtt.filter(|t| *t > 0))
        && js > tcp.saturating_mul(3).saturating_add(150)
    {
        a.add("rtt_gap", weight::RTT_GAP, format!("JS round trip {js} ms, TCP {tcp} ms"));
    }
}

fn continent(tz: &str) -> &str {
    match tz.split('/').next().unwrap_or("") {
        "US" | "Canada" | "Mexico" | "Brazil" | "Chile" => "America",
        "Etc" | "UTC" | "GMT" | "Universal" | "Zulu" => "UTC",
        other => other,
    }
}

fn base_lang(tag: &str) -> String {
    tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()
}

/// Languages widely spoken in a country (ISO 639-1), for the weak language/country check.
fn country_languages(country: &str) -> Option<&'static [&'static str]> {
    Some(match country.to_ascii_uppercase().as_str() {
        "CN" | "TW" | "HK" | "SG" => &["zh"],
        "JP" => &["ja"],
        "KR" => &["ko"],
        "DE" | "AT" => &["de"],
        "CH" => &["de", "fr", "it"],
        "FR" => &["fr"],
        "BE" => &["fr", "nl", "de"],
        "NL" => &["nl"],
        "ES" | "MX" | "AR" | "CO" | "CL" | "PE" => &["es", "ca", "eu", "gl"],
        "PT" | "BR" => &["pt"],
        "IT" => &["it"],
        "RU" | "BY" | "KZ" => &["ru"],
        "UA" => &["uk", "ru"],
        "PL" => &["pl"],
        "TR" => &["tr"],
        "SE" => &["sv"],
        "NO" => &["nb", "nn", "no"],
        "DK" => &["da"],
        "FI" => &["fi", "sv"],
        "CZ" => &["cs"],
        "GR" => &["el"],
        "IL" => &["he", "ar"],
        "VN" => &["vi"],
        "TH" => &["th"],
        "ID" => &["id"],
        _ => return None,
    })
}

/// Whether `asn` is on the bundled hosting/cloud list (data/hosting-asns.txt).
pub fn hosting_asn(asn: u32) -> bool {
    static LIST: OnceLock<Vec<u32>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<u32> = include_str!("../data/hosting-asns.txt")
            .lines()
            .filter_map(|l| l.split('#').next()?.trim().parse().ok())
            .collect();
        v.sort_unstable();
        v
    })
    .binary_search(&asn)
    .is_ok()
}

/// How a risk score turns into work or a refusal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RiskPolicy {
    /// From this score on, challenges get harder.
    pub more_work_at: u32,
    /// From this score on, the request is refused.
    pub deny_at: u32,
    /// Most extra leading zero bits (each doubles the work).
    pub max_extra_bits: u8,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy { more_work_at: 30, deny_at: 80, max_extra_bits: 6 }
    }
}

/// What a score means.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Issue or accept work at this difficulty.
    Work(u8),
    /// Refuse.
    Deny,
}

impl RiskPolicy {
    /// Extra difficulty bits for a score: none below `more_work_at`, then one bit plus one per
    /// 10 points, up to `max_extra_bits`.
    pub fn extra_bits(&self, score: u32) -> u8 {
        if score < self.more_work_at {
            return 0;
        }
        let steps = (score - self.more_work_at) / 10 + 1;
        u8::try_from(steps).unwrap_or(u8::MAX).min(self.max_extra_bits)
    }

    /// The difficulty a request with this score must pay, given the base difficulty.
    pub fn verdict(&self, base_difficulty: u8, score: u32) -> Verdict {
        if score >= self.deny_at {
            return Verdict::Deny;
        }
        Verdict::Work(base_difficulty.saturating_add(self.extra_bits(score)).min(32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::facts::{CfFacts, Headers};

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    fn chrome_nav() -> RequestFacts {
        RequestFacts {
            method: "POST".into(),
            path: "/signup".into(),
            query: None,
            scheme: "https".into(),
            host: "example.com".into(),
            headers: Headers::from_pairs([
                ("user-agent", CHROME),
                (
                    "sec-ch-ua",
                    "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
                ),
                ("sec-ch-ua-mobile", "?0"),
                ("sec-ch-ua-platform", "\"Windows\""),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-mode", "navigate"),
                ("sec-fetch-dest", "document"),
                ("accept", "text/html,application/xhtml+xml"),
                ("accept-encoding", "gzip, deflate, br, zstd"),
                ("accept-language", "de-DE,de;q=0.9,en;q=0.8"),
            ]),
            client_ip: None,
            cf: CfFacts {
                asn: Some(3320),
                country: Some("DE".into()),
                timezone: Some("Europe/Berlin".into()),
                tls_version: Some("TLSv1.3".into()),
                http_protocol: Some("HTTP/2".into()),
                client_tcp_rtt: Some(20),
                ..Default::default()
            },
        }
    }

    fn chrome_signals() -> ClientSignals {
        ClientSignals {
            v: 1,
            webdriver: Some(false),
            software_renderer: Some(false),
            outer: Some((1280, 800)),
            screen: Some((1920, 1080)),
            time_zone: Some("Europe/Berlin".into()),
            languages: Some(vec!["de-DE".into(), "de".into(), "en".into()]),
            plugins: Some(5),
            ua_data: Some(UaData {
                brands: vec![("Google Chrome".into(), "131".into()), ("Chromium".into(), "131".into())],
                mobile: false,
                platform: "Windows".into(),
            }),
            cores: Some(8),
            rtt: Some(35),
            ..Default::default()
        }
    }

    fn present(s: ClientSignals) -> ClientSide {
        ClientSide::Present(Box::new(s))
    }

    #[test]
    fn a_consistent_browser_scores_zero() {
        let a = assess(&chrome_nav(), &present(chrome_signals()));
        assert_eq!(a, Assessment::default(), "{:?}", a.reasons);
    }

    #[test]
    fn each_inconsistency_is_named() {
        struct Case {
            name: &'static str,
            change: fn(&mut RequestFacts, &mut ClientSignals),
            want: &'static str,
        }
        let cases = [
            Case { name: "webdriver", change: |_, s| s.webdriver = Some(true), want: "webdriver" },
            Case {
                name: "playwright global",
                change: |_, s| s.automation = vec!["__playwright__binding__".into()],
                want: "automation_globals",
            },
            Case {
                name: "swiftshader",
                change: |_, s| s.software_renderer = Some(true),
                want: "software_renderer",
            },
            Case { name: "0x0", change: |_, s| s.outer = Some((0, 0)), want: "zero_window" },
            Case { name: "no languages", change: |_, s| s.languages = Some(vec![]), want: "no_languages" },
            Case { name: "no plugins", change: |_, s| s.plugins = Some(0), want: "no_plugins" },
            Case {
                name: "tz other continent",
                change: |_, s| s.time_zone = Some("Asia/Tokyo".into()),
                want: "tz_mismatch",
            },
            Case {
                name: "tz same continent",
                change: |_, s| s.time_zone = Some("Europe/Paris".into()),
                want: "tz_region_differs",
            },
            Case {
                name: "languages vs header",
                change: |_, s| s.languages = Some(vec!["en-US".into()]),
                want: "lang_mismatch",
            },
            Case {
                name: "languages vs country",
                change: |f, s| {
                    s.languages = Some(vec!["ja".into()]);
                    f.headers = Headers::from_pairs(f.headers.0.iter().map(|(k, v)| {
                        (k.clone(), if k == "accept-language" { "ja".to_string() } else { v.clone() })
                    }));
                },
                want: "lang_country",
            },
            Case {
                name: "uad platform",
                change: |_, s| {
                    if let Some(u) = s.ua_data.as_mut() {
                        u.platform = "macOS".into()
                    }
                },
                want: "uad_mismatch",
            },
            Case {
                name: "uad version",
                change: |_, s| {
                    if let Some(u) = s.ua_data.as_mut() {
                        u.brands = vec![("Chromium".into(), "120".into())]
                    }
                },
                want: "uad_mismatch",
            },
            Case { name: "uad missing", change: |_, s| s.ua_data = None, want: "uad_missing" },
            Case { name: "relay", change: |_, s| s.rtt = Some(400), want: "rtt_gap" },
            Case {
                name: "header platform",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-ch-ua-platform" {
                            *v = "\"macOS\"".into()
                        }
                    })
                },
                want: "ch_mismatch",
            },
            Case {
                name: "header mobile",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-ch-ua-mobile" {
                            *v = "?1".into()
                        }
                    })
                },
                want: "ch_mismatch",
            },
            Case {
                name: "ch version",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-ch-ua" {
                            *v = "\"Chromium\";v=\"99\"".into()
                        }
                    })
                },
                want: "ch_mismatch",
            },
            Case {
                name: "headless brand",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-ch-ua" {
                            *v = "\"HeadlessChrome\";v=\"131\", \"Chromium\";v=\"131\"".into()
                        }
                    })
                },
                want: "ua_headless",
            },
            Case {
                name: "no accept-language",
                change: |f, _| f.headers.0.retain(|(k, _)| k != "accept-language"),
                want: "accept_language_missing",
            },
            Case {
                name: "no fetch metadata",
                change: |f, _| f.headers.0.retain(|(k, _)| !k.starts_with("sec-fetch")),
                want: "fetch_metadata_missing",
            },
            Case {
                name: "cross site",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-fetch-site" {
                            *v = "cross-site".into()
                        }
                    })
                },
                want: "fetch_cross_site",
            },
            Case {
                name: "odd dest",
                change: |f, _| {
                    f.headers.0.iter_mut().for_each(|(k, v)| {
                        if k == "sec-fetch-dest" {
                            *v = "image".into()
                        }
                    })
                },
                want: "fetch_unusual",
            },
            Case {
                name: "no client hints",
                change: |f, _| f.headers.0.retain(|(k, _)| !k.starts_with("sec-ch-ua")),
                want: "ch_missing",
            },
            Case { name: "hosting", change: |f, _| f.cf.asn = Some(16509), want: "hosting_asn" },
            Case {
                name: "http/1.0",
                change: |f, _| f.cf.http_protocol = Some("HTTP/1.0".into()),
                want: "http10",
            },
            Case {
                name: "old tls",
                change: |f, _| f.cf.tls_version = Some("TLSv1.1".into()),
                want: "tls_old",
            },
            Case {
                name: "bot score",
                change: |f, _| {
                    f.cf.bot = Some(crate::request::facts::BotFacts { score: Some(2), ..Default::default() })
                },
                want: "bot_score_low",
            },
            Case {
                name: "verified bot",
                change: |f, _| {
                    f.cf.bot = Some(crate::request::facts::BotFacts {
                        verified_bot: Some(true),
                        ..Default::default()
                    })
                },
                want: "verified_bot",
            },
        ];
        for c in cases {
            let mut f = chrome_nav();
            let mut s = chrome_signals();
            (c.change)(&mut f, &mut s);
            let a = assess(&f, &present(s));
            assert!(a.has(c.want), "{}: want {} in {:?}", c.name, c.want, a.codes());
            assert!(a.score > 0, "{}", c.name);
        }
    }

    #[test]
    fn tools_and_headless_are_named_browsers_checks_skip_api_clients() {
        let cases = [
            ("curl/8.5.0", "ua_automation"),
            ("python-requests/2.32.3", "ua_automation"),
            ("Go-http-client/2.0", "ua_automation"),
            ("node", "ua_automation"),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "ua_headless",
            ),
            (
                "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
                "ua_headless",
            ),
            ("Mozilla/5.0", "ua_malformed"),
            ("", "ua_missing"),
            ("MyApp/3.2 (iOS 17.1)", "ua_not_browser"),
        ];
        for (ua, want) in cases {
            let f = RequestFacts {
                method: "POST".into(),
                headers: Headers::from_pairs([("user-agent", ua)]),
                ..Default::default()
            };
            let a = assess(&f, &ClientSide::Absent);
            assert!(a.has(want), "{ua}: {:?}", a.codes());
        }
        // an app's API client is not judged by browser rules
        let app = RequestFacts {
            method: "POST".into(),
            headers: Headers::from_pairs([("user-agent", "MyApp/3.2")]),
            ..Default::default()
        };
        assert_eq!(assess(&app, &ClientSide::Absent).score, weight::UA_NOT_BROWSER);
    }

    #[test]
    fn firefox_and_safari_have_no_client_hints() {
        let mut f = chrome_nav();
        f.headers = Headers::from_pairs([
            (
                "user-agent",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
            ("accept", "text/html"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", "de,en-US;q=0.7,en;q=0.3"),
        ]);
        let mut s = chrome_signals();
        s.ua_data = None;
        assert_eq!(assess(&f, &present(s.clone())).score, 0);
        f.headers.0.push(("sec-ch-ua".into(), "\"Chromium\";v=\"131\"".into()));
        assert!(assess(&f, &present(s.clone())).has("ch_unexpected"));
        s.ua_data = chrome_signals().ua_data;
        assert!(assess(&f, &present(s)).has("uad_mismatch"));
    }

    /// A request as a browser of this User-Agent sends it: a form post with every header, and
    /// the client hints given (none for WebKit and rewritten WebView headers).
    fn browser_post(ua: &str, hints: &[(&str, &str)]) -> RequestFacts {
        let mut f = chrome_nav();
        f.headers.0.retain(|(k, _)| !k.starts_with("sec-ch-ua") && k != "user-agent");
        f.headers.0.push(("user-agent".into(), ua.into()));
        f.headers.0.extend(hints.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f
    }

    fn signals_with(ua_data: Option<UaData>, plugins: u32) -> ClientSide {
        present(ClientSignals { ua_data, plugins: Some(plugins), ..chrome_signals() })
    }

    #[test]
    fn in_app_and_regional_browsers_score_zero() {
        let ios_wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN";
        let ios_line = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1";
        let android_ig = "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 324.0.0.27.50 Android (34/14; 420dpi; 1080x2127; samsung; SM-S921N; e1s; s5e9945; ko_KR; 581020724)";
        let webview = "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36";
        let webview_tablet = "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Safari/537.36";
        let uc = "Mozilla/5.0 (Linux; U; Android 16; en-US; NLA-NX1 Build/HONORNLA-N31N) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.80 UCBrowser/15.1.9.1395 Mobile Safari/537.36";
        let qq_no_chrome = "Mozilla/5.0 (Linux; U; Android 11; zh-cn; NX659J Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0   MQQBrowser/9.6 Mobile Safari/537.36";
        let opera_mobile = "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168";
        let webview_brands =
            "\"Android WebView\";v=\"125\", \"Chromium\";v=\"125\", \"Not.A/Brand\";v=\"24\"";
        let uad = |brands: &[(&str, &str)], mobile: bool| {
            Some(UaData {
                brands: brands.iter().map(|(b, v)| (b.to_string(), v.to_string())).collect(),
                mobile,
                platform: "Android".into(),
            })
        };
        let wv_uad = uad(&[("Android WebView", "125"), ("Chromium", "125")], true);
        let android = ("sec-ch-ua-platform", "\"Android\"");
        let cases: Vec<(&str, RequestFacts, ClientSide)> = vec![
            ("WeChat iOS", browser_post(ios_wechat, &[]), signals_with(None, 5)),
            ("LINE iOS", browser_post(ios_line, &[]), signals_with(None, 5)),
            (
                "Facebook iOS with empty Sec-CH-UA headers",
                browser_post(ios_wechat, &[("sec-ch-ua", ""), ("sec-ch-ua-mobile", "")]),
                signals_with(None, 5),
            ),
            (
                "Instagram Android, rewritten UA: no hints",
                browser_post(android_ig, &[]),
                signals_with(None, 0),
            ),
            (
                "Instagram Android, an unpopulated userAgentData",
                browser_post(android_ig, &[]),
                signals_with(Some(UaData::default()), 0),
            ),
            (
                "default WebView with its brand",
                browser_post(webview, &[("sec-ch-ua", webview_brands), ("sec-ch-ua-mobile", "?1"), android]),
                signals_with(wv_uad.clone(), 0),
            ),
            (
                "WebView on a tablet (?0, no Mobile token)",
                browser_post(
                    webview_tablet,
                    &[("sec-ch-ua", webview_brands), ("sec-ch-ua-mobile", "?0"), android],
                ),
                signals_with(uad(&[("Android WebView", "125"), ("Chromium", "125")], false), 0),
            ),
            ("UC Browser without hints", browser_post(uc, &[]), signals_with(None, 0)),
            ("QQ Browser without Chrome/", browser_post(qq_no_chrome, &[]), signals_with(None, 0)),
            (
                "Opera Mobile: Opera 82 and OperaMobile 67",
                browser_post(
                    opera_mobile,
                    &[
                        ("sec-ch-ua", "\"Chromium\";v=\"96\", \"Opera\";v=\"82\", \"OperaMobile\";v=\"67\""),
                        ("sec-ch-ua-mobile", "?1"),
                        android,
                    ],
                ),
                signals_with(uad(&[("Chromium", "96"), ("Opera", "82"), ("OperaMobile", "67")], true), 0),
            ),
        ];
        for (name, f, client) in cases {
            let a = assess(&f, &client);
            assert_eq!(a.score, 0, "{name}: {:?}", a.reasons);
        }
    }

    #[test]
    fn x_requested_with_marks_a_webview_whose_app_replaced_the_user_agent() {
        // Telegram's in-app browser: a Chrome-like header, no `; wv)`, no hints.
        let ua = "Mozilla/5.0 (Linux; Android 11; Pixel 3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Mobile Safari/537.36";
        let app = browser_post(ua, &[("x-requested-with", "org.telegram.messenger")]);
        assert_eq!(assess(&app, &signals_with(None, 0)).score, 0);
        // Without it, or with a script library's value, Chrome's hints are owed.
        for f in [browser_post(ua, &[]), browser_post(ua, &[("x-requested-with", "XMLHttpRequest")])] {
            let a = assess(&f, &signals_with(None, 0));
            assert!(a.has("ch_missing") && a.has("uad_missing"), "{:?}", a.codes());
        }
        // On a desktop header it excuses nothing.
        let desktop = browser_post(CHROME, &[("x-requested-with", "org.telegram.messenger")]);
        assert!(assess_server(&desktop).has("ch_missing"));
    }

    #[test]
    fn fakes_of_in_app_browsers_are_still_caught() {
        let py = |ua: &str| RequestFacts {
            method: "POST".into(),
            scheme: "https".into(),
            headers: Headers::from_pairs([
                ("user-agent", ua),
                ("accept-encoding", "gzip, deflate"),
                ("accept", "*/*"),
                ("connection", "keep-alive"),
            ]),
            cf: CfFacts { http_protocol: Some("HTTP/1.1".into()), ..Default::default() },
            ..Default::default()
        };
        let more_work = RiskPolicy::default().more_work_at;
        // A WeChat token on a desktop Linux header with no engine: malformed, and held to the
        // headers every browser sends.
        let a = assess_server(&py(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.47",
        ));
        assert!(a.has("ua_malformed") && a.has("accept_language_missing"), "{:?}", a.codes());
        assert!(a.score >= more_work, "{:?}", a.reasons);
        // The same token on desktop Chrome does not excuse Chrome's client hints.
        let a = assess_server(&py(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 MicroMessenger/8.0.47",
        ));
        assert!(a.has("ch_missing") && a.has("fetch_metadata_missing"), "{:?}", a.codes());
        // The WeChat iOS header from a script: no fetch metadata or Accept-Language.
        let a = assess_server(&py(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.59(0x18003b26) NetType/4G Language/zh_CN",
        ));
        assert!(a.score >= more_work, "{:?}", a.reasons);
        // userAgentData from an iOS WebView (which has none) contradicts it.
        let f = browser_post(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
            &[],
        );
        assert!(assess(&f, &present(chrome_signals())).has("uad_mismatch"));
        // Client hints on an iOS WebView are unexpected.
        let f = browser_post(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/15.12.1",
            &[("sec-ch-ua", "\"Chromium\";v=\"131\"")],
        );
        assert!(assess_server(&f).has("ch_unexpected"));
        // A WebView's hints that contradict its header still count.
        let f = browser_post(
            "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            &[
                ("sec-ch-ua", "\"HeadlessChrome\";v=\"131\", \"Chromium\";v=\"131\""),
                ("sec-ch-ua-mobile", "?0"),
            ],
        );
        let a = assess_server(&f);
        assert!(a.has("ua_headless") && a.has("ch_mismatch"), "{:?}", a.codes());
        // Opera's own brands must agree with OPR/ in one of them.
        let f = browser_post(
            "Mozilla/5.0 (Linux; Android 8.1.0; ZC554KL) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36 OPR/67.1.3508.63168",
            &[
                ("sec-ch-ua", "\"Chromium\";v=\"96\", \"Opera\";v=\"82\", \"OperaMobile\";v=\"70\""),
                ("sec-ch-ua-mobile", "?1"),
            ],
        );
        assert!(assess_server(&f).has("ch_mismatch"));
    }

    #[test]
    fn every_code_the_checks_produce_is_listed() {
        let source = include_str!("signals.rs");
        let mut missing = Vec::new();
        for part in source.split("a.add(\"").skip(1) {
            let code = part.split('"').next().unwrap_or("");
            if reason_code(code).is_none() {
                missing.push(code.to_string());
            }
        }
        assert!(missing.is_empty(), "not in REASON_CODES: {missing:?}");
    }

    #[test]
    fn a_reason_counts_once() {
        let mut f = chrome_nav();
        f.headers.0.iter_mut().for_each(|(k, v)| match k.as_str() {
            "sec-ch-ua" => *v = "\"Chromium\";v=\"120\"".into(),
            "sec-ch-ua-platform" => *v = "\"macOS\"".into(),
            _ => {}
        });
        let a = assess_server(&f);
        assert_eq!(a.codes(), vec!["ch_mismatch"]);
        assert_eq!(a.score, weight::CH_MISMATCH);
        assert!(a.reasons[0].detail.contains("; "), "both findings are in the detail");
    }

    #[test]
    fn signals_parse_defensively() {
        assert_eq!(ClientSide::parse(b""), ClientSide::Absent);
        assert!(matches!(ClientSide::parse(b"{not json"), ClientSide::Malformed(_)));
        assert!(matches!(ClientSide::parse(&vec![b' '; MAX_SIGNALS_LEN + 1]), ClientSide::Malformed(_)));
        let many = format!("{{\"languages\":[{}]}}", vec!["\"en\""; 40].join(","));
        assert!(matches!(ClientSide::parse(many.as_bytes()), ClientSide::Malformed(_)));
        let json = serde_json::to_vec(&chrome_signals()).unwrap();
        assert_eq!(ClientSide::parse(&json), present(chrome_signals()));
        // unknown fields are ignored (older gates, newer widgets)
        assert!(matches!(ClientSide::parse(br#"{"v":1,"future":true}"#), ClientSide::Present(_)));
    }

    #[test]
    fn hosting_list_is_loaded() {
        for asn in [16509, 14061, 24940, 16276, 396982] {
            assert!(hosting_asn(asn), "{asn}");
        }
        for asn in [3320, 7922, 13335, 0] {
            assert!(!hosting_asn(asn), "{asn}");
        }
    }

    #[test]
    fn risk_policy_table() {
        let p = RiskPolicy::default();
        let cases = [
            (0, Verdict::Work(17)),
            (29, Verdict::Work(17)),
            (30, Verdict::Work(18)),
            (45, Verdict::Work(19)),
            (79, Verdict::Work(22)),
            (80, Verdict::Deny),
            (500, Verdict::Deny),
        ];
        for (score, want) in cases {
            assert_eq!(p.verdict(17, score), want, "{score}");
        }
        let big = RiskPolicy { more_work_at: 0, deny_at: 10_000, max_extra_bits: 20 };
        assert_eq!(big.verdict(30, 500), Verdict::Work(32), "capped at 32 bits");
    }
}
