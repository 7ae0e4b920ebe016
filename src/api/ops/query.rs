//! Query: the items of one partition, in sort-key order, narrowed by a
//! KeyConditionExpression and paged.
//!
//! The key condition becomes a byte range of the storage key order (S and B
//! sort keys are stored raw, N in an order-preserving encoding), so a Query
//! reads exactly the matching keys from the owning shard's store, forward or
//! backward, `FETCH_ENTRIES` at a time until the page is full.
//!
//! With `IndexName` the same happens over one partition of the index's
//! entries (`api::index`): the key condition is matched to the index's key
//! schema (several HASH/RANGE attributes for a multi-attribute GSI), becomes
//! a byte range of the entry keys (`index::range`), and is read on the shard
//! owning the index partition's hash — the base partition's shard for an
//! LSI, which is why an LSI may fetch unprojected attributes from the base
//! item locally and a GSI may not.
//!
//! Shape: [`read`] validates the request alone; `query_table` or
//! `query_index` plans the byte range and forwards to its owner if need
//! be; `fill` reads it into the page.

use std::ops::Bound;
use std::rc::Rc;

use crate::api::expr::legacy;
use crate::api::expr::params::{ExprInput, check_not_mixed, condition, projection};
use crate::api::expr::params::{reject_attributes_in_filter, reject_key_attributes_in_filter};
use crate::api::expr::{self, CmpOp, ExprKind, KeyOp, KeyTerm};
use crate::api::expr::{Condition, Projection};
use crate::api::index::condition::match_index_schema;
use crate::api::index::{keys, range, read};
use crate::api::messages::as_ref_bound;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::params::consumed_mode;
use crate::api::protocol::params::{SelectKind, read_limit, read_select_kind};
use crate::api::protocol::reply::ConsumedMode;
use crate::api::protocol::request::Fields;
use crate::api::read::page::{IndexPage, PageBuilder};
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{make_key, start_key_from_json, table_for_items};
use crate::catalog::{KeyAttr, TableDef};
use crate::model::Value;
use crate::model::codec::decode_item;
use crate::model::key::{max_lower, min_upper, prefix_end};
use crate::model::key::{partition_prefix, push_sort_key};

/// Query's members, validated in DynamoDB's order.
struct Request<'a> {
    name: &'a str,
    index_name: Option<&'a str>,
    consumed: ConsumedMode,
    terms: Vec<KeyTerm>,
    filter: Option<Condition>,
    /// How error messages name the filter (expression or legacy).
    filter_label: &'static str,
    projection: Option<Projection>,
    select: SelectKind,
    limit: Option<usize>,
    forward: bool,
    consistent: bool,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = read(&fields)?;
    let table = table_for_items(shard, request.name)?;
    match request.index_name {
        Some(index_name) => {
            let query = IndexQuery {
                terms: request.terms,
                filter: request.filter.as_ref(),
                filter_label: request.filter_label,
                projection: request.projection.as_ref(),
                select: request.select,
                limit: request.limit,
                forward: request.forward,
                consistent: request.consistent,
                consumed: request.consumed,
            };
            query_index(shard, &fields, &table, index_name, query).await
        }
        None => query_table(shard, &fields, &table, request).await,
    }
}

