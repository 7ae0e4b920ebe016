//! UpdateTable: billing mode and provisioned throughput.

use std::rc::Rc;

use crate::api::error::{ApiError, Violations};
use crate::api::items::ReplyBuilder;
use crate::api::ops::create_table::billing;
use crate::api::request::Fields;
use crate::api::tables::{TableStats, check_table_name, now_seconds, submit, write_description};
use crate::api::{Outcome, Shard};
use crate::catalog::{BillingMode, CatalogCommand};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let (mode, throughput) = billing(&fields, &mut v)?;
    v.into_result()?;
    let Some(name) = name else {
        return Err(ApiError::validation("TableName is required"));
    };
    for unsupported in [
        "GlobalSecondaryIndexUpdates",
        "StreamSpecification",
        "ReplicaUpdates",
    ] {
        if fields.get(unsupported).is_some() {
            return Err(ApiError::validation(format!(
                "{unsupported} is not supported by this Dynacore build"
            )));
        }
    }
    if mode.is_none() && throughput.is_none() {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let current = shard
        .catalog()
        .table(name)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found(name))?;
    let target_mode = mode.unwrap_or(current.billing_mode);
    match (target_mode, throughput) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        (BillingMode::Provisioned, None) if current.billing_mode == BillingMode::PayPerRequest => {
            return Err(ApiError::invalid_parameter(
                "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
            ));
        }
        (BillingMode::Provisioned, Some((rcu, wcu)))
            if current.billing_mode == BillingMode::Provisioned
                && rcu == current.read_capacity_units
                && wcu == current.write_capacity_units
                && mode.is_none() =>
        {
            return Err(ApiError::validation(format!(
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {rcu}. Requested ReadCapacityUnits: {rcu}. Current WriteCapacityUnits provisioned for the table: {wcu}. Requested WriteCapacityUnits: {wcu}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
            )));
        }
        _ => {}
    }
    let def = submit(
        shard,
        CatalogCommand::Update {
            name: name.to_string(),
            billing_mode: mode,
            throughput,
            now: now_seconds(),
        },
    )
    .await?;
    let stats = TableStats::collect(shard, &def).await?;
    let mut description = Vec::with_capacity(512);
    write_description(&mut description, shard, &def, "UPDATING", &stats);
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}
