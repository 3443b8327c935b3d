//! A submission's number range (`[otp]`): on the OTP send route a code is about to be sent, so
//! the range's conversion may price or block it and the send is counted; on the sign-up routes
//! of `otp.apply_to` the range only prices (a sign-up is not an SMS: a blocked range costs its
//! strongest price level, never a refusal) and nothing is counted.

use super::submit::{Paid, decide, on_price};
use crate::control::{Control, Counted};
use crate::decision_log::{DecisionLog, OtpLog};
use crate::pipeline::step::{ReadCohorts, SetPanic, Step};
use crate::policy::{
    CohortKey, CohortState, Decision, Known, Otp, OtpCount, Policy, RangeReading, RangeScope, RangeVerdict,
    WiderReadings, calling_code_scope, network_scope,
};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;

/// What a number range is judged for on this route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RangeUse {
    /// A code is sent to the number (`otp.send.route`).
    Send,
    /// A sign-up carries the number (`otp.apply_to`).
    SignUp,
}

/// A submission's range and what it is judged for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RangeAt {
    /// The range (`+86 138`).
    pub range: String,
    /// Why it is judged.
    pub used: RangeUse,
}

impl RangeAt {
    /// The range of a number on `route`, where the policy judges it.
    pub fn of(policy: &Policy, route: &str, range: Option<&str>) -> Option<RangeAt> {
        let otp = policy.otp.as_ref().filter(|o| o.judges(route))?;
        let used = if otp.send_route == route { RangeUse::Send } else { RangeUse::SignUp };
        Some(RangeAt { range: range?.to_string(), used })
    }

    /// Its counters in the read: a send moves its sent counters once the origin sent it and
    /// reads the rest; a sign-up only reads.
    pub fn count(&self, otp: &Otp, counted: &mut Counted) {
        let moved = match self.used {
            RangeUse::Send => otp.sent_keys(&self.range),
            RangeUse::SignUp => Vec::new(),
        };
        counted.read_only.extend(otp.read_keys(&self.range).into_iter().filter(|k| !moved.contains(k)));
        counted.keys.extend(moved);
    }

    /// A send's try, for its range, calling code and network (counted whatever the answer: a
    /// block renews while the range is used).
    pub fn tries(&self, policy: &Policy) -> Vec<CohortKey> {
        match (&self.used, policy.otp.as_ref()) {
            (RangeUse::Send, Some(otp)) => otp.scope_keys(OtpCount::Tries, &self.range),
            _ => Vec::new(),
        }
    }
}

/// Judges the range on the state read and goes on with the price, a block, or a read of the
/// range's counts from their shards first.
pub(super) fn judge<'a>(
    p: Paid<'a>,
    at: RangeAt,
    state: CohortState,
    unreadable: Option<String>,
    decision: Decision,
    mut line: DecisionLog,
) -> Step<'a> {
    let policy = &p.sub.config.policy;
    let Some(otp) = policy.otp.as_ref() else { return on_price(p, decision, line) };
    let range = at.range.as_str();
    let j = Judged::of(otp, &at, &state, p.sub.now);
    let (reading, wider, verdict, scope) = (&j.reading, j.wider(), j.verdict, j.scope.clone());
    let acts = matches!(
        verdict,
        RangeVerdict::Priced { .. }
            | RangeVerdict::FirstSeen { .. }
            | RangeVerdict::Surge { .. }
            | RangeVerdict::Blocked { new: true, .. }
    );
    // first seen: a range or calling code this isolate has not seen is read from its shards
    // before it is priced or let go (the site's warm-up too)
    let unsure = otp.first_seen.is_some() && (reading.seen.range < 0.5 || reading.seen.calling_code < 0.5);
    if (acts || unsure) && !p.fresh {
        return read_now(p, state, unreadable, at);
    }
    line.otp = Some(j.log(otp, range));
    let mut p = p;
    if otp.surge.is_some() {
        let left_out = otp.usual_left_out(range, reading, wider, draw(&p.random, 0));
        p.counted.keys.retain(|k| !left_out.contains(k));
    }
    // global shadow mode logs the range's verdict and enforces only the base price
    match verdict {
        _ if policy.shadow => on_price(p, decision, line),
        RangeVerdict::Blocked { until_ms, new } => blocked(&p, &at, scope, until_ms, new, line),
        v => match extra_bits(&v, &scope.named(range)) {
            Some((bits, why)) => priced(p, decision, line, bits, &why),
            None => on_price(p, decision, line),
        },
    }
}

