//! The router on the in-memory store with the shipped rules: who the first
//! notification goes to, exactly once, whatever the mailer or the store does.

mod support;

use firsthour::ports::{Clock, EscalationStore, RoutingStore};
use firsthour::record::RoutingState;
use firsthour::router::{NOTIFY_LEASE, RouterError, RouterOutcome};
use support::*;

#[tokio::test]
async fn federal_leads_go_to_the_team_and_each_rep_in_turn() {
    let world = World::new();
    // The federal team's rotation skips the rep who is away.
    let turns = [
        ("Ann Lee", "fed-rep-1"),
        ("Bo Diaz", "fed-rep-2"),
        ("Cy Ng", "fed-rep-3"),
        ("Di Roy", "fed-rep-1"),
    ];
    for (name, rep) in turns {
        let id = world.post_federal(name).await;
        let owner = format!("{rep}@example.com");
        assert_eq!(
            world.route(&id).await,
            Ok(RouterOutcome::Notified {
                owner: Some(owner.clone()),
                recipients: 2
            })
        );
        let mut expected = vec![FEDERAL_TEAM.to_owned(), owner.clone()];
        expected.sort();
        assert_eq!(world.mailer.take_to(), expected);
        let lead = world.lead(&id);
        assert_eq!(lead.sla.owner, Some(owner));
        assert_eq!(lead.sla.routing_state, RoutingState::Routed);
        assert!(lead.sla.notified_at.is_some());
        // The federal ladder's first tier: 5 minutes after arrival.
        assert_eq!(
            lead.sla.due_at,
            Some(firsthour::lead::unix_millis(minute(5)))
        );
    }
}

#[tokio::test]
async fn each_email_is_for_one_recipient_with_a_claim_link() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    let sent = world.mailer.take();
    assert_eq!(sent.len(), 2);
    for email in &sent {
        assert_eq!(email.to.len(), 1, "{:?}", email.to);
        assert!(email.subject.contains("Major Payne"), "{}", email.subject);
        assert!(
            email.html.contains("https://leads.example.com/"),
            "a claim link"
        );
    }
}

#[tokio::test]
async fn each_email_has_a_reply_button_with_the_recipients_own_tracked_bcc() {
    let world = World::new();
    let id = world
        .post(r#"{"email":"ann.lee@army.mil","name":"Ann Lee","message":"Pricing for 40 seats?\nThanks"}"#)
        .await;
    world.route(&id).await.expect("routed");
    let key = firsthour::claim::LinkKey::new(LINK_KEY.as_bytes()).expect("key");
    for email in world.mailer.take() {
        let recipient = &email.to[0];
        let (to, params) = reply_button(&email.html);
        assert_eq!(to, "ann.lee@army.mil");
        assert_eq!(params["subject"], "Re: Pricing for 40 seats?");
        let bcc = &params["bcc"];
        let read = firsthour::reply::read_reply_address(
            &key,
            INBOUND_DOMAIN,
            bcc,
            recipient,
            world.clock.now(),
        );
        assert_eq!(read, Ok(id.clone()), "{recipient}: {bcc}");
        assert!(
            email.text.contains("Reply to Ann Lee: mailto:"),
            "{}",
            email.text
        );
    }
}

#[tokio::test]
async fn a_lead_without_a_team_goes_to_its_rule_recipients() {
    let world = World::new();
    // A .gov address without the registry: unverified government, the state-and-local rule.
    let id = world.post(r#"{"email":"clerk@springfield.gov"}"#).await;
    assert_eq!(
        world.route(&id).await,
        Ok(RouterOutcome::Notified {
            owner: None,
            recipients: 1
        })
    );
    assert_eq!(world.mailer.take_to(), vec!["slg-sales@example.com"]);
}

#[tokio::test]
async fn a_redelivered_event_notifies_once() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    assert_eq!(world.mailer.take().len(), 2);
    assert_eq!(world.route(&id).await, Ok(RouterOutcome::AlreadyNotified));
    assert!(world.mailer.take().is_empty());
}

#[tokio::test]
async fn a_throttled_first_notification_is_retried_and_sent_once() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.mailer.answer(Answer::Throttle);
    assert!(matches!(
        world.route(&id).await,
        Err(RouterError::Retryable(_))
    ));
    let lead = world.lead(&id);
    assert_eq!(lead.sla.notified_at, None);
    assert_eq!(
        lead.sla.notification_leased_at, None,
        "the lease is given back"
    );
    assert_eq!(lead.sla.routing_state, RoutingState::Routed, "routed once");
    // The retried delivery sends at once, to the owner picked the first time.
    world.mailer.answer(Answer::Deliver);
    assert_eq!(
        world.route(&id).await,
        Ok(RouterOutcome::Notified {
            owner: Some("fed-rep-1@example.com".into()),
            recipients: 2
        })
    );
    assert_eq!(
        world.mailer.take_to(),
        vec!["fed-rep-1@example.com", FEDERAL_TEAM]
    );
    assert_eq!(world.route(&id).await, Ok(RouterOutcome::AlreadyNotified));
}

