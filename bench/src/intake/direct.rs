//! The floor the intake's overhead is measured against: the same writes
//! (the lead and its markers in one transaction, then `LeadReceived`), built
//! by the library as the intake builds them and made straight with the SDK.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use firsthour::dedup::{DedupKind, DedupMarker, content_key, delivery_key, sha256_hex};
use firsthour::events::{EVENT_SOURCE, LeadReceived, OutboundEvent};
use firsthour::lead::Source;
use firsthour::record::LeadRecord;
use firsthour::service::intake::IntakePolicy;
use firsthour_aws::table::{self, DedupItem, LeadItem};
use time::OffsetDateTime;

use std::time::{Duration, Instant};

use super::Signed;
use crate::support::{self, Item};

/// What the intake writes for one delivery, built by the library as the
/// intake builds it: the transaction's items and the event.
pub(super) struct Writes {
    pub(super) transaction: Vec<TransactWriteItem>,
    pub(super) event: PutEventsRequestEntry,
    pub(super) lead: Item,
}

pub(super) struct Direct {
    pub(super) dynamo: aws_sdk_dynamodb::Client,
    pub(super) events: aws_sdk_eventbridge::Client,
    pub(super) table: String,
    pub(super) bus: String,
    pub(super) policy: IntakePolicy,
}

impl Direct {
    pub(super) fn put(
        &self,
        item: Item,
        condition: &str,
        now_s: Option<i64>,
    ) -> Result<TransactWriteItem, String> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(now_s) = now_s {
            put = put
                .expression_attribute_names("#expires", table::EXPIRES_AT)
                .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()));
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(|e| e.to_string())?)
            .build())
    }

    /// Mirrors `IntakeService::accept` for a signed delivery (not timed).
    pub(super) async fn writes(
        &self,
        delivery: &Signed,
        source: &Source,
    ) -> Result<Writes, String> {
        let now = OffsetDateTime::now_utc();
        let (lead, sector, route) = support::lead_from(
            &delivery.body,
            source,
            Some(delivery.id.clone()),
            &self.policy.file,
            now,
        )
        .await?;
        let sha = sha256_hex(&delivery.body);
        let markers = [
            DedupMarker::new(
                DedupKind::Delivery,
                &delivery_key(source, &delivery.id),
                &lead,
                &sha,
                self.policy.delivery_id_ttl,
            ),
            DedupMarker::new(
                DedupKind::Content,
                &content_key(&lead, &self.policy.file.spam),
                &lead,
                &sha,
                self.policy.dedup_window,
            ),
        ];
        let item = LeadItem::stored(LeadRecord::new_received(
            &lead,
            &sector,
            &route,
            now,
            now + self.policy.redrive_after,
            self.policy.lead_retention.map(|keep| now + keep),
        ));
        let lead_item: Item = serde_dynamo::to_item(&item).map_err(|e| e.to_string())?;
        let mut transaction =
            vec![self.put(lead_item.clone(), "attribute_not_exists(pk)", None)?];
        for marker in &markers {
            let marker: Item =
                serde_dynamo::to_item(DedupItem::from(marker)).map_err(|e| e.to_string())?;
            transaction.push(self.put(
                marker,
                "attribute_not_exists(pk) OR #expires < :now",
                Some(now.unix_timestamp()),
            )?);
        }
        let event = OutboundEvent::from(&LeadReceived::of(&lead, &sector, &route));
        Ok(Writes {
            transaction,
            event: PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus)
                .source(EVENT_SOURCE)
                .detail_type(event.detail_type)
                .detail(&event.detail)
                .build(),
            lead: lead_item,
        })
    }

    /// The bare calls: TransactWriteItems, then PutEvents (timed, and the
    /// TransactWriteItems alone).
    pub(super) async fn send(&self, writes: Writes) -> Result<Duration, String> {
        Ok(self.send_split(writes).await?.0)
    }

    pub(super) async fn send_split(&self, writes: Writes) -> Result<(Duration, Duration), String> {
        let started = Instant::now();
        self.dynamo
            .transact_write_items()
            .set_transact_items(Some(writes.transaction))
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        let stored = started.elapsed();
        let output = self
            .events
            .put_events()
            .entries(writes.event)
            .send()
            .await
            .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())?;
        if output.failed_entry_count() > 0 {
            return Err("PutEvents failed an entry".into());
        }
        Ok((started.elapsed(), stored))
    }
}
