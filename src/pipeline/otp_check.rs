//! An OTP check (`otp.check.route`): passed to the origin as it came (no verdict: the check is
//! the origin's to judge, and the gate never prices or refuses one) and observed. When the origin
//! answers that the code was right, one verified code is counted for the number's range, at most
//! once per number per counting window (a single-use ledger row keyed by a keyed hash of the
//! number, so a right code checked again and again cannot lift its range's conversion).
//!
//! Storage is touched only after the origin said "right code", which takes a code that took a
//! paid send: nothing here is free for an attacker.

use crate::config::Config;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{
    Answer, BodyRead, Done, Forward, ReadBody, Spend, SpendAnswer, SpendOrder, Step,
};
use crate::policy::{CohortKey, NumberSource, Otp, OtpCount};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::form::{BodyKind, Fields};
use crate::request::phone::{self, PhoneNumber};

/// Whether a request is the policy's OTP check, spelled exactly as configured: a verified
/// code is counted only for the path the origin's check handler serves. Every other spelling
/// (case, extension, `;param`, a path in the query) passes through uncounted, so an attacker
/// cannot have another handler's 200 counted as a verified code for its range.
pub fn is_check(otp: &Otp, methods: &[&str], path: &str, query: Option<&str>) -> bool {
    // the request's own method, no override header
    let method = otp.check.method.as_deref().is_none_or(|m| methods == [m]);
    let path_in_query =
        query.is_some_and(|q| q.starts_with('/') || q.to_ascii_lowercase().starts_with("%2f"));
    method && path == otp.check.path && !path_in_query
}

/// Starts an observed check: read the body (the number may be in it), then forward it.
pub fn start<'a>(config: &'a Config, otp: &'a Otp, facts: &'a RequestFacts, now: UnixTime) -> Step<'a> {
    if matches!(facts.method.as_str(), "GET" | "HEAD") {
        return relay(config, otp, facts, Vec::new(), now);
    }
    Step::ReadBody(ReadBody {
        cap: config.max_body,
        then: Box::new(move |body, arrived| match body {
            BodyRead::Bytes(b) => relay(config, otp, facts, b, arrived),
            BodyRead::TooLarge(n) => refuse(
                facts,
                arrived,
                Rejection::new(RejectKind::TooLarge, format!("OTP check body of {n}+ bytes")),
            ),
            BodyRead::Failed(e) => refuse(
                facts,
                arrived,
                Rejection::new(RejectKind::UnsupportedBody, format!("OTP check body read: {e}")),
            ),
        }),
    })
}

fn refuse<'a>(facts: &RequestFacts, now: UnixTime, r: Rejection) -> Step<'a> {
    Step::done(Refusal::new(r, facts, now).done())
}

/// The number a check carries, read like a sign-up's (`None`: none, several, or unreadable;
/// the check is forwarded all the same, only not counted).
pub fn number_of(otp: &Otp, config: &Config, facts: &RequestFacts, body: &[u8]) -> Option<PhoneNumber> {
    let text = match &otp.check_number {
        NumberSource::Header(name) => facts.headers.get(name)?.to_string(),
        NumberSource::Field(name) => {
            let kind = BodyKind::of(facts.headers.get("content-type"));
            let fields =
                Fields::parse(&kind, body).ok()?.with_query(facts.query.as_deref().unwrap_or_default());
            fields.get(name).ok()??.to_string()
        }
    };
    phone::parse(text.trim(), config.policy.phone_region).ok()
}

fn relay<'a>(
    config: &'a Config,
    otp: &'a Otp,
    facts: &'a RequestFacts,
    body: Vec<u8>,
    now: UnixTime,
) -> Step<'a> {
    let number = number_of(otp, config, facts, &body);
    Step::Forward(Forward {
        origin: &config.origin,
        verdict: None,
        body,
        then: Box::new(move |status| observed(config, otp, facts, number, status, now)),
    })
}

/// The origin answered: a right code for a readable number is spent once per window, then
/// counted for its range.
fn observed<'a>(
    config: &'a Config,
    otp: &'a Otp,
    facts: &'a RequestFacts,
    number: Option<PhoneNumber>,
    status: Result<u16, String>,
    now: UnixTime,
) -> Step<'a> {
    let status = match status {
        Ok(s) => s,
        Err(e) => return refuse(facts, now, Rejection::new(RejectKind::OriginUnavailable, e)),
    };
    let verified = otp.verified_status.contains(&status);
    let range = number.as_ref().map(|n| n.range().to_string());
    let counts = Seen::counts(otp, range.as_deref());
    let seen = Seen { range, status, verified, now, counts };
    let Some(number) = number.filter(|_| verified) else { return Step::done(seen.done(false)) };
    let order = once_per_window(config, otp, &number, now);
    Step::Spend(Spend::new(order, config.ledger_shards, move |answer| {
        let fresh = answer == SpendAnswer::Fresh;
        let done = seen.done(fresh);
        // the number's first right code in the window: it is back at no wait (a right code
        // checked again, or an origin that answers 200 to anything, clears it at most once a
        // window)
        match otp.backoff {
            Some(_) if fresh => super::backoff::clear(config, number.e164(), done),
            _ => Step::done(done),
        }
    }))
}

/// What a check showed: the origin's answer for a range.
struct Seen {
    range: Option<String>,
    status: u16,
    verified: bool,
    now: UnixTime,
    /// What a counted right code moves: its range's, calling code's and network's verified
    /// counts and, with `[otp.first_seen]`, its range, calling code and the site as seen (with
    /// `otp.unentered_block_sends`, the site alone: a block of a range nobody entered a code in
    /// waits until the site has had codes entered).
    counts: Vec<CohortKey>,
}

impl Seen {
    /// What a check of a number in `range` moves when its code is right, under `otp`.
    fn counts(otp: &Otp, range: Option<&str>) -> Vec<CohortKey> {
        let Some(r) = range else { return Vec::new() };
        let mut keys = otp.scope_keys(OtpCount::Verified, r);
        keys.extend(otp.scope_keys(OtpCount::VerifiedRecent, r));
        keys.extend(otp.entered_keys(r));
        keys
    }

    /// The origin's answer, an `otp_check` log line (the range, never the number) and, when
    /// `counted`, one verified code for the range.
    fn done(self, counted: bool) -> Done {
        let Seen { range, status, verified, now, counts } = self;
        let event = range.as_ref().map(|r| {
            let t = now.seconds();
            serde_json::json!({"gate": "otp_check", "t": t, "range": r, "status": status, "verified": verified, "counted": counted})
        });
        let events = if counted { counts } else { Vec::new() };
        let counts = crate::control::Counts { events, ..Default::default() };
        Done { answer: Answer::Origin, log: None, event, counts }
    }
}

/// The ledger row that lets a number's right code count once per window: a keyed hash of the
/// number and the window's index, forgotten when the window ends.
fn once_per_window(config: &Config, otp: &Otp, number: &PhoneNumber, now: UnixTime) -> SpendOrder {
    let window = u64::from(otp.window_secs.max(1));
    let index = now.seconds() / window;
    let tag =
        config.origin_key.sign(&[b"gate otp verified v1\0", number.e164().as_bytes(), &index.to_be_bytes()]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&tag[..16]);
    SpendOrder::of(id, UnixTime::from_secs((index + 1) * window))
}
