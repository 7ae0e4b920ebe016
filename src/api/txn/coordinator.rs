//! The coordinator's side of a cross-shard TransactWriteItems: two-phase
//! commit over the mesh.
//!
//! 1. **Prepare**: one `TxnPrepare` per participant, all at once. Each
//!    locks its items (each wait bounded), checks its conditions and makes
//!    its writes durable as a prepare record before voting yes.
//! 2. **Decide**: all yes → the decision record is made durable here; any
//!    no (or error) → abort, no record (presumed abort).
//! 3. **Complete**: `TxnDecide` to every participant, which applies its
//!    prepared writes (one engine batch with their index changes and the
//!    deletion of its prepare record) and releases its items, answering
//!    once applied. The client is answered then: its next read sees the
//!    writes, and the transaction is durable already (a crash now finds
//!    the prepare and decision records and commits again).
//! 4. **Forget**: once every participant reports everything durable
//!    (`TxnSync`), the decision record is deleted, beside the reply.
//!
//! The whole exchange runs as a task of its own: a client that goes away
//! mid-protocol cannot leave participants prepared. Every call is a leaf
//! on the participant (a fan-out, never a nested call).

use std::rc::Rc;

use crate::api::messages::{
    MeshReply, MeshRequest, TxnAction, TxnId, TxnToken, Vote, WriteReport, unexpected,
};
use crate::api::protocol::error::{ApiError, CancellationReason};
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{LocalFuture, Shard, scope};

use super::join::join_all;
use super::records::{decision_key, encode_decision};

/// How a transaction ended.
pub enum Finished {
    Committed {
        report: WriteReport,
        sizes: Vec<(usize, usize)>,
    },
    /// Cancelled: one reason per action, in request order.
    Cancelled(Vec<CancellationReason>),
    /// A ClientRequestToken's repeat: nothing done.
    Repeat,
}

/// One participant's share: its shard, its actions, and the token if the
/// token is its to keep.
pub struct Share {
    pub shard: u32,
    pub actions: Vec<TxnAction>,
    pub token: Option<TxnToken>,
}

/// Runs two-phase commit over `shares` as its own task.
pub async fn two_phase(
    shard: &Rc<Shard>,
    shares: Vec<Share>,
    action_count: usize,
) -> Result<Finished, ApiError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let task_shard = shard.clone();
    // The request's scope goes with the task: its syncs are the request's
    // sync phase in the slow-request log.
    let request_scope = scope::current();
    shard.services.spawn(Box::pin(async move {
        let run = run(&task_shard, shares, action_count);
        let result = match request_scope {
            Some(request_scope) => scope::Scoped::new(request_scope, run).await,
            None => run.await,
        };
        let _ = tx.send(result);
    }));
    rx.await
        .map_err(|_| ApiError::internal("transaction coordinator task ended without an outcome"))?
}

async fn run(
    shard: &Rc<Shard>,
    shares: Vec<Share>,
    action_count: usize,
) -> Result<Finished, ApiError> {
    let txn = shard.txns.begin(shard.id);
    let result = drive(shard, txn, shares, action_count).await;
    shard.txns.finish(txn);
    match &result {
        Ok(Finished::Committed { .. }) => shard.txns.count_commit(),
        Ok(Finished::Cancelled(_)) => shard.txns.count_cancel(),
        _ => {}
    }
    result
}

