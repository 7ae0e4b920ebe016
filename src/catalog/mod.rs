//! The catalog: table schemas, versioned, persisted, replicated to every shard.
//!
//! Shard 0 coordinates DDL: it applies a change to a copy of the current
//! catalog, persists it (`catalog.json`: temp → fsync → rename → fsync dir),
//! and only then installs the new immutable snapshot on every shard over the
//! mesh. Shards read their own `Arc<Catalog>` copy without locks. A crash
//! before the rename leaves the previous catalog, which is consistent because
//! no shard saw the new one and no client was answered.
//!
//! A DDL change is a pure [`Transition`] of the catalog (`transition`); the
//! executor in `api::table::ddl` performs its effects.

mod decreases;
mod transition;

pub use decreases::{DecreaseCount, DecreaseRule};
pub use transition::{GLOBAL_INDEXES_MAX, LOCAL_INDEXES_MAX, NO_POLICY, Transition, follow_up};

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::auth::Policy;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }

    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "S" => Some(KeyType::S),
            "N" => Some(KeyType::N),
            "B" => Some(KeyType::B),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub key_type: KeyType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// A table's lifecycle state. CREATING and DELETING last the
/// `table_status_transition_ms` knob: short, but long enough for clients'
/// waiters to see them, as on DynamoDB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableStatus {
    /// Recorded, not yet serving items (item operations: not found).
    Creating,
    #[default]
    Active,
    /// Being dropped: described as DELETING, items no longer served.
    Deleting,
}

impl TableStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Creating => "CREATING",
            TableStatus::Active => "ACTIVE",
            TableStatus::Deleting => "DELETING",
        }
    }
}

/// A user-defined tag (TagResource, CreateTable `Tags`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// DynamoDB's most tags on one resource.
pub const TAGS_MAX: usize = 50;

/// `ms` since the Unix epoch as ISO-8601 UTC with milliseconds
/// (`YYYY-MM-DDTHH:MM:SS.mmm`): stream labels, retry-after times.
pub fn utc_label(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// Howard Hinnant's civil-from-days (proleptic Gregorian, days since 1970).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A resource-based policy (PutResourcePolicy, CreateTable's
/// `ResourcePolicy`): its canonical document (`auth::resource_policy`),
/// its RevisionId, and the document parsed for the evaluator — parsed once
/// when set and once when the catalog is read, never per request. Stored
/// as `{"document":…,"revision_id":…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredPolicy", into = "StoredPolicy")]
pub struct ResourcePolicy {
    pub document: String,
    /// The epoch milliseconds of the change, as DynamoDB's (comparable as
    /// strings of equal length; strictly increasing per resource).
    pub revision_id: String,
    pub parsed: Arc<Policy>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredPolicy {
    document: String,
    revision_id: String,
}

impl From<StoredPolicy> for ResourcePolicy {
    fn from(stored: StoredPolicy) -> Self {
        // A document accepted once parses again; if a later version could
        // not read it, the resource is closed rather than opened.
        let parsed = Policy::parse(&stored.document).unwrap_or_else(|e| {
            tracing::error!(error = %e, "stored resource policy unreadable; denying all");
            Policy::deny_all()
        });
        ResourcePolicy {
            document: stored.document,
            revision_id: stored.revision_id,
            parsed: Arc::new(parsed),
        }
    }
}

impl From<ResourcePolicy> for StoredPolicy {
    fn from(policy: ResourcePolicy) -> Self {
        StoredPolicy {
            document: policy.document,
            revision_id: policy.revision_id,
        }
    }
}

/// The policy of one resource of a table: the table itself or one of its
/// streams. Kept after a DeleteResourcePolicy (with `policy` None) for the
/// change interval and the deleted revision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySlot {
    /// None: the table's; Some: the stream created at this label time.
    pub stream_label_ms: Option<u64>,
    pub policy: Option<ResourcePolicy>,
    /// The last revision set or deleted.
    pub revision_id: String,
    /// When the policy last changed (ms since the epoch).
    pub changed_ms: u64,
}
/// RecoveryPeriodInDays: 1 to 35, 35 when not given.
pub const PITR_PERIOD_DAYS_MAX: u32 = 35;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableClass {
    Standard,
    StandardInfrequentAccess,
}

impl TableClass {
    pub fn as_str(self) -> &'static str {
        match self {
            TableClass::Standard => "STANDARD",
            TableClass::StandardInfrequentAccess => "STANDARD_INFREQUENT_ACCESS",
        }
    }

    pub fn parse(s: &str) -> Option<TableClass> {
        match s {
            "STANDARD" => Some(TableClass::Standard),
            "STANDARD_INFREQUENT_ACCESS" => Some(TableClass::StandardInfrequentAccess),
            _ => None,
        }
    }
}

