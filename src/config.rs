//! Gate configuration from Worker vars and secrets, validated all at once.
//!
//! Sans-IO: [`load`] takes a lookup function, so the edge passes `env.var`/`env.secret` and
//! tests pass a map. Every problem is collected, so an operator sees them all in one log line.

use crate::key::{Key, KeyRing};
use crate::route::{self, Route};
use crate::signals::RiskPolicy;
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
    /// Routes that need a solved challenge.
    pub routes: Vec<Route>,
    /// Leading zero bits per sub-puzzle.
    pub difficulty: u8,
    /// Sub-puzzles per challenge.
    pub k: u8,
    /// Challenge lifetime in seconds.
    pub ttl: u64,
    /// Clock skew tolerated, seconds.
    pub skew: u64,
    /// Largest body accepted on a protected route, bytes.
    pub max_body: usize,
    /// Number of single-use ledger shards (Durable Objects).
    pub ledger_shards: u32,
    /// Forward verified requests even when the ledger cannot be reached.
    pub fail_open: bool,
    /// Challenge signing keys.
    pub keys: KeyRing,
    /// Key for the verdict header the origin checks.
    pub origin_key: Key,
    /// How fingerprint risk scores turn into extra work or a refusal.
    pub risk: RiskPolicy,
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
    /// A protected route entry cannot be read.
    #[error("PROTECTED_ROUTES: {0}")]
    Route(route::RouteError),
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
    /// The protected routes, if they alone are valid. `None` means every route must be
    /// treated as protected.
    pub routes: Option<Vec<Route>>,
    /// The gate prefix (default when invalid).
    pub prefix: String,
}

/// Defaults, also shown in the README and `wrangler.toml`.
pub mod defaults {
    /// Gate endpoint prefix.
    pub const PREFIX: &str = "/__gate";
    /// Protected routes.
    pub const ROUTES: &str = "POST /signup, POST /api/register";
    /// Leading zero bits per sub-puzzle.
    pub const DIFFICULTY: u8 = 17;
    /// Sub-puzzles.
    pub const K: u8 = 32;
    /// Challenge lifetime, seconds.
    pub const TTL: u64 = 300;
    /// Clock skew, seconds.
    pub const SKEW: u64 = 30;
    /// Body limit on protected routes, bytes.
    pub const MAX_BODY: usize = 64 * 1024;
    /// Ledger shards.
    pub const LEDGER_SHARDS: u32 = 32;
    /// Risk score from which challenges get harder.
    pub const RISK_MORE_WORK: u32 = 30;
    /// Risk score from which requests are refused.
    pub const RISK_DENY: u32 = 80;
    /// Most extra difficulty bits risk can add.
    pub const RISK_MAX_EXTRA_BITS: u8 = 6;
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

    let routes = match route::parse_list(&var("PROTECTED_ROUTES").unwrap_or_else(|| defaults::ROUTES.into()))
    {
        Ok(r) if r.is_empty() => {
            errors.push(ConfigError::Invalid {
                var: "PROTECTED_ROUTES",
                value: String::new(),
                reason: "lists no route".into(),
            });
            None
        }
        Ok(r) => Some(r),
        Err(es) => {
            errors.extend(es.into_iter().map(ConfigError::Route));
            None
        }
    };

