//! The escalation function, invoked every minute by the schedule: one sweep
//! of the due index (see `firsthour::escalation`).

use aws_config::SdkConfig;
use firsthour::config::{ConfigError, EnvReader, EscalationSettings};
use firsthour::escalation::{EscalationService, SweepReport};
use firsthour::metrics::Metrics;
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, Mailer, RepStore, RoutingStore, StoreError, SystemClock,
};
use firsthour::router::RouterPolicy;
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher, FromEnv, SesMailer};

pub struct EscalationApp<S, M, P, C> {
    service: EscalationService<S, M, P, C>,
}

pub type AwsEscalationApp =
    EscalationApp<DynamoLeadStore, SesMailer, EventBridgePublisher, SystemClock>;

impl FromEnv for AwsEscalationApp {
    /// Reads the configuration and builds the AWS clients (cold start).
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = EscalationSettings::from_env(env)?;
        let store = DynamoLeadStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &settings.router.table_name,
        );
        let mailer = SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            settings.router.configuration_set.clone(),
        );
        let publisher = EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &settings.event_bus_name,
        );
        Ok(Self::new(store, mailer, publisher, SystemClock, &settings))
    }
}

impl<S, M, P, C> EscalationApp<S, M, P, C>
where
    S: RoutingStore + EscalationStore + RepStore + Clone,
    M: Mailer + Clone,
    P: EventPublisher + Clone,
    C: Clock + Clone,
{
    pub fn new(store: S, mailer: M, publisher: P, clock: C, settings: &EscalationSettings) -> Self {
        let router = &settings.router;
        Self {
            service: EscalationService::new(
                store,
                mailer,
                publisher,
                clock.clone(),
                RouterPolicy::from(router),
                settings.concurrency,
            )
            .with_metrics(Metrics::stdout(&router.metrics_namespace)),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.service = self.service.with_metrics(metrics);
        self
    }

    /// One sweep, now. `Err` (store unreachable) fails the invocation; the
    /// next minute's sweep picks up where this one could not.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        // The same injected clock the router and the emails read.
        let report = self.service.sweep(self.service.clock().now()).await?;
        tracing::info!(
            due = report.due,
            scanned = report.scanned,
            redriven = report.redriven,
            escalated = report.escalated,
            breached = report.breached,
            deferred = report.deferred,
            skipped = report.skipped,
            failed = report.failed,
            "escalation sweep"
        );
        Ok(report)
    }

    pub fn service(&self) -> &EscalationService<S, M, P, C> {
        &self.service
    }
}
