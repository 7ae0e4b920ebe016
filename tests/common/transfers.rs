//! The transfer workload the transaction tests share: accounts in table
//! `accounts` (pk S, bal N), transfers as two-item TransactWriteItems,
//! audits as one TransactGetItems of every account.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Get, TransactGetItem, TransactWriteItem, Update};

use super::values::{n, num, s};

pub const TABLE: &str = "accounts";

pub fn account(i: usize) -> String {
    format!("acct-{i:03}")
}

/// Creates `count` accounts holding `balance` each (one transaction).
pub async fn open_accounts(client: &Client, count: usize, balance: i64) {
    super::create_simple_table(client, TABLE, None).await;
    let mut request = client.transact_write_items();
    for i in 0..count {
        request = request.transact_items(
            TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name(TABLE)
                        .item("pk", s(&account(i)))
                        .item("bal", n(balance))
                        .build()
                        .expect("put"),
                )
                .build(),
        );
    }
    request.send().await.expect("open the accounts");
}

fn update(pk: &str, expression: &str, amount: i64, condition: bool) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(TABLE)
        .key("pk", s(pk))
        .update_expression(expression)
        .expression_attribute_values(":a", n(amount));
    if condition {
        update = update.condition_expression("bal >= :a");
    }
    TransactWriteItem::builder()
        .update(update.build().expect("update"))
        .build()
}

/// How a transfer ended.
#[derive(Debug, PartialEq)]
pub enum Transfer {
    Applied,
    /// Cancelled (insufficient funds or a conflict): nothing applied.
    Cancelled(Vec<String>),
    /// Anything else (the server went away): unknown.
    Failed(String),
}

/// Moves `amount` from account `from` to account `to`, under the condition
/// that `from` holds enough.
pub async fn transfer(
    client: &Client,
    from: usize,
    to: usize,
    amount: i64,
    token: Option<String>,
) -> Transfer {
    let result = client
        .transact_write_items()
        .transact_items(update(&account(from), "SET bal = bal - :a", amount, true))
        .transact_items(update(&account(to), "SET bal = bal + :a", amount, false))
        .set_client_request_token(token)
        .send()
        .await;
    match result {
        Ok(_) => Transfer::Applied,
        Err(e) => match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => Transfer::Cancelled(
                c.cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("").to_string())
                    .collect(),
            ),
            Some(other) => Transfer::Failed(format!("{:?}: {:?}", other.code(), other.message())),
            None => Transfer::Failed(format!("{e:?}")),
        },
    }
}

/// Every balance read as one snapshot; None if the read was cancelled
/// (a conflict).
pub async fn audit(client: &Client, count: usize) -> Result<Option<Vec<i64>>, String> {
    let mut request = client.transact_get_items();
    for i in 0..count {
        request = request.transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name(TABLE)
                        .key("pk", s(&account(i)))
                        .build()
                        .expect("get"),
                )
                .build(),
        );
    }
    match request.send().await {
        Ok(out) => Ok(Some(
            out.responses()
                .iter()
                .map(|r| num(r.item().expect("every account exists"), "bal"))
                .collect(),
        )),
        Err(e) => match e.as_service_error() {
            Some(TransactGetItemsError::TransactionCanceledException(_)) => Ok(None),
            _ => Err(format!("{e:?}")),
        },
    }
}
