//! The JSON an export or import is described by: ExportDescription and
//! ExportSummary, ImportTableDescription and ImportSummary (replies, times
//! in epoch seconds), and `manifest-summary.json` (DynamoDB's manifest
//! fields, times in ISO 8601).

use crate::api::shard::transfers::{ExportRecord, ImportRecord};
use crate::api::transfer::layout::{iso_time, key_in_bucket};
use crate::model::value::write_json_str;

/// `,"name":"value"` (nothing for None).
fn member(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        write_json_str(out, value);
    }
}

fn number(out: &mut Vec<u8>, name: &str, value: impl std::fmt::Display) {
    out.extend_from_slice(format!(",\"{name}\":{value}").as_bytes());
}

fn time(out: &mut Vec<u8>, name: &str, seconds: Option<f64>) {
    if let Some(s) = seconds {
        number(out, name, format!("{s:.3}"));
    }
}

fn export_totals(record: &ExportRecord) -> (u64, u64) {
    record.files.iter().fold((0, 0), |(items, bytes), f| {
        (items + f.items, bytes + f.item_bytes)
    })
}

pub fn write_export_description(out: &mut Vec<u8>, record: &ExportRecord) {
    out.extend_from_slice(b"{\"ExportArn\":");
    write_json_str(out, &record.arn);
    member(out, "ExportStatus", Some(record.status.as_str()));
    time(out, "StartTime", Some(record.start_time));
    time(out, "EndTime", record.end_time);
    if record.status == crate::api::shard::transfers::TransferStatus::Completed {
        let manifest = key_in_bucket(record, "manifest-summary.json");
        member(out, "ExportManifest", Some(&manifest));
    }
    member(out, "TableArn", Some(&record.table_arn));
    member(out, "TableId", Some(&record.table_uuid));
    time(out, "ExportTime", Some(record.export_time));
    member(out, "ClientToken", record.client_token.as_deref());
    member(out, "S3Bucket", Some(&record.bucket));
    member(out, "S3BucketOwner", record.bucket_owner.as_deref());
    member(
        out,
        "S3Prefix",
        Some(&record.prefix)
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str()),
    );
    member(
        out,
        "S3SseAlgorithm",
        Some(record.sse_algorithm.as_deref().unwrap_or("AES256")),
    );
    member(out, "S3SseKmsKeyId", record.sse_kms_key_id.as_deref());
    member(out, "FailureCode", record.failure_code.as_deref());
    member(out, "FailureMessage", record.failure_message.as_deref());
    member(out, "ExportFormat", Some(&record.format));
    if record.status == crate::api::shard::transfers::TransferStatus::Completed {
        let (items, bytes) = export_totals(record);
        number(out, "BilledSizeBytes", bytes);
        number(out, "ItemCount", items);
    }
    member(out, "ExportType", Some(&record.export_type));
    if let Some(spec) = &record.incremental {
        out.extend_from_slice(b",\"IncrementalExportSpecification\":{");
        out.extend_from_slice(
            format!(
                "\"ExportFromTime\":{:.3},\"ExportToTime\":{:.3}",
                spec.from, spec.to
            )
            .as_bytes(),
        );
        member(out, "ExportViewType", Some(&spec.view_type));
        out.push(b'}');
    }
    out.push(b'}');
}

pub fn write_export_summary(out: &mut Vec<u8>, record: &ExportRecord) {
    out.extend_from_slice(b"{\"ExportArn\":");
    write_json_str(out, &record.arn);
    member(out, "ExportStatus", Some(record.status.as_str()));
    member(out, "ExportType", Some(&record.export_type));
    out.push(b'}');
}

