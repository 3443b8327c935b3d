//! The sign-up pipeline, sans-IO: from a request's facts to what to answer, as
//! [`step::Step`]s the Worker (and the native drill) drive. Nothing here reads a clock,
//! randomness, the network or storage: `now`, random bytes and what the stores answered come
//! in as arguments.
//!
//! - [`front`]: which part of the gate a request goes to;
//! - [`issue`]: `GET challenge`, pricing and signing a challenge;
//! - [`submit`]: a protected request: body, verification, fingerprint, policy, single use,
//!   verdict (and [`nojs`], the path without JavaScript);
//! - [`siteverify`], [`operator`] (stats and panic): the operators' endpoints;
//! - [`log`], [`reply`]: the decision-log line and the response, as values;
//! - [`config`], [`page`], [`replay`]: configuration, pages for people, policy replay.

pub mod front;
pub mod issue;
pub mod nojs;
pub mod operator;
pub mod siteverify;
pub mod step;
pub mod submit;
pub mod wait;

use crate::policy::{CohortState, Decision, Known, Policy, Subject};
use crate::protocol::binding::{Binding, ClientView};
use crate::request::facts::RequestFacts;
use crate::signals::Assessment;
use step::Counted;

/// The client binding as the edge sees it (ASN, country, User-Agent).
pub fn binding(facts: &RequestFacts) -> Binding {
    Binding::of(&ClientView {
        asn: facts.cf.asn,
        country: facts.cf.country.as_deref(),
        user_agent: facts.user_agent(),
    })
}

/// What the policy decides on, for a request on `route`.
pub fn subject<'s>(
    facts: &'s RequestFacts,
    route: &'s str,
    assessment: &'s Assessment,
    phone_code: Known<Option<String>>,
) -> Subject<'s> {
    Subject {
        route,
        country: facts.cf.country.as_deref(),
        asn: facts.cf.asn,
        ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: facts.user_agent(),
        assessment,
        phone_code,
    }
}

/// The attack-mode counters a request reads (and, once accepted, moves): its cohorts, and
/// when its route states a capacity, the route's total and its cohorts on that route.
pub fn counted(policy: &Policy, subject: &Subject<'_>) -> Counted {
    let attack = &policy.attack;
    if !attack.enabled {
        return Counted { keys: Vec::new(), site: false, window_secs: attack.window_secs, capacity: None };
    }
    let mut keys = subject.cohorts(&attack.cohorts);
    let capacity = attack.capacity.iter().find(|c| c.route == subject.route).cloned();
    if let Some(c) = &capacity {
        let on_route: Vec<_> = keys.iter().filter_map(|k| c.cohort_key(k)).collect();
        keys.push(c.total_key());
        keys.extend(on_route);
    }
    Counted { keys, site: attack.global_ceiling.is_some(), window_secs: attack.window_secs, capacity }
}

/// Decides by the policy on the cohort state read. If the counters could not be read, attack
/// mode is skipped for this request (the reason is logged): the proof of work, the
/// fingerprint checks and the ledger still apply.
pub fn decide(
    policy: &Policy,
    subject: &Subject<'_>,
    state: Result<CohortState, String>,
) -> (Decision, CohortState, Option<String>) {
    let (state, unreadable) = match state {
        Ok(s) => (s, None),
        Err(e) => (CohortState::default(), Some(e)),
    };
    (policy.decide(subject, &state), state, unreadable)
}

/// Reads the cohort state for `counted` and goes on with it. Without attack mode nothing is
/// counted, but the snapshot is still read (no keys) so a site-wide run-time panic applies.
pub(crate) fn with_cohorts<'a>(
    policy: &Policy,
    counted: &Counted,
    then: impl FnOnce(Result<CohortState, String>) -> step::Step<'a> + 'a,
) -> step::Step<'a> {
    let _ = policy;
    step::Step::ReadCohorts(step::ReadCohorts {
        keys: counted.keys.clone(),
        site: counted.site,
        window_secs: counted.window_secs,
        capacity: counted.capacity.clone(),
        then: Box::new(then),
    })
}
