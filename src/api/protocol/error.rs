//! DynamoDB errors as the wire shows them: `__type`, message, HTTP status.
//!
//! Every client mistake maps to a 400 with DynamoDB's own type string; only
//! server faults are 500. Handlers build errors through the constructors
//! here, never by spelling type strings themselves.
//!
//! A server fault (500) sends clients DynamoDB's generic message; its detail
//! (engine file paths, offsets, mesh failures) stays in [`ApiError::detail`]
//! for the log, which `dispatch::handle_http` writes.

use crate::catalog::CatalogError;
use crate::engine::EngineError;
use crate::model::value::{Item, ValueError, write_json_map, write_json_str};

const DYNAMODB: &str = "com.amazonaws.dynamodb.v20120810#";
const CORAL_VALIDATE: &str = "com.amazon.coral.validate#";
const CORAL_SERVICE: &str = "com.amazon.coral.service#";
/// What a client sees of any server fault.
pub const INTERNAL_MESSAGE: &str = "Internal server error";

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// Full `__type`, e.g. `com.amazon.coral.validate#ValidationException`.
    pub type_name: String,
    pub message: String,
    /// ConditionalCheckFailed with `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    pub item: Option<Item>,
    /// A server fault's detail, for the log only: never sent to clients.
    /// (`Box<str>`: errors stay within 128 bytes on every path.)
    pub detail: Option<Box<str>>,
    /// TransactionCanceledException: one reason per action, in request
    /// order (boxed: errors stay small on every path that returns one).
    pub reasons: Option<Box<Cancellation>>,
    /// ProvisionedThroughputExceededException and ThrottlingException of
    /// capacity enforcement: why and on what (the 2025 API's
    /// `ThrottlingReasons`).
    pub throttling: Option<Box<Vec<ThrottlingReason>>>,
}

/// One `{"reason":…,"resource":…}` of `ThrottlingReasons`: the reason is
/// ResourceType + OperationType + LimitType (`TableReadProvisionedThroughputExceeded`,
/// `IndexWriteKeyRangeThroughputExceeded`, …), the resource a table or index ARN.
#[derive(Clone, Debug, PartialEq)]
pub struct ThrottlingReason {
    pub reason: String,
    pub resource: String,
}

/// DynamoDB's message when a provisioned table's throughput is exceeded.
pub const PROVISIONED_EXCEEDED_MESSAGE: &str = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
/// ... and when one of its GSIs' is (the base write is refused).
pub const INDEX_PROVISIONED_EXCEEDED_MESSAGE: &str = "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API";
/// The message of a ThrottlingException past an on-demand maximum.
pub const ON_DEMAND_EXCEEDED_MESSAGE: &str =
    "Throughput exceeds the maximum OnDemandThroughput configured on table or index";
/// The message of a ProvisionedThroughputExceededException on an
/// on-demand table past its instant capacity (double its previous peak).
pub const ON_DEMAND_SCALING_MESSAGE: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";

/// The CancellationReasons of a TransactionCanceledException.
#[derive(Clone, Debug, PartialEq)]
pub struct Cancellation(pub Vec<CancellationReason>);

/// Why one action of a transaction did not go through (`Code` "None" for
/// the actions that would have).
#[derive(Clone, Debug, PartialEq)]
pub struct CancellationReason {
    pub code: &'static str,
    pub message: Option<String>,
    /// ConditionalCheckFailed with ReturnValuesOnConditionCheckFailure ALL_OLD.
    pub item: Option<Item>,
}

impl CancellationReason {
    pub const NONE: CancellationReason = CancellationReason {
        code: "None",
        message: None,
        item: None,
    };

    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CancellationReason {
            code,
            message: Some(message.into()),
            item: None,
        }
    }

    pub fn condition_failed(item: Option<Item>) -> Self {
        CancellationReason {
            item,
            ..Self::new("ConditionalCheckFailed", "The conditional request failed")
        }
    }

    pub fn conflict() -> Self {
        Self::new("TransactionConflict", TRANSACTION_CONFLICT_MESSAGE)
    }
}

/// What DynamoDB says of an item another transaction holds.
pub const TRANSACTION_CONFLICT_MESSAGE: &str = "Transaction is ongoing for the item";

/// The detail of a server fault, else the message (what logs show).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.detail.as_deref().unwrap_or(&self.message))
    }
}

