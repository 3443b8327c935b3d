//! The decision log: one typed line per decision, written by the Worker (`wrangler tail`,
//! Workers Logs) and read back by `gate replay`. It carries every fingerprint reason with its
//! private detail; never a secret, never the raw client signals, never a full address.

pub mod replay;

use crate::policy::{CapacityPrice, CohortState, Decision, Known, Outcome, Subject};
use crate::protocol::reject::Rejection;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::user_agent::UserAgent;
use crate::signals::Assessment;
pub use crate::store::stats::Action;
use serde::{Deserialize, Serialize};

/// Where in the sign-up a decision was taken: what the policy knew then.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// `GET <prefix>/challenge`: the phone number may not be typed yet.
    Issue,
    /// The protected request itself: every field is known.
    Submission,
}

/// A fingerprint finding as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedReason {
    /// Reason code.
    pub code: String,
    /// Risk points.
    pub weight: u32,
    /// What was seen (private).
    #[serde(default)]
    pub detail: String,
}

/// One decision-log line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionLog {
    /// Always `decision` (other lines, e.g. `config`, have other values).
    pub gate: String,
    /// Unix seconds.
    pub t: u64,
    /// What was done.
    pub action: Action,
    /// Where in the sign-up (absent for requests that never reached a route's policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// HTTP status returned.
    pub status: u16,
    /// Rejection code, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Private detail (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Protected route matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Challenge id (base64url), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Difficulty issued or paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    /// Risk score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    /// Fingerprint findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<LoggedReason>,
    /// `cf.asn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// `cf.country`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `cf.colo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colo: Option<String>,
    /// Browser family/major from the User-Agent.
    #[serde(default)]
    pub ua: String,
    /// The User-Agent (first 256 characters), for policy replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client's IPv4 /24 or IPv6 /48 (never the full address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_prefix: Option<String>,
    /// The sign-up's phone calling code (never the number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_code: Option<String>,
    /// The type of the sign-up's number (`mobile`, `premium_rate`…), where it was read whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    /// Cohort rates read for the decision (sign-ups per window).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<(String, f64)>,
    /// The capacity controller's price, when the route states a capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityPrice>,
    /// Site-wide rate read for the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_rate: Option<f64>,
    /// Policy outcome: `price 17x32`, `deny`, `busy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The rule that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Attack level reached (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    /// In shadow mode: what would have been enforced, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
    /// The request came through the no-JavaScript path (docs/policy.md § No JavaScript).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_js: bool,
    /// The cohort counters could not be read for this decision (why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters_unreadable: Option<String>,
    /// A code sent to a number: what its range's counters said and what the gate did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<OtpLog>,
}

/// A send's range, as the log keeps it (never the number).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtpLog {
    /// The range (`+86 138`).
    pub range: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: ScopeCounts,
    /// The conversion's upper bound, where there were enough sends to judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<f64>,
    /// `normal`, `priced +N`, `first seen (…) +N`, `surge +N` or `blocked`.
    pub verdict: String,
    /// A block's end, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// Codes entered over the first-seen period (range, calling code, site), with
    /// `[otp.first_seen]` on; the site's alone with `otp.unentered_block_sends`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<crate::policy::Seen>,
    /// The site's sends, now and usually, with `[otp.surge]` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<crate::policy::SiteSends>,
    /// The range's calling code's counts (counted beside the range's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_code: Option<CallingCodeLog>,
    /// The range's network's counts, when the policy names one it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkLog>,
}

/// A wider scope's counts (a calling code's, a network's), as the log keeps them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeCounts {
    /// Sends over the window.
    pub sent: f64,
    /// Sends too recent to judge.
    pub recent: f64,
    /// Verified codes over the window.
    pub verified: f64,
    /// Verified codes over the grace period (absent in logs written before it was counted: a
    /// replay then reads it as "entered lately", which never blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_recent: Option<f64>,
    /// Tries over the grace period.
    pub tries: f64,
    /// Sends over the usual share's period (with `[otp.surge]` on).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usual: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl ScopeCounts {
    /// A reading's counts, to two decimals.
    fn of(r: &crate::policy::RangeReading) -> ScopeCounts {
        ScopeCounts {
            sent: hundredth(r.sent),
            recent: hundredth(r.recent),
            verified: hundredth(r.verified),
            verified_recent: Some(hundredth(r.verified_recent)),
            tries: hundredth(r.tries),
            usual: hundredth(r.usual),
        }
    }

    /// The reading a replay judges (no block switch: a logged block is replayed from its
    /// counts), with the site's counts logged beside the range's.
    pub fn reading(
        &self,
        seen: crate::policy::Seen,
        site: crate::policy::SiteSends,
    ) -> crate::policy::RangeReading {
        crate::policy::RangeReading {
            sent: self.sent,
            recent: self.recent,
            verified: self.verified,
            verified_recent: self.verified_recent.unwrap_or(f64::INFINITY),
            tries: self.tries,
            blocked_until: None,
            seen,
            usual: self.usual,
            site,
        }
    }
}

/// A range's calling code, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallingCodeLog {
    /// The calling code (`+996`).
    pub code: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: ScopeCounts,
    /// The verdict is the calling code's (its block), not the range's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decided: bool,
}

/// A range's network (`[[otp.networks]]`), as the log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkLog {
    /// The network's name.
    pub name: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: ScopeCounts,
    /// The verdict is the network's (its block), not the range's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decided: bool,
}

