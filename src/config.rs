//! Gate configuration from Worker vars and secrets, validated all at once.
//!
//! Sans-IO: [`load`] takes a lookup function, so the edge passes `env.var`/`env.secret` and
//! tests pass a map. Every problem is collected, so an operator sees them all in one log line.

use crate::policy::{self, Policy, PolicyErrors};
use crate::protocol::key::{Key, KeyRing};
use crate::request::route::Route;
use std::fmt;
use url::Url;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where passing requests go (scheme, host, port; no path).
    pub origin: Url,
    /// Path prefix of the gate's own endpoints, e.g. `/__gate`.
    pub prefix: String,
    /// The policy: routes, price, fingerprint thresholds, attack mode, rules.
    pub policy: Policy,
    /// Where the policy came from (`policy/gate.toml (bundled)` or `POLICY var`) and its
    /// fingerprint, for logs and stats.
    pub policy_source: String,
    /// Challenge lifetime in seconds.
    pub ttl: u64,
    /// Clock skew tolerated, seconds.
    pub skew: u64,
    /// Largest body accepted on a protected route, bytes.
    pub max_body: usize,
    /// Number of single-use ledger shards (Durable Objects).
    pub ledger_shards: u32,
    /// Number of cohort counter shards (Durable Objects).
    pub cohort_shards: u32,
    /// Forward verified requests even when the ledger cannot be reached.
    pub fail_open: bool,
    /// Challenge signing keys.
    pub keys: KeyRing,
    /// Key for the verdict header the origin checks.
    pub origin_key: Key,
    /// Bearer token for `GET <prefix>/stats` (the endpoint is off without one).
    pub stats_token: Option<String>,
    /// Bearer token for `POST <prefix>/panic` (off without one).
    pub admin_token: Option<String>,
    /// The `secret` origins send to `POST <prefix>/siteverify` (off without one).
    pub siteverify_secret: Option<String>,
}

/// One configuration problem. Secret values never appear in these.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required var or secret is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A var has a value that cannot be used.
    #[error("{var} = {value:?}: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Its value (never a secret).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A secret is too short to resist guessing.
    #[error("{var} is {len} bytes; use at least {MIN_SECRET_LEN} random bytes")]
    SecretTooShort {
        /// The secret's name.
        var: &'static str,
        /// Its length.
        len: usize,
    },
    /// Two secrets that must differ are the same.
    #[error("{0} and {1} must be different secrets")]
    SameSecret(&'static str, &'static str),
    /// The policy is invalid (every problem, with its location).
    #[error("{0}")]
    Policy(PolicyErrors),
}

/// All problems found, in the order the vars were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} configuration problem{}: ", self.0.len(), if self.0.len() == 1 { "" } else { "s" })?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The outcome of loading: the config, or the errors plus whatever could still be used to
/// keep unprotected routes working (the origin and the route list) while protected ones stay
/// closed.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The full configuration, or every problem found.
    pub config: Result<Config, ConfigErrors>,
    /// The origin, if it alone is valid.
    pub origin: Option<Url>,
    /// The protected and pass-through routes, if they alone can be read. `None` means every
    /// route other than reads (GET, HEAD) must be treated as protected.
    pub routes: Option<(Vec<Route>, Vec<Route>)>,
    /// Where the policy came from.
    pub policy_source: String,
    /// The gate prefix (default when invalid).
    pub prefix: String,
    /// The stats token, if it alone is valid: the stats endpoint then still reports a broken
    /// configuration's problems.
    pub stats_token: Option<String>,
}

/// Defaults, also shown in docs/operating.md and `wrangler.toml`.
pub mod defaults {
    /// Gate endpoint prefix.
    pub const PREFIX: &str = "/__gate";
    /// Challenge lifetime, seconds.
    pub const TTL: u64 = 300;
    /// Clock skew, seconds.
    pub const SKEW: u64 = 30;
    /// Body limit on protected routes, bytes.
    pub const MAX_BODY: usize = 64 * 1024;
    /// Ledger shards.
    pub const LEDGER_SHARDS: u32 = 32;
    /// Cohort counter shards: keys spread by hash; isolates batch, so shards cost no calls.
    pub const COHORT_SHARDS: u32 = 64;
}

