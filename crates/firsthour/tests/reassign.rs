//! Someone always answers: reps who are away get no new leads, a reassign
//! tier moves an untouched lead to the next available rep exactly once, the
//! previous owner's claim link no longer claims, and reps whose leads keep
//! moving on unanswered are set away. The in-memory store, the shipped rules.

mod support;

use firsthour::html;
use firsthour::ports::RepStore;
use firsthour::roster::Away;
use firsthour::service::touch::{ClaimError, ClaimLink, Claimed};
use support::*;

const OWNER: &str = "fed-rep-1@example.com";
const NEXT: &str = "fed-rep-2@example.com";
const THIRD: &str = "fed-rep-3@example.com";
const MANAGER: &str = "federal-lead@example.com";

fn link(id: &firsthour::lead::LeadId, recipient: &str) -> ClaimLink {
    ClaimLink {
        lead_id: id.clone(),
        recipient: recipient.into(),
    }
}

fn away(until: Option<time::OffsetDateTime>) -> Away {
    Away {
        since: T0,
        until,
        reason: "vacation".into(),
    }
}

#[tokio::test]
async fn an_away_rep_gets_no_new_leads_until_back() {
    let world = World::new();
    world
        .store
        .set_away(NEXT, &away(Some(minute(60))), false)
        .await
        .expect("away");
    let mut owners = Vec::new();
    for name in ["Ann Lee", "Bo Diaz", "Cy Ng", "Di Roy"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        let lead = world.lead(&id);
        assert!(
            lead.route.reason.contains(&format!("skipped away: {NEXT}")),
            "{}",
            lead.route.reason
        );
        owners.push(lead.sla.owner.expect("an owner"));
    }
    assert!(!owners.contains(&NEXT.to_owned()), "{owners:?}");
    assert_eq!(owners.iter().filter(|o| *o == OWNER).count(), 2);
    // The away state ends by itself at its time.
    world.clock.set(minute(60));
    let mut later = Vec::new();
    for name in ["Ed Fox", "Flo Ray", "Gil Hu"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        later.push(world.lead(&id).sla.owner.expect("an owner"));
    }
    assert!(later.contains(&NEXT.to_owned()), "{later:?}");
}

#[tokio::test]
async fn a_reassign_tier_moves_an_untouched_lead_once_and_the_old_link_stops_claiming() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    assert_eq!(world.lead(&id).sla.owner.as_deref(), Some(OWNER));
    world.mailer.take();
    let (a, b) = (world.sweeper(), world.sweeper());
    world.sweep_at(&a, minute(5)).await;
    assert_eq!(world.mailer.take_to(), vec![OWNER], "the reminder");
    // Two sweeps race on the reassign tier: one move, one set of emails.
    world.clock.set(minute(10));
    let (first, second) = tokio::join!(a.sweep(minute(10)), b.sweep(minute(10)));
    let (first, second) = (first.expect("sweep"), second.expect("sweep"));
    assert_eq!(
        first.escalated + second.escalated,
        1,
        "{first:?} {second:?}"
    );
    let sent = world.mailer.take();
    let to: Vec<&str> = sent
        .iter()
        .flat_map(|e| &e.to)
        .map(String::as_str)
        .collect();
    assert_eq!(to, vec![NEXT, OWNER]);
    // The new owner gets it as new, with their own claim link; the old one is told where it went.
    assert!(
        sent[0].subject.starts_with("Reassigned to you"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].html.contains("/claim?r=fed-rep-2%40example.com"));
    assert!(
        sent[1]
            .subject
            .starts_with(&format!("Reassigned to {NEXT}")),
        "{}",
        sent[1].subject
    );
    assert!(
        !sent[1].html.contains("/claim?"),
        "no link for the old owner"
    );
    let lead = world.lead(&id);
    assert_eq!(lead.sla.owner.as_deref(), Some(NEXT));
    assert_eq!(lead.sla.reassignments.len(), 1);
    // The old owner's link shows where it went and claims nothing.
    let touches = world.touches();
    let page = html::claim::view(&lead, OWNER);
    assert!(
        page.contains("reassigned to <strong>fed-rep-2@example.com</strong>"),
        "{page}"
    );
    assert_eq!(
        touches.claim(&link(&id, OWNER)).await,
        Err(ClaimError::Reassigned {
            to: Some(NEXT.into())
        })
    );
    assert_eq!(world.lead(&id).sla.claimed_at, None);
    // The new owner's link claims it, and the ladder stops.
    world.clock.set(minute(12));
    assert!(matches!(
        touches.claim(&link(&id, NEXT)).await,
        Ok(Claimed::Now { .. })
    ));
    for at in [15, 60, 105] {
        let report = world.sweep_at(&a, minute(at)).await;
        assert_eq!(report.due, 0, "minute {at}: {report:?}");
    }
    assert!(world.mailer.take().is_empty());
}

#[tokio::test]
async fn a_lead_moves_only_to_an_available_rep() {
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    // The next rep in turn is away: the lead skips to the one after.
    world
        .store
        .set_away(NEXT, &away(None), false)
        .await
        .expect("away");
    let sweep = world.sweeper();
    world.sweep_at(&sweep, minute(5)).await;
    world.sweep_at(&sweep, minute(10)).await;
    assert_eq!(world.lead(&id).sla.owner.as_deref(), Some(THIRD));
    // Nobody else available: the lead stays with its owner, who is reminded.
    let world = World::new();
    let id = world.post_federal("Major Payne").await;
    world.route(&id).await.expect("routed");
    for rep in [NEXT, THIRD] {
        world
            .store
            .set_away(rep, &away(None), false)
            .await
            .expect("away");
    }
    world.mailer.take();
    let sweep = world.sweeper();
    world.sweep_at(&sweep, minute(5)).await;
    world.sweep_at(&sweep, minute(10)).await;
    let lead = world.lead(&id);
    assert_eq!(lead.sla.owner.as_deref(), Some(OWNER));
    assert!(lead.sla.reassignments.is_empty());
    assert_eq!(world.mailer.take_to(), vec![OWNER, OWNER], "reminded twice");
}

