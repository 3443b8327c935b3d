//! The fields of a request body, read once: URL-encoded forms, multipart forms and JSON.
//!
//! Browsers submit the solution as the `gate-solution` form field; single-page apps may put it
//! in a JSON body. The body is already size-limited by the caller. Parsing never panics.
//!
//! The gate must read a field the way the origin will, and frameworks disagree about repeats
//! (first value, last value, a list, a merge of query and body), about case (ASP.NET binds
//! `Phone` to `phone`) and about `phone[]`. So a field the gate judges is looked up by its
//! [`name_key`] across the body and the query string, and more than one occurrence is an error
//! ([`Duplicate`]): the gate never judges one value while the origin reads another. A JSON body
//! with a repeated key in any object (compared case-insensitively) is refused outright.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The kind of body, from its `Content-Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `multipart/form-data` with its boundary.
    Multipart(String),
    /// `application/json` or `*+json`.
    Json,
    /// Anything else.
    Other,
}

impl BodyKind {
    /// Classifies a `Content-Type` header value.
    pub fn of(content_type: Option<&str>) -> BodyKind {
        let Some(ct) = content_type else { return BodyKind::Other };
        let mut params = ct.split(';');
        let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
        // a charset other than UTF-8 (or its ASCII subset) would be decoded differently by
        // the origin: the gate does not read such a body
        let charset = ct
            .split(';')
            .skip(1)
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
        if charset.is_some_and(|c| !matches!(c.as_str(), "utf-8" | "utf8" | "us-ascii")) {
            return BodyKind::Other;
        }
        match essence.as_str() {
            "application/x-www-form-urlencoded" => BodyKind::UrlEncoded,
            "multipart/form-data" => {
                let boundaries: Vec<String> = params
                    .filter_map(|p| p.split_once('='))
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                    .map(|(_, v)| v.trim().trim_matches('"').to_string())
                    .collect();
                // two boundaries: parsers pick either, so the gate reads neither
                match boundaries.as_slice() {
                    [b] if !b.is_empty() && b.len() <= 200 => BodyKind::Multipart(b.clone()),
                    _ => BodyKind::Other,
                }
            }
            "application/json" => BodyKind::Json,
            e if e.starts_with("application/") && e.ends_with("+json") => BodyKind::Json,
            _ => BodyKind::Other,
        }
    }
}

/// Why a body's fields cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The body is not of a kind the gate reads (and is not empty).
    #[error("a body of this content type has no fields the gate can read")]
    Unsupported,
    /// The body does not parse as its content type says.
    #[error("the body is not valid {0}")]
    Malformed(&'static str),
    /// A JSON object repeats a key.
    #[error("the JSON body repeats the key {0:?}")]
    DuplicateKey(String),
}

/// A field the gate reads appears more than once (body and query together).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the field {0:?} appears {1} times")]
pub struct Duplicate(pub String, pub usize);

/// How a field name is compared, folding every difference some framework ignores: case
/// (Unicode, as `OrdinalIgnoreCase` binders fold it: `ſ` is `s`), a trailing `[...]` (PHP and
/// Rails arrays: `phone[]`, `phone[0]`), `.` and space as `_` (PHP), and anything from a NUL
/// on (C parsers). So `Phone`, `phone[]`, `PHONE\0x` all count as `phone`.
pub fn name_key(name: &str) -> String {
    let name = name.split('\0').next().unwrap_or("");
    let base = match name.find('[') {
        Some(i) if i > 0 && name.ends_with(']') => name.get(..i).unwrap_or(name),
        _ => name,
    };
    base.trim()
        .chars()
        .map(|c| if c == '.' || c == ' ' { '_' } else { c })
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// A field of a form body as it was sent: its name as written, its value (`None` for a
/// file), and for multipart the byte range of its whole part (removing it removes the field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormField {
    /// The name as written.
    pub name: String,
    /// The text value; `None` for a file part.
    pub value: Option<String>,
    /// Multipart: from the part's `--boundary` to the next one's.
    pub part: Option<std::ops::Range<usize>>,
}

/// The fields of one request: the body's (and the query string's), parsed once.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    /// `(name key, value)` of every text field; file parts carry `None`.
    pairs: Vec<(String, Option<String>)>,
    /// The JSON body, for dotted names (`user.phone`).
    json: Option<Value>,
    /// The body's own fields in order, as sent, when it is a form (URL-encoded or multipart).
    form: Option<Vec<FormField>>,
}

