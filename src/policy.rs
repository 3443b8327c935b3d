//! The policy: what operators edit instead of code (README § Policy).
//!
//! A TOML file (`policy/gate.toml`, bundled into the Worker at build time) declares the
//! protected and pass-through routes, the base price, the fingerprint thresholds, per-cohort
//! attack mode, and ordered rules that allow, price, deny or shed requests by country, ASN,
//! CIDR, User-Agent, risk reasons and phone calling code. [`load`] reports every problem at
//! once with its location; [`Policy::decide`] is pure: the edge passes in what it knows, the
//! cohort state read from the counters, and gets back the outcome (and, in shadow mode, the
//! outcome that would have been enforced).

use crate::request::route::{self, Route};
use crate::signals::{Assessment, RiskPolicy, Verdict as RiskVerdict};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// The policy format version this build reads.
pub const VERSION: u32 = 1;

/// The policy file bundled at build time, as JSON (build.rs converts the TOML).
pub const BUNDLED: &str = include_str!(concat!(env!("OUT_DIR"), "/policy.json"));
/// Where the bundled policy came from, relative to the crate.
pub const BUNDLED_PATH: &str = env!("GATE_POLICY_PATH");
/// [`fingerprint`] of the bundled TOML file, as `gate policy check` prints it.
pub const BUNDLED_FINGERPRINT: &str = env!("GATE_POLICY_FINGERPRINT");

/// The two spellings of a policy: TOML (the file operators edit) and JSON (what the Worker
/// reads: the bundled file converted at build time, or a `POLICY` var made with
/// `gate policy json`). Builds without the `toml` feature read only JSON.
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Just the routes of a policy that may be invalid elsewhere, so that a broken policy can
/// still tell protected routes (kept closed) from the rest (kept working).
pub fn routes_only(text: &str) -> Option<(Vec<Route>, Vec<Route>)> {
    let mut document: serde_json::Value =
        if is_json(text) { serde_json::from_str(text).ok()? } else { toml_document(text)? };
    let routes: RoutesFile = serde_json::from_value(document.get_mut("routes")?.take()).ok()?;
    let protected: Vec<Route> =
        routes.protected.iter().map(|s| Route::parse(s)).collect::<Result<_, _>>().ok()?;
    let pass: Vec<Route> = routes.pass.iter().map(|s| Route::parse(s)).collect::<Result<_, _>>().ok()?;
    (!protected.is_empty()).then_some((protected, pass))
}

/// A short fingerprint of a policy text (first 8 bytes of SHA-256, hex), for logs and stats.
pub fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::protocol::key::hex(Sha256::digest(text.as_bytes()).get(..8).unwrap_or(&[]))
}

// ---------------------------------------------------------------------------------------------
// The file

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    #[serde(default)]
    defaults: DefaultsFile,
    #[serde(default)]
    risk: RiskFile,
    routes: RoutesFile,
    #[serde(default)]
    attack: AttackFile,
    #[serde(default)]
    rules: Vec<RuleFile>,
    #[serde(default)]
    no_js: NoJsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct NoJsFile {
    routes: Vec<String>,
    wait_secs: u32,
    ttl_secs: u32,
    window_secs: u32,
    busy_at: std::collections::BTreeMap<String, u32>,
}

