//! HMAC-SHA256 signing keys and the key ring used for rotation.
//!
//! A key's id is derived from the key itself (`HMAC(key, "gate key id v1")`, first 4 bytes), so
//! operators rotate by moving the old secret to `GATE_SECRET_PREVIOUS` and setting a new
//! `GATE_SECRET`: no id to manage, and the id reveals nothing useful about the key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// The short public identifier of a signing key, carried in every challenge.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Lower-case hex, as shown in challenge JSON and logs.
    pub fn to_hex(self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An HMAC-SHA256 key, pre-keyed so each signature costs only the message blocks.
#[derive(Clone)]
pub struct Key {
    id: KeyId,
    mac: HmacSha256,
}

impl fmt::Debug for Key {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Key {
    /// Builds a key from secret bytes. HMAC accepts any key length; the minimum length policy
    /// lives in `config`, where it can be reported with every other problem.
    pub fn new(secret: &[u8]) -> Key {
        let mac = keyed(secret);
        let mut id_mac = mac.clone();
        id_mac.update(b"gate key id v1");
        let tag = id_mac.finalize().into_bytes();
        let mut id = [0u8; 4];
        for (i, t) in id.iter_mut().zip(tag) {
            *i = t;
        }
        Key { id: KeyId(id), mac }
    }

    /// The key's public id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// Constant-time check of `tag` against the HMAC of `parts`.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(tag).is_ok()
    }
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    // `Hmac` takes keys of any length (long keys are hashed first), so this cannot fail;
    // fall back to an empty-key MAC rather than panicking if the trait contract ever changes.
    match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
    }
}

/// The current signing key plus, during a rotation, the previous one (verification only).
#[derive(Clone, Debug)]
pub struct KeyRing {
    current: Key,
    previous: Option<Key>,
}

impl KeyRing {
    /// A ring that signs with `current` and still accepts `previous`.
    pub fn new(current: Key, previous: Option<Key>) -> KeyRing {
        KeyRing { current, previous }
    }

    /// The key new challenges are signed with.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// The key with this id, if the ring holds it.
    pub fn find(&self, id: KeyId) -> Option<&Key> {
        if self.current.id == id {
            return Some(&self.current);
        }
        self.previous.as_ref().filter(|k| k.id == id)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = Key::new(b"Jefe");
        let tag = key.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
    }

    #[test]
    fn verify_rejects_any_change() {
        let key = Key::new(b"0123456789abcdef0123456789abcdef");
        let tag = key.sign(&[b"message"]);
        let cases: [(&[u8], &[u8]); 4] =
            [(b"message", &tag[..31]), (b"messagf", &tag), (b"message", &[]), (b"", &tag)];
        for (msg, t) in cases {
            assert!(!key.verify(&[msg], t));
        }
        let mut flipped = tag;
        flipped[7] ^= 1;
        assert!(!key.verify(&[b"message"], &flipped));
    }

    #[test]
    fn ring_finds_current_and_previous_only() {
        let a = Key::new(b"first secret, long enough to be fine!!");
        let b = Key::new(b"second secret, long enough to be fine!");
        let c = Key::new(b"third secret, long enough to be fine!!");
        assert_ne!(a.id(), b.id());
        let ring = KeyRing::new(b.clone(), Some(a.clone()));
        assert_eq!(ring.current().id(), b.id());
        assert_eq!(ring.find(a.id()).map(Key::id), Some(a.id()));
        assert_eq!(ring.find(b.id()).map(Key::id), Some(b.id()));
        assert!(ring.find(c.id()).is_none());
    }

    #[test]
    fn debug_never_shows_secret() {
        let key = Key::new(b"super-secret-value-do-not-print-me");
        let shown = format!("{key:?}");
        assert!(!shown.contains("super"));
        assert!(shown.contains("KeyId("));
    }
}
