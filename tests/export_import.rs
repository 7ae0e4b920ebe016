//! Export to and import from S3-layout folders through the real binary:
//! a FULL export (DynamoDB JSON and Ion) of a table with every attribute
//! type and a GSI, read by an independent Python reader
//! (`tests/export_reader.py`, standard library only), imported into new
//! tables that scan equal to the source with the GSI queryable; CSV,
//! uncompressed and ZSTD imports with bad lines counted and skipped;
//! records that survive a restart; an import a SIGKILL interrupts,
//! resumed; and DynamoDB's errors for bad requests, which create nothing.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use common::values::{n, s};
use common::{Server, error_type};
use serde_json::Value as Json;

type Item = HashMap<String, AttributeValue>;

const SCHEMA: &str = r#"
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "g", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byG",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"}
  }]"#;

const ITEMS: u64 = 300;

/// An item with every attribute type; the GSI key on two thirds.
fn item(i: u64) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&format!("p{}", i % 23)));
    item.insert("sk".into(), n(i));
    item.insert("num".into(), n(format!("-{}.25", i * 7)));
    item.insert(
        "bin".into(),
        AttributeValue::B(Blob::new(vec![i as u8, 0, 255])),
    );
    item.insert("yes".into(), AttributeValue::Bool(i.is_multiple_of(2)));
    item.insert("nil".into(), AttributeValue::Null(true));
    item.insert(
        "ss".into(),
        AttributeValue::Ss(vec![format!("a{i}"), "b\"'\\".into()]),
    );
    item.insert(
        "ns".into(),
        AttributeValue::Ns(vec![i.to_string(), "0.5".into()]),
    );
    item.insert(
        "bs".into(),
        AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![i as u8, 9])]),
    );
    item.insert(
        "list".into(),
        AttributeValue::L(vec![
            s("x\ny"),
            n(i),
            AttributeValue::M(HashMap::from([("k".into(), s("v"))])),
        ]),
    );
    item.insert(
        "map".into(),
        AttributeValue::M(HashMap::from([
            (
                "deep".into(),
                AttributeValue::L(vec![AttributeValue::Bool(true)]),
            ),
            ("uni".into(), s("héllo ✓")),
        ])),
    );
    if !i.is_multiple_of(3) {
        item.insert("g".into(), s(&format!("g{}", i % 5)));
    }
    item
}

async fn put_items(client: &Client, table: &str) {
    let all: Vec<Item> = (0..ITEMS).map(item).collect();
    for chunk in all.chunks(25) {
        let requests = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(i.clone()))
                            .build()
                            .expect("put"),
                    )
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .expect("batch write");
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
}

fn key_of(item: &Item) -> (String, String) {
    let text = |v: &AttributeValue| match v {
        AttributeValue::S(x) | AttributeValue::N(x) => x.clone(),
        other => format!("{other:?}"),
    };
    (
        text(&item["pk"]),
        item.get("sk").map(text).unwrap_or_default(),
    )
}

async fn scan_all(client: &Client, table: &str) -> BTreeMap<(String, String), Item> {
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            out.insert(key_of(item), item.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

async fn gsi_count(client: &Client, table: &str, g: &str) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .index_name("byG")
            .key_condition_expression("g = :v")
            .expression_attribute_values(":v", s(g))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query the GSI");
        count += page.items().len();
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return count;
        }
    }
}

fn call(server: &Server, op: &str, body: &str) -> Json {
    let (status, reply) = server.call(op, body);
    assert_eq!(status, 200, "{op}: {reply}");
    serde_json::from_str(&reply).expect("JSON reply")
}

fn call_error(server: &Server, op: &str, body: &str) -> String {
    let (status, reply) = server.call(op, body);
    assert_eq!(status, 400, "{op} should fail: {reply}");
    error_type(&reply)
}

