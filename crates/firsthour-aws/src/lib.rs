//! AWS adapters behind the ports: DynamoDB lead store, EventBridge publisher.
//! Clients are built once at cold start from the standard configuration
//! chain (so `AWS_ENDPOINT_URL` points them at moto locally).

pub mod download;
pub mod dynamo;
pub mod eventbridge;
pub mod http_out;
pub mod item_size;
pub mod live;
pub mod secrets;
pub mod ses;
pub mod table;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use firsthour::config::{ConfigError, EnvReader, vars};

pub use dynamo::DynamoLeadStore;
pub use eventbridge::EventBridgePublisher;
pub use ses::SesMailer;

/// A function's wiring, built once at cold start from its environment
/// (secrets resolved) and the SDK configuration its clients share.
pub trait FromEnv: Sized {
    /// Async: a function may read what it needs from its table (the intake
    /// reads the refreshed .gov registry), once, before its first event.
    fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> impl Future<Output = Result<Self, ConfigError>>;
}

/// The cold start every function shares: JSON logs, the SDK configuration,
/// the environment with its secrets, then the function's own wiring. A bad
/// configuration fails the cold start, loudly, naming what to fix.
pub async fn cold_start<T: FromEnv>(function: &str) -> Result<Arc<T>, ConfigError> {
    started(function, |sdk, env| async move {
        let reader = EnvReader::new(|key: &str| env.get(key).cloned());
        T::from_env(&reader, &sdk).await
    })
    .await
}

/// [`cold_start`] for a function whose rules may change while it runs
/// (AWS AppConfig, [`live`]): its wiring, built once, from the deployed
/// rules when a valid version is deployed (the layer's file otherwise),
/// and rebuilt when a new valid version is deployed.
pub async fn cold_start_live<T: FromEnv>(
    function: &str,
) -> Result<Arc<live::Live<T>>, ConfigError> {
    started(function, |sdk, env| async move {
        let source =
            live::RulesSource::from_env(&EnvReader::new(|key: &str| env.get(key).cloned()))?;
        live::Live::start(source, sdk, env).await
    })
    .await
}

/// What every cold start does around a function's own wiring (`build`,
/// given the SDK configuration and the environment with its secrets
/// resolved): JSON logs first, and a configuration error said loudly.
async fn started<T, F, Fut>(function: &str, build: F) -> Result<Arc<T>, ConfigError>
where
    F: FnOnce(SdkConfig, std::collections::HashMap<String, String>) -> Fut,
    Fut: Future<Output = Result<T, ConfigError>>,
{
    firsthour::telemetry::init_json_logs(std::env::var(vars::LOG_LEVEL).ok().as_deref());
    let sdk = load_sdk_config().await;
    let built = match secrets::environment_map(&sdk).await {
        Ok(env) => build(sdk, env).await,
        Err(err) => Err(err),
    };
    built.map(Arc::new).inspect_err(|err| {
        tracing::error!(function, error = %err, "{function} configuration is invalid");
    })
}

/// Loads the SDK configuration with timeouts short enough that a sender
/// gets a 503 (and retries) rather than hanging when a service is down.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

/// `FIRSTHOUR_TLS_ROOTS=system`: trust the system's certificate store
/// instead of the Amazon roots (a TLS-inspecting proxy with its own CA).
pub const TLS_ROOTS: &str = "FIRSTHOUR_TLS_ROOTS";

/// The functions' HTTPS client (rustls on aws-lc, as the SDK's default).
/// It trusts the roots AWS endpoints chain to, compiled in: reading and
/// parsing the system's 145 roots took 2 to 3 ms of every cold start, half
/// of a function's own start. The system store is used instead when asked
/// ([`TLS_ROOTS`]), or when `SSL_CERT_FILE`/`SSL_CERT_DIR` name one.
fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let system = std::env::var(TLS_ROOTS).is_ok_and(|v| v.trim().eq_ignore_ascii_case("system"))
        || std::env::var_os("SSL_CERT_FILE").is_some()
        || std::env::var_os("SSL_CERT_DIR").is_some();
    let trust_store = if system {
        TrustStore::default()
    } else {
        TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AWS_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::AwsLc,
    ));
    match TlsContext::builder().with_trust_store(trust_store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Never expected (the roots are fixed): the SDK's own default.
        Err(_) => builder.build_https(),
    }
}

/// Amazon Root CA 1 to 4 and Starfield Services Root G2: the roots of
/// every AWS service endpoint's certificate (Amazon Trust Services).
const AWS_ROOTS: &[u8] = include_bytes!("aws-roots.pem");

/// Error codes that mean "try again later", whatever the service.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflict",
    "TooManyRequestsException",
];

/// Whether an SDK error is worth retrying later (network, timeout, throttling, 5xx):
/// the store's classification of its errors, which the CLI shares.
pub fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| RETRYABLE_CODES.contains(&code)),
        _ => false,
    }
}

/// A short, log-safe description of an SDK error (codes and messages only;
/// AWS error messages do not echo item contents).
pub(crate) fn describe<E: ProvideErrorMetadata + std::error::Error, R>(
    err: &SdkError<E, R>,
) -> String {
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            format!(
                "{}: {}",
                inner.code().unwrap_or("unknown"),
                inner.message().unwrap_or_default()
            )
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(failure) => {
            if failure.is_io() {
                "connection failed".into()
            } else if failure.is_timeout() {
                "timed out connecting".into()
            } else {
                "request could not be sent".into()
            }
        }
        SdkError::ResponseError(_) => "unreadable response".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_the_five_aws_roots_and_build_a_tls_context() {
        use aws_smithy_http_client::tls::{TlsContext, TrustStore};
        let text = String::from_utf8_lossy(AWS_ROOTS);
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        for name in [
            "Amazon_Root_CA_1",
            "Amazon_Root_CA_4",
            "Starfield_Services_Root_Certificate_Authority_-_G2",
        ] {
            assert!(text.contains(name), "{name}");
        }
        let store = TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AWS_ROOTS);
        assert!(
            TlsContext::builder()
                .with_trust_store(store)
                .build()
                .is_ok()
        );
    }
}
