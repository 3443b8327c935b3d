//! What a request carries: its path and query string, body fields, User-Agent and other
//! headers, and the phone number in a field.

use crate::signals::{assert_assessment, facts};
use crate::{fields, text};
use gate::decision_log::replay::decision_lines;
use gate::decision_log::{Action, DecisionLog};
use gate::policy::Policy;
use gate::protocol::binding::{Binding, ClientView};
use gate::protocol::time::UnixTime;
use gate::request::facts::Headers;
use gate::request::form::{BodyKind, Fields, name_key};
use gate::request::phone;
use gate::request::route::{self, Judged, MatchKey, Route};
use gate::request::user_agent::{Platform, UserAgent};
use gate::signals::{self, ClientSide};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The shipped policy (policy/gate.toml), loaded once.
pub(crate) fn shipped() -> &'static Policy {
    static SHIPPED: OnceLock<Policy> = OnceLock::new();
    SHIPPED.get_or_init(|| match gate::policy::load(gate::drill::SHIPPED_POLICY) {
        Ok(p) => p,
        Err(e) => panic!("the shipped policy does not load: {e}"),
    })
}

/// `route-spec \n methods \n path \n query`: a route as a policy writes it, and a request's
/// methods (comma-separated, overrides included), raw path and query string.
pub fn route(data: &[u8]) {
    let parts = fields(data, 4);
    let (Some(spec), Some(methods), Some(path)) = (text(&parts, 0), text(&parts, 1), text(&parts, 2)) else {
        return;
    };
    let query = text(&parts, 3);
    let methods: Vec<&str> = methods.split(',').collect();

    let key = MatchKey::of(path);
    assert_eq!(key.readings.first(), Some(&key.full), "the full reading comes first");
    assert!(key.readings.iter().all(|r| r.starts_with('/')), "a reading is not a path: {:?}", key.readings);

    let p = shipped();
    let judged = route::judge_target(&p.protected, &p.pass, &methods, path, query);
    if let Judged::Refused(_) = judged {
        assert!(route::is_unsafe(&methods), "a safe request refused for its path");
    }
    if route::is_unsafe(&methods) && route::canonical(path).is_ok() {
        assert!(!matches!(judged, Judged::Refused(_)), "a canonical path refused");
    }
    let _ = route::named(&p.protected, path);

    // a route protects the path it was configured with, and a challenge request can name it
    if let Ok(r) = Route::parse(spec) {
        let configured = spec.split_whitespace().nth(1).unwrap_or("");
        let configured = configured.strip_suffix('*').unwrap_or(configured);
        let method = r.method.clone().unwrap_or_else(|| "POST".into());
        let protected = std::slice::from_ref(&r);
        assert_eq!(
            route::judge(protected, &[], &[&method], configured),
            Judged::Protected(&r),
            "{spec:?} does not protect its own path"
        );
        assert!(route::named(protected, configured).is_some(), "{spec:?} cannot be named by its path");
        let _ = route::judge_target(protected, &p.pass, &methods, path, query);
    }
}

/// `content-type \n query \n body`: a request body's fields, read as its Content-Type says.
pub fn form(data: &[u8]) {
    let parts = fields(data, 3);
    let (Some(content_type), Some(query)) = (text(&parts, 0), text(&parts, 1)) else { return };
    let body = parts.get(2).copied().unwrap_or_default();
    let kind = BodyKind::of(Some(content_type));
    let parsed = Fields::parse(&kind, body);
    if body.is_empty() {
        assert!(parsed.is_ok(), "an empty body has no fields, whatever its type");
    }
    let Ok(fields) = parsed else { return };
    assert!(!matches!(kind, BodyKind::Other) || body.is_empty(), "an unsupported body read");
    let form = fields.form().map(<[_]>::to_vec);
    assert_eq!(
        form.is_some(),
        matches!(kind, BodyKind::UrlEncoded | BodyKind::Multipart(_)),
        "form fields for a body that is not a form, or none for a form"
    );
    // multipart: each part runs from its `--boundary` to the next one's, in order
    if let BodyKind::Multipart(boundary) = &kind {
        let delimiter = format!("--{boundary}");
        let mut end = 0;
        for f in form.iter().flatten() {
            let Some(part) = f.part.clone() else { panic!("a multipart field without its part") };
            assert!(part.start >= end && part.start < part.end && part.end <= body.len(), "part {part:?}");
            assert!(
                body.get(part.start..).is_some_and(|b| b.starts_with(delimiter.as_bytes())),
                "part start"
            );
            assert!(body.get(part.end..).is_some_and(|b| b.starts_with(delimiter.as_bytes())), "part end");
            end = part.end;
        }
    }
    // a field written more than once (in any spelling a framework folds) is never read as one value
    let fields = fields.with_query(query);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for f in form.iter().flatten() {
        *counts.entry(name_key(&f.name)).or_default() += 1;
    }
    for f in form.iter().flatten() {
        let got = fields.get(&f.name);
        if counts.get(&name_key(&f.name)).is_some_and(|n| *n > 1) {
            assert!(got.is_err(), "{:?} is repeated, yet read as {got:?}", f.name);
        }
    }
    for name in ["gate-solution", "phone", "user.phone", "email"] {
        let _ = fields.get(name);
    }
}

