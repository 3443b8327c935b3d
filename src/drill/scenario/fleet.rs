//! Loading one `[[attackers]]` fleet: its tier, budget, browsers, network, and how it adapts;
//! every problem reported with its place, as for the rest of the file.

use super::file::{AttackerFile, BudgetFile, CeilingFile};
use super::load::{check_route, country_weights, device_weights, network_weights, patience, rate};
use super::*;

/// Reads one fleet (problems go to `p`; the fleet returned is usable either way).
pub(super) fn attacker(
    p: &mut Problems,
    at: &str,
    f: &AttackerFile,
    networks: &[Network],
    devices: &[Device],
    duration: f64,
) -> Attacker {
    check_route(p, at, &f.route);
    let rate = rate(p, at, &f.rate, duration);
    let nets = network_weights(p, at, &f.networks, networks);
    let countries = if f.countries.is_empty() {
        vec![("US".to_string(), 1.0)]
    } else {
        country_weights(p, at, &f.countries, true)
    };
    let realism = Realism::parse(&f.realism);
    if realism.is_none() {
        p.add(
            format!("{at}.realism"),
            format!("{:?} is not one of {}", f.realism, Realism::ALL.map(Realism::name).join(", ")),
        );
    }
    let realism = realism.unwrap_or(Realism::Tool);
    let budget = budget(p, at, &f.budget, f.flood);
    let fleet_devices = if f.devices.is_empty() {
        // a phone farm is phones; everything else solves or browses on desktops
        let class = if realism == Realism::PhoneFarm { "phone" } else { "desktop" };
        vec![(devices.iter().position(|d| d.name == class).unwrap_or(0), 1.0)]
    } else {
        if realism.script() {
            p.add(format!("{at}.devices"), "a script solves on its budget's cores or GPUs, not on devices");
        }
        device_weights(p, at, &f.devices, devices)
    };
    if budget.devices && realism.script() {
        p.add(
            format!("{at}.budget.devices"),
            format!("a {} fleet is a script: its budget is cores or gpus", realism.name()),
        );
    }
    if realism == Realism::PhoneFarm
        && fleet_devices.iter().any(|(d, _)| devices.get(*d).is_some_and(|d| !d.mobile))
    {
        p.add(format!("{at}.devices"), "a phone farm's devices are phones (phone, old_phone)");
    }
    for (j, b) in f.browsers.iter().enumerate() {
        if !realism.browser_headers() {
            p.add(
                format!("{at}.browsers"),
                format!("a {} fleet wears no real browser's headers", realism.name()),
            );
            break;
        }
        if crate::drill::population::browsers_matching(b).is_empty() {
            p.add(
                format!("{at}.browsers[{j}]"),
                format!("{b:?} matches no real browser in tests/data/corpus.json"),
            );
        }
    }
    let tls = match f.tls.as_deref() {
        None | Some("library") => Tls::Library,
        Some("impersonated") => Tls::Impersonated,
        Some(other) => {
            p.add(format!("{at}.tls"), format!("{other:?} is not one of library, impersonated"));
            Tls::Library
        }
    };
    if f.tls.is_some() && !realism.script() {
        p.add(format!("{at}.tls"), format!("a {} fleet speaks its browser's own TLS", realism.name()));
    }
    let proxy = f.proxy.as_ref().map(|x| {
        let (lo, hi) = x.extra_rtt_ms;
        if lo > hi || hi > 5_000 {
            p.add(format!("{at}.proxy.extra_rtt_ms"), format!("[{lo}, {hi}] is not a range within 0..=5000"));
        }
        (lo.min(hi), hi.max(lo))
    });
    if !f.rotate && !(1..=100_000).contains(&f.addresses) {
        p.add(format!("{at}.addresses"), format!("{} is outside 1..=100000", f.addresses));
    }
    if f.replays > 100 {
        p.add(format!("{at}.replays"), format!("{} is outside 0..=100", f.replays));
    }
    if f.no_js && f.flood {
        p.add(
            format!("{at}.no_js"),
            "a challenge flood fetches challenges: it has no form to post without them",
        );
    }
    if f.flood && f.replays > 0 {
        p.add(format!("{at}.replays"), "a challenge flood never submits, so it has nothing to replay");
    }
    let mut codes = Vec::new();
    for (j, c) in f.phone_codes.iter().enumerate() {
        let digits = c.trim_start_matches('+');
        if !crate::request::phone::is_calling_code(digits) {
            p.add(format!("{at}.phone_codes[{j}]"), format!("{c:?} is not an assigned calling code"));
        }
        codes.push(digits.to_string());
    }
    let phone_ranges = super::sms::ranges(p, at, &f.phone_ranges);
    if !f.phone_ranges.is_empty() && !f.phone_codes.is_empty() {
        p.add(format!("{at}.phone_codes"), "phone_ranges gives the calling codes: choose one");
    }
    if f.sequential && f.phone_ranges.is_empty() {
        p.add(format!("{at}.sequential"), "needs phone_ranges");
    }
    let adapt = adapt(p, at, f);
    if f.flood && (adapt.ceiling.is_some() || adapt.stockpile.is_some() || adapt.like_a_person.is_some()) {
        p.add(at, "a challenge flood never solves or submits: ceiling, stockpile and patience do not apply");
    }
    if f.retry_on_busy && adapt.like_a_person.is_some() {
        p.add(
            format!("{at}.patience"),
            "retry_on_busy resends the same solution; patience retries as a person does: choose one",
        );
    }
    let value = f.value.as_ref().and_then(|v| match (v.per_account, v.per_sms) {
        (Some(a), None) => Some(Value::PerAccount(a)),
        (None, Some(s)) => Some(Value::PerSms(s)),
        _ => {
            p.add(format!("{at}.value"), "needs exactly one of per_account, per_sms");
            None
        }
    });
    if let Some(v) = &value
        && !(v.amount().is_finite() && v.amount() >= 0.0)
    {
        p.add(format!("{at}.value"), format!("{} is not an amount >= 0", v.amount()));
    }
    Attacker {
        name: f.name.clone(),
        route: f.route.clone(),
        rate,
        budget,
        networks: nets,
        countries,
        realism,
        rotate: f.rotate,
        addresses: f.addresses.max(1),
        retry_on_busy: f.retry_on_busy,
        replays: f.replays,
        flood: f.flood,
        no_js: f.no_js,
        phone_codes: codes,
        phone_ranges,
        sequential: f.sequential,
        verify: super::sms::verify(p, at, f.verify.as_ref()),
        browsers: f.browsers.clone(),
        devices: fleet_devices,
        tls,
        proxy,
        adapt,
        value,
    }
}

