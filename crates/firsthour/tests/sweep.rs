//! The escalation sweep on the in-memory store with the shipped rules: each
//! tier reaches its audience at its minute, then the fallback; unrouted
//! leads are re-driven; throttled tiers are owed, not lost; and sweeps
//! running at once fire each tier exactly once.

mod support;

use firsthour::lead::unix_millis;
use firsthour::ports::EscalationStore;
use firsthour::record::RoutingState;
use firsthour::router::RouterOutcome;
use support::*;

const OWNER: &str = "fed-rep-1@example.com";
const MANAGER: &str = "federal-lead@example.com";
const DIRECTOR: &str = "federal-director@example.com";
/// The rep after [`OWNER`] in the federal rotation: where tier 2 moves a lead.
const NEXT: &str = "fed-rep-2@example.com";

#[tokio::test]
async fn each_tier_reaches_its_audience_then_the_fallback() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    world.mailer.take();
    let sweep = world.sweeper();
    // The federal ladder: 5 min → owner; 10 → reassigned to the next rep
    // (who gets it as new; the first owner is told it moved); 15 → manager,
    // 60 → director; the breach one last interval (45 min) later → the fallback.
    let steps: [(u64, &[&str]); 9] = [
        (4, &[]),
        (5, &[OWNER]),
        (6, &[]),
        (10, &[NEXT, OWNER]),
        (14, &[]),
        (15, &[MANAGER]),
        (60, &[DIRECTOR]),
        (104, &[]),
        (105, &[FALLBACK]),
    ];
    for (at, expected) in steps {
        world.sweep_at(&sweep, minute(at)).await;
        let sent = world.mailer.take();
        let to: Vec<&str> = sent
            .iter()
            .flat_map(|e| &e.to)
            .map(String::as_str)
            .collect();
        assert_eq!(to, expected, "minute {at}");
        for email in &sent {
            assert!(email.subject.contains("Major Payne"), "{}", email.subject);
        }
    }
    let lead = world.lead(&id);
    assert!(lead.sla.breached_at.is_some());
    let stamps: Vec<(u32, i64, bool)> = lead
        .sla
        .escalations
        .iter()
        .map(|s| (s.tier, s.ms / 60_000, s.breach))
        .collect();
    assert_eq!(
        stamps,
        vec![
            (1, 5, false),
            (2, 10, false),
            (3, 15, false),
            (4, 60, false),
            (5, 105, true)
        ]
    );
    assert_eq!(lead.sla.due_at, None, "out of the index");
    assert_eq!(lead.sla.owner.as_deref(), Some(NEXT));
    let moves: Vec<(Option<&str>, &str, u32)> = lead
        .sla
        .reassignments
        .iter()
        .map(|r| (r.from.as_deref(), r.to.as_str(), r.tier))
        .collect();
    assert_eq!(moves, vec![(Some(OWNER), NEXT, 2)]);
    // One LeadEscalated per tier, the breach marked.
    let events: Vec<(u64, bool)> = world
        .bus
        .details("LeadEscalated")
        .iter()
        .map(|d| (d["tier"].as_u64().unwrap_or(99), d["breached"] == true))
        .collect();
    assert_eq!(
        events,
        vec![(1, false), (2, false), (3, false), (4, false), (5, true)]
    );
    // Nothing more, ever.
    let report = world.sweep_at(&sweep, minute(24 * 60)).await;
    assert_eq!(report.due, 0, "{report:?}");
    assert!(world.mailer.take().is_empty());
}

#[tokio::test]
async fn a_claim_stops_the_ladder() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    let sweep = world.sweeper();
    world.sweep_at(&sweep, minute(5)).await;
    world.mailer.take();
    world
        .store
        .claim(&id, OWNER, minute(7))
        .await
        .expect("claimed");
    for at in [15, 60, 105] {
        let report = world.sweep_at(&sweep, minute(at)).await;
        assert_eq!(report.due, 0, "minute {at}: {report:?}");
    }
    assert!(world.mailer.take().is_empty());
}

