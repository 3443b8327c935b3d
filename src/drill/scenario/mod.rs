//! The scenario file (TOML, version 1): who arrives, from where, how fast, with what, and
//! what the origin can take. `drills/README.md` documents every key; [`load`] reports every
//! problem at once, each with its place (`people[0] "people".networks."x"`), as the policy
//! loader does.

use crate::drill::population::{COUNTRIES, DEVICES};
use std::collections::BTreeMap;
use std::fmt;

/// The scenario format this build reads.
pub const VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// The validated scenario

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short name (reports).
    pub name: String,
    /// What it models.
    pub description: String,
    /// Virtual seconds played.
    pub duration_secs: u32,
    /// The seed used when `--seed` is not given.
    pub seed: u64,
    /// What the origin can take.
    pub origin: Origin,
    /// How the drill models proof of work and the network.
    pub drill: DrillSettings,
    /// What solving costs in money.
    pub money: Money,
    /// Device speed classes (built-in, with the file's overrides).
    pub devices: Vec<Device>,
    /// Named networks.
    pub networks: Vec<Network>,
    /// People.
    pub people: Vec<People>,
    /// Attacker fleets.
    pub attackers: Vec<Attacker>,
}

/// The origin's capacity.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// Sign-ups per minute it can take (every protected route but the OTP route).
    pub signup_capacity_per_min: u32,
    /// The OTP route (SMS sends), counted against its own capacity.
    pub otp_route: Option<String>,
    /// OTP sends per minute (SMS provider limit); unlimited when absent.
    pub otp_capacity_per_min: Option<u32>,
    /// What one SMS costs the site, in the scenario's currency (reports).
    pub sms_price: Option<f64>,
}

/// Modelling settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillSettings {
    /// Every difficulty in the policy is lowered by this many bits for the real solve; each
    /// client is charged the modelled time for the full price (docs/drill.md § How proof of work is modelled).
    pub discount_bits: u8,
    /// An attacker attempt that would wait longer than this for a free core is not sent.
    pub max_queue_secs: u32,
    /// One network round trip, ms (challenge fetch and submission; the median TCP round trip
    /// `cf.clientTcpRtt` reports, each client's own drawn around it).
    pub rtt_ms: u32,
    /// Worker isolates serving the traffic, each with its own controller (docs/drill.md § Attack
    /// mode at scale); every request goes to one of them at random.
    pub isolates: u32,
    /// Mean life of an isolate before it is replaced by a cold one (exponential); 0: never.
    pub isolate_life_secs: u32,
}

/// What the attacker's solving costs in money, and the currency it is stated in.
#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    /// Price of one CPU core for an hour (browser farms' device threads count as cores).
    pub core_hour: f64,
    /// Price of one GPU for an hour.
    pub gpu_hour: f64,
    /// Currency symbol or code, for reports.
    pub currency: String,
}

/// A device speed class.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// `desktop`, `phone`, `old_phone`, `no_simd`, `js_fallback`.
    pub name: String,
    /// Hashes per second per thread.
    pub hash_rate: f64,
    /// Solver threads.
    pub threads: u32,
    /// Fixed cost of a solve (worker start, signals), ms.
    pub overhead_ms: u32,
    /// A phone (draws mobile browsers from the corpus).
    pub mobile: bool,
}

/// What kind of network.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NetworkKind {
    /// Home broadband.
    Residential,
    /// Mobile carrier.
    Mobile,
    /// A carrier's CGNAT: thousands of clients behind a few addresses.
    CarrierCgnat,
    /// A university.
    University,
    /// Hosting, cloud or colocation (ASNs on data/hosting-asns.txt).
    Hosting,
}

impl NetworkKind {
    fn parse(s: &str) -> Option<NetworkKind> {
        Some(match s {
            "residential" => NetworkKind::Residential,
            "mobile" => NetworkKind::Mobile,
            "carrier_cgnat" => NetworkKind::CarrierCgnat,
            "university" => NetworkKind::University,
            "hosting" => NetworkKind::Hosting,
            _ => return None,
        })
    }

    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::Residential => "residential",
            NetworkKind::Mobile => "mobile",
            NetworkKind::CarrierCgnat => "carrier_cgnat",
            NetworkKind::University => "university",
            NetworkKind::Hosting => "hosting",
        }
    }
}