impl Default for NoJsFile {
    fn default() -> Self {
        NoJsFile {
            routes: Vec::new(),
            wait_secs: 5,
            ttl_secs: 600,
            window_secs: 600,
            busy_at: [("asn", 10), ("ip_prefix", 3), ("site", 60)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DefaultsFile {
    difficulty: u32,
    k: u32,
    shadow: bool,
}

impl Default for DefaultsFile {
    fn default() -> Self {
        DefaultsFile { difficulty: 17, k: 32, shadow: false }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RiskFile {
    more_work_at: u32,
    deny_at: u32,
    max_extra_bits: u32,
}

impl Default for RiskFile {
    fn default() -> Self {
        let d = RiskPolicy::default();
        RiskFile {
            more_work_at: d.more_work_at,
            deny_at: d.deny_at,
            max_extra_bits: u32::from(d.max_extra_bits),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    protected: Vec<String>,
    #[serde(default)]
    pass: Vec<String>,
    #[serde(default)]
    phone_field: Option<String>,
    #[serde(default)]
    phone_code_field: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AttackFile {
    enabled: bool,
    window_secs: u32,
    cohorts: Vec<String>,
    levels: Vec<LevelFile>,
    cohort_levels: std::collections::BTreeMap<String, Vec<LevelFile>>,
    global_ceiling: Option<u32>,
    panic: bool,
    panic_cohorts: Vec<String>,
    retry_after_secs: u32,
}

impl Default for AttackFile {
    fn default() -> Self {
        AttackFile {
            enabled: true,
            window_secs: 60,
            cohorts: CohortKind::ALL.iter().map(|k| k.name().to_string()).collect(),
            levels: vec![
                LevelFile { at: 20, extra_bits: Some(2), busy: false },
                LevelFile { at: 50, extra_bits: Some(4), busy: false },
                LevelFile { at: 100, extra_bits: None, busy: true },
            ],
            cohort_levels: [
                ("country", vec![(600, Some(1)), (2000, Some(3))]),
                ("ua_family", vec![(600, Some(1)), (2000, Some(3))]),
                ("phone_code", vec![(60, Some(2)), (200, Some(4)), (600, None)]),
            ]
            .into_iter()
            .map(|(kind, levels)| {
                let levels = levels
                    .into_iter()
                    .map(|(at, extra_bits)| LevelFile { at, extra_bits, busy: extra_bits.is_none() })
                    .collect();
                (kind.to_string(), levels)
            })
            .collect(),
            global_ceiling: None,
            panic: false,
            panic_cohorts: Vec::new(),
            retry_after_secs: 120,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    at: u32,
    #[serde(default)]
    extra_bits: Option<u32>,
    #[serde(default)]
    busy: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    action: String,
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    when: ConditionsFile,
    #[serde(default)]
    not: Option<ConditionsFile>,
    #[serde(default)]
    difficulty: Option<u32>,
    #[serde(default)]
    k: Option<u32>,
    #[serde(default)]
    shadow: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ConditionsFile {
    country: Vec<String>,
    asn: Vec<u32>,
    cidr: Vec<String>,
    user_agent: Vec<String>,
    reasons: Vec<String>,
    phone_code: Vec<String>,
    risk_at_least: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// The validated policy

/// A validated policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Base difficulty (leading zero bits per sub-puzzle).
    pub difficulty: u8,
    /// Base number of sub-puzzles.
    pub k: u8,
    /// Global shadow mode: decide and log, but enforce only the base price.
    pub shadow: bool,
    /// Fingerprint thresholds.
    pub risk: RiskPolicy,
    /// Routes that need a solved challenge.
    pub protected: Vec<Route>,
    /// Routes that are never gated, even if a protected pattern covers them.
    pub pass: Vec<Route>,
    /// Form/JSON field with the full phone number (international form).
    pub phone_field: Option<String>,
    /// Form/JSON field with just the calling code (`+86`).
    pub phone_code_field: Option<String>,
    /// Per-cohort attack mode.
    pub attack: Attack,
    /// Ordered rules: the first match decides.
    pub rules: Vec<Rule>,
    /// The no-JavaScript sign-up path (off unless it lists routes).
    pub no_js: NoJs,
}

/// The no-JavaScript sign-up path: a browser that did not run the widget waits instead of
/// solving, within a small budget of its own (README § No JavaScript).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoJs {
    /// Normalized protected paths where it is on (empty: off).
    pub routes: Vec<String>,
    /// Seconds between the wait page and the earliest accepted "Continue".
    pub wait_secs: u32,
    /// Seconds a wait token is valid after it is issued.
    pub ttl_secs: u32,
    /// The no-JS counters' decay time: a budget is "no-JS sign-ups per window".
    pub window_secs: u32,
    /// From this rate on a cohort's no-JS sign-ups are shed (`None`: the whole site).
    pub busy_at: Vec<(Option<CohortKind>, u32)>,
}

/// Prefix of the no-JS path's cohort keys, so they are counted apart from the JS path's.
pub const NO_JS_PREFIX: &str = "nojs:";

impl NoJs {
    /// Whether the path is on for a protected route.
    pub fn allows(&self, route: &str) -> bool {
        self.routes.iter().any(|r| r == route)
    }

    /// The no-JS cohort keys of a request: `nojs:asn:64500`, `nojs:ip_prefix:…`, `nojs:site`.
    pub fn keys(&self, s: &Subject<'_>) -> Vec<CohortKey> {
        let kinds: Vec<CohortKind> = self.busy_at.iter().filter_map(|(k, _)| *k).collect();
        let mut keys: Vec<CohortKey> =
            s.cohorts(&kinds).into_iter().map(|k| CohortKey(format!("{NO_JS_PREFIX}{}", k.0))).collect();
        if self.busy_at.iter().any(|(k, _)| k.is_none()) {
            keys.push(CohortKey(format!("{NO_JS_PREFIX}site")));
        }
        keys
    }

    /// Why no-JS sign-ups are shed for this request, if they are: a no-JS cohort's rate (read
    /// from the counters) at its budget, or a run-time site panic. Pure.
    pub fn shed(&self, state: &CohortState) -> Option<String> {
        if state.panicked.contains(&CohortKey::site()) {
            return Some("panic: site".into());
        }
        for (key, rate) in &state.rates {
            let Some(rest) = key.0.strip_prefix(NO_JS_PREFIX) else { continue };
            let kind =
                if rest == "site" { None } else { CohortKind::parse(rest.split(':').next().unwrap_or("")) };
            if kind.is_none() && rest != "site" {
                continue;
            }
            if let Some((_, at)) = self.busy_at.iter().find(|(k, _)| *k == kind)
                && *rate >= f64::from(*at)
            {
                return Some(format!("no-JS cohort {key} at {rate:.1}/window, budget {at}"));
            }
        }
        None
    }
}

/// Per-cohort attack mode settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Attack {
    /// Counting and escalation on.
    pub enabled: bool,
    /// The counters' decay time constant: a rate is "sign-ups per window".
    pub window_secs: u32,
    /// Which cohorts are counted.
    pub cohorts: Vec<CohortKind>,
    /// Escalation levels, by rising rate.
    pub levels: Vec<Level>,
    /// Levels for particular kinds (broad cohorts such as a country see far more sign-ups
    /// than one network), instead of `levels`.
    pub cohort_levels: Vec<(CohortKind, Vec<Level>)>,
    /// Site-wide rate above which every sign-up is shed.
    pub global_ceiling: Option<u32>,
    /// Site-wide panic: shed every sign-up.
    pub panic: bool,
    /// Cohorts shed outright.
    pub panic_cohorts: Vec<CohortKey>,
    /// `Retry-After` for shed requests, seconds.
    pub retry_after_secs: u32,
}

/// One escalation level.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// From this rate on (sign-ups per window).
    pub at: u32,
    /// Extra difficulty bits; `None` for the shedding level.
    pub extra_bits: Option<u8>,
    /// Shed (`busy`).
    pub busy: bool,
}

/// A kind of cohort the counters track.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortKind {
    /// Autonomous system.
    Asn,
    /// IPv4 /24 or IPv6 /48.
    IpPrefix,
    /// Country.
    Country,
    /// Browser or tool family from the User-Agent.
    UaFamily,
    /// Phone calling code of the sign-up.
    PhoneCode,
}

impl Attack {
    /// The escalation levels for a cohort: its kind's own, or the common ones.
    pub fn levels_for(&self, cohort: &CohortKey) -> &[Level] {
        let kind = cohort.kind();
        self.cohort_levels.iter().find(|(k, _)| Some(*k) == kind).map_or(&self.levels, |(_, l)| l)
    }
}

impl CohortKind {
    /// Every kind.
    pub const ALL: [CohortKind; 5] = [
        CohortKind::Asn,
        CohortKind::IpPrefix,
        CohortKind::Country,
        CohortKind::UaFamily,
        CohortKind::PhoneCode,
    ];

    /// The name used in the policy and in cohort keys.
    pub fn name(self) -> &'static str {
        match self {
            CohortKind::Asn => "asn",
            CohortKind::IpPrefix => "ip_prefix",
            CohortKind::Country => "country",
            CohortKind::UaFamily => "ua_family",
            CohortKind::PhoneCode => "phone_code",
        }
    }

    fn parse(name: &str) -> Option<CohortKind> {
        CohortKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A cohort: `asn:16509`, `ip_prefix:203.0.113.0/24`, `country:CN`, `ua_family:curl`,
/// `phone_code:86`; or the whole site.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CohortKey(pub String);

impl CohortKey {
    /// The site-wide pseudo-cohort (global ceiling and site panic).
    pub fn site() -> CohortKey {
        CohortKey("site".into())
    }

    /// A key of a kind and value.
    pub fn new(kind: CohortKind, value: &str) -> CohortKey {
        CohortKey(format!("{}:{}", kind.name(), value))
    }

    /// The kind, unless this is the site key.
    pub fn kind(&self) -> Option<CohortKind> {
        CohortKind::parse(self.0.split(':').next().unwrap_or(""))
    }
}

impl fmt::Display for CohortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ordered rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Unique name (logs, replay).
    pub name: String,
    /// Normalized protected paths it applies to (empty: all).
    pub routes: Vec<String>,
    /// All of these must hold.
    pub when: Conditions,
    /// None of these may hold.
    pub not: Option<Conditions>,
    /// What to do.
    pub action: Action,
    /// Log only.
    pub shadow: bool,
}

/// What a rule does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The base price, exempt from risk pricing and attack escalation (not from a panic).
    Allow,
    /// Set the price; risk and attack mode add to it.
    Challenge {
        /// Difficulty instead of the default.
        difficulty: Option<u8>,
        /// Sub-puzzles instead of the default.
        k: Option<u8>,
    },
    /// Refuse (`403 denied`).
    Deny,
    /// Shed (`503 busy`).
    Busy,
}

/// Match conditions: each list matches if any entry matches; a rule's conditions all must.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conditions {
    /// ISO country codes.
    pub countries: Vec<String>,
    /// ASNs.
    pub asns: Vec<u32>,
    /// CIDR blocks.
    pub cidrs: Vec<Cidr>,
    /// Glob patterns (`*` any run, `?` one character) over the User-Agent, case-insensitive.
    pub user_agents: Vec<String>,
    /// Fingerprint reason codes.
    pub reasons: Vec<String>,
    /// Phone calling codes (digits).
    pub phone_codes: Vec<String>,
    /// Risk score at least this.
    pub risk_at_least: Option<u32>,
}

/// An IPv4 or IPv6 block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `203.0.113.0/24` or `2001:db8::/32` (a bare address is a /32 or /128).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr.trim().parse().map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.trim().parse::<u8>().map_err(|_| format!("{s:?} has an invalid prefix length"))?,
        };
        if prefix > max {
            return Err(format!("{s:?}: prefix length {prefix} exceeds {max}"));
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The cohort an address belongs to: IPv4 /24, IPv6 /48.
pub fn ip_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading and validation

/// One problem with a policy, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// `line 3, column 7` for syntax errors; a path such as `rules[2] "cn-only".cidr[0]` otherwise.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy: {} problem{}: ", self.0.len(), if self.0.len() == 1 { "" } else { "s" })?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

struct Problems(Vec<PolicyError>);

impl Problems {
    fn add(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(PolicyError { location: location.into(), message: message.into() });
    }
}

/// Reads and validates a policy, reporting every problem at once.
pub fn load(text: &str) -> Result<Policy, PolicyErrors> {
    let file = read(text).map_err(|e| PolicyErrors(vec![e]))?;
    let mut p = Problems(Vec::new());
    if file.version != VERSION {
        p.add("version", format!("{} is not supported (this gate reads version {VERSION})", file.version));
    }

    let difficulty = in_range(&mut p, "defaults.difficulty", file.defaults.difficulty, 1, 32);
    let k = in_range(&mut p, "defaults.k", file.defaults.k, 1, 64);
    let risk = RiskPolicy {
        more_work_at: file.risk.more_work_at,
        deny_at: file.risk.deny_at,
        max_extra_bits: in_range(&mut p, "risk.max_extra_bits", file.risk.max_extra_bits, 0, 15),
    };
    if risk.deny_at <= risk.more_work_at {
        p.add(
            "risk.deny_at",
            format!("{} must be above risk.more_work_at ({})", risk.deny_at, risk.more_work_at),
        );
    }

    let mut protected = Vec::new();
    if file.routes.protected.is_empty() {
        p.add("routes.protected", "lists no route");
    }
    for (i, spec) in file.routes.protected.iter().enumerate() {
        match Route::parse(spec) {
            Ok(r) => protected.push(r),
            Err(e) => p.add(format!("routes.protected[{i}]"), e.to_string()),
        }
    }
    let mut pass = Vec::new();
    for (i, spec) in file.routes.pass.iter().enumerate() {
        match Route::parse(spec) {
            Ok(r) => pass.push(r),
            Err(e) => p.add(format!("routes.pass[{i}]"), e.to_string()),
        }
    }
    for (name, field) in [
        ("routes.phone_field", &file.routes.phone_field),
        ("routes.phone_code_field", &file.routes.phone_code_field),
    ] {
        if let Some(f) = field
            && (f.is_empty()
                || f.len() > 64
                || !f.chars().all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c)))
        {
            p.add(name, format!("{f:?} is not a form or JSON field name"));
        }
    }

    let attack = attack(&mut p, &file.attack);
    let phone_known = file.routes.phone_field.is_some() || file.routes.phone_code_field.is_some();
    if attack.cohorts.contains(&CohortKind::PhoneCode)
        && !phone_known
        && file.attack.cohorts != AttackFile::default().cohorts
    {
        p.add("attack.cohorts", "phone_code needs routes.phone_field or routes.phone_code_field");
    }

    let mut rules = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, r) in file.rules.iter().enumerate() {
        let at = format!("rules[{i}] {:?}", r.name);
        if r.name.trim().is_empty() {
            p.add(format!("rules[{i}]"), "needs a name");
        } else if names.contains(&r.name.as_str()) {
            p.add(&at, "the name is used by an earlier rule");
        }
        names.push(&r.name);
        let action = match r.action.as_str() {
            "allow" => Some(Action::Allow),
            "deny" => Some(Action::Deny),
            "busy" => Some(Action::Busy),
            "challenge" => Some(Action::Challenge {
                difficulty: r.difficulty.map(|d| in_range(&mut p, format!("{at}.difficulty"), d, 1, 32)),
                k: r.k.map(|k| in_range(&mut p, format!("{at}.k"), k, 1, 64)),
            }),
            other => {
                p.add(
                    format!("{at}.action"),
                    format!("{other:?} is not one of allow, challenge, deny, busy"),
                );
                None
            }
        };
        if r.action != "challenge" && (r.difficulty.is_some() || r.k.is_some()) {
            p.add(&at, "difficulty and k only apply to action \"challenge\"");
        }
        let mut routes = Vec::new();
        for (j, path) in r.routes.iter().enumerate() {
            let normalized = route::MatchKey::of(path).full;
            if !path.starts_with('/') {
                p.add(format!("{at}.routes[{j}]"), format!("{path:?} is not a path"));
            } else if route::named(&protected, path).is_none() {
                p.add(
                    format!("{at}.routes[{j}]"),
                    format!("{path:?} is not a protected route, so the rule would never apply"),
                );
            }
            routes.push(normalized);
        }
        let when = conditions(&mut p, &format!("{at}.when"), &r.when, phone_known);
        let not = r.not.as_ref().map(|c| conditions(&mut p, &format!("{at}.not"), c, phone_known));
        if let Some(action) = action {
            rules.push(Rule { name: r.name.clone(), routes, when, not, action, shadow: r.shadow });
        }
    }

    let no_js = no_js(&mut p, &file.no_js, &protected, phone_known);

    if !p.0.is_empty() {
        return Err(PolicyErrors(p.0));
    }
    Ok(Policy {
        difficulty,
        k,
        shadow: file.defaults.shadow,
        risk,
        protected,
        pass,
        phone_field: file.routes.phone_field,
        phone_code_field: file.routes.phone_code_field,
        attack,
        rules,
        no_js,
    })
}

fn no_js(p: &mut Problems, f: &NoJsFile, protected: &[Route], phone_known: bool) -> NoJs {
    let mut routes = Vec::new();
    for (i, path) in f.routes.iter().enumerate() {
        let normalized = route::MatchKey::of(path).full;
        if !path.starts_with('/') {
            p.add(format!("no_js.routes[{i}]"), format!("{path:?} is not a path"));
        } else if route::named(protected, path).is_none() {
            p.add(
                format!("no_js.routes[{i}]"),
                format!("{path:?} is not a protected route (the no-JS path only replaces a challenge)"),
            );
        }
        routes.push(normalized);
    }
    if !(1..=600).contains(&f.wait_secs) {
        p.add("no_js.wait_secs", format!("{} is outside 1..=600", f.wait_secs));
    }
    if !(10..=3600).contains(&f.ttl_secs) {
        p.add("no_js.ttl_secs", format!("{} is outside 10..=3600", f.ttl_secs));
    } else if f.ttl_secs < f.wait_secs.saturating_add(60) {
        p.add(
            "no_js.ttl_secs",
            format!(
                "{} leaves under a minute after no_js.wait_secs ({}) to press Continue",
                f.ttl_secs, f.wait_secs
            ),
        );
    }
    if !(10..=3600).contains(&f.window_secs) {
        p.add("no_js.window_secs", format!("{} is outside 10..=3600", f.window_secs));
    }
    let mut busy_at = Vec::new();
    for (name, at) in &f.busy_at {
        let place = format!("no_js.busy_at.{name}");
        let kind = match name.as_str() {
            "site" => Some(None),
            other => CohortKind::parse(other).map(Some),
        };
        match kind {
            None => p.add(place, "not one of site, asn, ip_prefix, country, ua_family, phone_code"),
            Some(kind) => {
                if *at == 0 {
                    p.add(
                        &place,
                        "0 would shed every no-JS sign-up; leave no_js.routes empty to turn the path off",
                    );
                }
                if kind == Some(CohortKind::PhoneCode) && !phone_known {
                    p.add(&place, "phone_code needs routes.phone_field or routes.phone_code_field");
                }
                busy_at.push((kind, *at));
            }
        }
    }
    if !f.routes.is_empty() && f.busy_at.is_empty() {
        p.add("no_js.busy_at", "lists no budget: the no-JS path needs at least one (its only price is time)");
    }
    NoJs { routes, wait_secs: f.wait_secs, ttl_secs: f.ttl_secs, window_secs: f.window_secs, busy_at }
}

/// Parses either spelling into the file's structure; a syntax or type error has a line and
/// column.
fn read(text: &str) -> Result<File, PolicyError> {
    if is_json(text) {
        return serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            // serde_json appends " at line L column C"; the location says it already
            let message = match message.rfind(" at line ") {
                Some(at) => message.get(..at).unwrap_or(&message).to_string(),
                None => message,
            };
            PolicyError { location: format!("line {}, column {}", e.line(), e.column()), message }
        });
    }
    read_toml(text)
}

#[cfg(feature = "toml")]
fn read_toml(text: &str) -> Result<File, PolicyError> {
    toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or("");
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}")
            }
            None => "file".to_string(),
        };
        PolicyError { location, message: e.message().trim().to_string() }
    })
}

