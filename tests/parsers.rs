//! Property tests for the parsers fed by attackers (the widget's client signals) and by
//! operators (the policy file): whatever arrives, they return a value and never panic, a
//! well-formed input reads back as what was written, and every policy problem has a place.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may panic

use gate::signals::{ClientSide, ClientSignals, MAX_SIGNALS_LEN, UaData};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Client signals: the JSON object `collectSignals` in www/gate/gate.js sends

fn small_string() -> impl Strategy<Value = String> {
    // any characters, including quotes, backslashes and non-ASCII
    ".{0,12}"
}

fn pair() -> impl Strategy<Value = Option<(u32, u32)>> {
    proptest::option::of((any::<u32>(), any::<u32>()))
}

prop_compose! {
    fn ua_data()(
        brands in proptest::collection::vec((small_string(), small_string()), 0..=16),
        mobile in any::<bool>(),
        platform in small_string(),
    ) -> UaData {
        UaData { brands, mobile, platform }
    }
}

prop_compose! {
    /// Signals within the parser's limits (at most 32 automation names and languages, 16 brands).
    fn signals()(
        v in any::<u8>(),
        webdriver in proptest::option::of(any::<bool>()),
        automation in proptest::collection::vec(small_string(), 0..=32),
        software_renderer in proptest::option::of(any::<bool>()),
        outer in pair(),
        screen in pair(),
        time_zone in proptest::option::of(small_string()),
        languages in proptest::option::of(proptest::collection::vec(small_string(), 0..=32)),
        plugins in proptest::option::of(any::<u32>()),
        ua_data in proptest::option::of(ua_data()),
        cores in proptest::option::of(any::<u32>()),
        rtt in proptest::option::of(any::<u32>()),
        rtt_stamp in proptest::option::of("[A-Za-z0-9_-]{0,88}"),
    ) -> ClientSignals {
        ClientSignals {
            v, webdriver, automation, software_renderer, outer, screen, time_zone, languages,
            plugins, ua_data, cores, rtt, rtt_stamp, edge_rtt: Default::default(),
        }
    }
}

/// The signals as the widget writes them: `JSON.stringify` of an object with camelCase keys,
/// leaving out what it could not read (undefined).
fn as_the_widget_writes(s: &ClientSignals) -> Vec<u8> {
    let mut o = serde_json::Map::new();
    o.insert("v".into(), json!(s.v));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.into(), v);
        }
    };
    put("webdriver", s.webdriver.map(Value::from));
    put("automation", Some(json!(s.automation)));
    put("softwareRenderer", s.software_renderer.map(Value::from));
    put("outer", s.outer.map(|(w, h)| json!([w, h])));
    put("screen", s.screen.map(|(w, h)| json!([w, h])));
    put("timeZone", s.time_zone.clone().map(Value::from));
    put("languages", s.languages.clone().map(|l| json!(l)));
    put("plugins", s.plugins.map(Value::from));
    put(
        "uaData",
        s.ua_data.as_ref().map(|u| {
            let brands: Vec<Value> = u.brands.iter().map(|(b, v)| json!([b, v])).collect();
            json!({ "brands": brands, "mobile": u.mobile, "platform": u.platform })
        }),
    );
    put("cores", s.cores.map(Value::from));
    put("rtt", s.rtt.map(Value::from));
    put("rttStamp", s.rtt_stamp.clone().map(Value::from));
    serde_json::to_vec(&Value::Object(o)).unwrap()
}

