//! ListTables: names in order, paginated by ExclusiveStartTableName.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::model::value::write_json_str;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let limit = fields.i64("Limit")?;
    let start = fields.str("ExclusiveStartTableName")?;
    if let Some(start) = start {
        check_table_name(&mut v, Some(start), "exclusiveStartTableName");
    }
    match limit {
        Some(n) if n < 1 => v.push(
            &format!("'{n}'"),
            "limit",
            "Member must have value greater than or equal to 1",
        ),
        Some(n) if n > 100 => v.push(
            &format!("'{n}'"),
            "limit",
            "Member must have value less than or equal to 100",
        ),
        _ => {}
    }
    v.into_result()?;
    let limit = limit.unwrap_or(100) as usize;
    let catalog = shard.catalog();
    let names: Vec<&String> = catalog
        .tables
        .keys()
        .filter(|n| start.is_none_or(|s| n.as_str() > s))
        .collect();
    let page = &names[..names.len().min(limit)];
    let mut list = b"[".to_vec();
    for (i, n) in page.iter().enumerate() {
        if i > 0 {
            list.push(b',');
        }
        write_json_str(&mut list, n);
    }
    list.push(b']');
    let mut reply = ReplyBuilder::new();
    reply.raw("TableNames", &list);
    if names.len() > limit
        && let Some(last) = page.last()
    {
        let mut last_json = Vec::new();
        write_json_str(&mut last_json, last);
        reply.raw("LastEvaluatedTableName", &last_json);
    }
    Ok(Outcome::Reply(reply.finish()))
}
