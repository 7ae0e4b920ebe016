//! Request-path micro-benchmarks: parse GetItem/PutItem bodies, validate the
//! item, compute placement, encode the storage forms, encode the response;
//! and what request metrics and capacity enforcement add to one GetItem
//! (`metering_getitem_on` − `metering_getitem_off`, the work
//! `metrics_enabled = false` + `[capacity] enforce = false` skip).
//! Run: `cargo bench --bench request_path`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dynacore::api::shard::capacity::{CapacitySettings, Meter};
use dynacore::catalog::{BillingMode, KeyAttr, KeyType, TableDef};
use dynacore::metrics::RequestMetrics;
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

/// A PROVISIONED table with room to spare (nothing is ever throttled).
fn provisioned_table() -> TableDef {
    let pk = KeyAttr {
        name: "pk".into(),
        key_type: KeyType::S,
    };
    let mut table = TableDef::for_tests("usertable", pk, None, vec![]);
    table.id = 7;
    table.billing_mode = BillingMode::Provisioned;
    table.read_capacity_units = 1_000_000_000;
    table.write_capacity_units = 1_000_000_000;
    table
}

/// One GetItem's metering as the dispatcher and the read path do it: the
/// table's label slot, admission, the charge of its units (to the table's
/// and the key's buckets) and the latency histogram.
fn meter_get(metrics: &RequestMetrics, meter: &Meter, table: &TableDef, key_hash: u64) {
    let slot = metrics.slot(Some(&table.name));
    meter
        .admit_read(table, None, Some(key_hash))
        .expect("never throttled");
    meter.charge_read(table, None, 0.5, Some(key_hash));
    metrics.record("GetItem", slot, 180, 1, None);
}

fn metering(c: &mut Criterion) {
    let table = provisioned_table();
    let enforcing = CapacitySettings {
        enforce: true,
        partition_read_units_max: 1e12,
        partition_buckets_max: 10_000,
        ..CapacitySettings::off()
    };
    let on = (
        RequestMetrics::new(true, 100),
        Meter::new(enforcing, "us-east-1", "000000000000"),
    );
    let off = (
        RequestMetrics::new(false, 100),
        Meter::new(CapacitySettings::off(), "us-east-1", "000000000000"),
    );
    // 10,000 keys, as dynacore-loadgen's default record count.
    let hashes: Vec<u64> = (0..10_000u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    for (name, (metrics, meter)) in [("metering_getitem_on", &on), ("metering_getitem_off", &off)] {
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % hashes.len();
                meter_get(metrics, meter, black_box(&table), hashes[i]);
            })
        });
    }
}

criterion_group!(request_path, benches, metering);
criterion_main!(request_path);
