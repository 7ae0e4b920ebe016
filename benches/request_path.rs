//! Request-path micro-benchmarks: parse GetItem/PutItem bodies, validate the
//! item, compute placement, encode the storage forms, encode the response.
//! Run: `cargo bench --bench request_path`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dynacore::model::codec::{decode_item, encode_item, write_item_json};
use dynacore::model::key::{item_key, placement_bytes};
use dynacore::model::value::{Value, item_from_json, write_json_map};
use dynacore::routing::{PartitionMap, placement_hash};

const GET: &str = r#"{"TableName":"usertable","Key":{"pk":{"S":"user6284781860667377211"}},"ConsistentRead":false}"#;

fn put_body() -> String {
    let fields: Vec<String> = (0..10)
        .map(|i| format!(r#""field{i}":{{"S":"{}"}}"#, "x".repeat(100)))
        .collect();
    format!(
        r#"{{"TableName":"usertable","Item":{{"pk":{{"S":"user6284781860667377211"}},{}}}}}"#,
        fields.join(",")
    )
}

fn parse_item(body: &str, member: &str) -> dynacore::model::Item {
    let mut bytes = body.as_bytes().to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).expect("valid bench JSON");
    let simd_json::BorrowedValue::Object(fields) = &json else {
        panic!("object expected");
    };
    item_from_json(fields.get(member).expect("member present")).expect("valid item")
}

fn benches(c: &mut Criterion) {
    let put = put_body();
    c.bench_function("parse_get_request", |b| {
        b.iter(|| parse_item(black_box(GET), "Key"))
    });
    c.bench_function("parse_put_request_1kb", |b| {
        b.iter(|| parse_item(black_box(&put), "Item"))
    });
    let key = parse_item(GET, "Key");
    let pk = key.get("pk").cloned().unwrap_or(Value::Null);
    let map = PartitionMap::new(8);
    c.bench_function("route_and_storage_key", |b| {
        b.iter(|| {
            let (tag, bytes) = placement_bytes(black_box(&pk)).expect("key type");
            let hash = placement_hash("usertable", tag, &bytes);
            (map.owner(hash), item_key(1, hash, &pk, None))
        })
    });
    let item = parse_item(&put, "Item");
    let encoded = encode_item(&item);
    c.bench_function("encode_item_1kb", |b| {
        b.iter(|| encode_item(black_box(&item)))
    });
    c.bench_function("decode_item_1kb", |b| {
        b.iter(|| decode_item(black_box(&encoded)))
    });
    c.bench_function("encode_get_response_1kb", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(1200);
            out.extend_from_slice(b"{\"Item\":");
            write_json_map(&mut out, black_box(&item));
            out.push(b'}');
            out
        })
    });
    // GetItem's path: the stored bytes written as JSON, no Item built.
    c.bench_function("transcode_get_response_1kb", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(1200);
            out.extend_from_slice(b"{\"Item\":");
            let size = write_item_json(black_box(&encoded), &mut out).expect("valid item");
            out.push(b'}');
            (out, size)
        })
    });
}

criterion_group!(request_path, benches);
criterion_main!(request_path);
