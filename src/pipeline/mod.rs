//! The request flow, sans-IO: from a request's facts to what to answer, as [`step::Step`]s
//! the drivers perform. Nothing here reads a clock, randomness, the network or storage:
//! `now`, random bytes and what the stores answered come in as arguments.
//!
//! Every request enters through [`start`] and leaves through [`step::finish`]:
//!
//! - [`front`]: which part of the gate a request goes to;
//! - [`issue`]: `GET challenge`, pricing and signing a challenge;
//! - [`submit`]: a protected request: body, verification, fingerprint, policy, single use,
//!   verdict; [`wait`] and [`nojs`], the path without JavaScript;
//! - [`otp_check`]: the OTP check route, passed through and observed;
//! - [`siteverify`], [`operator`]: the endpoints for origins and operators;
//! - [`refusal`]: the one way to refuse (logged and counted);
//! - [`step`]: the driver contract.

mod backoff;
pub mod front;
pub mod issue;
mod line;
pub mod nojs;
pub mod operator;
pub mod otp_check;
pub mod phone_field;
mod ping;
pub(crate) mod ranges;
pub mod refusal;
pub mod siteverify;
pub mod step;
pub mod submit;
pub mod topups;
pub mod wait;
pub mod work;

use crate::config::Loaded;
use crate::control::Counted;
use crate::policy::{CohortKey, CohortState, Decision, Known, Outcome, Policy, Subject};
use crate::protocol::binding::{Binding, ClientView};
use crate::protocol::key::KeyRing;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::rtt_stamp::{self, AddressDigest, Reading};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::phone::NumberType;
use crate::signals::{Assessment, ClientSide, EdgeRtt};
use step::{ReadCohorts, Step};

pub use step::finish;

/// Where every request starts: its first step. `random` is a fresh id from the driver's
/// randomness (or why it had none: then nothing can be issued, and the request is refused).
pub fn start<'a>(
    loaded: &'a Loaded,
    facts: &'a RequestFacts,
    random: Result<[u8; 16], String>,
    now: UnixTime,
) -> Step<'a> {
    front::route(loaded, facts, random, now)
}

/// The driver could not perform an IO a step asked for (a platform error): the request is
/// refused as `origin_unavailable`, logged and counted like every refusal.
pub fn failed(facts: &RequestFacts, now: UnixTime, why: String) -> step::Done {
    let r =
        crate::protocol::reject::Rejection::new(crate::protocol::reject::RejectKind::OriginUnavailable, why);
    refusal::Refusal::new(r, facts, now).done()
}

/// Random bits for the verifier's sampling order, from a request's random id.
pub(crate) fn order_of(random: &[u8; 16]) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = *random;
    u64::from_be_bytes([a, b, c, d, e, f, g, h])
}

/// The client binding as the edge sees it (ASN, country, User-Agent).
pub fn binding(facts: &RequestFacts) -> Binding {
    Binding::of(&ClientView {
        asn: facts.cf.asn,
        country: facts.cf.country.as_deref(),
        user_agent: facts.user_agent(),
    })
}

/// The digest of the address prefix the edge sees (`/24`, `/48`) for round-trip stamps.
pub fn address_digest(facts: &RequestFacts) -> AddressDigest {
    let ip = facts.client_ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    AddressDigest::of(ip.map(crate::policy::ip_prefix).as_deref())
}

/// Reads the round-trip stamp in a request's signals (the key is here, not in `signals`):
/// the round trip the edge measured, or why there is none.
pub fn read_rtt(keys: &KeyRing, facts: &RequestFacts, side: ClientSide, at: Reading) -> ClientSide {
    let ClientSide::Present(mut s) = side else { return side };
    s.edge_rtt = match s.rtt_stamp.as_deref() {
        None | Some("") => EdgeRtt::Unmeasured("no round-trip stamp in the signals".into()),
        Some(stamp) => match rtt_stamp::measured(keys, &binding(facts), stamp, at) {
            Ok(ms) => EdgeRtt::Measured(ms),
            Err(e) => EdgeRtt::Unmeasured(e.to_string()),
        },
    };
    ClientSide::Present(s)
}

/// What the policy decides on, for a request on `route`.
pub fn subject<'s>(
    facts: &'s RequestFacts,
    route: &str,
    assessment: Assessment,
    phone_code: Known<Option<String>>,
    phone_type: Known<Option<NumberType>>,
) -> Subject<'s> {
    Subject {
        route: route.to_string(),
        country: facts.cf.country.as_deref(),
        asn: facts.cf.asn,
        ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: facts.user_agent(),
        assessment,
        phone_code,
        phone_type,
    }
}

