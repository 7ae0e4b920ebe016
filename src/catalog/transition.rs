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
    IndexStatus, KeyAttr, PITR_PERIOD_DAYS_MAX, PointInTime, SettingsUpdate, StreamChange,
    TAGS_MAX, TableDef, TableStatus, Tag, TtlStatus,
};

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
            CatalogCommand::Delete { name, staged } => next.delete(&name, staged),
            CatalogCommand::TableActive { name, id } => next.table_active(&name, id),
            CatalogCommand::DeleteFinish { name, id } => next.delete_finish(&name, id),
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
    fn delete(self, name: &str, staged: bool) -> Result<Transition, CatalogError> {
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
            TableStatus::Active if staged => {
                let mut def = (*current).clone();
                def.status = TableStatus::Deleting;
                let transition = self.install(def, vec![]);
                let then = follow_up(&transition.table);
                Ok(match then {
                    Some(command) => transition.then(command),
                    None => transition,
                })
            }
            TableStatus::Active => self.remove(name),
        }
    }

    fn delete_finish(self, name: &str, id: u32) -> Result<Transition, CatalogError> {
        match self.tables.get(name) {
            Some(t) if t.id == id && t.status == TableStatus::Deleting => self.remove(name),
            Some(t) => Ok(Transition::unchanged(t.clone())),
            None => Err(CatalogError::TableNotFound(name.to_string())),
        }
    }

    /// Removes a table; its data and its indexes' go after install.
    fn remove(mut self, name: &str) -> Result<Transition, CatalogError> {
        let def = self
            .tables
            .remove(name)
            .ok_or_else(|| CatalogError::TableNotFound(name.to_string()))?;
        let mut ids = vec![def.id];
        ids.extend(def.indexes.iter().map(|i| i.id));
        Ok(Transition::change(self, def, ids))
    }

    /// Enables or disables a table's stream. An enabled stream is never
    /// enabled again, nor a disabled one disabled (DynamoDB's errors);
    /// disabled streams past their retention are dropped from the list.
    fn stream(
        self,
        name: &str,
        change: StreamChange,
        retention_ms: u64,
    ) -> Result<Transition, CatalogError> {
        let mut def = self.active_copy(name)?;
        let enabled = def.enabled_stream().is_some();
        let now_ms = match &change {
            StreamChange::Enable(stream) => stream.label_ms,
            StreamChange::Disable { now_ms } => *now_ms,
        };
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
}
