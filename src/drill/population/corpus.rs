//! What the drill knows of the world: countries (time zone, languages, calling code), the
//! device speed classes, and the corpus's real header sets (tests/data/corpus.json) that
//! people and fleets wear.

use crate::request::facts::CfFacts;
use serde::Deserialize;
use std::sync::OnceLock;

/// A country the drill can place clients in.
#[derive(Copy, Clone, Debug)]
pub struct Country {
    /// ISO 3166-1 code.
    pub code: &'static str,
    /// A representative IANA time zone (`cf.timezone` and the browser's `Intl` zone).
    pub tz: &'static str,
    /// `Accept-Language`.
    pub accept_language: &'static str,
    /// `navigator.languages`.
    pub languages: &'static [&'static str],
    /// The calling code of its phone numbers.
    pub calling_code: &'static str,
}

macro_rules! country {
    ($code:literal, $tz:literal, $al:literal, [$($l:literal),*], $cc:literal) => {
        Country { code: $code, tz: $tz, accept_language: $al, languages: &[$($l),*], calling_code: $cc }
    };
}

/// Countries with their zone, languages and calling code.
pub const COUNTRIES: &[Country] = &[
    country!("US", "America/New_York", "en-US,en;q=0.9", ["en-US", "en"], "1"),
    country!("CA", "America/Toronto", "en-CA,en;q=0.9,fr;q=0.8", ["en-CA", "en", "fr"], "1"),
    country!("BR", "America/Sao_Paulo", "pt-BR,pt;q=0.9,en;q=0.8", ["pt-BR", "pt", "en"], "55"),
    country!("MX", "America/Mexico_City", "es-MX,es;q=0.9,en;q=0.8", ["es-MX", "es", "en"], "52"),
    country!("GB", "Europe/London", "en-GB,en;q=0.9", ["en-GB", "en"], "44"),
    country!("DE", "Europe/Berlin", "de-DE,de;q=0.9,en;q=0.8", ["de-DE", "de", "en"], "49"),
    country!("FR", "Europe/Paris", "fr-FR,fr;q=0.9,en;q=0.8", ["fr-FR", "fr", "en"], "33"),
    country!("ES", "Europe/Madrid", "es-ES,es;q=0.9,en;q=0.8", ["es-ES", "es", "en"], "34"),
    country!("IT", "Europe/Rome", "it-IT,it;q=0.9,en;q=0.8", ["it-IT", "it", "en"], "39"),
    country!("NL", "Europe/Amsterdam", "nl-NL,nl;q=0.9,en;q=0.8", ["nl-NL", "nl", "en"], "31"),
    country!("PL", "Europe/Warsaw", "pl-PL,pl;q=0.9,en;q=0.8", ["pl-PL", "pl", "en"], "48"),
    country!("RU", "Europe/Moscow", "ru-RU,ru;q=0.9,en;q=0.8", ["ru-RU", "ru", "en"], "7"),
    country!("TR", "Europe/Istanbul", "tr-TR,tr;q=0.9,en;q=0.8", ["tr-TR", "tr", "en"], "90"),
    country!("CN", "Asia/Shanghai", "zh-CN,zh;q=0.9", ["zh-CN", "zh"], "86"),
    country!("HK", "Asia/Hong_Kong", "zh-HK,zh;q=0.9,en;q=0.8", ["zh-HK", "zh", "en"], "852"),
    country!("TW", "Asia/Taipei", "zh-TW,zh;q=0.9", ["zh-TW", "zh"], "886"),
    country!("JP", "Asia/Tokyo", "ja-JP,ja;q=0.9", ["ja-JP", "ja"], "81"),
    country!("KR", "Asia/Seoul", "ko-KR,ko;q=0.9", ["ko-KR", "ko"], "82"),
    country!("IN", "Asia/Kolkata", "en-IN,en;q=0.9,hi;q=0.8", ["en-IN", "en", "hi"], "91"),
    country!("ID", "Asia/Jakarta", "id-ID,id;q=0.9,en;q=0.8", ["id-ID", "id", "en"], "62"),
    country!("VN", "Asia/Ho_Chi_Minh", "vi-VN,vi;q=0.9,en;q=0.8", ["vi-VN", "vi", "en"], "84"),
    country!("SG", "Asia/Singapore", "en-SG,en;q=0.9,zh;q=0.8", ["en-SG", "en", "zh"], "65"),
    country!("NG", "Africa/Lagos", "en-NG,en;q=0.9", ["en-NG", "en"], "234"),
    country!("EG", "Africa/Cairo", "ar-EG,ar;q=0.9,en;q=0.8", ["ar-EG", "ar", "en"], "20"),
    country!("AU", "Australia/Sydney", "en-AU,en;q=0.9", ["en-AU", "en"], "61"),
    country!("FI", "Europe/Helsinki", "fi-FI,fi;q=0.9,en;q=0.8", ["fi-FI", "fi", "en"], "358"),
    country!("KG", "Asia/Bishkek", "ru-RU,ru;q=0.9,ky;q=0.8", ["ru-RU", "ru", "ky"], "996"),
];

