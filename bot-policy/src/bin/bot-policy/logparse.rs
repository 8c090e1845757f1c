//! Access log lines: reading them (bounded), and parsing the combined and JSON-lines formats.

use std::io::{self, BufRead};
use std::net::IpAddr;

use http::HeaderName;
use serde::Deserialize;

use crate::LogFormat;
use crate::request::{Request, header_value, split_url, valid_method};

/// The longest line read; longer lines are malformed.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// One line read by [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (in the buffer, without its line ending).
    Text,
    /// A line longer than the limit (the buffer holds its start).
    TooLong,
    /// The end of the input.
    End,
}

/// Reads one line into `buf` (cleared first), never holding more than `max` bytes of it. Adds the
/// bytes consumed to `consumed`.
pub(crate) fn read_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
    consumed: &mut u64,
) -> io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if !any {
                return Ok(Line::End);
            }
            break;
        }
        any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (&available[..at], at + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                let room = max - buf.len();
                buf.extend_from_slice(&chunk[..room]);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        *consumed += used as u64;
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Line::TooLong);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Text)
}

/// Parses a line of the given format; `None` for a blank line, an error for a malformed one.
pub(crate) fn parse(format: LogFormat, line: &[u8]) -> Result<Option<Request>, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match format {
        LogFormat::Combined => parse_combined(line).map(Some),
        LogFormat::Jsonl => parse_jsonl(line).map(Some),
    }
}

/// A cursor over a combined log line.
struct Cursor<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_spaces(&mut self) {
        while self
            .line
            .get(self.at)
            .is_some_and(|&b| b == b' ' || b == b'\t')
        {
            self.at += 1;
        }
    }

    /// The bytes up to the next space or tab (or the end).
    fn token(&mut self) -> &'a [u8] {
        self.skip_spaces();
        let start = self.at;
        while self
            .line
            .get(self.at)
            .is_some_and(|&b| b != b' ' && b != b'\t')
        {
            self.at += 1;
        }
        &self.line[start..self.at]
    }

    fn peek(&self) -> Option<u8> {
        self.line.get(self.at).copied()
    }

    /// A `[…]` field, without its brackets.
    fn bracketed(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.peek() != Some(b'[') {
            return None;
        }
        let start = self.at + 1;
        let len = memchr::memchr(b']', &self.line[start..])?;
        self.at = start + len + 1;
        Some(&self.line[start..start + len])
    }

    /// A `"…"` field, unescaped (`\"`, `\\`, `\xHH`; other escapes are kept as written).
    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.skip_spaces();
        if self.peek() != Some(b'"') {
            return None;
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.at += 1;
            match b {
                b'"' => return Some(out),
                b'\\' => {
                    let next = self.peek()?;
                    match next {
                        b'"' | b'\\' => {
                            out.push(next);
                            self.at += 1;
                        }
                        b'x' => {
                            let hex = self.line.get(self.at + 1..self.at + 3);
                            match hex
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                            {
                                Some(byte) => {
                                    out.push(byte);
                                    self.at += 3;
                                }
                                None => out.push(b'\\'),
                            }
                        }
                        _ => out.push(b'\\'),
                    }
                }
                _ => out.push(b),
            }
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `IP - user [time] "METHOD TARGET PROTO" status bytes "referer" "user-agent"`; the referer and
/// user agent may be missing (common log format), fields after them are ignored.
fn parse_combined(line: &[u8]) -> Result<Request, String> {
    let mut cursor = Cursor { line, at: 0 };
    let ip = cursor.token();
    let ip: IpAddr = std::str::from_utf8(ip)
        .ok()
        .and_then(|ip| ip.parse().ok())
        .ok_or("the first field is not an IP address")?;
    // ident and user: everything up to the `[` of the time.
    let open = memchr::memchr(b'[', &line[cursor.at..]).ok_or("no [time]")?;
    cursor.at += open;
    cursor.bracketed().ok_or("no [time]")?;
    let request_line = cursor.quoted().ok_or("no quoted request line")?;
    let status = cursor.token();
    if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
        return Err("no status after the request line".to_owned());
    }
    let size = cursor.token();
    if size.is_empty() || !(size == b"-" || size.iter().all(u8::is_ascii_digit)) {
        return Err("no size after the status".to_owned());
    }
    let referer = if cursor.peek_after_spaces() == Some(b'"') {
        cursor.quoted().ok_or("unterminated referer")?
    } else {
        Vec::new()
    };
    let user_agent = if cursor.peek_after_spaces() == Some(b'"') {
        cursor.quoted().ok_or("unterminated user agent")?
    } else {
        Vec::new()
    };

    let mut parts = request_line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let method = text(parts.next().unwrap_or_default());
    let target = parts.next().unwrap_or_default();
    let protocol = parts.next();
    if !valid_method(&method) || target.is_empty() || parts.next().is_some() {
        return Err("the request line is not METHOD TARGET PROTOCOL".to_owned());
    }
    if protocol.is_some_and(|p| !p.starts_with(b"HTTP/")) {
        return Err("the request line is not METHOD TARGET PROTOCOL".to_owned());
    }
    let mut request = Request::new();
    request.method = method;
    request.client_ip = Some(ip);
    let target = text(target);
    set_target(&mut request, &target, None)?;
    if !referer.is_empty() && referer != b"-" {
        request
            .headers
            .insert(http::header::REFERER, header_value(&referer));
    }
    if !user_agent.is_empty() && user_agent != b"-" {
        request
            .headers
            .insert(http::header::USER_AGENT, header_value(&user_agent));
    }
    Ok(request)
}

