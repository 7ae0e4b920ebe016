//! The load phase: create the table if missing and fill it with records.
//!
//! Whether to load is decided by probing GetItem of the *last* record key
//! (records are written in batches spread across workers, so the last key
//! existing is a cheap, good-enough sign a previous load completed;
//! DescribeTable's ItemCount is only refreshed every few hours on DynamoDB).
//! Records are written with BatchWriteItem, 25 items per request (the
//! DynamoDB limit), and `UnprocessedItems` are resent with backoff until the
//! server accepts them — a load that silently drops items would skew every
//! later read.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::control::{call, call_ok, dynamo_error};
use crate::error::{LoadgenError, Result};
use crate::http::error_type;
use crate::keydist::{Rng, record_key};
use crate::runner::RunSpec;
use crate::runtime::run_on_executors;
use crate::sigv4::Signer;
use crate::workload::{BodyWriter, ValuePool};

const BATCH_WRITE_ITEMS_MAX: u64 = 25;
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);
const RETRIES_MAX: u32 = 50;

fn signer(spec: &RunSpec) -> Signer {
    Signer::new(spec.creds.clone(), &spec.region, "dynamodb")
}

/// Creates the table (partition key `pk` of type S, on-demand) unless it
/// exists, then waits until it is ACTIVE. Returns whether it was created.
pub fn ensure_table(spec: &RunSpec) -> Result<bool> {
    let mut signer = signer(spec);
    let table = &spec.shape.table;
    let describe = format!(r#"{{"TableName":"{table}"}}"#);
    let resp = call(&spec.endpoint, &mut signer, "DescribeTable", &describe)?;
    let created = if resp.status == 200 {
        false
    } else if error_type(&resp.body) == "ResourceNotFoundException" {
        let create = format!(
            r#"{{"TableName":"{table}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
        );
        let resp = call(&spec.endpoint, &mut signer, "CreateTable", &create)?;
        // Another loader may have created it meanwhile: that is fine.
        if resp.status != 200 && error_type(&resp.body) != "ResourceInUseException" {
            return Err(dynamo_error("CreateTable", &resp));
        }
        true
    } else {
        return Err(dynamo_error("DescribeTable", &resp));
    };
    let deadline = Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let v = call_ok(&spec.endpoint, &mut signer, "DescribeTable", &describe)?;
        if v["Table"]["TableStatus"].as_str() == Some("ACTIVE") {
            return Ok(created);
        }
        if Instant::now() > deadline {
            return Err(LoadgenError::Load(format!(
                "table {table} not ACTIVE after {TABLE_ACTIVE_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// True when the last record of the key space exists.
pub fn is_loaded(spec: &RunSpec) -> Result<bool> {
    if spec.record_count == 0 {
        return Ok(true);
    }
    let mut signer = signer(spec);
    let mut key = String::new();
    record_key(spec.record_count - 1, &mut key);
    let body = format!(
        r#"{{"TableName":"{}","Key":{{"pk":{{"S":"{key}"}}}},"ConsistentRead":true}}"#,
        spec.shape.table
    );
    let v = call_ok(&spec.endpoint, &mut signer, "GetItem", &body)?;
    Ok(v.get("Item").is_some_and(|i| !i.is_null()))
}

/// Writes records `0..record_count` with all threads and connections.
/// Returns (records written, elapsed).
pub fn load(spec: &RunSpec) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let spec = Arc::new(spec.clone());
    let threads = spec.threads.max(1);
    let batches = spec.record_count.div_ceil(BATCH_WRITE_ITEMS_MAX);
    let s = Arc::clone(&spec);
    let results = run_on_executors(threads, spec.pinning, move |thread| {
        let spec = Arc::clone(&s);
        async move {
            // Thread t takes batches t, t + threads, …; its workers share a cursor.
            let cursor = Rc::new(Cell::new(thread as u64));
            let workers = (spec.connections / threads).max(1);
            let mut tasks = Vec::new();
            for w in 0..workers {
                let spec = Arc::clone(&spec);
                let cursor = Rc::clone(&cursor);
                tasks.push(glommio::spawn_local(async move {
                    load_worker(&spec, thread, w, threads as u64, batches, &cursor).await
                }));
            }
            let mut written = 0;
            for t in tasks {
                written += t.await?;
            }
            Ok::<u64, LoadgenError>(written)
        }
    })?;
    let mut written = 0;
    for r in results {
        written += r?;
    }
    Ok((written, started.elapsed()))
}

async fn load_worker(
    spec: &RunSpec,
    thread: usize,
    w: usize,
    stride: u64,
    batches: u64,
    cursor: &Cell<u64>,
) -> Result<u64> {
    let pool = ValuePool::new(spec.seed ^ 0x10ad ^ thread as u64);
    let mut bodies = BodyWriter::new(&spec.shape, &pool);
    let mut rng = Rng::new(spec.seed ^ ((thread as u64) << 20) ^ w as u64);
    let mut signer = signer(spec);
    let mut conn = Conn::new(spec.endpoint.clone());
    let mut body = String::with_capacity(64 * 1024);
    let mut keys = Vec::with_capacity(BATCH_WRITE_ITEMS_MAX as usize);
    let mut written = 0;
    loop {
        let batch = cursor.get();
        if batch >= batches {
            return Ok(written);
        }
        cursor.set(batch + stride);
        let first = batch * BATCH_WRITE_ITEMS_MAX;
        let last = (first + BATCH_WRITE_ITEMS_MAX).min(spec.record_count);
        keys.clear();
        keys.extend(first..last);
        bodies.batch_write(&mut body, &keys, &mut rng);
        let mut attempt = 0;
        loop {
            signer.set_now();
            let outcome = conn
                .call_within(
                    &mut signer,
                    "BatchWriteItem",
                    body.as_bytes(),
                    true,
                    spec.request_timeout,
                )
                .await;
            let retry_body = match outcome {
                Ok(resp) if resp.status == 200 => unprocessed_request(&resp.body)?,
                Ok(resp) => {
                    let t = error_type(&resp.body);
                    if !crate::http::is_throttle(&t) {
                        return Err(dynamo_error("BatchWriteItem", &resp));
                    }
                    Some(body.clone())
                }
                Err(e) if attempt >= RETRIES_MAX => return Err(e),
                Err(_) => Some(body.clone()),
            };
            match retry_body {
                None => break,
                Some(b) => {
                    attempt += 1;
                    if attempt > RETRIES_MAX {
                        return Err(LoadgenError::Load(format!(
                            "batch {batch} still unprocessed after {RETRIES_MAX} retries"
                        )));
                    }
                    body = b;
                    // Exponential backoff capped at ~1 s, as the SDKs do.
                    let backoff_ms = (5u64 << attempt.min(8)).min(1000);
                    glommio::timer::sleep(Duration::from_millis(backoff_ms)).await;
                }
            }
        }
        written += last - first;
    }
}

/// A follow-up BatchWriteItem body for the response's `UnprocessedItems`, if any.
fn unprocessed_request(response: &[u8]) -> Result<Option<String>> {
    let v: serde_json::Value =
        serde_json::from_slice(response).map_err(|e| LoadgenError::json("BatchWriteItem", e))?;
    match v.get("UnprocessedItems").and_then(|u| u.as_object()) {
        Some(items)
            if !items.is_empty()
                && items
                    .values()
                    .any(|l| l.as_array().is_some_and(|a| !a.is_empty())) =>
        {
            Ok(Some(
                serde_json::json!({ "RequestItems": items }).to_string(),
            ))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprocessed_items_become_a_new_request() {
        assert_eq!(
            unprocessed_request(br#"{"UnprocessedItems":{}}"#).unwrap(),
            None
        );
        assert_eq!(unprocessed_request(br#"{}"#).unwrap(), None);
        let body = unprocessed_request(
            br#"{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}}]}}"#,
        )
        .unwrap()
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["RequestItems"]["t"][0]["PutRequest"]["Item"]["pk"]["S"],
            "a"
        );
    }
}
