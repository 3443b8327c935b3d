//! The clients a scenario describes: each arrival becomes a [`Client`] with the request facts
//! the edge would see (headers from the corpus's real header sets, `request.cf`, the address,
//! the round trip and the TLS ClientHello length) and, for browsers and forgers, the widget's
//! client signals, consistent with its country and device unless a quirk says otherwise.

mod corpus;
pub mod numbers;

pub use corpus::{COUNTRIES, Country, DEVICES, Profile, browsers_matching, country, profiles};

use crate::drill::rng::Rng;
use crate::drill::scenario::{Attacker, Network, NetworkKind, People, Quirk, Realism, Scenario, Tls};
use crate::drill::wire::{self, Stack};
use crate::request::facts::{CfFacts, Headers, RequestFacts};
use crate::signals::{ClientSignals, UaData};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use corpus::real_browsers;

/// Where commercial VPN users who pick another country exit (an assumption: the countries VPN
/// providers' server lists and streaming catalogues make popular).
const VPN_EXITS: &[&str] = &["US", "GB", "NL", "DE", "SG", "JP"];

/// The share of VPN users whose exit is in their own country (the providers' default,
/// "fastest server"); the rest pick another (an assumption).
const VPN_HOME_EXIT: f64 = 0.6;

/// The corpus entries old devices wear: Chromium before client hints, old WebViews, an iPad
/// before fetch metadata.
const OLD_BROWSERS: &[&str] = &["Chrome 88", "Chrome 76", "Chrome 78", "Safari 16.3"];

/// The corpus entries privacy browsers wear (Tor and Mullvad Browser are Firefox ESR).
const PRIVACY_BROWSERS: &[&str] = &["Firefox 133", "Firefox ESR"];

/// The profiles a tier draws from: its own, or the real browsers `filters` name, for a phone
/// or a desktop as `mobile` says when any fits.
fn attacker_profiles(realism: Realism, filters: &[String], mobile: Option<bool>) -> Vec<usize> {
    let all = profiles().iter().enumerate();
    let pool: Vec<usize> = match realism {
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
        _ if !filters.is_empty() => filters.iter().flat_map(|f| browsers_matching(f)).collect(),
        // a script or a headless browser copies the commonest browser: desktop Chrome
        Realism::FullHeaders | Realism::ForgedSignals | Realism::Stealth => all
            .filter(|(_, p)| p.browser && p.name.starts_with("Chrome 131, ") && !p.mobile)
            .map(|(i, _)| i)
            .collect(),
        Realism::BrowserFarm | Realism::PhoneFarm => real_browsers().map(|(i, _)| i).collect(),
    };
    fitting(pool, mobile)
}

/// The profiles of `pool` for a phone or a desktop, or all of them when none fits.
fn fitting(pool: Vec<usize>, mobile: Option<bool>) -> Vec<usize> {
    let Some(m) = mobile else { return pool };
    let fit: Vec<usize> =
        pool.iter().copied().filter(|i| profiles().get(*i).is_some_and(|p| p.mobile == m)).collect();
    if fit.is_empty() { pool } else { fit }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// What a person is, for the per-segment report.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// The kind of network the person signs up from (a VPN user: their exit's).
    pub kind: NetworkKind,
    /// Their country (the exit's, as the edge sees it).
    pub country: &'static str,
    /// Device class index.
    pub device: usize,
    /// What trips a check, if anything.
    pub quirk: Option<Quirk>,
    /// No JavaScript.
    pub no_js: bool,
}

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
    /// Device class index (people and farms), for speed and reports.
    pub device: usize,
    /// The network's ASN.
    pub asn: u32,
    /// A number identifying the /24.
    pub prefix: u32,
    /// The network index (a fleet's cohort choice).
    pub network: usize,
    /// What the person is (attackers: their network and country, no quirk).
    pub segment: Segment,
    /// What the widget's ping chain measures over this client's path, ms (a forger's chain
    /// runs through its proxy too: the stamp is bound to the exit's address).
    pub round_trip_ms: u32,
}

