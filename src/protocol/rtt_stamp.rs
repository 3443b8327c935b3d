//! The round-trip stamp: the edge measures the browser's round trip itself, so a client
//! cannot report a short one it recorded elsewhere (docs/protocol.md § Round-trip stamp).
//!
//! The widget asks `GET <prefix>/ping` and gets a stamp holding the time the gate answered;
//! it sends the stamp straight back (`GET <prefix>/ping?stamp=…`) and the gate, reading its
//! own clock, measures the time in between: one round trip from the edge to the browser and
//! back, through whatever sits between them (a proxy's gateway and exit). The new stamp keeps
//! the best round trip so far. The last one goes into the client signals (`rttStamp`), where
//! the gate compares it with the TCP round trip Cloudflare measured to the address it sees
//! (`cf.clientTcpRtt`): a browser behind a residential proxy is farther away than its exit.
//!
//! A stamp is signed with the gate key under its own label and bound to the client binding
//! and to the address's /24 (IPv4) or /48 (IPv6): it cannot be measured over a fast path and
//! carried to a proxied one. A client can only make its round trip look longer, never shorter.
//!
//! ```text
//! offset  size  field
//!  0       1    kind: 0x52 ('R'), "round-trip stamp, version 1"
//!  1       4    key id
//!  5       8    issued_at, Unix milliseconds, big-endian
//! 13       4    best round trip measured so far, ms, big-endian (0xFFFFFFFF: none yet)
//! 17       1    round trips measured (saturating at 255)
//! 18      16    address digest: SHA-256("gate rtt address v1\0" ‖ prefix)[0..16]
//! 34      32    HMAC-SHA256(key, "gate rtt v1\0" ‖ bytes 0 .. 34 ‖ client binding)
//! ```

use crate::protocol::binding::Binding;
use crate::protocol::key::{Key, KeyId, KeyRing, TAG_LEN};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The first byte of every stamp ('R').
pub const KIND: u8 = 0x52;
/// The HMAC domain-separation label (challenge tokens start with 0x01, wait tokens with 'W').
pub const LABEL: &[u8] = b"gate rtt v1\0";
/// The query parameter a stamp is echoed in.
pub const PARAM: &str = "stamp";
const SIGNED_LEN: usize = 34;
/// A stamp's length in bytes.
pub const LEN: usize = SIGNED_LEN + TAG_LEN;
/// No round trip measured yet.
const NONE: u32 = u32::MAX;
/// How far in the future a stamp may claim to be issued (clocks of two edge machines).
const SKEW_MS: u64 = 5_000;

/// The 16-byte digest of the address prefix a stamp was measured from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AddressDigest(pub [u8; 16]);

impl AddressDigest {
    /// The digest of a prefix as the policy's cohorts spell it (`203.0.113.0/24`,
    /// `2001:db8:1::/48`); `-` when the edge saw no address.
    pub fn of(prefix: Option<&str>) -> AddressDigest {
        let mut h = Sha256::new();
        h.update(b"gate rtt address v1\0");
        h.update(prefix.unwrap_or("-"));
        let d: [u8; 32] = h.finalize().into();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        AddressDigest(out)
    }
}

/// A stamp's signed terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Id of the key that signed it.
    pub kid: KeyId,
    /// When the gate answered with it (its own clock).
    pub issued_at: UnixTime,
    /// The best round trip measured so far, ms (`None` on the first answer).
    pub best_ms: Option<u32>,
    /// Round trips measured.
    pub rounds: u8,
    /// The address prefix it was measured from.
    pub address: AddressDigest,
}

/// Why a stamp is not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// Not base64url of the layout.
    #[error("round-trip stamp is malformed: {0}")]
    Malformed(&'static str),
    /// Signed with a key this gate does not hold.
    #[error("round-trip stamp key id {0} is unknown")]
    UnknownKey(KeyId),
    /// The signature does not verify (forged, or measured by another client).
    #[error("round-trip stamp does not verify for this client")]
    BadSignature,
    /// Measured from another address prefix than this request's.
    #[error("round-trip stamp was measured from another address")]
    OtherAddress,
    /// Issued in the future beyond the skew allowed.
    #[error("round-trip stamp issued in the future")]
    NotYetValid,
    /// Issued after the time it must precede (its challenge).
    #[error("round-trip stamp issued after its challenge")]
    AfterChallenge,
    /// Valid, but no round trip was measured with it.
    #[error("round-trip stamp holds no round trip")]
    NotMeasured,
}

impl StampError {
    /// The client-facing rejection of a ping that echoes this stamp.
    pub fn rejection(&self) -> Rejection {
        let kind = match self {
            StampError::Malformed(_) | StampError::NotMeasured | StampError::AfterChallenge => {
                RejectKind::BadRequest
            }
            StampError::UnknownKey(_) => RejectKind::UnknownKey,
            StampError::BadSignature => RejectKind::BadSignature,
            StampError::OtherAddress => RejectKind::BindingMismatch,
            StampError::NotYetValid => RejectKind::NotYetValid,
        };
        Rejection::new(kind, format!("ping: {self}"))
    }
}

