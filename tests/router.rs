//! The router against moto: owner assignment, the first notification by
//! SES exactly once, failures recorded for escalation.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use firsthour::notify::OutgoingEmail;
use firsthour::ports::{MailError, Mailer};
use firsthour::router::RouterOutcome;
use firsthour_local::mail::{SentMail, sent_messages};
use firsthour_tests::*;

const JSON: (&str, &str) = ("content-type", "application/json");

async fn post(app: &Intake, source: &str, body: &str) -> String {
    let (status, _, text) = parts(
        app.handle(http_api_request(
            "POST",
            &format!("/leads/{source}"),
            &[JSON],
            body.as_bytes(),
        ))
        .await,
    );
    assert_eq!(status, 202, "{text}");
    json(&text)["lead_id"].as_str().expect("lead id").to_owned()
}

fn event_for(message: &serde_json::Value) -> EventBridgeEvent<serde_json::Value> {
    serde_json::from_value(message.clone()).expect("an EventBridge event")
}

async fn mails_about(needle: &str) -> Vec<SentMail> {
    sent_messages(&emulator_url())
        .await
        .expect("moto data")
        .into_iter()
        .filter(|m| m.body.contains(needle))
        .collect()
}

async fn lead(t: &TestStack, id: &str) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    t.leads()
        .await
        .into_iter()
        .find(|l| s(l, "lead_id") == Some(id))
        .expect("lead stored")
}

#[tokio::test]
async fn a_federal_lead_reaches_the_federal_team_once_escaped_and_single_line() {
    let t = TestStack::new().await;
    let intake = t.app().intake();
    let marker = ulid::Ulid::new().to_string();
    let body = serde_json::json!({
        "email": "grace.hopper@jpl.nasa.gov",
        "name": "Grace <script>alert(1)</script> Hopper",
        "company": "JPL\r\nBcc: victim@example.com",
        "message": format!("Need <b>40</b> seats {marker}"),
    });
    let id = post(&intake, "web", &body.to_string()).await;

    let events = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(events.len(), 1, "the federal rule caught it");
    assert_eq!(events[0]["detail"]["sector"], "federal");
    assert!(
        t.queue_events(
            &t.rule_queue("OtherLeadReceived"),
            0,
            Duration::from_millis(300)
        )
        .await
        .is_empty()
    );

    let router = t.app().router();
    let outcome = router.handle(event_for(&events[0])).await.expect("handled");
    assert!(
        matches!(outcome, Some(RouterOutcome::Notified { .. })),
        "{outcome:?}"
    );
    // EventBridge delivers at least once: the same event again sends nothing.
    let again = router.handle(event_for(&events[0])).await.expect("handled");
    assert_eq!(again, Some(RouterOutcome::AlreadyNotified));

    let mails = mails_about(&marker).await;
    // One email per recipient, each with its own claim link.
    let team: Vec<_> = mails
        .iter()
        .filter(|m| m.to == ["federal-sales@example.com"])
        .collect();
    assert_eq!(team.len(), 1, "exactly one email to the federal team");
    let owner: Vec<_> = mails
        .iter()
        .filter(|m| m.to.iter().any(|a| a.starts_with("fed-rep-")))
        .collect();
    assert_eq!(owner.len(), 1, "the owner is told too");
    assert_eq!(mails.len(), 2);
    let mail = team[0];
    assert_eq!(mail.from, SENDER);
    assert!(
        mail.body.contains("/claim?r=federal-sales%40example.com"),
        "a claim link bound to the recipient"
    );
    assert!(mail.subject.starts_with("Federal lead: National Aeronautics and Space Administration — JPL Bcc: victim@example.com"), "{}", mail.subject);
    assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    assert!(!mail.to.iter().any(|a| a.contains("victim")));
    assert!(mail.body.contains("&lt;script&gt;") && !mail.body.contains("<script>"));
    assert!(mail.body.contains("&lt;b&gt;40&lt;/b&gt;"));
    assert!(mail.body.contains("SLA deadline"));

    let stored = lead(&t, &id).await;
    assert_eq!(s(&stored, "routing_state"), Some("routed"));
    assert_eq!(s(&stored, "sector"), Some("federal"));
    assert_eq!(
        s(&stored, "agency"),
        Some("National Aeronautics and Space Administration")
    );
    assert_eq!(s(&stored, "rule"), Some("federal"));
    assert!(s(&stored, "owner").is_some_and(|o| o.starts_with("fed-rep-")));
    assert!(s(&stored, "notified_at").is_some());
    assert!(s(&stored, "route_reason").is_some_and(|r| r.contains("sector federal")));
    let evidence = stored["sector_evidence"].as_m().expect("evidence map");
    assert_eq!(
        evidence["domain"].as_s().map(String::as_str),
        Ok("jpl.nasa.gov")
    );
    // Due at the first tier of the federal ladder: 5 minutes after receipt.
    let due: i64 = stored["due_at"].as_n().expect("due").parse().expect("n");
    let received: i64 = stored["received_at_ms"]
        .as_n()
        .expect("ms")
        .parse()
        .expect("n");
    assert_eq!(due - received, 5 * 60 * 1000);
}