/// A named network: a set of ASNs, each with some /24s.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Name (populations refer to it).
    pub name: String,
    /// Kind.
    pub kind: NetworkKind,
    /// Its ASNs.
    pub asns: Vec<u32>,
    /// /24s per ASN.
    pub prefixes: u32,
    /// Where its ASNs are (a national carrier: mostly one country), weighted; each ASN is in
    /// one of them ([`Network::country_of`]). Empty: its ASNs serve any country.
    pub countries: Weights,
}

impl Network {
    /// The country of the network's `a`-th ASN: the countries' weights split the ASN list in
    /// order, so the split is part of the scenario, not of the seed. `None` when the network
    /// names no countries.
    pub fn country_of(&self, a: usize) -> Option<&str> {
        let total: f64 = self.countries.iter().map(|c| c.1).sum();
        if self.countries.is_empty() || total <= 0.0 {
            return None;
        }
        // the middle of ASN a's slot in [0, 1)
        let x = (a as f64 + 0.5) / self.asns.len().max(1) as f64 * total;
        let mut acc = 0.0;
        for (cc, w) in &self.countries {
            acc += w;
            if x < acc {
                return Some(cc);
            }
        }
        self.countries.last().map(|c| c.0.as_str())
    }
}

/// Arrival rate over time: per second, linear between points, zero outside them.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate(pub Vec<(f64, f64)>);

impl Rate {
    /// The rate at `t` seconds.
    pub fn at(&self, t: f64) -> f64 {
        let mut prev: Option<(f64, f64)> = None;
        for &(pt, pr) in &self.0 {
            if t < pt {
                return match prev {
                    None => 0.0,
                    Some((qt, qr)) if pt > qt => qr + (pr - qr) * (t - qt) / (pt - qt),
                    Some((_, qr)) => qr,
                };
            }
            if t == pt {
                return pr;
            }
            prev = Some((pt, pr));
        }
        0.0
    }

    /// The highest rate (for thinning).
    pub fn peak(&self) -> f64 {
        self.0.iter().map(|p| p.1).fold(0.0, f64::max)
    }

    /// The expected number of arrivals over the run.
    pub fn expected(&self) -> f64 {
        self.0
            .windows(2)
            .map(|w| match w {
                [a, b] => (b.0 - a.0) * (a.1 + b.1) / 2.0,
                _ => 0.0,
            })
            .sum()
    }
}

/// Weights over names (networks, countries, devices), in file order.
pub type Weights = Vec<(String, f64)>;

/// How people behave when the gate is slow or busy.
#[derive(Clone, Debug, PartialEq)]
pub struct Patience {
    /// Give up when admission has not happened this long after pressing submit (the felt
    /// wait; fleets retrying like a person: after their first request).
    pub give_up_secs: u32,
    /// Give up after this many busy answers.
    pub busy_answers: u32,
    /// After a busy answer, the chance to come back (else give up).
    pub retry_probability: f64,
    /// After a busy answer, come back this long later on average (exponential), or after the
    /// gate's `Retry-After` when not stated.
    pub come_back_secs: Option<u32>,
    /// In a waiting line that shows the place and the estimated wait, give up when the felt
    /// wait would pass this (people wait longer for a turn they can see than for a spinner).
    pub line_secs: u32,
}

/// How long people take to fill in the form, from the first focus (where the widget starts)
/// to pressing submit: log-normal through the median and the 90th percentile.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Fill {
    /// Median, seconds (0: no fill time, as before fill times were modelled).
    pub median_secs: f64,
    /// 90th percentile, seconds (>= the median).
    pub p90_secs: f64,
}