async fn drive(
    shard: &Rc<Shard>,
    txn: TxnId,
    shares: Vec<Share>,
    action_count: usize,
) -> Result<Finished, ApiError> {
    let participants: Vec<u32> = shares.iter().map(|s| s.shard).collect();
    let mut tables: Vec<u32> = shares
        .iter()
        .flat_map(|s| s.actions.iter().map(|a| a.table.id))
        .collect();
    tables.sort_unstable();
    tables.dedup();
    let calls: Vec<LocalFuture<Result<MeshReply, ApiError>>> = shares
        .into_iter()
        .map(|share| {
            let shard = shard.clone();
            let request = MeshRequest::TxnPrepare {
                txn,
                actions: share.actions,
                token: share.token,
            };
            Box::pin(async move { call_or_local(&shard, share.shard, request).await })
                as LocalFuture<_>
        })
        .collect();
    let votes = join_all(calls).await;
    let mut prepared = Vec::new();
    let mut sizes = Vec::new();
    let mut reasons = vec![CancellationReason::NONE; action_count];
    let (mut cancelled, mut repeat, mut error) = (false, false, None);
    let mut prepare_sync_us = 0;
    for (participant, vote) in participants.iter().zip(votes) {
        match vote {
            Ok(MeshReply::Vote(Ok(Vote::Yes { sizes: s, sync_us }))) => {
                prepared.push(*participant);
                sizes.extend(s);
                // The prepares synced side by side: the longest counts.
                prepare_sync_us = prepare_sync_us.max(sync_us);
            }
            Ok(MeshReply::Vote(Ok(Vote::No { reasons: r }))) => {
                cancelled = true;
                for (index, reason) in r {
                    if let Some(slot) = reasons.get_mut(index) {
                        *slot = reason;
                    }
                }
            }
            Ok(MeshReply::Vote(Ok(Vote::Repeat))) => repeat = true,
            Ok(MeshReply::Vote(Err(e))) | Err(e) => {
                error.get_or_insert(e);
            }
            Ok(other) => {
                error.get_or_insert(unexpected(&other));
            }
        }
    }
    scope::add_sync_us(prepare_sync_us);
    if cancelled || repeat || error.is_some() {
        decide_all(shard, txn, &prepared, false, false, None).await;
        return match error {
            // A client error of the token's shard (a mismatch, a repeat in
            // progress) wins over the actions' reasons, as DynamoDB checks
            // the token first.
            Some(e) => Err(e),
            None if repeat => Ok(Finished::Repeat),
            None => Ok(Finished::Cancelled(reasons)),
        };
    }
    // Every participant is prepared: the decision record makes it commit.
    // The permit keeps a backup cut from falling between the decision and
    // its application on every participant (`shard::cut`).
    let _permit = shard.cut.decision().await;
    // A table whose final backup was cut meanwhile (its deletion is under
    // way) takes no more writes: abort, as if it were gone.
    if tables.iter().any(|t| shard.cut.is_fenced(*t)) {
        decide_all(shard, txn, &prepared, false, false, None).await;
        return Err(ApiError::resource_not_found());
    }
    // The decision's instant: every participant's history carries it.
    let decided_ms = crate::api::streams::now_ms();
    let record = vec![(decision_key(txn.seq), Some(encode_decision(&participants)))];
    let durable = match shard.store.write(record) {
        Ok(durable) => durable,
        Err(e) => {
            // Nothing written: abort is still the outcome.
            decide_all(shard, txn, &prepared, false, false, None).await;
            return Err(e.into());
        }
    };
    let waiting = std::time::Instant::now();
    let durable = durable.wait().await;
    scope::add_sync_us(u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX));
    if let Err(e) = durable {
        // The record may or may not survive: the participants stay
        // prepared (in doubt) until the restart this poisoned store
        // needs, when recovery finds the decision or presumes abort.
        return Err(e.into());
    }
    shard.txns.decided(txn.seq);
    // Applied (visible) on every participant is enough to answer: the
    // transaction is durable in the prepare and decision records.
    let reports = decide_all(shard, txn, &participants, true, false, Some(decided_ms)).await;
    let mut report = WriteReport::default();
    let mut failed = None;
    for result in reports {
        match result {
            Ok(r) => {
                report.collections.extend(r.collections);
                report.index_units.extend(r.index_units);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        // Committed (the decision is durable) but not applied everywhere:
        // the decision record stays, and recovery re-drives it.
        return Err(e);
    }
    // The decision is forgotten once every participant's commit is
    // durable (until then recovery may need it), beside the reply.
    let task_shard = shard.clone();
    shard.services.spawn(Box::pin(async move {
        forget_when_synced(&task_shard, txn, participants).await;
    }));
    Ok(Finished::Committed { report, sizes })
}

async fn forget_when_synced(shard: &Rc<Shard>, txn: TxnId, participants: Vec<u32>) {
    let calls: Vec<LocalFuture<Result<MeshReply, ApiError>>> = participants
        .iter()
        .map(|p| {
            let (shard, p) = (shard.clone(), *p);
            Box::pin(async move { call_or_local(&shard, p, MeshRequest::TxnSync).await })
                as LocalFuture<_>
        })
        .collect();
    let synced = join_all(calls)
        .await
        .into_iter()
        .all(|r| matches!(r, Ok(MeshReply::Done(Ok(())))));
    if synced {
        let _ = shard.store.write(vec![(decision_key(txn.seq), None)]);
        shard.txns.forget_decision(txn.seq);
    }
    // Otherwise a shard is poisoned: the record stays for recovery.
}

/// Sends the decision to `participants`; their replies, in order.
pub async fn decide_all(
    shard: &Rc<Shard>,
    txn: TxnId,
    participants: &[u32],
    commit: bool,
    durable: bool,
    decided_ms: Option<u64>,
) -> Vec<Result<WriteReport, ApiError>> {
    let calls: Vec<LocalFuture<Result<WriteReport, ApiError>>> = participants
        .iter()
        .map(|p| {
            let (shard, p) = (shard.clone(), *p);
            Box::pin(async move {
                let request = MeshRequest::TxnDecide {
                    txn,
                    commit,
                    durable,
                    decided_ms,
                };
                match call_or_local(&shard, p, request).await? {
                    MeshReply::Written(result) => result,
                    other => Err(unexpected(&other)),
                }
            }) as LocalFuture<_>
        })
        .collect();
    join_all(calls).await
}