/// Reads and validates the configuration through `get(name)`.
pub fn load(get: impl Fn(&str) -> Option<String>) -> Loaded {
    let mut errors = Vec::new();
    let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

    let origin = match var("ORIGIN") {
        None => {
            errors.push(ConfigError::Missing("ORIGIN"));
            None
        }
        Some(v) => match parse_origin(&v) {
            Ok(u) => Some(u),
            Err(reason) => {
                errors.push(ConfigError::Invalid { var: "ORIGIN", value: v, reason });
                None
            }
        },
    };

    let prefix = match var("GATE_PREFIX") {
        None => defaults::PREFIX.to_string(),
        Some(p) => {
            let ok = p.starts_with('/')
                && p.len() > 1
                && !p.ends_with('/')
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b));
            if ok {
                p
            } else {
                errors.push(ConfigError::Invalid {
                    var: "GATE_PREFIX",
                    value: p,
                    reason: "must look like /__gate (a leading /, no trailing /, letters, digits, _ - .)"
                        .into(),
                });
                defaults::PREFIX.to_string()
            }
        }
    };

    // The policy: a POLICY var overrides the file bundled at build time.
    let (policy_text, policy_source) = match get("POLICY").filter(|p| !p.trim().is_empty()) {
        Some(text) => {
            let source = format!("POLICY var, sha256 {}", policy::fingerprint(&text));
            (text, source)
        }
        None => (
            policy::BUNDLED.to_string(),
            format!("{} (bundled), sha256 {}", policy::BUNDLED_PATH, policy::BUNDLED_FINGERPRINT),
        ),
    };
    let policy = match policy::load(&policy_text) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(ConfigError::Policy(e));
            None
        }
    };
    let routes = match &policy {
        Some(p) => Some((p.protected.clone(), p.pass.clone())),
        None => policy::routes_only(&policy_text),
    };

    let ttl = number(&var, "CHALLENGE_TTL", defaults::TTL, 10, 3600, &mut errors);
    let skew = number(&var, "CLOCK_SKEW", defaults::SKEW, 0, 300, &mut errors);
    let max_body = number(&var, "MAX_BODY_BYTES", defaults::MAX_BODY, 1024, 10 * 1024 * 1024, &mut errors);
    let ledger_shards = number(&var, "LEDGER_SHARDS", defaults::LEDGER_SHARDS, 1, 1024, &mut errors);
    let cohort_shards = number(&var, "COHORT_SHARDS", defaults::COHORT_SHARDS, 1, 1024, &mut errors);
    let fail_open = match var("FAIL_OPEN").as_deref() {
        None | Some("false") | Some("0") | Some("no") => false,
        Some("true") | Some("1") | Some("yes") => true,
        Some(other) => {
            errors.push(ConfigError::Invalid {
                var: "FAIL_OPEN",
                value: other.to_string(),
                reason: "must be true or false".into(),
            });
            false
        }
    };

    let gate_secret = secret(&get, "GATE_SECRET", true, &mut errors);
    let previous = secret(&get, "GATE_SECRET_PREVIOUS", false, &mut errors);
    let origin_secret = secret(&get, "ORIGIN_SECRET", true, &mut errors);
    let stats_token = secret(&get, "STATS_TOKEN", false, &mut errors);
    let admin_token = secret(&get, "ADMIN_TOKEN", false, &mut errors);
    let siteverify_secret = secret(&get, "SITEVERIFY_SECRET", false, &mut errors);
    if let (Some(g), Some(o)) = (&gate_secret, &origin_secret)
        && g == o
    {
        errors.push(ConfigError::SameSecret("GATE_SECRET", "ORIGIN_SECRET"));
    }
    if let (Some(g), Some(p)) = (&gate_secret, &previous)
        && g == p
    {
        errors.push(ConfigError::SameSecret("GATE_SECRET", "GATE_SECRET_PREVIOUS"));
    }

    let config = match (errors.is_empty(), &origin, policy, gate_secret, origin_secret) {
        (true, Some(origin), Some(policy), Some(g), Some(o)) => Ok(Config {
            origin: origin.clone(),
            prefix: prefix.clone(),
            policy,
            policy_source: policy_source.clone(),
            ttl,
            skew,
            max_body,
            ledger_shards,
            cohort_shards,
            fail_open,
            keys: KeyRing::new(Key::new(g.as_bytes()), previous.map(|p| Key::new(p.as_bytes()))),
            origin_key: Key::new(o.as_bytes()),
            stats_token: stats_token.clone(),
            admin_token,
            siteverify_secret,
        }),
        _ => Err(ConfigErrors(errors)),
    };
    Loaded { config, origin, routes, policy_source, prefix, stats_token }
}

fn number<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
    errors: &mut Vec<ConfigError>,
) -> T
where
    T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
{
    let Some(v) = var(name) else { return default };
    match v.parse::<T>() {
        Ok(n) if n >= min && n <= max => n,
        _ => {
            errors.push(ConfigError::Invalid {
                var: name,
                value: v,
                reason: format!("must be a whole number from {min} to {max}"),
            });
            default
        }
    }
}

fn secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    required: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    match get(name).filter(|s| !s.is_empty()) {
        None => {
            if required {
                errors.push(ConfigError::Missing(name));
            }
            None
        }
        Some(s) if s.len() < MIN_SECRET_LEN => {
            errors.push(ConfigError::SecretTooShort { var: name, len: s.len() });
            None
        }
        Some(s) => Some(s),
    }
}

