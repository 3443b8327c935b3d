//! The front door: which part of the gate a request goes to. Reads only the method, the
//! method-override headers, the path and the query string.

use crate::pipeline::config::{Config, Loaded};
use crate::pipeline::log::DecisionLog;
use crate::pipeline::reply::{self, Audience, Reply};
use crate::pipeline::step::{Done, Tally};
use crate::protocol::reject::{RejectKind, Rejection};
use crate::protocol::time::UnixTime;
use crate::request::facts::RequestFacts;
use crate::request::route::{self, Judged, Route};

/// Headers through which frameworks let clients override the method.
pub const METHOD_OVERRIDES: &[&str] = &["x-http-method-override", "x-http-method", "x-method-override"];

/// The widget's files, served from Workers static assets (`www/dist`, built by
/// `scripts/build-widget`) under the gate prefix. Nothing else there is reachable.
pub const WIDGET_FILES: &[&str] = &[
    "gate.js",
    "gate-worker.js",
    "gate-solver-js.js",
    "gate_solver.js",
    "gate_solver_bg.wasm",
    "gate_solver_simd.js",
    "gate_solver_simd_bg.wasm",
    "gate-i18n-zh-CN.json",
    "gate-i18n-es.json",
    "gate-i18n-de.json",
    "gate-i18n-ja.json",
];

