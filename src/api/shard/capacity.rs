//! Capacity enforcement: token buckets per table, per GSI and per
//! partition key, refilled at the provisioned rate with `burst_s` seconds
//! of burst credit, as DynamoDB throttles.
//!
//! Buckets are shard-local (no lock, no message per request): each shard
//! holds a share of every table's (and its GSIs') rate and credit, `1/shards`
//! to begin with, since clients spread over the shards through SO_REUSEPORT.
//! Every `rebalance_interval` each shard tells the others what each table
//! asked of it (units consumed plus one per refusal) in one mesh message,
//! and each shard sets its shares in proportion to those demands, keeping
//! a floor for idle shards (`rebalance.rs`, `shares.rs`): a table whose traffic lands on
//! one shard can use (nearly) its whole rate. DynamoDB's own admission is the model: a
//! request is admitted while its bucket has credit left (> 0), and then
//! charged what it really consumed, so one large read may take a bucket
//! into debt that later refills repay. A refusal changes nothing stored.
//!
//! PROVISIONED tables: table read/write buckets at the table's RCU/WCU, each
//! GSI's at its own; LSIs consume the table's. A write to a table whose
//! GSI has no write credit is refused on the base table (DynamoDB's GSI
//! write back-pressure). PAY_PER_REQUEST tables: only OnDemandThroughput
//! maximums, a per-second cap (one second of credit), ThrottlingException.
//! Both: one partition key may take at most `partition_read_units_max` /
//! `partition_write_units_max` per second (one second of credit).
//!
//! Limits are read from the catalog on every admission, so an UpdateTable
//! applies at once; a bucket keeps its credit, clamped to the new burst.
//!
//! Instant on-demand capacity (`capacity.on_demand_instant`, off by
//! default): a PAY_PER_REQUEST table serves at once up to double its
//! previous peak (the most units it consumed in one second), at least
//! `on_demand_initial_*_units` (DynamoDB's 12,000 read / 4,000 write of a
//! new table); a new peak counts only `on_demand_peak_window_s` (30 min)
//! after it was reached, so traffic more than doubling within that window
//! is throttled, as DynamoDB documents. Refusals are
//! ProvisionedThroughputExceededException with DynamoDB's "automatically
//! scaling" message and a KeyRangeThroughputExceeded reason (on-demand
//! scales by splitting partitions).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::protocol::error::{
    ApiError, INDEX_PROVISIONED_EXCEEDED_MESSAGE, ON_DEMAND_EXCEEDED_MESSAGE,
    ON_DEMAND_SCALING_MESSAGE, PROVISIONED_EXCEEDED_MESSAGE, ThrottlingReason,
};
use crate::api::protocol::reply::IndexUnits;
use crate::catalog::{BillingMode, IndexKind, TableDef};

/// The knobs of `[capacity]` a shard needs.
#[derive(Clone, Debug)]
pub struct CapacitySettings {
    pub enforce: bool,
    pub burst_s: f64,
    pub partition_read_units_max: f64,
    pub partition_write_units_max: f64,
    pub partition_buckets_max: usize,
    /// Shards sharing every rate, and this one's id among them.
    pub shards: u32,
    pub shard: u32,
    pub instant: InstantCapacity,
    /// How often shards exchange demand and move shares (zero: fixed
    /// `1/shards` shares).
    pub rebalance_interval: Duration,
}

/// On-demand instant capacity: double the previous peak (off by default).
#[derive(Clone, Copy, Debug)]
pub struct InstantCapacity {
    pub enabled: bool,
    /// What a table with no peak yet serves per second (units).
    pub initial_read_units: f64,
    pub initial_write_units: f64,
    /// How long a new peak takes to count.
    pub peak_window: Duration,
}

impl Default for InstantCapacity {
    /// Off; DynamoDB's figures when on.
    fn default() -> Self {
        InstantCapacity {
            enabled: false,
            initial_read_units: 12_000.0,
            initial_write_units: 4_000.0,
            peak_window: Duration::from_secs(1800),
        }
    }
}

