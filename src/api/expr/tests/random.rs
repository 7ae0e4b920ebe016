//! Seeded randomized comparison of parsing + evaluation against a tiny
//! reference evaluator. Set DYNACORE_SEED=… to replay; the seed is in every failure.

use crate::testkit::{Rng, for_seeds, fresh_seeds};
use std::collections::BTreeMap;

use super::super::*;
use super::{json_value, names};
use crate::model::{Item, Value};

// ---- seeded randomized comparison against a reference evaluator ---------

#[derive(Clone, Debug, PartialEq)]
enum RVal {
    N(i64),
    S(String),
}

impl RVal {
    fn json(&self) -> String {
        match self {
            RVal::N(n) => format!(r#"{{"N":"{n}"}}"#),
            RVal::S(s) => format!(r#"{{"S":"{s}"}}"#),
        }
    }
    fn cmp(&self, other: &RVal) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (RVal::N(a), RVal::N(b)) => Some(a.cmp(b)),
            (RVal::S(a), RVal::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum RCond {
    Cmp(&'static str, usize, RVal),
    Between(usize, RVal, RVal),
    In(usize, Vec<RVal>),
    Exists(usize, bool),
    BeginsWith(usize, String),
    And(Box<RCond>, Box<RCond>),
    Or(Box<RCond>, Box<RCond>),
    Not(Box<RCond>),
}

const ATTRS: [&str; 3] = ["a", "b", "c"];
const STRS: [&str; 4] = ["", "a", "ab", "b"];

fn rand_val(r: &mut Rng) -> RVal {
    if r.below(2) == 0 {
        RVal::N(r.below(7) as i64 - 3)
    } else {
        RVal::S(STRS[r.below(4) as usize].to_string())
    }
}

fn rand_cond(r: &mut Rng, depth: u32) -> RCond {
    let leaf = depth == 0 || r.below(3) == 0;
    if !leaf {
        return match r.below(3) {
            0 => RCond::And(
                Box::new(rand_cond(r, depth - 1)),
                Box::new(rand_cond(r, depth - 1)),
            ),
            1 => RCond::Or(
                Box::new(rand_cond(r, depth - 1)),
                Box::new(rand_cond(r, depth - 1)),
            ),
            _ => RCond::Not(Box::new(rand_cond(r, depth - 1))),
        };
    }
    let attr = r.below(3) as usize;
    match r.below(5) {
        0 => {
            let ops = ["=", "<>", "<", "<=", ">", ">="];
            RCond::Cmp(ops[r.below(6) as usize], attr, rand_val(r))
        }
        1 => {
            // Bounds of one type in order, as DynamoDB requires of literals.
            let (x, y) = (rand_val(r), rand_val(r));
            let y = match (&x, y) {
                (RVal::N(_), RVal::S(_)) => RVal::N(r.below(7) as i64 - 3),
                (RVal::S(_), RVal::N(_)) => RVal::S(STRS[r.below(4) as usize].to_string()),
                (_, y) => y,
            };
            if x.cmp(&y) == Some(std::cmp::Ordering::Greater) {
                RCond::Between(attr, y, x)
            } else {
                RCond::Between(attr, x, y)
            }
        }
        2 => RCond::In(attr, (0..1 + r.below(3)).map(|_| rand_val(r)).collect()),
        3 => RCond::Exists(attr, r.below(2) == 0),
        _ => RCond::BeginsWith(attr, STRS[r.below(4) as usize].to_string()),
    }
}

/// Renders with as few parentheses as precedence allows; values become
/// placeholders, attribute `a` is sometimes written `#a`.
fn render(c: &RCond, r: &mut Rng, values: &mut Vec<RVal>, min_prec: u8) -> String {
    let val = |v: &RVal, values: &mut Vec<RVal>| {
        values.push(v.clone());
        format!(":v{}", values.len() - 1)
    };
    let name = |i: usize, r: &mut Rng| {
        if i == 0 && r.below(2) == 0 {
            "#a".to_string()
        } else {
            ATTRS[i].to_string()
        }
    };
    let (prec, text) = match c {
        RCond::Cmp(op, a, v) => (4, format!("{} {op} {}", name(*a, r), val(v, values))),
        RCond::Between(a, x, y) => {
            let n = name(*a, r);
            let (x, y) = (val(x, values), val(y, values));
            (4, format!("{n} BETWEEN {x} AND {y}"))
        }
        RCond::In(a, list) => {
            let n = name(*a, r);
            let items: Vec<String> = list.iter().map(|v| val(v, values)).collect();
            (4, format!("{n} IN ({})", items.join(", ")))
        }
        RCond::Exists(a, yes) => {
            let f = if *yes {
                "attribute_exists"
            } else {
                "attribute_not_exists"
            };
            (4, format!("{f}({})", name(*a, r)))
        }
        RCond::BeginsWith(a, p) => {
            let n = name(*a, r);
            (
                4,
                format!("begins_with({n}, {})", val(&RVal::S(p.clone()), values)),
            )
        }
        RCond::And(x, y) => (
            2,
            format!(
                "{} AND {}",
                render(x, r, values, 2),
                render(y, r, values, 3)
            ),
        ),
        RCond::Or(x, y) => (
            1,
            format!("{} OR {}", render(x, r, values, 1), render(y, r, values, 2)),
        ),
        RCond::Not(x) => (3, format!("NOT {}", render(x, r, values, 3))),
    };
    if prec < min_prec {
        format!("({text})")
    } else {
        text
    }
}

fn reference(c: &RCond, item: &[Option<RVal>; 3]) -> bool {
    use std::cmp::Ordering::*;
    match c {
        RCond::Cmp(op, a, v) => {
            let Some(x) = &item[*a] else {
                return *op == "<>";
            };
            match *op {
                "=" => x == v,
                "<>" => x != v,
                _ => match x.cmp(v) {
                    None => false,
                    Some(o) => match *op {
                        "<" => o == Less,
                        "<=" => o != Greater,
                        ">" => o == Greater,
                        _ => o != Less,
                    },
                },
            }
        }
        RCond::Between(a, lo, hi) => item[*a].as_ref().is_some_and(|x| {
            x.cmp(lo).is_some_and(|o| o != Less) && x.cmp(hi).is_some_and(|o| o != Greater)
        }),
        RCond::In(a, list) => item[*a].as_ref().is_some_and(|x| list.contains(x)),
        RCond::Exists(a, yes) => item[*a].is_some() == *yes,
        RCond::BeginsWith(a, p) => {
            matches!(&item[*a], Some(RVal::S(s)) if s.starts_with(p.as_str()))
        }
        RCond::And(x, y) => reference(x, item) && reference(y, item),
        RCond::Or(x, y) => reference(x, item) || reference(y, item),
        RCond::Not(x) => !reference(x, item),
    }
}

#[test]
fn random_conditions_match_reference() {
    for_seeds(fresh_seeds(1), random_conditions_match_reference_for);
}

fn random_conditions_match_reference_for(seed: u64) {
    let mut r = Rng::new(seed);
    let n = names(&[("#a", "a")]);
    for round in 0..500 {
        let c = rand_cond(&mut r, 4);
        let mut values = Vec::new();
        let text = render(&c, &mut r, &mut values, 0);
        let v: BTreeMap<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!(":v{i}"), json_value(&v.json())))
            .collect();
        let uses_name = text.contains("#a");
        let mut ph = Placeholders::new(uses_name.then_some(&n), (!v.is_empty()).then_some(&v))
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: {e}"));
        let parsed = parse_condition(&text, ExprKind::Filter, &mut ph)
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: {text}: {e}"));
        assert!(ph.finish().is_ok(), "seed {seed} round {round}: {text}");
        for _ in 0..8 {
            let attrs: [Option<RVal>; 3] = std::array::from_fn(|_| {
                if r.below(4) == 0 {
                    None
                } else {
                    Some(rand_val(&mut r))
                }
            });
            let mut item = Item::new();
            for (i, a) in attrs.iter().enumerate() {
                if let Some(a) = a {
                    item.insert(ATTRS[i].to_string(), json_value(&a.json()));
                }
            }
            assert_eq!(
                evaluate(&parsed, &item),
                reference(&c, &attrs),
                "seed {seed} round {round}: {text} on {attrs:?}"
            );
        }
    }
}
