//! Decisions are values: a rejection carries a public reason for the client and a private
//! detail for the operator's log, and knows its HTTP status.

use serde::Serialize;
use std::fmt;

/// Why a request on a protected route was not forwarded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectKind {
    /// No solution in the header or the form.
    MissingSolution,
    /// The solution or its token cannot be parsed.
    MalformedSolution,
    /// The token's protocol version is not one this gate speaks.
    UnsupportedVersion,
    /// The solution, or the request body, is larger than allowed.
    TooLarge,
    /// The token was signed with a key this gate does not hold (rotated out, or forged).
    UnknownKey,
    /// The token's signature does not verify.
    BadSignature,
    /// The challenge has expired.
    Expired,
    /// The challenge claims to be issued in the future (clock skew beyond the allowance).
    NotYetValid,
    /// The challenge was issued for another route.
    WrongRoute,
    /// The challenge was issued to a different client (network or browser changed).
    BindingMismatch,
    /// At least one sub-puzzle's nonce does not meet the signed difficulty.
    InsufficientWork,
    /// This challenge has already been used.
    AlreadySpent,
    /// The single-use ledger could not be reached and the gate fails closed.
    LedgerUnavailable,
    /// The gate's configuration is invalid, so protected routes stay closed.
    Misconfigured,
    /// A challenge was requested for a route the gate does not protect.
    UnknownRoute,
    /// A gate endpoint that does not exist.
    NotFound,
    /// A gate endpoint called with the wrong method.
    MethodNotAllowed,
    /// The origin could not be reached.
    OriginUnavailable,
    /// The fingerprint checks put the request over the deny threshold.
    Denied,
    /// The risk at submission needs more work than the challenge asked for.
    RiskIncreased,
    /// Sign-up is shed for this client's cohort, or site-wide ("registration busy").
    Busy,
    /// An unsafe request whose path is not in the one spelling every server reads alike.
    NonCanonicalPath,
    /// A protected request repeats a field the gate reads (phone, solution), so the gate and
    /// the origin could read different values.
    DuplicateField,
    /// A protected request's body is of a type the gate cannot read fields from.
    UnsupportedBody,
    /// An operator endpoint without a valid token.
    Unauthorized,
    /// An operator request whose body is not what the endpoint takes.
    BadRequest,
    /// A panic switch for a scope that is neither `site` nor a cohort `kind:value`.
    BadScope,
    /// A no-JavaScript "Continue" before the wait is over.
    TooEarly,
    /// The stats objects could not be read.
    StatsUnavailable,
    /// The counter objects could not be written (a panic switch).
    CountersUnavailable,
    /// The work sent covers less than the price asked now: add the top-up offered and send
    /// the same request again (nothing was spent).
    MoreWork,
    /// The sign-up's phone number is not a number in use under the numbering plan (nothing
    /// was spent: correct it and send the same request again).
    InvalidPhone,
    /// Codes are not sent to this number's range for a while: its codes are sent but not
    /// entered (SMS pumping). `Retry-After` says when the block ends.
    PhoneRangeBlocked,
    /// A code was sent to this number a moment ago: the next waits its backoff
    /// (`[otp.backoff]`, growing with each code not entered). The challenge is spent (ask
    /// again with a new one); `Retry-After` says when.
    PhoneNumberWait,
    /// The origin is full and there is a waiting line: this challenge's place has not come
    /// yet. Nothing was spent; send the same request again after `Retry-After` (the body says
    /// the estimated wait).
    InLine,
}

impl RejectKind {
    /// Every kind, for tables and tests.
    pub const ALL: [RejectKind; 35] = [
        RejectKind::MissingSolution,
        RejectKind::MalformedSolution,
        RejectKind::UnsupportedVersion,
        RejectKind::TooLarge,
        RejectKind::UnknownKey,
        RejectKind::BadSignature,
        RejectKind::Expired,
        RejectKind::NotYetValid,
        RejectKind::WrongRoute,
        RejectKind::BindingMismatch,
        RejectKind::InsufficientWork,
        RejectKind::AlreadySpent,
        RejectKind::LedgerUnavailable,
        RejectKind::Misconfigured,
        RejectKind::UnknownRoute,
        RejectKind::NotFound,
        RejectKind::MethodNotAllowed,
        RejectKind::OriginUnavailable,
        RejectKind::Denied,
        RejectKind::RiskIncreased,
        RejectKind::Busy,
        RejectKind::NonCanonicalPath,
        RejectKind::DuplicateField,
        RejectKind::UnsupportedBody,
        RejectKind::Unauthorized,
        RejectKind::BadRequest,
        RejectKind::BadScope,
        RejectKind::TooEarly,
        RejectKind::StatsUnavailable,
        RejectKind::CountersUnavailable,
        RejectKind::MoreWork,
        RejectKind::InvalidPhone,
        RejectKind::PhoneRangeBlocked,
        RejectKind::PhoneNumberWait,
        RejectKind::InLine,
    ];

