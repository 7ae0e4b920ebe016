//! What meets a prepared transaction, deterministically (whole shards in
//! one process): a transaction on one of its items is cancelled with
//! TransactionConflict once its bounded wait runs out, a single-item write
//! fails at once with TransactionConflictException, a TransactGetItems is
//! cancelled with TransactionConflict, and a request repeating the
//! prepared transaction's ClientRequestToken gets
//! TransactionInProgressException. After the decision, all go through.

use std::cell::RefCell;
use std::rc::Rc;

use super::index_crash::{SHARDS, start};
use super::txn_crash::{pk, setup, transfer_body};
use crate::api::dispatch::{execute, serve};
use crate::api::messages::{MeshReply, MeshRequest, TxnAction, TxnToken, Vote};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::operation::Operation;
use crate::api::protocol::request::{Fields, parse_body};
use crate::api::shard::Shard;
use crate::api::txn::plan::{token_shard, write_plan};
use crate::engine::io::dma::block_on;
use crate::engine::io::mem::MemFs;

async fn run(shards: &[Rc<Shard>], op: Operation, body: &str) -> Result<Vec<u8>, ApiError> {
    execute(&shards[0], op, body.as_bytes().to_vec(), false).await
}

fn reasons(e: &ApiError) -> Vec<&'static str> {
    e.reasons
        .as_ref()
        .map(|r| r.0.iter().map(|r| r.code).collect())
        .unwrap_or_default()
}

#[test]
fn a_prepared_transaction_holds_its_items() {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    block_on(async move {
        let shards = start(&fss, &catalog_file).await;
        setup(&shards).await;
        // Prepare a transfer a0 → a1 under a token, on every shard it
        // involves, and leave it undecided.
        let mut body = transfer_body(0, 1, 10);
        body.insert_str(1, r#""ClientRequestToken":"held-token","#);
        let mut scratch = body.clone().into_bytes();
        let json = parse_body(&mut scratch).expect("json");
        let plan = write_plan(&shards[0], &Fields::of(&json).expect("fields")).expect("plan");
        let token: TxnToken = plan.token.clone().expect("token");
        let at = token_shard(&shards[0], &token.token);
        let mut shares: Vec<(Vec<TxnAction>, Option<TxnToken>)> = vec![(vec![], None), (vec![], None)];
        for (action, o) in plan.actions.into_iter().zip(plan.owners) {
            shares[o as usize].0.push(action);
        }
        shares[at as usize].1 = Some(token);
        let txn = shards[0].txns.begin(0);
        let mut voted = Vec::new();
        for (p, (actions, token)) in shares.into_iter().enumerate() {
            if actions.is_empty() && token.is_none() {
                continue;
            }
            let request = MeshRequest::TxnPrepare { txn, actions, token };
            match serve(&shards[p], request).await {
                MeshReply::Vote(Ok(Vote::Yes { .. })) => voted.push(p),
                other => panic!("prepare on {p}: {:?}", crate::api::messages::unexpected(&other)),
            }
        }
        // Another transaction on a0: cancelled after its bounded wait.
        let e = run(&shards, Operation::TransactWriteItems, &transfer_body(0, 2, 1))
            .await
            .expect_err("conflict");
        assert_eq!(reasons(&e), ["TransactionConflict", "None"], "{}", e.message);
        // A single write to a1: refused at once.
        let put = format!(r#"{{"TableName":"acct","Item":{{"pk":{{"S":"{}"}}}}}}"#, pk(1));
        let e = run(&shards, Operation::PutItem, &put).await.expect_err("conflict");
        assert!(e.type_name.ends_with("TransactionConflictException"), "{e:?}");
        let update = format!(
            r#"{{"TableName":"acct","Key":{{"pk":{{"S":"{}"}}}},"UpdateExpression":"SET x = :x","ExpressionAttributeValues":{{":x":{{"N":"1"}}}}}}"#,
            pk(0)
        );
        let e = run(&shards, Operation::UpdateItem, &update).await.expect_err("conflict");
        assert!(e.type_name.ends_with("TransactionConflictException"), "{e:?}");
        // A transactional read of a0 and a2: cancelled on a0.
        let get = |i: usize| format!(r#"{{"Get":{{"TableName":"acct","Key":{{"pk":{{"S":"{}"}}}}}}}}"#, pk(i));
        let read = format!(r#"{{"TransactItems":[{},{}]}}"#, get(0), get(2));
        let e = run(&shards, Operation::TransactGetItems, &read).await.expect_err("conflict");
        assert_eq!(reasons(&e)[0], "TransactionConflict", "{}", e.message);
        // The same token again while the first runs.
        let e = run(&shards, Operation::TransactWriteItems, &body).await.expect_err("in progress");
        assert!(e.type_name.ends_with("TransactionInProgressException"), "{e:?}");
        // Commit it: everything goes through, and the token repeats.
        for p in voted {
            match serve(&shards[p], MeshRequest::TxnDecide {
                    txn,
                    commit: true,
                    durable: true, decided_ms: None,
                }).await {
                MeshReply::Written(Ok(_)) => {}
                other => panic!("commit on {p}: {:?}", crate::api::messages::unexpected(&other)),
            }
        }
        shards[0].txns.finish(txn);
        run(&shards, Operation::TransactWriteItems, &transfer_body(0, 2, 1)).await.expect("now free");
        run(&shards, Operation::PutItem, &put).await.expect("now free");
        run(&shards, Operation::TransactGetItems, &read).await.expect("now free");
        run(&shards, Operation::TransactWriteItems, &body).await.expect("a repeat succeeds");
        for shard in &shards {
            assert_eq!(shard.txns.intent_count(), 0);
        }
    })
    .expect("executor");
}
