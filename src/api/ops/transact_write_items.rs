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
        Finished::Committed { report, sizes } => Ok(Outcome::Reply(summary.reply(&report, &sizes))),
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

impl Summary {
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
