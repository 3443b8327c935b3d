//! A native client for API callers and tests: fetch a challenge, solve it on every core,
//! submit the request. Not part of the Wasm builds.

use crate::pow::{self, Step};
use crate::protocol::challenge::{self, ChallengeJson};
use crate::protocol::solution::TopUpPart;
use crate::protocol::solution::{self, Solution};
use crate::protocol::topup::{self, TopUpJson};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What went wrong talking to the gate.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport error.
    #[error("http: {0}")]
    Http(String),
    /// The gate answered something unexpected.
    #[error("gate answered {status}: {body}")]
    Gate {
        /// HTTP status.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The challenge could not be read.
    #[error("challenge: {0}")]
    Challenge(String),
}

/// An HTTP agent that never follows redirects and treats every status as a response.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Fetches a challenge for `route` from the gate at `base` (e.g. `http://127.0.0.1:8787`).
/// `phone` (the sign-up's number or just its calling code) lets the gate price phone rules up
/// front; only its first digits are sent.
pub fn fetch_challenge(
    agent: &ureq::Agent,
    base: &str,
    prefix: &str,
    route: &str,
    user_agent: &str,
    phone: Option<&str>,
) -> Result<ChallengeJson, ClientError> {
    let url = format!("{}{prefix}/challenge", base.trim_end_matches('/'));
    let mut req = agent
        .get(&url)
        .query("route", route)
        .header("User-Agent", user_agent)
        .header("Accept", "application/json");
    if let Some(p) = phone {
        let digits: String = p.chars().filter(char::is_ascii_digit).take(4).collect();
        req = req.query("phone", &digits);
    }
    let mut resp = req.call().map_err(|e| ClientError::Http(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().map_err(|e| ClientError::Http(e.to_string()))?;
    if status != 200 {
        return Err(ClientError::Gate { status, body });
    }
    serde_json::from_str(&body).map_err(|e| ClientError::Challenge(e.to_string()))
}

/// Solves every sub-puzzle of `token`, spreading sub-puzzles over `threads` threads.
pub fn solve(token: &str, signals: &[u8], threads: usize) -> Result<Solution, ClientError> {
    let bytes = challenge::token_bytes(token).map_err(|e| ClientError::Challenge(e.to_string()))?;
    let c = challenge::decode(&bytes).map_err(|e| ClientError::Challenge(e.to_string()))?.challenge;
    let nonces = solve_puzzles(&bytes, signals, c.difficulty, usize::from(c.k), threads)?;
    Ok(Solution { token: bytes, nonces, signals: signals.to_vec(), topups: Vec::new() })
}

/// Solves every sub-puzzle of an offered top-up and adds it to `solution`.
pub fn add_top_up(solution: &mut Solution, offer: &TopUpJson, threads: usize) -> Result<(), ClientError> {
    let bytes = topup::token_bytes(&offer.token).map_err(|e| ClientError::Challenge(e.to_string()))?;
    let nonces = solve_puzzles(&bytes, &solution.signals, offer.difficulty, usize::from(offer.k), threads)?;
    solution.topups.push(TopUpPart { token: bytes, nonces });
    Ok(())
}

/// The nonces of sub-puzzles `0..k` of a token (a challenge's or a top-up's), spread over
/// `threads` threads.
fn solve_puzzles(
    bytes: &[u8],
    signals: &[u8],
    difficulty: u8,
    k: usize,
    threads: usize,
) -> Result<Vec<u64>, ClientError> {
    let seed = pow::seed(bytes, signals);
    let c = (difficulty, k);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<std::sync::Mutex<u64>> = (0..k).map(|_| std::sync::Mutex::new(0)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, k.max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = slots.get(i) else { break };
                    let Ok(index) = u32::try_from(i) else { break };
                    let mut search = pow::Search::new(&seed, index, c.0, 0);
                    let nonce = loop {
                        match search.step(1 << 16) {
                            Step::Found { nonce, .. } => break Some(nonce),
                            Step::Exhausted => break None,
                            Step::Pending { .. } => {}
                        }
                    };
                    match (nonce, slot.lock()) {
                        (Some(n), Ok(mut s)) => *s = n,
                        _ => failed.store(true, Ordering::Relaxed),
                    }
                }
            });
        }
    });
    if failed.load(Ordering::Relaxed) {
        return Err(ClientError::Challenge("a sub-puzzle has no solution".into()));
    }
    Ok(slots.into_iter().map(|m| m.into_inner().unwrap_or(0)).collect())
}