impl Client {
    /// The cohorts the policy counts beyond the network (ASN, /24), keyed as the gate keys
    /// them (`country:…` where the edge sees the request, `ua_family:…`, `phone_code:…`).
    pub fn cohorts(&self) -> Vec<String> {
        use crate::policy::{CohortKind, Known};
        let phone = Known::Is(self.phone_code.clone());
        let subject = crate::pipeline::subject(&self.fetch, "", Default::default(), phone, Known::Unknown);
        let kinds = [CohortKind::Country, CohortKind::UaFamily, CohortKind::PhoneCode];
        subject.cohorts(&kinds).iter().map(ToString::to_string).collect()
    }

    /// Puts the ping chain's last stamp into the signals and the challenge request that
    /// carries them, as the widget does before asking for a challenge.
    pub fn stamped(&mut self, stamp: &str) {
        let Ok(mut s) = serde_json::from_slice::<ClientSignals>(&self.signals) else { return };
        s.rtt_stamp = Some(stamp.to_string());
        let Ok(bytes) = serde_json::to_vec(&s) else { return };
        let query = self.fetch.query.as_deref().unwrap_or("");
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == "signals" {
                q.append_pair("signals", &URL_SAFE_NO_PAD.encode(&bytes));
            } else {
                q.append_pair(&k, &v);
            }
        }
        self.fetch.query = Some(q.finish());
        self.signals = bytes;
    }
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
    /// The ASN indices of each network tied to countries, per country.
    by_country: std::collections::HashMap<(usize, &'static str), Vec<usize>>,
}

/// A drawn network location.
#[derive(Copy, Clone, Debug)]
pub struct Location {
    /// Network index.
    pub network: usize,
    /// Index of the ASN in the network's list.
    pub asn_index: usize,
    /// ASN.
    pub asn: u32,
    /// Synthetic /24 number.
    pub prefix: u32,
    /// Host byte.
    pub host: u8,
}

/// What signals a client sends.
#[derive(Copy, Clone, Debug, PartialEq)]
enum SignalsKind {
    /// None (scripts, or a browser whose widget did not run).
    None,
    /// Measured by a real browser (software WebGL: headless, or an old device).
    Measured { software_webgl: bool, privacy: bool },
    /// Forged by a script: a recorded browser's, with a plausible round trip.
    Forged,
}

/// Everything [`Factory::client`] needs beyond the profile.
struct Spec<'r> {
    route: &'r str,
    profile: usize,
    /// The browser's settings (languages, time zone).
    home: &'static Country,
    /// Where the edge places the address (country, `cf.timezone`).
    exit: &'static Country,
    loc: Location,
    device: usize,
    signals: SignalsKind,
    phone_code: Option<String>,
    /// The detour between the browser and the address the edge sees, ms.
    detour_ms: u32,
    stack: Stack,
    /// `cf.httpProtocol`, when not the profile's.
    http: Option<&'static str>,
    quirk: Option<Quirk>,
    no_js: bool,
    /// Only the challenge request is needed (a challenge flood never submits).
    fetch_only: bool,
}