impl Fields {
    /// Parses `body` as `kind`. An empty body has no fields, whatever its type.
    pub fn parse(kind: &BodyKind, body: &[u8]) -> Result<Fields, FormError> {
        if body.is_empty() {
            let form = matches!(kind, BodyKind::UrlEncoded | BodyKind::Multipart(_)).then(Vec::new);
            return Ok(Fields { form, ..Fields::default() });
        }
        match kind {
            // a JSON document sent as a form: handlers that parse the raw body as JSON read
            // fields the gate would not see
            BodyKind::UrlEncoded if matches!(body.trim_ascii_start().first(), Some(b'{' | b'[')) => {
                Err(FormError::Malformed("form data (it is JSON)"))
            }
            BodyKind::UrlEncoded => {
                let form = form_urlencoded::parse(body)
                    .map(|(k, v)| FormField { name: k.into_owned(), value: Some(v.into_owned()), part: None })
                    .collect();
                Ok(Fields { form: Some(form), ..Fields::urlencoded(body) })
            }
            BodyKind::Multipart(boundary) => multipart(body, boundary),
            BodyKind::Json => {
                let value = strict_json(body)?;
                let pairs = match &value {
                    Value::Object(map) => map.iter().map(|(k, v)| (name_key(k), json_text(v))).collect(),
                    _ => Vec::new(),
                };
                Ok(Fields { pairs, json: Some(value), form: None })
            }
            BodyKind::Other => Err(FormError::Unsupported),
        }
    }

    fn urlencoded(bytes: &[u8]) -> Fields {
        let mut pairs: Vec<(String, Option<String>)> =
            form_urlencoded::parse(bytes).map(|(k, v)| (name_key(&k), Some(v.into_owned()))).collect();
        // Parsers that also split on `;` (older Python, Perl CGI) see more fields: those count
        // as further occurrences (no value), so a repeat hidden behind a `;` is still a repeat.
        if bytes.contains(&b';') {
            let split: Vec<u8> = bytes.iter().map(|b| if *b == b';' { b'&' } else { *b }).collect();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (k, _) in &pairs {
                *seen.entry(k.clone()).or_default() += 1;
            }
            let mut extra = Vec::new();
            for (k, _) in form_urlencoded::parse(&split) {
                let key = name_key(&k);
                match seen.get_mut(&key) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => extra.push((key, None)),
                }
            }
            pairs.extend(extra);
        }
        Fields { pairs, json: None, form: None }
    }

    /// The body's own fields in order, as sent, if the body is a form (not the query's).
    pub fn form(&self) -> Option<&[FormField]> {
        self.form.as_deref()
    }

    /// Adds the query string's fields (frameworks merge them with the body's).
    pub fn with_query(mut self, query: &str) -> Fields {
        self.pairs.extend(Fields::urlencoded(query.as_bytes()).pairs);
        self
    }

    /// The one value of field `name`: `None` if absent (or a file, or not text), an error if
    /// it appears more than once. Dotted names reach into a JSON body.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Duplicate> {
        let key = name_key(name);
        let mut found = self.pairs.iter().filter(|(k, _)| *k == key);
        let first = found.next();
        let extra = found.count();
        if extra > 0 {
            return Err(Duplicate(name.to_string(), extra + 1));
        }
        if let Some((_, value)) = first {
            return Ok(value.as_deref());
        }
        if name.contains('.')
            && let Some(json) = &self.json
        {
            let mut at = json;
            for part in name.split('.') {
                let Some(next) = object_get(at, part) else { return Ok(None) };
                at = next;
            }
            return Ok(at.as_str());
        }
        Ok(None)
    }
}

fn object_get<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let key = name_key(name);
    value.as_object()?.iter().find(|(k, _)| name_key(k) == key).map(|(_, v)| v)
}

/// A JSON value as the text a framework would bind to a string field.
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses JSON, refusing a repeated key in any object (keys compared case-insensitively, as
/// case-insensitive binders compare them).
fn strict_json(body: &[u8]) -> Result<Value, FormError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = match de.deserialize_any(StrictVisitor) {
        Ok(v) => v,
        Err(e) => {
            let text = e.to_string();
            return Err(match text.strip_prefix("duplicate key ") {
                Some(rest) => {
                    FormError::DuplicateKey(rest.split(" at line").next().unwrap_or(rest).to_string())
                }
                None => FormError::Malformed("JSON"),
            });
        }
    };
    de.end().map_err(|_| FormError::Malformed("JSON"))?;
    Ok(value)
}

