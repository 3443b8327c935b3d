//! The no-JavaScript path's form handling (docs/policy.md § No JavaScript): which fields a browser
//! without JavaScript posted, and the body the origin gets without the gate's own field. The
//! wait token itself is a wire format: [`crate::protocol::wait_token`].

use crate::protocol::GATE_FIELDS;
use crate::request::form::{BodyKind, Fields};

/// Every field of a form post, in order, as [`Fields`] read it: URL-encoded, or multipart
/// without file parts (a file cannot be carried in a hidden input). `None` for anything else
/// (JSON, file uploads): those get the ordinary "JavaScript needed" answer.
pub fn fields(read: &Fields) -> Option<Vec<(String, String)>> {
    read.form()?.iter().map(|f| Some((f.name.clone(), f.value.clone()?))).collect()
}

/// The person's own fields: [`fields`] without the gate's.
pub fn person_fields(read: &Fields) -> Option<Vec<(String, String)>> {
    let mut f = fields(read)?;
    f.retain(|(k, _)| !GATE_FIELDS.contains(&k.as_str()));
    Some(f)
}

/// The body without field `name`, every other byte as sent: the origin gets the person's
/// fields exactly as the browser encoded them. Bodies of other kinds are returned unchanged.
pub fn without_field(kind: &BodyKind, body: &[u8], read: &Fields, name: &str) -> Vec<u8> {
    match kind {
        BodyKind::UrlEncoded => {
            let kept: Vec<&[u8]> = body
                .split(|b| *b == b'&')
                .filter(|seg| !seg.is_empty())
                .filter(|seg| form_urlencoded::parse(seg).next().is_none_or(|(k, _)| k != name))
                .collect();
            kept.join(&b'&')
        }
        BodyKind::Multipart(_) => {
            let mut out = Vec::with_capacity(body.len());
            let mut from = 0;
            let removed =
                read.form().unwrap_or_default().iter().filter(|f| f.name == name && f.value.is_some());
            for part in removed.filter_map(|f| f.part.clone()) {
                out.extend_from_slice(body.get(from..part.start).unwrap_or_default());
                from = part.end;
            }
            out.extend_from_slice(body.get(from..).unwrap_or_default());
            out
        }
        BodyKind::Json | BodyKind::Other => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wait_token::FIELD;

    fn read(kind: &BodyKind, body: &[u8]) -> Fields {
        Fields::parse(kind, body).unwrap()
    }

    #[test]
    fn urlencoded_fields_and_stripping() {
        let body = b"email=a%40b.c&gate-wait=TOKEN&name=J+Doe&empty=&gate-solution=S";
        let kind = BodyKind::UrlEncoded;
        assert_eq!(
            person_fields(&read(&kind, body)).unwrap(),
            vec![
                ("email".into(), "a@b.c".into()),
                ("name".into(), "J Doe".into()),
                ("empty".into(), String::new())
            ]
        );
        assert_eq!(
            without_field(&kind, body, &read(&kind, body), FIELD),
            b"email=a%40b.c&name=J+Doe&empty=&gate-solution=S".to_vec()
        );
        let strip = |b: &[u8]| without_field(&kind, b, &read(&kind, b), FIELD);
        assert_eq!(strip(b"gate-wait=T"), b"".to_vec());
        assert_eq!(strip(b"gate%2Dwait=T&a=1"), b"a=1".to_vec());
        assert_eq!(fields(&read(&BodyKind::Json, b"{}")), None);
        assert_eq!(fields(&Fields::default()), None);
        assert_eq!(fields(&read(&kind, b"")), Some(Vec::new()), "an empty form post is a form");
    }

    #[test]
    fn multipart_fields_files_and_stripping() {
        let b = "----WebKitFormBoundaryX";
        let kind = BodyKind::Multipart(b.into());
        let part = |name: &str, value: &str| {
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        };
        let body = format!(
            "{}{}{}--{b}--\r\n",
            part("email", "a@b.c"),
            part("gate-wait", "TOKEN"),
            part("note", "x\r\ny")
        );
        assert_eq!(
            fields(&read(&kind, body.as_bytes())).unwrap(),
            vec![
                ("email".into(), "a@b.c".into()),
                ("gate-wait".into(), "TOKEN".into()),
                ("note".into(), "x\r\ny".into())
            ]
        );
        let parsed = read(&kind, body.as_bytes());
        let stripped = without_field(&kind, body.as_bytes(), &parsed, FIELD);
        assert_eq!(
            String::from_utf8(stripped).unwrap(),
            format!("{}{}--{b}--\r\n", part("email", "a@b.c"), part("note", "x\r\ny"))
        );
        let first = without_field(&kind, body.as_bytes(), &parsed, "email");
        assert_eq!(
            String::from_utf8(first).unwrap(),
            format!("{}{}--{b}--\r\n", part("gate-wait", "TOKEN"), part("note", "x\r\ny"))
        );
        // a file part: cannot be carried in a hidden input
        let with_file = format!(
            "{}--{b}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\r\nPNG\r\n--{b}--\r\n",
            part("email", "a@b.c")
        );
        assert_eq!(fields(&read(&kind, with_file.as_bytes())), None);
        // truncated bodies end cleanly
        for cut in 0..body.len() {
            let cut = &body.as_bytes()[..cut];
            let parsed = Fields::parse(&kind, cut).unwrap_or_default();
            let _ = fields(&parsed);
            let _ = without_field(&kind, cut, &parsed, FIELD);
        }
    }
}
