//! The federal router: handles `LeadReceived` events. The template's rules
//! send it federal leads (their own rule, retry policy and DLQ) and every
//! other segment's leads: it assigns the owner and sends the first
//! notification, exactly once per lead.

use aws_config::SdkConfig;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use firsthour::config::{ConfigError, EnvReader, RouterSettings};
use firsthour::lead::LeadId;
use firsthour::metrics::Metrics;
use firsthour::ports::{Clock, Mailer, RepStore, RoutingStore, SystemClock};
use firsthour::router::{RouterError, RouterOutcome, RouterPolicy, RouterService};
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher, FromEnv, SesMailer};

pub struct RouterApp<S, M, C> {
    service: RouterService<S, M, C, Option<EventBridgePublisher>>,
}

pub type AwsRouterApp = RouterApp<DynamoLeadStore, SesMailer, SystemClock>;

impl FromEnv for AwsRouterApp {
    /// Reads the configuration and builds the AWS clients (cold start).
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = RouterSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        let mailer = SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            settings.configuration_set.clone(),
        );
        let publisher = settings
            .event_bus_name
            .as_ref()
            .map(|bus| EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus));
        Ok(Self::new(store, mailer, SystemClock, &settings, publisher))
    }
}

impl<S: RoutingStore + RepStore, M: Mailer, C: Clock> RouterApp<S, M, C> {
    /// `publisher`: where `LeadRouted` is announced (`None`: nowhere).
    pub fn new(
        store: S,
        mailer: M,
        clock: C,
        settings: &RouterSettings,
        publisher: Option<EventBridgePublisher>,
    ) -> Self {
        Self {
            service: RouterService::new(store, mailer, clock, RouterPolicy::from(settings))
                .with_publisher(publisher)
                .with_metrics(Metrics::stdout(&settings.metrics_namespace)),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.service = self.service.with_metrics(metrics);
        self
    }

    /// Handles one event. `Err` only for retryable failures: the invocation
    /// fails and the event is delivered again. Anything else is logged.
    pub async fn handle(
        &self,
        event: EventBridgeEvent<serde_json::Value>,
    ) -> Result<Option<RouterOutcome>, RouterError> {
        let Some(lead_id) = event
            .detail
            .get("lead_id")
            .and_then(serde_json::Value::as_str)
            .and_then(LeadId::parse)
        else {
            tracing::error!(detail_type = ?event.detail_type, "event without a valid detail.lead_id: dropped");
            return Ok(None);
        };
        match self.service.handle(&lead_id).await {
            Ok(outcome) => {
                match &outcome {
                    RouterOutcome::Notified { owner, recipients } => {
                        tracing::info!(lead_id = %lead_id, owner_assigned = owner.is_some(), recipients, "first notification sent")
                    }
                    RouterOutcome::NotificationRejected(reason) => {
                        tracing::error!(lead_id = %lead_id, reason = %reason, "first notification rejected; escalation takes over")
                    }
                    other => {
                        tracing::info!(lead_id = %lead_id, outcome = ?other, "nothing to send")
                    }
                }
                Ok(Some(outcome))
            }
            Err(RouterError::Permanent(reason)) => {
                tracing::error!(lead_id = %lead_id, reason = %reason, "lead not routed; the sweep re-drives it");
                Ok(None)
            }
            Err(err) => {
                tracing::warn!(lead_id = %lead_id, error = %err, "retrying");
                Err(err)
            }
        }
    }
}
