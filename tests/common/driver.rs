//! A tiny in-memory driver for the sans-IO pipeline (`gate::pipeline`): it routes a request
//! as `edge::handle` does and answers each IO step the way the Worker's `drive()` would, from
//! plain values the test sets: the body bytes, the cohort state (or why it cannot be read),
//! the ledger (a fixed answer or an in-memory set of spent ids), the origin's status, the
//! stats read and the panic switch. Every IO step asked for is recorded, so a test can say
//! "nothing was spent" or "exactly this body was forwarded".

use gate::config::{self, Loaded};
use gate::decision_log::DecisionLog;
use gate::pipeline::front::{self, Front};
use gate::pipeline::step::{Answer, BodyRead, Done, SpendAnswer, SpendOrder, StatsRead, Step};
use gate::pipeline::{issue, operator, siteverify, submit};
use gate::policy::{CohortKey, CohortState};
use gate::present::reply::{Body, Reply};
use gate::protocol::challenge::ChallengeJson;
use gate::protocol::solution;
use gate::protocol::time::UnixTime;
use gate::request::facts::{CfFacts, Headers, RequestFacts};
use std::collections::HashMap;

/// Secrets of at least 32 bytes, all different.
pub const GATE_SECRET: &str = "pipeline-test gate secret 0123456789abcdef";
pub const ORIGIN_SECRET: &str = "pipeline-test origin secret 0123456789abcdef";
pub const STATS_TOKEN: &str = "pipeline-test stats token 0123456789abcdef";
pub const ADMIN_TOKEN: &str = "pipeline-test admin token 0123456789abcdef";
pub const SITEVERIFY_SECRET: &str = "pipeline-test siteverify secret 0123456789";
/// A fixed "now" (2027-01-15).
pub const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
/// An API client's User-Agent (judged lightly: `ua_not_browser`, 10 points).
pub const API_UA: &str = "gate-pipeline-test/1.0";
/// A desktop Chrome.
pub const CHROME_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The e2e suites' test policy (tests/e2e/harness.mjs `testPolicyToml`) at a test-sized price.
pub fn policy(shadow: bool, attack: &str, rules: &str) -> String {
    [
        "version = 1",
        "[defaults]",
        "difficulty = 4",
        "k = 4",
        &format!("shadow = {shadow}"),
        "[routes]",
        r#"protected = ["POST /signup", "POST /api/register", "POST /api/otp/send"]"#,
        r#"pass = ["POST /login"]"#,
        r#"phone_field = "phone""#,
        "[attack]",
        attack,
        rules,
    ]
    .join("\n")
}

/// Attack mode on for ASN and /24 cohorts: 2 extra bits at 2 sign-ups per window, shed at 4.
pub const ATTACK: &str = "enabled = true\nwindow_secs = 10\ncohorts = [\"asn\", \"ip_prefix\"]\nlevels = [{ at = 2, extra_bits = 2 }, { at = 4, busy = true }]\nretry_after_secs = 30";

