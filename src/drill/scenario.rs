//! The scenario file (TOML, version 1): who arrives, from where, how fast, with what, and
//! what the origin can take. `drills/README.md` documents every key; [`load`] reports every
//! problem at once, each with its place (`people[0] "people".networks."x"`), as the policy
//! loader does.

use crate::drill::population::{COUNTRIES, DEVICES};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The scenario format this build reads.
pub const VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// The file as written

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    name: String,
    #[serde(default)]
    description: String,
    duration_secs: u32,
    #[serde(default)]
    seed: u64,
    origin: OriginFile,
    #[serde(default)]
    drill: DrillFile,
    #[serde(default)]
    devices: BTreeMap<String, DeviceFile>,
    #[serde(default)]
    networks: Vec<NetworkFile>,
    #[serde(default)]
    people: Vec<PeopleFile>,
    #[serde(default)]
    attackers: Vec<AttackerFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginFile {
    signup_capacity_per_min: u32,
    #[serde(default)]
    otp_route: Option<String>,
    #[serde(default)]
    otp_capacity_per_min: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DrillFile {
    discount_bits: u32,
    max_queue_secs: u32,
    rtt_ms: u32,
}

impl Default for DrillFile {
    fn default() -> Self {
        DrillFile { discount_bits: 16, max_queue_secs: 60, rtt_ms: 80 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    #[serde(default)]
    hash_rate: Option<f64>,
    #[serde(default)]
    threads: Option<u32>,
    #[serde(default)]
    overhead_ms: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    name: String,
    kind: String,
    #[serde(default)]
    asns: Option<u32>,
    #[serde(default)]
    asn_list: Vec<u32>,
    #[serde(default = "default_prefixes")]
    prefixes: u32,
}

fn default_prefixes() -> u32 {
    16
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeopleFile {
    name: String,
    #[serde(default = "default_route")]
    route: String,
    rate: Vec<(f64, f64)>,
    networks: BTreeMap<String, f64>,
    countries: BTreeMap<String, f64>,
    #[serde(default)]
    devices: BTreeMap<String, f64>,
    #[serde(default)]
    browsers: Vec<String>,
    #[serde(default)]
    patience: PatienceFile,
}

fn default_route() -> String {
    "/signup".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PatienceFile {
    give_up_secs: u32,
    busy_answers: u32,
    retry_probability: f64,
}

impl Default for PatienceFile {
    fn default() -> Self {
        PatienceFile { give_up_secs: 60, busy_answers: 2, retry_probability: 0.5 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttackerFile {
    name: String,
    #[serde(default = "default_route")]
    route: String,
    rate: Vec<(f64, f64)>,
    #[serde(default)]
    budget: BudgetFile,
    networks: BTreeMap<String, f64>,
    #[serde(default)]
    countries: BTreeMap<String, f64>,
    realism: String,
    #[serde(default = "yes")]
    rotate: bool,
    #[serde(default = "default_addresses")]
    addresses: u32,
    #[serde(default)]
    retry_on_busy: bool,
    #[serde(default)]
    replays: u32,
    #[serde(default)]
    flood: bool,
    #[serde(default)]
    phone_codes: Vec<String>,
}

fn yes() -> bool {
    true
}

fn default_addresses() -> u32 {
    16
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetFile {
    #[serde(default)]
    cores: Option<u32>,
    #[serde(default)]
    core_hash_rate: Option<f64>,
    #[serde(default)]
    gpus: Option<u32>,
    #[serde(default)]
    gpu_hash_rate: Option<f64>,
}

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
}

/// Modelling settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillSettings {
    /// Every difficulty in the policy is lowered by this many bits for the real solve; each
    /// client is charged the modelled time for the full price (README § Attack drill).
    pub discount_bits: u8,
    /// An attacker attempt that would wait longer than this for a free core is not sent.
    pub max_queue_secs: u32,
    /// One network round trip, ms (challenge fetch and submission).
    pub rtt_ms: u32,
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
    /// Give up when admission has not happened this long after the first request.
    pub give_up_secs: u32,
    /// Give up after this many busy answers.
    pub busy_answers: u32,
    /// After a busy answer, the chance to retry after `Retry-After` (else give up).
    pub retry_probability: f64,
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
}

/// How real an attacker's requests look.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Realism {
    /// A tool's own User-Agent (curl, python-requests, Go, ...).
    Tool,
    /// A copied Chrome User-Agent on a script: no client hints, no signals.
    CopiedUa,
    /// A stealth headless browser: a real browser's headers, consistent signals, software WebGL.
    Stealth,
    /// A farm of real browsers and phones: indistinguishable from people but for the network.
    BrowserFarm,
}

impl Realism {
    fn parse(s: &str) -> Option<Realism> {
        Some(match s {
            "tool" => Realism::Tool,
            "copied_ua" => Realism::CopiedUa,
            "stealth" => Realism::Stealth,
            "browser_farm" => Realism::BrowserFarm,
            _ => return None,
        })
    }

    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            Realism::Tool => "tool",
            Realism::CopiedUa => "copied_ua",
            Realism::Stealth => "stealth",
            Realism::BrowserFarm => "browser_farm",
        }
    }
}

/// An attacker's solving budget: parallel solvers and their speed.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Parallel solvers (cores, or GPUs).
    pub solvers: u32,
    /// Hashes per second per solver.
    pub hash_rate: f64,
    /// GPUs rather than CPU cores (cost reported in GPU-seconds).
    pub gpu: bool,
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
    /// Calling codes of the phone numbers it submits (SMS pumping); empty: its countries'.
    pub phone_codes: Vec<String>,
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

struct Problems(Vec<ScenarioError>);

impl Problems {
    fn add(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(ScenarioError { location: location.into(), message: message.into() });
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Reads and validates a scenario, reporting every problem at once.
pub fn load(text: &str) -> Result<Scenario, ScenarioErrors> {
    let file: File = toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or("");
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}")
            }
            None => "file".to_string(),
        };
        ScenarioErrors(vec![ScenarioError { location, message: e.message().trim().to_string() }])
    })?;
    let mut p = Problems(Vec::new());
    if file.version != VERSION {
        p.add("version", format!("{} is not supported (this drill reads version {VERSION})", file.version));
    }
    if file.name.trim().is_empty() {
        p.add("name", "must not be empty");
    }
    if !(10..=86_400).contains(&file.duration_secs) {
        p.add("duration_secs", format!("{} is outside 10..=86400", file.duration_secs));
    }
    let duration = f64::from(file.duration_secs);

    if file.origin.signup_capacity_per_min == 0 {
        p.add("origin.signup_capacity_per_min", "must be at least 1");
    }
    if file.origin.otp_capacity_per_min.is_some() && file.origin.otp_route.is_none() {
        p.add("origin.otp_capacity_per_min", "needs origin.otp_route");
    }
    if let Some(r) = &file.origin.otp_route
        && !r.starts_with('/')
    {
        p.add("origin.otp_route", format!("{r:?} is not a path"));
    }

    let d = &file.drill;
    if d.discount_bits > 24 {
        p.add("drill.discount_bits", format!("{} is outside 0..=24", d.discount_bits));
    }
    if !(1..=3600).contains(&d.max_queue_secs) {
        p.add("drill.max_queue_secs", format!("{} is outside 1..=3600", d.max_queue_secs));
    }
    if d.rtt_ms > 10_000 {
        p.add("drill.rtt_ms", format!("{} is outside 0..=10000", d.rtt_ms));
    }

    let mut devices: Vec<Device> = DEVICES
        .iter()
        .map(|&(name, hash_rate, threads, overhead_ms, mobile)| Device {
            name: name.to_string(),
            hash_rate,
            threads,
            overhead_ms,
            mobile,
        })
        .collect();
    for (name, over) in &file.devices {
        let at = format!("devices.{name}");
        let Some(dev) = devices.iter_mut().find(|d| &d.name == name) else {
            p.add(at, format!("not one of {}", device_names()));
            continue;
        };
        if let Some(h) = over.hash_rate {
            if !(h.is_finite() && h > 0.0) {
                p.add(format!("{at}.hash_rate"), format!("{h} is not a positive number"));
            }
            dev.hash_rate = h;
        }
        if let Some(t) = over.threads {
            if !(1..=64).contains(&t) {
                p.add(format!("{at}.threads"), format!("{t} is outside 1..=64"));
            }
            dev.threads = t;
        }
        if let Some(o) = over.overhead_ms {
            dev.overhead_ms = o;
        }
    }

    let mut networks = Vec::new();
    for (i, n) in file.networks.iter().enumerate() {
        let at = format!("networks[{i}] {:?}", n.name);
        if networks.iter().any(|m: &Network| m.name == n.name) {
            p.add(&at, "the name is used by an earlier network");
        }
        let kind = NetworkKind::parse(&n.kind);
        if kind.is_none() {
            p.add(
                format!("{at}.kind"),
                format!("{:?} is not one of residential, mobile, carrier_cgnat, university, hosting", n.kind),
            );
        }
        let asns: Vec<u32> = match (n.asns, n.asn_list.is_empty()) {
            (Some(count), true) => {
                if !(1..=10_000).contains(&count) {
                    p.add(format!("{at}.asns"), format!("{count} is outside 1..=10000"));
                }
                synthetic_asns(i, count.min(10_000))
            }
            (None, false) => {
                for (j, a) in n.asn_list.iter().enumerate() {
                    if *a == 0 {
                        p.add(format!("{at}.asn_list[{j}]"), "0 is not an ASN");
                    } else if kind == Some(NetworkKind::Hosting) && !crate::signals::hosting_asn(*a) {
                        p.add(
                            format!("{at}.asn_list[{j}]"),
                            format!("AS{a} is not on data/hosting-asns.txt: the gate would not see a hosting network"),
                        );
                    } else if kind.is_some_and(|k| k != NetworkKind::Hosting)
                        && crate::signals::hosting_asn(*a)
                    {
                        p.add(
                            format!("{at}.asn_list[{j}]"),
                            format!("AS{a} is on data/hosting-asns.txt: use kind = \"hosting\""),
                        );
                    }
                }
                n.asn_list.clone()
            }
            _ => {
                p.add(&at, "needs either asns (a count) or asn_list");
                Vec::new()
            }
        };
        if kind == Some(NetworkKind::Hosting) && n.asns.is_some() {
            p.add(format!("{at}.asns"), "a hosting network needs asn_list (real hosting ASNs)");
        }
        if !(1..=4096).contains(&n.prefixes) {
            p.add(format!("{at}.prefixes"), format!("{} is outside 1..=4096", n.prefixes));
        }
        networks.push(Network {
            name: n.name.clone(),
            kind: kind.unwrap_or(NetworkKind::Residential),
            asns,
            prefixes: n.prefixes.clamp(1, 4096),
        });
    }

    let mut names: Vec<String> = Vec::new();
    let mut unique = |p: &mut Problems, at: &str, name: &str| {
        if names.iter().any(|n| n == name) {
            p.add(at, "the name is used by an earlier population");
        }
        names.push(name.to_string());
    };

    let mut people = Vec::new();
    for (i, f) in file.people.iter().enumerate() {
        let at = format!("people[{i}] {:?}", f.name);
        unique(&mut p, &at, &f.name);
        check_route(&mut p, &at, &f.route);
        let rate = rate(&mut p, &at, &f.rate, duration);
        let nets = network_weights(&mut p, &at, &f.networks, &networks);
        let countries = country_weights(&mut p, &at, &f.countries, false);
        let devs = if f.devices.is_empty() {
            vec![(0, 1.0)]
        } else {
            let mut v = Vec::new();
            for (name, w) in &f.devices {
                let wat = format!("{at}.devices.{name}");
                weight(&mut p, &wat, *w);
                match devices.iter().position(|d| &d.name == name) {
                    Some(j) => v.push((j, *w)),
                    None => p.add(wat, format!("not one of {}", device_names())),
                }
            }
            nonzero(&mut p, &format!("{at}.devices"), &v);
            v
        };
        for (j, b) in f.browsers.iter().enumerate() {
            if crate::drill::population::browsers_matching(b).is_empty() {
                p.add(
                    format!("{at}.browsers[{j}]"),
                    format!("{b:?} matches no real browser in tests/data/corpus.json"),
                );
            }
        }
        let pa = &f.patience;
        if !(1..=3600).contains(&pa.give_up_secs) {
            p.add(format!("{at}.patience.give_up_secs"), format!("{} is outside 1..=3600", pa.give_up_secs));
        }
        if pa.busy_answers > 20 {
            p.add(format!("{at}.patience.busy_answers"), format!("{} is outside 0..=20", pa.busy_answers));
        }
        probability(&mut p, &format!("{at}.patience.retry_probability"), pa.retry_probability);
        people.push(People {
            name: f.name.clone(),
            route: f.route.clone(),
            rate,
            networks: nets,
            countries,
            devices: devs,
            browsers: f.browsers.clone(),
            patience: Patience {
                give_up_secs: pa.give_up_secs,
                busy_answers: pa.busy_answers,
                retry_probability: pa.retry_probability,
            },
        });
    }

    let mut attackers = Vec::new();
    for (i, f) in file.attackers.iter().enumerate() {
        let at = format!("attackers[{i}] {:?}", f.name);
        unique(&mut p, &at, &f.name);
        check_route(&mut p, &at, &f.route);
        let rate = rate(&mut p, &at, &f.rate, duration);
        let nets = network_weights(&mut p, &at, &f.networks, &networks);
        let countries = if f.countries.is_empty() {
            vec![("US".to_string(), 1.0)]
        } else {
            country_weights(&mut p, &at, &f.countries, true)
        };
        let realism = Realism::parse(&f.realism);
        if realism.is_none() {
            p.add(
                format!("{at}.realism"),
                format!("{:?} is not one of tool, copied_ua, stealth, browser_farm", f.realism),
            );
        }
        let b = &f.budget;
        let budget = match (b.cores, b.gpus) {
            (Some(_), Some(_)) => {
                p.add(format!("{at}.budget"), "names both cores and gpus: one fleet solves on one kind");
                None
            }
            (None, None) if !f.flood => {
                p.add(
                    format!("{at}.budget"),
                    "needs cores or gpus (a challenge flood, flood = true, needs none)",
                );
                None
            }
            (None, None) => Some(Budget { solvers: 1, hash_rate: CORE_HASH_RATE, gpu: false }),
            (Some(cores), None) => {
                if b.gpu_hash_rate.is_some() {
                    p.add(format!("{at}.budget.gpu_hash_rate"), "only applies with gpus");
                }
                Some(Budget {
                    solvers: cores,
                    hash_rate: b.core_hash_rate.unwrap_or(CORE_HASH_RATE),
                    gpu: false,
                })
            }
            (None, Some(gpus)) => {
                if b.core_hash_rate.is_some() {
                    p.add(format!("{at}.budget.core_hash_rate"), "only applies with cores");
                }
                Some(Budget { solvers: gpus, hash_rate: b.gpu_hash_rate.unwrap_or(GPU_HASH_RATE), gpu: true })
            }
        };
        if let Some(b) = &budget {
            if !(1..=1_000_000).contains(&b.solvers) {
                p.add(format!("{at}.budget"), format!("{} solvers is outside 1..=1000000", b.solvers));
            }
            if !(b.hash_rate.is_finite() && b.hash_rate > 0.0) {
                p.add(format!("{at}.budget"), format!("hash rate {} is not a positive number", b.hash_rate));
            }
        }
        if !f.rotate && !(1..=100_000).contains(&f.addresses) {
            p.add(format!("{at}.addresses"), format!("{} is outside 1..=100000", f.addresses));
        }
        if f.replays > 100 {
            p.add(format!("{at}.replays"), format!("{} is outside 0..=100", f.replays));
        }
        if f.flood && f.replays > 0 {
            p.add(format!("{at}.replays"), "a challenge flood never submits, so it has nothing to replay");
        }
        let mut codes = Vec::new();
        for (j, c) in f.phone_codes.iter().enumerate() {
            let digits = c.trim_start_matches('+');
            if !crate::request::phone::is_calling_code(digits) {
                p.add(format!("{at}.phone_codes[{j}]"), format!("{c:?} is not an assigned calling code"));
            }
            codes.push(digits.to_string());
        }
        attackers.push(Attacker {
            name: f.name.clone(),
            route: f.route.clone(),
            rate,
            budget: budget.unwrap_or(Budget { solvers: 1, hash_rate: CORE_HASH_RATE, gpu: false }),
            networks: nets,
            countries,
            realism: realism.unwrap_or(Realism::Tool),
            rotate: f.rotate,
            addresses: f.addresses.max(1),
            retry_on_busy: f.retry_on_busy,
            replays: f.replays,
            flood: f.flood,
            phone_codes: codes,
        });
    }
    if people.is_empty() && attackers.is_empty() {
        p.add("file", "has no [[people]] and no [[attackers]]: nothing would arrive");
    }
    if !p.0.is_empty() {
        return Err(ScenarioErrors(p.0));
    }
    Ok(Scenario {
        name: file.name,
        description: file.description,
        duration_secs: file.duration_secs,
        seed: file.seed,
        origin: Origin {
            signup_capacity_per_min: file.origin.signup_capacity_per_min,
            otp_route: file.origin.otp_route,
            otp_capacity_per_min: file.origin.otp_capacity_per_min,
        },
        drill: DrillSettings {
            discount_bits: u8::try_from(d.discount_bits).unwrap_or(0),
            max_queue_secs: d.max_queue_secs,
            rtt_ms: d.rtt_ms,
        },
        devices,
        networks,
        people,
        attackers,
    })
}

/// A native solver on one core with SHA extensions (README § The browser solver: 24 MH/s).
pub const CORE_HASH_RATE: f64 = 24.0e6;
/// One current consumer GPU on SHA-256 (hashcat mode 1400 on an RTX 4090 is ~22 GH/s).
pub const GPU_HASH_RATE: f64 = 20.0e9;

fn device_names() -> String {
    DEVICES.iter().map(|d| d.0).collect::<Vec<_>>().join(", ")
}

/// ASNs for a network given as a count: from the private 32-bit range (RFC 6996), so they
/// are never on the hosting list and never collide with a real network's.
fn synthetic_asns(network: usize, count: u32) -> Vec<u32> {
    let base = 4_200_000_000u32.saturating_add(u32::try_from(network).unwrap_or(0).saturating_mul(10_000));
    (0..count).map(|i| base.saturating_add(i)).collect()
}

fn check_route(p: &mut Problems, at: &str, route: &str) {
    if !route.starts_with('/') || route.contains(['?', '#', ' ']) {
        p.add(format!("{at}.route"), format!("{route:?} is not a path"));
    }
}

fn rate(p: &mut Problems, at: &str, points: &[(f64, f64)], duration: f64) -> Rate {
    let at = format!("{at}.rate");
    if points.len() < 2 {
        p.add(&at, "needs at least two [seconds, per_second] points");
    }
    let mut last = f64::NEG_INFINITY;
    for (i, (t, r)) in points.iter().enumerate() {
        if !t.is_finite() || *t < 0.0 || *t > duration {
            p.add(format!("{at}[{i}]"), format!("time {t} is outside 0..={duration}"));
        }
        if *t < last {
            p.add(format!("{at}[{i}]"), format!("time {t} is before the previous point's ({last})"));
        }
        last = *t;
        if !r.is_finite() || *r < 0.0 || *r > 1.0e6 {
            p.add(format!("{at}[{i}]"), format!("rate {r} is outside 0..=1000000 per second"));
        }
    }
    Rate(points.to_vec())
}

fn weight(p: &mut Problems, at: &str, w: f64) {
    if !(w.is_finite() && w >= 0.0) {
        p.add(at, format!("weight {w} is not a number >= 0"));
    }
}

fn probability(p: &mut Problems, at: &str, x: f64) {
    if !(0.0..=1.0).contains(&x) {
        p.add(at, format!("{x} is outside 0..=1"));
    }
}

fn nonzero<T>(p: &mut Problems, at: &str, v: &[(T, f64)]) {
    if !v.iter().any(|(_, w)| *w > 0.0) {
        p.add(at, "needs at least one weight above 0");
    }
}

fn network_weights(
    p: &mut Problems,
    at: &str,
    given: &BTreeMap<String, f64>,
    networks: &[Network],
) -> Vec<(usize, f64)> {
    let mut v = Vec::new();
    for (name, w) in given {
        let wat = format!("{at}.networks.{name:?}");
        weight(p, &wat, *w);
        match networks.iter().position(|n| &n.name == name) {
            Some(i) => v.push((i, *w)),
            None => p.add(wat, "no [[networks]] entry has this name"),
        }
    }
    nonzero(p, &format!("{at}.networks"), &v);
    v
}

fn country_weights(p: &mut Problems, at: &str, given: &BTreeMap<String, f64>, _attacker: bool) -> Weights {
    let mut v = Vec::new();
    for (cc, w) in given {
        let wat = format!("{at}.countries.{cc}");
        weight(p, &wat, *w);
        if !COUNTRIES.iter().any(|c| c.code == cc) {
            p.add(
                wat,
                format!(
                    "{cc:?} is not a country the drill knows (time zone, languages, calling code): {}",
                    COUNTRIES.iter().map(|c| c.code).collect::<Vec<_>>().join(" ")
                ),
            );
        }
        v.push((cc.clone(), *w));
    }
    nonzero(p, &format!("{at}.countries"), &v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 1
name = "t"
duration_secs = 60
[origin]
signup_capacity_per_min = 10
[[networks]]
name = "home"
kind = "residential"
asns = 3
[[people]]
name = "p"
rate = [[0, 1.0], [60, 1.0]]
networks = { home = 1.0 }
countries = { US = 1.0 }
"#;

    #[test]
    fn a_minimal_scenario_loads() {
        let s = load(MINIMAL).unwrap();
        assert_eq!(s.networks[0].asns.len(), 3);
        assert_eq!(s.people[0].route, "/signup");
        assert!((s.people[0].rate.expected() - 60.0).abs() < 1e-9);
    }

    #[test]
    fn rates_interpolate_and_vanish_outside() {
        let r = Rate(vec![(10.0, 0.0), (20.0, 10.0), (30.0, 10.0)]);
        assert_eq!(r.at(5.0), 0.0);
        assert!((r.at(15.0) - 5.0).abs() < 1e-9);
        assert_eq!(r.at(25.0), 10.0);
        assert_eq!(r.at(31.0), 0.0);
        assert_eq!(r.peak(), 10.0);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = load("version = 1\nname = \n").unwrap_err();
        assert!(e.0[0].location.starts_with("line 2"), "{e}");
    }
}
