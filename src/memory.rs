//! The in-memory driver: the gate with its stores in memory, for the attack drill and the
//! native tests. [`Stores`] holds what the Durable Objects hold, run by their own logic
//! (`store::cohorts::Shard`, `store::ledger`, `store::stats`); [`drive`] performs each step's
//! IO against them and the [`Outside`] world (the origin, the client's body, failures) the
//! caller plugs in, and [`finish`](crate::pipeline::finish)es the request on the isolate's
//! [`Control`]. It decides nothing: it is the Worker's loop with the network taken out.

use crate::config::Loaded;
use crate::control::{Answered, Background, Call, Control, StatsAnswers};
use crate::pipeline::step::{BodyRead, Done, Forward, SpendAnswer, SpendOrder, Step};
use crate::policy::CohortKey;
use crate::protocol::time::UnixTime;
use crate::store::cohorts::{Panic, Reply, Shard};
use crate::store::ledger::{self, Admission, SpendRequest};
use crate::store::numbers::{self, NumberCell, NumberReply, NumberRequest, Write};
use crate::store::stats::{self, Action, Count};
use std::collections::{BTreeMap, HashMap};

/// A stats shard's rows: counts by (minute, action, code), as the Durable Object upserts them.
type StatsRows = BTreeMap<(i64, Action, String), i64>;

/// What the Durable Objects hold, in memory.
#[derive(Clone, Debug, Default)]
pub struct Stores {
    /// The counter shards.
    pub shards: Vec<Shard>,
    /// The ledger's rows: id → (forget after, Unix seconds; idempotency key).
    ledger: HashMap<String, (i64, Option<String>)>,
    /// The ledger's number cells: key → (cell, forget after, ms).
    numbers: HashMap<String, (NumberCell, u64)>,
    /// The stats shards' rows, by (minute, action, code): a flush adds to its rows in place.
    stats: Vec<StatsRows>,
    /// Object calls made.
    pub calls: u64,
    last_prune: u64,
}

impl Stores {
    /// Empty stores with `shards` counter shards.
    pub fn new(shards: u32) -> Stores {
        Stores {
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
            stats: vec![StatsRows::new(); stats::SHARDS as usize],
            ..Stores::default()
        }
    }

    /// A counter shard's exchange.
    pub fn exchange(&mut self, call: &Call) -> Result<Reply, String> {
        self.calls += 1;
        let shard =
            self.shards.get_mut(call.shard as usize).ok_or_else(|| format!("no shard {}", call.shard))?;
        Ok(shard.exchange(&call.exchange))
    }

    /// The ledger object's spend, judged by `store::ledger` at `now`.
    pub fn spend(&mut self, order: &SpendOrder, now: UnixTime) -> SpendAnswer {
        self.calls += 1;
        match ledger::admit(&SpendRequest::of(order), now) {
            Admission::Refuse(why) => SpendAnswer::Unavailable(why.to_string()),
            Admission::Release { id } => {
                self.ledger.remove(&id);
                SpendAnswer::Fresh
            }
            Admission::Stale => SpendAnswer::Unavailable("stale spend".into()),
            Admission::Record { id, forget_after, idempotency_key } => {
                self.prune(now.seconds());
                let fresh = !self.ledger.contains_key(&id);
                let stored = self.ledger.get(&id).and_then(|(_, k)| k.clone());
                if fresh {
                    self.ledger.insert(id, (forget_after, idempotency_key.clone()));
                }
                ledger::answer(fresh, stored.as_deref(), idempotency_key.as_deref()).into()
            }
        }
    }

    /// The ledger object's number cell, judged by `store::numbers` at `now`.
    pub fn number(&mut self, request: &NumberRequest, now: UnixTime) -> Result<NumberReply, String> {
        self.calls += 1;
        self.prune(now.seconds());
        let now_ms = now.millis();
        let stored = self.numbers.get(&request.key).filter(|(_, forget)| *forget >= now_ms).map(|(c, _)| *c);
        let (reply, write) = numbers::apply(stored, request, now_ms)?;
        match write {
            Write::Keep => {}
            Write::Put { cell, forget_after_ms } => {
                self.numbers.insert(request.key.clone(), (cell, forget_after_ms));
            }
            Write::Delete => {
                self.numbers.remove(&request.key);
            }
        }
        Ok(reply)
    }

