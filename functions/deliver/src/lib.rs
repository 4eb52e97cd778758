//! The deliver function: reads the delivery queue (an SQS event source
//! with partial batch responses). A message is either a bus event (from
//! the delivery rule), fanned out into one delivery message per
//! destination on the same queue, or one delivery, made once: a failure
//! comes back after [`retry_delay`] (the message's visibility is set to
//! it), and one that keeps failing for 24 hours, or can never work, is
//! parked in the dead-letter queue with its reason.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use firsthour::config::{ConfigError, DeliverSettings, EnvReader};
use firsthour::deliver::{
    BusEvent, DeliverService, Delivery, DeliveryFailure, HttpPoster, gives_up, retry_delay,
};
use firsthour::ports::{ChannelPostStore, Clock, RoutingStore, SystemClock};
use firsthour_aws::http_out::ReqwestPoster;
use firsthour_aws::{DynamoLeadStore, FromEnv};
use time::OffsetDateTime;

/// SQS takes at most ten messages a batch.
const SEND_BATCH: usize = 10;

pub struct DeliverApp<S, H, C> {
    service: DeliverService<S, H, C>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_queue_url: String,
}

pub type AwsDeliverApp = DeliverApp<DynamoLeadStore, ReqwestPoster, SystemClock>;

impl FromEnv for AwsDeliverApp {
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = DeliverSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        let http = ReqwestPoster::new().map_err(ConfigError::Startup)?;
        Ok(Self::new(
            store,
            http,
            SystemClock,
            aws_sdk_sqs::Client::new(sdk),
            settings,
        ))
    }
}

/// What one queue message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A bus event, now this many delivery messages.
    FannedOut(usize),
    Delivered,
    /// Failed; back on the queue after this wait.
    RetryAfter(Duration),
    /// Parked in the dead-letter queue, with the reason.
    Parked(String),
}

/// Why a message stays on the queue as it is (its normal visibility).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unhandled(String);

