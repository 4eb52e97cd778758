//! The Slack, Teams and webhook stand-ins (`tools/local/stand_ins.py`) answer
//! as the vendors document, validating with the vendors' own packages.
//! Needs the venv: `make venv`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use firsthour::signature::{Scheme, sign};
use firsthour_local::stand_ins::{StandInError, StandInOptions, StandIns};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-stand-in-test";
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const CHANNEL: &str = "C0FEDERAL";
const REP: &str = "U0FED1";
const REP_EMAIL: &str = "fed-rep-1@example.com";
const SLACK_WEBHOOK: &str = "T000/B000/XXXX";
const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const CONTENT_TYPE_CARD: &str = "application/vnd.microsoft.card.adaptive";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn options() -> StandInOptions {
    let opts = StandInOptions::in_repo(&repo_root());
    assert!(
        opts.python.exists(),
        "{} is missing: run `make venv` first",
        opts.python.display()
    );
    StandInOptions {
        slack_token: TOKEN.into(),
        slack_signing_secret: SIGNING_SECRET.into(),
        slack_channels: vec![format!("{CHANNEL}=federal-leads")],
        slack_users: vec![(REP.into(), REP_EMAIL.into())],
        slack_webhooks: vec![(SLACK_WEBHOOK.into(), "alerts".into())],
        teams: vec!["leads".into()],
        webhooks: vec![("crm".into(), HOOK_SECRET.into())],
        failing_hooks: vec!["down".into()],
        ..opts
    }
}

async fn start() -> StandIns {
    StandIns::start(&options()).await.expect("stand-ins start")
}

fn lead_blocks() -> Value {
    json!([
        {"type": "header", "text": {"type": "plain_text", "text": "New federal lead: Acme Agency"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Jane Doe* wants a demo"},
         "fields": [{"type": "mrkdwn", "text": "*Email*\njane@acme.gov"},
                    {"type": "mrkdwn", "text": "*SLA*\n15 min"}]},
        {"type": "actions", "block_id": "claim", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Claim"},
             "action_id": "firsthour_claim", "value": "lead-123", "style": "primary"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "via the web form"}]}
    ])
}

/// A Slack Web API call with JSON and a bearer token: (status, Retry-After, body).
async fn slack(
    stand_ins: &StandIns,
    method: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/{method}", stand_ins.slack_api_url()))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the Web API answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        status,
        retry_after,
        response.json().await.expect("a JSON answer"),
    )
}

