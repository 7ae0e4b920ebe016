//! A shard's backup state: the snapshots it holds for backups in progress
//! (every shard) and, on the coordinator, the registry of backups (loaded
//! from the backup directory on first use). Plain data; `api::backup`
//! owns the logic.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::api::messages::BackupFileInfo;
use crate::catalog::TableDef;
use crate::engine::Snapshot;
use crate::engine::io::either::EitherFs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupStatus {
    Creating,
    Available,
    Deleted,
}

impl Backups {
    /// The registry `record` belongs in (backups or PITR bases).
    pub fn registry(&self, record: &BackupRecord) -> &RefCell<BTreeMap<String, BackupRecord>> {
        if record.is_pitr_base() {
            &self.bases
        } else {
            &self.records
        }
    }
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Creating => "CREATING",
            BackupStatus::Available => "AVAILABLE",
            BackupStatus::Deleted => "DELETED",
        }
    }
}

/// One backup, as `backup.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupRecord {
    pub arn: String,
    pub name: String,
    /// `<13-digit ms>-<8 hex>`: the ARN's last part and the folder name.
    pub id: String,
    pub table_arn: String,
    /// The table as it was when the backup was cut (schema, indexes).
    pub table: TableDef,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    pub status: BackupStatus,
    pub bytes: u64,
    pub items: u64,
    /// One per shard, in shard order.
    pub files: Vec<BackupFileInfo>,
    /// Set on a point-in-time recovery base (`api::pitr`), which is kept
    /// in [`Backups::bases`] and never listed as a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr_base: Option<PitrBase>,
    /// Set on a SYSTEM backup: the one DeleteTable takes of a table with
    /// point-in-time recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemBackup>,
}

/// What a SYSTEM backup adds to a backup record: it expires its table's
/// recovery period after the deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemBackup {
    /// When the table was deleted (ms since the Unix epoch).
    pub deleted_ms: u64,
    pub recovery_period_days: u32,
    /// `deleted_ms` plus the period in `pitr_day_ms` days, as of the
    /// process that loaded the record (derived, so a restart with another
    /// day length applies it).
    #[serde(skip)]
    pub expires_ms: u64,
}

impl SystemBackup {
    pub fn new(deleted_ms: u64, recovery_period_days: u32, day_ms: u64) -> SystemBackup {
        let mut system = SystemBackup {
            deleted_ms,
            recovery_period_days,
            expires_ms: 0,
        };
        system.derive_expiry(day_ms);
        system
    }

    pub fn derive_expiry(&mut self, day_ms: u64) {
        self.expires_ms = self
            .deleted_ms
            .saturating_add(u64::from(self.recovery_period_days).saturating_mul(day_ms));
    }
}

/// What a PITR base adds to a backup record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrBase {
    /// Read after the cut ended: the base serves restores to any time at
    /// or after it (ms since the Unix epoch).
    pub cut_ms: u64,
}

impl BackupRecord {
    pub fn is_pitr_base(&self) -> bool {
        self.pitr_base.is_some()
    }

    /// ListBackups' and DescribeBackup's BackupType.
    pub fn backup_type(&self) -> &'static str {
        if self.system.is_some() {
            "SYSTEM"
        } else {
            "USER"
        }
    }
}

#[derive(Default)]
pub struct Backups {
    /// Coordinator: every backup by ARN.
    pub records: RefCell<BTreeMap<String, BackupRecord>>,
    /// Coordinator: every PITR base by ARN (same folder layout).
    pub bases: RefCell<BTreeMap<String, BackupRecord>>,
    pub loaded: Cell<bool>,
    /// Backups being created or restored from (control-plane operations
    /// in flight), bounded by `backup_operations_max`.
    pub operations: Cell<usize>,
    /// Backup ARNs a restore is reading (DeleteBackup waits: BackupInUse).
    pub restoring: RefCell<HashMap<String, usize>>,
    /// Every shard: snapshots cut for backups in progress, by backup id.
    pub snapshots: RefCell<HashMap<String, Rc<Snapshot<EitherFs>>>>,
}
