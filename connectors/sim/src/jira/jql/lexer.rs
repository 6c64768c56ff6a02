//! Tokens of JQL.

use super::JqlError;

/// One token with its 1-based character position (Jira reports "line 1, character N").
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    LParen,
    RParen,
    Comma,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `!~`.
    Operator(&'static str),
    /// A word or string; `quoted` tells whether it was in quotes (quoted words are never keywords).
    Word {
        text: String,
        quoted: bool,
    },
}

impl Token {
    /// Whether this is the unquoted keyword `kw` (case-insensitive).
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.kind, TokenKind::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }

    /// The token as Jira quotes it in error messages.
    pub fn display(&self) -> String {
        match &self.kind {
            TokenKind::LParen => "(".into(),
            TokenKind::RParen => ")".into(),
            TokenKind::Comma => ",".into(),
            TokenKind::Operator(op) => (*op).into(),
            TokenKind::Word { text, .. } => text.clone(),
        }
    }
}

/// Characters that end an unquoted word.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '"' | '\'' | '&' | '|')
}

/// Splits a JQL string into tokens. `&&`/`&` and `||`/`|` are returned as the words AND and OR.
pub fn tokenize(jql: &str) -> Result<Vec<Token>, JqlError> {
    let chars: Vec<char> = jql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let mut push = |kind, len: usize| {
            tokens.push(Token { kind, pos });
            len
        };
        let next = chars.get(i + 1).copied();
        i += match c {
            c if c.is_whitespace() => 1,
            '(' => push(TokenKind::LParen, 1),
            ')' => push(TokenKind::RParen, 1),
            ',' => push(TokenKind::Comma, 1),
            '=' => push(TokenKind::Operator("="), 1),
            '~' => push(TokenKind::Operator("~"), 1),
            '!' if next == Some('=') => push(TokenKind::Operator("!="), 2),
            '!' if next == Some('~') => push(TokenKind::Operator("!~"), 2),
            '<' if next == Some('=') => push(TokenKind::Operator("<="), 2),
            '>' if next == Some('=') => push(TokenKind::Operator(">="), 2),
            '<' => push(TokenKind::Operator("<"), 1),
            '>' => push(TokenKind::Operator(">"), 1),
            '&' => push(TokenKind::Word { text: "AND".into(), quoted: false }, if next == Some('&') { 2 } else { 1 }),
            '|' => push(TokenKind::Word { text: "OR".into(), quoted: false }, if next == Some('|') { 2 } else { 1 }),
            '!' => push(TokenKind::Word { text: "NOT".into(), quoted: false }, 1),
            '"' | '\'' => {
                let (text, len) = quoted(&chars[i..], pos)?;
                push(TokenKind::Word { text, quoted: true }, len)
            }
            _ => {
                let len = chars[i..].iter().take_while(|c| !is_delimiter(**c)).count();
                let text: String = chars[i..i + len].iter().collect();
                push(TokenKind::Word { text, quoted: false }, len)
            }
        };
    }
    Ok(tokens)
}

/// Reads a quoted string starting at `chars[0]` (the quote); returns its text and consumed length.
fn quoted(chars: &[char], pos: usize) -> Result<(String, usize), JqlError> {
    let quote = chars[0];
    let mut text = String::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                text.push(match chars[i + 1] {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            c if c == quote => return Ok((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(JqlError::syntax(format!("The quoted string '{text}' has not been completed. (line 1, character {pos})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(jql: &str) -> Vec<String> {
        tokenize(jql).unwrap().iter().map(Token::display).collect()
    }

    #[test]
    fn splits_operators_words_and_strings() {
        assert_eq!(
            words(r#"project=SHOP AND updated>="2024-01-15 10:30" ORDER BY key"#),
            ["project", "=", "SHOP", "AND", "updated", ">=", "2024-01-15 10:30", "ORDER", "BY", "key"]
        );
        assert_eq!(
            words("labels in (a,'b c')&&x!=y"),
            ["labels", "in", "(", "a", ",", "b c", ")", "AND", "x", "!=", "y"]
        );
        assert_eq!(words(r#"summary ~ "say \"hi\"""#), ["summary", "~", r#"say "hi""#]);
    }

    #[test]
    fn reports_unterminated_strings() {
        let err = tokenize("project = \"SHOP").unwrap_err();
        assert!(err.message.contains("has not been completed"), "{}", err.message);
    }
}