impl Fill {
    /// One person's fill time, ms.
    pub fn draw_ms(&self, rng: &mut crate::drill::rng::Rng) -> u64 {
        if self.median_secs <= 0.0 {
            return 0;
        }
        // z of the 90th percentile of the standard normal
        let sigma = (self.p90_secs / self.median_secs).max(1.0).ln() / 1.281_551_565_5;
        // Box-Muller: a standard normal from two uniforms
        let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (self.median_secs * (sigma * z).exp() * 1000.0).min(3_600_000.0) as u64
    }
}

/// A population of people.
#[derive(Clone, Debug, PartialEq)]
pub struct People {
    /// Name (reports).
    pub name: String,
    /// The protected route they sign up on.
    pub route: String,
    /// Arrivals per second over time.
    pub rate: Rate,
    /// Indices into `Scenario::networks`, weighted.
    pub networks: Vec<(usize, f64)>,
    /// Country codes, weighted.
    pub countries: Weights,
    /// Device classes (indices into `Scenario::devices`), weighted.
    pub devices: Vec<(usize, f64)>,
    /// Corpus entry name filters (substrings, case-insensitive); empty: every real browser.
    pub browsers: Vec<String>,
    /// Patience.
    pub patience: Patience,
    /// Form-fill time (the widget banks during it).
    pub fill: Fill,
    /// Shares of people whose browser or network trips a check (the rest are "as is").
    pub quirks: Vec<(Quirk, f64)>,
    /// Where the VPN users among them exit (hosting networks), weighted.
    pub vpn_networks: Vec<(usize, f64)>,
    /// Share of people whose browser runs no JavaScript (they take the no-JS path where the
    /// policy turns it on, else they are turned away).
    pub no_js: f64,
    /// Whether they enter the codes they are sent (none: they never check one).
    pub verify: Option<Verify>,
}

/// Something about a person's browser or network that trips a check (docs/drill-tiers.md
/// § People as they are gives the source of each).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quirk {
    /// A browser that resists fingerprinting (Tor Browser, Mullvad Browser, Firefox's
    /// `resistFingerprinting`): time zone UTC, languages `en-US`.
    Privacy,
    /// A commercial VPN: the exit is a hosting network, maybe in another country, and the
    /// tunnel adds to the JavaScript round trip.
    Vpn,
    /// A TLS-intercepting middlebox (antivirus, corporate proxy): the ClientHello Cloudflare
    /// sees is the middlebox's, not the browser's.
    Intercepted,
    /// An old device: an old Chromium (no client hints), WebGL in software, a slow solver.
    OldDevice,
}

impl Quirk {
    /// Every quirk, in report order.
    pub const ALL: [Quirk; 4] = [Quirk::Privacy, Quirk::Vpn, Quirk::Intercepted, Quirk::OldDevice];

    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::Privacy => "privacy",
            Quirk::Vpn => "vpn",
            Quirk::Intercepted => "intercepted",
            Quirk::OldDevice => "old_device",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Quirk> {
        Quirk::ALL.iter().copied().find(|q| q.name() == s)
    }
}

/// How real an attacker's requests look: the tiers that exist in the wild, cheapest first
/// (docs/drill-tiers.md gives each one's source).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Realism {
    /// A tool's own User-Agent (curl, python-requests, Go, ...).
    Tool,
    /// A copied Chrome User-Agent on a script: no client hints, no signals.
    CopiedUa,
    /// A script sending a real browser's complete header set (client hints, fetch metadata),
    /// without the widget's signals; solves natively.
    FullHeaders,
    /// The same plus the widget's signals, forged to match (recorded from a real browser, time
    /// zone and languages set to the exit's country); solves natively.
    ForgedSignals,
    /// A stealth headless browser: a real browser's headers, consistent signals, software WebGL.
    Stealth,
    /// A farm of real browsers on real desktops (anti-detect browsers): people's headers and
    /// signals, solving in the browser.
    BrowserFarm,
    /// A farm of real phones on a mobile carrier: mobile browsers, solving on the phone.
    PhoneFarm,
}

