//! Lambda entry point of the deliver function (the delivery queue's event source).

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use deliver::AwsDeliverApp;
use firsthour_aws::cold_start;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = cold_start::<AwsDeliverApp>("deliver").await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = Arc::clone(&app);
        // Failures are reported per message; the invocation itself succeeds.
        async move { Ok::<_, Error>(app.handle(event.payload).await) }
    }))
    .await
}
