//! A transaction's work on one shard, as a participant (or on the only
//! shard involved: the single-shard fast path): lock the items, check the
//! conditions, then either apply everything as one engine batch (fast
//! path), or durably prepare and wait for the coordinator's decision.
//!
//! Every handler here is a leaf: it awaits only this shard's locks and
//! store, never another shard.

use std::rc::Rc;

use crate::api::index::keys::check_item as check_index_keys;
use crate::api::messages::{TxnAction, TxnId, TxnOp, TxnToken, Vote, WriteReport};
use crate::api::protocol::error::{ApiError, CancellationReason};
use crate::api::shard::Shard;
use crate::api::shard::locks::KeyGuard;
use crate::api::shard::outbox::now_ms;
use crate::api::shard::txns::{Prepared, PreparedWrite, TokenState};
use crate::api::table::key::{ItemKey, check_item_size};
use crate::api::write::collection;
use crate::api::write::condition::{check, updated_item};
use crate::api::write::{BaseWrite, Limits, WriteOrigin, commit_with, current_indexed_tables};
use crate::engine::WriteBatch;
use crate::model::codec::decode_item;
use crate::model::value::item_size;

use super::coordinator::Finished;
use super::records::{
    TOKEN_PREFIX, decode_token, encode_prepare, encode_token, prepare_entry_key, prepare_key,
    token_key,
};

/// Reasons of the actions that cannot go through, by request position.
pub type Reasons = Vec<(usize, CancellationReason)>;

/// Items locked and checked: what the transaction writes here.
pub struct Checked {
    txn: TxnId,
    keys: Vec<Vec<u8>>,
    guards: Vec<KeyGuard>,
    writes: Vec<BaseWrite>,
    /// (request position, larger of old and new item size).
    pub sizes: Vec<(usize, usize)>,
}

impl Checked {
    /// Releases the locks and intents (nothing was written).
    fn release(self, shard: &Shard) {
        shard.txns.release(&self.keys, self.txn);
        drop(self.guards);
    }
}

/// What a token's shard knows of a request's token.
pub enum TokenCheck {
    /// New: marked in progress here until the transaction ends.
    Fresh,
    /// Committed already with the same parameters.
    Repeat,
}

/// Checks a ClientRequestToken on its shard: a repeat with other
/// parameters, or one whose first request still runs, is refused.
pub fn check_token(shard: &Shard, token: &TxnToken) -> Result<TokenCheck, ApiError> {
    let txns = &shard.txns;
    let mut tokens = txns.tokens.borrow_mut();
    match tokens.get(&token.token, now_ms(), txns.token_window_ms) {
        Some(entry) if entry.params != token.params => {
            Err(ApiError::idempotent_parameter_mismatch())
        }
        Some(entry) if entry.state == TokenState::InProgress => {
            Err(ApiError::transaction_in_progress())
        }
        Some(_) => Ok(TokenCheck::Repeat),
        None => {
            tokens.begin(&token.token, token.params);
            Ok(TokenCheck::Fresh)
        }
    }
}

/// The token's record and the deletes of tokens past their window or the
/// count bound, for the batch that commits the transaction.
fn token_records(shard: &Shard, token: &TxnToken, completed_ms: u64) -> WriteBatch {
    let mut batch = expired_tokens(shard, completed_ms, 1);
    batch.push((
        token_key(&token.token),
        Some(encode_token(completed_ms, token.params)),
    ));
    batch
}

/// Deletes of the tokens past their window, or past the count bound with
/// `room` more to come.
fn expired_tokens(shard: &Shard, now_ms: u64, room: usize) -> WriteBatch {
    let txns = &shard.txns;
    let expired = txns.tokens.borrow_mut().expire(
        now_ms,
        txns.token_window_ms,
        txns.tokens_max.saturating_sub(room),
    );
    expired.iter().map(|t| (token_key(t), None)).collect()
}

