use super::*;
use crate::policy::{BUNDLED, BUNDLED_FINGERPRINT, BUNDLED_PATH, fingerprint};

const SAMPLE: &str = include_str!("../../../policy/gate.toml");

#[test]
fn the_shipped_policy_loads() {
    let p = load(SAMPLE).unwrap();
    assert!(!p.protected.is_empty());
    assert_eq!((p.difficulty, p.k), (17, 32));
}

#[test]
fn the_bundled_json_is_the_shipped_toml() {
    // build.rs converts policy/gate.toml (GATE_POLICY unset in `cargo test`)
    assert!(is_json(BUNDLED));
    assert_eq!(load(BUNDLED).unwrap(), load(SAMPLE).unwrap());
    assert_eq!(BUNDLED_FINGERPRINT, fingerprint(SAMPLE));
    assert_eq!(BUNDLED_PATH, "policy/gate.toml");
    // what `gate policy json` prints for the POLICY var reads back as the same policy
    let json = to_json(SAMPLE).unwrap();
    assert!(is_json(&json) && !json.contains('\n'));
    assert_eq!(load(&json).unwrap(), load(SAMPLE).unwrap());
    assert!(to_json("version = 1\n[defaults]\nk = 0\n").is_err(), "only a valid policy");
}

#[test]
fn json_reads_like_toml() {
    let toml = "version = 1\n[defaults]\ndifficulty = 12\n[routes]\nprotected = [\"POST /join\"]\nphone_field = \"tel\"\n\
                [[rules]]\nname = \"cn\"\nwhen = { phone_code = [\"86\"], asn = [4134] }\naction = \"allow\"\n";
    let json = r#"{"version": 1, "defaults": {"difficulty": 12}, "routes": {"protected": ["POST /join"], "phone_field": "tel"},
                   "rules": [{"name": "cn", "when": {"phone_code": ["86"], "asn": [4134]}, "action": "allow"}]}"#;
    assert_eq!(load(json).unwrap(), load(toml).unwrap());
    assert_eq!(routes_only(json), routes_only(toml));
    // validation is the same, with the same places
    let e =
        load(r#"{"version": 1, "defaults": {"k": 0}, "routes": {"protected": ["POST /join"]}}"#).unwrap_err();
    assert_eq!(e.0[0].to_string(), "defaults.k: 0 is outside 1..=64");
    // syntax and type errors have a line and column, once
    let e = load("{\"version\": 1,\n \"routes\": {\"protected\": 7}}").unwrap_err();
    assert_eq!(e.0[0].location, "line 2, column 26", "{e}");
    assert!(!e.0[0].message.contains(" at line "), "{e}");
    let e = load("{\"version\": 1, \"routez\": {}}").unwrap_err();
    assert!(e.0[0].message.contains("unknown field `routez`"), "{e}");
}

#[test]
fn the_phone_region_is_a_region_of_the_numbering_plan() {
    let head = "version = 1\n[routes]\nprotected = [\"POST /join\"]\n";
    let p = load(&format!("{head}phone_field = \"tel\"\nphone_region = \"cn\"\n")).unwrap();
    assert_eq!(p.phone_region.map(|r| r.to_string()), Some("CN".into()));
    assert_eq!(load(&format!("{head}phone_field = \"tel\"\n")).unwrap().phone_region, None);
    for (routes, message) in [
        ("phone_field = \"tel\"\nphone_region = \"XX\"", "\"XX\" is not a region of the numbering plan"),
        ("phone_field = \"tel\"\nphone_region = \"China\"", "\"China\" is not a region"),
        ("phone_region = \"US\"", "needs routes.phone_field"),
    ] {
        let e = load(&format!("{head}{routes}\n")).unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert_eq!(e.0[0].location, "routes.phone_region", "{e}");
        assert!(e.0[0].message.contains(message), "{e}");
    }
}

#[test]
fn phone_types_are_named_from_the_numbering_data_and_need_the_whole_number() {
    let head = "version = 1\n[routes]\nprotected = [\"POST /otp\"]\n";
    let rule = |when: &str| format!("[[rules]]\nname = \"t\"\nwhen = {{ {when} }}\naction = \"deny\"\n");
    let p =
        load(&format!("{head}phone_field = \"tel\"\n{}", rule("phone_type = [\"premium_rate\", \"voip\"]")))
            .unwrap();
    assert_eq!(
        p.rules[0].when.phone_types,
        [crate::request::phone::NumberType::PremiumRate, crate::request::phone::NumberType::Voip]
    );
    // every problem at once: two unknown names and, with only a code field, no number to type
    let e = load(&format!(
        "{head}phone_code_field = \"cc\"\n{}",
        rule("phone_type = [\"premium\", \"voip\", \"Mobile\"]")
    ))
    .unwrap_err();
    let at: Vec<&str> = e.0.iter().map(|p| p.location.as_str()).collect();
    let place = "rules[0] \"t\".when.phone_type";
    assert_eq!(at, [format!("{place}[0]"), format!("{place}[2]"), place.to_string()], "{e}");
    assert!(e.0[0].message.contains("premium_rate, shared_cost"), "{e}");
    assert!(e.0[2].message.contains("routes.phone_field"), "{e}");
}

