//! Solutions: what a client sends back, and the verifier.
//!
//! Wire format (header `X-Gate-Solution` or form field `gate-solution`):
//! `<token>.<nonces>[.<signals>]`, each part base64url without padding; `nonces` is `k`
//! big-endian 8-byte nonces back to back; `signals` are the client-signal bytes the seed was
//! computed with (absent means empty). A solution may carry up to [`MAX_TOP_UPS`] top-ups
//! ([`super::topup`]) after it, each `~<top-up token>.<nonces>` with 1 to its `k` nonces (its
//! first sub-puzzles, in order): their work adds to the challenge's.

use crate::pow::{self, NONCE_LEN};
use crate::protocol::binding::Binding;
use crate::protocol::challenge::{self, Challenge, DecodeError};
use crate::protocol::key::KeyRing;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::protocol::topup;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The request header API clients put the solution in.
pub const HEADER: &str = "X-Gate-Solution";
/// The form field browsers put the solution in.
pub const FIELD: &str = "gate-solution";
/// Largest number of sub-puzzles the wire format allows.
pub const MAX_K: usize = 64;
/// Largest client-signals payload accepted.
pub const MAX_SIGNALS_LEN: usize = 4096;
/// Most top-ups one solution carries: a rise from the first price to the ceiling is one
/// top-up ([`topup::sized`]); three leave room for the price to move while a person types.
pub const MAX_TOP_UPS: usize = 3;
/// Longest top-up part: `~`, a maximal top-up token, `.` and its nonces.
const MAX_TOP_UP_PART_LEN: usize =
    1 + challenge::base64_len(topup::MAX_LEN) + 1 + challenge::base64_len(topup::MAX_K as usize * NONCE_LEN);
/// Longest solution string the verifier will look at: a maximal token, 64 nonces, signals
/// and the top-ups.
pub const MAX_SOLUTION_LEN: usize = challenge::base64_len(challenge::MAX_TOKEN_LEN)
    + 1
    + challenge::base64_len(MAX_K * NONCE_LEN)
    + 1
    + challenge::base64_len(MAX_SIGNALS_LEN)
    + MAX_TOP_UPS * MAX_TOP_UP_PART_LEN;
/// Sub-puzzles checked first, at random places of a bundle, so a bundle with bad work is
/// refused after a few hashes rather than all of them.
pub const SAMPLED: usize = 2;

/// A parsed (not yet verified) solution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// The token bytes, exactly as issued.
    pub token: Vec<u8>,
    /// One nonce per sub-puzzle.
    pub nonces: Vec<u64>,
    /// Client-signal bytes (empty when absent).
    pub signals: Vec<u8>,
    /// Top-ups: work added after the first challenge.
    pub topups: Vec<TopUpPart>,
}

/// One top-up as submitted: its token and the nonces of its first sub-puzzles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpPart {
    /// The top-up token bytes, exactly as issued.
    pub token: Vec<u8>,
    /// Nonces of sub-puzzles 0, 1, ... (at least one, at most the top-up's `k`).
    pub nonces: Vec<u64>,
}

