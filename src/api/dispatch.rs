//! The two ways work enters a shard's API: a client request over HTTP
//! ([`handle_http`] → [`execute`] → one operation's handler, forwarded to
//! the key's owner when that is another shard) and a mesh request from a
//! peer or from this shard itself ([`serve`]).
//!
//! The one invariant: a forwarded request is never forwarded again, and
//! every other mesh request is a leaf storage or catalog action whose
//! handler sends no further mesh message (except `Catalog`, which only the
//! coordinator receives and which fans out leaf `InstallCatalog`s; a
//! transaction coordinated by the shard a client reached likewise fans out
//! leaf `Txn*` messages), so cross-shard calls cannot form cycles or nested
//! waits.

use std::rc::Rc;

use crate::api::messages::{self, MeshReply, MeshRequest, as_ref_bound};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::operation::{Operation, RequestHead, route};
use crate::api::protocol::{request, rules, shape};
use crate::api::shard::{LocalFuture, Outcome, Shard, peers, scope};
use crate::api::{access, index, ops, streams, table, txn, write};
use crate::auth::Key;

/// Handles one `POST /` request whose signature the runtime verified;
/// `caller` is the key that signed it (None: no credentials configured,
/// everything allowed). Returns the HTTP status and JSON body.
pub async fn handle_http(
    shard: &Rc<Shard>,
    head: &RequestHead<'_>,
    body: Vec<u8>,
    caller: Option<&Key>,
) -> (u16, Vec<u8>) {
    let (status, body, trace) = handle_http_traced(shard, head, body, caller).await;
    if let Some(detail) = &trace.fault {
        tracing::error!(shard = shard.id, error = %detail, "request failed");
    }
    (status, body)
}

/// What the request logs need of one request: its operation, table, error
/// and where its time went.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub operation: &'static str,
    /// The table's label slot in [`crate::metrics::RequestMetrics`].
    pub table_slot: u32,
    /// JSON parse and request validation.
    pub parse_us: u64,
    /// The operation itself (forwarding, storage), less `sync_us`.
    pub engine_us: u64,
    /// Waiting for its writes to be durable (group commit, fdatasync).
    pub sync_us: u64,
    /// The placement hash of its (first) partition key, if it has one.
    pub key_hash: Option<u64>,
    /// The error's full `__type`, if it failed.
    pub error: Option<String>,
    /// A server fault's detail (for the log only; the client got the
    /// generic message).
    pub fault: Option<String>,
}

/// [`handle_http`], also returning the request's [`Trace`]; counts it in
/// the shard's request metrics.
pub async fn handle_http_traced(
    shard: &Rc<Shard>,
    head: &RequestHead<'_>,
    body: Vec<u8>,
    caller: Option<&Key>,
) -> (u16, Vec<u8>, Trace) {
    let started = std::time::Instant::now();
    shard
        .counters
        .requests
        .set(shard.counters.requests.get() + 1);
    let mut trace = Trace {
        operation: "Unknown",
        ..Trace::default()
    };
    let scope = Rc::new(scope::Scope::default());
    let result = match route(head) {
        Ok(op) => {
            trace.operation = op.name();
            let run = execute_traced(shard, op, body, false, caller, Some(&mut trace));
            scope::Scoped::new(scope.clone(), run).await
        }
        Err(e) => Err(e),
    };
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    trace.sync_us = scope.sync_us().min(micros);
    trace.key_hash = scope.key_hash();
    trace.engine_us = micros
        .saturating_sub(trace.parse_us)
        .saturating_sub(trace.sync_us);
    let (status, body) = match result {
        Ok(body) => (200, body),
        Err(e) => {
            shard.counters.errors.set(shard.counters.errors.get() + 1);
            if e.is_server_fault() {
                trace.fault = Some(e.to_string());
            }
            trace.error = Some(e.type_name.clone());
            (e.status, e.to_json())
        }
    };
    shard.metrics.record(
        trace.operation,
        trace.table_slot,
        micros,
        0,
        trace.error.as_deref(),
    );
    (status, body, trace)
}

/// Runs `op`; `forwarded` marks a request that another shard sent here.
pub async fn execute(
    shard: &Rc<Shard>,
    op: Operation,
    body: Vec<u8>,
    forwarded: bool,
) -> Result<Vec<u8>, ApiError> {
    execute_traced(shard, op, body, forwarded, None, None).await
}