impl CapacitySettings {
    /// Never throttles (unit tests, DynamoDB Local's behaviour).
    pub fn off() -> Self {
        CapacitySettings {
            enforce: false,
            burst_s: 300.0,
            partition_read_units_max: 3000.0,
            partition_write_units_max: 1000.0,
            partition_buckets_max: 0,
            shards: 1,
            shard: 0,
            instant: InstantCapacity::default(),
            rebalance_interval: Duration::ZERO,
        }
    }
}

/// A token bucket: `tokens` units of credit, refilled at a rate set on
/// every refill (so a changed limit applies at once).
#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket (a new table starts with its burst credit).
    pub fn full(rate: f64, burst_s: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: rate * burst_s,
            at: now,
        }
    }

    /// Adds the credit earned since the last refill at `rate`, up to
    /// `burst_s` seconds of it.
    pub fn refill(&mut self, rate: f64, burst_s: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate * burst_s);
        self.at = now;
    }

    pub fn has_credit(&self) -> bool {
        self.tokens > 0.0
    }

    pub fn charge(&mut self, units: f64) {
        self.tokens -= units;
    }

    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "Read",
            Op::Write => "Write",
        }
    }
}

pub use crate::api::messages::{DemandReport, TableUsage};

#[derive(Default)]
struct Buckets {
    read: Option<Bucket>,
    write: Option<Bucket>,
}

impl Buckets {
    fn get(&mut self, op: Op) -> &mut Option<Bucket> {
        match op {
            Op::Read => &mut self.read,
            Op::Write => &mut self.write,
        }
    }
}

#[derive(Default)]
struct TableState {
    name: String,
    table: Buckets,
    /// GSI buckets by index name (at most 20).
    indexes: Vec<(String, Buckets)>,
    usage: TableUsage,
    /// On-demand instant capacity: its buckets and the read/write peaks.
    instant: Buckets,
    peaks: [Peak; 2],
    /// [read, write] units asked of this shard since the last report
    /// (consumed, plus one per refusal), and in the last report.
    demand: [f64; 2],
    reported: [f64; 2],
    /// This shard's fraction of the table's [read, write] rates; None:
    /// `1/shards` (no demand anywhere).
    shares: Option<[f64; 2]>,
}

impl TableState {
    fn fraction(&self, op: Op, shards: u32) -> f64 {
        match self.shares {
            Some(shares) => shares[op_index(op)],
            None => 1.0 / f64::from(shards.max(1)),
        }
    }
}

/// The most units a table consumed in one second on this shard, for
/// on-demand instant capacity. Seconds start at the first charge after
/// the previous one ended; a second's total becomes the peak only a
/// window after it was reached.
#[derive(Default)]
struct Peak {
    second_start: Option<Instant>,
    second_units: f64,
    /// The peak that counts.
    peak: f64,
    /// The highest second since `pending_since`, not counting yet.
    pending: f64,
    pending_since: Option<Instant>,
}

impl Peak {
    fn add(&mut self, units: f64, now: Instant, window: Duration) {
        self.roll(now, window);
        self.second_units += units;
    }

    /// Ends the current second if it is over, and lets a pending peak
    /// count once its window has passed.
    fn roll(&mut self, now: Instant, window: Duration) {
        let over = self
            .second_start
            .is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1));
        if over {
            if self.second_units > self.pending.max(self.peak) {
                self.pending = self.second_units;
                self.pending_since.get_or_insert(now);
            }
            self.second_units = 0.0;
            self.second_start = Some(now);
        }
        if let Some(since) = self.pending_since
            && now.saturating_duration_since(since) >= window
        {
            self.peak = self.peak.max(self.pending);
            self.pending = 0.0;
            self.pending_since = None;
        }
    }

    /// Units per second served at once: double the peak, at least `initial`.
    fn capacity(&mut self, initial: f64, now: Instant, window: Duration) -> f64 {
        self.roll(now, window);
        initial.max(2.0 * self.peak)
    }
}

