//! Top-ups: work that adds to a challenge's instead of starting again (docs/protocol.md §
//! Top-ups). A top-up is a small signed token bound to a *first* challenge (its id, route,
//! binding and expiry): a client solves some or all of its sub-puzzles and submits them with
//! the first challenge's solution; their work adds up, and only the first id is spent.
//!
//! ```text
//! offset  size  field
//!  0       1    kind: 0x54 ('T'), "top-up, version 1"
//!  1       4    key id
//!  5      16    top-up id (random; makes its seed unique)
//! 21      16    the first challenge's id
//! 37       8    issued_at, Unix seconds, big-endian
//! 45       8    expires_at, Unix seconds, big-endian (the first challenge's)
//! 53       1    difficulty: leading zero bits per sub-puzzle
//! 54       1    k: sub-puzzles on offer (a client may solve fewer)
//! 55      16    client binding (the first challenge's)
//! 71       1    route length L (1-255)
//! 72       L    route (the first challenge's)
//! 72+L    32    HMAC-SHA256(key, "gate top-up v1\0" ‖ bytes 0 .. 72+L)
//! ```
//!
//! The label keeps a top-up's signature from ever verifying as a challenge's or a wait
//! token's (and the reverse): challenge tokens are signed over bytes starting with 0x01, wait
//! tokens under their own label.

use crate::protocol::binding::{BINDING_LEN, Binding};
use crate::protocol::challenge::{Challenge, ID_LEN, MAX_ROUTE_LEN, base64_len};
use crate::protocol::key::{Key, KeyId, KeyRing, TAG_LEN};
use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The first byte of every top-up token ('T').
pub const KIND: u8 = 0x54;
/// The HMAC domain-separation label.
pub const LABEL: &[u8] = b"gate top-up v1\0";
const FIXED_LEN: usize = 72;
/// Shortest possible top-up token.
pub const MIN_LEN: usize = FIXED_LEN + 1 + TAG_LEN;
/// Longest possible top-up token.
pub const MAX_LEN: usize = FIXED_LEN + MAX_ROUTE_LEN + TAG_LEN;
/// Most sub-puzzles a top-up offers.
pub const MAX_K: u8 = 32;

/// The signed terms of a top-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUp {
    /// Id of the key that signed it.
    pub kid: KeyId,
    /// Its own random id.
    pub id: [u8; ID_LEN],
    /// The first challenge it adds to.
    pub first: [u8; ID_LEN],
    /// When it was issued.
    pub issued_at: UnixTime,
    /// The first challenge's expiry.
    pub expires_at: UnixTime,
    /// Leading zero bits per sub-puzzle.
    pub difficulty: u8,
    /// Sub-puzzles on offer.
    pub k: u8,
    /// The first challenge's binding.
    pub binding: Binding,
    /// The first challenge's route.
    pub route: String,
}

/// Why a top-up token could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopUpError {
    /// Not base64url, or not the layout.
    #[error("top-up is malformed: {0}")]
    Malformed(&'static str),
    /// Another kind of token.
    #[error("not a top-up token (kind byte {0:#04x})")]
    WrongKind(u8),
}

/// The work a top-up offers for `missing` expected hashes: the fewest sub-puzzles (at most
/// [`MAX_K`], at least 1) at the lowest difficulty whose full solve covers it. `None` when
/// nothing is missing.
pub fn sized(missing: u64) -> Option<(u8, u8)> {
    if missing == 0 {
        return None;
    }
    // the difficulty at which MAX_K sub-puzzles cover it, then as few sub-puzzles as do
    let per = missing.div_ceil(u64::from(MAX_K)).max(2);
    let difficulty = u8::try_from(64 - (per - 1).leading_zeros()).unwrap_or(32).clamp(1, 32);
    let each = 1u64 << difficulty;
    let k = u8::try_from(missing.div_ceil(each)).unwrap_or(MAX_K).clamp(1, MAX_K);
    Some((difficulty, k))
}

/// Signs a top-up for `first` at `now`. Pure: the caller passes the time and the random id.
pub fn issue(
    key: &Key,
    first: &Challenge,
    difficulty: u8,
    k: u8,
    now: UnixTime,
    id: [u8; ID_LEN],
) -> Option<Vec<u8>> {
    let route_len = u8::try_from(first.route.len()).ok().filter(|l| *l > 0)?;
    let mut bytes = Vec::with_capacity(FIXED_LEN + first.route.len() + TAG_LEN);
    bytes.push(KIND);
    bytes.extend_from_slice(&key.id().0);
    bytes.extend_from_slice(&id);
    bytes.extend_from_slice(&first.id);
    bytes.extend_from_slice(&now.seconds().to_be_bytes());
    bytes.extend_from_slice(&first.expires_at.seconds().to_be_bytes());
    bytes.push(difficulty);
    bytes.push(k.min(MAX_K));
    bytes.extend_from_slice(&first.binding.0);
    bytes.push(route_len);
    bytes.extend_from_slice(first.route.as_bytes());
    let tag = key.sign(&[LABEL, &bytes]);
    bytes.extend_from_slice(&tag);
    Some(bytes)
}

