//! The names of attack mode's counters, as a type: what a counter counts ([`Scope`]) and for
//! which value. Code asks a key what it is ([`CohortKey::scope`], [`CohortKey::kind`]); only
//! [`CohortKey::parse`] and [`CohortKey::as_str`] know the text form, which is the wire and
//! storage format of the counter shards (`asn:16509`, `nojs:site`, `cap:/signup|asn:16509`).

use super::CohortKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// What a counter counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every sign-up of the site (global ceiling, site panic).
    Site,
    /// A cohort on the JavaScript path (`asn:16509`).
    Cohort(CohortKind),
    /// A cohort's no-JavaScript budget (`nojs:asn:16509`).
    NoJs(CohortKind),
    /// The whole site's no-JavaScript budget (`nojs:site`).
    NoJsSite,
    /// A capacity route's admitted total (`cap:/signup`).
    Capacity {
        /// The protected route.
        route: String,
    },
    /// One cohort's admissions on a capacity route (`cap:/signup|asn:16509`).
    CapacityCohort {
        /// The protected route.
        route: String,
        /// The cohort's kind.
        kind: CohortKind,
    },
    /// A phone number range's SMS counter on the OTP routes (`otp_sent:+86 138`): the value
    /// is the range as `phone::Range` writes it (calling code and destination code).
    Otp(OtpCount),
    /// A cohort's sign-ups over `attack.usual.usual_days` (`usual:asn:16509`), or the site's
    /// (`usual:site`, kind `None`): the slow counts its usual share is learned from.
    Usual(Option<CohortKind>),
    /// The site's rate (tenths of sign-ups per window) each of those sign-ups saw, summed over
    /// the same period (`usual:site_rate`): ÷ `usual:site`, the site's usual rate.
    UsualSiteRate,
}

/// What an OTP counter counts for one number range.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OtpCount {
    /// Codes the origin accepted to send (decays over `otp.window_secs`).
    Sent,
    /// The same sends over `otp.verify_grace_secs`: too recent to have been verified yet.
    Recent,
    /// Codes verified on the check route (over `otp.window_secs`).
    Verified,
    /// The same codes over `otp.verify_grace_secs`: whether anyone entered one lately.
    VerifiedRecent,
    /// Send attempts that paid their work, sent or refused (over `otp.verify_grace_secs`):
    /// whether the range is being used now.
    Tries,
    /// Not a counter: the range's block switch (a panic switch with an end).
    Block,
    /// Verified codes over `otp.first_seen.learn_days`, for a range (`otp_seen:+86 138`), a
    /// calling code (`otp_seen:+86`) or the site (`otp_seen:*`): whether people have been seen
    /// entering codes there at all.
    Seen,
    /// Sends over `otp.surge.usual_days`, for a range, calling code, network or the site
    /// (`otp_usual:*`): the usual share's slow counts.
    Usual,
}

impl OtpCount {
    /// Every count, in the order their names are tried when parsing.
    pub const ALL: [OtpCount; 8] = [
        OtpCount::Sent,
        OtpCount::Recent,
        OtpCount::Verified,
        OtpCount::VerifiedRecent,
        OtpCount::Tries,
        OtpCount::Block,
        OtpCount::Seen,
        OtpCount::Usual,
    ];

    /// The prefix of its keys.
    pub fn prefix(self) -> &'static str {
        match self {
            OtpCount::Sent => "otp_sent:",
            OtpCount::Recent => "otp_recent:",
            OtpCount::Verified => "otp_ok:",
            OtpCount::VerifiedRecent => "otp_ok_recent:",
            OtpCount::Tries => "otp_try:",
            OtpCount::Block => "otp_block:",
            OtpCount::Seen => "otp_seen:",
            OtpCount::Usual => "otp_usual:",
        }
    }
}

/// A counter's name: its scope and value, with the canonical text computed once (shards are
/// chosen by hashing it, and it is what the objects store).
#[derive(Clone, Debug)]
pub struct CohortKey {
    scope: Scope,
    value: String,
    text: String,
}

const NO_JS: &str = "nojs:";
const CAPACITY: &str = "cap:";
const USUAL: &str = "usual:";

impl CohortKey {
    fn of(scope: Scope, value: String) -> CohortKey {
        // concatenated, not `format!`ed: keys are built several times a request (formatting
        // them took about 4 % of the drill's time)
        let text = match &scope {
            Scope::Site => "site".to_string(),
            Scope::Cohort(k) => [k.name(), ":", &value].concat(),
            Scope::NoJs(k) => [NO_JS, k.name(), ":", &value].concat(),
            Scope::NoJsSite => [NO_JS, "site"].concat(),
            Scope::Capacity { route } => [CAPACITY, route].concat(),
            Scope::CapacityCohort { route, kind } => {
                [CAPACITY, route, "|", kind.name(), ":", &value].concat()
            }
            Scope::Otp(count) => [count.prefix(), &value].concat(),
            Scope::Usual(None) => [USUAL, "site"].concat(),
            Scope::UsualSiteRate => [USUAL, "site_rate"].concat(),
            Scope::Usual(Some(k)) => [USUAL, k.name(), ":", &value].concat(),
        };
        CohortKey { scope, value, text }
    }

