//! Lambda entry point of the escalation function.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use escalation::AwsEscalationApp;
use firsthour_aws::cold_start_live;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let live = cold_start_live::<AwsEscalationApp>("escalation").await?;
    // The schedule's event says nothing but "now": every tick is one sweep.
    lambda_runtime::run(service_fn(
        move |_tick: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let live = Arc::clone(&live);
            async move {
                let app = live.get().await;
                app.sweep()
                    .await
                    .map(|_| ())
                    .map_err(|err| Error::from(err.to_string()))
            }
        },
    ))
    .await
}