    /// The HTTP status the client gets.
    pub fn status(self) -> u16 {
        match self {
            RejectKind::MalformedSolution
            | RejectKind::UnsupportedVersion
            | RejectKind::UnknownRoute
            | RejectKind::NonCanonicalPath
            | RejectKind::DuplicateField
            | RejectKind::BadRequest
            | RejectKind::BadScope
            | RejectKind::InvalidPhone => 400,
            RejectKind::MissingSolution
            | RejectKind::Expired
            | RejectKind::NotYetValid
            | RejectKind::Unauthorized => 401,
            RejectKind::UnknownKey
            | RejectKind::BadSignature
            | RejectKind::WrongRoute
            | RejectKind::BindingMismatch
            | RejectKind::InsufficientWork
            | RejectKind::Denied
            | RejectKind::RiskIncreased => 403,
            RejectKind::NotFound => 404,
            RejectKind::MethodNotAllowed => 405,
            RejectKind::AlreadySpent => 409,
            RejectKind::TooLarge => 413,
            RejectKind::UnsupportedBody => 415,
            RejectKind::TooEarly
            | RejectKind::PhoneRangeBlocked
            | RejectKind::PhoneNumberWait
            | RejectKind::InLine => 429,
            RejectKind::MoreWork => 402,
            RejectKind::OriginUnavailable => 502,
            RejectKind::LedgerUnavailable
            | RejectKind::Misconfigured
            | RejectKind::Busy
            | RejectKind::StatsUnavailable
            | RejectKind::CountersUnavailable => 503,
        }
    }

