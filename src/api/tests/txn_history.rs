//! A cross-shard transaction's point-in-time history carries its decision
//! time on every participant, however far apart their commits apply: a
//! restore to any instant holds all of it or none of it.

use std::cell::RefCell;
use std::ops::Bound;
use std::rc::Rc;

use super::index_crash::{SHARDS, start};
use super::txn_crash::{cross_shard_transfer, prepare_yes, setup_table};
use crate::api::dispatch::serve;
use crate::api::fixtures::attr;
use crate::api::messages::{MeshReply, MeshRequest, TxnId, as_ref_bound};
use crate::api::pitr::{decode, table_history_prefix};
use crate::api::shard::Shard;
use crate::catalog::{KeyType, PointInTime, TableDef};
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
        setup_table(&shards, table).await;
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
        let txn: TxnId = shards[0].txns.begin(0);
        for (p, actions) in cross_shard_transfer(&shards).2 {
            prepare_yes(&shards, txn, p, actions).await;
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