#[cfg(not(feature = "toml"))]
fn read_toml(_text: &str) -> Result<File, PolicyError> {
    Err(PolicyError {
        location: "file".to_string(),
        message: "is not JSON: the Worker reads a policy as JSON (the bundled file is converted \
                  at build time; for the POLICY var, convert with `gate policy json FILE`)"
            .to_string(),
    })
}

/// A valid TOML policy as one line of JSON, the form the Worker reads (`gate policy json`).
#[cfg(feature = "toml")]
pub fn to_json(text: &str) -> Result<String, PolicyErrors> {
    load(text)?;
    toml_document(text).map(|d| d.to_string()).ok_or_else(|| {
        PolicyErrors(vec![PolicyError { location: "file".into(), message: "is not TOML".into() }])
    })
}

#[cfg(feature = "toml")]
fn toml_document(text: &str) -> Option<serde_json::Value> {
    serde_json::to_value(toml::from_str::<toml::Table>(text).ok()?).ok()
}

#[cfg(not(feature = "toml"))]
fn toml_document(_text: &str) -> Option<serde_json::Value> {
    None
}

fn in_range(p: &mut Problems, at: impl Into<String>, value: u32, min: u32, max: u32) -> u8 {
    if value < min || value > max {
        p.add(at, format!("{value} is outside {min}..={max}"));
    }
    u8::try_from(value.clamp(min, max)).unwrap_or(u8::MAX)
}

