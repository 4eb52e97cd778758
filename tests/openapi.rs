//! The HTTP contract (docs/openapi.yaml) held to the running system:
//! schemathesis (PyPI, pinned by the Makefile) generates requests for every
//! route from the spec and sends them to the local stack's gateway; no
//! answer may be a server error or leave the spec (status, content type,
//! body schema).

use firsthour_local::run::{RunOptions, start};
use firsthour_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_as_the_openapi_spec_says_under_schemathesis() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let options = RunOptions {
        intake_instances: 2,
        ..local_run_options(&moto, "oas", &shipped_config())
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    // The touch API's token, as the stack generated it.
    let token = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(
            running
                .stack
                .refs
                .get("TouchApiTokenSecret")
                .expect("the touch token's secret"),
        )
        .send()
        .await
        .expect("the token")
        .secret_string
        .expect("a string");
    let url = format!("http://{}", running.http_addr);
    let spec = root().join("docs/openapi.yaml");
    let out = tokio::process::Command::new(root().join(".venv/bin/schemathesis"))
        .args(["run", &spec.display().to_string(), "--url", &url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "50",
            "--seed",
            "7",
            // Nothing written to the checkout.
            "--generation-database",
            ":memory:",
            "--header",
            &format!("authorization: Bearer {token}"),
        ])
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs (make venv installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its figures in the test's output (cargo test -- --nocapture shows them).
    for line in report
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Tested:") || l.contains("passed"))
    {
        println!("schemathesis: {}", line.trim());
    }
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("Selected: 10/10") && report.contains("Tested: 10"),
        "every operation of the spec tested: {report}"
    );
    running.stop().await;
}
