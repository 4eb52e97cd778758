//! Lambda entry point of the inbound function (SES receipt rule's Lambda action).

use std::sync::Arc;

use firsthour_aws::cold_start;
use inbound::AwsInboundApp;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = cold_start::<AwsInboundApp>("inbound").await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = Arc::clone(&app);
        async move {
            app.handle_json(event.payload)
                .await
                .map(|_| ())
                .map_err(|err| Error::from(err.to_string()))
        }
    }))
    .await
}
