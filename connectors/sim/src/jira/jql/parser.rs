//! The JQL grammar (the part the simulator supports, plus enough of the rest to reject it clearly).
//!
//! ```text
//! query    := [or] [ORDER BY sortkey (',' sortkey)*]
//! or       := and (OR and)*
//! and      := not (AND not)*
//! not      := NOT not | '(' or ')' | clause
//! clause   := field operator operand
//! operand  := value | '(' value (',' value)* ')' | EMPTY | NULL | function '(' args ')'
//! ```

use super::JqlError;
use super::lexer::{Token, TokenKind, tokenize};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The search restriction; `None` for an empty or ORDER BY-only (unbounded) query.
    pub filter: Option<Expr>,
    pub order_by: Vec<SortKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Clause(Clause),
}

/// `field operator operand`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub field: String,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
    Like,
    NotLike,
}

impl Op {
    /// The operator as Jira names it in messages.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Is => "is",
            Op::IsNot => "is not",
            Op::Like => "~",
            Op::NotLike => "!~",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(String),
    List(Vec<String>),
    Empty,
    /// A function call such as `currentUser()`; the simulator supports none.
    Function(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

const VALID_OPERATORS: &str =
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";

/// Parses a JQL string.
pub fn parse(jql: &str) -> Result<Query, JqlError> {
    let tokens = tokenize(jql)?;
    let mut parser = Parser { tokens, next: 0 };
    let filter = if parser.at_end() || parser.at_order_by() { None } else { Some(parser.or()?) };
    let order_by = if parser.at_order_by() { parser.order_by()? } else { Vec::new() };
    if let Some(token) = parser.peek() {
        return Err(JqlError::syntax(format!(
            "Expecting either 'OR' or 'AND' but got '{}'. (line 1, character {})",
            token.display(),
            token.pos
        )));
    }
    Ok(Query { filter, order_by })
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.next + offset)
    }

