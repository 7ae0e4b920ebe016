//! The operations Dynacore serves and how a request names one: the
//! `X-Amz-Target` header (`DynamoDB_20120810.<Operation>`) and an
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
    TransactWriteItems,
    TransactGetItems,
    CreateBackup,
    DescribeBackup,
    ListBackups,
    DeleteBackup,
    RestoreTableFromBackup,
);

/// The `X-Amz-Target` prefix of DynamoDB's current API version.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

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
    let op = head
        .target
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .and_then(Operation::from_name);
    let Some(op) = op else {
        return Err(ApiError::unknown_operation());
    };
    if !head.has_authorization {
        return Err(ApiError::missing_authentication_token());
    }
    Ok(op)
}
