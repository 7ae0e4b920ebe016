//! UpdateTable: billing mode, provisioned throughput, the global
//! secondary indexes (GlobalSecondaryIndexUpdates: Create, Update, Delete)
//! and the stream (StreamSpecification: enable with a view type, or
//! disable; the catalog refuses enabling an enabled stream — also to change
//! its view type — and disabling a disabled one).
//!
//! Everything is validated against this shard's catalog before anything is
//! submitted; the accepted request then becomes a short sequence of catalog
//! commands (table billing/throughput first, then index throughput, then the
//! one index Create or Delete), each applied atomically by the coordinator.
//! A concurrent DDL change can make a later command fail after an earlier
//! one applied; the coordinator re-checks what it must (names, limits,
//! attribute types), so the catalog stays consistent either way.
//!
//! Shape: [`read`] validates the request alone, [`plan`] checks it against
//! the table and returns the commands (pure), `handle` submits them.

use std::rc::Rc;

use crate::api::index::ddl::{
    IndexAction, IndexInput, IndexUpdateInput, PROJECTED_NON_KEY_ATTRIBUTES_MAX, check_global,
    read_attribute_definitions, read_index_updates, show_list,
};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::ddl_table_name;
use crate::api::protocol::params::{billing, check_capacity_bounds};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::ddl::{conflicting_definition, now_seconds, submit};
use crate::api::table::describe::{TableStats, write_description_with};
use crate::api::table::options::{SettingsInput, new_stream, read_stream_specification};
use crate::catalog::{
    BillingMode, CatalogCommand, DecreaseRule, IndexDef, IndexKind, KeyAttr, StreamChange,
    StreamViewType, TableDef,
};

/// UpdateTable's members, validated in DynamoDB's order.
struct Request<'a> {
    name: &'a str,
    mode: Option<BillingMode>,
    throughput: Option<(i64, i64)>,
    attribute_definitions: Option<Vec<KeyAttr>>,
    actions: Vec<IndexAction>,
    /// DeletionProtectionEnabled, TableClass, SSESpecification,
    /// OnDemandThroughput, WarmThroughput.
    settings: SettingsInput,
    /// StreamSpecification: enable with this view type (Some), or disable.
    stream: Option<Option<StreamViewType>>,
}

/// The catalog commands an accepted request becomes, in order, and the GSI
/// it deletes (the reply still lists it, as DELETING).
struct Plan {
    commands: Vec<CatalogCommand>,
    deleting: Option<IndexDef>,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = read(&fields)?;
    let current = shard
        .catalog()
        .table(request.name)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found(request.name))?;
    let plan = plan(shard, &request, &current)?;
    let mut def = current;
    for command in plan.commands {
        def = submit(shard, command).await?;
    }
    if let Some(stream) = request.stream {
        let change = match stream {
            Some(view_type) => StreamChange::Enable(new_stream(shard, view_type)),
            None => StreamChange::Disable {
                now_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            },
        };
        let command = CatalogCommand::Stream {
            name: request.name.to_string(),
            change,
            retention_ms: shard.settings.streams.retention_ms,
        };
        def = submit(shard, command).await?;
    }
    let stats = TableStats::collect(shard, &def).await?;
    let mut description = Vec::with_capacity(1024);
    write_description_with(
        &mut description,
        shard,
        &def,
        "UPDATING",
        &stats,
        plan.deleting.as_ref(),
    );
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}

