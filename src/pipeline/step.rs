//! The driver contract, in the style of rustls's unbuffered `ConnectionState`: the core owns a
//! request from [`super::start`] to [`finish`], and hands its driver one [`Step`] at a time.
//! A step is finished, or names the IO it needs (with every parameter the IO takes: shards,
//! the origin, the cap) and how to go on with the answer. The driver performs exactly that
//! IO and resumes the step before anything else; it decides nothing.
//!
//! Drivers: the Worker (`crate::edge`), the in-memory driver of the drill and the tests
//! (`crate::memory`). Steps that touch the isolate's counters take its [`Control`] when they
//! resume, synchronously, so no driver holds it across an await.

use crate::config::Loaded;
use crate::control::{Answered, Background, Control, Counted, Counts, PanicWrite, StatsAnswers, StatsRead};
use crate::decision_log::DecisionLog;
use crate::policy::{CohortKey, CohortState, Policy};
use crate::present::reply::Reply;
use crate::protocol::time::UnixTime;
pub use crate::store::ledger::{SpendAnswer, SpendOrder};
pub use crate::store::numbers::{NumberReply, NumberRequest};

/// Headers a client must never be able to set on the way to the origin, on a forward and on a
/// pass-through. (`X-Original-URL` and `X-Rewrite-URL` make some frameworks route by them
/// instead of the path the gate judged.)
pub const STRIPPED_HEADERS: &[&str] =
    &["x-gate-verdict", "x-gate-solution", "host", "x-original-url", "x-rewrite-url"];

/// What to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The gate's own response.
    Reply(Reply),
    /// The origin's response, as it came (after a forward).
    Origin,
}

/// A finished request: what to answer, what to log, and what it counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// What to send.
    pub answer: Answer,
    /// The decision-log line, if the request was a decision.
    pub log: Option<DecisionLog>,
    /// An operational log line that is not a decision (siteverify, panic switches).
    pub event: Option<serde_json::Value>,
    /// Stats counts and the cohorts of an accepted sign-up.
    pub counts: Counts,
}

impl Done {
    /// A reply that is not a refusal (a challenge, a page, the stats), with nothing counted.
    pub(crate) fn reply(reply: Reply) -> Done {
        Done { answer: Answer::Reply(reply), log: None, event: None, counts: Counts::default() }
    }

    /// The log lines to write, in order: the decision line, then an operational event.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(line) = &self.log {
            lines.push(line.to_json());
        }
        if let Some(event) = &self.event {
            lines.push(event.to_string());
        }
        lines
    }

    /// The gate's reply, if it answers itself.
    pub fn own_reply(&self) -> Option<&Reply> {
        match &self.answer {
            Answer::Reply(r) => Some(r),
            Answer::Origin => None,
        }
    }
}

/// Ends a request: its counts go into the isolate's counters at once (the snapshot, and the
/// batch for the shards); returns the background calls due now, for the driver to start
/// without holding the answer up. Its log lines are [`Done::lines`].
pub fn finish(done: &Done, loaded: &Loaded, control: &mut Control, now: UnixTime) -> Background {
    let policy = loaded.config.as_ref().ok().map(|c| (&c.policy, c.cohort_shards));
    control.record(policy, &done.counts, now)
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

impl<'a> ReadBody<'a> {
    /// Goes on with the body and the time it arrived.
    pub fn resume(self, body: BodyRead, now: UnixTime) -> Step<'a> {
        (self.then)(body, now)
    }
}

/// Read the cohort state of `want` from the isolate's snapshot: first await the calls
/// [`ReadCohorts::cold_calls`] names (cold shards only), then [`ReadCohorts::resume`].
pub struct ReadCohorts<'a> {
    /// The counters read.
    pub want: Counted,
    /// Counter shards.
    pub shards: u32,
    pub(crate) policy: &'a Policy,
    /// Read every key from its shard now, warm or not (a decision that must not act on a
    /// count this isolate has not read yet).
    pub(crate) fresh: bool,
    pub(crate) then: Then<'a, Result<CohortState, String>>,
}

impl<'a> ReadCohorts<'a> {
    /// The calls to await first.
    pub fn cold_calls(&self, control: &mut Control, now: UnixTime) -> Vec<crate::control::Call> {
        if self.fresh {
            return control.fresh_calls(self.policy, self.shards, &self.want, now);
        }
        control.cold_calls(self.policy, self.shards, &self.want, now)
    }

