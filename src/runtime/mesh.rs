//! The inter-core mesh transport: glommio's channel mesh carries
//! [`MeshRequest`]s between shards; replies return on a oneshot channel.
//!
//! Bounds: each shard-to-shard channel holds `mesh_queue_depth` messages,
//! and each shard has at most `inflight_forwarded_per_shard_max` requests
//! outstanding on every peer (Seastar's smp_service_group lesson: remote
//! concurrency multiplies by the shard count). Receivers serve each message
//! in its own task so one slow request never blocks the channel.

use std::rc::Rc;

use futures_channel::oneshot;
use glommio::channels::channel_mesh::{Receivers, Senders};
use glommio::sync::Semaphore;

use crate::api::{self, ApiError, Counters, LocalFuture, MeshReply, MeshRequest, Services, Shard};

pub struct Envelope {
    request: MeshRequest,
    reply: oneshot::Sender<MeshReply>,
}

/// The runtime's implementation of the API's [`Services`].
pub struct MeshServices {
    senders: Rc<Senders<Envelope>>,
    /// Outstanding requests per destination shard.
    permits: Vec<Rc<Semaphore>>,
    catalog_path: std::path::PathBuf,
    counters: Rc<Counters>,
}

impl MeshServices {
    pub fn new(
        senders: Senders<Envelope>,
        shard_count: u32,
        max_inflight: usize,
        catalog_path: std::path::PathBuf,
        counters: Rc<Counters>,
    ) -> Self {
        MeshServices {
            senders: Rc::new(senders),
            permits: (0..shard_count)
                .map(|_| Rc::new(Semaphore::new(max_inflight as u64)))
                .collect(),
            catalog_path,
            counters,
        }
    }
}

impl Services for MeshServices {
    fn call(&self, to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>> {
        if request.is_data() {
            let c = &self.counters.forwarded_out;
            c.set(c.get() + 1);
        }
        let senders = self.senders.clone();
        let permits = self.permits.get(to as usize).cloned();
        Box::pin(async move {
            let permits =
                permits.ok_or_else(|| ApiError::internal(format!("no shard {to} in the mesh")))?;
            let _permit = permits
                .acquire_permit(1)
                .await
                .map_err(|e| ApiError::internal(format!("mesh permit: {e}")))?;
            let (reply, answer) = oneshot::channel();
            senders
                .send_to(to as usize, Envelope { request, reply })
                .await
                .map_err(|_| {
                    ApiError::internal(format!("shard {to} is not accepting mesh messages"))
                })?;
            answer
                .await
                .map_err(|_| ApiError::internal(format!("shard {to} dropped a mesh request")))
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

    fn persist_catalog(&self, bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>> {
        let path = self.catalog_path.clone();
        Box::pin(async move {
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
            while let Some(envelope) = receiver.recv().await {
                if envelope.request.is_data() {
                    let c = &shard.counters.forwarded_in;
                    c.set(c.get() + 1);
                }
                let shard = shard.clone();
                glommio::spawn_local(async move {
                    let reply = api::serve(&shard, envelope.request).await;
                    // The caller may have gone (connection closed); nothing to do then.
                    let _ = envelope.reply.send(reply);
                })
                .detach();
            }
        })
        .detach();
    }
}