/// Posts, routes and walks a federal lead past its reassign tier, starting at `at`.
async fn moved_on(world: &World, name: &str, at: u64) -> firsthour::lead::LeadId {
    world.clock.set(minute(at));
    let id = world.post_federal(name).await;
    world.route(&id).await.expect("routed");
    let sweep = world.sweeper();
    world.sweep_at(&sweep, minute(at + 5)).await;
    world.sweep_at(&sweep, minute(at + 10)).await;
    id
}

#[tokio::test]
async fn a_rep_whose_leads_keep_moving_on_is_set_away_and_the_manager_told_once() {
    let world = World::new();
    // Only the first rep gets leads, then the lead moves on.
    world
        .store
        .set_away(THIRD, &away(None), false)
        .await
        .expect("away");
    let first = moved_on(&world, "Ann Lee", 0).await;
    assert_eq!(world.lead(&first).sla.owner.as_deref(), Some(NEXT));
    world.mailer.take();
    // A claim by the rep in between starts their count again.
    let claimed = moved_on(&world, "Bo Diaz", 20).await; // owned by NEXT, moved to OWNER
    assert_eq!(world.lead(&claimed).sla.owner.as_deref(), Some(OWNER));
    let touches = world.touches();
    touches
        .claim(&link(&claimed, OWNER))
        .await
        .expect("claimed");
    world.mailer.take();
    moved_on(&world, "Cy Ng", 40).await; // OWNER → NEXT: OWNER's first miss after the claim
    let roster = world
        .store
        .rep_statuses(&[OWNER, NEXT])
        .await
        .expect("read");
    assert!(
        roster.away_at(OWNER, minute(60)).is_none(),
        "one miss since the claim"
    );
    assert_eq!(roster.status(NEXT).map(|s| s.missed), Some(1));
    assert!(
        !world
            .mailer
            .take()
            .iter()
            .any(|e| e.subject.contains("set away"))
    );
    moved_on(&world, "Di Roy", 60).await; // NEXT → OWNER: NEXT's second miss in a row
    let roster = world.store.rep_statuses(&[NEXT]).await.expect("read");
    let auto = roster.away_at(NEXT, minute(70)).expect("set away");
    assert!(auto.reason.starts_with("auto: 2 leads"), "{}", auto.reason);
    assert_eq!(auto.until, None, "until they are back");
    let told: Vec<_> = world
        .mailer
        .take()
        .into_iter()
        .filter(|e| e.to == [MANAGER] && e.subject.contains("set away"))
        .collect();
    assert_eq!(told.len(), 1, "the manager is told once");
    assert!(told[0].subject.contains(NEXT), "{}", told[0].subject);
    assert!(
        told[0]
            .text
            .contains("firsthour reps back fed-rep-2@example.com")
    );
    // Set away, they get no new leads; back, they do.
    world.clock.set(minute(90));
    for name in ["Ed Fox", "Flo Ray"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        assert_eq!(world.lead(&id).sla.owner.as_deref(), Some(OWNER));
    }
    world.store.set_back(NEXT).await.expect("back");
    let mut owners = Vec::new();
    for name in ["Gil Hu", "Hal Ito"] {
        let id = world.post_federal(name).await;
        world.route(&id).await.expect("routed");
        owners.push(world.lead(&id).sla.owner.expect("owner"));
    }
    assert!(owners.contains(&NEXT.to_owned()), "{owners:?}");
}

/// The shipped federal team with `when_none_available` replaced.
fn world_when_none(choice: &str) -> World {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/firsthour.toml"),
    )
    .expect("shipped rules");
    let text = shipped.replacen(
        "when_none_available = \"next_available\"",
        &format!("when_none_available = \"{choice}\""),
        1,
    );
    assert_ne!(text, shipped);
    let dir = std::env::temp_dir().join(format!("firsthour-none-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("firsthour.toml");
    std::fs::write(&config, text).expect("config");
    World::with_config(&config)
}

#[tokio::test]
async fn with_nobody_available_the_team_decides() {
    // Saturday noon in New York: nobody works.
    let saturday = time::macros::datetime!(2026-11-28 17:00 UTC);
    let fallback = world_when_none("fallback");
    fallback.clock.set(saturday);
    let id = fallback.post_federal("Major Payne").await;
    fallback.route(&id).await.expect("routed");
    let lead = fallback.lead(&id);
    assert_eq!(lead.sla.owner.as_deref(), Some(FALLBACK));
    assert!(
        lead.route
            .reason
            .ends_with("nobody available: the fallback"),
        "{}",
        lead.route.reason
    );
    // next_available: Monday 08:00 in New York comes an hour before Chicago's.
    let next = World::new();
    next.clock.set(saturday);
    next.store
        .set_away(
            OWNER,
            &away(Some(time::macros::datetime!(2026-12-01 12:00 UTC))),
            false,
        )
        .await
        .expect("away");
    let id = next.post_federal("Major Payne").await;
    next.route(&id).await.expect("routed");
    let lead = next.lead(&id);
    assert_eq!(
        lead.sla.owner.as_deref(),
        Some(NEXT),
        "{}",
        lead.route.reason
    );
    assert!(lead.route.reason.contains("the rep who is available first"));
}
