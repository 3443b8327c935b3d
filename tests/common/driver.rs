//! A tiny driver for the sans-IO pipeline in tests: the in-memory driver (`gate::memory`)
//! with the world outside the stores played from plain values the test sets: the body
//! bytes, the counters' rates (written into the real counter shards before each request, read
//! by a fresh isolate's real `Control`), failures of the counter, ledger, stats and panic
//! calls, and the origin's status. The ledger is the real ledger logic in memory unless a test
//! forces an answer. Every IO step asked for is recorded, so a test can say "nothing was
//! spent" or "exactly this body was forwarded".

use super::chrome;
use gate::config::{self, Loaded};
use gate::control::Control;
use gate::decision_log::DecisionLog;
pub use gate::memory::Io;
use gate::memory::{self, Ended, Isolate, Outside, Stores};
use gate::pipeline::step::{Answer, BodyRead, Done, Forward, NumberRequest, SpendAnswer, SpendOrder};
use gate::policy::CohortKey;
use gate::present::reply::{Body, Reply};
use gate::protocol::challenge::{self, ChallengeJson, Terms};
use gate::protocol::key::Key;
use gate::protocol::solution;
use gate::protocol::time::UnixTime;
use gate::request::facts::{CfFacts, Headers, RequestFacts};
use gate::store::cohorts::{Panic, Row, Shard, shard};
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
/// A desktop Chrome (the person of [`Req::navigation`]).
pub const CHROME_UA: &str = chrome::LINUX.user_agent;

/// The tests' policy (tests/data/policy/test.toml, which tests/e2e/harness.mjs
/// `testPolicyToml` fills too) at a test-sized price: difficulty 4, k 4.
pub fn policy(shadow: bool, attack: &str, rules: &str) -> String {
    include_str!("../data/policy/test.toml")
        .replace("{difficulty}", "4")
        .replace("{k}", "4")
        .replace("{shadow}", &shadow.to_string())
        .replace("{routes}", "")
        .replace("{attack}", attack)
        .replace("{rules}", rules)
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

/// How the cohort counters answer.
#[derive(Clone, Debug)]
pub enum Cohorts {
    /// Rates by key (`asn:64500`, `nojs:asn:64500`, `site`), written into the counter shards
    /// before each request (every other counter is reset); `panicked` are switched on.
    Rates(Vec<(CohortKey, f64)>, Vec<CohortKey>),
    /// The shards as earlier requests left them (sign-ups flushed, switches set).
    Live,
    /// Every counter call fails.
    Unreadable(String),
}

/// What the world outside the stores does.
#[derive(Clone, Debug)]
pub struct World {
    pub cohorts: Cohorts,
    /// A forced ledger answer (`None`: the ledger's own logic, in memory).
    pub ledger: Option<SpendAnswer>,
    pub origin: Result<u16, String>,
    /// The stats shards fail.
    pub stats: Result<(), String>,
    /// Panic writes fail.
    pub panic: Result<(), String>,
    /// Number cells (per-number backoff) fail.
    pub number: Result<(), String>,
    /// `BodyRead::Failed` instead of the bytes, when set.
    pub body_fails: Option<String>,
    /// Seconds the body takes to arrive.
    pub body_delay: u64,
}

impl Default for World {
    fn default() -> World {
        World {
            cohorts: Cohorts::Rates(Vec::new(), Vec::new()),
            ledger: None,
            origin: Ok(200),
            stats: Ok(()),
            panic: Ok(()),
            number: Ok(()),
            body_fails: None,
            body_delay: 0,
        }
    }
}

/// One request's view of the world, recording the IO asked for.
struct Playing<'w> {
    world: &'w World,
    body: &'w [u8],
    io: Vec<Io>,
}

