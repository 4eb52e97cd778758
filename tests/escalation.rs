//! Escalation against moto with a controlled clock: ladders in wall and
//! business time, claims and touches stopping the clock, concurrent sweeps,
//! re-drive, and the sweep's reads staying proportional to the due leads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use firsthour::claim::{LinkKey, claim_url};
use firsthour::lead::LeadId;
use firsthour::metrics::Metrics;
use firsthour::notify::OutgoingEmail;
use firsthour::ports::{Clock, MailError, Mailer, ManualClock};
use firsthour::record::RoutingState;
use firsthour_aws::table::LeadItem;
use firsthour_tests::*;
use time::OffsetDateTime;
use time::macros::datetime;

const JSON: (&str, &str) = ("content-type", "application/json");

fn to(emails: &[OutgoingEmail]) -> Vec<String> {
    let mut all: Vec<String> = emails.iter().flat_map(|e| e.to.clone()).collect();
    all.sort();
    all
}

async fn post_at(t: &TestStack, clock: &ManualClock, extra: &[(&str, &str)], body: &str) -> String {
    let app = t.app().env(extra).clock(clock.clone()).intake();
    let (status, _, text) = parts(
        app.handle(http_api_request("POST", "/leads", &[JSON], body.as_bytes()))
            .await,
    );
    assert_eq!(status, 202, "{text}");
    json(&text)["lead_id"].as_str().expect("id").to_owned()
}

async fn route_all(t: &TestStack, clock: &ManualClock, extra: &[(&str, &str)], outbox: &Outbox) {
    let router = t
        .app()
        .env(extra)
        .clock(clock.clone())
        .mailer(outbox.clone())
        .router();
    route_with(t, &router).await;
}

/// Hands every LeadReceived waiting in the rule queues to `router`.
async fn route_with<M: Mailer>(t: &TestStack, router: &Router<M, ManualClock>) {
    let mut events = Vec::new();
    for queue in t.router_queues() {
        events.extend(t.queue_events(&queue, 0, Duration::from_millis(300)).await);
    }
    for event in events {
        let event: EventBridgeEvent<serde_json::Value> =
            serde_json::from_value(event).expect("event");
        router.handle(event).await.expect("routed");
    }
}

/// Federal leads `officer{n}@navy.mil`, one per `n`, posted at the clock's time.
async fn post_officers(t: &TestStack, clock: &ManualClock, numbers: std::ops::Range<u32>) {
    for n in numbers {
        post_at(
            t,
            clock,
            &[],
            &format!(r#"{{"email":"officer{n}@navy.mil"}}"#),
        )
        .await;
    }
}

/// Every stored lead's owner.
async fn lead_owners(t: &TestStack) -> Vec<String> {
    t.leads()
        .await
        .iter()
        .filter_map(|l| s(l, "owner").map(str::to_owned))
        .collect()
}

/// The rep after `owner` in the shipped federal rotation.
fn next_rep(owner: &str) -> String {
    let reps = ["fed-rep-1", "fed-rep-2", "fed-rep-3"];
    let at = reps
        .iter()
        .position(|r| owner.starts_with(r))
        .expect("a federal rep");
    format!("{}@example.com", reps[(at + 1) % reps.len()])
}

async fn item(t: &TestStack, id: &str) -> HashMap<String, AttributeValue> {
    t.leads()
        .await
        .into_iter()
        .find(|l| s(l, "lead_id") == Some(id))
        .expect("lead")
}

#[tokio::test]
async fn a_lead_walks_every_tier_of_its_ladder_at_the_right_minute() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let id = post_at(
        &t,
        &clock,
        &[],
        r#"{"email":"major.payne@army.mil","name":"Major Payne"}"#,
    )
    .await;
    route_all(&t, &clock, &[], &outbox).await;
    let first = outbox.take();
    assert_eq!(first.len(), 2, "team and owner");
    let owner = s(&item(&t, &id).await, "owner").expect("owner").to_owned();

    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation();
    // The federal ladder: 5 min → owner, 10 min → the next rep (and the
    // owner told it moved), 15 min → manager, 60 min → director, then the fallback.
    let next = next_rep(&owner);
    let steps: [(u64, Vec<String>); 7] = [
        (4, vec![]),
        (5, vec![owner.clone()]),
        (10, {
            let mut both = vec![next.clone(), owner.clone()];
            both.sort();
            both
        }),
        (14, vec![]),
        (15, vec!["federal-lead@example.com".into()]),
        (60, vec!["federal-director@example.com".into()]),
        (105, vec!["sales-ops@example.com".into()]),
    ];
    for (minute, expected) in steps {
        clock.set(t0 + Duration::from_secs(minute * 60));
        escalation.sweep().await.expect("sweep");
        let sent = outbox.take();
        assert_eq!(to(&sent), expected, "minute {minute}");
        if let Some(email) = sent.first() {
            assert!(email.subject.contains("Major Payne"), "{}", email.subject);
            assert!(
                email.html.contains("/claim?r="),
                "each email carries a claim link"
            );
        }
    }
    assert_eq!(s(&item(&t, &id).await, "owner"), Some(next.as_str()));
    let stored = item(&t, &id).await;
    assert!(s(&stored, "breached_at").is_some());
    let lead: LeadItem = serde_dynamo::from_item(stored.clone()).expect("lead item");
    let stamps: Vec<(u32, i64, bool)> = lead
        .escalations
        .iter()
        .map(|e| (e.tier, e.ms / 60_000, e.breach))
        .collect();
    assert_eq!(
        stamps,
        vec![
            (1, 5, false),
            (2, 10, false),
            (3, 15, false),
            (4, 60, false),
            (5, 105, true)
        ],
        "one stamp per tier, the breach last"
    );
    let moves: Vec<(Option<&str>, &str, u32)> = lead
        .reassignments
        .iter()
        .map(|r| (r.from.as_deref(), r.to.as_str(), r.tier))
        .collect();
    assert_eq!(moves, vec![(Some(owner.as_str()), next.as_str(), 2)]);
    assert_eq!(
        stored
            .get("due_bucket")
            .and_then(|b| b.as_s().ok())
            .map(String::as_str),
        Some(firsthour_aws::table::BREACHED_BUCKET_VALUE),
        "out of the sweep's partition after the breach, in the breached one"
    );
    clock.set(t0 + Duration::from_secs(500 * 60));
    let report = escalation.sweep().await.expect("sweep");
    assert_eq!(report.due, 0);
    assert!(outbox.take().is_empty());
}

