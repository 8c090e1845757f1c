//! A strict, panic-free parser for HTTP/1.1 message text ([RFC 9112]).
//!
//! This is the input format of tools that verify HTTP message signatures:
//! a whole request or response (start line, header section, body and, for
//! chunked messages, trailer section) held in memory, typically read from a
//! file or standard input.
//!
//! # Accepted syntax
//!
//! * Lines end in CRLF or in a bare LF (both may be mixed). A CR that is not
//!   immediately followed by LF is an error.
//! * Request line: `method SP request-target SP HTTP-version`, where the
//!   method is a token, the target is any non-empty run of visible ASCII
//!   characters (origin-form, absolute-form, authority-form and `*` are all
//!   accepted and not interpreted) and the version is `HTTP/` DIGIT `.` DIGIT.
//! * Status line: `HTTP-version SP 3DIGIT [ SP reason-phrase ]`, with a
//!   status code between 100 and 999.
//! * Field lines: `field-name ":" OWS field-value OWS`. Whitespace between
//!   the name and the colon is an error. A line starting with SP or HTAB
//!   continues the previous field's value (obsolete line folding) and is
//!   joined to it with a single SP. Values may hold any byte except NUL, CR
//!   and LF; non-ASCII bytes are kept as they are.
//! * The header section ends at the first empty line, or at the end of the
//!   input (an absent empty line means the body is empty).
//!
//! # Body framing
//!
//! 1. A message carrying both `Transfer-Encoding` and `Content-Length` is
//!    rejected ([`Http1ErrorKind::ConflictingLength`]); every
//!    `Content-Length` value must be a decimal number and all of them must be
//!    equal.
//! 2. Responses with a 1xx, 204 or 304 status have an empty body.
//! 3. If the final transfer coding is `chunked`, the chunked body is decoded
//!    (chunk extensions are checked for control characters and otherwise
//!    ignored) and the trailer section that follows is parsed; a missing
//!    empty line at the end of the trailer section is accepted. A request
//!    whose transfer codings do not end in `chunked` is rejected; such a
//!    response is read as in rule 5.
//! 4. With `Content-Length`, the body is exactly that many bytes.
//! 5. Without any length information the body is the rest of the input,
//!    with **one** final line break (`"\n"` or `"\r\n"`) removed if present:
//!    text files usually end with a newline that is not part of the body.
//!    Note that RFC 9112 gives a request without framing fields an empty
//!    body; here any such text is taken as the body instead.
//!
//! After a framed body (rules 2–4), the input may end with at most one line
//! break; anything else is [`Http1ErrorKind::TrailingData`].
//!
//! # Limits and errors
//!
//! [`Http1Limits`] bounds the input size (checked before anything else), the
//! number of field lines and the length of every line the parser reads as a
//! line. Nothing is allocated from a size read from the input before that size
//! has been checked against the input that remains. Every error carries the
//! byte offset at which it was found together with its 1-based line and
//! column (columns count bytes).
//!
//! [RFC 9112]: https://www.rfc-editor.org/rfc/rfc9112

const SP: u8 = b' ';
const HTAB: u8 = b'\t';

/// Limits on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http1Limits {
    /// Largest accepted input, in bytes (default 1 MiB). Checked first.
    pub max_message_bytes: usize,
    /// Largest number of field lines, headers and trailers together
    /// (default 256). Continuation lines of obsolete line folding do not
    /// count as separate fields.
    pub max_fields: usize,
    /// Longest accepted line, in bytes, not counting its line break
    /// (default 16 KiB). Applies to the start line, every physical field
    /// line and every chunk-size line; not to body data.
    pub max_line_bytes: usize,
}

impl Default for Http1Limits {
    /// 1 MiB per message, 256 fields, 16 KiB per line.
    fn default() -> Self {
        Self {
            max_message_bytes: 1024 * 1024,
            max_fields: 256,
            max_line_bytes: 16 * 1024,
        }
    }
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// A request line: `method SP request-target SP HTTP-version`.
    Request {
        /// The method, as sent (methods are case-sensitive).
        method: String,
        /// The request target, as sent (not interpreted).
        target: String,
        /// The version, such as `HTTP/1.1`.
        version: String,
    },
    /// A status line: `HTTP-version SP status-code [ SP reason-phrase ]`.
    Response {
        /// The version, such as `HTTP/1.1`.
        version: String,
        /// The three-digit status code (100 to 999).
        status: u16,
        /// The reason phrase; empty when absent. Bytes that are not valid
        /// UTF-8 are replaced with U+FFFD.
        reason: String,
    },
}

/// One field line: name as sent (case kept), value with leading/trailing OWS
/// (SP/HTAB) removed and any obsolete line folding (a line break followed by
/// SP/HTAB) replaced by a single SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLine {
    /// The field name, exactly as sent.
    pub name: String,
    /// The field value, trimmed and unfolded; non-ASCII bytes kept as sent.
    pub value: Vec<u8>,
}

/// A parsed HTTP/1.1 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http1Message {
    /// The request line or status line.
    pub start: StartLine,
    /// The header fields, in the order sent.
    pub headers: Vec<FieldLine>,
    /// The message body, with any chunked transfer coding removed.
    pub body: Vec<u8>,
    /// The trailer fields of a chunked message, in the order sent.
    pub trailers: Vec<FieldLine>,
}

impl Http1Message {
    /// Whether the message is a request (as opposed to a response).
    #[must_use]
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Every value of a field, case-insensitive name match, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        field_values(&self.headers, name)
    }

    /// Every value of a trailer field, case-insensitive name match, in order.
    pub fn trailer_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        field_values(&self.trailers, name)
    }
}

fn field_values<'a>(fields: &'a [FieldLine], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    fields
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_slice())
}

/// A parse failure and where in the input it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line}, column {column} (byte {offset})")]
pub struct Http1Error {
    /// What went wrong.
    pub kind: Http1ErrorKind,
    /// Byte offset into the input (may equal the input length for errors
    /// found at its end).
    pub offset: usize,
    /// 1-based line number of `offset`.
    pub line: usize,
    /// 1-based column of `offset`, counted in bytes.
    pub column: usize,
}