    fn at_end(&self) -> bool {
        self.next >= self.tokens.len()
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += usize::from(token.is_some());
        token
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(kw))
    }

    fn at_order_by(&self) -> bool {
        self.at_keyword("order") && self.peek_at(1).is_some_and(|t| t.is_keyword("by"))
    }

    fn or(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.and()?;
        while self.at_keyword("or") {
            self.bump();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.not()?;
        while self.at_keyword("and") {
            self.bump();
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, JqlError> {
        if self.at_keyword("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.peek().is_some_and(|t| t.kind == TokenKind::LParen) {
            self.bump();
            let inner = self.or()?;
            self.expect_rparen()?;
            return Ok(inner);
        }
        self.clause().map(Expr::Clause)
    }

    fn expect_rparen(&mut self) -> Result<(), JqlError> {
        match self.bump() {
            Some(Token { kind: TokenKind::RParen, .. }) => Ok(()),
            Some(t) => {
                Err(JqlError::syntax(format!("Expecting ')' but got '{}'. (line 1, character {})", t.display(), t.pos)))
            }
            None => Err(JqlError::syntax("Expecting ')' but reached the end of the query.")),
        }
    }

    fn clause(&mut self) -> Result<Clause, JqlError> {
        let field = match self.bump() {
            Some(Token { kind: TokenKind::Word { text, .. }, .. }) => text,
            Some(t) => {
                return Err(JqlError::syntax(format!(
                    "Expecting a field name but got '{}'. (line 1, character {})",
                    t.display(),
                    t.pos
                )));
            }
            None => return Err(JqlError::syntax("Expecting a field name but reached the end of the query.")),
        };
        let op = self.operator()?;
        let operand = self.operand(op)?;
        Ok(Clause { field, op, operand })
    }

    fn operator(&mut self) -> Result<Op, JqlError> {
        let Some(token) = self.bump() else {
            return Err(JqlError::syntax(format!("Expecting operator before the end of the query. {VALID_OPERATORS}")));
        };
        let op = match &token.kind {
            TokenKind::Operator(op) => match *op {
                "=" => Op::Eq,
                "!=" => Op::NotEq,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "~" => Op::Like,
                _ => Op::NotLike,
            },
            _ if token.is_keyword("in") => Op::In,
            _ if token.is_keyword("not") && self.at_keyword("in") => {
                self.bump();
                Op::NotIn
            }
            _ if token.is_keyword("is") && self.at_keyword("not") => {
                self.bump();
                Op::IsNot
            }
            _ if token.is_keyword("is") => Op::Is,
            _ if token.is_keyword("was") || token.is_keyword("changed") => {
                return Err(JqlError::unsupported(format!(
                    "The history operator '{}' is not supported by the simulator's JQL subset.",
                    token.display().to_uppercase()
                )));
            }
            _ => {
                return Err(JqlError::syntax(format!(
                    "Expecting operator but got '{}'. {VALID_OPERATORS} (line 1, character {})",
                    token.display(),
                    token.pos
                )));
            }
        };
        Ok(op)
    }

    fn operand(&mut self, op: Op) -> Result<Operand, JqlError> {
        match self.peek().map(|t| t.kind.clone()) {
            Some(TokenKind::LParen) => {
                self.bump();
                let mut values = vec![self.list_value()?];
                loop {
                    match self.bump() {
                        Some(Token { kind: TokenKind::Comma, .. }) => values.push(self.list_value()?),
                        Some(Token { kind: TokenKind::RParen, .. }) => break,
                        Some(t) => {
                            return Err(JqlError::syntax(format!(
                                "Expecting ',' or ')' but got '{}'. (line 1, character {})",
                                t.display(),
                                t.pos
                            )));
                        }
                        None => return Err(JqlError::syntax("Expecting ')' but reached the end of the query.")),
                    }
                }
                Ok(Operand::List(values))
            }
            Some(TokenKind::Word { text, quoted }) => {
                self.bump();
                if self.peek().is_some_and(|t| t.kind == TokenKind::LParen) && !quoted {
                    self.skip_arguments()?;
                    return Ok(Operand::Function(text));
                }
                if !quoted && (text.eq_ignore_ascii_case("empty") || text.eq_ignore_ascii_case("null")) {
                    return Ok(Operand::Empty);
                }
                Ok(Operand::Value(text))
            }
            Some(_) => {
                let Some(t) = self.bump() else { return Err(JqlError::syntax("Unexpected end of the query.")) };
                Err(JqlError::syntax(format!(
                    "Expecting either a value, list or function but got '{}'. You must surround '{}' in quotation marks to use it as a value. (line 1, character {})",
                    t.display(),
                    t.display(),
                    t.pos
                )))
            }
            None => Err(JqlError::syntax(format!(
                "Expecting either a value, list or function before the end of the query (after operator '{}').",
                op.name()
            ))),
        }
    }

    /// One element of a list: a value (functions inside lists are not supported).
    fn list_value(&mut self) -> Result<String, JqlError> {
        match self.bump() {
            Some(Token { kind: TokenKind::Word { text, quoted }, .. }) => {
                if !quoted && self.peek().is_some_and(|t| t.kind == TokenKind::LParen) {
                    return Err(JqlError::unsupported(format!(
                        "The JQL function '{text}' is not supported by the simulator's JQL subset."
                    )));
                }
                Ok(text)
            }
            Some(t) => Err(JqlError::syntax(format!(
                "Expecting either a value or function but got '{}'. (line 1, character {})",
                t.display(),
                t.pos
            ))),
            None => Err(JqlError::syntax("Expecting ')' but reached the end of the query.")),
        }
    }

    fn skip_arguments(&mut self) -> Result<(), JqlError> {
        let mut depth = 0usize;
        while let Some(token) = self.bump() {
            match token.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err(JqlError::syntax("Expecting ')' but reached the end of the query."))
    }

    fn order_by(&mut self) -> Result<Vec<SortKey>, JqlError> {
        self.bump();
        self.bump();
        let mut keys = Vec::new();
        loop {
            let field = match self.bump() {
                Some(Token { kind: TokenKind::Word { text, .. }, .. }) => text,
                Some(t) => {
                    return Err(JqlError::syntax(format!(
                        "Expecting a field name but got '{}'. (line 1, character {})",
                        t.display(),
                        t.pos
                    )));
                }
                None => return Err(JqlError::syntax("Expecting a field name after 'ORDER BY'.")),
            };
            let descending = if self.at_keyword("desc") {
                self.bump();
                true
            } else {
                if self.at_keyword("asc") {
                    self.bump();
                }
                false
            };
            keys.push(SortKey { field, descending });
            if self.peek().is_some_and(|t| t.kind == TokenKind::Comma) {
                self.bump();
            } else {
                return Ok(keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(field: &str, op: Op, operand: Operand) -> Expr {
        Expr::Clause(Clause { field: field.into(), op, operand })
    }

    #[test]
    fn parses_precedence_and_order_by() {
        let q = parse("project = SHOP AND (labels in (a, b) OR NOT status != Done) ORDER BY updated ASC, key DESC")
            .unwrap();
        let expected = Expr::And(
            Box::new(clause("project", Op::Eq, Operand::Value("SHOP".into()))),
            Box::new(Expr::Or(
                Box::new(clause("labels", Op::In, Operand::List(vec!["a".into(), "b".into()]))),
                Box::new(Expr::Not(Box::new(clause("status", Op::NotEq, Operand::Value("Done".into()))))),
            )),
        );
        assert_eq!(q.filter, Some(expected));
        assert_eq!(
            q.order_by,
            vec![
                SortKey { field: "updated".into(), descending: false },
                SortKey { field: "key".into(), descending: true }
            ]
        );
    }

    #[test]
    fn parses_is_empty_not_in_and_functions() {
        let q = parse("resolution IS EMPTY and key not in (A-1) and assignee = currentUser() or labels is not null")
            .unwrap();
        let expected = Expr::Or(
            Box::new(Expr::And(
                Box::new(Expr::And(
                    Box::new(clause("resolution", Op::Is, Operand::Empty)),
                    Box::new(clause("key", Op::NotIn, Operand::List(vec!["A-1".into()]))),
                )),
                Box::new(clause("assignee", Op::Eq, Operand::Function("currentUser".into()))),
            )),
            Box::new(clause("labels", Op::IsNot, Operand::Empty)),
        );
        assert_eq!(q.filter, Some(expected));
    }

    #[test]
    fn order_by_alone_is_unbounded() {
        assert_eq!(parse("order by key desc").unwrap().filter, None);
        assert_eq!(parse("").unwrap(), Query { filter: None, order_by: vec![] });
    }

    #[test]
    fn reports_syntax_errors_like_jira() {
        let err = parse("project SHOP").unwrap_err();
        assert!(
            err.message.starts_with("Error in the JQL Query: Expecting operator but got 'SHOP'."),
            "{}",
            err.message
        );
        assert!(err.message.ends_with("(line 1, character 9)"), "{}", err.message);
        assert!(parse("project = SHOP foo").unwrap_err().message.contains("Expecting either 'OR' or 'AND'"));
        assert!(parse("(project = SHOP").unwrap_err().message.contains("Expecting ')'"));
        assert!(parse("project = ").unwrap_err().message.contains("Expecting either a value"));
        assert!(parse("updated changed").unwrap_err().message.contains("not supported"));
    }
}
