//! The client binding: a hash of what the edge sees about a client that the client cannot
//! cheaply change between fetching a challenge and submitting its solution.
//!
//! It ties a solved challenge to the network (ASN, country) and the browser family and major
//! version it was issued to, so solutions cannot be farmed out to other networks or tools and
//! replayed elsewhere. It deliberately leaves out the IP address (mobile clients change IPs
//! mid-session) and minor versions (browsers update silently).

use crate::request::user_agent::UserAgent;
use sha2::{Digest, Sha256};

/// Length of the binding carried in a challenge.
pub const BINDING_LEN: usize = 16;

/// The 16-byte client binding (truncated SHA-256).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Binding(pub [u8; BINDING_LEN]);

/// What the edge sees about a client, as far as the binding is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientView<'a> {
    /// Autonomous system number from `request.cf.asn`.
    pub asn: Option<u32>,
    /// ISO country code from `request.cf.country`.
    pub country: Option<&'a str>,
    /// The raw `User-Agent` header.
    pub user_agent: Option<&'a str>,
}

impl Binding {
    /// Computes the binding of a client view.
    pub fn of(view: &ClientView<'_>) -> Binding {
        let family_major = UserAgent::parse(view.user_agent.unwrap_or("")).family_major();
        Binding::from_parts(view.asn, view.country, &family_major)
    }

    /// The binding of already reduced parts: `SHA-256("gate binding v1\0" ‖ "asn=<n|->\0" ‖
    /// "country=<CC|->" ‖ "\0ua=<family/major>")`, first 16 bytes.
    pub fn from_parts(asn: Option<u32>, country: Option<&str>, family_major: &str) -> Binding {
        let mut h = Sha256::new();
        h.update(b"gate binding v1\0");
        match asn {
            Some(asn) => h.update(format!("asn={asn}\0")),
            None => h.update(b"asn=-\0"),
        }
        h.update(b"country=");
        h.update(country.unwrap_or("-").to_ascii_uppercase());
        h.update(b"\0ua=");
        h.update(family_major);
        let digest: [u8; 32] = h.finalize().into();
        let mut out = [0u8; BINDING_LEN];
        for (o, d) in out.iter_mut().zip(digest) {
            *o = d;
        }
        Binding(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_131: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const CHROME_131_PATCH: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36";
    const CHROME_132: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36";
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    fn view(asn: Option<u32>, country: Option<&'static str>, ua: &'static str) -> ClientView<'static> {
        ClientView { asn, country, user_agent: Some(ua) }
    }

    #[test]
    fn same_for_what_may_change_different_for_what_may_not() {
        let base = Binding::of(&view(Some(13335), Some("DE"), CHROME_131));
        struct Case {
            name: &'static str,
            view: ClientView<'static>,
            same: bool,
        }
        let cases = [
            Case {
                name: "minor version update",
                view: view(Some(13335), Some("DE"), CHROME_131_PATCH),
                same: true,
            },
            Case { name: "country case", view: view(Some(13335), Some("de"), CHROME_131), same: true },
            Case { name: "major version", view: view(Some(13335), Some("DE"), CHROME_132), same: false },
            Case { name: "other browser", view: view(Some(13335), Some("DE"), FIREFOX), same: false },
            Case { name: "other ASN", view: view(Some(15169), Some("DE"), CHROME_131), same: false },
            Case { name: "no ASN", view: view(None, Some("DE"), CHROME_131), same: false },
            Case { name: "other country", view: view(Some(13335), Some("FR"), CHROME_131), same: false },
        ];
        for c in cases {
            assert_eq!(Binding::of(&c.view) == base, c.same, "{}", c.name);
        }
    }
}
