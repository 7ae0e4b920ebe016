//! Frees large structures off the shard thread.
//!
//! Dropping a flushed 64 MiB memtable frees one skiplist node per entry and
//! unmaps its arena: ~30 ms of CPU on the 2026-12-04 open-loop put run, in
//! one piece, since a drop cannot yield. Requests queued behind it for the
//! whole time. One process-wide thread does those drops instead; it only
//! ever frees memory, so it needs no coordination with the shards.

use crossbeam_channel::{Sender, TrySendError};
use std::sync::OnceLock;

/// Structures waiting to be freed (each up to a memtable,
/// `engine.memtable_bytes_max`): when the thread is this far behind, the
/// dropping thread frees its own (back-pressure instead of a growing queue).
const RECLAIM_QUEUE_MAX: usize = 2;

type Garbage = Box<dyn Send>;

static RECLAIMER: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();

fn start() -> Option<Sender<Garbage>> {
    let (tx, rx) = crossbeam_channel::bounded::<Garbage>(RECLAIM_QUEUE_MAX);
    let spawned = std::thread::Builder::new()
        .name("dynacore-reclaim".into())
        .spawn(move || {
            for garbage in rx {
                drop(garbage);
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(error) => {
            tracing::warn!(%error, "no reclaim thread; large structures are freed where they drop");
            None
        }
    }
}

/// Drops `garbage` on the reclaim thread, or here if that is full or absent.
pub fn drop_later(garbage: Garbage) {
    let Some(tx) = RECLAIMER.get_or_init(start) else {
        return drop(garbage);
    };
    match tx.try_send(garbage) {
        Ok(()) => {}
        Err(TrySendError::Full(garbage) | TrySendError::Disconnected(garbage)) => drop(garbage),
    }
}
