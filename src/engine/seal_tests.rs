//! Encryption at rest over the in-memory file system: sealed stores keep
//! their data through flush, compaction and reopen with no plaintext on
//! disk; a byte changed in a sealed WAL record (even with its CRC fixed
//! up), SSTable block or manifest is corruption naming file and offset;
//! another key, or none, does not open the store.

use super::io::dma::block_on;
use super::io::mem::MemFs;
use super::seal::{HEADER_BLOCK_BYTES, KEY_BYTES, MasterKey};
use super::wal::record::HEADER_BYTES;
use super::*;
use std::sync::Arc;

type MemStore = LsmStore<MemFs>;

/// A value no file may hold in the clear.
const MARKER: &[u8] = b"PLAINTEXT-MARKER-";

fn run<T>(future: impl Future<Output = T>) -> T {
    block_on(future).expect("executor")
}

fn sealed_config(key_byte: u8) -> EngineConfig {
    let mut config = EngineConfig::test_min();
    config.master_key = Some(Arc::new(
        MasterKey::from_bytes(&[key_byte; KEY_BYTES]).expect("key"),
    ));
    config
}

fn key(i: u64) -> Vec<u8> {
    let mut out = 1u32.to_be_bytes().to_vec();
    out.extend_from_slice(format!("key{i:06}").as_bytes());
    out
}

fn value(i: u64) -> Vec<u8> {
    let mut v = MARKER.to_vec();
    v.extend_from_slice(format!("{i:06}").as_bytes());
    v.resize(100, b'v');
    v
}

async fn write_keys(store: &MemStore, keys: std::ops::Range<u64>) {
    for i in keys {
        store
            .write(vec![(key(i), Some(value(i)))])
            .expect("write")
            .wait()
            .await
            .expect("durable");
    }
}

fn holds_marker(fs: &MemFs) -> Vec<String> {
    fs.names()
        .into_iter()
        .filter(|n| {
            fs.contents(n)
                .is_some_and(|c| c.windows(MARKER.len()).any(|w| w == MARKER))
        })
        .collect()
}

fn expect_corruption<T>(result: Result<T, EngineError>, file: &str) -> (u64, CorruptionDetail) {
    match result {
        Err(EngineError::Corruption {
            path,
            offset,
            detail,
        }) => {
            assert_eq!(path, file, "{detail}");
            (offset, detail)
        }
        Err(other) => panic!("expected corruption of {file}, got {other}"),
        Ok(_) => panic!("damage to {file} was silently accepted"),
    }
}

#[test]
fn a_sealed_store_keeps_its_data_and_writes_no_plaintext() {
    run(async {
        let fs = MemFs::new();
        let config = sealed_config(1);
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        write_keys(&store, 0..1500).await;
        store.quiesce().await.expect("quiesce");
        let stats = store.stats();
        assert!(stats.flushes > 0 && stats.compactions > 0, "{stats:?}");
        // Some writes only in the WAL at close.
        write_keys(&store, 1500..1600).await;
        store.close().await.expect("close");
        assert_eq!(holds_marker(&fs), Vec::<String>::new());
        // And the same workload unsealed does hold it (the check can fail).
        let plain = MemFs::new();
        let store = MemStore::open_with(plain.clone(), &EngineConfig::test_min())
            .await
            .expect("open plain");
        write_keys(&store, 0..50).await;
        store.close().await.expect("close");
        assert!(!holds_marker(&plain).is_empty());

        let store = MemStore::open_with(fs.crash(None), &config)
            .await
            .expect("reopen");
        for i in (0..1600).step_by(7) {
            assert_eq!(
                store.get(&key(i)).await.expect("get"),
                Some(value(i)),
                "{i}"
            );
        }
    });
}

#[test]
fn another_key_or_no_key_does_not_open_a_sealed_store() {
    run(async {
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &sealed_config(1))
            .await
            .expect("open");
        write_keys(&store, 0..10).await;
        store.close().await.expect("close");
        let (offset, detail) = expect_corruption(
            MemStore::open_with(fs.crash(None), &sealed_config(2)).await,
            "MANIFEST",
        );
        assert_eq!(offset, 0);
        assert!(
            matches!(detail, CorruptionDetail::Tampered { .. }),
            "{detail}"
        );
        expect_corruption(
            MemStore::open_with(fs.crash(None), &EngineConfig::test_min()).await,
            "MANIFEST",
        );
        MemStore::open_with(fs.crash(None), &sealed_config(1))
            .await
            .expect("the right key opens");
    });
}