const BUSINESS_CONFIG: &str = r#"
[calendars.us-east]
time_zone = "America/New_York"
holidays = "us-federal"

[ladders.business]
clock = "business"
calendar = "us-east"
tiers = [
  { after = "1h", notify = ["owner"] },
  { after = "2h", notify = ["manager"] },
]

[teams.sales]
manager = "manager@example.com"
reps = [{ email = "rep@example.com" }]

[[rules]]
name = "everyone"
segment = "commercial"
team = "sales"
assignment = "round_robin"
ladder = "business"

[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["ops@example.com"]
"#;

#[tokio::test]
async fn business_time_skips_the_weekend_and_a_holiday() {
    let t = TestStack::new().await;
    let path = temp_config(BUSINESS_CONFIG);
    let extra = [("FIRSTHOUR_CONFIG_FILE", path.as_str())];
    // Friday 2026-01-16 16:30 in New York; Monday the 19th is Martin Luther King Jr. Day.
    let friday = datetime!(2026-01-16 21:30 UTC);
    let clock = ManualClock::new(friday);
    let outbox = Outbox::default();
    post_at(&t, &clock, &extra, r#"{"email":"buyer@shop.example"}"#).await;
    route_all(&t, &clock, &extra, &outbox).await;
    assert_eq!(to(&outbox.take()), vec!["rep@example.com"]);

    let escalation = t
        .app()
        .env(&extra)
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation();
    let steps: [(OffsetDateTime, Vec<&str>); 6] = [
        (datetime!(2026-01-16 22:45 UTC), vec![]), // Friday after hours
        (datetime!(2026-01-19 15:00 UTC), vec![]), // the holiday, 10:00 in New York
        (datetime!(2026-01-20 14:29 UTC), vec![]), // Tuesday 09:29
        (datetime!(2026-01-20 14:30 UTC), vec!["rep@example.com"]), // 30 min Friday + 30 min Tuesday
        (datetime!(2026-01-20 15:29 UTC), vec![]),
        (datetime!(2026-01-20 15:30 UTC), vec!["manager@example.com"]), // 2 business hours
    ];
    for (at, expected) in steps {
        clock.set(at);
        escalation.sweep().await.expect("sweep");
        let expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        assert_eq!(to(&outbox.take()), expected, "at {at}");
    }
}

fn link_parts(url: &str) -> (String, HashMap<String, String>) {
    let (path, query) = url.split_once('?').expect("query");
    let path = path.split_once("//").map_or(path, |(_, rest)| {
        rest.split_once('/').map_or(rest, |(_, p)| p)
    });
    let params = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (format!("/{path}"), params)
}

/// Opening a claim link (GET, as a browser or a mail scanner does), or its
/// Claim button (POST to the same URL).
fn claim_request(method: &str, path: &str, params: &HashMap<String, String>) -> intake::Request {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let mut event = http_api_event(method, path, &[("accept", "text/html")], b"");
    event["rawQueryString"] = query.into();
    request_from_event(event)
}

#[tokio::test]
async fn claiming_stops_the_clock_and_links_cannot_be_forged() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let id = post_at(&t, &clock, &[], r#"{"email":"cpt@navy.mil"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    let emails = outbox.take();
    let owner_email = emails
        .iter()
        .find(|e| e.to[0].starts_with("fed-rep-"))
        .expect("owner email");
    let owner = owner_email.to[0].clone();
    let (path, params) = claim_link_in(owner_email);
    assert_eq!(path, format!("/leads/{id}/claim"));
    let intake = t.app().clock(clock.clone()).intake();

    // Tampered: another recipient, a later expiry, a broken signature.
    let mut forged = params.clone();
    forged.insert("r".into(), "attacker@example.com".into());
    let mut later = params.clone();
    later.insert("e".into(), "99999999999".into());
    let mut broken = params.clone();
    broken.insert("s".into(), "AAAA".into());
    for bad in [forged, later, broken] {
        for method in ["GET", "POST"] {
            let (status, _, page) = parts(intake.handle(claim_request(method, &path, &bad)).await);
            assert_eq!(status, 403, "{page}");
            assert!(page.contains("cannot be used") && page.contains("Nothing was recorded"));
        }
    }
    assert!(
        s(&item(&t, &id).await, "claimed_at").is_none(),
        "nothing recorded"
    );
    // Expired: a week later.
    clock.set(t0 + Duration::from_secs(8 * 24 * 3600));
    let (status, _, page) = parts(intake.handle(claim_request("POST", &path, &params)).await);
    assert_eq!(status, 410, "{page}");
    assert!(s(&item(&t, &id).await, "claimed_at").is_none());

    // Opening the link (a person, or a mail security gateway scanning it)
    // shows the lead and a button; it claims nothing, however often.
    clock.set(t0 + Duration::from_secs(120));
    for method in ["GET", "HEAD", "GET"] {
        let (status, headers, page) =
            parts(intake.handle(claim_request(method, &path, &params)).await);
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        if method == "GET" {
            assert!(page.contains("Claim this lead?"), "{page}");
            assert!(page.contains("<form method=\"post\">"), "{page}");
            assert!(page.contains("federal"), "the page says which lead: {page}");
        } else {
            assert!(page.is_empty(), "HEAD has no body");
        }
    }
    assert!(
        s(&item(&t, &id).await, "claimed_at").is_none(),
        "opening a claim link claims nothing"
    );
    let (status, headers, page) = parts(intake.handle(claim_request("POST", &path, &params)).await);
    assert_eq!(status, 200, "{page}");
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(page.contains("The lead is yours"));
    let stored = item(&t, &id).await;
    assert_eq!(s(&stored, "claimed_by"), Some(owner.as_str()));
    assert!(!stored.contains_key("due_at"), "the clock stopped");
    assert_eq!(stored["touches"].as_n().map(String::as_str), Ok("1"));

    // The team's link, opened after the owner claimed: shows who has it.
    let key = LinkKey::new(t.secret("LinkSigningKeySecret").as_bytes()).expect("key");
    let lead = LeadId::parse(&id).expect("id");
    let team_link = claim_url(
        "http://x",
        &key,
        &lead,
        "federal-sales@example.com",
        t0 + Duration::from_secs(3600),
    );
    let (team_path, team_params) = link_parts(&team_link);
    let (status, _, page) = parts(
        intake
            .handle(claim_request("POST", &team_path, &team_params))
            .await,
    );
    assert_eq!(status, 409);
    assert!(
        page.contains("Someone already has this lead") && page.contains(&owner),
        "{page}"
    );
    let (status, _, page) = parts(
        intake
            .handle(claim_request("GET", &team_path, &team_params))
            .await,
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("Someone already has this lead")
            && page.contains(&owner)
            && !page.contains("<form"),
        "{page}"
    );
    for method in ["GET", "POST"] {
        let (status, _, page) = parts(intake.handle(claim_request(method, &path, &params)).await);
        assert_eq!(status, 200);
        assert!(page.contains("You already have this lead"));
    }

    // No escalation once claimed.
    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation();
    for minute in [5, 15, 60, 200] {
        clock.set(t0 + Duration::from_secs(minute * 60));
        escalation.sweep().await.expect("sweep");
    }
    assert!(outbox.take().is_empty());
}

#[tokio::test]
async fn the_touch_api_is_authenticated_idempotent_and_announced() {
    let t = TestStack::new().await;
    let clock = ManualClock::new(datetime!(2026-11-23 15:00 UTC));
    let outbox = Outbox::default();
    let id = post_at(&t, &clock, &[], r#"{"email":"buyer@shop.example"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    // Watch LeadTouched on the bus through a rule of our own.
    let queue = firsthour_local::bootstrap::rule_to_queue(
        &t.sdk,
        &t.stack.bus_name,
        &format!("{}-touched", t.stack.prefix),
        r#"{"source":["firsthour"],"detail-type":["LeadTouched"]}"#,
    )
    .await
    .expect("a rule and queue for LeadTouched");

    let intake = t.app().clock(clock.clone()).intake();
    let path = format!("/leads/{id}/touch");
    let auth = format!("Bearer {}", t.secret("TouchApiTokenSecret"));
    let touch = |body: &'static str, token: String| {
        let headers = vec![
            JSON,
            ("authorization", Box::leak(token.into_boxed_str()) as &str),
        ];
        http_api_request("POST", &path, &headers, body.as_bytes())
    };
    let call = r#"{"by":"ae-1@example.com","channel":"call","touch_id":"dialer-42"}"#;
    let (status, _, text) = parts(intake.handle(touch(call, auth.clone())).await);
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["touches"], 1);
    let (status, _, text) = parts(intake.handle(touch(call, auth.clone())).await);
    assert_eq!(status, 200);
    assert_eq!(json(&text)["status"], "duplicate");
    let email = r#"{"by":"ae-1@example.com","channel":"email","touch_id":"mail-7"}"#;
    let (_, _, text) = parts(intake.handle(touch(email, auth.clone())).await);
    assert_eq!(json(&text)["touches"], 2);
    let stored = item(&t, &id).await;
    assert_eq!(stored["touches"].as_n().map(String::as_str), Ok("2"));
    assert_eq!(
        s(&stored, "claimed_by"),
        Some("ae-1@example.com"),
        "the first touch claims"
    );
    assert!(!stored.contains_key("due_at"));

    for (body, token, expected) in [
        (call, "Bearer wrong-token-xxxxxxxxxx".to_owned(), 401),
        (call, String::new(), 401),
        (
            r#"{"by":"not an email","channel":"call","touch_id":"x"}"#,
            auth.clone(),
            422,
        ),
        (
            r#"{"by":"a@example.com","channel":"pigeon","touch_id":"x"}"#,
            auth.clone(),
            422,
        ),
        (
            r#"{"by":"a@example.com","channel":"call"}"#,
            auth.clone(),
            422,
        ),
        (r#"{"by":"#, auth.clone(), 400),
    ] {
        let (status, _, text) = parts(intake.handle(touch(body, token)).await);
        assert_eq!(status, expected, "{body}: {text}");
    }
    let ghost = format!("/leads/{}/touch", LeadId::new_at(OffsetDateTime::now_utc()));
    let (status, _, _) = parts(
        intake
            .handle(http_api_request(
                "POST",
                &ghost,
                &[JSON, ("authorization", &auth)],
                call.as_bytes(),
            ))
            .await,
    );
    assert_eq!(status, 404);
    let touched = t.queue_events(&queue, 2, Duration::from_secs(3)).await;
    assert_eq!(touched.len(), 2, "one LeadTouched per recorded touch");
    assert_eq!(touched[0]["detail"]["lead_id"], id.as_str());
}

fn due_item(
    template: &LeadItem,
    due_at: Option<OffsetDateTime>,
) -> HashMap<String, AttributeValue> {
    let at = template
        .lead_id
        .created_at()
        .expect("an id carries its time");
    let mut item = template.clone();
    item.lead_id = LeadId::new_at(at);
    item.pk = firsthour_aws::table::lead_pk(&item.lead_id);
    match due_at {
        Some(due) => item.due_at = Some(firsthour::lead::unix_millis(due)),
        None => {
            item.due_at = None;
            item.due_bucket = None;
            item.claimed_at = Some(item.received_at.clone());
        }
    }
    serde_dynamo::to_item(&item).expect("item")
}

/// A routed, notified federal lead, as the router leaves it.
async fn routed_template(t: &TestStack, clock: &ManualClock) -> LeadItem {
    let outbox = Outbox::default();
    let id = post_at(t, clock, &[], r#"{"email":"sgt@army.mil"}"#).await;
    route_all(t, clock, &[], &outbox).await;
    let stored = item(t, &id).await;
    let lead: LeadItem = serde_dynamo::from_item(stored).expect("lead item");
    assert_eq!(lead.routing_state, RoutingState::Routed);
    lead
}

#[tokio::test]
async fn two_concurrent_sweeps_send_each_tier_once() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let template = routed_template(&t, &clock).await;
    let items: Vec<_> = (0..200)
        .map(|_| due_item(&template, Some(t0 + Duration::from_secs(60))))
        .collect();
    t.put_items(items).await;
    // Past the first tier, before the second (10 minutes).
    clock.set(t0 + Duration::from_secs(9 * 60));
    let (first, second) = (Outbox::default(), Outbox::default());
    let a = t
        .app()
        .clock(clock.clone())
        .mailer(first.clone())
        .escalation();
    let b = t
        .app()
        .clock(clock.clone())
        .mailer(second.clone())
        .escalation();
    let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
    let (ra, rb) = (ra.expect("sweep a"), rb.expect("sweep b"));
    let sent = first.take().len() + second.take().len();
    // The template lead itself is due too (its 5-minute tier passed).
    assert_eq!(
        sent, 201,
        "each lead's tier email exactly once ({ra:?} / {rb:?})"
    );
    assert_eq!(ra.escalated + rb.escalated, 201);
    let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
    assert_eq!(
        ra.expect("a").escalated + rb.expect("b").escalated,
        0,
        "nothing twice"
    );
    assert!(first.take().is_empty() && second.take().is_empty());
}

#[tokio::test]
async fn a_lead_whose_event_was_lost_is_re_driven() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let dead = sdk_at(DEAD_ENDPOINT).await;
    let intake = t.app().clock(clock.clone()).bus_at(&dead).intake();
    let (status, _, text) = parts(
        intake
            .handle(http_api_request(
                "POST",
                "/leads",
                &[JSON],
                br#"{"email":"lost@navy.mil"}"#,
            ))
            .await,
    );
    assert_eq!(status, 202);
    let id = json(&text)["lead_id"].as_str().expect("id").to_owned();
    assert!(
        t.router_events(0, Duration::from_millis(300))
            .await
            .is_empty(),
        "no event ever reached the bus"
    );

    let outbox = Outbox::default();
    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation();
    clock.set(t0 + Duration::from_secs(30));
    let report = escalation.sweep().await.expect("sweep");
    assert_eq!(report.redriven, 1, "{report:?}");
    let sent = outbox.take();
    assert!(
        to(&sent).contains(&"federal-sales@example.com".to_owned()),
        "{:?}",
        to(&sent)
    );
    let stored = item(&t, &id).await;
    assert_eq!(s(&stored, "routing_state"), Some("routed"));
    assert!(s(&stored, "notified_at").is_some());
}

#[tokio::test]
async fn a_sweep_reads_the_due_leads_not_the_table() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let template = routed_template(&t, &clock).await;
    let mut items: Vec<_> = (0..9_990).map(|_| due_item(&template, None)).collect();
    items.extend((0..10).map(|_| due_item(&template, Some(t0 + Duration::from_secs(60)))));
    t.put_items(items).await;
    // Only the ten (and the template lead, due at 5 minutes) are due at minute 6.
    clock.set(t0 + Duration::from_secs(6 * 60));
    let outbox = Outbox::default();
    let report = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation()
        .sweep()
        .await
        .expect("sweep");
    assert_eq!(report.due, 11, "{report:?}");
    assert!(
        report.scanned <= 12,
        "read {} items for 11 due leads in a table of 10,001",
        report.scanned
    );
    assert_eq!(outbox.take().len(), 11);
}

