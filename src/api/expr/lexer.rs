//! Tokens of DynamoDB's expression language.
//!
//! The whole expression is tokenized up front (it is at most 4 KB) so the
//! parser can look back and ahead when it builds DynamoDB's syntax-error text
//! (`token: "x", near: "SET x"`). Tokens are byte ranges into the source; no
//! token owns a string.

/// What a token is; keywords are plain identifiers, matched case-insensitively
/// by the parser where its grammar allows a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`
    Ident,
    /// `#[A-Za-z0-9_]+`
    Name,
    /// `:[A-Za-z0-9_]+`
    Value,
    /// `[0-9]+` (only meaningful as a list index)
    Int,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character the language does not know.
    Bad,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: u32,
    pub end: u32,
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Splits `src` into tokens, always ending with one `Eof`.
pub fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 3 + 2);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_space(b) {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && ident_byte(bytes[i]) {
                    i += 1;
                }
                Tok::Ident
            }
            b'0'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Int
            }
            b'#' | b':' => {
                i += 1;
                while i < bytes.len() && ident_byte(bytes[i]) {
                    i += 1;
                }
                if i == start + 1 {
                    Tok::Bad
                } else if b == b'#' {
                    Tok::Name
                } else {
                    Tok::Value
                }
            }
            b'<' => {
                i += 1;
                match bytes.get(i) {
                    Some(b'=') => {
                        i += 1;
                        Tok::Le
                    }
                    Some(b'>') => {
                        i += 1;
                        Tok::Ne
                    }
                    _ => Tok::Lt,
                }
            }
            b'>' => {
                i += 1;
                if bytes.get(i) == Some(&b'=') {
                    i += 1;
                    Tok::Ge
                } else {
                    Tok::Gt
                }
            }
            _ => {
                i += 1;
                match b {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b',' => Tok::Comma,
                    b'.' => Tok::Dot,
                    b'=' => Tok::Eq,
                    b'+' => Tok::Plus,
                    b'-' => Tok::Minus,
                    _ => {
                        // Swallow the rest of a multi-byte character so the
                        // token text stays valid UTF-8.
                        while i < bytes.len() && !src.is_char_boundary(i) {
                            i += 1;
                        }
                        Tok::Bad
                    }
                }
            }
        };
        out.push(Token {
            tok,
            start: start as u32,
            end: i as u32,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: bytes.len() as u32,
        end: bytes.len() as u32,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        use Tok::*;
        assert_eq!(
            kinds("a.b[3] <> :v AND #n>=1"),
            vec![
                Ident, Dot, Ident, LBracket, Int, RBracket, Ne, Value, Ident, Name, Ge, Int, Eof
            ]
        );
        assert_eq!(
            kinds("<<=>>= = ,()+-"),
            vec![Lt, Le, Gt, Ge, Eq, Comma, LParen, RParen, Plus, Minus, Eof]
        );
        assert_eq!(kinds("# : é ^"), vec![Bad, Bad, Bad, Bad, Eof]);
        assert_eq!(kinds(""), vec![Eof]);
    }
}
