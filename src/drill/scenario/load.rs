//! Loading: parse the file, check every key, and build the validated scenario, reporting
//! every problem at once with its place.

use super::file::*;
use super::*;

// ---------------------------------------------------------------------------------------------
// Loading

/// Reads and validates a scenario, reporting every problem at once.
pub fn load(text: &str) -> Result<Scenario, ScenarioErrors> {
    let file: File = toml::from_str(text).map_err(|e| {
        let location = crate::policy::toml_location(text, &e);
        ScenarioErrors(vec![ScenarioError { location, message: e.message().trim().to_string() }])
    })?;
    let mut p = Problems(Vec::new());
    if file.version != VERSION {
        p.add("version", format!("{} is not supported (this drill reads version {VERSION})", file.version));
    }
    if file.name.trim().is_empty() {
        p.add("name", "must not be empty");
    }
    if !(10..=86_400).contains(&file.duration_secs) {
        p.add("duration_secs", format!("{} is outside 10..=86400", file.duration_secs));
    }
    let duration = f64::from(file.duration_secs);

    if file.origin.signup_capacity_per_min == 0 {
        p.add("origin.signup_capacity_per_min", "must be at least 1");
    }
    if file.origin.otp_capacity_per_min.is_some() && file.origin.otp_route.is_none() {
        p.add("origin.otp_capacity_per_min", "needs origin.otp_route");
    }
    if let Some(r) = &file.origin.otp_route
        && !r.starts_with('/')
    {
        p.add("origin.otp_route", format!("{r:?} is not a path"));
    }

    let d = &file.drill;
    if d.discount_bits > 24 {
        p.add("drill.discount_bits", format!("{} is outside 0..=24", d.discount_bits));
    }
    if !(1..=3600).contains(&d.max_queue_secs) {
        p.add("drill.max_queue_secs", format!("{} is outside 1..=3600", d.max_queue_secs));
    }
    if d.rtt_ms > 10_000 {
        p.add("drill.rtt_ms", format!("{} is outside 0..=10000", d.rtt_ms));
    }
    if !(1..=1000).contains(&d.isolates) {
        p.add("drill.isolates", format!("{} is outside 1..=1000", d.isolates));
    }
    if d.isolate_life_secs > 0 && d.isolate_life_secs < 10 {
        p.add("drill.isolate_life_secs", format!("{} is below 10 (0: never restarted)", d.isolate_life_secs));
    }
    let m = &file.money;
    for (key, v) in [("money.core_hour", m.core_hour), ("money.gpu_hour", m.gpu_hour)] {
        if !(v.is_finite() && v >= 0.0) {
            p.add(key, format!("{v} is not a price >= 0"));
        }
    }
    if m.currency.trim().is_empty() || m.currency.len() > 8 {
        p.add("money.currency", format!("{:?} is not a currency (1 to 8 characters)", m.currency));
    }

    let mut devices: Vec<Device> = DEVICES
        .iter()
        .map(|&(name, hash_rate, threads, overhead_ms, mobile)| Device {
            name: name.to_string(),
            hash_rate,
            threads,
            overhead_ms,
            mobile,
        })
        .collect();
    for (name, over) in &file.devices {
        let at = format!("devices.{name}");
        let Some(dev) = devices.iter_mut().find(|d| &d.name == name) else {
            p.add(at, format!("not one of {}", device_names()));
            continue;
        };
        if let Some(h) = over.hash_rate {
            if !(h.is_finite() && h > 0.0) {
                p.add(format!("{at}.hash_rate"), format!("{h} is not a positive number"));
            }
            dev.hash_rate = h;
        }
        if let Some(t) = over.threads {
            if !(1..=64).contains(&t) {
                p.add(format!("{at}.threads"), format!("{t} is outside 1..=64"));
            }
            dev.threads = t;
        }
        if let Some(o) = over.overhead_ms {
            dev.overhead_ms = o;
        }
    }

    let mut networks = Vec::new();
    for (i, n) in file.networks.iter().enumerate() {
        let at = format!("networks[{i}] {:?}", n.name);
        if networks.iter().any(|m: &Network| m.name == n.name) {
            p.add(&at, "the name is used by an earlier network");
        }
        let kind = NetworkKind::parse(&n.kind);
        if kind.is_none() {
            p.add(
                format!("{at}.kind"),
                format!("{:?} is not one of residential, mobile, carrier_cgnat, university, hosting", n.kind),
            );
        }
        let asns: Vec<u32> = match (n.asns, n.asn_list.is_empty()) {
            (Some(count), true) => {
                if !(1..=10_000).contains(&count) {
                    p.add(format!("{at}.asns"), format!("{count} is outside 1..=10000"));
                }
                synthetic_asns(i, count.min(10_000))
            }
            (None, false) => {
                for (j, a) in n.asn_list.iter().enumerate() {
                    if *a == 0 {
                        p.add(format!("{at}.asn_list[{j}]"), "0 is not an ASN");
                    } else if kind == Some(NetworkKind::Hosting) && !crate::signals::hosting_asn(*a) {
                        p.add(
                            format!("{at}.asn_list[{j}]"),
                            format!("AS{a} is not on data/hosting-asns.txt: the gate would not see a hosting network"),
                        );
                    } else if kind.is_some_and(|k| k != NetworkKind::Hosting)
                        && crate::signals::hosting_asn(*a)
                    {
                        p.add(
                            format!("{at}.asn_list[{j}]"),
                            format!("AS{a} is on data/hosting-asns.txt: use kind = \"hosting\""),
                        );
                    }
                }
                n.asn_list.clone()
            }
            _ => {
                p.add(&at, "needs either asns (a count) or asn_list");
                Vec::new()
            }
        };
        if kind == Some(NetworkKind::Hosting) && n.asns.is_some() {
            p.add(format!("{at}.asns"), "a hosting network needs asn_list (real hosting ASNs)");
        }
        if !(1..=4096).contains(&n.prefixes) {
            p.add(format!("{at}.prefixes"), format!("{} is outside 1..=4096", n.prefixes));
        }
        let countries = if n.countries.is_empty() {
            Vec::new()
        } else {
            country_weights(&mut p, &at, &n.countries, false)
        };
        if countries.len() > asns.len() && !asns.is_empty() {
            p.add(
                format!("{at}.countries"),
                format!("{} countries for {} ASNs: each ASN is in one country", countries.len(), asns.len()),
            );
        }
        networks.push(Network {
            name: n.name.clone(),
            kind: kind.unwrap_or(NetworkKind::Residential),
            asns,
            prefixes: n.prefixes.clamp(1, 4096),
            countries,
        });
    }

    let mut names: Vec<String> = Vec::new();
    let mut unique = |p: &mut Problems, at: &str, name: &str| {
        if names.iter().any(|n| n == name) {
            p.add(at, "the name is used by an earlier population");
        }
        names.push(name.to_string());
    };

    let mut people = Vec::new();
    for (i, f) in file.people.iter().enumerate() {
        let at = format!("people[{i}] {:?}", f.name);
        unique(&mut p, &at, &f.name);
        check_route(&mut p, &at, &f.route);
        let rate = rate(&mut p, &at, &f.rate, duration);
        let nets = network_weights(&mut p, &at, &f.networks, &networks);
        let countries = country_weights(&mut p, &at, &f.countries, false);
        let devs = if f.devices.is_empty() {
            vec![(0, 1.0)]
        } else {
            device_weights(&mut p, &at, &f.devices, &devices)
        };
        for (j, b) in f.browsers.iter().enumerate() {
            if crate::drill::population::browsers_matching(b).is_empty() {
                p.add(
                    format!("{at}.browsers[{j}]"),
                    format!("{b:?} matches no real browser in tests/data/corpus.json"),
                );
            }
        }
        let pa = &f.patience;
        let patience = patience(&mut p, &format!("{at}.patience"), pa);
        let fill = fill(&mut p, &at, f.fill_secs.as_ref());
        let mut quirks = Vec::new();
        for (name, share) in &f.quirks {
            let qat = format!("{at}.quirks.{name}");
            match Quirk::parse(name) {
                Some(q) => quirks.push((q, *share)),
                None => p.add(&qat, format!("not one of {}", Quirk::ALL.map(Quirk::name).join(", "))),
            }
            probability(&mut p, &qat, *share);
        }
        let quirk_total: f64 = quirks.iter().map(|q| q.1).sum::<f64>() + f.no_js.max(0.0);
        if quirk_total > 1.0 {
            p.add(format!("{at}.quirks"), format!("shares and no_js add up to {quirk_total}, more than 1"));
        }
        probability(&mut p, &format!("{at}.no_js"), f.no_js);
        let vpn = quirks.iter().any(|(q, s)| *q == Quirk::Vpn && *s > 0.0);
        let vpn_networks = if f.vpn_networks.is_empty() {
            if vpn {
                p.add(format!("{at}.vpn_networks"), "quirks.vpn needs vpn_networks (where the VPNs exit)");
            }
            Vec::new()
        } else {
            let v = network_weights(&mut p, &format!("{at}.vpn_networks"), &f.vpn_networks, &networks);
            for (n, _) in &v {
                if networks.get(*n).is_some_and(|n| n.kind != NetworkKind::Hosting) {
                    p.add(
                        format!("{at}.vpn_networks"),
                        format!(
                            "{:?} is not a hosting network (commercial VPNs exit in data centres)",
                            networks.get(*n).map_or("", |n| n.name.as_str())
                        ),
                    );
                }
            }
            v
        };
        people.push(People {
            name: f.name.clone(),
            route: f.route.clone(),
            rate,
            networks: nets,
            countries,
            devices: devs,
            browsers: f.browsers.clone(),
            patience,
            fill,
            quirks,
            vpn_networks,
            no_js: f.no_js,
            verify: super::sms::verify(&mut p, &at, f.verify.as_ref())
                .or_else(|| super::sms::people_default(&f.route, file.origin.otp_route.as_deref())),
        });
    }

    let mut attackers = Vec::new();
    for (i, f) in file.attackers.iter().enumerate() {
        let at = format!("attackers[{i}] {:?}", f.name);
        unique(&mut p, &at, &f.name);
        attackers.push(super::fleet::attacker(&mut p, &at, f, &networks, &devices, duration));
    }
    if people.is_empty() && attackers.is_empty() {
        p.add("file", "has no [[people]] and no [[attackers]]: nothing would arrive");
    }
    if !p.0.is_empty() {
        return Err(ScenarioErrors(p.0));
    }
    Ok(Scenario {
        name: file.name,
        description: file.description,
        duration_secs: file.duration_secs,
        seed: file.seed,
        origin: Origin {
            signup_capacity_per_min: file.origin.signup_capacity_per_min,
            otp_route: file.origin.otp_route,
            otp_capacity_per_min: file.origin.otp_capacity_per_min,
            sms_price: file.origin.sms_price.filter(|p| p.is_finite() && *p >= 0.0),
        },
        drill: DrillSettings {
            discount_bits: u8::try_from(d.discount_bits).unwrap_or(0),
            max_queue_secs: d.max_queue_secs,
            rtt_ms: d.rtt_ms,
            isolates: d.isolates.clamp(1, 1000),
            isolate_life_secs: d.isolate_life_secs,
        },
        money: Money {
            core_hour: file.money.core_hour,
            gpu_hour: file.money.gpu_hour,
            currency: file.money.currency.clone(),
        },
        devices,
        networks,
        people,
        attackers,
    })
}