/// The kinds of [`Http1Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Http1ErrorKind {
    /// The input is empty.
    #[error("empty message")]
    Empty,
    /// The input is longer than [`Http1Limits::max_message_bytes`].
    #[error("message exceeds the size limit")]
    TooLarge,
    /// A line is longer than [`Http1Limits::max_line_bytes`].
    #[error("line exceeds the length limit")]
    LineTooLong,
    /// There are more field lines than [`Http1Limits::max_fields`].
    #[error("too many header and trailer fields")]
    TooManyFields,
    /// A CR that is not followed by LF.
    #[error("carriage return not followed by line feed")]
    BareCr,
    /// The start line is not a request line or status line.
    #[error("malformed start line")]
    BadStartLine,
    /// The method is empty or not a token.
    #[error("invalid request method")]
    BadMethod,
    /// The request target is empty or contains whitespace, control or
    /// non-ASCII bytes.
    #[error("invalid request target")]
    BadTarget,
    /// The version is not `HTTP/` DIGIT `.` DIGIT.
    #[error("invalid HTTP version")]
    BadVersion,
    /// The status code is not three digits between 100 and 999.
    #[error("invalid status code")]
    BadStatus,
    /// The reason phrase contains control bytes.
    #[error("invalid reason phrase")]
    BadReason,
    /// A field name is empty or not a token.
    #[error("invalid field name")]
    BadFieldName,
    /// A field line has no colon.
    #[error("field line without a colon")]
    MissingColon,
    /// Whitespace between a field name and its colon.
    #[error("whitespace between field name and colon")]
    WhitespaceBeforeColon,
    /// A field value contains a NUL byte.
    #[error("invalid byte in field value")]
    InvalidFieldValue,
    /// A continuation line (obsolete line folding) with no field before it.
    #[error("continuation line without a preceding field line")]
    ObsFoldAtStart,
    /// `Transfer-Encoding` is empty, not a list of tokens, applies `chunked`
    /// other than last, or gives `chunked` parameters.
    #[error("invalid Transfer-Encoding")]
    BadTransferEncoding,
    /// A request's transfer codings do not end in `chunked`, so its length
    /// cannot be determined.
    #[error("request transfer coding does not end in chunked")]
    UnsupportedTransferCoding,
    /// A chunk-size line is not a hexadecimal number with optional
    /// extensions.
    #[error("invalid chunk size")]
    BadChunkSize,
    /// A chunk extension contains control bytes.
    #[error("invalid chunk extension")]
    BadChunkExtension,
    /// A chunk extends past the end of the input, or the input ends before
    /// the last chunk.
    #[error("chunked body truncated")]
    TruncatedChunk,
    /// Chunk data is not followed by a line break.
    #[error("chunk data not followed by a line break")]
    MissingChunkLineBreak,
    /// A `Content-Length` value is not a decimal number that fits in `usize`.
    #[error("invalid Content-Length")]
    BadContentLength,
    /// `Content-Length` fields with different values.
    #[error("Content-Length fields disagree")]
    ContentLengthMismatch,
    /// Both `Transfer-Encoding` and `Content-Length` are present.
    #[error("both Transfer-Encoding and Content-Length present")]
    ConflictingLength,
    /// The input ends before the `Content-Length` bytes of the body.
    #[error("body shorter than Content-Length")]
    TruncatedBody,
    /// Bytes after the end of a framed message (beyond one line break).
    #[error("data after the end of the message")]
    TrailingData,
}

/// Parses one HTTP/1.1 message (request or response) from `input`.
///
/// See the [module documentation](self) for the accepted syntax and for how
/// the body is delimited.
///
/// # Errors
///
/// Returns an [`Http1Error`] naming the first problem found and its position.
pub fn parse(input: &[u8], limits: &Http1Limits) -> Result<Http1Message, Http1Error> {
    if input.len() > limits.max_message_bytes {
        return Err(error_at(
            input,
            Http1ErrorKind::TooLarge,
            limits.max_message_bytes,
        ));
    }
    if input.is_empty() {
        return Err(error_at(input, Http1ErrorKind::Empty, 0));
    }
    let mut parser = Parser {
        input,
        pos: 0,
        limits,
        field_count: 0,
    };
    let start = parser.start_line()?;
    let mut headers = Vec::new();
    let mut header_pos = Vec::new();
    parser.field_section(&mut headers, &mut header_pos)?;
    let framing = parser.framing(&start, &headers, &header_pos)?;
    let mut trailers = Vec::new();
    let body = match framing {
        Framing::Empty => {
            parser.finish()?;
            Vec::new()
        }
        Framing::Length(len) => {
            let body = parser
                .rest()
                .get(..len)
                .ok_or_else(|| parser.err(Http1ErrorKind::TruncatedBody, input.len()))?
                .to_vec();
            parser.pos += len;
            parser.finish()?;
            body
        }
        Framing::Chunked => {
            let body = parser.chunked_body()?;
            let mut trailer_pos = Vec::new();
            if parser.field_section(&mut trailers, &mut trailer_pos)? {
                parser.finish()?;
            }
            body
        }
        Framing::UntilEnd => {
            let rest = parser.rest();
            let body = rest
                .strip_suffix(b"\r\n")
                .or_else(|| rest.strip_suffix(b"\n"))
                .unwrap_or(rest);
            body.to_vec()
        }
    };
    Ok(Http1Message {
        start,
        headers,
        body,
        trailers,
    })
}

/// Builds an error for `offset`, computing its line and column.
fn error_at(input: &[u8], kind: Http1ErrorKind, offset: usize) -> Http1Error {
    let before = input.get(..offset).unwrap_or(input);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Http1Error {
        kind,
        offset,
        line,
        column: offset.saturating_sub(line_start) + 1,
    }
}

/// How the body of a message is delimited.
enum Framing {
    /// No body (1xx, 204 and 304 responses).
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// Chunked transfer coding, then trailers.
    Chunked,
    /// The rest of the input, less one final line break.
    UntilEnd,
}

/// Where a field line was found, for error positions.
struct FieldPos {
    /// Offset of the start of the (first) line.
    line: usize,
    /// Offset of the first byte of the trimmed value.
    value: usize,
}

