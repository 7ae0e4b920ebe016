//! Engine tests over the fault-injecting in-memory file system: a seeded
//! random workload against a `BTreeMap` model, crashes (lost unsynced
//! writes, torn tails), injected EIO and ENOSPC, corruption and foreign
//! files. Every randomized test prints its seed when it fails; replay one
//! with `DYNACORE_SEED=<seed> cargo test --lib engine`.

use super::io::dma::block_on;
use super::io::mem::{FaultPlan, MemFs};
use super::*;
use crate::testkit::{self, Rng};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

type MemStore = LsmStore<MemFs>;

fn run<T>(future: impl Future<Output = T>) -> T {
    block_on(future).expect("executor")
}

fn key(table: u32, k: u64) -> Vec<u8> {
    let mut out = table.to_be_bytes().to_vec();
    out.extend_from_slice(format!("key{k:06}").as_bytes());
    out
}

fn value(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(300) as usize;
    let b = rng.next() as u8;
    vec![b; len]
}

/// Runs `test` for seeds 1..=count (or `DYNACORE_SEED`), naming the seed
/// if it panics.
fn for_seeds(count: u64, test: impl Fn(u64)) {
    testkit::for_seeds(testkit::fixed_seeds(count), test);
}

/// What each key may hold after a crash: the last acknowledged value, or
/// any value written after it without acknowledgement.
#[derive(Default)]
struct Model {
    acked: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    maybe: BTreeMap<Vec<u8>, Vec<Option<Vec<u8>>>>,
}

impl Model {
    fn unacked(&mut self, batch: &WriteBatch) {
        for (k, v) in batch {
            self.maybe.entry(k.clone()).or_default().push(v.clone());
        }
    }
    fn ack(&mut self, batch: &WriteBatch) {
        for (k, v) in batch {
            self.acked.insert(k.clone(), v.clone());
            if let Some(list) = self.maybe.get_mut(k)
                && let Some(pos) = list.iter().position(|x| x == v)
            {
                list.drain(..=pos);
            }
        }
    }
    fn allowed(&self, k: &[u8]) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![self.acked.get(k).cloned().flatten()];
        out.extend(self.maybe.get(k).into_iter().flatten().cloned());
        out
    }
    /// After recovery: pin every key to what the store now holds.
    fn settle(&mut self, actual: &BTreeMap<Vec<u8>, Vec<u8>>) {
        let keys: BTreeSet<Vec<u8>> = self
            .acked
            .keys()
            .chain(self.maybe.keys())
            .cloned()
            .collect();
        for k in keys {
            let got = actual.get(&k).cloned();
            assert!(
                self.allowed(&k).contains(&got),
                "key {k:?}: recovered {:?}, allowed {:?}",
                got.as_ref().map(Vec::len),
                self.allowed(&k)
                    .iter()
                    .map(|v| v.as_ref().map(Vec::len))
                    .collect::<Vec<_>>()
            );
            self.acked.insert(k, got);
        }
        self.maybe.clear();
        for k in actual.keys() {
            assert!(
                self.acked.contains_key(k),
                "recovered a key never written: {k:?}"
            );
        }
    }
}

async fn dump(store: &MemStore) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let all = store
        .scan(
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            usize::MAX,
            usize::MAX,
        )
        .await
        .expect("scan");
    let mut backwards = store
        .scan(
            Bound::Unbounded,
            Bound::Unbounded,
            true,
            usize::MAX,
            usize::MAX,
        )
        .await
        .expect("reverse scan");
    backwards.reverse();
    assert_eq!(all, backwards, "forward and reverse scans disagree");
    for (k, v) in all.iter().take(50) {
        assert_eq!(store.get(k).await.expect("get").as_ref(), Some(v));
    }
    all.into_iter().collect()
}

fn random_batch(rng: &mut Rng, keys: u64) -> WriteBatch {
    (0..1 + rng.below(4))
        .map(|_| {
            let k = key(1 + rng.below(3) as u32, rng.below(keys));
            let v = (rng.below(5) != 0).then(|| value(rng));
            (k, v)
        })
        .collect()
}

