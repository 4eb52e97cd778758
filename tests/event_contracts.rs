//! The bus's contract: every event the real functions publish validates
//! against its published JSON Schema (events/schemas, what the template's
//! EventBridge schema registry holds), checked by the `jsonschema` package
//! from PyPI; and the registry holds exactly those files.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use firsthour::ports::ManualClock;
use firsthour_tests::*;
use time::macros::datetime;

const JSON: (&str, &str) = ("content-type", "application/json");

/// Validates `events` with tools/contracts/check_events.py: (ok, its lines).
fn check(events: &[serde_json::Value]) -> (bool, String) {
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tools/contracts/check_events.py"))
        .arg(root().join("events/schemas"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the venv's python (make venv)");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for event in events {
            writeln!(stdin, "{event}").expect("written");
        }
    }
    let out = child.wait_with_output().expect("ran");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn every_event_the_functions_publish_validates_against_its_schema() {
    let t = TestStack::new().await;
    // Monday 10:00 in New York: the federal reps are working.
    let clock = ManualClock::new(datetime!(2026-11-23 15:00 UTC));
    let intake = t.app().clock(clock.clone()).intake();
    let (status, _, text) = parts(
        intake
            .handle(http_api_request(
                "POST",
                "/leads",
                &[JSON],
                br#"{"email":"grace.hopper@navy.mil","name":"Grace Hopper","phone":"+1 202 555 0143"}"#,
            ))
            .await,
    );
    assert_eq!(status, 202, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).expect("json")["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let router = t.app().clock(clock.clone()).router();
    for queue in t.router_queues() {
        for event in t.queue_events(&queue, 0, Duration::from_millis(300)).await {
            router
                .handle(serde_json::from_value(event).expect("an EventBridge event"))
                .await
                .expect("routed");
        }
    }
    // The federal ladder: 5 min reminds, 10 min reassigns.
    let sweep = t.app().clock(clock.clone()).escalation();
    for minutes in [5, 10] {
        clock.set(datetime!(2026-11-23 15:00 UTC) + Duration::from_secs(minutes * 60));
        sweep.sweep().await.expect("a sweep");
    }
    let (status, text) = t
        .post_touch(
            &intake,
            &format!("/leads/{id}/touch"),
            r#"{"by":"fed-rep-2@example.com","channel":"call","touch_id":"call-1"}"#,
        )
        .await;
    assert_eq!(status, 200, "{text}");

    // Every event on the bus reaches the delivery queue (its rule takes all six).
    let queue = &t.stack.queues["DeliveryQueue"].url;
    let events = t.queue_events(queue, 7, Duration::from_secs(5)).await;
    let mut kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "LeadClaimed",
            "LeadEscalated",
            "LeadReassigned",
            "LeadReceived",
            "LeadRouted",
            "LeadTouched"
        ],
        "every kind of event was published"
    );
    let (ok, lines) = check(&events);
    assert!(ok, "{lines}");
    assert_eq!(
        lines.lines().filter(|l| l.starts_with("ok ")).count(),
        events.len()
    );

    // The schemas are strict: a field nobody documented, or a wrong type, fails.
    let mut extra = events[0].clone();
    extra["detail"]["email"] = "grace.hopper@navy.mil".into();
    let mut wrong = events[0].clone();
    wrong["detail"]["lead_id"] = 42.into();
    let mut unknown = events[0].clone();
    unknown["detail-type"] = "LeadExploded".into();
    for bad in [extra, wrong, unknown] {
        let (ok, lines) = check(&[bad]);
        assert!(!ok, "{lines}");
    }
}

#[test]
fn the_schema_registry_holds_exactly_the_published_schemas() {
    let model = template();
    let resources = &model.raw["Resources"];
    assert_eq!(
        resources["LeadEventSchemas"]["Type"], "AWS::EventSchemas::Registry",
        "a registry for the bus's events"
    );
    let mut published = Vec::new();
    for entry in std::fs::read_dir(root().join("events/schemas")).expect("schemas") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a name")
            .to_owned();
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let resource = &resources[format!("{name}Schema").as_str()];
        assert_eq!(resource["Type"], "AWS::EventSchemas::Schema", "{name}");
        assert_eq!(
            resource["Condition"], "HasSchemaRegistry",
            "{name}: GovCloud has no schema registry"
        );
        let properties = &resource["Properties"];
        assert_eq!(properties["Type"], "JSONSchemaDraft4", "{name}");
        assert_eq!(
            properties["SchemaName"].as_str(),
            Some(format!("firsthour@{name}").as_str())
        );
        let content: serde_json::Value =
            serde_json::from_str(properties["Content"].as_str().expect("inline content"))
                .expect("JSON content");
        assert_eq!(
            content, file,
            "{name}: the template holds the file as it is"
        );
        published.push(name);
    }
    published.sort();
    assert_eq!(
        published,
        firsthour::events::EVENT_TYPES
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "one schema for every event firsthour publishes"
    );
}
