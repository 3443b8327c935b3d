//! The clients a scenario describes: each arrival becomes a [`Client`] with the request facts
//! the edge would see (headers from the corpus's real header sets, `request.cf`, the address)
//! and, for browsers, the widget's client signals, consistent with its country and device.

use crate::drill::rng::Rng;
use crate::drill::scenario::{Attacker, Network, NetworkKind, People, Realism, Scenario};
use crate::request::facts::{CfFacts, Headers, RequestFacts};
use crate::signals::{ClientSignals, UaData};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
        let file: CorpusFile = match serde_json::from_str(include_str!("../../tests/data/corpus.json")) {
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
fn real_browsers() -> impl Iterator<Item = (usize, &'static Profile)> {
    profiles().iter().enumerate().filter(|(_, p)| p.browser && !p.name.contains("VPN"))
}

/// Indices of the real-browser profiles whose name contains `filter` (case-insensitive).
pub fn browsers_matching(filter: &str) -> Vec<usize> {
    let f = filter.to_ascii_lowercase();
    real_browsers().filter(|(_, p)| p.name.to_ascii_lowercase().contains(&f)).map(|(i, _)| i).collect()
}

/// The profiles a realism level draws from.
fn attacker_profiles(realism: Realism) -> Vec<usize> {
    let all = profiles().iter().enumerate();
    match realism {
        Realism::Tool => all
            .filter(|(_, p)| {
                !p.browser
                    && p.expect == "deny"
                    && p.name.contains("defaults")
                    && !p.name.contains("eadless")
                    && !p.name.contains("Playwright")
            })
            .map(|(i, _)| i)
            .collect(),
        Realism::CopiedUa => all
            .filter(|(_, p)| !p.browser && p.name.contains("wearing a Chrome User-Agent"))
            .map(|(i, _)| i)
            .collect(),
        Realism::Stealth => all
            .filter(|(_, p)| p.browser && p.name.starts_with("Chrome 131, ") && !p.mobile)
            .map(|(i, _)| i)
            .collect(),
        Realism::BrowserFarm => real_browsers().map(|(i, _)| i).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// One client, as the edge will see it.
#[derive(Clone, Debug)]
pub struct Client {
    /// The challenge request (`GET <prefix>/challenge`), as the widget or script sends it.
    pub fetch: RequestFacts,
    /// The sign-up submission (the form post).
    pub submit: RequestFacts,
    /// Client-signal bytes (empty: none, as API clients and scripts send).
    pub signals: Vec<u8>,
    /// The phone number submitted (international form), if any.
    pub phone: Option<String>,
    /// Its calling code.
    pub phone_code: Option<String>,
    /// Device class index (people and browser farms), for speed and reports.
    pub device: usize,
    /// The network's ASN.
    pub asn: u32,
    /// A number identifying the /24.
    pub prefix: u32,
}

/// Where networks' /24s start in a synthetic address plan: network `n` owns prefixes
/// `offsets[n] ..` (ASN a, prefix j at `offsets[n] + a * prefixes + j`).
pub fn prefix_offsets(networks: &[Network]) -> Vec<u32> {
    let mut next = 0u32;
    networks
        .iter()
        .map(|n| {
            let at = next;
            let size = u32::try_from(n.asns.len()).unwrap_or(u32::MAX).saturating_mul(n.prefixes);
            next = next.saturating_add(size);
            at
        })
        .collect()
}

/// The dotted address of host `host` in synthetic /24 number `prefix` (11.0.0.0 upwards,
/// wrapping inside 11.0.0.0 – 222.255.255.0).
pub fn address(prefix: u32, host: u8) -> String {
    let p = prefix % (212 * 65_536);
    format!("{}.{}.{}.{}", 11 + p / 65_536, (p / 256) % 256, p % 256, host)
}

/// Builds clients for one scenario.
pub struct Factory<'a> {
    scenario: &'a Scenario,
    offsets: Vec<u32>,
    host: String,
}

/// A drawn network location.
#[derive(Copy, Clone, Debug)]
pub struct Location {
    /// Network index.
    pub network: usize,
    /// ASN.
    pub asn: u32,
    /// Synthetic /24 number.
    pub prefix: u32,
    /// Host byte.
    pub host: u8,
}

impl<'a> Factory<'a> {
    /// A factory for a scenario; requests go to `host`.
    pub fn new(scenario: &'a Scenario, host: &str) -> Factory<'a> {
        Factory { scenario, offsets: prefix_offsets(&scenario.networks), host: host.to_string() }
    }

    /// Draws a location in one of the weighted networks.
    pub fn location(&self, rng: &mut Rng, networks: &[(usize, f64)]) -> Location {
        let weights: Vec<f64> = networks.iter().map(|n| n.1).collect();
        let n = networks.get(rng.weighted(&weights)).map_or(0, |n| n.0);
        let Some(net) = self.scenario.networks.get(n) else {
            return Location { network: 0, asn: 0, prefix: 0, host: 1 };
        };
        let a = rng.below(net.asns.len() as u64) as usize;
        // a CGNAT or university concentrates its clients on few addresses
        let j = rng.below(u64::from(net.prefixes)) as u32;
        let asn = net.asns.get(a).copied().unwrap_or(0);
        let base = self.offsets.get(n).copied().unwrap_or(0);
        let prefix =
            base.saturating_add(u32::try_from(a).unwrap_or(0).saturating_mul(net.prefixes)).saturating_add(j);
        Location { network: n, asn, prefix, host: 1 + rng.below(254) as u8 }
    }

    /// A person of a population.
    pub fn person(&self, rng: &mut Rng, p: &People) -> Client {
        let dweights: Vec<f64> = p.devices.iter().map(|d| d.1).collect();
        let device = p.devices.get(rng.weighted(&dweights)).map_or(0, |d| d.0);
        let mobile = self.scenario.devices.get(device).is_some_and(|d| d.mobile);
        let mut pool: Vec<usize> = if p.browsers.is_empty() {
            real_browsers().map(|(i, _)| i).collect()
        } else {
            p.browsers.iter().flat_map(|b| browsers_matching(b)).collect()
        };
        let fitting: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|i| profiles().get(*i).is_some_and(|pr| pr.mobile == mobile))
            .collect();
        if !fitting.is_empty() {
            pool = fitting;
        }
        let profile = pool.get(rng.below(pool.len() as u64) as usize).copied().unwrap_or(0);
        let cc = pick(rng, &p.countries);
        let loc = self.location(rng, &p.networks);
        self.client(rng, &p.route, profile, country(&cc), loc, device, true, false, None)
    }

    /// A client of an attacker fleet at a location.
    pub fn attacker(&self, rng: &mut Rng, a: &Attacker, loc: Location) -> Client {
        let pool = attacker_profiles(a.realism);
        let profile = pool.get(rng.below(pool.len() as u64) as usize).copied().unwrap_or(0);
        let cc = pick(rng, &a.countries);
        let mobile = profiles().get(profile).is_some_and(|p| p.mobile);
        let device = self.scenario.devices.iter().position(|d| d.mobile == mobile).unwrap_or(0);
        let (signals, stealth) = match a.realism {
            Realism::Tool | Realism::CopiedUa => (false, false),
            Realism::Stealth => (true, true),
            Realism::BrowserFarm => (true, false),
        };
        let code = if a.phone_codes.is_empty() {
            None
        } else {
            a.phone_codes.get(rng.below(a.phone_codes.len() as u64) as usize).cloned()
        };
        self.client(rng, &a.route, profile, country(&cc), loc, device, signals, stealth, code)
    }

    #[allow(clippy::too_many_arguments)]
    fn client(
        &self,
        rng: &mut Rng,
        route: &str,
        profile: usize,
        country: &Country,
        loc: Location,
        device: usize,
        with_signals: bool,
        stealth: bool,
        phone_code: Option<String>,
    ) -> Client {
        let Some(pr) = profiles().get(profile) else {
            return Client {
                fetch: RequestFacts::default(),
                submit: RequestFacts::default(),
                signals: Vec::new(),
                phone: None,
                phone_code: None,
                device,
                asn: loc.asn,
                prefix: loc.prefix,
            };
        };
        let hosting = self.scenario.networks.get(loc.network).is_some_and(|n| n.kind == NetworkKind::Hosting);
        let rtt = self.scenario.drill.rtt_ms;
        let cf = CfFacts {
            asn: Some(loc.asn),
            as_organization: Some(if hosting { "hosting".into() } else { "access network".into() }),
            country: Some(country.code.to_string()),
            timezone: Some(country.tz.to_string()),
            tls_version: pr.tls_version.clone(),
            tls_cipher: None,
            http_protocol: pr.http_protocol.clone(),
            client_tcp_rtt: Some(rtt.max(1)),
            colo: None,
            bot: None,
        };
        // the person's own language: a browser derives Accept-Language from its settings;
        // a script keeps whatever its author copied
        let mut post: Vec<(String, String)> = pr.headers.clone();
        if with_signals {
            for (k, v) in post.iter_mut() {
                if k == "accept-language" {
                    *v = country.accept_language.to_string();
                }
            }
        }
        // a script posts a form too; what it sends must be readable as one
        if !post.iter().any(|(k, _)| k == "content-type") {
            post.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
        }
        let fetch_headers = fetch_headers(&post);
        let ip = address(loc.prefix, loc.host);
        let facts =
            |method: &str, path: &str, query: Option<String>, headers: Vec<(String, String)>| RequestFacts {
                method: method.into(),
                path: path.into(),
                query,
                scheme: "https".into(),
                host: self.host.clone(),
                headers: Headers(headers),
                client_ip: Some(ip.clone()),
                cf: cf.clone(),
            };
        let signals = if with_signals { signals_for(pr, country, stealth, rtt) } else { Vec::new() };
        let code = phone_code.unwrap_or_else(|| country.calling_code.to_string());
        let number = format!("+{code}{:09}", rng.below(1_000_000_000));
        // the widget's challenge request: route, signals and the phone's calling code
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("route", route);
        if !signals.is_empty() {
            q.append_pair("signals", &URL_SAFE_NO_PAD.encode(&signals));
        }
        q.append_pair("phone", &code);
        Client {
            fetch: facts("GET", "/__gate/challenge", Some(q.finish()), fetch_headers),
            submit: facts("POST", route, None, post),
            signals,
            phone: Some(number),
            phone_code: Some(code),
            device,
            asn: loc.asn,
            prefix: loc.prefix,
        }
    }
}

fn pick(rng: &mut Rng, w: &[(String, f64)]) -> String {
    let weights: Vec<f64> = w.iter().map(|x| x.1).collect();
    w.get(rng.weighted(&weights)).map_or_else(|| "US".to_string(), |x| x.0.clone())
}

/// The widget's challenge `fetch()` from the same browser: the form post's headers with fetch
/// metadata for a same-origin `cors` request and no form headers.
fn fetch_headers(post: &[(String, String)]) -> Vec<(String, String)> {
    post.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "content-type" | "origin" | "upgrade-insecure-requests" | "sec-fetch-user" | "cache-control"
            )
        })
        .map(|(k, v)| match k.as_str() {
            "sec-fetch-mode" => (k.clone(), "cors".to_string()),
            "sec-fetch-dest" => (k.clone(), "empty".to_string()),
            "accept" if v.starts_with("text/html") => (k.clone(), "*/*".to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

fn header<'h>(h: &'h [(String, String)], name: &str) -> Option<&'h str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The signals the widget reports for this browser in this country. A stealth headless
/// browser reports the same, but renders WebGL in software (no GPU on the server).
fn signals_for(pr: &Profile, country: &Country, stealth: bool, rtt: u32) -> Vec<u8> {
    let ua = header(&pr.headers, "user-agent").unwrap_or("");
    let ua_data = header(&pr.headers, "sec-ch-ua").map(|brands| UaData {
        brands: crate::signals::parse_brands(brands),
        mobile: header(&pr.headers, "sec-ch-ua-mobile").is_some_and(|m| m.trim() == "?1"),
        platform: header(&pr.headers, "sec-ch-ua-platform").unwrap_or("").trim_matches('"').to_string(),
    });
    let desktop_chromium = !pr.mobile && ua.contains("Chrome/");
    let s = ClientSignals {
        v: 1,
        webdriver: Some(false),
        automation: Vec::new(),
        software_renderer: Some(stealth),
        outer: Some(if pr.mobile { (390, 844) } else { (1440, 900) }),
        screen: Some(if pr.mobile { (390, 844) } else { (1920, 1080) }),
        time_zone: Some(country.tz.to_string()),
        languages: Some(country.languages.iter().map(|l| l.to_string()).collect()),
        plugins: Some(if desktop_chromium || !pr.mobile { 5 } else { 0 }),
        ua_data,
        cores: Some(8),
        rtt: Some(rtt.saturating_add(20)),
    };
    serde_json::to_vec(&s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{ClientSide, assess};

    #[test]
    fn the_corpus_gives_browsers_tools_and_disguises() {
        assert!(real_browsers().count() >= 40);
        for r in [Realism::Tool, Realism::CopiedUa, Realism::Stealth, Realism::BrowserFarm] {
            assert!(!attacker_profiles(r).is_empty(), "{r:?}");
        }
    }

    #[test]
    fn people_look_like_people_to_the_checks() {
        // every real browser in every country: its challenge fetch and form post with its
        // signals score below the extra-work threshold
        for (i, pr) in real_browsers() {
            for c in COUNTRIES {
                let post = {
                    let mut h = pr.headers.clone();
                    for (k, v) in h.iter_mut() {
                        if k == "accept-language" {
                            *v = c.accept_language.to_string();
                        }
                    }
                    h
                };
                let facts = RequestFacts {
                    method: "POST".into(),
                    path: "/signup".into(),
                    query: None,
                    scheme: "https".into(),
                    host: "example.com".into(),
                    headers: Headers(post.clone()),
                    client_ip: Some("11.0.0.1".into()),
                    cf: CfFacts {
                        asn: Some(4_200_000_001),
                        country: Some(c.code.into()),
                        timezone: Some(c.tz.into()),
                        tls_version: pr.tls_version.clone(),
                        http_protocol: pr.http_protocol.clone(),
                        client_tcp_rtt: Some(80),
                        ..Default::default()
                    },
                };
                let signals = signals_for(pr, c, false, 80);
                let a = assess(&facts, &ClientSide::parse(&signals));
                assert!(a.score < 30, "{i} {} in {}: {:?}", pr.name, c.code, a.codes());
                let mut get = facts.clone();
                get.method = "GET".into();
                get.headers = Headers(fetch_headers(&post));
                let a = assess(&get, &ClientSide::parse(&signals));
                assert!(a.score < 30, "fetch {} in {}: {:?}", pr.name, c.code, a.codes());
            }
        }
    }

    #[test]
    fn addresses_are_distinct_per_prefix() {
        assert_eq!(address(0, 7), "11.0.0.7");
        assert_eq!(address(65_537, 1), "12.0.1.1");
    }
}