impl Outside for Playing<'_> {
    fn observe(&mut self, io: &Io) {
        self.io.push(io.clone());
    }

    fn body(&mut self, cap: usize, now: UnixTime) -> (BodyRead, UnixTime) {
        // as edge::request::read_body: more than the cap is TooLarge, whatever was declared
        let got = match &self.world.body_fails {
            Some(e) => BodyRead::Failed(e.clone()),
            None if self.body.len() > cap => BodyRead::TooLarge(self.body.len()),
            None => BodyRead::Bytes(self.body.to_vec()),
        };
        (got, now.plus(self.world.body_delay))
    }

    fn origin(&mut self, _forward: &Forward<'_>) -> Result<u16, String> {
        self.world.origin.clone()
    }

    fn counters(&mut self, _shard: u32) -> Result<(), String> {
        match &self.world.cohorts {
            Cohorts::Unreadable(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    fn ledger(&mut self, _order: &SpendOrder) -> Option<SpendAnswer> {
        self.world.ledger.clone()
    }

    fn stats(&mut self) -> Result<(), String> {
        self.world.stats.clone()
    }

    fn panic(&mut self, _shard: u32) -> Result<(), String> {
        self.world.panic.clone()
    }

    fn number(&mut self, _request: &NumberRequest) -> Result<(), String> {
        self.world.number.clone()
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

    /// `(action, code)` of every stats count.
    pub fn tallies(&self) -> Vec<(&'static str, String)> {
        self.done().counts.tallies.iter().map(|t| (t.action.name(), t.code.clone())).collect()
    }

    /// The forward step, if the request was forwarded: verdict header and body.
    pub fn forwarded(&self) -> Option<(&str, &[u8])> {
        self.io.iter().find_map(|io| match io {
            Io::Forward { verdict: Some(verdict), body } => Some((verdict.as_str(), body.as_slice())),
            _ => None,
        })
    }

    /// The body of a forward without a verdict (an observed pass-through: an OTP check).
    pub fn relayed(&self) -> Option<&[u8]> {
        self.io.iter().find_map(|io| match io {
            Io::Forward { verdict: None, body } => Some(body.as_slice()),
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

    /// `GET /__gate/<endpoint>?<query>` from this request's client (its headers and network,
    /// so its binding).
    pub fn gate_get(&self, endpoint: &str, query: &str) -> Req {
        let mut req = self.clone();
        req.facts.method = "GET".into();
        req.facts.path = format!("/__gate/{endpoint}");
        req.facts.query = Some(query.to_string());
        req.body.clear();
        req
    }

    /// `X-Gate-Solution`.
    pub fn solution(self, s: &str) -> Req {
        self.header(solution::HEADER, s)
    }

    /// A browser's top-level form navigation (Chrome's headers): a person, not an API client.
    pub fn navigation(self) -> Req {
        chrome::LINUX.navigation().into_iter().fold(self, |req, (name, value)| req.header(name, value))
    }
}

/// A gate: its configuration, the time, its stores, the world outside and a source of ids.
pub struct Gate {
    pub loaded: Loaded,
    pub now: UnixTime,
    pub world: World,
    /// The objects, in memory.
    pub stores: Stores,
    /// The isolate: a fresh one per request unless `keep_isolate`.
    pub control: Control,
    pub keep_isolate: bool,
    next_id: u32,
}

impl Gate {
    /// A gate with the test policy (attack `attack`, `rules`) and extra vars.
    pub fn new(policy: &str, extra: &[(&str, &str)]) -> Gate {
        Gate::loaded(load(&vars(policy, extra)))
    }

    /// A gate with a loaded (possibly broken) configuration.
    pub fn loaded(loaded: Loaded) -> Gate {
        let shards = loaded.config.as_ref().map_or(1, |c| c.cohort_shards);
        Gate {
            loaded,
            now: NOW,
            world: World::default(),
            stores: Stores::new(shards),
            control: Control::default(),
            keep_isolate: false,
            next_id: 0,
        }
    }

    /// A fresh random id (distinct per request: the first 255 are `[n; 16]`, later ones carry
    /// the count in their first bytes, so long runs never repeat one).
    fn id(&mut self) -> [u8; 16] {
        self.next_id = self.next_id.wrapping_add(1);
        let mut id = [self.next_id as u8; 16];
        if self.next_id > 255 {
            id[..4].copy_from_slice(&self.next_id.to_be_bytes());
        }
        id
    }

    /// Writes the world's rates and switches into the counter shards (the rest reset).
    fn set_counters(&mut self) {
        let Cohorts::Rates(rates, panicked) = &self.world.cohorts else { return };
        let n = self.stores.shards.len() as u32;
        let window = self.loaded.config.as_ref().map_or(60, |c| c.policy.attack.window_secs);
        let mut rows: Vec<Vec<Row>> = vec![Vec::new(); n as usize];
        for (key, rate) in rates {
            let at_ms = self.now.millis() as f64;
            let row = Row { key: key.to_string(), value: *rate, at_ms, window_secs: window };
            rows[shard(key.as_str(), n) as usize].push(row);
        }
        let mut panics: Vec<Vec<Panic>> = vec![Vec::new(); n as usize];
        for key in panicked {
            let until_ms = self.now.plus(3600).millis();
            let targets: Vec<u32> =
                if key.is_site() { (0..n).collect() } else { vec![shard(key.as_str(), n)] };
            for t in targets {
                panics[t as usize].push(Panic { key: key.to_string(), until_ms });
            }
        }
        self.stores.shards = rows.into_iter().zip(panics).map(|(r, p)| Shard::load(r, p)).collect();
    }

    /// Sends a request through the front door and drives it to the end.
    pub fn send(&mut self, req: &Req) -> Run {
        let id = self.id();
        let now = self.now;
        self.set_counters();
        if !self.keep_isolate {
            self.control = Control::default();
        }
        let step = gate::pipeline::start(&self.loaded, &req.facts, Ok(id), now);
        let mut isolate = Isolate { control: &mut self.control, stores: &mut self.stores };
        let mut playing = Playing { world: &self.world, body: &req.body, io: Vec::new() };
        let ended = memory::drive(&self.loaded, step, &mut isolate, &mut playing, now);
        let handled = match ended {
            Ended::Done(done) => Handled::Done(done),
            Ended::PassThrough(to) => Handled::PassThrough(to),
            Ended::Asset(name) => Handled::WidgetFile(name),
        };
        Run { handled, io: playing.io }
    }

    /// The stats counted so far, summed over the stats shards: (action, code) → n.
    pub fn counted(&mut self) -> HashMap<(String, String), i64> {
        let answers = self.stores.read_stats(0, &[], self.now);
        let mut out = HashMap::new();
        for c in answers.counts.into_iter().flatten().flatten() {
            *out.entry((c.action.name().to_string(), c.code)).or_default() += c.n;
        }
        out
    }

    /// `GET <prefix>/challenge?route=…` as `client` would send it; panics unless issued.
    pub fn challenge(&mut self, client: &Req, route: &str) -> ChallengeJson {
        let run = self.send(&client.gate_get("challenge", &format!("route={route}")));
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

/// Solves a challenge token (base64url) with the signal bytes it was asked with.
pub fn solve_with_signals(token: &str, signals: &[u8]) -> String {
    let bytes = gate::protocol::challenge::token_bytes(token).unwrap();
    solution::solve(&bytes, signals).unwrap().encode()
}

/// A solved token for `client` at the test price (4 x 4) signed by `secret` and issued at
/// `issued_at` for `ttl` seconds: an old deployment's, a forger's, an expired or a future one.
pub fn minted(secret: &str, client: &Req, route: &str, issued_at: u64, ttl: u64) -> String {
    let terms = Terms {
        route: route.into(),
        difficulty: 4,
        k: 4,
        risk: 0,
        ttl,
        binding: gate::pipeline::binding(&client.facts),
    };
    let signed =
        challenge::issue(&Key::new(secret.as_bytes()), &terms, UnixTime::from_secs(issued_at), [0xab; 16])
            .unwrap();
    solve(&signed.token())
}