#[test]
fn model_workload_with_flush_and_compaction() {
    for_seeds(3, |seed| {
        run(async move {
            let fs = MemFs::new();
            let store = MemStore::open_with(fs.clone(), &EngineConfig::test_min())
                .await
                .expect("open");
            let mut rng = Rng(seed);
            let mut model = BTreeMap::new();
            for i in 0..3000 {
                let batch = random_batch(&mut rng, 400);
                for (k, v) in &batch {
                    match v {
                        Some(v) => model.insert(k.clone(), v.clone()),
                        None => model.remove(k),
                    };
                }
                store
                    .write(batch)
                    .expect("write")
                    .wait()
                    .await
                    .expect("durable");
                if i % 500 == 0 {
                    let lo = key(1 + rng.below(3) as u32, rng.below(400));
                    let hi = key(1 + rng.below(3) as u32, rng.below(400));
                    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                    let limit = 1 + rng.below(40) as usize;
                    for reverse in [false, true] {
                        let got = store
                            .scan(
                                Bound::Included(&lo),
                                Bound::Excluded(&hi),
                                reverse,
                                limit,
                                usize::MAX,
                            )
                            .await
                            .expect("scan");
                        let range =
                            model.range::<Vec<u8>, _>((Bound::Included(&lo), Bound::Excluded(&hi)));
                        let want: Vec<_> = if reverse {
                            range
                                .rev()
                                .take(limit)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        } else {
                            range
                                .take(limit)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        };
                        assert_eq!(got, want, "scan {i} reverse={reverse}");
                    }
                }
            }
            store.quiesce().await.expect("quiesce");
            assert_eq!(dump(&store).await, model);
            let stats = store.stats();
            assert!(stats.flushes > 0 && stats.compactions > 0, "{stats:?}");
            eprintln!("seed {seed}: {stats:?}");
            let want_t1 = model
                .iter()
                .filter(|(k, _)| k.starts_with(&1u32.to_be_bytes()))
                .count() as u64;
            let got = store.prefix_stats(&1u32.to_be_bytes()).entries;
            assert!(got >= want_t1, "prefix stats {got} < {want_t1}");
            store.close().await.expect("close");
            let store = MemStore::open_with(fs, &EngineConfig::test_min())
                .await
                .expect("reopen");
            assert_eq!(dump(&store).await, model);
        })
    });
}

/// Random writes (some concurrent, unacknowledged at the crash), drops and
/// crashes with torn tails; every acknowledged write survives.
#[test]
fn crash_recovery_keeps_every_acknowledged_write() {
    crash_recovery(12, EngineConfig::test_min());
}

/// The same crashes with encryption at rest: sealed segments (header
/// blocks, recycled files re-keyed), tables and manifests recover alike.
#[test]
fn crash_recovery_keeps_every_acknowledged_write_encrypted() {
    let mut config = EngineConfig::test_min();
    config.master_key = Some(std::sync::Arc::new(
        seal::MasterKey::from_bytes(&[9; seal::KEY_BYTES]).expect("key"),
    ));
    crash_recovery(6, config);
}

fn crash_recovery(seeds: u64, config: EngineConfig) {
    for_seeds(seeds, |seed| {
        let config = config.clone();
        run(async move {
            let mut rng = Rng(seed);
            let mut fs = MemFs::new();
            let mut model = Model::default();
            for _round in 0..6 {
                let store = MemStore::open_with(fs.clone(), &config)
                    .await
                    .expect("open after crash");
                model.settle(&dump(&store).await);
                let ops = 50 + rng.below(400);
                let mut in_flight = Vec::new();
                for _ in 0..ops {
                    match rng.below(40) {
                        0 => {
                            let table = 1 + rng.below(3) as u32;
                            // Wait for in-flight writes so the model knows
                            // which side of the drop they are on.
                            for (batch, durable) in in_flight.drain(..) {
                                let durable: Durable = durable;
                                durable.wait().await.expect("durable");
                                model.ack(&batch);
                            }
                            store
                                .delete_prefix(&table.to_be_bytes())
                                .await
                                .expect("drop");
                            let doomed: Vec<Vec<u8>> = model
                                .acked
                                .keys()
                                .filter(|k| k.starts_with(&table.to_be_bytes()))
                                .cloned()
                                .collect();
                            model.ack(&doomed.into_iter().map(|k| (k, None)).collect());
                        }
                        1..=10 => {
                            for (batch, durable) in in_flight.drain(..) {
                                let durable: Durable = durable;
                                durable.wait().await.expect("durable");
                                model.ack(&batch);
                            }
                        }
                        _ => {
                            let batch = random_batch(&mut rng, 300);
                            model.unacked(&batch);
                            let durable = store.write(batch.clone()).expect("write");
                            in_flight.push((batch, durable));
                        }
                    }
                    if rng.below(8) == 0 {
                        dma::sleep_ms(0).await;
                    }
                }
                // Crash with some writes in flight and background work going.
                for _ in 0..rng.below(3) {
                    dma::yield_if_needed().await;
                }
                fs = fs.crash(Some(rng.next()));
                drop(in_flight);
            }
            let store = MemStore::open_with(fs.clone(), &config)
                .await
                .expect("final open");
            model.settle(&dump(&store).await);
        })
    });
}