impl Realism {
    /// Every tier, cheapest first.
    pub const ALL: [Realism; 7] = [
        Realism::Tool,
        Realism::CopiedUa,
        Realism::FullHeaders,
        Realism::ForgedSignals,
        Realism::Stealth,
        Realism::BrowserFarm,
        Realism::PhoneFarm,
    ];

    fn parse(s: &str) -> Option<Realism> {
        Realism::ALL.iter().copied().find(|r| r.name() == s)
    }

    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            Realism::Tool => "tool",
            Realism::CopiedUa => "copied_ua",
            Realism::FullHeaders => "full_headers",
            Realism::ForgedSignals => "forged_signals",
            Realism::Stealth => "stealth",
            Realism::BrowserFarm => "browser_farm",
            Realism::PhoneFarm => "phone_farm",
        }
    }

    /// A script (no browser): its TLS is a library's unless it impersonates one.
    pub fn script(self) -> bool {
        matches!(self, Realism::Tool | Realism::CopiedUa | Realism::FullHeaders | Realism::ForgedSignals)
    }

    /// Sends the widget's client signals.
    pub fn signals(self) -> bool {
        matches!(self, Realism::ForgedSignals | Realism::Stealth | Realism::BrowserFarm | Realism::PhoneFarm)
    }

    /// Wears a real browser's header set (and so may choose which browsers).
    pub fn browser_headers(self) -> bool {
        !matches!(self, Realism::Tool | Realism::CopiedUa)
    }
}

/// Whose TLS a script speaks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Its HTTP library's (Python, Go, Node, curl on OpenSSL): a short, classical ClientHello.
    Library,
    /// The claimed browser's, impersonated (curl-impersonate, curl_cffi, tls-client).
    Impersonated,
}

/// An attacker's solving budget: parallel solvers and their speed.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Parallel solvers (cores, GPUs, or devices).
    pub solvers: u32,
    /// Hashes per second per solver (cores and GPUs; a device solves at its class's rate).
    pub hash_rate: f64,
    /// GPUs rather than CPU cores (cost reported in GPU-seconds).
    pub gpu: bool,
    /// Real devices of the fleet's device classes, each solving in its browser at its class's
    /// rate on its threads (cost: the threads' core-seconds).
    pub devices: bool,
}

/// An attacker fleet.
#[derive(Clone, Debug, PartialEq)]
pub struct Attacker {
    /// Name (reports).
    pub name: String,
    /// The protected route it hits.
    pub route: String,
    /// Attempts per second over time.
    pub rate: Rate,
    /// Solving budget.
    pub budget: Budget,
    /// Indices into `Scenario::networks`, weighted.
    pub networks: Vec<(usize, f64)>,
    /// Claimed countries (signals' time zone and language), weighted.
    pub countries: Weights,
    /// How real the requests look.
    pub realism: Realism,
    /// A fresh address (and network draw) for every attempt; else `addresses` fixed ones.
    pub rotate: bool,
    /// Fixed addresses when not rotating.
    pub addresses: u32,
    /// Retry after `Retry-After` when shed (else give up on that attempt).
    pub retry_on_busy: bool,
    /// Each admitted solution is sent again this many times.
    pub replays: u32,
    /// Fetch challenges and never submit (a challenge flood).
    pub flood: bool,
    /// Post the form as a browser without JavaScript (the policy's no-JS path: the wait page,
    /// then "Continue"): no work, only the path's budget.
    pub no_js: bool,
    /// Calling codes of the phone numbers it submits (SMS pumping); empty: its countries'.
    pub phone_codes: Vec<String>,
    /// Number ranges it asks codes for (its calling codes come from them).
    pub phone_ranges: Vec<PhoneRange>,
    /// One number after another in each range (pumping); else scattered in them.
    pub sequential: bool,
    /// Whether it enters the codes it is sent (an SMS-activation farm does; pumping does not).
    pub verify: Option<Verify>,
    /// Corpus entry name filters for the browsers it wears (empty: the tier's default).
    pub browsers: Vec<String>,
    /// Device classes (browser and phone farms: which browsers, and how fast they solve).
    pub devices: Vec<(usize, f64)>,
    /// Whose TLS a script speaks.
    pub tls: Tls,
    /// Through a residential proxy: the detour added to the browser's round trip, ms (a
    /// range, drawn per attempt); `None`: the fleet's own address.
    pub proxy: Option<(u32, u32)>,
    /// How it adapts (all off by default).
    pub adapt: Adapt,
    /// What a sign-up (or a pumped SMS) is worth to it, in the scenario's currency.
    pub value: Option<Value>,
}

