//! Challenges: what the edge signs and the client solves.
//!
//! A challenge is a fixed binary layout (the *token*), signed with HMAC-SHA256 and carried as
//! base64url without padding. The edge keeps no state when it issues one; everything it needs
//! to check a solution later is inside the signed token. See docs/protocol.md.
//!
//! ```text
//! offset  size  field
//!  0       1    version (1)
//!  1       4    key id
//!  5      16    challenge id (random)
//! 21       8    issued_at, Unix seconds, big-endian
//! 29       8    expires_at, Unix seconds, big-endian
//! 37       1    difficulty: leading zero bits required per sub-puzzle
//! 38       1    k: number of sub-puzzles
//! 39       1    risk: the risk score the edge saw at issue time (0-255)
//! 40      16    client binding
//! 56       1    route length L (1-255)
//! 57       L    route (the protected path, UTF-8)
//! 57+L    32    HMAC-SHA256(key, bytes 0 .. 57+L)
//! ```

use crate::protocol::binding::{BINDING_LEN, Binding};
use crate::protocol::key::{Key, KeyId, TAG_LEN};
use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The protocol version this build issues and accepts.
pub const VERSION: u8 = 1;
/// Length of the random challenge id.
pub const ID_LEN: usize = 16;
/// Longest route a challenge can carry.
pub const MAX_ROUTE_LEN: usize = 255;
/// Length of the fixed part before the route.
const FIXED_LEN: usize = 57;
/// Shortest possible token (one-byte route).
pub const MIN_TOKEN_LEN: usize = FIXED_LEN + 1 + TAG_LEN;
/// Longest possible token.
pub const MAX_TOKEN_LEN: usize = FIXED_LEN + MAX_ROUTE_LEN + TAG_LEN;

/// The signed terms of a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Id of the key that signed it.
    pub kid: KeyId,
    /// Random id, unique per challenge; the single-use ledger is keyed by it.
    pub id: [u8; ID_LEN],
    /// When the edge issued it.
    pub issued_at: UnixTime,
    /// After this (plus the allowed clock skew) it is refused.
    pub expires_at: UnixTime,
    /// Leading zero bits each sub-puzzle's hash must have.
    pub difficulty: u8,
    /// Number of sub-puzzles.
    pub k: u8,
    /// The fingerprint risk score when issuing, saturated to a byte (informational: the
    /// submission is assessed again and priced on its own score).
    pub risk: u8,
    /// Hash of the client as the edge saw it.
    pub binding: Binding,
    /// The protected path this challenge unlocks.
    pub route: String,
}

/// What the caller decides about a new challenge; the id and time come in separately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The protected path.
    pub route: String,
    /// Leading zero bits per sub-puzzle.
    pub difficulty: u8,
    /// Number of sub-puzzles.
    pub k: u8,
    /// Risk score at issue time.
    pub risk: u8,
    /// Seconds until expiry.
    pub ttl: u64,
    /// The client binding.
    pub binding: Binding,
}

/// Why a token could not be read. Every variant maps to a client-visible 400 except
/// `UnsupportedVersion`, which also gets 400 but tells the client to fetch a new challenge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not base64url, or the wrong length.
    #[error("token is not valid base64url")]
    NotBase64,
    /// Shorter than the fixed layout, or a length field points past the end.
    #[error("token has {0} bytes; the layout needs {1}")]
    Length(usize, usize),
    /// A version this build does not know.
    #[error("token version {0} is not supported (expected {VERSION})")]
    UnsupportedVersion(u8),
    /// Route length zero.
    #[error("token route is empty")]
    EmptyRoute,
    /// Route bytes are not UTF-8.
    #[error("token route is not UTF-8")]
    RouteNotUtf8,
}

/// Why a challenge could not be issued (a configuration problem, never client input).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The route does not fit the one-byte length field.
    #[error("route is {0} bytes; at most {MAX_ROUTE_LEN} fit in a challenge")]
    RouteTooLong(usize),
    /// Empty route.
    #[error("route is empty")]
    EmptyRoute,
}

/// A challenge together with its exact signed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedChallenge {
    challenge: Challenge,
    bytes: Vec<u8>,
}

