//! DDL as a pure transition: [`Catalog::apply`] takes the current catalog
//! and one [`CatalogCommand`] and returns the next catalog, the table to
//! report and the ids whose data must go — or the reason it is refused. It
//! does no I/O: the coordinator's executor (`api::table::ddl`) persists the
//! result, installs it on every shard and drops the data, in that order.
//!
//! Time enters through the command (`CatalogCommand::Update::now`,
//! `TableDef::created_at`), so a transition is a function of its inputs.

use std::sync::Arc;

use super::{
    BillingMode, Catalog, CatalogCommand, CatalogError, DecreaseRule, IndexDef, IndexKind,
    IndexStatus, KeyAttr, PITR_PERIOD_DAYS_MAX, PointInTime, PolicySlot, ResourcePolicy,
    SettingsUpdate, StreamChange, TAGS_MAX, TableDef, TableStatus, Tag, TtlStatus,
};

/// ExpectedRevisionId's "attach only if none is attached".
pub const NO_POLICY: &str = "NO_POLICY";

/// [`CatalogCommand::SetResourcePolicy`]'s members past the table name.
struct PolicyChange {
    stream_label_ms: Option<u64>,
    policy: Option<(String, Arc<crate::auth::Policy>)>,
    expected_revision_id: Option<String>,
    arn: String,
    resource: String,
    now_ms: u64,
    change_interval_ms: u64,
}

/// DynamoDB's per-table limits on secondary indexes.
pub const GLOBAL_INDEXES_MAX: usize = 20;
pub const LOCAL_INDEXES_MAX: usize = 5;

/// What a DDL command does to the catalog.
#[derive(Debug)]
pub struct Transition {
    /// The table as the reply describes it.
    pub table: Arc<TableDef>,
    /// The catalog to persist and install; None when nothing changes.
    pub next: Option<Catalog>,
    /// Table and index ids whose data is to be dropped (after install).
    pub dropped: Vec<u32>,
    /// The command that ends a CREATING or DELETING state, to apply once
    /// the state has lasted `table_status_transition_ms`.
    pub then: Option<CatalogCommand>,
}

impl Transition {
    fn change(next: Catalog, table: Arc<TableDef>, dropped: Vec<u32>) -> Transition {
        Transition {
            table,
            next: Some(next),
            dropped,
            then: None,
        }
    }

    /// Nothing changes; the reply describes `table`.
    fn unchanged(table: Arc<TableDef>) -> Transition {
        Transition {
            table,
            next: None,
            dropped: vec![],
            then: None,
        }
    }

    fn then(mut self, command: CatalogCommand) -> Transition {
        self.then = Some(command);
        self
    }
}

/// The command that ends `table`'s transitional state, if it is in one
/// (scheduled after each such transition, and again after a restart): a
/// table CREATING or DELETING, or an ACTIVE table's TTL ENABLING or
/// DISABLING (a table in a transitional state cannot change its TTL, so
/// there is at most one).
pub fn follow_up(table: &TableDef) -> Option<CatalogCommand> {
    let (name, id) = (table.name.clone(), table.id);
    match table.status {
        // A restore ends its CREATING state itself, once the data is in.
        TableStatus::Creating if table.restore.as_ref().is_some_and(|r| r.in_progress) => None,
        // So does an import (ImportTable).
        TableStatus::Creating if table.settings.import_arn.is_some() => None,
        TableStatus::Creating => Some(CatalogCommand::TableActive { name, id }),
        TableStatus::Deleting => Some(CatalogCommand::DeleteFinish { name, id }),
        TableStatus::Active => match table.ttl.status {
            TtlStatus::Enabling | TtlStatus::Disabling => {
                Some(CatalogCommand::TimeToLiveSettled { name, id })
            }
            TtlStatus::Enabled | TtlStatus::Disabled => None,
        },
    }
}

impl Catalog {
    /// The transition `command` makes from this catalog (version + 1);
    /// `tables_max` is the table quota (the `tables_max` knob).
    pub fn apply(
        &self,
        command: CatalogCommand,
        tables_max: usize,
    ) -> Result<Transition, CatalogError> {
        let mut next = self.clone();
        next.version += 1;
        match command {
            CatalogCommand::Create(def) => next.create(def, tables_max),
            CatalogCommand::CreateIndex {
                table,
                index,
                attribute_definitions,
            } => next.create_index(table, index, attribute_definitions),
            CatalogCommand::DeleteIndex { table, index } => next.delete_index(table, &index),
            CatalogCommand::UpdateIndex {
                table,
                index,
                throughput,
                now,
                decreases,
            } => next.update_index(table, &index, throughput, now, &decreases),
            CatalogCommand::IndexActive { table, index_id } => next.index_active(table, index_id),
            CatalogCommand::Delete {
                name,
                staged,
                now_ms,
                stream_retention_ms,
            } => next.delete(&name, staged, now_ms, stream_retention_ms),
            CatalogCommand::TableActive { name, id } => next.table_active(&name, id),
            CatalogCommand::DeleteFinish { name, id } => next.delete_finish(&name, id),
            CatalogCommand::CreateAbandoned { name, id } => next.create_abandoned(&name, id),
            CatalogCommand::Update {
                name,
                billing_mode,
                throughput,
                settings,
                now,
                decreases,
            } => next.update(name, billing_mode, throughput, settings, now, &decreases),
            CatalogCommand::Tag { name, tags } => next.tag(&name, tags),
            CatalogCommand::Untag { name, keys } => next.untag(&name, &keys),
            CatalogCommand::Stream {
                name,
                change,
                retention_ms,
            } => next.stream(&name, change, retention_ms),
            CatalogCommand::UpdateTimeToLive {
                name,
                enabled,
                attribute_name,
                now,
                change_interval_ms,
            } => next.update_ttl(&name, enabled, attribute_name, now, change_interval_ms),
            CatalogCommand::TimeToLiveSettled { name, id } => next.ttl_settled(&name, id),
            CatalogCommand::SetResourcePolicy {
                name,
                stream_label_ms,
                policy,
                expected_revision_id,
                arn,
                resource,
                now_ms,
                change_interval_ms,
            } => next.set_policy(
                &name,
                PolicyChange {
                    stream_label_ms,
                    policy,
                    expected_revision_id,
                    arn,
                    resource,
                    now_ms,
                    change_interval_ms,
                },
            ),
            CatalogCommand::UpdatePointInTime {
                name,
                enabled,
                recovery_period_days,
                now_ms,
            } => next.update_pitr(&name, enabled, recovery_period_days, now_ms),
        }
    }