/// [`execute`] on behalf of `caller`, whose policy is evaluated (per item
/// for batches and transactions) after validation and before the handler
/// runs (a forwarded request was authorized where it arrived); `trace`
/// collects what the request logs and metrics need.
async fn execute_traced(
    shard: &Rc<Shard>,
    op: Operation,
    body: Vec<u8>,
    forwarded: bool,
    caller: Option<&Key>,
    trace: Option<&mut Trace>,
) -> Result<Vec<u8>, ApiError> {
    let parse_started = std::time::Instant::now();
    // simd-json parses in place; keep the original bytes for forwarding
    // (the copy's memory is reused across requests).
    let mut scratch = request::Scratch::copy_of(&body);
    let json = request::parse_body(scratch.bytes_mut())?;
    // Member types first, over the whole request, and then their
    // constraints, all reported together (a forwarded request passed both
    // on the shard that received it).
    if !forwarded {
        shape::check(op.name(), &json)?;
        rules::check(op.name(), &json)?;
    }
    let fields = request::Fields::of(&json)?;
    if !forwarded && let Some(key) = caller {
        access::authorize(shard, key, op, &fields)?;
    }
    if let Some(trace) = trace {
        trace.parse_us = u64::try_from(parse_started.elapsed().as_micros()).unwrap_or(0);
        if shard.metrics.enabled() {
            trace.table_slot = shard.metrics.slot(fields.str("TableName").ok().flatten());
        }
    }
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
        Operation::TagResource => ops::tag_resource::handle(shard, fields).await?,
        Operation::UntagResource => ops::untag_resource::handle(shard, fields).await?,
        Operation::ListTagsOfResource => ops::list_tags_of_resource::handle(shard, fields)?,
        Operation::DescribeEndpoints => ops::describe_endpoints::handle(shard)?,
        Operation::DescribeLimits => ops::describe_limits::handle()?,
        Operation::DescribeContinuousBackups => {
            ops::describe_continuous_backups::handle(shard, fields).await?
        }
        Operation::UpdateContinuousBackups => {
            ops::update_continuous_backups::handle(shard, fields).await?
        }
        Operation::RestoreTableToPointInTime => {
            ops::restore_table_to_point_in_time::handle(shard, fields).await?
        }
        Operation::DescribeTimeToLive => ops::describe_time_to_live::handle(shard, fields)?,
        Operation::UpdateTimeToLive => ops::update_time_to_live::handle(shard, fields).await?,
        Operation::TransactWriteItems => ops::transact_write_items::handle(shard, fields).await?,
        Operation::TransactGetItems => ops::transact_get_items::handle(shard, fields).await?,
        Operation::ListStreams => streams::list_streams::handle(shard, fields)?,
        Operation::DescribeStream => streams::describe_stream::handle(shard, fields)?,
        Operation::GetShardIterator => streams::get_shard_iterator::handle(shard, fields)?,
        Operation::GetRecords => streams::get_records::handle(shard, fields).await?,
        Operation::CreateBackup => ops::create_backup::handle(shard, fields).await?,
        Operation::DescribeBackup => ops::describe_backup::handle(shard, fields).await?,
        Operation::ListBackups => ops::list_backups::handle(shard, fields).await?,
        Operation::DeleteBackup => ops::delete_backup::handle(shard, fields).await?,
        Operation::RestoreTableFromBackup => {
            ops::restore_table_from_backup::handle(shard, fields).await?
        }
        Operation::ExportTableToPointInTime => {
            ops::export_table_to_point_in_time::handle(shard, fields).await?
        }
        Operation::DescribeExport => ops::describe_export::handle(shard, fields).await?,
        Operation::ListExports => ops::list_exports::handle(shard, fields).await?,
        Operation::ImportTable => ops::import_table::handle(shard, fields).await?,
        Operation::DescribeImport => ops::describe_import::handle(shard, fields).await?,
        Operation::ListImports => ops::list_imports::handle(shard, fields).await?,
        Operation::PutResourcePolicy => {
            ops::put_resource_policy::handle(shard, fields, caller).await?
        }
        Operation::GetResourcePolicy => ops::get_resource_policy::handle(shard, fields)?,
        Operation::DeleteResourcePolicy => {
            ops::delete_resource_policy::handle(shard, fields).await?
        }
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
                MeshReply::Http(result, sync_us) => {
                    scope::add_sync_us(sync_us);
                    result
                }
                other => Err(messages::unexpected(&other)),
            }
        }
    }
}

