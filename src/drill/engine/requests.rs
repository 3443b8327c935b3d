//! What the drill's clients send and what it exports: the sign-up form as the widget (or a
//! browser without JavaScript) posts it, and each request as the fidelity replay reads it.

use super::Attempt;
use crate::drill::scenario::Scenario;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// One request the drill made, for replay against the built Worker.
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// Virtual ms since the start.
    pub t_ms: u64,
    /// The attempt it belongs to.
    pub attempt: u64,
    /// Population name.
    pub population: String,
    /// `challenge` or `submit`.
    pub step: &'static str,
    /// The protected route.
    pub route: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// `request.cf`.
    pub cf: crate::request::facts::CfFacts,
    /// `CF-Connecting-IP`.
    pub ip: String,
    /// Client signals, base64url (empty: none).
    pub signals: String,
    /// Phone number field.
    pub phone: Option<String>,
    /// Its calling code (the challenge request's `phone` parameter, as the widget sends it).
    pub phone_code: Option<String>,
    /// The isolate the drill sent it to.
    pub isolate: usize,
    /// A submission that resends the last solution (retry after busy) rather than a new one.
    pub resend: bool,
    /// What the drill's gate answered (`issued`, `forwarded`, `topup`, `priced`, or a
    /// rejection code).
    pub answer: String,
    /// A top-up request's `want` (lowered expected hashes banked while typing; 0: none).
    pub want: u64,
}

pub(super) fn route_of(scenario: &Scenario, p: usize) -> String {
    let n = scenario.people.len();
    if p < n {
        scenario.people.get(p).map(|x| x.route.clone()).unwrap_or_default()
    } else {
        scenario.attackers.get(p - n).map(|x| x.route.clone()).unwrap_or_default()
    }
}

fn pop_name(scenario: &Scenario, p: usize) -> String {
    let n = scenario.people.len();
    if p < n {
        scenario.people.get(p).map(|x| x.name.clone()).unwrap_or_default()
    } else {
        scenario.attackers.get(p - n).map(|x| x.name.clone()).unwrap_or_default()
    }
}

pub(super) fn exported(
    att: &Attempt,
    t: u64,
    step: &'static str,
    scenario: &Scenario,
    answer: &str,
    isolate: usize,
    resend: bool,
) -> Exported {
    let facts = if step == "submit" { &att.client.submit } else { &att.client.fetch };
    Exported {
        t_ms: t,
        attempt: att.id,
        population: pop_name(scenario, att.pop),
        step,
        route: route_of(scenario, att.pop),
        headers: facts.headers.0.clone(),
        cf: facts.cf.clone(),
        ip: facts.client_ip.clone().unwrap_or_default(),
        signals: URL_SAFE_NO_PAD.encode(&att.client.signals),
        phone: att.client.phone.clone(),
        phone_code: att.client.phone_code.clone(),
        isolate,
        resend,
        answer: answer.to_string(),
        want: 0,
    }
}

/// The sign-up form as the widget posts it (the person's fields and the solution field), or
/// as a browser without JavaScript posts it (no solution; the wait token on "Continue").
pub(super) fn form_body(id: u64, phone: Option<&str>, solution: Option<&str>, wait: Option<&str>) -> Vec<u8> {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("email", &format!("u{id}@example.com"));
    if let Some(p) = phone {
        f.append_pair("phone", p);
    }
    if let Some(s) = solution {
        f.append_pair(crate::protocol::solution::FIELD, s);
    }
    if let Some(w) = wait {
        f.append_pair(crate::protocol::wait_token::FIELD, w);
    }
    f.finish().into_bytes()
}
