//! The operations Dynacore serves and how a request names one: the
//! `X-Amz-Target` header (`DynamoDB_20120810.<Operation>`, or
//! `DynamoDBStreams_20120810.<Operation>` for the four Streams
//! operations, which answer on the same endpoint) and an
//! `Authorization` header; the HTTP layer admits JSON bodies only
//! (`application/x-amz-json-1.0`, `-1.1` or `application/json`).

use super::error::ApiError;

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
    TagResource,
    UntagResource,
    ListTagsOfResource,
    DescribeEndpoints,
    DescribeLimits,
    DescribeContinuousBackups,
    DescribeTimeToLive,
    UpdateTimeToLive,
    TransactWriteItems,
    TransactGetItems,
    ListStreams,
    DescribeStream,
    GetShardIterator,
    GetRecords,
    CreateBackup,
    DescribeBackup,
    ListBackups,
    DeleteBackup,
    RestoreTableFromBackup,
    UpdateContinuousBackups,
    RestoreTableToPointInTime,
    ExportTableToPointInTime,
    DescribeExport,
    ListExports,
    ImportTable,
    DescribeImport,
    ListImports,
    PutResourcePolicy,
    GetResourcePolicy,
    DeleteResourcePolicy,
);

impl Operation {
    /// Whether this is a DynamoDB Streams operation (named with
    /// [`STREAMS_TARGET_PREFIX`]).
    pub fn is_streams(self) -> bool {
        matches!(
            self,
            Operation::ListStreams
                | Operation::DescribeStream
                | Operation::GetShardIterator
                | Operation::GetRecords
        )
    }
}

/// The `X-Amz-Target` prefix of the DynamoDB Streams API.
pub const STREAMS_TARGET_PREFIX: &str = "DynamoDBStreams_20120810.";

/// The `X-Amz-Target` prefix of DynamoDB's current API version.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// The operation an `X-Amz-Target` value names: a DynamoDB operation
/// under [`TARGET_PREFIX`], a Streams one under [`STREAMS_TARGET_PREFIX`].
pub fn operation_of(target: &str) -> Option<Operation> {
    if let Some(name) = target.strip_prefix(TARGET_PREFIX) {
        Operation::from_name(name).filter(|op| !op.is_streams())
    } else {
        let name = target.strip_prefix(STREAMS_TARGET_PREFIX)?;
        Operation::from_name(name).filter(|op| op.is_streams())
    }
}

/// Request metadata the HTTP layer extracted.
pub struct RequestHead<'a> {
    pub target: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub has_authorization: bool,
}

/// The operation a request names, or DynamoDB's error for its headers.
/// (The content type was checked by the HTTP layer: a body of another type
/// never gets here.)
pub fn route(head: &RequestHead<'_>) -> Result<Operation, ApiError> {
    let Some(op) = head.target.and_then(operation_of) else {
        return Err(ApiError::unknown_operation());
    };
    if !head.has_authorization {
        return Err(ApiError::missing_authentication_token());
    }
    Ok(op)
}