/// Signs a stamp. Pure: the caller passes the time.
pub fn sign(key: &Key, binding: &Binding, terms: &Stamp) -> String {
    let mut bytes = Vec::with_capacity(LEN);
    bytes.push(KIND);
    bytes.extend_from_slice(&key.id().0);
    bytes.extend_from_slice(&terms.issued_at.millis().to_be_bytes());
    bytes.extend_from_slice(&terms.best_ms.unwrap_or(NONE).to_be_bytes());
    bytes.push(terms.rounds);
    bytes.extend_from_slice(&terms.address.0);
    let tag = key.sign(&[LABEL, &bytes, &binding.0]);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads and verifies a stamp for this client (its binding); the address is returned, not
/// checked, so the caller decides whether it must be this request's.
pub fn verify(keys: &KeyRing, binding: &Binding, stamp: &str) -> Result<Stamp, StampError> {
    if stamp.len() > crate::protocol::challenge::base64_len(LEN) {
        return Err(StampError::Malformed("too long"));
    }
    let bytes = URL_SAFE_NO_PAD.decode(stamp).map_err(|_| StampError::Malformed("not base64url"))?;
    if bytes.len() != LEN {
        return Err(StampError::Malformed("wrong length"));
    }
    let (signed, tag) = bytes.split_at(SIGNED_LEN);
    let field = |at: usize, len: usize| signed.get(at..at + len).ok_or(StampError::Malformed("short"));
    if signed.first() != Some(&KIND) {
        return Err(StampError::Malformed("not a round-trip stamp"));
    }
    let mut kid = [0u8; 4];
    kid.copy_from_slice(field(1, 4)?);
    let kid = KeyId(kid);
    let key = keys.find(kid).ok_or(StampError::UnknownKey(kid))?;
    if !key.verify(&[LABEL, signed, &binding.0], tag) {
        return Err(StampError::BadSignature);
    }
    let mut at = [0u8; 8];
    at.copy_from_slice(field(5, 8)?);
    let mut best = [0u8; 4];
    best.copy_from_slice(field(13, 4)?);
    let best = u32::from_be_bytes(best);
    let mut address = [0u8; 16];
    address.copy_from_slice(field(18, 16)?);
    Ok(Stamp {
        kid,
        issued_at: UnixTime::from_millis(u64::from_be_bytes(at)),
        best_ms: (best != NONE).then_some(best),
        rounds: *field(17, 1)?.first().unwrap_or(&0),
        address: AddressDigest(address),
    })
}

/// The ping's answer: a first stamp, or, for an echoed one, the round trip just measured
/// folded into a new stamp. An echo must come from the address it was sent to.
pub fn answer(
    keys: &KeyRing,
    binding: &Binding,
    address: AddressDigest,
    echoed: Option<&str>,
    now: UnixTime,
) -> Result<(String, Stamp), StampError> {
    let previous = echoed.map(|s| read(keys, binding, s, Reading::AtIssue { address, now })).transpose()?;
    let (best_ms, rounds) = match previous {
        None => (None, 0),
        Some(p) => {
            let measured = u32::try_from(now.millis().saturating_sub(p.issued_at.millis()))
                .unwrap_or(NONE - 1)
                .min(NONE - 1);
            (Some(p.best_ms.map_or(measured, |b| b.min(measured))), p.rounds.saturating_add(1))
        }
    };
    let terms = Stamp { kid: keys.current().id(), issued_at: now, best_ms, rounds, address };
    Ok((sign(keys.current(), binding, &terms), terms))
}

/// Where a stamp in the signals is read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// At a challenge request (and a ping's echo): the stamp must have been measured from
    /// this request's address (the price is signed into the challenge here).
    AtIssue {
        /// This request's address prefix.
        address: AddressDigest,
        /// Now.
        now: UnixTime,
    },
    /// At a submission or a top-up: the signals are the ones the challenge was issued for
    /// (bound into its work), so the address was checked then; a person whose address moved
    /// within their network while they typed keeps their round trip. It must predate the
    /// challenge.
    OfChallenge {
        /// When the challenge was issued.
        issued_at: UnixTime,
    },
}

/// The round trip a stamp in the signals shows, ms.
pub fn measured(keys: &KeyRing, binding: &Binding, stamp: &str, reading: Reading) -> Result<u32, StampError> {
    let s = read(keys, binding, stamp, reading)?;
    s.best_ms.filter(|_| s.rounds > 0).ok_or(StampError::NotMeasured)
}

/// A stamp verified for this client and read as `reading` says: measured from this request's
/// address and not issued in the future (a challenge request, a ping's echo), or made before
/// its challenge.
fn read(keys: &KeyRing, binding: &Binding, stamp: &str, reading: Reading) -> Result<Stamp, StampError> {
    let s = verify(keys, binding, stamp)?;
    let (not_after, late) = match reading {
        Reading::AtIssue { address, now } => {
            if s.address != address {
                return Err(StampError::OtherAddress);
            }
            (now, StampError::NotYetValid)
        }
        Reading::OfChallenge { issued_at } => (issued_at, StampError::AfterChallenge),
    };
    if s.issued_at.millis() > not_after.millis().saturating_add(SKEW_MS) {
        return Err(late);
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
