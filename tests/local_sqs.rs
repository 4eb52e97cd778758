//! The template's queues on the local stack: the delivery rule puts lead
//! events on the delivery queue, its redrive policy parks a message after
//! 40 receives, and the runner's stand-in for Lambda's SQS event source
//! mapping invokes the deliver function with Lambda's SQS event and deletes
//! what it handled (all of a batch, all but its reported failures, or
//! nothing when it fails).

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use firsthour_local::bootstrap::{LocalStack, StackQueue};
use firsthour_local::run::{RunOptions, start};
use firsthour_tests::*;

/// `make run`'s options on the test emulator, the function binaries from `bin_dir`.
fn run_options(prefix: &str, bin_dir: PathBuf, extra_env: Vec<(String, String)>) -> RunOptions {
    let mut options = local_run_options_at(&emulator_url(), prefix, &shipped_config());
    options.extra_env.extend(extra_env);
    RunOptions {
        // The queues a test made before starting are named from it as given.
        prefix: prefix.to_owned(),
        bin_dir,
        tick: Duration::from_secs(60),
        ..options
    }
}

fn delivery_queue(stack: &LocalStack) -> StackQueue {
    stack.queues["DeliveryQueue"].clone()
}

fn dead_letter_queue(stack: &LocalStack) -> StackQueue {
    stack.queues["DeliveryDeadLetterQueue"].clone()
}