fn nonces_b64(nonces: &[u64]) -> String {
    let mut bytes = Vec::with_capacity(nonces.len() * NONCE_LEN);
    for n in nonces {
        bytes.extend_from_slice(&n.to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

fn nonces_of(text: &str, max: usize) -> Result<Vec<u64>, Rejection> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed("nonces are not base64url"))?;
    if bytes.is_empty() || bytes.len() % NONCE_LEN != 0 || bytes.len() > max * NONCE_LEN {
        return Err(malformed(format!(
            "{} nonce bytes is not 1-{max} nonces of {NONCE_LEN} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(NONCE_LEN)
        .map(|c| {
            let mut b = [0u8; NONCE_LEN];
            b.copy_from_slice(c);
            u64::from_be_bytes(b)
        })
        .collect())
}

impl Solution {
    /// Whether another top-up fits (a bundle carries at most [`MAX_TOP_UPS`]).
    pub fn has_room_for_top_up(&self) -> bool {
        self.topups.len() < MAX_TOP_UPS
    }

    /// Encodes to the wire format.
    pub fn encode(&self) -> String {
        let mut s = format!("{}.{}", URL_SAFE_NO_PAD.encode(&self.token), nonces_b64(&self.nonces));
        if !self.signals.is_empty() {
            s.push('.');
            s.push_str(&URL_SAFE_NO_PAD.encode(&self.signals));
        }
        for t in &self.topups {
            s.push('~');
            s.push_str(&URL_SAFE_NO_PAD.encode(&t.token));
            s.push('.');
            s.push_str(&nonces_b64(&t.nonces));
        }
        s
    }

    /// Parses the wire format. Size is checked before anything else is read.
    pub fn parse(raw: &str) -> Result<Solution, Rejection> {
        let raw = raw.trim();
        if raw.len() > MAX_SOLUTION_LEN {
            return Err(Rejection::new(
                RejectKind::TooLarge,
                format!("solution is {} bytes, limit {MAX_SOLUTION_LEN}", raw.len()),
            ));
        }
        if raw.is_empty() {
            return Err(Rejection::new(RejectKind::MissingSolution, "solution is empty"));
        }
        let mut bundle = raw.split('~');
        let first = bundle.next().unwrap_or_default();
        let mut parts = first.split('.');
        let (token, nonces, signals) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(t), Some(n), s, None) => (t, n, s),
            _ => {
                return Err(malformed("expected <token>.<nonces>[.<signals>][~<top-up>.<nonces>...]"));
            }
        };
        let token = challenge::token_bytes(token).map_err(|e| malformed(format!("token: {e}")))?;
        let nonces = nonces_of(nonces, MAX_K)?;
        let signals = match signals {
            None => Vec::new(),
            Some(s) => URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed("signals are not base64url"))?,
        };
        let mut topups = Vec::new();
        for part in bundle {
            if topups.len() == MAX_TOP_UPS {
                return Err(malformed(format!("more than {MAX_TOP_UPS} top-ups")));
            }
            let Some((t, n)) = part.split_once('.') else {
                return Err(malformed("a top-up is <token>.<nonces>"));
            };
            let token = topup::token_bytes(t).map_err(|e| malformed(e.to_string()))?;
            topups.push(TopUpPart { token, nonces: nonces_of(n, usize::from(topup::MAX_K))? });
        }
        Ok(Solution { token, nonces, signals, topups })
    }
}

fn malformed(detail: impl Into<String>) -> Rejection {
    Rejection::new(RejectKind::MalformedSolution, detail)
}

/// What the verifier checks a solution against: everything comes in as a value.
#[derive(Clone, Debug)]
pub struct Expectation<'a> {
    /// Keys that may have signed the token.
    pub keys: &'a KeyRing,
    /// The current time, read by the caller.
    pub now: UnixTime,
    /// Seconds of clock skew tolerated on both expiry and issue time.
    pub skew: u64,
    /// The path the request is for; `None` accepts any route (siteverify, where the origin
    /// checks the route it was issued for, returned as `action`).
    pub route: Option<&'a str>,
    /// The binding of the client as the edge sees it now; `None` skips the check (siteverify,
    /// where the edge never saw the client).
    pub binding: Option<Binding>,
    /// Random bits choosing which sub-puzzles are checked first ([`SAMPLED`]).
    pub order: u64,
}

/// A solution that passed every check except single-use (which needs the ledger).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signed terms.
    pub challenge: Challenge,
    /// The client-signal bytes the work was bound to.
    pub signals: Vec<u8>,
    /// The work paid, in expected hashes: the challenge's and every top-up's solved
    /// sub-puzzles (`k · 2^difficulty` each part).
    pub work: u64,
    /// Top-ups it carried.
    pub topups: usize,
}

/// Expected hashes of `n` sub-puzzles at `difficulty` bits (saturating).
pub fn work_of(n: usize, difficulty: u8) -> u64 {
    let each = if difficulty >= 63 { u64::MAX } else { 1u64 << difficulty };
    u64::try_from(n).unwrap_or(u64::MAX).saturating_mul(each)
}

/// Verifies a solution string, cheapest checks first:
///
/// 1. size limit, 2. parse, 3. version and key id, 4. signature (constant time),
/// 5. expiry (with skew), 6. route, 7. client binding, 8. every sub-puzzle's work.
///
/// Single-use spending comes after, in the caller, so a store is never written for a request
/// that has not paid. Never panics, whatever the input.
pub fn verify(raw: &str, expect: &Expectation<'_>) -> Result<Verified, Rejection> {
    let solution = Solution::parse(raw)?;
    verify_parsed(solution, expect)
}

