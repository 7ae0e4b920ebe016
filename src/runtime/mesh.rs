//! The inter-core mesh transport: glommio's channel mesh carries
//! [`MeshRequest`]s between shards; replies return on a oneshot channel.
//!
//! Bounds: each shard-to-shard channel holds `mesh_queue_depth` batches,
//! and each shard has at most `inflight_forwarded_per_shard_max` requests
//! outstanding on every peer (Seastar's smp_service_group lesson: remote
//! concurrency multiplies by the shard count), so a batch holds at most that
//! many requests.
//!
//! Batching: requests to one peer made in the same executor turn (say, the
//! forwarded GetItems of every connection that became readable together)
//! travel as one channel message: the first request schedules a flush task
//! that yields once, so the other ready tasks add theirs first. One message
//! means one channel operation and at most one wake-up of a parked peer
//! instead of one per request. The receiver answers a request at once when
//! it completes without waiting (a memtable read) and spawns a task only
//! for one that must wait, so a slow request never blocks the channel.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_channel::oneshot;
use glommio::channels::channel_mesh::{Receivers, Senders};
use glommio::sync::Semaphore;

use crate::api::{self, ApiError, Counters, LocalFuture, MeshReply, MeshRequest, Services, Shard};

/// One request and where its reply goes.
pub struct Letter {
    request: MeshRequest,
    reply: oneshot::Sender<MeshReply>,
}

/// What one channel message carries: the requests of one turn to one peer.
pub struct Envelope(Vec<Letter>);

/// Requests waiting for their turn's flush, per destination shard.
struct Outbox {
    letters: RefCell<Vec<Letter>>,
    flush_scheduled: Cell<bool>,
}

/// The runtime's implementation of the API's [`Services`].
pub struct MeshServices {
    senders: Rc<Senders<Envelope>>,
    /// Outstanding requests per destination shard.
    permits: Vec<Rc<Semaphore>>,
    outboxes: Rc<Vec<Outbox>>,
    catalog_path: std::path::PathBuf,
    backup_dir: std::path::PathBuf,
    export_root: std::path::PathBuf,
    counters: Rc<Counters>,
    /// Encryption at rest: the catalog is sealed before it is written.
    master_key: Option<std::sync::Arc<crate::engine::seal::MasterKey>>,
}

impl MeshServices {
    /// `catalog_path`: where the catalog is persisted; the backup
    /// directory, export root, forwarding bound and master key come from
    /// `config`.
    pub fn new(
        senders: Senders<Envelope>,
        shard_count: u32,
        catalog_path: std::path::PathBuf,
        counters: Rc<Counters>,
        config: &crate::config::Config,
    ) -> Self {
        MeshServices {
            senders: Rc::new(senders),
            permits: (0..shard_count)
                .map(|_| {
                    Rc::new(Semaphore::new(
                        config.inflight_forwarded_per_shard_max as u64,
                    ))
                })
                .collect(),
            outboxes: Rc::new(
                (0..shard_count)
                    .map(|_| Outbox {
                        letters: RefCell::new(Vec::new()),
                        flush_scheduled: Cell::new(false),
                    })
                    .collect(),
            ),
            catalog_path,
            backup_dir: config.backup_dir(),
            export_root: config.export_root(),
            counters,
            master_key: config.engine.master_key.clone(),
        }
    }
}

/// Sends what `to`'s outbox holds as one message, after letting the other
/// tasks of this turn add theirs. Letters a failed send drops answer their
/// callers with an error (their reply senders are dropped).
async fn flush(senders: Rc<Senders<Envelope>>, outboxes: Rc<Vec<Outbox>>, to: usize) {
    futures_lite::future::yield_now().await;
    let Some(outbox) = outboxes.get(to) else {
        return;
    };
    outbox.flush_scheduled.set(false);
    let letters = std::mem::take(&mut *outbox.letters.borrow_mut());
    if !letters.is_empty() {
        let _ = senders.send_to(to, Envelope(letters)).await;
    }
}

use crate::api::shard::files::{FileDone, FileJob};

