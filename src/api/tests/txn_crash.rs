//! Crash tests of two-phase commit: whole shards in one process over the
//! fault-injecting memory file system.
//!
//! - Each step of the protocol (the answer to the client comes once every
//!   participant has applied, before those commits are durable), driven
//!   message by message, then a crash
//!   (power loss: unsynced writes lost or torn): after recovery the
//!   transaction is applied on every shard or on none, as its decision
//!   record says (presumed abort without one), and nothing stays locked.
//! - A seeded random transfer workload crashed at a random moment,
//!   sometimes after an EIO poisons one shard: after recovery the total is
//!   unchanged and the balances are the acknowledged transfers plus, for
//!   each transfer in doubt, all of it or none.
//!
//! Replay a failure with `DYNACORE_SEED=<seed>`.

use std::cell::RefCell;
use std::ops::Bound;
use std::rc::Rc;

use super::index_crash::{SHARDS, start};
use crate::api::dispatch::{execute, serve};
use crate::api::fixtures::attr;
use crate::api::messages::{MeshReply, MeshRequest, TxnAction, TxnId, Vote, as_ref_bound};
use crate::api::protocol::operation::Operation;
use crate::api::protocol::request::{Fields, parse_body};
use crate::api::shard::Shard;
use crate::api::table::ddl;
use crate::api::table::key::make_key;
use crate::api::txn::plan::write_plan;
use crate::api::txn::records::{DECISION_PREFIX, decision_key, encode_decision};
use crate::catalog::{CatalogCommand, KeyType, TableDef};
use crate::engine::io::dma::{block_on, sleep_ms, spawn};
use crate::engine::io::mem::{FaultPlan, MemFs};
use crate::model::Value;
use crate::model::codec::decode_item;
use crate::model::key::prefix_end;
use crate::testkit::{Rng, fixed_seeds, for_seeds, fresh_seeds};

pub(super) const ACCOUNTS: usize = 6;
pub(super) const BALANCE: i64 = 100;

pub(super) fn pk(i: usize) -> String {
    format!("a{i}")
}

pub(super) async fn setup(shards: &[Rc<Shard>]) {
    setup_table(
        shards,
        TableDef::for_tests("acct", attr("pk", KeyType::S), None, vec![]),
    )
    .await;
}