/// A challenge token's terms, checked for this request without its work (cheapest first:
/// version and key id, signature, expiry, route, binding).
pub fn check_terms(token: &[u8], expect: &Expectation<'_>) -> Result<Challenge, Rejection> {
    let decoded = challenge::decode(token).map_err(|e| match e {
        DecodeError::UnsupportedVersion(_) => Rejection::new(RejectKind::UnsupportedVersion, e.to_string()),
        _ => malformed(e.to_string()),
    })?;
    let c = decoded.challenge;
    let key = expect.keys.find(c.kid).ok_or_else(|| {
        Rejection::new(RejectKind::UnknownKey, format!("key id {} is not in the key ring", c.kid))
    })?;
    if !key.verify(&[decoded.signed], decoded.tag) {
        return Err(Rejection::new(
            RejectKind::BadSignature,
            format!("signature does not verify under key {}", c.kid),
        ));
    }
    if expect.now > c.expires_at.plus(expect.skew) {
        return Err(Rejection::new(
            RejectKind::Expired,
            format!(
                "expired at {}, now {}, skew {}",
                c.expires_at.seconds(),
                expect.now.seconds(),
                expect.skew
            ),
        ));
    }
    if c.issued_at > expect.now.plus(expect.skew) {
        return Err(Rejection::new(
            RejectKind::NotYetValid,
            format!(
                "issued at {}, now {}, skew {}",
                c.issued_at.seconds(),
                expect.now.seconds(),
                expect.skew
            ),
        ));
    }
    if let Some(route) = expect.route
        && c.route != route
    {
        return Err(Rejection::new(
            RejectKind::WrongRoute,
            format!("challenge is for {:?}, request is for {route:?}", c.route),
        ));
    }
    if expect.binding.is_some_and(|b| b != c.binding) {
        return Err(Rejection::new(RejectKind::BindingMismatch, "client binding differs from issue time"));
    }
    Ok(c)
}

/// [`verify`] for an already parsed solution.
pub fn verify_parsed(solution: Solution, expect: &Expectation<'_>) -> Result<Verified, Rejection> {
    let c = check_terms(&solution.token, expect)?;
    if c.k == 0 || solution.nonces.len() != usize::from(c.k) {
        return Err(malformed(format!("{} nonces for k = {}", solution.nonces.len(), c.k)));
    }
    let mut work = work_of(solution.nonces.len(), c.difficulty);
    // every part's terms before any of its work: top-ups signed, bound to this challenge
    let mut parts = vec![(pow::seed(&solution.token, &solution.signals), &solution.nonces, c.difficulty)];
    let mut seen: Vec<[u8; 16]> = Vec::new();
    for (n, part) in solution.topups.iter().enumerate() {
        let t = top_up(&c, part, n, expect)?;
        if seen.contains(&t.id) {
            return Err(malformed(format!("top-up {n} is sent twice")));
        }
        seen.push(t.id);
        work = work.saturating_add(work_of(part.nonces.len(), t.difficulty));
        parts.push((pow::seed(&part.token, &solution.signals), &part.nonces, t.difficulty));
    }
    // a few sub-puzzles at random places first: bad work is refused after a few hashes
    let total: usize = parts.iter().map(|(_, n, _)| n.len()).sum();
    let mut pick = expect.order;
    for _ in 0..SAMPLED.min(total) {
        pick = pick.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let mut at = usize::try_from(pick >> 33).unwrap_or(0) % total.max(1);
        for (p, (seed, nonces, difficulty)) in parts.iter().enumerate() {
            if at < nonces.len() {
                let i = u32::try_from(at).unwrap_or(0);
                let nonce = nonces.get(at).copied().unwrap_or(0);
                if !pow::meets(seed, i, nonce, *difficulty) {
                    return Err(insufficient(p, i, pow::zero_bits(seed, i, nonce), *difficulty));
                }
                break;
            }
            at -= nonces.len();
        }
    }
    for (p, (seed, nonces, difficulty)) in parts.iter().enumerate() {
        if let Some((i, bits)) = pow::first_insufficient(seed, nonces, *difficulty) {
            return Err(insufficient(p, i, bits, *difficulty));
        }
    }
    let topups = solution.topups.len();
    Ok(Verified { challenge: c, signals: solution.signals, work, topups })
}

fn insufficient(part: usize, i: u32, bits: u32, difficulty: u8) -> Rejection {
    let which = if part == 0 { String::new() } else { format!("top-up {} ", part - 1) };
    Rejection::new(
        RejectKind::InsufficientWork,
        format!("{which}sub-puzzle {i} has {bits} zero bits, needs {difficulty}"),
    )
}

