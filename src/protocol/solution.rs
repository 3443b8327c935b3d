//! Solutions: what a client sends back, and the verifier.
//!
//! Wire format (header `X-Gate-Solution` or form field `gate-solution`):
//! `<token>.<nonces>[.<signals>]`, each part base64url without padding; `nonces` is `k`
//! big-endian 8-byte nonces back to back; `signals` are the client-signal bytes the seed was
//! computed with (absent means empty).

use crate::pow::{self, NONCE_LEN};
use crate::protocol::binding::Binding;
use crate::protocol::challenge::{self, Challenge, DecodeError};
use crate::protocol::key::KeyRing;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
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
/// Longest solution string the verifier will look at: a maximal token, 64 nonces and signals.
pub const MAX_SOLUTION_LEN: usize = challenge::base64_len(challenge::MAX_TOKEN_LEN)
    + 1
    + challenge::base64_len(MAX_K * NONCE_LEN)
    + 1
    + challenge::base64_len(MAX_SIGNALS_LEN);

/// A parsed (not yet verified) solution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// The token bytes, exactly as issued.
    pub token: Vec<u8>,
    /// One nonce per sub-puzzle.
    pub nonces: Vec<u64>,
    /// Client-signal bytes (empty when absent).
    pub signals: Vec<u8>,
}

impl Solution {
    /// Encodes to the wire format.
    pub fn encode(&self) -> String {
        let mut nonce_bytes = Vec::with_capacity(self.nonces.len() * NONCE_LEN);
        for n in &self.nonces {
            nonce_bytes.extend_from_slice(&n.to_be_bytes());
        }
        let mut s =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(&self.token), URL_SAFE_NO_PAD.encode(nonce_bytes));
        if !self.signals.is_empty() {
            s.push('.');
            s.push_str(&URL_SAFE_NO_PAD.encode(&self.signals));
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
        let mut parts = raw.split('.');
        let (token, nonces, signals) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(t), Some(n), s, None) => (t, n, s),
            _ => {
                return Err(malformed("expected <token>.<nonces>[.<signals>]"));
            }
        };
        let token = challenge::token_bytes(token).map_err(|e| malformed(format!("token: {e}")))?;
        let nonce_bytes =
            URL_SAFE_NO_PAD.decode(nonces).map_err(|_| malformed("nonces are not base64url"))?;
        if nonce_bytes.is_empty()
            || nonce_bytes.len() % NONCE_LEN != 0
            || nonce_bytes.len() > MAX_K * NONCE_LEN
        {
            return Err(malformed(format!(
                "{} nonce bytes is not 1-{MAX_K} nonces of {NONCE_LEN} bytes",
                nonce_bytes.len()
            )));
        }
        let nonces = nonce_bytes
            .chunks_exact(NONCE_LEN)
            .map(|c| {
                let mut b = [0u8; NONCE_LEN];
                b.copy_from_slice(c);
                u64::from_be_bytes(b)
            })
            .collect();
        let signals = match signals {
            None => Vec::new(),
            Some(s) => URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed("signals are not base64url"))?,
        };
        Ok(Solution { token, nonces, signals })
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
}

/// A solution that passed every check except single-use (which needs the ledger).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signed terms.
    pub challenge: Challenge,
    /// The client-signal bytes the work was bound to.
    pub signals: Vec<u8>,
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

/// [`verify`] for an already parsed solution.
pub fn verify_parsed(solution: Solution, expect: &Expectation<'_>) -> Result<Verified, Rejection> {
    let decoded = challenge::decode(&solution.token).map_err(|e| match e {
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
    if c.k == 0 || solution.nonces.len() != usize::from(c.k) {
        return Err(malformed(format!("{} nonces for k = {}", solution.nonces.len(), c.k)));
    }
    let seed = pow::seed(&solution.token, &solution.signals);
    if let Some((i, bits)) = pow::first_insufficient(&seed, &solution.nonces, c.difficulty) {
        return Err(Rejection::new(
            RejectKind::InsufficientWork,
            format!("sub-puzzle {i} has {bits} zero bits, needs {}", c.difficulty),
        ));
    }
    Ok(Verified { challenge: c, signals: solution.signals })
}

/// Solves every sub-puzzle of a token on this thread (tests and small tools; the CLI
/// spreads sub-puzzles over threads).
pub fn solve(token: &[u8], signals: &[u8]) -> Result<Solution, DecodeError> {
    let c = challenge::decode(token)?.challenge;
    let seed = pow::seed(token, signals);
    let nonces = (0..u32::from(c.k)).map(|i| pow::solve(&seed, i, c.difficulty).unwrap_or(0)).collect();
    Ok(Solution { token: token.to_vec(), nonces, signals: signals.to_vec() })
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
        Expectation { keys, now, skew: 5, route: Some(route), binding: Some(Binding([1; BINDING_LEN])) }
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
            let s =
                Solution { token: vec![1, 2, 3], nonces: vec![0, u64::MAX, 42], signals: signals.to_vec() };
            assert_eq!(Solution::parse(&s.encode()).unwrap(), s);
            assert_eq!(s.encode().matches('.').count(), if signals.is_empty() { 1 } else { 2 });
        }
    }
}