/// The vars of a complete configuration with `policy`, plus `extra` (which override).
pub fn vars(policy: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = [
        ("ORIGIN", "https://origin.example"),
        ("GATE_SECRET", GATE_SECRET),
        ("ORIGIN_SECRET", ORIGIN_SECRET),
        ("STATS_TOKEN", STATS_TOKEN),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("SITEVERIFY_SECRET", SITEVERIFY_SECRET),
        ("CHALLENGE_TTL", "60"),
        ("CLOCK_SKEW", "5"),
        ("MAX_BODY_BYTES", "2048"),
        ("POLICY", policy),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// Loads a configuration from vars.
pub fn load(vars: &HashMap<String, String>) -> Loaded {
    config::load(|k| vars.get(k).cloned())
}

/// How the cohort counters answer a `ReadCohorts`.
#[derive(Clone, Debug)]
pub enum Cohorts {
    /// This state, whatever keys were asked for.
    State(CohortState),
    /// Rates by key (`asn:64500`, `nojs:asn:64500`, `site`): the keys asked for get theirs
    /// (0 when unknown), the site rate is `site`'s; `panicked` are switched on.
    Rates(Vec<(String, f64)>, Vec<String>),
    /// The counters cannot be read.
    Unreadable(String),
}

/// How the single-use ledger answers a `Spend`.
#[derive(Clone, Debug)]
pub enum Ledger {
    /// Always this answer.
    Answer(SpendAnswer),
    /// An in-memory ledger: id → the idempotency key it was first spent with.
    Memory(HashMap<[u8; 16], Option<String>>),
}

/// One IO step the pipeline asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Io {
    ReadBody { cap: usize },
    ReadCohorts { keys: Vec<String>, site: bool, window_secs: u32 },
    Spend(SpendOrder),
    Forward { verdict: String, body: Vec<u8> },
    ReadStats { since_minute: u64 },
    SetPanic { key: CohortKey, until: Option<UnixTime> },
}

/// What the stores answer.
#[derive(Clone, Debug)]
pub struct World {
    pub cohorts: Cohorts,
    pub ledger: Ledger,
    pub origin: Result<u16, String>,
    pub stats: Result<StatsRead, String>,
    pub panic: Result<(), String>,
    /// `BodyRead::Failed` instead of the bytes, when set.
    pub body_fails: Option<String>,
    /// Seconds the body takes to arrive.
    pub body_delay: u64,
}

impl Default for World {
    fn default() -> World {
        World {
            cohorts: Cohorts::State(CohortState::default()),
            ledger: Ledger::Memory(HashMap::new()),
            origin: Ok(200),
            stats: Ok(StatsRead::default()),
            panic: Ok(()),
            body_fails: None,
            body_delay: 0,
        }
    }
}

/// Where a request ended.
#[derive(Debug)]
pub enum Handled {
    /// The pipeline finished it.
    Done(Box<Done>),
    /// Straight to the origin, untouched.
    PassThrough(String),
    /// A widget file from the static assets.
    WidgetFile(&'static str),
}

/// A request's whole run: where it ended and every IO step on the way.
#[derive(Debug)]
pub struct Run {
    pub handled: Handled,
    pub io: Vec<Io>,
}

impl Run {
    /// The finished request (panics for a pass-through or a widget file).
    pub fn done(&self) -> &Done {
        match &self.handled {
            Handled::Done(d) => d,
            other => panic!("not done by the pipeline: {other:?}"),
        }
    }

    /// The gate's own reply (panics when the origin answered).
    pub fn reply(&self) -> &Reply {
        self.done().own_reply().unwrap_or_else(|| panic!("the origin answered: {self:?}"))
    }

    /// The reply's status, or the origin's after a forward.
    pub fn status(&self) -> u16 {
        match &self.done().answer {
            Answer::Reply(r) => r.status,
            Answer::Origin => self.log().status,
        }
    }

    /// The reply's JSON body (panics for other bodies).
    pub fn json(&self) -> &serde_json::Value {
        match &self.reply().body {
            Body::Json(v) => v,
            other => panic!("not JSON: {other:?}"),
        }
    }

    /// The JSON `error` code (`None` for other bodies).
    pub fn error(&self) -> Option<&str> {
        match &self.reply().body {
            Body::Json(v) => v.get("error").and_then(|e| e.as_str()),
            _ => None,
        }
    }

    /// The reply's HTML (panics for other bodies).
    pub fn html(&self) -> &str {
        match &self.reply().body {
            Body::Html(h) => h,
            other => panic!("not HTML: {other:?}"),
        }
    }

    /// The decision-log line (panics without one).
    pub fn log(&self) -> &DecisionLog {
        self.done().log.as_ref().unwrap_or_else(|| panic!("no decision log: {self:?}"))
    }

    /// `(action, code)` of every tally.
    pub fn tallies(&self) -> Vec<(&'static str, String)> {
        self.done().tallies.iter().map(|t| (t.action, t.code.clone())).collect()
    }

    /// The forward step, if the request was forwarded: verdict header and body.
    pub fn forwarded(&self) -> Option<(&str, &[u8])> {
        self.io.iter().find_map(|io| match io {
            Io::Forward { verdict, body } => Some((verdict.as_str(), body.as_slice())),
            _ => None,
        })
    }

    /// Whether any spend was asked for.
    pub fn spent(&self) -> bool {
        self.io.iter().any(|io| matches!(io, Io::Spend(_)))
    }
}

/// A request as a test writes it.
#[derive(Clone, Debug)]
pub struct Req {
    pub facts: RequestFacts,
    pub body: Vec<u8>,
}

impl Req {
    /// A request from an API client on a residential network.
    pub fn new(method: &str, target: &str) -> Req {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        Req {
            facts: RequestFacts {
                method: method.into(),
                path,
                query,
                scheme: "https".into(),
                host: "signup.example".into(),
                headers: Headers::from_pairs([("user-agent", API_UA)]),
                client_ip: Some("203.0.113.10".into()),
                cf: CfFacts {
                    asn: Some(64500),
                    as_organization: Some("Example Broadband".into()),
                    country: Some("DE".into()),
                    http_protocol: Some("HTTP/2".into()),
                    tls_version: Some("TLSv1.3".into()),
                    colo: Some("FRA".into()),
                    ..CfFacts::default()
                },
            },
            body: Vec::new(),
        }
    }

    pub fn get(target: &str) -> Req {
        Req::new("GET", target)
    }

    /// A form post.
    pub fn post(target: &str, body: &str) -> Req {
        Req::new("POST", target).header("content-type", "application/x-www-form-urlencoded").body(body)
    }

    /// Sets a header (replacing one of that name).
    pub fn header(mut self, name: &str, value: &str) -> Req {
        let name = name.to_ascii_lowercase();
        self.facts.headers.0.retain(|(k, _)| *k != name);
        self.facts.headers.0.push((name, value.to_string()));
        self
    }

    /// Removes a header.
    pub fn without(mut self, name: &str) -> Req {
        self.facts.headers.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    pub fn body(mut self, body: impl AsRef<[u8]>) -> Req {
        self.body = body.as_ref().to_vec();
        self
    }

    pub fn ua(self, ua: &str) -> Req {
        self.header("user-agent", ua)
    }

    pub fn asn(mut self, asn: u32) -> Req {
        self.facts.cf.asn = Some(asn);
        self
    }

    /// `X-Gate-Solution`.
    pub fn solution(self, s: &str) -> Req {
        self.header(solution::HEADER, s)
    }

    /// A browser's top-level form navigation (Chrome's headers): a person, not an API client.
    pub fn navigation(self) -> Req {
        self.ua(CHROME_UA)
            .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            .header("accept-language", "en-US,en;q=0.9")
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .header("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not:A-Brand\";v=\"24\"")
            .header("sec-ch-ua-mobile", "?0")
            .header("sec-ch-ua-platform", "\"Linux\"")
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
    }
}

/// A gate: its configuration, the time, the stores' answers and a source of ids.
pub struct Gate {
    pub loaded: Loaded,
    pub now: UnixTime,
    pub world: World,
    next_id: u8,
}

impl Gate {
    /// A gate with the test policy (attack `attack`, `rules`) and extra vars.
    pub fn new(policy: &str, extra: &[(&str, &str)]) -> Gate {
        Gate::loaded(load(&vars(policy, extra)))
    }

    /// A gate with a loaded (possibly broken) configuration.
    pub fn loaded(loaded: Loaded) -> Gate {
        Gate { loaded, now: NOW, world: World::default(), next_id: 0 }
    }

    /// A fresh random id (distinct per request).
    fn id(&mut self) -> [u8; 16] {
        self.next_id = self.next_id.wrapping_add(1);
        [self.next_id; 16]
    }

    /// Sends a request through the front door and drives it to the end.
    pub fn send(&mut self, req: &Req) -> Run {
        let id = self.id();
        let now = self.now;
        let step = match front::route(&self.loaded, &req.facts, now) {
            Front::Done(done) => Step::Done(done),
            Front::PassThrough(origin) => {
                return Run { handled: Handled::PassThrough(origin.to_string()), io: Vec::new() };
            }
            Front::WidgetFile(name) => return Run { handled: Handled::WidgetFile(name), io: Vec::new() },
            Front::Protected(config, route) => submit::start(config, route, &req.facts, id, now),
            Front::Challenge(config) => issue::start(config, &req.facts, id, now),
            Front::Stats => operator::stats(&self.loaded, &req.facts, now),
            Front::Panic(config) => operator::panic(config, &req.facts, now),
            Front::Siteverify(config) => siteverify::start(config, &req.facts, now),
        };
        drive(step, &mut self.world, &req.body, now)
    }

    /// `GET <prefix>/challenge?route=…` as `client` would send it; panics unless issued.
    pub fn challenge(&mut self, client: &Req, route: &str) -> ChallengeJson {
        let mut req = client.clone();
        req.facts.method = "GET".into();
        req.facts.path = "/__gate/challenge".into();
        req.facts.query = Some(format!("route={route}"));
        req.body.clear();
        let run = self.send(&req);
        assert_eq!(run.status(), 200, "challenge for {route}: {run:?}");
        serde_json::from_value(run.json().clone()).unwrap()
    }

    /// A challenge fetched by `client` for `route`, solved.
    pub fn solved(&mut self, client: &Req, route: &str) -> String {
        solve(&self.challenge(client, route).token)
    }
}

/// Solves a challenge token (base64url) without signals.
pub fn solve(token: &str) -> String {
    let bytes = gate::protocol::challenge::token_bytes(token).unwrap();
    solution::solve(&bytes, b"").unwrap().encode()
}

/// Drives a step to the end, answering its IO from `world`.
pub fn drive(mut step: Step<'_>, world: &mut World, body: &[u8], now: UnixTime) -> Run {
    let mut io = Vec::new();
    loop {
        step = match step {
            Step::Done(done) => return Run { handled: Handled::Done(done), io },
            Step::ReadBody(read) => {
                io.push(Io::ReadBody { cap: read.cap });
                // as edge::request::read_body: more than the cap is TooLarge, whatever was declared
                let got = match &world.body_fails {
                    Some(e) => BodyRead::Failed(e.clone()),
                    None if body.len() > read.cap => BodyRead::TooLarge(body.len()),
                    None => BodyRead::Bytes(body.to_vec()),
                };
                read.resume(got, now.plus(world.body_delay))
            }
            Step::ReadCohorts(read) => {
                let keys: Vec<String> = read.keys.iter().map(|k| k.to_string()).collect();
                io.push(Io::ReadCohorts {
                    keys: keys.clone(),
                    site: read.site,
                    window_secs: read.window_secs,
                });
                let state = match &world.cohorts {
                    Cohorts::State(s) => Ok(s.clone()),
                    Cohorts::Unreadable(e) => Err(e.clone()),
                    Cohorts::Rates(rates, panicked) => {
                        let rate = |k: &str| rates.iter().find(|(r, _)| r == k).map_or(0.0, |(_, v)| *v);
                        Ok(CohortState {
                            rates: read.keys.iter().map(|k| (k.clone(), rate(k.as_str()))).collect(),
                            site_rate: rate("site"),
                            panicked: panicked.iter().map(|p| CohortKey::parse(p).unwrap()).collect(),
                            capacity: None,
                        })
                    }
                };
                read.resume(state)
            }
            Step::Spend(spend) => {
                io.push(Io::Spend(spend.order.clone()));
                let answer = match &mut world.ledger {
                    Ledger::Answer(a) => a.clone(),
                    Ledger::Memory(spent) => match spent.get(&spend.order.id) {
                        None => {
                            spent.insert(spend.order.id, spend.order.idempotency_key.clone());
                            SpendAnswer::Fresh
                        }
                        Some(stored) if stored.is_some() && *stored == spend.order.idempotency_key => {
                            SpendAnswer::Repeat
                        }
                        Some(_) => SpendAnswer::Replay,
                    },
                };
                spend.resume(answer)
            }
            Step::Forward(forward) => {
                io.push(Io::Forward { verdict: forward.verdict.clone(), body: forward.body.clone() });
                let done = forward.resume(world.origin.clone());
                return Run { handled: Handled::Done(Box::new(done)), io };
            }
            Step::ReadStats(read) => {
                io.push(Io::ReadStats { since_minute: read.since_minute });
                read.resume(world.stats.clone())
            }
            Step::SetPanic(set) => {
                io.push(Io::SetPanic { key: set.key.clone(), until: set.until });
                set.resume(world.panic.clone())
            }
        };
    }
}