struct StrictVisitor;

impl<'de> de::DeserializeSeed<'de> for StrictVisitor {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictVisitor)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(name_key(&key)) {
                return Err(de::Error::custom(format!("duplicate key {key}")));
            }
            let value = map.next_value_seed(StrictVisitor)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Every part of a multipart body; file parts are kept (as `None`) so a file part named like
/// a judged field still counts as a repeat.
fn multipart(body: &[u8], boundary: &str) -> Result<Fields, FormError> {
    let bad = FormError::Malformed("multipart/form-data");
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut pairs = Vec::new();
    let mut form = Vec::new();
    let offset = |rest: &[u8]| body.len().saturating_sub(rest.len());
    // strict RFC 7578, as browsers send it: anything another parser could read differently
    // (a preamble, bare LF, folded headers, other encodings) is refused rather than guessed
    let mut rest = body.strip_prefix(delimiter).ok_or(bad.clone())?;
    loop {
        if rest.starts_with(b"--") {
            return Ok(Fields { pairs, json: None, form: Some(form) }); // closing delimiter
        }
        let begin = offset(rest).saturating_sub(delimiter.len());
        rest = rest.strip_prefix(b"\r\n").ok_or(bad.clone())?;
        let headers_end = find(rest, b"\r\n\r\n").ok_or(bad.clone())?;
        let headers = rest.get(..headers_end).and_then(|h| std::str::from_utf8(h).ok()).ok_or(bad.clone())?;
        let content = rest.get(headers_end + 4..).ok_or(bad.clone())?;
        let next = find(content, &[b"\r\n", delimiter].concat()).ok_or(bad.clone())?;
        let value = content.get(..next).ok_or(bad.clone())?;
        let (names, is_file) = part_headers(headers).ok_or(bad.clone())?;
        let text = match is_file {
            true => None,
            false => Some(std::str::from_utf8(value).map_err(|_| bad.clone())?.to_string()),
        };
        // a part that names itself twice counts under each name (parsers take either)
        for (n, name) in names.iter().enumerate() {
            pairs.push((name_key(name), if n == 0 { text.clone() } else { None }));
        }
        let end = offset(content).saturating_add(next).saturating_add(2);
        let name = names.first().cloned().unwrap_or_default();
        form.push(FormField { name, value: text, part: Some(begin..end) });
        rest = content.get(next + 2 + delimiter.len()..).ok_or(bad.clone())?;
    }
}