impl Services for MeshServices {
    fn call(&self, to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>> {
        if request.is_data() {
            let c = &self.counters.forwarded_out;
            c.set(c.get() + 1);
        }
        let senders = self.senders.clone();
        let outboxes = self.outboxes.clone();
        let permits = self.permits.get(to as usize).cloned();
        Box::pin(async move {
            let permits =
                permits.ok_or_else(|| ApiError::internal(format!("no shard {to} in the mesh")))?;
            let _permit = permits
                .acquire_permit(1)
                .await
                .map_err(|e| ApiError::internal(format!("mesh permit: {e}")))?;
            let (reply, answer) = oneshot::channel();
            let dest = to as usize;
            if let Some(outbox) = outboxes.get(dest) {
                outbox.letters.borrow_mut().push(Letter { request, reply });
                if !outbox.flush_scheduled.replace(true) {
                    glommio::spawn_local(flush(senders, outboxes.clone(), dest)).detach();
                }
            }
            answer.await.map_err(|_| {
                ApiError::internal(format!(
                    "shard {to} dropped a mesh request (or is not accepting mesh messages)"
                ))
            })
        })
    }

    fn spawn(&self, task: LocalFuture<()>) {
        glommio::spawn_local(task).detach();
    }

    fn spawn_background(&self, task: LocalFuture<()>) {
        crate::engine::io::dma::spawn_background(task);
    }

    fn sleep(&self, duration: std::time::Duration) -> LocalFuture<()> {
        Box::pin(glommio::timer::sleep(duration))
    }

    fn files(&self, job: FileJob) -> LocalFuture<Result<FileDone, ApiError>> {
        let root = self.backup_dir.clone();
        Box::pin(async move {
            glommio::executor()
                .spawn_blocking(move || super::files::run_job(&root, job))
                .await
                .map_err(|e| ApiError::internal(format!("backup file job: {e}")))
        })
    }

    fn export_files(&self, job: FileJob) -> LocalFuture<Result<FileDone, ApiError>> {
        let root = self.export_root.clone();
        Box::pin(async move {
            glommio::executor()
                .spawn_blocking(move || super::files::run_job(&root, job))
                .await
                .map_err(|e| ApiError::internal(format!("export file job: {e}")))
        })
    }

    fn persist_catalog(&self, bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>> {
        let path = self.catalog_path.clone();
        let master_key = self.master_key.clone();
        Box::pin(async move {
            let bytes = match &master_key {
                None => bytes,
                Some(key) => super::encryption::seal_catalog(key, &bytes)
                    .map_err(|e| ApiError::internal(format!("cannot seal the catalog: {e}")))?,
            };
            glommio::executor()
                .spawn_blocking(move || super::files::write_atomically(&path, &bytes))
                .await
                .map_err(|e| ApiError::internal(format!("cannot persist the catalog: {e}")))
        })
    }
}

/// Serves messages from every peer until the mesh closes.
pub fn spawn_receivers(shard: Rc<Shard>, mut receivers: Receivers<Envelope>) {
    for (_peer, receiver) in receivers.streams() {
        let shard = shard.clone();
        glommio::spawn_local(async move {
            while let Some(Envelope(letters)) = receiver.recv().await {
                for Letter { request, reply } in letters {
                    if request.is_data() {
                        let c = &shard.counters.forwarded_in;
                        c.set(c.get() + 1);
                    }
                    let shard = shard.clone();
                    let mut serving: LocalFuture<MeshReply> =
                        Box::pin(async move { api::serve(&shard, request).await });
                    // Answered at once when it needs no wait; otherwise in
                    // its own task. The caller may have gone (connection
                    // closed); nothing to do then.
                    match futures_lite::future::poll_once(&mut serving).await {
                        Some(answer) => {
                            let _ = reply.send(answer);
                        }
                        None => {
                            glommio::spawn_local(async move {
                                let _ = reply.send(serving.await);
                            })
                            .detach();
                        }
                    }
                }
            }
        })
        .detach();
    }
}