    /// Takes the next id of the table id space (tables and indexes share
    /// it: an index's entries live under their own 4-byte prefix, never
    /// reused).
    fn take_id(&mut self) -> u32 {
        self.next_table_id = self.next_table_id.max(1);
        let id = self.next_table_id;
        self.next_table_id += 1;
        id
    }

    fn table_copy(&self, name: &str) -> Result<TableDef, CatalogError> {
        self.tables
            .get(name)
            .map(|t| (**t).clone())
            .ok_or_else(|| CatalogError::TableNotFound(name.to_string()))
    }

    /// A copy of a table a client changes: refused while it is being
    /// created or deleted, as DynamoDB refuses it.
    fn active_copy(&self, name: &str) -> Result<TableDef, CatalogError> {
        let def = self.table_copy(name)?;
        match def.status {
            TableStatus::Active => Ok(def),
            TableStatus::Creating => Err(CatalogError::TableBeingCreated(def.name)),
            TableStatus::Deleting => Err(CatalogError::TableBeingDeleted(def.name)),
        }
    }

    fn install(mut self, def: TableDef, dropped: Vec<u32>) -> Transition {
        let def = Arc::new(def);
        self.tables.insert(def.name.clone(), def.clone());
        Transition::change(self, def, dropped)
    }

    fn create(mut self, mut def: TableDef, tables_max: usize) -> Result<Transition, CatalogError> {
        if self.tables.contains_key(&def.name) {
            return Err(CatalogError::TableExists(def.name));
        }
        if self.tables.len() >= tables_max {
            return Err(CatalogError::TableLimit { max: tables_max });
        }
        if def.tags.len() > TAGS_MAX {
            return Err(CatalogError::TagLimit);
        }
        def.id = self.take_id();
        for index in &mut def.indexes {
            index.id = self.take_id();
        }
        if let Some(latest) = self.latest_stream_label(&def.name) {
            for stream in &mut def.streams {
                stream.label_ms = stream.label_ms.max(latest.saturating_add(1));
            }
        }
        let transition = self.install(def, vec![]);
        Ok(match follow_up(&transition.table) {
            Some(command) => transition.then(command),
            None => transition,
        })
    }

    fn table_active(self, name: &str, id: u32) -> Result<Transition, CatalogError> {
        match self.tables.get(name) {
            Some(t) if t.id == id && t.status == TableStatus::Creating => {
                let mut def = (**t).clone();
                def.status = TableStatus::Active;
                if let Some(restore) = &mut def.restore {
                    restore.in_progress = false;
                }
                def.settings.import_arn = None;
                Ok(self.install(def, vec![]))
            }
            // Deleted (or replaced) meanwhile: nothing to record.
            Some(t) => Ok(Transition::unchanged(t.clone())),
            None => Err(CatalogError::TableNotFound(name.to_string())),
        }
    }