fn parse_origin(v: &str) -> Result<Url, String> {
    let u = Url::parse(v).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".into());
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err("must be scheme://host[:port] only, without path, query or credentials".into());
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const G: &str = "gate-secret-0123456789abcdef0123456789";
    const O: &str = "origin-secret-0123456789abcdef01234567";

    fn load_map(pairs: &[(&str, &str)]) -> Loaded {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        load(|k| map.get(k).cloned())
    }

    #[test]
    fn minimal_config_uses_defaults_and_the_bundled_policy() {
        let l = load_map(&[("ORIGIN", "http://127.0.0.1:8788"), ("GATE_SECRET", G), ("ORIGIN_SECRET", O)]);
        let c = l.config.unwrap();
        assert_eq!(c.origin.as_str(), "http://127.0.0.1:8788/");
        assert_eq!(c.prefix, "/__gate");
        assert!(c.policy.protected.len() >= 2, "the bundled policy");
        assert!(c.policy_source.contains("(bundled)"), "{}", c.policy_source);
        assert_eq!((c.policy.difficulty, c.policy.k, c.ttl, c.skew), (17, 32, 300, 30));
        assert!(!c.fail_open);
        assert!(c.stats_token.is_none() && c.admin_token.is_none() && c.siteverify_secret.is_none());
    }

    #[test]
    fn a_policy_var_overrides_the_bundled_file() {
        let l = load_map(&[
            ("ORIGIN", "http://127.0.0.1:8788"),
            ("GATE_SECRET", G),
            ("ORIGIN_SECRET", O),
            (
                "POLICY",
                "version = 1\n[defaults]\ndifficulty = 12\nk = 8\n[routes]\nprotected = [\"POST /join\"]\n",
            ),
        ]);
        let c = l.config.unwrap();
        assert_eq!((c.policy.difficulty, c.policy.k), (12, 8));
        assert!(c.policy_source.starts_with("POLICY var"));
    }

    #[test]
    fn every_problem_is_reported_at_once_without_secret_values() {
        let l = load_map(&[
            ("ORIGIN", "ftp://x"),
            ("GATE_PREFIX", "gate/"),
            ("POLICY", "version = 1\n[defaults]\nk = 0\n[routes]\nprotected = [\"POST signup\"]\n"),
            ("LEDGER_SHARDS", "0"),
            ("COHORT_SHARDS", "many"),
            ("CHALLENGE_TTL", "5"),
            ("FAIL_OPEN", "maybe"),
            ("GATE_SECRET", "short-secret-value"),
            ("GATE_SECRET_PREVIOUS", O),
            ("ORIGIN_SECRET", O),
            ("STATS_TOKEN", "short"),
        ]);
        let errs = l.config.unwrap_err();
        let text = errs.to_string();
        assert_eq!(errs.0.len(), 9, "{text}"); // the policy counts once, listing its own two problems
        for needle in [
            "ORIGIN",
            "GATE_PREFIX",
            "defaults.k",
            "routes.protected[0]",
            "LEDGER_SHARDS",
            "COHORT_SHARDS",
            "CHALLENGE_TTL",
            "FAIL_OPEN",
            "GATE_SECRET is 18 bytes",
            "STATS_TOKEN is 5 bytes",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("short-secret-value"));
        assert!(!text.contains(O));
        assert!(l.origin.is_none());
        assert!(l.routes.is_none(), "the policy's routes cannot be read");
        assert!(l.policy_source.starts_with("POLICY var"));
    }

    #[test]
    fn missing_secrets_keep_origin_and_routes_usable() {
        let l = load_map(&[("ORIGIN", "https://example.com")]);
        let errs = l.config.unwrap_err();
        assert_eq!(errs.0, vec![ConfigError::Missing("GATE_SECRET"), ConfigError::Missing("ORIGIN_SECRET")]);
        assert!(l.origin.is_some());
        assert!(l.routes.is_some_and(|(p, _)| p.len() >= 2));
    }

    #[test]
    fn origin_shapes() {
        let cases = [
            ("http://127.0.0.1:8788", true),
            ("https://example.com/", true),
            ("https://example.com/app", false),
            ("https://user:pw@example.com", false),
            ("example.com", false),
            ("https://example.com?x=1", false),
        ];
        for (v, ok) in cases {
            assert_eq!(parse_origin(v).is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn same_secrets_are_refused() {
        let l = load_map(&[("ORIGIN", "http://127.0.0.1:1"), ("GATE_SECRET", G), ("ORIGIN_SECRET", G)]);
        assert_eq!(l.config.unwrap_err().0, vec![ConfigError::SameSecret("GATE_SECRET", "ORIGIN_SECRET")]);
    }
}