/// A top-up's terms, checked against the first challenge: signed, for this challenge, its
/// route and binding, not expired, at most its `k` nonces.
fn top_up(
    c: &Challenge,
    part: &TopUpPart,
    n: usize,
    expect: &Expectation<'_>,
) -> Result<topup::TopUp, Rejection> {
    let (t, signed, tag) = topup::decode(&part.token).map_err(|e| malformed(format!("top-up {n}: {e}")))?;
    if expect.keys.find(t.kid).is_none() {
        return Err(Rejection::new(RejectKind::UnknownKey, format!("top-up {n}: key id {}", t.kid)));
    }
    if !topup::signed_by(expect.keys, &t, signed, tag) {
        return Err(Rejection::new(
            RejectKind::BadSignature,
            format!("top-up {n}: signature does not verify"),
        ));
    }
    if t.first != c.id {
        return Err(Rejection::new(
            RejectKind::BindingMismatch,
            format!("top-up {n} adds to another challenge"),
        ));
    }
    if expect.now > t.expires_at.plus(expect.skew) {
        return Err(Rejection::new(
            RejectKind::Expired,
            format!("top-up {n} expired at {}", t.expires_at.seconds()),
        ));
    }
    if t.route != c.route {
        return Err(Rejection::new(RejectKind::WrongRoute, format!("top-up {n} is for {:?}", t.route)));
    }
    if t.binding != c.binding {
        return Err(Rejection::new(
            RejectKind::BindingMismatch,
            format!("top-up {n} was issued to another client"),
        ));
    }
    if t.difficulty == 0 || part.nonces.len() > usize::from(t.k) {
        return Err(malformed(format!("top-up {n}: {} nonces for k = {}", part.nonces.len(), t.k)));
    }
    Ok(t)
}

/// Solves every sub-puzzle of a token on this thread (tests and small tools; the CLI
/// spreads sub-puzzles over threads).
pub fn solve(token: &[u8], signals: &[u8]) -> Result<Solution, DecodeError> {
    let c = challenge::decode(token)?.challenge;
    let seed = pow::seed(token, signals);
    let nonces = (0..u32::from(c.k)).map(|i| pow::solve(&seed, i, c.difficulty).unwrap_or(0)).collect();
    Ok(Solution { token: token.to_vec(), nonces, signals: signals.to_vec(), topups: Vec::new() })
}