    /// Drops ledger rows past their life, once a virtual minute (the object's alarm).
    fn prune(&mut self, now: u64) {
        if now < self.last_prune + 60 {
            return;
        }
        self.last_prune = now;
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.ledger.retain(|_, (forget, _)| *forget >= now);
        let now_ms = u64::try_from(now).unwrap_or(0).saturating_mul(1000);
        self.numbers.retain(|_, (_, forget)| *forget >= now_ms);
    }

    /// A stats shard adds rows.
    pub fn add_stats(&mut self, shard: u32, rows: Vec<Count>) -> Result<(), String> {
        self.calls += 1;
        let s = self.stats.get_mut(shard as usize).ok_or_else(|| format!("no stats shard {shard}"))?;
        for c in rows {
            let n = s.entry((c.minute, c.action, c.code)).or_insert(0);
            *n = n.saturating_add(c.n);
        }
        Ok(())
    }

    /// Every stats shard's counts since a minute, and every counter shard's busiest keys.
    pub fn read_stats(&mut self, since_minute: u64, tops: &[u32], now: UnixTime) -> StatsAnswers {
        let since = i64::try_from(since_minute).unwrap_or(i64::MAX);
        let counts = self
            .stats
            .iter()
            .map(|s| {
                Ok(s.iter()
                    .filter(|((minute, ..), _)| *minute >= since)
                    .map(|((minute, action, code), n)| Count {
                        minute: *minute,
                        action: *action,
                        code: code.clone(),
                        n: *n,
                    })
                    .collect())
            })
            .collect();
        let tops = tops
            .iter()
            .map(|t| {
                self.shards
                    .get(*t as usize)
                    .map(|s| s.top(now.millis(), 20))
                    .ok_or_else(|| format!("no shard {t}"))
            })
            .collect();
        StatsAnswers { counts, tops }
    }

    /// A counter shard sets a panic switch.
    pub fn panic(&mut self, shard: u32, message: &Panic) -> Result<(), String> {
        self.calls += 1;
        let s = self.shards.get_mut(shard as usize).ok_or_else(|| format!("no shard {shard}"))?;
        s.set_panic(message);
        Ok(())
    }
}

/// One IO a step asked for, as an [`Outside`] observes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Io {
    /// The body, at most `cap` bytes.
    ReadBody {
        /// The cap.
        cap: usize,
    },
    /// The cohort state of these keys.
    ReadCohorts {
        /// The keys.
        keys: Vec<CohortKey>,
        /// The site-wide rate too.
        site: bool,
        /// Their window.
        window_secs: u32,
    },
    /// A ledger spend.
    Spend(SpendOrder),
    /// A forward to the origin.
    Forward {
        /// The verdict header (none on an observed pass-through: an OTP check).
        verdict: Option<String>,
        /// The body sent.
        body: Vec<u8>,
    },
    /// The stats since a minute.
    ReadStats {
        /// The first minute.
        since_minute: u64,
    },
    /// A phone number's cell.
    Number(NumberRequest),
    /// A panic switch.
    SetPanic {
        /// The cohort or the site.
        key: CohortKey,
        /// Until when.
        until: Option<UnixTime>,
    },
}