impl<'a> Factory<'a> {
    /// A factory for a scenario; requests go to `host`.
    pub fn new(scenario: &'a Scenario, host: &str) -> Factory<'a> {
        let mut by_country: std::collections::HashMap<(usize, &'static str), Vec<usize>> = Default::default();
        for (n, net) in scenario.networks.iter().enumerate() {
            for a in 0..net.asns.len() {
                if let Some(cc) = net.country_of(a) {
                    by_country.entry((n, country(cc).code)).or_default().push(a);
                }
            }
        }
        Factory { scenario, offsets: prefix_offsets(&scenario.networks), host: host.to_string(), by_country }
    }

    /// Draws a location in one of the weighted networks.
    pub fn location(&self, rng: &mut Rng, networks: &[(usize, f64)]) -> Location {
        let weights: Vec<f64> = networks.iter().map(|n| n.1).collect();
        let n = networks.get(rng.weighted(&weights)).map_or(0, |n| n.0);
        self.location_in(rng, n)
    }

    /// Draws a location in network `n`.
    pub fn location_in(&self, rng: &mut Rng, n: usize) -> Location {
        let count = self.scenario.networks.get(n).map_or(0, |net| net.asns.len());
        let a = rng.below(count as u64) as usize;
        self.location_at(rng, n, a)
    }

    /// Draws a location in network `n` in `cc` when the network has ASNs there (a proxy
    /// service's country targeting), else anywhere in it.
    pub fn location_in_country(&self, rng: &mut Rng, n: usize, cc: &str) -> Location {
        match self.by_country.get(&(n, country(cc).code)) {
            Some(asns) if !asns.is_empty() => {
                let a = asns.get(rng.below(asns.len() as u64) as usize).copied().unwrap_or(0);
                self.location_at(rng, n, a)
            }
            _ => self.location_in(rng, n),
        }
    }

    fn location_at(&self, rng: &mut Rng, n: usize, a: usize) -> Location {
        let Some(net) = self.scenario.networks.get(n) else {
            return Location { network: 0, asn_index: 0, asn: 0, prefix: 0, host: 1 };
        };
        // a CGNAT or university concentrates its clients on few addresses
        let j = rng.below(u64::from(net.prefixes)) as u32;
        let asn = net.asns.get(a).copied().unwrap_or(0);
        let base = self.offsets.get(n).copied().unwrap_or(0);
        let prefix =
            base.saturating_add(u32::try_from(a).unwrap_or(0).saturating_mul(net.prefixes)).saturating_add(j);
        Location { network: n, asn_index: a, asn, prefix, host: 1 + rng.below(254) as u8 }
    }

    /// The country of a location: its ASN's when the network is tied to countries.
    pub fn country_at(&self, loc: &Location) -> Option<&'static Country> {
        let net = self.scenario.networks.get(loc.network)?;
        net.country_of(loc.asn_index).map(country)
    }

    fn kind(&self, loc: &Location) -> NetworkKind {
        self.scenario.networks.get(loc.network).map_or(NetworkKind::Residential, |n| n.kind)
    }

    /// A person of a population.
    pub fn person(&self, rng: &mut Rng, p: &People) -> Client {
        // what trips a check, if anything (shares of the population)
        let mut u = rng.f64();
        let mut quirk = None;
        for (q, share) in &p.quirks {
            if u < *share {
                quirk = Some(*q);
                break;
            }
            u -= share;
        }
        let no_js = quirk.is_none() && u < p.no_js;
        let dweights: Vec<f64> = p.devices.iter().map(|d| d.1).collect();
        let mut device = p.devices.get(rng.weighted(&dweights)).map_or(0, |d| d.0);
        let mobile = self.scenario.devices.get(device).is_some_and(|d| d.mobile);
        if quirk == Some(Quirk::OldDevice) {
            let class = if mobile { "old_phone" } else { "no_simd" };
            device = self.scenario.devices.iter().position(|d| d.name == class).unwrap_or(device);
        }
        let filters: Vec<String> = match quirk {
            Some(Quirk::Privacy) => PRIVACY_BROWSERS.iter().map(|s| s.to_string()).collect(),
            Some(Quirk::OldDevice) => OLD_BROWSERS.iter().map(|s| s.to_string()).collect(),
            _ => p.browsers.clone(),
        };
        let pool = if filters.is_empty() {
            real_browsers().map(|(i, _)| i).collect()
        } else {
            filters.iter().flat_map(|b| browsers_matching(b)).collect()
        };
        let pool = fitting(pool, Some(mobile));
        let profile = pool.get(rng.below(pool.len() as u64) as usize).copied().unwrap_or(0);
        let chosen = country(&pick(rng, &p.countries));
        let (loc, home, exit, detour_ms) = if quirk == Some(Quirk::Vpn) {
            // the tunnel: to the VPN server in the home country, or far away
            let loc = self.location(rng, &p.vpn_networks);
            if rng.chance(VPN_HOME_EXIT) {
                (loc, chosen, chosen, wire::detour(rng, (5, 60)))
            } else {
                let exit =
                    country(VPN_EXITS.get(rng.below(VPN_EXITS.len() as u64) as usize).unwrap_or(&"US"));
                (loc, chosen, exit, wire::detour(rng, (80, 250)))
            }
        } else {
            let loc = self.location(rng, &p.networks);
            // a national network places its people in its country
            let c = self.country_at(&loc).unwrap_or(chosen);
            (loc, c, c, 0)
        };
        let signals = match (no_js, quirk) {
            (true, _) => SignalsKind::None,
            (_, Some(Quirk::Privacy)) => SignalsKind::Measured { software_webgl: false, privacy: true },
            (_, Some(Quirk::OldDevice)) => SignalsKind::Measured { software_webgl: true, privacy: false },
            _ => SignalsKind::Measured { software_webgl: false, privacy: false },
        };
        let intercepted = quirk == Some(Quirk::Intercepted);
        self.client(
            rng,
            Spec {
                route: &p.route,
                profile,
                home,
                exit,
                loc,
                device,
                signals,
                phone_code: None,
                detour_ms,
                stack: if intercepted { Stack::Other } else { Stack::Browser },
                // an intercepting corporate proxy speaks HTTP/1.1 to the edge
                http: intercepted.then_some("HTTP/1.1"),
                quirk,
                no_js,
                fetch_only: false,
            },
        )
    }

    /// A client of an attacker fleet at a location, claiming `claimed` (the exit's country
    /// unless the network is tied to another).
    pub fn attacker(&self, rng: &mut Rng, a: &Attacker, loc: Location, claimed: &str) -> Client {
        let dweights: Vec<f64> = a.devices.iter().map(|d| d.1).collect();
        let device = a.devices.get(rng.weighted(&dweights)).map_or(0, |d| d.0);
        let mobile = match a.realism {
            Realism::BrowserFarm | Realism::PhoneFarm => self.scenario.devices.get(device).map(|d| d.mobile),
            _ => None,
        };
        let pool = attacker_profiles(a.realism, &a.browsers, mobile);
        let profile = pool.get(rng.below(pool.len() as u64) as usize).copied().unwrap_or(0);
        let exit = self.country_at(&loc).unwrap_or_else(|| country(claimed));
        let signals = match a.realism {
            // a form posted without the widget carries no signals
            _ if a.no_js => SignalsKind::None,
            Realism::Tool | Realism::CopiedUa | Realism::FullHeaders => SignalsKind::None,
            Realism::ForgedSignals => SignalsKind::Forged,
            Realism::Stealth => SignalsKind::Measured { software_webgl: true, privacy: false },
            Realism::BrowserFarm | Realism::PhoneFarm => {
                SignalsKind::Measured { software_webgl: false, privacy: false }
            }
        };
        let library = a.realism.script() && a.tls == Tls::Library;
        let code = if a.phone_codes.is_empty() {
            None
        } else {
            a.phone_codes.get(rng.below(a.phone_codes.len() as u64) as usize).cloned()
        };
        let detour_ms = a.proxy.map_or(0, |r| wire::detour(rng, r));
        self.client(
            rng,
            Spec {
                route: &a.route,
                profile,
                home: exit,
                exit,
                loc,
                device,
                signals,
                phone_code: code,
                detour_ms,
                stack: if library { Stack::Other } else { Stack::Browser },
                // a script wearing a browser's full header set on a library speaks HTTP/1.1
                // (requests, aiohttp, axios); tools and copied User-Agents keep the corpus's
                http: (library && a.realism.browser_headers()).then_some("HTTP/1.1"),
                quirk: None,
                no_js: a.no_js,
                fetch_only: a.flood,
            },
        )
    }

    fn client(&self, rng: &mut Rng, spec: Spec<'_>) -> Client {
        let loc = spec.loc;
        let segment = Segment {
            kind: self.kind(&loc),
            country: spec.exit.code,
            device: spec.device,
            quirk: spec.quirk,
            no_js: spec.no_js,
        };
        let Some(pr) = profiles().get(spec.profile) else {
            return Client {
                fetch: RequestFacts::default(),
                submit: RequestFacts::default(),
                signals: Vec::new(),
                phone: None,
                phone_code: None,
                device: spec.device,
                asn: loc.asn,
                prefix: loc.prefix,
                network: loc.network,
                segment,
                round_trip_ms: 0,
            };
        };
        let hosting = segment.kind == NetworkKind::Hosting;
        let tcp = wire::tcp_rtt(rng, segment.kind, self.scenario.drill.rtt_ms);
        let js = wire::js_rtt(rng, tcp, spec.detour_ms);
        let ua = header(&pr.headers, "user-agent").unwrap_or("");
        let cf = CfFacts {
            asn: Some(loc.asn),
            as_organization: Some(if hosting { "hosting".into() } else { "access network".into() }),
            country: Some(spec.exit.code.to_string()),
            timezone: Some(spec.exit.tz.to_string()),
            tls_version: pr.tls_version.clone(),
            tls_cipher: None,
            tls_client_hello_length: Some(wire::hello_length(rng, ua, spec.stack)),
            http_protocol: spec.http.map(str::to_string).or_else(|| pr.http_protocol.clone()),
            client_tcp_rtt: Some(tcp),
            colo: None,
            bot: None,
        };
        let privacy = matches!(spec.signals, SignalsKind::Measured { privacy: true, .. });
        // the person's own language: a browser derives Accept-Language from its settings (a
        // privacy browser says en-US); a script keeps whatever its author copied unless it
        // forges signals, which must agree
        let mut post: Vec<(String, String)> = pr.headers.clone();
        if spec.signals != SignalsKind::None || pr.browser {
            for (k, v) in post.iter_mut() {
                if k == "accept-language" {
                    *v =
                        if privacy { "en-US,en;q=0.5".into() } else { spec.home.accept_language.to_string() };
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
        let signals = match spec.signals {
            SignalsKind::None => Vec::new(),
            SignalsKind::Measured { software_webgl, privacy } => {
                signals_for(pr, spec.home, software_webgl, privacy, js)
            }
            // a forger reports a round trip it recorded from a real browser (the edge reads
            // its own measure from the stamp, which the forger's ping chain gets through the
            // proxy: leaving it out costs as much as the widest gap)
            SignalsKind::Forged => signals_for(pr, spec.home, false, false, 30 + rng.below(91) as u32),
        };
        let code = spec.phone_code.unwrap_or_else(|| spec.home.calling_code.to_string());
        let number = numbers::draw(&code, rng);
        // the widget's challenge request: route, signals and the phone's calling code
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("route", spec.route);
        if !signals.is_empty() {
            q.append_pair("signals", &URL_SAFE_NO_PAD.encode(&signals));
        }
        q.append_pair("phone", &code);
        Client {
            fetch: facts("GET", "/__gate/challenge", Some(q.finish()), fetch_headers),
            submit: if spec.fetch_only {
                RequestFacts::default()
            } else {
                facts("POST", spec.route, None, post)
            },
            signals,
            phone: Some(number),
            phone_code: Some(code),
            device: spec.device,
            asn: loc.asn,
            prefix: loc.prefix,
            network: loc.network,
            segment,
            round_trip_ms: js,
        }
    }
}

/// A weighted pick among names (the US when none).
pub fn pick(rng: &mut Rng, w: &[(String, f64)]) -> String {
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

/// The signals the widget reports for this browser in this country. A headless browser or an
/// old device renders WebGL in software; a privacy browser reports UTC and `en-US`.
fn signals_for(pr: &Profile, country: &Country, software_webgl: bool, privacy: bool, rtt: u32) -> Vec<u8> {
    let ua = header(&pr.headers, "user-agent").unwrap_or("");
    let ua_data = header(&pr.headers, "sec-ch-ua").map(|brands| UaData {
        brands: crate::signals::parse_brands(brands),
        mobile: header(&pr.headers, "sec-ch-ua-mobile").is_some_and(|m| m.trim() == "?1"),
        platform: header(&pr.headers, "sec-ch-ua-platform").unwrap_or("").trim_matches('"').to_string(),
    });
    let desktop_chromium = !pr.mobile && ua.contains("Chrome/");
    let (time_zone, languages) = if privacy {
        ("UTC".to_string(), vec!["en-US".to_string(), "en".to_string()])
    } else {
        (country.tz.to_string(), country.languages.iter().map(|l| l.to_string()).collect())
    };
    let s = ClientSignals {
        v: 1,
        webdriver: Some(false),
        automation: Vec::new(),
        software_renderer: Some(software_webgl),
        outer: Some(if pr.mobile { (390, 844) } else { (1440, 900) }),
        screen: Some(if pr.mobile { (390, 844) } else { (1920, 1080) }),
        time_zone: Some(time_zone),
        languages: Some(languages),
        plugins: Some(if desktop_chromium || !pr.mobile { 5 } else { 0 }),
        ua_data,
        cores: Some(8),
        rtt: Some(rtt),
        rtt_stamp: None,
        edge_rtt: Default::default(),
    };
    serde_json::to_vec(&s).unwrap_or_default()
}

#[cfg(test)]
mod tests;
