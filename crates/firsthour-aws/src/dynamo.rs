//! DynamoDB lead store: conditional, transactional writes on one table.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use backon::{ExponentialBuilder, Retryable};
use time::OffsetDateTime;

use crate::{describe, is_transient};
use firsthour::lead::{LeadId, format_utc_millis, unix_millis};
use firsthour::ports::{
    ClaimOutcome, DueLeads, EscalationStore, InsertOutcome, LeadStore, RoutingStore, StoreError,
    TouchOutcome,
};
use firsthour::table::{self, DedupItem, LeadItem, RoutingState};

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
        condition: &str,
        now_s: Option<i64>,
    ) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(now_s) = now_s {
            put = put
                .expression_attribute_names("#expires", table::EXPIRES_AT)
                .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()));
        }
        // Built from a table name, an item and a condition, all always set.
        TransactWriteItem::builder()
            .put(put.build().expect("Put has table, item and condition"))
            .build()
    }

    async fn attempt(
        &self,
        lead: &LeadItem,
        markers: &[DedupItem],
        now: OffsetDateTime,
    ) -> Attempt {
        let lead_item = match to_item(lead) {
            Ok(item) => item,
            Err(err) => return Attempt::Failed(err),
        };
        let mut writes = vec![self.put(lead_item, "attribute_not_exists(pk)", None)];
        for marker in markers {
            match to_item(marker) {
                // An expired marker no longer counts, even before TTL deletes it.
                Ok(item) => writes.push(self.put(
                    item,
                    "attribute_not_exists(pk) OR #expires < :now",
                    Some(now.unix_timestamp()),
                )),
                Err(err) => return Attempt::Failed(err),
            }
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
                            marker: existing,
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

impl LeadStore for DynamoLeadStore {
    async fn insert_lead(
        &self,
        lead: &LeadItem,
        markers: &[DedupItem],
        now: OffsetDateTime,
    ) -> Result<InsertOutcome, StoreError> {
        let outcome = (|| async {
            match self.attempt(lead, markers, now).await {
                Attempt::Done(outcome) => Ok(outcome),
                Attempt::Conflict => Err(None),
                Attempt::Failed(err) => Err(Some(err)),
            }
        })
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(10))
                .with_max_delay(Duration::from_millis(200))
                .with_max_times(6)
                .with_jitter(),
        )
        .when(|err: &Option<StoreError>| err.is_none())
        .await;
        outcome.map_err(|err| {
            err.unwrap_or_else(|| StoreError::Unavailable("transaction kept conflicting".into()))
        })
    }

    async fn count_submission(
        &self,
        client_ip: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let minute = now.unix_timestamp() / 60;
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                table::PK,
                AttributeValue::S(format!(
                    "RATE#{}#{minute}",
                    table::sha256_hex(client_ip.as_bytes())
                )),
            )
            .key(table::SK, AttributeValue::S("RATE".to_owned()))
            .update_expression("SET entity = :entity, #expires = :expires ADD hits :one")
            .expression_attribute_names("#expires", table::EXPIRES_AT)
            .expression_attribute_values(":entity", AttributeValue::S("rate".into()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((now.unix_timestamp() + 180).to_string()),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(output
            .attributes
            .and_then(|a| {
                a.get("hits")
                    .and_then(|h| h.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1))
    }

    async fn find_marker(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<DedupItem>, StoreError> {
        let marker: Option<DedupItem> = self
            .read_item(table::dedup_pk(key), table::DEDUP_SK, "marker")
            .await?;
        // TTL deletes lazily: an expired marker no longer counts.
        Ok(marker.filter(|m| m.expires_at > now.unix_timestamp()))
    }

    async fn mark_publish_failed(
        &self,
        lead_id: &LeadId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let unrouted = serde_dynamo::to_attribute_value(RoutingState::Unrouted)
            .map_err(|err| StoreError::Rejected(err.to_string()))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::lead_pk(lead_id)))
            .key(table::SK, AttributeValue::S(table::LEAD_SK.to_owned()))
            .update_expression("SET publish_failed_at = :at, #due_at = :due")
            .condition_expression("attribute_exists(pk) AND routing_state = :unrouted")
            .expression_attribute_names("#due_at", table::DUE_AT)
            .expression_attribute_values(":at", AttributeValue::S(format_utc_millis(at)))
            .expression_attribute_values(":due", AttributeValue::N(unix_millis(at).to_string()))
            .expression_attribute_values(":unrouted", unrouted)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already routed by another path: nothing to re-drive.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(store_error(&err)),
        }
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

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl RoutingStore for DynamoLeadStore {
    async fn get_lead(&self, id: &LeadId) -> Result<Option<LeadItem>, StoreError> {
        self.read_item(table::lead_pk(id), table::LEAD_SK, "lead")
            .await
    }

    async fn next_turn(&self, team: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                table::PK,
                AttributeValue::S(format!("COUNTER#round-robin#{team}")),
            )
            .key(table::SK, AttributeValue::S("COUNTER".to_owned()))
            .update_expression("SET entity = :entity ADD turns :one")
            .expression_attribute_values(":entity", AttributeValue::S("counter".into()))
            .expression_attribute_values(":one", number(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        output
            .attributes
            .and_then(|a| {
                a.get("turns")
                    .and_then(|t| t.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .ok_or_else(|| StoreError::Rejected("counter update returned no value".into()))
    }

    async fn mark_routed(
        &self,
        id: &LeadId,
        owner: Option<&str>,
        due_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let unrouted = serde_dynamo::to_attribute_value(RoutingState::Unrouted)
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let routed = serde_dynamo::to_attribute_value(RoutingState::Routed)
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut sets = vec![
            "routing_state = :routed",
            "routed_at = :now",
            "ms_to_route = :elapsed",
            "tier = if_not_exists(tier, :zero)",
        ];
        let mut removes = Vec::new();
        let mut update = self.lead_key(self.client.update_item(), id);
        if let Some(owner) = owner {
            sets.push("#owner = :owner");
            update = update
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()));
        }
        match due_at {
            Some(due) => {
                sets.push("#due_at = :due");
                update = update.expression_attribute_values(":due", number(unix_millis(due)));
            }
            // No ladder: nothing will escalate, so the lead leaves the due index.
            None => removes.extend(["#due_at", "due_bucket"]),
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        conditional(
            update
                .update_expression(expression)
                .condition_expression("routing_state = :unrouted")
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":unrouted", unrouted)
                .expression_attribute_values(":routed", routed)
                .expression_attribute_values(":zero", number(0))
                .expression_attribute_values(":now", AttributeValue::S(format_utc_millis(now)))
                .expression_attribute_values(":elapsed", number(table::elapsed_ms(id, now)))
                .send()
                .await,
        )
    }

    async fn lease_notification(
        &self,
        id: &LeadId,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = unix_millis(now);
        let stale = now_ms - i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET notify_claimed_at = :now")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(notified_at) AND \
                     (attribute_not_exists(notify_claimed_at) OR notify_claimed_at < :stale)",
                )
                .expression_attribute_values(":now", number(now_ms))
                .expression_attribute_values(":stale", number(stale))
                .send()
                .await,
        )
    }

    async fn release_notification(&self, id: &LeadId) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("REMOVE notify_claimed_at")
                .condition_expression("attribute_exists(pk)")
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn record_notified(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        message_id: &str,
    ) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET notified_at = :at, ms_to_notify = :elapsed, notify_message_id = :id REMOVE notify_claimed_at, notify_failed_at, notify_error")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(notified_at)")
                .expression_attribute_values(":at", AttributeValue::S(format_utc_millis(at)))
                .expression_attribute_values(":elapsed", number(table::elapsed_ms(id, at)))
                .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn record_notify_failed(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET notify_failed_at = :at, notify_error = :error, #due_at = :due, due_bucket = :bucket REMOVE notify_claimed_at")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(notified_at)")
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":at", AttributeValue::S(format_utc_millis(at)))
                .expression_attribute_values(":error", AttributeValue::S(error.chars().take(500).collect()))
                .expression_attribute_values(":due", number(unix_millis(at)))
                .expression_attribute_values(":bucket", AttributeValue::S(table::DUE_BUCKET_VALUE.to_owned()))
                .send()
                .await,
        )
        .map(|_| ())
    }
}

