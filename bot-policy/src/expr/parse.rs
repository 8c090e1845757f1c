//! The parser: tokens to a syntax tree, with Cloudflare's precedence (`not`, then `and`, `xor`,
//! `or`) and a cap on nesting.

use super::error::{ExprError, ExprErrorKind};
use super::lex::{StrLit, Tok, Token};

/// A node of the syntax tree and the bytes of the expression it covers.
#[derive(Debug, Clone)]
pub(crate) struct Ast {
    pub kind: AstKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum AstKind {
    /// Two or more operands of the same operator, left to right (kept flat, so that a long
    /// chain of `or` does not make a deep tree).
    Logic(LogicOp, Vec<Ast>),
    Not(Box<Ast>),
    Compare(Box<Ast>, CmpOp, Rhs),
    /// A field name (resolved later).
    Name(String),
    Index(Box<Ast>, IndexKind),
    Call(String, Vec<Ast>),
    Str(StrLit),
    Int(i64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicOp {
    And,
    Or,
    Xor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
    Wildcard,
    StrictWildcard,
    In,
}

impl CmpOp {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Contains => "contains",
            CmpOp::Matches => "matches",
            CmpOp::Wildcard => "wildcard",
            CmpOp::StrictWildcard => "strict wildcard",
            CmpOp::In => "in",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum IndexKind {
    Key(StrLit),
    Position(i64),
    Each,
}

/// The right-hand side of a comparison: always literal.
#[derive(Debug, Clone)]
pub(crate) struct Rhs {
    pub kind: RhsKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum RhsKind {
    Str(StrLit),
    /// A bare word: an integer, an address, a CIDR, a range, `true` or `false`.
    Word(String),
    NegInt(i64),
    Set(Vec<Rhs>),
    List(String),
}

/// Parses `src` (already known to be within the length limit), nesting at most `max_depth`.
pub(crate) fn parse(src: &str, tokens: Vec<Token>, max_depth: usize) -> Result<Ast, ExprError> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        max_depth,
        src_len: src.len(),
    };
    if parser.tokens.is_empty() {
        return Err(ExprError::new(
            ExprErrorKind::Syntax,
            0,
            src.len(),
            "empty expression",
        ));
    }
    let ast = parser.or()?;
    if let Some(token) = parser.peek() {
        return Err(ExprError::new(
            ExprErrorKind::Syntax,
            token.start,
            token.end,
            "expected `and`, `or`, `xor` or the end of the expression",
        ));
    }
    Ok(ast)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    max_depth: usize,
    src_len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn end_error(&self, what: &str) -> ExprError {
        ExprError::new(
            ExprErrorKind::Syntax,
            self.src_len,
            self.src_len,
            format!("expected {what}, found the end of the expression"),
        )
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<Token, ExprError> {
        match self.next() {
            Some(token) if &token.kind == want => Ok(token),
            Some(token) => Err(ExprError::new(
                ExprErrorKind::Syntax,
                token.start,
                token.end,
                format!("expected {what}"),
            )),
            None => Err(self.end_error(what)),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ExprError::new(
                ExprErrorKind::Limit,
                at,
                at + 1,
                format!("nested more than {} levels deep", self.max_depth),
            ));
        }
        Ok(())
    }

    fn is_word(&self, words: &[&str], symbols: &[&str]) -> bool {
        match self.peek().map(|t| &t.kind) {
            Some(Tok::Word(w)) => words.contains(&w.as_str()),
            Some(Tok::Sym(s)) => symbols.contains(s),
            _ => false,
        }
    }

    fn binary(
        &mut self,
        op: LogicOp,
        words: &[&str],
        symbols: &[&str],
        operand: fn(&mut Self) -> Result<Ast, ExprError>,
    ) -> Result<Ast, ExprError> {
        let first = operand(self)?;
        if !self.is_word(words, symbols) {
            return Ok(first);
        }
        let start = first.start;
        let mut operands = vec![first];
        while self.is_word(words, symbols) {
            self.pos += 1;
            operands.push(operand(self)?);
        }
        let end = operands.last().map_or(start, |last| last.end);
        Ok(Ast {
            kind: AstKind::Logic(op, operands),
            start,
            end,
        })
    }

    fn or(&mut self) -> Result<Ast, ExprError> {
        self.binary(LogicOp::Or, &["or"], &["||"], Self::xor)
    }

    fn xor(&mut self) -> Result<Ast, ExprError> {
        self.binary(LogicOp::Xor, &["xor"], &["^^"], Self::and)
    }

    fn and(&mut self) -> Result<Ast, ExprError> {
        self.binary(LogicOp::And, &["and"], &["&&"], Self::unary)
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        if self.is_word(&["not"], &["!"]) {
            let start = self.tokens[self.pos].start;
            self.pos += 1;
            self.enter(start)?;
            let inner = self.unary()?;
            self.depth -= 1;
            let end = inner.end;
            return Ok(Ast {
                kind: AstKind::Not(Box::new(inner)),
                start,
                end,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Ast, ExprError> {
        let lhs = self.operand()?;
        let Some(op) = self.comparison_operator() else {
            return Ok(lhs);
        };
        let rhs = self.rhs(op)?;
        let (start, end) = (lhs.start, rhs.end);
        Ok(Ast {
            kind: AstKind::Compare(Box::new(lhs), op, rhs),
            start,
            end,
        })
    }

    fn comparison_operator(&mut self) -> Option<CmpOp> {
        let op = match &self.peek()?.kind {
            Tok::Word(w) => match w.as_str() {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                "gt" => CmpOp::Gt,
                "ge" => CmpOp::Ge,
                "contains" => CmpOp::Contains,
                "matches" => CmpOp::Matches,
                "wildcard" => CmpOp::Wildcard,
                "in" => CmpOp::In,
                "strict" => match self.tokens.get(self.pos + 1).map(|t| &t.kind) {
                    Some(Tok::Word(next)) if next == "wildcard" => {
                        self.pos += 1;
                        CmpOp::StrictWildcard
                    }
                    _ => return None,
                },
                _ => return None,
            },
            Tok::Sym(s) => match *s {
                "==" => CmpOp::Eq,
                "!=" => CmpOp::Ne,
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                ">=" => CmpOp::Ge,
                "~" => CmpOp::Matches,
                _ => return None,
            },
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    /// A field (with indexes), a function call, a parenthesised expression or a literal.
    fn operand(&mut self) -> Result<Ast, ExprError> {
        let Some(token) = self.next() else {
            return Err(self.end_error("a field, a function or `(`"));
        };
        let mut ast = match token.kind {
            Tok::LParen => {
                self.enter(token.start)?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.expect(&Tok::RParen, "`)`")?;
                Ast {
                    kind: inner.kind,
                    start: token.start,
                    end: close.end,
                }
            }
            Tok::Str(lit) => Ast {
                kind: AstKind::Str(lit),
                start: token.start,
                end: token.end,
            },
            Tok::NegInt(value) => Ast {
                kind: AstKind::Int(value),
                start: token.start,
                end: token.end,
            },
            Tok::Word(word) => {
                if self.peek().is_some_and(|t| t.kind == Tok::LParen) {
                    self.call(word, token.start)?
                } else {
                    let kind = match word.as_str() {
                        "true" => AstKind::Bool(true),
                        "false" => AstKind::Bool(false),
                        w if w.bytes().all(|b| b.is_ascii_digit()) => {
                            AstKind::Int(w.parse().map_err(|_| {
                                ExprError::new(
                                    ExprErrorKind::Syntax,
                                    token.start,
                                    token.end,
                                    "integer out of range",
                                )
                            })?)
                        }
                        _ => AstKind::Name(word),
                    };
                    Ast {
                        kind,
                        start: token.start,
                        end: token.end,
                    }
                }
            }
            _ => {
                return Err(ExprError::new(
                    ExprErrorKind::Syntax,
                    token.start,
                    token.end,
                    "expected a field, a function or `(`",
                ));
            }
        };
        while self.peek().is_some_and(|t| t.kind == Tok::LBracket) {
            self.pos += 1;
            let index = match self.next() {
                Some(Token {
                    kind: Tok::Star, ..
                }) => IndexKind::Each,
                Some(Token {
                    kind: Tok::Str(lit),
                    ..
                }) => IndexKind::Key(lit),
                Some(Token {
                    kind: Tok::Word(w),
                    start,
                    end,
                }) => {
                    let position = w.parse::<i64>().map_err(|_| {
                        ExprError::new(
                            ExprErrorKind::Syntax,
                            start,
                            end,
                            "an index is a number, a quoted key or `*`",
                        )
                    })?;
                    IndexKind::Position(position)
                }
                Some(token) => {
                    return Err(ExprError::new(
                        ExprErrorKind::Syntax,
                        token.start,
                        token.end,
                        "an index is a number, a quoted key or `*`",
                    ));
                }
                None => return Err(self.end_error("an index")),
            };
            let close = self.expect(&Tok::RBracket, "`]`")?;
            let start = ast.start;
            ast = Ast {
                kind: AstKind::Index(Box::new(ast), index),
                start,
                end: close.end,
            };
        }
        Ok(ast)
    }

    fn call(&mut self, name: String, start: usize) -> Result<Ast, ExprError> {
        self.enter(start)?;
        self.pos += 1; // `(`
        let mut args = Vec::new();
        if self.peek().is_some_and(|t| t.kind == Tok::RParen) {
            let close = self.next();
            self.depth -= 1;
            return Ok(Ast {
                kind: AstKind::Call(name, args),
                start,
                end: close.map_or(self.src_len, |t| t.end),
            });
        }
        loop {
            args.push(self.or()?);
            match self.next() {
                Some(Token {
                    kind: Tok::Comma, ..
                }) => continue,
                Some(Token {
                    kind: Tok::RParen,
                    end,
                    ..
                }) => {
                    self.depth -= 1;
                    return Ok(Ast {
                        kind: AstKind::Call(name, args),
                        start,
                        end,
                    });
                }
                Some(token) => {
                    return Err(ExprError::new(
                        ExprErrorKind::Syntax,
                        token.start,
                        token.end,
                        "expected `,` or `)`",
                    ));
                }
                None => return Err(self.end_error("`,` or `)`")),
            }
        }
    }

    fn rhs(&mut self, op: CmpOp) -> Result<Rhs, ExprError> {
        let Some(token) = self.next() else {
            return Err(self.end_error(&format!("a value after `{}`", op.name())));
        };
        let kind = match token.kind {
            Tok::Str(lit) => RhsKind::Str(lit),
            Tok::Word(w) => RhsKind::Word(w),
            Tok::NegInt(v) => RhsKind::NegInt(v),
            Tok::List(name) => RhsKind::List(name),
            Tok::LBrace => {
                let mut items = Vec::new();
                loop {
                    match self.next() {
                        Some(Token {
                            kind: Tok::RBrace,
                            end,
                            ..
                        }) => {
                            return Ok(Rhs {
                                kind: RhsKind::Set(items),
                                start: token.start,
                                end,
                            });
                        }
                        Some(Token {
                            kind: Tok::Str(lit),
                            start,
                            end,
                        }) => items.push(Rhs {
                            kind: RhsKind::Str(lit),
                            start,
                            end,
                        }),
                        Some(Token {
                            kind: Tok::Word(w),
                            start,
                            end,
                        }) => items.push(Rhs {
                            kind: RhsKind::Word(w),
                            start,
                            end,
                        }),
                        Some(Token {
                            kind: Tok::NegInt(v),
                            start,
                            end,
                        }) => items.push(Rhs {
                            kind: RhsKind::NegInt(v),
                            start,
                            end,
                        }),
                        // Cloudflare separates set members with spaces; a comma is forgiven.
                        Some(Token {
                            kind: Tok::Comma, ..
                        }) => {}
                        Some(other) => {
                            return Err(ExprError::new(
                                ExprErrorKind::Syntax,
                                other.start,
                                other.end,
                                "a set holds strings, integers, addresses, CIDRs and ranges",
                            ));
                        }
                        None => return Err(self.end_error("`}`")),
                    }
                }
            }
            _ => {
                return Err(ExprError::new(
                    ExprErrorKind::Syntax,
                    token.start,
                    token.end,
                    format!("expected a value after `{}`", op.name()),
                ));
            }
        };
        Ok(Rhs {
            kind,
            start: token.start,
            end: token.end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokenize;
    use super::*;

    fn shape(ast: &Ast) -> String {
        match &ast.kind {
            AstKind::Logic(op, operands) => {
                format!(
                    "({:?} {})",
                    op,
                    operands.iter().map(shape).collect::<Vec<_>>().join(" ")
                )
            }
            AstKind::Not(a) => format!("(not {})", shape(a)),
            AstKind::Compare(a, op, _) => format!("({} {})", shape(a), op.name()),
            AstKind::Name(n) => n.clone(),
            AstKind::Index(a, _) => format!("{}[]", shape(a)),
            AstKind::Call(name, args) => format!(
                "{name}({})",
                args.iter().map(shape).collect::<Vec<_>>().join(",")
            ),
            AstKind::Str(_) => "str".into(),
            AstKind::Int(i) => i.to_string(),
            AstKind::Bool(b) => b.to_string(),
        }
    }

    fn parsed(src: &str) -> String {
        let tokens = tokenize(src).map_err(|e| e.render(src));
        match tokens.and_then(|t| parse(src, t, 32).map_err(|e| e.render(src))) {
            Ok(ast) => shape(&ast),
            Err(e) => format!("error {e}"),
        }
    }

    #[test]
    fn precedence_is_not_and_xor_or() {
        assert_eq!(parsed("a or b and c"), "(Or a (And b c))");
        assert_eq!(parsed("a and b xor c or d"), "(Or (Xor (And a b) c) d)");
        assert_eq!(parsed("not a and b"), "(And (not a) b)");
        assert_eq!(
            parsed("! a && b || c ^^ d"),
            "(Or (And (not a) b) (Xor c d))"
        );
        assert_eq!(parsed("a or b or c"), "(Or a b c)");
        assert_eq!(parsed("a and (b or c)"), "(And a (Or b c))");
        assert_eq!(parsed("not x in {1 2}"), "(not (x in))");
    }

    #[test]
    fn calls_indexes_and_operators() {
        assert_eq!(
            parsed(r#"any(lower(http.request.headers.names[*])[*] == "x")"#),
            "any((lower(http.request.headers.names[])[] eq))"
        );
        assert_eq!(
            parsed(r#"http.host strict wildcard "*.A""#),
            "(http.host strict wildcard)"
        );
        assert_eq!(parsed("f()"), "f()");
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert!(parsed("a eq").contains("expected a value after `eq`"));
        assert!(parsed("a eq 1 b").contains("1:8:"));
        assert!(parsed("(a").contains("expected `)`"));
        assert!(parsed("").contains("empty expression"));
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(parsed(&deep).contains("nested more than 32"));
        let deep_not = format!("{}a", "not ".repeat(40));
        assert!(parsed(&deep_not).contains("nested more than 32"));
    }
}
