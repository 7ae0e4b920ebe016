//! ProjectionExpression: parsing and applying a list of document paths.
//!
//! The paths are merged into a tree once per request. Applying it to an item
//! copies only the selected parts, shaped as DynamoDB shapes them: maps keep
//! the selected keys, lists keep the selected elements in index order
//! (compacted), and a path that does not resolve contributes nothing — a map
//! or list with no surviving child is left out entirely.

use std::collections::BTreeMap;

use super::ast::{Path, PathElem};
use super::lexer::Tok;
use super::parser::{Parser, overlap_message};
use super::{ExprError, ExprKind, Placeholders};
use crate::model::{Item, Map, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Select {
    All,
    Map(BTreeMap<String, Select>),
    List(BTreeMap<u32, Select>),
}

/// A parsed ProjectionExpression (or the set of paths an update touched).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    paths: Vec<Path>,
    top: BTreeMap<String, Select>,
}

/// Parses a ProjectionExpression.
pub fn parse_projection(src: &str, ph: &mut Placeholders<'_>) -> Result<Projection, ExprError> {
    Parser::new(src, ExprKind::Projection, ph)?.projection()
}

impl Parser<'_, '_, '_> {
    pub(super) fn projection(&mut self) -> Result<Projection, ExprError> {
        let mut paths = vec![self.path()?];
        while self.peek() == Tok::Comma {
            self.bump();
            paths.push(self.path()?);
        }
        if self.peek() != Tok::Eof {
            return Err(self.syntax_error());
        }
        let refs: Vec<&Path> = paths.iter().collect();
        if let Some((prio, message)) = overlap_message(&refs) {
            self.note(prio, message);
        }
        self.collected_error()?;
        Ok(Projection::from_paths(paths))
    }
}

impl Projection {
    /// Builds the selection tree. Paths are expected not to overlap; if they
    /// do, the shorter path wins (selecting the whole subtree).
    pub fn from_paths(paths: Vec<Path>) -> Projection {
        let mut top: BTreeMap<String, Select> = BTreeMap::new();
        for path in &paths {
            let mut elems = path.0.iter();
            let Some(PathElem::Attr(head)) = elems.next() else {
                continue;
            };
            let rest: Vec<&PathElem> = elems.collect();
            let slot = top
                .entry(head.clone())
                .or_insert_with(|| empty_for(rest.first()));
            insert(slot, &rest);
        }
        Projection { paths, top }
    }

    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// Top-level attribute names the projection reads.
    pub fn top_level_names(&self) -> impl Iterator<Item = &str> {
        self.top.keys().map(String::as_str)
    }

    /// The projected copy of `item`.
    pub fn apply(&self, item: &Item) -> Item {
        let mut out = Item::new();
        for (name, select) in &self.top {
            if let Some(value) = item.get(name.as_str())
                && let Some(projected) = project(value, select)
            {
                out.insert(name.clone(), projected);
            }
        }
        out
    }
}

fn empty_for(next: Option<&&PathElem>) -> Select {
    match next {
        None => Select::All,
        Some(PathElem::Attr(_)) => Select::Map(BTreeMap::new()),
        Some(PathElem::Index(_)) => Select::List(BTreeMap::new()),
    }
}

fn insert(slot: &mut Select, rest: &[&PathElem]) {
    let Some((first, tail)) = rest.split_first() else {
        *slot = Select::All;
        return;
    };
    let next = empty_for(tail.first());
    match (slot, first) {
        (Select::Map(children), PathElem::Attr(name)) => {
            insert(children.entry(name.clone()).or_insert(next), tail)
        }
        (Select::List(children), PathElem::Index(i)) => {
            insert(children.entry(*i).or_insert(next), tail)
        }
        // `All` already covers the path; a map/list clash cannot come from a
        // validated expression.
        _ => {}
    }
}

fn project(value: &Value, select: &Select) -> Option<Value> {
    match (select, value) {
        (Select::All, v) => Some(v.clone()),
        (Select::Map(children), Value::M(map)) => {
            let mut out = Map::new();
            for (name, child) in children {
                if let Some(v) = map.get(name.as_str())
                    && let Some(p) = project(v, child)
                {
                    out.insert(name.clone(), p);
                }
            }
            (!out.is_empty()).then_some(Value::M(out))
        }
        (Select::List(children), Value::L(list)) => {
            let out: Vec<Value> = children
                .iter()
                .filter_map(|(i, child)| list.get(*i as usize).and_then(|v| project(v, child)))
                .collect();
            (!out.is_empty()).then_some(Value::L(out))
        }
        _ => None,
    }
}