use super::io::dma;

#[test]
fn eio_poisons_until_reopen_and_loses_nothing_acknowledged() {
    for_seeds(8, |seed| {
        run(async move {
            let mut rng = Rng(seed);
            let config = EngineConfig::test_min();
            let fs = MemFs::new();
            let store = MemStore::open_with(fs.clone(), &config)
                .await
                .expect("open");
            let mut model = Model::default();
            fs.set_fault(Some(FaultPlan {
                at_op: 1 + rng.below(60),
                errno: libc::EIO,
                sticky: false,
            }));
            let mut poisoned = false;
            for _ in 0..400 {
                let batch = random_batch(&mut rng, 200);
                match store.write(batch.clone()) {
                    Ok(durable) => {
                        model.unacked(&batch);
                        match durable.wait().await {
                            Ok(()) => model.ack(&batch),
                            Err(EngineError::Poisoned(_)) => poisoned = true,
                            Err(other) => panic!("unexpected {other}"),
                        }
                    }
                    Err(EngineError::Poisoned(_)) => poisoned = true,
                    Err(other) => panic!("unexpected {other}"),
                }
                if poisoned {
                    break;
                }
            }
            assert!(poisoned, "an EIO must poison the store");
            // Every later write is refused, reads still work.
            assert!(matches!(
                store.write(vec![(key(1, 1), None)]),
                Err(EngineError::Poisoned(_))
            ));
            let _ = store.get(&key(1, 1)).await;
            let fs = fs.crash(Some(rng.next()));
            let store = MemStore::open_with(fs, &config).await.expect("reopen");
            model.settle(&dump(&store).await);
            store
                .write(vec![(key(1, 1), Some(b"again".to_vec()))])
                .expect("writable after reopen")
                .wait()
                .await
                .expect("durable after reopen");
        })
    });
}

#[test]
fn disk_full_fails_writes_keeps_reads_and_acknowledged_data() {
    for_seeds(6, |seed| {
        run(async move {
            let mut rng = Rng(seed);
            let config = EngineConfig::test_min();
            let fs = MemFs::new();
            let store = MemStore::open_with(fs.clone(), &config)
                .await
                .expect("open");
            let mut model = Model::default();
            fs.set_fault(Some(FaultPlan {
                at_op: 1 + rng.below(100),
                errno: libc::ENOSPC,
                sticky: true,
            }));
            // ENOSPC from a write fails the write (DiskFull); from an
            // fdatasync it poisons (a failed sync is never retried).
            let mut full = 0;
            let mut poisoned = false;
            for _ in 0..600 {
                let batch = random_batch(&mut rng, 200);
                match store.write(batch.clone()) {
                    Ok(durable) => {
                        model.unacked(&batch);
                        match durable.wait().await {
                            Ok(()) => model.ack(&batch),
                            Err(EngineError::DiskFull(_)) => full += 1,
                            Err(EngineError::Poisoned(_)) => poisoned = true,
                            Err(other) => panic!("unexpected {other}"),
                        }
                    }
                    Err(EngineError::DiskFull(_)) => full += 1,
                    Err(EngineError::Poisoned(_)) => poisoned = true,
                    Err(other) => panic!("unexpected {other}"),
                }
                if poisoned {
                    break;
                }
            }
            assert!(full > 0 || poisoned, "ENOSPC must fail writes");
            for (k, v) in model.acked.iter().take(20) {
                let got = store
                    .get(k)
                    .await
                    .expect("reads work when the disk is full");
                if model.maybe.get(k).is_none_or(Vec::is_empty) {
                    assert_eq!(&got, v);
                }
            }
            let fs = fs.crash(Some(rng.next()));
            let store = MemStore::open_with(fs, &config).await.expect("reopen");
            model.settle(&dump(&store).await);
        })
    });
}