impl<S, H, C> DeliverApp<S, H, C>
where
    S: RoutingStore + ChannelPostStore,
    H: HttpPoster,
    C: Clock,
{
    pub fn new(
        store: S,
        http: H,
        clock: C,
        sqs: aws_sdk_sqs::Client,
        settings: DeliverSettings,
    ) -> Self {
        Self {
            service: DeliverService::new(store, http, clock, settings.outbound),
            sqs,
            queue_url: settings.queue_url,
            dead_letter_queue_url: settings.dead_letter_queue_url,
        }
    }

    /// One batch: every message at once (a slow endpoint holds up only its
    /// own), the failed ones reported so only they come back.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let handled = futures::future::join_all(
            event
                .records
                .iter()
                .map(|message| self.handle_message(message)),
        )
        .await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in event.records.iter().zip(handled) {
            let failed = !matches!(
                outcome,
                Ok(Handled::FannedOut(_) | Handled::Delivered | Handled::Parked(_))
            );
            if failed {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// One message: a bus event is fanned out; a delivery is made.
    pub async fn handle_message(&self, message: &SqsMessage) -> Result<Handled, Unhandled> {
        let body = message.body.as_deref().unwrap_or_default();
        if let Ok(delivery) = serde_json::from_str::<Delivery>(body) {
            return self.deliver(message, &delivery).await;
        }
        match serde_json::from_str::<BusEvent>(body) {
            Ok(event) => self.fan_out(&event).await,
            Err(err) => {
                let reason = format!("neither a bus event nor a delivery ({:?})", err.classify());
                self.park(body, &reason, None).await?;
                Ok(Handled::Parked(reason))
            }
        }
    }

    async fn fan_out(&self, event: &BusEvent) -> Result<Handled, Unhandled> {
        let deliveries = match self.service.fan_out(event).await {
            Ok(deliveries) => deliveries,
            Err(DeliveryFailure::Permanent { reason }) => {
                // Nothing to deliver it to (the lead is gone): logged, done.
                tracing::warn!(event_id = %event.id, detail_type = %event.detail_type, reason = %reason, "event not fanned out");
                return Ok(Handled::FannedOut(0));
            }
            Err(err @ DeliveryFailure::Retry { .. }) => return Err(Unhandled(err.to_string())),
        };
        for chunk in deliveries.chunks(SEND_BATCH) {
            self.enqueue(chunk).await?;
        }
        tracing::info!(event_id = %event.id, detail_type = %event.detail_type, deliveries = deliveries.len(), "fanned out");
        Ok(Handled::FannedOut(deliveries.len()))
    }

    /// Puts deliveries on the queue, all or an error (the event comes back
    /// and is fanned out again; receivers deduplicate by `webhook-id`).
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), Unhandled> {
        let mut entries = Vec::with_capacity(deliveries.len());
        for (n, delivery) in deliveries.iter().enumerate() {
            let body = serde_json::to_string(delivery).map_err(|err| Unhandled(err.to_string()))?;
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|err| Unhandled(err.to_string()))?,
            );
        }
        let output = self
            .sqs
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| Unhandled(aws_sdk_sqs::error::DisplayErrorContext(err).to_string()))?;
        if !output.failed.is_empty() {
            return Err(Unhandled(format!(
                "{} of {} deliveries not queued",
                output.failed.len(),
                deliveries.len()
            )));
        }
        Ok(())
    }

    async fn deliver(
        &self,
        message: &SqsMessage,
        delivery: &Delivery,
    ) -> Result<Handled, Unhandled> {
        let event_id = &delivery.event.id;
        let failure = match self.service.deliver(delivery).await {
            Ok(()) => {
                tracing::info!(event_id = %event_id, detail_type = %delivery.event.detail_type, to = %delivery.to, "delivered");
                return Ok(Handled::Delivered);
            }
            Err(failure) => failure,
        };
        let speedup = self.service.outbound().speedup;
        let now = self.service.clock().now();
        let first_try = attribute_millis(message, "SentTimestamp").unwrap_or(now);
        let (reason, retry_after) = match failure {
            DeliveryFailure::Permanent { reason } => {
                self.park_delivery(delivery, &reason).await?;
                return Ok(Handled::Parked(reason));
            }
            DeliveryFailure::Retry {
                reason,
                retry_after,
            } => (reason, retry_after),
        };
        if gives_up(first_try, now, speedup) {
            let reason = format!("still failing after 24 hours: {reason}");
            self.park_delivery(delivery, &reason).await?;
            return Ok(Handled::Parked(reason));
        }
        let failures = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let wait = retry_delay(failures, retry_after, speedup);
        if let Some(receipt) = message.receipt_handle.as_deref() {
            let seconds = i32::try_from(wait.as_secs()).unwrap_or(i32::MAX);
            if let Err(err) = self
                .sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(seconds)
                .send()
                .await
            {
                // It comes back after the queue's own timeout instead.
                tracing::warn!(event_id = %event_id, error = %aws_sdk_sqs::error::DisplayErrorContext(err), "retry wait not set");
            }
        }
        tracing::warn!(event_id = %event_id, detail_type = %delivery.event.detail_type, to = %delivery.to, failures, retry_in_s = wait.as_secs(), reason = %reason, "delivery failed; will retry");
        Ok(Handled::RetryAfter(wait))
    }

    async fn park_delivery(&self, delivery: &Delivery, reason: &str) -> Result<(), Unhandled> {
        let body = serde_json::to_string(delivery).map_err(|err| Unhandled(err.to_string()))?;
        tracing::error!(event_id = %delivery.event.id, detail_type = %delivery.event.detail_type, to = %delivery.to, reason = %reason, "delivery parked in the dead-letter queue");
        self.park(&body, reason, Some(&delivery.to.to_string()))
            .await
    }

    /// Sends `body` to the dead-letter queue with why (and where it was
    /// going) as message attributes, for whoever re-drives it.
    async fn park(&self, body: &str, reason: &str, to: Option<&str>) -> Result<(), Unhandled> {
        let text = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value.chars().take(1000).collect::<String>())
                .build()
                .map_err(|err| Unhandled(err.to_string()))
        };
        let mut send = self
            .sqs
            .send_message()
            .queue_url(&self.dead_letter_queue_url)
            .message_body(body)
            .message_attributes("reason", text(reason)?);
        if let Some(to) = to {
            send = send.message_attributes("destination", text(to)?);
        }
        send.send()
            .await
            .map_err(|err| Unhandled(aws_sdk_sqs::error::DisplayErrorContext(err).to_string()))?;
        Ok(())
    }
}

/// An SQS attribute in epoch milliseconds, as a time.
fn attribute_millis(message: &SqsMessage, name: &str) -> Option<OffsetDateTime> {
    let millis: i128 = message.attributes.get(name)?.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(millis.checked_mul(1_000_000)?).ok()
}
