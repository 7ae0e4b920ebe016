//! Transactions: TransactWriteItems and TransactGetItems, serializable and
//! atomic across shards.
//!
//! - `plan`: decoding and validation (DynamoDB's messages and limits).
//! - `local`: a transaction's work on one shard — lock its items in key
//!   order (each wait bounded: `transaction_lock_wait_ms`), check the
//!   conditions, then either commit at once (all items on one shard: one
//!   engine batch, one WAL record, the **single-shard fast path**) or
//!   durably prepare and hold the items until the decision.
//! - `coordinator`: two-phase commit across shards; the coordinator is the
//!   shard that received the request (a transaction wholly on another
//!   shard is forwarded there and takes the fast path).
//! - `read`: TransactGetItems, reading under the same locks on every shard.
//! - `records`: the prepare, decision and token records.
//!
//! **Isolation.** Items are locked from the check of their conditions to
//! the application of their writes, on every shard (strict two-phase
//! locking), and TransactGetItems reads under those locks: transactions
//! are serializable, and a transactional read never sees part of one.
//! A single-item write to an item a transaction holds fails at once with
//! TransactionConflictException (as DynamoDB's does); a transaction that
//! cannot lock an item within the bound is cancelled (TransactionConflict),
//! so no cycle of waits lasts. GetItem, Query and Scan read committed
//! data: each shard applies a transaction's writes there in one batch.
//!
//! **Durability.** A participant's prepare record is durable before its
//! yes vote; the coordinator's decision record is durable before any
//! participant commits; a participant's commit removes its prepare record
//! in the batch that applies the writes. The client is answered once every
//! participant has applied (the prepare and decision records already make
//! the transaction durable); the decision record is deleted only once every
//! participant's commit is durable.
//!
//! **Recovery** ([`open`]): each shard re-locks the items of its prepared
//! transactions before it serves, then asks each one's coordinator for the
//! outcome (commit if a decision record exists, abort otherwise: presumed
//! abort); a coordinator also re-sends commit for every decision record it
//! finds, then deletes it. Both are idempotent.
//!
//! **ClientRequestToken**: kept on the shard its hash names, which takes
//! part in the transaction; its record commits with the writes.

pub mod coordinator;
pub mod join;
pub mod local;
pub mod plan;
pub mod read;
pub mod records;

use std::ops::Bound;
use std::rc::Rc;
use std::time::Duration;

use crate::api::messages::{MeshReply, MeshRequest, Resolution, TxnId, as_ref_bound};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::txns::{Prepared, PreparedWrite};
use crate::model::key::prefix_end;

use records::{
    DECISION_PREFIX, PREPARE_PREFIX, TOKEN_PREFIX, decision_key, decision_seq, decode_decision,
    decode_prepare, decode_token, prepare_txn, token_key, token_of,
};

/// Serves the transaction mesh requests (leaves: they touch only this
/// shard); None for any other request.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> Result<MeshReply, MeshRequest> {
    Ok(match request {
        MeshRequest::TxnPrepare {
            txn,
            actions,
            token,
        } => MeshReply::Vote(local::prepare(shard, txn, actions, token).await),
        MeshRequest::TxnDecide {
            txn,
            commit,
            durable,
            decided_ms,
        } => {
            shard.txns.wait_ready().await;
            MeshReply::Written(local::decide(shard, txn, commit, durable, decided_ms).await)
        }
        MeshRequest::TxnSync => {
            let synced = match shard.store.durable_marker() {
                Ok(marker) => marker.wait().await.map_err(ApiError::from),
                Err(e) => Err(e.into()),
            };
            MeshReply::Done(synced)
        }
        MeshRequest::TxnResolve { txn } => MeshReply::Resolved(resolve(shard, txn).await),
        MeshRequest::TxnRead { keys } => {
            shard.txns.wait_ready().await;
            read::read_and_hold(shard, keys).await
        }
        MeshRequest::TxnRelease { read } => {
            shard.txns.release_read(read);
            MeshReply::Done(Ok(()))
        }
        other => return Err(other),
    })
}

/// The coordinator's answer for one of its transactions.
async fn resolve(shard: &Shard, txn: TxnId) -> Resolution {
    shard.txns.wait_ready().await;
    if shard.txns.is_decided(txn.seq) {
        Resolution::Commit
    } else if shard.txns.is_active(txn.seq) {
        Resolution::Pending
    } else {
        Resolution::Abort
    }
}