fn is_malformed(c: &ClientSide) -> bool {
    matches!(c, ClientSide::Malformed(_))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_signal_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        match ClientSide::parse(&bytes) {
            ClientSide::Absent => prop_assert!(bytes.is_empty()),
            ClientSide::Malformed(why) => prop_assert!(!why.is_empty()),
            ClientSide::Present(_) => prop_assert!(bytes.len() <= MAX_SIGNALS_LEN),
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        keys in proptest::collection::vec(
            prop_oneof![
                Just("v"), Just("webdriver"), Just("automation"), Just("softwareRenderer"),
                Just("outer"), Just("screen"), Just("timeZone"), Just("languages"),
                Just("plugins"), Just("uaData"), Just("cores"), Just("rtt"), Just("other"),
            ],
            0..8,
        ),
        values in proptest::collection::vec(
            prop_oneof![
                Just(json!(null)), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(|f| json!(f)), small_string().prop_map(Value::from),
                Just(json!([1, 2])), Just(json!([-1, 2, 3])), Just(json!(["a", "b"])),
                Just(json!({"brands": [["a", "1"]], "mobile": true})), Just(json!({"brands": 7})),
            ],
            8,
        ),
    ) {
        let o: serde_json::Map<String, Value> =
            keys.iter().zip(values).map(|(k, v)| (k.to_string(), v)).collect();
        let bytes = serde_json::to_vec(&Value::Object(o)).unwrap();
        let _ = ClientSide::parse(&bytes);
    }

    #[test]
    fn the_widgets_encoding_parses_to_its_fields(s in signals()) {
        let bytes = as_the_widget_writes(&s);
        let got = ClientSide::parse(&bytes);
        if bytes.len() > MAX_SIGNALS_LEN {
            prop_assert!(is_malformed(&got));
        } else {
            prop_assert_eq!(got, ClientSide::Present(Box::new(s.clone())));
        }
        // and the gate's own serialization of the signals reads back the same
        let ours = serde_json::to_vec(&s).unwrap();
        if ours.len() <= MAX_SIGNALS_LEN {
            prop_assert_eq!(ClientSide::parse(&ours), ClientSide::Present(Box::new(s)));
        }
    }

    #[test]
    fn truncations_are_malformed(s in signals(), cut in any::<prop::sample::Index>()) {
        let bytes = as_the_widget_writes(&s);
        let at = 1 + cut.index(bytes.len() - 1); // a proper, non-empty prefix
        prop_assert!(is_malformed(&ClientSide::parse(&bytes[..at])), "{:?}", String::from_utf8_lossy(&bytes[..at]));
    }

    #[test]
    fn extensions_are_malformed(
        s in signals(),
        tail in proptest::collection::vec(any::<u8>(), 1..64)
            .prop_filter("not only JSON whitespace", |t| t.iter().any(|b| !b" \t\r\n".contains(b))),
    ) {
        let mut bytes = as_the_widget_writes(&s);
        bytes.extend_from_slice(&tail);
        prop_assert!(is_malformed(&ClientSide::parse(&bytes)));
    }

    #[test]
    fn lists_over_their_limits_are_malformed(n in 33usize..64, which in 0usize..3) {
        let s = match which {
            0 => ClientSignals { automation: vec!["x".into(); n], ..Default::default() },
            1 => ClientSignals { languages: Some(vec!["en".into(); n]), ..Default::default() },
            _ => ClientSignals {
                ua_data: Some(UaData { brands: vec![("b".into(), "1".into()); n - 16], ..Default::default() }),
                ..Default::default()
            },
        };
        prop_assert!(is_malformed(&ClientSide::parse(&as_the_widget_writes(&s))));
    }
}

// ---------------------------------------------------------------------------------------------
// Policy loading: the shipped policy, mutated

#[cfg(feature = "toml")] // the TOML spelling needs the `toml` feature (the CLI's)
mod policies {
    use super::*;
    use gate::policy::{self, PolicyErrors};

    const SAMPLE: &str = include_str!("../policy/gate.toml");

    /// The places an error may name: a syntax position, the whole file, or a key path under one of
    /// the file's top-level keys.
    fn has_a_place(e: &PolicyErrors) -> Result<(), String> {
        if e.0.is_empty() {
            return Err("an error without a problem".into());
        }
        const TOP: &[&str] = &["version", "defaults", "risk", "routes", "attack", "rules", "no_js", "otp"];
        for p in &e.0 {
            let l = p.location.as_str();
            let top = l.split(['.', '[']).next().unwrap_or("");
            let placed = l.starts_with("line ") || l == "file" || TOP.contains(&top);
            if !placed || p.message.trim().is_empty() {
                return Err(format!("no place or no message: {p:?}"));
            }
        }
        Ok(())
    }

    /// Loads, checks the error places, and for a valid policy checks that its JSON form (what
    /// `gate policy json` prints, what the Worker reads) loads to the same policy.
    fn check(text: &str) -> Result<(), String> {
        let _ = policy::routes_only(text);
        match policy::load(text) {
            Err(e) => has_a_place(&e),
            Ok(p) => {
                if text.trim_start().starts_with('{') {
                    return Ok(());
                }
                let json = policy::to_json(text).map_err(|e| format!("valid, yet to_json fails: {e}"))?;
                let back = policy::load(&json).map_err(|e| format!("its JSON form does not load: {e}"))?;
                if back == p { Ok(()) } else { Err("its JSON form loads to another policy".into()) }
            }
        }
    }

    /// One text edit at a fraction of the file: insert, delete, replace a line, or duplicate one.
    #[derive(Clone, Debug)]
    enum Edit {
        Insert(prop::sample::Index, String),
        Delete(prop::sample::Index, usize),
        ReplaceLine(prop::sample::Index, String),
        DuplicateLine(prop::sample::Index),
    }

    fn toml_ish() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("=".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just("\n".to_string()),
            Just("[[rules]]\nname = \"x\"\naction = \"deny\"\n".to_string()),
            Just("[attack.cohort_levels]\n".to_string()),
            Just("{ at = 5, busy = true }".to_string()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("99999999999".to_string()),
            Just("1e400".to_string()),
            Just("\"POST /*\"".to_string()),
            Just("routes = [\"/nope\"]\n".to_string()),
            Just(
                "when = { cidr = [\"10.0.0.0/99\"], reasons = [\"bogus\"], phone_code = [\"+999\"] }\n"
                    .to_string()
            ),
            "[ -~]{0,16}",
            ".{0,8}",
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<prop::sample::Index>(), toml_ish()).prop_map(|(i, s)| Edit::Insert(i, s)),
            (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
            (any::<prop::sample::Index>(), toml_ish()).prop_map(|(i, s)| Edit::ReplaceLine(i, s)),
            any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
        ]
    }