/// Refuses every send as SES does for a bad address.
#[derive(Clone)]
struct Rejecting;

impl Mailer for Rejecting {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        Err(MailError::Rejected(
            "MessageRejected: Email address is not verified".into(),
        ))
    }
}

/// Throttles while `throttled` is set, records otherwise.
#[derive(Clone, Default)]
struct Throttling {
    throttled: Arc<std::sync::atomic::AtomicBool>,
    outbox: Outbox,
}

impl Mailer for Throttling {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if self.throttled.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError::Throttled("TooManyRequestsException".into()));
        }
        self.outbox.send(email).await
    }
}

#[tokio::test]
async fn a_rejected_first_notification_escalates_at_once() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let id = post_at(&t, &clock, &[], r#"{"email":"col@army.mil"}"#).await;
    let router = t.app().clock(clock.clone()).mailer(Rejecting).router();
    for queue in t.router_queues() {
        for event in t.queue_events(&queue, 0, Duration::from_millis(300)).await {
            router
                .handle(serde_json::from_value(event).expect("event"))
                .await
                .expect("handled");
        }
    }
    assert!(s(&item(&t, &id).await, "notify_failed_at").is_some());
    // One minute later, long before the 5-minute tier: the first tier fires now.
    clock.set(t0 + Duration::from_secs(60));
    let outbox = Outbox::default();
    let report = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation()
        .sweep()
        .await
        .expect("sweep");
    assert_eq!(report.escalated, 1, "{report:?}");
    let sent = outbox.take();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].subject.starts_with("Escalation 1 of 4"),
        "{}",
        sent[0].subject
    );
}

