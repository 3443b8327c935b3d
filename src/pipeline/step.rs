//! The pipeline's steps as values, in the style of rustls's `process_new_packets` /
//! `wants_*`: a step either is done, or names the IO it needs and how to go on once the
//! caller has the answer. The Worker (`crate::edge`) and the native drill drive the same
//! steps; neither decides anything the step did not say.

use crate::decision_log::DecisionLog;
use crate::policy::{Capacity, CohortKey, CohortState, Decision};
use crate::present::reply::Reply;
use crate::protocol::time::UnixTime;
pub use crate::store::ledger::{SpendAnswer, SpendOrder};

/// A count for the stats page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// `issue`, `forward`, `reject`, `shadow`, `siteverify`.
    pub action: &'static str,
    /// Rejection code, rule name or `-`.
    pub code: String,
}

impl Tally {
    /// A count of `action` under `code`.
    pub fn new(action: &'static str, code: impl Into<String>) -> Tally {
        Tally { action, code: code.into() }
    }

    /// The counts of a policy decision: `action` under the deciding rule (or `-`), and in
    /// shadow mode `shadow` under the rule that would have decided.
    pub fn of_decision(action: &'static str, d: &Decision) -> Vec<Tally> {
        let rule = d.rule.clone().unwrap_or_else(|| "-".into());
        let mut tallies = vec![Tally::new(action, rule.clone())];
        if let Some(shadow) = &d.shadow {
            tallies.push(Tally::new("shadow", shadow.rule.clone().unwrap_or(rule)));
        }
        tallies
    }
}

/// The cohort counters a sign-up moves, counted only once the origin accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// The cohort keys.
    pub keys: Vec<CohortKey>,
    /// Whether the site-wide count is kept too.
    pub site: bool,
    /// Their decay window, seconds.
    pub window_secs: u32,
    /// The route's capacity, when it states one (its `cap:` keys are among `keys`).
    pub capacity: Option<Capacity>,
}

impl Counted {
    /// Whether there is anything to count.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.site
    }
}

/// What to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The gate's own response.
    Reply(Reply),
    /// The origin's response, as it came (after a forward or a pass-through).
    Origin,
}

/// A finished request: what to answer, the decision-log line, the stats counts, and the
/// cohort counts to add (only when the origin accepted the sign-up).
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// What to send.
    pub answer: Answer,
    /// The decision-log line, if the request was a decision.
    pub log: Option<DecisionLog>,
    /// Stats counts.
    pub tallies: Vec<Tally>,
    /// Cohort counts for an accepted sign-up.
    pub signup: Option<Counted>,
    /// An operational log line that is not a decision (siteverify, panic switches).
    pub event: Option<serde_json::Value>,
}

impl Done {
    /// A reply with nothing logged or counted.
    pub fn reply(reply: Reply) -> Done {
        Done { answer: Answer::Reply(reply), log: None, tallies: Vec::new(), signup: None, event: None }
    }

    /// A reply with its log line and counts.
    pub fn logged(reply: Reply, log: DecisionLog, tallies: Vec<Tally>) -> Done {
        Done { answer: Answer::Reply(reply), log: Some(log), tallies, signup: None, event: None }
    }

    /// The gate's reply, if it answers itself.
    pub fn own_reply(&self) -> Option<&Reply> {
        match &self.answer {
            Answer::Reply(r) => Some(r),
            Answer::Origin => None,
        }
    }
}

/// How reading the body went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyRead {
    /// The bytes, at most the cap asked for.
    Bytes(Vec<u8>),
    /// More than the cap arrived (at least this many bytes).
    TooLarge(usize),
    /// The stream failed.
    Failed(String),
}

/// How to go on after an IO step.
type Then<'a, T> = Box<dyn FnOnce(T) -> Step<'a> + 'a>;

/// Read the body, at most `cap` bytes, and the clock once it has arrived.
pub struct ReadBody<'a> {
    /// Most bytes to keep.
    pub cap: usize,
    pub(crate) then: Box<dyn FnOnce(BodyRead, UnixTime) -> Step<'a> + 'a>,
}

/// Read the cohort state of `keys` (and the site-wide rate when `site`).
pub struct ReadCohorts<'a> {
    /// The cohort keys.
    pub keys: Vec<CohortKey>,
    /// Whether the site-wide rate is needed.
    pub site: bool,
    /// Their decay window, seconds.
    pub window_secs: u32,
    /// The route's capacity: the glue asks the isolate's capacity controller for a price.
    pub capacity: Option<Capacity>,
    pub(crate) then: Then<'a, Result<CohortState, String>>,
}

/// Spend an id in the single-use ledger.
pub struct Spend<'a> {
    /// What to spend.
    pub order: SpendOrder,
    pub(crate) then: Then<'a, SpendAnswer>,
}

