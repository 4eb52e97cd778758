//! The router's port: reading the lead, round-robin turns, routing and the first notification's lease and stamps.

use super::*;

impl RoutingStore for DynamoLeadStore {
    async fn get_lead(&self, id: &LeadId) -> Result<Option<LeadRecord>, StoreError> {
        let item: Option<LeadItem> = self
            .read_item(table::lead_pk(id), table::LEAD_SK, "lead")
            .await?;
        Ok(item.map(LeadRecord::from))
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
        counter_value(output.attributes, "turns")
            .ok_or_else(|| StoreError::Rejected("counter update returned no value".into()))
    }

    async fn take_daily_slot(&self, rep: &str, day: &str, cap: u32) -> Result<bool, StoreError> {
        // Kept two days past the day (TTL), then deleted by DynamoDB.
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 3 * 24 * 60 * 60;
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(
                    table::PK,
                    AttributeValue::S(format!("COUNTER#daily#{}", rep.to_ascii_lowercase())),
                )
                .key(table::SK, AttributeValue::S(format!("DAY#{day}")))
                .update_expression("SET entity = :entity, #expires = :expires ADD leads :one")
                .condition_expression("attribute_not_exists(leads) OR leads < :cap")
                .expression_attribute_names("#expires", table::EXPIRES_AT)
                .expression_attribute_values(":entity", AttributeValue::S("counter".into()))
                .expression_attribute_values(":expires", number(expires))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":cap", number(i64::from(cap)))
                .send()
                .await,
        )
    }

    async fn mark_routed(
        &self,
        id: &LeadId,
        owner: Option<&str>,
        reason: Option<&str>,
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
            "next_tier = if_not_exists(next_tier, :first)",
        ];
        let mut removes = Vec::new();
        let mut update = self.lead_key(self.client.update_item(), id);
        if let Some(owner) = owner {
            sets.push("#owner = :owner");
            update = update
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()));
        }
        if let Some(reason) = reason {
            sets.push("route_reason = :reason");
            update =
                update.expression_attribute_values(":reason", AttributeValue::S(reason.to_owned()));
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
                .expression_attribute_values(":first", number(1))
                .expression_attribute_values(":now", AttributeValue::S(format_utc_millis(now)))
                .expression_attribute_values(
                    ":elapsed",
                    number(firsthour::record::elapsed_ms(id, now)),
                )
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
                .expression_attribute_values(":elapsed", number(firsthour::record::elapsed_ms(id, at)))
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