pub(super) fn device_names() -> String {
    DEVICES.iter().map(|d| d.0).collect::<Vec<_>>().join(", ")
}

/// ASNs for a network given as a count: from the private 32-bit range (RFC 6996), so they
/// are never on the hosting list and never collide with a real network's.
fn synthetic_asns(network: usize, count: u32) -> Vec<u32> {
    let base = 4_200_000_000u32.saturating_add(u32::try_from(network).unwrap_or(0).saturating_mul(10_000));
    (0..count).map(|i| base.saturating_add(i)).collect()
}

pub(super) fn check_route(p: &mut Problems, at: &str, route: &str) {
    if !route.starts_with('/') || route.contains(['?', '#', ' ']) {
        p.add(format!("{at}.route"), format!("{route:?} is not a path"));
    }
}

pub(super) fn rate(p: &mut Problems, at: &str, points: &[(f64, f64)], duration: f64) -> Rate {
    let at = format!("{at}.rate");
    if points.len() < 2 {
        p.add(&at, "needs at least two [seconds, per_second] points");
    }
    let mut last = f64::NEG_INFINITY;
    for (i, (t, r)) in points.iter().enumerate() {
        if !t.is_finite() || *t < 0.0 || *t > duration {
            p.add(format!("{at}[{i}]"), format!("time {t} is outside 0..={duration}"));
        }
        if *t < last {
            p.add(format!("{at}[{i}]"), format!("time {t} is before the previous point's ({last})"));
        }
        last = *t;
        if !r.is_finite() || *r < 0.0 || *r > 1.0e6 {
            p.add(format!("{at}[{i}]"), format!("rate {r} is outside 0..=1000000 per second"));
        }
    }
    Rate(points.to_vec())
}