/// Marks committed the tokens whose records a batch wrote (and forgets
/// the expired ones).
fn note_tokens(shard: &Shard, batch: &[(Vec<u8>, Option<Vec<u8>>)]) {
    if batch.is_empty() {
        return;
    }
    let stale = expired_tokens(shard, now_ms(), 1);
    if !stale.is_empty() {
        // Not awaited: a delete lost to a crash is found stale again.
        let _ = shard.store.write(stale);
    }
    for (key, value) in batch {
        if let (Some(token), Some(value)) = (super::records::token_of(key), value)
            && let Some((completed_ms, params)) = decode_token(value)
        {
            shard
                .txns
                .tokens
                .borrow_mut()
                .committed(token, params, completed_ms);
        }
    }
}

/// Locks the actions' items (sorted, each wait bounded), reads them and
/// evaluates every condition. Ok(Err(reasons)) cancels: nothing is held.
pub async fn lock_and_check(
    shard: &Rc<Shard>,
    txn: TxnId,
    actions: &[TxnAction],
) -> Result<Result<Checked, Reasons>, ApiError> {
    shard.store.write_room().await;
    let mut order: Vec<usize> = (0..actions.len()).collect();
    order.sort_by(|a, b| actions[*a].storage.cmp(&actions[*b].storage));
    let mut checked = Checked {
        txn,
        keys: Vec::with_capacity(actions.len()),
        guards: Vec::with_capacity(actions.len()),
        writes: Vec::new(),
        sizes: Vec::with_capacity(actions.len()),
    };
    for i in order {
        let key = actions[i].storage.clone();
        let timeout = shard.services.sleep(shard.txns.lock_wait);
        match shard.locks.lock_within(key.clone(), timeout).await {
            Some(guard) if shard.txns.claim(&key, txn) => {
                checked.guards.push(guard);
                checked.keys.push(key);
            }
            _ => {
                shard.txns.count_conflict();
                checked.release(shard);
                return Ok(Err(vec![(
                    actions[i].index,
                    CancellationReason::conflict(),
                )]));
            }
        }
    }
    match evaluate(shard, actions, &mut checked).await {
        Ok(reasons) if reasons.is_empty() => Ok(Ok(checked)),
        Ok(reasons) => {
            checked.release(shard);
            Ok(Err(reasons))
        }
        Err(e) => {
            checked.release(shard);
            Err(e)
        }
    }
}