/// A code asked for without JavaScript (`no_js.routes` lists the send route), or a sign-up on an
/// `otp.apply_to` route: the path has no price to raise, so a range the JavaScript path would
/// price is `busy` for it (for a sign-up, a blocked range too: its strongest price) and a
/// blocked one is refused on the send route as there; only a range at its usual price goes on.
/// Judged on this isolate's snapshot, never on a read now (the post costs its client nothing):
/// a range this isolate has not read yet is at its usual price, and the no-JS budget bounds
/// what that lets through. A block this judgement would start is not written here (the next
/// JavaScript send or read of the range writes it); the refusal is the same. `None`: let it go.
pub(super) fn no_js_refusal(
    policy: &Policy,
    at: &RangeAt,
    state: &CohortState,
    now: UnixTime,
) -> Option<Rejection> {
    let otp = policy.otp.as_ref()?;
    if policy.shadow {
        return None;
    }
    let range = at.range.as_str();
    let j = Judged::of(otp, at, state, now);
    let scope = j.scope.named(range);
    match j.verdict {
        RangeVerdict::Normal => None,
        RangeVerdict::Blocked { until_ms, .. } => Some(blocked_until(&scope, until_ms, now)),
        v => {
            let why = extra_bits(&v, &scope).map_or_else(|| scope.clone(), |(_, why)| why);
            let retry = policy.attack.retry_after_secs;
            Some(
                Rejection::new(RejectKind::Busy, format!("no-JS: {why}; this path has no price to raise"))
                    .retry_after(retry),
            )
        }
    }
}

/// `429 phone_range_blocked` for `scope` until `until_ms` (at least a second): nothing spent, so
/// the same work may ask for a code to another number.
fn blocked_until(scope: &str, until_ms: u64, now: UnixTime) -> Rejection {
    let secs = u32::try_from(until_ms.saturating_sub(now.millis()).div_ceil(1000)).unwrap_or(u32::MAX).max(1);
    Rejection::new(RejectKind::PhoneRangeBlocked, format!("{scope} blocked for {secs} s")).retry_after(secs)
}

/// The extra bits a range's verdict asks, and why (none for its usual price or a block).
fn extra_bits(verdict: &RangeVerdict, scope: &str) -> Option<(u8, String)> {
    match *verdict {
        RangeVerdict::Normal | RangeVerdict::Blocked { .. } => None,
        RangeVerdict::Priced { extra_bits, conversion } => {
            Some((extra_bits, format!("{scope} conversion ≤ {conversion:.2}")))
        }
        RangeVerdict::FirstSeen { extra_bits, scope: seen } => {
            Some((extra_bits, format!("{scope}: first seen ({seen})")))
        }
        RangeVerdict::Surge { extra_bits, share, usual } => Some((
            extra_bits,
            format!("{scope}: {:.1} % of codes, usually {:.1} %", share * 100.0, usual * 100.0),
        )),
    }
}

/// What a challenge or top-up request says of its number: the widget's first digits
/// (`phone`, [`crate::request::phone::prefix_of`]), read for the calling code, and for the
/// range where the policy judges one on `route` (its counts are then peeked, never asked).
pub(super) fn phone_ahead(
    policy: &Policy,
    route: &str,
    query: Option<&str>,
) -> (Known<Option<String>>, Option<RangeAt>) {
    let Some(sent) = super::front::query_param(query, "phone") else { return (Known::Unknown, None) };
    // the range is looked for only where the policy judges one
    let judged = policy.otp.as_ref().is_some_and(|o| o.judges(route));
    let prefix = crate::request::phone::read_prefix(&sent, judged);
    let range = prefix.range.map(|r| r.to_string());
    let at = RangeAt::of(policy, route, range.as_deref());
    (Known::Is(prefix.calling_code.map(str::to_string)), at)
}