/// People's (and like-a-person fleets') patience, checked.
pub(super) fn patience(p: &mut Problems, at: &str, pa: &PatienceFile) -> Patience {
    if !(1..=3600).contains(&pa.give_up_secs) {
        p.add(format!("{at}.give_up_secs"), format!("{} is outside 1..=3600", pa.give_up_secs));
    }
    if pa.busy_answers > 20 {
        p.add(format!("{at}.busy_answers"), format!("{} is outside 0..=20", pa.busy_answers));
    }
    probability(p, &format!("{at}.retry_probability"), pa.retry_probability);
    if let Some(c) = pa.come_back_secs
        && !(1..=3600).contains(&c)
    {
        p.add(format!("{at}.come_back_secs"), format!("{c} is outside 1..=3600"));
    }
    if !(1..=3600).contains(&pa.line_secs) {
        p.add(format!("{at}.line_secs"), format!("{} is outside 1..=3600", pa.line_secs));
    }
    Patience {
        give_up_secs: pa.give_up_secs,
        busy_answers: pa.busy_answers,
        retry_probability: pa.retry_probability,
        come_back_secs: pa.come_back_secs,
        line_secs: pa.line_secs,
    }
}

/// A form-fill time, checked: 0 < median <= p90 <= 3600 s.
fn fill(p: &mut Problems, at: &str, f: Option<&FillFile>) -> Fill {
    let Some(f) = f else { return Fill::default() };
    let ok = |x: f64| x.is_finite() && x > 0.0 && x <= 3600.0;
    if !ok(f.median) || !ok(f.p90) || f.p90 < f.median {
        p.add(
            format!("{at}.fill_secs"),
            format!("median {} and p90 {} must be in (0, 3600] with median <= p90", f.median, f.p90),
        );
        return Fill::default();
    }
    Fill { median_secs: f.median, p90_secs: f.p90 }
}

