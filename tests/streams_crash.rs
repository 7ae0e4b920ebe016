//! Stream records survive a restart and a SIGKILL exactly as their writes
//! do: they are in the same WAL batch. After a SIGKILL mid-load, the keys
//! the stream has INSERT records for are exactly the items a Scan finds
//! (no record lost for a write that landed, none published for one that
//! did not), every acknowledged write is among them, and numbering
//! continues past the old records.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType};
use common::Server;
use common::streams::{
    create_streamed_table, event, read_all, record_pk, sequence, streams_client,
};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// Dynacore shard → highest sequence number seen (digits 11..16 name the shard).
fn max_per_shard(
    records: &[(String, aws_sdk_dynamodbstreams::types::Record)],
) -> HashMap<String, String> {
    let mut max: HashMap<String, String> = HashMap::new();
    for (_, r) in records {
        let seq = sequence(r);
        let shard = seq[11..16].to_string();
        let entry = max.entry(shard).or_default();
        if seq > *entry {
            *entry = seq;
        }
    }
    max
}

async fn scan_keys(client: &aws_sdk_dynamodb::Client, table: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in out.items() {
            if let Some(AttributeValue::S(k)) = item.get("pk") {
                keys.insert(k.clone());
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return keys;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_survive_a_restart_and_numbering_continues() {
    let mut server = Server::start("streams-restart", 2);
    let arn = create_streamed_table(&server.client(), "rst", StreamViewType::NewAndOldImages).await;
    for i in 0..40 {
        server
            .client()
            .put_item()
            .table_name("rst")
            .item("pk", s(&format!("a{i}")))
            .send()
            .await
            .expect("put");
    }
    let before = read_all(&streams_client(&server.endpoint()), &arn).await;
    assert_eq!(before.len(), 40);
    assert!(server.stop(), "clean stop");
    server.launch().expect("restart");
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let after_restart = read_all(&streams, &arn).await;
    let seqs = |r: &[(String, aws_sdk_dynamodbstreams::types::Record)]| {
        r.iter().map(|(_, r)| sequence(r)).collect::<Vec<_>>()
    };
    assert_eq!(
        seqs(&after_restart),
        seqs(&before),
        "the same records after a restart"
    );
    let old_max = max_per_shard(&before);
    for i in 0..20 {
        client
            .put_item()
            .table_name("rst")
            .item("pk", s(&format!("b{i}")))
            .send()
            .await
            .expect("put");
    }
    let all = read_all(&streams, &arn).await;
    assert_eq!(all.len(), 60);
    for (_, r) in &all {
        if record_pk(r).starts_with('b') {
            let seq = sequence(r);
            if let Some(old) = old_max.get(&seq[11..16]) {
                assert!(seq > *old, "numbering continues after the restart");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_keeps_records_and_writes_together() {
    let mut server = Server::start("streams-sigkill", 2);
    let arn = create_streamed_table(&server.client(), "skt", StreamViewType::KeysOnly).await;
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    for round in 0..2 {
        let client = server.client();
        let mut writers = Vec::new();
        for writer in 0..8 {
            let client = client.clone();
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("r{round}-w{writer}-{i}");
                    let result = client
                        .put_item()
                        .table_name("skt")
                        .item("pk", s(&key))
                        .send()
                        .await;
                    match result {
                        Ok(_) => {
                            acked.lock().expect("acked").insert(key);
                        }
                        Err(_) => break,
                    }
                }
            }));
        }
        // Only where the kill lands depends on this; what is checked does not.
        tokio::time::sleep(Duration::from_millis(700)).await;
        server.kill();
        for w in writers {
            let _ = w.await;
        }
        server.launch().expect("restart after SIGKILL");
        let client = server.client();
        let streams = streams_client(&server.endpoint());
        let records = read_all(&streams, &arn).await;
        let mut inserted = BTreeSet::new();
        for (_, r) in &records {
            assert_eq!(event(r), "INSERT");
            assert!(inserted.insert(record_pk(r)), "one record per write");
        }
        let items = scan_keys(&client, "skt").await;
        let acked = acked.lock().expect("acked").clone();
        assert!(
            !acked.is_empty(),
            "round {round}: some writes were acknowledged"
        );
        assert!(
            acked.is_subset(&items),
            "round {round}: acknowledged writes are stored"
        );
        assert_eq!(
            inserted, items,
            "round {round}: records exactly for the writes that landed"
        );
    }
}
