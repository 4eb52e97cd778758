//! The intake's port: the lead and its markers in one transaction, the per-address counter.

use super::*;

impl LeadStore for DynamoLeadStore {
    async fn insert_lead(
        &self,
        lead: LeadRecord,
        markers: &[DedupMarker],
        now: OffsetDateTime,
    ) -> Result<InsertOutcome, StoreError> {
        // Laid out and fitted once, whatever the retries.
        let lead = &LeadItem::stored(lead);
        let markers: &[DedupItem] = &markers.iter().map(DedupItem::from).collect::<Vec<_>>();
        let contact = match lead.email.as_deref() {
            Some(email) => {
                let received = lead.lead_id.created_at().unwrap_or(now);
                Some(to_item(&table::ContactItem::of(
                    email,
                    &lead.lead_id,
                    received,
                ))?)
            }
            None => None,
        };
        let contact = contact.as_ref();
        let outcome = (|| async {
            match self.attempt(lead, markers, contact, now).await {
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
                    firsthour::dedup::sha256_hex(client_ip.as_bytes())
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
        Ok(counter_value(output.attributes, "hits").unwrap_or(1))
    }

    async fn find_marker(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<DedupMarker>, StoreError> {
        let marker: Option<DedupItem> = self
            .read_item(table::dedup_pk(key), table::DEDUP_SK, "marker")
            .await?;
        // TTL deletes lazily: an expired marker no longer counts.
        Ok(marker
            .filter(|m| m.expires_at > now.unix_timestamp())
            .map(DedupMarker::from))
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