#[tokio::test]
async fn a_lead_whose_event_never_came_is_routed_by_the_sweep() {
    let world = World::new();
    // Published, but the router never ran (the event was lost on the way).
    let id = world.post_federal("Major Payne").await;
    let sweep = world.sweeper();
    // Due for re-drive two minutes after arrival (FIRSTHOUR_REDRIVE_AFTER_SECONDS).
    let early = world
        .sweep_at(&sweep, T0 + std::time::Duration::from_secs(119))
        .await;
    assert_eq!(early.due, 0, "{early:?}");
    let report = world.sweep_at(&sweep, minute(2)).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    let mut expected = vec![FEDERAL_TEAM.to_owned(), OWNER.to_owned()];
    expected.sort();
    assert_eq!(world.mailer.take_to(), expected, "the first notification");
    let lead = world.lead(&id);
    assert_eq!(lead.sla.routing_state, RoutingState::Routed);
    assert!(lead.sla.notified_at.is_some());
    // Back on the ladder: the first tier still comes at 5 minutes.
    assert_eq!(lead.sla.due_at, Some(unix_millis(minute(5))));
    assert_eq!(world.sweep_at(&sweep, minute(3)).await.due, 0);
    world.sweep_at(&sweep, minute(5)).await;
    assert_eq!(world.mailer.take_to(), vec![OWNER]);
    assert_eq!(world.route(&id).await, Ok(RouterOutcome::AlreadyNotified));
}

#[tokio::test]
async fn a_lead_not_published_is_routed_by_the_next_sweep() {
    let world = World::new();
    world.bus.down(true);
    let id = world.post_federal("Major Payne").await;
    world.bus.down(false);
    let lead = world.lead(&id);
    assert!(lead.sla.publish_failed_at.is_some());
    assert_eq!(lead.sla.due_at, Some(unix_millis(T0)), "due at once");
    let report = world.sweep_at(&world.sweeper(), minute(1)).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    assert_eq!(world.mailer.take().len(), 2, "team and owner");
}

#[tokio::test]
async fn a_throttled_tier_is_owed_and_sent_once_later() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    world.mailer.take();
    let sweep = world.sweeper();
    world.mailer.answer(Answer::Throttle);
    let report = world.sweep_at(&sweep, minute(5)).await;
    assert_eq!(report.deferred, 1, "{report:?}");
    let lead = world.lead(&id);
    assert_eq!(lead.sla.owed_tier, Some(1), "tier 1's email is owed");
    assert_eq!(lead.sla.owed_tier_leased_at, None, "and free for the retry");
    assert_eq!(
        lead.sla.due_at,
        Some(unix_millis(minute(6))),
        "retried a minute later"
    );
    // Not due again before the retry time, throttled or not.
    let early = world
        .sweep_at(&sweep, minute(5) + std::time::Duration::from_secs(30))
        .await;
    assert_eq!(early.due, 0, "{early:?}");
    // Still throttled at the retry: owed again, nothing advanced meanwhile.
    assert_eq!(world.sweep_at(&sweep, minute(6)).await.deferred, 1);
    assert_eq!(world.lead(&id).sla.next_tier, Some(2));
    world.mailer.answer(Answer::Deliver);
    let report = world.sweep_at(&sweep, minute(7)).await;
    assert_eq!(report.escalated, 1, "{report:?}");
    assert_eq!(world.mailer.take_to(), vec![OWNER], "sent once, not lost");
    let lead = world.lead(&id);
    assert_eq!(lead.sla.owed_tier, None);
    assert_eq!(lead.sla.escalations.len(), 1, "one stamp for the tier");
    // The next tier keeps its own minute.
    assert_eq!(lead.sla.due_at, Some(unix_millis(minute(10))));
    assert_eq!(world.sweep_at(&sweep, minute(8)).await.due, 0);
    world.sweep_at(&sweep, minute(10)).await;
    assert_eq!(world.mailer.take_to(), vec![OWNER, NEXT], "moved on");
}