/// Validates the request's shape (nothing here reads the catalog).
fn read<'a>(fields: &Fields<'a, '_>) -> Result<Request<'a>, ApiError> {
    let mut v = Violations::default();
    let name = ddl_table_name(fields, &mut v)?;
    let (mode, throughput) = billing(fields, &mut v)?;
    let attribute_definitions = match fields.list("AttributeDefinitions")? {
        None => None,
        Some(list) => Some(read_attribute_definitions(list, &mut v)?),
    };
    let updates = match fields.list("GlobalSecondaryIndexUpdates")? {
        None => None,
        Some(list) => Some(read_index_updates(list, &mut v)?),
    };
    let settings = SettingsInput::read(fields, &mut v)?;
    let stream = read_stream_specification(fields, &mut v)?;
    v.into_result()?;
    if fields.get("ReplicaUpdates").is_some() {
        return Err(ApiError::validation(
            "ReplicaUpdates is not supported by this Dynacore build",
        ));
    }
    let stream = match stream {
        None => None,
        Some((Some(false), None)) => Some(None),
        Some((Some(false), Some(_))) => {
            return Err(ApiError::invalid_parameter(
                "Table is being updated with a stream disabled, UpdateViewType should not be specified",
            ));
        }
        Some((_, None)) => {
            return Err(ApiError::invalid_parameter(
                "Table is being updated with a stream enabled, StreamViewType must be specified",
            ));
        }
        Some((_, Some(view_type))) => Some(Some(view_type)),
    };
    let updates = updates.unwrap_or_default();
    if mode.is_none()
        && throughput.is_none()
        && updates.is_empty()
        && settings.is_empty()
        && stream.is_none()
    {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required",
        ));
    }
    let others: Vec<&str> = [
        (mode.is_some(), "BillingMode"),
        (throughput.is_some(), "ProvisionedThroughput"),
        (!updates.is_empty(), "GlobalSecondaryIndexUpdates"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    settings.check_alone(&others)?;
    if fields.get("GlobalSecondaryIndexUpdates").is_some() && updates.is_empty() {
        return Err(ApiError::invalid_parameter(
            "List of GlobalSecondaryIndexUpdates is empty",
        ));
    }
    check_capacity_bounds(throughput, "")?;
    let actions = one_action_each(updates)?;
    for action in &actions {
        if let IndexAction::Update { name, throughput } = action {
            check_capacity_bounds(*throughput, &format!(" for index {name}"))?;
        }
    }
    check_online_actions(&actions, name, throughput)?;
    Ok(Request {
        name,
        mode,
        throughput,
        attribute_definitions,
        actions,
        settings,
        stream,
    })
}

/// Each GlobalSecondaryIndexUpdate carries exactly one action, and each
/// index is named by at most one.
fn one_action_each(updates: Vec<IndexUpdateInput>) -> Result<Vec<IndexAction>, ApiError> {
    let mut actions: Vec<IndexAction> = Vec::with_capacity(updates.len());
    for update in updates {
        match (update.actions, update.action) {
            (0, _) => {
                return Err(ApiError::invalid_parameter(
                    "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null",
                ));
            }
            (1, Some(action)) => {
                if actions
                    .iter()
                    .any(|a| a.index_name() == action.index_name())
                {
                    return Err(ApiError::invalid_parameter(format!(
                        "Only one global secondary index update per index is allowed simultaneously. Index: {}",
                        action.index_name()
                    )));
                }
                actions.push(action);
            }
            _ => {
                return Err(ApiError::invalid_parameter(
                    "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object",
                ));
            }
        }
    }
    Ok(actions)
}

/// At most one online (Create or Delete) index action, never beside a
/// table throughput change.
fn check_online_actions(
    actions: &[IndexAction],
    name: &str,
    throughput: Option<(i64, i64)>,
) -> Result<(), ApiError> {
    let online = actions
        .iter()
        .filter(|a| !matches!(a, IndexAction::Update { .. }))
        .count();
    if online > 1 {
        return Err(ApiError::limit_exceeded(format!(
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table -- Table: {name}"
        )));
    }
    if online > 0 && throughput.is_some() {
        return Err(ApiError::invalid_parameter(
            "You cannot create or delete index while updating table IOPS",
        ));
    }
    Ok(())
}

/// Checks the request against the table and turns it into catalog
/// commands: table billing/throughput first, then index throughput, then
/// the one index Create or Delete.
fn plan(shard: &Shard, request: &Request<'_>, current: &TableDef) -> Result<Plan, ApiError> {
    let (mode, throughput) = (request.mode, request.throughput);
    let target_mode = mode.unwrap_or(current.billing_mode);
    check_table_billing(current, mode, throughput, request.actions.is_empty())?;
    let settings = request
        .settings
        .check_update(shard, target_mode, current.settings.warm)?;
    let mut commands = Vec::new();
    if mode.is_some() || throughput.is_some() || !settings.is_empty() {
        commands.push(CatalogCommand::Update {
            name: request.name.to_string(),
            billing_mode: mode,
            throughput,
            settings,
            now: now_seconds(),
            decreases: shard.settings.capacity_decreases,
        });
    }
    if target_mode == BillingMode::Provisioned && current.billing_mode != target_mode {
        check_index_capacities(current, &request.actions)?;
    }
    let mut deleting: Option<IndexDef> = None;
    let mut online_command = None;
    for action in &request.actions {
        match action {
            IndexAction::Update { name, throughput } => {
                commands.push(plan_index_update(
                    current,
                    name,
                    *throughput,
                    request,
                    shard.settings.capacity_decreases,
                )?);
            }
            IndexAction::Delete { name } => {
                let index = existing_global(current, name, "delete")?;
                deleting = Some(index.clone());
                online_command = Some(CatalogCommand::DeleteIndex {
                    table: current.name.clone(),
                    index: name.clone(),
                });
            }
            IndexAction::Create(input) => {
                online_command = Some(plan_index_create(current, input, request)?);
            }
        }
    }
    commands.extend(online_command);
    Ok(Plan { commands, deleting })
}

/// Switching to PROVISIONED: every remaining GSI needs its capacity.
fn check_index_capacities(current: &TableDef, actions: &[IndexAction]) -> Result<(), ApiError> {
    let missing: Vec<&str> = current
        .global_indexes()
        .filter(|i| {
            !actions.iter().any(|a| match a {
                IndexAction::Update { name, throughput } => name == &i.name && throughput.is_some(),
                IndexAction::Delete { name } => name == &i.name,
                IndexAction::Create(_) => false,
            })
        })
        .map(|i| i.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid_parameter(format!(
            "ProvisionedThroughput must be specified for index: {}",
            missing.join(",")
        )));
    }
    Ok(())
}

