//! A sign-up's phone fields as the gate reads them: the calling code it is priced by, the
//! number's type and range, and the number in E.164 for its backoff only. A number the
//! numbering data does not know is refused before any work is verified.

use crate::policy::Policy;
use crate::request::form;
use crate::request::phone::{self, NumberType};

/// The sign-up's phone calling code, from the policy's phone fields (each must appear at
/// most once, whichever is used). A whole number is read with the numbering data
/// (`request::phone::parse`, national forms in `routes.phone_region`), so its code is the one
/// the number really has; a number the data does not know is [`PhoneField::Invalid`] (a 400,
/// never forwarded: the origin would text it in vain, or an attacker probes with it).
pub fn phone_code(policy: &Policy, fields: &form::Fields) -> Result<PhoneRead, PhoneField> {
    let code_field = match &policy.phone_code_field {
        Some(name) => fields.get(name).map_err(PhoneField::Duplicate)?,
        None => None,
    };
    let number_field = match &policy.phone_field {
        Some(name) => fields.get(name).map_err(PhoneField::Duplicate)?,
        None => None,
    };
    // an optional phone field left empty is no number
    let number = number_field.map(str::trim).filter(|n| !n.is_empty());
    Ok(match (code_field, number) {
        // a separate calling-code field decides the code; the number beside it is read whole
        // only when it is written in international form (a national number is the origin's)
        (Some(code), number) => {
            let whole = match number.filter(|n| n.starts_with('+') || n.starts_with("00")) {
                Some(n) => Some(phone::parse(n, policy.phone_region).map_err(PhoneField::Invalid)?),
                None => None,
            };
            let code = phone::calling_code(code, true).map(str::to_string);
            // the number the origin texts, for its backoff only: a national number beside the
            // code, read with the numbering data (trunk prefixes included)
            let e164 = match (&whole, &code, number) {
                (Some(n), _, _) => Some(n.e164().to_string()),
                (None, Some(c), Some(n)) => national(n, c),
                _ => None,
            };
            PhoneRead {
                code,
                kind: whole.as_ref().map(phone::PhoneNumber::number_type),
                range: whole.as_ref().map(|n| n.range().to_string()),
                e164,
            }
        }
        (None, Some(number)) => {
            let read = phone::parse(number, policy.phone_region).map_err(PhoneField::Invalid)?;
            PhoneRead {
                code: Some(read.calling_code().to_string()),
                kind: Some(read.number_type()),
                range: Some(read.range().to_string()),
                e164: Some(read.e164().to_string()),
            }
        }
        (None, None) => PhoneRead::default(),
    })
}

/// A national number (`07400 123456`, `8 916 …`) beside calling code `code`, in E.164: read
/// as `+<code><number>`, whose trunk prefix the numbering data drops.
fn national(number: &str, code: &str) -> Option<String> {
    phone::parse(&format!("+{code}{number}"), None).ok().map(|n| n.e164().to_string())
}

/// What the gate keeps of a sign-up's phone number (never the number itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneRead {
    /// Its calling code (digits).
    pub code: Option<String>,
    /// Its type, when the whole number was read.
    pub kind: Option<NumberType>,
    /// Its range (`+86 138`), when the whole number was read.
    pub range: Option<String>,
    /// The whole number in E.164, for its keyed hash only (per-number backoff): never logged,
    /// stored or sent anywhere.
    pub e164: Option<String>,
}

/// Why a sign-up's phone field cannot be judged.
#[derive(Debug)]
pub enum PhoneField {
    /// A phone (or solution) field appears more than once.
    Duplicate(form::Duplicate),
    /// The number is not one in use under the numbering plan.
    Invalid(phone::PhoneError),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may panic
    use super::{PhoneField, phone_code};
    use crate::request::form::{BodyKind, Fields};

    fn read(routes: &str, body: &str) -> Result<Option<String>, PhoneField> {
        typed(routes, body).map(|read| read.code)
    }

    fn typed(routes: &str, body: &str) -> Result<super::PhoneRead, PhoneField> {
        let text = format!("version = 1\n[routes]\nprotected = [\"POST /join\"]\n{routes}\n");
        let policy = crate::policy::load(&text).unwrap();
        phone_code(&policy, &Fields::parse(&BodyKind::UrlEncoded, body.as_bytes()).unwrap())
    }

    fn code(routes: &str, body: &str) -> Option<String> {
        read(routes, body).unwrap()
    }

    fn invalid(routes: &str, body: &str) -> bool {
        matches!(read(routes, body), Err(PhoneField::Invalid(_)))
    }

    #[test]
    fn the_phone_field_is_read_whole() {
        let field = "phone_field = \"tel\"";
        // international forms of a number in use: its own calling code
        for (body, want) in [
            ("tel=%2B86%20138%200013%208000", "86"),
            ("tel=008613800138000", "86"),
            ("tel=%2B1%20201-555-0123", "1"),
        ] {
            assert_eq!(code(field, body).as_deref(), Some(want), "{body}");
        }
        // a national form needs the region; in it, the region's code
        assert!(invalid(field, "tel=013800138000"));
        assert_eq!(
            code(&format!("{field}\nphone_region = \"CN\""), "tel=13800138000").as_deref(),
            Some("86")
        );
        assert_eq!(
            code(&format!("{field}\nphone_region = \"US\""), "tel=(201)%20555-0123").as_deref(),
            Some("1")
        );
        assert_eq!(
            code(&format!("{field}\nphone_region = \"US\""), "tel=011%2044%20121%20234%205678").as_deref(),
            Some("44")
        );
        // a number the data does not know is refused, whatever code it starts with
        for body in ["tel=%2B86%201", "tel=hello", "tel=%2B999%20123%204567", "tel=%2B44%20123"] {
            assert!(invalid(field, body), "{body}");
        }
        // no number, or an optional field left empty: nothing to read
        for body in ["", "tel=", "tel=%20%20", "email=a%40b.example"] {
            assert_eq!(code(field, body), None, "{body}");
        }
        // the code field wins, and is read as a code; an international number beside it is
        // still read whole, a national one is the origin's
        let both = format!("{field}\nphone_code_field = \"cc\"");
        assert_eq!(code(&both, "cc=%2B44&tel=%2B86%20138%200013%208000").as_deref(), Some("44"));
        assert_eq!(code(&both, "cc=44&tel=07400%20123456").as_deref(), Some("44"));
        assert!(invalid(&both, "cc=44&tel=%2B86%201"));
        // the number's type comes with it, only where the whole number was read
        let premium = "tel=%2B44%20901%20234%205678";
        assert_eq!(typed(field, premium).unwrap().kind, Some(crate::request::phone::NumberType::PremiumRate));
        assert_eq!(
            typed(field, "tel=%2B86%20138%200013%208000").unwrap().kind,
            Some(crate::request::phone::NumberType::Mobile)
        );
        assert_eq!(typed(&both, "cc=44&tel=09012345678").unwrap().kind, None);
        // a repeated phone field is a duplicate, before any reading
        assert!(matches!(read(field, "tel=%2B86%201&tel=x"), Err(PhoneField::Duplicate(_))));
    }
}