/// (visible, in flight) messages of a queue.
async fn counts(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> (u64, u64) {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// Waits until the queue holds `expected` (visible, in flight), and checks it
/// stays so a moment longer (a deletion that should not happen would show).
async fn settle_at(sqs: &aws_sdk_sqs::Client, queue_url: &str, expected: (u64, u64)) {
    let started = std::time::Instant::now();
    loop {
        let now = counts(sqs, queue_url).await;
        if now == expected {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(counts(sqs, queue_url).await, expected, "the queue moved on");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the queue holds {now:?} (visible, in flight), not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn put_lead_event(sdk: &aws_config::SdkConfig, bus: &str, detail_type: &str, lead_id: &str) {
    let output = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source("firsthour")
                .detail_type(detail_type)
                .detail(serde_json::json!({"lead_id": lead_id}).to_string())
                .build(),
        )
        .send()
        .await
        .expect("put events");
    assert_eq!(output.failed_entry_count(), 0);
}

#[tokio::test]
async fn lead_events_on_the_bus_reach_the_delivery_queue_through_the_delivery_rule() {
    let t = TestStack::new().await;
    let queue = delivery_queue(&t.stack);
    let dead = dead_letter_queue(&t.stack);
    assert_eq!(queue.name, format!("{}-DeliveryQueue", t.stack.prefix));

    // The queue as declared: its timeouts and its redrive to the DLQ.
    let attributes = t
        .sqs()
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes")
        .attributes
        .unwrap_or_default();
    assert_eq!(
        attributes
            .get(&QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("90")
    );
    assert_eq!(
        attributes
            .get(&QueueAttributeName::MessageRetentionPeriod)
            .map(String::as_str),
        Some("1209600")
    );
    let redrive: serde_json::Value = serde_json::from_str(
        attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .expect("redrive policy"),
    )
    .expect("redrive policy JSON");
    assert_eq!(redrive["deadLetterTargetArn"], dead.arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "40"
    );

    // The deliver function's environment names them, and the outbound secret.
    let env = t.function_env("DeliverFunction", &[]);
    assert_eq!(env["FIRSTHOUR_DELIVERY_QUEUE_URL"], queue.url);
    assert_eq!(env["FIRSTHOUR_DELIVERY_DEAD_LETTER_QUEUE_URL"], dead.url);
    assert_eq!(
        env["FIRSTHOUR_OUTBOUND_SECRETS_ARN"],
        t.stack.refs["OutboundSecrets"]
    );
    let outbound: serde_json::Value =
        serde_json::from_str(&t.secret("OutboundSecrets")).expect("a JSON object");
    assert!(outbound["example"].is_string(), "{outbound}");

    // Only lead events of the rule's pattern are delivered.
    put_lead_event(&t.sdk, &t.stack.bus_name, "LeadRouted", "lead-routed-1").await;
    put_lead_event(&t.sdk, &t.stack.bus_name, "SomethingElse", "lead-other-1").await;
    let events = t.queue_events(&queue.url, 1, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["source"], "firsthour");
    assert_eq!(events[0]["detail-type"], "LeadRouted");
    assert_eq!(events[0]["detail"]["lead_id"], "lead-routed-1");
    assert_eq!(counts(&t.sqs(), &dead.url).await, (0, 0));
}

#[tokio::test]
async fn a_message_received_forty_times_is_parked_in_the_dead_letter_queue() {
    // What the runner relies on: moto applies the redrive policy on receive,
    // as SQS does, so the event source mapping stand-in needs no copy of it.
    let t = TestStack::new().await;
    let queue = delivery_queue(&t.stack);
    let dead = dead_letter_queue(&t.stack);
    let sqs = t.sqs();
    let sent = sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body("keeps crashing the function")
        .send()
        .await
        .expect("send");
    for receive in 1..=40 {
        let messages = sqs
            .receive_message()
            .queue_url(&queue.url)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        assert_eq!(messages.len(), 1, "receive {receive}");
        assert_eq!(messages[0].message_id(), sent.message_id());
        let count = messages[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .cloned();
        assert_eq!(count, Some(receive.to_string()));
    }
    let after = sqs
        .receive_message()
        .queue_url(&queue.url)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert!(after.is_empty(), "a 41st receive: {after:?}");
    let parked = sqs
        .receive_message()
        .queue_url(&dead.url)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].message_id(), sent.message_id());
}

/// A deliver function of the test's own, in place of the real one: it logs
/// each event it gets (one JSON line) and fails the messages whose body says
/// "fail", or the whole invocation when one says "crash".
const DELIVER_DOUBLE: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
log = os.environ["FIRSTHOUR_TEST_DELIVER_LOG"]
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request_id = answer.headers["lambda-runtime-aws-request-id"]
        event = json.loads(answer.read())
    with open(log, "a") as out:
        out.write(json.dumps(event) + "\n")
    records = [(r["messageId"], r["body"]) for r in event["Records"]]
    if any("crash" in body for _, body in records):
        url = api + request_id + "/error"
        body = {"errorType": "Crash", "errorMessage": "asked to"}
    else:
        url = api + request_id + "/response"
        body = {"batchItemFailures": [{"itemIdentifier": m} for m, b in records if "fail" in b]}
    urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(body).encode(), method="POST"))
"#;

/// A folder with the built binaries, the deliver function replaced by the double.
fn binaries_with_deliver_double() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("firsthour-sqs-bin-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("bin dir");
    for function in template().functions {
        if function.binary != "deliver" {
            std::os::unix::fs::symlink(
                bin_dir().join(&function.binary),
                dir.join(&function.binary),
            )
            .expect("symlink");
        }
    }
    let double = dir.join("deliver");
    std::fs::write(&double, DELIVER_DOUBLE).expect("double");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&double, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The events the double logged so far.
fn logged_events(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("logged event"))
        .collect()
}

/// Waits for an invocation with a record whose body contains `needle`.
async fn record_with(log: &Path, needle: &str) -> (serde_json::Value, serde_json::Value) {
    let started = std::time::Instant::now();
    loop {
        for event in logged_events(log) {
            let found = event["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["body"].as_str().is_some_and(|b| b.contains(needle)))
                .cloned();
            if let Some(record) = found {
                return (event, record);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no invocation with {needle:?}: {:?}",
            logged_events(log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_event_source_mapping_deletes_what_the_function_handled_and_keeps_what_failed() {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let prefix = format!("sqs{}", ulid::Ulid::new().to_string().to_lowercase());
    // The stack first, so one batch is waiting when the poller starts.
    let stack = LocalStack::create(&sdk, &template(), &prefix, &test_parameters())
        .await
        .expect("local stack");
    let queue = delivery_queue(&stack);
    let dead = dead_letter_queue(&stack);
    let kind = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("lead")
        .build()
        .expect("attribute");
    let entries = [("ok-1", true), ("fail-2", false), ("ok-3", false)]
        .into_iter()
        .map(|(body, with_attribute)| {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(body)
                .message_body(body);
            let entry = if with_attribute {
                entry.message_attributes("kind", kind.clone())
            } else {
                entry
            };
            entry.build().expect("entry")
        })
        .collect();
    let sent = sqs
        .send_message_batch()
        .queue_url(&queue.url)
        .set_entries(Some(entries))
        .send()
        .await
        .expect("send batch");
    assert!(sent.failed().is_empty(), "{:?}", sent.failed());
    let first = sent
        .successful()
        .iter()
        .find(|s| s.id() == "ok-1")
        .expect("ok-1 sent")
        .clone();

    let log = std::env::temp_dir().join(format!("firsthour-deliver-{}.jsonl", ulid::Ulid::new()));
    let binaries = binaries_with_deliver_double();
    let options = run_options(
        &prefix,
        binaries.clone(),
        vec![(
            "FIRSTHOUR_TEST_DELIVER_LOG".into(),
            log.display().to_string(),
        )],
    );
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");

    // One invocation for the waiting batch, in Lambda's SQS event.
    let (event, record) = record_with(&log, "ok-1").await;
    let bodies: Vec<&str> = event["Records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["body"].as_str())
        .collect();
    assert_eq!(bodies, ["ok-1", "fail-2", "ok-3"]);
    assert_eq!(record["messageId"], first.message_id());
    assert_eq!(record["md5OfBody"], first.md5_of_message_body());
    assert!(
        record["receiptHandle"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], queue.arn.as_str());
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    for name in [
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(record["attributes"][name].is_string(), "{name}: {record}");
    }
    assert_eq!(
        record["messageAttributes"]["kind"],
        serde_json::json!({"stringValue": "lead", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
    );
    // ok-1 and ok-3 deleted; fail-2 waits out the queue's 90 s visibility timeout.
    settle_at(&sqs, &queue.url, (0, 1)).await;

    // A function error deletes nothing.
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("crash-4")
        .send()
        .await
        .expect("send");
    record_with(&log, "crash-4").await;
    settle_at(&sqs, &queue.url, (0, 2)).await;

    // A lead event on the bus goes through the rule and the function to deletion.
    put_lead_event(&sdk, &stack.bus_name, "LeadRouted", "lead-through-the-bus").await;
    let (_, routed) = record_with(&log, "lead-through-the-bus").await;
    let body: serde_json::Value =
        serde_json::from_str(routed["body"].as_str().expect("body")).expect("event JSON");
    assert_eq!(body["detail-type"], "LeadRouted");
    settle_at(&sqs, &queue.url, (0, 2)).await;

    assert_eq!(logged_events(&log).len(), 3, "{:?}", logged_events(&log));
    assert_eq!(counts(&sqs, &dead.url).await, (0, 0));
    running.stop().await;
    let _ = std::fs::remove_dir_all(binaries);
    let _ = std::fs::remove_file(log);
}

#[tokio::test]
async fn the_deliver_function_consumes_what_lands_on_the_delivery_queue() {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let prefix = format!("sqs{}", ulid::Ulid::new().to_string().to_lowercase());
    let running = start(&run_options(&prefix, bin_dir(), Vec::new()), &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let queue = delivery_queue(&running.stack);
    // An EventBridge event as the delivery rule puts it on the queue.
    let event = serde_json::json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "LeadRouted",
        "source": "firsthour",
        "account": "123456789012",
        "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"lead_id": "straight-onto-the-queue"}
    });
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body(event.to_string())
        .send()
        .await
        .expect("send");
    settle_at(&sqs, &queue.url, (0, 0)).await;
    assert_eq!(
        counts(&sqs, &dead_letter_queue(&running.stack).url).await,
        (0, 0)
    );
    assert_eq!(
        running
            .host("DeliverFunction")
            .expect("deliver host")
            .process_deaths(),
        0
    );
    running.stop().await;
}