#[tokio::test]
async fn a_throttled_tier_is_sent_later_exactly_once() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let id = post_at(&t, &clock, &[], r#"{"email":"lt@navy.mil"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    outbox.take();
    let mailer = Throttling::default();
    mailer
        .throttled
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(mailer.clone())
        .escalation();
    clock.set(t0 + Duration::from_secs(5 * 60));
    let report = escalation.sweep().await.expect("sweep");
    assert_eq!(report.deferred, 1, "{report:?}");
    assert!(
        item(&t, &id).await.contains_key("owed_tier"),
        "the tier's email is owed"
    );
    // Still throttled 30 s later: not due yet (retry after a minute).
    clock.set(t0 + Duration::from_secs(5 * 60 + 30));
    assert_eq!(escalation.sweep().await.expect("sweep").due, 0);
    mailer
        .throttled
        .store(false, std::sync::atomic::Ordering::SeqCst);
    clock.set(t0 + Duration::from_secs(6 * 60 + 1));
    let report = escalation.sweep().await.expect("sweep");
    assert_eq!(report.escalated, 1, "{report:?}");
    assert_eq!(mailer.outbox.take().len(), 1, "sent once, not lost");
    assert!(!item(&t, &id).await.contains_key("owed_tier"));
    // And the next tier still comes at 10 minutes.
    clock.set(t0 + Duration::from_secs(9 * 60));
    assert_eq!(escalation.sweep().await.expect("sweep").due, 0);
    clock.set(t0 + Duration::from_secs(10 * 60));
    assert_eq!(escalation.sweep().await.expect("sweep").escalated, 1);
}