impl OtpLog {
    /// With the wider scopes' counts, and whose the verdict is.
    pub fn with_wider(
        mut self,
        wider: crate::policy::WiderReadings<'_>,
        scope: &crate::policy::RangeScope,
    ) -> OtpLog {
        use crate::policy::RangeScope;
        self.calling_code =
            crate::policy::calling_code_of(&self.range).zip(wider.calling_code).map(|(c, r)| {
                CallingCodeLog {
                    code: c.to_string(),
                    counts: ScopeCounts::of(r),
                    decided: *scope == RangeScope::CallingCode,
                }
            });
        self.network = wider.network.map(|(name, r)| NetworkLog {
            name: name.to_string(),
            counts: ScopeCounts::of(r),
            decided: matches!(scope, RangeScope::Network(n) if n == name),
        });
        self
    }

    /// The line's record of a range's reading and verdict.
    pub fn of(
        range: &str,
        r: &crate::policy::RangeReading,
        min_sends: u32,
        v: &crate::policy::RangeVerdict,
    ) -> OtpLog {
        use crate::policy::RangeVerdict as V;
        let (verdict, until_ms) = match v {
            V::Normal => ("normal".to_string(), None),
            V::Priced { extra_bits, .. } => (format!("priced +{extra_bits}"), None),
            V::FirstSeen { extra_bits, scope } => (format!("first seen ({scope}) +{extra_bits}"), None),
            V::Surge { extra_bits, .. } => (format!("surge +{extra_bits}"), None),
            V::Blocked { until_ms, .. } => ("blocked".to_string(), Some(*until_ms)),
        };
        OtpLog {
            range: range.to_string(),
            counts: ScopeCounts::of(r),
            conversion: r.conversion_bound(min_sends).map(|c| (c * 1000.0).round() / 1000.0),
            verdict,
            until_ms,
            seen: (r.seen != crate::policy::Seen::default()).then(|| crate::policy::Seen {
                range: hundredth(r.seen.range),
                calling_code: hundredth(r.seen.calling_code),
                site: hundredth(r.seen.site),
            }),
            site: (r.site != crate::policy::SiteSends::default()).then(|| crate::policy::SiteSends {
                sent: hundredth(r.site.sent),
                usual: hundredth(r.site.usual),
            }),
            calling_code: None,
            network: None,
        }
    }
}

/// A count to two decimals, for the log's range readings.
fn hundredth(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A rate to one decimal, for the log and the stats page; a non-finite one (which JSON cannot
/// carry) as 0.
pub fn tenth(r: f64) -> f64 {
    if r.is_finite() { (r * 10.0).round() / 10.0 } else { 0.0 }
}

impl DecisionLog {
    /// A line for `action` on the request described by `facts`.
    pub fn new(action: Action, status: u16, facts: &RequestFacts, now: UnixTime) -> DecisionLog {
        DecisionLog {
            gate: "decision".into(),
            t: now.seconds(),
            action,
            stage: None,
            status,
            code: None,
            detail: None,
            method: facts.method.clone(),
            path: facts.path.clone(),
            route: None,
            id: None,
            difficulty: None,
            score: None,
            reasons: Vec::new(),
            asn: facts.cf.asn,
            country: facts.cf.country.clone(),
            colo: facts.cf.colo.clone(),
            ua: UserAgent::parse(facts.user_agent().unwrap_or("")).family_major(),
            user_agent: facts.user_agent().map(|u| u.chars().take(256).collect()),
            ip_prefix: facts
                .client_ip
                .as_deref()
                .and_then(|ip| ip.parse().ok())
                .map(crate::policy::ip_prefix),
            phone_code: None,
            phone_type: None,
            cohorts: Vec::new(),
            capacity: None,
            site_rate: None,
            outcome: None,
            rule: None,
            why: None,
            level: None,
            shadow: None,
            no_js: false,
            counters_unreadable: None,
            otp: None,
        }
    }

    /// A line for a rejection.
    pub fn reject(r: &Rejection, facts: &RequestFacts, now: UnixTime) -> DecisionLog {
        let mut line = DecisionLog::new(Action::Reject, r.kind().status(), facts, now);
        line.code = Some(r.kind().code().to_string());
        line.detail = Some(r.detail().to_string());
        line
    }

    /// Adds a policy decision and the cohort state it was made on.
    pub fn decided(mut self, d: &Decision, state: &CohortState, phone_code: Option<&str>) -> DecisionLog {
        self.outcome = Some(d.outcome.clone());
        self.rule = d.rule.clone();
        self.why = Some(d.why.clone());
        self.level = (d.level > 0).then_some(d.level);
        self.shadow = d.shadow.as_ref().map(|s| format!("{} ({})", s.outcome, s.why));
        self.cohorts = state
            .rates
            .iter()
            .filter(|(k, _)| !k.is_capacity())
            .map(|(k, r)| (k.to_string(), tenth(*r)))
            .collect();
        self.capacity = state
            .capacity
            .clone()
            .map(|c| CapacityPrice { admitted_per_minute: tenth(c.admitted_per_minute), ..c });
        self.site_rate = Some(tenth(state.site_rate));
        self.phone_code = phone_code.map(str::to_string);
        self
    }

    /// Adds the type of the subject's phone number, where the whole number was read.
    pub fn typed(mut self, s: &Subject<'_>) -> DecisionLog {
        if let Known::Is(Some(kind)) = s.phone_type {
            self.phone_type = Some(kind.as_str().to_string());
        }
        self
    }

    /// Adds the fingerprint assessment.
    pub fn assessed(mut self, a: &Assessment) -> DecisionLog {
        self.score = Some(a.score);
        self.reasons = a
            .reasons
            .iter()
            .map(|r| LoggedReason { code: r.code.to_string(), weight: r.weight, detail: r.detail.clone() })
            .collect();
        self
    }

    /// The line as JSON text (a serialization failure, which the types rule out, gives a
    /// `log_error` line rather than nothing).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"gate\":\"log_error\",\"error\":\"{e}\"}}"))
    }
}