/// Signs a new challenge. Pure: the caller supplies the time and the random id.
pub fn issue(
    key: &Key,
    terms: &Terms,
    now: UnixTime,
    id: [u8; ID_LEN],
) -> Result<SignedChallenge, IssueError> {
    if terms.route.is_empty() {
        return Err(IssueError::EmptyRoute);
    }
    let route_len =
        u8::try_from(terms.route.len()).map_err(|_| IssueError::RouteTooLong(terms.route.len()))?;
    let challenge = Challenge {
        kid: key.id(),
        id,
        issued_at: now,
        expires_at: now.plus(terms.ttl),
        difficulty: terms.difficulty,
        k: terms.k,
        risk: terms.risk,
        binding: terms.binding,
        route: terms.route.clone(),
    };
    let mut bytes = Vec::with_capacity(FIXED_LEN + terms.route.len() + TAG_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&challenge.kid.0);
    bytes.extend_from_slice(&challenge.id);
    bytes.extend_from_slice(&challenge.issued_at.seconds().to_be_bytes());
    bytes.extend_from_slice(&challenge.expires_at.seconds().to_be_bytes());
    bytes.push(challenge.difficulty);
    bytes.push(challenge.k);
    bytes.push(challenge.risk);
    bytes.extend_from_slice(&challenge.binding.0);
    bytes.push(route_len);
    bytes.extend_from_slice(terms.route.as_bytes());
    let tag = key.sign(&[&bytes]);
    bytes.extend_from_slice(&tag);
    Ok(SignedChallenge { challenge, bytes })
}

/// A token split into its parts; the signature is not checked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The terms as written in the token.
    pub challenge: Challenge,
    /// The bytes the signature covers.
    pub signed: &'a [u8],
    /// The signature.
    pub tag: &'a [u8],
}

/// Splits token bytes into terms, signed bytes and signature, checking only the layout.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let short = || DecodeError::Length(bytes.len(), MIN_TOKEN_LEN);
    let mut r = Reader { bytes, pos: 0 };
    let version = r.byte().ok_or_else(short)?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    if bytes.len() < MIN_TOKEN_LEN {
        return Err(short());
    }
    let kid = KeyId(r.array().ok_or_else(short)?);
    let id = r.array().ok_or_else(short)?;
    let issued_at = UnixTime::from_secs(u64::from_be_bytes(r.array().ok_or_else(short)?));
    let expires_at = UnixTime::from_secs(u64::from_be_bytes(r.array().ok_or_else(short)?));
    let difficulty = r.byte().ok_or_else(short)?;
    let k = r.byte().ok_or_else(short)?;
    let risk = r.byte().ok_or_else(short)?;
    let binding = Binding(r.array::<BINDING_LEN>().ok_or_else(short)?);
    let route_len = usize::from(r.byte().ok_or_else(short)?);
    if route_len == 0 {
        return Err(DecodeError::EmptyRoute);
    }
    let want = FIXED_LEN + route_len + TAG_LEN;
    if bytes.len() != want {
        return Err(DecodeError::Length(bytes.len(), want));
    }
    let route_bytes = r.take(route_len).ok_or(DecodeError::Length(bytes.len(), want))?;
    let route = std::str::from_utf8(route_bytes).map_err(|_| DecodeError::RouteNotUtf8)?.to_string();
    let (signed, tag) = bytes.split_at(r.pos);
    let challenge = Challenge { kid, id, issued_at, expires_at, difficulty, k, risk, binding, route };
    Ok(Decoded { challenge, signed, tag })
}

/// A forward-only reader over bytes that returns `None` instead of panicking at the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }
}

/// Decodes a base64url token string (no padding) to bytes, refusing oversized input first.
pub fn token_bytes(token: &str) -> Result<Vec<u8>, DecodeError> {
    if token.len() > base64_len(MAX_TOKEN_LEN) {
        return Err(DecodeError::Length(token.len() * 3 / 4, MAX_TOKEN_LEN));
    }
    URL_SAFE_NO_PAD.decode(token).map_err(|_| DecodeError::NotBase64)
}

/// Length of unpadded base64 for `n` bytes.
pub const fn base64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

impl SignedChallenge {
    /// The signed terms.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The exact token bytes (terms and signature).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The token as base64url without padding.
    pub fn token(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.bytes)
    }

    /// The JSON the challenge endpoint returns.
    pub fn to_json(&self) -> ChallengeJson {
        let c = &self.challenge;
        let tag = self.bytes.get(self.bytes.len().saturating_sub(TAG_LEN)..).unwrap_or(&[]);
        ChallengeJson {
            v: VERSION,
            kid: c.kid.to_hex(),
            id: URL_SAFE_NO_PAD.encode(c.id),
            route: c.route.clone(),
            issued_at: c.issued_at.seconds(),
            expires_at: c.expires_at.seconds(),
            difficulty: c.difficulty,
            k: c.k,
            risk: c.risk,
            binding: URL_SAFE_NO_PAD.encode(c.binding.0),
            signature: URL_SAFE_NO_PAD.encode(tag),
            token: self.token(),
            phone_field: None,
            phone_code: None,
            phone_digits: None,
            work: None,
        }
    }
}