    /// The site-wide pseudo-cohort.
    pub fn site() -> CohortKey {
        CohortKey::of(Scope::Site, String::new())
    }

    /// A cohort on the JavaScript path.
    pub fn new(kind: CohortKind, value: &str) -> CohortKey {
        CohortKey::of(Scope::Cohort(kind), value.to_string())
    }

    /// The whole site's no-JavaScript budget.
    pub fn no_js_site() -> CohortKey {
        CohortKey::of(Scope::NoJsSite, String::new())
    }

    /// This cohort's no-JavaScript budget (`None` for a key that is not a JS cohort).
    pub fn no_js(&self) -> Option<CohortKey> {
        match self.scope {
            Scope::Cohort(kind) => Some(CohortKey::of(Scope::NoJs(kind), self.value.clone())),
            _ => None,
        }
    }

    /// A capacity route's admitted total.
    pub fn capacity(route: &str) -> CohortKey {
        CohortKey::of(Scope::Capacity { route: route.to_string() }, String::new())
    }

    /// This cohort's admissions on a capacity route (`None` for a key that is not a JS cohort).
    pub fn on_capacity(&self, route: &str) -> Option<CohortKey> {
        match self.scope {
            Scope::Cohort(kind) => Some(CohortKey::of(
                Scope::CapacityCohort { route: route.to_string(), kind },
                self.value.clone(),
            )),
            _ => None,
        }
    }

    /// The site's sign-ups over the usual period (`usual:site`).
    pub fn usual_site() -> CohortKey {
        CohortKey::of(Scope::Usual(None), String::new())
    }

    /// The site's rates summed over the usual period (`usual:site_rate`).
    pub fn usual_site_rate() -> CohortKey {
        CohortKey::of(Scope::UsualSiteRate, String::new())
    }

    /// This cohort's sign-ups over the usual period (`None` for a key that is not a JS cohort).
    pub fn usual(&self) -> Option<CohortKey> {
        match self.scope {
            Scope::Cohort(kind) => Some(CohortKey::of(Scope::Usual(Some(kind)), self.value.clone())),
            _ => None,
        }
    }

    /// A number range's OTP counter (`range` as `phone::Range` writes it: `+86 138`).
    pub fn otp(count: OtpCount, range: &str) -> CohortKey {
        CohortKey::of(Scope::Otp(count), range.to_string())
    }

    /// Reads the text form; `None` for anything that is not a key.
    pub fn parse(text: &str) -> Option<CohortKey> {
        let cohort = |s: &str| {
            let (kind, value) = s.split_once(':')?;
            Some((CohortKind::parse(kind)?, value.to_string())).filter(|(_, v)| !v.is_empty())
        };
        if text == "site" {
            return Some(CohortKey::site());
        }
        for count in OtpCount::ALL {
            if let Some(range) = text.strip_prefix(count.prefix()) {
                // a range or calling code (`+86 138`, `+86 *`), a network (`network kg-b`), the
                // site's sends and entered codes (`otp_sent:*`, `otp_usual:*`, `otp_seen:*`)
                let network = crate::policy::network_in_scope(range).is_some_and(|n| !n.is_empty());
                let site = matches!(count, OtpCount::Seen | OtpCount::Sent | OtpCount::Usual) && range == "*";
                let ok = (range.starts_with('+') && range.len() > 1) || network || site;
                return ok.then(|| CohortKey::otp(count, range));
            }
        }
        if let Some(rest) = text.strip_prefix(USUAL) {
            if rest == "site" {
                return Some(CohortKey::usual_site());
            }
            if rest == "site_rate" {
                return Some(CohortKey::usual_site_rate());
            }
            let (kind, value) = cohort(rest)?;
            return Some(CohortKey::of(Scope::Usual(Some(kind)), value));
        }
        if let Some(rest) = text.strip_prefix(NO_JS) {
            if rest == "site" {
                return Some(CohortKey::no_js_site());
            }
            let (kind, value) = cohort(rest)?;
            return Some(CohortKey::of(Scope::NoJs(kind), value));
        }
        if let Some(rest) = text.strip_prefix(CAPACITY) {
            let (route, of) = match rest.split_once('|') {
                Some((route, of)) => (route, Some(of)),
                None => (rest, None),
            };
            if !route.starts_with('/') {
                return None;
            }
            return match of {
                None => Some(CohortKey::capacity(route)),
                Some(of) => {
                    let (kind, value) = cohort(of)?;
                    Some(CohortKey::of(Scope::CapacityCohort { route: route.to_string(), kind }, value))
                }
            };
        }
        let (kind, value) = cohort(text)?;
        Some(CohortKey::of(Scope::Cohort(kind), value))
    }