/// A part's `name` parameters, and whether it is a file (a non-empty `filename`); `None` when
/// the headers are not as strict RFC 7578 has them.
fn part_headers(headers: &str) -> Option<(Vec<String>, bool)> {
    let mut names = Vec::new();
    let mut is_file = false;
    let mut dispositions = 0;
    for line in headers.split("\r\n") {
        if line.contains(['\r', '\n']) || line.starts_with([' ', '\t']) {
            return None; // bare CR or LF, or a folded header
        }
        let (k, v) = line.split_once(':')?;
        let k = k.trim().to_ascii_lowercase();
        match k.as_str() {
            "content-type" => continue,
            "content-transfer-encoding" => {
                if !matches!(v.trim().to_ascii_lowercase().as_str(), "7bit" | "8bit" | "binary") {
                    return None;
                }
                continue;
            }
            "content-disposition" => dispositions += 1,
            _ => return None,
        }
        let mut params = v.split(';');
        if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
            return None;
        }
        for param in params {
            let (pk, pv) = param.split_once('=')?;
            let pv = pv.trim();
            match pk.trim().to_ascii_lowercase().as_str() {
                "name" => names.push(pv.trim_matches('"').to_string()),
                // RFC 5987: charset'lang'percent-encoded
                "name*" => {
                    let encoded = pv.rsplit('\'').next().unwrap_or("");
                    names
                        .push(percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned());
                }
                "filename" | "filename*" => is_file |= !pv.trim_matches('"').is_empty(),
                _ => return None,
            }
        }
    }
    (dispositions == 1 && !names.is_empty()).then_some((names, is_file))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(kind: &BodyKind, body: &[u8], name: &str) -> Result<Option<String>, Duplicate> {
        let fields = Fields::parse(kind, body).unwrap();
        fields.get(name).map(|v| v.map(str::to_string))
    }

    #[test]
    fn kinds() {
        let cases = [
            (Some("application/x-www-form-urlencoded"), BodyKind::UrlEncoded),
            (Some("application/x-www-form-urlencoded; charset=UTF-8"), BodyKind::UrlEncoded),
            (
                Some("multipart/form-data; boundary=----WebKitFormBoundaryabc"),
                BodyKind::Multipart("----WebKitFormBoundaryabc".into()),
            ),
            (Some("multipart/form-data; boundary=\"quoted b\""), BodyKind::Multipart("quoted b".into())),
            (Some("multipart/form-data"), BodyKind::Other),
            (Some("multipart/form-data; BOUNDARY=a; boundary=b"), BodyKind::Other),
            (Some("application/json"), BodyKind::Json),
            (Some("application/vnd.api+json"), BodyKind::Json),
            (Some("text/plain"), BodyKind::Other),
            (Some("application/x-www-form-urlencoded; charset=utf-16"), BodyKind::Other),
            (Some("application/json; charset=\"UTF-8\""), BodyKind::Json),
            (Some("application/json; charset=shift_jis"), BodyKind::Other),
            (None, BodyKind::Other),
        ];
        for (ct, want) in cases {
            assert_eq!(BodyKind::of(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn urlencoded_and_json() {
        let body = b"email=a%40b.c&gate-solution=AAA.BBB&x=1";
        assert_eq!(get(&BodyKind::UrlEncoded, body, "gate-solution"), Ok(Some("AAA.BBB".into())));
        assert_eq!(get(&BodyKind::UrlEncoded, body, "email"), Ok(Some("a@b.c".into())));
        assert_eq!(get(&BodyKind::UrlEncoded, body, "nope"), Ok(None));
        let json = br#"{"email":"a@b.c","gate-solution":"AAA.BBB","n":1,"o":{}}"#;
        assert_eq!(get(&BodyKind::Json, json, "gate-solution"), Ok(Some("AAA.BBB".into())));
        assert_eq!(get(&BodyKind::Json, json, "n"), Ok(Some("1".into())));
        assert_eq!(get(&BodyKind::Json, json, "o"), Ok(None));
        assert_eq!(get(&BodyKind::Json, b"[1,2]", "gate-solution"), Ok(None));
        assert_eq!(Fields::parse(&BodyKind::Json, b"{not json").unwrap_err(), FormError::Malformed("JSON"));
        assert_eq!(Fields::parse(&BodyKind::Json, b"{} {}").unwrap_err(), FormError::Malformed("JSON"));
        let nested = br#"{"user":{"phone":"+86 138 0013 8000"},"gate-solution":"S"}"#;
        assert_eq!(get(&BodyKind::Json, nested, "user.phone"), Ok(Some("+86 138 0013 8000".into())));
        assert_eq!(get(&BodyKind::Json, nested, "user.email"), Ok(None));
        assert_eq!(Fields::parse(&BodyKind::Other, b"x").unwrap_err(), FormError::Unsupported);
        assert!(Fields::parse(&BodyKind::Other, b"").is_ok());
    }

    #[test]
    fn repeats_of_a_judged_field_are_errors() {
        let form = BodyKind::UrlEncoded;
        for body in [
            &b"phone=%2B86&phone=%2B1"[..],
            b"phone=%2B86&Phone=%2B1",
            b"phone=%2B86&PHONE=%2B1",
            b"phone[]=%2B86&phone[]=%2B1",
            b"phone=%2B86&phone[0]=%2B1",
            b"ph%6Fne=%2B86&phone=%2B1",
            b"phone=&phone=%2B1",
            b"email=x;phone=%2B1&phone=%2B86",
            b"phone%00x=%2B86&phone=%2B1",
            b"phone=%2B86&PHONE%20=%2B1",
        ] {
            assert!(get(&form, body, "phone").is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(get(&form, b"Phone=%2B1", "phone"), Ok(Some("+1".into())));
        assert!(get(&form, b"gate-%C5%BFolution=a&gate-solution=b", "gate-solution").is_err());
        // the query string counts too
        let fields = Fields::parse(&form, b"phone=%2B86").unwrap().with_query("phone=%2B1");
        assert!(fields.get("phone").is_err());
        let fields = Fields::parse(&form, b"email=x").unwrap().with_query("phone=%2B1");
        assert_eq!(fields.get("phone"), Ok(Some("+1")));
        // JSON: any repeated key is refused, also in another case or spelled with escapes
        for body in [
            &br#"{"phone":"+86","phone":"+1"}"#[..],
            br#"{"phone":"+86","Phone":"+1"}"#,
            br#"{"phone":"+86","ph\u006fne":"+1"}"#,
            br#"{"user":{"a":1,"a":2}}"#,
            br#"[{"gate-solution":"a","gate-solution":"b"}]"#,
        ] {
            let err = Fields::parse(&BodyKind::Json, body).unwrap_err();
            assert!(matches!(err, FormError::DuplicateKey(_)), "{}: {err:?}", String::from_utf8_lossy(body));
        }
        // a JSON document sent as a form is not read as a form
        assert!(Fields::parse(&form, b" {\"phone\":\"+86\"}").is_err());
    }

    #[test]
    fn multipart_like_chromium_sends_it() {
        let b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"gate-solution\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"gate-solution\"\r\n\r\nTOKEN.NONCES\r\n\
             --{b}--\r\n"
        );
        let kind = BodyKind::Multipart(b.into());
        assert_eq!(get(&kind, body.as_bytes(), "gate-solution"), Ok(Some("TOKEN.NONCES".into())));
        assert_eq!(get(&kind, body.as_bytes(), "email"), Ok(Some("a@b.c".into())));
        assert_eq!(get(&kind, body.as_bytes(), "avatar"), Ok(None), "file parts are not fields");
        assert_eq!(get(&kind, body.as_bytes(), "missing"), Ok(None));
        // truncated bodies end cleanly, as an error
        for cut in 1..body.len() - 4 {
            assert!(Fields::parse(&kind, &body.as_bytes()[..cut]).is_err(), "cut at {cut}");
        }
        let twice = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86 1\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"phone\"; filename=\"x\"\r\n\r\n+1 2\r\n--{b}--\r\n"
        );
        assert!(get(&kind, twice.as_bytes(), "phone").is_err());
        let named_twice = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"email\"; name=\"phone\"\r\n\r\n+1 2\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86 1\r\n--{b}--\r\n"
        );
        assert!(get(&kind, named_twice.as_bytes(), "phone").is_err());
        let extended = format!(
            "--{b}\r\nContent-Disposition: form-data; name*=UTF-8''ph%6Fne\r\n\r\n+1 2\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86 1\r\n--{b}--\r\n"
        );
        assert!(get(&kind, extended.as_bytes(), "phone").is_err());
        // anything another parser could read differently is refused
        for part in [
            "Content-Disposition: form-data; name=\"phone\"; filenamex=1",
            "Content-Disposition: form-data;\r\n name=\"phone\"",
            "Content-Disposition: form-data; name=\"phone\"\nX: y",
            "Content-Disposition: form-data; name=\"phone\"\r\nContent-Transfer-Encoding: quoted-printable",
            "Content-Disposition: form-data",
            "Content-Disposition: attachment; name=\"phone\"",
            "Content-Disposition: form-data; name=\"phone\"\r\nContent-Disposition: form-data; name=\"x\"",
            "X-Other: 1\r\nContent-Disposition: form-data; name=\"phone\"",
        ] {
            let body = format!("--{b}\r\n{part}\r\n\r\n+86 1\r\n--{b}--\r\n");
            assert!(Fields::parse(&kind, body.as_bytes()).is_err(), "{part:?}");
        }
        let preamble =
            format!("x--{b}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86\r\n--{b}--\r\n");
        assert!(Fields::parse(&kind, preamble.as_bytes()).is_err());
        let longer =
            format!("--{b}x\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+86\r\n--{b}--\r\n");
        assert!(Fields::parse(&kind, longer.as_bytes()).is_err());
        // an empty filename is a text field (as Go reads it)
        let empty = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"phone\"; filename=\"\"\r\n\r\n+86 1\r\n--{b}--\r\n"
        );
        assert_eq!(get(&kind, empty.as_bytes(), "phone"), Ok(Some("+86 1".into())));
    }
}
