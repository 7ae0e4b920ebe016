//! The operations Dynacore serves and how a request names one: the
//! `X-Amz-Target` header (`DynamoDB_20120810.<Operation>`) with a JSON 1.0
//! or 1.1 content type, and an `Authorization` header.

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
    TransactWriteItems,
    TransactGetItems,
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
pub fn route(head: &RequestHead<'_>) -> Result<Operation, ApiError> {
    let content_type_ok = head.content_type.is_some_and(|ct| {
        let ct = ct.split(';').next().unwrap_or("").trim();
        ct.eq_ignore_ascii_case("application/x-amz-json-1.0")
            || ct.eq_ignore_ascii_case("application/x-amz-json-1.1")
    });
    let op = head
        .target
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .and_then(Operation::from_name);
    let Some(op) = op.filter(|_| content_type_ok) else {
        return Err(ApiError::unknown_operation());
    };
    if !head.has_authorization {
        return Err(ApiError::missing_authentication_token());
    }
    Ok(op)
}