    /// What the counter counts.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The cohort's value (`16509` for `asn:16509`; empty for site-wide and route totals).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The kind, for a cohort on the JavaScript path (the keys the levels apply to).
    pub fn kind(&self) -> Option<CohortKind> {
        match self.scope {
            Scope::Cohort(k) => Some(k),
            _ => None,
        }
    }

    /// Whether this is the site-wide key.
    pub fn is_site(&self) -> bool {
        self.scope == Scope::Site
    }

    /// Whether this counts the no-JavaScript path (its own window and budget).
    pub fn is_no_js(&self) -> bool {
        matches!(self.scope, Scope::NoJs(_) | Scope::NoJsSite)
    }

    /// Whether this is a usual share's slow count (`usual:…`).
    pub fn is_usual(&self) -> bool {
        matches!(self.scope, Scope::Usual(_) | Scope::UsualSiteRate)
    }

    /// Whether this is one of the capacity controller's keys (not a cohort people see).
    pub fn is_capacity(&self) -> bool {
        matches!(self.scope, Scope::Capacity { .. } | Scope::CapacityCohort { .. })
    }

    /// The OTP count this key is, for a number range's key.
    pub fn otp_count(&self) -> Option<OtpCount> {
        match self.scope {
            Scope::Otp(c) => Some(c),
            _ => None,
        }
    }

    /// The text form (wire and storage format).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for CohortKey {
    fn eq(&self, other: &CohortKey) -> bool {
        self.text == other.text
    }
}

impl Eq for CohortKey {}

impl Hash for CohortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for CohortKey {
    fn partial_cmp(&self, other: &CohortKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CohortKey {
    fn cmp(&self, other: &CohortKey) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl fmt::Display for CohortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for CohortKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for CohortKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CohortKey, D::Error> {
        let text = String::deserialize(d)?;
        CohortKey::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a cohort key: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_reads_back_from_its_text() {
        let asn = CohortKey::new(CohortKind::Asn, "16509");
        let keys = [
            CohortKey::site(),
            asn.clone(),
            CohortKey::new(CohortKind::IpPrefix, "203.0.113.0/24"),
            CohortKey::new(CohortKind::IpPrefix, "2001:db8:1::/48"),
            asn.no_js().unwrap(),
            CohortKey::no_js_site(),
            CohortKey::capacity("/signup"),
            asn.on_capacity("/api/otp/send").unwrap(),
            CohortKey::otp(OtpCount::Sent, "+86 138"),
            CohortKey::otp(OtpCount::Block, "+996 500"),
            CohortKey::otp(OtpCount::Sent, "network kg-b"),
            CohortKey::otp(OtpCount::Seen, "*"),
            CohortKey::otp(OtpCount::Usual, "+996 *"),
            CohortKey::usual_site(),
            asn.usual().unwrap(),
            CohortKey::usual_site_rate(),
        ];
        let texts: Vec<&str> = keys.iter().map(CohortKey::as_str).collect();
        assert_eq!(
            texts,
            [
                "site",
                "asn:16509",
                "ip_prefix:203.0.113.0/24",
                "ip_prefix:2001:db8:1::/48",
                "nojs:asn:16509",
                "nojs:site",
                "cap:/signup",
                "cap:/api/otp/send|asn:16509",
                "otp_sent:+86 138",
                "otp_block:+996 500",
                "otp_sent:network kg-b",
                "otp_seen:*",
                "otp_usual:+996 *",
                "usual:site",
                "usual:asn:16509",
                "usual:site_rate"
            ]
        );
        for k in &keys {
            let back = CohortKey::parse(k.as_str()).unwrap();
            assert_eq!(back.scope(), k.scope(), "{k}");
            assert_eq!(back.value(), k.value(), "{k}");
        }
        assert_eq!(asn.kind(), Some(CohortKind::Asn));
        assert!(keys.iter().skip(4).all(|k| k.kind().is_none()), "only JS cohorts have levels");
        for bad in [
            "",
            "planet:1",
            "asn:",
            "nojs:",
            "nojs:planet:1",
            "cap:signup",
            "cap:/s|asn:",
            "sitex",
            "otp_ok:",
            "otp_ok:+",
            "otp_sent:86",
            "otp_ok:*",
            "otp_sent:network ",
            "usual:",
            "usual:asn:",
            "usual:planet:1",
        ] {
            assert!(CohortKey::parse(bad).is_none(), "{bad}");
        }
    }
}
