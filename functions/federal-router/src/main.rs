//! Lambda entry point of the federal router.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use federal_router::AwsRouterApp;
use firsthour_aws::cold_start;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = cold_start::<AwsRouterApp>("router").await?;
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
