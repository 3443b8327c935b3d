//! `POST <prefix>/panic` `{"scope": "site" | "asn:16509", "on": true, "minutes": 60}`: what the
//! request asks for, read and bounded.

use crate::policy::CohortKey;
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use serde::Deserialize;

/// Largest panic request body read.
pub const MAX_BODY: usize = 4096;

#[derive(Deserialize)]
struct Body {
    /// `site` or `kind:value`.
    scope: String,
    /// On or off.
    on: bool,
    /// For how long when on (default 60).
    #[serde(default)]
    minutes: Option<u32>,
}

/// A panic switch to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The cohort, or the site.
    pub key: CohortKey,
    /// Until when (`None`: off).
    pub until: Option<UnixTime>,
    /// The minutes asked for (bounded), for the log.
    pub minutes: u32,
}

/// Reads a panic request at `now` (the time its body arrived).
pub fn read(body: &[u8], now: UnixTime) -> Result<Switch, Rejection> {
    let p: Body = serde_json::from_slice(body)
        .map_err(|e| Rejection::new(RejectKind::BadRequest, format!("panic body: {e}")))?;
    let key = parse_scope(&p.scope)
        .ok_or_else(|| Rejection::new(RejectKind::BadScope, format!("scope {:?}", p.scope)))?;
    let minutes = p.minutes.unwrap_or(60).clamp(1, 7 * 24 * 60);
    Ok(Switch { key, until: p.on.then(|| now.plus(u64::from(minutes) * 60)), minutes })
}

/// `site`, or `kind:value` for a cohort kind the policy knows.
pub fn parse_scope(scope: &str) -> Option<CohortKey> {
    CohortKey::parse(scope).filter(|k| k.is_site() || k.kind().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_and_bounded() {
        let now = UnixTime::from_secs(1_000);
        let on = read(br#"{"scope":"asn:1","on":true,"minutes":0}"#, now).unwrap();
        assert_eq!((on.key.as_str(), on.until, on.minutes), ("asn:1", Some(now.plus(60)), 1));
        let long = read(br#"{"scope":"site","on":true,"minutes":99999999}"#, now).unwrap();
        assert_eq!(long.minutes, 7 * 24 * 60);
        assert_eq!(read(br#"{"scope":"site","on":false}"#, now).unwrap().until, None);
        for (body, kind) in [
            (&br#"{"scope":"planet:1","on":true}"#[..], RejectKind::BadScope),
            (br#"{"scope":"nojs:site","on":true}"#, RejectKind::BadScope),
            (br#"{"scope":"cap:/signup","on":true}"#, RejectKind::BadScope),
            (br#"{"scope":"site"}"#, RejectKind::BadRequest),
            (b"not json", RejectKind::BadRequest),
        ] {
            assert_eq!(read(body, now).unwrap_err().kind(), kind);
        }
    }

    /// The refusal's hint is a fixed text listing the cohort kinds: it names every kind there
    /// is, and each is accepted as a scope.
    #[test]
    fn the_bad_scope_hint_names_every_cohort_kind() {
        let now = UnixTime::from_secs(1_000);
        let hint = RejectKind::BadScope.public_message();
        assert!(hint.ends_with(&format!("kind one of {}", crate::policy::CohortKind::names())), "{hint}");
        for kind in crate::policy::CohortKind::ALL {
            let body = format!(r#"{{"scope":"{}:x","on":true}}"#, kind.name());
            assert!(read(body.as_bytes(), now).is_ok(), "{body}");
        }
    }
}