#[tokio::test]
async fn a_delivery_in_flight_is_left_to_finish() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    // Another delivery holds the lease (and has not crashed: its lease is fresh).
    let leased = world
        .store
        .lease_notification(&id, world.clock.now(), NOTIFY_LEASE)
        .await;
    assert!(leased.expect("leased"));
    assert_eq!(world.route(&id).await, Ok(RouterOutcome::InFlight));
    assert!(world.mailer.take().is_empty());
    // Its lease lapsed: this delivery takes over.
    world
        .clock
        .advance(NOTIFY_LEASE + std::time::Duration::from_secs(1));
    assert!(matches!(
        world.route(&id).await,
        Ok(RouterOutcome::Notified { .. })
    ));
}

#[tokio::test]
async fn a_rejected_first_notification_hands_the_lead_to_escalation() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.mailer.answer(Answer::Reject);
    assert!(matches!(
        world.route(&id).await,
        Ok(RouterOutcome::NotificationRejected(_))
    ));
    let lead = world.lead(&id);
    assert!(lead.sla.notify_failed_at.is_some());
    assert_eq!(
        lead.sla.due_at,
        Some(firsthour::lead::unix_millis(T0)),
        "due at once"
    );
    // A minute later, long before the 5-minute tier, the sweep fires tier 1.
    world.mailer.answer(Answer::Deliver);
    let report = world.sweep_at(&world.sweeper(), minute(1)).await;
    assert_eq!(report.escalated, 1, "{report:?}");
    assert_eq!(world.mailer.take_to(), vec!["fed-rep-1@example.com"]);
}

#[tokio::test]
async fn a_store_outage_is_retried_by_the_next_delivery() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.store_down_for(1);
    assert!(matches!(
        world.route(&id).await,
        Err(RouterError::Retryable(_))
    ));
    assert!(world.mailer.take().is_empty());
    assert!(matches!(
        world.route(&id).await,
        Ok(RouterOutcome::Notified { .. })
    ));
    assert_eq!(world.mailer.take().len(), 2);
    // The outage cost nothing: the lead is still due for its first tier.
    let due = world.store.due_leads(minute(5), 10).await.expect("due");
    assert_eq!(due.leads.len(), 1);
}

/// A team in two time zones: only the reps within their hours get leads.
#[tokio::test]
async fn leads_go_only_to_reps_within_their_working_hours() {
    let world = world_with_federal_team(
        r#"
[calendars.new-york]
time_zone = "America/New_York"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"

[calendars.los-angeles]
time_zone = "America/Los_Angeles"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"

[teams.federal]
calendar = "new-york"
reps = [
  { email = "east-1@example.com" },
  { email = "west-1@example.com", calendar = "los-angeles" },
  { email = "east-2@example.com" },
]
"#,
    );
    // T0 is Monday 10:00 in New York, 07:00 in Los Angeles.
    let mut owners = Vec::new();
    for name in ["Ann Lee", "Bo Diaz", "Cy Ng", "Di Roy"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        owners.push(world.lead(&id).sla.owner.expect("an owner"));
    }
    assert_eq!(
        owners,
        [
            "east-1@example.com",
            "east-2@example.com",
            "east-1@example.com",
            "east-2@example.com"
        ]
    );
    // The lead says who was passed over, and why.
    let id = world.post_federal("Gil Hu").await;
    world.route(&id).await.expect("routed");
    let reason = world.lead(&id).route.reason;
    assert!(
        reason.ends_with("; skipped outside working hours: west-1@example.com"),
        "{reason}"
    );
    // Three hours later Los Angeles works too: three leads reach all three.
    world.clock.set(minute(180));
    let mut later = Vec::new();
    for name in ["Ed Fox", "Flo Gray", "Hal Ito"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        later.push(world.lead(&id).sla.owner.expect("an owner"));
    }
    later.sort();
    assert_eq!(
        later,
        [
            "east-1@example.com",
            "east-2@example.com",
            "west-1@example.com"
        ]
    );
}

/// Daily caps hold under concurrency: 30 leads routed at once over reps
/// capped at 5 and 5 and one without a cap.
#[tokio::test]
async fn thirty_concurrent_leads_never_put_a_rep_over_their_cap() {
    let world = world_with_federal_team(
        r#"
[teams.federal]
reps = [
  { email = "a@example.com", max_per_day = 5 },
  { email = "b@example.com", max_per_day = 5 },
  { email = "c@example.com" },
]
"#,
    );
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(world.post_federal(&format!("Lead Number{n}")).await);
    }
    let routed = futures::future::join_all(ids.iter().map(|id| world.route(id))).await;
    assert!(routed.iter().all(Result::is_ok), "{routed:?}");
    let mut counts = std::collections::BTreeMap::new();
    for id in &ids {
        let owner = world.lead(id).sla.owner.expect("an owner");
        *counts.entry(owner).or_insert(0) += 1;
    }
    assert_eq!(counts.get("a@example.com"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("b@example.com"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("c@example.com"), Some(&20), "{counts:?}");
    let capped = ids
        .iter()
        .map(|id| world.lead(id).route.reason)
        .filter(|reason| reason.contains("skipped at their daily cap: "))
        .count();
    assert!(capped > 0, "the reasons say who was at their cap");
}

/// The rule and fallback the team tests share.
const FEDERAL_RULE: &str = r#"
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
"#;

/// A world whose rules send federal leads round robin to the federal team
/// `team` (TOML: `[teams.federal]` and any `[calendars]`) describes.
fn world_with_federal_team(team: &str) -> World {
    let dir = std::env::temp_dir().join(format!("firsthour-team-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("firsthour.toml");
    std::fs::write(&config, format!("{team}\n{FEDERAL_RULE}")).expect("config");
    World::with_config(&config)
}