impl ApiError {
    fn new(status: u16, namespace: &str, name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            type_name: format!("{namespace}{name}"),
            message: message.into(),
            item: None,
            detail: None,
            reasons: None,
            throttling: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, CORAL_VALIDATE, "ValidationException", message)
    }

    /// "One or more parameter values were invalid: …"
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> Self {
        Self::validation(format!(
            "One or more parameter values were invalid: {detail}"
        ))
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, CORAL_SERVICE, "SerializationException", message)
    }

    /// DynamoDB sends this one without a message.
    pub fn unknown_operation() -> Self {
        Self::new(400, CORAL_SERVICE, "UnknownOperationException", "")
    }

    pub fn missing_authentication_token() -> Self {
        Self::new(
            400,
            CORAL_SERVICE,
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        )
    }

    /// A refused SigV4 signature, as DynamoDB reports each kind.
    pub fn from_auth(error: &crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        use crate::auth::sigv4::{MISMATCH_MESSAGE, UNRECOGNIZED_MESSAGE};
        match error {
            AuthError::Missing => Self::missing_authentication_token(),
            AuthError::Incomplete(m) => Self::new(
                400,
                CORAL_SERVICE,
                "IncompleteSignatureException",
                m.clone(),
            ),
            AuthError::UnrecognizedClient => Self::new(
                400,
                CORAL_SERVICE,
                "UnrecognizedClientException",
                UNRECOGNIZED_MESSAGE,
            ),
            AuthError::Mismatch => Self::new(
                400,
                CORAL_SERVICE,
                "InvalidSignatureException",
                MISMATCH_MESSAGE,
            ),
            AuthError::Invalid(m) => {
                Self::new(400, CORAL_SERVICE, "InvalidSignatureException", m.clone())
            }
        }
    }

    /// Item-level operations on a missing table.
    pub fn resource_not_found() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "ResourceNotFoundException",
            "Requested resource not found",
        )
    }

    /// DynamoDB Streams: a shard iterator older than its lifetime.
    pub fn expired_iterator(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ExpiredIteratorException", message)
    }

    /// DynamoDB Streams: a position older than the oldest record kept.
    pub fn trimmed_data_access(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "TrimmedDataAccessException", message)
    }

    /// A missing resource named in the message (an index, say).
    pub fn resource_not_found_message(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ResourceNotFoundException", message)
    }

    /// A write to a table with local secondary indexes would grow an item
    /// collection past its size limit.
    pub fn item_collection_size_limit_exceeded() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "ItemCollectionSizeLimitExceededException",
            "Item collection size limit exceeded",
        )
    }

    /// Table-level operations (DescribeTable, DeleteTable, UpdateTable).
    pub fn table_not_found(table: &str) -> Self {
        Self::new(
            400,
            DYNAMODB,
            "ResourceNotFoundException",
            format!("Requested resource not found: Table: {table} not found"),
        )
    }

    /// A request for another account's resource (coral's own error type,
    /// whose body spells the member `Message`).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(400, CORAL_SERVICE, "AccessDeniedException", message)
    }

    /// The backup operations' own "no such table" (DescribeContinuousBackups).
    pub fn table_not_found_for_backups(table: &str) -> Self {
        Self::new(
            400,
            DYNAMODB,
            "TableNotFoundException",
            format!("Table not found: {table}"),
        )
    }

    /// RestoreTableToPointInTime of a table without point-in-time recovery.
    pub fn point_in_time_recovery_unavailable(table: &str) -> Self {
        Self::new(
            400,
            DYNAMODB,
            "PointInTimeRecoveryUnavailableException",
            format!("Point in time recovery is not enabled for table '{table}'"),
        )
    }

    /// A RestoreDateTime outside the restorable window.
    pub fn invalid_restore_time() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "InvalidRestoreTimeException",
            "RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime",
        )
    }

    pub fn backup_not_found(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "BackupNotFoundException", message)
    }

    pub fn backup_in_use(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "BackupInUseException", message)
    }

    pub fn table_already_exists(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "TableAlreadyExistsException", message)
    }

    pub fn table_in_use(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "TableInUseException", message)
    }

    pub fn export_not_found(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ExportNotFoundException", message)
    }

    pub fn import_not_found(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ImportNotFoundException", message)
    }

    /// A ClientToken reused with other parameters (ExportTableToPointInTime,
    /// as its API reference says).
    pub fn import_conflict(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ImportConflictException", message)
    }

    pub fn invalid_export_time(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "InvalidExportTimeException", message)
    }

    /// No resource-based policy where one was asked for or expected.
    pub fn policy_not_found(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "PolicyNotFoundException", message)
    }

    pub fn resource_in_use(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "ResourceInUseException", message)
    }

    pub fn conditional_check_failed(item: Option<Item>) -> Self {
        let mut error = Self::new(
            400,
            DYNAMODB,
            "ConditionalCheckFailedException",
            "The conditional request failed",
        );
        error.item = item;
        error
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(400, DYNAMODB, "LimitExceededException", message)
    }

    /// A provisioned table's write was refused: its GSIs cannot keep up.
    pub fn provisioned_throughput_exceeded(message: impl Into<String>) -> Self {
        Self::new(
            400,
            DYNAMODB,
            "ProvisionedThroughputExceededException",
            message,
        )
    }

    /// A capacity refusal with its ThrottlingReasons: provisioned
    /// (ProvisionedThroughputExceededException) or on demand
    /// (ThrottlingException).
    pub fn throttled(provisioned: bool, message: &str, reasons: Vec<ThrottlingReason>) -> Self {
        let mut error = if provisioned {
            Self::provisioned_throughput_exceeded(message)
        } else {
            Self::throttling(message)
        };
        error.throttling = Some(Box::new(reasons));
        error
    }

    /// Too many requests in flight on a shard.
    pub fn throttling(message: impl Into<String>) -> Self {
        Self::new(
            400,
            "com.amazon.coral.availability#",
            "ThrottlingException",
            message,
        )
    }

    pub fn request_entity_too_large(limit: usize) -> Self {
        Self::new(
            413,
            CORAL_SERVICE,
            "RequestEntityTooLarge",
            format!("Request must be smaller than {limit} bytes for the operation"),
        )
    }

    /// A transaction cancelled, with one reason per action in request order.
    pub fn transaction_canceled(reasons: Vec<CancellationReason>) -> Self {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code).collect();
        let mut error = Self::new(
            400,
            DYNAMODB,
            "TransactionCanceledException",
            format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
        );
        error.reasons = Some(Box::new(Cancellation(reasons)));
        error
    }

    /// A single-item write to an item a transaction holds.
    pub fn transaction_conflict() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "TransactionConflictException",
            TRANSACTION_CONFLICT_MESSAGE,
        )
    }

    /// A repeat of a ClientRequestToken whose first request still runs.
    pub fn transaction_in_progress() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "TransactionInProgressException",
            "The transaction with the given request token is already in progress.",
        )
    }

    /// A ClientRequestToken reused with other parameters.
    pub fn idempotent_parameter_mismatch() -> Self {
        Self::new(
            400,
            DYNAMODB,
            "IdempotentParameterMismatchException",
            "Request parameters do not match the parameters of the previous request with the same client request token",
        )
    }

    /// A server fault: clients get [`INTERNAL_MESSAGE`], the log `detail`.
    pub fn internal(detail: impl Into<String>) -> Self {
        let mut error = Self::new(500, DYNAMODB, "InternalServerError", INTERNAL_MESSAGE);
        error.detail = Some(detail.into().into_boxed_str());
        error
    }

    /// Whether this is a server fault (its detail belongs in the log).
    pub fn is_server_fault(&self) -> bool {
        self.status >= 500
    }

    /// The response body: `{"__type":"…","message":"…"}` (plus `Item`;
    /// no message member when the message is empty).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.message.len());
        out.extend_from_slice(b"{\"__type\":");
        write_json_str(&mut out, &self.type_name);
        // DynamoDB's JSON reader and its coral errors spell it "Message";
        // its validator and its service errors "message" (SDKs read both).
        // An empty message is omitted (UnknownOperationException has none).
        if !self.message.is_empty() {
            let member: &[u8] = if self.type_name.ends_with("#SerializationException")
                || self.type_name.ends_with("#AccessDeniedException")
            {
                b",\"Message\":"
            } else {
                b",\"message\":"
            };
            out.extend_from_slice(member);
            write_json_str(&mut out, &self.message);
        }
        if let Some(item) = &self.item {
            out.extend_from_slice(b",\"Item\":");
            write_json_map(&mut out, item);
        }
        if let Some(reasons) = &self.reasons {
            out.extend_from_slice(b",\"CancellationReasons\":[");
            for (i, reason) in reasons.0.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"Code\":");
                write_json_str(&mut out, reason.code);
                if let Some(message) = &reason.message {
                    out.extend_from_slice(b",\"Message\":");
                    write_json_str(&mut out, message);
                }
                if let Some(item) = &reason.item {
                    out.extend_from_slice(b",\"Item\":");
                    write_json_map(&mut out, item);
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        if let Some(reasons) = &self.throttling {
            out.extend_from_slice(b",\"ThrottlingReasons\":[");
            for (i, r) in reasons.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"reason\":");
                write_json_str(&mut out, &r.reason);
                out.extend_from_slice(b",\"resource\":");
                write_json_str(&mut out, &r.resource);
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        out
    }
}

