//! The no-JavaScript sign-up path's wait token (docs/policy.md § No JavaScript): signed, bound and
//! single use, in the same family as the challenge token ([`super::challenge`]).
//!
//! A browser that did not run the widget cannot solve a challenge. Where the policy allows it,
//! the gate answers its form post with a wait page instead: the person's fields as hidden
//! inputs and a wait token that is accepted from `not_before` on. The token is bound like a
//! challenge (route, client binding, random id, expiry) and signed with the gate key under
//! its own domain-separation label, so a wait token is never a valid challenge token nor the
//! other way round.
//!
//! ```text
//! offset  size  field
//!  0       1    kind: 0x57 ('W'), "wait token, version 1"
//!  1       4    key id
//!  5      16    wait id (random; the single-use ledger is keyed by it)
//! 21       8    issued_at, Unix seconds, big-endian
//! 29       8    not_before, Unix seconds, big-endian
//! 37       8    expires_at, Unix seconds, big-endian
//! 45      16    client binding
//! 61       1    route length L (1-255)
//! 62       L    route (the protected path, UTF-8)
//! 62+L    32    HMAC-SHA256(key, "gate wait v1\0" ‖ bytes 0 .. 62+L)
//! ```

use crate::protocol::binding::{BINDING_LEN, Binding};
use crate::protocol::key::{Key, KeyId, KeyRing, TAG_LEN};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The form field the wait page carries the token in.
pub const FIELD: &str = "gate-wait";
/// The first byte of every wait token ('W'); a challenge token starts with its version, 1.
pub const KIND: u8 = 0x57;
/// The HMAC domain-separation label: challenge tokens are signed over bytes starting with
/// 0x01, so no challenge signature can ever verify as a wait token's, or the reverse.
pub const LABEL: &[u8] = b"gate wait v1\0";
/// Length of the random id.
pub const ID_LEN: usize = 16;
const FIXED_LEN: usize = 62;
/// Shortest possible token.
pub const MIN_LEN: usize = FIXED_LEN + 1 + TAG_LEN;
/// Longest possible token.
pub const MAX_LEN: usize = FIXED_LEN + 255 + TAG_LEN;

/// The signed terms of a wait token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Id of the key that signed it.
    pub kid: KeyId,
    /// Random id, spent once in the ledger.
    pub id: [u8; ID_LEN],
    /// When it was issued.
    pub issued_at: UnixTime,
    /// The earliest time "Continue" is accepted.
    pub not_before: UnixTime,
    /// After this (plus the allowed skew) it is refused.
    pub expires_at: UnixTime,
    /// The client as the edge saw it (`facts::binding`).
    pub binding: Binding,
    /// The protected path it is for.
    pub route: String,
}

/// What the caller decides about a new wait token; the id and time come in separately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitTerms {
    /// The protected path.
    pub route: String,
    /// Seconds until `not_before`.
    pub wait_secs: u64,
    /// Seconds until expiry.
    pub ttl_secs: u64,
    /// The client binding.
    pub binding: Binding,
}

/// Why a wait token is not accepted (now).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// Not base64url, or not the layout.
    #[error("wait token is malformed: {0}")]
    Malformed(&'static str),
    /// Another kind of token (a challenge token, say).
    #[error("not a wait token (kind byte {0:#04x})")]
    WrongKind(u8),
    /// Signed with a key this gate does not hold.
    #[error("wait token key id {0} is unknown")]
    UnknownKey(KeyId),
    /// The signature does not verify.
    #[error("wait token signature does not verify")]
    BadSignature,
    /// Too old.
    #[error("wait token expired at {0}")]
    Expired(u64),
    /// Issued in the future beyond the allowed skew.
    #[error("wait token issued in the future ({0})")]
    NotYetValid(u64),
    /// For another route.
    #[error("wait token is for {0:?}")]
    WrongRoute(String),
    /// For another client.
    #[error("wait token was issued to another client")]
    BindingMismatch,
    /// Valid, but "Continue" came before `not_before`.
    #[error("{0} s before the wait is over")]
    TooEarly(u64),
}

impl WaitError {
    /// The client-facing rejection (everything but `TooEarly`, which gets the wait page again).
    pub fn rejection(&self) -> Rejection {
        let kind = match self {
            WaitError::Malformed(_) | WaitError::WrongKind(_) => RejectKind::MalformedSolution,
            WaitError::UnknownKey(_) => RejectKind::UnknownKey,
            WaitError::BadSignature => RejectKind::BadSignature,
            WaitError::Expired(_) => RejectKind::Expired,
            WaitError::NotYetValid(_) => RejectKind::NotYetValid,
            WaitError::WrongRoute(_) => RejectKind::WrongRoute,
            WaitError::BindingMismatch => RejectKind::BindingMismatch,
            WaitError::TooEarly(_) => RejectKind::TooEarly,
        };
        Rejection::new(kind, format!("no-JS: {self}"))
    }
}