/// `manifest-summary.json`, as DynamoDB writes it.
pub fn write_manifest_summary(out: &mut Vec<u8>, record: &ExportRecord) {
    let (items, bytes) = export_totals(record);
    let text = |out: &mut Vec<u8>, name: &str, value: Option<&str>| {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        match value {
            Some(v) => write_json_str(out, v),
            None => out.extend_from_slice(b"null"),
        }
    };
    out.extend_from_slice(b"{\"version\":\"2020-06-30\"");
    text(out, "exportArn", Some(&record.arn));
    text(out, "startTime", Some(&iso_time(record.start_time)));
    text(
        out,
        "endTime",
        Some(&iso_time(record.end_time.unwrap_or(record.start_time))),
    );
    text(out, "tableArn", Some(&record.table_arn));
    text(out, "tableId", Some(&record.table_uuid));
    text(out, "exportTime", Some(&iso_time(record.export_time)));
    if let Some(spec) = &record.incremental {
        text(out, "exportFromTime", Some(&iso_time(spec.from)));
        text(out, "exportToTime", Some(&iso_time(spec.to)));
        text(out, "exportViewType", Some(&spec.view_type));
    }
    text(out, "s3Bucket", Some(&record.bucket));
    text(
        out,
        "s3Prefix",
        Some(&record.prefix)
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str()),
    );
    text(
        out,
        "s3SseAlgorithm",
        Some(record.sse_algorithm.as_deref().unwrap_or("AES256")),
    );
    text(out, "s3SseKmsKeyId", record.sse_kms_key_id.as_deref());
    text(
        out,
        "manifestFilesS3Key",
        Some(&key_in_bucket(record, "manifest-files.json")),
    );
    number(out, "billedSizeBytes", bytes);
    number(out, "itemCount", items);
    text(out, "outputFormat", Some(&record.format));
    text(out, "exportType", Some(&record.export_type));
    out.extend_from_slice(b"}\n");
}

fn write_bucket_source(out: &mut Vec<u8>, record: &ImportRecord) {
    out.extend_from_slice(b",\"S3BucketSource\":{\"S3Bucket\":");
    write_json_str(out, &record.bucket);
    member(out, "S3BucketOwner", record.bucket_owner.as_deref());
    member(
        out,
        "S3KeyPrefix",
        Some(&record.key_prefix)
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str()),
    );
    out.push(b'}');
}

pub fn write_import_description(out: &mut Vec<u8>, record: &ImportRecord) {
    out.extend_from_slice(b"{\"ImportArn\":");
    write_json_str(out, &record.arn);
    member(out, "ImportStatus", Some(record.status.as_str()));
    member(out, "TableArn", Some(&record.table_arn));
    member(out, "TableId", Some(&record.table_uuid));
    member(out, "ClientToken", record.client_token.as_deref());
    write_bucket_source(out, record);
    number(out, "ErrorCount", record.error_count);
    member(out, "InputFormat", Some(&record.format));
    if record.csv_delimiter.is_some() || record.csv_header.is_some() {
        out.extend_from_slice(b",\"InputFormatOptions\":{\"Csv\":{");
        let mut first = true;
        if let Some(d) = &record.csv_delimiter {
            out.extend_from_slice(b"\"Delimiter\":");
            write_json_str(out, d);
            first = false;
        }
        if let Some(header) = &record.csv_header {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"HeaderList\":[");
            for (i, name) in header.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}}");
    }
    member(out, "InputCompressionType", Some(&record.compression));
    out.extend_from_slice(b",\"TableCreationParameters\":");
    out.extend_from_slice(record.creation_parameters_json.as_bytes());
    time(out, "StartTime", Some(record.start_time));
    time(out, "EndTime", record.end_time);
    number(out, "ProcessedSizeBytes", record.processed_bytes);
    number(out, "ProcessedItemCount", record.processed_items);
    number(out, "ImportedItemCount", record.imported_items);
    member(out, "FailureCode", record.failure_code.as_deref());
    member(out, "FailureMessage", record.failure_message.as_deref());
    out.push(b'}');
}

pub fn write_import_summary(out: &mut Vec<u8>, record: &ImportRecord) {
    out.extend_from_slice(b"{\"ImportArn\":");
    write_json_str(out, &record.arn);
    member(out, "ImportStatus", Some(record.status.as_str()));
    member(out, "TableArn", Some(&record.table_arn));
    write_bucket_source(out, record);
    member(out, "InputFormat", Some(&record.format));
    time(out, "StartTime", Some(record.start_time));
    time(out, "EndTime", record.end_time);
    out.push(b'}');
}
