//! Tokens of the Rules language, each with its byte span in the expression.

use super::error::{ExprError, ExprErrorKind};

/// A string literal as written: what the parser makes of it depends on where it stands (the
/// right-hand side of `matches` takes a quoted string verbatim, as Cloudflare's "regex escaping
/// rules" do; elsewhere the basic escapes `\"`, `\\` and `\xHH` are decoded).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StrLit {
    /// The text between the delimiters, verbatim.
    pub text: String,
    /// `"…"` rather than `r"…"`.
    pub quoted: bool,
    /// Where `text` starts in the expression.
    pub body_start: usize,
}

impl StrLit {
    /// The value with the basic escapes decoded (raw strings have none).
    pub fn decode(&self) -> Result<Vec<u8>, ExprError> {
        let bytes = self.text.as_bytes();
        if !self.quoted {
            return Ok(bytes.to_vec());
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'\\' {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
            let at = self.body_start + i;
            match bytes.get(i + 1) {
                Some(b'"') => out.push(b'"'),
                Some(b'\\') => out.push(b'\\'),
                Some(b'x') => {
                    let hex = self
                        .text
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    let Some(byte) = hex else {
                        return Err(ExprError::new(
                            ExprErrorKind::Syntax,
                            at,
                            at + 2,
                            "`\\x` takes two hex digits",
                        ));
                    };
                    out.push(byte);
                    i += 4;
                    continue;
                }
                _ => {
                    let len = self.text[i + 1..].chars().next().map_or(0, char::len_utf8);
                    return Err(ExprError::new(
                        ExprErrorKind::Syntax,
                        at,
                        at + 1 + len,
                        "unknown escape: a quoted string knows only `\\\"`, `\\\\` and `\\xHH` (a raw string `r\"…\"` needs none)",
                    ));
                }
            }
            i += 2;
        }
        Ok(out)
    }
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A run of `[A-Za-z0-9_.:/]`: a field or function name, a keyword, an integer, an address, a
    /// CIDR or a range. The parser decides which from where it stands.
    Word(String),
    /// A negative integer literal.
    NegInt(i64),
    /// A quoted or raw string.
    Str(StrLit),
    /// `$name`
    List(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Star,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `&&`, `||`, `^^`, `!`
    Sym(&'static str),
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/')
}

/// Splits `src` into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let simple = |kind: Tok, len: usize| Token {
            kind,
            start,
            end: start + len,
        };
        let next = bytes.get(i + 1).copied();
        let token = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            // A comment runs to the end of the line (Cloudflare's editor allows `#` comments).
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => simple(Tok::LParen, 1),
            b')' => simple(Tok::RParen, 1),
            b'{' => simple(Tok::LBrace, 1),
            b'}' => simple(Tok::RBrace, 1),
            b'[' => simple(Tok::LBracket, 1),
            b']' => simple(Tok::RBracket, 1),
            b',' => simple(Tok::Comma, 1),
            b'*' => simple(Tok::Star, 1),
            b'~' => simple(Tok::Sym("~"), 1),
            b'=' if next == Some(b'=') => simple(Tok::Sym("=="), 2),
            b'!' if next == Some(b'=') => simple(Tok::Sym("!="), 2),
            b'!' => simple(Tok::Sym("!"), 1),
            b'<' if next == Some(b'=') => simple(Tok::Sym("<="), 2),
            b'<' => simple(Tok::Sym("<"), 1),
            b'>' if next == Some(b'=') => simple(Tok::Sym(">="), 2),
            b'>' => simple(Tok::Sym(">"), 1),
            b'&' if next == Some(b'&') => simple(Tok::Sym("&&"), 2),
            b'|' if next == Some(b'|') => simple(Tok::Sym("||"), 2),
            b'^' if next == Some(b'^') => simple(Tok::Sym("^^"), 2),
            b'"' => quoted(src, start)?,
            b'r' if matches!(next, Some(b'"' | b'#')) => raw(src, start)?,
            b'$' => {
                let mut end = start + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'.'))
                {
                    end += 1;
                }
                if end == start + 1 {
                    return Err(ExprError::new(
                        ExprErrorKind::Syntax,
                        start,
                        start + 1,
                        "`$` must be followed by a list name",
                    ));
                }
                Token {
                    kind: Tok::List(src[start + 1..end].to_owned()),
                    start,
                    end,
                }
            }
            b'-' if next.is_some_and(|n| n.is_ascii_digit()) => {
                let mut end = start + 1;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                let value = src[start..end].parse::<i64>().map_err(|_| {
                    ExprError::new(ExprErrorKind::Syntax, start, end, "integer out of range")
                })?;
                Token {
                    kind: Tok::NegInt(value),
                    start,
                    end,
                }
            }
            b if is_word_byte(b) => {
                let mut end = start;
                while end < bytes.len() && is_word_byte(bytes[end]) {
                    end += 1;
                }
                Token {
                    kind: Tok::Word(src[start..end].to_owned()),
                    start,
                    end,
                }
            }
            _ => {
                let len = src[start..].chars().next().map_or(1, char::len_utf8);
                return Err(ExprError::new(
                    ExprErrorKind::Syntax,
                    start,
                    start + len,
                    format!("unexpected character `{}`", &src[start..start + len]),
                ));
            }
        };
        i = token.end;
        tokens.push(token);
    }
    Ok(tokens)
}