fn op_index(op: Op) -> usize {
    match op {
        Op::Read => 0,
        Op::Write => 1,
    }
}

impl TableState {
    fn index(&mut self, name: &str) -> &mut Buckets {
        let at = match self.indexes.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.indexes.push((name.to_string(), Buckets::default()));
                self.indexes.len() - 1
            }
        };
        &mut self.indexes[at].1
    }
}

/// A shard's capacity meter.
pub struct Meter {
    settings: CapacitySettings,
    arn_prefix: String,
    tables: RefCell<HashMap<u32, TableState>>,
    keys: RefCell<HashMap<(u32, u64), Buckets>>,
    /// Every shard's last reported [read, write] demand, by table id and
    /// shard (this one's included): what the shares are computed from.
    demands: RefCell<HashMap<u32, Vec<[f64; 2]>>>,
}

impl Default for Meter {
    /// Meters, never throttles.
    fn default() -> Self {
        Meter::new(CapacitySettings::off(), "us-east-1", "000000000000")
    }
}

/// A limit: units per second and seconds of credit, on this shard.
#[derive(Clone, Copy)]
struct Limit {
    rate: f64,
    burst_s: f64,
}

impl Meter {
    pub fn new(settings: CapacitySettings, region: &str, account_id: &str) -> Meter {
        Meter {
            settings,
            arn_prefix: format!("arn:aws:dynamodb:{region}:{account_id}:table/"),
            tables: Default::default(),
            keys: Default::default(),
            demands: Default::default(),
        }
    }

    pub fn enforcing(&self) -> bool {
        self.settings.enforce
    }

    fn share(&self, units_per_s: f64) -> f64 {
        units_per_s / f64::from(self.settings.shards.max(1))
    }

    /// The table's own limit for `op` on this shard (`fraction` of it), if
    /// it has one.
    fn table_limit(&self, table: &TableDef, op: Op, fraction: f64) -> Option<Limit> {
        let units = match table.billing_mode {
            BillingMode::Provisioned => match op {
                Op::Read => table.read_capacity_units,
                Op::Write => table.write_capacity_units,
            },
            BillingMode::PayPerRequest => {
                let (read, write) = table.settings.on_demand?;
                let max = if op == Op::Read { read } else { write };
                // -1 (or unset): no maximum.
                if max <= 0 {
                    return None;
                }
                return Some(Limit {
                    rate: max as f64 * fraction,
                    burst_s: 1.0,
                });
            }
        };
        (units > 0).then_some(Limit {
            rate: units as f64 * fraction,
            burst_s: self.settings.burst_s,
        })
    }

    /// A GSI's limit on this shard: the table's `fraction` of its rate.
    fn index_limit(
        &self,
        table: &TableDef,
        index: &str,
        op: Op,
        fraction: f64,
    ) -> Option<(Limit, bool)> {
        if table.billing_mode != BillingMode::Provisioned {
            return None;
        }
        let def = table
            .indexes
            .iter()
            .find(|i| i.name == index && i.kind == IndexKind::Global)?;
        let units = match op {
            Op::Read => def.read_capacity_units,
            Op::Write => def.write_capacity_units,
        };
        (units > 0).then_some((
            Limit {
                rate: units as f64 * fraction,
                burst_s: self.settings.burst_s,
            },
            true,
        ))
    }

    fn key_limit(&self, op: Op) -> Limit {
        let max = match op {
            Op::Read => self.settings.partition_read_units_max,
            Op::Write => self.settings.partition_write_units_max,
        };
        Limit {
            rate: self.share(max),
            burst_s: 1.0,
        }
    }