    fn apply(text: &str, e: &Edit) -> String {
        let boundary = |i: &prop::sample::Index| {
            let mut at = i.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        match e {
            Edit::Insert(i, s) => {
                let at = boundary(i);
                format!("{}{s}{}", &text[..at], &text[at..])
            }
            Edit::Delete(i, n) => {
                let at = boundary(i);
                let mut end = (at + n).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                format!("{}{}", &text[..at], &text[end..])
            }
            Edit::ReplaceLine(i, s) => {
                let mut lines: Vec<&str> = text.lines().collect();
                let at = i.index(lines.len());
                lines[at] = s;
                lines.join("\n") + "\n"
            }
            Edit::DuplicateLine(i) => {
                let mut lines: Vec<&str> = text.lines().collect();
                let at = i.index(lines.len());
                lines.insert(at, lines[at]);
                lines.join("\n") + "\n"
            }
        }
    }

    /// A JSON edit at a path picked by index: replace a value, remove a key, or add an unknown one.
    fn json_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(null)),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (0u64..100).prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::from),
            Just(json!([])),
            Just(json!({})),
            Just(json!(["POST /signup"])),
            Just(json!([{ "at": 5, "busy": true }])),
            Just(json!({ "name": "r", "action": "challenge", "difficulty": 40 })),
        ]
    }

    /// Every path into a JSON document (object keys and array positions), parents first.
    fn paths(v: &Value, here: Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(here.clone());
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let mut p = here.clone();
                    p.push(Value::from(k.clone()));
                    paths(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let mut p = here.clone();
                    p.push(Value::from(i));
                    paths(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn at_path<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
        let mut cur = v;
        for step in path {
            cur = match step {
                Value::String(k) => cur.get_mut(k.as_str())?,
                Value::Number(n) => cur.get_mut(usize::try_from(n.as_u64()?).ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn mutated_toml_policies_never_panic_and_errors_have_places(
            edits in proptest::collection::vec(edit(), 1..4),
        ) {
            let mut text = SAMPLE.to_string();
            for e in &edits {
                text = apply(&text, e);
            }
            if let Err(why) = check(&text) {
                return Err(TestCaseError::fail(format!("{why}\n---\n{text}")));
            }
        }

        #[test]
        fn mutated_json_policies_never_panic_and_errors_have_places(
            which in any::<prop::sample::Index>(),
            how in 0usize..3,
            value in json_value(),
            key in "[a-z_]{1,10}",
        ) {
            let mut doc: Value = serde_json::from_str(&policy::to_json(SAMPLE).unwrap()).unwrap();
            let mut all = Vec::new();
            paths(&doc, Vec::new(), &mut all);
            let path = all[which.index(all.len())].clone();
            match (how, path.split_last()) {
                (0, _) | (_, None) => {
                    if let Some(v) = at_path(&mut doc, &path) {
                        *v = value;
                    }
                }
                (1, Some((Value::String(k), parent))) => {
                    if let Some(Value::Object(m)) = at_path(&mut doc, parent) {
                        m.remove(k);
                    }
                }
                _ => {
                    if let Some(Value::Object(m)) = at_path(&mut doc, &path) {
                        m.insert(key, value);
                    }
                }
            }
            let text = doc.to_string();
            if let Err(why) = check(&text) {
                return Err(TestCaseError::fail(format!("{why}\n---\n{text}")));
            }
        }

        #[test]
        fn valid_policies_round_trip_through_json(
            difficulty in 1u32..=32,
            k in 1u32..=64,
            shadow in any::<bool>(),
            more_work_at in 0u32..100,
            gap in 1u32..100,
            max_extra_bits in 0u32..=15,
            window_secs in 10u32..=3600,
            retry_after_secs in 1u32..=86_400,
        ) {
            let text = SAMPLE
                .replace("difficulty = 17\n", &format!("difficulty = {difficulty}\n"))
                .replace("k = 32\n", &format!("k = {k}\n"))
                .replace("shadow = false\n", &format!("shadow = {shadow}\n"))
                .replace("more_work_at = 30\n", &format!("more_work_at = {more_work_at}\n"))
                .replace("deny_at = 80\n", &format!("deny_at = {}\n", more_work_at + gap))
                .replace("max_extra_bits = 6\n", &format!("max_extra_bits = {max_extra_bits}\n"))
                .replace("window_secs = 60\n", &format!("window_secs = {window_secs}\n"))
                .replace("retry_after_secs = 120\n", &format!("retry_after_secs = {retry_after_secs}\n"));
            let p = policy::load(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!((u32::from(p.difficulty), u32::from(p.k), p.shadow), (difficulty, k, shadow));
            prop_assert_eq!(p.attack.window_secs, window_secs);
            let json = policy::to_json(&text).unwrap();
            prop_assert_eq!(policy::load(&json).unwrap(), p);
        }
    }
}
