//! Storage engine micro-benchmarks: WAL append with group commit (real
//! direct I/O and in-memory), memtable insert/get, data block search and
//! bloom probes. `cargo bench --bench engine` (`-- --test` for a quick run).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dynacore::engine::io::dma::block_on;
use dynacore::engine::io::mem::MemFs;
use dynacore::engine::memtable::Memtable;
use dynacore::engine::sst::block::{Block, BlockBuilder};
use dynacore::engine::sst::bloom;
use dynacore::engine::{Durable, EngineConfig, LsmStore, Store};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn key(i: u64) -> Vec<u8> {
    let mut k = 7u32.to_be_bytes().to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// `writers` concurrent batches per round, each waited on: one group commit
/// (write + fdatasync) serves a whole round.
fn wal_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_append_group_commit");
    group.sample_size(10);
    for writers in [1u64, 16, 128] {
        group.bench_with_input(
            BenchmarkId::new("direct_io", writers),
            &writers,
            |b, &writers| {
                b.iter_custom(|iters| {
                    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("target/bench-data")
                        .join(format!("wal-{}-{writers}", std::process::id()));
                    let _ = std::fs::remove_dir_all(&dir);
                    let elapsed = block_on(async {
                        let store = Store::open(&dir, &EngineConfig::default())
                            .await
                            .expect("open");
                        let start = Instant::now();
                        for round in 0..iters {
                            let durables: Vec<Durable> = (0..writers)
                                .map(|w| {
                                    store
                                        .write(vec![(
                                            key(round * writers + w),
                                            Some(vec![1u8; 100]),
                                        )])
                                        .expect("write")
                                })
                                .collect();
                            for d in durables {
                                d.wait().await.expect("durable");
                            }
                        }
                        let elapsed = start.elapsed();
                        store.close().await.expect("close");
                        elapsed
                    })
                    .expect("executor");
                    let _ = std::fs::remove_dir_all(&dir);
                    elapsed
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("memfs", writers),
            &writers,
            |b, &writers| {
                b.iter_custom(|iters| {
                    block_on(async {
                        let store = LsmStore::open_with(MemFs::new(), &EngineConfig::default())
                            .await
                            .expect("open");
                        let start = Instant::now();
                        for round in 0..iters {
                            let durables: Vec<Durable> = (0..writers)
                                .map(|w| {
                                    store
                                        .write(vec![(
                                            key(round * writers + w),
                                            Some(vec![1u8; 100]),
                                        )])
                                        .expect("write")
                                })
                                .collect();
                            for d in durables {
                                d.wait().await.expect("durable");
                            }
                        }
                        start.elapsed()
                    })
                    .expect("executor")
                });
            },
        );
    }
    group.finish();
}

fn memtable(c: &mut Criterion) {
    let mut group = c.benchmark_group("memtable");
    group.bench_function("insert_100b", |b| {
        let mem = Memtable::new(0);
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mem.insert(&key(i), Some(&[0u8; 100]));
        });
    });
    // What a flush frees at its end: a full memtable of 1 KB items (the
    // bench's 16 MiB stands for the default 64 MiB; cost is per entry).
    group.bench_function("drop_16k_1kb", |b| {
        b.iter_batched(
            || {
                let mem = Memtable::new(0);
                for i in 0..16_384u64 {
                    mem.insert(
                        &key(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                        Some(&[7u8; 1000]),
                    );
                }
                mem
            },
            drop,
            criterion::BatchSize::PerIteration,
        );
    });
    let mem = Memtable::new(0);
    for i in 0..100_000u64 {
        mem.insert(&key(i * 7919 % 1_000_003), Some(&[0u8; 100]));
    }
    group.bench_function("get_hit_100k", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 1) % 100_000;
            black_box(mem.get(&key(i * 7919 % 1_000_003)));
        });
    });
    group.finish();
}

fn block_search(c: &mut Criterion) {
    let mut builder = BlockBuilder::default();
    let keys: Vec<Vec<u8>> = (0..40u64).map(key).collect();
    for k in &keys {
        builder.add(k, Some(&[0u8; 80]));
    }
    let block = Block::parse(builder.finish()).expect("valid block");
    c.bench_function("block_search_4k", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(block.get(&keys[i]).expect("decodes"));
        });
    });
}

fn bloom_probe(c: &mut Criterion) {
    let hashes: Vec<_> = (0..10_000u64).map(|i| bloom::key_hash(&key(i))).collect();
    let filter = bloom::build(&hashes);
    c.bench_function("bloom_probe_10k", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(bloom::may_contain(&filter, bloom::key_hash(&key(i))));
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = wal_append, memtable, block_search, bloom_probe
}
criterion_main!(benches);