    /// An on-demand table's instant capacity on this shard (one second of
    /// credit), when the option is on.
    fn instant_limit(
        &self,
        state: &mut TableState,
        table: &TableDef,
        op: Op,
        now: Instant,
    ) -> Option<Limit> {
        let instant = &self.settings.instant;
        if !instant.enabled || table.billing_mode != BillingMode::PayPerRequest {
            return None;
        }
        let initial = match op {
            Op::Read => instant.initial_read_units,
            Op::Write => instant.initial_write_units,
        };
        let rate =
            state.peaks[op_index(op)].capacity(self.share(initial), now, instant.peak_window);
        Some(Limit { rate, burst_s: 1.0 })
    }

    /// Counts `units` toward an on-demand table's peak and instant bucket.
    fn charge_instant(&self, state: &mut TableState, table: &TableDef, op: Op, units: f64) {
        let instant = &self.settings.instant;
        if !instant.enabled || table.billing_mode != BillingMode::PayPerRequest {
            return;
        }
        state.peaks[op_index(op)].add(units, Instant::now(), instant.peak_window);
        if let Some(b) = state.instant.get(op).as_mut() {
            b.charge(units);
        }
    }

    fn arn(&self, table: &str, index: Option<&str>) -> String {
        match index {
            Some(index) => format!("{}{table}/index/{index}", self.arn_prefix),
            None => format!("{}{table}", self.arn_prefix),
        }
    }

    /// Refuses a read of `table` (through `index`, a GSI or LSI name, if
    /// any; of the partition key hashing to `key_hash`, if one) while its
    /// bucket has no credit.
    pub fn admit_read(
        &self,
        table: &TableDef,
        index: Option<&str>,
        key_hash: Option<u64>,
    ) -> Result<(), ApiError> {
        self.admit(table, index, key_hash, Op::Read)
    }

    /// Refuses a write to `table` while the table, any of its GSIs (their
    /// back-pressure on the base table) or the partition key has no write
    /// credit.
    pub fn admit_write(&self, table: &TableDef, key_hash: Option<u64>) -> Result<(), ApiError> {
        self.admit(table, None, key_hash, Op::Write)
    }

