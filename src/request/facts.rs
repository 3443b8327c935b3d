//! What the edge knows about a request, as plain data: the glue (`edge::facts`) fills it from
//! `worker::Request` and `request.cf`, tests fill it from corpus files. Every field that the
//! platform may not provide is an `Option`: absent is never an error.

use serde::{Deserialize, Serialize};

/// Request headers, names lower-cased, in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of a header (name compared case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the header is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Builds from any name/value pairs, lower-casing names.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Headers {
        Headers(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_string()))
                .collect(),
        )
    }
}

/// Cloudflare Bot Management fields, when the zone has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BotFacts {
    /// 1 (bot) to 99 (human).
    pub score: Option<u8>,
    /// A verified good bot (search engines and the like).
    pub verified_bot: Option<bool>,
    /// JA3 TLS fingerprint.
    pub ja3_hash: Option<String>,
    /// JA4 TLS fingerprint.
    pub ja4: Option<String>,
    /// Result of Cloudflare's JavaScript detection, when enabled.
    pub js_detection_passed: Option<bool>,
}

/// The fields of `request.cf` the gate reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CfFacts {
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// AS organisation name.
    pub as_organization: Option<String>,
    /// ISO 3166-1 country code.
    pub country: Option<String>,
    /// IANA time zone of the client's location.
    pub timezone: Option<String>,
    /// e.g. `TLSv1.3`; absent or empty without TLS.
    pub tls_version: Option<String>,
    /// e.g. `AEAD-AES128-GCM-SHA256`.
    pub tls_cipher: Option<String>,
    /// Length of the client's TLS ClientHello in bytes (on every plan): a browser's own TLS
    /// stack has a known shape (the `tls_hello_short` check).
    pub tls_client_hello_length: Option<u32>,
    /// e.g. `HTTP/2`, `HTTP/3`, `HTTP/1.1`.
    pub http_protocol: Option<String>,
    /// Round-trip time of the client's TCP connection to the edge, ms (0 or absent: unknown).
    pub client_tcp_rtt: Option<u32>,
    /// Cloudflare data centre.
    pub colo: Option<String>,
    /// Bot Management, when present.
    pub bot: Option<BotFacts>,
}

/// Everything the core needs to know about one request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestFacts {
    /// Upper-case method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// `https` or `http`.
    pub scheme: String,
    /// Host the request was sent to.
    pub host: String,
    /// Request headers.
    pub headers: Headers,
    /// `CF-Connecting-IP`.
    pub client_ip: Option<String>,
    /// `request.cf`.
    pub cf: CfFacts,
}

impl RequestFacts {
    /// The User-Agent header, if any.
    pub fn user_agent(&self) -> Option<&str> {
        self.headers.get("user-agent")
    }

    /// Whether the page is a secure context for the browser (HTTPS, or a loopback host), where
    /// Chromium sends User-Agent client hints.
    pub fn secure_context(&self) -> bool {
        let host = self.host.split(':').next().unwrap_or("");
        self.scheme == "https" || host == "localhost" || host == "127.0.0.1" || host == "[::1]"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case_and_keeps_first() {
        let h = Headers::from_pairs([("User-Agent", "a"), ("user-agent", "b"), ("Accept", "x")]);
        assert_eq!(h.get("USER-AGENT"), Some("a"));
        assert!(h.has("accept"));
        assert!(!h.has("cookie"));
    }

    #[test]
    fn secure_contexts() {
        let f = |scheme: &str, host: &str| RequestFacts {
            scheme: scheme.into(),
            host: host.into(),
            ..Default::default()
        };
        assert!(f("https", "example.com").secure_context());
        assert!(f("http", "127.0.0.1:8787").secure_context());
        assert!(f("http", "localhost").secure_context());
        assert!(!f("http", "example.com").secure_context());
    }
}