    /// Goes on with the answers to the cold calls.
    pub fn resume(self, control: &mut Control, answers: Vec<Answered>, now: UnixTime) -> Step<'a> {
        let state = control.read(self.policy, self.shards, &self.want, answers, now);
        (self.then)(state)
    }
}

/// Spend an id in the single-use ledger (shard `ledger::shard(order.id, shards)`).
pub struct Spend<'a> {
    /// What to spend.
    pub order: SpendOrder,
    /// Ledger shards.
    pub shards: u32,
    /// A sign-up on a route with a line, taking its forward in the route's exact minute.
    pub(crate) hold: Option<Hold>,
    pub(crate) then: Then<'a, Spent>,
}

/// A forward to reserve in a line route's exact minute once the ledger answers (see
/// [`Spend::resume`]).
pub(crate) struct Hold {
    /// The route.
    pub route: String,
    /// Its capacity, sign-ups a minute.
    pub per_minute: u32,
    /// When the request came.
    pub now: UnixTime,
    /// Whether an unreachable ledger forwards anyway (`FAIL_OPEN`).
    pub fail_open: bool,
}

/// The ledger's answer, and for a held forward the seconds until its route has room in this
/// isolate's exact minute (0: the forward is reserved; else it was not, and the spend must be
/// given back).
pub(crate) struct Spent {
    pub answer: SpendAnswer,
    pub full_secs: u32,
}

impl<'a> Spend<'a> {
    /// A spend whose answer alone decides what follows.
    pub(crate) fn new(
        order: SpendOrder,
        shards: u32,
        then: impl FnOnce(SpendAnswer) -> Step<'a> + 'a,
    ) -> Spend<'a> {
        Spend { order, shards, hold: None, then: Box::new(move |s: Spent| then(s.answer)) }
    }

    /// Gives a spent id back to the ledger (its forward did not happen, or the origin did not
    /// take it), so the same work may be sent again while it is valid; then `then`.
    pub(crate) fn give_back(
        order: &SpendOrder,
        shards: u32,
        then: impl FnOnce() -> Step<'a> + 'a,
    ) -> Step<'a> {
        Step::Spend(Spend::new(order.released(), shards, move |_| then()))
    }

    /// A sign-up's spend on a route with a line: see [`Spend::resume`].
    pub(crate) fn holding(
        order: SpendOrder,
        shards: u32,
        hold: Option<Hold>,
        then: impl FnOnce(Spent) -> Step<'a> + 'a,
    ) -> Spend<'a> {
        Spend { order, shards, hold, then: Box::new(then) }
    }

    /// Goes on with the ledger's answer. A sign-up about to be forwarded on a route with a
    /// line takes its place in the route's exact minute here, in the same step that checks
    /// it: the turn was read before the ledger call, and requests in flight together in one
    /// isolate would all have read the same room.
    pub fn resume(self, control: &mut Control, answer: SpendAnswer) -> Step<'a> {
        control.spent();
        let forwards = |h: &Hold| match answer {
            SpendAnswer::Fresh => true,
            SpendAnswer::Unavailable(_) => h.fail_open,
            SpendAnswer::Repeat | SpendAnswer::Replay => false,
        };
        let full_secs = match &self.hold {
            Some(h) if forwards(h) => control.hold_forward(&h.route, h.per_minute, h.now),
            _ => 0,
        };
        (self.then)(Spent { answer, full_secs })
    }
}

/// Send the request to `origin` with this verdict header and body.
pub struct Forward<'a> {
    /// The origin.
    pub origin: &'a url::Url,
    /// The signed `X-Gate-Verdict` value; none for an observed pass-through (an OTP check is
    /// the origin's to judge: it never carries a verdict).
    pub verdict: Option<String>,
    /// The body to send (already read; the no-JS path removes its own field).
    pub body: Vec<u8>,
    pub(crate) then: Then<'a, Result<u16, String>>,
}

impl<'a> Forward<'a> {
    /// Goes on with the origin's status (or why it could not be reached). When the request
    /// then ends with `Answer::Origin`, the driver answers with the origin's response.
    pub fn resume(self, status: Result<u16, String>) -> Step<'a> {
        (self.then)(status)
    }
}

/// Serve a widget file from the static assets with these headers; a non-200 answer is sent
/// as it came.
pub struct ServeAsset<'a> {
    /// The file name under the assets root.
    pub name: &'static str,
    /// Headers to set on a 200 answer.
    pub headers: Vec<(&'static str, &'static str)>,
    pub(crate) failed: Box<dyn FnOnce(String) -> Done + 'a>,
}

impl ServeAsset<'_> {
    /// The asset could not be fetched.
    pub fn failed(self, why: String) -> Done {
        (self.failed)(why)
    }
}

