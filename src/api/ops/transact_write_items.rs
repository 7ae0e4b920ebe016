//! TransactWriteItems: up to 100 Put, Update, Delete and ConditionCheck
//! actions on distinct items of any tables, all or none (`api::txn`).
//!
//! Routing: the shards involved are the items' owners plus, with a
//! ClientRequestToken, the token's shard. One shard → the request runs
//! there (forwarded if need be) as one engine batch; several → this shard
//! coordinates two-phase commit.

use std::rc::Rc;

use crate::api::messages::TxnOp;
use crate::api::messages::WriteReport;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::error::CancellationReason;
use crate::api::protocol::reply::{
    CollectionMetrics, ConsumedMode, IndexUnits, read_units, write_consumed_object, write_units,
};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::txn::coordinator::{Finished, Share, two_phase};
use crate::api::txn::local::single_shard;
use crate::api::txn::plan::{WritePlan, token_shard, write_plan};
use crate::model::value::write_json_str;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let plan = write_plan(shard, &fields)?;
    let shards = plan.shards(shard);
    let summary = Summary::of(&plan);
    // Admitted on the shard that runs it (a forwarded one, on its owner).
    let forwarded = matches!(shards[..], [only] if only != shard.id);
    if !forwarded {
        admit(shard, &plan.actions)?;
    }
    let tables: Vec<_> = plan.actions.iter().map(|a| a.table.clone()).collect();
    let finished = if let [only] = shards[..] {
        if only != shard.id {
            return Ok(Outcome::Forward(only));
        }
        single_shard(shard, plan.actions, plan.token).await?
    } else {
        let token_at = plan.token.as_ref().map(|t| token_shard(shard, &t.token));
        let mut shares: Vec<Share> = shards
            .iter()
            .map(|s| Share {
                shard: *s,
                actions: Vec::new(),
                token: None,
            })
            .collect();
        let WritePlan {
            actions,
            owners,
            token,
            ..
        } = plan;
        for (action, owner) in actions.into_iter().zip(owners) {
            if let Some(share) = shares.iter_mut().find(|s| s.shard == owner) {
                share.actions.push(action);
            }
        }
        if let (Some(at), Some(token)) = (token_at, token)
            && let Some(share) = shares.iter_mut().find(|s| s.shard == at)
        {
            share.token = Some(token);
        }
        two_phase(shard, shares, summary.tables.len()).await?
    };
    match finished {
        Finished::Committed { report, sizes } => {
            summary.charge(shard, &tables, &report, &sizes);
            Ok(Outcome::Reply(summary.reply(&report, &sizes)))
        }
        Finished::Repeat => Ok(Outcome::Reply(summary.repeat_reply())),
        Finished::Cancelled(reasons) => Err(ApiError::transaction_canceled(reasons)),
    }
}

/// What the reply needs of the plan once its actions have been sent off.
struct Summary {
    /// Per action: its table and whether it writes (a ConditionCheck reads).
    tables: Vec<(String, bool)>,
    consumed: ConsumedMode,
    want_metrics: bool,
}

/// Refuses the transaction while a table it touches has no credit left:
/// TransactionCanceledException with ThrottlingError for that action.
fn admit(shard: &Shard, actions: &[crate::api::messages::TxnAction]) -> Result<(), ApiError> {
    for (i, action) in actions.iter().enumerate() {
        let admitted = if matches!(action.op, TxnOp::ConditionCheck) {
            shard.meter.admit_read(&action.table, None, None)
        } else {
            shard.meter.admit_write(&action.table, None)
        };
        if admitted.is_err() {
            let mut reasons = vec![CancellationReason::NONE; actions.len()];
            reasons[i] = CancellationReason::new("ThrottlingError", THROTTLING_ERROR_MESSAGE);
            return Err(ApiError::transaction_canceled(reasons));
        }
    }
    Ok(())
}

/// DynamoDB's message of a ThrottlingError cancellation reason.
const THROTTLING_ERROR_MESSAGE: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";

