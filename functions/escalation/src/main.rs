//! Lambda entry point of the escalation function.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use escalation::AwsEscalationApp;
use firsthour::config::vars;
use firsthour_aws::load_sdk_config;
use firsthour_aws::secrets::environment;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    firsthour::telemetry::init_json_logs(std::env::var(vars::LOG_LEVEL).ok().as_deref());
    let sdk = load_sdk_config().await;
    let app = match environment(&sdk)
        .await
        .and_then(|env| AwsEscalationApp::from_env(&env, &sdk))
    {
        Ok(app) => Arc::new(app),
        Err(err) => {
            tracing::error!(error = %err, "escalation configuration is invalid");
            return Err(err.into());
        }
    };
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let app = Arc::clone(&app);
            async move {
                app.sweep()
                    .await
                    .map(|_| ())
                    .map_err(|err| Error::from(err.to_string()))
            }
        },
    ))
    .await
}