impl Cursor<'_> {
    fn peek_after_spaces(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.peek()
    }
}

/// Sets scheme, host and target from a request target or URL; `host` (when given) wins over the
/// URL's.
fn set_target(request: &mut Request, url: &str, host: Option<&str>) -> Result<(), String> {
    let split = if url.starts_with('/') || url == "*" || url.contains("://") {
        split_url(url)?
    } else {
        // An authority (CONNECT) or something else a server logged: keep it as the target.
        crate::request::SplitUrl {
            scheme: None,
            host: None,
            target: url.to_owned(),
        }
    };
    if let Some(scheme) = split.scheme {
        request.scheme = scheme.to_ascii_lowercase();
    }
    if let Some(host) = host.or(split.host) {
        request.host = host.to_owned();
    }
    request.target = split.target;
    Ok(())
}

/// A JSON line. Unknown keys are ignored.
#[derive(Deserialize)]
struct JsonLine {
    ip: Option<String>,
    method: Option<String>,
    url: Option<String>,
    path: Option<String>,
    host: Option<String>,
    query: Option<String>,
    scheme: Option<String>,
    ua: Option<String>,
    user_agent: Option<String>,
    referer: Option<String>,
    headers: Option<serde_json::Map<String, serde_json::Value>>,
    signature_agent: Option<String>,
}