/// Validates the request alone (nothing here reads the catalog).
fn read<'a>(fields: &Fields<'a, '_>) -> Result<Request<'a>, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let index_name = fields.str("IndexName")?;
    if index_name.is_some() {
        check_table_name(&mut v, index_name, "indexName");
    }
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    let Some(name) = name else {
        return Err(ApiError::validation("TableName is required"));
    };
    // KeyConditions may go with FilterExpression and ProjectionExpression;
    // only KeyConditionExpression excludes it (`check_not_mixed`).
    check_not_mixed(
        fields,
        &[
            "AttributesToGet",
            "QueryFilter",
            "ConditionalOperator",
            "KeyConditions",
        ],
        &[
            "ProjectionExpression",
            "FilterExpression",
            "KeyConditionExpression",
        ],
    )?;
    let limit = read_limit(fields)?;
    let forward = fields.bool("ScanIndexForward")?.unwrap_or(true);
    let consistent = fields.bool("ConsistentRead")?.unwrap_or(false);
    let input = ExprInput::read(fields)?;
    let mut ph = input.placeholders()?;
    let key_cond = condition(
        fields,
        "KeyConditionExpression",
        ExprKind::KeyCondition,
        &mut ph,
    )?;
    let filter = condition(fields, "FilterExpression", ExprKind::Filter, &mut ph)?;
    let projection = projection(fields, &mut ph)?;
    ph.finish()?;
    let select = read_select_kind(fields, projection.is_some(), index_name.is_some())?;
    // A multi-attribute index key takes more than two KeyConditions; the
    // index's schema bounds them below.
    let max_conditions = if index_name.is_some() { usize::MAX } else { 2 };
    let terms = match key_cond {
        Some(key_cond) => expr::key_condition_terms(&key_cond)?,
        None => legacy::key_conditions(fields, max_conditions)?.ok_or_else(|| {
            ApiError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            )
        })?,
    };
    let filter_label = if filter.is_some() {
        "Filter Expression"
    } else {
        "QueryFilter"
    };
    let filter = match filter {
        Some(filter) => Some(filter),
        None => legacy::filter(fields, "QueryFilter")?,
    };
    Ok(Request {
        name,
        index_name,
        consumed,
        terms,
        filter,
        filter_label,
        projection,
        select,
        limit,
        forward,
        consistent,
    })
}

/// A Query on the table itself: one partition's byte range on its owner.
async fn query_table(
    shard: &Rc<Shard>,
    fields: &Fields<'_, '_>,
    table: &TableDef,
    request: Request<'_>,
) -> Result<Outcome, ApiError> {
    if let Some(filter) = &request.filter {
        reject_key_attributes_in_filter(filter, table, request.filter_label)?;
    }
    let (pk, sort) = match_schema(table, request.terms)?;
    let key = make_key(shard, table, pk.clone(), None);
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    shard.meter.admit_read(table, None, Some(key.hash))?;
    let partition = partition_prefix(table.id, key.hash, &pk);
    let (mut lower, mut upper) = sort_range(&partition, sort.as_ref());
    if let Some(start) = fields.get("ExclusiveStartKey") {
        let start = start_key_from_json(shard, table, start)?;
        if start.pk != pk {
            return Err(ApiError::validation(
                "The provided starting key does not match the range key predicate",
            ));
        }
        (lower, upper) = after_start((lower, upper), start.storage, request.forward);
    }
    let mut page = PageBuilder::new(
        table,
        request.filter.as_ref(),
        request.projection.as_ref(),
        request.select == SelectKind::Count,
        request.limit,
    );
    fill(shard, &mut page, (lower, upper), request.forward).await?;
    page.charge(&shard.meter, request.consistent, Some(key.hash));
    Ok(Outcome::Reply(
        page.reply(request.consumed, request.consistent),
    ))
}

/// Offers the entries of `range` on this shard, in order, until the page
/// is full or the range is done.
async fn fill(
    shard: &Shard,
    page: &mut PageBuilder<'_>,
    (mut lower, mut upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
    forward: bool,
) -> Result<(), ApiError> {
    loop {
        let entries = shard
            .store
            .scan(
                as_ref_bound(&lower),
                as_ref_bound(&upper),
                !forward,
                page.fetch_size(),
                usize::MAX,
            )
            .await?;
        if entries.is_empty() {
            return Ok(());
        }
        for (k, value) in &entries {
            if forward {
                lower = Bound::Excluded(k.clone());
            } else {
                upper = Bound::Excluded(k.clone());
            }
            if !page.offer(value)? {
                return Ok(());
            }
        }
    }
}

/// The parsed parts of a Query that an index query uses.
struct IndexQuery<'r> {
    terms: Vec<KeyTerm>,
    filter: Option<&'r Condition>,
    filter_label: &'static str,
    projection: Option<&'r Projection>,
    select: SelectKind,
    limit: Option<usize>,
    forward: bool,
    consistent: bool,
    consumed: ConsumedMode,
}