    fn admit(
        &self,
        table: &TableDef,
        index: Option<&str>,
        key_hash: Option<u64>,
        op: Op,
    ) -> Result<(), ApiError> {
        if !self.settings.enforce {
            return Ok(());
        }
        let now = Instant::now();
        let mut tables = self.tables.borrow_mut();
        let state = tables.entry(table.id).or_default();
        if state.name != table.name {
            state.name.clone_from(&table.name);
        }
        let provisioned = table.billing_mode == BillingMode::Provisioned;
        let fraction = state.fraction(op, self.settings.shards);
        let refused = |state: &mut TableState, kind: &str, limit: &str, on: Option<&str>| {
            match op {
                Op::Read => state.usage.throttled_reads += 1,
                Op::Write => state.usage.throttled_writes += 1,
            }
            // A refusal is demand too: it moves share to this shard.
            state.demand[op_index(op)] += 1.0;
            ThrottlingReason {
                reason: format!("{kind}{}{limit}", op.name()),
                resource: self.arn(&table.name, on),
            }
        };
        // The resource the request reads: a GSI has its own throughput; an
        // LSI (and the table) the table's.
        let gsi = index.filter(|i| {
            table
                .indexes
                .iter()
                .any(|d| d.name == *i && d.kind == IndexKind::Global)
        });
        match gsi {
            Some(name) => {
                if let Some((limit, _)) = self.index_limit(table, name, op, fraction)
                    && !check(state.index(name).get(op), limit, now)
                {
                    let r = refused(state, "Index", "ProvisionedThroughputExceeded", Some(name));
                    return Err(ApiError::throttled(
                        true,
                        PROVISIONED_EXCEEDED_MESSAGE,
                        vec![r],
                    ));
                }
            }
            None => {
                if let Some(limit) = self.table_limit(table, op, fraction)
                    && !check(state.table.get(op), limit, now)
                {
                    let (limit_type, message) = if provisioned {
                        (
                            "ProvisionedThroughputExceeded",
                            PROVISIONED_EXCEEDED_MESSAGE,
                        )
                    } else {
                        ("MaxOnDemandThroughputExceeded", ON_DEMAND_EXCEEDED_MESSAGE)
                    };
                    let r = refused(state, "Table", limit_type, None);
                    return Err(ApiError::throttled(provisioned, message, vec![r]));
                }
                if let Some(limit) = self.instant_limit(state, table, op, now)
                    && !check(state.instant.get(op), limit, now)
                {
                    let r = refused(state, "Table", "KeyRangeThroughputExceeded", None);
                    return Err(ApiError::throttled(
                        true,
                        ON_DEMAND_SCALING_MESSAGE,
                        vec![r],
                    ));
                }
            }
        }
        if op == Op::Write {
            // A GSI that cannot take its writes holds back the base table.
            let gsis: Vec<&str> = table
                .indexes
                .iter()
                .filter(|d| d.kind == IndexKind::Global)
                .map(|d| d.name.as_str())
                .collect();
            for name in gsis {
                if let Some((limit, _)) = self.index_limit(table, name, op, fraction)
                    && !check(state.index(name).get(op), limit, now)
                {
                    let r = refused(state, "Index", "ProvisionedThroughputExceeded", Some(name));
                    return Err(ApiError::throttled(
                        true,
                        INDEX_PROVISIONED_EXCEEDED_MESSAGE,
                        vec![r],
                    ));
                }
            }
        }
        if let Some(hash) = key_hash {
            let limit = self.key_limit(op);
            let mut keys = self.keys.borrow_mut();
            if keys.len() >= self.settings.partition_buckets_max
                && !keys.contains_key(&(table.id, hash))
            {
                // Bounded: drop the buckets that are full again (idle keys);
                // if none is, forget them all (each restarts full).
                keys.retain(|_, b| {
                    [b.read.as_mut(), b.write.as_mut()]
                        .into_iter()
                        .flatten()
                        .any(|b| {
                            b.refill(limit.rate, limit.burst_s, now);
                            b.tokens() < limit.rate * limit.burst_s
                        })
                });
                if keys.len() >= self.settings.partition_buckets_max {
                    keys.clear();
                }
            }
            if self.settings.partition_buckets_max > 0 {
                let buckets = keys.entry((table.id, hash)).or_default();
                let on = if gsi.is_some() { "Index" } else { "Table" };
                if !check(buckets.get(op), limit, now) {
                    drop(keys);
                    let r = refused(state, on, "KeyRangeThroughputExceeded", gsi);
                    return Err(ApiError::throttled(
                        provisioned,
                        if provisioned {
                            PROVISIONED_EXCEEDED_MESSAGE
                        } else {
                            ON_DEMAND_EXCEEDED_MESSAGE
                        },
                        vec![r],
                    ));
                }
            }
        }
        Ok(())
    }

    /// Charges a read of `units` (admitted before) to its buckets.
    pub fn charge_read(
        &self,
        table: &TableDef,
        index: Option<&str>,
        units: f64,
        key_hash: Option<u64>,
    ) {
        let mut tables = self.tables.borrow_mut();
        let state = tables.entry(table.id).or_default();
        if state.name != table.name {
            state.name.clone_from(&table.name);
        }
        state.usage.read_units += units;
        if !self.settings.enforce {
            return;
        }
        state.demand[0] += units;
        let is_gsi = index.is_some_and(|i| {
            table
                .indexes
                .iter()
                .any(|d| d.name == i && d.kind == IndexKind::Global)
        });
        let bucket = match index {
            Some(name) if is_gsi => state.index(name).read.as_mut(),
            _ => state.table.read.as_mut(),
        };
        if let Some(b) = bucket {
            b.charge(units);
        }
        if !is_gsi {
            self.charge_instant(state, table, Op::Read, units);
        }
        self.charge_key(table.id, key_hash, Op::Read, units);
    }

