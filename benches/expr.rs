//! Expression engine micro-benchmarks: parsing each expression kind once per
//! request, and evaluating a parsed filter / applying a parsed update per
//! item (the per-item costs Query/Scan/UpdateItem pay).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dynacore::api::expr::{
    ExprKind, Placeholders, apply_update, evaluate, parse_condition, parse_projection, parse_update,
};
use dynacore::model::{Item, Number, Value};

fn n(x: &str) -> Value {
    Value::N(Number::parse(x).expect("number"))
}

fn s(x: &str) -> Value {
    Value::S(x.to_string())
}

fn item() -> Item {
    let mut profile = BTreeMap::new();
    profile.insert("name".to_string(), s("Ann"));
    profile.insert("age".to_string(), n("42"));
    let mut item = Item::new();
    item.insert("pk".to_string(), s("user#123"));
    item.insert("status".to_string(), s("active"));
    item.insert("score".to_string(), n("17.5"));
    item.insert(
        "tags".to_string(),
        Value::Ss(vec!["a".into(), "b".into(), "c".into()]),
    );
    item.insert("profile".to_string(), Value::M(profile));
    item.insert(
        "history".to_string(),
        Value::L((0..10).map(|i| n(&i.to_string())).collect()),
    );
    item
}

const FILTER: &str = "#s = :active AND score BETWEEN :lo AND :hi AND (contains(tags, :t) OR begins_with(profile.#n, :p)) AND size(history) > :z AND attribute_exists(profile.age)";
const UPDATE: &str = "SET score = score + :one, profile.#n = :p, history = list_append(history, :more) REMOVE #s ADD tags :more_tags";

fn values() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (":active".to_string(), s("active")),
        (":lo".to_string(), n("10")),
        (":hi".to_string(), n("20")),
        (":t".to_string(), s("b")),
        (":p".to_string(), s("A")),
        (":z".to_string(), n("5")),
        (":one".to_string(), n("1")),
        (":more".to_string(), Value::L(vec![n("10")])),
        (":more_tags".to_string(), Value::Ss(vec!["d".into()])),
    ])
}

fn names() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("#s".to_string(), "status".to_string()),
        ("#n".to_string(), "name".to_string()),
    ])
}

fn bench(c: &mut Criterion) {
    let (names, values) = (names(), values());
    let item = item();
    c.bench_function("parse_filter", |b| {
        b.iter(|| {
            let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("maps");
            black_box(
                parse_condition(black_box(FILTER), ExprKind::Filter, &mut ph).expect("parses"),
            )
        })
    });
    c.bench_function("parse_update", |b| {
        b.iter(|| {
            let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("maps");
            black_box(parse_update(black_box(UPDATE), &mut ph).expect("parses"))
        })
    });
    c.bench_function("parse_projection", |b| {
        b.iter(|| {
            let mut ph = Placeholders::new(Some(&names), None).expect("maps");
            black_box(
                parse_projection(black_box("pk, #s, profile.#n, history[2], tags"), &mut ph)
                    .expect("parses"),
            )
        })
    });
    let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("maps");
    let filter = parse_condition(FILTER, ExprKind::Filter, &mut ph).expect("parses");
    let update = parse_update(UPDATE, &mut ph).expect("parses");
    assert!(evaluate(&filter, &item), "the benchmark filter matches");
    c.bench_function("evaluate_filter", |b| {
        b.iter(|| black_box(evaluate(&filter, black_box(&item))))
    });
    c.bench_function("apply_update", |b| {
        b.iter(|| black_box(apply_update(&update, black_box(&item)).expect("applies")))
    });
    let mut ph = Placeholders::new(Some(&names), None).expect("maps");
    let projection =
        parse_projection("pk, #s, profile.#n, history[2], tags", &mut ph).expect("parses");
    c.bench_function("apply_projection", |b| {
        b.iter(|| black_box(projection.apply(black_box(&item))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