/// A Query on a secondary index: the key condition becomes a byte range of
/// one index partition (`index::range`), read on the shard that owns the
/// partition's hash — the base partition's shard for an LSI.
async fn query_index(
    shard: &Rc<Shard>,
    fields: &Fields<'_, '_>,
    table: &TableDef,
    index_name: &str,
    q: IndexQuery<'_>,
) -> Result<Outcome, ApiError> {
    let index = read::resolve(table, index_name, q.consistent)?;
    let key_count = index.hash_keys.len() + index.range_keys.len();
    if q.terms.len() > key_count.max(2) && fields.get("KeyConditions").is_some() {
        return Err(ApiError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    let cond = match_index_schema(index, q.terms)?;
    if let Some(filter) = q.filter {
        reject_attributes_in_filter(filter, index.key_attrs(), q.filter_label)?;
    }
    let plan = read::plan(table, index, q.select, q.projection, q.filter)?;
    let hash_values: Vec<&Value> = cond.hash_values.iter().collect();
    let hash = keys::partition_hash(table, index, &hash_values);
    let owner = shard.map.owner(hash);
    if owner != shard.id {
        return Ok(Outcome::Forward(owner));
    }
    shard
        .meter
        .admit_read(table, Some(index_name), Some(hash))?;
    let mut prefix = keys::partition_prefix(index, hash, &hash_values);
    for value in &cond.range_eqs {
        keys::push_range_value(&mut prefix, value);
    }
    let condition_range = range::range_for(&prefix, cond.last.as_ref());
    let mut range = condition_range.clone();
    if let Some(start) = fields.get("ExclusiveStartKey") {
        let (start_item, start_key) = read::start_key(&shard.map, table, index, start)?;
        let same_partition = index
            .hash_keys
            .iter()
            .zip(&cond.hash_values)
            .all(|(attr, v)| start_item.get(&attr.name) == Some(v));
        if !same_partition {
            return Err(ApiError::validation(
                "The provided starting key is outside query boundaries based on provided conditions",
            ));
        }
        if !range::contains(&condition_range, &start_key.storage) {
            return Err(ApiError::validation(
                "The provided starting key does not match the range key predicate",
            ));
        }
        range = after_start(range, start_key.storage, q.forward);
    }
    let mut page = PageBuilder::new(
        table,
        q.filter,
        q.projection,
        q.select == SelectKind::Count,
        q.limit,
    )
    .over_index(IndexPage {
        index,
        reshape: plan.reshape,
    });
    fill_index(shard, table, plan, &mut page, range, q.forward).await?;
    page.charge(&shard.meter, q.consistent, Some(hash));
    Ok(Outcome::Reply(page.reply(q.consumed, q.consistent)))
}

/// The part of `range` after `start` in the read's direction.
fn after_start(
    (lower, upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
    start: Vec<u8>,
    forward: bool,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    if forward {
        (max_lower(lower, Bound::Excluded(start)), upper)
    } else {
        (lower, min_upper(upper, Bound::Excluded(start)))
    }
}

/// Offers the index entries of `range` on this shard (with their base
/// items, when the plan fetches them) until the page is full.
async fn fill_index(
    shard: &Shard,
    table: &TableDef,
    plan: read::ReadPlan,
    page: &mut PageBuilder<'_>,
    (mut lower, mut upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
    forward: bool,
) -> Result<(), ApiError> {
    loop {
        let entries = shard
            .store
            .scan(
                as_ref_bound(&lower),
                as_ref_bound(&upper),
                !forward,
                page.fetch_size(),
                usize::MAX,
            )
            .await?;
        if entries.is_empty() {
            return Ok(());
        }
        for (k, value) in &entries {
            if forward {
                lower = Bound::Excluded(k.clone());
            } else {
                upper = Bound::Excluded(k.clone());
            }
            let entry = decode_item(value)?;
            let fetched = if plan.fetch_base {
                // An LSI entry and its base item share this shard and one
                // WAL record: the base item is there unless a write raced
                // between the two reads, and then the entry is gone too.
                let Some((pk, sk)) = read::base_key_values(table, &entry) else {
                    continue;
                };
                let base = make_key(shard, table, pk, sk);
                match shard.store.get(&base.storage).await? {
                    Some(bytes) => Some(decode_item(&bytes)?),
                    None => continue,
                }
            } else {
                None
            };
            if !page.offer_entry(entry, fetched) {
                return Ok(());
            }
        }
    }
}

/// Matches key terms to the key schema: the partition key by equality, at
/// most one condition on the sort key.
fn match_schema(table: &TableDef, terms: Vec<KeyTerm>) -> Result<(Value, Option<KeyOp>), ApiError> {
    let mut pk = None;
    let mut sort = None;
    let sort_name = table.sort_key.as_ref().map(|a| a.name.as_str());
    for term in &terms {
        let again = (term.attribute == table.partition_key.name && pk.is_some())
            || (Some(term.attribute.as_str()) == sort_name && sort.is_some());
        if again {
            return Err(ApiError::validation(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
        let term = term.clone();
        if term.attribute == table.partition_key.name {
            match term.op {
                KeyOp::Cmp(CmpOp::Eq, value) => {
                    check_type(&table.partition_key, &value)?;
                    pk = Some(value);
                }
                _ => return Err(ApiError::validation("Query key condition not supported")),
            }
        } else if let Some(attr) = table.sort_key.as_ref().filter(|a| a.name == term.attribute) {
            match &term.op {
                KeyOp::Cmp(_, value) | KeyOp::BeginsWith(value) => check_type(attr, value)?,
                KeyOp::Between(low, high) => {
                    check_type(attr, low)?;
                    check_type(attr, high)?;
                }
            }
            if matches!(term.op, KeyOp::BeginsWith(_)) && attr.key_type.as_str() == "N" {
                return Err(ApiError::validation(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                ));
            }
            sort = Some(term.op);
        } else {
            let missing = match (&pk, &table.sort_key) {
                (None, _) => &table.partition_key.name,
                (Some(_), Some(attr)) => &attr.name,
                (Some(_), None) => &term.attribute,
            };
            return Err(ApiError::validation(format!(
                "Query condition missed key schema element: {missing}"
            )));
        }
    }
    let pk = pk.ok_or_else(|| {
        ApiError::validation(format!(
            "Query condition missed key schema element: {}",
            table.partition_key.name
        ))
    })?;
    Ok((pk, sort))
}

fn check_type(attr: &KeyAttr, value: &Value) -> Result<(), ApiError> {
    if value.type_name() != attr.key_type.as_str() {
        return Err(ApiError::invalid_parameter(
            "Condition parameter type does not match schema type",
        ));
    }
    Ok(())
}

/// The storage-key range of a partition narrowed by a sort key condition.
fn sort_range(partition: &[u8], sort: Option<&KeyOp>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let at = |v: &Value| {
        let mut key = partition.to_vec();
        push_sort_key(&mut key, v);
        key
    };
    let start = Bound::Included(partition.to_vec());
    let end = prefix_end(partition);
    match sort {
        None => (start, end),
        Some(KeyOp::Cmp(op, v)) => match op {
            CmpOp::Eq => (Bound::Included(at(v)), Bound::Included(at(v))),
            CmpOp::Lt => (start, Bound::Excluded(at(v))),
            CmpOp::Le => (start, Bound::Included(at(v))),
            CmpOp::Gt => (Bound::Excluded(at(v)), end),
            // `<>` never reaches here (key_condition_terms rejects it).
            CmpOp::Ge | CmpOp::Ne => (Bound::Included(at(v)), end),
        },
        Some(KeyOp::Between(low, high)) => (Bound::Included(at(low)), Bound::Included(at(high))),
        Some(KeyOp::BeginsWith(prefix)) => {
            let from = at(prefix);
            let to = prefix_end(&from);
            (Bound::Included(from), to)
        }
    }
}
