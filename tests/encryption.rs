//! Encryption at rest through the real binary (`--encryption-key-file`):
//! an encrypted data directory survives SIGKILL with every acknowledged
//! write and holds no plaintext item or table name; DescribeTable says how
//! it is encrypted; a flipped byte on disk is reported as corruption with
//! file and offset, never served; no key, another key, or a key on a
//! plaintext directory is refused with a message saying which.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, SseStatus, SseType};
use common::{Server, create_simple_table, fresh_data_dir};

const TABLE: &str = "sealedtablename";
/// Every stored value starts with it; no file may hold it in the clear.
const MARKER: &str = "PLAINTEXT-MARKER-";

fn keygen(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("key dir");
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    let status = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .arg("keygen")
        .arg(&path)
        .status()
        .expect("run keygen");
    assert!(status.success());
    path
}

fn key_args(key: &Path) -> Vec<String> {
    vec!["--encryption-key-file".into(), key.display().to_string()]
}

fn start(name: &str, key: &Path) -> Server {
    let args = key_args(key);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_with(name, 2, &args)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

fn value(key: &str) -> String {
    format!("{MARKER}{key}-{}", "x".repeat(200))
}

/// Writers put items until the server dies; returns what was acknowledged.
async fn write_until_killed(server: &mut Server, round: u32) -> HashMap<String, String> {
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let client = server.client();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, acked) = (client.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("r{round}-w{writer}-{i}");
                let result = client
                    .put_item()
                    .table_name(TABLE)
                    .item("pk", AttributeValue::S(key.clone()))
                    .item("v", AttributeValue::S(value(&key)))
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        acked
                            .lock()
                            .expect("acked")
                            .insert(key.clone(), value(&key));
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    // Long enough at test_min sizes for flushes and compactions.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for w in writers {
        let _ = w.await;
    }
    acked.lock().expect("acked").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_directory_survives_sigkill_and_holds_no_plaintext() {
    let keys = fresh_data_dir("enc-keys");
    let key = keygen(&keys, "master.key");
    let mut server = start("enc-sigkill", &key);
    create_simple_table(&server.client(), TABLE, None).await;
    let mut expected = HashMap::new();
    for round in 0..2 {
        let acked = write_until_killed(&mut server, round).await;
        assert!(!acked.is_empty(), "round {round}: writes were acknowledged");
        expected.extend(acked);
        server.launch().expect("restart after SIGKILL");
        let client = server.client();
        for (key, value) in &expected {
            let got = client
                .get_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(key.clone()))
                .consistent_read(true)
                .send()
                .await
                .expect("get after restart");
            let stored = got
                .item()
                .and_then(|i| i.get("v"))
                .and_then(|v| v.as_s().ok());
            assert_eq!(
                stored,
                Some(value),
                "round {round}: acknowledged {key} lost"
            );
        }
    }
    let table = server
        .client()
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    let sse = table.sse_description().expect("SSEDescription");
    assert_eq!(sse.status(), Some(&SseStatus::Enabled));
    assert_eq!(sse.sse_type(), Some(&SseType::Aes256));
    assert_eq!(sse.kms_master_key_arn(), None);
    assert!(server.stop(), "clean stop");
    let sst_files = files(&server.data_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .count();
    assert!(sst_files > 0, "the load reached SSTables");
    assert_eq!(
        files_holding(&server.data_dir, MARKER),
        Vec::<PathBuf>::new()
    );
    assert_eq!(
        files_holding(&server.data_dir, TABLE),
        Vec::<PathBuf>::new()
    );
    let _ = std::fs::remove_dir_all(&keys);
}

/// Starts the server expecting it to refuse; returns its stderr.
fn refused(server: &mut Server) -> String {
    match server.launch() {
        Ok(()) => panic!("the server must refuse to start"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_another_key_and_a_key_on_plaintext_are_refused() {
    let keys = fresh_data_dir("enc-keys");
    let (key, other) = (keygen(&keys, "a.key"), keygen(&keys, "b.key"));
    let mut server = start("enc-refuse", &key);
    create_simple_table(&server.client(), TABLE, None).await;
    assert!(server.stop());
    server.extra_args = key_args(&other);
    let err = refused(&mut server);
    assert!(err.contains("wrong encryption key"), "{err}");
    server.extra_args = Vec::new();
    let err = refused(&mut server);
    assert!(err.contains("is encrypted at rest"), "{err}");
    server.extra_args = key_args(&key);
    server.launch().expect("the right key opens it");
    assert!(server.stop());

    let mut plain = Server::start("enc-plain", 2);
    create_simple_table(&plain.client(), TABLE, None).await;
    assert!(plain.stop());
    plain.extra_args = key_args(&key);
    let err = refused(&mut plain);
    assert!(err.contains("holds unencrypted data"), "{err}");
    assert!(!plain.data_dir.join("ENCRYPTION").exists());
    plain.extra_args = Vec::new();
    plain.launch().expect("still opens without a key");
    let _ = std::fs::remove_dir_all(&keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_table_block_is_reported_with_file_and_offset() {
    let keys = fresh_data_dir("enc-keys");
    let key = keygen(&keys, "master.key");
    let mut server = start("enc-flip", &key);
    let client = server.client();
    create_simple_table(&client, TABLE, None).await;
    // Past test_min's 64 KiB memtables: the items reach SSTables.
    let keys_written: Vec<String> = (0..1500).map(|i| format!("k{i:04}")).collect();
    for key in &keys_written {
        client
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S(key.clone()))
            .item("v", AttributeValue::S(value(key)))
            .send()
            .await
            .expect("put");
    }
    assert!(server.stop(), "clean stop");
    let tables: Vec<PathBuf> = files(&server.data_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    assert!(!tables.is_empty(), "the items reached SSTables");
    for table in &tables {
        let mut bytes = std::fs::read(table).expect("read table");
        // The first data block starts after the 4 KiB key header block.
        bytes[4096 + 40] ^= 0x01;
        std::fs::write(table, &bytes).expect("write table");
    }

    // A compaction may meet a damaged block first: it poisons the shard,
    // which then never reports healthy (launch gives up after its
    // deadline); otherwise a request that meets one is refused. Either way
    // the log must name the file and offset.
    let log = match server.launch() {
        Err(startup) => format!("{startup}\n{}", kill_and_read_log(&mut server)),
        Ok(()) => read_until_refused(&mut server, &keys_written).await,
    };
    let named = tables.iter().any(|table| {
        let name = table.file_name().and_then(|n| n.to_str()).expect("name");
        log.contains(&format!(
            "corruption in {name} at offset 4096: SSTable block fails authentication"
        ))
    });
    assert!(named, "the log names the damaged table and offset:\n{log}");
    let _ = std::fs::remove_dir_all(&keys);
}

/// Gets every key up to the first refused read (each logs an error line,
/// and the server's stderr is a pipe read only at the end); a damaged block
/// must never be served. Returns the server's log.
async fn read_until_refused(server: &mut Server, keys: &[String]) -> String {
    let client = server.client();
    let mut refused = false;
    for key in keys {
        match client
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
        {
            Ok(got) => {
                let stored = got
                    .item()
                    .and_then(|i| i.get("v"))
                    .and_then(|v| v.as_s().ok());
                assert_eq!(stored, Some(&value(key)), "{key} served wrong");
            }
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "a damaged block was served");
    kill_and_read_log(server)
}

/// SIGKILLs the server (if still running) and returns its stderr.
fn kill_and_read_log(server: &mut Server) -> String {
    let mut log = String::new();
    if let Some(mut child) = server.child.take() {
        let _ = child.kill();
        let _ = child.wait();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
    }
    log
}