/// One line of input without its line break.
struct Line<'a> {
    /// Offset of the first byte of the line.
    start: usize,
    /// The line's bytes, without the line break.
    content: &'a [u8],
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    limits: &'a Http1Limits,
    field_count: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, kind: Http1ErrorKind, offset: usize) -> Http1Error {
        error_at(self.input, kind, offset)
    }

    /// The input not yet consumed.
    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Reads the next line, ended by LF, CRLF or the end of the input.
    /// Returns `None` when no input is left.
    fn next_line(&mut self) -> Result<Option<Line<'a>>, Http1Error> {
        let rest = self.rest();
        if rest.is_empty() {
            return Ok(None);
        }
        let start = self.pos;
        let max = self.limits.max_line_bytes;
        // Look no further than the longest acceptable line plus CR LF.
        let window = rest.get(..max.saturating_add(2)).unwrap_or(rest);
        let (content, consumed) = match window.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let raw = rest.get(..lf).unwrap_or_default();
                (raw.strip_suffix(b"\r").unwrap_or(raw), lf + 1)
            }
            None => (rest, rest.len()),
        };
        if content.len() > max {
            return Err(self.err(Http1ErrorKind::LineTooLong, start + max));
        }
        if let Some(cr) = content.iter().position(|&b| b == b'\r') {
            return Err(self.err(Http1ErrorKind::BareCr, start + cr));
        }
        self.pos = start + consumed;
        Ok(Some(Line { start, content }))
    }

    /// Accepts the end of the input, optionally preceded by one line break.
    fn finish(&self) -> Result<(), Http1Error> {
        match self.rest() {
            b"" | b"\n" | b"\r\n" => Ok(()),
            _ => Err(self.err(Http1ErrorKind::TrailingData, self.pos)),
        }
    }

    fn start_line(&mut self) -> Result<StartLine, Http1Error> {
        let Some(line) = self.next_line()? else {
            return Err(self.err(Http1ErrorKind::Empty, 0));
        };
        if line.content.is_empty() {
            return Err(self.err(Http1ErrorKind::BadStartLine, line.start));
        }
        if line.content.starts_with(b"HTTP/") {
            self.status_line(&line)
        } else {
            self.request_line(&line)
        }
    }

    fn request_line(&self, line: &Line<'a>) -> Result<StartLine, Http1Error> {
        let end = line.start + line.content.len();
        let (method, after_method) = match split_once_byte(line.content, SP) {
            Some((method, rest)) => (method, Some(rest)),
            None => (line.content, None),
        };
        if method.is_empty() {
            return Err(self.err(Http1ErrorKind::BadMethod, line.start));
        }
        if let Some(i) = method.iter().position(|&b| !is_tchar(b)) {
            return Err(self.err(Http1ErrorKind::BadMethod, line.start + i));
        }
        let Some(after_method) = after_method else {
            return Err(self.err(Http1ErrorKind::BadStartLine, end));
        };
        let target_start = line.start + method.len() + 1;
        let (target, version) = match split_once_byte(after_method, SP) {
            Some((target, version)) => (target, Some(version)),
            None => (after_method, None),
        };
        if target.is_empty() {
            return Err(self.err(Http1ErrorKind::BadTarget, target_start));
        }
        if let Some(i) = target.iter().position(|&b| !b.is_ascii_graphic()) {
            return Err(self.err(Http1ErrorKind::BadTarget, target_start + i));
        }
        let Some(version) = version else {
            return Err(self.err(Http1ErrorKind::BadStartLine, end));
        };
        if !is_http_version(version) {
            let version_start = target_start + target.len() + 1;
            return Err(self.err(Http1ErrorKind::BadVersion, version_start));
        }
        Ok(StartLine::Request {
            method: ascii_string(method),
            target: ascii_string(target),
            version: ascii_string(version),
        })
    }

    fn status_line(&self, line: &Line<'a>) -> Result<StartLine, Http1Error> {
        let end = line.start + line.content.len();
        let (version, after_version) = match split_once_byte(line.content, SP) {
            Some((version, rest)) => (version, Some(rest)),
            None => (line.content, None),
        };
        if !is_http_version(version) {
            return Err(self.err(Http1ErrorKind::BadVersion, line.start));
        }
        let Some(after_version) = after_version else {
            return Err(self.err(Http1ErrorKind::BadStartLine, end));
        };
        let status_start = line.start + version.len() + 1;
        let bad_status = || self.err(Http1ErrorKind::BadStatus, status_start);
        let (digits, reason): (&[u8], &[u8]) = match after_version {
            [a, b, c] => (&[*a, *b, *c], &[]),
            [a, b, c, SP, reason @ ..] => (&[*a, *b, *c], reason),
            _ => return Err(bad_status()),
        };
        let mut status: u16 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return Err(bad_status());
            }
            status = status * 10 + u16::from(d - b'0');
        }
        if status < 100 {
            return Err(bad_status());
        }
        let reason_start = status_start + 4;
        if let Some(i) = reason
            .iter()
            .position(|&b| b != HTAB && (b < 0x20 || b == 0x7f))
        {
            return Err(self.err(Http1ErrorKind::BadReason, reason_start + i));
        }
        Ok(StartLine::Response {
            version: ascii_string(version),
            status,
            reason: String::from_utf8_lossy(reason).into_owned(),
        })
    }

    /// Parses field lines into `fields` up to and including the empty line
    /// that ends the section, or up to the end of the input. Returns whether
    /// an empty line ended the section.
    fn field_section(
        &mut self,
        fields: &mut Vec<FieldLine>,
        positions: &mut Vec<FieldPos>,
    ) -> Result<bool, Http1Error> {
        while let Some(line) = self.next_line()? {
            let Some((&first, _)) = line.content.split_first() else {
                return Ok(true);
            };
            if first == SP || first == HTAB {
                // Obsolete line folding: continue the previous value.
                let Some(field) = fields.last_mut() else {
                    return Err(self.err(Http1ErrorKind::ObsFoldAtStart, line.start));
                };
                if let Some(i) = line.content.iter().position(|&b| b == 0) {
                    return Err(self.err(Http1ErrorKind::InvalidFieldValue, line.start + i));
                }
                let (more, _) = trim_ows(line.content);
                if !more.is_empty() {
                    if !field.value.is_empty() {
                        field.value.push(SP);
                    }
                    field.value.extend_from_slice(more);
                }
                continue;
            }
            let (field, pos) = self.field_line(&line)?;
            if self.field_count >= self.limits.max_fields {
                return Err(self.err(Http1ErrorKind::TooManyFields, line.start));
            }
            self.field_count += 1;
            fields.push(field);
            positions.push(pos);
        }
        Ok(false)
    }

    /// Parses `name ":" OWS value OWS` (the line does not start with
    /// whitespace).
    fn field_line(&self, line: &Line<'a>) -> Result<(FieldLine, FieldPos), Http1Error> {
        let Some((name, value)) = split_once_byte(line.content, b':') else {
            // Point at where the colon was expected.
            let at = line
                .content
                .iter()
                .position(|&b| !is_tchar(b))
                .unwrap_or(line.content.len());
            return Err(self.err(Http1ErrorKind::MissingColon, line.start + at));
        };
        if name.is_empty() {
            return Err(self.err(Http1ErrorKind::BadFieldName, line.start));
        }
        let trailing_ws = name
            .iter()
            .rev()
            .take_while(|&&b| b == SP || b == HTAB)
            .count();
        if trailing_ws > 0 {
            let at = line.start + name.len() - trailing_ws;
            return Err(self.err(Http1ErrorKind::WhitespaceBeforeColon, at));
        }
        if let Some(i) = name.iter().position(|&b| !is_tchar(b)) {
            return Err(self.err(Http1ErrorKind::BadFieldName, line.start + i));
        }
        let value_start = line.start + name.len() + 1;
        if let Some(i) = value.iter().position(|&b| b == 0) {
            return Err(self.err(Http1ErrorKind::InvalidFieldValue, value_start + i));
        }
        let (value, leading) = trim_ows(value);
        let field = FieldLine {
            name: ascii_string(name),
            value: value.to_vec(),
        };
        let pos = FieldPos {
            line: line.start,
            value: value_start + leading,
        };
        Ok((field, pos))
    }

    /// Decides how the body is delimited, from the start line and headers.
    fn framing(
        &self,
        start: &StartLine,
        headers: &[FieldLine],
        positions: &[FieldPos],
    ) -> Result<Framing, Http1Error> {
        let named = |name: &'static str| {
            headers
                .iter()
                .zip(positions)
                .filter(move |(f, _)| f.name.eq_ignore_ascii_case(name))
        };
        let mut transfer_encoding = named("transfer-encoding").peekable();
        let mut content_length = named("content-length").peekable();
        if transfer_encoding.peek().is_some()
            && let Some((_, pos)) = content_length.peek()
        {
            return Err(self.err(Http1ErrorKind::ConflictingLength, pos.line));
        }

        let mut length: Option<usize> = None;
        for (field, pos) in content_length {
            let value = parse_decimal(&field.value)
                .ok_or_else(|| self.err(Http1ErrorKind::BadContentLength, pos.value))?;
            match length {
                Some(previous) if previous != value => {
                    return Err(self.err(Http1ErrorKind::ContentLengthMismatch, pos.value));
                }
                _ => length = Some(value),
            }
        }

        if let StartLine::Response { status, .. } = start
            && (*status < 200 || *status == 204 || *status == 304)
        {
            return Ok(Framing::Empty);
        }

        if transfer_encoding.peek().is_some() {
            let mut codings = 0usize;
            let mut last_is_chunked = false;
            let mut first_value = None;
            for (field, pos) in transfer_encoding {
                let bad = || self.err(Http1ErrorKind::BadTransferEncoding, pos.value);
                first_value.get_or_insert(pos.value);
                for element in field.value.split(|&b| b == b',') {
                    let (element, _) = trim_ows(element);
                    if element.is_empty() {
                        continue;
                    }
                    if last_is_chunked {
                        // chunked must be the final coding.
                        return Err(bad());
                    }
                    let (name, params) = match split_once_byte(element, b';') {
                        Some((name, params)) => (trim_ows(name).0, Some(params)),
                        None => (element, None),
                    };
                    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                        return Err(bad());
                    }
                    last_is_chunked = name.eq_ignore_ascii_case(b"chunked");
                    if last_is_chunked && params.is_some() {
                        return Err(bad());
                    }
                    codings += 1;
                }
            }
            if codings == 0 {
                let at = first_value.unwrap_or(self.pos);
                return Err(self.err(Http1ErrorKind::BadTransferEncoding, at));
            }
            return match (last_is_chunked, start) {
                (true, _) => Ok(Framing::Chunked),
                (false, StartLine::Response { .. }) => Ok(Framing::UntilEnd),
                (false, StartLine::Request { .. }) => {
                    let at = first_value.unwrap_or(self.pos);
                    Err(self.err(Http1ErrorKind::UnsupportedTransferCoding, at))
                }
            };
        }

        Ok(length.map_or(Framing::UntilEnd, Framing::Length))
    }

    /// Decodes chunks up to and including the last-chunk line.
    fn chunked_body(&mut self) -> Result<Vec<u8>, Http1Error> {
        let mut body = Vec::new();
        loop {
            let Some(line) = self.next_line()? else {
                return Err(self.err(Http1ErrorKind::TruncatedChunk, self.input.len()));
            };
            let size = self.chunk_size(&line)?;
            if size == 0 {
                return Ok(body);
            }
            let data = self
                .rest()
                .get(..size)
                .ok_or_else(|| self.err(Http1ErrorKind::TruncatedChunk, line.start))?;
            body.extend_from_slice(data);
            self.pos += size;
            match self.rest() {
                [b'\n', ..] => self.pos += 1,
                [b'\r', b'\n', ..] => self.pos += 2,
                [] | [b'\r'] => {
                    return Err(self.err(Http1ErrorKind::TruncatedChunk, self.input.len()));
                }
                _ => return Err(self.err(Http1ErrorKind::MissingChunkLineBreak, self.pos)),
            }
        }
    }

    /// Parses `1*HEXDIG [ chunk-ext ]`; extensions are checked for control
    /// bytes and otherwise ignored.
    fn chunk_size(&self, line: &Line<'a>) -> Result<usize, Http1Error> {
        let digits = line
            .content
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits == 0 {
            return Err(self.err(Http1ErrorKind::BadChunkSize, line.start));
        }
        let hex = line.content.get(..digits).unwrap_or_default();
        let ext = line.content.get(digits..).unwrap_or_default();
        let mut size: usize = 0;
        for &b in hex {
            size = hex_value(b)
                .and_then(|d| size.checked_mul(16)?.checked_add(d))
                .ok_or_else(|| self.err(Http1ErrorKind::TruncatedChunk, line.start))?;
        }
        if !ext.is_empty() {
            let ext_start = line.start + digits;
            let ws = ext.iter().take_while(|&&b| b == SP || b == HTAB).count();
            if ext.get(ws) != Some(&b';') {
                return Err(self.err(Http1ErrorKind::BadChunkSize, ext_start + ws));
            }
            if let Some(i) = ext
                .iter()
                .position(|&b| b != HTAB && (b < 0x20 || b == 0x7f))
            {
                return Err(self.err(Http1ErrorKind::BadChunkExtension, ext_start + i));
            }
        }
        Ok(size)
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `HTTP/` DIGIT `.` DIGIT (case-sensitive).
fn is_http_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// Splits at the first `sep`, dropping it.
fn split_once_byte(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let mut parts = bytes.splitn(2, |&b| b == sep);
    let head = parts.next()?;
    let tail = parts.next()?;
    Some((head, tail))
}

/// Removes leading and trailing SP/HTAB; also returns how many leading bytes
/// were removed.
fn trim_ows(bytes: &[u8]) -> (&[u8], usize) {
    let is_ows = |b: &u8| *b == SP || *b == HTAB;
    let leading = bytes.iter().take_while(|b| is_ows(b)).count();
    let rest = bytes.get(leading..).unwrap_or_default();
    let trailing = rest.iter().rev().take_while(|b| is_ows(b)).count();
    let trimmed = rest
        .get(..rest.len().saturating_sub(trailing))
        .unwrap_or_default();
    (trimmed, leading)
}

/// A string from bytes already checked to be ASCII.
fn ascii_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn hex_value(b: u8) -> Option<usize> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| usize::try_from(d).ok())
}