/// Device classes by name, weighted.
pub(super) fn device_weights(
    p: &mut Problems,
    at: &str,
    given: &BTreeMap<String, f64>,
    devices: &[Device],
) -> Vec<(usize, f64)> {
    let mut v = Vec::new();
    for (name, w) in given {
        let wat = format!("{at}.devices.{name}");
        weight(p, &wat, *w);
        match devices.iter().position(|d| &d.name == name) {
            Some(j) => v.push((j, *w)),
            None => p.add(wat, format!("not one of {}", device_names())),
        }
    }
    nonzero(p, &format!("{at}.devices"), &v);
    v
}

pub(super) fn weight(p: &mut Problems, at: &str, w: f64) {
    if !(w.is_finite() && w >= 0.0) {
        p.add(at, format!("weight {w} is not a number >= 0"));
    }
}

pub(super) fn probability(p: &mut Problems, at: &str, x: f64) {
    if !(0.0..=1.0).contains(&x) {
        p.add(at, format!("{x} is outside 0..=1"));
    }
}

pub(super) fn nonzero<T>(p: &mut Problems, at: &str, v: &[(T, f64)]) {
    if !v.iter().any(|(_, w)| *w > 0.0) {
        p.add(at, "needs at least one weight above 0");
    }
}

pub(super) fn network_weights(
    p: &mut Problems,
    at: &str,
    given: &BTreeMap<String, f64>,
    networks: &[Network],
) -> Vec<(usize, f64)> {
    let mut v = Vec::new();
    for (name, w) in given {
        let wat = format!("{at}.networks.{name:?}");
        weight(p, &wat, *w);
        match networks.iter().position(|n| &n.name == name) {
            Some(i) => v.push((i, *w)),
            None => p.add(wat, "no [[networks]] entry has this name"),
        }
    }
    nonzero(p, &format!("{at}.networks"), &v);
    v
}

pub(super) fn country_weights(
    p: &mut Problems,
    at: &str,
    given: &BTreeMap<String, f64>,
    _attacker: bool,
) -> Weights {
    let mut v = Vec::new();
    for (cc, w) in given {
        let wat = format!("{at}.countries.{cc}");
        weight(p, &wat, *w);
        if !COUNTRIES.iter().any(|c| c.code == cc) {
            p.add(
                wat,
                format!(
                    "{cc:?} is not a country the drill knows (time zone, languages, calling code): {}",
                    COUNTRIES.iter().map(|c| c.code).collect::<Vec<_>>().join(" ")
                ),
            );
        }
        v.push((cc.clone(), *w));
    }
    nonzero(p, &format!("{at}.countries"), &v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 1
name = "t"
duration_secs = 60
[origin]
signup_capacity_per_min = 10
[[networks]]
name = "home"
kind = "residential"
asns = 3
[[people]]
name = "p"
rate = [[0, 1.0], [60, 1.0]]
networks = { home = 1.0 }
countries = { US = 1.0 }
"#;

    #[test]
    fn a_minimal_scenario_loads() {
        let s = load(MINIMAL).unwrap();
        assert_eq!(s.networks[0].asns.len(), 3);
        assert_eq!(s.people[0].route, "/signup");
        assert!((s.people[0].rate.expected() - 60.0).abs() < 1e-9);
    }

    #[test]
    fn rates_interpolate_and_vanish_outside() {
        let r = Rate(vec![(10.0, 0.0), (20.0, 10.0), (30.0, 10.0)]);
        assert_eq!(r.at(5.0), 0.0);
        assert!((r.at(15.0) - 5.0).abs() < 1e-9);
        assert_eq!(r.at(25.0), 10.0);
        assert_eq!(r.at(31.0), 0.0);
        assert_eq!(r.peak(), 10.0);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = load("version = 1\nname = \n").unwrap_err();
        assert!(e.0[0].location.starts_with("line 2"), "{e}");
    }
}