/// `"…"`: finds the closing quote (one not escaped by `\\`); decoding waits for the parser.
fn quoted(src: &str, start: usize) -> Result<Token, ExprError> {
    let bytes = src.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                return Ok(Token {
                    kind: Tok::Str(StrLit {
                        text: src[start + 1..i].to_owned(),
                        quoted: true,
                        body_start: start + 1,
                    }),
                    start,
                    end: i + 1,
                });
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Err(ExprError::new(
        ExprErrorKind::Syntax,
        start,
        src.len(),
        "unterminated string",
    ))
}

/// `r"…"`, `r#"…"#`, … (up to 255 `#`): no escapes at all.
fn raw(src: &str, start: usize) -> Result<Token, ExprError> {
    let bytes = src.as_bytes();
    let mut i = start + 1;
    let mut hashes = 0usize;
    while bytes.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    if bytes.get(i) != Some(&b'"') || hashes > 255 {
        return Err(ExprError::new(
            ExprErrorKind::Syntax,
            start,
            i,
            "malformed raw string delimiter",
        ));
    }
    let body = i + 1;
    let mut j = body;
    while j < bytes.len() {
        if bytes[j] == b'"'
            && bytes.len() >= j + 1 + hashes
            && bytes[j + 1..j + 1 + hashes].iter().all(|&b| b == b'#')
        {
            return Ok(Token {
                kind: Tok::Str(StrLit {
                    text: src[body..j].to_owned(),
                    quoted: false,
                    body_start: body,
                }),
                start,
                end: j + 1 + hashes,
            });
        }
        j += 1;
    }
    Err(ExprError::new(
        ExprErrorKind::Syntax,
        start,
        src.len(),
        "unterminated raw string",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn words_and_symbols() {
        assert_eq!(
            kinds("ip.src in {192.0.2.0/24 2001:db8::/32} && !x"),
            vec![
                Tok::Word("ip.src".into()),
                Tok::Word("in".into()),
                Tok::LBrace,
                Tok::Word("192.0.2.0/24".into()),
                Tok::Word("2001:db8::/32".into()),
                Tok::RBrace,
                Tok::Sym("&&"),
                Tok::Sym("!"),
                Tok::Word("x".into()),
            ]
        );
    }

    fn decoded(src: &str) -> Result<Vec<u8>, ExprError> {
        match kinds(src).pop() {
            Some(Tok::Str(lit)) => lit.decode(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings() {
        assert_eq!(
            decoded(r#""a\"b\\c\x2e""#).ok(),
            Some(br#"a"b\c."#.to_vec())
        );
        assert!(decoded(r#""a\.b""#).is_err());
        assert_eq!(decoded(r###"r#"a"b"#"###).ok(), Some(br#"a"b"#.to_vec()));
        assert_eq!(decoded(r#"r"\d+""#).ok(), Some(br"\d+".to_vec()));
        match kinds(r#""a\.b""#).pop() {
            Some(Tok::Str(lit)) => assert_eq!(lit.text, r"a\.b"),
            other => panic!("{other:?}"),
        }
        assert!(tokenize(r#""abc"#).is_err());
        assert!(tokenize(r##"r#"abc""##).is_err());
    }

    #[test]
    fn lists_negatives_and_errors() {
        assert_eq!(
            kinds("$office_ips -5"),
            vec![Tok::List("office_ips".into()), Tok::NegInt(-5)]
        );
        let err = tokenize("a @ b").err();
        assert_eq!(err.map(|e| e.start()), Some(2));
    }
}