/// Read the stats: first await [`ReadStats::flush`] (this isolate's waiting counts), then
/// read `counts_since` from each of `stats_shards` and the busiest keys of each of
/// `top_shards`, then [`ReadStats::resume`].
pub struct ReadStats<'a> {
    /// First minute to read.
    pub counts_since: u64,
    /// Stats shards to read (all of them).
    pub stats_shards: u32,
    /// Counter shards to read the busiest keys of.
    pub top_shards: Vec<u32>,
    pub(crate) policy: Option<&'a Policy>,
    pub(crate) then: Then<'a, Result<StatsRead, String>>,
}

impl<'a> ReadStats<'a> {
    /// Everything this isolate has not sent yet: await it before reading.
    pub fn flush(&self, control: &mut Control, now: UnixTime) -> Background {
        control.flush_now(self.policy, now)
    }

    /// Goes on with what the shards answered.
    pub fn resume(self, control: &mut Control, answers: StatsAnswers, now: UnixTime) -> Step<'a> {
        let read = control.stats_read(answers, now);
        (self.then)(read)
    }
}

/// Write a run-time panic switch to every shard `write` names.
pub struct SetPanic<'a> {
    /// The cohort (or `site`).
    pub key: CohortKey,
    /// What to post, and where.
    pub write: PanicWrite,
    pub(crate) shards: u32,
    pub(crate) then: Then<'a, Result<(), String>>,
}

impl<'a> SetPanic<'a> {
    /// Goes on with each shard's result.
    pub fn resume(self, control: &mut Control, results: Vec<Result<(), String>>) -> Step<'a> {
        control.panic_written(&self.key, &self.write, self.shards);
        let done = results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| ());
        (self.then)(done)
    }
}

/// A phone number's cell in the ledger object of shard `ledger::shard(hash, shards)`: a code's
/// send waiting its backoff, a send given back, or a right code clearing the number (see
/// `store::numbers`).
pub struct NumberCall<'a> {
    /// What to ask the cell (its key is the number's keyed hash, hex).
    pub request: NumberRequest,
    /// The number's keyed hash (its shard).
    pub hash: [u8; 16],
    /// Ledger shards.
    pub shards: u32,
    pub(crate) then: Then<'a, Result<NumberReply, String>>,
}

impl<'a> NumberCall<'a> {
    /// Goes on with the cell's answer (or why the object could not be reached).
    pub fn resume(self, answer: Result<NumberReply, String>) -> Step<'a> {
        (self.then)(answer)
    }
}

/// One step of a request.
pub enum Step<'a> {
    /// Finished: [`finish`] it.
    Done(Box<Done>),
    /// Not a sign-up: send it to this origin untouched and answer with the origin's response.
    PassThrough(&'a url::Url),
    /// A widget file.
    ServeAsset(ServeAsset<'a>),
    /// Needs the body.
    ReadBody(ReadBody<'a>),
    /// Needs cohort state.
    ReadCohorts(ReadCohorts<'a>),
    /// Needs a ledger spend.
    Spend(Spend<'a>),
    /// Needs the origin's answer.
    Forward(Forward<'a>),
    /// Needs the stats.
    ReadStats(ReadStats<'a>),
    /// Needs a panic switch written.
    SetPanic(SetPanic<'a>),
    /// Needs a phone number's cell (per-number backoff).
    Number(NumberCall<'a>),
}

impl Step<'_> {
    /// A finished step.
    pub fn done<'a>(d: Done) -> Step<'a> {
        Step::Done(Box::new(d))
    }
}

impl std::fmt::Debug for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Done(d) => f.debug_tuple("Done").field(d).finish(),
            Step::PassThrough(o) => write!(f, "PassThrough({o})"),
            Step::ServeAsset(a) => write!(f, "ServeAsset({})", a.name),
            Step::ReadBody(b) => write!(f, "ReadBody(cap {})", b.cap),
            Step::ReadCohorts(c) => write!(f, "ReadCohorts({:?}, site {})", c.want.keys, c.want.site),
            Step::Spend(s) => write!(f, "Spend({:?})", s.order),
            Step::Forward(fw) => write!(f, "Forward({} bytes)", fw.body.len()),
            Step::ReadStats(r) => write!(f, "ReadStats(since {})", r.counts_since),
            Step::SetPanic(p) => write!(f, "SetPanic({} until {})", p.key, p.write.message.until_ms),
            Step::Number(n) => write!(f, "Number({:?})", n.request.op),
        }
    }
}