/// The world outside the gate's stores, as the caller plays it.
pub trait Outside {
    /// Sees every IO a step asks for (a test records them).
    fn observe(&mut self, _io: &Io) {}
    /// The client's body and when it has arrived.
    fn body(&mut self, cap: usize, now: UnixTime) -> (BodyRead, UnixTime);
    /// The origin's status for a forward (or why it could not be reached).
    fn origin(&mut self, forward: &Forward<'_>) -> Result<u16, String>;
    /// Whether a counter shard answers (`Err`: it fails).
    fn counters(&mut self, _shard: u32) -> Result<(), String> {
        Ok(())
    }
    /// The ledger's answer instead of the stores' (a test's failure), if any.
    fn ledger(&mut self, _order: &SpendOrder) -> Option<SpendAnswer> {
        None
    }
    /// Whether a number cell answers (`Err`: its ledger shard fails).
    fn number(&mut self, _request: &NumberRequest) -> Result<(), String> {
        Ok(())
    }
    /// Whether the stats shards answer.
    fn stats(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Whether a panic write to a shard succeeds.
    fn panic(&mut self, _shard: u32) -> Result<(), String> {
        Ok(())
    }
    /// Whether a widget file can be fetched.
    fn asset(&mut self, _name: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Where a request ended.
#[derive(Debug)]
pub enum Ended {
    /// The pipeline finished it (and it was recorded in the isolate).
    Done(Box<Done>),
    /// Straight to the origin, untouched, with its status.
    PassThrough(String),
    /// A widget file from the static assets.
    Asset(&'static str),
}

/// One isolate and the stores it talks to.
pub struct Isolate<'w> {
    /// The isolate's attack-mode state.
    pub control: &'w mut Control,
    /// The objects.
    pub stores: &'w mut Stores,
}

impl Isolate<'_> {
    fn call(&mut self, outside: &mut dyn Outside, call: Call) -> Answered {
        let answer = outside.counters(call.shard).and_then(|()| self.stores.exchange(&call));
        (call, answer)
    }

    /// Performs background calls at once (the drill and tests have no later).
    pub fn background(&mut self, outside: &mut dyn Outside, work: Background, now: UnixTime) {
        for call in work.calls {
            let (call, answer) = self.call(outside, call);
            self.control.on_answer(call, answer, now);
        }
        if let Some(flush) = work.stats {
            let sent = outside.stats().and_then(|()| self.stores.add_stats(flush.shard, flush.rows.clone()));
            if sent.is_err() {
                self.control.stats_failed(flush.rows);
            }
        }
    }
}

/// Drives a request from its first step to its end: performs each step's IO against the
/// stores and `outside`, then finishes it on the isolate's control (counts recorded,
/// background calls made at once).
pub fn drive(
    loaded: &Loaded,
    mut step: Step<'_>,
    isolate: &mut Isolate<'_>,
    outside: &mut dyn Outside,
    now: UnixTime,
) -> Ended {
    loop {
        step = match step {
            Step::Done(done) => {
                let background = crate::pipeline::finish(&done, loaded, isolate.control, now);
                isolate.background(outside, background, now);
                return Ended::Done(done);
            }
            Step::PassThrough(origin) => return Ended::PassThrough(origin.to_string()),
            Step::ServeAsset(asset) => match outside.asset(asset.name) {
                Ok(()) => return Ended::Asset(asset.name),
                Err(why) => Step::done(asset.failed(why)),
            },
            Step::ReadBody(read) => {
                outside.observe(&Io::ReadBody { cap: read.cap });
                let (body, arrived) = outside.body(read.cap, now);
                read.resume(body, arrived)
            }
            Step::ReadCohorts(read) => {
                let want = &read.want;
                outside.observe(&Io::ReadCohorts {
                    keys: want.keys.clone(),
                    site: want.site,
                    window_secs: want.window_secs,
                });
                let calls = read.cold_calls(isolate.control, now);
                let answers = calls.into_iter().map(|c| isolate.call(outside, c)).collect();
                read.resume(isolate.control, answers, now)
            }
            Step::Spend(spend) => {
                outside.observe(&Io::Spend(spend.order.clone()));
                let answer = match outside.ledger(&spend.order) {
                    Some(a) => a,
                    None => isolate.stores.spend(&spend.order, now),
                };
                spend.resume(isolate.control, answer)
            }
            Step::Forward(forward) => {
                outside
                    .observe(&Io::Forward { verdict: forward.verdict.clone(), body: forward.body.clone() });
                let status = outside.origin(&forward);
                forward.resume(status)
            }
            Step::ReadStats(read) => {
                outside.observe(&Io::ReadStats { since_minute: read.counts_since });
                let flush = read.flush(isolate.control, now);
                isolate.background(outside, flush, now);
                let answers = match outside.stats() {
                    Ok(()) => isolate.stores.read_stats(read.counts_since, &read.top_shards, now),
                    Err(e) => StatsAnswers { counts: vec![Err(e)], tops: Vec::new() },
                };
                read.resume(isolate.control, answers, now)
            }
            Step::SetPanic(set) => {
                outside.observe(&Io::SetPanic {
                    key: set.key.clone(),
                    until: (set.write.message.until_ms > 0)
                        .then(|| UnixTime::from_millis(set.write.message.until_ms)),
                });
                let results = set
                    .write
                    .shards
                    .iter()
                    .map(|s| outside.panic(*s).and_then(|()| isolate.stores.panic(*s, &set.write.message)))
                    .collect();
                set.resume(isolate.control, results)
            }
            Step::Number(call) => {
                outside.observe(&Io::Number(call.request.clone()));
                let answer =
                    outside.number(&call.request).and_then(|()| isolate.stores.number(&call.request, now));
                call.resume(answer)
            }
        };
    }
}