/// Send the request to the origin with this verdict header and body.
pub struct Forward<'a> {
    /// The signed `X-Gate-Verdict` value.
    pub verdict: String,
    /// The body to send (already read; the no-JS path removes its own field).
    pub body: Vec<u8>,
    pub(crate) then: Box<dyn FnOnce(Result<u16, String>) -> Done + 'a>,
}

/// One minute's count of one decision kind, as the stats objects keep them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionCount {
    /// Unix minute.
    pub minute: u64,
    /// `issue`, `forward`, `reject`, `shadow`, `siteverify`.
    pub action: String,
    /// Rejection code, rule name or `-`.
    pub code: String,
    /// How many.
    pub n: u64,
}

/// One cohort as the counter objects report it.
#[derive(Clone, Debug, PartialEq)]
pub struct CohortReading {
    /// The key (`asn:16509`, `site`, ...).
    pub key: String,
    /// Current rate (sign-ups per window).
    pub rate: f64,
    /// Whether a run-time panic switch is on for it.
    pub panic: bool,
}

/// What the stats page shows, as read from the objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsRead {
    /// Decision counts since the minute asked for.
    pub counts: Vec<DecisionCount>,
    /// The busiest cohorts.
    pub cohorts: Vec<CohortReading>,
    /// Conditions the operator should see (e.g. a counter object unreachable), if any.
    pub health: serde_json::Value,
    /// This isolate's capacity controllers.
    pub capacity: Vec<crate::control::capacity::Reading>,
}

/// Read the stats since a Unix minute.
pub struct ReadStats<'a> {
    /// First minute to read.
    pub since_minute: u64,
    pub(crate) then: Then<'a, Result<StatsRead, String>>,
}

/// Set (until a time) or clear (`until` `None`) a run-time panic switch.
pub struct SetPanic<'a> {
    /// `site` or `kind:value`.
    pub key: CohortKey,
    /// Until when.
    pub until: Option<UnixTime>,
    pub(crate) then: Then<'a, Result<(), String>>,
}

impl<'a> ReadStats<'a> {
    /// Goes on with what was read.
    pub fn resume(self, read: Result<StatsRead, String>) -> Step<'a> {
        (self.then)(read)
    }
}

impl<'a> SetPanic<'a> {
    /// Goes on once the switch is set everywhere it must be.
    pub fn resume(self, done: Result<(), String>) -> Step<'a> {
        (self.then)(done)
    }
}

/// One step of a request.
pub enum Step<'a> {
    /// Needs the stats.
    ReadStats(ReadStats<'a>),
    /// Needs a panic switch set.
    SetPanic(SetPanic<'a>),
    /// Finished.
    Done(Box<Done>),
    /// Needs the body.
    ReadBody(ReadBody<'a>),
    /// Needs cohort state.
    ReadCohorts(ReadCohorts<'a>),
    /// Needs a ledger spend.
    Spend(Spend<'a>),
    /// Needs the origin's answer.
    Forward(Forward<'a>),
}

impl Step<'_> {
    /// A finished step.
    pub fn done<'a>(d: Done) -> Step<'a> {
        Step::Done(Box::new(d))
    }
}

impl<'a> ReadBody<'a> {
    /// Goes on with the body and the time it arrived.
    pub fn resume(self, body: BodyRead, now: UnixTime) -> Step<'a> {
        (self.then)(body, now)
    }
}

impl<'a> ReadCohorts<'a> {
    /// Goes on with the state read (or why it could not be read).
    pub fn resume(self, state: Result<CohortState, String>) -> Step<'a> {
        (self.then)(state)
    }
}

impl<'a> Spend<'a> {
    /// Goes on with the ledger's answer.
    pub fn resume(self, answer: SpendAnswer) -> Step<'a> {
        (self.then)(answer)
    }
}

impl Forward<'_> {
    /// Finishes with the origin's status (or why it could not be reached).
    pub fn resume(self, status: Result<u16, String>) -> Done {
        (self.then)(status)
    }
}

impl std::fmt::Debug for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Done(d) => f.debug_tuple("Done").field(d).finish(),
            Step::ReadBody(b) => write!(f, "ReadBody(cap {})", b.cap),
            Step::ReadCohorts(c) => write!(f, "ReadCohorts({:?}, site {})", c.keys, c.site),
            Step::Spend(s) => write!(f, "Spend({:?})", s.order),
            Step::Forward(fw) => write!(f, "Forward({} bytes)", fw.body.len()),
            Step::ReadStats(r) => write!(f, "ReadStats(since {})", r.since_minute),
            Step::SetPanic(p) => write!(f, "SetPanic({:?} until {:?})", p.key, p.until),
        }
    }
}
