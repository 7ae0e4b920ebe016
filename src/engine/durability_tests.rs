//! Durability edge cases over the fault-injecting file system, each written
//! so that it fails without the property it names:
//! - an acknowledgement never precedes its fdatasync (crash at the ack);
//! - new SSTables are named durably before a manifest names them;
//! - a new store directory's entry is made durable in its parent;
//! - the memtable memory bound holds because writers wait for room
//!   *before* their batch is applied.
//!
//! Seeded where random; replay with `DYNACORE_SEED=<seed>`.

use super::io::dma::{self, block_on};
use super::io::mem::{FaultPlan, MemFs, splitmix64};
use super::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

type MemStore = LsmStore<MemFs>;

fn run<T>(future: impl Future<Output = T>) -> T {
    block_on(future).expect("executor")
}

/// Seeds 1..=count (or `DYNACORE_SEED`), naming the seed if it panics.
fn for_seeds(count: u64, test: impl Fn(u64)) {
    crate::testkit::for_seeds(crate::testkit::fixed_seeds(count), test);
}

fn key(i: u64) -> Vec<u8> {
    let mut out = 1u32.to_be_bytes().to_vec();
    out.extend_from_slice(format!("key{i:06}").as_bytes());
    out
}

/// Counts down finished tasks (the test waits for all of them).
struct Join {
    left: Cell<usize>,
    done: sync::WaitList,
}

impl Join {
    fn new(tasks: usize) -> Rc<Join> {
        Rc::new(Join {
            left: Cell::new(tasks),
            done: sync::WaitList::default(),
        })
    }
    fn finish(&self) {
        self.left.set(self.left.get() - 1);
        self.done.wake_all();
    }
    async fn all(&self) {
        self.done.wait_until(|| self.left.get() == 0).await;
    }
}

/// The file system as a crash left it, and the writes acknowledged by then.
type CrashImage = (MemFs, Vec<u64>);

/// Power fails at the instant of the k-th acknowledgement (k seeded): the
/// crash image is taken synchronously in the task that just saw
/// `Durable::wait` return Ok, while other groups are mid-sync (slow syncs).
/// Every write acknowledged by then must be in the recovered store. A
/// committer that published `durable_seq` after the write but before the
/// fdatasync completed fails this: the image drops unsynced bytes.
#[test]
fn a_crash_at_the_moment_of_an_ack_keeps_every_acknowledged_write() {
    for_seeds(10, |seed| {
        run(async move {
            let fs = MemFs::new();
            fs.set_sync_yields(3);
            let config = EngineConfig::test_min();
            let store = Rc::new(
                MemStore::open_with(fs.clone(), &config)
                    .await
                    .expect("open"),
            );
            let mut rng = seed;
            let writers = 16u64;
            let per_writer = 30u64;
            let crash_at = 1 + splitmix64(&mut rng) % (writers * per_writer - 1);
            let acked: Rc<RefCell<Vec<u64>>> = Rc::default();
            let image: Rc<RefCell<Option<CrashImage>>> = Rc::default();
            let join = Join::new(writers as usize);
            for w in 0..writers {
                let (store, acked, image, join, fs) = (
                    store.clone(),
                    acked.clone(),
                    image.clone(),
                    join.clone(),
                    fs.clone(),
                );
                dma::spawn(async move {
                    for i in 0..per_writer {
                        let k = w * per_writer + i;
                        let durable = store
                            .write(vec![(key(k), Some(k.to_le_bytes().repeat(8)))])
                            .expect("write");
                        durable.wait().await.expect("durable");
                        // No await between the ack and the crash image.
                        acked.borrow_mut().push(k);
                        if acked.borrow().len() as u64 == crash_at {
                            *image.borrow_mut() = Some((fs.crash(None), acked.borrow().clone()));
                        }
                    }
                    join.finish();
                });
            }
            join.all().await;
            let (crashed, acked_then) = image.borrow_mut().take().expect("crash image taken");
            assert_eq!(acked_then.len() as u64, crash_at);
            let store = MemStore::open_with(crashed, &config)
                .await
                .expect("open after crash");
            for k in acked_then {
                assert_eq!(
                    store.get(&key(k)).await.expect("get"),
                    Some(k.to_le_bytes().repeat(8)),
                    "acknowledged write {k} lost (crash at ack {crash_at})"
                );
            }
        })
    });
}

