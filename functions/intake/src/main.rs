//! Lambda entry point of the intake function.

use std::sync::Arc;

use firsthour::config::vars;
use firsthour_aws::load_sdk_config;
use firsthour_aws::secrets::environment;
use intake::{AwsIntakeApp, HttpApiEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    firsthour::telemetry::init_json_logs(std::env::var(vars::LOG_LEVEL).ok().as_deref());
    let sdk = load_sdk_config().await;
    // A bad configuration fails the cold start, loudly, naming what to fix.
    let app = match environment(&sdk)
        .await
        .and_then(|env| AwsIntakeApp::from_env(&env, &sdk))
    {
        Ok(app) => Arc::new(app),
        Err(err) => {
            tracing::error!(error = %err, "intake configuration is invalid");
            return Err(err.into());
        }
    };
    // The event is read by our own lenient conversion (see `firsthour_http::event`): no
    // header or body a sender controls can make it fail or panic.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpApiEvent>| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(app.handle_event(event.payload).await) }
    }))
    .await
}
