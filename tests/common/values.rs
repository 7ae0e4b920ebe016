//! Attribute value helpers: building values, reading them out of items,
//! and the code and message of a failed SDK call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{Debug, Display};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// A string value.
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// A number value from anything that prints as one (`n(5)`, `n("1.5")`).
pub fn n(v: impl Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn num(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse().expect("integer"),
        other => panic!("{name}: {other:?} in {item:?}"),
    }
}

pub fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        other => panic!("{name}: {other:?} in {item:?}"),
    }
}

pub fn names(item: &Item) -> BTreeSet<String> {
    item.keys().cloned().collect()
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The (code, message) of a failed SDK call.
pub fn failure<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    let e = result.expect_err("the request must fail");
    let service = e.as_service_error();
    (
        service.and_then(|s| s.code()).unwrap_or("").to_string(),
        service
            .and_then(|s| s.message())
            .map_or_else(|| format!("{e:?}"), str::to_string),
    )
}

pub fn assert_validation<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(
    result: Result<T, SdkError<E, R>>,
    message: &str,
) {
    let (code, got) = failure(result);
    assert_eq!(code, "ValidationException", "{got}");
    assert_eq!(got, message);
}

/// Every item of `table` as `pk` → `v` (both strings), by consistent Scan pages.
pub async fn scan_values(client: &Client, table: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let pk = item.get("pk").and_then(|v| v.as_s().ok()).expect("pk");
            let v = item.get("v").and_then(|v| v.as_s().ok()).expect("v");
            out.insert(pk.clone(), v.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}
