//! Whole shards in one process over the fault-injecting memory file
//! system: seeded random writes through the real request path, a crash at
//! a random point (unsynced writes lost, the last ones torn), optionally an
//! EIO that poisons a shard first; then recovery, outbox replay, and an
//! exact comparison of every index with what the base table implies — no
//! lost and no phantom entries — and of every base item with the model.
//! Replay a failure with `DYNACORE_SEED=<seed>`.

use crate::api::fixtures::attr;
use crate::testkit::{Rng, for_seeds, fresh_seeds};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::api::dispatch::execute;
use crate::api::index::keys::{entry_key, project};
use crate::api::messages::{MeshReply, MeshRequest};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::operation::Operation;
use crate::api::shard::{ApiSettings, Counters, LocalFuture, Services, Shard};
use crate::api::table::ddl;
use crate::catalog::{
    Catalog, CatalogCommand, IndexDef, IndexKind, IndexStatus, KeyAttr, KeyType, ProjectionType,
    TableDef,
};
use crate::engine::io::dma::{block_on, sleep_ms, spawn, spawn_background};
use crate::engine::io::either::EitherFs;
use crate::engine::io::mem::{FaultPlan, MemFs};
use crate::engine::{EngineConfig, LsmStore};
use crate::model::codec::{decode_item, encode_item};
use crate::model::key::table_prefix;
use crate::model::{Item, Value};
use crate::routing::PartitionMap;

pub(super) const SHARDS: u32 = 2;
const WRITERS: u64 = 4;
const PKS: u64 = 6;
const SKS: u64 = 4;

/// The mesh, in one thread: calls go straight to the other shard's handler.
struct LocalServices {
    shards: RefCell<Vec<Weak<Shard>>>,
    /// The "durable" catalog file: survives the simulated crash.
    catalog: Rc<RefCell<Vec<u8>>>,
}

thread_local! {
    /// A shard whose `BackupSnapshot` calls fail (`backup_cut` tests a cut
    /// that fails partway); none by default.
    pub(super) static REFUSE_SNAPSHOTS_ON: std::cell::Cell<Option<u32>> =
        const { std::cell::Cell::new(None) };
    /// Every catalog version persisted while Some (`import_failure`
    /// checks a table's states one by one); None by default.
    pub(super) static CATALOG_HISTORY: RefCell<Option<Vec<Vec<u8>>>> =
        const { RefCell::new(None) };
}