/// Signs a wait token. Pure: the caller passes the time and the random id. `None` for an
/// empty route or one over 255 bytes (configuration, never client input).
pub fn issue(key: &Key, terms: &WaitTerms, now: UnixTime, id: [u8; ID_LEN]) -> Option<String> {
    let route_len = u8::try_from(terms.route.len()).ok().filter(|l| *l > 0)?;
    let mut bytes = Vec::with_capacity(FIXED_LEN + terms.route.len() + TAG_LEN);
    bytes.push(KIND);
    bytes.extend_from_slice(&key.id().0);
    bytes.extend_from_slice(&id);
    bytes.extend_from_slice(&now.seconds().to_be_bytes());
    bytes.extend_from_slice(&now.plus(terms.wait_secs).seconds().to_be_bytes());
    bytes.extend_from_slice(&now.plus(terms.ttl_secs).seconds().to_be_bytes());
    bytes.extend_from_slice(&terms.binding.0);
    bytes.push(route_len);
    bytes.extend_from_slice(terms.route.as_bytes());
    let tag = key.sign(&[LABEL, &bytes]);
    bytes.extend_from_slice(&tag);
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// Reads a token's terms without checking the signature.
pub fn decode(token: &str) -> Result<(Wait, Vec<u8>), WaitError> {
    if token.len() > crate::protocol::challenge::base64_len(MAX_LEN) {
        return Err(WaitError::Malformed("too long"));
    }
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| WaitError::Malformed("not base64url"))?;
    let kind = *bytes.first().ok_or(WaitError::Malformed("empty"))?;
    if kind != KIND {
        return Err(WaitError::WrongKind(kind));
    }
    if bytes.len() < MIN_LEN {
        return Err(WaitError::Malformed("too short"));
    }
    let short = WaitError::Malformed("too short");
    let take = |from: usize, n: usize| bytes.get(from..from + n).ok_or(WaitError::Malformed("too short"));
    let u64_at = |from: usize| -> Result<u64, WaitError> {
        let b: [u8; 8] = take(from, 8)?.try_into().map_err(|_| WaitError::Malformed("too short"))?;
        Ok(u64::from_be_bytes(b))
    };
    let kid = KeyId(take(1, 4)?.try_into().map_err(|_| short.clone())?);
    let id: [u8; ID_LEN] = take(5, ID_LEN)?.try_into().map_err(|_| short.clone())?;
    let binding = Binding(take(45, BINDING_LEN)?.try_into().map_err(|_| short.clone())?);
    let route_len = usize::from(*bytes.get(61).ok_or(short)?);
    if route_len == 0 {
        return Err(WaitError::Malformed("empty route"));
    }
    if bytes.len() != FIXED_LEN + route_len + TAG_LEN {
        return Err(WaitError::Malformed("length does not match the route length"));
    }
    let route = std::str::from_utf8(take(FIXED_LEN, route_len)?)
        .map_err(|_| WaitError::Malformed("route is not UTF-8"))?
        .to_string();
    let wait = Wait {
        kid,
        id,
        issued_at: UnixTime::from_secs(u64_at(21)?),
        not_before: UnixTime::from_secs(u64_at(29)?),
        expires_at: UnixTime::from_secs(u64_at(37)?),
        binding,
        route,
    };
    Ok((wait, bytes))
}