/// Most items asked for per due-index page.
const DUE_PAGE: i32 = 100;

impl EscalationStore for DynamoLeadStore {
    async fn due_leads(&self, now: OffsetDateTime, max: usize) -> Result<DueLeads, StoreError> {
        let mut due = DueLeads::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::DUE_INDEX)
                .key_condition_expression("#bucket = :bucket AND #due_at <= :now")
                .expression_attribute_names("#bucket", table::DUE_BUCKET)
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(
                    ":bucket",
                    AttributeValue::S(table::DUE_BUCKET_VALUE.to_owned()),
                )
                .expression_attribute_values(":now", number(unix_millis(now)))
                .limit(DUE_PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| store_error(&err))?;
            due.scanned += u64::try_from(page.scanned_count).unwrap_or(0);
            for item in page.items.unwrap_or_default() {
                match serde_dynamo::from_item::<_, LeadItem>(item) {
                    Ok(lead) => due.leads.push(lead),
                    Err(err) => {
                        tracing::error!(error = %err, "unreadable item in the due index: skipped")
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || due.leads.len() >= max {
                return Ok(due);
            }
        }
    }

    async fn advance_tier(
        &self,
        id: &LeadId,
        from: u32,
        to: u32,
        breached: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut sets = vec![
            "tier = :to",
            "pending_tier = :from",
            "escalated_at = :now",
            "escalations = list_append(if_not_exists(escalations, :no_stamps), :stamp)",
        ];
        let stamp = table::EscalationStamp {
            tier: from + 1,
            at: format_utc_millis(now),
            ms: table::elapsed_ms(id, now),
            breach: breached,
        };
        let stamp = serde_dynamo::to_attribute_value(vec![stamp])
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut update = self.lead_key(self.client.update_item(), id);
        if breached {
            sets.push("breached_at = :now");
        }
        // The due time stays until the owed emails are out; finish_pending sets the next one.
        update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(claimed_at) AND attribute_not_exists(pending_tier) \
                 AND (tier = :from OR (attribute_not_exists(tier) AND :from = :zero))",
            )
            .expression_attribute_values(":to", number(i64::from(to)))
            .expression_attribute_values(":from", number(i64::from(from)))
            .expression_attribute_values(":zero", number(0))
            .expression_attribute_values(":now", AttributeValue::S(format_utc_millis(now)))
            .expression_attribute_values(":stamp", stamp)
            .expression_attribute_values(":no_stamps", AttributeValue::L(Vec::new()));
        conditional(update.send().await)
    }

