//! Per-number backoff on the OTP send route (`[otp.backoff]`, logic in `store::numbers`): once
//! a send is paid and spent, the number's cell in the ledger grants it or says how long the
//! number still waits. A number still waiting gets `429 phone_number_wait` with `Retry-After`
//! and its challenge stays spent (a replay of the same solution is `already_spent`: one ledger
//! call, not three, and no second try counted for the range). A send the origin did not make
//! (unreachable, a 4xx, a gateway's 502, 503 or 504) is given back to the number, so a person
//! whose code was never sent is not kept waiting for it; a 500 keeps its wait (the origin may
//! have sent, then failed). The number's first right code in a counting window clears it
//! ([`clear`]).
//!
//! Only paid sends and right codes reach the cell: nothing free touches it.

use crate::config::Config;
use crate::pipeline::refusal::Refusal;
use crate::pipeline::step::{Done, NumberCall, Spend, Step};
use crate::pipeline::submit::{Paid, Sent, Submission};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::store::numbers::{NumberCell, NumberOp, NumberReply, NumberRequest, key_of};

/// A send granted by a number's cell: what to restore if it does not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    hash: [u8; 16],
    before: Option<NumberCell>,
    granted: NumberCell,
    reset_after_secs: u32,
}

/// The number's keyed hash, under the origin key (it rotates with it, and without it the small
/// space of phone numbers cannot be searched for a hash).
pub(crate) fn hash(config: &Config, e164: &str) -> [u8; 16] {
    let tag = config.origin_key.sign(&[b"gate otp number v1\0", e164.as_bytes()]);
    let mut out = [0u8; 16];
    for (o, t) in out.iter_mut().zip(tag) {
        *o = t;
    }
    out
}

/// Whether the origin's answer to a send means no code went out: unreachable, a 4xx (it
/// refused the request), or a gateway's 502, 503 or 504.
pub(super) fn not_sent(status: &Result<u16, String>) -> bool {
    match status {
        Err(_) => true,
        Ok(s) => (400..500).contains(s) || matches!(s, 502..=504),
    }
}

/// The number whose send waits its backoff: a code sent (the OTP send route) to a whole
/// number, with `[otp.backoff]` on.
pub(super) fn applies(p: &Paid<'_>) -> Option<String> {
    let otp = p.sub.config.policy.otp.as_ref()?;
    otp.backoff?;
    // the send route, whether or not the number's range was read (a national number beside a
    // calling-code field has no range, but a number all the same)
    (otp.send_route == p.sub.route.path).then(|| p.number.clone())?
}

/// Takes the number's send from its cell, then forwards; a number still waiting is refused
/// (its challenge stays spent). Global shadow mode logs the wait and sends. An unreachable cell
/// sends with `FAIL_OPEN` (logged), else is refused like an unreachable ledger.
pub(super) fn take<'a>(sub: Submission<'a>, body: Vec<u8>, mut sent: Sent, e164: String) -> Step<'a> {
    let config = sub.config;
    let Some(backoff) = config.policy.otp.as_ref().and_then(|o| o.backoff) else {
        return sub.forward(sent, body);
    };
    let hash = hash(config, &e164);
    let request = NumberRequest { key: key_of(&hash), op: NumberOp::Take { backoff } };
    Step::Number(NumberCall {
        request,
        hash,
        shards: config.ledger_shards,
        then: Box::new(move |answer: Result<NumberReply, String>| match answer {
            Ok(NumberReply { granted: true, before, cell: Some(granted), .. }) => {
                let reset_after_secs = backoff.reset_after_secs;
                sent.number = Some(Grant { hash, before, granted, reset_after_secs });
                sub.forward(sent, body)
            }
            Ok(reply) => {
                let wait_ms = reply.until_ms.saturating_sub(sub.now.millis());
                let secs = u32::try_from(wait_ms.div_ceil(1000)).unwrap_or(u32::MAX).max(1);
                if config.policy.shadow {
                    let why = sent.line.why.take().map_or(String::new(), |w| format!("{w}; "));
                    sent.line.why = Some(format!("{why}shadow: the number waits {secs} s"));
                    return sub.forward(sent, body);
                }
                let r = Rejection::new(RejectKind::PhoneNumberWait, format!("number waits {secs} s"))
                    .retry_after(secs);
                let mut done = Refusal::on(r, sent.line).audience(&sub.audience).done();
                // a try on the range all the same: a block renews while the range is asked
                done.counts.events.extend(sent.events);
                Step::done(done)
            }
            // an unreachable cell follows FAIL_OPEN, as the ledger does
            Err(why) if config.fail_open => {
                let note = format!("number backoff not read: {why}");
                sent.line.counters_unreadable = Some(match sent.line.counters_unreadable.take() {
                    Some(before) => format!("{before}; {note}"),
                    None => note,
                });
                sub.forward(sent, body)
            }
            Err(why) => {
                let r = Rejection::new(RejectKind::LedgerUnavailable, format!("number backoff: {why}"));
                let done = Refusal::on(r, sent.line).audience(&sub.audience).done();
                Spend::give_back(&sent.order, config.ledger_shards, move || Step::done(done))
            }
        }),
    })
}

/// A granted send did not happen (the origin failed): the number's cell as it was, then `done`.
pub(super) fn give_back<'a>(config: &'a Config, grant: Grant, done: Done) -> Step<'a> {
    let Grant { hash, before, granted, reset_after_secs } = grant;
    let request =
        NumberRequest { key: key_of(&hash), op: NumberOp::Restore { before, granted, reset_after_secs } };
    Step::Number(NumberCall {
        request,
        hash,
        shards: config.ledger_shards,
        then: Box::new(move |_| Step::done(done)),
    })
}

/// A right code for `e164` (the check route): the number starts over, then `done`.
pub(crate) fn clear<'a>(config: &'a Config, e164: &str, done: Done) -> Step<'a> {
    let hash = hash(config, e164);
    Step::Number(NumberCall {
        request: NumberRequest { key: key_of(&hash), op: NumberOp::Clear },
        hash,
        shards: config.ledger_shards,
        then: Box::new(move |_| Step::done(done)),
    })
}