/// The number of threads to solve with by default.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// How the solution travels with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// `X-Gate-Solution` header.
    Header,
    /// `gate-solution` field appended to a URL-encoded form body.
    Form,
}

/// A request to make through the gate.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Full URL, e.g. `http://127.0.0.1:8787/signup`.
    pub url: String,
    /// HTTP method.
    pub method: String,
    /// Body bytes (may be empty).
    pub body: Vec<u8>,
    /// Content-Type of the body.
    pub content_type: Option<String>,
    /// User-Agent for both the challenge and the submission (they are bound together).
    pub user_agent: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Where the solution goes.
    pub carrier: Carrier,
    /// The sign-up's phone number (international form), if the policy prices by it.
    pub phone: Option<String>,
}

/// The gate's (or origin's) answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// Response headers.
    pub headers: Vec<(String, String)>,
}

/// Sends a submission carrying `solution`.
pub fn send(agent: &ureq::Agent, sub: &Submission, solution: &str) -> Result<Answer, ClientError> {
    let mut body = sub.body.clone();
    let mut builder = ureq::http::Request::builder().method(sub.method.as_str()).uri(&sub.url);
    builder = builder.header("User-Agent", &sub.user_agent);
    for (k, v) in &sub.headers {
        builder = builder.header(k, v);
    }
    match sub.carrier {
        Carrier::Header => {
            builder = builder.header(solution::HEADER, solution);
            if let Some(ct) = &sub.content_type {
                builder = builder.header("Content-Type", ct);
            }
        }
        Carrier::Form => {
            if !body.is_empty() {
                body.push(b'&');
            }
            let field: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(solution::FIELD, solution)
                .finish();
            body.extend_from_slice(field.as_bytes());
            builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
        }
    }
    let req = builder.body(body).map_err(|e| ClientError::Http(e.to_string()))?;
    let mut resp = agent.run(req).map_err(|e| ClientError::Http(e.to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.body_mut().read_to_string().map_err(|e| ClientError::Http(e.to_string()))?;
    Ok(Answer { status, body, headers })
}

/// Fetches a challenge for the submission's path, solves it, and sends the request.
pub fn submit(
    agent: &ureq::Agent,
    prefix: &str,
    sub: &Submission,
    threads: usize,
) -> Result<Answer, ClientError> {
    let url = url::Url::parse(&sub.url).map_err(|e| ClientError::Http(e.to_string()))?;
    let base = url.origin().ascii_serialization();
    let c = fetch_challenge(agent, &base, prefix, url.path(), &sub.user_agent, sub.phone.as_deref())?;
    let mut solution = solve(&c.token, b"", threads)?;
    // a price that rose meanwhile is topped up (402 more_work: nothing was spent); a forward
    // the origin did not take (502) is sent again once with the same work
    let mut retried = false;
    loop {
        let answer = send(agent, sub, &solution.encode())?;
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        let offer = body.get("topup").cloned().and_then(|t| serde_json::from_value::<TopUpJson>(t).ok());
        match (answer.status, offer) {
            (402, Some(offer)) if solution.topups.len() < solution::MAX_TOP_UPS => {
                add_top_up(&mut solution, &offer, threads)?;
            }
            (502, _)
                if !retried && body.get("error").and_then(|e| e.as_str()) == Some("origin_unavailable") =>
            {
                retried = true;
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            _ => return Ok(answer),
        }
    }
}
