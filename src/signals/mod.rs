//! Fingerprint checks: what the edge sees, what the browser says, and whether the two agree.
//!
//! Proof of work only prices a sign-up. These checks tell browsers from scripts before any
//! work is accepted: each finding is a named [`Reason`] with a weight, their sum is the risk
//! score, and [`RiskPolicy`] turns the score into "normal work", "more work" or "deny".
//!
//! The principle is consistency, not blocklists: a client may claim to be anything, but a
//! real Chrome sends the headers Chrome sends, and its JavaScript reports the same browser,
//! language and time zone as its headers and its network location. Checks that only make
//! sense for browsers run only when the User-Agent claims a browser, so honest API clients
//! are judged by what they are. The codes and weights are in [`ReasonCode`]; docs/signals.md
//! lists them with their reasons.
//!
//! Client signals are small and privacy-respecting (no canvas, audio or font probing; the
//! WebGL renderer is reduced to one boolean; nothing stored; the decision log keeps reason
//! codes with a short detail such as the two time zones compared, never the raw signals) and
//! their digest is bound into the proof-of-work seed, so a solution cannot be replayed with
//! other signals.
//!
//! One concern per file: `reason` (the codes and weights), `server` (what the edge sees),
//! `client` (what the browser says), `cross` (whether the two agree), `hosting` (the
//! hosting network list), `tls` (the TLS handshake against the claimed browser) and `risk`
//! (score to work). Every public item is re-exported here,
//! so `gate::signals::X` is the one path to each.

mod client;
mod cross;
mod hosting;
mod reason;
mod risk;
mod server;
#[cfg(test)]
mod tests;
mod tls;

pub use client::{ClientSide, ClientSignals, EdgeRtt, MAX_SIGNALS_LEN, UaData};
pub use hosting::hosting_asn;
pub use reason::{REASON_CODES, Reason, ReasonCode, reason_code, weight};
pub use risk::{RiskAction, RiskPolicy};
pub use server::parse_brands;

use crate::request::facts::RequestFacts;
use crate::request::user_agent::UserAgent;
use serde::Serialize;

/// The findings about one request and their total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// Sum of the weights.
    pub score: u32,
    /// Every finding, in the order checked.
    pub reasons: Vec<Reason>,
}

impl Assessment {
    /// Records a finding. Each named reason counts once: a second finding with the same code
    /// (say, client hints that contradict the User-Agent in two ways) adds its detail, not
    /// its weight again.
    fn add(&mut self, code: ReasonCode, detail: impl Into<String>) {
        self.add_weighted(code, code.weight(), detail);
    }

    /// [`Assessment::add`] with a weight that depends on what was seen (the bot score).
    fn add_weighted(&mut self, code: ReasonCode, weight: u32, detail: impl Into<String>) {
        let detail = detail.into();
        if let Some(r) = self.reasons.iter_mut().find(|r| r.code == code) {
            if r.detail.len() < 200 {
                r.detail.push_str("; ");
                r.detail.push_str(&detail);
            }
            return;
        }
        self.score = self.score.saturating_add(weight);
        self.reasons.push(Reason { code, weight, detail });
    }

    /// Whether a reason with this code was found.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason codes, in order.
    pub fn codes(&self) -> Vec<String> {
        self.reasons.iter().map(|r| r.code.code().to_string()).collect()
    }

    /// The score as the challenge's one-byte risk field.
    pub fn risk_byte(&self) -> u8 {
        u8::try_from(self.score).unwrap_or(u8::MAX)
    }
}

/// Evaluates only what the edge sees (headers and `request.cf`), without client signals.
pub fn assess_server(facts: &RequestFacts) -> Assessment {
    let mut a = Assessment::default();
    let raw_ua = facts.user_agent().unwrap_or("");
    server::server(facts, raw_ua, &UserAgent::parse(raw_ua), &mut a);
    a
}

/// Evaluates a request: server-side signals, client signals, and the cross-checks between them.
pub fn assess(facts: &RequestFacts, client: &ClientSide) -> Assessment {
    let mut a = Assessment::default();
    let raw_ua = facts.user_agent().unwrap_or("");
    let ua = UserAgent::parse(raw_ua);
    server::server(facts, raw_ua, &ua, &mut a);
    match client {
        ClientSide::Absent => {
            if ua.family.is_browser() && facts.method != "GET" {
                a.add(ReasonCode::SignalsMissing, "browser User-Agent without client signals");
            }
        }
        ClientSide::Malformed(why) => a.add(ReasonCode::SignalsMalformed, why.clone()),
        ClientSide::Present(s) => {
            client::client_only(&ua, s, &mut a);
            cross::cross(facts, raw_ua, &ua, s, &mut a);
        }
    }
    a
}
