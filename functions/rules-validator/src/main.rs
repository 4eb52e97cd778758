//! Lambda entry point of the rules validator (AppConfig invokes it).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rules_validator::{ValidationRequest, validate};

#[tokio::main]
async fn main() -> Result<(), Error> {
    firsthour::telemetry::init_json_logs(std::env::var("FIRSTHOUR_LOG_LEVEL").ok().as_deref());
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let request: ValidationRequest = serde_json::from_value(event.payload)
            .map_err(|err| {
                // serde's kind and column only: never the payload's text.
                Error::from(format!(
                    "not an AppConfig validation request: {:?} at column {}",
                    err.classify(),
                    err.column()
                ))
            })?;
        let version = request.configuration_version.clone().unwrap_or_default();
        match validate(&request, &|key| std::env::var(key).ok()) {
            Ok(()) => {
                tracing::info!(rules_version = %version, "rules version valid");
                Ok(())
            }
            // A failed invocation is AppConfig's "invalid": the version is not deployed.
            Err(refused) => {
                tracing::warn!(rules_version = %version, reason = %refused, "rules version refused");
                Err(Error::from(refused.to_string()))
            }
        }
    }))
    .await
}