/// Table settings Dynacore records and describes but does not act on
/// (there is no KMS, no tiered storage, no request-rate cap): what a
/// client set is what DescribeTable shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableSettings {
    /// DeleteTable is refused while set.
    pub deletion_protection: bool,
    /// None until a client sets one (DescribeTable then shows no
    /// TableClassSummary, as DynamoDB for a STANDARD table never changed).
    pub table_class: Option<TableClass>,
    /// Server-side encryption with a KMS key (its ARN); None is DynamoDB's
    /// default AWS-owned key, which DescribeTable does not describe.
    pub sse_kms_key_arn: Option<String>,
    /// OnDemandThroughput (MaxReadRequestUnits, MaxWriteRequestUnits);
    /// -1 is "no maximum".
    pub on_demand: Option<(i64, i64)>,
    /// WarmThroughput (ReadUnitsPerSecond, WriteUnitsPerSecond).
    pub warm: Option<(i64, i64)>,
    /// Set on a table ImportTable is loading: the import's ARN. While set
    /// the table stays CREATING (the import task, not a timer, makes it
    /// ACTIVE); `TableActive` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_arn: Option<String>,
}

/// A table's Time to Live state (UpdateTimeToLive, DescribeTimeToLive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TtlStatus {
    #[default]
    Disabled,
    /// Enabled by a client; the expirer starts once it is ENABLED.
    Enabling,
    Enabled,
    /// Disabled by a client; the expirer has already stopped.
    Disabling,
}

impl TtlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TtlStatus::Disabled => "DISABLED",
            TtlStatus::Enabling => "ENABLING",
            TtlStatus::Enabled => "ENABLED",
            TtlStatus::Disabling => "DISABLING",
        }
    }

    /// ENABLING and ENABLED count as enabled for UpdateTimeToLive's
    /// "already enabled" check; DISABLING and DISABLED as disabled.
    pub fn is_on(self) -> bool {
        matches!(self, TtlStatus::Enabling | TtlStatus::Enabled)
    }
}

/// Time to Live: the attribute holding each item's expiry (a Number,
/// seconds since the epoch) and the state of the setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeToLive {
    pub status: TtlStatus,
    /// Set while ENABLING, ENABLED or DISABLING.
    pub attribute_name: Option<String>,
    /// When a client last changed the setting (seconds since the epoch,
    /// millisecond precision): DynamoDB allows one change per interval.
    pub changed_at: Option<f64>,
}

impl TimeToLive {
    /// The attribute the expirer acts on: only once ENABLED.
    pub fn expiring_attribute(&self) -> Option<&str> {
        match self.status {
            TtlStatus::Enabled => self.attribute_name.as_deref(),
            _ => None,
        }
    }
}

/// Changes UpdateTable makes to [`TableSettings`]; None leaves a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsUpdate {
    pub deletion_protection: Option<bool>,
    pub table_class: Option<TableClass>,
    /// Some(None): back to the AWS-owned key.
    pub sse_kms_key_arn: Option<Option<String>>,
    pub on_demand: Option<(i64, i64)>,
    pub warm: Option<(i64, i64)>,
}

