//! The no-JavaScript sign-up path's settings, its cohort keys and its budget.

use super::{CohortKey, CohortKind, CohortState, Scope, Subject};

/// The no-JavaScript sign-up path: a browser that did not run the widget waits instead of
/// solving, within a small budget of its own (docs/policy.md § No JavaScript).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoJs {
    /// Normalized protected paths where it is on (empty: off).
    pub routes: Vec<String>,
    /// Seconds between the wait page and the earliest accepted "Continue".
    pub wait_secs: u32,
    /// Seconds a wait token is valid after it is issued.
    pub ttl_secs: u32,
    /// The no-JS counters' decay time: a budget is "no-JS sign-ups per window".
    pub window_secs: u32,
    /// From this rate on a cohort's no-JS sign-ups are shed (`None`: the whole site).
    pub busy_at: Vec<(Option<CohortKind>, u32)>,
}

impl NoJs {
    /// Whether the path is on for a protected route.
    pub fn allows(&self, route: &str) -> bool {
        self.routes.iter().any(|r| r == route)
    }

    /// The no-JS cohort keys of a request: `nojs:asn:64500`, `nojs:ip_prefix:…`, `nojs:site`.
    pub fn keys(&self, s: &Subject<'_>) -> Vec<CohortKey> {
        let kinds: Vec<CohortKind> = self.busy_at.iter().filter_map(|(k, _)| *k).collect();
        let mut keys: Vec<CohortKey> = s.cohorts(&kinds).iter().filter_map(CohortKey::no_js).collect();
        if self.busy_at.iter().any(|(k, _)| k.is_none()) {
            keys.push(CohortKey::no_js_site());
        }
        keys
    }

    /// Why no-JS sign-ups are shed for this request, if they are: a no-JS cohort's rate (read
    /// from the counters) at its budget, or a run-time site panic. Pure.
    pub fn shed(&self, state: &CohortState) -> Option<String> {
        if state.panicked.contains(&CohortKey::site()) {
            return Some("panic: site".into());
        }
        for (key, rate) in &state.rates {
            let kind = match key.scope() {
                Scope::NoJs(kind) => Some(*kind),
                Scope::NoJsSite => None,
                _ => continue,
            };
            if let Some((_, at)) = self.busy_at.iter().find(|(k, _)| *k == kind)
                && *rate >= f64::from(*at)
            {
                return Some(format!("no-JS cohort {key} at {rate:.1}/window, budget {at}"));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load;
    use crate::policy::testing::subject;
    use crate::signals::Assessment;

    #[test]
    fn no_js_is_off_by_default_and_has_its_own_budget() {
        let off = load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n").unwrap();
        assert!(!off.no_js.allows("/signup"));
        let on =
            load("version = 1\n[routes]\nprotected = [\"POST /signup\"]\n[no_js]\nroutes = [\"/SignUp/\"]\n")
                .unwrap();
        assert!(on.no_js.allows("/signup"), "routes are normalized like the rules' routes");
        assert_eq!((on.no_js.wait_secs, on.no_js.ttl_secs, on.no_js.window_secs), (5, 600, 600));
        let a = Assessment::default();
        let keys = on.no_js.keys(&subject(&a));
        let names: Vec<&str> = keys.iter().map(CohortKey::as_str).collect();
        assert_eq!(names, ["nojs:asn:3320", "nojs:ip_prefix:198.51.100.0/24", "nojs:site"]);
        // the JS path never counts or reads these: their kind is not a JS cohort kind
        assert!(keys.iter().all(|k| k.kind().is_none()));
        let state = |rates: &[(&str, f64)]| CohortState {
            rates: rates.iter().filter_map(|(k, r)| Some((CohortKey::parse(k)?, *r))).collect(),
            ..CohortState::default()
        };
        assert_eq!(
            on.no_js.shed(&state(&[("nojs:asn:3320", 9.9), ("nojs:ip_prefix:198.51.100.0/24", 2.9)])),
            None
        );
        let why = on
            .no_js
            .shed(&state(&[("nojs:asn:3320", 1.0), ("nojs:ip_prefix:198.51.100.0/24", 3.0)]))
            .unwrap();
        assert!(why.contains("nojs:ip_prefix:198.51.100.0/24") && why.contains("budget 3"), "{why}");
        assert!(on.no_js.shed(&state(&[("nojs:site", 60.0)])).is_some());
        // a JS cohort at any rate does not shed the no-JS path here (the JS decision does that)
        assert_eq!(on.no_js.shed(&state(&[("asn:3320", 500.0), ("nojs:planet:1", 99.0)])), None);
        let panicked = CohortState { panicked: vec![CohortKey::site()], ..CohortState::default() };
        assert_eq!(on.no_js.shed(&panicked).as_deref(), Some("panic: site"));
    }
}