/// Reads each item (under its lock), checks its condition and builds its
/// write; returns the reasons of the actions that fail.
async fn evaluate(
    shard: &Rc<Shard>,
    actions: &[TxnAction],
    checked: &mut Checked,
) -> Result<Reasons, ApiError> {
    let mut reasons = Reasons::new();
    for action in actions {
        let old = match shard.store.get(&action.storage).await? {
            Some(bytes) => Some(decode_item(&bytes)?),
            None => None,
        };
        if let Err(e) = check(action.condition.as_ref(), old.as_ref(), action.return_old) {
            reasons.push((action.index, CancellationReason::condition_failed(e.item)));
            continue;
        }
        let new = match &action.op {
            TxnOp::ConditionCheck => {
                let size = old.as_ref().map_or(0, item_size);
                checked.sizes.push((action.index, size));
                continue;
            }
            TxnOp::Delete if old.is_none() => {
                checked.sizes.push((action.index, 0));
                continue;
            }
            TxnOp::Delete => None,
            // Removing from a missing item changes nothing (as UpdateItem).
            TxnOp::Update(Some(update)) if old.is_none() && update.only_removes() => {
                checked.sizes.push((action.index, 0));
                continue;
            }
            TxnOp::Put(item) => Some(item.clone()),
            TxnOp::Update(update) => {
                let key = ItemKey {
                    pk: action.pk.clone(),
                    sk: action.sk.clone(),
                    hash: 0,
                    owner: shard.id,
                    storage: action.storage.clone(),
                };
                let new = updated_item(&action.table, &key, old.as_ref(), update.as_ref())
                    .and_then(|new| {
                        check_item_size(&new)?;
                        check_index_keys(&action.table, &new, true)?;
                        Ok(new)
                    });
                match new {
                    Ok(new) => Some(new),
                    Err(e) if e.status == 400 => {
                        reasons.push((
                            action.index,
                            CancellationReason::new("ValidationError", e.message),
                        ));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let size = old
            .as_ref()
            .map_or(0, item_size)
            .max(new.as_ref().map_or(0, item_size));
        checked.sizes.push((action.index, size));
        checked
            .writes
            .push(BaseWrite::item(action.storage.clone(), old, new));
    }
    if reasons.is_empty() {
        reasons = limit_reasons(shard, actions, &checked.writes).await?;
    }
    Ok(reasons)
}

/// The limits a commit would refuse the writes for, checked up front: an
/// item collection past its size (ItemCollectionSizeLimitExceeded), a GSI
/// backlog over its bound (ThrottlingError).
async fn limit_reasons(
    shard: &Rc<Shard>,
    actions: &[TxnAction],
    writes: &[BaseWrite],
) -> Result<Reasons, ApiError> {
    let tables = current_indexed_tables(shard, writes);
    let deltas = collection::deltas(writes, &tables);
    let mut reasons = Reasons::new();
    let action_of = |storage: &[u8]| actions.iter().find(|a| a.storage == storage);
    let over = collection::exceeding(shard, &deltas).await?;
    for action in actions {
        if over
            .iter()
            .any(|(table, pk)| *table == action.table.name && *pk == action.pk)
            && writes.iter().any(|w| w.storage == action.storage)
        {
            reasons.push((
                action.index,
                CancellationReason::new(
                    "ItemCollectionSizeLimitExceeded",
                    "Collection size exceeded.",
                ),
            ));
        }
    }
    let gsi = tables
        .iter()
        .flatten()
        .any(|t| t.global_indexes().next().is_some());
    if reasons.is_empty() && gsi && shard.outbox.full() {
        for (write, table) in writes.iter().zip(&tables) {
            if table
                .as_ref()
                .is_some_and(|t| t.global_indexes().next().is_some())
                && let Some(action) = action_of(&write.storage)
            {
                reasons.push((
                    action.index,
                    CancellationReason::new(
                        "ThrottlingError",
                        "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.",
                    ),
                ));
            }
        }
    }
    Ok(reasons)
}

/// Every action (and the token, if any) on this shard: the fast path, as a
/// task of its own (a request dropped midway cannot leave items, intents
/// or its token held), with the token checked first.
pub async fn single_shard(
    shard: &Rc<Shard>,
    actions: Vec<TxnAction>,
    token: Option<TxnToken>,
) -> Result<Finished, ApiError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let task_shard = shard.clone();
    shard.services.spawn(Box::pin(async move {
        let _ = tx.send(single_task(&task_shard, actions, token).await);
    }));
    rx.await
        .map_err(|_| ApiError::internal("transaction task ended without an outcome"))?
}

async fn single_task(
    shard: &Rc<Shard>,
    actions: Vec<TxnAction>,
    token: Option<TxnToken>,
) -> Result<Finished, ApiError> {
    if let Some(token) = &token
        && let TokenCheck::Repeat = check_token(shard, token)?
    {
        return Ok(Finished::Repeat);
    }
    let result = run_single(shard, &actions, token.as_ref()).await;
    if !matches!(result, Ok(Ok(_)))
        && let Some(token) = &token
    {
        shard.txns.tokens.borrow_mut().abandon(&token.token);
    }
    let txns = &shard.txns;
    txns.count_single_shard();
    match result? {
        Ok((report, sizes)) => {
            txns.count_commit();
            Ok(Finished::Committed { report, sizes })
        }
        Err(found) => {
            txns.count_cancel();
            let mut reasons = vec![CancellationReason::NONE; actions.len()];
            for (index, reason) in found {
                if let Some(slot) = reasons.get_mut(index) {
                    *slot = reason;
                }
            }
            Ok(Finished::Cancelled(reasons))
        }
    }
}

/// The single-shard fast path: every action (and the token, if any) on
/// this shard, applied as one engine batch — base items, LSI entries,
/// collection counters, the GSI outbox record and the token record in one
/// WAL record — and acknowledged once durable.
pub async fn run_single(
    shard: &Rc<Shard>,
    actions: &[TxnAction],
    token: Option<&TxnToken>,
) -> Result<Result<(WriteReport, Vec<(usize, usize)>), Reasons>, ApiError> {
    let txn = shard.txns.begin(shard.id);
    let result = single(shard, txn, actions, token).await;
    shard.txns.finish(txn);
    result
}

async fn single(
    shard: &Rc<Shard>,
    txn: TxnId,
    actions: &[TxnAction],
    token: Option<&TxnToken>,
) -> Result<Result<(WriteReport, Vec<(usize, usize)>), Reasons>, ApiError> {
    let checked = match lock_and_check(shard, txn, actions).await? {
        Ok(checked) => checked,
        Err(reasons) => return Ok(Err(reasons)),
    };
    let completed_ms = now_ms();
    let extra = token.map_or_else(Vec::new, |t| token_records(shard, t, completed_ms));
    let Checked {
        keys,
        guards,
        writes,
        sizes,
        ..
    } = checked;
    let committed = if writes.is_empty() && extra.is_empty() {
        None
    } else {
        match commit_with(shard, writes, extra, Limits::Enforce).await {
            Ok(committed) => Some(committed),
            Err(e) => {
                shard.txns.release(&keys, txn);
                drop(guards);
                return limit_error(e, actions);
            }
        }
    };
    shard.txns.release(&keys, txn);
    drop(guards);
    let report = match committed {
        Some(committed) => committed.wait().await?,
        None => WriteReport::default(),
    };
    if let Some(token) = token {
        shard
            .txns
            .tokens
            .borrow_mut()
            .committed(&token.token, token.params, completed_ms);
    }
    Ok(Ok((report, sizes)))
}

/// A limit the commit itself refused for (a race past the up-front
/// check) as cancellation reasons; other errors as they are.
fn limit_error<T>(e: ApiError, actions: &[TxnAction]) -> Result<Result<T, Reasons>, ApiError> {
    let code = if e
        .type_name
        .ends_with("ItemCollectionSizeLimitExceededException")
    {
        "ItemCollectionSizeLimitExceeded"
    } else if e.type_name.ends_with("ThrottlingException")
        || e.type_name
            .ends_with("ProvisionedThroughputExceededException")
    {
        "ThrottlingError"
    } else {
        return Err(e);
    };
    Ok(Err(actions
        .iter()
        .map(|a| (a.index, CancellationReason::new(code, e.message.clone())))
        .collect()))
}

/// `TxnPrepare` on a participant: lock and check, then make the writes
/// durable as a prepare record before voting yes. The locks stay held
/// (and the items marked as intents) until the decision.
pub async fn prepare(
    shard: &Rc<Shard>,
    txn: TxnId,
    actions: Vec<TxnAction>,
    token: Option<TxnToken>,
) -> Result<Vote, ApiError> {
    shard.txns.wait_ready().await;
    if let Some(token) = &token {
        match check_token(shard, token)? {
            TokenCheck::Repeat => return Ok(Vote::Repeat),
            TokenCheck::Fresh => {}
        }
    }
    let abandon = |shard: &Shard| {
        if let Some(token) = &token {
            shard.txns.tokens.borrow_mut().abandon(&token.token);
        }
    };
    let checked = match lock_and_check(shard, txn, &actions).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(reasons)) => {
            abandon(shard);
            return Ok(Vote::No { reasons });
        }
        Err(e) => {
            abandon(shard);
            return Err(e);
        }
    };
    let Checked {
        keys,
        guards,
        writes,
        sizes,
        ..
    } = checked;
    let mut writes: Vec<PreparedWrite> = writes
        .into_iter()
        .map(|w| PreparedWrite {
            storage: w.storage,
            old: w.old,
            old_known: w.old_known,
            new: w.new,
            value: w.value,
        })
        .collect();
    if let Some(token) = &token {
        // The token record commits with the writes (its completion time is
        // the prepare's: a repeat inside the window is recognised either way).
        writes.push(PreparedWrite {
            storage: token_key(&token.token),
            old: None,
            old_known: true,
            new: None,
            value: Some(encode_token(now_ms(), token.params)),
        });
    }
    let mut sync_us = 0;
    if !writes.is_empty() {
        let created = now_ms();
        let record: WriteBatch = writes
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let op = [(w.storage.clone(), w.value.clone())];
                (
                    prepare_entry_key(txn, i),
                    Some(encode_prepare(created, &op)),
                )
            })
            .collect();
        let durable = shard.store.write(record).map_err(ApiError::from);
        let waiting = std::time::Instant::now();
        let durable = match durable {
            Ok(durable) => durable.wait().await.map_err(ApiError::from),
            Err(e) => Err(e),
        };
        sync_us = u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Err(e) = durable {
            // Never voted yes: the coordinator aborts; a record that
            // survives a crash is resolved (presumed abort) at recovery.
            shard.txns.release(&keys, txn);
            drop(guards);
            abandon(shard);
            return Err(e);
        }
    }
    shard.txns.add_prepared(
        txn,
        Prepared {
            writes,
            keys,
            guards,
        },
    );
    Ok(Vote::Yes { sizes, sync_us })
}