impl SettingsUpdate {
    pub fn is_empty(&self) -> bool {
        *self == SettingsUpdate::default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    /// Internal id, the first 4 bytes of every storage key; never reused.
    pub id: u32,
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub attribute_definitions: Vec<KeyAttr>,
    pub billing_mode: BillingMode,
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
    /// Seconds since the Unix epoch, with millisecond precision.
    pub created_at: f64,
    /// Last switch to PAY_PER_REQUEST, if any.
    pub pay_per_request_since: Option<f64>,
    pub last_increase_at: Option<f64>,
    pub last_decrease_at: Option<f64>,
    /// Throughput decreases of the current UTC day (NumberOfDecreasesToday,
    /// DynamoDB's decrease quota: `decreases.rs`).
    #[serde(default)]
    pub decreases: DecreaseCount,
    /// The TableId UUID that DescribeTable shows.
    pub uuid: String,
    /// Local and global secondary indexes, in creation order.
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
    /// Catalogs written before table states existed hold ACTIVE tables.
    #[serde(default)]
    pub status: TableStatus,
    #[serde(default)]
    pub settings: TableSettings,
    /// In the order first set (a re-set key keeps its place).
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The table's DynamoDB Streams, oldest first: at most the last one is
    /// enabled; disabled ones stay readable for the stream retention.
    #[serde(default)]
    pub streams: Vec<StreamDef>,
    /// Catalogs written before TTL existed hold tables with TTL DISABLED.
    #[serde(default)]
    pub ttl: TimeToLive,
    /// Set on a table made by RestoreTableFromBackup: its RestoreSummary.
    /// While `in_progress`, the table stays CREATING (the restore task,
    /// not a timer, makes it ACTIVE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<Box<RestoreInfo>>,
    /// Point-in-time recovery (UpdateContinuousBackups); None: disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<PointInTime>,
    /// Resource-based policies of the table and of its streams; they go
    /// with the table (DeleteTable), and DescribeTable does not show them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicySlot>,
}

/// A table's point-in-time recovery setting (`api::pitr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PointInTime {
    /// When it was (last) enabled, ms since the Unix epoch: history from
    /// an earlier enabling is never used.
    pub enabled_ms: u64,
    /// RecoveryPeriodInDays, 1–35.
    pub recovery_period_days: u32,
}

/// Where a restored table came from (DescribeTable's RestoreSummary).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestoreInfo {
    pub source_backup_arn: String,
    pub source_table_arn: String,
    /// Seconds since the Unix epoch.
    pub restore_date_time: f64,
    pub in_progress: bool,
    /// RestoreTableToPointInTime (`source_backup_arn` is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time: Option<PointInTimeRestore>,
}

/// What a point-in-time restore loads: a PITR base, then the history of
/// the source table up to `until_ms`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointInTimeRestore {
    pub base_arn: String,
    pub source_table_id: u32,
    pub until_ms: u64,
}

impl TableDef {
    /// A PAY_PER_REQUEST table with just keys and indexes (unit tests and
    /// benchmarks).
    #[doc(hidden)]
    pub fn for_tests(
        name: &str,
        partition_key: KeyAttr,
        sort_key: Option<KeyAttr>,
        indexes: Vec<IndexDef>,
    ) -> TableDef {
        TableDef {
            id: 1,
            name: name.into(),
            partition_key,
            sort_key,
            attribute_definitions: vec![],
            billing_mode: BillingMode::PayPerRequest,
            read_capacity_units: 0,
            write_capacity_units: 0,
            created_at: 0.0,
            pay_per_request_since: None,
            last_increase_at: None,
            last_decrease_at: None,
            decreases: DecreaseCount::default(),
            uuid: String::new(),
            indexes,
            status: TableStatus::Active,
            settings: TableSettings::default(),
            tags: vec![],
            streams: vec![],
            ttl: TimeToLive::default(),
            restore: None,
            pitr: None,
            policies: vec![],
        }
    }

