//! Lambda entry point of the intake function.

use std::sync::Arc;

use firsthour_aws::cold_start_live;
use intake::{AwsIntakeApp, HttpApiEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let live = cold_start_live::<AwsIntakeApp>("intake").await?;
    // The event is read by our own lenient conversion (see `firsthour_http::event`): no
    // header or body a sender controls can make it fail or panic.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpApiEvent>| {
        let live = Arc::clone(&live);
        async move {
            let app = live.get().await;
            Ok::<_, Error>(app.handle_event(event.payload).await)
        }
    }))
    .await
}