    /// Charges a write: the table's units and each index's (GSIs to their
    /// own buckets, LSIs to the table's).
    pub fn charge_write(
        &self,
        table: &TableDef,
        units: f64,
        index_units: &[IndexUnits],
        key_hash: Option<u64>,
    ) {
        let mut tables = self.tables.borrow_mut();
        let state = tables.entry(table.id).or_default();
        if state.name != table.name {
            state.name.clone_from(&table.name);
        }
        let of_table = index_units.iter().filter(|u| u.table == table.name);
        let mut total = units;
        let mut local = 0.0;
        for u in of_table.clone() {
            total += u.units;
            if u.kind == IndexKind::Local {
                local += u.units;
            }
        }
        state.usage.write_units += total;
        if !self.settings.enforce {
            return;
        }
        state.demand[1] += units + local;
        if let Some(b) = state.table.write.as_mut() {
            b.charge(units + local);
        }
        self.charge_instant(state, table, Op::Write, units + local);
        for u in of_table.filter(|u| u.kind == IndexKind::Global) {
            if let Some(b) = state.index(&u.index).write.as_mut() {
                b.charge(u.units);
            }
        }
        self.charge_key(table.id, key_hash, Op::Write, units + local);
    }

    fn charge_key(&self, table: u32, key_hash: Option<u64>, op: Op, units: f64) {
        if let Some(hash) = key_hash
            && let Some(buckets) = self.keys.borrow_mut().get_mut(&(table, hash))
            && let Some(b) = buckets.get(op).as_mut()
        {
            b.charge(units);
        }
    }