    /// The policy of the table (`stream_label_ms` None) or of one of its
    /// streams, if one is attached.
    pub fn resource_policy(&self, stream_label_ms: Option<u64>) -> Option<&ResourcePolicy> {
        self.policy_slot(stream_label_ms)?.policy.as_ref()
    }

    pub fn policy_slot(&self, stream_label_ms: Option<u64>) -> Option<&PolicySlot> {
        self.policies
            .iter()
            .find(|p| p.stream_label_ms == stream_label_ms)
    }

    /// The stream new writes publish to, if one is enabled.
    pub fn enabled_stream(&self) -> Option<&StreamDef> {
        self.streams.last().filter(|s| s.disabled_ms.is_none())
    }

    /// The stream created at `label_ms`, if the table still has it.
    pub fn stream(&self, label_ms: u64) -> Option<&StreamDef> {
        self.streams.iter().find(|s| s.label_ms == label_ms)
    }

    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    pub fn local_indexes(&self) -> impl Iterator<Item = &IndexDef> {
        self.indexes.iter().filter(|i| i.kind == IndexKind::Local)
    }

    pub fn global_indexes(&self) -> impl Iterator<Item = &IndexDef> {
        self.indexes.iter().filter(|i| i.kind == IndexKind::Global)
    }

    pub fn has_local_indexes(&self) -> bool {
        self.local_indexes().next().is_some()
    }

    /// The table's own key attributes, partition key first.
    pub fn key_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.partition_key).chain(self.sort_key.as_ref())
    }

    /// Every key attribute (table and indexes) of the table, deduplicated.
    pub fn used_attributes(&self) -> Vec<&str> {
        let mut used: Vec<&str> = Vec::new();
        for attr in self
            .key_attrs()
            .chain(self.indexes.iter().flat_map(|i| i.key_attrs()))
        {
            if !used.contains(&attr.name.as_str()) {
                used.push(&attr.name);
            }
        }
        used
    }
}

/// What a stream record carries besides the item's key
/// (StreamSpecification.StreamViewType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamViewType {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamViewType::KeysOnly => "KEYS_ONLY",
            StreamViewType::NewImage => "NEW_IMAGE",
            StreamViewType::OldImage => "OLD_IMAGE",
            StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    pub fn parse(s: &str) -> Option<StreamViewType> {
        match s {
            "KEYS_ONLY" => Some(StreamViewType::KeysOnly),
            "NEW_IMAGE" => Some(StreamViewType::NewImage),
            "OLD_IMAGE" => Some(StreamViewType::OldImage),
            "NEW_AND_OLD_IMAGES" => Some(StreamViewType::NewAndOldImages),
            _ => None,
        }
    }

    pub fn new_image(self) -> bool {
        matches!(
            self,
            StreamViewType::NewImage | StreamViewType::NewAndOldImages
        )
    }

    pub fn old_image(self) -> bool {
        matches!(
            self,
            StreamViewType::OldImage | StreamViewType::NewAndOldImages
        )
    }
}

/// One DynamoDB stream of a table (`api::streams` owns its records).
/// Identified by its table's id and its label time: both are in the
/// storage key of each record, never reused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDef {
    /// Creation time in ms since the Unix epoch: the StreamLabel (and ARN
    /// suffix) is this instant in ISO-8601 with milliseconds.
    pub label_ms: u64,
    pub view_type: StreamViewType,
    /// Stream shard lifetime fixed at creation (`stream_shard_rollover_ms`
    /// then): a stream shard covers `[label + k·rollover, label +
    /// (k+1)·rollover)` of one Dynacore shard, so the shard list is a pure
    /// function of this definition and the clock.
    pub rollover_ms: u64,
    /// When the stream was disabled (no records after it); None: enabled.
    pub disabled_ms: Option<u64>,
    /// Key of the shard iterators' integrity check (HMAC-SHA256), drawn
    /// from the OS at creation.
    pub iterator_key: [u8; 16],
}