    /// The stable machine-readable code (the JSON `error` field).
    pub fn code(self) -> &'static str {
        match self {
            RejectKind::MissingSolution => "missing_solution",
            RejectKind::MalformedSolution => "malformed_solution",
            RejectKind::UnsupportedVersion => "unsupported_version",
            RejectKind::TooLarge => "too_large",
            RejectKind::UnknownKey => "unknown_key",
            RejectKind::BadSignature => "bad_signature",
            RejectKind::Expired => "expired",
            RejectKind::NotYetValid => "not_yet_valid",
            RejectKind::WrongRoute => "wrong_route",
            RejectKind::BindingMismatch => "binding_mismatch",
            RejectKind::InsufficientWork => "insufficient_work",
            RejectKind::AlreadySpent => "already_spent",
            RejectKind::LedgerUnavailable => "ledger_unavailable",
            RejectKind::Misconfigured => "misconfigured",
            RejectKind::UnknownRoute => "unknown_route",
            RejectKind::NotFound => "not_found",
            RejectKind::MethodNotAllowed => "method_not_allowed",
            RejectKind::OriginUnavailable => "origin_unavailable",
            RejectKind::Denied => "denied",
            RejectKind::RiskIncreased => "risk_increased",
            RejectKind::Busy => "busy",
            RejectKind::NonCanonicalPath => "non_canonical_path",
            RejectKind::DuplicateField => "duplicate_field",
            RejectKind::UnsupportedBody => "unsupported_body",
            RejectKind::Unauthorized => "unauthorized",
            RejectKind::BadRequest => "bad_request",
            RejectKind::BadScope => "bad_scope",
            RejectKind::TooEarly => "too_early",
            RejectKind::StatsUnavailable => "stats_unavailable",
            RejectKind::CountersUnavailable => "counters_unavailable",
            RejectKind::MoreWork => "more_work",
            RejectKind::InvalidPhone => "invalid_phone",
            RejectKind::PhoneRangeBlocked => "phone_range_blocked",
            RejectKind::PhoneNumberWait => "phone_number_wait",
            RejectKind::InLine => "in_line",
        }
    }

    /// The message the client sees: generic, helpful, and never a detail an attacker could
    /// use to tune a forgery.
    pub fn public_message(self) -> &'static str {
        match self {
            RejectKind::MissingSolution => {
                "This request needs a solved challenge. Fetch one from the challenge URL, solve it and send the solution."
            }
            RejectKind::MalformedSolution => "The challenge solution could not be read.",
            RejectKind::UnsupportedVersion => {
                "The challenge solution uses a protocol version this site does not accept. Fetch a new challenge."
            }
            RejectKind::TooLarge => "The request is too large.",
            RejectKind::UnknownKey | RejectKind::BadSignature => {
                "The challenge is not valid. Fetch a new challenge."
            }
            RejectKind::Expired | RejectKind::NotYetValid => {
                "The challenge has expired. Fetch a new challenge."
            }
            RejectKind::WrongRoute => "The challenge was issued for a different page. Fetch a new challenge.",
            RejectKind::BindingMismatch => {
                "The challenge was issued to a different browser or network. Fetch a new challenge."
            }
            RejectKind::InsufficientWork => "The challenge solution is not correct. Fetch a new challenge.",
            RejectKind::AlreadySpent => "This challenge has already been used. Fetch a new challenge.",
            RejectKind::LedgerUnavailable | RejectKind::Misconfigured => {
                "Sign-up is temporarily unavailable. Please try again in a few minutes."
            }
            RejectKind::UnknownRoute => "Challenges are only issued for protected routes.",
            RejectKind::NotFound => "Not found.",
            RejectKind::MethodNotAllowed => "Method not allowed.",
            RejectKind::OriginUnavailable => {
                "The site is temporarily unreachable. The proof of work was not used up: send the same request again in a few seconds."
            }
            RejectKind::Denied => {
                "This request was refused. If you are signing up yourself, please use your usual browser, with JavaScript on, from your usual network."
            }
            RejectKind::RiskIncreased => {
                "The challenge no longer matches this request. Fetch a new challenge."
            }
            RejectKind::Busy => {
                "Registration is busy right now. Please try again in a few minutes; logging in still works."
            }
            RejectKind::NonCanonicalPath => {
                "The request path is not in canonical form (no percent-encoded ASCII, dot or empty segments, or trailing dots)."
            }
            RejectKind::DuplicateField => {
                "The request repeats a field that may appear only once (the phone number or the challenge solution)."
            }
            RejectKind::UnsupportedBody => {
                "Send this form as application/x-www-form-urlencoded, multipart/form-data or JSON."
            }
            RejectKind::Unauthorized => "A valid token is required.",
            RejectKind::BadRequest => {
                "Send {\"scope\": \"site\" or \"kind:value\", \"on\": true|false, \"minutes\": n}."
            }
            RejectKind::BadScope => {
                "scope is \"site\" or kind:value, kind one of asn, ip_prefix, country, ua_family, phone_code, network_kind"
            }
            RejectKind::TooEarly => "Wait before continuing.",
            RejectKind::StatsUnavailable => "The stats cannot be read right now.",
            RejectKind::CountersUnavailable => "The counters cannot be written right now.",
            RejectKind::MoreWork => {
                "The price rose since the challenge was solved: solve the top-up offered, add it to the solution and send the same request again."
            }
            RejectKind::InvalidPhone => {
                "The phone number could not be read. Write it with + and the country calling code (for example +44 20 7946 0000), then send the same request again."
            }
            RejectKind::PhoneRangeBlocked => {
                "Codes cannot be sent to this phone number right now. Please try again later, or use another number."
            }
            RejectKind::PhoneNumberWait => {
                "A code was sent to this phone number a moment ago. Please wait for it, or ask for another one after the time in Retry-After."
            }
            RejectKind::InLine => {
                "Many people are signing up right now, so sign-ups go through in turn. You have a place: keep this page open, your sign-up is sent when your turn comes."
            }
        }
    }

    /// Whether a fresh challenge would help, so the response carries a challenge URL.
    pub fn offers_challenge(self) -> bool {
        matches!(
            self,
            RejectKind::MissingSolution
                | RejectKind::MalformedSolution
                | RejectKind::UnsupportedVersion
                | RejectKind::UnknownKey
                | RejectKind::BadSignature
                | RejectKind::Expired
                | RejectKind::NotYetValid
                | RejectKind::WrongRoute
                | RejectKind::BindingMismatch
                | RejectKind::InsufficientWork
                | RejectKind::AlreadySpent
                | RejectKind::RiskIncreased
        )
    }

    /// Seconds a client should wait before retrying, for the `Retry-After` header.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            RejectKind::LedgerUnavailable | RejectKind::OriginUnavailable => Some(5),
            RejectKind::Misconfigured => Some(60),
            RejectKind::Busy => Some(120),
            _ => None,
        }
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection: the kind decides what the client sees; `detail` is for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectKind,
    detail: String,
    retry_after: Option<u32>,
}