/// The country entry for a code (the US when unknown; validation refuses unknown codes).
pub fn country(code: &str) -> &'static Country {
    COUNTRIES.iter().find(|c| c.code == code).unwrap_or(&US)
}

const US: Country = country!("US", "America/New_York", "en-US,en;q=0.9", ["en-US", "en"], "1");

/// Built-in device speed classes: (name, hashes/s per thread, threads, fixed overhead ms,
/// mobile). Desktop is the measured headless-Chromium Wasm `simd128` rate (docs/performance.md § The
/// browser solver: 16.8 MH/s per thread); a phone is a third of it (docs/widget.md § Without WebAssembly),
/// an old phone an eighth; `no_simd` is the measured scalar Wasm rate (4.9 MH/s) and
/// `js_fallback` the measured JavaScript solver (1.96 MH/s), both on desktop-class cores.
pub const DEVICES: &[(&str, f64, u32, u32, bool)] = &[
    ("desktop", 16.8e6, 4, 150, false),
    ("phone", 5.6e6, 4, 300, true),
    ("old_phone", 2.1e6, 2, 500, true),
    ("no_simd", 4.9e6, 2, 200, false),
    ("js_fallback", 1.96e6, 2, 200, false),
];

// ---------------------------------------------------------------------------------------------
// The corpus

#[derive(Deserialize)]
struct CorpusFile {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    kind: String,
    expect: String,
    method: String,
    scheme: String,
    #[serde(default)]
    cf: CfFacts,
    headers: Vec<(String, String)>,
}

/// One header set from tests/data/corpus.json.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The corpus entry's name.
    pub name: String,
    /// A real browser (else a tool or a disguised script).
    pub browser: bool,
    /// The verdict the corpus expects from the server-side signals.
    pub expect: String,
    /// A phone or tablet.
    pub mobile: bool,
    /// The form post's headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// `cf.httpProtocol`.
    pub http_protocol: Option<String>,
    /// `cf.tlsVersion`.
    pub tls_version: Option<String>,
}

/// Every POST header set of the corpus (parsed once).
pub fn profiles() -> &'static [Profile] {
    static P: OnceLock<Vec<Profile>> = OnceLock::new();
    P.get_or_init(|| {
        let file: CorpusFile = match serde_json::from_str(include_str!("../../../tests/data/corpus.json")) {
            Ok(f) => f,
            Err(_) => return Vec::new(),
        };
        file.entries
            .into_iter()
            .filter(|e| e.method == "POST" && e.scheme == "https")
            .map(|e| {
                let ua =
                    e.headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.as_str()).unwrap_or("");
                let mobile = ["Mobile", "Android", "iPhone", "iPad"].iter().any(|m| ua.contains(m));
                Profile {
                    browser: e.kind == "browser",
                    expect: e.expect,
                    mobile,
                    headers: e.headers,
                    http_protocol: e.cf.http_protocol,
                    tls_version: e.cf.tls_version,
                    name: e.name,
                }
            })
            .collect()
    })
}

/// Real browsers people use: every browser entry but those describing a network rather than a
/// browser (a VPN at a hosting provider).
pub(crate) fn real_browsers() -> impl Iterator<Item = (usize, &'static Profile)> {
    profiles().iter().enumerate().filter(|(_, p)| p.browser && !p.name.contains("VPN"))
}

/// Indices of the real-browser profiles whose name contains `filter` (case-insensitive).
pub fn browsers_matching(filter: &str) -> Vec<usize> {
    let f = filter.to_ascii_lowercase();
    real_browsers().filter(|(_, p)| p.name.to_ascii_lowercase().contains(&f)).map(|(i, _)| i).collect()
}