impl StreamDef {
    /// The stream shard epoch (0, 1, …) that `now_ms` falls in; a disabled
    /// stream's last epoch is the one it was disabled in.
    pub fn epoch_at(&self, now_ms: u64) -> u32 {
        let now_ms = self.disabled_ms.map_or(now_ms, |d| d.min(now_ms));
        let epoch = now_ms.saturating_sub(self.label_ms) / self.rollover_ms.max(1);
        u32::try_from(epoch).unwrap_or(u32::MAX)
    }

    /// When epoch `epoch` starts, in ms since the Unix epoch.
    pub fn epoch_start_ms(&self, epoch: u32) -> u64 {
        self.label_ms
            .saturating_add(u64::from(epoch).saturating_mul(self.rollover_ms.max(1)))
    }
}

/// A change of a table's stream (UpdateTable's StreamSpecification).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamChange {
    Enable(StreamDef),
    /// Disable the enabled stream at `now_ms`.
    Disable {
        now_ms: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// Same partition key as the table, another sort key; stored on the
    /// base item's shard and written in the base item's WAL record.
    Local,
    /// Its own partition key; stored on the shard owning the index key's
    /// hash and maintained asynchronously through the base shard's outbox.
    Global,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionType {
    KeysOnly,
    Include,
    All,
}

impl ProjectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
            ProjectionType::All => "ALL",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexStatus {
    /// Being backfilled (a GSI added by UpdateTable); writes maintain it
    /// already, reads are refused.
    Creating,
    Active,
}

impl IndexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexStatus::Creating => "CREATING",
            IndexStatus::Active => "ACTIVE",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Storage prefix of the index's entries, allocated from the table id
    /// space (so `table_prefix(id)` scopes it); never reused.
    pub id: u32,
    pub name: String,
    pub kind: IndexKind,
    /// Partition key attributes: one, or up to four for a multi-attribute
    /// GSI key. For an LSI, the table's partition key.
    pub hash_keys: Vec<KeyAttr>,
    /// Sort key attributes: none, one, or up to four for a GSI.
    pub range_keys: Vec<KeyAttr>,
    pub projection_type: ProjectionType,
    /// INCLUDE's NonKeyAttributes.
    pub non_key_attributes: Vec<String>,
    pub status: IndexStatus,
    /// GSIs only; 0 under PAY_PER_REQUEST.
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
    /// A GSI's last throughput changes and decreases today (its decrease
    /// quota is its own, apart from the table's).
    #[serde(default)]
    pub throughput_changes: ThroughputChanges,
}

/// When a GSI's provisioned throughput last went up and down, and its
/// decreases of the current UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThroughputChanges {
    pub last_increase_at: Option<f64>,
    pub last_decrease_at: Option<f64>,
    pub decreases: DecreaseCount,
}