/// A stored item that does not decode is an engine-side fault: 500.
impl From<crate::model::codec::DecodeError> for ApiError {
    fn from(e: crate::model::codec::DecodeError) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl From<ValueError> for ApiError {
    fn from(e: ValueError) -> Self {
        match e {
            ValueError::Validation(m) => ApiError::validation(m),
            ValueError::Serialization(m) => ApiError::serialization(m),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::internal(format!("engine: {e}"))
    }
}

/// DDL refusals carry DynamoDB's messages; catalog file faults are 500s.
impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        let message = e.to_string();
        match e {
            CatalogError::TableExists(_)
            | CatalogError::TableBeingCreated(_)
            | CatalogError::TableBeingDeleted(_) => ApiError::resource_in_use(message),
            CatalogError::DeletionProtected
            | CatalogError::TagLimit
            | CatalogError::StreamAlreadyEnabled(_)
            | CatalogError::StreamAlreadyDisabled(_)
            | CatalogError::TtlAlreadyEnabled
            | CatalogError::TtlAlreadyDisabled
            | CatalogError::TtlChangedTooRecently => ApiError::validation(message),
            CatalogError::TableLimit { .. }
            | CatalogError::IndexChangeInProgress { .. }
            | CatalogError::GlobalIndexLimit { .. }
            | CatalogError::DecreaseLimit(_) => ApiError::limit_exceeded(message),
            CatalogError::TableNotFound(name) => ApiError::table_not_found(&name),
            CatalogError::IndexExists => ApiError::validation(message),
            CatalogError::IndexNotFound { .. } => ApiError::resource_not_found_message(message),
            CatalogError::ConflictingDefinition { .. } => ApiError::invalid_parameter(message),
            CatalogError::StreamNotFound { .. } => ApiError::resource_not_found_message(message),
            CatalogError::PolicyNotFound { .. }
            | CatalogError::PolicyRevisionMismatch { .. }
            | CatalogError::PolicyExpectedNone { .. } => ApiError::policy_not_found(message),
            CatalogError::PolicyChangedTooRecently { .. } => ApiError::throttling(message),
            _ => ApiError::internal(message),
        }
    }
}