/// Reads a top-up's terms without checking the signature; also returns the signed bytes and
/// the tag.
pub fn decode(bytes: &[u8]) -> Result<(TopUp, &[u8], &[u8]), TopUpError> {
    let kind = *bytes.first().ok_or(TopUpError::Malformed("empty"))?;
    if kind != KIND {
        return Err(TopUpError::WrongKind(kind));
    }
    let short = TopUpError::Malformed("too short");
    let take = |from: usize, n: usize| bytes.get(from..from + n).ok_or(TopUpError::Malformed("too short"));
    let arr16 = |from: usize| -> Result<[u8; 16], TopUpError> {
        take(from, 16)?.try_into().map_err(|_| TopUpError::Malformed("too short"))
    };
    let u64_at = |from: usize| -> Result<u64, TopUpError> {
        let b: [u8; 8] = take(from, 8)?.try_into().map_err(|_| TopUpError::Malformed("too short"))?;
        Ok(u64::from_be_bytes(b))
    };
    if bytes.len() < MIN_LEN {
        return Err(short);
    }
    let kid = KeyId(take(1, 4)?.try_into().map_err(|_| TopUpError::Malformed("too short"))?);
    let route_len = usize::from(*bytes.get(71).ok_or(TopUpError::Malformed("too short"))?);
    if route_len == 0 {
        return Err(TopUpError::Malformed("empty route"));
    }
    if bytes.len() != FIXED_LEN + route_len + TAG_LEN {
        return Err(TopUpError::Malformed("length does not match the route length"));
    }
    let route = std::str::from_utf8(take(FIXED_LEN, route_len)?)
        .map_err(|_| TopUpError::Malformed("route is not UTF-8"))?
        .to_string();
    let t = TopUp {
        kid,
        id: arr16(5)?,
        first: arr16(21)?,
        issued_at: UnixTime::from_secs(u64_at(37)?),
        expires_at: UnixTime::from_secs(u64_at(45)?),
        difficulty: *bytes.get(53).ok_or(TopUpError::Malformed("too short"))?,
        k: *bytes.get(54).ok_or(TopUpError::Malformed("too short"))?,
        binding: Binding(take(55, BINDING_LEN)?.try_into().map_err(|_| TopUpError::Malformed("too short"))?),
        route,
    };
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    Ok((t, signed, tag))
}

/// Whether the top-up's signature verifies under a key of the ring.
pub fn signed_by(keys: &KeyRing, t: &TopUp, signed: &[u8], tag: &[u8]) -> bool {
    keys.find(t.kid).is_some_and(|k| k.verify(&[LABEL, signed], tag))
}

/// A top-up's token bytes from base64url (bounded before decoding).
pub fn token_bytes(token: &str) -> Result<Vec<u8>, TopUpError> {
    if token.len() > base64_len(MAX_LEN) {
        return Err(TopUpError::Malformed("too long"));
    }
    URL_SAFE_NO_PAD.decode(token).map_err(|_| TopUpError::Malformed("not base64url"))
}

/// A top-up as the gate hands it out (JSON), with its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpJson {
    /// The token (base64url).
    pub token: String,
    /// Leading zero bits per sub-puzzle.
    pub difficulty: u8,
    /// Sub-puzzles on offer.
    pub k: u8,
    /// Expected hashes of one sub-puzzle (`2^difficulty`).
    pub each: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

impl TopUpJson {
    /// The JSON for signed top-up bytes.
    pub fn of(bytes: &[u8]) -> Option<TopUpJson> {
        let (t, _, _) = decode(bytes).ok()?;
        Some(TopUpJson {
            token: URL_SAFE_NO_PAD.encode(bytes),
            difficulty: t.difficulty,
            k: t.k,
            each: 1u64 << t.difficulty.min(63),
            expires_at: t.expires_at.seconds(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::challenge::{Terms, issue as issue_challenge};

    fn first(key: &Key) -> Challenge {
        let terms = Terms {
            route: "/signup".into(),
            difficulty: 8,
            k: 4,
            risk: 0,
            ttl: 300,
            binding: Binding([3; BINDING_LEN]),
        };
        issue_challenge(key, &terms, UnixTime::from_secs(1000), [1; 16]).unwrap().challenge().clone()
    }

    #[test]
    fn a_top_up_is_bound_to_its_first_challenge_and_signed_apart() {
        let key = Key::new(b"top-up test secret, long enough to use!!");
        let c = first(&key);
        let bytes = issue(&key, &c, 10, 8, UnixTime::from_secs(1010), [2; 16]).unwrap();
        let (t, signed, tag) = decode(&bytes).unwrap();
        assert_eq!(
            (t.first, t.expires_at, t.binding, t.route.as_str()),
            (c.id, c.expires_at, c.binding, "/signup")
        );
        assert_eq!((t.difficulty, t.k, t.id, t.issued_at.seconds()), (10, 8, [2; 16], 1010));
        let ring = KeyRing::new(key.clone(), None);
        assert!(signed_by(&ring, &t, signed, tag));
        // the same bytes under the challenge's (unlabelled) signature never verify
        assert!(!key.verify(&[signed], tag));
        let mut forged = bytes.clone();
        forged[53] = 1; // cheaper sub-puzzles
        let (f, s, g) = decode(&forged).unwrap();
        assert!(!signed_by(&ring, &f, s, g));
        assert!(matches!(decode(&bytes[..bytes.len() - 1]), Err(TopUpError::Malformed(_))));
        assert!(matches!(decode(&[1, 2, 3]), Err(TopUpError::WrongKind(1))));
    }

    #[test]
    fn a_top_up_covers_what_is_missing_with_few_sub_puzzles() {
        for missing in [1u64, 2, 3, 100, 4096, 131_072 * 32, 131_072 * 32 * 255, 1 << 40, u64::MAX / 4] {
            let (d, k) = sized(missing).unwrap();
            let covers = u128::from(k) << d;
            assert!(covers >= u128::from(missing.min(u64::from(MAX_K) << 32)), "{missing}: {k}x2^{d}");
            assert!((1..=MAX_K).contains(&k) && (1..=32).contains(&d), "{missing}: {k}x2^{d}");
            // not more than twice what is missing, unless the floor of one 2-hash puzzle
            assert!(covers <= 2 * u128::from(missing).max(2) || d == 32, "{missing}: {k}x2^{d}");
        }
        assert_eq!(sized(0), None);
    }
}