/// The attack-mode counters a request reads (and, once accepted, moves): its cohorts, and
/// when its route states a capacity, the route's total and its cohorts on that route.
pub fn counted(policy: &Policy, subject: &Subject<'_>) -> Counted {
    let attack = &policy.attack;
    if !attack.enabled {
        return Counted {
            keys: Vec::new(),
            site: false,
            window_secs: attack.window_secs,
            capacity: None,
            read_only: Vec::new(),
            peek: Vec::new(),
            weighted: Vec::new(),
        };
    }
    let mut keys = subject.cohorts(&attack.cohorts);
    let capacity = attack.capacity.iter().find(|c| c.route == subject.route).cloned();
    // usual shares: the cohorts' slow counts and the site's, read with the rates (a sign-up
    // that does not count in them drops them, `usual_learned`)
    let usual: Vec<_> = match attack.usual {
        Some(_) => keys.iter().filter_map(CohortKey::usual).chain([CohortKey::usual_site()]).collect(),
        None => Vec::new(),
    };
    if let Some(c) = &capacity {
        let on_route: Vec<_> = keys.iter().filter_map(|k| c.cohort_key(k)).collect();
        keys.push(c.total_key());
        keys.extend(on_route);
    }
    keys.extend(usual);
    Counted {
        keys,
        site: attack.global_ceiling.is_some() || attack.usual.is_some(),
        window_secs: attack.window_secs,
        capacity,
        read_only: attack.usual.map(|_| CohortKey::usual_site_rate()).into_iter().collect(),
        peek: Vec::new(),
        weighted: Vec::new(),
    }
}

/// What an accepted sign-up moves in the usual shares: nothing unless it counts in them
/// (`Attack::learns`, drawn from the request's random bytes: a client cannot pick it); then
/// one for each of its cohorts and the site, and the site's rate it saw (`policy::usual`).
pub(crate) fn usual_learned(policy: &Policy, state: &CohortState, random: &[u8; 16], counted: &mut Counted) {
    let Some(usual) = policy.attack.usual else { return };
    counted.weighted.retain(|(k, _)| !k.is_usual());
    // (a decision taken again on a fresher read keeps the first one's choice to leave out)
    let kept = counted.keys.iter().any(CohortKey::is_usual);
    if kept && policy.attack.learns(state, ranges::draw(random, 1)) {
        counted.weighted.push((CohortKey::usual_site_rate(), usual.rate_weight(state)));
    } else {
        counted.keys.retain(|k| !k.is_usual());
    }
}

/// The cohort state a decision is taken on, and why the counters could not be read when
/// they could not. Unreadable counters skip attack mode for this request (the reason is
/// logged): the proof of work, the fingerprint checks and the ledger still apply.
pub fn state_read(read: Result<CohortState, String>) -> (CohortState, Option<String>) {
    match read {
        Ok(s) => {
            let why = s.degraded.clone();
            (s, why)
        }
        Err(e) => (CohortState::default(), Some(e)),
    }
}

/// The price a policy decision asks (difficulty, sub-puzzles), or the refusal it means (deny;
/// busy with the policy's `Retry-After`), with where it was taken (`at issue`, `at
/// submission`, `no-JS`) in its detail.
pub(crate) fn price_of(policy: &Policy, d: &Decision, at: &str) -> Result<(u8, u8), Rejection> {
    let retry = policy.attack.retry_after_secs;
    match d.outcome {
        Outcome::Price { difficulty, k } => Ok((difficulty, k)),
        Outcome::Deny => Err(Rejection::new(RejectKind::Denied, format!("{at}: {}", d.why))),
        Outcome::Busy => Err(Rejection::new(RejectKind::Busy, format!("{at}: {}", d.why)).retry_after(retry)),
    }
}

/// The step that reads `want` (even with nothing to count, the snapshot is read, with no
/// keys, so a site-wide run-time panic applies).
pub(crate) fn read_cohorts<'a>(
    policy: &'a Policy,
    shards: u32,
    want: Counted,
    then: impl FnOnce(Result<CohortState, String>) -> Step<'a> + 'a,
) -> Step<'a> {
    Step::ReadCohorts(ReadCohorts { want, shards, policy, fresh: false, then: Box::new(then) })
}
