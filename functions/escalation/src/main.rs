//! Lambda entry point of the escalation function.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use firsthour::config::vars;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    firsthour::telemetry::init_json_logs(std::env::var(vars::LOG_LEVEL).ok().as_deref());
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            escalation::sweep(event.payload)
                .await
                .map_err(|err| Error::from(err.to_string()))
        },
    ))
    .await
}
