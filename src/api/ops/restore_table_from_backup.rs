//! RestoreTableFromBackup: a new table from an AVAILABLE backup, with the
//! backup's key schema and indexes (or a subset: `GlobalSecondaryIndexOverride`
//! and `LocalSecondaryIndexOverride` name the indexes to keep), and
//! optional billing mode, throughput and SSE overrides. Answered with the
//! new table CREATING (RestoreInProgress); it turns ACTIVE when every item
//! is loaded (`backup::restore`). The backup is checked whole before the
//! table is created, so a damaged backup creates nothing.
//!
//! An index override entry is matched by IndexName against the backup's
//! indexes; redefining an index's keys or projection in the override is
//! not supported (the definition stored in the backup is used).

use std::rc::Rc;

use simd_json::BorrowedValue as Json;

use crate::api::backup::restore;
use crate::api::ops::describe_backup::backup_arn;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::ddl::{now_seconds, submit};
use crate::api::table::describe::{TableStats, write_description};
use crate::catalog::{
    BillingMode, CatalogCommand, IndexKind, IndexStatus, RestoreInfo, TableStatus,
};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let target = fields.str("TargetTableName")?;
    let mut v = Violations::default();
    check_table_name(&mut v, target, "targetTableName");
    let billing = fields.str("BillingModeOverride")?;
    if let Some(b) = billing
        && b != "PROVISIONED"
        && b != "PAY_PER_REQUEST"
    {
        v.push(
            b,
            "billingModeOverride",
            "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
        );
    }
    v.into_result()?;
    let arn = backup_arn(&fields)?;
    let Some(target) = target else {
        return Err(ApiError::validation("TargetTableName is required"));
    };
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
    if billing == Some("PROVISIONED") && throughput.is_none_or(|(r, w)| r < 1 || w < 1) {
        return Err(ApiError::validation(
            "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
        ));
    }
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let record = restore::available(shard, arn).await?;
    if shard.catalog().table(target).is_some() {
        return Err(ApiError::table_already_exists(format!(
            "Table already exists: {target}"
        )));
    }
    let backups = &shard.backups;
    if backups.operations.get() >= shard.settings.backup_operations_max {
        return Err(ApiError::limit_exceeded(format!(
            "Subscriber limit exceeded: There is a limit of {} concurrent backup and restore operations",
            shard.settings.backup_operations_max
        )));
    }
    let mut def = record.table.clone();
    for (keep, kind) in [
        (&keep_gsis, IndexKind::Global),
        (&keep_lsis, IndexKind::Local),
    ] {
        let Some(keep) = keep else { continue };
        for name in keep {
            if !def
                .indexes
                .iter()
                .any(|i| i.kind == kind && &i.name == name)
            {
                return Err(ApiError::validation(format!(
                    "The index {name} is not in the backup's table"
                )));
            }
        }
        def.indexes
            .retain(|i| i.kind != kind || keep.contains(&i.name));
    }
    // Nothing created yet: a damaged backup is refused here, whole.
    restore::verify(shard, &record).await?;
    let now = now_seconds();
    def.id = 0;
    def.name = target.to_string();
    def.created_at = now;
    def.uuid = uuid(target, now);
    def.status = TableStatus::Creating;
    def.tags = Vec::new();
    def.settings.deletion_protection = false;
    if let Some(mode) = billing {
        def.billing_mode = if mode == "PROVISIONED" {
            BillingMode::Provisioned
        } else {
            BillingMode::PayPerRequest
        };
        def.pay_per_request_since = (def.billing_mode == BillingMode::PayPerRequest).then_some(now);
    }
    if let Some((r, w)) = throughput {
        def.read_capacity_units = r;
        def.write_capacity_units = w;
    }
    if def.billing_mode == BillingMode::PayPerRequest {
        def.read_capacity_units = 0;
        def.write_capacity_units = 0;
    }
    if sse_key.is_some() {
        def.settings.sse_kms_key_arn = sse_key;
    }
    for index in &mut def.indexes {
        // Loaded through the write path, which maintains every index: no
        // backfill.
        index.status = IndexStatus::Active;
        if def.billing_mode == BillingMode::PayPerRequest {
            index.read_capacity_units = 0;
            index.write_capacity_units = 0;
        }
    }
    def.restore = Some(Box::new(RestoreInfo {
        source_backup_arn: record.arn.clone(),
        source_table_arn: record.table_arn.clone(),
        restore_date_time: record.created_at,
        in_progress: true,
    }));
    let created = submit(shard, CatalogCommand::Create(def)).await?;
    restore::start_load(shard, record, created.clone());
    let mut out = Vec::new();
    write_description(
        &mut out,
        shard,
        &created,
        "CREATING",
        &TableStats::default(),
    );
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
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