#[tokio::test]
async fn a_rejected_notification_is_recorded_for_escalation() {
    let t = TestStack::new().await;
    let intake = t.app().intake();
    let id = post(&intake, "web", r#"{"email":"pat@army.mil","name":"Pat"}"#).await;
    // moto, like SES, rejects a sender that is not a verified identity.
    let router = t
        .app()
        .env(&[("FIRSTHOUR_SENDER_EMAIL", "unverified@nowhere.example")])
        .router();
    let events = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    let outcome = router
        .handle(event_for(&events[0]))
        .await
        .expect("not retried");
    assert!(
        matches!(outcome, Some(RouterOutcome::NotificationRejected(_))),
        "{outcome:?}"
    );
    let stored = lead(&t, &id).await;
    assert!(s(&stored, "notify_failed_at").is_some());
    assert!(s(&stored, "notify_error").is_some());
    assert!(s(&stored, "notified_at").is_none());
    assert_eq!(
        s(&stored, "due_bucket"),
        Some("due"),
        "escalation will find it"
    );
}

/// Throttles the first `failures` sends, then lets them through, counting.
struct FlakyMailer {
    failures: AtomicUsize,
    sent: Arc<AtomicUsize>,
}

impl Mailer for FlakyMailer {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(MailError::Throttled("Maximum sending rate exceeded".into()));
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok("message-1".into())
    }
}