/// A User-Agent header value, and the client-hint values read beside it.
pub fn user_agent(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let ua = UserAgent::parse(raw);
    // a pure function of the trimmed header (the per-thread memo answers the same)
    assert_eq!(ua, UserAgent::parse(&format!("  {raw}\t")), "whitespace around the header changes it");
    assert_eq!(ua, UserAgent::parse(raw), "the memo answers otherwise");
    let name = ua.family.name();
    assert!(name.len() <= 32 && !name.contains(char::is_whitespace), "family name {name:?}");
    let _ =
        (ua.sends_client_hints(), ua.may_send_client_hints(), ua.sends_fetch_metadata(), ua.hint_mobile());
    let _ = (ua.family_major(), ua.on_ios(), ua.family.is_browser(), UserAgent::chromium_major(raw));
    let _ = (Platform::of(raw), Platform::from_client_hint(raw));
    assert!(signals::parse_brands(raw).len() <= 16, "more than 16 brands");
}

/// `name: value` lines: a sign-up's headers, through the server-side checks, the client
/// binding, and the decision-log line they give (which reads back as written).
pub fn headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let pairs = text.lines().filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim(), v.trim()));
    let facts = facts(Headers::from_pairs(pairs));
    let server = signals::assess_server(&facts);
    assert_assessment(&server);
    let absent = signals::assess(&facts, &ClientSide::Absent);
    assert_assessment(&absent);
    let view = ClientView {
        asn: facts.cf.asn,
        country: facts.cf.country.as_deref(),
        user_agent: facts.user_agent(),
    };
    let _ = Binding::of(&view);
    let line =
        DecisionLog::new(Action::Forward, 200, &facts, UnixTime::from_secs(1_700_000_000)).assessed(&absent);
    assert_eq!(decision_lines(&line.to_json()), vec![line], "the decision-log line does not read back");
}

/// A phone field's value: read whole (`phone::parse`, with and without a default region) and
/// for its calling code only (`phone::calling_code`, what the widget sends at issue time).
pub fn phone(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else { return };
    for home in [None, phone::Region::new("US"), phone::Region::new("CN")] {
        let Ok(n) = phone::parse(value, home) else { continue };
        let e164 = n.e164();
        let digits = e164.strip_prefix('+').unwrap_or_default();
        assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "E.164 {e164:?}");
        let code = n.calling_code().to_string();
        assert!(phone::is_calling_code(&code) && digits.starts_with(&code), "code {code} of {e164:?}");
        assert!(n.range().contains(&n), "{:?} outside its range", n.range());
        assert!(
            n.range().digits().len() + 4 <= n.national_number().len().max(4),
            "{:?} names a subscriber",
            n.range()
        );
        let again = phone::parse(e164, None).map(|a| a.e164().to_string());
        assert_eq!(again.as_deref(), Ok(e164), "E.164 does not read back");
    }
    for code_only in [false, true] {
        if let Some(code) = phone::calling_code(value, code_only) {
            assert!(phone::is_calling_code(code), "{code} is not a calling code");
        }
    }
}