/// Where a request goes.
#[derive(Debug)]
pub enum Front<'a> {
    /// Answered here.
    Done(Box<Done>),
    /// Not a sign-up: straight to the origin, untouched.
    PassThrough(&'a url::Url),
    /// A protected route: the submission pipeline (`submit::start`).
    Protected(&'a Config, Route),
    /// `GET challenge` (`issue::start`).
    Challenge(&'a Config),
    /// `GET` a widget file from the static assets.
    WidgetFile(&'static str),
    /// `GET stats` (`operator::stats`), authorized.
    Stats,
    /// `POST panic` (`operator::panic`), authorized.
    Panic(&'a Config),
    /// `POST siteverify` (`siteverify::start`).
    Siteverify(&'a Config),
}

impl Front<'_> {
    fn done<'a>(d: Done) -> Front<'a> {
        Front::Done(Box::new(d))
    }
}

/// The methods a request may be read as: its own and any override header's.
pub fn methods(facts: &RequestFacts) -> Vec<String> {
    let mut methods = vec![facts.method.clone()];
    for h in METHOD_OVERRIDES {
        if let Some(m) = facts.headers.get(h) {
            methods.push(m.trim().to_ascii_uppercase());
        }
    }
    methods
}

/// A rejection as a finished request, logged and counted.
pub fn refuse(
    r: &Rejection,
    facts: &RequestFacts,
    now: UnixTime,
    route: Option<&str>,
    audience: &Audience,
) -> Done {
    let mut line = DecisionLog::reject(r, facts, now);
    line.route = route.map(str::to_string);
    Done::logged(reply::rejection(r, None, audience), line, vec![Tally::new("reject", r.kind().code())])
}

/// Routes a request.
pub fn route<'a>(loaded: &'a Loaded, facts: &RequestFacts, now: UnixTime) -> Front<'a> {
    let path = facts.path.as_str();
    if let Some(sub) =
        path.strip_prefix(loaded.prefix.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        return endpoint(loaded, facts, sub, now);
    }
    let methods = methods(facts);
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let query = facts.query.as_deref();
    let owned = |j: Judged<'_>| match j {
        Judged::Refused(why) => Err(why),
        Judged::Protected(r) => Ok(Some(r.clone())),
        Judged::Unprotected => Ok(None),
    };
    let judged = match (&loaded.config, &loaded.routes) {
        (Ok(config), _) => owned(config.policy.judge(&methods, path, query)),
        (Err(_), Some((protected, pass))) => {
            owned(route::judge_target(protected, pass, &methods, path, query))
        }
        // The policy's routes cannot be read: any non-read could be a sign-up.
        (Err(_), None) => owned(route::judge(&[], &[], &methods, path)).map(|_| {
            route::is_unsafe(&methods).then(|| Route { method: None, path: path.to_string(), prefix: false })
        }),
    };
    let audience = Audience::of(facts);
    let protected = match judged {
        Ok(p) => p,
        Err(why) => {
            let r = Rejection::new(RejectKind::NonCanonicalPath, format!("path {path:?} {why}"));
            return Front::done(refuse(&r, facts, now, None, &audience));
        }
    };
    match (protected, &loaded.config) {
        (None, _) => match &loaded.origin {
            Some(origin) => Front::PassThrough(origin),
            None => {
                let r = Rejection::new(RejectKind::Misconfigured, "no valid ORIGIN");
                Front::done(Done::reply(reply::rejection(&r, None, &audience)))
            }
        },
        (Some(route), Ok(config)) => Front::Protected(config, route),
        (Some(route), Err(errors)) => {
            let r = Rejection::new(RejectKind::Misconfigured, errors.to_string());
            Front::done(refuse(&r, facts, now, Some(&route.path), &audience))
        }
    }
}

/// The gate's own endpoints under the prefix.
fn endpoint<'a>(loaded: &'a Loaded, facts: &RequestFacts, sub: &str, now: UnixTime) -> Front<'a> {
    let refuse = |r: Rejection| {
        let line = DecisionLog::reject(&r, facts, now);
        Front::done(Done::logged(reply::rejection(&r, None, &Audience::Api), line, Vec::new()))
    };
    let method = facts.method.as_str();
    let wants = |m: &str| {
        (method == m)
            .then_some(())
            .ok_or_else(|| Rejection::new(RejectKind::MethodNotAllowed, format!("{sub} needs {m}")))
    };
    if let Some(name) = sub.strip_prefix('/').and_then(|n| WIDGET_FILES.iter().find(|f| **f == n)) {
        if !matches!(method, "GET" | "HEAD") {
            return refuse(Rejection::new(RejectKind::MethodNotAllowed, "widget files need GET"));
        }
        return Front::WidgetFile(name);
    }
    let config =
        || loaded.config.as_ref().map_err(|e| Rejection::new(RejectKind::Misconfigured, e.to_string()));
    let chosen = match sub {
        "/ping" => {
            return Front::done(Done::reply(Reply {
                status: 204,
                body: reply::Body::Empty,
                headers: Vec::new(),
            }));
        }
        "/noscript.css" => return Front::done(Done::reply(noscript_css(loaded, facts))),
        "/stats" => return Front::Stats,
        "/challenge" => wants("GET").and_then(|()| config()).map(Front::Challenge),
        "/panic" => wants("POST").map(|()| match &loaded.config {
            Ok(c) => Front::Panic(c),
            Err(_) => Front::done(Done::reply(unauthorized("gate admin"))),
        }),
        "/siteverify" => wants("POST").map(|()| match &loaded.config {
            Ok(c) => Front::Siteverify(c),
            Err(_) => Front::done(Done::reply(Reply::json(
                200,
                &crate::pipeline::siteverify::failure("internal-error"),
            ))),
        }),
        _ => Err(Rejection::new(RejectKind::NotFound, format!("no gate endpoint {sub:?}"))),
    };
    chosen.unwrap_or_else(refuse)
}

/// `401` with a Basic challenge, so a browser can open the operators' pages.
pub fn unauthorized(realm: &str) -> Reply {
    Reply::error(401, "unauthorized", "A valid token is required.")
        .with_header("WWW-Authenticate", format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
}

/// `GET <prefix>/noscript.css?route=/signup`, for a page's `<noscript>`: where the no-JS path is
/// on for the route, the gated form stays visible and `.gate-needs-js` is hidden; otherwise
/// the form is hidden (it could never be sent) and `.gate-nojs` is.
fn noscript_css(loaded: &Loaded, facts: &RequestFacts) -> Reply {
    let wanted = query_param(facts.query.as_deref(), "route").unwrap_or_default();
    let on = loaded.config.as_ref().is_ok_and(|c| c.policy.no_js.allows(&route::MatchKey::of(&wanted).full));
    let css = if on {
        "/* the no-JavaScript path is on for this route: the form works without the widget */\n.gate-needs-js { display: none; }\n"
    } else {
        "/* no sign-up without JavaScript here: hide the gated form so it is never sent half-verified */\nform[data-gate] { display: none; }\n.gate-nojs { display: none; }\n"
    };
    Reply { status: 200, body: reply::Body::Css(css), headers: Vec::new() }
}

/// The first value of a query parameter, decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