/// [`serve`] as a [`crate::api::shard::Inbound`]: what a shard runs for a
/// request it sends itself.
pub fn inbound(shard: Rc<Shard>, request: MeshRequest) -> LocalFuture<MeshReply> {
    Box::pin(async move { serve(&shard, request).await })
}

/// Serves one mesh request on the receiving shard.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> MeshReply {
    match request {
        MeshRequest::Forward { op, body } => {
            let scope = Rc::new(scope::Scope::default());
            let result = scope::Scoped::new(scope.clone(), execute(shard, op, body, true)).await;
            MeshReply::Http(result, scope.sync_us())
        }
        MeshRequest::Catalog(command) => MeshReply::Table(table::ddl::apply(shard, *command).await),
        MeshRequest::InstallCatalog(catalog) => {
            {
                let mut current = shard.catalog.borrow_mut();
                // Snapshots may arrive out of order only if DDL overlapped; keep the newest.
                if catalog.version > current.version {
                    *current = catalog;
                }
            }
            // A new CREATING index starts its backfill here (in the
            // background: this handler stays a leaf).
            index::backfill::start_pending(shard);
            MeshReply::Done(Ok(()))
        }
        MeshRequest::Get { keys } => {
            let mut values = Vec::with_capacity(keys.len());
            for key in &keys {
                match shard.store.get(key).await {
                    Ok(v) => values.push(v),
                    Err(e) => return MeshReply::Values(Err(e.into())),
                }
            }
            MeshReply::Values(Ok(values))
        }
        MeshRequest::Write { batch, measure } => {
            MeshReply::Written(write::blind_on_owner(shard, batch, measure).await)
        }
        MeshRequest::Scan {
            lower,
            upper,
            reverse,
            max_entries,
            max_bytes,
        } => {
            let result = shard
                .store
                .scan(
                    as_ref_bound(&lower),
                    as_ref_bound(&upper),
                    reverse,
                    max_entries,
                    max_bytes,
                )
                .await;
            MeshReply::Entries(result.map_err(ApiError::from))
        }
        MeshRequest::DropPrefix { prefix } => MeshReply::Done(
            shard
                .store
                .delete_prefix(&prefix)
                .await
                .map_err(ApiError::from),
        ),
        MeshRequest::Stats { prefix } => MeshReply::Stats(peers::local_stats(shard, &prefix)),
        MeshRequest::IndexApply { batch } => {
            MeshReply::Applied(index::replicate::apply(shard, batch).await)
        }
        MeshRequest::BackfillDone {
            table,
            index_id,
            shard: from,
        } => {
            index::backfill::finished(shard, table, index_id, from);
            MeshReply::Done(Ok(()))
        }
        MeshRequest::CapacityDemand { from, report } => {
            shard.meter.record_demand(from, &report);
            MeshReply::Done(Ok(()))
        }
        // Transactions: leaves on the participant (`txn::serve`).
        request @ (MeshRequest::TxnPrepare { .. }
        | MeshRequest::TxnDecide { .. }
        | MeshRequest::TxnSync
        | MeshRequest::TxnResolve { .. }
        | MeshRequest::TxnRead { .. }
        | MeshRequest::TxnRelease { .. }) => match txn::serve(shard, request).await {
            Ok(reply) => reply,
            Err(_) => MeshReply::Done(Err(ApiError::internal("unroutable transaction message"))),
        },
        request @ (MeshRequest::BackupCut { .. }
        | MeshRequest::BackupSnapshot { .. }
        | MeshRequest::BackupRelease { .. }
        | MeshRequest::BackupUnfence { .. }
        | MeshRequest::BackupWrite { .. }) => crate::api::backup::serve(shard, request).await,
        MeshRequest::PitrReplay {
            source,
            after,
            until_ms,
            target,
        } => MeshReply::Done(
            crate::api::pitr::replay::replay(shard, source, after, until_ms, target)
                .await
                .map(|_| ()),
        ),
        MeshRequest::PitrTrim { table_id, through } => MeshReply::Done(
            crate::api::pitr::replay::trim(shard, table_id, through)
                .await
                .map(|_| ()),
        ),
        request @ MeshRequest::ExportWrite { .. } => {
            crate::api::transfer::export::serve(shard, request).await
        }
    }
}
