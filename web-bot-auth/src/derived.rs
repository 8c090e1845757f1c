//! Values of the derived components (RFC 9421 §2.2).

use std::borrow::Cow;

use crate::component::{ComponentIdentifier, DerivedComponent};
use crate::error::BaseError;
use crate::message::RequestView;

/// `@authority`: the host lowercased, the port dropped when it is the scheme's default.
pub(crate) fn normalized_authority<'a>(authority: &'a str, scheme: &str) -> Cow<'a, str> {
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        Some("443")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("80")
    } else {
        None
    };
    // A port follows the last ':' that is after any IPv6 literal's ']'.
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let trimmed = match authority.rfind(':') {
        Some(colon) if colon >= host_end => {
            let port = authority.get(colon + 1..).unwrap_or("");
            if port.is_empty() || Some(port) == default_port {
                authority.get(..colon).unwrap_or(authority)
            } else {
                authority
            }
        }
        _ => authority,
    };
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

fn push_printable(
    out: &mut String,
    value: &str,
    id: &ComponentIdentifier,
) -> Result<(), BaseError> {
    if value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        out.push_str(value);
        Ok(())
    } else {
        Err(BaseError::InvalidValue(id.as_str().to_owned()))
    }
}

/// Appends the value of a request-derived component.
pub(crate) fn request_value(
    req: &RequestView<'_>,
    component: DerivedComponent,
    id: &ComponentIdentifier,
    out: &mut String,
) -> Result<(), BaseError> {
    let path = if req.path.is_empty() { "/" } else { req.path };
    match component {
        DerivedComponent::Method => push_printable(out, req.method, id),
        DerivedComponent::Scheme => {
            let scheme = req.scheme.to_ascii_lowercase();
            push_printable(out, &scheme, id)
        }
        DerivedComponent::Authority => {
            if req.authority.is_empty() {
                return Err(BaseError::MissingAuthority);
            }
            push_printable(out, &normalized_authority(req.authority, req.scheme), id)
        }
        DerivedComponent::TargetUri => {
            if req.authority.is_empty() {
                return Err(BaseError::MissingAuthority);
            }
            let start = out.len();
            out.push_str(&req.scheme.to_ascii_lowercase());
            out.push_str("://");
            out.push_str(&normalized_authority(req.authority, req.scheme));
            out.push_str(path);
            if let Some(q) = req.query {
                out.push('?');
                out.push_str(q);
            }
            check_tail(out, start, id)
        }
        DerivedComponent::RequestTarget => match req.request_target {
            Some(target) => push_printable(out, target, id),
            None if req.method.eq_ignore_ascii_case("CONNECT") => {
                push_printable(out, req.authority, id)
            }
            None => {
                let start = out.len();
                out.push_str(path);
                if let Some(q) = req.query {
                    out.push('?');
                    out.push_str(q);
                }
                check_tail(out, start, id)
            }
        },
        DerivedComponent::Path => push_printable(out, path, id),
        DerivedComponent::Query => {
            out.push('?');
            push_printable(out, req.query.unwrap_or(""), id)
        }
        DerivedComponent::QueryParam => {
            let wanted = id.flags().name.as_deref().unwrap_or("");
            let mut found: Option<String> = None;
            for (name, value) in form_pairs(req.query.unwrap_or("")) {
                if form_encode(&name) == wanted {
                    if found.is_some() {
                        return Err(BaseError::RepeatedQueryParam(wanted.to_owned()));
                    }
                    found = Some(form_encode(&value));
                }
            }
            match found {
                Some(v) => {
                    out.push_str(&v);
                    Ok(())
                }
                None => Err(BaseError::MissingQueryParam(wanted.to_owned())),
            }
        }
        DerivedComponent::Status => Err(BaseError::NotApplicable(id.as_str().to_owned())),
    }
}

fn check_tail(out: &str, start: usize, id: &ComponentIdentifier) -> Result<(), BaseError> {
    match out.get(start..) {
        Some(tail) if tail.bytes().all(|b| (0x20..=0x7e).contains(&b)) => Ok(()),
        _ => Err(BaseError::InvalidValue(id.as_str().to_owned())),
    }
}

/// The `application/x-www-form-urlencoded` parser of the URL Standard: name/value byte strings,
/// `+` read as a space, percent-escapes decoded (malformed ones kept as they are).
pub(crate) fn form_pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|s| !s.is_empty()).map(|seq| {
        let (name, value) = seq.split_once('=').unwrap_or((seq, ""));
        (form_decode(name), form_decode(value))
    })
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn form_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_val);
                let lo = bytes.get(i + 2).copied().and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// "Percent-encode after encoding" with the `application/x-www-form-urlencoded` percent-encode
/// set and spaces as `%20` (RFC 9421 §2.2.8). Bytes that are not UTF-8 are first decoded with
/// replacement, as the URL Standard's parser does.
pub(crate) fn form_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_normalization() {
        assert_eq!(
            normalized_authority("Example.COM:443", "https"),
            "example.com"
        );
        assert_eq!(
            normalized_authority("example.com:8443", "https"),
            "example.com:8443"
        );
        assert_eq!(
            normalized_authority("example.com:80", "http"),
            "example.com"
        );
        assert_eq!(
            normalized_authority("example.com:80", "https"),
            "example.com:80"
        );
        assert_eq!(normalized_authority("[::1]:443", "https"), "[::1]");
        assert_eq!(normalized_authority("[::1]", "https"), "[::1]");
        assert_eq!(normalized_authority("example.com:", "https"), "example.com");
    }

    #[test]
    fn form_round_trip() {
        let pairs: Vec<_> =
            form_pairs("var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&&x")
                .collect();
        assert_eq!(pairs.len(), 4);
        assert_eq!(
            form_encode(&pairs[0].1),
            "this%20is%20a%20big%0Amultiline%20value"
        );
        assert_eq!(form_encode(&pairs[1].1), "with%20plus%20whitespace");
        assert_eq!(form_encode(&pairs[2].0), "fa%C3%A7ade%22%3A%20");
        assert_eq!(pairs[3], (b"x".to_vec(), Vec::new()));
        assert_eq!(form_encode(&form_decode("bat%2Dman")), "bat-man");
        assert_eq!(form_decode("%zz%4"), b"%zz%4");
    }
}