#[tokio::test]
async fn the_sample_scheduled_event_runs_a_sweep() {
    let t = TestStack::new().await;
    let text =
        std::fs::read_to_string(root().join("events/lambda/scheduled-sweep.json")).expect("sample");
    let event: EventBridgeEvent<serde_json::Value> =
        serde_json::from_str(&text).expect("a scheduled event");
    assert_eq!(event.detail_type, "Scheduled Event");
    let report = t
        .app()
        .clock(ManualClock::new(datetime!(2026-11-23 15:00 UTC)))
        .mailer(Outbox::default())
        .escalation()
        .sweep()
        .await
        .expect("sweep");
    assert_eq!(report.due, 0);
}

fn n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The events of one metric name, as (its value, its dimensions' values).
fn measured(metrics: &Metrics, name: &str) -> Vec<(f64, Vec<String>)> {
    metrics
        .events()
        .iter()
        .filter_map(|e| {
            let dims = ["Segment", "Source", "Tier"]
                .iter()
                .filter_map(|d| e.dimension_of(d).map(str::to_owned))
                .collect();
            e.get(name).map(|v| (v, dims))
        })
        .collect()
}

#[tokio::test]
async fn every_stage_is_stamped_on_the_lead_and_measured() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let metrics = Metrics::recording();
    let intake = t
        .app()
        .clock(clock.clone())
        .intake()
        .with_metrics(metrics.clone());
    let id = post_json_lead(
        &intake,
        r#"{"email":"major.payne@army.mil","name":"Major Payne"}"#,
    )
    .await;

    clock.set(t0 + Duration::from_secs(2));
    let outbox = Outbox::default();
    let router = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .router()
        .with_metrics(metrics.clone());
    route_with(&t, &router).await;
    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation()
        .with_metrics(metrics.clone());
    for minute in [5, 15] {
        clock.set(t0 + Duration::from_secs(minute * 60));
        escalation.sweep().await.expect("sweep");
    }
    clock.set(t0 + Duration::from_secs(20 * 60));
    let (status, text) = t
        .touch(
            &intake,
            &id,
            r#"{"by":"ae-1@example.com","channel":"call","touch_id":"c-1"}"#,
        )
        .await;
    assert_eq!(status, 200, "{text}");

    // The stamps and durations, as the functions wrote them.
    let stored = item(&t, &id).await;
    assert_eq!(s(&stored, "received_at"), Some("2026-11-23T15:00:00.000Z"));
    assert_eq!(s(&stored, "stored_at"), Some("2026-11-23T15:00:00.000Z"));
    assert_eq!(s(&stored, "routed_at"), Some("2026-11-23T15:00:02.000Z"));
    assert_eq!(s(&stored, "notified_at"), Some("2026-11-23T15:00:02.000Z"));
    assert_eq!(
        s(&stored, "first_touch_at"),
        Some("2026-11-23T15:20:00.000Z")
    );
    assert_eq!(n(&stored, "ms_to_store"), Some(0));
    assert_eq!(n(&stored, "ms_to_route"), Some(2_000));
    assert_eq!(n(&stored, "ms_to_notify"), Some(2_000));
    assert_eq!(n(&stored, "ms_to_first_touch"), Some(1_200_000));
    let lead: LeadItem = serde_dynamo::from_item(stored).expect("lead item");
    let tiers: Vec<(u32, i64, bool)> = lead
        .escalations
        .iter()
        .map(|e| (e.tier, e.ms, e.breach))
        .collect();
    assert_eq!(tiers, vec![(1, 300_000, false), (2, 900_000, false)]);
    assert_eq!(lead.escalations[1].at, "2026-11-23T15:15:00.000Z");

    // The same moments as EMF metrics, dimensioned by config names only.
    let federal = || vec!["federal".to_owned()];
    assert_eq!(
        measured(&metrics, "LeadsReceived"),
        vec![(1.0, vec!["federal".to_owned(), "web".to_owned()])]
    );
    assert_eq!(measured(&metrics, "FallbackHits")[0].0, 0.0);
    assert_eq!(measured(&metrics, "LeadsRouted"), vec![(1.0, federal())]);
    assert_eq!(
        measured(&metrics, "TimeToNotify"),
        vec![(2_000.0, federal())]
    );
    assert_eq!(
        measured(&metrics, "LeadsEscalated"),
        vec![
            (1.0, vec!["federal".to_owned(), "1".to_owned()]),
            (1.0, vec!["federal".to_owned(), "2".to_owned()]),
        ]
    );
    assert_eq!(
        measured(&metrics, "TimeToFirstTouch"),
        vec![(1_200_000.0, federal())]
    );
    for event in metrics.events() {
        let line = event.to_emf("firsthour", t0);
        assert!(
            !line.contains("army.mil") && !line.contains("Payne"),
            "no personal data in metrics: {line}"
        );
    }
}

/// The claim link (path and query) in an email.
fn claim_link_in(email: &OutgoingEmail) -> (String, HashMap<String, String>) {
    let href = email
        .html
        .split("href=\"")
        .find(|h| h.contains("/claim?"))
        .and_then(|h| h.split('"').next())
        .expect("a claim link");
    link_parts(&href.replace("&amp;", "&"))
}