impl IndexDef {
    /// Every key attribute of the index (its own, not the table's).
    pub fn key_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        self.hash_keys.iter().chain(self.range_keys.iter())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: u64,
    pub next_table_id: u32,
    pub tables: BTreeMap<String, Arc<TableDef>>,
    /// Tables deleted while one of their streams was still readable, oldest
    /// deletion first: a deleted table's stream stays listed, DISABLED, for
    /// the stream retention after the deletion, as on DynamoDB. Only the
    /// streams API looks here ([`Catalog::stream_table_by_id`],
    /// [`Catalog::stream_tables_named`]); entries whose streams are all
    /// past retention are pruned by the next DeleteTable or stream change,
    /// so the list holds at most the deletions of one retention period
    /// (plus those since the last such change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_streams: Vec<Arc<TableDef>>,
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(name)
    }

    pub fn table_by_id(&self, id: u32) -> Option<&Arc<TableDef>> {
        self.tables.values().find(|t| t.id == id)
    }

    /// The table, live or deleted with a stream still kept, whose streams
    /// carry table id `id` (ids are never reused: at most one).
    pub fn stream_table_by_id(&self, id: u32) -> Option<&Arc<TableDef>> {
        self.table_by_id(id)
            .or_else(|| self.deleted_streams.iter().find(|t| t.id == id))
    }

    /// The live table named `name`, then the deleted ones of that name,
    /// newest first: every table whose streams a StreamArn with this table
    /// name may name (the label tells them apart).
    pub fn stream_tables_named<'c, 'n>(
        &'c self,
        name: &'n str,
    ) -> impl Iterator<Item = &'c Arc<TableDef>> + use<'c, 'n> {
        self.tables.get(name).into_iter().chain(
            self.deleted_streams
                .iter()
                .rev()
                .filter(move |t| t.name == name),
        )
    }

    /// The table and index an index id belongs to.
    pub fn index_by_id(&self, id: u32) -> Option<(&Arc<TableDef>, &IndexDef)> {
        self.tables
            .values()
            .find_map(|t| t.indexes.iter().find(|i| i.id == id).map(|i| (t, i)))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, CatalogError> {
        simd_json::to_vec_pretty(self).map_err(|e| CatalogError::Encode(e.to_string()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Catalog, CatalogError> {
        let mut copy = bytes.to_vec();
        simd_json::serde::from_slice(&mut copy).map_err(|e| CatalogError::Decode(e.to_string()))
    }
}

/// Why a DDL transition is refused, or the catalog file cannot be read or
/// written. The messages of the refusals are DynamoDB's (the API maps each
/// variant to its error type).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("Table already exists: {0}")]
    TableExists(String),
    #[error("Subscriber limit exceeded: Only {max} tables can be created per account")]
    TableLimit { max: usize },
    #[error("Requested resource not found: Table: {0} not found")]
    TableNotFound(String),
    #[error("Attempting to create an index which already exists")]
    IndexExists,
    #[error("Requested resource not found: Table: {table} Index: {index}")]
    IndexNotFound { table: String, index: String },
    #[error(
        "Attribute {name} is already defined with AttributeType {}; it cannot be redefined as {}",
        existing.as_str(),
        requested.as_str()
    )]
    ConflictingDefinition {
        name: String,
        existing: KeyType,
        requested: KeyType,
    },
    #[error(
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table -- Table: {table}"
    )]
    IndexChangeInProgress { table: String },
    #[error(
        "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {max}"
    )]
    GlobalIndexLimit { max: usize },
    #[error("Attempt to change a resource which is still in use: Table is being created: {0}")]
    TableBeingCreated(String),
    #[error("Attempt to change a resource which is still in use: Table is being deleted: {0}")]
    TableBeingDeleted(String),
    #[error(
        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."
    )]
    DeletionProtected,
    #[error("Number of Tags exceed the current limit for the provided ResourceArn")]
    TagLimit,
    #[error("Table already has an enabled stream: TableName: {0}")]
    StreamAlreadyEnabled(String),
    #[error("Table already has no stream enabled: TableName: {0}")]
    StreamAlreadyDisabled(String),
    #[error("TimeToLive is already enabled")]
    TtlAlreadyEnabled,
    #[error("TimeToLive is already disabled")]
    TtlAlreadyDisabled,
    #[error("Time to live has been modified multiple times within a fixed interval")]
    TtlChangedTooRecently,
    #[error("Requested resource not found: Stream: {label} not found for Table: {table}")]
    StreamNotFound { table: String, label: String },
    /// No policy where one was expected (GetResourcePolicy, or an
    /// ExpectedRevisionId with nothing attached).
    #[error("Resource-based policy not found for the provided ResourceArn: {arn}")]
    PolicyNotFound { arn: String },
    #[error(
        "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {expected}, but the policy associated to target {resource} has revision id {actual}."
    )]
    PolicyRevisionMismatch {
        /// "table T" or "stream <label>".
        resource: String,
        expected: String,
        actual: String,
    },
    #[error(
        "Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for {resource}, but a policy exists with revision id {actual}."
    )]
    PolicyExpectedNone { resource: String, actual: String },
    #[error(
        "Resource-based policy for {resource} modified within the previous {interval_ms} milliseconds. Please try again after {retry_after}Z."
    )]
    PolicyChangedTooRecently {
        resource: String,
        interval_ms: u64,
        /// ISO-8601 UTC ([`utc_label`]).
        retry_after: String,
    },
    /// The decrease quota is spent (the message names the next time).
    #[error("{0}")]
    DecreaseLimit(String),
    #[error("{0}")]
    Encode(String),
    #[error("{0}")]
    Decode(String),
}