/// Solves a top-up token's sub-puzzles on this thread, in order, and adds them to the bundle
/// while `more` agrees (it is told each sub-puzzle's tries once solved: a client that banks for
/// a while sends the ones done by then); returns the tries of the sub-puzzles kept (tests and
/// the drill; the CLI spreads sub-puzzles over threads).
pub fn add_top_up(
    solution: &mut Solution,
    token: &[u8],
    more: &mut dyn FnMut(u64) -> bool,
) -> Result<u64, topup::TopUpError> {
    let (t, _, _) = topup::decode(token)?;
    let seed = pow::seed(token, &solution.signals);
    let (mut nonces, mut tried) = (Vec::new(), 0u64);
    for i in 0..u32::from(t.k) {
        let nonce = pow::solve(&seed, i, t.difficulty).unwrap_or(0);
        if !more(nonce.saturating_add(1)) {
            break;
        }
        tried = tried.saturating_add(nonce.saturating_add(1));
        nonces.push(nonce);
    }
    if !nonces.is_empty() {
        solution.topups.push(TopUpPart { token: token.to_vec(), nonces });
    }
    Ok(tried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::binding::BINDING_LEN;
    use crate::protocol::challenge::{Terms, issue};
    use crate::protocol::key::Key;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn ring() -> KeyRing {
        KeyRing::new(
            Key::new(b"current key, more than thirty-two bytes"),
            Some(Key::new(b"previous key, more than thirty-two bytes")),
        )
    }

    fn token_with(key: &Key, route: &str, difficulty: u8, k: u8, now: UnixTime) -> Vec<u8> {
        let terms = Terms {
            route: route.into(),
            difficulty,
            k,
            risk: 0,
            ttl: 60,
            binding: Binding([1; BINDING_LEN]),
        };
        issue(key, &terms, now, [5; 16]).unwrap().bytes().to_vec()
    }

    fn expect<'a>(keys: &'a KeyRing, route: &'a str, now: UnixTime) -> Expectation<'a> {
        Expectation {
            keys,
            now,
            skew: 5,
            route: Some(route),
            binding: Some(Binding([1; BINDING_LEN])),
            order: 0,
        }
    }

    #[test]
    fn a_solved_challenge_verifies_with_current_and_previous_key() {
        let keys = ring();
        for key in [
            Key::new(b"current key, more than thirty-two bytes"),
            Key::new(b"previous key, more than thirty-two bytes"),
        ] {
            let sol = solve(&token_with(&key, "/signup", 8, 4, NOW), b"").unwrap();
            let v = verify(&sol.encode(), &expect(&keys, "/signup", NOW.plus(10))).unwrap();
            assert_eq!(v.challenge.k, 4);
        }
    }

    #[test]
    fn each_check_rejects_with_its_own_kind() {
        let keys = ring();
        let key = Key::new(b"current key, more than thirty-two bytes");
        let good = solve(&token_with(&key, "/signup", 8, 4, NOW), b"").unwrap();
        let unknown = solve(
            &token_with(&Key::new(b"some other key that nobody configured"), "/signup", 8, 4, NOW),
            b"",
        )
        .unwrap();
        let mut forged = good.clone();
        if let Some(b) = forged.token.get_mut(39) {
            *b ^= 1; // flip the risk byte: layout intact, signature broken
        }
        let mut lazy = good.clone();
        lazy.nonces = lazy.nonces.iter().map(|_| 0).collect();
        // nonce 0 may accidentally be valid for some sub-puzzle, so find one that is not.
        let seed = pow::seed(&lazy.token, b"");
        let bad_nonce = (0u64..).find(|n| !pow::meets(&seed, 0, *n, 8)).unwrap();
        lazy.nonces = vec![bad_nonce; 4];
        let mut missing_nonce = good.clone();
        missing_nonce.nonces.pop();
        let mut other_signals = good.clone();
        other_signals.signals = b"{\"tz\":\"UTC\"}".to_vec();
        let mut v2 = good.clone();
        v2.token[0] = 2;

        struct Case {
            name: &'static str,
            raw: String,
            route: &'static str,
            now: UnixTime,
            binding: Binding,
            want: RejectKind,
        }
        let b1 = Binding([1; BINDING_LEN]);
        let cases = vec![
            Case {
                name: "empty",
                raw: "".into(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::MissingSolution,
            },
            Case {
                name: "too large",
                raw: "A".repeat(MAX_SOLUTION_LEN + 1),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::TooLarge,
            },
            Case {
                name: "one part",
                raw: "abc".into(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::MalformedSolution,
            },
            Case {
                name: "four parts",
                raw: "a.b.c.d".into(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::MalformedSolution,
            },
            Case {
                name: "not base64",
                raw: "!!.AAAAAAAAAAA".into(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::MalformedSolution,
            },
            Case {
                name: "version",
                raw: v2.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::UnsupportedVersion,
            },
            Case {
                name: "unknown key",
                raw: unknown.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::UnknownKey,
            },
            Case {
                name: "forged",
                raw: forged.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::BadSignature,
            },
            Case {
                name: "expired",
                raw: good.encode(),
                route: "/signup",
                now: NOW.plus(66),
                binding: b1,
                want: RejectKind::Expired,
            },
            Case {
                name: "from the future",
                raw: good.encode(),
                route: "/signup",
                now: NOW.minus(6),
                binding: b1,
                want: RejectKind::NotYetValid,
            },
            Case {
                name: "other route",
                raw: good.encode(),
                route: "/api/register",
                now: NOW,
                binding: b1,
                want: RejectKind::WrongRoute,
            },
            Case {
                name: "other client",
                raw: good.encode(),
                route: "/signup",
                now: NOW,
                binding: Binding([2; BINDING_LEN]),
                want: RejectKind::BindingMismatch,
            },
            Case {
                name: "nonce count",
                raw: missing_nonce.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::MalformedSolution,
            },
            Case {
                name: "lazy",
                raw: lazy.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::InsufficientWork,
            },
            Case {
                name: "signals swapped",
                raw: other_signals.encode(),
                route: "/signup",
                now: NOW,
                binding: b1,
                want: RejectKind::InsufficientWork,
            },
        ];
        for c in cases {
            let e = Expectation {
                keys: &keys,
                now: c.now,
                skew: 5,
                route: Some(c.route),
                binding: Some(c.binding),
                order: 0,
            };
            let got = verify(&c.raw, &e).err().map(|r| r.kind());
            assert_eq!(got, Some(c.want), "{}", c.name);
        }
        // edges of the skew window are inclusive
        assert!(verify(&good.encode(), &expect(&keys, "/signup", NOW.plus(65))).is_ok());
        assert!(verify(&good.encode(), &expect(&keys, "/signup", NOW.minus(5))).is_ok());
    }

    #[test]
    fn encode_parse_round_trip_with_and_without_signals() {
        for signals in [&b""[..], b"{\"a\":1}"] {
            let s = Solution {
                token: vec![1, 2, 3],
                nonces: vec![0, u64::MAX, 42],
                signals: signals.to_vec(),
                topups: Vec::new(),
            };
            assert_eq!(Solution::parse(&s.encode()).unwrap(), s);
            assert_eq!(s.encode().matches('.').count(), if signals.is_empty() { 1 } else { 2 });
        }
    }
}
