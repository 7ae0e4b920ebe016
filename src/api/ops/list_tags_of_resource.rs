//! ListTagsOfResource: a table's tags, in the order first set. A table
//! holds at most 50, which DynamoDB returns on one page; `NextToken` (the
//! position to continue from) is honoured for clients that page.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn;
use crate::catalog::{TAGS_MAX, TableStatus, Tag};
use crate::model::value::write_json_str;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let resource = fields.str("ResourceArn")?;
    let token = fields.str("NextToken")?;
    let name = arn::table_name_of(shard, resource, "ListTagsOfResource")?;
    let resource = resource.unwrap_or_default();
    let start = match token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::validation(format!("Invalid NextToken: {t}")))?,
    };
    let catalog = shard.catalog();
    let Some(table) = catalog
        .table(name)
        .filter(|t| t.status != TableStatus::Deleting)
    else {
        return Err(arn::not_found(resource));
    };
    let (list, next) = page(&table.tags, start, TAGS_MAX);
    let mut reply = ReplyBuilder::new();
    reply.raw("Tags", &list);
    if let Some(next) = next {
        let mut token = Vec::new();
        write_json_str(&mut token, &next.to_string());
        reply.raw("NextToken", &token);
    }
    Ok(Outcome::Reply(reply.finish()))
}

/// The JSON list of up to `size` tags from `start`, and where the next
/// page starts if any remain.
fn page(tags: &[Tag], start: usize, size: usize) -> (Vec<u8>, Option<usize>) {
    let rest = tags.get(start..).unwrap_or_default();
    let shown = &rest[..rest.len().min(size)];
    let mut out = b"[".to_vec();
    for (i, tag) in shown.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Key\":");
        write_json_str(&mut out, &tag.key);
        out.extend_from_slice(b",\"Value\":");
        write_json_str(&mut out, &tag.value);
        out.push(b'}');
    }
    out.push(b']');
    let next = (rest.len() > shown.len()).then_some(start + shown.len());
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_on() {
        let tags: Vec<Tag> = (0..5)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect();
        let (first, next) = page(&tags, 0, 2);
        assert_eq!(
            String::from_utf8(first).unwrap(),
            r#"[{"Key":"k0","Value":""},{"Key":"k1","Value":""}]"#
        );
        assert_eq!(next, Some(2));
        assert_eq!(page(&tags, 4, 2).1, None);
        assert_eq!(page(&tags, 9, 2), (b"[]".to_vec(), None));
    }
}
