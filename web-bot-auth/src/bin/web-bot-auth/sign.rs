//! `sign`: a complete HTTP/1.1 request message signed under the Web Bot Auth profile.

use web_bot_auth::clock::{Clock, SystemClock};
use web_bot_auth::message::RequestView;
use web_bot_auth::profile_signer::WebBotAuthSigner;
use web_bot_auth::sign::SignError;

use crate::SignArgs;
use crate::keyfile::load_signing;
use crate::output::{CliError, print};

/// Field names this command writes itself.
const RESERVED_FIELDS: [&str; 4] = ["host", "signature-agent", "signature-input", "signature"];

/// The parts of the request URL.
#[derive(Debug)]
struct Target {
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
}

impl Target {
    /// The origin-form request target: `path[?query]`.
    fn origin_form(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

fn parse_url(url: &str) -> Result<Target, CliError> {
    let place = format!("URL {url:?}");
    let uri: http::Uri = url.parse().map_err(|e| CliError::at(&place, e))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("https" | "http")) => s.to_owned(),
        Some(s) => {
            return Err(CliError::at(
                &place,
                format_args!("scheme {s:?} is not http or https"),
            ));
        }
        None => return Err(CliError::at(&place, "not an absolute http(s) URL")),
    };
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| CliError::at(&place, "no host"))?;
    if authority.contains('@') {
        return Err(CliError::at(&place, "user information is not allowed"));
    }
    let path = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    Ok(Target {
        scheme,
        authority,
        path,
        query: uri.query().map(str::to_owned),
    })
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_tchar)
}

/// Parses a `--header "Name: value"` argument.
fn parse_header(arg: &str) -> Result<(String, String), CliError> {
    let place = format!("--header {arg:?}");
    let (name, value) = arg
        .split_once(':')
        .ok_or_else(|| CliError::at(&place, "expected \"Name: value\""))?;
    if !is_token(name) {
        return Err(CliError::at(&place, "the field name is not a token"));
    }
    if RESERVED_FIELDS.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(CliError::at(&place, "this field is written by the command"));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(CliError::at(
            &place,
            "the value contains a line break or a NUL",
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Signs the request and prints the message.
pub fn run(args: &SignArgs) -> Result<(), CliError> {
    if !is_token(&args.method) {
        return Err(CliError::at(
            &format!("--method {:?}", args.method),
            "not a valid HTTP method (a token)",
        ));
    }
    let target = parse_url(&args.url)?;
    let mut headers: Vec<(String, String)> = vec![("Host".to_owned(), target.authority.clone())];
    for h in &args.header {
        headers.push(parse_header(h)?);
    }
    let key = load_signing(&args.key)?;
    if key.algorithm().is_symmetric() {
        return Err(CliError::at(
            &args.key,
            "a shared secret (oct JWK) cannot sign for Web Bot Auth",
        ));
    }
    let signer = WebBotAuthSigner::new(key, &args.agent)
        .map_err(|e| CliError::at(&format!("--agent {:?}", args.agent), e))?
        .with_label(&args.label)
        .with_expires_in(args.expires_in)
        .with_nonce(args.nonce);
    let request_target = target.origin_form();
    let view = RequestView {
        method: &args.method,
        scheme: &target.scheme,
        authority: &target.authority,
        path: &target.path,
        query: target.query.as_deref(),
        request_target: Some(&request_target),
        headers: &headers,
        trailers: &web_bot_auth::message::NoFields,
    };
    let created = args.created.unwrap_or_else(|| SystemClock.now_unix());
    let fields = signer
        .sign_at(&view, created, &mut rand_core::OsRng)
        .map_err(|e| match e {
            SignError::Label(e) => CliError::at(&format!("--label {:?}", args.label), e),
            e => CliError::new(format!("cannot sign: {e}")),
        })?;
    let mut out = format!("{} {request_target} HTTP/1.1\n", args.method);
    for (name, value) in &headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push_str(&format!("Signature-Agent: {}\n", fields.signature_agent));
    out.push_str(&format!("Signature-Input: {}\n", fields.signature_input));
    out.push_str(&format!("Signature: {}\n", fields.signature));
    out.push('\n');
    print(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("https://Bot.Example:8443/a/b?x=1&y#frag").unwrap();
        assert_eq!(t.authority, "Bot.Example:8443");
        assert_eq!(t.origin_form(), "/a/b?x=1&y");
        assert_eq!(parse_url("http://a.example").unwrap().origin_form(), "/");
        for bad in [
            "/x",
            "a.example/x",
            "ftp://a.example/",
            "https://u@a.example/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Accept:  text/html ").unwrap(),
            ("Accept".to_owned(), "text/html".to_owned())
        );
        assert_eq!(parse_header("X-Empty:").unwrap().1, "");
        for bad in ["NoColon", "Bad Name: x", "host: x", ": x", "Signature: x"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
    }
}