impl RangeAt {
    /// Its counters, peeked ahead of a submission (`Counted::peek`).
    pub fn peek(&self, policy: &Policy, counted: &mut Counted) {
        if let Some(otp) = &policy.otp {
            counted.peek.extend(otp.read_keys(&self.range));
        }
    }
}

/// The range's price ahead of a submission, and its log.
struct Ahead {
    /// The bits the submission would add for the range, and why.
    price: Option<(u8, String)>,
    /// The range as judged, for the line.
    log: OtpLog,
}

/// The range's price ahead of a submission (a challenge or top-up request whose widget sent
/// the number's first digits): the bits the submission would ask for it, so that a plain form
/// pays them before it is posted. Judged only on counts this isolate read from their shards
/// together in the last ten seconds (`Snapshot::peek`: for a submission here, or pushed by a
/// shard), never on a read now, a
/// count or a block: those requests cost a client nothing. `None` while a count is unknown
/// (the submission judges alone). A blocked range costs a sign-up its strongest price and a
/// send nothing more (its submission is refused, nothing spent).
fn ahead(policy: &Policy, at: &RangeAt, state: &CohortState, now: UnixTime) -> Option<Ahead> {
    let otp = policy.otp.as_ref()?;
    let range = at.range.as_str();
    let known = otp.read_keys(range).iter().all(|k| state.peeked.iter().any(|(p, _)| p == k));
    if !known {
        return None;
    }
    let state = CohortState {
        rates: state.peeked.clone(),
        switches: state.switches.clone(),
        ..CohortState::default()
    };
    let j = Judged::of(otp, at, &state, now);
    let price = extra_bits(&j.verdict, &j.scope.named(range)).filter(|_| !policy.shadow);
    Some(Ahead { price, log: j.log(otp, range) })
}

/// A decision's price with the range's bits ahead, if any, and the range as judged for the line.
pub(super) fn priced_ahead(
    policy: &Policy,
    at: Option<&RangeAt>,
    state: &CohortState,
    now: UnixTime,
    decision: Decision,
) -> (Decision, Option<OtpLog>) {
    match at.and_then(|at| ahead(policy, at, state, now)) {
        Some(Ahead { price: Some((bits, why)), log }) => (decision.priced_up(bits, &why), Some(log)),
        Some(Ahead { price: None, log }) => (decision, Some(log)),
        None => (decision, None),
    }
}

/// A range judged on a state: its readings (its own, its calling code's, its network's), the
/// verdict (a blocked range costs a sign-up its strongest price: a sign-up is not an SMS) and
/// the scope it is the verdict of.
struct Judged<'o> {
    reading: RangeReading,
    code: Option<RangeReading>,
    network: Option<(&'o str, RangeReading)>,
    verdict: RangeVerdict,
    scope: RangeScope,
}

impl<'o> Judged<'o> {
    fn of(otp: &'o Otp, at: &RangeAt, state: &CohortState, now: UnixTime) -> Judged<'o> {
        let range = at.range.as_str();
        let reading = Otp::reading(range, state);
        let code = calling_code_scope(range).map(|c| Otp::reading(&c, state));
        let network = otp.network_of(range).map(|n| (n, Otp::reading(&network_scope(n), state)));
        let wider =
            WiderReadings { calling_code: code.as_ref(), network: network.as_ref().map(|(n, r)| (*n, r)) };
        let (verdict, scope) = otp.judge_number(&reading, wider, now.millis());
        let verdict = match (verdict, &at.used) {
            (RangeVerdict::Blocked { .. }, RangeUse::SignUp) => strongest_price(otp, &reading),
            (v, _) => v,
        };
        Judged { reading, code, network, verdict, scope }
    }

    fn wider(&self) -> WiderReadings<'_> {
        WiderReadings {
            calling_code: self.code.as_ref(),
            network: self.network.as_ref().map(|(n, r)| (*n, r)),
        }
    }

    fn log(&self, otp: &Otp, range: &str) -> OtpLog {
        OtpLog::of(range, &self.reading, otp.min_sends, &self.verdict).with_wider(self.wider(), &self.scope)
    }
}