fn budget(p: &mut Problems, at: &str, b: &BudgetFile, flood: bool) -> Budget {
    let named = [b.cores.is_some(), b.gpus.is_some(), b.devices.is_some()].iter().filter(|x| **x).count();
    let budget = if named > 1 {
        p.add(
            format!("{at}.budget"),
            "names more than one of cores, gpus, devices: one fleet solves on one kind",
        );
        None
    } else if let Some(cores) = b.cores {
        if b.gpu_hash_rate.is_some() {
            p.add(format!("{at}.budget.gpu_hash_rate"), "only applies with gpus");
        }
        Some(Budget {
            solvers: cores,
            hash_rate: b.core_hash_rate.unwrap_or(CORE_HASH_RATE),
            gpu: false,
            devices: false,
        })
    } else if let Some(gpus) = b.gpus {
        if b.core_hash_rate.is_some() {
            p.add(format!("{at}.budget.core_hash_rate"), "only applies with cores");
        }
        Some(Budget {
            solvers: gpus,
            hash_rate: b.gpu_hash_rate.unwrap_or(GPU_HASH_RATE),
            gpu: true,
            devices: false,
        })
    } else if let Some(devices) = b.devices {
        if b.core_hash_rate.is_some() || b.gpu_hash_rate.is_some() {
            p.add(format!("{at}.budget"), "devices solve at their class's rate ([devices.<class>])");
        }
        Some(Budget { solvers: devices, hash_rate: 0.0, gpu: false, devices: true })
    } else if flood {
        Some(Budget { solvers: 1, hash_rate: CORE_HASH_RATE, gpu: false, devices: false })
    } else {
        p.add(
            format!("{at}.budget"),
            "needs cores, gpus or devices (a challenge flood, flood = true, needs none)",
        );
        None
    };
    if let Some(b) = &budget {
        if !(1..=1_000_000).contains(&b.solvers) {
            p.add(format!("{at}.budget"), format!("{} solvers is outside 1..=1000000", b.solvers));
        }
        let rated = b.hash_rate.is_finite() && b.hash_rate > 0.0;
        if !b.devices && !rated {
            p.add(format!("{at}.budget"), format!("hash rate {} is not a positive number", b.hash_rate));
        }
    }
    budget.unwrap_or(Budget { solvers: 1, hash_rate: CORE_HASH_RATE, gpu: false, devices: false })
}

