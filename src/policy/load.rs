//! Reading a policy: either spelling (TOML or JSON) into the file structures, then validation
//! that reports every problem at once, each with its place (`line 3, column 7` for syntax,
//! a path such as `rules[2] "cn-only".when.cidr[0]` otherwise).

use super::file::{AttackFile, CapacityFile, ConditionsFile, File, LevelFile, NoJsFile, RoutesFile};
use super::{
    Action, Attack, Capacity, CapacityOf, Cidr, CohortKey, CohortKind, Conditions, Level, NoJs, Policy, Rule,
    UsualShares, VERSION,
};
use crate::request::route::{self, Route};
use crate::signals::{ReasonCode, RiskPolicy};
use std::fmt;

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

pub(super) struct Problems(Vec<PolicyError>);

impl Problems {
    pub(super) fn add(&mut self, location: impl Into<String>, message: impl Into<String>) {
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

    let phone_region = file.routes.phone_region.as_deref().and_then(|r| {
        let region = crate::request::phone::Region::new(r);
        if region.is_none() {
            p.add(
                "routes.phone_region",
                format!("{r:?} is not a region of the numbering plan (ISO 3166 code)"),
            );
        }
        region
    });
    if phone_region.is_some() && file.routes.phone_field.is_none() {
        p.add("routes.phone_region", "needs routes.phone_field (the region reads whole numbers)");
    }

    let mut attack = attack(&mut p, &file.attack);
    attack.capacity = capacity(&mut p, &file.attack.capacity, &protected);
    let phone_known = file.routes.phone_field.is_some() || file.routes.phone_code_field.is_some();
    if attack.cohorts.contains(&CohortKind::PhoneCode)
        && !phone_known
        && file.attack.cohorts != AttackFile::default().cohorts
    {
        p.add("attack.cohorts", "phone_code needs routes.phone_field or routes.phone_code_field");
    }

    let mut rules = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let known = PhoneKnown { code: phone_known, number: file.routes.phone_field.is_some() };
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
        let when = conditions(&mut p, &format!("{at}.when"), &r.when, known);
        let not = r.not.as_ref().map(|c| conditions(&mut p, &format!("{at}.not"), c, known));
        if let Some(action) = action {
            rules.push(Rule { name: r.name.clone(), routes, when, not, action, shadow: r.shadow });
        }
    }

    let no_js = no_js(&mut p, &file.no_js, &protected, phone_known);
    let otp = file
        .otp
        .as_ref()
        .map(|o| super::otp::load(&mut p, o, &protected, &pass, file.routes.phone_field.is_some()));

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
        phone_region,
        attack,
        rules,
        no_js,
        otp,
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
            None => p.add(place, format!("not one of site, {}", CohortKind::names())),
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
    toml::from_str(text).map_err(|e| PolicyError {
        location: toml_location(text, &e),
        message: e.message().trim().to_string(),
    })
}

/// Where in `text` a TOML error is, as `line L, column C` (or `file`): the policy's and the
/// drill scenario's loaders say it the same way.
#[cfg(feature = "toml")]
pub(crate) fn toml_location(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}")
        }
        None => "file".to_string(),
    }
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
                format!("{name:?} is not one of {}", CohortKind::names()),
            ),
        }
    }
    let levels = level_list(p, "attack.levels", &a.levels);
    let mut cohort_levels = Vec::new();
    for (name, list) in &a.cohort_levels {
        let at = format!("attack.cohort_levels.{name}");
        match CohortKind::parse(name) {
            Some(kind) => cohort_levels.push((kind, level_list(p, &at, list))),
            None => p.add(at, format!("not one of {}", CohortKind::names())),
        }
    }
    let mut panic_cohorts = Vec::new();
    for (i, c) in a.panic_cohorts.iter().enumerate() {
        match CohortKey::parse(c).filter(|k| k.kind().is_some()) {
            Some(key) => panic_cohorts.push(key),
            None => p.add(
                format!("attack.panic_cohorts[{i}]"),
                format!("{c:?} is not kind:value (e.g. \"asn:16509\")"),
            ),
        }
    }
    if a.retry_after_secs == 0 || a.retry_after_secs > 86_400 {
        p.add("attack.retry_after_secs", format!("{} is outside 1..=86400", a.retry_after_secs));
    }
    let mut within = |at: &str, v: u32, min: u32, max: u32| {
        if !(min..=max).contains(&v) {
            p.add(at, format!("{v} is outside {min}..={max}"));
        }
        v.clamp(min, max)
    };
    let usual = a.usual.as_ref().map(|u| UsualShares {
        usual_days: within("attack.usual.usual_days", u.usual_days, 1, 90),
        warm_up_signups: within("attack.usual.warm_up_signups", u.warm_up_signups, 1, 10_000_000),
    });
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
        capacity: Vec::new(),
        usual,
    }
}