#[tokio::test]
async fn a_reassign_tier_moves_the_lead_once_and_only_the_new_owner_can_claim() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let id = post_at(
        &t,
        &clock,
        &[],
        r#"{"email":"maj@army.mil","name":"Ann Major"}"#,
    )
    .await;
    route_all(&t, &clock, &[], &outbox).await;
    let first = outbox.take();
    let owner = s(&item(&t, &id).await, "owner").expect("owner").to_owned();
    let owner_email = first
        .iter()
        .find(|e| e.to == [owner.clone()])
        .expect("owner's email");
    let (old_path, old_link) = claim_link_in(owner_email);
    let (a, b) = (Outbox::default(), Outbox::default());
    let sweeps = |mailer: &Outbox| {
        t.app()
            .clock(clock.clone())
            .mailer(mailer.clone())
            .escalation()
    };
    let (sweep_a, sweep_b) = (sweeps(&a), sweeps(&b));
    clock.set(t0 + Duration::from_secs(5 * 60));
    sweep_a.sweep().await.expect("sweep");
    a.take();
    // Two sweeps race on the reassign tier: the lead moves once.
    clock.set(t0 + Duration::from_secs(10 * 60));
    let (ra, rb) = tokio::join!(sweep_a.sweep(), sweep_b.sweep());
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra.escalated + rb.escalated, 1, "{ra:?} {rb:?}");
    let sent: Vec<OutgoingEmail> = a.take().into_iter().chain(b.take()).collect();
    assert_eq!(sent.len(), 2, "the new owner and the old one");
    let stored = item(&t, &id).await;
    let next = s(&stored, "owner").expect("owner").to_owned();
    assert_eq!(next, next_rep(&owner));
    let lead: LeadItem = serde_dynamo::from_item(stored).expect("lead item");
    assert_eq!(lead.reassignments.len(), 1);
    assert_eq!(lead.reassigned_from, vec![owner.clone()]);
    let new_email = sent
        .iter()
        .find(|e| e.to == [next.clone()])
        .expect("new owner's email");
    assert!(
        new_email.subject.starts_with("Reassigned to you"),
        "{}",
        new_email.subject
    );
    let (new_path, new_link) = claim_link_in(new_email);
    let moved = sent
        .iter()
        .find(|e| e.to == [owner.clone()])
        .expect("old owner told");
    assert!(moved.text.contains(&next), "{}", moved.text);
    // The old owner's link says where the lead went, and claims nothing.
    let intake = t.app().clock(clock.clone()).intake();
    let (status, _, page) = parts(
        intake
            .handle(claim_request("GET", &old_path, &old_link))
            .await,
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("This lead was reassigned") && page.contains(&next),
        "{page}"
    );
    let (status, _, page) = parts(
        intake
            .handle(claim_request("POST", &old_path, &old_link))
            .await,
    );
    assert_eq!(status, 409, "{page}");
    assert!(page.contains(&next), "{page}");
    assert!(s(&item(&t, &id).await, "claimed_at").is_none());
    // The new owner's claims it and stops the ladder.
    let (status, _, page) = parts(
        intake
            .handle(claim_request("POST", &new_path, &new_link))
            .await,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(s(&item(&t, &id).await, "claimed_by"), Some(next.as_str()));
    for minute in [15, 60, 105] {
        clock.set(t0 + Duration::from_secs(minute * 60));
        assert_eq!(
            sweep_a.sweep().await.expect("sweep").due,
            0,
            "minute {minute}"
        );
    }
    assert!(a.take().is_empty());
}

#[tokio::test]
async fn a_rep_whose_leads_keep_moving_on_is_set_away_once() {
    use firsthour::ports::RepStore;
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    // Three leads: owners rep-1, rep-2, rep-3 in turn; each moves to the next rep.
    post_officers(&t, &clock, 0..3).await;
    route_all(&t, &clock, &[], &outbox).await;
    outbox.take();
    let escalation = t
        .app()
        .clock(clock.clone())
        .mailer(outbox.clone())
        .escalation();
    for minute in [5, 10] {
        clock.set(t0 + Duration::from_secs(minute * 60));
        escalation.sweep().await.expect("sweep");
    }
    // Three more, and they move on too: each rep's second miss in a row.
    clock.set(t0 + Duration::from_secs(20 * 60));
    post_officers(&t, &clock, 3..6).await;
    route_all(&t, &clock, &[], &outbox).await;
    for minute in [25, 30] {
        clock.set(t0 + Duration::from_secs(minute * 60));
        escalation.sweep().await.expect("sweep");
    }
    let told: Vec<OutgoingEmail> = outbox
        .take()
        .into_iter()
        .filter(|e| e.subject.contains("set away"))
        .collect();
    assert_eq!(told.len(), 3, "the manager told once per rep");
    assert!(told.iter().all(|e| e.to == ["federal-lead@example.com"]));
    let store = firsthour_aws::DynamoLeadStore::new(t.dynamo(), t.stack.table_name.clone());
    let reps = [
        "fed-rep-1@example.com",
        "fed-rep-2@example.com",
        "fed-rep-3@example.com",
    ];
    let roster = store.rep_statuses(&reps).await.expect("read");
    for rep in reps {
        let away = roster.away_at(rep, clock.now()).expect("set away");
        assert!(away.reason.starts_with("auto: 2 leads"), "{}", away.reason);
    }
}