async fn post_text(url: &str, content_type: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

async fn post_json(url: &str, body: &Value) -> (u16, String) {
    post_text(url, "application/json", body.to_string()).await
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[tokio::test]
async fn slack_web_api_validates_blocks_and_keeps_threads() {
    let stand_ins = start().await;

    let (status, _, posted) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "New federal lead", "blocks": lead_blocks()}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(posted["ok"], true, "{posted}");
    assert_eq!(posted["channel"], CHANNEL);
    let ts = posted["ts"].as_str().expect("a ts").to_owned();
    assert_eq!(posted["message"]["ts"], ts.as_str());
    assert_eq!(posted["message"]["blocks"], lead_blocks());

    // A header over 150 characters and an unknown block type: Slack's invalid_blocks.
    let (status, _, refused) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "x", "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}},
            {"type": "lead_card", "text": "no such block"}
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"], "invalid_blocks");
    let errors = refused["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{refused}");
    assert!(
        errors[0]
            .as_str()
            .is_some_and(|e| e.contains("150") && e.ends_with("[json-pointer:/blocks/0]"))
    );
    assert!(errors[1].as_str().is_some_and(|e| e.contains("lead_card")));
    let metadata = refused["response_metadata"]["messages"]
        .as_array()
        .expect("messages");
    assert!(
        metadata
            .iter()
            .all(|m| m.as_str().is_some_and(|m| m.starts_with("[ERROR] ")))
    );

    // A button's text over 75 characters is caught too (the SDK checks nested elements).
    let (_, _, refused) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "x", "blocks": [{"type": "actions", "elements": [
            {"type": "button", "action_id": "a",
             "text": {"type": "plain_text", "text": "c".repeat(76)}}]}]}),
    )
    .await;
    assert_eq!(refused["error"], "invalid_blocks", "{refused}");

    // Neither text nor blocks; more than 50 blocks.
    let (_, _, refused) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL}),
    )
    .await;
    assert_eq!(refused["error"], "no_text");
    let many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
    let (_, _, refused) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "x", "blocks": many}),
    )
    .await;
    assert_eq!(refused["error"], "invalid_blocks", "{refused}");

    // Auth and channels.
    let (_, _, answer) = slack(
        &stand_ins,
        "chat.postMessage",
        Some("xoxb-wrong"),
        json!({"channel": CHANNEL, "text": "x"}),
    )
    .await;
    assert_eq!(answer, json!({"ok": false, "error": "invalid_auth"}));
    let (_, _, answer) = slack(
        &stand_ins,
        "chat.postMessage",
        None,
        json!({"channel": CHANNEL, "text": "x"}),
    )
    .await;
    assert_eq!(answer, json!({"ok": false, "error": "not_authed"}));
    let (_, _, answer) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": "C0NOWHERE", "text": "x"}),
    )
    .await;
    assert_eq!(answer["error"], "channel_not_found");

    // Threads: a reply under the lead; a thread_ts naming nothing.
    let (_, _, reply) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "Escalated to tier 2", "thread_ts": ts}),
    )
    .await;
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["message"]["thread_ts"], ts.as_str());
    let (_, _, answer) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "x", "thread_ts": "1.000001"}),
    )
    .await;
    assert_eq!(answer["error"], "thread_not_found");
    let reply_ts = reply["ts"].as_str().expect("a ts");
    assert!(reply_ts > ts.as_str(), "ts increase: {ts} then {reply_ts}");

    // chat.update of the lead; of a message that does not exist.
    let claimed =
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "Claimed by <@U0FED1>"}}]);
    let (_, _, updated) = slack(
        &stand_ins,
        "chat.update",
        Some(TOKEN),
        json!({"channel": CHANNEL, "ts": ts, "text": "Claimed by fed-rep-1", "blocks": claimed}),
    )
    .await;
    assert_eq!(updated["ok"], true, "{updated}");
    assert_eq!(updated["ts"], ts.as_str());
    assert_eq!(updated["message"]["blocks"], claimed);
    let (_, _, answer) = slack(
        &stand_ins,
        "chat.update",
        Some(TOKEN),
        json!({"channel": CHANNEL, "ts": "1.000001", "text": "x"}),
    )
    .await;
    assert_eq!(answer["error"], "message_not_found");

    // An ephemeral message to the rep.
    let (_, _, ephemeral) = slack(
        &stand_ins,
        "chat.postEphemeral",
        Some(TOKEN),
        json!({"channel": CHANNEL, "user": REP, "text": "You have 5 minutes left"}),
    )
    .await;
    assert_eq!(ephemeral["ok"], true, "{ephemeral}");
    assert!(ephemeral["message_ts"].is_string());

    // users.info, form-encoded with the token in the body (as Slack also accepts).
    let (status, body) = post_text(
        &format!("{}/users.info", stand_ins.slack_api_url()),
        "application/x-www-form-urlencoded",
        format!("token={TOKEN}&user={REP}"),
    )
    .await;
    assert_eq!(status, 200);
    let user: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(user["ok"], true, "{user}");
    assert_eq!(user["user"]["id"], REP);
    assert_eq!(user["user"]["profile"]["email"], REP_EMAIL);
    let (_, _, answer) = slack(
        &stand_ins,
        "users.info",
        Some(TOKEN),
        json!({"user": "U0NOBODY"}),
    )
    .await;
    assert_eq!(answer["error"], "user_not_found");
    let (_, _, answer) = slack(&stand_ins, "auth.test", Some(TOKEN), json!({})).await;
    assert_eq!(answer["ok"], true);

    // What the tests and the local view read back.
    let messages = stand_ins.messages().await.expect("messages");
    let lead = &messages["messages"][0];
    assert_eq!(lead["kind"], "slack_app");
    assert_eq!(lead["channel"], CHANNEL);
    assert_eq!(lead["ts"], ts.as_str());
    assert_eq!(lead["body"]["blocks"], lead_blocks());
    assert_eq!(lead["updates"][0]["body"]["blocks"], claimed);
    assert_eq!(lead["message"]["text"], "Claimed by fed-rep-1");
    assert_eq!(messages["messages"][1]["thread_ts"], ts.as_str());
    assert_eq!(messages["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(messages["ephemerals"][0]["user"], REP);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_then_ok() {
    let stand_ins = start().await;
    stand_ins
        .rate_limit("chat.postMessage", 1, 1)
        .await
        .expect("armed");
    let post = json!({"channel": CHANNEL, "text": "New lead"});

    let (status, retry_after, body) =
        slack(&stand_ins, "chat.postMessage", Some(TOKEN), post.clone()).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));

    let wait: u64 = retry_after.and_then(|s| s.parse().ok()).expect("seconds");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, retry_after, body) =
        slack(&stand_ins, "chat.postMessage", Some(TOKEN), post).await;
    assert_eq!(status, 200);
    assert_eq!(retry_after, None);
    assert_eq!(body["ok"], true, "{body}");

    let calls = stand_ins.calls().await.expect("calls");
    let calls = calls.as_array().expect("a list");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["method"], "chat.postMessage");
    assert_eq!(calls[0]["rate_limited"], true);
    assert_eq!(calls[0]["status"], 429);
    assert_eq!(calls[1]["rate_limited"], false);
    let waited =
        calls[1]["time"].as_f64().expect("time") - calls[0]["time"].as_f64().expect("time");
    assert!(
        waited >= 1.0,
        "the second call came {waited} s after the 429"
    );
}