/// Verifies a wait token for this request, cheapest checks first: layout, kind, key id,
/// signature (constant time), expiry, route, binding, then whether the wait is over. Pure.
pub fn verify(
    token: &str,
    keys: &KeyRing,
    now: UnixTime,
    skew: u64,
    route: &str,
    binding: Binding,
) -> Result<Wait, WaitError> {
    let (wait, bytes) = decode(token)?;
    let key = keys.find(wait.kid).ok_or(WaitError::UnknownKey(wait.kid))?;
    let split = bytes.len().saturating_sub(TAG_LEN);
    let (signed, tag) = bytes.split_at(split);
    if !key.verify(&[LABEL, signed], tag) {
        return Err(WaitError::BadSignature);
    }
    if now.seconds() > wait.expires_at.seconds().saturating_add(skew) {
        return Err(WaitError::Expired(wait.expires_at.seconds()));
    }
    if wait.issued_at.seconds() > now.seconds().saturating_add(skew) {
        return Err(WaitError::NotYetValid(wait.issued_at.seconds()));
    }
    if wait.route != route {
        return Err(WaitError::WrongRoute(wait.route));
    }
    if wait.binding != binding {
        return Err(WaitError::BindingMismatch);
    }
    // no skew here: the wait is the gate's own clock against itself
    if now.seconds() < wait.not_before.seconds() {
        return Err(WaitError::TooEarly(wait.not_before.seconds() - now.seconds()));
    }
    Ok(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::challenge::{self, Terms};

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    fn ring() -> KeyRing {
        KeyRing::new(Key::new(b"no-js test secret, long enough to use!!"), None)
    }

    fn terms() -> WaitTerms {
        WaitTerms { route: "/signup".into(), wait_secs: 5, ttl_secs: 600, binding: Binding([7; BINDING_LEN]) }
    }

    fn token() -> String {
        issue(ring().current(), &terms(), NOW, [9; ID_LEN]).unwrap()
    }

    fn check(token: &str, at: u64) -> Result<Wait, WaitError> {
        verify(token, &ring(), UnixTime::from_secs(at), 30, "/signup", Binding([7; BINDING_LEN]))
    }

    #[test]
    fn round_trip_after_the_wait() {
        let t = token();
        let w = check(&t, NOW.seconds() + 5).unwrap();
        assert_eq!(w.id, [9; ID_LEN]);
        assert_eq!(w.issued_at, NOW);
        assert_eq!(w.not_before, UnixTime::from_secs(NOW.seconds() + 5));
        assert_eq!(w.expires_at, UnixTime::from_secs(NOW.seconds() + 600));
        assert_eq!(w.route, "/signup");
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), FIXED_LEN + 7 + TAG_LEN);
        // a previous key still verifies during a rotation
        let rotated =
            KeyRing::new(Key::new(b"the next secret, also long enough!!!!"), Some(ring().current().clone()));
        assert!(
            verify(&t, &rotated, UnixTime::from_secs(NOW.seconds() + 5), 30, "/signup", Binding([7; 16]))
                .is_ok()
        );
    }

    #[test]
    fn refusals() {
        let t = token();
        let later = NOW.seconds() + 10;
        assert_eq!(check(&t, NOW.seconds()), Err(WaitError::TooEarly(5)));
        assert_eq!(check(&t, NOW.seconds() + 4), Err(WaitError::TooEarly(1)));
        assert_eq!(check(&t, NOW.seconds() + 631), Err(WaitError::Expired(NOW.seconds() + 600)));
        assert!(check(&t, NOW.seconds() + 630).is_ok(), "skew tolerated at the end");
        assert_eq!(
            verify(&t, &ring(), UnixTime::from_secs(later), 30, "/api/register", Binding([7; 16])),
            Err(WaitError::WrongRoute("/signup".into()))
        );
        assert_eq!(
            verify(&t, &ring(), UnixTime::from_secs(later), 30, "/signup", Binding([8; 16])),
            Err(WaitError::BindingMismatch)
        );
        // forged: another key, a flipped bit anywhere, a truncated tag
        let forged =
            issue(&Key::new(b"an attacker's secret, long enough!!!!"), &terms(), NOW, [9; 16]).unwrap();
        assert!(matches!(check(&forged, later), Err(WaitError::UnknownKey(_))));
        let bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 5..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let got = check(&URL_SAFE_NO_PAD.encode(&b), later);
            assert!(got.is_err(), "bit flip at byte {i} accepted");
        }
        // a later not_before written in by hand: the signature no longer covers it
        let mut b = bytes.clone();
        b[29..37].copy_from_slice(&(NOW.seconds() - 100).to_be_bytes());
        assert_eq!(check(&URL_SAFE_NO_PAD.encode(&b), NOW.seconds()), Err(WaitError::BadSignature));
        assert_eq!(check("", later), Err(WaitError::Malformed("empty")));
        assert_eq!(check("***", later), Err(WaitError::Malformed("not base64url")));
        let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]);
        assert_eq!(
            check(&truncated, later),
            Err(WaitError::Malformed("length does not match the route length"))
        );
    }

    #[test]
    fn a_challenge_is_never_a_wait_token_nor_the_reverse() {
        let binding = Binding([7; BINDING_LEN]);
        let c = challenge::issue(
            ring().current(),
            &Terms { route: "/signup".into(), difficulty: 1, k: 1, risk: 0, ttl: 600, binding },
            NOW,
            [9; 16],
        )
        .unwrap();
        assert_eq!(check(&c.token(), NOW.seconds() + 10), Err(WaitError::WrongKind(1)));
        // even with its kind byte rewritten, the challenge's signature is not a wait signature
        let mut b = c.bytes().to_vec();
        b[0] = KIND;
        assert!(check(&URL_SAFE_NO_PAD.encode(&b), NOW.seconds() + 10).is_err());
        // and a wait token is refused by the challenge decoder and signature check
        let w = URL_SAFE_NO_PAD.decode(token()).unwrap();
        assert_eq!(challenge::decode(&w).err(), Some(challenge::DecodeError::UnsupportedVersion(KIND)));
        let mut w1 = w.clone();
        w1[0] = 1;
        let signed = &w1[..w1.len() - TAG_LEN];
        assert!(!ring().current().verify(&[signed], &w1[w1.len() - TAG_LEN..]));
    }

    #[test]
    fn rejections_map_to_public_kinds() {
        assert_eq!(WaitError::BadSignature.rejection().kind(), RejectKind::BadSignature);
        assert_eq!(WaitError::WrongKind(1).rejection().kind(), RejectKind::MalformedSolution);
        assert_eq!(WaitError::Expired(1).rejection().kind(), RejectKind::Expired);
        assert_eq!(WaitError::BindingMismatch.rejection().kind(), RejectKind::BindingMismatch);
        assert!(WaitError::BadSignature.rejection().detail().starts_with("no-JS: "));
    }
}
