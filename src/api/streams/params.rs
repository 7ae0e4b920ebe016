//! The Streams API's shared request members and their constraints, as
//! DynamoDB Streams' validator reports them (all violations together).

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::request::Fields;

/// A Limit member in `1..=max`.
pub fn limit(
    fields: &Fields<'_, '_>,
    max: i64,
    v: &mut Violations,
) -> Result<Option<i64>, ApiError> {
    let limit = fields.i64("Limit")?;
    match limit {
        Some(n) if n < 1 => v.push(
            &format!("'{n}'"),
            "limit",
            "Member must have value greater than or equal to 1",
        ),
        Some(n) if n > max => v.push(
            &format!("'{n}'"),
            "limit",
            &format!("Member must have value less than or equal to {max}"),
        ),
        _ => {}
    }
    Ok(limit)
}

/// A string member whose length must be within `min..=max`; `required`
/// reports an absent one.
pub fn string<'a>(
    fields: &Fields<'a, '_>,
    name: &str,
    path: &str,
    (min, max): (usize, usize),
    required: bool,
    v: &mut Violations,
) -> Result<Option<&'a str>, ApiError> {
    let value = fields.str(name)?;
    match value {
        None if required => v.null(path),
        None => {}
        Some(s) => {
            let len = s.chars().count();
            if len < min {
                v.push(
                    &format!("'{s}'"),
                    path,
                    &format!("Member must have length greater than or equal to {min}"),
                );
            } else if len > max {
                v.push(
                    &format!("'{s}'"),
                    path,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
        }
    }
    Ok(value)
}

/// StreamArn: 37 to 1024 characters.
pub const STREAM_ARN_LEN: (usize, usize) = (37, 1024);
/// ShardId: 28 to 65 characters.
pub const SHARD_ID_LEN: (usize, usize) = (28, 65);
/// SequenceNumber: 21 to 40 characters.
pub const SEQUENCE_NUMBER_LEN: (usize, usize) = (21, 40);