fn adapt(p: &mut Problems, at: &str, f: &AttackerFile) -> Adapt {
    let pulse = f.pulse.as_ref().map(|x| {
        if x.on_secs == 0 || x.on_secs + x.off_secs > 86_400 {
            p.add(
                format!("{at}.pulse"),
                format!(
                    "on {} s, off {} s: on must be at least 1 s and the period at most a day",
                    x.on_secs, x.off_secs
                ),
            );
        }
        Pulse { on_secs: x.on_secs.max(1), off_secs: x.off_secs }
    });
    let ceiling = f.ceiling.as_ref().map(|c| ceiling(p, &format!("{at}.ceiling"), c));
    let stockpile = f.stockpile.as_ref().map(|s| {
        // a challenge lives 300 s by default (CHALLENGE_TTL): a solution held longer expires
        if !(1..=280).contains(&s.every_secs) {
            p.add(
                format!("{at}.stockpile.every_secs"),
                format!("{} is outside 1..=280 (a challenge lives 300 s)", s.every_secs),
            );
        }
        Stockpile { every_secs: s.every_secs.clamp(1, 280) }
    });
    let like_a_person = f.patience.as_ref().map(|pa| patience(p, &format!("{at}.patience"), pa));
    Adapt { pulse, ceiling, stockpile, cheapest_cohort: f.cheapest_cohort, like_a_person }
}

fn ceiling(p: &mut Problems, at: &str, c: &CeilingFile) -> Ceiling {
    let limit = match (c.solver_seconds, c.money) {
        (Some(s), None) => Some(Cost::SolverSeconds(s)),
        (None, Some(m)) => Some(Cost::Money(m)),
        _ => {
            p.add(at, "needs exactly one of solver_seconds, money");
            None
        }
    };
    if let Some(Cost::SolverSeconds(x) | Cost::Money(x)) = limit
        && !(x.is_finite() && x > 0.0)
    {
        p.add(at, format!("{x} is not a positive limit"));
    }
    let limit = limit.unwrap_or(Cost::Money(f64::INFINITY));
    let then = match c.then.as_str() {
        "wait" => {
            if !(1..=86_400).contains(&c.wait_secs) {
                p.add(format!("{at}.wait_secs"), format!("{} is outside 1..=86400", c.wait_secs));
            }
            AboveCeiling::Wait(c.wait_secs.max(1))
        }
        "stop" => AboveCeiling::Stop,
        other => {
            p.add(format!("{at}.then"), format!("{other:?} is not one of wait, stop"));
            AboveCeiling::Stop
        }
    };
    Ceiling { limit, then }
}
