//! The one way to refuse a request. A [`Refusal`] is built from a [`Rejection`] (public
//! reason, private detail) and always ends as a [`Done`] that carries its log line and its
//! `reject` count, whatever the call site: the stats promise to count every refusal, and
//! they can only keep it if no reply that refuses is built anywhere else (a test in
//! `tests/layers.rs` holds every other module to that).

use crate::control::line::Stand;
use crate::control::{Counts, Tally};
use crate::decision_log::DecisionLog;
use crate::pipeline::step::{Answer, Done};
use crate::present::reply::{self, Audience, Reply};
use crate::protocol::reject::Rejection;
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::store::stats::Action;

/// A refusal on its way to a reply.
#[must_use = "a refusal does nothing until it is made into a Done"]
pub struct Refusal {
    rejection: Rejection,
    line: DecisionLog,
    audience: Audience,
    challenge_url: Option<String>,
    reply: Option<Reply>,
    code: Option<String>,
    event: Option<serde_json::Value>,
    asked_place: Option<(String, u64, Stand)>,
}

impl Refusal {
    /// A refusal of the request `facts` describes, answered as JSON.
    pub fn new(rejection: Rejection, facts: &RequestFacts, now: UnixTime) -> Refusal {
        let line = DecisionLog::new(Action::Reject, rejection.kind().status(), facts, now);
        Refusal::on(rejection, line)
    }

    /// A refusal logged on `line` (a submission's line, with what was known: assessment,
    /// decision, route, id); its action, status, code and detail become the refusal's.
    pub fn on(rejection: Rejection, mut line: DecisionLog) -> Refusal {
        line.action = Action::Reject;
        line.status = rejection.kind().status();
        line.code = Some(rejection.kind().code().to_string());
        line.detail = Some(rejection.detail().to_string());
        Refusal {
            rejection,
            line,
            audience: Audience::Api,
            challenge_url: None,
            reply: None,
            code: None,
            event: None,
            asked_place: None,
        }
    }

    /// Answered for this audience (a translated page for a person's navigation).
    pub fn audience(mut self, audience: &Audience) -> Refusal {
        self.audience = audience.clone();
        self
    }

    /// Points the client to the challenge endpoint (refusals a fresh challenge would cure).
    pub fn challenge(mut self, url: Option<String>) -> Refusal {
        self.challenge_url = url;
        self
    }

    /// For a protected route.
    pub fn route(mut self, route: Option<&str>) -> Refusal {
        self.line.route = route.map(str::to_string);
        self
    }

    /// With a header on the standard reply (`WWW-Authenticate`, ...).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        let reply = self.reply.take().unwrap_or_else(|| self.standard_reply());
        self.reply = Some(reply.with_header(name, value));
        self
    }

    /// Answered with another body than the standard error (the wait page again, the
    /// siteverify shape), still logged and counted as this refusal.
    pub fn answered_with(mut self, reply: Reply) -> Refusal {
        self.reply = Some(reply);
        self
    }

    /// Counted under another code than the rejection kind's (siteverify's error codes).
    pub fn counted_as(mut self, code: &str) -> Refusal {
        self.code = Some(code.to_string());
        self
    }

    /// With an operational log line beside the decision line.
    pub fn event(mut self, event: serde_json::Value) -> Refusal {
        self.event = Some(event);
        self
    }

    /// A place answered `in_line` on `route`, issued at `place_ms`, standing where `stand`
    /// says: counted for the line.
    pub fn asked(mut self, route: &str, place_ms: u64, stand: Stand) -> Refusal {
        self.asked_place = Some((route.to_string(), place_ms, stand));
        self
    }

    /// Mutable access to the decision line (what a step knew).
    pub fn line(&mut self) -> &mut DecisionLog {
        &mut self.line
    }

    fn standard_reply(&self) -> Reply {
        reply::rejection(&self.rejection, self.challenge_url.as_deref(), &self.audience)
    }

    /// The finished request: reply, log line, and the `reject` count.
    pub fn done(self) -> Done {
        let reply = match self.reply {
            Some(r) => r,
            None => self.standard_reply(),
        };
        let code = self.code.unwrap_or_else(|| self.rejection.kind().code().to_string());
        Done {
            answer: Answer::Reply(reply),
            log: Some(self.line),
            event: self.event,
            counts: Counts {
                tallies: vec![Tally::new(Action::Reject, code)],
                signup: None,
                events: Vec::new(),
                served_place: None,
                asked_place: self.asked_place,
            },
        }
    }
}