#[tokio::test]
async fn reps_set_away_and_back_with_the_cli_get_no_new_leads_meanwhile() {
    let t = TestStack::new().await;
    let table = t.stack.table_name.clone();
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--table", table.as_str()]);
        firsthour_cli(&all)
    };
    let (code, out, err) = cli(&[
        "reps",
        "away",
        "FED-REP-2@example.com",
        "--until",
        "2099-12-02T09:00-05:00",
        "--reason",
        "leave",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("fed-rep-2@example.com is away until 2099-12-02T14:00:00.000Z"),
        "{out}"
    );
    let (code, out, err) = cli(&["reps", "list", "--team", "federal", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(json).collect();
    assert_eq!(rows.len(), 3, "the active federal reps: {out}");
    let rep2 = rows
        .iter()
        .find(|r| r["rep"] == "fed-rep-2@example.com")
        .expect("listed");
    assert_eq!(rep2["available"], false);
    assert!(
        rep2["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("away until 2099-12-02") && s.contains("leave")),
        "{rep2}"
    );
    let (code, out, _) = cli(&["reps", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("TEAM")
            && out.contains("commercial")
            && out.contains("fed-rep-3@example.com"),
        "{out}"
    );
    // Routed on a Monday morning, leads skip the away rep.
    let clock = ManualClock::new(datetime!(2026-11-23 15:00 UTC));
    let outbox = Outbox::default();
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            post_at(
                &t,
                &clock,
                &[],
                &format!(r#"{{"email":"officer{n}@navy.mil"}}"#),
            )
            .await,
        );
    }
    route_all(&t, &clock, &[], &outbox).await;
    let mut owners = Vec::new();
    for id in &ids {
        let lead = item(&t, id).await;
        owners.push(s(&lead, "owner").expect("owner").to_owned());
        assert!(
            s(&lead, "route_reason")
                .is_some_and(|r| r.contains("skipped away: fed-rep-2@example.com"))
        );
    }
    assert!(
        !owners.contains(&"fed-rep-2@example.com".to_owned()),
        "{owners:?}"
    );
    // Back: the rep takes leads again.
    let (code, out, err) = cli(&["reps", "back", "fed-rep-2@example.com"]);
    assert_eq!(code, 0, "{out}{err}");
    post_officers(&t, &clock, 4..7).await;
    route_all(&t, &clock, &[], &outbox).await;
    let owners = lead_owners(&t).await;
    assert!(
        owners.contains(&"fed-rep-2@example.com".to_owned()),
        "{owners:?}"
    );
    // Mistakes are named, and write nothing.
    for (args, says) in [
        (
            vec!["reps", "away", "nobody@example.com"],
            "not an active rep",
        ),
        (vec!["reps", "away", "not-an-address"], "not-an-address"),
        (
            vec![
                "reps",
                "away",
                "fed-rep-1@example.com",
                "--until",
                "tomorrow",
            ],
            "--until",
        ),
        (
            vec![
                "reps",
                "away",
                "fed-rep-1@example.com",
                "--until",
                "2020-01-01",
            ],
            "in the past",
        ),
        (vec!["reps", "list", "--team", "nope"], "no team \"nope\""),
    ] {
        let (code, out, err) = cli(&args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// The "I'm away" link (path and query) in an email, if it has one.
fn away_link_in(email: &OutgoingEmail) -> Option<(String, HashMap<String, String>)> {
    let href = email
        .html
        .split("href=\"")
        .find(|h| h.contains("/reps/away?"))?
        .split('"')
        .next()?;
    Some(link_parts(&href.replace("&amp;", "&")))
}

/// The away link's button: a form post of `action`.
fn away_post(path: &str, params: &HashMap<String, String>, action: &str) -> intake::Request {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let mut event = http_api_event(
        "POST",
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("action={action}").as_bytes(),
    );
    event["rawQueryString"] = query.into();
    request_from_event(event)
}

#[tokio::test]
async fn a_reps_away_link_gives_their_new_leads_to_others_until_their_next_working_day() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    post_at(&t, &clock, &[], r#"{"email":"maj@army.mil"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    let sent = outbox.take();
    let to_owner = sent
        .iter()
        .find(|e| e.to[0].starts_with("fed-rep-"))
        .expect("owner's email");
    let rep = to_owner.to[0].clone();
    let team = sent
        .iter()
        .find(|e| e.to == ["federal-sales@example.com"])
        .expect("team's email");
    assert!(
        away_link_in(team).is_none(),
        "a team address takes no leads: no away link"
    );
    assert!(
        to_owner
            .text
            .contains("I'm away, give my new leads to someone else: ")
    );
    let (path, params) = away_link_in(to_owner).expect("the owner's away link");
    assert_eq!(path, "/reps/away");
    let intake = t.app().clock(clock.clone()).intake();
    // Opening it changes nothing.
    for _ in 0..2 {
        let (status, headers, page) =
            parts(intake.handle(claim_request("GET", &path, &params)).await);
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        assert!(
            page.contains("Going away?") && page.contains("action\" value=\"away"),
            "{page}"
        );
    }
    // Tampered: refused, nothing changed.
    let mut forged = params.clone();
    forged.insert("r".into(), "fed-rep-3@example.com".into());
    let (status, _, page) = parts(intake.handle(away_post(&path, &forged, "away")).await);
    assert_eq!(status, 403, "{page}");
    // The button, twice: away until Tuesday 08:00 in the rep's time zone.
    for _ in 0..2 {
        let (status, _, page) = parts(intake.handle(away_post(&path, &params, "away")).await);
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("You are away") && page.contains("until 2026-11-24T"),
            "{page}"
        );
    }
    // New leads go to the others meanwhile.
    post_officers(&t, &clock, 0..3).await;
    route_all(&t, &clock, &[], &outbox).await;
    let owners = lead_owners(&t).await;
    assert_eq!(
        owners.iter().filter(|o| **o == rep).count(),
        1,
        "only the first lead: {owners:?}"
    );
    // Back from the same link.
    let (status, _, page) = parts(intake.handle(away_post(&path, &params, "back")).await);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Going away?"), "{page}");
}

#[tokio::test]
async fn a_crm_touch_by_address_touches_that_persons_open_leads_only() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let ann_1 = post_at(
        &t,
        &clock,
        &[],
        r#"{"email":"ann.lee@army.mil","message":"Pricing?"}"#,
    )
    .await;
    let ann_2 = post_at(
        &t,
        &clock,
        &[],
        r#"{"email":"ann.lee@army.mil","message":"And a demo?"}"#,
    )
    .await;
    let bo = post_at(&t, &clock, &[], r#"{"email":"bo.diaz@navy.mil"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    clock.set(t0 + Duration::from_secs(5 * 60));
    let intake = t.app().clock(clock.clone()).intake();
    let touch = |body: String| {
        let intake = &intake;
        let t = &t;
        async move { t.post_touch(intake, "/touches", &body).await }
    };
    // A HubSpot workflow's call, logged at 15:03 on the contact (any case).
    let call = r#"{"email":"Ann.Lee@ARMY.mil","by":"ae-1@example.com","channel":"call","at":"2026-11-23T15:03:00Z","touch_id":"hubspot-call-1"}"#;
    let (status, text) = touch(call.into()).await;
    assert_eq!(status, 200, "{text}");
    let answer = json(&text);
    assert_eq!(answer["status"], "recorded");
    // Both arrived in the same millisecond: in id order, whichever that is.
    let mut ann = vec![ann_1.clone(), ann_2.clone()];
    ann.sort();
    assert_eq!(answer["touched"], serde_json::json!(ann));
    assert_eq!(answer["first_responses"], serde_json::json!(ann));
    for id in [&ann_1, &ann_2] {
        let stored = item(&t, id).await;
        assert_eq!(
            s(&stored, "first_response_at"),
            Some("2026-11-23T15:03:00.000Z")
        );
        assert_eq!(s(&stored, "first_response_channel"), Some("call"));
        assert!(!stored.contains_key("due_at"), "the ladder stopped");
    }
    assert!(
        s(&item(&t, &bo).await, "first_response_at").is_none(),
        "someone else's lead"
    );
    // The CRM retries: counted once.
    let (_, text) = touch(call.into()).await;
    assert_eq!(json(&text)["status"], "duplicate");
    // A later touch counts (persistence), the first response stays.
    let (_, text) = touch(r#"{"email":"ann.lee@army.mil","by":"ae-1@example.com","channel":"email","touch_id":"hubspot-email-2"}"#.into()).await;
    let answer = json(&text);
    assert_eq!(answer["touched"], serde_json::json!(ann));
    assert_eq!(answer["first_responses"], serde_json::json!([]));
    let stored = item(&t, &ann_1).await;
    assert_eq!(stored["touches"].as_n().map(String::as_str), Ok("2"));
    assert_eq!(s(&stored, "first_response_channel"), Some("call"));
    // HubSpot's webhook: the channel in the URL, the contact's last activity
    // date as epoch milliseconds, no touch id (derived: retries count once),
    // no owner address (recorded as the CRM's).
    let dee = post_at(&t, &clock, &[], r#"{"email":"dee.fox@army.mil"}"#).await;
    route_all(&t, &clock, &[], &outbox).await;
    clock.set(t0 + Duration::from_secs(10 * 60));
    let hubspot = r#"{"email":"dee.fox@army.mil","at":"1795446420000","lifecyclestage":"lead"}"#;
    for expected in ["recorded", "duplicate"] {
        let (status, text) = t
            .post_touch(&intake, "/touches?channel=call", hubspot)
            .await;
        assert_eq!(
            (status, json(&text)["status"].clone()),
            (200, serde_json::json!(expected)),
            "{text}"
        );
    }
    let stored = item(&t, &dee).await;
    assert_eq!(
        s(&stored, "first_response_at"),
        Some("2026-11-23T15:07:00.000Z")
    );
    assert_eq!(s(&stored, "claimed_by"), Some("crm"));
    // A time in the future is taken as now; nobody's address finds nothing.
    let (_, text) = touch(r#"{"email":"bo.diaz@navy.mil","by":"ae-2@example.com","channel":"meeting","at":"2030-01-01T00:00:00Z","touch_id":"m-1"}"#.into()).await;
    assert_eq!(json(&text)["touched"], serde_json::json!([bo]));
    assert_eq!(
        s(&item(&t, &bo).await, "first_response_at"),
        Some("2026-11-23T15:10:00.000Z")
    );
    let (_, text) = touch(
        r#"{"email":"nobody@example.com","by":"ae-1@example.com","channel":"call","touch_id":"x"}"#
            .into(),
    )
    .await;
    assert_eq!(json(&text)["status"], "no_lead");
    // Leads older than the window (30 days) are not found.
    let old = post_at(&t, &clock, &[], r#"{"email":"cy.ng@army.mil"}"#).await;
    clock.set(t0 + Duration::from_secs(31 * 24 * 3600));
    let intake = t.app().clock(clock.clone()).intake();
    let (_, text) = t.post_touch(&intake, "/touches", r#"{"email":"cy.ng@army.mil","by":"ae-1@example.com","channel":"call","touch_id":"late"}"#).await;
    assert_eq!(json(&text)["status"], "no_lead", "{old}");
    // Refusals name the field; a wrong token touches nothing.
    for (body, status, field) in [
        (
            r#"{"email":"not-an-address","by":"ae-1@example.com","channel":"call","touch_id":"a"}"#,
            422,
            "email",
        ),
        (
            r#"{"email":"cy.ng@army.mil","by":"ae-1@example.com","channel":"call","at":"yesterday","touch_id":"a"}"#,
            422,
            "at",
        ),
        (
            r#"{"email":"cy.ng@army.mil","by":"ae-1@example.com","channel":"fax","touch_id":"a"}"#,
            422,
            "channel",
        ),
        (
            r#"{"email":"cy.ng@army.mil","touch_id":"a"}"#,
            422,
            "channel",
        ),
        (
            r#"{"email":"cy.ng@army.mil","channel":"call"}"#,
            422,
            "touch_id",
        ),
        (
            r#"{"email":"cy.ng@army.mil","by":"someone","channel":"call","touch_id":"a"}"#,
            422,
            "by",
        ),
        (r#"{not json"#, 400, ""),
    ] {
        let (got, text) = t.post_touch(&intake, "/touches", body).await;
        assert_eq!(got, status, "{body}: {text}");
        assert!(text.contains(field), "{body}: {text}");
    }
    let request = http_api_request(
        "POST",
        "/touches",
        &[JSON, ("authorization", "Bearer wrong-token-0123456789")],
        call.as_bytes(),
    );
    assert_eq!(parts(intake.handle(request).await).0, 401);
}

#[tokio::test]
async fn the_inbound_function_counts_an_ses_reply_once_however_often_ses_delivers_it() {
    let t = TestStack::new().await;
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let clock = ManualClock::new(t0);
    let outbox = Outbox::default();
    let id = post_at(
        &t,
        &clock,
        &[],
        r#"{"email":"ann.lee@army.mil","message":"Pricing for 40 seats?"}"#,
    )
    .await;
    route_all(&t, &clock, &[], &outbox).await;
    let owner = s(&item(&t, &id).await, "owner").expect("owner").to_owned();
    let email = outbox
        .take()
        .into_iter()
        .find(|e| e.to == [owner.clone()])
        .expect("owner's email");
    let bcc = reply_button(&email.html).1["bcc"].clone();
    // SES's documented event, for this reply.
    let sample =
        std::fs::read_to_string(root().join("events/lambda/ses-reply.json")).expect("sample");
    let sample = sample
        .replace(
            "r+01kaq5v3n6x5j0c9w4y2b7d8ef.0123456789abcdef0123@replies.firsthour.test",
            &bcc,
        )
        .replace("fed-rep-1@example.com", &owner);
    let event: serde_json::Value = serde_json::from_str(&sample).expect("json");
    clock.set(t0 + Duration::from_secs(5 * 60));
    let inbound = t.app().clock(clock.clone()).inbound();
    for delivery in 0..2 {
        let outcomes = inbound.handle_json(event.clone()).await.expect("handled");
        assert_eq!(outcomes.len(), 1, "delivery {delivery}");
    }
    let stored = item(&t, &id).await;
    assert_eq!(
        stored["touches"].as_n().map(String::as_str),
        Ok("1"),
        "counted once"
    );
    assert_eq!(
        s(&stored, "first_response_at"),
        Some("2026-11-23T15:03:57.000Z")
    );
    assert_eq!(s(&stored, "first_response_channel"), Some("email"));
    // Not SES's event at all: dropped, not retried.
    for junk in [
        serde_json::json!({"Records": "x"}),
        serde_json::json!([1, 2]),
        serde_json::json!(null),
    ] {
        assert_eq!(inbound.handle_json(junk).await, Ok(vec![]));
    }
}