#[test]
fn routes_survive_errors_elsewhere() {
    let text = "version = 9\n[defaults]\nk = 0\n[routes]\nprotected = [\"POST /signup\"]\npass = [\"POST /login\"]\n";
    assert!(load(text).is_err());
    let (protected, pass) = routes_only(text).unwrap();
    assert_eq!((protected.len(), pass.len()), (1, 1));
    assert!(routes_only("version = 1\n[routes]\nprotected = [\"bad\"]\n").is_none());
    assert!(routes_only("not toml [").is_none());
    assert!(routes_only("{\"routes\": ").is_none());
    assert_eq!(fingerprint("x").len(), 16);
}

#[test]
fn capacity_entries_are_checked_all_at_once() {
    let head = "version = 1\n[routes]\nprotected = [\"POST /signup\", \"POST /otp\"]\n";
    let p = load(&format!(
        "{head}[[attack.capacity]]\nroute = \"/SignUp\"\nsignups_per_minute = 300\n\
         [[attack.capacity]]\nroute = \"/otp\"\notp_sends_per_minute = 40\nceiling_bits = 6\nperiod_secs = 5\n"
    ))
    .unwrap();
    assert_eq!(
        p.attack.capacity,
        vec![
            Capacity {
                route: "/signup".into(),
                what: CapacityOf::Signups,
                per_minute: 300,
                ceiling_bits: 8,
                period_secs: 10,
                line_max_wait_secs: 0
            },
            Capacity {
                route: "/otp".into(),
                what: CapacityOf::OtpSends,
                per_minute: 40,
                ceiling_bits: 6,
                period_secs: 5,
                line_max_wait_secs: 0
            },
        ]
    );
    let bad: &[(&str, &str)] = &[
        (
            "route = \"/login\"\nsignups_per_minute = 1",
            "attack.capacity[0].route: \"/login\" is not a protected route",
        ),
        ("route = \"signup\"\nsignups_per_minute = 1", "attack.capacity[0].route: \"signup\" is not a path"),
        ("route = \"/signup\"", "attack.capacity[0]: needs exactly one of"),
        ("route = \"/signup\"\nsignups_per_minute = 1\notp_sends_per_minute = 1", "needs exactly one of"),
        ("route = \"/signup\"\nsignups_per_minute = 0", "0 per minute is outside"),
        (
            "route = \"/signup\"\nsignups_per_minute = 9\nline_max_wait_secs = 3001",
            "attack.capacity[0].line_max_wait_secs: 3001 is over 3000",
        ),
        (
            "route = \"/signup\"\nsignups_per_minute = 9\nceiling_bits = 0",
            "ceiling_bits: 0 is outside 1..=15",
        ),
        (
            "route = \"/signup\"\nsignups_per_minute = 9\nperiod_secs = 61",
            "period_secs: 61 is outside 1..=60",
        ),
        ("route = \"/signup\"\nsignups_per_minute = 9\nspeed = 1", "unknown field `speed`"),
    ];
    for (entry, want) in bad {
        let e = load(&format!("{head}[[attack.capacity]]\n{entry}\n")).unwrap_err().to_string();
        assert!(e.contains(want), "{entry:?}: {e}");
    }
    // two entries for one route (any spelling), and every problem at once
    let e = load(&format!(
        "{head}[[attack.capacity]]\nroute = \"/signup\"\nsignups_per_minute = 9\n\
         [[attack.capacity]]\nroute = \"/signup/\"\nsignups_per_minute = 9\nceiling_bits = 99\n"
    ))
    .unwrap_err();
    assert_eq!(e.0.len(), 2, "{e}");
    assert!(e.to_string().contains("has a capacity already"), "{e}");
}

#[test]
fn syntax_errors_have_a_line() {
    let e = load("version = 1\n[routes]\nprotected = [\"POST /signup\"\n").unwrap_err();
    assert!(e.0[0].location.starts_with("line "), "{e}");
}