/// The challenge as JSON. `token` is authoritative; the other fields are a readable copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeJson {
    /// Protocol version.
    pub v: u8,
    /// Key id, hex.
    pub kid: String,
    /// Challenge id, base64url.
    pub id: String,
    /// Protected path.
    pub route: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Leading zero bits per sub-puzzle.
    pub difficulty: u8,
    /// Number of sub-puzzles.
    pub k: u8,
    /// Issue-time risk score.
    pub risk: u8,
    /// Client binding, base64url.
    pub binding: String,
    /// HMAC-SHA256, base64url.
    pub signature: String,
    /// The whole signed token, base64url: what the solver hashes and the client sends back.
    pub token: String,
    /// The form/JSON field whose phone number the policy prices (the widget sends its first
    /// digits with its challenge and top-up requests once the field is filled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_field: Option<String>,
    /// The calling code this challenge was priced for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_code: Option<String>,
    /// With `phone_field`: the most leading digits of the number (after `+` or `00`, calling
    /// code included) the widget sends as `phone`, never the last four
    /// ([`crate::request::phone::prefix_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_digits: Option<u8>,
    /// The work the gate asks now and suggests banking toward, in expected hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkJson>,
}

/// Work in expected hashes: what the gate asks of this client now, and what it suggests
/// banking toward while the form is filled (the price it expects to ask soon).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkJson {
    /// The price now.
    pub asked: u64,
    /// What to bank toward (at least `asked`).
    pub suggested: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new(b"test secret that is long enough to use")
    }

    fn terms(route: &str) -> Terms {
        Terms {
            route: route.into(),
            difficulty: 18,
            k: 16,
            risk: 3,
            ttl: 300,
            binding: Binding([7; BINDING_LEN]),
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let signed =
            issue(&key(), &terms("/signup"), UnixTime::from_secs(1_700_000_000), [9; ID_LEN]).unwrap();
        assert_eq!(signed.bytes().len(), FIXED_LEN + 7 + TAG_LEN);
        let bytes = token_bytes(&signed.token()).unwrap();
        let decoded = decode(&bytes).unwrap();
        assert_eq!(&decoded.challenge, signed.challenge());
        assert_eq!(decoded.challenge.expires_at, UnixTime::from_secs(1_700_000_300));
        assert!(key().verify(&[decoded.signed], decoded.tag));
        let json = signed.to_json();
        assert_eq!(json.token, signed.token());
        assert_eq!(json.kid, key().id().to_hex());
        assert_eq!(json.route, "/signup");
    }

    #[test]
    fn issue_refuses_bad_routes() {
        let long = "/".repeat(256);
        assert_eq!(
            issue(&key(), &terms(&long), UnixTime::from_secs(0), [0; 16]),
            Err(IssueError::RouteTooLong(256))
        );
        assert_eq!(issue(&key(), &terms(""), UnixTime::from_secs(0), [0; 16]), Err(IssueError::EmptyRoute));
        assert!(issue(&key(), &terms(&"/".repeat(255)), UnixTime::from_secs(0), [0; 16]).is_ok());
    }

    #[test]
    fn decode_rejects_bad_layouts() {
        let good =
            issue(&key(), &terms("/signup"), UnixTime::from_secs(1), [1; 16]).unwrap().bytes().to_vec();
        let mut wrong_version = good.clone();
        wrong_version[0] = 2;
        let mut zero_route = good.clone();
        zero_route[FIXED_LEN - 1] = 0;
        let mut long_route = good.clone();
        long_route[FIXED_LEN - 1] = 8;
        let mut bad_utf8 = good.clone();
        bad_utf8[FIXED_LEN] = 0xff;
        let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
            ("empty", vec![], DecodeError::Length(0, MIN_TOKEN_LEN)),
            ("version only", vec![1], DecodeError::Length(1, MIN_TOKEN_LEN)),
            ("wrong version", wrong_version, DecodeError::UnsupportedVersion(2)),
            ("zero route", zero_route, DecodeError::EmptyRoute),
            ("route past end", long_route, DecodeError::Length(good.len(), good.len() + 1)),
            ("truncated", good[..good.len() - 1].to_vec(), DecodeError::Length(good.len() - 1, good.len())),
            ("extra byte", [good.clone(), vec![0]].concat(), DecodeError::Length(good.len() + 1, good.len())),
            ("route not utf-8", bad_utf8, DecodeError::RouteNotUtf8),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(decode(&bytes).err(), Some(want), "{name}");
        }
    }

    #[test]
    fn token_bytes_rejects_non_base64_and_oversize() {
        assert_eq!(token_bytes("ab+c"), Err(DecodeError::NotBase64));
        assert_eq!(token_bytes("abc="), Err(DecodeError::NotBase64));
        assert!(matches!(token_bytes(&"A".repeat(1000)), Err(DecodeError::Length(..))));
    }
}