#[tokio::test]
async fn two_sweeps_at_once_fire_each_tier_exactly_once() {
    let world = World::new();
    let mut ids = Vec::new();
    for name in ["Ann Lee", "Bo Diaz", "Cy Ng", "Di Roy", "Ed Fox", "Flo Ray"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        ids.push(id);
    }
    world.mailer.take();
    let (a, b) = (world.sweeper(), world.sweeper());
    // At 10 minutes each lead moves on: its new owner and its old one are
    // told, and each rep, two leads in a row moved from them unanswered
    // (auto_away_after = 2), is set away, the manager told once per rep.
    for (at, tier_recipients) in [(5, 6), (10, 6 * 2 + 3), (15, 6), (60, 6), (105, 6)] {
        world.clock.set(minute(at));
        let (first, second) = tokio::join!(a.sweep(minute(at)), b.sweep(minute(at)));
        let (first, second) = (first.expect("sweep"), second.expect("sweep"));
        let fired = first.escalated + first.breached + second.escalated + second.breached;
        assert_eq!(fired, ids.len(), "minute {at}: {first:?} {second:?}");
        assert_eq!(first.failed + second.failed, 0);
        assert_eq!(world.mailer.take().len(), tier_recipients, "minute {at}");
    }
    for id in &ids {
        let tiers: Vec<u32> = world
            .lead(id)
            .sla
            .escalations
            .iter()
            .map(|s| s.tier)
            .collect();
        assert_eq!(tiers, vec![1, 2, 3, 4, 5], "{id}");
        assert_eq!(
            world.lead(id).sla.reassignments.len(),
            1,
            "moved once: {id}"
        );
    }
    assert_eq!(world.bus.details("LeadEscalated").len(), 5 * ids.len());
}

#[tokio::test]
async fn two_sweeps_at_once_send_an_owed_tier_once() {
    let world = World::new();
    let mut ids = Vec::new();
    for name in ["Ann Lee", "Bo Diaz", "Cy Ng"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        ids.push(id);
    }
    world.mailer.take();
    let (a, b) = (world.sweeper(), world.sweeper());
    world.mailer.answer(Answer::Throttle);
    let deferred = world.sweep_at(&a, minute(5)).await;
    assert_eq!(deferred.deferred, ids.len(), "{deferred:?}");
    // The retry: both sweeps find the owed tiers; the lease lets one send each.
    world.mailer.answer(Answer::Deliver);
    world.clock.set(minute(6));
    let (first, second) = tokio::join!(a.sweep(minute(6)), b.sweep(minute(6)));
    let (first, second) = (first.expect("sweep"), second.expect("sweep"));
    assert_eq!(
        first.escalated + second.escalated,
        ids.len(),
        "{first:?} {second:?}"
    );
    assert_eq!(
        first.skipped + second.skipped,
        ids.len(),
        "{first:?} {second:?}"
    );
    assert_eq!(
        world.mailer.take_to(),
        vec![OWNER, "fed-rep-2@example.com", "fed-rep-3@example.com"],
        "one email per owner"
    );
}

#[tokio::test]
async fn a_store_outage_fails_the_sweep_and_the_next_one_catches_up() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    world.mailer.take();
    let sweep = world.sweeper();
    world.clock.set(minute(5));
    world.store_down_for(1);
    assert!(sweep.sweep(minute(5)).await.is_err(), "the query failed");
    assert!(world.mailer.take().is_empty());
    let report = world.sweep_at(&sweep, minute(6)).await;
    assert_eq!(report.escalated, 1, "{report:?}");
    assert_eq!(world.mailer.take_to(), vec![OWNER]);
    // The tier's emails are stamped when they fired, not when they were due.
    let stamp = world.lead(&id).sla.escalations.first().map(|s| s.ms);
    assert_eq!(stamp, Some(6 * 60_000));
}

#[tokio::test]
async fn the_sweep_reads_only_due_leads_oldest_first() {
    let world = World::new();
    let first = world.post_federal("Ann Lee").await;
    world.route(&first).await.expect("routed");
    world.clock.set(minute(3));
    let second = world.post_federal("Bo Diaz").await;
    world.route(&second).await.expect("routed");
    let due = world.store.due_leads(minute(8), 10).await.expect("due");
    let ids: Vec<_> = due.leads.iter().map(|l| l.id.clone()).collect();
    assert_eq!(ids, vec![first.clone(), second.clone()]);
    let report = world.sweep_at(&world.sweeper(), minute(6)).await;
    assert_eq!((report.due, report.scanned, report.escalated), (1, 1, 1));
}