/// `[[attack.capacity]]`: one entry per protected route, one of the two rates each.
fn capacity(p: &mut Problems, list: &[CapacityFile], protected: &[Route]) -> Vec<Capacity> {
    let mut out: Vec<Capacity> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at = format!("attack.capacity[{i}]");
        let path = route::MatchKey::of(&c.route).full;
        if !c.route.starts_with('/') {
            p.add(format!("{at}.route"), format!("{:?} is not a path", c.route));
        } else if route::named(protected, &c.route).is_none() {
            p.add(format!("{at}.route"), format!("{:?} is not a protected route", c.route));
        } else if out.iter().any(|o| o.route == path) {
            p.add(format!("{at}.route"), format!("{:?} has a capacity already", c.route));
        }
        let (what, per_minute) = match (c.signups_per_minute, c.otp_sends_per_minute) {
            (Some(n), None) => (CapacityOf::Signups, n),
            (None, Some(n)) => (CapacityOf::OtpSends, n),
            _ => {
                p.add(&at, "needs exactly one of signups_per_minute or otp_sends_per_minute");
                (CapacityOf::Signups, 1)
            }
        };
        if !(1..=10_000_000).contains(&per_minute) {
            p.add(&at, format!("{per_minute} per minute is outside 1..=10000000"));
        }
        let ceiling_bits = in_range(p, format!("{at}.ceiling_bits"), c.ceiling_bits, 1, 15);
        let period_secs = u32::from(in_range(p, format!("{at}.period_secs"), c.period_secs, 1, 60));
        if c.line_max_wait_secs > 3000 {
            p.add(
                format!("{at}.line_max_wait_secs"),
                format!("{} is over 3000 (a place lives as long as its challenge)", c.line_max_wait_secs),
            );
        }
        let line_max_wait_secs = c.line_max_wait_secs.min(3000);
        out.push(Capacity { route: path, what, per_minute, ceiling_bits, period_secs, line_max_wait_secs });
    }
    out
}

/// Which phone facts a sign-up can carry under the routes' fields: its calling code (a phone
/// or a code field), and its whole number (a phone field).
#[derive(Copy, Clone)]
struct PhoneKnown {
    code: bool,
    number: bool,
}

fn conditions(p: &mut Problems, at: &str, c: &ConditionsFile, known: PhoneKnown) -> Conditions {
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
    let mut reasons = Vec::new();
    for (i, r) in c.reasons.iter().enumerate() {
        match ReasonCode::parse(r) {
            Some(code) => reasons.push(code),
            None => p.add(
                format!("{at}.reasons[{i}]"),
                format!("{r:?} is not a fingerprint reason code (docs/signals.md)"),
            ),
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
    if !c.phone_code.is_empty() && !known.code {
        p.add(format!("{at}.phone_code"), "needs routes.phone_field or routes.phone_code_field");
    }
    let mut phone_types = Vec::new();
    for (i, name) in c.phone_type.iter().enumerate() {
        match crate::request::phone::NumberType::from_name(name) {
            Some(kind) => phone_types.push(kind),
            None => p.add(
                format!("{at}.phone_type[{i}]"),
                format!(
                    "{name:?} is not a number type (one of {})",
                    crate::request::phone::NumberType::names()
                ),
            ),
        }
    }
    if !c.phone_type.is_empty() && !known.number {
        p.add(format!("{at}.phone_type"), "needs routes.phone_field (the whole number, not only its code)");
    }
    Conditions {
        countries: c.country.iter().map(|s| s.to_ascii_uppercase()).collect(),
        asns: c.asn.clone(),
        cidrs,
        user_agents: c.user_agent.iter().map(|s| s.to_ascii_lowercase()).collect(),
        reasons,
        phone_codes,
        phone_types,
        risk_at_least: c.risk_at_least,
    }
}

#[cfg(test)]
mod tests;