#[tokio::test]
async fn incoming_webhooks_answer_like_slack() {
    let stand_ins = start().await;
    let url = stand_ins.slack_webhook_url(SLACK_WEBHOOK);

    assert_eq!(
        post_json(&url, &json!({"text": "New lead", "blocks": lead_blocks()})).await,
        (200, "ok".into())
    );
    assert_eq!(
        post_json(&url, &json!({"username": "firsthour"})).await,
        (400, "no_text".into())
    );
    assert_eq!(
        post_json(&url, &json!({"text": "x", "blocks": [{"type": "section"}]})).await,
        (400, "invalid_blocks".into())
    );
    assert_eq!(
        post_text(&url, "application/json", "{not json".into()).await,
        (400, "invalid_payload".into())
    );
    assert_eq!(
        post_json(
            &stand_ins.slack_webhook_url("T000/B000/NOPE"),
            &json!({"text": "x"})
        )
        .await,
        (404, "no_service".into())
    );
    // The form encoding Slack also accepts.
    assert_eq!(
        post_text(
            &url,
            "application/x-www-form-urlencoded",
            "payload=%7B%22text%22%3A%22from+a+form%22%7D".into()
        )
        .await,
        (200, "ok".into())
    );

    let messages = stand_ins.messages().await.expect("messages");
    let received = messages["messages"].as_array().expect("a list");
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["kind"], "slack_webhook");
    assert_eq!(received[0]["webhook"], "alerts");
    assert_eq!(received[1]["body"]["text"], "from a form");
}

fn teams_message(card: Value) -> Value {
    json!({"type": "message", "attachments": [{"contentType": CONTENT_TYPE_CARD, "content": card}]})
}