fn parse_jsonl(line: &[u8]) -> Result<Request, String> {
    let json: JsonLine =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let mut request = Request::new();
    if let Some(method) = json.method {
        if !valid_method(&method) {
            return Err("`method` is not an HTTP method".to_owned());
        }
        request.method = method;
    }
    if let Some(ip) = &json.ip {
        request.client_ip = Some(
            ip.trim()
                .parse()
                .map_err(|_| format!("`ip` `{ip}` is not an IP address"))?,
        );
    }
    if let Some(headers) = &json.headers {
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a header name"))?;
            match value {
                serde_json::Value::String(value) => {
                    request.headers.append(name, header_value(value.as_bytes()));
                }
                serde_json::Value::Array(values) => {
                    for value in values {
                        let value = value.as_str().ok_or("header values are strings")?;
                        request
                            .headers
                            .append(name.clone(), header_value(value.as_bytes()));
                    }
                }
                _ => return Err("header values are strings".to_owned()),
            }
        }
    }
    let header_host = request
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = json.host.or(header_host);
    match (&json.url, &json.path) {
        (Some(url), _) => set_target(&mut request, url, host.as_deref())?,
        (None, Some(path)) => {
            let target = match json
                .query
                .as_deref()
                .map(|q| q.strip_prefix('?').unwrap_or(q))
            {
                Some(query) if !query.is_empty() => format!("{path}?{query}"),
                _ => path.clone(),
            };
            set_target(&mut request, &target, host.as_deref())?;
        }
        (None, None) => return Err("no `url` or `path`".to_owned()),
    }
    if request.target.is_empty() {
        return Err("empty `url` or `path`".to_owned());
    }
    if let Some(scheme) = json.scheme {
        request.scheme = scheme;
    }
    if let Some(ua) = json.ua.or(json.user_agent) {
        request
            .headers
            .insert(http::header::USER_AGENT, header_value(ua.as_bytes()));
    }
    if let Some(referer) = json.referer {
        request
            .headers
            .insert(http::header::REFERER, header_value(referer.as_bytes()));
    }
    request.signature_agent = json.signature_agent.filter(|agent| !agent.is_empty());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        let mut reader = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let line = read_line(&mut reader, &mut buf, max, &mut consumed).unwrap();
            if line == Line::End {
                break;
            }
            out.push((line, buf.clone()));
        }
        assert_eq!(consumed, input.len() as u64);
        out
    }

    #[test]
    fn lines_are_bounded() {
        let got = lines(b"ab\r\n0123456789\n\nlast", 8);
        assert_eq!(
            got,
            vec![
                (Line::Text, b"ab".to_vec()),
                (Line::TooLong, b"01234567".to_vec()),
                (Line::Text, Vec::new()),
                (Line::Text, b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn combined_lines_parse() {
        let line = br#"203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "https://r.example/" "Mozilla/5.0 \"quoted\" \x41""#;
        let request = parse_combined(line).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/a?b=1");
        assert_eq!(request.client_ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(request.user_agent(), b"Mozilla/5.0 \"quoted\" A");
        assert_eq!(
            request.headers.get("referer").unwrap(),
            "https://r.example/"
        );

        let line = br#"2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "GET http://proxy.example:8080/x HTTP/1.0" 404 - "-" "-""#;
        let request = parse_combined(line).unwrap();
        assert_eq!(
            (request.scheme.as_str(), request.host.as_str()),
            ("http", "proxy.example:8080")
        );
        assert_eq!(request.target, "/x");
        assert!(request.headers.is_empty());

        // Common log format: no referer, no user agent.
        assert!(parse_combined(br#"192.0.2.1 - - [t] "HEAD / HTTP/1.1" 200 0"#).is_ok());
    }

    #[test]
    fn malformed_combined_lines_are_errors() {
        for line in [
            &b"garbage"[..],
            b"192.0.2.1 - - [t] \"-\" 400 0 \"-\" \"-\"",
            b"192.0.2.1 - - [t] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"",
            b"192.0.2.1 - - [t] \"GET / HTTP/1.1\" 2000 0",
            b"192.0.2.1 - - [t] \"GET / HTTP/1.1",
            b"192.0.2.1 - - [t",
            b"192.0.2.1 - - [t] \"GET / HTTP/1.1\" 200 0 \"unterminated",
            b"not-an-ip - - [t] \"GET / HTTP/1.1\" 200 0",
            b"192.0.2.1 - - [t] \"GET / x y\" 200 0",
            b"192.0.2.1 - - [t] \"GET / HTTP/1.1\" 200 0 \"-\" \"\\",
        ] {
            assert!(
                parse_combined(line).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn json_lines_parse() {
        let line = br#"{"ip":"192.0.2.7","method":"POST","path":"/mcp","query":"?a=1","host":"h.example","user_agent":"claude-code/1.0","headers":{"Accept":["a","b"],"x-y":"z"},"signature_agent":"https://agent.example","time":"2025-01-01T00:00:00Z","status":200}"#;
        let request = parse_jsonl(line).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/mcp?a=1");
        assert_eq!(request.host, "h.example");
        assert_eq!(request.user_agent(), b"claude-code/1.0");
        assert_eq!(request.headers.get_all("accept").iter().count(), 2);
        assert_eq!(
            request.signature_agent.as_deref(),
            Some("https://agent.example")
        );

        let request = parse_jsonl(br#"{"url":"http://a.example/x?y","ua":"curl/8"}"#).unwrap();
        assert_eq!(
            (
                request.scheme.as_str(),
                request.host.as_str(),
                request.target.as_str()
            ),
            ("http", "a.example", "/x?y")
        );
        assert_eq!(request.method, "GET");
        assert_eq!(request.client_ip, None);

        for bad in [
            &br#"[1,2]"#[..],
            br#"{"path":"/","ip":"nope"}"#,
            br#"{"ip":"192.0.2.1"}"#,
            br#"{"path":"/","headers":{"a b":"c"}}"#,
            br#"{"path":"/","headers":{"a":1}}"#,
            br#"{"path":"/","method":"G E T"}"#,
            br#"{"path":5}"#,
            b"{\"path\":\"/\"",
            b"\xff\xfe",
        ] {
            assert!(
                parse_jsonl(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