#[tokio::test]
async fn throttling_is_retried_and_sends_once() {
    let t = TestStack::new().await;
    let intake = t.app().intake();
    let id = post(&intake, "web", r#"{"email":"sam@us.af.mil"}"#).await;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let router = t
        .app()
        .mailer(FlakyMailer {
            failures: AtomicUsize::new(2),
            sent: counter,
        })
        .router();
    let events = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    for _ in 0..2 {
        assert!(
            router.handle(event_for(&events[0])).await.is_err(),
            "throttled: retryable"
        );
    }
    assert!(matches!(
        router.handle(event_for(&events[0])).await,
        Ok(Some(RouterOutcome::Notified { .. }))
    ));
    assert_eq!(
        router.handle(event_for(&events[0])).await,
        Ok(Some(RouterOutcome::AlreadyNotified))
    );
    assert_eq!(
        sent.load(Ordering::SeqCst),
        2,
        "one email to the team, one to the owner; none twice"
    );
    assert!(s(&lead(&t, &id).await, "notified_at").is_some());
}

/// Thirty federal leads posted, then routed all at once at `at` with the
/// rules at `config` (the shipped ones without): how many each owner got,
/// and how many emails went out.
async fn thirty_routed_at_once(
    t: &TestStack,
    config: Option<&str>,
    at: time::OffsetDateTime,
) -> (HashMap<String, usize>, usize) {
    let app = || match config {
        Some(path) => t.app().config(path),
        None => t.app(),
    };
    let intake = app().intake();
    for i in 0..30 {
        post(
            &intake,
            "web",
            &format!(r#"{{"email":"officer{i}@navy.mil","message":"rr {i}"}}"#),
        )
        .await;
    }
    let events = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            30,
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(events.len(), 30);
    let sent = Arc::new(AtomicUsize::new(0));
    let router = Arc::new(
        app()
            .clock(firsthour::ports::ManualClock::new(at))
            .mailer(FlakyMailer {
                failures: AtomicUsize::new(0),
                sent: sent.clone(),
            })
            .router(),
    );
    let handles: Vec<_> = events
        .into_iter()
        .map(|event| {
            let router = router.clone();
            tokio::spawn(async move { router.handle(event_for(&event)).await })
        })
        .collect();
    for handle in handles {
        assert!(matches!(
            handle.await.expect("task"),
            Ok(Some(RouterOutcome::Notified { .. }))
        ));
    }
    let mut per_owner: HashMap<String, usize> = HashMap::new();
    for item in t.leads().await {
        *per_owner
            .entry(s(&item, "owner").unwrap_or("none").to_owned())
            .or_default() += 1;
    }
    (per_owner, sent.load(Ordering::SeqCst))
}

/// Monday 10:00 in New York: every shipped federal rep is within their hours.
const MONDAY_MORNING: time::OffsetDateTime = time::macros::datetime!(2026-11-23 15:00 UTC);

#[tokio::test]
async fn round_robin_is_fair_under_concurrency_and_skips_the_inactive_rep() {
    let t = TestStack::new().await;
    let (per_owner, sent) = thirty_routed_at_once(&t, None, MONDAY_MORNING).await;
    assert_eq!(per_owner.len(), 3, "{per_owner:?}");
    assert!(per_owner.values().all(|n| *n == 10), "{per_owner:?}");
    assert!(!per_owner.contains_key("fed-rep-away@example.com"));
    assert_eq!(sent, 60, "team and owner, once each per lead");
}

/// Only available reps get leads, under concurrency: one away (set in the
/// table), one outside their hours, two at a cap of 5, one without a cap.
#[tokio::test]
async fn thirty_leads_at_once_skip_away_and_off_hours_reps_and_keep_caps() {
    use firsthour::ports::RepStore;
    let t = TestStack::new().await;
    let path = temp_config(
        r#"
[calendars.tokyo]
time_zone = "Asia/Tokyo"
hours = "09:00-17:00"

[teams.federal]
reps = [
  { email = "capped-1@example.com", max_per_day = 5 },
  { email = "capped-2@example.com", max_per_day = 5 },
  { email = "open@example.com" },
  { email = "on-leave@example.com" },
  { email = "tokyo@example.com", calendar = "tokyo" },
]

[[rules]]
name = "federal"
segment = "federal"
team = "federal"
assignment = "round_robin"
recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS"]
when = { sector = ["federal"] }

[fallback]
name = "fallback"
segment = "other"
recipients = ["$FIRSTHOUR_FALLBACK_EMAILS"]
"#,
    );
    let store = firsthour_aws::DynamoLeadStore::new(t.dynamo(), t.stack.table_name.clone());
    let away = firsthour::roster::Away {
        since: MONDAY_MORNING,
        until: None,
        reason: "leave".into(),
    };
    store
        .set_away("on-leave@example.com", &away, false)
        .await
        .expect("away");
    // 10:00 in New York is midnight in Tokyo.
    let (per_owner, _) = thirty_routed_at_once(&t, Some(&path), MONDAY_MORNING).await;
    assert_eq!(
        per_owner.get("capped-1@example.com"),
        Some(&5),
        "{per_owner:?}"
    );
    assert_eq!(
        per_owner.get("capped-2@example.com"),
        Some(&5),
        "{per_owner:?}"
    );
    assert_eq!(
        per_owner.get("open@example.com"),
        Some(&20),
        "{per_owner:?}"
    );
    assert_eq!(
        per_owner.len(),
        3,
        "nobody away or off hours: {per_owner:?}"
    );
    let reasons: Vec<String> = t
        .leads()
        .await
        .iter()
        .filter_map(|l| s(l, "route_reason").map(str::to_owned))
        .collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("skipped away: on-leave@example.com")
                && r.contains("skipped outside working hours: tokyo@example.com")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn unmatched_leads_go_to_the_fallback_recipients() {
    let t = TestStack::new().await;
    let path = temp_config(
        r#"
[[rules]]
name = "federal"
segment = "federal"
recipients = ["federal-sales@example.com"]
when = { sector = ["federal"] }

[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["sales-ops@example.com"]
"#,
    );
    let intake = t.app().config(&path).intake();
    let marker = ulid::Ulid::new().to_string();
    let id = post(
        &intake,
        "web",
        &format!(r#"{{"email":"someone@startup.io","message":"{marker}"}}"#),
    )
    .await;
    let stored = lead(&t, &id).await;
    assert_eq!(s(&stored, "rule"), Some("fallback"));
    assert_eq!(s(&stored, "segment"), Some("unmatched"));
    assert_eq!(stored["fallback"].as_bool(), Ok(&true));

    let events = t
        .queue_events(
            &t.rule_queue("OtherLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(events.len(), 1);
    let router = t.app().config(&path).router();
    assert!(matches!(
        router.handle(event_for(&events[0])).await,
        Ok(Some(RouterOutcome::Notified { .. }))
    ));
    let mails = mails_about(&marker).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["sales-ops@example.com".to_owned()]);
}