impl Rejection {
    /// A rejection with a private detail.
    pub fn new(kind: RejectKind, detail: impl Into<String>) -> Rejection {
        Rejection { kind, detail: detail.into(), retry_after: None }
    }

    /// Sets the `Retry-After` seconds (instead of the kind's default).
    pub fn retry_after(mut self, secs: u32) -> Rejection {
        self.retry_after = Some(secs);
        self
    }

    /// Seconds the client should wait before retrying, if any.
    pub fn retry_after_secs(&self) -> Option<u32> {
        self.retry_after.or(self.kind.retry_after())
    }

    /// What went wrong, in the categories clients see.
    pub fn kind(&self) -> RejectKind {
        self.kind
    }

    /// The private detail, for logs only.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The JSON body the client gets; `challenge_url` is attached when a retry can help.
    pub fn body(&self, challenge_url: Option<&str>) -> ErrorBody {
        ErrorBody {
            error: self.kind.code(),
            message: self.kind.public_message(),
            // what is wrong with the client's own phone number is no secret and helps it fix it
            reason: (self.kind == RejectKind::InvalidPhone).then(|| self.detail.clone()),
            challenge: challenge_url.filter(|_| self.kind.offers_challenge()).map(str::to_string),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

/// The JSON error body: `{"error": code, "message": ..., "challenge": url?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub error: &'static str,
    /// Human-readable message.
    pub message: &'static str,
    /// What exactly is wrong, where telling helps the client and no attacker
    /// (`invalid_phone`: "The phone number is too short for +86.").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where to fetch a fresh challenge, when that helps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_protocol() {
        let table: &[(RejectKind, u16, &str)] = &[
            (RejectKind::MalformedSolution, 400, "malformed_solution"),
            (RejectKind::MissingSolution, 401, "missing_solution"),
            (RejectKind::Expired, 401, "expired"),
            (RejectKind::BadSignature, 403, "bad_signature"),
            (RejectKind::UnknownKey, 403, "unknown_key"),
            (RejectKind::InsufficientWork, 403, "insufficient_work"),
            (RejectKind::WrongRoute, 403, "wrong_route"),
            (RejectKind::BindingMismatch, 403, "binding_mismatch"),
            (RejectKind::AlreadySpent, 409, "already_spent"),
            (RejectKind::TooLarge, 413, "too_large"),
            (RejectKind::LedgerUnavailable, 503, "ledger_unavailable"),
            (RejectKind::Misconfigured, 503, "misconfigured"),
        ];
        for (kind, status, code) in table {
            assert_eq!(kind.status(), *status, "{kind:?}");
            assert_eq!(kind.code(), *code);
        }
    }

    #[test]
    fn codes_are_unique_and_messages_never_empty() {
        let mut codes: Vec<_> = RejectKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RejectKind::ALL.len());
        assert!(RejectKind::ALL.iter().all(|k| !k.public_message().is_empty()));
    }

    #[test]
    fn body_hides_detail_and_offers_challenge_only_when_useful() {
        let r = Rejection::new(RejectKind::InsufficientWork, "sub-puzzle 3 has 2 zero bits");
        let json = serde_json::to_string(&r.body(Some("/__gate/challenge?route=/signup"))).unwrap();
        assert!(!json.contains("sub-puzzle"));
        assert!(json.contains("\"challenge\":\"/__gate/challenge?route=/signup\""));
        let busy = Rejection::new(RejectKind::LedgerUnavailable, "do error");
        assert_eq!(busy.body(Some("/x")).challenge, None);
        assert_eq!(r.to_string(), "insufficient_work: sub-puzzle 3 has 2 zero bits");
    }
}
