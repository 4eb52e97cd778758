//! What the people who run firsthour do to leads by hand (`firsthour
//! leads`): move a lead to another rep, take a claim back, and forget a
//! person. Every write is conditional on what was read, as the functions'
//! own are: a race with a claim or a sweep leaves the lead as it was.

use super::*;

use aws_sdk_dynamodb::types::ReturnValue;

/// The tier a manual reassignment is recorded under in `reassignments`:
/// tiers count from 1, so 0 is never a ladder's (and `reassigned_tier`,
/// which keeps a tier from moving a lead twice, is left alone).
pub const MANUAL_TIER: u32 = 0;

/// The `by` key of a manual reassignment's entry (a tier's entries have
/// none): who moved the lead by hand.
pub const MANUAL_BY: &str = "cli";

/// One item's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

/// A touch marker, as `leads show` lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TouchMarker {
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub at: String,
}

/// How the first-touch stamps are treated when a claim is taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstTouch {
    /// They came from the claim alone: cleared with it.
    Clear,
    /// A real response (a touch, a reply) made them: kept, they are history.
    Keep,
}

impl DynamoLeadStore {
    /// Moves the lead from `from` (its owner when read; `None`: it had
    /// none) to `to` by hand, and records it in `reassignments` (tier
    /// [`MANUAL_TIER`], `by` [`MANUAL_BY`]) and `from` in
    /// `reassigned_from`, so `from`'s old claim link no longer claims it.
    /// `Ok(false)`: the lead changed since it was read (another owner, or
    /// claimed when `claimed` is false).
    pub async fn reassign_by_hand(
        &self,
        id: &LeadId,
        from: Option<&str>,
        to: &str,
        claimed: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut entry = HashMap::from([
            ("to".to_owned(), AttributeValue::S(to.to_owned())),
            ("at".to_owned(), AttributeValue::S(format_utc_millis(now))),
            ("tier".to_owned(), number(i64::from(MANUAL_TIER))),
            ("by".to_owned(), AttributeValue::S(MANUAL_BY.to_owned())),
        ]);
        if let Some(from) = from {
            entry.insert("from".to_owned(), AttributeValue::S(from.to_owned()));
        }
        let not_claimed: &[&str] = if claimed {
            &[]
        } else {
            &["attribute_not_exists(claimed_at)"]
        };
        let moved = AttributeValue::L(vec![AttributeValue::M(entry)]);
        conditional(
            self.reassignment(id, from, to, moved, &[], not_claimed)
                .send()
                .await,
        )
    }

    /// Takes back the claim made at `claimed_at` (and the first-touch
    /// stamps when they came from it), and puts the lead back in the due
    /// index at `due_at` (`None`: nothing left on its ladder, it stays out).
    /// `Ok(false)`: the lead is not claimed at `claimed_at` any more.
    pub async fn unclaim(
        &self,
        id: &LeadId,
        claimed_at: &str,
        first_touch: FirstTouch,
        due_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut removes = vec!["claimed_at", "claimed_by"];
        if first_touch == FirstTouch::Clear {
            removes.extend([
                "first_touch_at",
                "last_touch_at",
                "touches",
                table::stamps::MS_TO_FIRST_TOUCH,
            ]);
        }
        let mut update = self
            .lead_key(self.client.update_item(), id)
            .condition_expression("claimed_at = :claimed_at")
            .expression_attribute_values(":claimed_at", AttributeValue::S(claimed_at.to_owned()));
        let expression = match due_at {
            Some(due) => {
                update = update
                    .expression_attribute_names("#bucket", table::DUE_BUCKET)
                    .expression_attribute_names("#due_at", table::DUE_AT)
                    .expression_attribute_values(
                        ":bucket",
                        AttributeValue::S(table::DUE_BUCKET_VALUE.to_owned()),
                    )
                    .expression_attribute_values(":due", number(unix_millis(due)));
                format!(
                    "SET #bucket = :bucket, #due_at = :due REMOVE {}",
                    removes.join(", ")
                )
            }
            None => format!("REMOVE {}", removes.join(", ")),
        };
        conditional(update.update_expression(expression).send().await)
    }

    /// The keys of every item under the lead's partition: the lead itself
    /// and its touch markers (a query on the partition, every page).
    pub async fn lead_partition(&self, id: &LeadId) -> Result<Vec<ItemKey>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(table::lead_pk(id)))
            .projection_expression("pk, sk")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(items.iter().filter_map(item_key).collect())
    }

    /// The lead's touch markers, oldest first.
    pub async fn touch_markers(&self, id: &LeadId) -> Result<Vec<TouchMarker>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :touch)")
            .expression_attribute_values(":pk", AttributeValue::S(table::lead_pk(id)))
            .expression_attribute_values(":touch", AttributeValue::S("TOUCH#".to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| store_error(&err))?;
        let mut touches: Vec<TouchMarker> = items
            .into_iter()
            .filter_map(|item| serde_dynamo::from_item(item).ok())
            .collect();
        touches.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(touches)
    }

    /// The contact markers of the address whose key is `contact_key`
    /// ([`firsthour::dedup::contact_key`]): each marker's key and the lead
    /// it points at, every one (a query on the marker partition, every
    /// page: no address is in a key, so nothing else finds a person).
    pub async fn contact_markers(
        &self,
        contact_key: &str,
    ) -> Result<Vec<(ItemKey, LeadId)>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("{}{contact_key}", table::CONTACT_PREFIX)),
            )
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let key = item_key(&item)?;
                let marker = serde_dynamo::from_item::<_, table::ContactItem>(item).ok()?;
                Some((key, marker.lead_id))
            })
            .collect())
    }

    /// The key of the deduplication marker stored under `key`, when it is
    /// still the one lead `id` claimed (an expired marker may have been
    /// claimed again by a later lead: that one is not `id`'s).
    pub async fn marker_of(&self, key: &str, id: &LeadId) -> Result<Option<ItemKey>, StoreError> {
        let marker: Option<DedupItem> = self
            .read_item(table::dedup_pk(key), table::DEDUP_SK, "marker")
            .await?;
        Ok(marker
            .filter(|m| &m.lead_id == id)
            .map(|m| ItemKey { pk: m.pk, sk: m.sk }))
    }

    /// Deletes one item; `owner`: only while its `lead_id` is still that
    /// lead (markers, which a later lead may claim again). Whether an item
    /// was there to delete.
    pub async fn delete_item(
        &self,
        key: &ItemKey,
        owner: Option<&LeadId>,
    ) -> Result<bool, StoreError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(key.pk.clone()))
            .key(table::SK, AttributeValue::S(key.sk.clone()))
            .return_values(ReturnValue::AllOld);
        if let Some(id) = owner {
            delete = delete
                .condition_expression("lead_id = :id")
                .expression_attribute_values(":id", AttributeValue::S(id.as_str().to_owned()));
        }
        match delete.send().await {
            Ok(output) => Ok(output.attributes.is_some_and(|a| !a.is_empty())),
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
}

fn item_key(item: &HashMap<String, AttributeValue>) -> Option<ItemKey> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some(ItemKey {
        pk: text(table::PK)?,
        sk: text(table::SK)?,
    })
}
