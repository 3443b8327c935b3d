//! Deciding a protected request, purely: panic switches, then the first matching rule, then
//! fingerprint risk, then attack mode (the site ceiling and the worst-placed cohort); shadow
//! mode (global or per rule) enforces less and logs what it would have done.

use super::{Action, CohortKey, CohortKind, CohortState, Level, Policy, Rule, Subject};
use crate::request::route::{self, Route};
use crate::signals::RiskAction;

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

    /// Reads the text form the decision log writes (`price 17x32`, `deny`, `busy`).
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "deny" => Some(Outcome::Deny),
            "busy" => Some(Outcome::Busy),
            _ => {
                let (d, k) = text.strip_prefix("price ")?.split_once('x')?;
                Some(Outcome::Price { difficulty: d.parse().ok()?, k: k.parse().ok()? })
            }
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Price { difficulty, k } => write!(f, "price {difficulty}x{k}"),
            other => f.write_str(other.name()),
        }
    }
}

impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Outcome, D::Error> {
        let text = String::deserialize(d)?;
        Outcome::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not an outcome: {text:?}")))
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
    /// In shadow mode: what would have been enforced instead.
    pub shadow: Option<Shadow>,
}

impl Decision {
    /// The same decision with `extra_bits` more per sub-puzzle (at most 32), for `why`: a
    /// refusal stays a refusal.
    pub fn priced_up(mut self, extra_bits: u8, why: &str) -> Decision {
        if let Outcome::Price { difficulty, .. } = &mut self.outcome {
            *difficulty = difficulty.saturating_add(extra_bits).min(32);
            self.why = format!("{}; {why}: +{extra_bits}", self.why);
        }
        self
    }
}

