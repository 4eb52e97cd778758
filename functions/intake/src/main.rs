//! Lambda entry point of the intake function.

use std::sync::Arc;

use firsthour_aws::cold_start;
use intake::{AwsIntakeApp, HttpApiEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = cold_start::<AwsIntakeApp>("intake").await?;
    // The event is read by our own lenient conversion (see `firsthour_http::event`): no
    // header or body a sender controls can make it fail or panic.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpApiEvent>| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(app.handle_event(event.payload).await) }
    }))
    .await
}
