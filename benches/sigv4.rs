//! SigV4 verification cost per request on the GetItem path: the verifier
//! over split headers, and the runtime's whole check from the raw request
//! head (re-parse with httparse, canonical request, SHA-256 of the body,
//! HMAC with the cached signing key, constant-time compare). Also the
//! header parse alone (the check of a server without credentials).
//! Run: `cargo bench --bench sigv4`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use dynacore::auth::sigv4::{self, SignedRequest, format_amz_date, parse_authorization};
use dynacore::auth::{Credentials, Verifier};
use dynacore::config::Config;
use dynacore::runtime::auth::{ShardAuth, Shared};

const BODY: &str = r#"{"TableName":"usertable","Key":{"pk":{"S":"user6284781860667377211"}},"ConsistentRead":false}"#;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    let date = format_amz_date(now());
    // What the AWS SDK for Rust signs on a GetItem.
    let signed = [
        ("content-type", "application/x-amz-json-1.0"),
        ("host", "127.0.0.1:8000"),
        ("x-amz-date", date.as_str()),
        ("x-amz-target", "DynamoDB_20120810.GetItem"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 os/linux lang/rust/1.90.0",
        ),
    ];
    let authorization = sigv4::sign(
        "AKIDBENCH",
        "bench-secret",
        "us-east-1",
        &date,
        "POST",
        "/",
        &signed,
        BODY.as_bytes(),
    );
    let mut fields: Vec<(&str, &[u8])> = signed.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    fields.push(("authorization", authorization.as_bytes()));
    fields.push(("content-length", b"99"));
    fields.push((
        "user-agent",
        b"aws-sdk-rust/1.3.9 os/linux lang/rust/1.90.0",
    ));
    let creds = Credentials::parse(
        "[[credentials]]\naccess_key_id = \"AKIDBENCH\"\nsecret_access_key = \"bench-secret\"\n",
    )
    .expect("credentials");
    let verifier = Verifier::new(Arc::new(creds), "us-east-1", 1024);
    let request = SignedRequest {
        method: "POST",
        target: "/",
        headers: &fields,
        body: BODY.as_bytes(),
    };
    let t = now();
    assert!(verifier.verify(&request, t).is_ok());
    c.bench_function("sigv4_verify_getitem", |b| {
        b.iter(|| verifier.verify(black_box(&request), t).is_ok())
    });
    c.bench_function("sigv4_parse_header_only", |b| {
        b.iter(|| parse_authorization(black_box(&authorization), true).is_ok())
    });

    // The runtime's check, from raw head bytes.
    let mut head = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &fields {
        head.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value)));
    }
    head.push_str("\r\n");
    let dir = std::env::temp_dir().join(format!("dynacore-bench-sigv4-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("credentials.toml");
    std::fs::write(
        &path,
        "[[credentials]]\naccess_key_id = \"AKIDBENCH\"\nsecret_access_key = \"bench-secret\"\n",
    )
    .expect("write");
    let config = Config {
        credentials_file: Some(path),
        ..Config::default()
    };
    let shared = Shared::start(&config, std::slice::from_ref(&config.listen)).expect("credentials");
    let auth = ShardAuth::new(shared, &config);
    assert!(auth.authenticate(head.as_bytes(), BODY.as_bytes()).is_ok());
    c.bench_function("sigv4_authenticate_raw_head", |b| {
        b.iter(|| {
            auth.authenticate(black_box(head.as_bytes()), BODY.as_bytes())
                .is_ok()
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(group, benches);
criterion_main!(group);
