//! Lambda entry point of the registry refresh.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use firsthour_aws::cold_start;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use registry_refresh::AwsRefreshApp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = cold_start::<AwsRefreshApp>("registry-refresh").await?;
    lambda_runtime::run(service_fn(
        move |_tick: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let app = Arc::clone(&app);
            async move {
                app.run()
                    .await
                    .map(|_| ())
                    .map_err(|err| Error::from(err.to_string()))
            }
        },
    ))
    .await
}