/// Escalation levels: rising `at`, each with extra bits or (the last) busy.
fn level_list(p: &mut Problems, at: &str, list: &[LevelFile]) -> Vec<Level> {
    let mut levels = Vec::new();
    let mut last_at = 0;
    for (i, l) in list.iter().enumerate() {
        let at = format!("{at}[{i}]");
        if l.at <= last_at {
            p.add(&at, format!("at = {} must be above the previous level's ({last_at})", l.at));
        }
        last_at = l.at;
        match (l.extra_bits, l.busy) {
            (Some(_), true) | (None, false) => p.add(&at, "needs either extra_bits or busy = true"),
            _ => {}
        }
        if l.busy && i + 1 != list.len() {
            p.add(&at, "the busy level must be the last");
        }
        let extra_bits = l.extra_bits.map(|b| in_range(p, format!("{at}.extra_bits"), b, 1, 15));
        levels.push(Level { at: l.at, extra_bits, busy: l.busy });
    }
    levels
}

fn attack(p: &mut Problems, a: &AttackFile) -> Attack {
    if !(10..=3600).contains(&a.window_secs) {
        p.add("attack.window_secs", format!("{} is outside 10..=3600", a.window_secs));
    }
    let mut cohorts = Vec::new();
    for (i, name) in a.cohorts.iter().enumerate() {
        match CohortKind::parse(name) {
            Some(k) => cohorts.push(k),
            None => p.add(
                format!("attack.cohorts[{i}]"),
                format!("{name:?} is not one of asn, ip_prefix, country, ua_family, phone_code"),
            ),
        }
    }
    let levels = level_list(p, "attack.levels", &a.levels);
    let mut cohort_levels = Vec::new();
    for (name, list) in &a.cohort_levels {
        let at = format!("attack.cohort_levels.{name}");
        match CohortKind::parse(name) {
            Some(kind) => cohort_levels.push((kind, level_list(p, &at, list))),
            None => p.add(at, "not one of asn, ip_prefix, country, ua_family, phone_code"),
        }
    }
    let mut panic_cohorts = Vec::new();
    for (i, c) in a.panic_cohorts.iter().enumerate() {
        let kind =
            c.split_once(':').and_then(|(k, v)| (!v.is_empty()).then_some(k)).and_then(CohortKind::parse);
        match kind {
            Some(_) => panic_cohorts.push(CohortKey(c.clone())),
            None => p.add(
                format!("attack.panic_cohorts[{i}]"),
                format!("{c:?} is not kind:value (e.g. \"asn:16509\")"),
            ),
        }
    }
    if a.retry_after_secs == 0 || a.retry_after_secs > 86_400 {
        p.add("attack.retry_after_secs", format!("{} is outside 1..=86400", a.retry_after_secs));
    }
    Attack {
        enabled: a.enabled,
        window_secs: a.window_secs,
        cohorts,
        levels,
        cohort_levels,
        global_ceiling: a.global_ceiling,
        panic: a.panic,
        panic_cohorts,
        retry_after_secs: a.retry_after_secs,
    }
}

fn conditions(p: &mut Problems, at: &str, c: &ConditionsFile, phone_known: bool) -> Conditions {
    for (i, cc) in c.country.iter().enumerate() {
        if cc.len() != 2 || !cc.chars().all(|ch| ch.is_ascii_alphabetic()) {
            p.add(format!("{at}.country[{i}]"), format!("{cc:?} is not a two-letter country code"));
        }
    }
    for (i, asn) in c.asn.iter().enumerate() {
        if *asn == 0 {
            p.add(format!("{at}.asn[{i}]"), "0 is not an ASN");
        }
    }
    let mut cidrs = Vec::new();
    for (i, s) in c.cidr.iter().enumerate() {
        match Cidr::parse(s) {
            Ok(c) => cidrs.push(c),
            Err(e) => p.add(format!("{at}.cidr[{i}]"), e),
        }
    }
    for (i, g) in c.user_agent.iter().enumerate() {
        if g.is_empty() || g.len() > 256 {
            p.add(format!("{at}.user_agent[{i}]"), "a pattern must have 1 to 256 characters");
        }
    }
    for (i, r) in c.reasons.iter().enumerate() {
        if crate::signals::reason_code(r).is_none() {
            p.add(
                format!("{at}.reasons[{i}]"),
                format!("{r:?} is not a fingerprint reason code (README § Fingerprint checks)"),
            );
        }
    }
    let mut phone_codes = Vec::new();
    for (i, code) in c.phone_code.iter().enumerate() {
        let digits = code.trim_start_matches('+');
        if !crate::request::phone::is_calling_code(digits) {
            p.add(format!("{at}.phone_code[{i}]"), format!("{code:?} is not an assigned calling code"));
        }
        phone_codes.push(digits.to_string());
    }
    if !c.phone_code.is_empty() && !phone_known {
        p.add(format!("{at}.phone_code"), "needs routes.phone_field or routes.phone_code_field");
    }
    Conditions {
        countries: c.country.iter().map(|s| s.to_ascii_uppercase()).collect(),
        asns: c.asn.clone(),
        cidrs,
        user_agents: c.user_agent.iter().map(|s| s.to_ascii_lowercase()).collect(),
        reasons: c.reasons.clone(),
        phone_codes,
        risk_at_least: c.risk_at_least,
    }
}

