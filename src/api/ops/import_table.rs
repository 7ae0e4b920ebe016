//! ImportTable: a new table from the data files under
//! `<export root>/<S3Bucket>/<S3KeyPrefix>` (DynamoDB JSON, Ion or CSV;
//! GZIP, ZSTD or uncompressed). TableCreationParameters are checked as
//! CreateTable checks its members (`create_table::definition`), so a bad
//! schema creates nothing; an existing table is ResourceInUseException.
//! Answered IN_PROGRESS with the table CREATING; `transfer::import` loads
//! it and makes it ACTIVE (or FAILED, deleting the table).

use std::rc::Rc;

use simd_json::prelude::Writable as _;

use crate::api::ops::create_table;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::{Fields, element_str};
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::transfer::import::{Compression, ImportRequest, InputFormat, start};
use crate::api::transfer::layout::{
    check_client_token, check_enum, check_location, check_s3_members,
};

/// CSV delimiters DynamoDB accepts.
const CSV_DELIMITERS: &[char] = &[',', '\t', ':', ';', '|', ' '];
const CSV_HEADER_MAX: usize = 255;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let source = fields.object("S3BucketSource")?;
    let format = fields.str("InputFormat")?;
    let compression = fields.str("InputCompressionType")?;
    let token = fields.str("ClientToken")?;
    let params = fields.object("TableCreationParameters")?;
    let csv = match fields.object("InputFormatOptions")? {
        Some(options) => options.object("Csv")?,
        None => None,
    };
    let mut v = Violations::default();
    let (mut bucket, mut owner, mut prefix) = (None, None, None);
    match &source {
        None => v.null("s3BucketSource"),
        Some(s) => {
            bucket = s.str("S3Bucket")?;
            owner = s.str("S3BucketOwner")?;
            prefix = s.str("S3KeyPrefix")?;
            check_s3_members(
                &mut v,
                bucket,
                "s3BucketSource.s3Bucket",
                prefix,
                "s3BucketSource.s3KeyPrefix",
                owner,
                "s3BucketSource.s3BucketOwner",
            );
        }
    }
    if format.is_none() {
        v.null("inputFormat");
    }
    check_enum(
        &mut v,
        format,
        "inputFormat",
        &["DYNAMODB_JSON", "ION", "CSV"],
    );
    check_enum(
        &mut v,
        compression,
        "inputCompressionType",
        &["GZIP", "ZSTD", "NONE"],
    );
    check_client_token(&mut v, token);
    if params.is_none() {
        v.null("tableCreationParameters");
    }
    let mut delimiter = None;
    let mut header = None;
    if let Some(csv) = &csv {
        delimiter = csv.str("Delimiter")?;
        if let Some(d) = delimiter {
            let mut chars = d.chars();
            let one = chars.next().filter(|_| chars.next().is_none());
            if !one.is_some_and(|c| CSV_DELIMITERS.contains(&c)) {
                v.push(
                    &format!("'{d}'"),
                    "inputFormatOptions.csv.delimiter",
                    "Member must satisfy regular expression pattern: [,;:|\\t ]",
                );
            }
        }
        if let Some(list) = csv.list("HeaderList")? {
            let mut names = Vec::with_capacity(list.len());
            for name in list {
                names.push(element_str(name)?.to_string());
            }
            if names.is_empty() || names.len() > CSV_HEADER_MAX {
                v.push(
                    "'[…]'",
                    "inputFormatOptions.csv.headerList",
                    "Member must have length between 1 and 255",
                );
            }
            if names.iter().any(|n| n.is_empty() || n.len() > 65_535) {
                v.push(
                    "'[…]'",
                    "inputFormatOptions.csv.headerList.member",
                    "Member must have length between 1 and 65535",
                );
            }
            header = Some(names);
        }
    }
    v.into_result()?;
    let (Some(bucket), Some(format), Some(params)) = (bucket, format, params) else {
        return Err(ApiError::validation(
            "S3BucketSource, InputFormat and TableCreationParameters are required",
        ));
    };
    let prefix = prefix.unwrap_or("");
    check_location(bucket, prefix)?;
    let input = InputFormat::parse(format)
        .ok_or_else(|| ApiError::validation(format!("Unknown InputFormat {format}")))?;
    if csv.is_some() && input != InputFormat::Csv {
        return Err(ApiError::validation(
            "InputFormatOptions.Csv is only valid when InputFormat is CSV",
        ));
    }
    let compression_name = compression.unwrap_or("NONE");
    let packing = Compression::parse(compression_name).unwrap_or(Compression::None);
    let table = create_table::definition(shard, &params)?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let params_json = fields
        .get("TableCreationParameters")
        .map(|p| p.encode())
        .unwrap_or_else(|| "{}".to_string());
    let fingerprint = format!(
        "{bucket}|{owner:?}|{prefix}|{format}|{compression_name}|{delimiter:?}|{header:?}|{params_json}"
    );
    let request = ImportRequest {
        table,
        bucket: bucket.to_string(),
        bucket_owner: owner.map(str::to_string),
        key_prefix: prefix.to_string(),
        format: input,
        format_name: format.to_string(),
        compression: packing,
        compression_name: compression_name.to_string(),
        csv_delimiter: delimiter.map(str::to_string),
        csv_header: header,
        creation_parameters_json: params_json,
        client_token: token.map(str::to_string),
        fingerprint,
    };
    let record = start(shard, request).await?;
    let mut out = Vec::new();
    crate::api::transfer::describe::write_import_description(&mut out, &record);
    let mut reply = ReplyBuilder::new();
    reply.raw("ImportTableDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
}
