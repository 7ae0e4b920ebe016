//! The DynamoDB API: protocol, validation and one file per operation.
//!
//! A request arrives on whichever shard accepted the connection. Its handler
//! validates it against that shard's catalog copy, computes the owning shard
//! of the key and either executes locally or answers [`Outcome::Forward`]; the
//! request's original bytes then travel over the mesh and the owner runs the
//! same handler, now locally. Forwarded requests are never forwarded again,
//! so cross-shard calls cannot form cycles. Operations that span shards
//! (Scan, batches, DDL, DescribeTable's counts) send storage-level
//! [`MeshRequest`]s, which are leaves: their handlers send nothing.
//!
//! This module knows nothing of glommio: the runtime provides transport and
//! blocking file work through [`Services`].

pub mod conditional;
pub mod error;
pub mod expr;
pub mod expressions;
pub mod index;
pub mod indexes_ddl;
pub mod items;
pub mod legacy;
pub mod locks;
pub mod mesh;
pub mod ops;
pub mod paging;
pub mod request;
pub mod tables;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::engine::Store;
use crate::routing::PartitionMap;

pub use error::ApiError;
pub use mesh::{MeshReply, MeshRequest};

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// What the runtime does for the API layer.
pub trait Services {
    /// Sends `request` to shard `to` over the mesh and awaits its reply.
    fn call(&self, to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>>;
    /// Durably replaces the catalog file (shard 0 only).
    fn persist_catalog(&self, bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>>;
    /// Runs `task` on this shard beside the request path (GSI replication:
    /// its lag is client-visible).
    fn spawn(&self, task: LocalFuture<()>);
    /// Runs `task` on this shard in a task queue with fewer shares than
    /// client requests (index backfill).
    fn spawn_background(&self, task: LocalFuture<()>);
    /// Completes after `duration` (retry back-off in background tasks).
    fn sleep(&self, duration: std::time::Duration) -> LocalFuture<()>;
}

/// Per-shard counters, exported at `/dynacore/metrics`.
#[derive(Default)]
pub struct Counters {
    pub requests: Cell<u64>,
    pub forwarded_out: Cell<u64>,
    pub forwarded_in: Cell<u64>,
    pub errors: Cell<u64>,
}

/// Settings the API needs (the rest of the config stays in the runtime).
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub region: String,
    pub account_id: String,
    /// Largest item collection (items of one partition key plus their
    /// local index entries) of a table with local secondary indexes.
    pub item_collection_bytes_max: u64,
    /// GSI outbox records a shard may hold undelivered before write
    /// acknowledgements wait for delivery (bounds index lag).
    pub index_outbox_records_max: u64,
}

/// Everything one shard's API handlers touch; owned by the shard's thread.
pub struct Shard {
    pub id: u32,
    pub map: PartitionMap,
    pub settings: ApiSettings,
    pub catalog: RefCell<Arc<Catalog>>,
    pub store: Rc<Store>,
    pub services: Rc<dyn Services>,
    pub locks: locks::KeyLocks,
    /// Shared with the mesh transport, which counts what crosses the mesh.
    pub counters: Rc<Counters>,
    /// GSI changes waiting to be delivered to their index shards.
    pub outbox: index::outbox::Outbox,
    /// Index backfills running on this shard (and, on the coordinator,
    /// which shards have finished each).
    pub backfills: index::backfill::Backfills,
}

impl Shard {
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.borrow().clone()
    }
}

/// A handler either answers or names the shard that must answer.
pub enum Outcome {
    Reply(Vec<u8>),
    Forward(u32),
}

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// The operations Dynacore serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    $(stringify!($name) => Some(Operation::$name),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name)),* }
            }
        }
    };
}

operations!(
    CreateTable,
    DescribeTable,
    ListTables,
    UpdateTable,
    DeleteTable,
    PutItem,
    GetItem,
    DeleteItem,
    UpdateItem,
    Query,
    Scan,
    BatchGetItem,
    BatchWriteItem,
);

/// The `X-Amz-Target` prefix of DynamoDB's current API version.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// Request metadata the HTTP layer extracted.
pub struct RequestHead<'a> {
    pub target: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub has_authorization: bool,
}

/// Handles one `POST /` request; returns the HTTP status and JSON body.
pub async fn handle_http(
    shard: &Rc<Shard>,
    head: &RequestHead<'_>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    shard
        .counters
        .requests
        .set(shard.counters.requests.get() + 1);
    let result = match route(head) {
        Ok(op) => execute(shard, op, body, false).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => (200, body),
        Err(e) => {
            shard.counters.errors.set(shard.counters.errors.get() + 1);
            (e.status, e.to_json())
        }
    }
}

fn route(head: &RequestHead<'_>) -> Result<Operation, ApiError> {
    let content_type_ok = head.content_type.is_some_and(|ct| {
        let ct = ct.split(';').next().unwrap_or("").trim();
        ct.eq_ignore_ascii_case("application/x-amz-json-1.0")
            || ct.eq_ignore_ascii_case("application/x-amz-json-1.1")
    });
    let op = head
        .target
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .and_then(Operation::from_name);
    let Some(op) = op.filter(|_| content_type_ok) else {
        return Err(ApiError::unknown_operation());
    };
    if !head.has_authorization {
        return Err(ApiError::missing_authentication_token());
    }
    Ok(op)
}

/// Runs `op`; `forwarded` marks a request that another shard sent here.
pub async fn execute(
    shard: &Rc<Shard>,
    op: Operation,
    body: Vec<u8>,
    forwarded: bool,
) -> Result<Vec<u8>, ApiError> {
    // simd-json parses in place; keep the original bytes for forwarding.
    let mut scratch = body.clone();
    let json = request::parse_body(&mut scratch)?;
    let fields = request::Fields::of(&json)?;
    let outcome = match op {
        Operation::CreateTable => ops::create_table::handle(shard, fields).await?,
        Operation::DescribeTable => ops::describe_table::handle(shard, fields).await?,
        Operation::ListTables => ops::list_tables::handle(shard, fields)?,
        Operation::UpdateTable => ops::update_table::handle(shard, fields).await?,
        Operation::DeleteTable => ops::delete_table::handle(shard, fields).await?,
        Operation::PutItem => ops::put_item::handle(shard, fields).await?,
        Operation::GetItem => ops::get_item::handle(shard, fields).await?,
        Operation::DeleteItem => ops::delete_item::handle(shard, fields).await?,
        Operation::UpdateItem => ops::update_item::handle(shard, fields).await?,
        Operation::Query => ops::query::handle(shard, fields).await?,
        Operation::Scan => ops::scan::handle(shard, fields).await?,
        Operation::BatchGetItem => ops::batch_get_item::handle(shard, fields).await?,
        Operation::BatchWriteItem => ops::batch_write_item::handle(shard, fields).await?,
    };
    match outcome {
        Outcome::Reply(reply) => Ok(reply),
        Outcome::Forward(owner) if forwarded || owner == shard.id => {
            Err(ApiError::internal(format!(
                "shard {} was sent a request owned by shard {owner}",
                shard.id
            )))
        }
        Outcome::Forward(owner) => {
            match shard
                .services
                .call(owner, MeshRequest::Forward { op, body })
                .await?
            {
                MeshReply::Http(result) => result,
                other => Err(mesh::unexpected(&other)),
            }
        }
    }
}