// ---------------------------------------------------------------------------------------------
// Deciding

/// Something known, or not yet known (a phone number at challenge time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known<T> {
    /// Not known yet: conditions on it neither hold nor fail.
    Unknown,
    /// Known.
    Is(T),
}

/// What the edge knows about a request when deciding.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    /// The protected route (normalized path).
    pub route: &'a str,
    /// `cf.country`.
    pub country: Option<&'a str>,
    /// `cf.asn`.
    pub asn: Option<u32>,
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The User-Agent header.
    pub user_agent: Option<&'a str>,
    /// The fingerprint assessment.
    pub assessment: &'a Assessment,
    /// The phone calling code of the sign-up.
    pub phone_code: Known<Option<String>>,
}

impl Subject<'_> {
    /// The cohorts this request belongs to, for the kinds the policy counts.
    pub fn cohorts(&self, kinds: &[CohortKind]) -> Vec<CohortKey> {
        let mut out = Vec::new();
        for kind in kinds {
            let value = match kind {
                CohortKind::Asn => self.asn.map(|a| a.to_string()),
                CohortKind::IpPrefix => self.ip.map(ip_prefix),
                CohortKind::Country => self.country.map(str::to_ascii_uppercase),
                CohortKind::UaFamily => Some(
                    crate::request::user_agent::UserAgent::parse(self.user_agent.unwrap_or(""))
                        .family
                        .name()
                        .to_string(),
                ),
                CohortKind::PhoneCode => match &self.phone_code {
                    Known::Is(Some(code)) => Some(code.clone()),
                    _ => None,
                },
            };
            if let Some(v) = value {
                out.push(CohortKey::new(*kind, &v));
            }
        }
        out
    }
}

/// What the counters say, read by the edge before deciding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CohortState {
    /// Current rates (sign-ups per window) of the request's cohorts.
    pub rates: Vec<(CohortKey, f64)>,
    /// Site-wide rate.
    pub site_rate: f64,
    /// Cohorts (or `site`) an operator switched to panic at run time.
    pub panicked: Vec<CohortKey>,
}

/// The outcome for a protected request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Accept work at this price.
    Price {
        /// Leading zero bits per sub-puzzle.
        difficulty: u8,
        /// Sub-puzzles.
        k: u8,
    },
    /// Refuse (`403 denied`).
    Deny,
    /// Shed (`503 busy`).
    Busy,
}

impl Outcome {
    /// `price`, `deny` or `busy`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Price { .. } => "price",
            Outcome::Deny => "deny",
            Outcome::Busy => "busy",
        }
    }
}

/// A decision: what is enforced, why, and what shadow mode would have done.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// What happens.
    pub outcome: Outcome,
    /// Why, in words for the log (`rule "x"`, `risk 85`, `cohort asn:16509 at 130/window`, ...).
    pub why: String,
    /// The rule that decided, if any.
    pub rule: Option<String>,
    /// The highest attack level reached by the request's cohorts (0: none).
    pub level: usize,
    /// In shadow mode: what would have been enforced, and why.
    pub shadow: Option<(Outcome, String)>,
}