    fn tag(self, name: &str, tags: Vec<Tag>) -> Result<Transition, CatalogError> {
        let mut def = self.table_copy(name)?;
        if def.status == TableStatus::Deleting {
            return Err(CatalogError::TableNotFound(def.name));
        }
        for tag in tags {
            match def.tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value,
                None => def.tags.push(tag),
            }
        }
        if def.tags.len() > TAGS_MAX {
            return Err(CatalogError::TagLimit);
        }
        Ok(self.install(def, vec![]))
    }

    fn untag(self, name: &str, keys: &[String]) -> Result<Transition, CatalogError> {
        let mut def = self.table_copy(name)?;
        if def.status == TableStatus::Deleting {
            return Err(CatalogError::TableNotFound(def.name));
        }
        def.tags.retain(|t| !keys.contains(&t.key));
        Ok(self.install(def, vec![]))
    }

    /// DynamoDB's order: the table's state, then whether the setting is
    /// already what was asked (ENABLING counts as enabled, DISABLING as
    /// disabled; enabling on another attribute needs a disable first),
    /// then the one change per interval.
    fn update_ttl(
        self,
        name: &str,
        enabled: bool,
        attribute_name: String,
        now: f64,
        change_interval_ms: u64,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(name)?;
        match (enabled, def.ttl.status.is_on()) {
            (true, true) => return Err(CatalogError::TtlAlreadyEnabled),
            (false, false) => return Err(CatalogError::TtlAlreadyDisabled),
            _ => {}
        }
        if let Some(changed_at) = def.ttl.changed_at
            && (now - changed_at) * 1000.0 < change_interval_ms as f64
        {
            return Err(CatalogError::TtlChangedTooRecently);
        }
        def.ttl.changed_at = Some(now);
        if enabled {
            def.ttl.status = TtlStatus::Enabling;
            def.ttl.attribute_name = Some(attribute_name);
        } else {
            // The attribute stays described while DISABLING.
            def.ttl.status = TtlStatus::Disabling;
        }
        let transition = self.install(def, vec![]);
        Ok(match follow_up(&transition.table) {
            Some(command) => transition.then(command),
            None => transition,
        })
    }

    /// Enabling an enabled table only changes its period (its history
    /// goes on); disabling forgets it (the history is trimmed).
    fn update_pitr(
        self,
        name: &str,
        enabled: bool,
        recovery_period_days: Option<u32>,
        now_ms: u64,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(name)?;
        def.pitr = match (enabled, def.pitr) {
            (false, _) => None,
            (true, Some(on)) => Some(PointInTime {
                recovery_period_days: recovery_period_days.unwrap_or(on.recovery_period_days),
                ..on
            }),
            (true, None) => Some(PointInTime {
                enabled_ms: now_ms,
                recovery_period_days: recovery_period_days.unwrap_or(PITR_PERIOD_DAYS_MAX),
            }),
        };
        Ok(self.install(def, vec![]))
    }

    /// DynamoDB's order: the table (a DELETING one refuses changes, a
    /// CREATING one too), the stream, the revision check, the no-op re-put
    /// or delete of nothing, then the change interval.
    fn set_policy(self, name: &str, change: PolicyChange) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(name)?;
        if let Some(label_ms) = change.stream_label_ms
            && def.stream(label_ms).is_none()
        {
            return Err(CatalogError::StreamNotFound {
                table: def.name,
                label: super::utc_label(label_ms),
            });
        }
        let slot = def.policy_slot(change.stream_label_ms).cloned();
        let current = slot.as_ref().and_then(|s| s.policy.as_ref());
        match (change.expected_revision_id.as_deref(), current) {
            (None, _) => {}
            (Some(NO_POLICY), None) => {}
            (Some(NO_POLICY), Some(p)) => {
                return Err(CatalogError::PolicyExpectedNone {
                    resource: change.resource,
                    actual: p.revision_id.clone(),
                });
            }
            (Some(_), None) => return Err(CatalogError::PolicyNotFound { arn: change.arn }),
            (Some(expected), Some(p)) if expected != p.revision_id => {
                return Err(CatalogError::PolicyRevisionMismatch {
                    resource: change.resource,
                    expected: expected.to_string(),
                    actual: p.revision_id.clone(),
                });
            }
            (Some(_), Some(_)) => {}
        }
        let unchanged = match (&change.policy, current) {
            (Some((document, _)), Some(p)) => *document == p.document,
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            return Ok(Transition::unchanged(Arc::new(def)));
        }
        if let Some(slot) = &slot {
            let until_ms = slot.changed_ms.saturating_add(change.change_interval_ms);
            if change.now_ms < until_ms {
                return Err(CatalogError::PolicyChangedTooRecently {
                    resource: change.resource,
                    interval_ms: change.change_interval_ms,
                    retry_after: super::utc_label(until_ms),
                });
            }
        }
        // Revision ids are the change's epoch ms, strictly increasing per
        // resource even if the clock steps back.
        let previous = slot
            .as_ref()
            .and_then(|s| s.revision_id.parse::<u64>().ok());
        let revision_ms = previous.map_or(change.now_ms, |p| change.now_ms.max(p + 1));
        let revision_id = revision_ms.to_string();
        let streams: Vec<u64> = def.streams.iter().map(|s| s.label_ms).collect();
        def.policies.retain(|p| {
            p.stream_label_ms != change.stream_label_ms
                && p.stream_label_ms.is_none_or(|l| streams.contains(&l))
        });
        let removed = current.map(|p| p.revision_id.clone());
        let (policy, revision_id) = match change.policy {
            Some((document, parsed)) => (
                Some(ResourcePolicy {
                    document,
                    revision_id: revision_id.clone(),
                    parsed,
                }),
                revision_id,
            ),
            // The reply to a deletion names the revision deleted.
            None => (None, removed.unwrap_or(revision_id)),
        };
        def.policies.push(PolicySlot {
            stream_label_ms: change.stream_label_ms,
            policy,
            revision_id,
            changed_ms: change.now_ms,
        });
        Ok(self.install(def, vec![]))
    }

    fn ttl_settled(self, name: &str, id: u32) -> Result<Transition, CatalogError> {
        let Some(t) = self.tables.get(name) else {
            return Err(CatalogError::TableNotFound(name.to_string()));
        };
        if t.id != id || t.status != TableStatus::Active {
            // Replaced or being deleted meanwhile: nothing to record.
            return Ok(Transition::unchanged(t.clone()));
        }
        let mut def = (**t).clone();
        match def.ttl.status {
            TtlStatus::Enabling => def.ttl.status = TtlStatus::Enabled,
            TtlStatus::Disabling => {
                def.ttl.status = TtlStatus::Disabled;
                def.ttl.attribute_name = None;
            }
            TtlStatus::Enabled | TtlStatus::Disabled => {
                return Ok(Transition::unchanged(t.clone()));
            }
        }
        Ok(self.install(def, vec![]))
    }

    fn create_index(
        mut self,
        table: String,
        mut index: IndexDef,
        attribute_definitions: Vec<KeyAttr>,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(&table)?;
        if def.index(&index.name).is_some() {
            return Err(CatalogError::IndexExists);
        }
        // Validated by the receiving shard against the catalog it saw;
        // checked again here against the one being changed.
        for attr in attribute_definitions {
            match def
                .attribute_definitions
                .iter()
                .find(|d| d.name == attr.name)
            {
                Some(existing) if existing.key_type != attr.key_type => {
                    return Err(CatalogError::conflicting_definition(existing, &attr));
                }
                Some(_) => {}
                None => def.attribute_definitions.push(attr),
            }
        }
        if def
            .global_indexes()
            .any(|i| i.status == IndexStatus::Creating)
        {
            return Err(CatalogError::IndexChangeInProgress { table });
        }
        if def.global_indexes().count() >= GLOBAL_INDEXES_MAX {
            return Err(CatalogError::GlobalIndexLimit {
                max: GLOBAL_INDEXES_MAX,
            });
        }
        index.id = self.take_id();
        index.status = IndexStatus::Creating;
        def.indexes.push(index);
        Ok(self.install(def, vec![]))
    }

    fn delete_index(self, table: String, index: &str) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(&table)?;
        let position = def
            .indexes
            .iter()
            .position(|i| i.name == index && i.kind == IndexKind::Global)
            .ok_or_else(|| CatalogError::IndexNotFound {
                table: table.clone(),
                index: index.to_string(),
            })?;
        let removed = def.indexes.remove(position);
        // DynamoDB forgets a definition once no key schema uses it.
        let used: Vec<String> = def
            .used_attributes()
            .into_iter()
            .map(str::to_string)
            .collect();
        def.attribute_definitions.retain(|d| used.contains(&d.name));
        Ok(self.install(def, vec![removed.id]))
    }

    fn update_index(
        self,
        table: String,
        index: &str,
        (rcu, wcu): (i64, i64),
        now: f64,
        rule: &DecreaseRule,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(&table)?;
        let target = def
            .indexes
            .iter_mut()
            .find(|i| i.name == index && i.kind == IndexKind::Global)
            .ok_or_else(|| CatalogError::IndexNotFound {
                table: table.clone(),
                index: index.to_string(),
            })?;
        let changes = &mut target.throughput_changes;
        if rcu < target.read_capacity_units || wcu < target.write_capacity_units {
            changes
                .decreases
                .record(now, changes.last_decrease_at, rule)?;
            changes.last_decrease_at = Some(now);
        }
        if rcu > target.read_capacity_units || wcu > target.write_capacity_units {
            changes.last_increase_at = Some(now);
        }
        target.read_capacity_units = rcu;
        target.write_capacity_units = wcu;
        Ok(self.install(def, vec![]))
    }

    fn index_active(self, table: String, index_id: u32) -> Result<Transition, CatalogError> {
        let mut def = self.table_copy(&table)?;
        match def.indexes.iter_mut().find(|i| i.id == index_id) {
            Some(index) if index.status == IndexStatus::Creating => {
                index.status = IndexStatus::Active;
            }
            // Deleted meanwhile, or already active: nothing to record.
            _ => return Ok(Transition::unchanged(Arc::new(def))),
        }
        Ok(self.install(def, vec![]))
    }

    /// DynamoDB's order: deletion protection, then the table's state (a
    /// table already DELETING is no error: the reply describes it again).
    /// The enabled stream is disabled now (no record comes after the
    /// DeleteTable), and stays readable for the retention.
    fn delete(
        mut self,
        name: &str,
        staged: bool,
        now_ms: u64,
        retention_ms: u64,
    ) -> Result<Transition, CatalogError> {
        let current = self
            .tables
            .get(name)
            .cloned()
            .ok_or_else(|| CatalogError::TableNotFound(name.to_string()))?;
        if current.settings.deletion_protection {
            return Err(CatalogError::DeletionProtected);
        }
        match current.status {
            TableStatus::Creating => Err(CatalogError::TableBeingCreated(current.name.clone())),
            TableStatus::Deleting => Ok(Transition::unchanged(current)),
            TableStatus::Active => {
                self.prune_deleted_streams(now_ms, retention_ms);
                let mut def = (*current).clone();
                if let Some(stream) = def.streams.last_mut()
                    && stream.disabled_ms.is_none()
                {
                    stream.disabled_ms = Some(now_ms);
                }
                if !staged {
                    self.tables.insert(def.name.clone(), Arc::new(def));
                    return self.remove(name);
                }
                def.status = TableStatus::Deleting;
                let transition = self.install(def, vec![]);
                let then = follow_up(&transition.table);
                Ok(match then {
                    Some(command) => transition.then(command),
                    None => transition,
                })
            }
        }
    }

    fn create_abandoned(self, name: &str, id: u32) -> Result<Transition, CatalogError> {
        match self.tables.get(name) {
            Some(t) if t.id == id && t.status == TableStatus::Creating => self.remove(name),
            // Deleted (or replaced) meanwhile: nothing to remove.
            Some(t) => Ok(Transition::unchanged(t.clone())),
            None => Err(CatalogError::TableNotFound(name.to_string())),
        }
    }

    fn delete_finish(self, name: &str, id: u32) -> Result<Transition, CatalogError> {
        match self.tables.get(name) {
            Some(t) if t.id == id && t.status == TableStatus::Deleting => self.remove(name),
            Some(t) => Ok(Transition::unchanged(t.clone())),
            None => Err(CatalogError::TableNotFound(name.to_string())),
        }
    }

    /// Removes a table; its data and its indexes' go after install. Its
    /// streams (disabled by the DeleteTable) move to `deleted_streams`:
    /// their records are under the streams' system prefix, not the
    /// table's, so dropping the table's data leaves them. A stream still
    /// enabled here (a DELETING table of a catalog written before deleted
    /// tables kept their streams) has no disable time and is not kept.
    fn remove(mut self, name: &str) -> Result<Transition, CatalogError> {
        let def = self
            .tables
            .remove(name)
            .ok_or_else(|| CatalogError::TableNotFound(name.to_string()))?;
        let mut ids = vec![def.id];
        ids.extend(def.indexes.iter().map(|i| i.id));
        let mut kept = (*def).clone();
        kept.streams.retain(|s| s.disabled_ms.is_some());
        if !kept.streams.is_empty() {
            // Only the key schema and the streams are read from here.
            kept.indexes.clear();
            kept.tags.clear();
            self.deleted_streams.push(Arc::new(kept));
        }
        Ok(Transition::change(self, def, ids))
    }

    /// Forgets deleted tables' streams disabled `retention_ms` or more
    /// before `now_ms` (their records are trimmed), and the tables left
    /// with none.
    fn prune_deleted_streams(&mut self, now_ms: u64, retention_ms: u64) {
        let readable = |s: &super::StreamDef| {
            s.disabled_ms
                .is_none_or(|d| d.saturating_add(retention_ms) > now_ms)
        };
        self.deleted_streams
            .retain(|t| t.streams.iter().any(readable));
    }

    /// The newest stream label any table named `name` (live or deleted)
    /// has: a new stream of that name takes a later one, so its ARN is
    /// new even if the clock has not moved on (or stepped back).
    fn latest_stream_label(&self, name: &str) -> Option<u64> {
        self.stream_tables_named(name)
            .flat_map(|t| t.streams.iter().map(|s| s.label_ms))
            .max()
    }

    /// Enables or disables a table's stream. An enabled stream is never
    /// enabled again, nor a disabled one disabled (DynamoDB's errors);
    /// disabled streams past their retention are dropped from the list.
    fn stream(
        mut self,
        name: &str,
        mut change: StreamChange,
        retention_ms: u64,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(name)?;
        let enabled = def.enabled_stream().is_some();
        let now_ms = match &change {
            StreamChange::Enable(stream) => stream.label_ms,
            StreamChange::Disable { now_ms } => *now_ms,
        };
        self.prune_deleted_streams(now_ms, retention_ms);
        if let StreamChange::Enable(stream) = &mut change
            && let Some(latest) = self.latest_stream_label(name)
        {
            stream.label_ms = stream.label_ms.max(latest.saturating_add(1));
        }
        def.streams.retain(|s| {
            s.disabled_ms
                .is_none_or(|d| d.saturating_add(retention_ms) > now_ms)
        });
        match change {
            StreamChange::Enable(_) if enabled => {
                return Err(CatalogError::StreamAlreadyEnabled(def.name));
            }
            StreamChange::Disable { .. } if !enabled => {
                return Err(CatalogError::StreamAlreadyDisabled(def.name));
            }
            StreamChange::Enable(stream) => def.streams.push(stream),
            StreamChange::Disable { now_ms } => {
                if let Some(last) = def.streams.last_mut() {
                    last.disabled_ms = Some(now_ms);
                }
            }
        }
        Ok(self.install(def, vec![]))
    }

    fn update(
        self,
        name: String,
        billing_mode: Option<BillingMode>,
        throughput: Option<(i64, i64)>,
        settings: SettingsUpdate,
        now: f64,
        rule: &DecreaseRule,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(&name)?;
        // The decrease quota first: a refused request changes nothing.
        if let Some((rcu, wcu)) = throughput
            && def.billing_mode == BillingMode::Provisioned
            && (rcu < def.read_capacity_units || wcu < def.write_capacity_units)
        {
            def.decreases.record(now, def.last_decrease_at, rule)?;
        }
        let s = &mut def.settings;
        if let Some(on) = settings.deletion_protection {
            s.deletion_protection = on;
        }
        if let Some(class) = settings.table_class {
            s.table_class = Some(class);
        }
        if let Some(key) = settings.sse_kms_key_arn {
            s.sse_kms_key_arn = key;
        }
        if let Some(units) = settings.on_demand {
            s.on_demand = Some(units);
        }
        if let Some(units) = settings.warm {
            s.warm = Some(units);
        }
        if let Some(mode) = billing_mode {
            if mode == BillingMode::PayPerRequest && def.billing_mode != mode {
                def.pay_per_request_since = Some(now);
            }
            def.billing_mode = mode;
            if mode == BillingMode::PayPerRequest {
                def.read_capacity_units = 0;
                def.write_capacity_units = 0;
                for index in &mut def.indexes {
                    index.read_capacity_units = 0;
                    index.write_capacity_units = 0;
                }
            }
        }
        if let Some((rcu, wcu)) = throughput {
            if rcu > def.read_capacity_units || wcu > def.write_capacity_units {
                def.last_increase_at = Some(now);
            }
            if rcu < def.read_capacity_units || wcu < def.write_capacity_units {
                def.last_decrease_at = Some(now);
            }
            def.read_capacity_units = rcu;
            def.write_capacity_units = wcu;
        }
        Ok(self.install(def, vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::KeyType;

    fn table(name: &str) -> TableDef {
        let pk = KeyAttr {
            name: "pk".into(),
            key_type: KeyType::S,
        };
        TableDef::for_tests(name, pk, None, vec![])
    }

    #[test]
    fn create_allocates_ids_and_bumps_the_version() {
        let t = Catalog::default()
            .apply(CatalogCommand::Create(table("a")), 2500)
            .expect("create");
        let next = t.next.expect("a change");
        assert_eq!(next.version, 1);
        assert_eq!(t.table.id, 1);
        assert_eq!(next.next_table_id, 2);
        assert!(t.dropped.is_empty());
        let again = next.apply(CatalogCommand::Create(table("a")), 2500);
        assert!(matches!(again, Err(CatalogError::TableExists(name)) if name == "a"));
    }

    #[test]
    fn delete_drops_the_table_and_unknown_tables_are_refused() {
        let next = Catalog::default()
            .apply(CatalogCommand::Create(table("a")), 2500)
            .expect("create")
            .next
            .expect("a change");
        let t = next
            .apply(
                CatalogCommand::Delete {
                    name: "a".into(),
                    staged: false,
                    now_ms: 1_000,
                    stream_retention_ms: 500,
                },
                2500,
            )
            .expect("delete");
        assert_eq!(t.dropped, vec![1]);
        assert!(t.next.expect("a change").tables.is_empty());
        let missing = next.apply(
            CatalogCommand::Delete {
                name: "b".into(),
                staged: false,
                now_ms: 1_000,
                stream_retention_ms: 500,
            },
            2500,
        );
        assert!(matches!(missing, Err(CatalogError::TableNotFound(name)) if name == "b"));
    }

    fn apply(catalog: &Catalog, command: CatalogCommand) -> Result<Transition, CatalogError> {
        catalog.apply(command, 2500)
    }

    #[test]
    fn staged_create_and_delete_pass_through_their_states() {
        let mut def = table("a");
        def.status = TableStatus::Creating;
        let t = apply(&Catalog::default(), CatalogCommand::Create(def)).expect("create");
        let then = t.then.expect("a follow-up");
        assert!(matches!(&then, CatalogCommand::TableActive { name, id: 1 } if name == "a"));
        let creating = t.next.expect("a change");
        // Changes are refused while CREATING; DeleteTable too.
        let busy = apply(
            &creating,
            CatalogCommand::Delete {
                name: "a".into(),
                staged: true,
                now_ms: 1_000,
                stream_retention_ms: 500,
            },
        );
        assert!(matches!(busy, Err(CatalogError::TableBeingCreated(_))));
        let active = apply(&creating, then)
            .expect("active")
            .next
            .expect("change");
        assert_eq!(active.tables["a"].status, TableStatus::Active);
        let t = apply(
            &active,
            CatalogCommand::Delete {
                name: "a".into(),
                staged: true,
                now_ms: 1_000,
                stream_retention_ms: 500,
            },
        )
        .expect("delete");
        assert!(t.dropped.is_empty(), "data stays until the deletion ends");
        let finish = t.then.expect("a follow-up");
        let deleting = t.next.expect("a change");
        assert_eq!(deleting.tables["a"].status, TableStatus::Deleting);
        // Deleting again is no error and changes nothing.
        let again = apply(
            &deleting,
            CatalogCommand::Delete {
                name: "a".into(),
                staged: true,
                now_ms: 1_000,
                stream_retention_ms: 500,
            },
        )
        .expect("again");
        assert!(again.next.is_none() && again.then.is_none());
        let gone = apply(&deleting, finish).expect("finish");
        assert_eq!(gone.dropped, vec![1]);
        assert!(gone.next.expect("a change").tables.is_empty());
    }

    #[test]
    fn deletion_protection_and_tags() {
        let mut def = table("a");
        def.settings.deletion_protection = true;
        let catalog = apply(&Catalog::default(), CatalogCommand::Create(def))
            .expect("create")
            .next
            .expect("change");
        let refused = apply(
            &catalog,
            CatalogCommand::Delete {
                name: "a".into(),
                staged: false,
                now_ms: 1_000,
                stream_retention_ms: 500,
            },
        );
        assert!(matches!(refused, Err(CatalogError::DeletionProtected)));
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        let tagged = apply(
            &catalog,
            CatalogCommand::Tag {
                name: "a".into(),
                tags: vec![tag("x", "1"), tag("y", "2"), tag("x", "3")],
            },
        )
        .expect("tag")
        .next
        .expect("change");
        assert_eq!(tagged.tables["a"].tags, vec![tag("x", "3"), tag("y", "2")]);
        let many: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
        let over = apply(
            &tagged,
            CatalogCommand::Tag {
                name: "a".into(),
                tags: many,
            },
        );
        assert!(matches!(over, Err(CatalogError::TagLimit)));
        let untagged = apply(
            &tagged,
            CatalogCommand::Untag {
                name: "a".into(),
                keys: vec!["x".into(), "absent".into()],
            },
        )
        .expect("untag")
        .next
        .expect("change");
        assert_eq!(untagged.tables["a"].tags, vec![tag("y", "2")]);
    }

    fn ttl(enabled: bool, attribute: &str, now: f64, interval_ms: u64) -> CatalogCommand {
        CatalogCommand::UpdateTimeToLive {
            name: "a".into(),
            enabled,
            attribute_name: attribute.into(),
            now,
            change_interval_ms: interval_ms,
        }
    }

    #[test]
    fn time_to_live_passes_through_its_states_once_per_interval() {
        let catalog = apply(&Catalog::default(), CatalogCommand::Create(table("a")))
            .expect("create")
            .next
            .expect("change");
        let refused = apply(&catalog, ttl(false, "exp", 10.0, 3_600_000));
        assert!(matches!(refused, Err(CatalogError::TtlAlreadyDisabled)));
        let t = apply(&catalog, ttl(true, "exp", 10.0, 3_600_000)).expect("enable");
        let settle = t.then.expect("a follow-up");
        assert!(
            matches!(&settle, CatalogCommand::TimeToLiveSettled { name, id: 1 } if name == "a")
        );
        let enabling = t.next.expect("change");
        let a = &enabling.tables["a"];
        assert_eq!(a.ttl.status, TtlStatus::Enabling);
        assert_eq!(a.ttl.attribute_name.as_deref(), Some("exp"));
        assert_eq!(a.ttl.expiring_attribute(), None, "not before ENABLED");
        assert_eq!(
            follow_up(a).map(|c| format!("{c:?}")),
            Some(format!("{settle:?}"))
        );
        // ENABLING counts as enabled, whatever the attribute.
        let again = apply(&enabling, ttl(true, "other", 10.5, 3_600_000));
        assert!(matches!(again, Err(CatalogError::TtlAlreadyEnabled)));
        let enabled = apply(&enabling, settle)
            .expect("settle")
            .next
            .expect("change");
        assert_eq!(enabled.tables["a"].ttl.expiring_attribute(), Some("exp"));
        assert!(follow_up(&enabled.tables["a"]).is_none());
        // Within the hour: refused; after it, DISABLING keeps the attribute.
        let soon = apply(&enabled, ttl(false, "exp", 3609.0, 3_600_000));
        assert!(matches!(soon, Err(CatalogError::TtlChangedTooRecently)));
        let t = apply(&enabled, ttl(false, "exp", 3611.0, 3_600_000)).expect("disable");
        let disabling = t.next.expect("change");
        assert_eq!(disabling.tables["a"].ttl.status, TtlStatus::Disabling);
        assert_eq!(
            disabling.tables["a"].ttl.attribute_name.as_deref(),
            Some("exp")
        );
        let disabled = apply(&disabling, t.then.expect("a follow-up"))
            .expect("settle")
            .next
            .expect("change");
        assert_eq!(disabled.tables["a"].ttl.status, TtlStatus::Disabled);
        assert_eq!(disabled.tables["a"].ttl.attribute_name, None);
        // A zero interval allows a change at once.
        assert!(apply(&disabled, ttl(true, "b", 3611.0, 0)).is_ok());
    }

    fn set_policy(document: Option<&str>, expected: Option<&str>, now_ms: u64) -> CatalogCommand {
        CatalogCommand::SetResourcePolicy {
            name: "a".into(),
            stream_label_ms: None,
            policy: document.map(|d| {
                let parsed = crate::auth::Policy::parse(d).expect("parses");
                (d.to_string(), Arc::new(parsed))
            }),
            expected_revision_id: expected.map(str::to_string),
            arn: "arn:t/a".into(),
            resource: "table a".into(),
            now_ms,
            change_interval_ms: 15_000,
        }
    }

    #[test]
    fn resource_policies_keep_revisions_and_their_interval() {
        const P1: &str =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        const P2: &str =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"x:y","Resource":"*"}]}"#;
        let catalog = apply(&Catalog::default(), CatalogCommand::Create(table("a")))
            .expect("create")
            .next
            .expect("change");
        let revision = |c: &Catalog| {
            c.tables["a"]
                .policy_slot(None)
                .map(|s| s.revision_id.clone())
        };
        let t = apply(&catalog, set_policy(Some(P1), Some(NO_POLICY), 1_000)).expect("put");
        let one = t.next.expect("change");
        assert_eq!(revision(&one).as_deref(), Some("1000"));
        // The same document: no change, whenever.
        let same = apply(&one, set_policy(Some(P1), None, 1_001)).expect("same");
        assert!(same.next.is_none());
        let refused = [
            (
                set_policy(Some(P2), Some(NO_POLICY), 99_000),
                "expecting none",
            ),
            (set_policy(Some(P2), Some("7"), 99_000), "revision id 7"),
            (
                set_policy(Some(P2), None, 15_999),
                "try again after 1970-01-01T00:00:16.000Z",
            ),
            (set_policy(None, Some("7"), 99_000), "revision id 7"),
        ];
        for (command, text) in refused {
            let e = apply(&one, command).expect_err("refused");
            assert!(e.to_string().contains(text), "{e}");
        }
        let two = apply(&one, set_policy(Some(P2), Some("1000"), 16_000))
            .expect("after the interval")
            .next
            .expect("change");
        assert_eq!(revision(&two).as_deref(), Some("16000"));
        let gone = apply(&two, set_policy(None, Some("16000"), 40_000))
            .expect("delete")
            .next
            .expect("change");
        let slot = gone.tables["a"].policy_slot(None).expect("slot");
        assert!(slot.policy.is_none());
        assert_eq!(
            slot.revision_id, "16000",
            "the deletion names the revision deleted"
        );
        assert!(
            apply(&gone, set_policy(None, None, 40_001))
                .expect("delete nothing")
                .next
                .is_none()
        );
        let e =
            apply(&gone, set_policy(Some(P1), None, 41_000)).expect_err("interval after a delete");
        assert!(matches!(e, CatalogError::PolicyChangedTooRecently { .. }));
        let mut missing = set_policy(Some(P1), None, 99_000);
        if let CatalogCommand::SetResourcePolicy {
            stream_label_ms, ..
        } = &mut missing
        {
            *stream_label_ms = Some(5);
        }
        assert!(matches!(
            apply(&gone, missing),
            Err(CatalogError::StreamNotFound { .. })
        ));
    }

    #[test]
    fn time_to_live_waits_for_a_transitional_table() {
        let mut def = table("a");
        def.status = TableStatus::Creating;
        let creating = apply(&Catalog::default(), CatalogCommand::Create(def))
            .expect("create")
            .next
            .expect("change");
        let refused = apply(&creating, ttl(true, "exp", 1.0, 0));
        assert!(matches!(refused, Err(CatalogError::TableBeingCreated(_))));
        let missing = apply(&creating, {
            let mut c = ttl(true, "exp", 1.0, 0);
            if let CatalogCommand::UpdateTimeToLive { name, .. } = &mut c {
                *name = "b".into();
            }
            c
        });
        assert!(matches!(missing, Err(CatalogError::TableNotFound(_))));
    }

    fn streamed(name: &str, label_ms: u64) -> TableDef {
        let mut def = table(name);
        def.streams.push(crate::catalog::StreamDef {
            label_ms,
            view_type: crate::catalog::StreamViewType::KeysOnly,
            rollover_ms: 10,
            disabled_ms: None,
            iterator_key: [1; 16],
        });
        def
    }

    fn delete_at(catalog: &Catalog, name: &str, staged: bool, now_ms: u64) -> Transition {
        apply(
            catalog,
            CatalogCommand::Delete {
                name: name.into(),
                staged,
                now_ms,
                stream_retention_ms: 500,
            },
        )
        .expect("delete")
    }

    #[test]
    fn a_deleted_tables_streams_stay_for_the_retention() {
        let created = apply(
            &Catalog::default(),
            CatalogCommand::Create(streamed("a", 100)),
        )
        .expect("create")
        .next
        .expect("a change");
        // Dropped at once: the stream is disabled now and kept.
        let deleted = delete_at(&created, "a", false, 1_000);
        assert_eq!(deleted.dropped, vec![1]);
        let next = deleted.next.expect("a change");
        assert!(next.tables.is_empty());
        assert_eq!(next.deleted_streams.len(), 1);
        let kept = next.stream_table_by_id(1).expect("kept");
        assert_eq!(kept.streams[0].disabled_ms, Some(1_000));
        assert_eq!(next.stream_tables_named("a").count(), 1);
        // A new table of the same name: a later label even if the clock
        // says otherwise, so a new ARN.
        let next = apply(&next, CatalogCommand::Create(streamed("a", 50)))
            .expect("create again")
            .next
            .expect("a change");
        let fresh = next.table("a").expect("the new table");
        assert_eq!(fresh.streams[0].label_ms, 101);
        let labels: Vec<u64> = next
            .stream_tables_named("a")
            .map(|t| t.streams[0].label_ms)
            .collect();
        assert_eq!(labels, vec![101, 100], "live first, then deleted");
        // Staged: DELETING disables the stream at once, the finish keeps it;
        // the first deleted stream is past its retention at 2,000: pruned.
        let deleting = delete_at(&next, "a", true, 2_000);
        let then = deleting.then.expect("a follow-up");
        let next = deleting.next.expect("a change");
        assert_eq!(
            next.table("a").expect("deleting").streams[0].disabled_ms,
            Some(2_000)
        );
        assert!(next.deleted_streams.is_empty(), "past retention: pruned");
        let next = apply(&next, then).expect("finish").next.expect("a change");
        assert!(next.tables.is_empty());
        let kept: Vec<u32> = next.stream_tables_named("a").map(|t| t.id).collect();
        assert_eq!(kept, vec![2]);
        // Round-trips through catalog.json.
        let bytes = next.to_bytes().expect("serialize");
        assert_eq!(Catalog::from_bytes(&bytes).expect("parse"), next);
    }
}