/// A GSI's new provisioned throughput (a decrease checked against
/// `decreases`, the index's own quota, by the coordinator).
fn plan_index_update(
    current: &TableDef,
    name: &str,
    throughput: Option<(i64, i64)>,
    request: &Request<'_>,
    decreases: DecreaseRule,
) -> Result<CatalogCommand, ApiError> {
    let index = existing_global(current, name, "update")?;
    let Some((rcu, wcu)) = throughput else {
        return Err(ApiError::invalid_parameter(format!(
            "Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: {name}"
        )));
    };
    if request.mode.unwrap_or(current.billing_mode) == BillingMode::PayPerRequest {
        return Err(ApiError::invalid_parameter(format!(
            "The only Updates for index: {name} when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"
        )));
    }
    if request.mode.is_none()
        && rcu == index.read_capacity_units
        && wcu == index.write_capacity_units
    {
        return Err(ApiError::validation(format!(
            "The provisioned throughput for the index {name} will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the index: {rcu}. Requested ReadCapacityUnits: {rcu}. Current WriteCapacityUnits provisioned for the index: {wcu}. Requested WriteCapacityUnits: {wcu}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )));
    }
    Ok(CatalogCommand::UpdateIndex {
        table: current.name.clone(),
        index: name.to_string(),
        throughput: (rcu, wcu),
        now: now_seconds(),
        decreases,
    })
}

/// A new GSI, checked against the table it joins.
fn plan_index_create(
    current: &TableDef,
    input: &IndexInput,
    request: &Request<'_>,
) -> Result<CatalogCommand, ApiError> {
    let target_mode = request.mode.unwrap_or(current.billing_mode);
    if current.index(&input.name).is_some() {
        return Err(ApiError::validation(
            "Attempting to create an index which already exists",
        ));
    }
    let Some(requested) = &request.attribute_definitions else {
        return Err(ApiError::invalid_parameter(format!(
            "AttributeDefinitions is not specified for index: {}",
            input.name
        )));
    };
    let (defs, added) = index_definitions(current, requested, &input.key_schema)?;
    let index = check_global(input, &defs, target_mode)?;
    match (target_mode, input.throughput.is_some()) {
        (BillingMode::Provisioned, false) => {
            return Err(ApiError::invalid_parameter(format!(
                "Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: {}",
                input.name
            )));
        }
        (BillingMode::PayPerRequest, true) => {
            return Err(ApiError::invalid_parameter(format!(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: {} when BillingMode is PAY_PER_REQUEST",
                input.name
            )));
        }
        _ => {}
    }
    let projected: usize = current
        .indexes
        .iter()
        .chain(std::iter::once(&index))
        .map(|i| i.non_key_attributes.len())
        .sum();
    if projected > PROJECTED_NON_KEY_ATTRIBUTES_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "Number of projected attributes in all indexes exceeds limit of {PROJECTED_NON_KEY_ATTRIBUTES_MAX}"
        )));
    }
    Ok(CatalogCommand::CreateIndex {
        table: current.name.clone(),
        index,
        attribute_definitions: added,
    })
}

