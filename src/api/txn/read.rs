//! TransactGetItems: a serializable snapshot by locking.
//!
//! Each shard locks its items (the same key locks writers and prepared
//! transactions hold, each wait bounded), reads them and keeps the locks
//! until every shard has answered; only then are they released. At the
//! moment the last shard answers, every item is locked by this read, so
//! none changed since it was read and no transaction can be half applied
//! on them: a transaction holds the locks of all its items from its
//! prepare to its commit, on every shard. A conflict (a lock not had in
//! time) releases everything and retries; after a few tries the read is
//! cancelled with TransactionConflict on the items of that shard.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{LocalFuture, Shard};

use super::join::join_all;

/// Tries of a read that meets conflicts before it is cancelled.
const TRIES: u32 = 4;

/// Values of `keys` (in order), or None if a lock was not had in time.
type Values = Vec<Option<Vec<u8>>>;

/// How long a held read may keep its locks if its coordinator never
/// releases them: a backstop, far above any read's duration.
fn lease(shard: &Shard) -> Duration {
    (shard.txns.lock_wait * 20).max(Duration::from_secs(1))
}

/// Locks `keys` (sorted; each wait bounded) and reads them; the guards
/// are returned held, or None on a conflict (nothing held).
async fn lock_and_read(
    shard: &Rc<Shard>,
    keys: &[Vec<u8>],
) -> Result<Option<(Vec<crate::api::shard::locks::KeyGuard>, Values)>, ApiError> {
    let mut order: Vec<&Vec<u8>> = keys.iter().collect();
    order.sort();
    let mut guards = Vec::with_capacity(keys.len());
    for key in order {
        let timeout = shard.services.sleep(shard.txns.lock_wait);
        match shard.locks.lock_within(key.clone(), timeout).await {
            Some(guard) => guards.push(guard),
            None => {
                shard.txns.count_conflict();
                return Ok(None);
            }
        }
    }
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        values.push(shard.store.get(key).await?);
    }
    Ok(Some((guards, values)))
}

/// `TxnRead` on a shard: read under the locks and keep them until
/// `TxnRelease` (or the lease ends).
pub async fn read_and_hold(shard: &Rc<Shard>, keys: Vec<Vec<u8>>) -> MeshReply {
    let result = match lock_and_read(shard, &keys).await {
        Ok(Some((guards, values))) => {
            let id = shard.txns.hold_read(guards);
            let (lease, holder) = (lease(shard), shard.clone());
            let sleep = shard.services.sleep(lease);
            shard.services.spawn(Box::pin(async move {
                sleep.await;
                holder.txns.release_read(id);
            }));
            Ok((id, values))
        }
        Ok(None) => Err(ApiError::transaction_conflict()),
        Err(e) => Err(e),
    };
    MeshReply::Read(result)
}

/// Reads `by_shard` (shard → its keys) as one snapshot; per shard, its
/// values, or None where the shard kept conflicting.
pub async fn snapshot(
    shard: &Rc<Shard>,
    by_shard: Vec<(u32, Vec<Vec<u8>>)>,
) -> Result<Vec<Option<Values>>, ApiError> {
    if let [(only, keys)] = by_shard.as_slice()
        && *only == shard.id
    {
        for attempt in 0..TRIES {
            if let Some((guards, values)) = lock_and_read(shard, keys).await? {
                drop(guards);
                return Ok(vec![Some(values)]);
            }
            backoff(shard, attempt).await;
        }
        return Ok(vec![None]);
    }
    let (tx, rx) = futures_channel::oneshot::channel();
    let task_shard = shard.clone();
    // Its own task: a client that goes away cannot strand held locks.
    shard.services.spawn(Box::pin(async move {
        let _ = tx.send(distributed(&task_shard, by_shard).await);
    }));
    rx.await
        .map_err(|_| ApiError::internal("transactional read task ended without an outcome"))?
}

async fn distributed(
    shard: &Rc<Shard>,
    by_shard: Vec<(u32, Vec<Vec<u8>>)>,
) -> Result<Vec<Option<Values>>, ApiError> {
    let mut conflicted = vec![false; by_shard.len()];
    for attempt in 0..TRIES {
        let started = Instant::now();
        let calls: Vec<LocalFuture<Result<MeshReply, ApiError>>> = by_shard
            .iter()
            .map(|(to, keys)| {
                let (shard, to) = (shard.clone(), *to);
                let request = MeshRequest::TxnRead { keys: keys.clone() };
                Box::pin(async move { call_or_local(&shard, to, request).await }) as LocalFuture<_>
            })
            .collect();
        let replies = join_all(calls).await;
        // Held past half the lease, a hold might have lapsed: retry.
        let in_time = started.elapsed() < lease(shard) / 2;
        let mut values = Vec::with_capacity(replies.len());
        let mut holds = Vec::new();
        let mut error = None;
        for (i, reply) in replies.into_iter().enumerate() {
            match reply {
                Ok(MeshReply::Read(Ok((id, v)))) => {
                    holds.push((by_shard[i].0, id));
                    values.push(Some(v));
                }
                Ok(MeshReply::Read(Err(e)))
                    if e.type_name.ends_with("TransactionConflictException") =>
                {
                    conflicted[i] = true;
                    values.push(None);
                }
                Ok(MeshReply::Read(Err(e))) | Err(e) => {
                    error.get_or_insert(e);
                    values.push(None);
                }
                Ok(other) => {
                    error.get_or_insert(unexpected(&other));
                    values.push(None);
                }
            }
        }
        if error.is_none() && in_time && values.iter().all(Option::is_some) {
            release(shard, holds);
            return Ok(values);
        }
        // Released before any retry, so it never waits on its own locks.
        release_now(shard, holds).await;
        if let Some(e) = error {
            return Err(e);
        }
        if attempt + 1 == TRIES {
            return Ok(values
                .into_iter()
                .zip(&conflicted)
                .map(|(v, c)| if *c { None } else { v })
                .collect());
        }
        conflicted.iter_mut().for_each(|c| *c = false);
        backoff(shard, attempt).await;
    }
    Ok(vec![None; by_shard.len()])
}

/// Releases held reads beside the reply (the reply does not wait).
fn release(shard: &Rc<Shard>, holds: Vec<(u32, u64)>) {
    if holds.is_empty() {
        return;
    }
    let task_shard = shard.clone();
    shard.services.spawn(Box::pin(async move {
        release_now(&task_shard, holds).await;
    }));
}

async fn release_now(shard: &Rc<Shard>, holds: Vec<(u32, u64)>) {
    let calls: Vec<LocalFuture<Result<MeshReply, ApiError>>> = holds
        .into_iter()
        .map(|(to, read)| {
            let shard = shard.clone();
            Box::pin(
                async move { call_or_local(&shard, to, MeshRequest::TxnRelease { read }).await },
            ) as LocalFuture<_>
        })
        .collect();
    join_all(calls).await;
}

/// A short pause before retrying, growing with the attempt and jittered
/// so two readers that collided do not collide again.
async fn backoff(shard: &Shard, attempt: u32) {
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos()) as u64)
        % 1000;
    let us = (500u64 << attempt) + jitter * (attempt as u64 + 1);
    shard.services.sleep(Duration::from_micros(us)).await;
}