    let difficulty = number(&var, "DIFFICULTY", defaults::DIFFICULTY, 1, 32, &mut errors);
    let k = number(&var, "SUBPUZZLES", defaults::K, 1, 64, &mut errors);
    let ttl = number(&var, "CHALLENGE_TTL", defaults::TTL, 10, 3600, &mut errors);
    let skew = number(&var, "CLOCK_SKEW", defaults::SKEW, 0, 300, &mut errors);
    let max_body = number(&var, "MAX_BODY_BYTES", defaults::MAX_BODY, 1024, 10 * 1024 * 1024, &mut errors);
    let ledger_shards = number(&var, "LEDGER_SHARDS", defaults::LEDGER_SHARDS, 1, 1024, &mut errors);
    let risk = RiskPolicy {
        more_work_at: number(&var, "RISK_MORE_WORK", defaults::RISK_MORE_WORK, 1, 10_000, &mut errors),
        deny_at: number(&var, "RISK_DENY", defaults::RISK_DENY, 1, 10_000, &mut errors),
        max_extra_bits: number(
            &var,
            "RISK_MAX_EXTRA_BITS",
            defaults::RISK_MAX_EXTRA_BITS,
            0,
            15,
            &mut errors,
        ),
    };
    if risk.deny_at <= risk.more_work_at {
        errors.push(ConfigError::Invalid {
            var: "RISK_DENY",
            value: risk.deny_at.to_string(),
            reason: format!("must be above RISK_MORE_WORK ({})", risk.more_work_at),
        });
    }
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

    let config = match (errors.is_empty(), &origin, &routes, gate_secret, origin_secret) {
        (true, Some(origin), Some(routes), Some(g), Some(o)) => Ok(Config {
            origin: origin.clone(),
            prefix: prefix.clone(),
            routes: routes.clone(),
            difficulty,
            k,
            ttl,
            skew,
            max_body,
            ledger_shards,
            fail_open,
            keys: KeyRing::new(Key::new(g.as_bytes()), previous.map(|p| Key::new(p.as_bytes()))),
            origin_key: Key::new(o.as_bytes()),
            risk,
        }),
        _ => Err(ConfigErrors(errors)),
    };
    Loaded { config, origin, routes, prefix }
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
    fn minimal_config_uses_defaults() {
        let l = load_map(&[("ORIGIN", "http://127.0.0.1:8788"), ("GATE_SECRET", G), ("ORIGIN_SECRET", O)]);
        let c = l.config.unwrap();
        assert_eq!(c.origin.as_str(), "http://127.0.0.1:8788/");
        assert_eq!(c.prefix, "/__gate");
        assert_eq!(c.routes.len(), 2);
        assert_eq!((c.difficulty, c.k, c.ttl, c.skew), (17, 32, 300, 30));
        assert!(!c.fail_open);
    }

    #[test]
    fn every_problem_is_reported_at_once_without_secret_values() {
        let l = load_map(&[
            ("ORIGIN", "ftp://x"),
            ("GATE_PREFIX", "gate/"),
            ("PROTECTED_ROUTES", "POST signup, GET"),
            ("DIFFICULTY", "99"),
            ("SUBPUZZLES", "zero"),
            ("CHALLENGE_TTL", "5"),
            ("FAIL_OPEN", "maybe"),
            ("GATE_SECRET", "short-secret-value"),
            ("GATE_SECRET_PREVIOUS", O),
            ("ORIGIN_SECRET", O),
        ]);
        let errs = l.config.unwrap_err();
        let text = errs.to_string();
        assert_eq!(errs.0.len(), 9, "{text}");
        for needle in [
            "ORIGIN",
            "GATE_PREFIX",
            "PROTECTED_ROUTES",
            "DIFFICULTY",
            "SUBPUZZLES",
            "CHALLENGE_TTL",
            "FAIL_OPEN",
            "GATE_SECRET is 18 bytes",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("short-secret-value"));
        assert!(!text.contains(O));
        assert!(l.origin.is_none());
        assert!(l.routes.is_none());
    }

    #[test]
    fn missing_secrets_keep_origin_and_routes_usable() {
        let l = load_map(&[("ORIGIN", "https://example.com")]);
        let errs = l.config.unwrap_err();
        assert_eq!(errs.0, vec![ConfigError::Missing("GATE_SECRET"), ConfigError::Missing("ORIGIN_SECRET")]);
        assert!(l.origin.is_some());
        assert_eq!(l.routes.map(|r| r.len()), Some(2));
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