/// A uniform draw in [0, 1) for the usual shares' sampling (`Otp::usual_left_out`: `nth` 0;
/// the cohorts' usual shares, `super::usual_left_out`: 1), from the request's random bytes
/// (not the challenge's id, which a client could pick), hashed so the draw is as even as the
/// bytes are unpredictable whatever their layout; each `nth` (0–15) independent of the others.
pub(super) fn draw(random: &[u8; 16], nth: usize) -> f64 {
    let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(random).into();
    let i = (nth % 16) * 2;
    let pair = digest.get(i..i + 2).and_then(|b| <[u8; 2]>::try_from(b).ok()).unwrap_or([0, 0]);
    f64::from(u16::from_be_bytes(pair)) / 65_536.0
}

/// The range raises the price: the line's outcome is the price asked, the range's bits included.
fn priced<'a>(p: Paid<'a>, decision: Decision, mut line: DecisionLog, extra_bits: u8, why: &str) -> Step<'a> {
    let decision = decision.priced_up(extra_bits, why);
    line.outcome = Some(decision.outcome.clone());
    line.why = Some(decision.why.clone());
    on_price(p, decision, line)
}

/// The strongest price level (a blocked range, for a sign-up), with the bound it was judged on
/// (0 for a range blocked before its sends could be judged: nobody entered a code in it).
fn strongest_price(otp: &Otp, reading: &crate::policy::RangeReading) -> RangeVerdict {
    match otp.strongest_price_bits() {
        Some(extra_bits) => RangeVerdict::Priced {
            extra_bits,
            conversion: reading.conversion_bound(otp.min_sends).unwrap_or(0.0),
        },
        None => RangeVerdict::Normal,
    }
}

/// A range is priced or blocked only on its counts read from their shards now: an isolate
/// that has not read one of them yet (a verified count it never asked for) would judge a
/// range of people low. An unreadable shard leaves the range at its usual price.
fn read_now<'a>(p: Paid<'a>, state: CohortState, unreadable: Option<String>, at: RangeAt) -> Step<'a> {
    let config = p.sub.config;
    let want = Counted {
        keys: Vec::new(),
        site: false,
        window_secs: config.policy.attack.window_secs,
        capacity: None,
        read_only: config.policy.otp.as_ref().map(|o| o.read_keys(&at.range)).unwrap_or_default(),
        peek: Vec::new(),
        weighted: Vec::new(),
    };
    Step::ReadCohorts(ReadCohorts {
        want,
        shards: config.cohort_shards,
        policy: &config.policy,
        fresh: true,
        then: Box::new(move |read| {
            let mut state = state;
            state.rates.retain(|(k, _)| k.otp_count().is_none());
            state.switches.clear();
            if let Ok(now) = read {
                state.rates.extend(now.rates.into_iter().filter(|(k, _)| k.otp_count().is_some()));
                state.switches = now.switches;
            }
            decide(Paid { fresh: true, ..p }, state, unreadable)
        }),
    })
}

/// The range is blocked: `429 phone_range_blocked` until the block ends (nothing spent: the
/// same work may ask for a code to another number). A new block is written first, to the
/// switch's shard, so every isolate refuses the range within the staleness bound.
fn blocked<'a>(
    p: &Paid<'a>,
    at: &RangeAt,
    scope: RangeScope,
    until_ms: u64,
    new: bool,
    line: DecisionLog,
) -> Step<'a> {
    let range = at.range.as_str();
    let r = blocked_until(&scope.named(range), until_ms, p.sub.now);
    let mut done = p.sub.refusal_on(r, line);
    done.counts.events.extend(at.tries(&p.sub.config.policy));
    if !new {
        return Step::done(done);
    }
    let shards = p.sub.config.cohort_shards;
    let key = CohortKey::otp(OtpCount::Block, &scope.of(range));
    let write = Control::panic_write(&key, Some(UnixTime::from_millis(until_ms)), shards);
    Step::SetPanic(SetPanic {
        key,
        write,
        shards,
        then: Box::new(move |set| {
            let mut done = done;
            if let (Err(e), Some(line)) = (set, done.log.as_mut()) {
                line.counters_unreadable = Some(format!("range block not written: {e}"));
            }
            Step::done(done)
        }),
    })
}
