//! The member types of each operation's input, checked over the whole
//! request before any member constraint, as DynamoDB's JSON reader does:
//! a wrongly typed member anywhere in a request is a
//! `SerializationException` even when a constraint (a missing TableName,
//! say) would fail too.
//!
//! The messages are the ones DynamoDB's reader sends. They depend on the
//! expected type, on the JSON token found, and on where the member sits: a
//! structure, list or map that is a member of a structure ("field") is
//! reported differently from one that is a list element or map value.
//! Members a schema does not name are ignored, and `null` reads as absent.

use simd_json::BorrowedValue as Json;
use simd_json::StaticNode;

use super::error::ApiError;

/// The type of one request member.
pub enum Shape {
    String,
    Boolean,
    /// A 32-bit integer member (Limit, Segment, …).
    Integer,
    /// A 64-bit integer member (capacity units).
    Long,
    /// Base64 text.
    Blob,
    List(&'static Shape),
    /// String keys to values of the shape.
    Map(&'static Shape),
    /// A structure: its class name and its members.
    Struct(&'static str, &'static [Member]),
    /// Not checked here.
    Any,
}

/// A structure member: its name and shape.
pub type Member = (&'static str, Shape);

/// Where a value sits, which changes DynamoDB's message for a wrong token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    /// A member of a structure (including the request itself).
    Field,
    /// A list element or a map value.
    Element,
}

const MODEL: &str = "com.amazonaws.dynamodb.v20120810.";

/// What DynamoDB's reader reports for a list or map in element position
/// given a scalar (its generic-type cast fails).
const PARAMETERIZED_CAST: &str = "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class are in module java.base of loader 'bootstrap')";

const START_OF_MAP: &str = "Start of structure or map found where not expected";

/// Checks `request` against the input shape of the operation named `op`
/// (operations without a schema here are not checked).
pub fn check(op: &str, request: &Json<'_>) -> Result<(), ApiError> {
    match schema(op) {
        Some(members) => check_struct(members, request),
        None => Ok(()),
    }
}

/// The error for `json` where a `shape` in field position was expected: for
/// typed accessors outside a schema.
pub fn mismatch(json: &Json<'_>, shape: &Shape) -> ApiError {
    match check_value(shape, json, Position::Field) {
        Err(e) => e,
        Ok(()) => ApiError::serialization("Unexpected field type"),
    }
}

fn check_struct(members: &[Member], json: &Json<'_>) -> Result<(), ApiError> {
    let Json::Object(object) = json else {
        return Ok(());
    };
    for (name, shape) in members {
        if let Some(value) = object.get(*name) {
            check_value(shape, value, Position::Field)?;
        }
    }
    Ok(())
}

fn check_value(shape: &Shape, json: &Json<'_>, at: Position) -> Result<(), ApiError> {
    let fail = |m: String| Err(ApiError::serialization(m));
    if matches!(json, Json::Static(StaticNode::Null)) {
        return Ok(());
    }
    match shape {
        Shape::Any => Ok(()),
        Shape::String => match json {
            Json::String(_) => Ok(()),
            other => fail(scalar_mismatch(other, "String")),
        },
        Shape::Boolean => match json {
            Json::Static(StaticNode::Bool(_)) => Ok(()),
            Json::String(_) => fail("Unexpected token received from parser".into()),
            other => fail(scalar_mismatch(other, "Boolean")),
        },
        Shape::Integer | Shape::Long => {
            let name = if matches!(shape, Shape::Integer) {
                "Integer"
            } else {
                "Long"
            };
            match json {
                Json::Static(StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::F64(_)) => {
                    Ok(())
                }
                Json::String(_) => fail(format!("STRING_VALUE cannot be converted to {name}")),
                other => fail(scalar_mismatch(other, name)),
            }
        }
        Shape::Blob => match json {
            Json::String(text) => check_base64(text),
            Json::Array(_) => fail("Unrecognized collection type class java.nio.ByteBuffer".into()),
            Json::Object(_) => fail(START_OF_MAP.into()),
            _ => fail("only base-64-encoded strings are convertible to bytes".into()),
        },
        Shape::List(element) => match json {
            Json::Array(items) => {
                for item in items.iter() {
                    check_value(element, item, Position::Element)?;
                }
                Ok(())
            }
            Json::Object(_) => fail(START_OF_MAP.into()),
            _ if at == Position::Element => fail(PARAMETERIZED_CAST.into()),
            _ => fail("Unexpected field type".into()),
        },
        Shape::Map(value) => match json {
            Json::Object(entries) => {
                for (_, entry) in entries.iter() {
                    check_value(value, entry, Position::Element)?;
                }
                Ok(())
            }
            Json::Array(_) => fail(format!(
                "Unrecognized collection type java.util.Map<java.lang.String, {}>",
                java_name(value)
            )),
            _ if at == Position::Element => fail(PARAMETERIZED_CAST.into()),
            _ => fail("Unexpected field type".into()),
        },
        Shape::Struct(name, members) => match json {
            Json::Object(_) => check_struct(members, json),
            Json::Array(_) => fail(format!("Unrecognized collection type class {MODEL}{name}")),
            _ if at == Position::Element => fail("Unexpected value type in payload".into()),
            _ => fail("Unexpected field type".into()),
        },
    }
}

/// A scalar, list or structure token where a scalar of `expected` belongs.
fn scalar_mismatch(json: &Json<'_>, expected: &str) -> String {
    match json {
        Json::Array(_) => format!("Unrecognized collection type class java.lang.{expected}"),
        Json::Object(_) => START_OF_MAP.to_string(),
        other => format!("{} cannot be converted to {expected}", token_name(other)),
    }
}

/// DynamoDB's reader's name for a JSON scalar token.
pub fn token_name(json: &Json<'_>) -> &'static str {
    match json {
        Json::Static(StaticNode::Bool(true)) => "TRUE_VALUE",
        Json::Static(StaticNode::Bool(false)) => "FALSE_VALUE",
        Json::Static(StaticNode::F64(_)) => "DECIMAL_VALUE",
        Json::Static(StaticNode::Null) => "NULL_VALUE",
        Json::Static(_) => "NUMBER_VALUE",
        Json::String(_) => "STRING_VALUE",
        Json::Array(_) => "START_ARRAY",
        Json::Object(_) => "START_OBJECT",
    }
}

fn check_base64(text: &str) -> Result<(), ApiError> {
    use base64::Engine;
    if !text.len().is_multiple_of(4) {
        return Err(ApiError::serialization(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        )));
    }
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(_) => Ok(()),
        Err(_) => Err(ApiError::serialization(
            "Invalid last non-pad Base64 character dectected",
        )),
    }
}

/// The Java type DynamoDB's messages name for a map's values.
fn java_name(shape: &Shape) -> String {
    match shape {
        Shape::String => "java.lang.String".into(),
        Shape::Struct(name, _) => format!("{MODEL}{name}"),
        Shape::List(element) => format!("java.util.List<{}>", java_name(element)),
        Shape::Map(value) => format!("java.util.Map<java.lang.String, {}>", java_name(value)),
        Shape::Boolean => "java.lang.Boolean".into(),
        Shape::Integer => "java.lang.Integer".into(),
        Shape::Long => "java.lang.Long".into(),
        Shape::Blob => "java.nio.ByteBuffer".into(),
        Shape::Any => "java.lang.Object".into(),
    }
}

// ---- the shapes of DynamoDB's input members ----

const fn field(name: &'static str, shape: Shape) -> Member {
    (name, shape)
}

static ATTRIBUTE_VALUE_MEMBERS: [Member; 10] = [
    field("S", Shape::String),
    field("N", Shape::String),
    field("B", Shape::Blob),
    field("SS", Shape::List(&Shape::String)),
    field("NS", Shape::List(&Shape::String)),
    field("BS", Shape::List(&Shape::Blob)),
    field("M", Shape::Map(&ATTRIBUTE_VALUE)),
    field("L", Shape::List(&ATTRIBUTE_VALUE)),
    field("NULL", Shape::Boolean),
    field("BOOL", Shape::Boolean),
];

/// An AttributeValue.
pub static ATTRIBUTE_VALUE: Shape = Shape::Struct("AttributeValue", &ATTRIBUTE_VALUE_MEMBERS);

static ATTRIBUTE_MAP: Shape = Shape::Map(&ATTRIBUTE_VALUE);

static EXPECTED_VALUE: Shape = Shape::Struct("ExpectedAttributeValue", &EXPECTED_MEMBERS);
static EXPECTED_MEMBERS: [Member; 4] = [
    field(
        "Value",
        Shape::Struct("AttributeValue", &ATTRIBUTE_VALUE_MEMBERS),
    ),
    field("Exists", Shape::Boolean),
    field("ComparisonOperator", Shape::String),
    field("AttributeValueList", Shape::List(&ATTRIBUTE_VALUE)),
];

/// KeyConditions, QueryFilter, ScanFilter values.
static CONDITION: Shape = Shape::Struct("Condition", &CONDITION_MEMBERS);
static CONDITION_MEMBERS: [Member; 2] = [
    field("AttributeValueList", Shape::List(&ATTRIBUTE_VALUE)),
    field("ComparisonOperator", Shape::String),
];

static ATTRIBUTE_UPDATE: Shape = Shape::Struct("AttributeValueUpdate", &ATTRIBUTE_UPDATE_MEMBERS);
static ATTRIBUTE_UPDATE_MEMBERS: [Member; 2] = [
    field(
        "Value",
        Shape::Struct("AttributeValue", &ATTRIBUTE_VALUE_MEMBERS),
    ),
    field("Action", Shape::String),
];

static THROUGHPUT_MEMBERS: [Member; 2] = [
    field("ReadCapacityUnits", Shape::Long),
    field("WriteCapacityUnits", Shape::Long),
];

static ON_DEMAND_MEMBERS: [Member; 2] = [
    field("MaxReadRequestUnits", Shape::Long),
    field("MaxWriteRequestUnits", Shape::Long),
];

static WARM_MEMBERS: [Member; 2] = [
    field("ReadUnitsPerSecond", Shape::Long),
    field("WriteUnitsPerSecond", Shape::Long),
];

static KEY_ELEMENT: Shape = Shape::Struct("KeySchemaElement", &KEY_ELEMENT_MEMBERS);
static KEY_ELEMENT_MEMBERS: [Member; 2] = [
    field("AttributeName", Shape::String),
    field("KeyType", Shape::String),
];

static ATTRIBUTE_DEFINITION: Shape =
    Shape::Struct("AttributeDefinition", &ATTRIBUTE_DEFINITION_MEMBERS);
static ATTRIBUTE_DEFINITION_MEMBERS: [Member; 2] = [
    field("AttributeName", Shape::String),
    field("AttributeType", Shape::String),
];

static PROJECTION_MEMBERS: [Member; 2] = [
    field("ProjectionType", Shape::String),
    field("NonKeyAttributes", Shape::List(&Shape::String)),
];

static STREAM_MEMBERS: [Member; 2] = [
    field("StreamEnabled", Shape::Boolean),
    field("StreamViewType", Shape::String),
];

static SSE_MEMBERS: [Member; 3] = [
    field("Enabled", Shape::Boolean),
    field("SSEType", Shape::String),
    field("KMSMasterKeyId", Shape::String),
];

static TAG: Shape = Shape::Struct("Tag", &TAG_MEMBERS);
static TAG_MEMBERS: [Member; 2] = [field("Key", Shape::String), field("Value", Shape::String)];

static LOCAL_INDEX: Shape = Shape::Struct("LocalSecondaryIndex", &LOCAL_INDEX_MEMBERS);
static LOCAL_INDEX_MEMBERS: [Member; 3] = [
    field("IndexName", Shape::String),
    field("KeySchema", Shape::List(&KEY_ELEMENT)),
    field(
        "Projection",
        Shape::Struct("Projection", &PROJECTION_MEMBERS),
    ),
];

static GLOBAL_INDEX: Shape = Shape::Struct("GlobalSecondaryIndex", &GLOBAL_INDEX_MEMBERS);
/// A GlobalSecondaryIndex (CreateTable) or CreateGlobalSecondaryIndexAction.
static GLOBAL_INDEX_MEMBERS: [Member; 6] = [
    field("IndexName", Shape::String),
    field("KeySchema", Shape::List(&KEY_ELEMENT)),
    field(
        "Projection",
        Shape::Struct("Projection", &PROJECTION_MEMBERS),
    ),
    field(
        "ProvisionedThroughput",
        Shape::Struct("ProvisionedThroughput", &THROUGHPUT_MEMBERS),
    ),
    field(
        "OnDemandThroughput",
        Shape::Struct("OnDemandThroughput", &ON_DEMAND_MEMBERS),
    ),
    field(
        "WarmThroughput",
        Shape::Struct("WarmThroughput", &WARM_MEMBERS),
    ),
];

static GLOBAL_INDEX_UPDATE: Shape =
    Shape::Struct("GlobalSecondaryIndexUpdate", &GLOBAL_INDEX_UPDATE_MEMBERS);
static GLOBAL_INDEX_UPDATE_MEMBERS: [Member; 3] = [
    field(
        "Update",
        Shape::Struct("UpdateGlobalSecondaryIndexAction", &UPDATE_INDEX_MEMBERS),
    ),
    field(
        "Create",
        Shape::Struct("CreateGlobalSecondaryIndexAction", &GLOBAL_INDEX_MEMBERS),
    ),
    field(
        "Delete",
        Shape::Struct("DeleteGlobalSecondaryIndexAction", &DELETE_INDEX_MEMBERS),
    ),
];
static UPDATE_INDEX_MEMBERS: [Member; 4] = [
    field("IndexName", Shape::String),
    field(
        "ProvisionedThroughput",
        Shape::Struct("ProvisionedThroughput", &THROUGHPUT_MEMBERS),
    ),
    field(
        "OnDemandThroughput",
        Shape::Struct("OnDemandThroughput", &ON_DEMAND_MEMBERS),
    ),
    field(
        "WarmThroughput",
        Shape::Struct("WarmThroughput", &WARM_MEMBERS),
    ),
];
static DELETE_INDEX_MEMBERS: [Member; 1] = [field("IndexName", Shape::String)];

static KEYS_AND_ATTRIBUTES_VALUE: Shape =
    Shape::Struct("KeysAndAttributes", &KEYS_AND_ATTRIBUTES_MEMBERS);
static KEYS_AND_ATTRIBUTES_MEMBERS: [Member; 5] = [
    field("Keys", Shape::List(&ATTRIBUTE_MAP)),
    field("AttributesToGet", Shape::List(&Shape::String)),
    field("ConsistentRead", Shape::Boolean),
    field("ProjectionExpression", Shape::String),
    field("ExpressionAttributeNames", Shape::Map(&Shape::String)),
];

static WRITE_REQUEST_LIST: Shape = Shape::List(&WRITE_REQUEST);
static WRITE_REQUEST: Shape = Shape::Struct("WriteRequest", &WRITE_REQUEST_MEMBERS);
static WRITE_REQUEST_MEMBERS: [Member; 2] = [
    field(
        "PutRequest",
        Shape::Struct("PutRequest", &PUT_REQUEST_MEMBERS),
    ),
    field(
        "DeleteRequest",
        Shape::Struct("DeleteRequest", &DELETE_REQUEST_MEMBERS),
    ),
];
static PUT_REQUEST_MEMBERS: [Member; 1] = [field("Item", Shape::Map(&ATTRIBUTE_VALUE))];
static DELETE_REQUEST_MEMBERS: [Member; 1] = [field("Key", Shape::Map(&ATTRIBUTE_VALUE))];

static GET_ITEM: [Member; 7] = [
    field("TableName", Shape::String),
    field("Key", Shape::Map(&ATTRIBUTE_VALUE)),
    field("AttributesToGet", Shape::List(&Shape::String)),
    field("ConsistentRead", Shape::Boolean),
    field("ReturnConsumedCapacity", Shape::String),
    field("ProjectionExpression", Shape::String),
    field("ExpressionAttributeNames", Shape::Map(&Shape::String)),
];

/// PutItem, DeleteItem and UpdateItem: the union of their members (each
/// operation reads only its own; the others are ignored like any unknown
/// member, so checking them is harmless only because no other operation
/// gives these names another type).
static WRITE_ITEM: [Member; 14] = [
    field("TableName", Shape::String),
    field("Item", Shape::Map(&ATTRIBUTE_VALUE)),
    field("Key", Shape::Map(&ATTRIBUTE_VALUE)),
    field("AttributeUpdates", Shape::Map(&ATTRIBUTE_UPDATE)),
    field("Expected", Shape::Map(&EXPECTED_VALUE)),
    field("ConditionalOperator", Shape::String),
    field("ReturnValues", Shape::String),
    field("ReturnConsumedCapacity", Shape::String),
    field("ReturnItemCollectionMetrics", Shape::String),
    field("UpdateExpression", Shape::String),
    field("ConditionExpression", Shape::String),
    field("ExpressionAttributeNames", Shape::Map(&Shape::String)),
    field("ExpressionAttributeValues", Shape::Map(&ATTRIBUTE_VALUE)),
    field("ReturnValuesOnConditionCheckFailure", Shape::String),
];

/// Query and Scan: the union of their members.
static READ_ITEMS: [Member; 20] = [
    field("TableName", Shape::String),
    field("IndexName", Shape::String),
    field("Select", Shape::String),
    field("AttributesToGet", Shape::List(&Shape::String)),
    field("Limit", Shape::Integer),
    field("ConsistentRead", Shape::Boolean),
    field("KeyConditions", Shape::Map(&CONDITION)),
    field("QueryFilter", Shape::Map(&CONDITION)),
    field("ScanFilter", Shape::Map(&CONDITION)),
    field("ConditionalOperator", Shape::String),
    field("ScanIndexForward", Shape::Boolean),
    field("ExclusiveStartKey", Shape::Map(&ATTRIBUTE_VALUE)),
    field("ReturnConsumedCapacity", Shape::String),
    field("TotalSegments", Shape::Integer),
    field("Segment", Shape::Integer),
    field("ProjectionExpression", Shape::String),
    field("FilterExpression", Shape::String),
    field("KeyConditionExpression", Shape::String),
    field("ExpressionAttributeNames", Shape::Map(&Shape::String)),
    field("ExpressionAttributeValues", Shape::Map(&ATTRIBUTE_VALUE)),
];

static BATCH_GET_ITEM: [Member; 2] = [
    field("RequestItems", Shape::Map(&KEYS_AND_ATTRIBUTES_VALUE)),
    field("ReturnConsumedCapacity", Shape::String),
];

static BATCH_WRITE_ITEM: [Member; 3] = [
    field("RequestItems", Shape::Map(&WRITE_REQUEST_LIST)),
    field("ReturnConsumedCapacity", Shape::String),
    field("ReturnItemCollectionMetrics", Shape::String),
];

/// CreateTable and UpdateTable: the union of their members.
static TABLE_DDL: [Member; 17] = [
    field("AttributeDefinitions", Shape::List(&ATTRIBUTE_DEFINITION)),
    field("TableName", Shape::String),
    field("KeySchema", Shape::List(&KEY_ELEMENT)),
    field("LocalSecondaryIndexes", Shape::List(&LOCAL_INDEX)),
    field("GlobalSecondaryIndexes", Shape::List(&GLOBAL_INDEX)),
    field(
        "GlobalSecondaryIndexUpdates",
        Shape::List(&GLOBAL_INDEX_UPDATE),
    ),
    field("BillingMode", Shape::String),
    field(
        "ProvisionedThroughput",
        Shape::Struct("ProvisionedThroughput", &THROUGHPUT_MEMBERS),
    ),
    field(
        "StreamSpecification",
        Shape::Struct("StreamSpecification", &STREAM_MEMBERS),
    ),
    field(
        "SSESpecification",
        Shape::Struct("SSESpecification", &SSE_MEMBERS),
    ),
    field("Tags", Shape::List(&TAG)),
    field("TableClass", Shape::String),
    field("DeletionProtectionEnabled", Shape::Boolean),
    field("ResourcePolicy", Shape::String),
    field(
        "OnDemandThroughput",
        Shape::Struct("OnDemandThroughput", &ON_DEMAND_MEMBERS),
    ),
    field(
        "WarmThroughput",
        Shape::Struct("WarmThroughput", &WARM_MEMBERS),
    ),
    field("MultiRegionConsistency", Shape::String),
];

static TABLE_NAME_ONLY: [Member; 1] = [field("TableName", Shape::String)];

static TIME_TO_LIVE_MEMBERS: [Member; 2] = [
    field("AttributeName", Shape::String),
    field("Enabled", Shape::Boolean),
];

static UPDATE_TIME_TO_LIVE: [Member; 2] = [
    field("TableName", Shape::String),
    field(
        "TimeToLiveSpecification",
        Shape::Struct("TimeToLiveSpecification", &TIME_TO_LIVE_MEMBERS),
    ),
];

static LIST_TABLES: [Member; 2] = [
    field("ExclusiveStartTableName", Shape::String),
    field("Limit", Shape::Integer),
];

/// PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy: the
/// union of their members.
static RESOURCE_POLICY: [Member; 4] = [
    field("ResourceArn", Shape::String),
    field("Policy", Shape::String),
    field("ExpectedRevisionId", Shape::String),
    field("ConfirmRemoveSelfResourceAccess", Shape::Boolean),
];

/// The input members of an operation, by its name.
fn schema(op: &str) -> Option<&'static [Member]> {
    Some(match op {
        "GetItem" => &GET_ITEM,
        "PutItem" | "DeleteItem" | "UpdateItem" => &WRITE_ITEM,
        "Query" | "Scan" => &READ_ITEMS,
        "BatchGetItem" => &BATCH_GET_ITEM,
        "BatchWriteItem" => &BATCH_WRITE_ITEM,
        "CreateTable" | "UpdateTable" => &TABLE_DDL,
        "DescribeTable" | "DeleteTable" | "DescribeTimeToLive" => &TABLE_NAME_ONLY,
        "UpdateTimeToLive" => &UPDATE_TIME_TO_LIVE,
        "ListTables" => &LIST_TABLES,
        "PutResourcePolicy" | "GetResourcePolicy" | "DeleteResourcePolicy" => &RESOURCE_POLICY,
        _ => return None,
    })
}
