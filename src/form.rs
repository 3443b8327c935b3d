//! Reading one field out of a request body: URL-encoded forms, multipart forms and JSON.
//!
//! Browsers submit the solution as the `gate-solution` form field; single-page apps may put it
//! in a JSON body. The body is already size-limited by the caller. Parsing never panics and
//! unknown content types simply have no fields.

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
        match essence.as_str() {
            "application/x-www-form-urlencoded" => BodyKind::UrlEncoded,
            "multipart/form-data" => {
                let boundary = params
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                    .map(|(_, v)| v.trim().trim_matches('"').to_string());
                match boundary {
                    Some(b) if !b.is_empty() && b.len() <= 200 => BodyKind::Multipart(b),
                    _ => BodyKind::Other,
                }
            }
            "application/json" => BodyKind::Json,
            e if e.starts_with("application/") && e.ends_with("+json") => BodyKind::Json,
            _ => BodyKind::Other,
        }
    }
}

/// The first value of field `name` in `body`, if present.
pub fn field(kind: &BodyKind, body: &[u8], name: &str) -> Option<String> {
    match kind {
        BodyKind::UrlEncoded => {
            form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        }
        BodyKind::Multipart(boundary) => multipart_field(body, boundary, name),
        BodyKind::Json => {
            // a dotted name reaches into objects: "user.phone"
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            let found = match value.get(name) {
                Some(v) => v,
                None => name.split('.').try_fold(&value, |v, part| v.get(part))?,
            };
            found.as_str().map(str::to_string)
        }
        BodyKind::Other => None,
    }
}

/// Finds a non-file part named `name` in a multipart body.
fn multipart_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    // skip the preamble up to the first delimiter
    let first = find(rest, delimiter)?;
    rest = rest.get(first + delimiter.len()..)?;
    loop {
        if rest.starts_with(b"--") {
            return None; // closing delimiter
        }
        // the rest of the delimiter line
        let line_end = find(rest, b"\r\n")?;
        rest = rest.get(line_end + 2..)?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(rest.get(..headers_end)?).ok()?;
        let content = rest.get(headers_end + 4..)?;
        let next = find(content, &[b"\r\n", delimiter].concat())?;
        let value = content.get(..next)?;
        if part_name(headers).as_deref() == Some(name) && !headers.to_ascii_lowercase().contains("filename") {
            return std::str::from_utf8(value).ok().map(str::to_string);
        }
        rest = content.get(next + 2 + delimiter.len()..)?;
    }
}

/// The `name` parameter of a part's `Content-Disposition` header.
fn part_name(headers: &str) -> Option<String> {
    for line in headers.split("\r\n") {
        let (k, v) = line.split_once(':')?;
        if !k.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        for param in v.split(';').skip(1) {
            if let Some((pk, pv)) = param.split_once('=')
                && pk.trim().eq_ignore_ascii_case("name")
            {
                return Some(pv.trim().trim_matches('"').to_string());
            }
        }
    }
    None
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
            (Some("application/json"), BodyKind::Json),
            (Some("application/vnd.api+json"), BodyKind::Json),
            (Some("text/plain"), BodyKind::Other),
            (None, BodyKind::Other),
        ];
        for (ct, want) in cases {
            assert_eq!(BodyKind::of(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn urlencoded_and_json() {
        let body = b"email=a%40b.c&gate-solution=AAA.BBB&x=1";
        assert_eq!(field(&BodyKind::UrlEncoded, body, "gate-solution").as_deref(), Some("AAA.BBB"));
        assert_eq!(field(&BodyKind::UrlEncoded, body, "email").as_deref(), Some("a@b.c"));
        assert_eq!(field(&BodyKind::UrlEncoded, body, "nope"), None);
        let json = br#"{"email":"a@b.c","gate-solution":"AAA.BBB","n":1}"#;
        assert_eq!(field(&BodyKind::Json, json, "gate-solution").as_deref(), Some("AAA.BBB"));
        assert_eq!(field(&BodyKind::Json, json, "n"), None);
        assert_eq!(field(&BodyKind::Json, b"[1,2]", "gate-solution"), None);
        assert_eq!(field(&BodyKind::Json, b"{not json", "gate-solution"), None);
        let nested = br#"{"user":{"phone":"+86 138 0013 8000"},"gate-solution":"S"}"#;
        assert_eq!(field(&BodyKind::Json, nested, "user.phone").as_deref(), Some("+86 138 0013 8000"));
        assert_eq!(field(&BodyKind::Json, nested, "user.email"), None);
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
        assert_eq!(field(&kind, body.as_bytes(), "gate-solution").as_deref(), Some("TOKEN.NONCES"));
        assert_eq!(field(&kind, body.as_bytes(), "email").as_deref(), Some("a@b.c"));
        assert_eq!(field(&kind, body.as_bytes(), "avatar"), None, "file parts are not fields");
        assert_eq!(field(&kind, body.as_bytes(), "missing"), None);
        // truncated bodies end cleanly
        for cut in 0..body.len() {
            let _ = field(&kind, &body.as_bytes()[..cut], "gate-solution");
        }
    }
}
