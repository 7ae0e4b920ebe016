//! The unit of the write path: one base-item write with its images, and a
//! write applied but not yet durable.

use crate::api::messages::WriteReport;
use crate::api::protocol::error::ApiError;
use crate::engine::Durable;
use crate::model::Item;
use crate::model::codec::encode_item;

/// Who asked for a write: a client request, or the service itself (a TTL deletion).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteOrigin {
    #[default]
    Client,
    TimeToLive,
}

/// One base-item write: its storage key, images and stored value.
pub struct BaseWrite {
    pub storage: Vec<u8>,
    /// The item before the write (None: absent), when `old_known`.
    pub old: Option<Item>,
    /// Whether `old` was read (under the key lock). Blind writes to tables
    /// without indexes skip the read; [`commit`](super::commit) reads it if the table has
    /// gained an index meanwhile.
    pub old_known: bool,
    /// The item after the write (None: deleted, or not decoded yet).
    pub new: Option<Item>,
    /// What the base key stores: the encoded new item, or None to delete.
    pub value: Option<Vec<u8>>,
    /// Who asked for the write (a stream record of a TTL deletion says so).
    pub origin: WriteOrigin,
}

impl BaseWrite {
    /// A put (`new`) or delete (None) of an item whose old image was read
    /// under its key lock.
    pub fn item(storage: Vec<u8>, old: Option<Item>, new: Option<Item>) -> Self {
        let value = new.as_ref().map(encode_item);
        BaseWrite {
            storage,
            old,
            old_known: true,
            new,
            value,
            origin: WriteOrigin::Client,
        }
    }

    /// A put of `value` (an encoded item) or a delete, old image unread.
    pub fn blind(storage: Vec<u8>, value: Option<Vec<u8>>) -> Self {
        BaseWrite {
            storage,
            old: None,
            old_known: false,
            new: None,
            value,
            origin: WriteOrigin::Client,
        }
    }

    /// The same write, asked for by `origin`.
    pub fn with_origin(mut self, origin: WriteOrigin) -> Self {
        self.origin = origin;
        self
    }
}

/// A write applied to the store (visible to reads, not yet durable).
#[must_use = "a write may be acknowledged only after it is durable"]
pub struct Committed {
    durable: Durable,
    report: WriteReport,
}

impl Committed {
    pub fn new(durable: Durable, report: WriteReport) -> Self {
        Committed { durable, report }
    }

    /// The report this write will give once durable.
    pub fn report_mut(&mut self) -> &mut WriteReport {
        &mut self.report
    }

    /// What the write reports, without waiting for durability: only for
    /// a write made durable by other means (a transaction's commit, whose
    /// prepare and decision records are durable; the coordinator keeps its
    /// decision until the shard reports everything durable).
    pub fn applied(self) -> WriteReport {
        self.report
    }

    /// Ok once durable.
    pub async fn wait(mut self) -> Result<WriteReport, ApiError> {
        let waiting = std::time::Instant::now();
        let durable = self.durable.wait().await;
        // The request's sync phase in the slow-request log: this request's
        // if it runs here, and in the report for a shard that asked for
        // this write over the mesh (`peers::write_on_owner`).
        let waited = u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX);
        crate::api::shard::scope::add_sync_us(waited);
        self.report.sync_us = self.report.sync_us.saturating_add(waited);
        durable?;
        Ok(self.report)
    }
}