impl Services for LocalServices {
    fn call(&self, to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>> {
        if matches!(request, MeshRequest::BackupSnapshot { .. })
            && REFUSE_SNAPSHOTS_ON.with(|r| r.get()) == Some(to)
        {
            return Box::pin(async { Err(ApiError::internal("snapshot refused (test)")) });
        }
        let shard = self
            .shards
            .borrow()
            .get(to as usize)
            .and_then(Weak::upgrade);
        Box::pin(async move {
            let shard = shard.ok_or_else(|| ApiError::internal("no such shard"))?;
            Ok(crate::api::serve(&shard, request).await)
        })
    }

    fn persist_catalog(&self, bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>> {
        CATALOG_HISTORY.with(|h| {
            if let Some(history) = h.borrow_mut().as_mut() {
                history.push(bytes.clone());
            }
        });
        *self.catalog.borrow_mut() = bytes;
        Box::pin(async { Ok(()) })
    }

    fn spawn(&self, task: LocalFuture<()>) {
        spawn(task);
    }

    fn spawn_background(&self, task: LocalFuture<()>) {
        spawn_background(task);
    }

    fn sleep(&self, duration: std::time::Duration) -> LocalFuture<()> {
        Box::pin(sleep_ms(duration.as_millis() as u64))
    }
}

/// Opens one shard per file system (recovery included), wired by
/// [`LocalServices`]; shared with the transaction crash tests.
pub(super) async fn start(fss: &[MemFs], catalog_file: &Rc<RefCell<Vec<u8>>>) -> Vec<Rc<Shard>> {
    let catalog = {
        let bytes = catalog_file.borrow();
        if bytes.is_empty() {
            Catalog::default()
        } else {
            Catalog::from_bytes(&bytes).expect("catalog parses")
        }
    };
    let catalog = Arc::new(catalog);
    let services = Rc::new(LocalServices {
        shards: RefCell::new(Vec::new()),
        catalog: catalog_file.clone(),
    });
    let mut shards = Vec::new();
    for (id, fs) in fss.iter().enumerate() {
        let store = LsmStore::open_with(EitherFs::Mem(fs.clone()), &EngineConfig::test_min())
            .await
            .expect("store opens after the crash");
        let shard = Rc::new(Shard {
            id: id as u32,
            map: PartitionMap::new(SHARDS),
            settings: ApiSettings {
                region: "us-east-1".into(),
                account_id: "000000000000".into(),
                item_collection_bytes_max: 10 << 30,
                index_outbox_records_max: 64,
                gsi_backpressure_wait: std::time::Duration::from_millis(1000),
                tables_max: 2500,
                table_status_transition: std::time::Duration::ZERO,
                pitr: Default::default(),
                capacity_decreases: Default::default(),
                streams: Default::default(),
                ttl_change_interval_ms: 0,
                resource_policy_change_interval_ms: 0,
                ttl_scan_interval: std::time::Duration::from_millis(100),
                ttl_deletes_per_second_max: 100_000,
                ttl_idle_backoff_max: 8,
                backup_cut_wait: std::time::Duration::from_secs(1),
                backup_chunk_bytes: 1 << 20,
                backup_copy_bytes_per_s: 0,
                backup_operations_max: 10,
                encrypted_at_rest: false,
                backup_key: None,
                transfer_operations_max: 10,
            },
            catalog: RefCell::new(catalog.clone()),
            store: Rc::new(store),
            services: services.clone(),
            locks: Default::default(),
            counters: Rc::new(Counters::default()),
            inbound: crate::api::inbound,
            outbox: crate::api::shard::outbox::Outbox::new(64),
            backfills: Default::default(),
            expiry: Default::default(),
            backups: Default::default(),
            pitr: Default::default(),
            transfers: Default::default(),
            cut: Default::default(),
            txns: Default::default(),
            streams: Default::default(),
            meter: Default::default(),
            metrics: Default::default(),
        });
        services.shards.borrow_mut().push(Rc::downgrade(&shard));
        shards.push(shard);
    }
    for shard in &shards {
        crate::api::index::open(shard)
            .await
            .expect("index machinery opens");
        crate::api::txn::open(shard)
            .await
            .expect("transactions recover");
    }
    shards
}

fn index(name: &str, kind: IndexKind, hash: &[KeyAttr], range: &[KeyAttr]) -> IndexDef {
    IndexDef {
        id: 0,
        name: name.into(),
        kind,
        hash_keys: hash.to_vec(),
        range_keys: range.to_vec(),
        projection_type: ProjectionType::All,
        non_key_attributes: vec![],
        status: IndexStatus::Active,
        read_capacity_units: 0,
        write_capacity_units: 0,
        throughput_changes: Default::default(),
    }
}

pub(super) fn table_def() -> TableDef {
    let mut by_g = index(
        "byG",
        IndexKind::Global,
        &[attr("g", KeyType::S)],
        &[attr("h", KeyType::N)],
    );
    by_g.projection_type = ProjectionType::Include;
    by_g.non_key_attributes = vec!["x".into()];
    let mut by_x = index("byX", IndexKind::Global, &[attr("x", KeyType::S)], &[]);
    by_x.projection_type = ProjectionType::KeysOnly;
    let by_gx = index(
        "byGX",
        IndexKind::Global,
        &[attr("g", KeyType::S), attr("x", KeyType::S)],
        &[attr("h", KeyType::N), attr("l", KeyType::S)],
    );
    let by_l = index(
        "byL",
        IndexKind::Local,
        &[attr("pk", KeyType::S)],
        &[attr("l", KeyType::S)],
    );
    TableDef::for_tests(
        "tab",
        attr("pk", KeyType::S),
        Some(attr("sk", KeyType::N)),
        vec![by_g, by_x, by_gx, by_l],
    )
}

fn json_value(v: &Value) -> String {
    let mut out = Vec::new();
    v.write_json(&mut out);
    String::from_utf8(out).expect("utf-8")
}

fn key_json(pk: u64, sk: u64) -> String {
    format!("{{\"pk\":{{\"S\":\"p{pk}\"}},\"sk\":{{\"N\":\"{sk}\"}}}}")
}

/// One random mutation of `current`: (operation, body, the item after it).
fn random_op(
    rng: &mut Rng,
    pk: u64,
    sk: u64,
    current: &Option<Item>,
) -> (Operation, String, Option<Item>) {
    let s = |v: &str| Value::S(v.into());
    let n = |v: u64| Value::N(crate::model::Number::from_u64(v));
    let mut item = Item::new();
    item.insert("pk".into(), s(&format!("p{pk}")));
    item.insert("sk".into(), n(sk));
    let pick = |rng: &mut Rng, options: &[&str]| {
        options[rng.below(options.len() as u64) as usize].to_string()
    };
    match rng.below(10) {
        0..=3 => {
            // A whole item; each index attribute sometimes absent (sparse).
            for (name, options) in [
                ("g", &["a", "b", "c"][..]),
                ("x", &["x1", "x2"][..]),
                ("l", &["l1", "l2", "l3"][..]),
            ] {
                if rng.below(4) != 0 {
                    item.insert(name.into(), s(&pick(rng, options)));
                }
            }
            if rng.below(4) != 0 {
                item.insert("h".into(), n(rng.below(5)));
            }
            item.insert("payload".into(), s(&"v".repeat(rng.below(300) as usize)));
            let mut item_json = Vec::new();
            crate::model::value::write_json_map(&mut item_json, &item);
            let item_json = String::from_utf8(item_json).expect("utf-8");
            if rng.below(3) == 0 {
                let body = format!(
                    "{{\"RequestItems\":{{\"tab\":[{{\"PutRequest\":{{\"Item\":{item_json}}}}}]}}}}"
                );
                return (Operation::BatchWriteItem, body, Some(item));
            }
            let body = format!("{{\"TableName\":\"tab\",\"Item\":{item_json}}}");
            (Operation::PutItem, body, Some(item))
        }
        4..=7 => {
            let mut next = current.clone().unwrap_or(item);
            let (name, value) = match rng.below(4) {
                0 => ("g", s(&pick(rng, &["a", "b", "c"]))),
                1 => ("x", s(&pick(rng, &["x1", "x2"]))),
                2 => ("l", s(&pick(rng, &["l1", "l2", "l3"]))),
                _ => ("h", n(rng.below(5))),
            };
            if rng.below(3) == 0 {
                next.remove(name);
                let body = format!(
                    "{{\"TableName\":\"tab\",\"Key\":{},\"UpdateExpression\":\"REMOVE {name}\"}}",
                    key_json(pk, sk)
                );
                // A REMOVE on a missing item creates nothing.
                let next = current.is_some().then_some(next);
                return (Operation::UpdateItem, body, next);
            }
            let body = format!(
                "{{\"TableName\":\"tab\",\"Key\":{},\"UpdateExpression\":\"SET {name} = :v\",\"ExpressionAttributeValues\":{{\":v\":{}}}}}",
                key_json(pk, sk),
                json_value(&value)
            );
            next.insert(name.into(), value);
            (Operation::UpdateItem, body, Some(next))
        }
        8 => {
            let body = format!(
                "{{\"RequestItems\":{{\"tab\":[{{\"DeleteRequest\":{{\"Key\":{}}}}}]}}}}",
                key_json(pk, sk)
            );
            (Operation::BatchWriteItem, body, None)
        }
        _ => {
            let body = format!("{{\"TableName\":\"tab\",\"Key\":{}}}", key_json(pk, sk));
            (Operation::DeleteItem, body, None)
        }
    }
}

/// What each key may hold after the crash: its last acknowledged state,
/// plus the states of writes that were in flight or failed.
type Model = BTreeMap<(u64, u64), Vec<Option<Item>>>;

async fn writer(
    shards: Vec<Rc<Shard>>,
    writer: u64,
    seed: u64,
    model: Rc<RefCell<Model>>,
    done: Rc<std::cell::Cell<u64>>,
) {
    let mut rng = Rng(seed ^ (writer + 1).wrapping_mul(0x9E37_79B9));
    let keys: Vec<(u64, u64)> = (0..PKS)
        .flat_map(|p| (0..SKS).map(move |s| (p, s)))
        .filter(|(p, s)| (p * SKS + s) % WRITERS == writer)
        .collect();
    for _ in 0..10_000 {
        let (pk, sk) = keys[rng.below(keys.len() as u64) as usize];
        let states = model
            .borrow()
            .get(&(pk, sk))
            .cloned()
            .unwrap_or_else(|| vec![None]);
        if states.len() > 1 {
            continue; // uncertain after a failed write: left alone
        }
        let current = states[0].clone();
        let (op, body, after) = random_op(&mut rng, pk, sk, &current);
        model
            .borrow_mut()
            .insert((pk, sk), vec![current.clone(), after.clone()]);
        let entry = &shards[rng.below(SHARDS as u64) as usize];
        let result = execute(entry, op, body.into_bytes(), false).await;
        done.set(done.get() + 1);
        match result {
            Ok(_) => {
                model.borrow_mut().insert((pk, sk), vec![after]);
            }
            // GSI back-pressure (an index shard cannot keep up, e.g. it
            // is poisoned): refused before anything was written.
            Err(e)
                if e.type_name.ends_with("ThrottlingException")
                    || e.type_name
                        .ends_with("ProvisionedThroughputExceededException") =>
            {
                model.borrow_mut().insert((pk, sk), vec![current]);
            }
            Err(e) if e.status == 400 => panic!("writer {writer}: rejected {op:?}: {}", e.message),
            // A failed write may or may not survive: both stay possible.
            Err(_) => {}
        }
    }
}

async fn all_entries(shards: &[Rc<Shard>], prefix: u32) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let lower = table_prefix(prefix).to_vec();
    let upper = crate::model::key::prefix_end(&lower);
    for shard in shards {
        let mut from = Bound::Included(lower.clone());
        loop {
            let page = shard
                .store
                .scan(
                    crate::api::messages::as_ref_bound(&from),
                    crate::api::messages::as_ref_bound(&upper),
                    false,
                    512,
                    usize::MAX,
                )
                .await
                .expect("scan");
            let Some((last, _)) = page.last() else { break };
            from = Bound::Excluded(last.clone());
            out.extend(page);
        }
    }
    out
}

/// Waits for every outbox and backfill to finish, then checks each index
/// against the base table and the base table against the model.
async fn check_converged(shards: &[Rc<Shard>], model: &Model, seed: u64) {
    let mut waited = 0;
    loop {
        let catalog = shards[0].catalog();
        let creating = catalog
            .tables
            .values()
            .flat_map(|t| t.indexes.iter())
            .any(|i| i.status == IndexStatus::Creating);
        let pending: u64 = shards.iter().map(|s| s.outbox.pending()).sum();
        if pending == 0 && !creating {
            break;
        }
        waited += 1;
        assert!(
            waited < 2000,
            "seed {seed}: indexes never caught up ({pending} records pending)"
        );
        sleep_ms(5).await;
    }
    let catalog = shards[0].catalog();
    let table = catalog.table("tab").expect("table").clone();
    let base = all_entries(shards, table.id).await;
    let map = PartitionMap::new(SHARDS);
    let mut items = BTreeMap::new();
    for value in base.values() {
        let item = decode_item(value).expect("base item decodes");
        let pk: u64 = match item.get("pk") {
            Some(Value::S(s)) => s[1..].parse().expect("pk"),
            other => panic!("pk {other:?}"),
        };
        let sk: u64 = match item.get("sk") {
            Some(Value::N(n)) => n.to_canonical().parse().expect("sk"),
            other => panic!("sk {other:?}"),
        };
        items.insert((pk, sk), item);
    }
    for (key, states) in model {
        let got = items.get(key).cloned();
        assert!(
            states.contains(&got),
            "seed {seed}: item {key:?} is {got:?}, expected one of {states:?}"
        );
    }
    for index in &table.indexes {
        let mut expected = BTreeMap::new();
        for item in items.values() {
            if let Some(key) = entry_key(&map, &table, index, item) {
                expected.insert(key.storage, encode_item(&project(&table, index, item)));
            }
        }
        let actual = all_entries(shards, index.id).await;
        let lost: Vec<_> = expected
            .keys()
            .filter(|k| !actual.contains_key(*k))
            .collect();
        let phantom: Vec<_> = actual
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .collect();
        assert!(
            lost.is_empty() && phantom.is_empty(),
            "seed {seed}: index {}: {} lost, {} phantom entries",
            index.name,
            lost.len(),
            phantom.len()
        );
        assert_eq!(
            actual, expected,
            "seed {seed}: index {} projections differ",
            index.name
        );
        // An LSI lives with its base partition.
        if index.kind == IndexKind::Local {
            for shard in shards {
                let local = all_entries(std::slice::from_ref(shard), index.id).await;
                for key in local.keys() {
                    let hash = u64::from_be_bytes(key[4..12].try_into().expect("hash"));
                    assert_eq!(
                        map.owner(hash),
                        shard.id,
                        "seed {seed}: LSI entry on a foreign shard"
                    );
                }
            }
        }
    }
}

fn run_seed(seed: u64, add_index_midway: bool) {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    for fs in &fss {
        fs.set_sync_yields((seed % 17) as u32);
    }
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    let model: Rc<RefCell<Model>> = Rc::default();
    let mut rng = Rng(seed);
    // Phase 1: load, then crash at a random moment (maybe after an EIO).
    let ops_before_crash = 200 + rng.below(600);
    let poison = rng.below(3) == 0;
    let poison_at = 50 + rng.below(400);
    block_on({
        let (fss, catalog_file, model) = (fss.clone(), catalog_file.clone(), model.clone());
        async move {
            let shards = start(&fss, &catalog_file).await;
            let mut def = table_def();
            if add_index_midway {
                def.indexes.retain(|i| i.name != "byGX");
            }
            ddl::apply(&shards[0], CatalogCommand::Create(def))
                .await
                .expect("create table");
            let done = Rc::new(std::cell::Cell::new(0u64));
            for w in 0..WRITERS {
                spawn(writer(shards.clone(), w, seed, model.clone(), done.clone()));
            }
            if poison {
                fss[(seed % SHARDS as u64) as usize].set_fault(Some(FaultPlan {
                    at_op: poison_at,
                    errno: libc::EIO,
                    sticky: false,
                }));
            }
            let mut added = false;
            let mut steps = 0;
            while done.get() < ops_before_crash && steps < 200_000 {
                if add_index_midway && !added && done.get() >= ops_before_crash / 3 {
                    let mut gsi = table_def().indexes.remove(2);
                    gsi.status = IndexStatus::Creating;
                    let command = CatalogCommand::CreateIndex {
                        table: "tab".into(),
                        index: gsi,
                        attribute_definitions: vec![],
                    };
                    // Fails only if the coordinator shard was poisoned.
                    let _ = ddl::apply(&shards[0], command).await;
                    added = true;
                }
                steps += 1;
                futures_lite::future::yield_now().await;
            }
            eprintln!(
                "seed {seed}: crash after {} requests, {steps} yields, poison {poison}",
                done.get()
            );
            // Returning drops every task mid-flight: the crash.
        }
    })
    .expect("executor");
    let after: Vec<MemFs> = fss.iter().map(|fs| fs.crash(Some(seed))).collect();
    // Phase 2: recover, let outboxes replay and backfills finish, compare.
    block_on(async move {
        let shards = start(&after, &catalog_file).await;
        let model = model.borrow().clone();
        check_converged(&shards, &model, seed).await;
    })
    .expect("executor");
}

#[test]
fn indexes_converge_with_the_base_table_after_crashes() {
    for_seeds(fresh_seeds(6), |seed| run_seed(seed, false));
}

#[test]
fn backfill_interrupted_by_a_crash_converges() {
    for_seeds(fresh_seeds(4), |seed| run_seed(seed, true));
}

/// A record that can never be applied (an entry key over the engine's
/// limit, a record that does not decode) is quarantined; the records behind
/// it are delivered, and the quarantine survives a crash and restart
/// without being applied or counted twice.
#[test]
fn poisoned_outbox_records_are_quarantined_and_later_records_flow() {
    use crate::api::shard::outbox::{encode_record, now_ms, record_key};
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    let put = |pk: u64, g: &str| {
        format!(
            "{{\"TableName\":\"tab\",\"Item\":{{\"pk\":{{\"S\":\"p{pk}\"}},\"sk\":{{\"N\":\"1\"}},\"g\":{{\"S\":\"{g}\"}},\"h\":{{\"N\":\"1\"}}}}}}"
        )
    };
    let by_g_entries = |shards: Vec<Rc<Shard>>| async move {
        let catalog = shards[0].catalog();
        let table = catalog.table("tab").expect("table").clone();
        let by_g = table.indexes.iter().find(|i| i.name == "byG").expect("byG");
        all_entries(&shards, by_g.id).await.len()
    };
    block_on({
        let (fss, catalog_file) = (fss.clone(), catalog_file.clone());
        async move {
            let shards = start(&fss, &catalog_file).await;
            ddl::apply(&shards[0], CatalogCommand::Create(table_def()))
                .await
                .expect("create table");
            let catalog = shards[0].catalog();
            let by_g = catalog.table("tab").expect("table").indexes[0].id;
            execute(
                &shards[0],
                Operation::PutItem,
                put(0, "a").into_bytes(),
                false,
            )
            .await
            .expect("put before");
            // Poison records straight into shard 0's outbox, as a write
            // path without the door check would have: one entry key of
            // 70,000 bytes, and bytes that do not decode.
            let mut huge = by_g.to_be_bytes().to_vec();
            huge.extend(std::iter::repeat_n(b'k', 70_000));
            for value in [
                encode_record(now_ms(), &[(huge, Some(vec![1]))]),
                vec![9, 9, 9],
            ] {
                let seq = shards[0].outbox.take_seq();
                let durable = shards[0]
                    .store
                    .write(vec![(record_key(seq), Some(value))])
                    .expect("write poison");
                shards[0].outbox.notify();
                durable.wait().await.expect("durable");
            }
            for pk in 1..20 {
                execute(
                    &shards[0],
                    Operation::PutItem,
                    put(pk, "b").into_bytes(),
                    false,
                )
                .await
                .expect("put after");
            }
            let mut waited = 0;
            while shards.iter().map(|s| s.outbox.pending()).sum::<u64>() > 0 {
                waited += 1;
                assert!(waited < 2000, "later records never flowed");
                sleep_ms(5).await;
            }
            assert_eq!(shards[0].outbox.stats().quarantined_records, 2);
            assert_eq!(by_g_entries(shards.clone()).await, 20);
            // Durable before the crash: the next round's deletes and the
            // puts above are later in shard 0's log.
            let marker = shards[0].store.durable_marker().expect("marker");
            marker.wait().await.expect("durable");
        }
    })
    .expect("executor");
    let after: Vec<MemFs> = fss.iter().map(|fs| fs.crash(Some(1))).collect();
    block_on(async move {
        let shards = start(&after, &catalog_file).await;
        assert_eq!(
            shards[0].outbox.pending(),
            0,
            "quarantined records left the outbox"
        );
        assert_eq!(shards[0].outbox.stats().quarantined_records, 2);
        execute(
            &shards[1],
            Operation::PutItem,
            put(99, "c").into_bytes(),
            false,
        )
        .await
        .expect("put after restart");
        let mut waited = 0;
        while shards.iter().map(|s| s.outbox.pending()).sum::<u64>() > 0 {
            waited += 1;
            assert!(waited < 2000, "records after the restart never flowed");
            sleep_ms(5).await;
        }
        assert_eq!(by_g_entries(shards.clone()).await, 21);
    })
    .expect("executor");
}