/// Builds the "N validation error(s) detected: …" message DynamoDB sends for
/// constraint violations, which it reports all together.
#[derive(Default)]
pub struct Violations {
    found: Vec<String>,
}

impl Violations {
    pub fn push(&mut self, value: &str, path: &str, constraint: &str) {
        self.found.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn null(&mut self, path: &str) {
        self.push("null", path, "Member must not be null");
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        match self.found.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.found[0]
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.found.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_faults_send_a_generic_message_and_keep_the_detail() {
        let e = ApiError::internal("checksum mismatch in /data/000001.sst at 4096");
        assert_eq!(e.status, 500);
        assert_eq!(e.message, INTERNAL_MESSAGE);
        let body = String::from_utf8(e.to_json()).expect("utf-8");
        assert!(!body.contains("/data/"), "{body}");
        assert!(e.to_string().contains("/data/000001.sst"));
    }

    #[test]
    fn catalog_refusals_keep_dynamodbs_messages() {
        let e = ApiError::from(CatalogError::TableExists("t".into()));
        assert_eq!(e.type_name, format!("{DYNAMODB}ResourceInUseException"));
        assert_eq!(e.message, "Table already exists: t");
        let e = ApiError::from(CatalogError::TableNotFound("t".into()));
        assert_eq!(e, ApiError::table_not_found("t"));
    }
}
