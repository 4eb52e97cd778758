//! The sweep's port: the due index, tier advances, pending tiers, claims and touches.

use super::*;

use crate::table::{LEGACY_OWED_TIER, LEGACY_TIER};

/// Most items asked for per due-index page.
const DUE_PAGE: i32 = 100;

impl EscalationStore for DynamoLeadStore {
    async fn due_leads(&self, now: OffsetDateTime, max: usize) -> Result<DueLeads, StoreError> {
        let mut due = DueLeads::default();
        let mut start = None;
        loop {
            // Never more than `max` in all: a page asks only for what is left.
            let left = max.saturating_sub(due.leads.len());
            if left == 0 {
                break;
            }
            let limit = i32::try_from(left).map_or(DUE_PAGE, |left| left.min(DUE_PAGE));
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
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| store_error(&err))?;
            due.scanned += u64::try_from(page.scanned_count).unwrap_or(0);
            for item in page.items.unwrap_or_default() {
                match serde_dynamo::from_item::<_, LeadItem>(item) {
                    Ok(lead) => due.leads.push(LeadRecord::from(lead)),
                    Err(err) => {
                        tracing::error!(error = %err, "unreadable item in the due index: skipped")
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(due)
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
            "next_tier = :to",
            "owed_tier = :from",
            "escalated_at = :now",
            "escalations = list_append(if_not_exists(escalations, :no_stamps), :stamp)",
        ];
        let stamp = firsthour::record::EscalationStamp {
            tier: from,
            at: format_utc_millis(now),
            ms: firsthour::record::elapsed_ms(id, now),
            breach: breached,
        };
        let stamp = serde_dynamo::to_attribute_value(vec![stamp])
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut update = self.lead_key(self.client.update_item(), id);
        if breached {
            sets.push("breached_at = :now");
        }
        // The due time stays until the owed emails are out; finish_pending sets the next one.
        // A lead written before tiers were counted from 1 carries them in
        // `tier` and `pending_tier`, counted from 0: read, then dropped.
        update = update
            .update_expression(format!("SET {} REMOVE {LEGACY_TIER}", sets.join(", ")))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists(claimed_at) \
                 AND attribute_not_exists(owed_tier) AND attribute_not_exists({LEGACY_OWED_TIER}) \
                 AND (next_tier = :from OR (attribute_not_exists(next_tier) \
                 AND ({LEGACY_TIER} = :legacy_from OR (attribute_not_exists({LEGACY_TIER}) AND :from = :first))))"
            ))
            .expression_attribute_values(":to", number(i64::from(to)))
            .expression_attribute_values(":from", number(i64::from(from)))
            .expression_attribute_values(":legacy_from", number(i64::from(from) - 1))
            .expression_attribute_values(":first", number(1))
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
                .condition_expression(format!(
                    "(owed_tier = :tier OR {LEGACY_OWED_TIER} = :legacy_tier) AND attribute_not_exists(claimed_at) AND \
                     (attribute_not_exists(pending_claimed_at) OR pending_claimed_at < :stale)"
                ))
                .expression_attribute_values(":tier", number(i64::from(tier)))
                .expression_attribute_values(":legacy_tier", number(i64::from(tier) - 1))
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
                .update_expression(format!(
                    "SET #due_at = :due REMOVE owed_tier, {LEGACY_OWED_TIER}, pending_claimed_at"
                ))
                .expression_attribute_values(":due", number(unix_millis(due))),
            // The ladder ran out: the lead moves to the index's breached
            // partition, found by operators, never by the sweep.
            None => update
                .update_expression(format!(
                    "SET #due_at = :due, due_bucket = :breached REMOVE owed_tier, {LEGACY_OWED_TIER}, pending_claimed_at"
                ))
                .expression_attribute_values(":due", number(unix_millis(OffsetDateTime::now_utc())))
                .expression_attribute_values(
                    ":breached",
                    AttributeValue::S(table::BREACHED_BUCKET_VALUE.to_owned()),
                ),
        };
        conditional(
            update
                .condition_expression(format!(
                    "owed_tier = :tier OR {LEGACY_OWED_TIER} = :legacy_tier"
                ))
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_values(":tier", number(i64::from(tier)))
                .expression_attribute_values(":legacy_tier", number(i64::from(tier) - 1))
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn defer_pending(&self, id: &LeadId, retry_at: OffsetDateTime) -> Result<(), StoreError> {
        conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET #due_at = :retry REMOVE pending_claimed_at")
                .condition_expression(format!(
                    "(attribute_exists(owed_tier) OR attribute_exists({LEGACY_OWED_TIER})) AND attribute_exists(due_bucket)"
                ))
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

    async fn reassign(
        &self,
        id: &LeadId,
        tier: u32,
        from: Option<&str>,
        to: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let moved = firsthour::record::Reassignment {
            from: from.map(str::to_owned),
            to: to.to_owned(),
            at: format_utc_millis(now),
            tier,
        };
        let moved = serde_dynamo::to_attribute_value(vec![moved])
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        // Once per tier: `reassigned_tier` holds the last tier that moved it.
        conditional(
            self.reassignment(
                id,
                from,
                to,
                moved,
                &["reassigned_tier = :tier"],
                &[
                    "attribute_not_exists(claimed_at)",
                    "(attribute_not_exists(reassigned_tier) OR reassigned_tier < :tier)",
                ],
            )
            .expression_attribute_values(":tier", number(i64::from(tier)))
            .send()
            .await,
        )
    }

    async fn contact_leads(
        &self,
        contact_key: &str,
        since: OffsetDateTime,
        max: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        // Ids are ULIDs: the smallest id at `since` sorts before every later one.
        let from = LeadId::new_at(since)
            .as_str()
            .chars()
            .take(10)
            .collect::<String>();
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :from")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("{}{contact_key}", table::CONTACT_PREFIX)),
            )
            .expression_attribute_values(
                ":from",
                AttributeValue::S(format!("{}{from}", table::CONTACT_LEAD_PREFIX)),
            )
            .consistent_read(true)
            .limit(i32::try_from(max).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| serde_dynamo::from_item::<_, table::ContactItem>(item).ok())
            .map(|contact| contact.lead_id)
            .collect())
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
                     ms_to_first_touch = if_not_exists(ms_to_first_touch, :elapsed), last_touch_at = :at ADD touches :one REMOVE #due_at, due_bucket, owed_tier, pending_tier, pending_claimed_at",
                )
                // A previous owner's link claims nothing, unless the lead came back to them.
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(claimed_at) \
                     AND (NOT contains(reassigned_from, :by_key) OR #owner = :by)",
                )
                .expression_attribute_names("#due_at", table::DUE_AT)
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":by", AttributeValue::S(by.to_owned()))
                .expression_attribute_values(":by_key", AttributeValue::S(firsthour::roster::rep_key(by)))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":elapsed", number(firsthour::record::elapsed_ms(id, now)))
                .send()
                .await,
        )?;
        if claimed {
            let segment = self.get_lead(id).await?.map(|l| l.route.segment);
            return Ok(ClaimOutcome::Claimed { segment });
        }
        Ok(match self.get_lead(id).await? {
            None => ClaimOutcome::NotFound,
            Some(lead) if lead.sla.claimed_at.is_none() => {
                ClaimOutcome::Reassigned { to: lead.sla.owner }
            }
            Some(lead) => ClaimOutcome::AlreadyClaimed {
                by: lead.sla.claimed_by,
                at: lead.sla.claimed_at,
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
                            firsthour::dedup::sha256_hex(touch_id.as_bytes())
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
                         ms_to_first_touch = if_not_exists(ms_to_first_touch, :elapsed), \
                         first_response_at = if_not_exists(first_response_at, :at), \
                         first_response_channel = if_not_exists(first_response_channel, :channel), \
                         ms_to_first_response = if_not_exists(ms_to_first_response, :elapsed) \
                         ADD touches :one REMOVE #due_at, due_bucket, owed_tier, pending_tier, pending_claimed_at",
                    )
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#due_at", table::DUE_AT)
                    .expression_attribute_values(":at", at)
                    .expression_attribute_values(":by", AttributeValue::S(by.to_owned()))
                    .expression_attribute_values(":channel", AttributeValue::S(channel.to_owned()))
                    .expression_attribute_values(":one", number(1))
                    .expression_attribute_values(":elapsed", number(firsthour::record::elapsed_ms(id, now)))
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
                    touches: lead.as_ref().map_or(1, |l| l.sla.touches),
                    segment: lead.map(|l| l.route.segment),
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
