//! Ordered rules and their match conditions: country, ASN, CIDR, User-Agent glob, risk
//! reasons and score, phone calling code. A condition on something not known yet (a phone
//! number at challenge time) neither holds nor fails.

use super::{Known, Subject};
use crate::request::phone::NumberType;
use crate::signals::ReasonCode;
use std::net::IpAddr;

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
    pub reasons: Vec<ReasonCode>,
    /// Phone calling codes (digits).
    pub phone_codes: Vec<String>,
    /// Phone number types (premium rate, VoIP…), as the numbering data gives them.
    pub phone_types: Vec<NumberType>,
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

impl Rule {
    pub(super) fn matches(&self, s: &Subject<'_>) -> bool {
        if !self.routes.is_empty() && !self.routes.contains(&s.route) {
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
            out.push(Some(self.reasons.iter().any(|r| s.assessment.has(*r))));
        }
        if !self.phone_codes.is_empty() {
            out.push(match &s.phone_code {
                Known::Unknown => None,
                Known::Is(code) => Some(code.as_ref().is_some_and(|c| self.phone_codes.contains(c))),
            });
        }
        if !self.phone_types.is_empty() {
            out.push(match &s.phone_type {
                Known::Unknown => None,
                Known::Is(kind) => Some(kind.is_some_and(|k| self.phone_types.contains(&k))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ip_prefix;

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
}
