//! The inbound function: SES email receiving's Lambda action for the
//! stack's inbound domain. SES invokes it for each received message with
//! the envelope, the parsed headers and its verdicts, never the body; no
//! copy of the message is stored anywhere. A tracked reply counts as its
//! lead's response (see `firsthour::service::inbound`); anything else is
//! dropped with a log line. Only an unreachable table fails the invocation,
//! so Lambda's asynchronous retries deliver it again (counted once).

use aws_config::SdkConfig;
use aws_lambda_events::ses::{SimpleEmailEvent, SimpleEmailRecord, SimpleEmailVerdict};
use firsthour::config::{ConfigError, EnvReader, InboundSettings};
use firsthour::metrics::Metrics;
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, RepStore, RoutingStore, StoreError, SystemClock,
};
use firsthour::service::inbound::{InboundService, ReceivedReply, ReplyOutcome, Verdict, Verdicts};
use firsthour::service::touch::TouchService;
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher, FromEnv};
use time::OffsetDateTime;

pub struct InboundApp<S, P, C> {
    service: InboundService<S, P, C>,
}

pub type AwsInboundApp = InboundApp<DynamoLeadStore, EventBridgePublisher, SystemClock>;

impl FromEnv for AwsInboundApp {
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = InboundSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        let publisher = EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &settings.event_bus_name,
        );
        Ok(Self::new(store, publisher, SystemClock, &settings))
    }
}

fn verdict(v: &SimpleEmailVerdict) -> Verdict {
    Verdict::from_status(v.status.as_deref())
}

/// What the domain reads of one SES record: envelope, From, Date, verdicts.
pub fn received(record: &SimpleEmailRecord) -> ReceivedReply {
    let ses = &record.ses;
    let received_at = OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(ses.receipt.timestamp.timestamp_millis()) * 1_000_000,
    )
    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    ReceivedReply {
        message_id: ses.mail.message_id.clone().unwrap_or_default(),
        recipients: ses.receipt.recipients.clone(),
        from: ses.mail.common_headers.from.clone(),
        date: ses.mail.common_headers.date.clone(),
        received_at,
        verdicts: Verdicts {
            spf: verdict(&ses.receipt.spf_verdict),
            dkim: verdict(&ses.receipt.dkim_verdict),
            dmarc: verdict(&ses.receipt.dmarc_verdict),
            spam: verdict(&ses.receipt.spam_verdict),
            virus: verdict(&ses.receipt.virus_verdict),
        },
    }
}

impl<S, P, C> InboundApp<S, P, C>
where
    S: EscalationStore + RoutingStore + RepStore,
    P: EventPublisher,
    C: Clock + Clone,
{
    pub fn new(store: S, publisher: P, clock: C, settings: &InboundSettings) -> Self {
        let touches = TouchService::new(store, publisher, clock.clone())
            .with_metrics(Metrics::stdout(&settings.metrics_namespace));
        Self {
            service: InboundService::new(
                touches,
                clock,
                settings.link_key.clone(),
                settings.inbound_domain.clone(),
            ),
        }
    }

    /// One invocation as Lambda hands it over: an event that is not SES's
    /// (a test event, a malformed one) is dropped with a log line, never
    /// retried, since a retry could not make it readable.
    pub async fn handle_json(
        &self,
        event: serde_json::Value,
    ) -> Result<Vec<ReplyOutcome>, StoreError> {
        match serde_json::from_value::<SimpleEmailEvent>(event) {
            Ok(event) => self.handle(event).await,
            Err(err) => {
                // The kind of error only: serde's message may quote a value (an address).
                let kind = format!("{:?}", err.classify());
                tracing::warn!(kind = %kind, line = err.line(), "not an SES receiving event: dropped");
                Ok(Vec::new())
            }
        }
    }

    /// Every record of one SES invocation; the outcomes in order.
    pub async fn handle(&self, event: SimpleEmailEvent) -> Result<Vec<ReplyOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(event.records.len());
        for record in &event.records {
            let reply = received(record);
            // A message without SES's id cannot be counted once: dropped.
            let outcome = if reply.message_id.is_empty() {
                ReplyOutcome::Dropped(firsthour::service::inbound::Dropped::NoTrackedAddress)
            } else {
                self.service.handle(&reply).await?
            };
            match &outcome {
                ReplyOutcome::Touched { lead, touches } => {
                    tracing::info!(lead_id = %lead, touches, "tracked reply counted as the response");
                }
                ReplyOutcome::Duplicate { lead } => {
                    tracing::info!(lead_id = %lead, "tracked reply delivered again: counted once");
                }
                // Never the addresses or the subject: the reply is about a lead.
                ReplyOutcome::Dropped(why) => {
                    tracing::warn!(reason = %why, "received message dropped");
                }
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}