/// The newest segment holding records of its own id: the one whose first
/// record (after the header block) is valid.
fn newest_sealed_wal(fs: &MemFs) -> String {
    fs.names()
        .into_iter()
        .filter(|n| {
            let (Some(id), Some(bytes)) = (wal::parse_segment_name(n), fs.contents(n)) else {
                return false;
            };
            !wal::record::scan_segment_from(&bytes, HEADER_BLOCK_BYTES, id)
                .records
                .is_empty()
        })
        .max()
        .expect("a wal segment with records")
}

/// A changed ciphertext byte whose record CRCs are recomputed (what an
/// attacker, unlike bit rot, can do) passes every checksum and is still
/// refused: by GCM, as corruption at the record's offset.
#[test]
fn a_changed_wal_record_with_valid_crcs_is_refused_at_its_offset() {
    run(async {
        let fs = MemFs::new();
        let config = sealed_config(1);
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        write_keys(&store, 0..5).await;
        let crashed = fs.crash(None);
        let wal = newest_sealed_wal(&crashed);
        let mut bytes = crashed.contents(&wal).expect("segment");
        let id = wal::parse_segment_name(&wal).expect("id");
        let scan = wal::record::scan_segment_from(&bytes, HEADER_BLOCK_BYTES, id);
        let second = scan.records[1].clone();
        let at = second.offset as usize;
        let mut body = second.body.clone();
        body[3] ^= 1;
        let mut reframed = Vec::new();
        wal::record::encode_record(&mut reframed, id, second.seq, second.group_first_seq, &body);
        bytes[at..at + HEADER_BYTES + body.len()].copy_from_slice(&reframed);
        crashed.put_durable(&wal, &bytes);
        let (offset, detail) = expect_corruption(MemStore::open_with(crashed, &config).await, &wal);
        assert_eq!(offset, second.offset);
        assert!(
            matches!(detail, CorruptionDetail::Tampered { .. }),
            "{detail}"
        );
    });
}

#[test]
fn a_flipped_byte_in_a_sealed_table_block_is_corruption_at_the_block() {
    run(async {
        let fs = MemFs::new();
        let config = sealed_config(1);
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        write_keys(&store, 0..1500).await;
        store.quiesce().await.expect("quiesce");
        store.close().await.expect("close");
        let damaged = fs.crash(None);
        let table = damaged
            .names()
            .into_iter()
            .filter(|n| n.starts_with("sst-"))
            .max()
            .expect("a table");
        // The first data block starts right after the header block.
        assert!(damaged.corrupt(&table, HEADER_BLOCK_BYTES + 10));
        let store = MemStore::open_with(damaged, &config).await.expect("open");
        let mut found = None;
        for i in 0..1500 {
            if let Err(error) = store.get(&key(i)).await {
                found = Some(error);
                break;
            }
        }
        let (offset, detail) = expect_corruption(found.map_or(Ok(()), Err), &table);
        assert_eq!(offset, HEADER_BLOCK_BYTES as u64);
        assert!(
            matches!(detail, CorruptionDetail::Tampered { .. }),
            "{detail}"
        );
    });
}

#[test]
fn a_flipped_byte_in_a_sealed_manifest_is_corruption() {
    run(async {
        let fs = MemFs::new();
        let config = sealed_config(1);
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        write_keys(&store, 0..10).await;
        store.close().await.expect("close");
        let damaged = fs.crash(None);
        assert!(damaged.corrupt(manifest::MANIFEST, HEADER_BLOCK_BYTES + 4 + 20));
        let (_, detail) = expect_corruption(
            MemStore::open_with(damaged, &config).await,
            manifest::MANIFEST,
        );
        assert!(
            matches!(detail, CorruptionDetail::Tampered { .. }),
            "{detail}"
        );
    });
}
