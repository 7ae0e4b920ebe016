//! A cross-shard transaction's point-in-time history carries its decision
//! time on every participant, however far apart their commits apply: a
//! restore to any instant holds all of it or none of it.

use std::cell::RefCell;
use std::ops::Bound;
use std::rc::Rc;

use super::index_crash::{SHARDS, start};
use super::txn_crash::{ACCOUNTS, owner, transfer_body};
use crate::api::dispatch::{execute, serve};
use crate::api::fixtures::attr;
use crate::api::messages::{MeshReply, MeshRequest, TxnAction, TxnId, Vote, as_ref_bound};
use crate::api::pitr::{decode, table_history_prefix};
use crate::api::protocol::operation::Operation;
use crate::api::protocol::request::{Fields, parse_body};
use crate::api::shard::Shard;
use crate::api::table::ddl;
use crate::api::txn::plan::write_plan;
use crate::catalog::{CatalogCommand, KeyType, PointInTime, TableDef};
use crate::engine::io::dma::{block_on, sleep_ms};
use crate::engine::io::mem::MemFs;
use crate::model::key::prefix_end;

/// A decision time no apply could stamp by itself.
const DECIDED_MS: u64 = 1_000_000_007;

/// The times of shard `shard`'s history records of table `id`.
async fn history_times(shard: &Shard, id: u32) -> Vec<u64> {
    let prefix = table_history_prefix(id);
    let upper = prefix_end(&prefix);
    let records = shard
        .store
        .scan(
            Bound::Included(&prefix[..]),
            as_ref_bound(&upper),
            false,
            1000,
            1 << 20,
        )
        .await
        .expect("scan history");
    records
        .iter()
        .map(|(_, value)| decode(value).expect("a history record").time_ms)
        .collect()
}

#[test]
fn every_participant_stamps_a_transactions_history_with_its_decision_time() {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    block_on(async move {
        let shards = start(&fss, &catalog_file).await;
        let mut table = TableDef::for_tests("acct", attr("pk", KeyType::S), None, vec![]);
        table.pitr = Some(PointInTime {
            enabled_ms: 1,
            recovery_period_days: 35,
        });
        ddl::apply(&shards[0], CatalogCommand::Create(table))
            .await
            .expect("create table");
        let puts: Vec<String> = (0..ACCOUNTS)
            .map(|i| {
                format!(
                    r#"{{"PutRequest":{{"Item":{{"pk":{{"S":"a{i}"}},"bal":{{"N":"100"}}}}}}}}"#
                )
            })
            .collect();
        let body = format!(r#"{{"RequestItems":{{"acct":[{}]}}}}"#, puts.join(","));
        execute(
            &shards[0],
            Operation::BatchWriteItem,
            body.into_bytes(),
            false,
        )
        .await
        .expect("open the accounts");
        let id = shards[0].catalog().table("acct").expect("table").id;
        let before: Vec<usize> = {
            let mut counts = Vec::new();
            for shard in &shards {
                counts.push(history_times(shard, id).await.len());
            }
            counts
        };

        // From an account of shard 0 to one of shard 1, driven message by
        // message: shard 1 commits, time passes, then shard 0.
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
        let txn: TxnId = shards[0].txns.begin(0);
        for (p, actions) in shares {
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
        for p in [1usize, 0] {
            let request = MeshRequest::TxnDecide {
                txn,
                commit: true,
                durable: true,
                decided_ms: Some(DECIDED_MS),
            };
            match serve(&shards[p], request).await {
                MeshReply::Written(Ok(_)) => {}
                other => panic!(
                    "commit on {p}: {:?}",
                    crate::api::messages::unexpected(&other)
                ),
            }
            sleep_ms(5).await;
        }
        shards[0].txns.finish(txn);
        for (p, shard) in shards.iter().enumerate() {
            let times = history_times(shard, id).await;
            assert_eq!(times.len(), before[p] + 1, "one change on shard {p}");
            assert_eq!(times.last(), Some(&DECIDED_MS), "shard {p}: {times:?}");
        }
    })
    .expect("executor");
}
