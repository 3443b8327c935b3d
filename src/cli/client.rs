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
/// `phone` (the sign-up's number or just its calling code) lets the gate price phone rules and
/// the number's range up front; only its first digits are sent (as the widget sends them: never
/// the last four).
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
        // a number in international form, or just a calling code (`+86`, `86`); a national
        // number says nothing the gate can read here
        let prefix = crate::request::phone::prefix_of(p, crate::request::phone::PREFIX_DIGITS);
        let code = p.trim().trim_start_matches('+');
        let digits = match prefix {
            d if !d.is_empty() => Some(d),
            _ if (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) => {
                Some(code.to_string())
            }
            _ => None,
        };
        if let Some(d) = digits {
            req = req.query("phone", &d);
        }
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

/// Sends a submission, and once more on a fresh connection when the first fails in transport:
/// a pooled connection the server closed while the client waited (a keep-alive timeout racing
/// a line's poll, `tests/e2e/line.test.mjs` on 2026-12-05: "Peer disconnected") fails the
/// first write. The solution is single use, so sending it again can never sign up twice.
pub fn send_once_more(agent: &ureq::Agent, sub: &Submission, solution: &str) -> Result<Answer, ClientError> {
    match send(agent, sub, solution) {
        Err(ClientError::Http(_)) => send(agent, sub, solution),
        answer => answer,
    }
}

/// The longest `submit` waits in a route's line in all, seconds: the gate answers `busy` for a
/// place past its line's bound (at most 3000 s) anyway.
const MOST_IN_LINE_SECS: u64 = 3600;

/// A place in a route's waiting line, as an `in_line` answer states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InLine {
    /// Estimated seconds until the turn comes.
    pub wait_secs: u64,
    /// Seconds to wait before sending again.
    pub retry_after: u64,
}

impl InLine {
    /// The place an answer states, if it is `429 in_line`.
    pub fn of(status: u16, body: &serde_json::Value) -> Option<InLine> {
        let in_line = status == 429 && body.get("error").and_then(|e| e.as_str()) == Some("in_line");
        let line = body.get("line").filter(|_| in_line)?;
        Some(InLine {
            wait_secs: line.get("wait_secs")?.as_u64()?,
            retry_after: line.get("retry_after")?.as_u64()?.clamp(1, 60),
        })
    }
}

/// Fetches a challenge for the submission's path, solves it, and sends the request. On a route
/// with a waiting line, a place whose turn has not come is sent again when the gate says, with
/// the same solution (nothing was spent); `on_line` hears each place.
pub fn submit(
    agent: &ureq::Agent,
    prefix: &str,
    sub: &Submission,
    threads: usize,
    on_line: &mut dyn FnMut(InLine),
) -> Result<Answer, ClientError> {
    let url = url::Url::parse(&sub.url).map_err(|e| ClientError::Http(e.to_string()))?;
    let base = url.origin().ascii_serialization();
    let c = fetch_challenge(agent, &base, prefix, url.path(), &sub.user_agent, sub.phone.as_deref())?;
    let mut solution = solve(&c.token, b"", threads)?;
    // a price that rose meanwhile is topped up (402 more_work: nothing was spent); a place in
    // line is sent again when the gate says (429 in_line: nothing was spent); a forward the
    // origin did not take (502) is sent again once with the same work
    let mut retried = false;
    let mut waited = 0u64;
    loop {
        let answer = send_once_more(agent, sub, &solution.encode())?;
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        let offer = body.get("topup").cloned().and_then(|t| serde_json::from_value::<TopUpJson>(t).ok());
        let place = InLine::of(answer.status, &body);
        match (answer.status, offer, place) {
            (402, Some(offer), _) if solution.has_room_for_top_up() => {
                add_top_up(&mut solution, &offer, threads)?;
            }
            (_, _, Some(place)) if waited < MOST_IN_LINE_SECS => {
                on_line(place);
                waited += place.retry_after;
                std::thread::sleep(Duration::from_secs(place.retry_after));
            }
            (502, _, _)
                if !retried && body.get("error").and_then(|e| e.as_str()) == Some("origin_unavailable") =>
            {
                retried = true;
                std::thread::sleep(Duration::from_secs(2));
            }
            _ => return Ok(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A server whose first connection reads the request and closes without an answer (a
    /// keep-alive connection closed under the client), and whose second answers 200.
    fn closing_then_answering() -> (String, std::thread::JoinHandle<usize>) {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else { panic!("bind") };
        let Ok(addr) = listener.local_addr() else { panic!("addr") };
        let server = std::thread::spawn(move || {
            let mut served = 0;
            for (n, stream) in listener.incoming().take(2).enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                if n == 1 {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    served += 1;
                }
            }
            served
        });
        (format!("http://{addr}/signup"), server)
    }

    #[test]
    fn a_submission_whose_connection_closes_under_it_is_sent_once_more() {
        let (url, server) = closing_then_answering();
        let sub = Submission {
            url,
            method: "POST".into(),
            body: b"email=a%40example.com".to_vec(),
            content_type: None,
            user_agent: "gate-test".into(),
            headers: Vec::new(),
            carrier: Carrier::Form,
            phone: None,
        };
        let answer = send_once_more(&agent(), &sub, "token.nonces");
        assert_eq!(answer.map(|a| (a.status, a.body)).ok(), Some((200, "ok".to_string())));
        assert_eq!(server.join().ok(), Some(1));
        // without the second send, the closed connection is the answer
        let (url, server) = closing_then_answering();
        assert!(send(&agent(), &Submission { url, ..sub }, "token.nonces").is_err());
        drop(server);
    }

    #[test]
    fn an_in_line_answer_states_a_place_and_nothing_else_does() {
        let body = serde_json::json!({"error": "in_line", "message": "m",
            "line": {"wait_secs": 95, "ahead_secs": 12, "retry_after": 10}});
        assert_eq!(InLine::of(429, &body), Some(InLine { wait_secs: 95, retry_after: 10 }));
        assert_eq!(InLine::of(503, &body), None, "only a 429");
        let busy = serde_json::json!({"error": "busy", "message": "m", "line": body["line"]});
        assert_eq!(InLine::of(429, &busy), None, "only in_line");
        let forged = serde_json::json!({"error": "in_line", "line": {"wait_secs": 9, "retry_after": 86400}});
        assert_eq!(InLine::of(429, &forged).map(|p| p.retry_after), Some(60), "never sleeps long");
        assert_eq!(InLine::of(429, &serde_json::json!({"error": "in_line"})), None);
    }
}
