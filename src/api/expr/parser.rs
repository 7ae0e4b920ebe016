//! Recursive-descent parser shared by all five expression kinds, and the
//! condition grammar (Condition/Filter/KeyCondition expressions).
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, then comparisons,
//! `BETWEEN`, `IN` and functions; parentheses group. Recursion depth is
//! bounded by [`NESTING_DEPTH_MAX`](super::NESTING_DEPTH_MAX), so a hostile
//! `((((…` is a ValidationException, never a stack overflow.
//!
//! Errors: syntax errors and limits return at once. Semantic errors (reserved
//! words, undefined placeholders, operand types, overlapping paths) are
//! collected into priority slots while parsing continues, and the
//! highest-priority one is reported — DynamoDB reports, e.g., an unknown
//! function before an undefined placeholder regardless of source order.

use super::ast::{CmpOp, Condition, ConstId, Node, NodeId, Operand, Path, PathElem};
use super::lexer::{Tok, Token, tokenize};
use super::reserved::is_reserved;
use super::{
    EXPRESSION_BYTES_MAX, ExprError, ExprKind, IN_OPERANDS_MAX, NESTING_DEPTH_MAX, OPERATORS_MAX,
    PATH_DEPTH_MAX, Placeholders,
};
use crate::model::Value;

/// Semantic error classes in the order DynamoDB reports them.
#[derive(Clone, Copy)]
pub(super) enum Prio {
    Parens = 0,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    AttrNameVal,
    Operand,
    Distinct,
    PathOverlap,
    PathConflict,
    Function,
}
const SLOTS: usize = 10;

pub(super) struct Parser<'s, 'p, 'a> {
    pub(super) src: &'s str,
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    pub(super) kind: ExprKind,
    ph: &'p mut Placeholders<'a>,
    pub(super) consts: Vec<Value>,
    const_keys: Vec<&'s str>,
    errs: [Option<String>; SLOTS],
    operators: usize,
    depth: usize,
}

/// A function argument before the function knows what it needs.
pub(super) enum Arg {
    Op(Operand),
    /// A call to a function that is not usable as an operand here.
    Call,
}

