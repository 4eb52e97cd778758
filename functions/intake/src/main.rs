//! Lambda entry point of the intake function.

use std::convert::Infallible;
use std::sync::Arc;

use firsthour::aws::load_sdk_config;
use firsthour::aws::secrets::environment;
use firsthour::config::vars;
use intake::AwsIntakeApp;
use lambda_http::{Error, Request, service_fn};

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
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