/// Creates `table` (named "acct", key `pk`) and opens the accounts.
pub(super) async fn setup_table(shards: &[Rc<Shard>], table: TableDef) {
    ddl::apply(&shards[0], CatalogCommand::Create(table))
        .await
        .expect("create table");
    let puts: Vec<String> = (0..ACCOUNTS)
        .map(|i| {
            format!(
                r#"{{"Put":{{"TableName":"acct","Item":{{"pk":{{"S":"{}"}},"bal":{{"N":"{BALANCE}"}}}}}}}}"#,
                pk(i)
            )
        })
        .collect();
    let body = format!(r#"{{"TransactItems":[{}]}}"#, puts.join(","));
    execute(
        &shards[0],
        Operation::TransactWriteItems,
        body.into_bytes(),
        false,
    )
    .await
    .expect("open the accounts");
}

pub(super) fn transfer_body(from: usize, to: usize, amount: i64) -> String {
    let update = |k: usize, expr: &str, cond: &str| {
        format!(
            r#"{{"Update":{{"TableName":"acct","Key":{{"pk":{{"S":"{}"}}}},"UpdateExpression":"{expr}"{cond},"ExpressionAttributeValues":{{":a":{{"N":"{amount}"}}}}}}}}"#,
            pk(k)
        )
    };
    format!(
        r#"{{"TransactItems":[{},{}]}}"#,
        update(
            from,
            "SET bal = bal - :a",
            r#","ConditionExpression":"bal >= :a""#
        ),
        update(to, "SET bal = bal + :a", "")
    )
}

pub(super) fn owner(shard: &Shard, i: usize) -> u32 {
    let catalog = shard.catalog();
    let table = catalog.table("acct").expect("table");
    make_key(shard, table, Value::S(pk(i)), None).owner
}

async fn balances(shards: &[Rc<Shard>]) -> Vec<i64> {
    let catalog = shards[0].catalog();
    let table = catalog.table("acct").expect("table").clone();
    let mut out = Vec::new();
    for i in 0..ACCOUNTS {
        let key = make_key(&shards[0], &table, Value::S(pk(i)), None);
        let bytes = shards[key.owner as usize]
            .store
            .get(&key.storage)
            .await
            .expect("read")
            .expect("account exists");
        match decode_item(&bytes).expect("decodes").get("bal") {
            Some(Value::N(n)) => out.push(n.to_canonical().parse().expect("integer")),
            other => panic!("bal {other:?}"),
        }
    }
    out
}

/// Waits until recovery has resolved every prepared transaction and
/// re-driven every decision.
async fn settled(shards: &[Rc<Shard>], seed: u64) {
    for waited in 0.. {
        let mut busy = false;
        for shard in shards {
            let upper = prefix_end(&DECISION_PREFIX);
            let decisions = shard
                .store
                .scan(
                    Bound::Included(&DECISION_PREFIX[..]),
                    as_ref_bound(&upper),
                    false,
                    1,
                    1 << 10,
                )
                .await
                .expect("scan");
            busy |= shard.txns.prepared_count() > 0 || !decisions.is_empty();
        }
        if !busy {
            break;
        }
        assert!(waited < 4000, "seed {seed}: recovery never settled");
        sleep_ms(5).await;
    }
    for shard in shards {
        assert_eq!(
            shard.txns.intent_count(),
            0,
            "seed {seed}: an intent outlived recovery"
        );
    }
}

/// A transfer must still go through after recovery: nothing left locked.
async fn transfer_works(shards: &[Rc<Shard>]) {
    let got = balances(shards).await;
    let from = (0..ACCOUNTS).max_by_key(|i| got[*i]).expect("accounts");
    let to = (from + 1) % ACCOUNTS;
    execute(
        &shards[1],
        Operation::TransactWriteItems,
        transfer_body(from, to, 1).into_bytes(),
        false,
    )
    .await
    .expect("a transfer after recovery");
}

/// A transfer of 30 from an account of shard 0 (the coordinator) to one of
/// shard 1: (from, to, the shares of shard 0 and shard 1).
pub(super) type Transfer = (usize, usize, Vec<(u32, Vec<TxnAction>)>);

pub(super) fn cross_shard_transfer(shards: &[Rc<Shard>]) -> Transfer {
    let from = (0..ACCOUNTS)
        .find(|i| owner(&shards[0], *i) == 0)
        .expect("on 0");
    let to = (0..ACCOUNTS)
        .find(|i| owner(&shards[0], *i) == 1)
        .expect("on 1");
    let mut scratch = transfer_body(from, to, 30).into_bytes();
    let json = parse_body(&mut scratch).expect("json");
    let plan = write_plan(&shards[0], &Fields::of(&json).expect("fields")).expect("plan");
    let mut shares: Vec<(u32, Vec<TxnAction>)> = vec![(0, vec![]), (1, vec![])];
    for (action, o) in plan.actions.into_iter().zip(plan.owners) {
        shares[o as usize].1.push(action);
    }
    (from, to, shares)
}

/// Prepares `actions` of `txn` on shard `p`, which must vote yes.
pub(super) async fn prepare_yes(shards: &[Rc<Shard>], txn: TxnId, p: u32, actions: Vec<TxnAction>) {
    let request = MeshRequest::TxnPrepare {
        txn,
        actions,
        token: None,
    };
    match serve(&shards[p as usize], request).await {
        MeshReply::Vote(Ok(Vote::Yes { .. })) => {}
        other => panic!(
            "prepare on {p}: {:?}",
            crate::api::messages::unexpected(&other)
        ),
    }
}

/// How far the protocol got before the crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// One participant prepared, the other not.
    OnePrepared,
    /// Every participant prepared (votes in), no decision.
    AllPrepared,
    /// The coordinator's decision record is durable.
    Decided,
    /// One participant (not the coordinator) committed.
    OneCommitted,
    /// Every participant applied its commit (the client's answer), none
    /// made durable: the torn crash keeps any part of them.
    AllApplied,
    /// Every participant committed; the decision record not yet deleted.
    AllCommitted,
}

fn run_step(step: Step, seed: u64) {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    let pair = block_on({
        let (fss, catalog_file) = (fss.clone(), catalog_file.clone());
        async move {
            let shards = start(&fss, &catalog_file).await;
            setup(&shards).await;
            let (from, to, shares) = cross_shard_transfer(&shards);
            let txn: TxnId = shards[0].txns.begin(0);
            let prepared = if step == Step::OnePrepared { 1 } else { 2 };
            for (p, actions) in shares.into_iter().take(prepared) {
                prepare_yes(&shards, txn, p, actions).await;
            }
            if step >= Step::Decided {
                let record = vec![(decision_key(txn.seq), Some(encode_decision(&[0, 1])))];
                let durable = shards[0].store.write(record).expect("decision");
                durable.wait().await.expect("decision durable");
                shards[0].txns.decided(txn.seq);
            }
            let committers: &[usize] = match step {
                Step::OneCommitted => &[1],
                Step::AllApplied | Step::AllCommitted => &[1, 0],
                _ => &[],
            };
            for p in committers {
                let request = MeshRequest::TxnDecide {
                    txn,
                    commit: true,
                    durable: step != Step::AllApplied,
                    decided_ms: None,
                };
                match serve(&shards[*p], request).await {
                    MeshReply::Written(Ok(_)) => {}
                    other => panic!(
                        "commit on {p}: {:?}",
                        crate::api::messages::unexpected(&other)
                    ),
                }
            }
            (from, to)
        }
    })
    .expect("executor");
    let after: Vec<MemFs> = fss.iter().map(|fs| fs.crash(Some(seed))).collect();
    block_on(async move {
        let shards = start(&after, &catalog_file).await;
        settled(&shards, seed).await;
        let (from, to) = pair;
        let got = balances(&shards).await;
        let committed = step >= Step::Decided;
        let (want_from, want_to) = if committed {
            (BALANCE - 30, BALANCE + 30)
        } else {
            (BALANCE, BALANCE)
        };
        assert_eq!(
            (got[from], got[to]),
            (want_from, want_to),
            "seed {seed}, crash at {step:?}: {got:?}"
        );
        assert_eq!(got.iter().sum::<i64>(), BALANCE * ACCOUNTS as i64);
        transfer_works(&shards).await;
    })
    .expect("executor");
}