impl Policy {
    /// How a request's path is judged: refused (unsafe and not canonical), protected, or not.
    pub fn judge<'a>(&'a self, methods: &[&str], raw_path: &str, query: Option<&str>) -> route::Judged<'a> {
        route::judge_target(&self.protected, &self.pass, methods, raw_path, query)
    }

    /// The protected route covering a request, unless a pass-through route covers it (or
    /// the path is refused).
    pub fn route_for<'a>(&'a self, methods: &[&str], raw_path: &str) -> Option<&'a Route> {
        match self.judge(methods, raw_path, None) {
            route::Judged::Protected(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the price of a sign-up on `route` can depend on its phone calling code (a rule
    /// for it names calling codes, or attack mode counts them): then the widget sends the code
    /// with the challenge request.
    pub fn phone_matters(&self, route: &str) -> bool {
        if self.phone_field.is_none() && self.phone_code_field.is_none() {
            return false;
        }
        let counted = self.attack.enabled && self.attack.cohorts.contains(&CohortKind::PhoneCode);
        counted
            || self.rules.iter().any(|r| {
                (r.routes.is_empty() || r.routes.iter().any(|p| p == route))
                    && (!r.when.phone_codes.is_empty()
                        || r.not.as_ref().is_some_and(|n| !n.phone_codes.is_empty()))
            })
    }

    /// The attack level a rate reaches (0: none; i + 1 for `levels[i]`).
    pub fn level_for(&self, cohort: &CohortKey, rate: f64) -> usize {
        self.attack.levels_for(cohort).iter().take_while(|l| rate >= f64::from(l.at)).count()
    }

    /// The level a cohort's rate reaches (0: none), and that level.
    fn reached(&self, cohort: &CohortKey, rate: f64) -> (usize, Option<&Level>) {
        let n = self.level_for(cohort, rate);
        (n, n.checked_sub(1).and_then(|i| self.attack.levels_for(cohort).get(i)))
    }

    /// The first rule matching the subject (`include_shadow`: also rules in shadow mode).
    pub fn matching_rule(&self, s: &Subject<'_>, include_shadow: bool) -> Option<&Rule> {
        self.rules.iter().filter(|r| include_shadow || !r.shadow).find(|r| r.matches(s))
    }

    /// Decides a protected request. Pure.
    pub fn decide(&self, s: &Subject<'_>, cohorts: &CohortState) -> Decision {
        let full = self.evaluate(s, cohorts, true);
        if self.shadow {
            let base = Outcome::Price { difficulty: self.difficulty, k: self.k };
            let shadow = (full.outcome != base).then(|| (full.outcome.clone(), full.why.clone()));
            return Decision {
                outcome: base,
                why: "shadow mode: base price".into(),
                rule: None,
                level: full.level,
                shadow,
            };
        }
        if full.rule.as_ref().is_some_and(|name| self.rules.iter().any(|r| &r.name == name && r.shadow)) {
            let mut enforced = self.evaluate(s, cohorts, false);
            enforced.shadow = Some((full.outcome, full.why));
            return enforced;
        }
        full
    }

    fn evaluate(&self, s: &Subject<'_>, cohorts: &CohortState, include_shadow: bool) -> Decision {
        let decision = |outcome: Outcome, why: String, rule: Option<&Rule>, level: usize| Decision {
            outcome,
            why,
            rule: rule.map(|r| r.name.clone()),
            level,
            shadow: None,
        };
        // panic switches: the whole site, or one of the request's cohorts
        let mine = s.cohorts(&CohortKind::ALL);
        if self.attack.panic || cohorts.panicked.contains(&CohortKey::site()) {
            return decision(Outcome::Busy, "panic: site".into(), None, 0);
        }
        if let Some(c) =
            mine.iter().find(|c| self.attack.panic_cohorts.contains(c) || cohorts.panicked.contains(c))
        {
            return decision(Outcome::Busy, format!("panic: {c}"), None, 0);
        }

        let rule = self.matching_rule(s, include_shadow);
        let (mut difficulty, mut k) = (self.difficulty, self.k);
        match rule.map(|r| r.action) {
            Some(Action::Deny) => {
                return decision(
                    Outcome::Deny,
                    format!("rule {:?}", rule.map(|r| r.name.as_str()).unwrap_or("")),
                    rule,
                    0,
                );
            }
            Some(Action::Busy) => {
                return decision(
                    Outcome::Busy,
                    format!("rule {:?}", rule.map(|r| r.name.as_str()).unwrap_or("")),
                    rule,
                    0,
                );
            }
            Some(Action::Allow) => {
                return decision(
                    Outcome::Price { difficulty, k },
                    format!("rule {:?}: base price", rule.map(|r| r.name.as_str()).unwrap_or("")),
                    rule,
                    0,
                );
            }
            Some(Action::Challenge { difficulty: d, k: kk }) => {
                difficulty = d.unwrap_or(difficulty);
                k = kk.unwrap_or(k);
            }
            None => {}
        }
        let mut why = match rule {
            Some(r) => vec![format!("rule {:?}", r.name)],
            None => Vec::new(),
        };

        // fingerprint risk
        match self.risk.verdict(difficulty, s.assessment.score) {
            RiskVerdict::Deny => {
                return decision(Outcome::Deny, format!("risk {}", s.assessment.score), rule, 0);
            }
            RiskVerdict::Work(d) => {
                if d > difficulty {
                    why.push(format!("risk {} +{}", s.assessment.score, d - difficulty));
                }
                difficulty = d;
            }
        }

        // attack mode: the site ceiling, then the highest level among the request's cohorts
        let mut level = 0;
        if self.attack.enabled {
            if let Some(ceiling) = self.attack.global_ceiling
                && cohorts.site_rate >= f64::from(ceiling)
            {
                return decision(
                    Outcome::Busy,
                    format!("site at {:.0}/window, ceiling {ceiling}", cohorts.site_rate),
                    rule,
                    0,
                );
            }
            // the worst-placed counted cohort decides: shedding beats extra bits, more bits
            // beat fewer (each kind has its own levels, so raw rates are not compared)
            let mut worst: Option<(&CohortKey, f64, usize, &Level)> = None;
            for (cohort, rate) in &cohorts.rates {
                if !cohort.kind().is_some_and(|k| self.attack.cohorts.contains(&k)) {
                    continue;
                }
                if let (n, Some(l)) = self.reached(cohort, *rate) {
                    let severity = |l: &Level| if l.busy { u8::MAX } else { l.extra_bits.unwrap_or(0) };
                    if worst.is_none_or(|(_, _, _, w)| severity(l) > severity(w)) {
                        worst = Some((cohort, *rate, n, l));
                    }
                }
            }
            if let Some((cohort, rate, n, l)) = worst {
                level = n;
                if l.busy {
                    return decision(
                        Outcome::Busy,
                        format!("cohort {cohort} at {rate:.0}/window (level {level})"),
                        rule,
                        level,
                    );
                }
                let extra = l.extra_bits.unwrap_or(0);
                difficulty = difficulty.saturating_add(extra).min(32);
                why.push(format!("cohort {cohort} at {rate:.0}/window +{extra}"));
            }
        }
        let why = if why.is_empty() { "base price".to_string() } else { why.join(", ") };
        decision(Outcome::Price { difficulty, k }, why, rule, level)
    }
}

impl Rule {
    fn matches(&self, s: &Subject<'_>) -> bool {
        if !self.routes.is_empty() && !self.routes.iter().any(|r| r == s.route) {
            return false;
        }
        if self.when.test(s) != Some(true) {
            return false;
        }
        match &self.not {
            None => true,
            // `not` holds only when none of its conditions is known to hold
            Some(not) => not.test_any(s) == Some(false),
        }
    }
}

impl Conditions {
    /// All set conditions hold: `Some(true)`; one fails: `Some(false)`; otherwise unknown.
    fn test(&self, s: &Subject<'_>) -> Option<bool> {
        let mut unknown = false;
        for result in self.each(s) {
            match result {
                Some(false) => return Some(false),
                None => unknown = true,
                Some(true) => {}
            }
        }
        if unknown { None } else { Some(true) }
    }

    /// Any set condition holds: `Some(true)`; all fail: `Some(false)`; otherwise unknown.
    fn test_any(&self, s: &Subject<'_>) -> Option<bool> {
        let mut unknown = false;
        for result in self.each(s) {
            match result {
                Some(true) => return Some(true),
                None => unknown = true,
                Some(false) => {}
            }
        }
        if unknown { None } else { Some(false) }
    }

    fn each(&self, s: &Subject<'_>) -> Vec<Option<bool>> {
        let mut out = Vec::new();
        if !self.countries.is_empty() {
            out.push(Some(
                s.country.is_some_and(|c| self.countries.iter().any(|x| x.eq_ignore_ascii_case(c))),
            ));
        }
        if !self.asns.is_empty() {
            out.push(Some(s.asn.is_some_and(|a| self.asns.contains(&a))));
        }
        if !self.cidrs.is_empty() {
            out.push(Some(s.ip.is_some_and(|ip| self.cidrs.iter().any(|c| c.contains(ip)))));
        }
        if !self.user_agents.is_empty() {
            let ua = s.user_agent.unwrap_or("").to_ascii_lowercase();
            out.push(Some(self.user_agents.iter().any(|g| glob(g, &ua))));
        }
        if !self.reasons.is_empty() {
            out.push(Some(self.reasons.iter().any(|r| s.assessment.has(r))));
        }
        if !self.phone_codes.is_empty() {
            out.push(match &s.phone_code {
                Known::Unknown => None,
                Known::Is(code) => Some(code.as_ref().is_some_and(|c| self.phone_codes.contains(c))),
            });
        }
        if let Some(min) = self.risk_at_least {
            out.push(Some(s.assessment.score >= min));
        }
        out
    }
}

/// Glob match: `*` any run of characters, `?` exactly one (both sides already lower-case).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ti;
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ti = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

// ---------------------------------------------------------------------------------------------
// Counters (the pure part of the cohort Durable Objects)

/// An exponentially decaying count: roughly "events in the last `window`".
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// The count at `at_ms`.
    pub value: f64,
    /// When it was last updated, ms since the epoch.
    pub at_ms: f64,
}

impl Counter {
    /// The count decayed to `now_ms`.
    pub fn at(&self, now_ms: f64, window_secs: u32) -> f64 {
        let dt = ((now_ms - self.at_ms) / 1000.0).max(0.0);
        self.value * (-dt / f64::from(window_secs.max(1))).exp()
    }

    /// Adds one event at `now_ms`.
    pub fn add(&self, now_ms: f64, window_secs: u32) -> Counter {
        Counter { value: self.at(now_ms, window_secs) + 1.0, at_ms: now_ms.max(self.at_ms) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Reason;

    const SAMPLE: &str = include_str!("../policy/gate.toml");

    fn subject<'a>(a: &'a Assessment) -> Subject<'a> {
        Subject {
            route: "/signup",
            country: Some("DE"),
            asn: Some(3320),
            ip: "198.51.100.9".parse().ok(),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0"),
            assessment: a,
            phone_code: Known::Is(None),
        }
    }

    #[test]
    fn no_js_is_off_by_default_and_has_its_own_budget() {
        let off = load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n").unwrap();
        assert!(!off.no_js.allows("/signup"));
        let on =
            load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n[no_js]\nroutes = [\"/SignUp/\"]\n")
                .unwrap();
        assert!(on.no_js.allows("/signup"), "routes are normalized like the rules' routes");
        assert_eq!((on.no_js.wait_secs, on.no_js.ttl_secs, on.no_js.window_secs), (5, 600, 600));
        let a = Assessment::default();
        let keys = on.no_js.keys(&subject(&a));
        let names: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(names, ["nojs:asn:3320", "nojs:ip_prefix:198.51.100.0/24", "nojs:site"]);
        // the JS path never counts or reads these: their kind is not a JS cohort kind
        assert!(keys.iter().all(|k| k.kind().is_none()));
        let state = |rates: &[(&str, f64)]| CohortState {
            rates: rates.iter().map(|(k, r)| (CohortKey((*k).to_string()), *r)).collect(),
            ..CohortState::default()
        };
        assert_eq!(
            on.no_js.shed(&state(&[("nojs:asn:3320", 9.9), ("nojs:ip_prefix:198.51.100.0/24", 2.9)])),
            None
        );
        let why = on
            .no_js
            .shed(&state(&[("nojs:asn:3320", 1.0), ("nojs:ip_prefix:198.51.100.0/24", 3.0)]))
            .unwrap();
        assert!(why.contains("nojs:ip_prefix:198.51.100.0/24") && why.contains("budget 3"), "{why}");
        assert!(on.no_js.shed(&state(&[("nojs:site", 60.0)])).is_some());
        // a JS cohort at any rate does not shed the no-JS path here (the JS decision does that)
        assert_eq!(on.no_js.shed(&state(&[("asn:3320", 500.0), ("nojs:planet:1", 99.0)])), None);
        let panicked = CohortState { panicked: vec![CohortKey::site()], ..CohortState::default() };
        assert_eq!(on.no_js.shed(&panicked).as_deref(), Some("panic: site"));
    }

    #[test]
    fn the_shipped_policy_loads() {
        let p = load(SAMPLE).unwrap();
        assert!(!p.protected.is_empty());
        assert_eq!((p.difficulty, p.k), (17, 32));
    }

    #[test]
    fn the_bundled_json_is_the_shipped_toml() {
        // build.rs converts policy/gate.toml (GATE_POLICY unset in `cargo test`)
        assert!(is_json(BUNDLED));
        assert_eq!(load(BUNDLED).unwrap(), load(SAMPLE).unwrap());
        assert_eq!(BUNDLED_FINGERPRINT, fingerprint(SAMPLE));
        assert_eq!(BUNDLED_PATH, "policy/gate.toml");
        // what `gate policy json` prints for the POLICY var reads back as the same policy
        let json = to_json(SAMPLE).unwrap();
        assert!(is_json(&json) && !json.contains('\n'));
        assert_eq!(load(&json).unwrap(), load(SAMPLE).unwrap());
        assert!(to_json("version = 1\n[defaults]\nk = 0\n").is_err(), "only a valid policy");
    }

    #[test]
    fn json_reads_like_toml() {
        let toml = "version = 1\n[defaults]\ndifficulty = 12\n[routes]\nprotected = [\"POST /join\"]\nphone_field = \"tel\"\n\
                    [[rules]]\nname = \"cn\"\nwhen = { phone_code = [\"86\"], asn = [4134] }\naction = \"allow\"\n";
        let json = r#"{"version": 1, "defaults": {"difficulty": 12}, "routes": {"protected": ["POST /join"], "phone_field": "tel"},
                       "rules": [{"name": "cn", "when": {"phone_code": ["86"], "asn": [4134]}, "action": "allow"}]}"#;
        assert_eq!(load(json).unwrap(), load(toml).unwrap());
        assert_eq!(routes_only(json), routes_only(toml));
        // validation is the same, with the same places
        let e = load(r#"{"version": 1, "defaults": {"k": 0}, "routes": {"protected": ["POST /join"]}}"#)
            .unwrap_err();
        assert_eq!(e.0[0].to_string(), "defaults.k: 0 is outside 1..=64");
        // syntax and type errors have a line and column, once
        let e = load("{\"version\": 1,\n \"routes\": {\"protected\": 7}}").unwrap_err();
        assert_eq!(e.0[0].location, "line 2, column 26", "{e}");
        assert!(!e.0[0].message.contains(" at line "), "{e}");
        let e = load("{\"version\": 1, \"routez\": {}}").unwrap_err();
        assert!(e.0[0].message.contains("unknown field `routez`"), "{e}");
    }

    #[test]
    fn routes_survive_errors_elsewhere() {
        let text = "version = 9\n[defaults]\nk = 0\n[routes]\nprotected = [\"POST /signup\"]\npass = [\"POST /login\"]\n";
        assert!(load(text).is_err());
        let (protected, pass) = routes_only(text).unwrap();
        assert_eq!((protected.len(), pass.len()), (1, 1));
        assert!(routes_only("version = 1\n[routes]\nprotected = [\"bad\"]\n").is_none());
        assert!(routes_only("not toml [").is_none());
        assert!(routes_only("{\"routes\": ").is_none());
        assert_eq!(fingerprint("x").len(), 16);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = load("version = 1\n[routes]\nprotected = [\"POST /signup\"\n").unwrap_err();
        assert!(e.0[0].location.starts_with("line "), "{e}");
    }

    #[test]
    fn cidr_table() {
        let cases = [
            ("203.0.113.0/24", "203.0.113.77", true),
            ("203.0.113.0/24", "203.0.114.1", false),
            ("10.0.0.1", "10.0.0.1", true),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("2001:db8::/32", "203.0.113.1", false),
            ("::/0", "::1", true),
        ];
        for (cidr, ip, want) in cases {
            assert_eq!(Cidr::parse(cidr).unwrap().contains(ip.parse().unwrap()), want, "{cidr} {ip}");
        }
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope/8").is_err());
        assert_eq!(ip_prefix("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(ip_prefix("2001:db8:abcd:1::5".parse().unwrap()), "2001:db8:abcd::/48");
    }

    #[test]
    fn glob_table() {
        let cases = [
            ("curl/*", "curl/8.5.0", true),
            ("*headless*", "mozilla headlesschrome/1", true),
            ("python-?equests*", "python-requests/2", true),
            ("curl/*", "xcurl/8", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob(p, t), want, "{p} {t}");
        }
    }

    #[test]
    fn counters_decay() {
        let mut c = Counter::default();
        for i in 0..60 {
            c = c.add(f64::from(i) * 1000.0, 60);
        }
        let now = 59_000.0;
        assert!((30.0..60.0).contains(&c.at(now, 60)), "{}", c.at(now, 60));
        assert!(c.at(now + 300_000.0, 60) < 1.0, "decays back after a few windows");
    }

    #[test]
    fn decisions_follow_rules_risk_and_attack() {
        let p = load(
            r#"
version = 1
[routes]
protected = ["POST /signup", "POST /otp"]
phone_field = "phone"
[attack]
levels = [{ at = 10, extra_bits = 2 }, { at = 20, extra_bits = 4 }, { at = 40, busy = true }]
global_ceiling = 500
[[rules]]
name = "office"
when = { cidr = ["203.0.113.0/24"] }
action = "allow"
[[rules]]
name = "cn otp only"
routes = ["/otp"]
not = { phone_code = ["86"] }
action = "deny"
[[rules]]
name = "tools"
when = { reasons = ["ua_automation"] }
action = "busy"
[[rules]]
name = "try harder"
when = { country = ["FR"] }
action = "challenge"
difficulty = 20
shadow = true
"#,
        )
        .unwrap();
        let clean = Assessment::default();
        let risky = Assessment { score: 45, ..Default::default() };
        let tool = Assessment {
            score: 80,
            reasons: vec![Reason { code: "ua_automation", weight: 80, detail: String::new() }],
        };
        let none = CohortState::default();
        let price = |d, k| Outcome::Price { difficulty: d, k };

        let s = subject(&clean);
        assert_eq!(p.decide(&s, &none).outcome, price(17, 32));
        // allow wins over attack mode but not over a panic
        let office = Subject { ip: "203.0.113.5".parse().ok(), ..subject(&risky) };
        let hot = CohortState {
            rates: vec![(CohortKey::new(CohortKind::Asn, "3320"), 45.0)],
            ..Default::default()
        };
        assert_eq!(p.decide(&office, &hot).outcome, price(17, 32));
        let panicked = CohortState { panicked: vec![CohortKey::site()], ..Default::default() };
        assert_eq!(p.decide(&office, &panicked).outcome, Outcome::Busy);
        // risk adds bits, attack levels add more, the top level sheds
        assert_eq!(p.decide(&subject(&risky), &none).outcome, price(19, 32));
        let warm = CohortState {
            rates: vec![(CohortKey::new(CohortKind::Asn, "3320"), 12.0)],
            ..Default::default()
        };
        assert_eq!(p.decide(&subject(&risky), &warm).outcome, price(21, 32));
        assert_eq!(p.decide(&s, &hot).outcome, Outcome::Busy);
        assert_eq!(p.decide(&s, &hot).level, 3);
        // the site ceiling
        let site = CohortState { site_rate: 600.0, ..Default::default() };
        assert_eq!(p.decide(&s, &site).outcome, Outcome::Busy);
        // phone rules: unknown at issue time, then decided by the body
        let otp =
            |code: Known<Option<String>>| Subject { route: "/otp", phone_code: code, ..subject(&clean) };
        assert_eq!(p.decide(&otp(Known::Unknown), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&otp(Known::Is(Some("86".into()))), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&otp(Known::Is(Some("1".into()))), &none).outcome, Outcome::Deny);
        assert_eq!(p.decide(&otp(Known::Is(None)), &none).outcome, Outcome::Deny);
        // a rule on reasons
        assert_eq!(p.decide(&subject(&tool), &none).outcome, Outcome::Busy);
        // a shadow rule is logged, not enforced
        let fr = Subject { country: Some("FR"), ..subject(&clean) };
        let d = p.decide(&fr, &none);
        assert_eq!(d.outcome, price(17, 32));
        assert_eq!(d.shadow.map(|s| s.0), Some(price(20, 32)));
    }

    #[test]
    fn broad_cohorts_have_their_own_levels() {
        let p = load(
            r#"
version = 1
[routes]
protected = ["POST /signup"]
[attack]
levels = [{ at = 10, extra_bits = 2 }, { at = 40, busy = true }]
[attack.cohort_levels]
country = [{ at = 100, extra_bits = 1 }, { at = 400, extra_bits = 3 }]
"#,
        )
        .unwrap();
        let a = Assessment::default();
        let s = subject(&a);
        let state = |asn: f64, country: f64| CohortState {
            rates: vec![
                (CohortKey::new(CohortKind::Asn, "3320"), asn),
                (CohortKey::new(CohortKind::Country, "DE"), country),
            ],
            ..Default::default()
        };
        let price = |d| Outcome::Price { difficulty: d, k: 32 };
        // a country at 45/window is normal; an ASN at 45 is shed
        assert_eq!(p.decide(&s, &state(0.0, 45.0)).outcome, price(17));
        assert_eq!(p.decide(&s, &state(45.0, 45.0)).outcome, Outcome::Busy);
        // the worst placed cohort wins, whatever the raw rates
        assert_eq!(p.decide(&s, &state(12.0, 150.0)).outcome, price(19));
        assert_eq!(p.decide(&s, &state(12.0, 500.0)).outcome, price(20));
        assert_eq!(p.level_for(&CohortKey::new(CohortKind::Country, "DE"), 150.0), 1);
        let bad = load("version = 1\n[routes]\nprotected = [\"POST /s\"]\n[attack.cohort_levels]\nplanet = []\ncountry = [{ at = 5, busy = true }, { at = 3, extra_bits = 1 }]\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("attack.cohort_levels.planet"), "{bad}");
        assert!(bad.contains("attack.cohort_levels.country[0]: the busy level must be the last"), "{bad}");
        assert!(bad.contains("attack.cohort_levels.country[1]: at = 3 must be above"), "{bad}");
    }

    #[test]
    fn global_shadow_enforces_only_the_base_price() {
        let p = load("version = 1\n[defaults]\nshadow = true\n[routes]\nprotected = [\"POST /signup\"]\n[[rules]]\nname = \"de\"\nwhen = { country = [\"DE\"] }\naction = \"deny\"\n").unwrap();
        let a = Assessment::default();
        let d = p.decide(&subject(&a), &CohortState::default());
        assert_eq!(d.outcome, Outcome::Price { difficulty: 17, k: 32 });
        assert_eq!(d.shadow.map(|s| s.0), Some(Outcome::Deny));
    }

    #[test]
    fn the_phone_matters_only_where_a_rule_or_counter_uses_it() {
        let base =
            "version = 1\n[routes]\nprotected = [\"POST /signup\", \"POST /otp\"]\nphone_field = \"phone\"\n";
        let otp_rule = "[[rules]]\nname = \"cn\"\nroutes = [\"/otp\"]\nnot = { phone_code = [\"86\"] }\naction = \"deny\"\n";
        let no_count = "[attack]\ncohorts = [\"asn\"]\n";
        let p = load(&format!("{base}{no_count}{otp_rule}")).unwrap();
        assert!(p.phone_matters("/otp"));
        assert!(!p.phone_matters("/signup"));
        let counted = load(base).unwrap();
        assert!(counted.phone_matters("/signup"), "attack mode counts calling codes by default");
        let no_field = load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n").unwrap();
        assert!(!no_field.phone_matters("/signup"));
    }

    #[test]
    fn pass_routes_win_over_protected_patterns() {
        let p = load("version = 1\n[routes]\nprotected = [\"* /api/*\"]\npass = [\"POST /api/login\"]\n")
            .unwrap();
        assert!(p.route_for(&["POST"], "/api/login").is_none());
        assert!(p.route_for(&["POST"], "/api/register").is_some());
    }
}