impl<'s, 'p, 'a> Parser<'s, 'p, 'a> {
    pub(super) fn new(
        src: &'s str,
        kind: ExprKind,
        ph: &'p mut Placeholders<'a>,
    ) -> Result<Self, ExprError> {
        if src.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
            return Err(ExprError::invalid(kind, "The expression can not be empty;"));
        }
        if src.len() > EXPRESSION_BYTES_MAX {
            return Err(ExprError::invalid(
                kind,
                format!(
                    "Expression size has exceeded the maximum allowed size; expression size: {}",
                    src.len()
                ),
            ));
        }
        Ok(Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            kind,
            ph,
            consts: Vec::new(),
            const_keys: Vec::new(),
            errs: Default::default(),
            operators: 0,
            depth: 0,
        })
    }

    // ---- tokens -------------------------------------------------------

    pub(super) fn peek(&self) -> Tok {
        self.toks[self.pos].tok
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Tok {
        self.toks.get(self.pos + ahead).map_or(Tok::Eof, |t| t.tok)
    }

    pub(super) fn text(&self, at: usize) -> &'s str {
        let t = self.toks[at];
        &self.src[t.start as usize..t.end as usize]
    }

    pub(super) fn bump(&mut self) -> usize {
        let at = self.pos;
        if self.toks[at].tok != Tok::Eof {
            self.pos += 1;
        }
        at
    }

    /// Is the current token the keyword `word` (case-insensitive)?
    pub(super) fn at_keyword(&self, word: &str) -> bool {
        self.peek() == Tok::Ident && self.text(self.pos).eq_ignore_ascii_case(word)
    }

    pub(super) fn expect(&mut self, tok: Tok) -> Result<usize, ExprError> {
        if self.peek() == tok {
            Ok(self.bump())
        } else {
            Err(self.syntax_error())
        }
    }

    /// DynamoDB's syntax error at the current token: the token and the source
    /// around it (previous token through next token).
    pub(super) fn syntax_error(&self) -> ExprError {
        let at = self.pos;
        let t = self.toks[at];
        let start = if at > 0 {
            self.toks[at - 1].start
        } else {
            t.start
        } as usize;
        let (token, start, end) = if t.tok == Tok::Eof {
            // At the end, DynamoDB shows the last token and what follows it.
            ("<EOF>".to_string(), start, self.src.len())
        } else {
            let next = self.toks[at + 1];
            let end = if next.tok == Tok::Eof {
                t.end
            } else {
                next.end
            };
            (self.text(at).to_string(), start, end as usize)
        };
        ExprError::invalid(
            self.kind,
            format!(
                "Syntax error; token: \"{token}\", near: \"{}\"",
                &self.src[start..end]
            ),
        )
    }

    // ---- errors and limits ---------------------------------------------

    pub(super) fn note(&mut self, prio: Prio, message: String) {
        // DynamoDB reports the first of most errors, but the last operand
        // type error of an UpdateExpression (DynamoDB Local agrees).
        let last_wins = matches!(prio, Prio::Function) && self.kind == ExprKind::Update;
        let slot = &mut self.errs[prio as usize];
        if slot.is_none() || last_wins {
            *slot = Some(message);
        }
    }

    /// The collected semantic error DynamoDB would report, if any.
    pub(super) fn collected_error(&mut self) -> Result<(), ExprError> {
        match self.errs.iter_mut().find_map(Option::take) {
            Some(message) => Err(ExprError::invalid(self.kind, message)),
            None => Ok(()),
        }
    }

    pub(super) fn count_operator(&mut self) -> Result<(), ExprError> {
        self.operators += 1;
        if self.operators > OPERATORS_MAX {
            return Err(ExprError::invalid(
                self.kind,
                format!(
                    "The expression contains too many operators; operator count: {}",
                    self.operators
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > NESTING_DEPTH_MAX {
            return Err(ExprError::invalid(
                self.kind,
                "The expression has redundant parentheses;",
            ));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- paths and values -------------------------------------------------

    fn path_name(&mut self) -> Result<String, ExprError> {
        let at = self.pos;
        match self.peek() {
            Tok::Ident => {
                self.bump();
                let name = self.text(at);
                if is_reserved(name) {
                    self.note(
                        Prio::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                    );
                }
                Ok(name.to_string())
            }
            Tok::Name => {
                self.bump();
                let key = self.text(at);
                match self.ph.name(key) {
                    Some(name) => Ok(name.to_string()),
                    None => {
                        self.note(
                            Prio::AttrNameVal,
                            format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {key}"
                            ),
                        );
                        Ok(String::new())
                    }
                }
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// `name ( '.' name | '[' int ']' )*`
    pub(super) fn path(&mut self) -> Result<Path, ExprError> {
        let mut elems = vec![PathElem::Attr(self.path_name()?)];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    elems.push(PathElem::Attr(self.path_name()?));
                }
                Tok::LBracket => {
                    self.bump();
                    if self.peek() != Tok::Int {
                        return Err(self.syntax_error());
                    }
                    let digits = self.text(self.pos);
                    let index = digits
                        .parse::<u32>()
                        .ok()
                        .filter(|i| *i <= i32::MAX as u32)
                        .ok_or_else(|| {
                            ExprError::invalid(
                                self.kind,
                                format!(
                                    "List index is not within the allowable range; index: [{digits}]"
                                ),
                            )
                        })?;
                    self.bump();
                    self.expect(Tok::RBracket)?;
                    elems.push(PathElem::Index(index));
                }
                _ => break,
            }
            if elems.len() > PATH_DEPTH_MAX {
                return Err(ExprError::invalid(
                    self.kind,
                    format!(
                        "The document path has too many nesting levels; nesting levels: {}",
                        elems.len()
                    ),
                ));
            }
        }
        Ok(Path(elems))
    }

    /// The current `:value` token as a constant (deduplicated by name).
    pub(super) fn value(&mut self) -> Result<ConstId, ExprError> {
        let at = self.expect(Tok::Value)?;
        let key = self.text(at);
        if let Some(i) = self.const_keys.iter().position(|k| *k == key) {
            return Ok(i as ConstId);
        }
        let value = match self.ph.value(key) {
            Some(v) => v.clone(),
            None => {
                self.note(
                    Prio::AttrNameVal,
                    format!(
                        "An expression attribute value used in expression is not defined; attribute value: {key}"
                    ),
                );
                Value::Null
            }
        };
        self.const_keys.push(key);
        self.consts.push(value);
        Ok((self.consts.len() - 1) as ConstId)
    }

    /// DynamoDB's type name of a literal operand (`S`, `N`, …), None for paths.
    pub(super) fn literal_type(&self, op: &Operand) -> Option<&'static str> {
        match op {
            Operand::Value(id) => Some(self.consts[*id as usize].type_name()),
            Operand::Size(_) => Some("N"),
            Operand::Path(_) => None,
        }
    }

    // ---- condition grammar ------------------------------------------------

    pub(super) fn condition(&mut self) -> Result<Condition, ExprError> {
        let mut nodes = Vec::new();
        let (root, _) = self.or(&mut nodes)?;
        if self.peek() != Tok::Eof {
            return Err(self.syntax_error());
        }
        self.collected_error()?;
        Ok(Condition {
            nodes,
            root,
            consts: std::mem::take(&mut self.consts),
        })
    }

    fn push(nodes: &mut Vec<Node>, node: Node) -> NodeId {
        nodes.push(node);
        (nodes.len() - 1) as NodeId
    }

    /// Returns the node and whether it is a bare parenthesized group.
    fn or(&mut self, nodes: &mut Vec<Node>) -> Result<(NodeId, bool), ExprError> {
        let (mut left, mut group) = self.and(nodes)?;
        while self.at_keyword("OR") {
            self.bump();
            self.count_operator()?;
            let (right, _) = self.and(nodes)?;
            left = Self::push(nodes, Node::Or(left, right));
            group = false;
        }
        Ok((left, group))
    }

    fn and(&mut self, nodes: &mut Vec<Node>) -> Result<(NodeId, bool), ExprError> {
        let (mut left, mut group) = self.not(nodes)?;
        while self.at_keyword("AND") {
            self.bump();
            self.count_operator()?;
            let (right, _) = self.not(nodes)?;
            left = Self::push(nodes, Node::And(left, right));
            group = false;
        }
        Ok((left, group))
    }

    fn not(&mut self, nodes: &mut Vec<Node>) -> Result<(NodeId, bool), ExprError> {
        if self.at_keyword("NOT") {
            self.bump();
            // Depth through NOT is bounded by the operator count.
            self.count_operator()?;
            let (inner, _) = self.not(nodes)?;
            return Ok((Self::push(nodes, Node::Not(inner)), false));
        }
        self.primary(nodes)
    }

    fn primary(&mut self, nodes: &mut Vec<Node>) -> Result<(NodeId, bool), ExprError> {
        if self.peek() == Tok::LParen && !self.group_is_compared() {
            self.bump();
            self.enter()?;
            let (inner, inner_group) = self.or(nodes)?;
            self.leave();
            self.expect(Tok::RParen)?;
            if inner_group {
                self.note(
                    Prio::Parens,
                    "The expression has redundant parentheses;".to_string(),
                );
            }
            return Ok((inner, true));
        }
        if self.peek() == Tok::Ident && self.peek_at(1) == Tok::LParen {
            let name_at = self.pos;
            let name = self.text(name_at);
            if name != "size" && !self.call_is_compared() {
                let node = self.function_condition(name_at)?;
                return Ok((Self::push(nodes, node), false));
            }
        }
        let left = self.cond_operand()?;
        let node = match self.peek() {
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => {
                let op = match self.peek() {
                    Tok::Eq => CmpOp::Eq,
                    Tok::Ne => CmpOp::Ne,
                    Tok::Lt => CmpOp::Lt,
                    Tok::Le => CmpOp::Le,
                    Tok::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                self.bump();
                self.count_operator()?;
                let right = self.cond_operand()?;
                self.check_distinct(op.symbol(), &left, &right);
                if op != CmpOp::Eq && op != CmpOp::Ne {
                    self.check_orderable(op.symbol(), &[&left, &right]);
                }
                Node::Cmp(op, left, right)
            }
            _ if self.at_keyword("BETWEEN") => {
                self.bump();
                self.count_operator()?;
                let low = self.cond_operand()?;
                if !self.at_keyword("AND") {
                    return Err(self.syntax_error());
                }
                self.bump();
                let high = self.cond_operand()?;
                self.check_orderable("BETWEEN", &[&left, &low, &high]);
                self.check_between(&low, &high);
                Node::Between(left, low, high)
            }
            _ if self.at_keyword("IN") => {
                self.bump();
                self.count_operator()?;
                self.expect(Tok::LParen)?;
                let mut list = vec![self.cond_operand()?];
                while self.peek() == Tok::Comma {
                    self.bump();
                    list.push(self.cond_operand()?);
                }
                self.expect(Tok::RParen)?;
                if list.len() > IN_OPERANDS_MAX {
                    return Err(ExprError::invalid(
                        self.kind,
                        format!(
                            "The IN operator is provided with too many operands; number of operands: {}",
                            list.len()
                        ),
                    ));
                }
                Node::In(left, list)
            }
            _ => {
                if matches!(left, Operand::Size(_)) {
                    self.note(
                        Prio::MisusedFunction,
                        "The function is not allowed to be used this way in an expression; function: size"
                            .to_string(),
                    );
                    // Report it even when nothing else is wrong.
                    if self.peek() == Tok::Eof || self.peek() == Tok::RParen {
                        self.collected_error()?;
                    }
                }
                return Err(self.syntax_error());
            }
        };
        Ok((Self::push(nodes, node), false))
    }

    /// Is the call starting at the current token followed by a comparator,
    /// BETWEEN or IN (so it is used as an operand)?
    fn call_is_compared(&self) -> bool {
        let mut depth = 0usize;
        for (i, t) in self.toks[self.pos + 1..].iter().enumerate() {
            match t.tok {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let after = self.pos + 2 + i;
                        let next = self.toks[after];
                        let word = &self.src[next.start as usize..next.end as usize];
                        return matches!(
                            next.tok,
                            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
                        ) || (next.tok == Tok::Ident
                            && (word.eq_ignore_ascii_case("BETWEEN")
                                || word.eq_ignore_ascii_case("IN")));
                    }
                }
                Tok::Eof => return false,
                _ => {}
            }
        }
        false
    }

    /// Is the parenthesized group starting at the current token followed by
    /// a comparator, BETWEEN or IN (so it is a parenthesized operand, as in
    /// `(size(b)) = :v`, not a condition)?
    fn group_is_compared(&self) -> bool {
        let mut depth = 0usize;
        for (i, t) in self.toks[self.pos..].iter().enumerate() {
            match t.tok {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let next = self.toks[self.pos + i + 1];
                        let word = &self.src[next.start as usize..next.end as usize];
                        return matches!(
                            next.tok,
                            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
                        ) || (next.tok == Tok::Ident
                            && (word.eq_ignore_ascii_case("BETWEEN")
                                || word.eq_ignore_ascii_case("IN")));
                    }
                }
                Tok::Eof => return false,
                _ => {}
            }
        }
        false
    }

    /// An operand of a comparison: path, `:value` or `size(…)`, possibly in
    /// parentheses (twice is DynamoDB's "redundant parentheses").
    fn cond_operand(&mut self) -> Result<Operand, ExprError> {
        if self.peek() == Tok::LParen {
            self.bump();
            self.enter()?;
            let doubled = self.peek() == Tok::LParen;
            let inner = self.cond_operand()?;
            self.leave();
            self.expect(Tok::RParen)?;
            if doubled {
                self.note(
                    Prio::Parens,
                    "The expression has redundant parentheses;".to_string(),
                );
            }
            return Ok(inner);
        }
        match self.peek() {
            Tok::Value => Ok(Operand::Value(self.value()?)),
            Tok::Ident if self.peek_at(1) == Tok::LParen => match self.call_args()? {
                (args, "size") => self.size_operand(args),
                (_, name) => {
                    self.misused_or_unknown(name);
                    Ok(Operand::Value(self.dummy_const()))
                }
            },
            Tok::Ident | Tok::Name => Ok(Operand::Path(self.path()?)),
            _ => Err(self.syntax_error()),
        }
    }

    fn dummy_const(&mut self) -> ConstId {
        self.consts.push(Value::Null);
        self.const_keys.push("");
        (self.consts.len() - 1) as ConstId
    }

    fn misused_or_unknown(&mut self, name: &str) {
        if is_condition_function(name) {
            self.note(
                Prio::MisusedFunction,
                format!(
                    "The function is not allowed to be used this way in an expression; function: {name}"
                ),
            );
        } else {
            self.note(
                Prio::UnknownFunction,
                format!("Invalid function name; function: {name}"),
            );
        }
    }

    fn size_operand(&mut self, mut args: Vec<Arg>) -> Result<Operand, ExprError> {
        if args.len() != 1 {
            self.note(
                Prio::Operand,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: size, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(Operand::Value(self.dummy_const()));
        }
        match args.pop() {
            Some(Arg::Op(Operand::Path(path))) => Ok(Operand::Size(path)),
            // The size of a literal is known now: a number constant.
            Some(Arg::Op(Operand::Value(id)))
                if super::eval::size_of(&self.consts[id as usize]).is_some() =>
            {
                let size = super::eval::size_of(&self.consts[id as usize]).unwrap_or(0);
                self.consts
                    .push(Value::N(crate::model::number::Number::from_u64(
                        size as u64,
                    )));
                self.const_keys.push("");
                Ok(Operand::Value((self.consts.len() - 1) as ConstId))
            }
            Some(Arg::Op(op)) => {
                let message = match self.literal_type(&op) {
                    Some(t @ ("N" | "BOOL" | "NULL")) => format!(
                        "Incorrect operand type for operator or function; operator or function: size, operand type: {t}"
                    ),
                    _ => {
                        "Operator or function requires a document path; operator or function: size"
                            .to_string()
                    }
                };
                self.note(Prio::Function, message);
                Ok(Operand::Value(self.dummy_const()))
            }
            _ => Ok(Operand::Value(self.dummy_const())),
        }
    }

    /// `name ( arg, … )` — returns the arguments and the function name.
    /// Arguments are operands; calls in argument position are checked here.
    pub(super) fn call_args(&mut self) -> Result<(Vec<Arg>, &'s str), ExprError> {
        let name_at = self.bump();
        let name = self.text(name_at);
        self.count_operator()?;
        self.expect(Tok::LParen)?;
        self.enter()?;
        let mut args = Vec::new();
        if self.peek() != Tok::RParen {
            loop {
                let arg = match self.peek() {
                    Tok::Ident if self.peek_at(1) == Tok::LParen => {
                        let (inner, inner_name) = self.call_args()?;
                        if inner_name == "size" {
                            Arg::Op(self.size_operand(inner)?)
                        } else {
                            self.misused_or_unknown(inner_name);
                            Arg::Call
                        }
                    }
                    Tok::Value => Arg::Op(Operand::Value(self.value()?)),
                    Tok::Ident | Tok::Name => Arg::Op(Operand::Path(self.path()?)),
                    _ => return Err(self.syntax_error()),
                };
                args.push(arg);
                if self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        self.expect(Tok::RParen)?;
        self.leave();
        Ok((args, name))
    }

    /// A boolean function used as a condition.
    fn function_condition(&mut self, name_at: usize) -> Result<Node, ExprError> {
        let (args, name) = self.call_args()?;
        debug_assert_eq!(name, self.text(name_at));
        let arity = match name {
            "attribute_exists" | "attribute_not_exists" => 1,
            "attribute_type" | "begins_with" | "contains" => 2,
            _ => {
                self.note(
                    Prio::UnknownFunction,
                    format!("Invalid function name; function: {name}"),
                );
                return Ok(Node::Exists(Path(Vec::new())));
            }
        };
        if args.len() != arity {
            self.note(
                Prio::Operand,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(Node::Exists(Path(Vec::new())));
        }
        let mut ops = Vec::with_capacity(2);
        for arg in args {
            match arg {
                Arg::Op(op) => ops.push(op),
                Arg::Call => ops.push(Operand::Value(self.dummy_const())),
            }
        }
        let second = ops.pop_if(|_| arity == 2);
        let first = ops.pop().unwrap_or(Operand::Value(0));
        if let Some(second) = &second {
            self.check_distinct(name, &first, second);
        }
        let requires_path = |this: &mut Self| {
            this.note(
                Prio::Function,
                format!(
                    "Operator or function requires a document path; operator or function: {name}"
                ),
            );
        };
        let bad_type = |this: &mut Self, t: &str| {
            this.note(
                Prio::Function,
                format!(
                    "Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}"
                ),
            );
        };
        let node = match (name, first, second) {
            ("attribute_exists", Operand::Path(p), _) => Node::Exists(p),
            ("attribute_not_exists", Operand::Path(p), _) => Node::NotExists(p),
            ("attribute_type", first @ (Operand::Path(_) | Operand::Value(_)), Some(t)) => {
                match &t {
                    Operand::Value(id) => match &self.consts[*id as usize] {
                        Value::S(s) if TYPE_NAMES.contains(&s.as_str()) => {}
                        Value::S(s) => {
                            let message = format!(
                                "Invalid attribute type name found; type: {s}, valid types: {{N,BS,L,B,NULL,M,S,SS,NS,BOOL}}"
                            );
                            self.note(Prio::Function, message);
                        }
                        other => bad_type(self, other.type_name()),
                    },
                    Operand::Size(_) => bad_type(self, "N"),
                    // The type name must be a value: a path could be any type.
                    Operand::Path(_) => bad_type(self, ANY_TYPE),
                }
                Node::Type(first, t)
            }
            ("begins_with", first, Some(second)) => {
                for op in [&first, &second] {
                    if let Some(t) = self.literal_type(op)
                        && t != "S"
                        && t != "B"
                    {
                        bad_type(self, t);
                    }
                }
                Node::BeginsWith(first, second)
            }
            ("contains", first, Some(second)) => Node::Contains(first, second),
            _ => {
                requires_path(self);
                Node::Exists(Path(Vec::new()))
            }
        };
        Ok(node)
    }

    /// Ordering operators take S, N or B literals only.
    fn check_orderable(&mut self, op: &str, operands: &[&Operand]) {
        for operand in operands {
            if let Some(t) = self.literal_type(operand)
                && !matches!(t, "S" | "N" | "B")
            {
                self.note(
                    Prio::Function,
                    format!(
                        "Incorrect operand type for operator or function; operator or function: {op}, operand type: {t}"
                    ),
                );
            }
        }
    }

    fn check_distinct(&mut self, op: &str, a: &Operand, b: &Operand) {
        if let (Operand::Path(pa), Operand::Path(pb)) = (a, b)
            && pa == pb
        {
            self.note(
                Prio::Distinct,
                format!(
                    "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {pa}"
                ),
            );
        }
    }

    fn check_between(&mut self, low: &Operand, high: &Operand) {
        let (Operand::Value(l), Operand::Value(h)) = (low, high) else {
            return;
        };
        let (lv, hv) = (&self.consts[*l as usize], &self.consts[*h as usize]);
        let show = |v: &Value| format!("AttributeValue: {{{}:{}}}", v.type_name(), brief(v));
        if lv.type_name() != hv.type_name() {
            let message = format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: {}, upper bound operand: {}",
                show(lv),
                show(hv)
            );
            self.note(Prio::Function, message);
        } else if super::eval::compare_values(lv, hv) == Some(std::cmp::Ordering::Greater) {
            let message = format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: {}, upper bound operand: {}",
                show(lv),
                show(hv)
            );
            self.note(Prio::Function, message);
        }
    }
}

/// How DynamoDB names the type of an operand that could be any type (a
/// path where `attribute_type` needs its type-name value).
const ANY_TYPE: &str = "{B,SS,L,DICT,HDS,HD,DOUBLE,DECIMAL,INTSET,FLOAT,M,S,NS,INT,BOOL,NULL,DECIMALSET,DOUBLESET,BS,FS,N}";

/// The type names `attribute_type` accepts.
const TYPE_NAMES: [&str; 10] = ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

fn is_condition_function(name: &str) -> bool {
    matches!(
        name,
        "attribute_exists" | "attribute_not_exists" | "attribute_type" | "begins_with" | "contains"
    )
}

/// A scalar as DynamoDB prints it inside `AttributeValue: {N:5}`.
fn brief(v: &Value) -> String {
    use base64::Engine as _;
    match v {
        Value::S(s) => s.clone(),
        Value::N(n) => n.to_canonical(),
        Value::B(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Value::Bool(b) => b.to_string(),
        Value::Null => "true".to_string(),
        other => other.type_name().to_string(),
    }
}

/// Parses a ConditionExpression, FilterExpression or KeyConditionExpression.
pub fn parse_condition(
    src: &str,
    kind: ExprKind,
    ph: &mut Placeholders<'_>,
) -> Result<Condition, ExprError> {
    Parser::new(src, kind, ph)?.condition()
}

/// The first overlap (preferred) or conflict among `paths`, in DynamoDB's
/// words; pairs are reported earlier path first.
pub(super) fn overlap_message(paths: &[&Path]) -> Option<(Prio, String)> {
    let mut conflict = None;
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let mut diverged = false;
            for (x, y) in a.0.iter().zip(&b.0) {
                match (x, y) {
                    (PathElem::Attr(p), PathElem::Attr(q)) if p == q => {}
                    (PathElem::Index(p), PathElem::Index(q)) if p == q => {}
                    (PathElem::Attr(_), PathElem::Attr(_))
                    | (PathElem::Index(_), PathElem::Index(_)) => {
                        diverged = true;
                        break;
                    }
                    _ => {
                        if conflict.is_none() {
                            conflict = Some(format!(
                                "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                            ));
                        }
                        diverged = true;
                        break;
                    }
                }
            }
            if !diverged {
                return Some((
                    Prio::PathOverlap,
                    format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                    ),
                ));
            }
        }
    }
    conflict.map(|c| (Prio::PathConflict, c))
}