/// Polls Describe<what> until its status leaves IN_PROGRESS.
async fn wait_done(server: &Server, op: &str, arn_member: &str, arn: &str, member: &str) -> Json {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let reply = call(server, op, &format!(r#"{{"{arn_member}":"{arn}"}}"#));
        let description = reply[member].clone();
        let status = description[if op == "DescribeExport" {
            "ExportStatus"
        } else {
            "ImportStatus"
        }]
        .as_str()
        .unwrap_or("")
        .to_string();
        if status != "IN_PROGRESS" {
            return description;
        }
        assert!(Instant::now() < deadline, "{arn} still IN_PROGRESS");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Enables point-in-time recovery on `table` (an export requires it) and
/// waits until its restorable window opens (the first base is cut);
/// returns (earliest, latest) in ms.
fn enable_pitr(server: &Server, table: &str) -> (i64, i64) {
    call(
        server,
        "UpdateContinuousBackups",
        &format!(
            r#"{{"TableName":"{table}","PointInTimeRecoverySpecification":{{"PointInTimeRecoveryEnabled":true}}}}"#
        ),
    );
    pitr_window(server, table)
}

/// (earliest, latest) restorable times of `table` in ms, once open.
fn pitr_window(server: &Server, table: &str) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reply = call(
            server,
            "DescribeContinuousBackups",
            &format!(r#"{{"TableName":"{table}"}}"#),
        );
        let pitr = &reply["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
        if let (Some(e), Some(l)) = (
            pitr["EarliestRestorableDateTime"].as_f64(),
            pitr["LatestRestorableDateTime"].as_f64(),
        ) {
            return ((e * 1000.0).round() as i64, (l * 1000.0).round() as i64);
        }
        assert!(Instant::now() < deadline, "the PITR window never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
}

fn export_request(table: &str, format: &str, prefix: &str) -> String {
    format!(
        r#"{{"TableArn":"{}","S3Bucket":"exp-bucket","S3Prefix":"{prefix}","ExportFormat":"{format}"}}"#,
        table_arn(table)
    )
}

fn import_request(
    table: &str,
    format: &str,
    compression: &str,
    bucket: &str,
    prefix: &str,
    extra: &str,
) -> String {
    format!(
        r#"{{"S3BucketSource":{{"S3Bucket":"{bucket}","S3KeyPrefix":"{prefix}"}},"InputFormat":"{format}","InputCompressionType":"{compression}"{extra},"TableCreationParameters":{{"TableName":"{table}",{SCHEMA}}}}}"#
    )
}

/// The export's folder inside the bucket, from its manifest key.
fn export_folder(description: &Json) -> String {
    let manifest = description["ExportManifest"]
        .as_str()
        .expect("ExportManifest");
    manifest
        .strip_suffix("/manifest-summary.json")
        .expect("the manifest is in the export folder")
        .to_string()
}

fn python_reader(root: &std::path::Path, bucket: &str, folder: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/export_reader.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(root)
        .arg(bucket)
        .arg(folder)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the independent reader refused the export: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn full_exports_round_trip_through_imports_in_both_formats() {
    let mut server = Server::start("export-round-trip", 3);
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    enable_pitr(&server, "src");
    put_items(&client, "src").await;
    let source = scan_all(&client, "src").await;
    assert_eq!(source.len() as u64, ITEMS);
    let root = server.data_dir.join("exports");
    let mut exports = Vec::new();
    for (format, target, via_data) in [
        ("DYNAMODB_JSON", "fromjson", false),
        ("ION", "fromion", true),
    ] {
        let started = call(
            &server,
            "ExportTableToPointInTime",
            &export_request("src", format, "runs/one"),
        );
        let d = &started["ExportDescription"];
        assert_eq!(d["ExportStatus"], "IN_PROGRESS");
        assert_eq!(d["ExportFormat"], format);
        assert_eq!(d["ExportType"], "FULL_EXPORT");
        assert_eq!(d["S3Bucket"], "exp-bucket");
        assert_eq!(d["TableArn"], table_arn("src").as_str());
        let arn = d["ExportArn"].as_str().expect("ExportArn").to_string();
        assert!(
            arn.starts_with(&format!("{}/export/", table_arn("src"))),
            "{arn}"
        );
        let done = wait_done(
            &server,
            "DescribeExport",
            "ExportArn",
            &arn,
            "ExportDescription",
        )
        .await;
        assert_eq!(done["ExportStatus"], "COMPLETED", "{done}");
        assert_eq!(done["ItemCount"], ITEMS);
        assert!(done["BilledSizeBytes"].as_u64().expect("BilledSizeBytes") > 0);
        assert!(done["EndTime"].as_f64() >= done["StartTime"].as_f64());
        let folder = export_folder(&done);
        assert!(folder.starts_with("runs/one/AWSDynamoDB/"), "{folder}");
        assert!(
            root.join("exp-bucket")
                .join(&folder)
                .join("_started")
                .exists()
        );
        let read = python_reader(&root, "exp-bucket", &folder);
        assert!(
            read.contains(&format!("items={ITEMS} files=3 format={format}")),
            "{read}"
        );

        let prefix = if via_data {
            format!("{folder}/data/")
        } else {
            folder.clone()
        };
        let imported = call(
            &server,
            "ImportTable",
            &import_request(target, format, "GZIP", "exp-bucket", &prefix, ""),
        );
        let d = &imported["ImportTableDescription"];
        assert_eq!(d["ImportStatus"], "IN_PROGRESS");
        let import_arn = d["ImportArn"].as_str().expect("ImportArn").to_string();
        let done = wait_done(
            &server,
            "DescribeImport",
            "ImportArn",
            &import_arn,
            "ImportTableDescription",
        )
        .await;
        assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
        assert_eq!(done["ImportedItemCount"], ITEMS);
        assert_eq!(done["ProcessedItemCount"], ITEMS);
        assert_eq!(done["ErrorCount"], 0);
        assert!(done["ProcessedSizeBytes"].as_u64().expect("size") > 0);
        assert_eq!(done["TableCreationParameters"]["TableName"], target);
        let table = client
            .describe_table()
            .table_name(target)
            .send()
            .await
            .expect("describe");
        assert_eq!(
            table
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str()),
            Some("ACTIVE")
        );
        assert_eq!(
            scan_all(&client, target).await,
            source,
            "{format} import differs"
        );
        for g in ["g1", "g2", "g4"] {
            assert_eq!(
                gsi_count(&client, target, g).await,
                gsi_count(&client, "src", g).await
            );
            assert!(gsi_count(&client, target, g).await > 0);
        }
        exports.push(arn);
    }
    let listed = call(
        &server,
        "ListExports",
        &format!(r#"{{"TableArn":"{}"}}"#, table_arn("src")),
    );
    let arns: Vec<&str> = listed["ExportSummaries"]
        .as_array()
        .expect("summaries")
        .iter()
        .filter_map(|s| s["ExportArn"].as_str())
        .collect();
    assert_eq!(arns, exports.iter().map(String::as_str).collect::<Vec<_>>());
    let first = call(&server, "ListExports", r#"{"MaxResults":1}"#);
    assert_eq!(first["ExportSummaries"].as_array().map(Vec::len), Some(1));
    let token = first["NextToken"].as_str().expect("NextToken").to_string();
    let second = call(
        &server,
        "ListExports",
        &format!(r#"{{"MaxResults":1,"NextToken":"{token}"}}"#),
    );
    assert_eq!(
        second["ExportSummaries"][0]["ExportArn"],
        exports[1].as_str()
    );
    let imports = call(&server, "ListImports", "{}");
    assert_eq!(
        imports["ImportSummaryList"].as_array().map(Vec::len),
        Some(2)
    );

    // Records survive a restart.
    server.restart();
    let again = call(
        &server,
        "DescribeExport",
        &format!(r#"{{"ExportArn":"{}"}}"#, exports[0]),
    );
    assert_eq!(again["ExportDescription"]["ExportStatus"], "COMPLETED");
    let imports = call(&server, "ListImports", "{}");
    assert_eq!(
        imports["ImportSummaryList"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_uncompressed_json_imports_count_and_skip_bad_lines() {
    let root = common::fresh_data_dir("export-root-flag");
    let root_arg = root.to_string_lossy().to_string();
    let server = Server::start_with("import-bad-lines", 2, &["--export-root", &root_arg]);
    let client = server.client();
    let dir = root.join("in-bucket").join("csv");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // HeaderList names the columns: no header line. Two bad lines: too
    // many fields, and a non-number sort key.
    std::fs::write(
        dir.join("part-1.csv"),
        "p1;1;hello\np1;2;\"semi;colon\"\np2;3;x;extra\np3;notanumber;x\np4;4;\n",
    )
    .expect("write csv");
    let csv_options =
        r#","InputFormatOptions":{"Csv":{"Delimiter":";","HeaderList":["pk","sk","note"]}}"#;
    let body = import_request("fromcsv", "CSV", "NONE", "in-bucket", "csv/", csv_options);
    let started = call(&server, "ImportTable", &body);
    let arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let done = wait_done(
        &server,
        "DescribeImport",
        "ImportArn",
        &arn,
        "ImportTableDescription",
    )
    .await;
    assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
    assert_eq!(done["ImportedItemCount"], 3);
    assert_eq!(done["ErrorCount"], 2);
    assert_eq!(done["InputFormatOptions"]["Csv"]["Delimiter"], ";");
    let items = scan_all(&client, "fromcsv").await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[&("p1".into(), "2".into())]["note"], s("semi;colon"));
    assert!(!items[&("p4".into(), "4".into())].contains_key("note"));

    // DynamoDB JSON, uncompressed, with a header-less garbage line, an
    // item without its sort key and a mistyped GSI key.
    let dir = root.join("in-bucket").join("json");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("a.json"),
        concat!(
            "{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"g\":{\"S\":\"x\"}}}\n",
            "garbage\n",
            "{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"c\"},\"sk\":{\"N\":\"2\"},\"g\":{\"N\":\"5\"}}}\n",
            "\n",
            "{\"Item\":{\"pk\":{\"S\":\"d\"},\"sk\":{\"N\":\"3\"}}}"
        ),
    )
    .expect("write json");
    let body = import_request("fromraw", "DYNAMODB_JSON", "NONE", "in-bucket", "json", "");
    let started = call(&server, "ImportTable", &body);
    let arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let done = wait_done(
        &server,
        "DescribeImport",
        "ImportArn",
        &arn,
        "ImportTableDescription",
    )
    .await;
    assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
    assert_eq!(done["ImportedItemCount"], 2);
    assert_eq!(done["ErrorCount"], 3);
    assert_eq!(scan_all(&client, "fromraw").await.len(), 2);
    assert_eq!(gsi_count(&client, "fromraw", "x").await, 1);

    // ZSTD: the same lines, compressed, in two files under one prefix.
    let dir = root.join("in-bucket").join("zst");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, lines) in [
        (
            "one.json.zst",
            "{\"Item\":{\"pk\":{\"S\":\"z1\"},\"sk\":{\"N\":\"1\"}}}\n",
        ),
        (
            "two.json.zst",
            "{\"Item\":{\"pk\":{\"S\":\"z2\"},\"sk\":{\"N\":\"2\"}}}\nbad\n",
        ),
    ] {
        let packed = zstd::encode_all(lines.as_bytes(), 3).expect("zstd");
        std::fs::write(dir.join(name), packed).expect("write zstd");
    }
    let body = import_request("fromzstd", "DYNAMODB_JSON", "ZSTD", "in-bucket", "zst/", "");
    let started = call(&server, "ImportTable", &body);
    let arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let done = wait_done(
        &server,
        "DescribeImport",
        "ImportArn",
        &arn,
        "ImportTableDescription",
    )
    .await;
    assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
    assert_eq!(done["ImportedItemCount"], 2);
    assert_eq!(done["ErrorCount"], 1);
    assert_eq!(scan_all(&client, "fromzstd").await.len(), 2);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_requests_answer_dynamodb_errors_and_create_nothing() {
    let server = Server::start("export-errors", 2);
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    client
        .put_item()
        .table_name("src")
        .set_item(Some(item(1)))
        .send()
        .await
        .expect("put");
    let src = table_arn("src");
    // As in DynamoDB, a table without point-in-time recovery is refused.
    let got = call_error(
        &server,
        "ExportTableToPointInTime",
        &export_request("src", "DYNAMODB_JSON", ""),
    );
    assert!(
        got.ends_with("PointInTimeRecoveryUnavailableException"),
        "{got}"
    );
    enable_pitr(&server, "src");
    let cases = [
        (
            export_request("nosuch", "DYNAMODB_JSON", ""),
            "TableNotFoundException",
        ),
        (export_request("src", "CSV", ""), "ValidationException"),
        (
            format!(r#"{{"TableArn":"{src}","S3Bucket":"Bad_Bucket"}}"#),
            "ValidationException",
        ),
        (
            format!(r#"{{"TableArn":"{src}","S3Bucket":"a/b"}}"#),
            "ValidationException",
        ),
        (
            format!(r#"{{"TableArn":"{src}","S3Bucket":"okbucket","S3Prefix":"../out"}}"#),
            "ValidationException",
        ),
        (format!(r#"{{"TableArn":"{src}"}}"#), "ValidationException"),
        (
            format!(
                r#"{{"TableArn":"{src}","S3Bucket":"okbucket","ExportType":"INCREMENTAL_EXPORT","IncrementalExportSpecification":{{"ExportFromTime":1,"ExportToTime":2}}}}"#
            ),
            "ValidationException",
        ),
        (
            format!(r#"{{"TableArn":"{src}","S3Bucket":"okbucket","ExportTime":99999999999}}"#),
            "InvalidExportTimeException",
        ),
        (
            format!(r#"{{"TableArn":"{src}","S3Bucket":"okbucket","ExportTime":1000}}"#),
            "InvalidExportTimeException",
        ),
    ];
    for (body, expected) in &cases {
        let got = call_error(&server, "ExportTableToPointInTime", body);
        assert!(
            got.ends_with(expected),
            "{body}: {got}, expected {expected}"
        );
    }
    let unknown = format!("{src}/export/01700000000000-deadbeef");
    let got = call_error(
        &server,
        "DescribeExport",
        &format!(r#"{{"ExportArn":"{unknown}"}}"#),
    );
    assert!(got.ends_with("ExportNotFoundException"), "{got}");
    let unknown = format!("{src}/import/01700000000000-deadbeef");
    let got = call_error(
        &server,
        "DescribeImport",
        &format!(r#"{{"ImportArn":"{unknown}"}}"#),
    );
    assert!(got.ends_with("ImportNotFoundException"), "{got}");
    let listed = call(&server, "ListExports", "{}");
    assert_eq!(listed["ExportSummaries"].as_array().map(Vec::len), Some(0));
    let got = call_error(&server, "ListExports", r#"{"MaxResults":26}"#);
    assert!(got.ends_with("ValidationException"), "{got}");

    // Imports: an existing table, a bad format, a bad schema, a bad bucket.
    let import_cases = [
        (import_request("src", "DYNAMODB_JSON", "GZIP", "okbucket", "", ""), "ResourceInUseException"),
        (import_request("t1", "XML", "GZIP", "okbucket", "", ""), "ValidationException"),
        (import_request("t1", "ION", "BZIP", "okbucket", "", ""), "ValidationException"),
        (import_request("t1", "ION", "GZIP", "../up", "", ""), "ValidationException"),
        (
            r#"{"S3BucketSource":{"S3Bucket":"okbucket"},"InputFormat":"ION","TableCreationParameters":{"TableName":"t1","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"other","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}}"#.to_string(),
            "ValidationException",
        ),
    ];
    for (body, expected) in &import_cases {
        let got = call_error(&server, "ImportTable", body);
        assert!(
            got.ends_with(expected),
            "{body}: {got}, expected {expected}"
        );
    }
    let tables = client.list_tables().send().await.expect("list tables");
    assert_eq!(tables.table_names(), ["src"]);
    let imports = call(&server, "ListImports", "{}");
    assert_eq!(
        imports["ImportSummaryList"].as_array().map(Vec::len),
        Some(0)
    );

    // No data file under the prefix: the import fails and its table goes.
    let started = call(
        &server,
        "ImportTable",
        &import_request("empty", "DYNAMODB_JSON", "GZIP", "nobucket", "x/", ""),
    );
    let arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let done = wait_done(
        &server,
        "DescribeImport",
        "ImportArn",
        &arn,
        "ImportTableDescription",
    )
    .await;
    assert_eq!(done["ImportStatus"], "FAILED", "{done}");
    assert!(
        done["FailureMessage"]
            .as_str()
            .is_some_and(|m| m.contains("No objects")),
        "{done}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .describe_table()
        .table_name("empty")
        .send()
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the failed import's table stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // ClientToken: the same parameters are the same export; others conflict.
    let with_token = |prefix: &str| {
        format!(
            r#"{{"TableArn":"{src}","S3Bucket":"okbucket","S3Prefix":"{prefix}","ClientToken":"tok-1"}}"#
        )
    };
    let first = call(&server, "ExportTableToPointInTime", &with_token("p"));
    let again = call(&server, "ExportTableToPointInTime", &with_token("p"));
    assert_eq!(
        first["ExportDescription"]["ExportArn"],
        again["ExportDescription"]["ExportArn"]
    );
    let got = call_error(&server, "ExportTableToPointInTime", &with_token("other"));
    assert!(got.ends_with("ImportConflictException"), "{got}");
    let listed = call(&server, "ListExports", "{}");
    assert_eq!(listed["ExportSummaries"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_a_sigkill_interrupts_is_resumed_to_the_same_table() {
    // About ten seconds of loading in the test profile's debug build.
    const LINES: u64 = 7_000;
    let mut server = Server::start("import-resume", 2);
    let client = server.client();
    let dir = server
        .data_dir
        .join("exports")
        .join("big-bucket")
        .join("in");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut text = String::new();
    for i in 0..LINES {
        text.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}},\"sk\":{{\"N\":\"{i}\"}},\"g\":{{\"S\":\"g{}\"}},\"pad\":{{\"S\":\"{}\"}}}}}}\n",
            i % 7,
            "x".repeat(200)
        ));
    }
    std::fs::write(dir.join("items.json"), text).expect("write");
    let body = import_request("resumed", "DYNAMODB_JSON", "NONE", "big-bucket", "in/", "");
    let started = call(&server, "ImportTable", &body);
    let arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .expect("arn")
        .to_string();
    // Kill it mid-load (if the load already finished, the checks below
    // still hold; at this size it has not).
    server.kill();
    server.launch().expect("restarts");
    let done = wait_done(
        &server,
        "DescribeImport",
        "ImportArn",
        &arn,
        "ImportTableDescription",
    )
    .await;
    assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
    assert_eq!(done["ImportedItemCount"], LINES);
    assert_eq!(done["ErrorCount"], 0);
    assert_eq!(scan_all(&client, "resumed").await.len() as u64, LINES);
    assert_eq!(gsi_count(&client, "resumed", "g3").await as u64, LINES / 7);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Waits until the wall clock is past `ms` (the server stamps changes
/// with the same clock, never ahead of it).
fn wait_past(ms: i64) {
    while now_ms() <= ms {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn past_export(table: &str, bucket: &str, at_ms: i64, format: &str) -> String {
    format!(
        r#"{{"TableArn":"{}","S3Bucket":"{bucket}","ExportTime":{}.{:03},"ExportFormat":"{format}"}}"#,
        table_arn(table),
        at_ms / 1000,
        at_ms % 1000
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_at_a_past_time_holds_the_table_as_it_was_then() {
    let server = Server::start("export-past", 3);
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    let (earliest, _) = enable_pitr(&server, "src");
    put_items(&client, "src").await;
    let then = scan_all(&client, "src").await;
    assert_eq!(then.len() as u64, ITEMS);
    // T: after every write above was acknowledged, before any below.
    let at = now_ms();
    wait_past(at + 2);
    // After T: updates, deletes and new items (none of which T holds).
    for i in 0..50u64 {
        let mut changed = item(i);
        changed.insert("num".into(), n("12345"));
        client
            .put_item()
            .table_name("src")
            .set_item(Some(changed))
            .send()
            .await
            .expect("update");
    }
    for i in 100..140u64 {
        let key = item(i);
        client
            .delete_item()
            .table_name("src")
            .key("pk", key["pk"].clone())
            .key("sk", key["sk"].clone())
            .send()
            .await
            .expect("delete");
    }
    for i in ITEMS..ITEMS + 20 {
        client
            .put_item()
            .table_name("src")
            .set_item(Some(item(i)))
            .send()
            .await
            .expect("put");
    }
    let now_table = scan_all(&client, "src").await;
    assert_eq!(now_table.len() as u64, ITEMS - 40 + 20);
    assert_ne!(now_table, then, "the writes after T changed the table");
    // Past the tolerance that makes an ExportTime "now".
    wait_past(at + 1500);

    // Before the window opened: refused, nothing created.
    let got = call_error(
        &server,
        "ExportTableToPointInTime",
        &past_export("src", "pastbucket", earliest - 5000, "DYNAMODB_JSON"),
    );
    assert!(got.ends_with("InvalidExportTimeException"), "{got}");
    let listed = call(&server, "ListExports", "{}");
    assert_eq!(listed["ExportSummaries"].as_array().map(Vec::len), Some(0));

    let root = server.data_dir.join("exports");
    for (format, target) in [("DYNAMODB_JSON", "atjson"), ("ION", "ation")] {
        let started = call(
            &server,
            "ExportTableToPointInTime",
            &past_export("src", "pastbucket", at, format),
        );
        let arn = started["ExportDescription"]["ExportArn"]
            .as_str()
            .expect("ExportArn")
            .to_string();
        let done = wait_done(
            &server,
            "DescribeExport",
            "ExportArn",
            &arn,
            "ExportDescription",
        )
        .await;
        assert_eq!(done["ExportStatus"], "COMPLETED", "{done}");
        assert_eq!(done["ItemCount"], ITEMS, "{done}");
        let export_time = done["ExportTime"].as_f64().expect("ExportTime");
        assert_eq!((export_time * 1000.0).round() as i64, at);
        let folder = export_folder(&done);
        let read = python_reader(&root, "pastbucket", &folder);
        assert!(
            read.contains(&format!("items={ITEMS} files=3 format={format}")),
            "{read}"
        );
        let imported = call(
            &server,
            "ImportTable",
            &import_request(
                target,
                format,
                "GZIP",
                "pastbucket",
                &format!("{folder}/data/"),
                "",
            ),
        );
        let import_arn = imported["ImportTableDescription"]["ImportArn"]
            .as_str()
            .expect("ImportArn")
            .to_string();
        let done = wait_done(
            &server,
            "DescribeImport",
            "ImportArn",
            &import_arn,
            "ImportTableDescription",
        )
        .await;
        assert_eq!(done["ImportStatus"], "COMPLETED", "{done}");
        assert_eq!(
            scan_all(&client, target).await,
            then,
            "the {format} export at T is not the table at T"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_past_export_past_its_history_bound_fails_naming_the_knob() {
    let server = common::start_with_config(
        "export-past-bound",
        2,
        "pitr_export_history_bytes_max = 200\n",
    );
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    enable_pitr(&server, "src");
    put_items(&client, "src").await;
    let at = now_ms();
    wait_past(at + 1500);
    let started = call(
        &server,
        "ExportTableToPointInTime",
        &past_export("src", "boundbucket", at, "DYNAMODB_JSON"),
    );
    let arn = started["ExportDescription"]["ExportArn"]
        .as_str()
        .expect("ExportArn")
        .to_string();
    let done = wait_done(
        &server,
        "DescribeExport",
        "ExportArn",
        &arn,
        "ExportDescription",
    )
    .await;
    assert_eq!(done["ExportStatus"], "FAILED", "{done}");
    assert!(
        done["FailureMessage"]
            .as_str()
            .is_some_and(|m| m.contains("pitr_export_history_bytes_max")),
        "{done}"
    );
}

fn incremental_export(bucket: &str, spec: &str, format: &str) -> String {
    format!(
        r#"{{"TableArn":"{}","S3Bucket":"{bucket}","ExportType":"INCREMENTAL_EXPORT","ExportFormat":"{format}","IncrementalExportSpecification":{{{spec}}}}}"#,
        table_arn("src")
    )
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

async fn put_num(client: &Client, i: u64, num: &str) {
    let mut changed = item(i);
    changed.insert("num".into(), n(num));
    client
        .put_item()
        .table_name("src")
        .set_item(Some(changed))
        .send()
        .await
        .expect("put");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_export_lists_each_change_in_its_window_once() {
    // One "day" is 8.64 s: the period must be 90 ms to 8.64 s.
    let server = common::start_with_config("export-incremental", 3, "pitr_day_ms = 8640\n");
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    let (earliest, _) = enable_pitr(&server, "src");
    for i in 0..30u64 {
        put_num(&client, i, &format!("-{}.25", i * 7)).await;
    }
    // From is inclusive: one ms past now, every earlier change is before it.
    let from = now_ms() + 1;
    wait_past(from + 2);
    // In the window: updates, deletes, new items, an item changed twice.
    for i in 0..10u64 {
        put_num(&client, i, "111").await;
    }
    for i in 10..15u64 {
        let key = item(i);
        client
            .delete_item()
            .table_name("src")
            .key("pk", key["pk"].clone())
            .key("sk", key["sk"].clone())
            .send()
            .await
            .expect("delete");
    }
    for i in 100..105u64 {
        put_num(&client, i, &format!("-{}.25", i * 7)).await;
    }
    put_num(&client, 20, "5").await;
    put_num(&client, 20, "6").await;
    wait_past(from + 200);
    // To is exclusive: one ms past now, every change so far is before it.
    let to = now_ms() + 1;
    wait_past(to + 2);
    // After the window: not listed.
    for i in 15..20u64 {
        put_num(&client, i, "999").await;
    }
    let old = |i: u64| format!("-{}.25", i * 7);
    let line = |i: u64, new: &str, old: &str| format!("change p{}|{i} new={new} old={old}", i % 23);
    let mut expected: Vec<String> = Vec::new();
    expected.extend((0..10).map(|i| line(i, "111", &old(i))));
    expected.extend((10..15).map(|i| line(i, "-", &old(i))));
    expected.extend((100..105).map(|i| line(i, &old(i), "-")));
    expected.push(line(20, "6", &old(20)));
    expected.sort();
    let root = server.data_dir.join("exports");
    let window = format!(
        r#""ExportFromTime":{},"ExportToTime":{}"#,
        seconds(from),
        seconds(to)
    );
    for (view, format) in [
        ("", "DYNAMODB_JSON"),
        (r#","ExportViewType":"NEW_IMAGE""#, "DYNAMODB_JSON"),
        ("", "ION"),
    ] {
        let started = call(
            &server,
            "ExportTableToPointInTime",
            &incremental_export("incbucket", &format!("{window}{view}"), format),
        );
        let d = &started["ExportDescription"];
        assert_eq!(d["ExportType"], "INCREMENTAL_EXPORT", "{d}");
        let arn = d["ExportArn"].as_str().expect("ExportArn").to_string();
        let done = wait_done(
            &server,
            "DescribeExport",
            "ExportArn",
            &arn,
            "ExportDescription",
        )
        .await;
        assert_eq!(done["ExportStatus"], "COMPLETED", "{done}");
        assert_eq!(done["ItemCount"], expected.len(), "{done}");
        let spec = &done["IncrementalExportSpecification"];
        let view_type = if view.is_empty() {
            "NEW_AND_OLD_IMAGES"
        } else {
            "NEW_IMAGE"
        };
        assert_eq!(spec["ExportViewType"], view_type, "{done}");
        assert_eq!(
            (spec["ExportFromTime"].as_f64().expect("from") * 1000.0).round() as i64,
            from
        );
        let read = python_reader(&root, "incbucket", &export_folder(&done));
        let mut lines = read.lines();
        assert_eq!(
            lines.next(),
            Some(format!("items={} files=3 format={format}", expected.len()).as_str()),
            "{read}"
        );
        if format == "DYNAMODB_JSON" {
            let got: Vec<String> = lines.map(str::to_string).collect();
            let want: Vec<String> = if view.is_empty() {
                expected.clone()
            } else {
                let mut new_only: Vec<String> = expected
                    .iter()
                    .map(|l| format!("{} old=-", l.rsplit_once(" old=").expect("old").0))
                    .collect();
                new_only.sort();
                new_only
            };
            assert_eq!(got, want, "{view_type}");
        }
    }

    // Bad requests answer DynamoDB's errors and create nothing.
    wait_past(earliest + 9000);
    let now = now_ms();
    let span = |a: i64, b: i64| {
        format!(
            r#""ExportFromTime":{},"ExportToTime":{}"#,
            seconds(a),
            seconds(b)
        )
    };
    let cases = [
        (
            span(earliest - 5000, earliest - 4000),
            "InvalidExportTimeException",
        ),
        (span(from, now + 60_000), "InvalidExportTimeException"),
        (span(to, from), "ValidationException"),
        (span(from, from), "ValidationException"),
        (span(from, from + 50), "ValidationException"),
        (span(earliest, earliest + 9000), "ValidationException"),
        (
            format!(r#"{window},"ExportViewType":"OLD_IMAGE""#),
            "ValidationException",
        ),
        (
            format!(r#""ExportToTime":{}"#, seconds(to)),
            "ValidationException",
        ),
    ];
    let listed = call(&server, "ListExports", "{}");
    let before = listed["ExportSummaries"].as_array().map(Vec::len);
    for (spec, expected) in &cases {
        let body = incremental_export("badbucket", spec, "DYNAMODB_JSON");
        let got = call_error(&server, "ExportTableToPointInTime", &body);
        assert!(
            got.ends_with(expected),
            "{body}: {got}, expected {expected}"
        );
    }
    let body = format!(
        r#"{{"TableArn":"{}","S3Bucket":"badbucket","ExportType":"INCREMENTAL_EXPORT"}}"#,
        table_arn("src")
    );
    let got = call_error(&server, "ExportTableToPointInTime", &body);
    assert!(got.ends_with("ValidationException"), "{got}");
    let listed = call(&server, "ListExports", "{}");
    assert_eq!(listed["ExportSummaries"].as_array().map(Vec::len), before);
    assert!(!root.join("badbucket").exists());
}

/// Each change of an INCREMENTAL_EXPORT's data files: pk → its
/// `Metadata.WriteTimestampMicros`, read straight from the gzip'd lines.
fn change_times(root: &std::path::Path, bucket: &str, folder: &str) -> BTreeMap<String, i64> {
    use std::io::Read as _;
    let bucket_dir = root.join(bucket);
    let listing = std::fs::read_to_string(bucket_dir.join(folder).join("manifest-files.json"))
        .expect("manifest-files.json");
    let mut times = BTreeMap::new();
    for entry in listing.lines() {
        let entry: Json = serde_json::from_str(entry).expect("manifest line");
        let key = entry["dataFileS3Key"].as_str().expect("dataFileS3Key");
        let gz = std::fs::File::open(bucket_dir.join(key)).expect("data file");
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .expect("gunzip");
        for line in text.lines() {
            let change: Json = serde_json::from_str(line).expect("change line");
            let micros = change["Metadata"]["WriteTimestampMicros"]["N"]
                .as_str()
                .and_then(|m| m.parse().ok())
                .expect("WriteTimestampMicros");
            let pk = change["Keys"]["pk"]["S"].as_str().expect("pk").to_string();
            times.insert(pk, micros);
        }
    }
    times
}

/// Runs an INCREMENTAL_EXPORT of "src" over [from, to) ms; each listed
/// pk with its WriteTimestampMicros.
async fn incremental_times(
    server: &Server,
    bucket: &str,
    from: i64,
    to: i64,
) -> BTreeMap<String, i64> {
    let spec = format!(
        r#""ExportFromTime":{},"ExportToTime":{}"#,
        seconds(from),
        seconds(to)
    );
    let started = call(
        server,
        "ExportTableToPointInTime",
        &incremental_export(bucket, &spec, "DYNAMODB_JSON"),
    );
    let arn = started["ExportDescription"]["ExportArn"]
        .as_str()
        .expect("ExportArn")
        .to_string();
    let done = wait_done(
        server,
        "DescribeExport",
        "ExportArn",
        &arn,
        "ExportDescription",
    )
    .await;
    assert_eq!(done["ExportStatus"], "COMPLETED", "{done}");
    let root = server.data_dir.join("exports");
    change_times(&root, bucket, &export_folder(&done))
}

/// [`incremental_times`]' pks.
async fn incremental_keys(server: &Server, bucket: &str, from: i64, to: i64) -> Vec<String> {
    incremental_times(server, bucket, from, to)
        .await
        .into_keys()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_export_includes_its_from_time_and_excludes_its_to_time() {
    // One "day" is 8.64 s: the period must be 90 ms to 8.64 s.
    let server = common::start_with_config("export-incremental-bounds", 2, "pitr_day_ms = 8640\n");
    let client = server.client();
    call(
        &server,
        "CreateTable",
        &format!(r#"{{"TableName":"src",{SCHEMA}}}"#),
    );
    // The window opens at a whole second, maybe just ahead of now.
    let (earliest, _) = enable_pitr(&server, "src");
    wait_past(earliest);
    put_num(&client, 1, "1").await;
    wait_past(now_ms() + 150);
    put_num(&client, 2, "2").await;
    let end = now_ms() + 150;
    wait_past(end);
    // From the very start of the window (From = the earliest restorable
    // time is allowed): both changes, with their times.
    let times = incremental_times(&server, "bounds", earliest, end).await;
    let (first, second) = (item(1)["pk"].clone(), item(2)["pk"].clone());
    let (AttributeValue::S(first), AttributeValue::S(second)) = (first, second) else {
        panic!("string keys");
    };
    let at = |pk: &str| {
        times
            .get(pk)
            .copied()
            .unwrap_or_else(|| panic!("{pk} not in {times:?}"))
            / 1000
    };
    let (t1, t2) = (at(&first), at(&second));
    assert!(t2 - t1 >= 100, "{t1} {t2}");
    // [t1, t2): the first change, not the second; [t1 + 1, t2 + 1): the
    // second, not the first.
    assert_eq!(
        incremental_keys(&server, "bnd-one", t1, t2).await,
        vec![first]
    );
    assert_eq!(
        incremental_keys(&server, "bnd-two", t1 + 1, t2 + 1).await,
        vec![second]
    );
}
