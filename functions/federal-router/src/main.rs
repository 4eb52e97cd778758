//! Lambda entry point of the federal router.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use federal_router::AwsRouterApp;
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
        .and_then(|env| AwsRouterApp::from_env(&env, &sdk))
    {
        Ok(app) => Arc::new(app),
        Err(err) => {
            tracing::error!(error = %err, "router configuration is invalid");
            return Err(err.into());
        }
    };
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let app = Arc::clone(&app);
            async move {
                app.handle(event.payload)
                    .await
                    .map(|_| ())
                    .map_err(|err| Error::from(err.to_string()))
            }
        },
    ))
    .await
}
