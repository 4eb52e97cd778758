//! DynamoDB lead store: conditional, transactional writes on one table.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use backon::{ExponentialBuilder, Retryable};
use time::OffsetDateTime;

use crate::table::{self, DedupItem, LeadItem};
use crate::{describe, is_transient};
use firsthour::dedup::DedupMarker;
use firsthour::lead::{LeadId, format_utc_millis, unix_millis};
use firsthour::ports::{
    ClaimOutcome, DueLeads, EscalationStore, InsertOutcome, LeadStore, RoutingStore, StoreError,
    TouchOutcome,
};
use firsthour::record::{LeadRecord, RoutingState};

// One file per port the store implements.
mod channel_store;
mod escalation_store;
mod lead_store;
pub mod operator_store;
mod registry_store;
mod rep_store;
mod routing_store;

#[derive(Debug, Clone)]
pub struct DynamoLeadStore {
    client: Client,
    table: String,
}

/// One transaction attempt's result, before retries.
enum Attempt {
    Done(InsertOutcome),
    /// Another transaction touched the same marker at the same moment: try again.
    Conflict,
    Failed(StoreError),
}

impl DynamoLeadStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
        now_s: Option<i64>,
    ) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        if let Some(now_s) = now_s {
            put = put
                .expression_attribute_names("#expires", table::EXPIRES_AT)
                .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()));
        }
        // Built from a table name and an item, both always set.
        TransactWriteItem::builder()
            .put(put.build().expect("Put has table and item"))
            .build()
    }

    async fn attempt(
        &self,
        lead: &LeadItem,
        markers: &[DedupItem],
        contact: Option<&HashMap<String, AttributeValue>>,
        now: OffsetDateTime,
    ) -> Attempt {
        let lead_item = match to_item(lead) {
            Ok(item) => item,
            Err(err) => return Attempt::Failed(err),
        };
        let mut writes = vec![self.put(lead_item, Some("attribute_not_exists(pk)"), None)];
        for marker in markers {
            match to_item(marker) {
                // An expired marker no longer counts, even before TTL deletes it.
                Ok(item) => writes.push(self.put(
                    item,
                    Some("attribute_not_exists(pk) OR #expires < :now"),
                    Some(now.unix_timestamp()),
                )),
                Err(err) => return Attempt::Failed(err),
            }
        }
        // Found by the person's address, for CRM touches (after the markers:
        // the cancellation reasons line up with the lead and markers first).
        if let Some(contact) = contact {
            writes.push(self.put(contact.clone(), None, None));
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Attempt::Done(InsertOutcome::Created),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        {
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect();
            if codes.contains(&"TransactionConflict") {
                return Attempt::Conflict;
            }
            // Reasons line up with the writes: index 0 is the lead, then the markers.
            let failed_markers: Vec<&DedupItem> = markers
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    codes
                        .get(i + 1)
                        .is_none_or(|c| *c == "ConditionalCheckFailed")
                })
                .map(|(_, m)| m)
                .collect();
            for marker in failed_markers {
                match self.read_marker(marker).await {
                    Ok(Some(existing)) => {
                        return Attempt::Done(InsertOutcome::Duplicate {
                            original: existing.lead_id.clone(),
                            marker: DedupMarker::from(existing),
                        });
                    }
                    Ok(None) => {}
                    Err(err) => return Attempt::Failed(err),
                }
            }
            // A marker vanished (expired) between our write and read: try again.
            return Attempt::Conflict;
        }
        Attempt::Failed(store_error(&err))
    }

    async fn read_marker(&self, marker: &DedupItem) -> Result<Option<DedupItem>, StoreError> {
        self.read_item(marker.pk.clone(), &marker.sk, "marker")
            .await
    }

    /// One item by its keys, strongly consistent, read as `T`.
    async fn read_item<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(pk))
            .key(table::SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|err| StoreError::Rejected(format!("unreadable {what} item: {err}")))
            })
            .transpose()
    }
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|err| StoreError::Rejected(format!("item not serialisable: {err}")))
}

fn store_error<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error,
{
    if is_transient(err) {
        StoreError::Unavailable(describe(err))
    } else {
        StoreError::Rejected(describe(err))
    }
}

impl DynamoLeadStore {
    fn lead_key(
        &self,
        builder: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        id: &LeadId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        builder
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::lead_pk(id)))
            .key(table::SK, AttributeValue::S(table::LEAD_SK.to_owned()))
    }

    /// A reassignment's update of lead `id`, for a tier's ladder and by
    /// hand alike: `owner` from `from` (its owner when read, checked;
    /// `None`: it had none) to `to`, `moved` (a list of one entry) appended
    /// to `reassignments`, and `from`'s rep key appended to
    /// `reassigned_from`, the rule that stops the old owner's claim link
    /// from claiming the lead. `sets` and `conditions` are the caller's
    /// own clauses besides these (their values the caller's to add).
    fn reassignment(
        &self,
        id: &LeadId,
        from: Option<&str>,
        to: &str,
        moved: AttributeValue,
        sets: &[&str],
        conditions: &[&str],
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let mut update = self.lead_key(self.client.update_item(), id);
        let mut all_sets = vec![
            "#owner = :to",
            "reassignments = list_append(if_not_exists(reassignments, :none), :moved)",
        ];
        all_sets.extend_from_slice(sets);
        let owner_was = match from {
            Some(from) => {
                all_sets.push(
                    "reassigned_from = list_append(if_not_exists(reassigned_from, :none), :from)",
                );
                update = update
                    .expression_attribute_values(":owner", AttributeValue::S(from.to_owned()))
                    .expression_attribute_values(
                        ":from",
                        AttributeValue::L(vec![AttributeValue::S(firsthour::roster::rep_key(
                            from,
                        ))]),
                    );
                "#owner = :owner"
            }
            None => "attribute_not_exists(#owner)",
        };
        let mut all_conditions = vec!["attribute_exists(pk)", owner_was];
        all_conditions.extend_from_slice(conditions);
        update
            .update_expression(format!("SET {}", all_sets.join(", ")))
            .condition_expression(all_conditions.join(" AND "))
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":to", AttributeValue::S(to.to_owned()))
            .expression_attribute_values(":moved", moved)
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
    }
}

/// Ok(true) when the update applied, Ok(false) when its condition did not hold.
fn conditional<T, R>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            R,
        >,
    >,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(store_error(&err)),
    }
}

/// A counter's new value from an `ADD … RETURN UPDATED_NEW` update.
fn counter_value(attributes: Option<HashMap<String, AttributeValue>>, name: &str) -> Option<u64> {
    attributes?.get(name)?.as_n().ok()?.parse().ok()
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