/// The newest WAL segment holding records (segments prepared ahead of need
/// are zero-filled and come after it).
fn newest_wal(fs: &MemFs) -> String {
    fs.names()
        .into_iter()
        .filter(|n| n.starts_with("wal-"))
        .filter(|n| {
            fs.contents(n)
                .is_some_and(|c| c.iter().take(64).any(|&b| b != 0))
        })
        .max()
        .expect("a wal segment with records")
}

async fn write_sequential(store: &MemStore, n: u64) {
    for i in 0..n {
        store
            .write(vec![(key(1, i), Some(vec![i as u8; 20]))])
            .expect("write")
            .wait()
            .await
            .expect("durable");
    }
}

#[test]
fn mid_log_corruption_is_an_error_naming_file_and_offset() {
    run(async {
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &EngineConfig::default())
            .await
            .expect("open");
        write_sequential(&store, 5).await;
        let crashed = fs.crash(None);
        let wal = newest_wal(&crashed);
        // Damage the second record's body; records 3..5 follow, synced.
        assert!(crashed.corrupt(&wal, 36 + 40 + 36 + 3));
        match MemStore::open_with(crashed, &EngineConfig::default()).await {
            Err(EngineError::Corruption { path, offset, .. }) => {
                assert_eq!(path, wal);
                assert!(offset > 0 && offset < 200, "offset {offset}");
            }
            Err(other) => panic!("expected corruption, got {other}"),
            Ok(_) => panic!("mid-log corruption was silently accepted"),
        }
    });
}

#[test]
fn torn_tail_is_truncated() {
    run(async {
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &EngineConfig::default())
            .await
            .expect("open");
        write_sequential(&store, 5).await;
        let crashed = fs.crash(None);
        let wal = newest_wal(&crashed);
        // Garbage where the next record would start: a torn, unsynced write.
        let mut tail_offset = 0;
        for i in 0..5u64 {
            tail_offset += 36 + record_body_len(&key(1, i), 20);
        }
        assert!(crashed.corrupt(&wal, tail_offset + 1));
        let store = MemStore::open_with(crashed, &EngineConfig::default())
            .await
            .expect("torn tail tolerated");
        for i in 0..5 {
            assert_eq!(
                store.get(&key(1, i)).await.expect("get"),
                Some(vec![i as u8; 20])
            );
        }
    });
}

fn record_body_len(key: &[u8], value_len: usize) -> usize {
    5 + 1 + 4 + key.len() + 4 + value_len
}

#[test]
fn foreign_and_damaged_files_are_named_at_open() {
    run(async {
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &EngineConfig::test_min())
            .await
            .expect("open");
        for i in 0..2000 {
            store
                .write(vec![(key(1, i), Some(vec![7; 100]))])
                .expect("write")
                .wait()
                .await
                .expect("durable");
        }
        store.quiesce().await.expect("quiesce");
        store.close().await.expect("close");
        let foreign = fs.crash(None);
        foreign.put_durable("notes.txt", b"hello");
        match MemStore::open_with(foreign, &EngineConfig::test_min()).await {
            Err(EngineError::ForeignFile(name)) => assert_eq!(name, "notes.txt"),
            _ => panic!("a foreign file must be reported"),
        }
        let damaged = fs.crash(None);
        // The newest table is live (older ones may be compacted inputs whose
        // unsynced removal the crash undid: orphans deleted at open).
        let table = damaged
            .names()
            .into_iter()
            .filter(|n| n.starts_with("sst-"))
            .max()
            .expect("a table");
        // Flip a byte in the footer region (last 64 bytes of the file).
        let size = {
            let mut size = 0;
            while damaged.corrupt(&table, size + 4096) {
                damaged.corrupt(&table, size + 4096);
                size += 4096;
            }
            size + 4096
        };
        assert!(damaged.corrupt(&table, size - 20));
        match MemStore::open_with(damaged, &EngineConfig::test_min()).await {
            Err(EngineError::Corruption { path, .. }) => assert_eq!(path, table),
            Err(other) => panic!("expected corruption of {table}, got {other}"),
            Ok(_) => panic!("a damaged table must be reported"),
        }
    });
}