/// `TxnDecide` on a participant: applies (commit) or drops (abort) a
/// prepared transaction and releases its items. Idempotent: a decision
/// for a transaction not prepared here (already applied, never prepared)
/// is a no-op. Decisions for one transaction are serialized (a recovering
/// participant may learn the outcome twice). With `durable` a commit
/// answers once its batch is durable; without, once applied (visible):
/// the transaction is durable already (prepare and decision records), and
/// the coordinator forgets its decision only after a `TxnSync`.
/// `decided_ms`: the decision's time, which the history records carry.
pub async fn decide(
    shard: &Rc<Shard>,
    txn: TxnId,
    commit: bool,
    durable: bool,
    decided_ms: Option<u64>,
) -> Result<WriteReport, ApiError> {
    let record = prepare_key(txn);
    let _serial = shard.locks.lock(record.clone()).await;
    let Some(prepared) = shard.txns.take_prepared(txn) else {
        return Ok(WriteReport::default());
    };
    let has_record = !prepared.writes.is_empty();
    if !commit {
        for w in &prepared.writes {
            if let Some(token) = w.storage.strip_prefix(&TOKEN_PREFIX[..])
                && let Ok(token) = std::str::from_utf8(token)
            {
                shard.txns.tokens.borrow_mut().abandon(token);
            }
        }
        if has_record {
            // Not awaited: a lost delete is resolved again (abort) at recovery.
            let _ = shard
                .store
                .write(record_deletes(txn, prepared.writes.len()));
        }
        release_all(shard, txn, prepared);
        return Ok(WriteReport::default());
    }
    let token_batch: WriteBatch = prepared
        .writes
        .iter()
        .filter(|w| w.storage.starts_with(&TOKEN_PREFIX))
        .map(|w| (w.storage.clone(), w.value.clone()))
        .collect();
    let writes: Vec<BaseWrite> = prepared
        .writes
        .iter()
        .map(|w| BaseWrite {
            storage: w.storage.clone(),
            old: w.old.clone(),
            old_known: w.old_known,
            new: w.new.clone(),
            value: w.value.clone(),
            origin: WriteOrigin::Client,
        })
        .collect();
    let extra = record_deletes(txn, prepared.writes.len());
    let committed = if has_record {
        match commit_with(shard, writes, extra, Limits::Promised { decided_ms }).await {
            Ok(committed) => Some(committed),
            Err(e) => {
                // The store refused (poisoned): keep it prepared; recovery
                // applies it after the restart.
                shard.txns.add_prepared(txn, prepared);
                return Err(e);
            }
        }
    } else {
        None
    };
    release_all(shard, txn, prepared);
    let report = match committed {
        Some(committed) if durable => committed.wait().await?,
        Some(committed) => committed.applied(),
        None => WriteReport::default(),
    };
    note_tokens(shard, &token_batch);
    Ok(report)
}

/// Deletes of a prepared transaction's record entries.
fn record_deletes(txn: TxnId, writes: usize) -> WriteBatch {
    (0..writes)
        .map(|i| (prepare_entry_key(txn, i), None))
        .collect()
}

fn release_all(shard: &Shard, txn: TxnId, prepared: Prepared) {
    shard.txns.release(&prepared.keys, txn);
    drop(prepared.guards);
}
