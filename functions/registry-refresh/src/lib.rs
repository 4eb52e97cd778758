//! The registry refresh: once a day (a scheduled EventBridge rule) it
//! downloads get.gov's `current-full.csv`, checks it, and stores it in the
//! lead table, where the intake reads it at its next cold start. A failed
//! download or check keeps the copy in use and fails the invocation, which
//! the template's alarm watches.

use aws_config::SdkConfig;
use firsthour::config::{ConfigError, EnvReader, RefreshSettings};
use firsthour::ports::RegistryStore;
use firsthour::sector::refresh::{RefreshOutcome, RefreshReport};
use firsthour::service::registry::RegistryRefresh;
use firsthour_aws::{DynamoLeadStore, FromEnv, download};

pub struct RefreshApp<S> {
    refresh: RegistryRefresh<S>,
    source: Option<url::Url>,
    http: reqwest::Client,
}

pub type AwsRefreshApp = RefreshApp<DynamoLeadStore>;

impl FromEnv for AwsRefreshApp {
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = RefreshSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        Self::new(store, settings.source)
    }
}

/// Why a scheduled refresh did not store a new copy (the invocation fails,
/// so the errors alarm fires; the copy in use stays).
#[derive(Debug)]
pub struct RefreshFailed(pub RefreshReport);

impl std::fmt::Display for RefreshFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.0.outcome {
            RefreshOutcome::Rejected => "refused the download",
            _ => "failed",
        };
        write!(
            f,
            "the .gov registry refresh {what} ({}): {}; the copy in use stays",
            self.0.source, self.0.detail
        )
    }
}

impl std::error::Error for RefreshFailed {}

impl<S: RegistryStore> RefreshApp<S> {
    pub fn new(store: S, source: Option<url::Url>) -> Result<Self, ConfigError> {
        let http = download::client().map_err(|problem| ConfigError::Invalid {
            var: firsthour::config::vars::GOV_REGISTRY_URL,
            problem,
        })?;
        Ok(Self {
            refresh: RegistryRefresh::new(store),
            source,
            http,
        })
    }

    /// One scheduled run: `Ok(None)` when the refresh is off.
    pub async fn run(&self) -> Result<Option<RefreshReport>, RefreshFailed> {
        let Some(source) = &self.source else {
            tracing::info!("no registry URL configured: the refresh is off");
            return Ok(None);
        };
        let max_bytes = self.refresh.checks().max_bytes;
        let downloaded = download::download(&self.http, source, max_bytes).await;
        let report = self
            .refresh
            .refresh(source.as_str(), downloaded, jiff::Timestamp::now())
            .await;
        match report.outcome {
            RefreshOutcome::Accepted => Ok(Some(report)),
            RefreshOutcome::Rejected | RefreshOutcome::Failed => Err(RefreshFailed(report)),
        }
    }
}
