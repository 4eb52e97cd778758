//! Slack, Teams and webhooks out under the local runner, end to end: the
//! real function binaries, the delivery queue and its event source on moto,
//! and the stand-ins (Slack's Web API checked with slack_sdk, the Adaptive
//! Card against its 1.5 schema, webhooks verified with standardwebhooks).

use std::time::{Duration, Instant};

use firsthour_local::chat::{ChatSetup, STRANGER};
use firsthour_local::run::{RunOptions, RunningStack, scheduled_event, start};
use firsthour_local::stand_ins::StandIns;
use firsthour_tests::*;
use serde_json::Value;

/// The example rules with channels, pointed at the stand-ins' port, plus a
/// webhook whose endpoint is down.
fn channel_rules(port: u16) -> std::path::PathBuf {
    example_channel_rules(
        port,
        &format!(
            r#"
[[webhooks]]
name = "down"
url = "http://127.0.0.1:{port}/hooks/down"
events = ["LeadRouted"]
"#
        ),
    )
}

async fn messages(stand_ins: &StandIns) -> Vec<Value> {
    stand_ins.messages().await.expect("stand-in messages")["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn sweep(running: &RunningStack) {
    running
        .host("EscalationFunction")
        .expect("the sweep")
        .invoke(&scheduled_event())
        .await
        .expect("a sweep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federal_lead_reaches_slack_teams_and_webhooks_and_a_slack_click_claims_it() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let port = free_port();
    let rules = channel_rules(port);
    let options = RunOptions {
        extra_env: vec![
            ("FIRSTHOUR_CONFIG_FILE".into(), rules.display().to_string()),
            ("AWS_ENDPOINT_URL".into(), moto.url.clone()),
            // Ladders and the 24-hour retry window in seconds.
            ("FIRSTHOUR_LADDER_SPEEDUP".into(), "3600".into()),
        ],
        chat: Some(ChatSetup {
            config: rules.clone(),
            root: root(),
            port,
            failing_hooks: vec!["down".into()],
        }),
        ..local_run_options(&moto, "chat", &rules)
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let stand_ins = running.stand_ins.as_ref().expect("the stand-ins run");
    let base = format!("http://{}", running.http_addr);
    // Slack answers the first post `ratelimited`, Retry-After 2 s.
    stand_ins
        .rate_limit("chat.postMessage", 1, 2)
        .await
        .expect("rate limit armed");
    let posted_at = Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{base}/leads"))
        .header("content-type", "application/json")
        .body(r#"{"email":"grace.hopper@navy.mil","name":"Grace Hopper","company":"US Navy","message":"We need 40 seats <!channel> & a quote"}"#)
        .send()
        .await
        .expect("intake answers");
    assert_eq!(answer.status().as_u16(), 202);
    let lead_id = answer.json::<Value>().await.expect("json")["lead_id"]
        .as_str()
        .expect("lead id")
        .to_owned();

    // The email first, whatever the endpoints do.
    eventually(15, "the federal team's email", || async {
        let sent = firsthour_local::mail::sent_messages(&moto.url).await.ok()?;
        sent.iter()
            .any(|m| {
                m.body.contains(&lead_id) && m.to.iter().any(|t| t == "federal-sales@example.com")
            })
            .then_some(())
    })
    .await;
    let emailed_in = posted_at.elapsed();

    // One Slack message and one Teams card, as their schemas allow (the
    // stand-ins refuse anything else).
    let (slack, teams) = eventually(20, "a Slack message and a Teams card", || async {
        let all = messages(stand_ins).await;
        let slack: Vec<Value> = all
            .iter()
            .filter(|m| m["kind"] == "slack_app" && m["thread_ts"].is_null())
            .cloned()
            .collect();
        let teams: Vec<Value> = all
            .iter()
            .filter(|m| m["kind"] == "teams")
            .cloned()
            .collect();
        (!slack.is_empty() && !teams.is_empty()).then_some((slack, teams))
    })
    .await;
    assert_eq!(slack.len(), 1, "one Slack message: {slack:?}");
    assert_eq!(teams.len(), 1, "one Teams card: {teams:?}");
    let message = &slack[0];
    assert_eq!(message["channel"], "C0FEDERAL01");
    let text = message["body"].to_string();
    assert!(text.contains(&lead_id), "the Claim button carries the lead");
    assert!(
        !text.contains("grace.hopper@navy.mil"),
        "no address in a channel"
    );
    assert!(!text.contains("<!channel>"), "a typed mention stays text");
    let ts = message["ts"].as_str().expect("ts").to_owned();
    // The rate-limited post was tried again no sooner than Slack asked.
    let calls = stand_ins.calls().await.expect("calls");
    let posts: Vec<(f64, bool)> = calls
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["method"] == "chat.postMessage")
        .filter_map(|c| Some((c["time"].as_f64()?, c["rate_limited"].as_bool()?)))
        .collect();
    assert!(posts.len() >= 2 && posts[0].1 && !posts[1].1, "{posts:?}");
    assert!(
        posts[1].0 - posts[0].0 >= 1.9,
        "Retry-After honoured: {posts:?}"
    );
    assert!(
        teams[0]["body"].to_string().contains("/claim?"),
        "an Open-URL claim link"
    );

    // Tier 1 (5 min, sped up) tells the channel in the lead's thread.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sweep(&running).await;
    eventually(20, "a threaded escalation", || async {
        messages(stand_ins)
            .await
            .iter()
            .any(|m| m["thread_ts"] == ts.as_str())
            .then_some(())
    })
    .await;

    // Someone who is not on the team: told so, alone; nothing claimed.
    let (status, _) = stand_ins
        .click("C0FEDERAL01", &ts, STRANGER.0)
        .await
        .expect("a click");
    assert_eq!(status, 200);
    let told = stand_ins.messages().await.expect("messages");
    assert!(
        told["responses"]
            .to_string()
            .contains("not on the federal team"),
        "an ephemeral answer: {told}"
    );

    // The mapped rep's click claims it as them and updates the message.
    let (status, body) = stand_ins
        .click("C0FEDERAL01", &ts, "U0FEDREP01")
        .await
        .expect("a click");
    assert_eq!(status, 200, "{body}");
    let updated = eventually(20, "the message updated in place", || async {
        messages(stand_ins)
            .await
            .into_iter()
            .find(|m| m["ts"] == ts.as_str())
            .filter(|m| m["updates"].as_array().is_some_and(|u| !u.is_empty()))
    })
    .await;
    let last = updated["updates"]
        .as_array()
        .and_then(|u| u.last())
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert!(last.contains("fed-rep-1@example.com"), "says who: {last}");
    assert!(
        !last.contains("firsthour_claim\""),
        "no button any more: {last}"
    );

    // The ladder stopped: a sweep tells nobody more.
    let before = messages(stand_ins).await.len();
    let mails_before = firsthour_local::mail::sent_messages(&moto.url)
        .await
        .expect("mail")
        .len();
    sweep(&running).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(messages(stand_ins).await.len(), before);
    assert_eq!(
        firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("mail")
            .len(),
        mails_before
    );

    // The CRM's webhooks, each verified by the official package, one id an event.
    let hooks = eventually(20, "the claim's webhook", || async {
        let hooks = stand_ins.hooks().await.ok()?;
        let crm: Vec<Value> = hooks
            .as_array()?
            .iter()
            .filter(|h| h["name"] == "crm")
            .cloned()
            .collect();
        crm.iter()
            .any(|h| {
                h["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("LeadClaimed"))
            })
            .then_some(crm)
    })
    .await;
    for hook in &hooks {
        assert_eq!(hook["verified"], true, "standardwebhooks verifies {hook}");
    }
    let types: Vec<String> = hooks
        .iter()
        .filter_map(|h| serde_json::from_str::<Value>(h["body"].as_str()?).ok())
        .filter_map(|b| b["type"].as_str().map(str::to_owned))
        .collect();
    for expected in ["LeadReceived", "LeadRouted", "LeadEscalated", "LeadClaimed"] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let mut ids: Vec<String> = hooks
        .iter()
        .filter_map(|h| h["headers"]["webhook-id"].as_str().map(str::to_owned))
        .collect();
    let delivered = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), delivered, "one webhook-id per event");
    assert!(
        hooks.iter().any(|h| h["body"]
            .as_str()
            .is_some_and(|b| b.contains("grace.hopper@navy.mil"))),
        "include_contact = true sends the person's details"
    );

    // The endpoint that is down: retried with growing waits, then parked
    // in the dead-letter queue (24 hours, sped up), the email long out.
    let dlq = running
        .stack
        .refs
        .get("DeliveryDeadLetterQueue")
        .expect("the delivery DLQ")
        .clone();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let parked = eventually(60, "the failing delivery parked", || async {
        let received = sqs
            .receive_message()
            .queue_url(&dlq)
            .message_attribute_names("All")
            .send()
            .await
            .ok()?;
        received.messages?.into_iter().next()
    })
    .await;
    let reason = parked
        .message_attributes()
        .and_then(|a| a.get("reason"))
        .and_then(|r| r.string_value())
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("24 hours") && reason.contains("503"),
        "{reason}"
    );
    assert!(parked.body().is_some_and(|b| b.contains("\"down\"")));
    let attempts: Vec<f64> = stand_ins
        .hooks()
        .await
        .expect("hooks")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h["name"] == "down")
        .filter_map(|h| h["time"].as_f64())
        .collect();
    assert!(attempts.len() >= 3, "retried: {attempts:?}");
    let gaps: Vec<f64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= 0.9),
        "every retry waits (at least a second, sped up): {gaps:?}"
    );
    assert!(
        emailed_in < Duration::from_secs(15),
        "the email did not wait for the endpoints ({emailed_in:?})"
    );
    running.stop().await;
}