#[test]
fn delete_prefix_is_durable_and_compaction_reclaims_it() {
    run(async {
        let fs = MemFs::new();
        let config = EngineConfig::test_min();
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        for i in 0..1500 {
            for table in [1u32, 2] {
                store
                    .write(vec![(key(table, i), Some(vec![1; 50]))])
                    .expect("write")
                    .wait()
                    .await
                    .expect("durable");
            }
        }
        let before = store.prefix_stats(&1u32.to_be_bytes());
        assert!(before.entries >= 1500, "{before:?}");
        store
            .delete_prefix(&1u32.to_be_bytes())
            .await
            .expect("drop");
        assert_eq!(store.get(&key(1, 3)).await.expect("get"), None);
        assert_eq!(store.prefix_stats(&1u32.to_be_bytes()).entries, 0);
        let rest = store
            .scan(
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                usize::MAX,
                usize::MAX,
            )
            .await
            .expect("scan");
        assert_eq!(rest.len(), 1500);
        assert!(rest.iter().all(|(k, _)| k.starts_with(&2u32.to_be_bytes())));
        // Recreate a key in the dropped prefix: newer than the tombstone.
        store
            .write(vec![(key(1, 7), Some(b"new".to_vec()))])
            .expect("write")
            .wait()
            .await
            .expect("durable");
        let crashed = fs.crash(Some(3));
        let store = MemStore::open_with(crashed.clone(), &config)
            .await
            .expect("reopen");
        assert_eq!(store.get(&key(1, 3)).await.expect("get"), None);
        assert_eq!(
            store.get(&key(1, 7)).await.expect("get"),
            Some(b"new".to_vec())
        );
        store.quiesce().await.expect("quiesce");
        assert_eq!(store.prefix_stats(&1u32.to_be_bytes()).entries, 1);
        assert_eq!(store.prefix_stats(&2u32.to_be_bytes()).entries, 1500);
    });
}

#[test]
fn relaxed_mode_acknowledges_and_recovers_after_clean_close() {
    run(async {
        let fs = MemFs::new();
        let config = EngineConfig {
            sync_mode: SyncMode::RelaxedPeriodic,
            ..EngineConfig::test_min()
        };
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        write_sequential(&store, 100).await;
        store.close().await.expect("close");
        assert!(matches!(
            store.write(vec![(key(1, 1), None)]),
            Err(EngineError::Closed)
        ));
        let store = MemStore::open_with(fs.crash(None), &config)
            .await
            .expect("reopen");
        assert_eq!(
            store.get(&key(1, 99)).await.expect("get"),
            Some(vec![99; 20])
        );
    });
}

#[test]
fn group_commit_shares_syncs() {
    run(async {
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &EngineConfig::default())
            .await
            .expect("open");
        fs.set_fault(None);
        let durables: Vec<Durable> = (0..100)
            .map(|i| {
                store
                    .write(vec![(key(1, i), Some(vec![1; 10]))])
                    .expect("write")
            })
            .collect();
        for d in durables {
            d.wait().await.expect("durable");
        }
        // One write + one sync per group; 100 concurrent writes need far
        // fewer than 100 groups.
        assert!(
            fs.ops() < 20,
            "{} file operations for 100 concurrent writes",
            fs.ops()
        );
    });
}

