//! Byte ranges of index entry keys that a Query key condition selects.
//!
//! Every range-key value of an entry key is written with `enc`
//! (`model::key::push_component`), which is prefix-free and order-preserving.
//! So for a prefix `P` (index id ‖ hash ‖ enc(hash values) ‖ enc(range values
//! fixed by equality)) and a value `v`, with `q = P ‖ enc(v)`:
//!
//! - the entries whose next range value equals `v` are exactly those that
//!   start with `q` (prefix-free: no other value's encoding starts with it);
//! - those with a smaller value sort before `q`, those with a larger one after
//!   every key starting with `q` (order-preserving and prefix-free: the two
//!   encodings differ at a byte inside both).
//!
//! Hence `< v` ends before `q`, `<= v` ends at the prefix end of `q`, `> v`
//! starts at that prefix end, `>= v` starts at `q`. `begins_with(v)` (S and B
//! only) uses `v`'s escaped bytes without the terminator: escaping maps each
//! byte to a codeword of the prefix code {b ≠ 0, 0x00 0xFF}, so an escaped
//! value starts with `escape(v)` exactly when the value starts with `v`, and
//! the terminator 0x00 0x00 can never continue a codeword sequence.
//!
//! Ranges may come out inverted (`BETWEEN` with low > high); the store reads
//! an inverted range as empty.

use std::ops::Bound;

use crate::api::expr::{CmpOp, KeyOp};
use crate::model::Value;
use crate::model::key::{prefix_end, push_component};

/// A key range: lower and upper bound.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Every key starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyRange {
    (Bound::Included(prefix.to_vec()), prefix_end(prefix))
}

/// The first key after every key starting with `prefix`, as a lower bound.
fn after_prefix(prefix: &[u8]) -> Bound<Vec<u8>> {
    match prefix_end(prefix) {
        Bound::Excluded(end) => Bound::Included(end),
        // Only an all-0xFF prefix has no end; index ids never are. An
        // excluded all-0xFF lower bound with nothing after it selects nothing
        // that could be an entry of this prefix.
        _ => Bound::Excluded(vec![0xFF; prefix.len() + 1]),
    }
}

/// `prefix ‖ enc(value)`.
pub fn with_component(prefix: &[u8], value: &Value) -> Vec<u8> {
    let mut key = prefix.to_vec();
    push_component(&mut key, value);
    key
}