/// Every mutating file operation in turn fails (EIO, from then on) while a
/// writer fills memtables so flushes and compactions run; then power fails
/// with every unsynced rename persisted and every unsynced creation lost.
/// The store must reopen and hold every acknowledged write. Without a
/// directory sync between writing a table and the manifest rename naming
/// it, some crash point leaves a durable MANIFEST naming a table whose
/// name never reached the disk, and open fails.
#[test]
fn tables_are_named_durably_before_a_manifest_names_them() {
    let config = EngineConfig::test_min();
    let value = vec![7u8; 3000];
    let mut flushed_before_fault = 0;
    for at_op in 1..=160u64 {
        run(async {
            let fs = MemFs::new();
            let store = MemStore::open_with(fs.clone(), &config)
                .await
                .expect("open");
            fs.set_fault(Some(FaultPlan {
                at_op,
                errno: libc::EIO,
                sticky: true,
            }));
            let mut acked = Vec::new();
            for k in 0..120u64 {
                let Ok(durable) = store.write(vec![(key(k), Some(value.clone()))]) else {
                    break;
                };
                if durable.wait().await.is_err() {
                    break;
                }
                acked.push(k);
                // Let flush and compaction run (the background queue only
                // gets the CPU when the request queue idles).
                if k % 8 == 7 {
                    let _ = store.quiesce().await;
                }
            }
            if store.stats().flushes > 0 {
                flushed_before_fault += 1;
            }
            let crashed = fs.crash_keeping_renames();
            let store = match MemStore::open_with(crashed, &config).await {
                Ok(store) => store,
                Err(error) => panic!("EIO at op {at_op}, then crash: open failed: {error}"),
            };
            for k in acked {
                assert_eq!(
                    store.get(&key(k)).await.expect("get"),
                    Some(value.clone()),
                    "EIO at op {at_op}: acknowledged write {k} lost"
                );
            }
        });
    }
    // The sweep must reach crash points inside and after flushes.
    assert!(
        flushed_before_fault > 50,
        "{flushed_before_fault} runs flushed"
    );
}

/// A store opened in a new subdirectory (`shard-NNN` of the data
/// directory), written and acknowledged, then power fails: the directory
/// and its acknowledged writes must be there. Without a sync of the parent
/// after creating the subdirectory, its entry vanishes and so does the data.
#[test]
fn a_new_store_directory_is_durable_in_its_parent() {
    run(async {
        let config = EngineConfig::test_min();
        let data_dir = MemFs::new();
        let store = MemStore::open_in(&data_dir, "shard-000", &config)
            .await
            .expect("open");
        for k in 0..20 {
            store
                .write(vec![(key(k), Some(vec![1; 10]))])
                .expect("write")
                .wait()
                .await
                .expect("durable");
        }
        let crashed = data_dir.crash(None);
        let store = MemStore::open_in(&crashed, "shard-000", &config)
            .await
            .expect("reopen");
        for k in 0..20 {
            assert_eq!(
                store.get(&key(k)).await.expect("get"),
                Some(vec![1; 10]),
                "acknowledged write {k} vanished with its directory"
            );
        }
    });
}

/// 64 concurrent writers of 4 KiB values against 64 KiB memtables while
/// syncs (hence flushes) are slow: the memtables' bytes must never exceed
/// `(1 + memtables_frozen_max)` memtables of `memtable_bytes_max` plus one
/// batch each. Writers that are applied before they wait for room (the
/// back-pressure only delaying their acknowledgement) overshoot it by many
/// memtables.
#[test]
fn the_memtable_bound_holds_because_writers_wait_before_applying() {
    run(async {
        let config = EngineConfig::test_min();
        let fs = MemFs::new();
        fs.set_sync_yields(40);
        let store = Rc::new(
            MemStore::open_with(fs.clone(), &config)
                .await
                .expect("open"),
        );
        let value_len = 4096u64;
        let batch_max = value_len + 64;
        let bound =
            (1 + config.memtables_frozen_max as u64) * (config.memtable_bytes_max + batch_max);
        let peak = Rc::new(Cell::new(0u64));
        let writers = 64u64;
        let join = Join::new(writers as usize);
        for w in 0..writers {
            let (store, peak, join) = (store.clone(), peak.clone(), join.clone());
            dma::spawn(async move {
                for i in 0..20u64 {
                    let k = w * 1000 + i;
                    store.write_room().await;
                    let durable = store
                        .write(vec![(key(k), Some(vec![3; value_len as usize]))])
                        .expect("write");
                    peak.set(peak.get().max(store.stats().memtable_bytes));
                    durable.wait().await.expect("durable");
                }
                join.finish();
            });
        }
        join.all().await;
        assert!(store.stats().flushes > 3, "the test must make flushes lag");
        assert!(
            peak.get() <= bound,
            "memtables held {} bytes, bound {bound}",
            peak.get()
        );
        // Nothing acknowledged was lost on the way.
        let mut model = BTreeMap::new();
        for w in 0..writers {
            for i in 0..20u64 {
                model.insert(key(w * 1000 + i), vec![3u8; value_len as usize]);
            }
        }
        for (k, v) in model {
            assert_eq!(store.get(&k).await.expect("get"), Some(v));
        }
    });
}
