//! Lambda entry point of the federal router.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use federal_router::AwsRouterApp;
use firsthour_aws::cold_start_live;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let live = cold_start_live::<AwsRouterApp>("router").await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let live = Arc::clone(&live);
            async move {
                let app = live.get().await;
                app.handle(event.payload)
                    .await
                    .map(|_| ())
                    .map_err(|err| Error::from(err.to_string()))
            }
        },
    ))
    .await
}
