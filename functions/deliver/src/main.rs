//! Lambda entry point of the deliver function (the delivery queue's event source).

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use deliver::AwsDeliverApp;
use firsthour_aws::cold_start_live;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let live = cold_start_live::<AwsDeliverApp>("deliver").await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let live = Arc::clone(&live);
        // Failures are reported per message; the invocation itself succeeds.
        async move {
            let app = live.get().await;
            Ok::<_, Error>(app.handle(event.payload).await)
        }
    }))
    .await
}
