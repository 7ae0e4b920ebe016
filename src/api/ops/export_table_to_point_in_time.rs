//! ExportTableToPointInTime: a FULL export of a table, one instant across
//! every shard, into `<export root>/<S3Bucket>/<S3Prefix>/AWSDynamoDB/<id>/`
//! (`api::transfer`). Answered IN_PROGRESS once the cut is taken;
//! DescribeExport shows COMPLETED when the files and manifests are
//! written. The coordinator (shard 0) runs it.
//!
//! A past ExportTime and INCREMENTAL_EXPORT are served from the
//! point-in-time recovery history (`transfer::export::ItemSource`; the
//! time checks are `transfer::export::{source_for, incremental_source}`).
//! As in DynamoDB,
//! the table must have point-in-time recovery enabled
//! (PointInTimeRecoveryUnavailableException otherwise), even for an
//! export of now.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::arn::table_name_of;
use crate::api::transfer::export::{ExportRequest, IncrementalRequest, start};
use crate::api::transfer::layout::{
    check_client_token, check_enum, check_location, check_s3_members,
};
use crate::catalog::TableStatus;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = fields.str("TableArn")?;
    let bucket = fields.str("S3Bucket")?;
    let owner = fields.str("S3BucketOwner")?;
    let prefix = fields.str("S3Prefix")?;
    let sse = fields.str("S3SseAlgorithm")?;
    let kms = fields.str("S3SseKmsKeyId")?;
    let format = fields.str("ExportFormat")?;
    let export_type = fields.str("ExportType")?;
    let token = fields.str("ClientToken")?;
    let export_time = fields.timestamp("ExportTime")?;
    let incremental = fields.object("IncrementalExportSpecification")?;
    let mut v = Violations::default();
    match arn {
        None => v.null("tableArn"),
        Some(a) if a.is_empty() || a.len() > 1024 => v.push(
            &format!("'{a}'"),
            "tableArn",
            "Member must have length between 1 and 1024",
        ),
        Some(_) => {}
    }
    check_s3_members(
        &mut v,
        bucket,
        "s3Bucket",
        prefix,
        "s3Prefix",
        owner,
        "s3BucketOwner",
    );
    check_enum(&mut v, sse, "s3SseAlgorithm", &["AES256", "KMS"]);
    if let Some(k) = kms
        && (k.is_empty() || k.len() > 2048)
    {
        v.push(
            &format!("'{k}'"),
            "s3SseKmsKeyId",
            "Member must have length between 1 and 2048",
        );
    }
    check_enum(&mut v, format, "exportFormat", &["DYNAMODB_JSON", "ION"]);
    check_enum(
        &mut v,
        export_type,
        "exportType",
        &["FULL_EXPORT", "INCREMENTAL_EXPORT"],
    );
    check_client_token(&mut v, token);
    let mut view_type = None;
    if let Some(spec) = &incremental {
        view_type = spec.str("ExportViewType")?;
        check_enum(
            &mut v,
            view_type,
            "incrementalExportSpecification.exportViewType",
            &["NEW_IMAGE", "NEW_AND_OLD_IMAGES"],
        );
    }
    v.into_result()?;
    let (Some(arn), Some(bucket)) = (arn, bucket) else {
        return Err(ApiError::validation("TableArn and S3Bucket are required"));
    };
    let prefix = prefix.unwrap_or("");
    check_location(bucket, prefix)?;
    let mut incremental_request = None;
    if export_type == Some("INCREMENTAL_EXPORT") {
        let Some(spec) = &incremental else {
            return Err(ApiError::validation(
                "IncrementalExportSpecification must be provided when ExportType is INCREMENTAL_EXPORT",
            ));
        };
        let (from, to) = (
            spec.timestamp("ExportFromTime")?,
            spec.timestamp("ExportToTime")?,
        );
        let Some(from) = from else {
            return Err(ApiError::validation(
                "ExportFromTime must be provided for an INCREMENTAL_EXPORT",
            ));
        };
        if to.is_some_and(|t| from >= t) {
            return Err(ApiError::validation(
                "ExportFromTime must be less than ExportToTime",
            ));
        }
        if export_time.is_some() {
            return Err(ApiError::validation(
                "ExportTime is not valid for an INCREMENTAL_EXPORT",
            ));
        }
        incremental_request = Some(IncrementalRequest {
            from,
            to,
            old_images: view_type != Some("NEW_IMAGE"),
        });
    } else if incremental.is_some() {
        return Err(ApiError::validation(
            "IncrementalExportSpecification is only valid when ExportType is INCREMENTAL_EXPORT",
        ));
    }
    let name = table_name_of(shard, Some(arn), "ExportTableToPointInTime")?;
    let table = shard
        .catalog()
        .table(name)
        .cloned()
        .filter(|t| t.status != TableStatus::Deleting)
        .ok_or_else(|| ApiError::table_not_found_for_backups(arn))?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    if table.pitr.is_none() {
        return Err(ApiError::point_in_time_recovery_unavailable(name));
    }
    let ion = format == Some("ION");
    let fingerprint = format!(
        "{arn}|{bucket}|{owner:?}|{prefix}|{sse:?}|{kms:?}|{ion}|{export_time:?}|{export_type:?}|{view_type:?}|{:?}",
        incremental
            .as_ref()
            .map(|s| (s.timestamp("ExportFromTime"), s.timestamp("ExportToTime")))
    );
    let request = ExportRequest {
        table,
        bucket: bucket.to_string(),
        bucket_owner: owner.map(str::to_string),
        prefix: prefix.to_string(),
        sse_algorithm: sse.map(str::to_string),
        sse_kms_key_id: kms.map(str::to_string),
        ion,
        export_time,
        incremental: incremental_request,
        client_token: token.map(str::to_string),
        fingerprint,
    };
    let record = start(shard, request).await?;
    let mut out = Vec::new();
    crate::api::transfer::describe::write_export_description(&mut out, &record);
    let mut reply = ReplyBuilder::new();
    reply.raw("ExportDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
}