/// `1*DIGIT` as a `usize`, or `None` if empty, not all digits or too large.
fn parse_decimal(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0usize, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    })
}

impl crate::message::FieldSource for Vec<FieldLine> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for line in self {
            if line.name.eq_ignore_ascii_case(name) {
                f(&line.value);
            }
        }
    }
}

impl Http1Message {
    /// Views a parsed request for signing or verification. `default_scheme` is used for
    /// origin-form targets (the text does not say whether it came over TLS); the authority comes
    /// from the target in absolute or authority form, else from the single `Host` field.
    pub fn request_view<'a>(
        &'a self,
        default_scheme: &'a str,
    ) -> Result<crate::message::RequestView<'a>, crate::message::ViewError> {
        use crate::message::ViewError;
        let StartLine::Request { method, target, .. } = &self.start else {
            return Err(ViewError::NotARequest);
        };
        let host = || {
            let mut hosts = self.header_values("host");
            match (hosts.next(), hosts.next()) {
                (Some(h), None) => std::str::from_utf8(h).map_err(|_| ViewError::NoAuthority),
                _ => Err(ViewError::NoAuthority),
            }
        };
        let (scheme, authority, path_query) = if let Some((scheme, rest)) = target.split_once("://")
        {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, pq) = rest.split_at(end);
            (scheme, authority, pq)
        } else if target.starts_with('/') {
            (default_scheme, host()?, target.as_str())
        } else if target == "*" {
            (default_scheme, host()?, "")
        } else {
            // authority-form (CONNECT)
            (default_scheme, target.as_str(), "")
        };
        let (path, query) = match path_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_query, None),
        };
        Ok(crate::message::RequestView {
            method,
            scheme,
            authority,
            path,
            query,
            request_target: Some(target),
            headers: &self.headers,
            trailers: &self.trailers,
        })
    }

    /// Views a parsed response; `request`, when given, serves components marked `;req`.
    pub fn response_view<'a>(
        &'a self,
        request: Option<crate::message::RequestView<'a>>,
    ) -> Result<crate::message::MessageView<'a>, crate::message::ViewError> {
        let StartLine::Response { status, .. } = &self.start else {
            return Err(crate::message::ViewError::NotAResponse);
        };
        Ok(crate::message::MessageView::Response(
            crate::message::ResponseView {
                status: *status,
                headers: &self.headers,
                trailers: &self.trailers,
            },
            request,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Http1Message, Http1Error> {
        parse(s.as_bytes(), &Http1Limits::default())
    }

    fn crlf(s: &str) -> String {
        s.replace('\n', "\r\n")
    }

    fn err(s: &str) -> Http1Error {
        match parse_str(s) {
            Ok(m) => panic!("expected an error, parsed {m:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the kind, line and column of an error, for both LF and CRLF
    /// versions of the input, and its offset for the LF version.
    fn assert_err(s: &str, kind: Http1ErrorKind, offset: usize, line: usize, column: usize) {
        let e = err(s);
        assert_eq!(
            e,
            Http1Error {
                kind,
                offset,
                line,
                column
            },
            "LF input {s:?}"
        );
        let e = err(&crlf(s));
        assert_eq!(
            (e.kind, e.line, e.column),
            (kind, line, column),
            "CRLF input {s:?}"
        );
    }

    fn values<'a>(m: &'a Http1Message, name: &'a str) -> Vec<&'a [u8]> {
        m.header_values(name).collect()
    }

    const RFC_POST: &str = "POST /foo?param=Value&Pet=dog HTTP/1.1\n\
        Host: example.com\n\
        Date: Tue, 20 Apr 2021 02:07:55 GMT\n\
        Content-Type: application/json\n\
        Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
        Content-Length: 18\n\
        \n\
        {\"hello\": \"world\"}\n";

    const RFC_CANON: &str = "GET / HTTP/1.1\n\
        Host: www.example.com\n\
        X-OWS-Header:   Leading and trailing whitespace.   \n\
        X-Obs-Fold-Header: Obsolete\n    line folding.\n\
        Cache-Control: max-age=60\n\
        Cache-Control:    must-revalidate\n\
        X-Empty-Header: \n";

    const RFC_CHUNKED: &str = "HTTP/1.1 200 OK\n\
        Content-Type: text/plain\n\
        Transfer-Encoding: chunked\n\
        Trailer: Expires\n\
        \n\
        4\n\
        HTTP\n\
        7\n\
        Message\n\
        a\n\
        Signatures\n\
        0\n\
        Expires: Wed, 9 Nov 2022 07:28:00 GMT\n\
        \n";

    #[test]
    fn rfc9421_post_request() {
        let m = parse_str(RFC_POST).unwrap();
        assert!(m.is_request());
        assert_eq!(
            m.start,
            StartLine::Request {
                method: "POST".into(),
                target: "/foo?param=Value&Pet=dog".into(),
                version: "HTTP/1.1".into(),
            }
        );
        assert_eq!(m.headers.len(), 5);
        assert_eq!(m.headers[0].name, "Host");
        assert_eq!(values(&m, "host"), [b"example.com"]);
        assert_eq!(values(&m, "DATE"), [b"Tue, 20 Apr 2021 02:07:55 GMT"]);
        assert_eq!(
            values(&m, "content-digest"),
            [b"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:".as_slice()]
        );
        assert_eq!(values(&m, "content-length"), [b"18"]);
        assert_eq!(m.body, b"{\"hello\": \"world\"}");
        assert!(m.trailers.is_empty());
        assert_eq!(parse_str(&crlf(RFC_POST)).unwrap(), m);
        // Without the final newline too.
        let trimmed = RFC_POST.strip_suffix('\n').unwrap();
        assert_eq!(parse_str(trimmed).unwrap(), m);
    }

    #[test]
    fn rfc9421_header_canonicalisation() {
        let m = parse_str(RFC_CANON).unwrap();
        assert_eq!(values(&m, "host"), [b"www.example.com"]);
        assert_eq!(
            values(&m, "x-ows-header"),
            [b"Leading and trailing whitespace."]
        );
        assert_eq!(values(&m, "x-obs-fold-header"), [b"Obsolete line folding."]);
        assert_eq!(
            values(&m, "cache-control"),
            [b"max-age=60".as_slice(), b"must-revalidate"]
        );
        assert_eq!(values(&m, "x-empty-header"), [b""]);
        assert_eq!(values(&m, "missing"), Vec::<&[u8]>::new());
        assert_eq!(m.headers.len(), 6);
        assert_eq!(m.headers[2].name, "X-Obs-Fold-Header");
        assert!(m.body.is_empty());
        assert_eq!(parse_str(&crlf(RFC_CANON)).unwrap(), m);
        // With the empty line that ends the header section.
        assert_eq!(parse_str(&format!("{RFC_CANON}\n")).unwrap(), m);
    }

    #[test]
    fn rfc9421_chunked_response_with_trailer() {
        let m = parse_str(RFC_CHUNKED).unwrap();
        assert!(!m.is_request());
        assert_eq!(
            m.start,
            StartLine::Response {
                version: "HTTP/1.1".into(),
                status: 200,
                reason: "OK".into(),
            }
        );
        assert_eq!(m.body, b"HTTPMessageSignatures");
        assert_eq!(m.headers.len(), 3);
        assert_eq!(values(&m, "trailer"), [b"Expires"]);
        assert_eq!(m.trailers.len(), 1);
        assert_eq!(m.trailers[0].name, "Expires");
        assert_eq!(
            m.trailer_values("expires").collect::<Vec<_>>(),
            [b"Wed, 9 Nov 2022 07:28:00 GMT"]
        );
        assert_eq!(m.header_values("expires").count(), 0);
        assert_eq!(parse_str(&crlf(RFC_CHUNKED)).unwrap(), m);
        // Missing final empty line, or one extra line break, are accepted.
        let no_final = RFC_CHUNKED.strip_suffix('\n').unwrap();
        assert_eq!(parse_str(no_final).unwrap(), m);
        let no_final = no_final.strip_suffix('\n').unwrap();
        assert_eq!(parse_str(no_final).unwrap(), m);
        assert_eq!(parse_str(&format!("{RFC_CHUNKED}\n")).unwrap(), m);
        assert_eq!(parse_str(&format!("{RFC_CHUNKED}\r\n")).unwrap(), m);
    }

    #[test]
    fn request_target_forms() {
        for (line, method, target) in [
            ("OPTIONS * HTTP/1.1", "OPTIONS", "*"),
            (
                "CONNECT www.example.com:80 HTTP/1.1",
                "CONNECT",
                "www.example.com:80",
            ),
            (
                "GET https://www.example.com/path?param=value HTTP/1.1",
                "GET",
                "https://www.example.com/path?param=value",
            ),
            ("GET /a%20b?x=[1]#frag HTTP/1.0", "GET", "/a%20b?x=[1]#frag"),
        ] {
            let text = format!("{line}\nHost: www.example.com\n\n");
            let m = parse_str(&text).unwrap();
            let StartLine::Request {
                method: got_method,
                target: got_target,
                version,
            } = &m.start
            else {
                panic!("not a request: {m:?}");
            };
            assert_eq!(got_method, method);
            assert_eq!(got_target, target);
            assert!(version.starts_with("HTTP/1."));
            assert!(m.body.is_empty());
            assert_eq!(parse_str(&crlf(&text)).unwrap(), m);
        }
    }

    #[test]
    fn start_line_only() {
        let m = parse_str("GET / HTTP/1.1").unwrap();
        assert!(m.headers.is_empty() && m.body.is_empty());
        let m = parse_str("GET / HTTP/1.1\n").unwrap();
        assert!(m.headers.is_empty() && m.body.is_empty());
        let m = parse_str("HTTP/1.1 404 Not Found\r\n\r\n").unwrap();
        assert!(m.headers.is_empty() && m.body.is_empty());
    }

    #[test]
    fn status_lines() {
        let status = |s: &str| match parse_str(s).unwrap().start {
            StartLine::Response {
                version,
                status,
                reason,
            } => (version, status, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            status("HTTP/1.1 200 OK\n"),
            ("HTTP/1.1".into(), 200, "OK".into())
        );
        assert_eq!(
            status("HTTP/1.0 204\n"),
            ("HTTP/1.0".into(), 204, String::new())
        );
        assert_eq!(
            status("HTTP/1.1 503 \n"),
            ("HTTP/1.1".into(), 503, String::new())
        );
        assert_eq!(
            status("HTTP/1.1 999 Very\tOdd  Reason \n"),
            ("HTTP/1.1".into(), 999, "Very\tOdd  Reason ".into())
        );
        assert_eq!(status("HTTP/1.1 100 Continue\n").1, 100);
        let m = parse(b"HTTP/1.1 200 \xc3\xa9t\xe9\n", &Http1Limits::default()).unwrap();
        let StartLine::Response { reason, .. } = m.start else {
            panic!()
        };
        assert_eq!(reason, "\u{e9}t\u{fffd}");
    }

    #[test]
    fn bad_start_lines() {
        use Http1ErrorKind::*;
        assert_err("\nHost: x\n", BadStartLine, 0, 1, 1);
        assert_err("GET\n", BadStartLine, 3, 1, 4);
        assert_err("GET /\n", BadStartLine, 5, 1, 6);
        assert_err("GET  / HTTP/1.1\n", BadTarget, 4, 1, 5);
        assert_err(" GET / HTTP/1.1\n", BadMethod, 0, 1, 1);
        assert_err("G(T / HTTP/1.1\n", BadMethod, 1, 1, 2);
        assert_err("GET\t/ HTTP/1.1\n", BadMethod, 3, 1, 4);
        assert_err("GET /\x7f HTTP/1.1\n", BadTarget, 5, 1, 6);
        assert_err("GET /é HTTP/1.1\n", BadTarget, 5, 1, 6);
        assert_err("GET / HTTP/1.1 \n", BadVersion, 6, 1, 7);
        assert_err("GET / HTTP/1.1 x\n", BadVersion, 6, 1, 7);
        assert_err("GET / http/1.1\n", BadVersion, 6, 1, 7);
        assert_err("GET / HTTP/11\n", BadVersion, 6, 1, 7);
        assert_err("GET / HTTP/1.x\n", BadVersion, 6, 1, 7);
        assert_err("GET / \n", BadVersion, 6, 1, 7);
        assert_err("HTTP/1.1\n", BadStartLine, 8, 1, 9);
        assert_err("HTTP/1.1x 200 OK\n", BadVersion, 0, 1, 1);
        assert_err("HTTP/ 200 OK\n", BadVersion, 0, 1, 1);
        assert_err("HTTP/1.1 20 OK\n", BadStatus, 9, 1, 10);
        assert_err("HTTP/1.1 2000 OK\n", BadStatus, 9, 1, 10);
        assert_err("HTTP/1.1 2x0 OK\n", BadStatus, 9, 1, 10);
        assert_err("HTTP/1.1 099 Low\n", BadStatus, 9, 1, 10);
        assert_err("HTTP/1.1  200 OK\n", BadStatus, 9, 1, 10);
        assert_err("HTTP/1.1 200 O\x01K\n", BadReason, 14, 1, 15);
        assert_err("GET / HTTP/1.1\rHost: x\n", BareCr, 14, 1, 15);
    }

    #[test]
    fn empty_and_too_large() {
        let e = err("");
        assert_eq!(
            (e.kind, e.offset, e.line, e.column),
            (Http1ErrorKind::Empty, 0, 1, 1)
        );
        let limits = Http1Limits {
            max_message_bytes: 20,
            ..Http1Limits::default()
        };
        assert!(parse(b"GET / HTTP/1.1\nA: bc", &limits).is_ok());
        let e = parse(b"GET / HTTP/1.1\nA: bcd", &limits).unwrap_err();
        assert_eq!(
            e,
            Http1Error {
                kind: Http1ErrorKind::TooLarge,
                offset: 20,
                line: 2,
                column: 6
            }
        );
        // The size is checked before anything else.
        let e = parse(&[0u8; 21], &limits).unwrap_err();
        assert_eq!(e.kind, Http1ErrorKind::TooLarge);
        assert_eq!(Http1Limits::default().max_message_bytes, 1 << 20);
        assert_eq!(Http1Limits::default().max_fields, 256);
        assert_eq!(Http1Limits::default().max_line_bytes, 16 << 10);
    }

    #[test]
    fn field_line_errors() {
        use Http1ErrorKind::*;
        assert_err(
            "GET / HTTP/1.1\nHost : x\n\n",
            WhitespaceBeforeColon,
            19,
            2,
            5,
        );
        assert_err(
            "GET / HTTP/1.1\nA: b\nHost\t: x\n\n",
            WhitespaceBeforeColon,
            24,
            3,
            5,
        );
        assert_err("GET / HTTP/1.1\nHost x\n\n", MissingColon, 19, 2, 5);
        assert_err("GET / HTTP/1.1\nHost\n\n", MissingColon, 19, 2, 5);
        assert_err("GET / HTTP/1.1\n: x\n\n", BadFieldName, 15, 2, 1);
        assert_err("GET / HTTP/1.1\nHo st: x\n\n", BadFieldName, 17, 2, 3);
        assert_err("GET / HTTP/1.1\nHé: x\n\n", BadFieldName, 16, 2, 2);
        assert_err(
            "GET / HTTP/1.1\n folded\nHost: x\n\n",
            ObsFoldAtStart,
            15,
            2,
            1,
        );
        assert_err(
            "GET / HTTP/1.1\nHost: a\0b\n\n",
            InvalidFieldValue,
            22,
            2,
            8,
        );
        assert_err("GET / HTTP/1.1\nHost: a\rb\n\n", BareCr, 22, 2, 8);
        assert_err("GET / HTTP/1.1\nHo\0st: ab\n\n", BadFieldName, 17, 2, 3);
        assert_err(
            "GET / HTTP/1.1\nHost: a\n  b\0\n\n",
            InvalidFieldValue,
            26,
            3,
            4,
        );
        assert_err("GET / HTTP/1.1\nHost: ab\r", BareCr, 23, 2, 9);
    }

    #[test]
    fn field_values_are_trimmed_and_unfolded() {
        let m = parse(
            b"GET / HTTP/1.1\n\
              A:\t x \t\n\
              B:one\n\t two \n   \n  three\n\
              C:\n  folded\n\
              D: caf\xc3\xa9 \xff\x01\n\
              E: a:b: c\n\
              \n",
            &Http1Limits::default(),
        )
        .unwrap();
        assert_eq!(values(&m, "a"), [b"x"]);
        assert_eq!(values(&m, "b"), [b"one two three"]);
        assert_eq!(values(&m, "c"), [b"folded"]);
        assert_eq!(values(&m, "d"), [b"caf\xc3\xa9 \xff\x01"]);
        assert_eq!(values(&m, "e"), [b"a:b: c"]);
        let names: Vec<_> = m.headers.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
    }

    #[test]
    fn body_without_length() {
        let body = |s: &str| parse_str(s).unwrap().body;
        assert_eq!(body("HTTP/1.1 200 OK\n\nhello\n"), b"hello");
        assert_eq!(body("HTTP/1.1 200 OK\r\n\r\nhello\r\n"), b"hello");
        assert_eq!(body("HTTP/1.1 200 OK\n\nhello"), b"hello");
        assert_eq!(body("HTTP/1.1 200 OK\n\nhello\n\n"), b"hello\n");
        assert_eq!(body("HTTP/1.1 200 OK\n\na\nb\r\n"), b"a\nb");
        assert_eq!(body("HTTP/1.1 200 OK\n\n\n"), b"");
        assert_eq!(body("POST / HTTP/1.1\n\n{}\n"), b"{}");
        // A response whose codings do not end in chunked reads to the end.
        assert_eq!(
            body("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\nxyz\n"),
            b"xyz"
        );
    }

    #[test]
    fn body_with_content_length() {
        let body = |s: &str| parse_str(s).unwrap().body;
        assert_eq!(body("POST / HTTP/1.1\nContent-Length: 3\n\nabc"), b"abc");
        assert_eq!(
            body("POST / HTTP/1.1\nContent-Length: 3\n\nabc\r\n"),
            b"abc"
        );
        assert_eq!(
            body("POST / HTTP/1.1\nContent-Length: 4\n\nabc\n"),
            b"abc\n"
        );
        assert_eq!(
            body("POST / HTTP/1.1\nContent-Length: 4\n\nabc\n\n"),
            b"abc\n"
        );
        assert_eq!(body("POST / HTTP/1.1\nContent-Length: 0\n\n"), b"");
        assert_eq!(body("POST / HTTP/1.1\nContent-Length: 0"), b"");
        assert_eq!(
            body("POST / HTTP/1.1\ncontent-length: 2\nContent-Length: 002\n\nab"),
            b"ab"
        );
        // Bodies may hold any bytes, including line breaks of either kind.
        let m = parse(
            b"POST / HTTP/1.1\nContent-Length: 5\n\n\r\n\0\xff\r",
            &Http1Limits::default(),
        )
        .unwrap();
        assert_eq!(m.body, b"\r\n\0\xff\r");
    }

    #[test]
    fn content_length_errors() {
        use Http1ErrorKind::*;
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 21\n\n{\"hello\": \"world\"}\n",
            TruncatedBody,
            55,
            5,
            1,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 5\n",
            TruncatedBody,
            34,
            3,
            1,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 2\n\nabc",
            TrailingData,
            37,
            4,
            3,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 2\n\nab\n\n",
            TrailingData,
            37,
            4,
            3,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: +2\n\nab",
            BadContentLength,
            32,
            2,
            17,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 2, 2\n\nab",
            BadContentLength,
            32,
            2,
            17,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length:\n\n",
            BadContentLength,
            31,
            2,
            16,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 99999999999999999999999\n\n",
            BadContentLength,
            32,
            2,
            17,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 2\nContent-Length: 3\n\nabc",
            ContentLengthMismatch,
            50,
            3,
            17,
        );
        assert_err(
            "POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nContent-Length: 3\n\n0\n\n",
            ConflictingLength,
            51,
            4,
            1,
        );
        assert_err(
            "POST / HTTP/1.1\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n",
            ConflictingLength,
            16,
            2,
            1,
        );
    }

    #[test]
    fn responses_without_body() {
        for status in [100, 101, 199, 204, 304] {
            let text = format!("HTTP/1.1 {status} X\nContent-Length: 10\n\n");
            assert!(parse_str(&text).unwrap().body.is_empty(), "{text}");
            let e = err(&format!("{text}data"));
            assert_eq!(e.kind, Http1ErrorKind::TrailingData);
        }
        let e = err("HTTP/1.1 200 OK\nContent-Length: 10\n\n");
        assert_eq!(e.kind, Http1ErrorKind::TruncatedBody);
    }

    #[test]
    fn chunked_bodies() {
        let m = parse_str(
            "POST / HTTP/1.1\n\
             Transfer-Encoding: gzip, CHUNKED\n\
             \n\
             5;name=value;other=\"quoted ; value\"\n\
             hello\n\
             00000000000000000000001 ; ext\n\
             !\n\
             0\n",
        )
        .unwrap();
        assert_eq!(m.body, b"hello!");
        assert!(m.trailers.is_empty());
        // Chunk data may contain line breaks; the chunk size decides.
        let m = parse_str(
            "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\na\nb\nA\n0123456789\n0\n\n",
        )
        .unwrap();
        assert_eq!(m.body, b"a\nb0123456789");
        // Codings may be spread over several field lines.
        let m = parse_str(
            "HTTP/1.1 200 OK\nTransfer-Encoding: gzip\nTransfer-Encoding: , chunked\n\n1\nx\n0\n\n",
        )
        .unwrap();
        assert_eq!(m.body, b"x");
        // Folded trailers, several of them.
        let m =
            parse_str("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n0\nA: 1\n  2\nB: 3\nb: 4\n")
                .unwrap();
        assert_eq!(m.trailer_values("a").collect::<Vec<_>>(), [b"1 2"]);
        assert_eq!(
            m.trailer_values("B").collect::<Vec<_>>(),
            [b"3".as_slice(), b"4"]
        );
    }

    #[test]
    fn chunked_errors() {
        use Http1ErrorKind::*;
        const HEAD: &str = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n";
        // HEAD is 44 bytes and 3 lines long.
        assert_eq!(HEAD.len(), 44);
        let at = |s: &str, kind: Http1ErrorKind, offset: usize, line: usize, column: usize| {
            assert_err(&format!("{HEAD}{s}"), kind, 44 + offset, 3 + line, column)
        };
        at("x\nabc\n0\n\n", BadChunkSize, 0, 1, 1);
        at("\n0\n\n", BadChunkSize, 0, 1, 1);
        at("-1\n", BadChunkSize, 0, 1, 1);
        at("3 \nabc\n0\n\n", BadChunkSize, 2, 1, 3);
        at("3x\nabc\n0\n\n", BadChunkSize, 1, 1, 2);
        at("0x3\nabc\n0\n\n", BadChunkSize, 1, 1, 2);
        at("3;a\x01b\nabc\n0\n\n", BadChunkExtension, 3, 1, 4);
        at("4\nHTTP\n9\nabc\n", TruncatedChunk, 7, 3, 1);
        at(
            "4\nHTTP\nffffffffffffffffffffffffffff\nabc\n",
            TruncatedChunk,
            7,
            3,
            1,
        );
        at("4\nHTTP\n", TruncatedChunk, 7, 3, 1);
        at("4\nHTTP", TruncatedChunk, 6, 2, 5);
        at("3\nHTTP\n0\n\n", MissingChunkLineBreak, 5, 2, 4);
        at("0\n\nextra", TrailingData, 3, 3, 1);
        at("0\nA: b\n\n\n\n", TrailingData, 8, 4, 1);
        at("0\n b\n\n", ObsFoldAtStart, 2, 2, 1);
        at("0\nA : b\n\n", WhitespaceBeforeColon, 3, 2, 2);
        // The input ends right after the header section.
        assert_err(
            "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n",
            TruncatedChunk,
            43,
            3,
            1,
        );
        assert_err(
            "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n",
            TruncatedChunk,
            44,
            4,
            1,
        );
    }

    #[test]
    fn transfer_encoding_errors() {
        use Http1ErrorKind::*;
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: gzip\n\nabc",
            UnsupportedTransferCoding,
            35,
            2,
            20,
        );
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: chunked, gzip\n\n0\n\n",
            BadTransferEncoding,
            35,
            2,
            20,
        );
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n0\n\n",
            BadTransferEncoding,
            62,
            3,
            20,
        );
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: chunked;x=1\n\n0\n\n",
            BadTransferEncoding,
            35,
            2,
            20,
        );
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: ,\n\n0\n\n",
            BadTransferEncoding,
            35,
            2,
            20,
        );
        assert_err(
            "POST / HTTP/1.1\nTransfer-Encoding: chun ked\n\n0\n\n",
            BadTransferEncoding,
            35,
            2,
            20,
        );
        // Parameters on other codings are allowed.
        let m = parse_str("POST / HTTP/1.1\nTransfer-Encoding: x;q=1 , chunked\n\n0\n\n").unwrap();
        assert!(m.body.is_empty());
    }

    #[test]
    fn too_many_fields() {
        let limits = Http1Limits {
            max_fields: 3,
            ..Http1Limits::default()
        };
        let ok = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nA: 1\n  folded\n\n0\nB: 2\n\n";
        assert!(parse(ok, &limits).is_ok());
        let text = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nA: 1\n\n0\nB: 2\nC: 3\n\n";
        let e = parse(text, &limits).unwrap_err();
        assert_eq!(
            e,
            Http1Error {
                kind: Http1ErrorKind::TooManyFields,
                offset: 56,
                line: 7,
                column: 1
            }
        );
        let e = parse(b"GET / HTTP/1.1\nA: 1\nB: 2\nC: 3\nD: 4\n\n", &limits).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.line, e.column),
            (Http1ErrorKind::TooManyFields, 30, 5, 1)
        );
        let none = Http1Limits {
            max_fields: 0,
            ..Http1Limits::default()
        };
        assert!(parse(b"GET / HTTP/1.1\n\n", &none).is_ok());
        assert_eq!(
            parse(b"GET / HTTP/1.1\nA: 1\n\n", &none).unwrap_err().kind,
            Http1ErrorKind::TooManyFields
        );
    }

    #[test]
    fn line_length_limit() {
        let limits = Http1Limits {
            max_line_bytes: 10,
            ..Http1Limits::default()
        };
        let check = |text: &[u8]| parse(text, &limits);
        // Exactly 10 bytes per line, with either line break or none.
        assert!(check(b"GET / HTTP/1.1\nAbcd: 1234\n\n").is_err()); // start line is 14
        let limits_14 = Http1Limits {
            max_line_bytes: 14,
            ..Http1Limits::default()
        };
        assert!(parse(b"GET / HTTP/1.1\r\nAbcd: 12345678\r\n\r\n", &limits_14).is_ok());
        assert!(parse(b"GET / HTTP/1.1\nAbcd: 12345678", &limits_14).is_ok());
        let e = parse(b"GET / HTTP/1.1\nAbcd: 123456789\n\n", &limits_14).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.line, e.column),
            (Http1ErrorKind::LineTooLong, 29, 2, 15)
        );
        let e = parse(b"GET / HTTP/1.1\nAbcd: 123456789", &limits_14).unwrap_err();
        assert_eq!(e.kind, Http1ErrorKind::LineTooLong);
        let e = check(b"GET / HTTP/1.1\n\n").unwrap_err();
        assert_eq!((e.kind, e.offset), (Http1ErrorKind::LineTooLong, 10));
        // Body data is not subject to the line limit.
        let long = format!("HTTP/1.1 200 OK\nContent-Length: 40\n\n{}", "x".repeat(40));
        let m = parse(
            long.as_bytes(),
            &Http1Limits {
                max_line_bytes: 20,
                ..Http1Limits::default()
            },
        )
        .unwrap();
        assert_eq!(m.body.len(), 40);
    }

    #[test]
    fn error_display() {
        let e = err("GET / HTTP/1.1\nHost : x\n\n");
        assert_eq!(
            e.to_string(),
            "whitespace between field name and colon at line 2, column 5 (byte 19)"
        );
    }

    #[test]
    fn crlf_and_lf_agree() {
        for text in [RFC_POST, RFC_CANON, RFC_CHUNKED] {
            let lf = parse_str(text).unwrap();
            let crlf_msg = parse_str(&crlf(text)).unwrap();
            assert_eq!(lf, crlf_msg);
        }
    }

    /// Truncations and single-byte changes of the examples never panic, and
    /// every error position lies within the input.
    #[test]
    fn mutations_do_not_panic() {
        let limits = Http1Limits::default();
        let small = Http1Limits {
            max_message_bytes: 200,
            max_fields: 4,
            max_line_bytes: 40,
        };
        for text in [RFC_POST, RFC_CANON, RFC_CHUNKED] {
            for base in [text.to_owned(), crlf(text)] {
                let bytes = base.as_bytes();
                for limits in [&limits, &small] {
                    for end in 0..=bytes.len() {
                        check_positions(&bytes[..end], limits);
                    }
                    for i in 0..bytes.len() {
                        for b in [0u8, b'\r', b'\n', b' ', b'\t', b':', b';', b'0', b'f', 0xff] {
                            let mut mutated = bytes.to_vec();
                            mutated[i] = b;
                            check_positions(&mutated, limits);
                            mutated.insert(i, b);
                            check_positions(&mutated, limits);
                        }
                    }
                }
            }
        }
    }

    fn check_positions(input: &[u8], limits: &Http1Limits) {
        if let Err(e) = parse(input, limits) {
            assert!(e.offset <= input.len(), "{e:?}");
            assert!(e.line >= 1 && e.column >= 1, "{e:?}");
            assert_eq!(e, error_at(input, e.kind, e.offset));
        }
    }
}