    /// (table name, what it consumed and had refused) of every table this
    /// shard has metered, by name.
    pub fn usage(&self) -> Vec<(String, TableUsage)> {
        let mut out: Vec<_> = self
            .tables
            .borrow()
            .values()
            .map(|s| (s.name.clone(), s.usage.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Forgets a dropped table's buckets and figures.
    pub fn forget(&self, live: &dyn Fn(u32) -> bool) {
        self.tables.borrow_mut().retain(|id, _| live(*id));
        self.keys.borrow_mut().retain(|(id, _), _| live(*id));
        self.demands.borrow_mut().retain(|id, _| live(*id));
    }

    /// Whether shards exchange demand (`rebalance.rs` runs the exchange).
    pub fn rebalance_interval(&self) -> Option<Duration> {
        (self.settings.enforce
            && self.settings.shards > 1
            && !self.settings.rebalance_interval.is_zero())
        .then_some(self.settings.rebalance_interval)
    }

    /// This shard's demand since the last call, for its peers: every table
    /// that asked something now or in the last report (so that a table
    /// going idle is reported idle once). Counts it as this shard's own
    /// report and recomputes the shares of every table metered here.
    pub fn take_demand(&self) -> DemandReport {
        let mut report = Vec::new();
        for (id, state) in self.tables.borrow_mut().iter_mut() {
            let demand = std::mem::take(&mut state.demand);
            if demand != [0.0; 2] || state.reported != [0.0; 2] {
                report.push((*id, demand));
            }
            state.reported = demand;
        }
        self.record_demand(self.settings.shard, &report);
        let demands = self.demands.borrow();
        let me = self.settings.shard as usize;
        for (id, state) in self.tables.borrow_mut().iter_mut() {
            state.shares = demands
                .get(id)
                .and_then(|row| super::shares::shares(row, me));
        }
        report
    }

    /// A shard's report (`from`, this one's or a peer's): its demands
    /// replace its previous ones and the tables' shares are recomputed.
    pub fn record_demand(&self, from: u32, report: &[(u32, [f64; 2])]) {
        let shards = self.settings.shards.max(1) as usize;
        let Some(from) = usize::try_from(from).ok().filter(|f| *f < shards) else {
            return;
        };
        let me = self.settings.shard as usize;
        let mut demands = self.demands.borrow_mut();
        let mut tables = self.tables.borrow_mut();
        for (id, demand) in report {
            let row = demands.entry(*id).or_insert_with(|| vec![[0.0; 2]; shards]);
            row[from] = *demand;
            if let Some(state) = tables.get_mut(id) {
                state.shares = super::shares::shares(row, me);
            }
        }
    }
}

/// Refills `bucket` (created full on first use) and says whether it has
/// credit.
fn check(bucket: &mut Option<Bucket>, limit: Limit, now: Instant) -> bool {
    let b = bucket.get_or_insert_with(|| Bucket::full(limit.rate, limit.burst_s, now));
    b.refill(limit.rate, limit.burst_s, now);
    b.has_credit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::KeyAttr;
    use std::time::Duration;

    fn provisioned(rcu: i64, wcu: i64) -> TableDef {
        let mut t = TableDef::for_tests(
            "T",
            KeyAttr {
                name: "pk".into(),
                key_type: crate::catalog::KeyType::S,
            },
            None,
            vec![],
        );
        t.billing_mode = BillingMode::Provisioned;
        t.read_capacity_units = rcu;
        t.write_capacity_units = wcu;
        t
    }

    fn meter(shards: u32) -> Meter {
        Meter::new(
            CapacitySettings {
                enforce: true,
                shards,
                partition_buckets_max: 100,
                ..CapacitySettings::off()
            },
            "us-east-1",
            "000000000000",
        )
    }

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::full(5.0, 300.0, t0);
        assert_eq!(b.tokens(), 1500.0);
        b.charge(1600.0);
        assert!(!b.has_credit());
        b.refill(5.0, 300.0, t0 + Duration::from_secs(10));
        assert_eq!(b.tokens(), -50.0);
        b.refill(5.0, 300.0, t0 + Duration::from_secs(11));
        assert!(!b.has_credit(), "still 45 units in debt");
        b.refill(5.0, 300.0, t0 + Duration::from_secs(21));
        assert!(b.has_credit());
        b.refill(5.0, 300.0, t0 + Duration::from_secs(10_000));
        assert_eq!(b.tokens(), 1500.0);
        // A lower limit clamps the banked credit at once.
        b.refill(1.0, 300.0, t0 + Duration::from_secs(10_001));
        assert_eq!(b.tokens(), 300.0);
    }

    #[test]
    fn a_provisioned_table_refuses_past_its_credit_with_reasons() {
        let m = meter(2);
        let t = provisioned(5, 5);
        // 2 shards: 2.5 units/s each, 750 units of credit on this one.
        let mut admitted = 0;
        while m.admit_read(&t, None, None).is_ok() {
            m.charge_read(&t, None, 100.0, None);
            admitted += 1;
            assert!(admitted < 100, "never throttled");
        }
        assert_eq!(admitted, 8);
        let e = m.admit_read(&t, None, None).expect_err("throttled");
        assert!(
            e.type_name
                .ends_with("#ProvisionedThroughputExceededException")
        );
        assert_eq!(e.message, PROVISIONED_EXCEEDED_MESSAGE);
        let reasons = e.throttling.expect("reasons");
        assert_eq!(reasons[0].reason, "TableReadProvisionedThroughputExceeded");
        assert_eq!(
            reasons[0].resource,
            "arn:aws:dynamodb:us-east-1:000000000000:table/T"
        );
        // Writes have their own bucket.
        assert!(m.admit_write(&t, None).is_ok());
        assert_eq!(m.usage()[0].1.throttled_reads, 2);
    }

    #[test]
    fn on_demand_tables_throttle_only_past_their_maximum() {
        let m = meter(1);
        let mut t = provisioned(0, 0);
        t.billing_mode = BillingMode::PayPerRequest;
        for _ in 0..1000 {
            assert!(m.admit_write(&t, None).is_ok());
            m.charge_write(&t, 10.0, &[], None);
        }
        t.settings.on_demand = Some((-1, 5));
        let mut n = 0;
        while m.admit_write(&t, None).is_ok() {
            m.charge_write(&t, 1.0, &[], None);
            n += 1;
            assert!(n < 100);
        }
        let e = m.admit_write(&t, None).expect_err("throttled");
        assert!(e.type_name.ends_with("#ThrottlingException"));
        assert_eq!(
            e.throttling.expect("reasons")[0].reason,
            "TableWriteMaxOnDemandThroughputExceeded"
        );
    }

    #[test]
    fn a_hot_key_is_throttled_before_its_table() {
        let m = meter(1);
        let mut t = provisioned(0, 0);
        t.billing_mode = BillingMode::PayPerRequest;
        let mut n = 0;
        while m.admit_write(&t, Some(7)).is_ok() {
            m.charge_write(&t, 100.0, &[], Some(7));
            n += 1;
            assert!(n < 100);
        }
        // 1000 units of one second's credit: 10 writes of 100 (one more if
        // the clock moved on meanwhile).
        assert!((10..=11).contains(&n), "{n}");
        let e = m.admit_write(&t, Some(7)).expect_err("hot key");
        assert_eq!(
            e.throttling.expect("reasons")[0].reason,
            "TableWriteKeyRangeThroughputExceeded"
        );
        assert!(m.admit_write(&t, Some(8)).is_ok(), "another key has room");
    }

    #[test]
    fn instant_capacity_doubles_a_peak_once_its_window_has_passed() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let window = Duration::from_secs(10);
        let mut p = Peak::default();
        assert_eq!(p.capacity(50.0, at(0.0), window), 50.0, "no peak yet");
        p.add(60.0, at(0.1), window);
        p.add(40.0, at(0.9), window);
        // The second of 100 units ended, but its window has not passed.
        assert_eq!(p.capacity(50.0, at(1.5), window), 50.0);
        assert_eq!(p.capacity(50.0, at(11.5), window), 200.0);
        // A lower second changes nothing; a higher one counts a window on.
        p.add(30.0, at(12.0), window);
        p.add(300.0, at(13.5), window);
        assert_eq!(p.capacity(50.0, at(15.0), window), 200.0);
        assert_eq!(p.capacity(50.0, at(25.0), window), 600.0);
        // The initial capacity is a floor.
        assert_eq!(p.capacity(5000.0, at(26.0), window), 5000.0);
    }

    #[test]
    fn instant_capacity_throttles_an_on_demand_burst_past_it() {
        let m = Meter::new(
            CapacitySettings {
                enforce: true,
                instant: InstantCapacity {
                    enabled: true,
                    initial_read_units: 10.0,
                    initial_write_units: 10.0,
                    peak_window: Duration::from_secs(1800),
                },
                ..CapacitySettings::off()
            },
            "us-east-1",
            "000000000000",
        );
        let mut t = provisioned(0, 0);
        t.billing_mode = BillingMode::PayPerRequest;
        let mut n = 0;
        while m.admit_write(&t, None).is_ok() {
            m.charge_write(&t, 4.0, &[], None);
            n += 1;
            assert!(n < 100, "never throttled");
        }
        // 10 units of one second's credit, 4 per write: 3 writes (one
        // more if the clock moved on meanwhile).
        assert!((3..=4).contains(&n), "{n}");
        let e = m.admit_write(&t, None).expect_err("past double the peak");
        assert!(
            e.type_name
                .ends_with("#ProvisionedThroughputExceededException")
        );
        assert_eq!(e.message, ON_DEMAND_SCALING_MESSAGE);
        assert_eq!(
            e.throttling.expect("reasons")[0].reason,
            "TableWriteKeyRangeThroughputExceeded"
        );
        assert!(m.admit_read(&t, None, None).is_ok(), "reads apart");
    }

    #[test]
    fn enforce_off_never_throttles_but_still_meters() {
        let m = Meter::new(CapacitySettings::off(), "us-east-1", "0");
        let t = provisioned(1, 1);
        for _ in 0..10_000 {
            assert!(m.admit_read(&t, None, Some(1)).is_ok());
            m.charge_read(&t, None, 100.0, Some(1));
        }
        assert_eq!(m.usage()[0].1.read_units, 1_000_000.0);
    }
}