#[test]
fn a_crash_at_each_step_of_two_phase_commit_keeps_it_atomic() {
    for step in [
        Step::OnePrepared,
        Step::AllPrepared,
        Step::Decided,
        Step::OneCommitted,
        Step::AllApplied,
        Step::AllCommitted,
    ] {
        for_seeds(fixed_seeds(2), |seed| run_step(step, seed));
    }
}

/// A transfer (from, to, amount) in the model.
type Move = (usize, usize, i64);

#[derive(Default)]
struct Model {
    acked: Vec<Move>,
    /// Per writer: the transfer sent and not settled (in flight at the
    /// crash, or failed with a server error: either way in doubt).
    doubt: Vec<Option<Move>>,
}

async fn writer(shards: Vec<Rc<Shard>>, w: usize, seed: u64, model: Rc<RefCell<Model>>) {
    let mut rng = Rng::new(seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9));
    for _ in 0..100_000 {
        let from = rng.below(ACCOUNTS as u64) as usize;
        let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
        let amount = 1 + rng.below(40) as i64;
        model.borrow_mut().doubt[w] = Some((from, to, amount));
        let entry = &shards[rng.below(SHARDS as u64) as usize];
        let body = transfer_body(from, to, amount).into_bytes();
        match execute(entry, Operation::TransactWriteItems, body, false).await {
            Ok(_) => {
                let mut m = model.borrow_mut();
                m.acked.push((from, to, amount));
                m.doubt[w] = None;
            }
            Err(e) if e.type_name.ends_with("TransactionCanceledException") => {
                model.borrow_mut().doubt[w] = None;
            }
            Err(e) if e.status == 400 => panic!("writer {w}: rejected: {}", e.message),
            // A server fault (a poisoned shard): in doubt; stop.
            Err(_) => return,
        }
    }
}

fn run_random(seed: u64) {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    for fs in &fss {
        fs.set_sync_yields((seed % 13) as u32);
    }
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    let model: Rc<RefCell<Model>> = Rc::new(RefCell::new(Model {
        acked: Vec::new(),
        doubt: vec![None; 3],
    }));
    let mut rng = Rng::new(seed);
    let yields_before_crash = 200 + rng.below(3000);
    let poison = rng.below(3) == 0;
    let poison_at = 20 + rng.below(300);
    block_on({
        let (fss, catalog_file, model) = (fss.clone(), catalog_file.clone(), model.clone());
        async move {
            let shards = start(&fss, &catalog_file).await;
            setup(&shards).await;
            for w in 0..3 {
                spawn(writer(shards.clone(), w, seed, model.clone()));
            }
            if poison {
                fss[(seed % SHARDS as u64) as usize].set_fault(Some(FaultPlan {
                    at_op: fss[(seed % SHARDS as u64) as usize].ops() + poison_at,
                    errno: libc::EIO,
                    sticky: false,
                }));
            }
            for _ in 0..yields_before_crash {
                futures_lite::future::yield_now().await;
            }
            let m = model.borrow();
            eprintln!(
                "seed {seed}: crash after {} acknowledged transfers, poison {poison}",
                m.acked.len()
            );
            // Returning drops every task mid-flight: the crash.
        }
    })
    .expect("executor");
    let after: Vec<MemFs> = fss.iter().map(|fs| fs.crash(Some(seed))).collect();
    block_on(async move {
        let shards = start(&after, &catalog_file).await;
        settled(&shards, seed).await;
        let got = balances(&shards).await;
        assert_eq!(
            got.iter().sum::<i64>(),
            BALANCE * ACCOUNTS as i64,
            "seed {seed}: the total changed: {got:?}"
        );
        let (acked, doubt): (Vec<Move>, Vec<Move>) = {
            let m = model.borrow();
            (m.acked.clone(), m.doubt.iter().flatten().copied().collect())
        };
        let mut expected = vec![BALANCE; ACCOUNTS];
        for (from, to, amount) in &acked {
            expected[*from] -= amount;
            expected[*to] += amount;
        }
        let explained = (0..1u32 << doubt.len()).any(|mask| {
            let mut candidate = expected.clone();
            for (bit, (from, to, amount)) in doubt.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    candidate[*from] -= amount;
                    candidate[*to] += amount;
                }
            }
            candidate == got
        });
        assert!(
            explained,
            "seed {seed}: balances {got:?} are not the acknowledged transfers {expected:?} plus some of {doubt:?}"
        );
        transfer_works(&shards).await;
    })
    .expect("executor");
}

#[test]
fn random_transfers_survive_crashes_and_poisoned_shards() {
    for_seeds(fresh_seeds(8), run_random);
}
