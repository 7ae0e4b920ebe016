//! The coordinator's registry of exports (ExportTableToPointInTime) and
//! imports (ImportTable): plain data, loaded from the export root's
//! `.dynacore/` folder on first use; `api::transfer` owns the logic.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::messages::ExportFileInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferStatus {
    InProgress,
    Completed,
    Failed,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::InProgress => "IN_PROGRESS",
            TransferStatus::Completed => "COMPLETED",
            TransferStatus::Failed => "FAILED",
        }
    }
}

/// One export, as `.dynacore/exports/<id>.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportRecord {
    pub arn: String,
    /// `<14-digit ms>-<8 hex>`: the ARN's last part and the folder name.
    pub id: String,
    pub table_arn: String,
    pub table_uuid: String,
    pub table_id: u32,
    pub status: TransferStatus,
    /// Seconds since the Unix epoch.
    pub start_time: f64,
    pub end_time: Option<f64>,
    pub export_time: f64,
    pub client_token: Option<String>,
    /// The request's parameters, for ClientToken idempotency.
    pub fingerprint: String,
    pub bucket: String,
    pub bucket_owner: Option<String>,
    /// As given (may be empty).
    pub prefix: String,
    pub sse_algorithm: Option<String>,
    pub sse_kms_key_id: Option<String>,
    /// DYNAMODB_JSON or ION.
    pub format: String,
    /// FULL_EXPORT or INCREMENTAL_EXPORT.
    pub export_type: String,
    /// An INCREMENTAL_EXPORT's range and view type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalSpec>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub files: Vec<ExportFileInfo>,
}

/// What an INCREMENTAL_EXPORT covered: changes with a time in
/// (`from`, `to`] (seconds since the Unix epoch).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncrementalSpec {
    pub from: f64,
    pub to: f64,
    /// NEW_IMAGE or NEW_AND_OLD_IMAGES.
    pub view_type: String,
}

/// One import, as `.dynacore/imports/<id>.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportRecord {
    pub arn: String,
    pub id: String,
    pub table_arn: String,
    pub table_name: String,
    pub table_uuid: String,
    pub table_id: u32,
    pub status: TransferStatus,
    pub start_time: f64,
    pub end_time: Option<f64>,
    pub client_token: Option<String>,
    pub fingerprint: String,
    pub bucket: String,
    pub bucket_owner: Option<String>,
    pub key_prefix: String,
    /// DYNAMODB_JSON, ION or CSV.
    pub format: String,
    /// GZIP, ZSTD or NONE.
    pub compression: String,
    pub csv_delimiter: Option<String>,
    pub csv_header: Option<Vec<String>>,
    /// The request's TableCreationParameters, echoed in descriptions.
    pub creation_parameters_json: String,
    pub processed_bytes: u64,
    pub processed_items: u64,
    pub imported_items: u64,
    pub error_count: u64,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

#[derive(Default)]
pub struct Transfers {
    pub exports: RefCell<BTreeMap<String, ExportRecord>>,
    pub imports: RefCell<BTreeMap<String, ImportRecord>>,
    pub loaded: Cell<bool>,
    /// Exports and imports in progress (`transfer_operations_max`).
    pub operations: Cell<usize>,
}
