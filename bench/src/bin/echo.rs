//! `firsthour-echo`: the cold-start floor of `firsthour-bench coldstart`. A
//! `lambda_runtime` function that answers each event with itself, with the
//! functions' runtime and release profile and nothing else: no config, no
//! SDK, no logs. Not deployed.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
