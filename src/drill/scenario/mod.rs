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
    /// client is charged the modelled time for the full price (docs/drill.md § How proof of work is modelled).
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
mod load;

pub use load::load;