/// Every entry under `prefix`, in key order.
async fn scan_prefix(shard: &Shard, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ApiError> {
    let upper = prefix_end(prefix);
    let mut from = Bound::Included(prefix.to_vec());
    let mut all = Vec::new();
    loop {
        let page = shard
            .store
            .scan(
                as_ref_bound(&from),
                as_ref_bound(&upper),
                false,
                1024,
                1 << 20,
            )
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        from = Bound::Excluded(last.clone());
        all.extend(page);
    }
    Ok(all)
}

/// Recovers this shard's transactions before it serves: re-locks prepared
/// transactions' items, loads decisions and tokens; then, in the
/// background, resolves every prepared transaction with its coordinator
/// and re-drives every decision to its participants.
pub async fn open(shard: &Rc<Shard>) -> Result<(), ApiError> {
    // Prepare entries, grouped by transaction (they are contiguous).
    let mut entries: Vec<(TxnId, crate::engine::WriteBatch)> = Vec::new();
    for (key, value) in scan_prefix(shard, &PREPARE_PREFIX).await? {
        let (Some(txn), Some(ops)) = (prepare_txn(&key), decode_prepare(&value)) else {
            return Err(ApiError::internal("malformed transaction prepare record"));
        };
        match entries.last_mut() {
            Some((last, writes)) if *last == txn => writes.extend(ops),
            _ => entries.push((txn, ops)),
        }
    }
    let mut in_doubt = Vec::new();
    for (txn, ops) in entries {
        let mut prepared = Prepared {
            writes: Vec::with_capacity(ops.len()),
            keys: Vec::with_capacity(ops.len()),
            guards: Vec::with_capacity(ops.len()),
        };
        for (storage, value) in ops {
            if !storage.starts_with(&TOKEN_PREFIX) {
                // Nothing else runs yet: the lock is free unless two
                // records name one item, which a prepare never allows.
                let timeout = shard.services.sleep(Duration::from_secs(1));
                let Some(guard) = shard.locks.lock_within(storage.clone(), timeout).await else {
                    return Err(ApiError::internal(
                        "two prepared transactions hold one item",
                    ));
                };
                shard.txns.claim(&storage, txn);
                prepared.guards.push(guard);
                prepared.keys.push(storage.clone());
            }
            prepared.writes.push(PreparedWrite {
                storage,
                old: None,
                old_known: false,
                new: None,
                value,
            });
        }
        if txn.coordinator == shard.id {
            shard.txns.seen_seq(txn.seq);
        }
        shard.txns.add_prepared(txn, prepared);
        in_doubt.push(txn);
    }
    let mut decisions = Vec::new();
    for (key, value) in scan_prefix(shard, &DECISION_PREFIX).await? {
        let (Some(seq), Some(participants)) = (decision_seq(&key), decode_decision(&value)) else {
            return Err(ApiError::internal("malformed transaction decision record"));
        };
        shard.txns.decided(seq);
        shard.txns.seen_seq(seq);
        decisions.push((seq, participants));
    }
    load_tokens(shard).await?;
    shard.txns.set_ready();
    for txn in in_doubt {
        let shard2 = shard.clone();
        shard.services.spawn(Box::pin(async move {
            resolve_prepared(&shard2, txn).await;
        }));
    }
    for (seq, participants) in decisions {
        let shard2 = shard.clone();
        shard.services.spawn(Box::pin(async move {
            redrive(&shard2, seq, participants).await;
        }));
    }
    Ok(())
}

async fn load_tokens(shard: &Shard) -> Result<(), ApiError> {
    let mut stale = Vec::new();
    let mut found: Vec<(u64, u128, String)> = Vec::new();
    for (key, value) in scan_prefix(shard, &TOKEN_PREFIX).await? {
        match (token_of(&key), decode_token(&value)) {
            (Some(token), Some((completed, params))) => {
                found.push((completed, params, token.to_string()))
            }
            _ => stale.push(key),
        }
    }
    found.sort();
    {
        let mut tokens = shard.txns.tokens.borrow_mut();
        for (completed, params, token) in found {
            tokens.committed(&token, params, completed);
        }
        let now = crate::api::shard::outbox::now_ms();
        let window = shard.txns.token_window_ms;
        for token in tokens.expire(now, window, shard.txns.tokens_max) {
            stale.push(token_key(&token));
        }
    }
    if !stale.is_empty() {
        // Not awaited: a delete lost to a crash is found stale again.
        let _ = shard
            .store
            .write(stale.into_iter().map(|k| (k, None)).collect())?;
    }
    Ok(())
}

const RETRY: Duration = Duration::from_millis(50);

/// Asks a prepared transaction's coordinator for its outcome and applies
/// it, retrying until it can.
async fn resolve_prepared(shard: &Rc<Shard>, txn: TxnId) {
    loop {
        let answer = call_or_local(shard, txn.coordinator, MeshRequest::TxnResolve { txn }).await;
        let commit = match answer {
            Ok(MeshReply::Resolved(Resolution::Commit)) => true,
            Ok(MeshReply::Resolved(Resolution::Abort)) => false,
            _ => {
                shard.services.sleep(RETRY).await;
                continue;
            }
        };
        match local::decide(shard, txn, commit, true, None).await {
            Ok(_) => {
                shard.txns.count_recovered();
                return;
            }
            Err(e) => {
                tracing::warn!(shard = shard.id, error = %e, "applying a recovered transaction failed; retrying");
                shard.services.sleep(RETRY * 20).await;
            }
        }
    }
}

/// Re-sends commit for a decision found at recovery until every
/// participant has applied it, then deletes the record.
async fn redrive(shard: &Rc<Shard>, seq: u64, participants: Vec<u32>) {
    let txn = TxnId {
        coordinator: shard.id,
        seq,
    };
    for participant in participants {
        loop {
            let request = MeshRequest::TxnDecide {
                txn,
                commit: true,
                durable: true,
                decided_ms: None,
            };
            match call_or_local(shard, participant, request).await {
                Ok(MeshReply::Written(Ok(_))) => break,
                _ => shard.services.sleep(RETRY).await,
            }
        }
    }
    let _ = shard.store.write(vec![(decision_key(seq), None)]);
    shard.txns.forget_decision(seq);
}