/// The table-level billing and throughput rules.
fn check_table_billing(
    current: &TableDef,
    mode: Option<BillingMode>,
    throughput: Option<(i64, i64)>,
    no_index_updates: bool,
) -> Result<(), ApiError> {
    let target_mode = mode.unwrap_or(current.billing_mode);
    match (target_mode, throughput) {
        (BillingMode::PayPerRequest, Some(_)) => Err(ApiError::invalid_parameter(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (BillingMode::Provisioned, None) if current.billing_mode == BillingMode::PayPerRequest => {
            Err(ApiError::invalid_parameter(
                "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
            ))
        }
        // Also with BillingMode: PROVISIONED restated: still a no-op.
        (BillingMode::Provisioned, Some((rcu, wcu)))
            if current.billing_mode == BillingMode::Provisioned
                && rcu == current.read_capacity_units
                && wcu == current.write_capacity_units
                && no_index_updates =>
        {
            Err(ApiError::validation(format!(
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {rcu}. Requested ReadCapacityUnits: {rcu}. Current WriteCapacityUnits provisioned for the table: {wcu}. Requested WriteCapacityUnits: {wcu}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
            )))
        }
        _ => Ok(()),
    }
}

/// The GSI an Update or Delete action names.
fn existing_global<'a>(
    table: &'a TableDef,
    name: &str,
    verb: &str,
) -> Result<&'a IndexDef, ApiError> {
    match table.index(name) {
        Some(index) if index.kind == IndexKind::Global => Ok(index),
        Some(_) => Err(ApiError::validation(format!(
            "Cannot {verb} an index that is not a GlobalSecondaryIndex: {name}"
        ))),
        None => Err(ApiError::resource_not_found_message(format!(
            "Requested resource not found: Table: {} Index: {name}",
            table.name
        ))),
    }
}

/// The definitions a new GSI's key attributes resolve to, and those of them
/// the table does not define yet. The request need only define the new
/// attributes; a key attribute defined nowhere, or redefined with another
/// type, is refused. Definitions the index does not use are ignored, as
/// DynamoDB ignores them.
fn index_definitions(
    table: &TableDef,
    requested: &[KeyAttr],
    key_schema: &[(String, String)],
) -> Result<(Vec<KeyAttr>, Vec<KeyAttr>), ApiError> {
    let mut defs = Vec::new();
    let mut added = Vec::new();
    for (name, _) in key_schema {
        let existing = table.attribute_definitions.iter().find(|d| &d.name == name);
        let asked = requested.iter().find(|d| &d.name == name);
        match (existing, asked) {
            (Some(existing), Some(asked)) if existing.key_type != asked.key_type => {
                return Err(conflicting_definition(existing, asked));
            }
            (Some(existing), _) => defs.push(existing.clone()),
            (None, Some(asked)) => {
                defs.push(asked.clone());
                added.push(asked.clone());
            }
            (None, None) => {
                let keys: Vec<String> = key_schema.iter().map(|(n, _)| n.clone()).collect();
                let defined: Vec<String> = requested.iter().map(|d| d.name.clone()).collect();
                return Err(ApiError::invalid_parameter(format!(
                    "Some index key attributes are not defined in AttributeDefinitions. Keys: {}, AttributeDefinitions: {}",
                    show_list(&keys),
                    show_list(&defined)
                )));
            }
        }
    }
    Ok((defs, added))
}