impl CatalogError {
    /// An attribute redefined with another type than the table's.
    pub fn conflicting_definition(existing: &KeyAttr, requested: &KeyAttr) -> CatalogError {
        CatalogError::ConflictingDefinition {
            name: existing.name.clone(),
            existing: existing.key_type,
            requested: requested.key_type,
        }
    }
}

/// A DDL change, validated by the receiving shard and applied by shard 0.
// One command per DDL request, moved a few times: boxing the table of
// `Create` would save nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum CatalogCommand {
    Create(TableDef),
    /// `staged`: the table turns DELETING and is removed by a follow-up
    /// [`CatalogCommand::DeleteFinish`]; else it goes at once.
    /// The table's enabled stream is disabled at `now_ms` and the table's
    /// streams stay readable for `stream_retention_ms` after it.
    Delete {
        name: String,
        staged: bool,
        now_ms: u64,
        stream_retention_ms: u64,
    },
    /// A CREATING table (of this id) becomes ACTIVE.
    TableActive {
        name: String,
        id: u32,
    },
    /// A DELETING table (of this id) is removed and its data dropped.
    DeleteFinish {
        name: String,
        id: u32,
    },
    /// A CREATING table (of this id) whose creation failed (an import that
    /// ended FAILED) is removed and its data dropped, never having been
    /// ACTIVE.
    CreateAbandoned {
        name: String,
        id: u32,
    },
    Update {
        name: String,
        billing_mode: Option<BillingMode>,
        throughput: Option<(i64, i64)>,
        settings: SettingsUpdate,
        now: f64,
        /// The quota a throughput decrease is checked against.
        decreases: DecreaseRule,
    },
    /// Adds tags, replacing the values of keys already set.
    Tag {
        name: String,
        tags: Vec<Tag>,
    },
    /// Enables or disables the table's stream. `retention_ms`: disabled
    /// streams older than this are forgotten (their records are trimmed).
    Stream {
        name: String,
        change: StreamChange,
        retention_ms: u64,
    },
    /// Removes tags by key (absent keys are ignored).
    Untag {
        name: String,
        keys: Vec<String>,
    },
    /// Adds a GSI (status CREATING; backfilled, then made ACTIVE).
    CreateIndex {
        table: String,
        index: IndexDef,
        /// Definitions of the index's key attributes that the table does not
        /// define yet; merged into `TableDef::attribute_definitions`.
        attribute_definitions: Vec<KeyAttr>,
    },
    /// Removes an index; its entries are dropped, and attribute definitions
    /// no other key uses are pruned.
    DeleteIndex {
        table: String,
        index: String,
    },
    /// New provisioned throughput for a GSI (a decrease counted against
    /// the index's own quota).
    UpdateIndex {
        table: String,
        index: String,
        throughput: (i64, i64),
        now: f64,
        decreases: DecreaseRule,
    },
    /// Every shard has backfilled the index: CREATING → ACTIVE.
    IndexActive {
        table: String,
        index_id: u32,
    },
    /// UpdateTimeToLive: enable (on `attribute_name`) or disable; refused
    /// within `change_interval_ms` of the previous change.
    UpdateTimeToLive {
        name: String,
        enabled: bool,
        attribute_name: String,
        now: f64,
        change_interval_ms: u64,
    },
    /// ENABLING → ENABLED, DISABLING → DISABLED (of the table of this id).
    TimeToLiveSettled {
        name: String,
        id: u32,
    },
    /// PutResourcePolicy (`policy` Some: its canonical document, parsed)
    /// or DeleteResourcePolicy (None) on the table or one of its streams.
    /// Refused on a revision mismatch (`expected_revision_id`, `NO_POLICY`
    /// for "none attached") and within `change_interval_ms` of the last
    /// change; a re-put of the same document changes nothing.
    SetResourcePolicy {
        name: String,
        stream_label_ms: Option<u64>,
        policy: Option<(String, Arc<Policy>)>,
        expected_revision_id: Option<String>,
        /// For the messages: the resource's ARN, and "table T" / "stream L".
        arn: String,
        resource: String,
        now_ms: u64,
        change_interval_ms: u64,
    },
    /// UpdateContinuousBackups: enable point-in-time recovery (or change
    /// its period: `recovery_period_days` None keeps it, 35 when newly
    /// enabled) or disable it.
    UpdatePointInTime {
        name: String,
        enabled: bool,
        recovery_period_days: Option<u32>,
        now_ms: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_round_trips() {
        let mut catalog = Catalog {
            version: 3,
            next_table_id: 2,
            ..Catalog::default()
        };
        let def = TableDef {
            id: 1,
            name: "t".into(),
            partition_key: KeyAttr {
                name: "pk".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            attribute_definitions: vec![],
            billing_mode: BillingMode::PayPerRequest,
            read_capacity_units: 0,
            write_capacity_units: 0,
            created_at: 1.5,
            pay_per_request_since: Some(1.5),
            last_increase_at: None,
            last_decrease_at: None,
            decreases: DecreaseCount::default(),
            uuid: "u".into(),
            indexes: vec![],
            status: TableStatus::Creating,
            settings: TableSettings {
                deletion_protection: true,
                table_class: Some(TableClass::StandardInfrequentAccess),
                sse_kms_key_arn: Some("arn:aws:kms:us-east-1:000000000000:key/k".into()),
                on_demand: Some((10, -1)),
                warm: Some((12000, 4000)),
                import_arn: None,
            },
            tags: vec![Tag {
                key: "env".into(),
                value: "test".into(),
            }],
            streams: vec![StreamDef {
                label_ms: 1_700_000_000_123,
                view_type: StreamViewType::NewAndOldImages,
                rollover_ms: 4 * 3_600_000,
                disabled_ms: None,
                iterator_key: [7; 16],
            }],
            ttl: TimeToLive {
                status: TtlStatus::Disabling,
                attribute_name: Some("expires".into()),
                changed_at: Some(2.5),
            },
            restore: None,
            pitr: Some(PointInTime {
                enabled_ms: 1_700_000_000_000,
                recovery_period_days: 7,
            }),
            policies: vec![PolicySlot {
                stream_label_ms: Some(1_700_000_000_123),
                policy: Some(ResourcePolicy::from(StoredPolicy {
                    document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"dynamodb:GetRecords","Resource":"*"}]}"#.into(),
                    revision_id: "1700000000200".into(),
                })),
                revision_id: "1700000000200".into(),
                changed_ms: 1_700_000_000_200,
            }],
        };
        catalog.tables.insert("t".into(), Arc::new(def));
        let bytes = catalog.to_bytes().expect("serialize");
        assert_eq!(Catalog::from_bytes(&bytes).expect("parse"), catalog);
        assert!(Catalog::from_bytes(b"{not json").is_err());
    }
}
