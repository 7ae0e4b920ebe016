//! What RestoreTableFromBackup and RestoreTableToPointInTime share: the
//! target table name, the overrides (billing mode, provisioned throughput,
//! SSE, the indexes to keep), the target checks, and the new table's
//! definition and reply.
//!
//! An index override entry is matched by IndexName against the source's
//! indexes; redefining an index's keys or projection in the override is
//! not supported (the source's definition is used).

use std::sync::Arc;

use simd_json::BorrowedValue as Json;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::Shard;
use crate::api::table::ddl::now_seconds;
use crate::api::table::describe::{TableStats, write_description};
use crate::catalog::{BillingMode, IndexKind, IndexStatus, TableDef, TableStatus};

/// The overrides of a restore request.
pub struct Overrides {
    billing: Option<BillingMode>,
    throughput: Option<(i64, i64)>,
    keep_gsis: Option<Vec<String>>,
    keep_lsis: Option<Vec<String>>,
    sse_key: Option<String>,
}

impl Overrides {
    /// TargetTableName and the overrides, validated in DynamoDB's order
    /// (`more` adds the operation's own member checks to the same list).
    pub fn read<'a>(
        fields: &Fields<'a, '_>,
        more: impl FnOnce(&mut Violations) -> Result<(), ApiError>,
    ) -> Result<(Option<&'a str>, Overrides), ApiError> {
        let target = fields.str("TargetTableName")?;
        let mut v = Violations::default();
        check_table_name(&mut v, target, "targetTableName");
        more(&mut v)?;
        let billing = fields.str("BillingModeOverride")?;
        let billing = match billing {
            None => None,
            Some("PROVISIONED") => Some(BillingMode::Provisioned),
            Some("PAY_PER_REQUEST") => Some(BillingMode::PayPerRequest),
            Some(b) => {
                v.push(
                    b,
                    "billingModeOverride",
                    "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
                );
                None
            }
        };
        v.into_result()?;
        let throughput = match fields.object("ProvisionedThroughputOverride")? {
            Some(t) => Some((
                t.i64("ReadCapacityUnits")?.unwrap_or(0),
                t.i64("WriteCapacityUnits")?.unwrap_or(0),
            )),
            None => None,
        };
        let keep_gsis = index_names(fields.list("GlobalSecondaryIndexOverride")?)?;
        let keep_lsis = index_names(fields.list("LocalSecondaryIndexOverride")?)?;
        let sse_key = match fields.object("SSESpecificationOverride")? {
            Some(sse) => sse.str("KMSMasterKeyId")?.map(str::to_string),
            None => None,
        };
        let overrides = Overrides {
            billing,
            throughput,
            keep_gsis,
            keep_lsis,
            sse_key,
        };
        Ok((target, overrides))
    }

    /// The checks made once the source is named.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.billing == Some(BillingMode::Provisioned)
            && self.throughput.is_none_or(|(r, w)| r < 1 || w < 1)
        {
            return Err(ApiError::validation(
                "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
            ));
        }
        Ok(())
    }

    /// The source's definition with the overrides applied (indexes kept,
    /// billing, throughput, SSE); `source` names it in errors.
    pub fn apply(&self, mut def: TableDef, source: &str) -> Result<TableDef, ApiError> {
        for (keep, kind) in [
            (&self.keep_gsis, IndexKind::Global),
            (&self.keep_lsis, IndexKind::Local),
        ] {
            let Some(keep) = keep else { continue };
            for name in keep {
                if !def
                    .indexes
                    .iter()
                    .any(|i| i.kind == kind && &i.name == name)
                {
                    return Err(ApiError::validation(format!(
                        "The index {name} is not in the {source}"
                    )));
                }
            }
            def.indexes
                .retain(|i| i.kind != kind || keep.contains(&i.name));
        }
        let now = now_seconds();
        if let Some(mode) = self.billing {
            def.billing_mode = mode;
            def.pay_per_request_since = (mode == BillingMode::PayPerRequest).then_some(now);
        }
        if let Some((r, w)) = self.throughput {
            def.read_capacity_units = r;
            def.write_capacity_units = w;
        }
        if def.billing_mode == BillingMode::PayPerRequest {
            def.read_capacity_units = 0;
            def.write_capacity_units = 0;
        }
        if self.sse_key.is_some() {
            def.settings.sse_kms_key_arn = self.sse_key.clone();
        }
        for index in &mut def.indexes {
            // Loaded through the write path, which maintains every index
            // (one still backfilling on the source too): no backfill.
            index.status = IndexStatus::Active;
            if def.billing_mode == BillingMode::PayPerRequest {
                index.read_capacity_units = 0;
                index.write_capacity_units = 0;
            }
        }
        Ok(def)
    }
}

/// TableAlreadyExistsException if `target` exists (in any state).
pub fn check_target(shard: &Shard, target: &str) -> Result<(), ApiError> {
    if shard.catalog().table(target).is_some() {
        return Err(ApiError::table_already_exists(format!(
            "Table already exists: {target}"
        )));
    }
    Ok(())
}

/// LimitExceededException when `backup_operations_max` operations run.
pub fn check_operations(shard: &Shard) -> Result<(), ApiError> {
    if shard.backups.operations.get() >= shard.settings.backup_operations_max {
        return Err(ApiError::limit_exceeded(format!(
            "Subscriber limit exceeded: There is a limit of {} concurrent backup and restore operations",
            shard.settings.backup_operations_max
        )));
    }
    Ok(())
}

/// Makes `def` the new table `target`: CREATING, a fresh TableId, no tags,
/// no deletion protection, no point-in-time recovery, no resource-based
/// policy (as DynamoDB).
pub fn rename(def: &mut TableDef, target: &str) {
    let now = now_seconds();
    def.id = 0;
    def.name = target.to_string();
    def.created_at = now;
    def.uuid = uuid(target, now);
    def.status = TableStatus::Creating;
    def.tags = Vec::new();
    def.settings.deletion_protection = false;
    def.pitr = None;
    def.streams = Vec::new();
    def.ttl = Default::default();
    def.policies = Vec::new();
}

/// The reply: the new table's description, CREATING.
pub fn creating_reply(shard: &Shard, created: &Arc<TableDef>) -> Vec<u8> {
    let mut out = Vec::new();
    write_description(&mut out, shard, created, "CREATING", &TableStats::default());
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &out);
    reply.finish()
}

/// The IndexName of each entry of an index override list.
fn index_names(list: Option<&[Json<'_>]>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = list else { return Ok(None) };
    let mut names = Vec::with_capacity(list.len());
    for entry in list {
        let Json::Object(object) = entry else {
            return Err(ApiError::serialization("Unexpected index override"));
        };
        match object.get("IndexName") {
            Some(Json::String(name)) => names.push(name.to_string()),
            _ => {
                return Err(ApiError::validation(
                    "1 validation error detected: Value null at 'indexName' failed to satisfy constraint: Member must not be null",
                ));
            }
        }
    }
    Ok(Some(names))
}

/// A UUID-shaped TableId derived from the name and creation time.
fn uuid(name: &str, now: f64) -> String {
    let a = xxhash_rust::xxh3::xxh3_64(format!("{name}/{now}/restore").as_bytes());
    let b = xxhash_rust::xxh3::xxh3_64(format!("restore/{now}/{name}").as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}
