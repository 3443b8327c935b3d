//! What the gate answers, as plain data: the edge turns a [`Reply`] into a `worker::Response`
//! without deciding anything about it.

use crate::present::page::{self, Lang};
use crate::protocol::reject::Rejection;
use crate::request::facts::RequestFacts;
use serde::Serialize;

/// A response's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// `application/json`.
    Json(serde_json::Value),
    /// `text/html` under a script-free Content-Security-Policy (unless the reply names its own:
    /// the top-up page runs the widget).
    Html(String),
    /// `text/css`.
    Css(&'static str),
    /// No body.
    Empty,
}

/// A complete response: status, body and the headers beyond those its body type implies.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Body,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON reply. A value that cannot be serialized (never, for the gate's own types)
    /// becomes `null` rather than a panic.
    pub fn json<T: Serialize>(status: u16, body: &T) -> Reply {
        Reply {
            status,
            body: Body::Json(serde_json::to_value(body).unwrap_or(serde_json::Value::Null)),
            headers: Vec::new(),
        }
    }

    /// An HTML reply.
    pub fn html(status: u16, body: String) -> Reply {
        Reply { status, body: Body::Html(body), headers: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// The value of an extra header, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// How the client wants refusals: JSON (API clients, scripts) or a page (browser navigations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// `{"error": .., "message": .., "challenge": ..}`.
    Api,
    /// A translated HTML page with a link back to `back` (a same-site path).
    Person {
        /// Page language.
        lang: Lang,
        /// Where "go back" points.
        back: Option<String>,
    },
}

impl Audience {
    /// Reads `Accept`, `Sec-Fetch-Mode`, `Accept-Language` and a same-origin `Referer`.
    pub fn of(facts: &RequestFacts) -> Audience {
        let h = |name: &str| facts.headers.get(name);
        if !page::wants_html(h("accept"), h("sec-fetch-mode")) {
            return Audience::Api;
        }
        let own_origin = format!("{}://{}", facts.scheme.trim_end_matches(':'), facts.host);
        let back = h("referer").and_then(|r| {
            let r = url::Url::parse(r).ok()?;
            (r.origin().ascii_serialization() == own_origin).then(|| match r.query() {
                Some(q) => format!("{}?{q}", r.path()),
                None => r.path().to_string(),
            })
        });
        Audience::Person { lang: page::negotiate(h("accept-language")), back }
    }

    /// The page language, for a person.
    pub fn lang(&self) -> Option<Lang> {
        match self {
            Audience::Person { lang, .. } => Some(*lang),
            Audience::Api => None,
        }
    }
}

/// The client-facing reply for a rejection. The private detail is not in it. Only
/// `pipeline::refusal` calls it: a refusal is always logged and counted.
pub(crate) fn rejection(r: &Rejection, challenge_url: Option<&str>, audience: &Audience) -> Reply {
    let reply = match audience {
        Audience::Api => Reply::json(r.kind().status(), &r.body(challenge_url)),
        Audience::Person { lang, back } => {
            Reply::html(r.kind().status(), page::render(r.kind(), *lang, back.as_deref()))
        }
    };
    match r.retry_after_secs() {
        Some(secs) => reply.with_header("Retry-After", secs.to_string()),
        None => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reject::RejectKind;
    use crate::request::facts::Headers;

    fn facts(headers: &[(&str, &str)]) -> RequestFacts {
        RequestFacts {
            method: "POST".into(),
            path: "/signup".into(),
            scheme: "https".into(),
            host: "example.com".into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            ..RequestFacts::default()
        }
    }

    #[test]
    fn audience_table() {
        let nav = [("accept", "text/html"), ("sec-fetch-mode", "navigate")];
        assert_eq!(Audience::of(&facts(&[("accept", "application/json")])), Audience::Api);
        let person = Audience::of(&facts(&[nav[0], nav[1], ("referer", "https://example.com/join?x=1")]));
        assert_eq!(person, Audience::Person { lang: Lang::En, back: Some("/join?x=1".into()) });
        let foreign = Audience::of(&facts(&[nav[0], nav[1], ("referer", "https://evil.test/join")]));
        assert_eq!(foreign, Audience::Person { lang: Lang::En, back: None });
    }

    #[test]
    fn busy_carries_retry_after_and_no_detail() {
        let r = Rejection::new(RejectKind::Busy, "private: asn:64500 at 90/min").retry_after(30);
        let reply = rejection(&r, Some("/__gate/challenge?route=/signup"), &Audience::Api);
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("retry-after"), Some("30"));
        let Body::Json(body) = &reply.body else { unreachable!("json") };
        assert!(!body.to_string().contains("64500"), "{body}");
    }
}