/// What shadow mode would have enforced.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, as [`Decision::why`].
    pub why: String,
    /// The rule that would have decided, if any (the stats count shadow outcomes under it, so
    /// an operator sees which rule a switch to enforcing would fire).
    pub rule: Option<String>,
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

    /// The waiting line's bound on `route`, seconds (0: the route has no line).
    pub fn line_max_wait_secs(&self, route: &str) -> u32 {
        self.attack.capacity.iter().find(|c| c.route == route).map_or(0, |c| c.line_max_wait_secs)
    }

    /// Whether the price of a sign-up on `route` can depend on its phone calling code (a rule
    /// for it names calling codes, or attack mode counts them): then the widget sends the code
    /// with the challenge request.
    pub fn phone_matters(&self, route: &str) -> bool {
        if self.phone_field.is_none() && self.phone_code_field.is_none() {
            return false;
        }
        let counted = self.attack.enabled && self.attack.cohorts.contains(&CohortKind::PhoneCode);
        // a number range is judged on the route: its price is paid ahead
        let ranged = self.otp.as_ref().is_some_and(|o| o.judges(route));
        counted
            || ranged
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
            let level = full.level;
            let differs = full.outcome != base;
            let shadow = differs.then_some(Shadow { outcome: full.outcome, why: full.why, rule: full.rule });
            return Decision {
                outcome: base,
                why: "shadow mode: base price".into(),
                rule: None,
                level,
                shadow,
            };
        }
        if full.rule.as_ref().is_some_and(|name| self.rules.iter().any(|r| &r.name == name && r.shadow)) {
            let mut enforced = self.evaluate(s, cohorts, false);
            enforced.shadow = Some(Shadow { outcome: full.outcome, why: full.why, rule: full.rule });
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
        match self.risk.action(difficulty, s.assessment.score) {
            RiskAction::Deny => {
                return decision(Outcome::Deny, format!("risk {}", s.assessment.score), rule, 0);
            }
            RiskAction::Work(d) => {
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
            // on a route with a capacity, a cohort that can hold a whole population (a carrier's
            // network shared with a phone farm) past its busy level is priced at its top level,
            // not shed while the origin has room: the controller below sheds when it is full
            // (drills/carrier-cgnat.toml: shedding the carrier admitted fewer people than no gate)
            let priced_instead = |cohort: &CohortKey, l: &Level| {
                l.busy
                    && cohorts.capacity.is_some()
                    && cohort.kind().is_some_and(CohortKind::holds_many_people)
            };
            // what a level asks of a cohort: shed, or these extra bits
            let asks = |cohort: &CohortKey, l: &Level| match (l.busy, priced_instead(cohort, l)) {
                (true, false) => None,
                (true, true) => Some(self.attack.top_extra_bits(cohort)),
                (false, _) => Some(l.extra_bits.unwrap_or(0)),
            };
            // the worst-placed counted cohort decides: shedding beats extra bits, more bits
            // beat fewer (each kind has its own levels, so raw rates are not compared)
            let severity = |bits: Option<u8>| bits.map_or(u16::MAX, u16::from);
            // with usual shares, a level counts only the cohort's sign-ups beyond its usual
            // share of the site's now (`policy::usual`)
            let mut worst: Option<(&CohortKey, String, usize, &Level)> = None;
            for (cohort, rate) in &cohorts.rates {
                if !cohort.kind().is_some_and(|k| self.attack.cohorts.contains(&k)) {
                    continue;
                }
                let (counted, share) = self.attack.counted_rate(cohorts, cohort, *rate);
                if let (n, Some(l)) = self.reached(cohort, counted)
                    && worst
                        .as_ref()
                        .is_none_or(|(w, _, _, wl)| severity(asks(cohort, l)) > severity(asks(w, wl)))
                {
                    let at = match share {
                        Some(s) => format!("{counted:.0}/window over its usual share ({:.1} %)", s * 100.0),
                        None => format!("{rate:.0}/window"),
                    };
                    worst = Some((cohort, at, n, l));
                }
            }
            if let Some((cohort, rate, n, l)) = worst {
                level = n;
                let Some(extra) = asks(cohort, l) else {
                    return decision(
                        Outcome::Busy,
                        format!("cohort {cohort} at {rate} (level {level})"),
                        rule,
                        level,
                    );
                };
                difficulty = difficulty.saturating_add(extra).min(32);
                let not_shed = if priced_instead(cohort, l) {
                    ", priced, not shed: the route has a capacity"
                } else {
                    ""
                };
                why.push(format!("cohort {cohort} at {rate} +{extra}{not_shed}"));
            }
            // the capacity controller: on top of the static levels it measured under
            if let Some(cap) = &cohorts.capacity {
                let load = format!("{:.0}/min of {}/min", cap.admitted_per_minute, cap.per_minute);
                if let Some(c) = &cap.shed {
                    return decision(
                        Outcome::Busy,
                        format!("capacity: cohort {c} at the ceiling ({load})"),
                        rule,
                        level,
                    );
                }
                if cap.extra_bits > 0 {
                    difficulty = difficulty.saturating_add(cap.extra_bits).min(32);
                    why.push(format!("capacity {load} +{}", cap.extra_bits));
                }
            }
        }
        let why = if why.is_empty() { "base price".to_string() } else { why.join(", ") };
        decision(Outcome::Price { difficulty, k }, why, rule, level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::subject;
    use crate::policy::{CapacityPrice, CohortKey, CohortKind, Known, load};
    use crate::request::phone::NumberType;
    use crate::signals::{Assessment, Reason, ReasonCode};

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
name = "no codes to premium numbers"
routes = ["/otp"]
when = { phone_type = ["premium_rate", "shared_cost"] }
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
            reasons: vec![Reason { code: ReasonCode::UaAutomation, weight: 80, detail: String::new() }],
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
        let otp = |code: Known<Option<String>>| Subject {
            route: "/otp".into(),
            phone_code: code,
            ..subject(&clean)
        };
        assert_eq!(p.decide(&otp(Known::Unknown), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&otp(Known::Is(Some("86".into()))), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&otp(Known::Is(Some("1".into()))), &none).outcome, Outcome::Deny);
        assert_eq!(p.decide(&otp(Known::Is(None)), &none).outcome, Outcome::Deny);
        // a rule on the number's type: unknown at issue (the widget sends only the code), then
        // decided by the whole number
        let typed = |kind: Known<Option<NumberType>>| Subject {
            route: "/otp".into(),
            phone_code: Known::Is(Some("86".into())),
            phone_type: kind,
            ..subject(&clean)
        };
        assert_eq!(p.decide(&typed(Known::Unknown), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&typed(Known::Is(Some(NumberType::Mobile))), &none).outcome, price(17, 32));
        assert_eq!(p.decide(&typed(Known::Is(None)), &none).outcome, price(17, 32));
        for kind in [NumberType::PremiumRate, NumberType::SharedCost] {
            assert_eq!(p.decide(&typed(Known::Is(Some(kind))), &none).outcome, Outcome::Deny, "{kind}");
        }
        // a rule on reasons
        assert_eq!(p.decide(&subject(&tool), &none).outcome, Outcome::Busy);
        // a shadow rule is logged, not enforced
        let fr = Subject { country: Some("FR"), ..subject(&clean) };
        let d = p.decide(&fr, &none);
        assert_eq!(d.outcome, price(17, 32));
        assert_eq!(d.shadow.map(|s| s.outcome), Some(price(20, 32)));
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
    fn the_capacity_price_adds_to_the_levels_and_sheds_at_the_ceiling() {
        let p = load(
            "version = 1\n[routes]\nprotected = [\"POST /signup\"]\n[attack]\nlevels = [{ at = 10, extra_bits = 2 }]\n\
             [[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 60\n",
        )
        .unwrap();
        let a = Assessment::default();
        let s = subject(&a);
        let asn = CohortKey::new(CohortKind::Asn, "3320");
        let state = |rate: f64, extra_bits: u8, shed: Option<&CohortKey>| CohortState {
            rates: vec![(asn.clone(), rate)],
            capacity: Some(CapacityPrice {
                extra_bits,
                shed: shed.cloned(),
                admitted_per_minute: 75.0,
                per_minute: 60,
                forecast_bits: extra_bits,
                line: None,
            }),
            ..Default::default()
        };
        let price = |d| Outcome::Price { difficulty: d, k: 32 };
        assert_eq!(p.decide(&s, &state(0.0, 0, None)).outcome, price(17));
        let d = p.decide(&s, &state(0.0, 3, None));
        assert_eq!(d.outcome, price(20));
        assert!(d.why.contains("capacity 75/min of 60/min +3"), "{}", d.why);
        assert_eq!(p.decide(&s, &state(12.0, 3, None)).outcome, price(22), "on top of the level");
        assert_eq!(p.decide(&s, &state(0.0, 30, None)).outcome, price(32), "never past 32 bits");
        let shed = p.decide(&s, &state(0.0, 0, Some(&asn)));
        assert_eq!(shed.outcome, Outcome::Busy);
        assert!(shed.why.contains("capacity: cohort asn:3320 at the ceiling"), "{}", shed.why);
        // attack mode off: no counters, no controller
        let off = load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n[attack]\nenabled = false\n")
            .unwrap();
        assert_eq!(off.decide(&s, &state(0.0, 0, Some(&asn))).outcome, price(17));
    }

    #[test]
    fn on_a_route_with_a_capacity_a_cohort_of_many_people_is_priced_at_its_top_level_not_shed() {
        let policy = |capacity: &str| {
            load(&format!(
                "version = 1\n[routes]\nprotected = [\"POST /signup\"]\nphone_field = \"phone\"\n[attack]\n\
                 levels = [{{ at = 10, extra_bits = 2 }}, {{ at = 20, extra_bits = 4 }}, {{ at = 40, busy = true }}]\n\
                 [attack.cohort_levels]\nphone_code = [{{ at = 60, extra_bits = 3 }}, {{ at = 100, busy = true }}]\n\
                 ua_family = [{{ at = 5, busy = true }}]\n{capacity}"
            ))
            .unwrap()
        };
        let with = policy("[[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 60\n");
        let without = policy("");
        let a = Assessment::default();
        let s = subject(&a);
        let room = |shed: Option<CohortKey>| CapacityPrice {
            extra_bits: 0,
            shed,
            admitted_per_minute: 20.0,
            per_minute: 60,
            forecast_bits: 0,
            line: None,
        };
        let price = |d| Outcome::Price { difficulty: d, k: 32 };
        // every kind that can hold many people, each past its busy level, with and without room
        for (key, rate, top) in [
            (CohortKey::new(CohortKind::Asn, "7713"), 45.0, 4),
            (CohortKey::new(CohortKind::PhoneCode, "62"), 150.0, 3),
            (CohortKey::new(CohortKind::UaFamily, "chrome"), 9.0, 0),
        ] {
            let state = |capacity: Option<CapacityPrice>| CohortState {
                rates: vec![(key.clone(), rate)],
                capacity,
                ..Default::default()
            };
            assert_eq!(without.decide(&s, &state(None)).outcome, Outcome::Busy, "{key}: no capacity, shed");
            let d = with.decide(&s, &state(Some(room(None))));
            assert_eq!(d.outcome, price(17 + top), "{key}: room at the origin, priced at the top level");
            assert!(d.why.contains("priced, not shed"), "{}", d.why);
            // the origin full and the cohort standing out: the controller sheds it
            let full = with.decide(&s, &state(Some(room(Some(key.clone())))));
            assert_eq!(full.outcome, Outcome::Busy, "{key}: shed by the controller");
        }
        // one address block is still shed at its busy level, capacity or not
        let block = CohortState {
            rates: vec![(CohortKey::new(CohortKind::IpPrefix, "203.0.113.0/24"), 45.0)],
            capacity: Some(room(None)),
            ..Default::default()
        };
        assert_eq!(with.decide(&s, &block).outcome, Outcome::Busy);
        // and it still wins over a network priced instead, in either order
        for rates in [
            vec![
                (CohortKey::new(CohortKind::Asn, "7713"), 45.0),
                (CohortKey::new(CohortKind::IpPrefix, "203.0.113.0/24"), 45.0),
            ],
            vec![
                (CohortKey::new(CohortKind::IpPrefix, "203.0.113.0/24"), 45.0),
                (CohortKey::new(CohortKind::Asn, "7713"), 45.0),
            ],
        ] {
            let both = CohortState { rates, capacity: Some(room(None)), ..Default::default() };
            assert_eq!(with.decide(&s, &both).outcome, Outcome::Busy);
        }
        // a network priced instead is the worst placed against a lower level elsewhere
        let two = CohortState {
            rates: vec![
                (CohortKey::new(CohortKind::PhoneCode, "62"), 70.0),
                (CohortKey::new(CohortKind::Asn, "7713"), 45.0),
            ],
            capacity: Some(room(None)),
            ..Default::default()
        };
        assert_eq!(with.decide(&s, &two).outcome, price(21));
    }

    #[test]
    fn global_shadow_enforces_only_the_base_price() {
        let p = load("version = 1\n[defaults]\nshadow = true\n[routes]\nprotected = [\"POST /signup\"]\n[[rules]]\nname = \"de\"\nwhen = { country = [\"DE\"] }\naction = \"deny\"\n").unwrap();
        let a = Assessment::default();
        let d = p.decide(&subject(&a), &CohortState::default());
        assert_eq!(d.outcome, Outcome::Price { difficulty: 17, k: 32 });
        assert_eq!(d.shadow.map(|s| s.outcome), Some(Outcome::Deny));
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

    /// A fleet spread over many datacentres keeps each network under its levels; together, as
    /// `network_kind:hosting`, it stands out and is priced (never shed: VPN users share it),
    /// while a VPN user with no fleet about pays the base price. Shipped policy, a cold site
    /// (whole rates counted), every spread of 1–12 networks at rates under the ASN level.
    #[test]
    fn a_fleet_spread_over_hosting_networks_is_priced_together() {
        let p = load(include_str!("../../policy/gate.toml")).unwrap();
        let hosting = Assessment {
            score: 25,
            reasons: vec![Reason { code: ReasonCode::HostingAsn, weight: 25, detail: "AS16509".into() }],
        };
        let vpn = Subject { asn: Some(16509), ..subject(&hosting) };
        let base = Outcome::Price { difficulty: 17, k: 32 };
        assert_eq!(p.decide(&vpn, &CohortState::default()).outcome, base, "a VPN user alone");
        assert!(vpn.cohorts(&CohortKind::ALL).contains(&CohortKey::new(CohortKind::NetworkKind, "hosting")));
        let home = Assessment::default();
        assert!(
            subject(&home)
                .cohorts(&CohortKind::ALL)
                .iter()
                .all(|c| c.kind() != Some(CohortKind::NetworkKind))
        );
        for networks in 1..=12u32 {
            for per_network in [2.0, 5.0, 10.0, 19.0] {
                let together = f64::from(networks) * per_network;
                let state = CohortState {
                    rates: vec![
                        (CohortKey::new(CohortKind::Asn, "16509"), per_network),
                        (CohortKey::new(CohortKind::NetworkKind, "hosting"), together),
                    ],
                    site_rate: 300.0,
                    ..Default::default()
                };
                let d = p.decide(&vpn, &state);
                let want = match together {
                    t if t >= 60.0 => 21,
                    t if t >= 20.0 => 19,
                    _ => 17,
                };
                let case = format!("{networks} networks at {per_network}/window");
                assert_eq!(d.outcome, Outcome::Price { difficulty: want, k: 32 }, "{case}: {}", d.why);
            }
        }
        // named in the policy's errors with the other kinds
        let bad =
            load("version = 1\n[routes]\nprotected = [\"POST /s\"]\n[attack]\ncohorts = [\"planet\"]\n")
                .unwrap_err()
                .to_string();
        assert!(bad.contains("phone_code, network_kind"), "{bad}");
    }
}