impl Summary {
    /// Charges the committed transaction to the meter: 2 write units per
    /// KB of each write, 2 read units per 4 KB of each ConditionCheck.
    fn charge(
        &self,
        shard: &Shard,
        tables: &[std::sync::Arc<crate::catalog::TableDef>],
        report: &WriteReport,
        sizes: &[(usize, usize)],
    ) {
        for (index, bytes) in sizes {
            let (Some((_, writes)), Some(table)) = (self.tables.get(*index), tables.get(*index))
            else {
                continue;
            };
            if *writes {
                shard
                    .meter
                    .charge_write(table, 2.0 * write_units(*bytes), &[], None);
            } else {
                shard
                    .meter
                    .charge_read(table, None, 2.0 * read_units(*bytes, true), None);
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for table in tables {
            if seen.contains(&table.name.as_str()) {
                continue;
            }
            seen.push(&table.name);
            let of_table: Vec<IndexUnits> = report
                .index_units
                .iter()
                .filter(|u| u.table == table.name)
                .map(|u| IndexUnits {
                    units: 2.0 * u.units,
                    ..u.clone()
                })
                .collect();
            if !of_table.is_empty() {
                shard.meter.charge_write(table, 0.0, &of_table, None);
            }
        }
    }

    fn of(plan: &WritePlan) -> Summary {
        Summary {
            tables: plan
                .actions
                .iter()
                .map(|a| (a.table.name.clone(), !matches!(a.op, TxnOp::ConditionCheck)))
                .collect(),
            consumed: plan.consumed,
            want_metrics: plan.want_metrics,
        }
    }

    /// Tables in first-mention order.
    fn table_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &self.tables {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    /// `{}` with ConsumedCapacity (transactional writes cost 2 write units
    /// per KB, a ConditionCheck 2 read units per 4 KB) and
    /// ItemCollectionMetrics.
    fn reply(&self, report: &WriteReport, sizes: &[(usize, usize)]) -> Vec<u8> {
        let mut out = b"{".to_vec();
        let mut first = true;
        if self.consumed != ConsumedMode::None {
            first = false;
            out.extend_from_slice(b"\"ConsumedCapacity\":[");
            for (i, name) in self.table_names().into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let units: f64 = sizes
                    .iter()
                    .filter_map(|(index, bytes)| {
                        let (table, writes) = self.tables.get(*index)?;
                        (table == name).then(|| {
                            if *writes {
                                2.0 * write_units(*bytes)
                            } else {
                                2.0 * read_units(*bytes, true)
                            }
                        })
                    })
                    .sum();
                let of_table: Vec<IndexUnits> = report
                    .index_units
                    .iter()
                    .filter(|u| u.table == name)
                    .map(|u| IndexUnits {
                        units: 2.0 * u.units,
                        ..u.clone()
                    })
                    .collect();
                write_consumed_object(&mut out, self.consumed, name, units, &of_table);
            }
            out.push(b']');
        }
        if self.want_metrics && !report.collections.is_empty() {
            if !first {
                out.push(b',');
            }
            write_collection_metrics(&mut out, &report.collections);
        }
        out.push(b'}');
        out
    }

    /// The reply to a repeat of a committed ClientRequestToken: nothing was
    /// written; as DynamoDB, capacity is that of reading the items.
    fn repeat_reply(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        if self.consumed != ConsumedMode::None {
            out.extend_from_slice(b"\"ConsumedCapacity\":[");
            for (i, name) in self.table_names().into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let count = self.tables.iter().filter(|(t, _)| t == name).count();
                let units = count as f64 * read_units(0, true);
                write_consumed_object(&mut out, self.consumed, name, units, &[]);
            }
            out.push(b']');
        }
        out.push(b'}');
        out
    }
}

/// `"ItemCollectionMetrics":{"Table":[…],…}`, tables in name order.
fn write_collection_metrics(out: &mut Vec<u8>, collections: &[CollectionMetrics]) {
    let mut collections: Vec<&CollectionMetrics> = collections.iter().collect();
    collections.sort_by(|a, b| a.table.cmp(&b.table));
    out.extend_from_slice(b"\"ItemCollectionMetrics\":{");
    for (i, m) in collections.iter().enumerate() {
        let first_of_table = i == 0 || collections[i - 1].table != m.table;
        if first_of_table {
            if i > 0 {
                out.extend_from_slice(b"],");
            }
            write_json_str(out, &m.table);
            out.extend_from_slice(b":[");
        } else {
            out.push(b',');
        }
        m.write_json(out);
    }
    out.extend_from_slice(b"]}");
}