/// What an admitted attempt is worth to a fleet.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Per account created.
    PerAccount(f64),
    /// Per SMS sent (SMS pumping: a share of the termination fee).
    PerSms(f64),
}

impl Value {
    /// The amount.
    pub fn amount(&self) -> f64 {
        match self {
            Value::PerAccount(v) | Value::PerSms(v) => *v,
        }
    }
}

/// How a fleet adapts to the gate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adapt {
    /// Attacks in bursts: on for `on_secs`, off for `off_secs` (to let counters decay).
    pub pulse: Option<Pulse>,
    /// The most it pays for one sign-up; above it it waits or stops.
    pub ceiling: Option<Ceiling>,
    /// Fetches and solves while the price is low, and submits in bursts.
    pub stockpile: Option<Stockpile>,
    /// Moves to the network and country that are cheapest now.
    pub cheapest_cohort: bool,
    /// After a busy answer, retries as a person does (a fresh challenge after `Retry-After`,
    /// with this patience) instead of resending or giving up.
    pub like_a_person: Option<Patience>,
}

/// On/off bursts.
#[derive(Clone, Debug, PartialEq)]
pub struct Pulse {
    /// Seconds on.
    pub on_secs: u32,
    /// Seconds off.
    pub off_secs: u32,
}

impl Pulse {
    /// Whether the fleet is attacking at `t` seconds.
    pub fn on(&self, t: f64) -> bool {
        let period = f64::from(self.on_secs + self.off_secs);
        period <= 0.0 || t.rem_euclid(period) < f64::from(self.on_secs)
    }
}

/// A price ceiling per sign-up.
#[derive(Clone, Debug, PartialEq)]
pub struct Ceiling {
    /// The most one sign-up may cost.
    pub limit: Cost,
    /// What the fleet does when a challenge is priced above it.
    pub then: AboveCeiling,
}

/// A cost, in core-seconds (GPU-seconds for a GPU fleet) or money.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cost {
    /// Solver-seconds (core-seconds, GPU-seconds for GPUs).
    SolverSeconds(f64),
    /// Money, in the scenario's currency.
    Money(f64),
}

/// What a fleet does when the price passes its ceiling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AboveCeiling {
    /// Pauses this many seconds, then looks again.
    Wait(u32),
    /// Stops for good.
    Stop,
}

/// Stockpiling: solve while cheap, submit later in bursts.
#[derive(Clone, Debug, PartialEq)]
pub struct Stockpile {
    /// Solutions are held and submitted together every this many seconds (within the
    /// challenge's lifetime).
    pub every_secs: u32,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem with a scenario, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// `line 3, column 7` for syntax errors; a path such as `attackers[1] "gpu".budget` otherwise.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

pub(super) struct Problems(Vec<ScenarioError>);

impl Problems {
    fn add(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(ScenarioError { location: location.into(), message: message.into() });
    }
}

/// A native solver on one core with SHA extensions (docs/performance.md § The browser solver: 24 MH/s).
pub const CORE_HASH_RATE: f64 = 24.0e6;
/// One current consumer GPU on SHA-256 (hashcat mode 1400 on an RTX 4090 is ~22 GH/s).
pub const GPU_HASH_RATE: f64 = 20.0e9;

mod file;
mod fleet;
mod load;
mod sms;
pub use sms::{PhoneRange, Verify};

pub use load::load;
