//! The parsed forms of the five expression kinds.
//!
//! Parsing resolves every `#name` to its attribute name and copies every
//! `:value` into the expression's own constant table, so a parsed expression
//! is self-contained: it borrows nothing from the request and is evaluated
//! against many items (Query/Scan filters) without touching the placeholder
//! maps again. Conditions are a flat `Vec<Node>` with `u32` child indices.

use std::fmt;

use crate::model::Value;

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElem {
    Attr(String),
    Index(u32),
}

/// A resolved document path: `a.b[3].c` is `[Attr a, Attr b, Index 3, Attr c]`.
/// The first element is always an `Attr`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    /// The top-level attribute name.
    pub fn head(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(name)) => name,
            // The parser never builds a path that starts with an index.
            _ => "",
        }
    }

    pub fn is_top_level(&self) -> bool {
        self.0.len() == 1
    }
}

/// DynamoDB's rendering in error messages: `[a, b, [3], c]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, elem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match elem {
                PathElem::Attr(name) => f.write_str(name)?,
                PathElem::Index(index) => write!(f, "[{index}]")?,
            }
        }
        f.write_str("]")
    }
}

/// Index into an expression's constant table.
pub type ConstId = u32;
/// Index into a condition's node table.
pub type NodeId = u32;

/// An operand of a comparison or function in a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Path(Path),
    Value(ConstId),
    /// `size(path)`: a number, or "no value" when the path is absent or has
    /// no size.
    Size(Path),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Cmp(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    /// `attribute_type(operand, :t)`: the operand is a path or a literal;
    /// the type name is checked at parse time when it is a literal.
    Type(Operand, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    Not(NodeId),
}

/// A parsed ConditionExpression, FilterExpression or KeyConditionExpression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    pub consts: Vec<Value>,
}

impl Condition {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn constant(&self, id: ConstId) -> &Value {
        &self.consts[id as usize]
    }
}

/// An operand on the right of `SET path =`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOperand {
    Path(Path),
    Value(ConstId),
    IfNotExists(Path, Box<UpdateOperand>),
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetValue {
    Operand(UpdateOperand),
    Plus(UpdateOperand, UpdateOperand),
    Minus(UpdateOperand, UpdateOperand),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateAction {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, ConstId),
    Delete(Path, ConstId),
}

impl UpdateAction {
    pub fn path(&self) -> &Path {
        match self {
            UpdateAction::Set(p, _)
            | UpdateAction::Remove(p)
            | UpdateAction::Add(p, _)
            | UpdateAction::Delete(p, _) => p,
        }
    }
}

/// A parsed UpdateExpression: its actions in source order (SET, REMOVE, ADD,
/// DELETE sections interleaved as written), with pairwise non-overlapping
/// paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    pub actions: Vec<UpdateAction>,
    pub consts: Vec<Value>,
}

impl Update {
    pub fn constant(&self, id: ConstId) -> &Value {
        &self.consts[id as usize]
    }

    /// DynamoDB's error when an update touches a key attribute; checked by
    /// the operation, which knows the key schema.
    pub fn check_key_attributes(&self, key_names: &[&str]) -> Result<(), super::ExprError> {
        for action in &self.actions {
            let head = action.path().head();
            if key_names.contains(&head) {
                return Err(super::ExprError::new(format!(
                    "One or more parameter values were invalid: Cannot update attribute {head}. This attribute is part of the key"
                )));
            }
        }
        Ok(())
    }

    /// The paths this update writes or removes (for UPDATED_OLD/UPDATED_NEW).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.actions.iter().map(UpdateAction::path)
    }

    /// Whether every action removes (REMOVE, or DELETE from a set): such an
    /// update of a missing item changes nothing and creates no item.
    pub fn only_removes(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a, UpdateAction::Remove(_) | UpdateAction::Delete(..)))
    }
}