    async fn lease_pending(
        &self,
        id: &LeadId,
        tier: u32,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = unix_millis(now);
        let stale = now_ms - i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET pending_claimed_at = :now")
                .condition_expression(
                    "pending_tier = :tier AND attribute_not_exists(claimed_at) AND \
                     (attribute_not_exists(pending_claimed_at) OR pending_claimed_at < :stale)",
                )
                .expression_attribute_values(":tier", number(i64::from(tier)))
                .expression_attribute_values(":now", number(now_ms))
                .expression_attribute_values(":stale", number(stale))
                .send()
                .await,
        )
    }

    async fn finish_pending(
        &self,
        id: &LeadId,
        tier: u32,
        next_due: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let update = self.lead_key(self.client.update_item(), id);
        let update = match next_due {
            Some(due) => update
                .update_expression("SET #due_at = :due REMOVE pending_tier, pending_claimed_at")
                .expression_attribute_values(":due", number(unix_millis(due))),
            None => update
                .update_expression("REMOVE pending_tier, pending_claimed_at, #due_at, due_bucket"),
        };
        conditional(
            update
                .condition_expression("pending_tier = :tier")
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":tier", number(i64::from(tier)))
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn defer_pending(&self, id: &LeadId, retry_at: OffsetDateTime) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET #due_at = :retry REMOVE pending_claimed_at")
                .condition_expression(
                    "attribute_exists(pending_tier) AND attribute_exists(due_bucket)",
                )
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":retry", number(unix_millis(retry_at)))
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn drop_from_index(&self, id: &LeadId) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("REMOVE #due_at, due_bucket")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#due_at", table::DUE_AT)
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn claim(
        &self,
        id: &LeadId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let at = AttributeValue::S(format_utc_millis(now));
        let claimed = conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression(
                    "SET claimed_at = :at, claimed_by = :by, first_touch_at = if_not_exists(first_touch_at, :at), \
                     ms_to_first_touch = if_not_exists(ms_to_first_touch, :elapsed), last_touch_at = :at ADD touches :one REMOVE #due_at, due_bucket, pending_tier, pending_claimed_at",
                )
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(claimed_at)")
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":by", AttributeValue::S(by.to_owned()))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":elapsed", number(table::elapsed_ms(id, now)))
                .send()
                .await,
        )?;
        if claimed {
            let segment = self.get_lead(id).await?.map(|l| l.segment);
            return Ok(ClaimOutcome::Claimed { segment });
        }
        Ok(match self.get_lead(id).await? {
            None => ClaimOutcome::NotFound,
            Some(lead) => ClaimOutcome::AlreadyClaimed {
                by: lead.claimed_by,
                at: lead.claimed_at,
            },
        })
    }

    async fn touch(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &str,
        channel: &str,
        now: OffsetDateTime,
    ) -> Result<TouchOutcome, StoreError> {
        use aws_sdk_dynamodb::types::Update;
        let at = AttributeValue::S(format_utc_millis(now));
        let marker = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .item(table::PK, AttributeValue::S(table::lead_pk(id)))
                    .item(
                        table::SK,
                        AttributeValue::S(format!(
                            "TOUCH#{}",
                            firsthour::table::sha256_hex(touch_id.as_bytes())
                        )),
                    )
                    .item("entity", AttributeValue::S("touch".into()))
                    .item("by", AttributeValue::S(by.to_owned()))
                    .item("channel", AttributeValue::S(channel.to_owned()))
                    .item("at", at.clone())
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(|err| StoreError::Rejected(err.to_string()))?,
            )
            .build();
        let lead = TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&self.table)
                    .key(table::PK, AttributeValue::S(table::lead_pk(id)))
                    .key(table::SK, AttributeValue::S(table::LEAD_SK.to_owned()))
                    .update_expression(
                        "SET claimed_at = if_not_exists(claimed_at, :at), claimed_by = if_not_exists(claimed_by, :by), \
                         first_touch_at = if_not_exists(first_touch_at, :at), last_touch_at = :at, \
                         ms_to_first_touch = if_not_exists(ms_to_first_touch, :elapsed) \
                         ADD touches :one REMOVE #due_at, due_bucket, pending_tier, pending_claimed_at",
                    )
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#due_at", table::DUE_AT)
                    .expression_attribute_values(":at", at)
                    .expression_attribute_values(":by", AttributeValue::S(by.to_owned()))
                    .expression_attribute_values(":one", number(1))
                    .expression_attribute_values(":elapsed", number(table::elapsed_ms(id, now)))
                    .build()
                    .map_err(|err| StoreError::Rejected(err.to_string()))?,
            )
            .build();
        let result = self
            .client
            .transact_write_items()
            .transact_items(marker)
            .transact_items(lead)
            .send()
            .await;
        match result {
            Ok(_) => {
                let lead = self.get_lead(id).await?;
                Ok(TouchOutcome::Recorded {
                    touches: lead.as_ref().map_or(1, |l| l.touches),
                    segment: lead.map(|l| l.segment),
                })
            }
            Err(err) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    err.as_service_error()
                {
                    let codes: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None"))
                        .collect();
                    if codes.get(1) == Some(&"ConditionalCheckFailed") {
                        return Ok(TouchOutcome::NotFound);
                    }
                    if codes.first() == Some(&"ConditionalCheckFailed") {
                        return Ok(TouchOutcome::Duplicate);
                    }
                    if codes.contains(&"TransactionConflict") {
                        return Err(StoreError::Unavailable(
                            "touch conflicted with another write; retry".into(),
                        ));
                    }
                }
                Err(store_error(&err))
            }
        }
    }
}