#[tokio::test]
async fn teams_cards_are_checked_against_the_adaptive_card_schema() {
    let stand_ins = start().await;
    let url = stand_ins.teams_url("leads");

    let card = json!({
        "type": "AdaptiveCard", "version": "1.5",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": [
            {"type": "TextBlock", "text": "New federal lead", "size": "large",
             "weight": "bolder", "wrap": true},
            {"type": "FactSet", "facts": [{"title": "Email", "value": "jane@acme.gov"}]},
            {"type": "Container", "items": [{"type": "ColumnSet", "columns": [
                {"type": "Column", "width": "stretch",
                 "items": [{"type": "TextBlock", "text": "SLA 15 min"}]}]}]},
            {"type": "ActionSet", "actions": [
                {"type": "Action.OpenUrl", "title": "Open", "url": "https://example.com/l/1"}]}
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Claim", "url": "https://example.com/claim/1"}]
    });
    let (status, body) = post_json(&url, &teams_message(card.clone())).await;
    assert_eq!(status, 202, "{body}");

    let refused = [
        (
            json!({"type": "AdaptiveCard", "version": "1.5",
                   "body": [{"type": "TextBlock", "wrap": true}]}),
            "'text' is a required property",
            "/attachments/0/content/body/0",
        ),
        (
            json!({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "x"}]}),
            "'version' is a required property",
            "/attachments/0/content",
        ),
        (
            json!({"type": "AdaptiveCard", "version": "1.5", "body": [],
                   "actions": [{"type": "Action.Teleport", "title": "Go"}]}),
            "unknown type 'Action.Teleport'",
            "/attachments/0/content/actions/0",
        ),
        (
            json!({"type": "AdaptiveCard", "version": "1.5",
                   "body": [{"type": "FactSet",
                             "facts": [{"title": "Email", "value": "a", "colour": "red"}]}]}),
            "'colour' was unexpected",
            "/attachments/0/content/body/0/facts/0",
        ),
    ];
    for (card, message, path) in refused {
        let (status, body) = post_json(&url, &teams_message(card)).await;
        assert_eq!(status, 400, "{body}");
        let error: Value = serde_json::from_str(&body).expect("a JSON error");
        let details = error["error"]["details"].as_array().expect("details");
        assert!(
            details
                .iter()
                .any(|d| d["path"] == path
                    && d["message"].as_str().is_some_and(|m| m.contains(message))),
            "expected {message:?} at {path}: {body}"
        );
    }
    let (status, _) = post_json(
        &url,
        &json!({"type": "message",
                "attachments": [{"contentType": "text/html", "content": "<p>x</p>"}]}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_json(&stand_ins.teams_url("nobody"), &teams_message(card)).await;
    assert_eq!(status, 404);

    let messages = stand_ins.messages().await.expect("messages");
    assert_eq!(messages["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(messages["messages"][0]["kind"], "teams");
    assert_eq!(messages["messages"][0]["webhook"], "leads");
}

async fn deliver(url: &str, id: &str, timestamp: i64, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn webhook_deliveries_are_verified_with_standard_webhooks() {
    let stand_ins = start().await;
    let body = r#"{"type":"lead.created","data":{"id":"lead-123"}}"#;
    let now = unix_now();
    let signature = sign::standard_webhooks(HOOK_SECRET, "msg_1", now, body.as_bytes());

    let url = stand_ins.hook_url("crm");
    assert_eq!(deliver(&url, "msg_1", now, body, &signature).await, 204);
    let tampered = body.replace("lead-123", "lead-999");
    assert_eq!(
        deliver(&url, "msg_1", now, &tampered, &signature).await,
        401
    );
    let down = stand_ins.hook_url("down");
    assert_eq!(deliver(&down, "msg_2", now, body, &signature).await, 503);
    assert_eq!(deliver(&down, "msg_2", now, body, &signature).await, 503);

    let hooks = stand_ins.hooks().await.expect("hooks");
    let hooks = hooks.as_array().expect("a list");
    assert_eq!(hooks.len(), 4);
    assert_eq!(hooks[0]["name"], "crm");
    assert_eq!(hooks[0]["verified"], true);
    assert_eq!(hooks[0]["headers"]["webhook-id"], "msg_1");
    assert_eq!(hooks[0]["headers"]["webhook-signature"], signature.as_str());
    assert_eq!(hooks[0]["body"], body);
    assert_eq!(hooks[1]["verified"], false);
    assert!(
        hooks[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("signature"))
    );
    assert_eq!(hooks[2]["status"], 503);
    assert_eq!(hooks[3]["status"], 503);
    assert!(hooks[3]["time"].as_f64() >= hooks[2]["time"].as_f64());
}

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn interactivity(
    State(seen): State<Seen>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, &'static str) {
    seen.lock().expect("not poisoned").push((headers, body));
    (StatusCode::OK, "ack")
}

/// A tiny app that records what Slack (the stand-in) sends it.
async fn app() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let router = Router::new()
        .route("/slack/interactivity", post(interactivity))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/slack/interactivity"), seen)
}

fn form_field(body: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://form.invalid/?{body}")).ok()?;
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn a_click_sends_the_app_a_signed_block_actions_payload() {
    let stand_ins = start().await;
    let (_, _, posted) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "New federal lead", "blocks": lead_blocks()}),
    )
    .await;
    let ts = posted["ts"].as_str().expect("a ts").to_owned();

    // No interactivity URL yet: the click is refused; then it is set after start.
    match stand_ins.click(CHANNEL, &ts, REP).await {
        Err(StandInError::Status { status: 409, .. }) => {}
        other => panic!("expected a 409, got {other:?}"),
    }
    let (url, seen) = app().await;
    stand_ins
        .set_interactivity_url(&url)
        .await
        .expect("configured");

    let (status, body) = stand_ins.click(CHANNEL, &ts, REP).await.expect("clicked");
    assert_eq!((status, body.as_str()), (200, "ack"));

    let (headers, body) = seen
        .lock()
        .expect("not poisoned")
        .pop()
        .expect("the app was called");
    assert_eq!(
        headers["content-type"].to_str().ok(),
        Some("application/x-www-form-urlencoded")
    );
    let timestamp: i64 = headers["x-slack-request-timestamp"]
        .to_str()
        .ok()
        .and_then(|t| t.parse().ok())
        .expect("a timestamp");
    assert!((unix_now() - timestamp).abs() < 60);
    let expected = sign::body_mac(
        Scheme::Slack,
        SIGNING_SECRET,
        Some(timestamp),
        body.as_bytes(),
        None,
    )
    .expect("Slack signs with an HMAC");
    assert!(expected.starts_with("v0="));
    assert_eq!(
        headers["x-slack-signature"].to_str().ok(),
        Some(expected.as_str())
    );

    let payload: Value =
        serde_json::from_str(&form_field(&body, "payload").expect("payload=")).expect("JSON");
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["user"]["id"], REP);
    assert_eq!(payload["user"]["username"], "fed-rep-1");
    assert!(payload["user"]["team_id"].is_string());
    assert!(payload["api_app_id"].is_string());
    assert!(payload["token"].is_string());
    assert!(payload["trigger_id"].is_string());
    assert!(payload["team"]["id"].is_string());
    assert_eq!(
        payload["container"],
        json!({"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": false})
    );
    assert_eq!(
        payload["channel"],
        json!({"id": CHANNEL, "name": "federal-leads"})
    );
    assert_eq!(payload["message"]["ts"], ts.as_str());
    assert_eq!(payload["message"]["blocks"], lead_blocks());
    let action = &payload["actions"][0];
    assert_eq!(action["action_id"], "firsthour_claim");
    assert_eq!(action["block_id"], "claim");
    assert_eq!(action["value"], "lead-123");
    assert_eq!(action["type"], "button");
    assert!(action["action_ts"].is_string());
    let response_url = payload["response_url"].as_str().expect("a response_url");
    assert!(response_url.starts_with(&format!("{}/actions/", stand_ins.base_url())));

    // The app answers through response_url: an ephemeral note, then the message replaced.
    let (status, answer) = post_json(
        response_url,
        &json!({"response_type": "ephemeral", "text": "You claimed this lead."}),
    )
    .await;
    assert_eq!((status, answer.as_str()), (200, r#"{"ok": true}"#));
    let claimed =
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "Claimed by <@U0FED1>"}}]);
    let (status, _) = post_json(
        response_url,
        &json!({"replace_original": true, "text": "Claimed by fed-rep-1", "blocks": claimed}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, answer) = post_json(
        response_url,
        &json!({"replace_original": true, "text": "x", "blocks": [{"type": "nonsense"}]}),
    )
    .await;
    assert!(answer.contains("invalid_blocks"), "{answer}");

    let messages = stand_ins.messages().await.expect("messages");
    let lead = &messages["messages"][0];
    assert_eq!(lead["clicks"][0]["user"], REP);
    assert_eq!(lead["clicks"][0]["status"], 200);
    assert_eq!(lead["responses"][0]["body"]["response_type"], "ephemeral");
    assert_eq!(lead["responses"][2]["ok"], false);
    assert_eq!(lead["updates"][0]["via"], "response_url");
    assert_eq!(lead["message"]["blocks"], claimed);

    // No such message, or no such button.
    assert!(matches!(
        stand_ins.click(CHANNEL, "1.000001", REP).await,
        Err(StandInError::Status { status: 404, .. })
    ));
    assert!(matches!(
        stand_ins
            .click_action(CHANNEL, &ts, REP, "no_such_button")
            .await,
        Err(StandInError::Status { status: 404, .. })
    ));
}

#[tokio::test]
async fn the_human_view_escapes_what_it_shows() {
    let stand_ins = start().await;
    let (_, _, posted) = slack(
        &stand_ins,
        "chat.postMessage",
        Some(TOKEN),
        json!({"channel": CHANNEL, "text": "fallback", "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": "<script>alert('lead')</script>"}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Claim"},
                 "action_id": "firsthour_claim", "value": "lead-1"}]}
        ]}),
    )
    .await;
    assert_eq!(posted["ok"], true, "{posted}");
    let page = reqwest::get(stand_ins.base_url())
        .await
        .expect("the page")
        .text()
        .await
        .expect("HTML");
    assert!(
        page.contains("&lt;script&gt;alert(&#x27;lead&#x27;)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("federal-leads"));
    assert!(page.contains("action='/_standin/click'"));
    assert!(page.contains(&format!("<option value='{REP}'>")));
}