#[test]
fn real_direct_io_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-data")
        .join(format!("engine-dma-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = EngineConfig::test_min();
    run(async {
        let store = Store::open(&dir, &config).await.expect("open");
        for i in 0..1000 {
            store
                .write(vec![(key(1, i), Some(vec![i as u8; 100]))])
                .expect("write")
                .wait()
                .await
                .expect("durable");
        }
        store.quiesce().await.expect("quiesce");
        store.close().await.expect("close");
    });
    run(async {
        let store = Store::open(&dir, &config).await.expect("reopen");
        for i in (0..1000).step_by(37) {
            assert_eq!(
                store.get(&key(1, i)).await.expect("get"),
                Some(vec![i as u8; 100])
            );
        }
        store.close().await.expect("close");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Measures write amplification of a uniform random overwrite workload
/// (prints it; not an assertion on speed). Run with
/// `cargo test --release --lib engine::tests::measure_write_amplification -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, prints numbers"]
fn measure_write_amplification() {
    run(async {
        let config = EngineConfig {
            memtable_bytes_max: 1 << 20,
            sstable_target_bytes: 1 << 20,
            level1_bytes_max: 4 << 20,
            level_size_ratio: 10,
            ..EngineConfig::default()
        };
        let fs = MemFs::new();
        let store = MemStore::open_with(fs.clone(), &config)
            .await
            .expect("open");
        let mut rng = Rng(42);
        let keys = 200_000;
        for round in 0..2_000u64 {
            let durables: Vec<Durable> = (0..100)
                .map(|_| {
                    let k = key(1, rng.below(keys));
                    store
                        .write(vec![(k, Some(vec![round as u8; 100]))])
                        .expect("write")
                })
                .collect();
            for d in durables {
                d.wait().await.expect("durable");
            }
        }
        store.quiesce().await.expect("quiesce");
        let stats = store.stats();
        eprintln!("{stats:#?}");
        eprintln!(
            "write amplification (flush+compaction)/user = {:.2}; with WAL = {:.2}; file-system bytes written = {}",
            stats.write_amplification,
            (stats.flush_bytes + stats.compaction_bytes + stats.wal_bytes) as f64
                / stats.user_bytes as f64,
            fs.bytes_written()
        );
    });
}

#[test]
fn scan_steps_stops_in_tombstones_and_resumes_after_them() {
    run(async {
        let store = MemStore::open_with(MemFs::new(), &EngineConfig::test_min())
            .await
            .expect("open");
        // 600 keys, all but every 100th deleted: long runs of tombstones.
        let puts = (0..600).map(|i| (key(1, i), Some(vec![7; 10]))).collect();
        store
            .write(puts)
            .expect("write")
            .wait()
            .await
            .expect("durable");
        let deletes = (0..600)
            .filter(|i| i % 100 != 0)
            .map(|i| (key(1, i), None))
            .collect();
        store
            .write(deletes)
            .expect("write")
            .wait()
            .await
            .expect("durable");
        let (upper, mut lower) = (key(2, 0), Bound::Unbounded);
        let (mut live, mut calls) = (Vec::new(), 0);
        loop {
            calls += 1;
            let (page, resume) = store
                .scan_steps(
                    lower.as_ref().map(|k: &Vec<u8>| k.as_slice()),
                    Bound::Excluded(&upper),
                    false,
                    1000,
                    usize::MAX,
                    50,
                )
                .await
                .expect("scan");
            assert!(page.len() <= 1, "50 steps hold at most one live key");
            live.extend(page.iter().map(|(k, _)| k.clone()));
            let next = match (resume, page.last()) {
                (Some(k), _) => k,
                (None, Some((k, _))) => k.clone(),
                (None, None) => break,
            };
            lower = Bound::Excluded(next);
        }
        let expected: Vec<Vec<u8>> = (0..600).step_by(100).map(|i| key(1, i)).collect();
        assert_eq!(live, expected);
        // 600 visited entries in calls of 50, not one call for all.
        assert!(calls >= 12, "{calls} calls");
        // Unbounded, the same range is one page.
        let all = store
            .scan(
                Bound::Unbounded,
                Bound::Excluded(&upper),
                false,
                1000,
                usize::MAX,
            )
            .await
            .expect("scan");
        assert_eq!(all.len(), 6);
    });
}