/// Appends S or B bytes escaped as `enc` escapes them, without the
/// terminator: the common prefix of every encoded value starting with them.
pub fn push_escaped_prefix(out: &mut Vec<u8>, value: &Value) {
    let bytes: &[u8] = match value {
        Value::S(s) => s.as_bytes(),
        Value::B(b) => b,
        // begins_with on N is rejected before a range is built.
        _ => {
            debug_assert!(false, "begins_with on {}", value.type_name());
            return;
        }
    };
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// The entries under `prefix` whose next range-key component satisfies
/// `last` (all of them when there is no condition).
pub fn range_for(prefix: &[u8], last: Option<&KeyOp>) -> KeyRange {
    let start = || Bound::Included(prefix.to_vec());
    match last {
        None => prefix_range(prefix),
        Some(KeyOp::Cmp(op, v)) => {
            let q = with_component(prefix, v);
            match op {
                CmpOp::Eq => prefix_range(&q),
                CmpOp::Lt => (start(), Bound::Excluded(q)),
                CmpOp::Le => (start(), prefix_end(&q)),
                CmpOp::Gt => (after_prefix(&q), prefix_end(prefix)),
                // `<>` never reaches here (key_condition_terms rejects it).
                CmpOp::Ge | CmpOp::Ne => (Bound::Included(q), prefix_end(prefix)),
            }
        }
        Some(KeyOp::Between(low, high)) => (
            Bound::Included(with_component(prefix, low)),
            prefix_end(&with_component(prefix, high)),
        ),
        Some(KeyOp::BeginsWith(v)) => {
            let mut q = prefix.to_vec();
            push_escaped_prefix(&mut q, v);
            prefix_range(&q)
        }
    }
}

/// Whether `key` lies inside `range`.
pub fn contains(range: &KeyRange, key: &[u8]) -> bool {
    let above = match &range.0 {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match &range.1 {
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;
    use crate::api::expr::compare_values;
    use crate::api::fixtures::{attr, n, s};
    use crate::api::index::keys::{entry_key, partition_hash, partition_prefix};
    use crate::catalog::{IndexDef, IndexKind, IndexStatus, KeyType, ProjectionType, TableDef};
    use crate::model::Item;
    use crate::routing::PartitionMap;
    use crate::testkit::{Rng, for_seeds, fresh_seeds};

    /// A table with a GSI keyed gp (S) / r1 (S or B) + r2 (N).
    fn table(r1_type: KeyType) -> TableDef {
        TableDef::for_tests(
            "t",
            attr("pk", KeyType::S),
            Some(attr("sk", KeyType::N)),
            vec![IndexDef {
                id: 2,
                name: "g".into(),
                kind: IndexKind::Global,
                hash_keys: vec![attr("gp", KeyType::S)],
                range_keys: vec![attr("r1", r1_type), attr("r2", KeyType::N)],
                projection_type: ProjectionType::KeysOnly,
                non_key_attributes: vec![],
                status: IndexStatus::Active,
                read_capacity_units: 0,
                write_capacity_units: 0,
                throughput_changes: Default::default(),
            }],
        )
    }

    /// Short byte strings over an alphabet that stresses the escaping.
    fn bytes(rng: &mut Rng) -> Vec<u8> {
        const ALPHABET: &[u8] = &[0x00, 0x01, 0xFF, 0xFE, b'a', b'b'];
        let len = rng.below(4) as usize;
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    fn text(rng: &mut Rng) -> String {
        const ALPHABET: &[&str] = &["\0", "\u{1}", "a", "b", "ÿ", "\u{10FFFF}"];
        let len = rng.below(4) as usize;
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    fn number(rng: &mut Rng) -> Value {
        const NUMBERS: &[&str] = &["-100", "-1.5", "-1", "0", "0.5", "1", "1.05", "10", "1e20"];
        n(NUMBERS[rng.below(NUMBERS.len() as u64) as usize])
    }

    fn holds(op: &KeyOp, v: &Value) -> bool {
        let cmp = |x: &Value| compare_values(v, x).expect("same type");
        match op {
            KeyOp::Cmp(CmpOp::Eq, x) => cmp(x) == Ordering::Equal,
            KeyOp::Cmp(CmpOp::Lt, x) => cmp(x) == Ordering::Less,
            KeyOp::Cmp(CmpOp::Le, x) => cmp(x) != Ordering::Greater,
            KeyOp::Cmp(CmpOp::Gt, x) => cmp(x) == Ordering::Greater,
            KeyOp::Cmp(CmpOp::Ge, x) => cmp(x) != Ordering::Less,
            KeyOp::Cmp(CmpOp::Ne, _) => unreachable!(),
            KeyOp::Between(lo, hi) => cmp(lo) != Ordering::Less && cmp(hi) != Ordering::Greater,
            KeyOp::BeginsWith(p) => match (v, p) {
                (Value::S(a), Value::S(b)) => a.as_bytes().starts_with(b.as_bytes()),
                (Value::B(a), Value::B(b)) => a.starts_with(b),
                _ => unreachable!(),
            },
        }
    }

    fn ops(rng: &mut Rng, make: &mut dyn FnMut(&mut Rng) -> Value, prefix_ok: bool) -> Vec<KeyOp> {
        let mut out = Vec::new();
        for op in [CmpOp::Eq, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge] {
            out.push(KeyOp::Cmp(op, make(rng)));
        }
        out.push(KeyOp::Between(make(rng), make(rng)));
        if prefix_ok {
            out.push(KeyOp::BeginsWith(make(rng)));
        }
        out
    }

    /// Builds real entry keys for random items in two index partitions,
    /// sorts them, and checks that every condition's range selects exactly
    /// the entries of the partition whose range values satisfy it.
    fn check_against_sorted_keys(r1_type: KeyType, seed: u64) {
        let t = table(r1_type);
        let index = &t.indexes[0];
        let map = PartitionMap::new(4);
        let mut rng = Rng(seed);
        let mut make_r1 = |rng: &mut Rng| match r1_type {
            KeyType::B => Value::B(bytes(rng)),
            _ => Value::S(text(rng)),
        };
        let mut entries: Vec<(Vec<u8>, Item)> = Vec::new();
        for i in 0..300 {
            let mut item = Item::new();
            item.insert("pk".into(), s(&format!("p{}", rng.below(5))));
            item.insert("sk".into(), n(&i.to_string()));
            item.insert("gp".into(), s(if rng.below(2) == 0 { "x" } else { "y" }));
            item.insert("r1".into(), make_r1(&mut rng));
            item.insert("r2".into(), number(&mut rng));
            // Empty range values are never indexed (writes reject them).
            let Some(key) = entry_key(&map, &t, index, &item) else {
                continue;
            };
            entries.push((key.storage, item));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let gp = s("x");
        let hash = partition_hash(&t, index, &[&gp]);
        let partition = partition_prefix(index, hash, &[&gp]);
        let in_partition = |item: &Item| item.get("gp") == Some(&gp);
        // The first range attribute alone.
        for op in ops(&mut rng, &mut make_r1, true) {
            let range = range_for(&partition, Some(&op));
            for (key, item) in &entries {
                let want = in_partition(item) && holds(&op, &item["r1"]);
                assert_eq!(
                    contains(&range, key),
                    want,
                    "seed {seed}: {op:?} on {item:?}"
                );
            }
        }
        // Equality on r1, then a condition on r2.
        for _ in 0..20 {
            let r1 = entries[rng.below(entries.len() as u64) as usize].1["r1"].clone();
            let prefix = with_component(&partition, &r1);
            for op in ops(&mut rng, &mut number, false) {
                let range = range_for(&prefix, Some(&op));
                for (key, item) in &entries {
                    let want = in_partition(item) && item["r1"] == r1 && holds(&op, &item["r2"]);
                    assert_eq!(
                        contains(&range, key),
                        want,
                        "seed {seed}: {op:?} on {item:?}"
                    );
                }
            }
        }
        // No condition: the whole partition.
        let range = range_for(&partition, None);
        for (key, item) in &entries {
            assert_eq!(contains(&range, key), in_partition(item), "seed {seed}");
        }
    }

    #[test]
    fn ranges_select_exactly_the_matching_entries() {
        for_seeds(fresh_seeds(4), |seed| {
            check_against_sorted_keys(KeyType::S, seed);
            check_against_sorted_keys(KeyType::B, seed.wrapping_add(1));
        });
    }

    #[test]
    fn begins_with_escapes_zero_bytes_and_ends_before_ff() {
        let p = vec![9u8];
        let (lo, hi) = range_for(&p, Some(&KeyOp::BeginsWith(Value::B(vec![0x00]))));
        assert_eq!(lo, Bound::Included(vec![9, 0x00, 0xFF]));
        assert_eq!(hi, Bound::Excluded(vec![9, 0x01]));
        // "\0" itself is inside; the empty value (0x00 0x00) is not.
        assert!(contains(
            &(lo.clone(), hi.clone()),
            &with_component(&p, &Value::B(vec![0]))
        ));
        assert!(!contains(&(lo, hi), &with_component(&p, &Value::B(vec![]))));
    }

    #[test]
    fn strict_bounds_exclude_the_value_and_its_suffixes() {
        let p = vec![1u8, 2];
        let v = s("b");
        let eq_key = with_component(&with_component(&p, &v), &s("base"));
        let (lo, hi) = range_for(&p, Some(&KeyOp::Cmp(CmpOp::Gt, v.clone())));
        assert!(!contains(&(lo, hi), &eq_key));
        let (lo, hi) = range_for(&p, Some(&KeyOp::Cmp(CmpOp::Lt, v.clone())));
        assert!(!contains(&(lo, hi), &eq_key));
        let (lo, hi) = range_for(&p, Some(&KeyOp::Cmp(CmpOp::Le, v.clone())));
        assert!(contains(&(lo, hi), &eq_key));
        let (lo, hi) = range_for(&p, Some(&KeyOp::Cmp(CmpOp::Ge, v)));
        assert!(contains(&(lo, hi), &eq_key));
    }
}
