//! One contract for the lead store, run against both implementations: the
//! DynamoDB adapter on moto and the domain's in-memory store. The checks are
//! written once, generic over the ports; `memory::…` and `dynamo::…` run
//! each of them, so the in-memory store the unit tests trust cannot drift
//! from what the table does.
//!
//! The dynamo half needs the moto server `scripts/with-moto.sh` starts
//! (`FIRSTHOUR_TEST_EMULATOR`); each test gets a table of its own, created
//! from `infra/template.yaml`.

use std::path::Path;
use std::time::Duration;

use firsthour::dedup::{DedupKind, DedupMarker, sha256_hex};
use firsthour::lead::{Contact, Lead, LeadId, RawField, Source, unix_millis};
use firsthour::ports::{
    ChannelPostStore, ClaimOutcome, EscalationStore, InsertOutcome, LeadStore, RegistryStore,
    RepStore, RoutingStore, TouchOutcome,
};
use firsthour::record::{LeadRecord, RoutingState};
use firsthour::roster::Away;
use firsthour::routing::{Assignment, Priority, RouteDecision};
use firsthour::sector::refresh::{RefreshOutcome, RefreshReport, StoredRegistry};
use firsthour_aws::DynamoLeadStore;
use time::OffsetDateTime;
use time::macros::datetime;

/// Every store port at once: what the use cases are built on.
trait Store:
    LeadStore + RoutingStore + EscalationStore + RegistryStore + RepStore + ChannelPostStore
{
}
impl<S: LeadStore + RoutingStore + EscalationStore + RegistryStore + RepStore + ChannelPostStore>
    Store for S
{
}

/// Each check, run on both stores.
macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(firsthour::memory::MemoryStore::new()).await;
                }
            )*
        }

        mod dynamo {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::dynamo_store().await).await;
                }
            )*
        }
    };
}

contract!(
    a_channel_post_is_recorded_once_per_channel,
    a_lead_is_stored_with_its_markers,
    a_taken_marker_makes_a_duplicate_and_writes_nothing,
    an_expired_marker_neither_counts_nor_blocks,
    a_marker_blocks_an_insert_until_the_second_after_it_expires,
    an_existing_lead_id_is_not_overwritten,
    submissions_are_counted_per_address_per_minute,
    turns_count_one_two_three_per_team,
    a_lead_is_routed_only_once,
    a_lead_routed_without_a_ladder_leaves_the_due_index,
    a_notification_lease_blocks_until_it_lapses_or_is_released,
    a_sent_notification_is_recorded_once_and_blocks_every_lease,
    a_failed_notification_makes_the_lead_due_at_once,
    due_leads_are_the_due_ones_in_due_order,
    due_leads_honour_max,
    a_lead_dropped_from_the_index_is_no_longer_due,
    a_failed_publish_makes_an_unrouted_lead_due_at_once,
    a_tier_advances_only_from_where_it_is,
    an_owing_or_claimed_lead_does_not_advance,
    the_last_tier_marks_the_breach,
    a_pending_tier_is_leased_like_the_first_notification,
    a_deferred_tier_is_due_again_and_free_to_lease,
    a_finished_tier_is_due_at_the_next_or_leaves_the_index,
    a_lead_is_claimed_once,
    touches_count_once_per_touch_id_and_the_first_claims,
    stores_know_nothing_of_missing_leads,
    a_registry_copy_is_replaced_only_by_one_fetched_later,
    the_last_refresh_is_kept_as_reported,
    a_lead_routed_with_a_reason_keeps_it,
    a_reps_daily_slots_stop_at_the_cap,
    a_lead_moves_once_per_tier_and_the_old_owners_link_claims_nothing,
    a_rep_is_away_until_back_or_until_their_time,
    a_reps_unanswered_streak_counts_and_starts_again,
    leads_are_found_by_their_persons_address_oldest_first,
);

/// A fresh table on the moto server the test run started.
async fn dynamo_store() -> DynamoLeadStore {
    let (client, name) = dynamo_table().await;
    DynamoLeadStore::new(client, name)
}

/// A fresh table on moto, and a client to it.
async fn dynamo_table() -> (aws_sdk_dynamodb::Client, String) {
    let endpoint = std::env::var("FIRSTHOUR_TEST_EMULATOR")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect(
            "no moto endpoint: run ./scripts/with-moto.sh scripts/moto cargo test -p firsthour-aws --test contract",
        );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "contract",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    let model = firsthour_local::template::TemplateModel::load(&template).expect("template loads");
    let name = format!("contract-{}", ulid::Ulid::new().to_string().to_lowercase());
    firsthour_local::bootstrap::create_table(&client, &model.table, &name)
        .await
        .expect("table created on moto");
    (client, name)
}

/// A lead an older version left mid-ladder, its tiers counted from 0
/// (`tier`, `pending_tier`), reads and goes on as the same tiers counted
/// from 1. DynamoDB only: the in-memory store never had the old layout.
#[tokio::test]
async fn a_lead_stored_with_tiers_from_zero_goes_on_from_the_same_tier() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (client, name) = dynamo_table().await;
    let store = DynamoLeadStore::new(client.clone(), name.clone());
    let id = routed(&store, T0 + secs(300)).await;
    let key =
        |update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
            update
                .table_name(&name)
                .key("pk", AttributeValue::S(firsthour_aws::table::lead_pk(&id)))
                .key(
                    "sk",
                    AttributeValue::S(firsthour_aws::table::LEAD_SK.into()),
                )
        };
    // Tier 1 fired and its emails are owed; tier 2 is next.
    key(client.update_item())
        .update_expression("SET tier = :one, pending_tier = :zero REMOVE next_tier")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .send()
        .await
        .expect("an old layout written");
    let lead = stored(&store, &id).await;
    assert_eq!((lead.sla.next_tier, lead.sla.owed_tier), (Some(2), Some(1)));
    let now = T0 + secs(300);
    assert!(
        !store
            .advance_tier(&id, 2, 3, false, now)
            .await
            .expect("answered"),
        "owes tier 1"
    );
    assert!(
        store
            .lease_pending(&id, 1, now, secs(120))
            .await
            .expect("leased")
    );
    store
        .finish_pending(&id, 1, Some(T0 + secs(900)))
        .await
        .expect("finished");
    assert!(
        !store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("answered"),
        "tier 1 fired"
    );
    assert!(
        store
            .advance_tier(&id, 2, 3, false, now)
            .await
            .expect("advanced")
    );
    let lead = stored(&store, &id).await;
    assert_eq!((lead.sla.next_tier, lead.sla.owed_tier), (Some(3), Some(2)));
    let item = client
        .get_item()
        .table_name(&name)
        .key("pk", AttributeValue::S(firsthour_aws::table::lead_pk(&id)))
        .key(
            "sk",
            AttributeValue::S(firsthour_aws::table::LEAD_SK.into()),
        )
        .send()
        .await
        .expect("read")
        .item
        .unwrap_or_default();
    assert!(
        !item.contains_key("tier") && !item.contains_key("pending_tier"),
        "{item:?}"
    );
}

// ---------------------------------------------------------------------------
// Fixtures: the only code here that builds a lead or a marker.

const T0: OffsetDateTime = datetime!(2026-11-23 15:00 UTC);
const SEGMENT: &str = "federal";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A lead received at `received`, unrouted, due for re-drive at `due`.
fn lead_at(received: OffsetDateTime, due: OffsetDateTime) -> LeadRecord {
    let lead = Lead {
        id: LeadId::new_at(received),
        received_at: received,
        source: Source::default_web(),
        contact: Contact {
            email: firsthour::email::EmailAddress::parse("major.payne@army.mil").ok(),
            full_name: Some("Major Payne".into()),
            ..Contact::default()
        },
        client_ip: Some("192.0.2.7".into()),
        user_agent: None,
        delivery_id: None,
        fields: vec![RawField::new("email", "major.payne@army.mil")],
        truncated: vec![],
        ignored_files: vec![],
        guessed: vec![],
    };
    let sector = firsthour::sector::decide(Default::default(), None);
    let route = RouteDecision {
        rule: "federal".into(),
        segment: SEGMENT.into(),
        team: Some("federal".into()),
        priority: Priority::Urgent,
        assignment: Assignment::RoundRobin,
        ladder: Some("federal".into()),
        recipients: vec!["federal-sales@example.com".into()],
        fallback: false,
        reason: "contract test".into(),
    };
    LeadRecord::new_received(&lead, &sector, &route, received, due, None)
}

/// A lead received at T0, due for re-drive two minutes later.
fn lead() -> LeadRecord {
    lead_at(T0, T0 + secs(120))
}

fn id(lead: &LeadRecord) -> LeadId {
    lead.id.clone()
}

/// A delivery marker for `lead` under `key`, counting until `expires` (epoch s).
fn marker(lead: &LeadRecord, key: &str, expires: OffsetDateTime) -> DedupMarker {
    DedupMarker {
        kind: DedupKind::Delivery,
        key: key.to_owned(),
        lead_id: id(lead),
        body_sha256: sha256_hex(key.as_bytes()),
        created_at: firsthour::lead::format_utc_millis(lead.received_at),
        expires_at: expires.unix_timestamp(),
    }
}

async fn stored<S: Store>(store: &S, id: &LeadId) -> LeadRecord {
    store
        .get_lead(id)
        .await
        .expect("readable")
        .expect("the lead is stored")
}

async fn insert<S: Store>(store: &S, lead: &LeadRecord) {
    let outcome = store
        .insert_lead(lead.clone(), &[], T0)
        .await
        .expect("stored");
    assert_eq!(outcome, InsertOutcome::Created);
}

/// A stored lead, routed to `owner` with its first tier due at `due`.
async fn routed<S: Store>(store: &S, due: OffsetDateTime) -> LeadId {
    let lead = lead();
    insert(store, &lead).await;
    let id = id(&lead);
    assert!(
        store
            .mark_routed(&id, Some("fed-rep-1@example.com"), None, Some(due), T0)
            .await
            .expect("routed")
    );
    id
}

async fn due_ids<S: Store>(store: &S, now: OffsetDateTime, max: usize) -> Vec<LeadId> {
    let due = store.due_leads(now, max).await.expect("due leads");
    assert!(due.scanned >= due.leads.len() as u64, "{due:?}");
    due.leads.iter().map(id).collect()
}

// ---------------------------------------------------------------------------
// Intake: the lead and its markers, the per-address counter.

async fn a_lead_is_stored_with_its_markers<S: Store>(store: S) {
    let lead = lead();
    let markers = [
        marker(&lead, "delivery#a", T0 + secs(600)),
        marker(&lead, "content#a", T0 + secs(600)),
    ];
    let outcome = store
        .insert_lead(lead.clone(), &markers, T0)
        .await
        .expect("stored");
    assert_eq!(outcome, InsertOutcome::Created);
    assert_eq!(
        stored(&store, &id(&lead)).await,
        lead,
        "read back as written"
    );
    for (key, written) in [("delivery#a", &markers[0]), ("content#a", &markers[1])] {
        let found = store.find_marker(key, T0).await.expect("readable");
        assert_eq!(found.as_ref(), Some(written), "{key}");
    }
    assert_eq!(
        store.find_marker("delivery#b", T0).await.expect("readable"),
        None
    );
}

async fn a_taken_marker_makes_a_duplicate_and_writes_nothing<S: Store>(store: S) {
    let first = lead();
    let taken = marker(&first, "delivery#a", T0 + secs(600));
    store
        .insert_lead(first.clone(), std::slice::from_ref(&taken), T0)
        .await
        .expect("stored");
    let second = lead_at(T0 + secs(5), T0 + secs(125));
    let markers = [
        marker(&second, "content#new", T0 + secs(605)),
        marker(&second, "delivery#a", T0 + secs(605)),
    ];
    let outcome = store
        .insert_lead(second.clone(), &markers, T0 + secs(5))
        .await
        .expect("answered");
    assert_eq!(
        outcome,
        InsertOutcome::Duplicate {
            original: id(&first),
            marker: taken.clone(),
        }
    );
    // All or nothing: neither the lead nor its other marker was written.
    assert_eq!(store.get_lead(&id(&second)).await.expect("readable"), None);
    let fresh = store.find_marker("content#new", T0 + secs(5)).await;
    assert_eq!(fresh.expect("readable"), None);
    let kept = store.find_marker("delivery#a", T0 + secs(5)).await;
    assert_eq!(kept.expect("readable"), Some(taken));
}

async fn an_expired_marker_neither_counts_nor_blocks<S: Store>(store: S) {
    let first = lead();
    let expires = T0 + secs(60);
    store
        .insert_lead(first.clone(), &[marker(&first, "delivery#a", expires)], T0)
        .await
        .expect("stored");
    let before = store.find_marker("delivery#a", expires - secs(1)).await;
    assert!(
        before.expect("readable").is_some(),
        "counts until it expires"
    );
    // Expired but not yet deleted by TTL: it no longer counts.
    let at_expiry = store.find_marker("delivery#a", expires).await;
    assert_eq!(at_expiry.expect("readable"), None);
    let later = expires + secs(1);
    let second = lead_at(later, later + secs(120));
    let replacing = marker(&second, "delivery#a", later + secs(60));
    let outcome = store
        .insert_lead(second.clone(), std::slice::from_ref(&replacing), later)
        .await
        .expect("stored");
    assert_eq!(outcome, InsertOutcome::Created);
    let found = store.find_marker("delivery#a", later).await;
    assert_eq!(
        found.expect("readable"),
        Some(replacing),
        "the new lead's marker"
    );
}

/// The adapter's insert condition is `expires_at < now` while `find_marker`
/// counts a marker while `expires_at > now`: in the very second a marker
/// expires it is not found, yet still blocks (and is returned as the original).
async fn a_marker_blocks_an_insert_until_the_second_after_it_expires<S: Store>(store: S) {
    let first = lead();
    let expires = T0 + secs(60);
    let taken = marker(&first, "delivery#a", expires);
    store
        .insert_lead(first.clone(), std::slice::from_ref(&taken), T0)
        .await
        .expect("stored");
    let second = lead_at(expires, expires + secs(120));
    let outcome = store
        .insert_lead(
            second.clone(),
            &[marker(&second, "delivery#a", expires + secs(60))],
            expires,
        )
        .await
        .expect("answered");
    assert_eq!(
        outcome,
        InsertOutcome::Duplicate {
            original: id(&first),
            marker: taken,
        }
    );
}

async fn an_existing_lead_id_is_not_overwritten<S: Store>(store: S) {
    let lead = lead();
    insert(&store, &lead).await;
    let mut again = lead.clone();
    again.contact.full_name = Some("Someone Else".into());
    // Only the lead's own condition failed: the adapter reads that as a
    // conflict, retries, and gives up as retryable.
    let err = store
        .insert_lead(again.clone(), &[], T0)
        .await
        .expect_err("the id is taken");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(stored(&store, &id(&lead)).await, lead);
}

async fn submissions_are_counted_per_address_per_minute<S: Store>(store: S) {
    let a = "192.0.2.7";
    let b = "2001:db8::1";
    for expected in 1..=3 {
        let count = store.count_submission(a, T0 + secs(expected)).await;
        assert_eq!(count.expect("counted"), expected);
    }
    assert_eq!(store.count_submission(b, T0).await.expect("counted"), 1);
    // Still the minute of T0 (15:00:59), then a new minute.
    assert_eq!(
        store
            .count_submission(a, T0 + secs(59))
            .await
            .expect("counted"),
        4
    );
    assert_eq!(
        store
            .count_submission(a, T0 + secs(60))
            .await
            .expect("counted"),
        1
    );
}

// ---------------------------------------------------------------------------
// The router: turns, routing, the first notification.

async fn turns_count_one_two_three_per_team<S: Store>(store: S) {
    for expected in 1..=3 {
        assert_eq!(store.next_turn("federal").await.expect("turn"), expected);
    }
    assert_eq!(store.next_turn("commercial").await.expect("turn"), 1);
    assert_eq!(store.next_turn("federal").await.expect("turn"), 4);
}

async fn a_lead_is_routed_only_once<S: Store>(store: S) {
    let lead = lead();
    insert(&store, &lead).await;
    let id = id(&lead);
    let due = T0 + secs(300);
    let now = T0 + secs(2);
    let first = store
        .mark_routed(&id, Some("fed-rep-1@example.com"), None, Some(due), now)
        .await;
    assert!(first.expect("routed"));
    let item = stored(&store, &id).await;
    assert_eq!(item.sla.routing_state, RoutingState::Routed);
    assert_eq!(item.sla.owner.as_deref(), Some("fed-rep-1@example.com"));
    assert_eq!(item.sla.next_tier, Some(1));
    assert_eq!(item.sla.ms_to_route, Some(2000));
    assert_eq!(
        item.sla.routed_at.as_deref(),
        Some("2026-11-23T15:00:02.000Z")
    );
    assert_eq!(item.sla.due_at, Some(unix_millis(due)));
    let second = store
        .mark_routed(&id, Some("fed-rep-2@example.com"), None, None, now)
        .await;
    assert!(!second.expect("answered"), "someone routed it first");
    assert_eq!(stored(&store, &id).await, item, "nothing changed");
}

async fn a_lead_routed_without_a_ladder_leaves_the_due_index<S: Store>(store: S) {
    let lead = lead();
    insert(&store, &lead).await;
    let id = id(&lead);
    assert_eq!(due_ids(&store, T0 + secs(600), 10).await, vec![id.clone()]);
    assert!(
        store
            .mark_routed(&id, None, None, None, T0)
            .await
            .expect("routed")
    );
    let item = stored(&store, &id).await;
    assert_eq!(item.sla.due_at, None);
    assert_eq!(item.sla.owner, None);
    assert!(due_ids(&store, T0 + secs(600), 10).await.is_empty());
}

async fn a_notification_lease_blocks_until_it_lapses_or_is_released<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let lease = secs(120);
    assert!(
        store
            .lease_notification(&id, T0, lease)
            .await
            .expect("leased")
    );
    let held = stored(&store, &id).await.sla.notification_leased_at;
    assert_eq!(held, Some(unix_millis(T0)));
    // Younger than the lease (its very end included): another sender waits.
    for later in [secs(1), secs(60), lease] {
        let again = store.lease_notification(&id, T0 + later, lease).await;
        assert!(!again.expect("answered"), "{later:?} after");
    }
    // Older: the first sender is presumed dead.
    let taken_over = T0 + lease + Duration::from_millis(1);
    assert!(
        store
            .lease_notification(&id, taken_over, lease)
            .await
            .expect("leased")
    );
    // Released: free at once.
    store.release_notification(&id).await.expect("released");
    assert_eq!(stored(&store, &id).await.sla.notification_leased_at, None);
    assert!(
        store
            .lease_notification(&id, taken_over, lease)
            .await
            .expect("leased")
    );
}

async fn a_sent_notification_is_recorded_once_and_blocks_every_lease<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let lease = secs(120);
    assert!(
        store
            .lease_notification(&id, T0, lease)
            .await
            .expect("leased")
    );
    store
        .record_notify_failed(&id, T0 + secs(1), "throttled")
        .await
        .expect("recorded");
    assert!(
        store
            .lease_notification(&id, T0 + secs(2), lease)
            .await
            .expect("leased")
    );
    let at = T0 + secs(3);
    store
        .record_notified(&id, at, "m-1,m-2")
        .await
        .expect("recorded");
    let item = stored(&store, &id).await;
    assert_eq!(
        item.sla.notified_at.as_deref(),
        Some("2026-11-23T15:00:03.000Z")
    );
    assert_eq!(item.sla.ms_to_notify, Some(3000));
    assert_eq!(item.sla.notify_message_id.as_deref(), Some("m-1,m-2"));
    assert_eq!(item.sla.notification_leased_at, None);
    assert_eq!(
        (
            item.sla.notify_failed_at.as_deref(),
            item.sla.notify_error.as_deref()
        ),
        (None, None)
    );
    // Sent is forever: no lease, however late; no second record; no failure.
    let day_later = T0 + secs(86_400);
    assert!(
        !store
            .lease_notification(&id, day_later, lease)
            .await
            .expect("answered")
    );
    store
        .record_notified(&id, day_later, "m-3")
        .await
        .expect("answered");
    store
        .record_notify_failed(&id, day_later, "rejected")
        .await
        .expect("answered");
    assert_eq!(stored(&store, &id).await, item, "nothing changed");
}

async fn a_failed_notification_makes_the_lead_due_at_once<S: Store>(store: S) {
    let lead = lead();
    insert(&store, &lead).await;
    let id = id(&lead);
    // Routed with no ladder: out of the index, until the notification fails.
    assert!(
        store
            .mark_routed(&id, None, None, None, T0)
            .await
            .expect("routed")
    );
    assert!(
        store
            .lease_notification(&id, T0, secs(120))
            .await
            .expect("leased")
    );
    let failed_at = T0 + secs(10);
    let long = "é".repeat(600);
    store
        .record_notify_failed(&id, failed_at, &long)
        .await
        .expect("recorded");
    let item = stored(&store, &id).await;
    assert_eq!(
        item.sla.notify_failed_at.as_deref(),
        Some("2026-11-23T15:00:10.000Z")
    );
    assert_eq!(
        item.sla.notify_error.as_deref().map(|e| e.chars().count()),
        Some(500)
    );
    assert_eq!(
        item.sla.notification_leased_at, None,
        "the lease is given back"
    );
    assert_eq!(item.sla.due_at, Some(unix_millis(failed_at)));
    assert_eq!(due_ids(&store, failed_at, 10).await, vec![id]);
}

// ---------------------------------------------------------------------------
// The due index.

async fn due_leads_are_the_due_ones_in_due_order<S: Store>(store: S) {
    let mut by_due = Vec::new();
    for minute in [3, 1, 10, 2] {
        let lead = lead_at(T0, T0 + secs(minute * 60));
        insert(&store, &lead).await;
        by_due.push((minute, id(&lead)));
    }
    by_due.sort();
    let expected: Vec<LeadId> = by_due
        .iter()
        .filter(|(minute, _)| *minute <= 5)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(due_ids(&store, T0 + secs(300), 100).await, expected);
    // Due at exactly now counts.
    assert_eq!(due_ids(&store, T0 + secs(60), 100).await, expected[..1]);
    assert!(due_ids(&store, T0 + secs(59), 100).await.is_empty());
}

async fn due_leads_honour_max<S: Store>(store: S) {
    let mut ids = Vec::new();
    for second in 1..=5 {
        let lead = lead_at(T0, T0 + secs(second));
        insert(&store, &lead).await;
        ids.push(id(&lead));
    }
    let now = T0 + secs(60);
    assert_eq!(due_ids(&store, now, 2).await, ids[..2]);
    assert_eq!(due_ids(&store, now, 5).await, ids);
    assert!(due_ids(&store, now, 0).await.is_empty());
    let due = store.due_leads(now, 3).await.expect("due");
    assert_eq!(due.leads.len(), 3);
    assert_eq!(due.scanned, 3, "reads only what it returns");
}

async fn a_lead_dropped_from_the_index_is_no_longer_due<S: Store>(store: S) {
    let kept = lead_at(T0, T0 + secs(10));
    let dropped = lead_at(T0, T0 + secs(20));
    insert(&store, &kept).await;
    insert(&store, &dropped).await;
    store.drop_from_index(&id(&dropped)).await.expect("dropped");
    assert_eq!(due_ids(&store, T0 + secs(60), 10).await, vec![id(&kept)]);
    let item = stored(&store, &id(&dropped)).await;
    assert_eq!(item.sla.due_at, None);
}

async fn a_failed_publish_makes_an_unrouted_lead_due_at_once<S: Store>(store: S) {
    let unrouted = lead();
    insert(&store, &unrouted).await;
    let at = T0 + secs(1);
    assert!(
        due_ids(&store, at, 10).await.is_empty(),
        "due for re-drive at 2 min"
    );
    store
        .mark_publish_failed(&id(&unrouted), at)
        .await
        .expect("recorded");
    let item = stored(&store, &id(&unrouted)).await;
    assert_eq!(
        item.sla.publish_failed_at.as_deref(),
        Some("2026-11-23T15:00:01.000Z")
    );
    assert_eq!(due_ids(&store, at, 10).await, vec![id(&unrouted)]);
    // Routed meanwhile: nothing to re-drive, nothing changes.
    let routed = routed(&store, T0 + secs(300)).await;
    let before = stored(&store, &routed).await;
    store
        .mark_publish_failed(&routed, at)
        .await
        .expect("answered");
    assert_eq!(stored(&store, &routed).await, before);
}

// ---------------------------------------------------------------------------
// Escalation: tiers, owed emails, claims and touches.

async fn a_tier_advances_only_from_where_it_is<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(300);
    assert!(
        !store
            .advance_tier(&id, 2, 3, false, now)
            .await
            .expect("answered")
    );
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    let item = stored(&store, &id).await;
    assert_eq!((item.sla.next_tier, item.sla.owed_tier), (Some(2), Some(1)));
    assert_eq!(
        item.sla.escalated_at.as_deref(),
        Some("2026-11-23T15:05:00.000Z")
    );
    assert_eq!(item.sla.breached_at, None);
    let stamps: Vec<(u32, i64, bool)> = item
        .sla
        .escalations
        .iter()
        .map(|s| (s.tier, s.ms, s.breach))
        .collect();
    assert_eq!(stamps, vec![(1, 300_000, false)]);
    // The due time stays until the owed emails are out.
    assert_eq!(item.sla.due_at, Some(unix_millis(now)));
    // An unrouted lead (no tier yet) counts as at tier 1.
    let unrouted = lead();
    insert(&store, &unrouted).await;
    let unrouted = unrouted.id;
    assert!(
        !store
            .advance_tier(&unrouted, 2, 3, false, now)
            .await
            .expect("answered")
    );
    assert!(
        store
            .advance_tier(&unrouted, 1, 2, false, now)
            .await
            .expect("advanced")
    );
}

async fn an_owing_or_claimed_lead_does_not_advance<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(300);
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    // Owes tier 1's emails: no second advance, from anywhere.
    for from in [1, 2] {
        let again = store.advance_tier(&id, from, from + 1, false, now).await;
        assert!(!again.expect("answered"), "from {from}");
    }
    store
        .finish_pending(&id, 1, Some(T0 + secs(900)))
        .await
        .expect("finished");
    let claimed = routed(&store, T0 + secs(300)).await;
    store
        .claim(&claimed, "fed-rep-1@example.com", now)
        .await
        .expect("claimed");
    assert!(
        !store
            .advance_tier(&claimed, 1, 2, false, now)
            .await
            .expect("answered")
    );
    // Touched, not claimed by link: the clock stops all the same.
    let touched = routed(&store, T0 + secs(300)).await;
    store
        .touch(&touched, "call-1", "crm", "call", now)
        .await
        .expect("touched");
    assert!(
        !store
            .advance_tier(&touched, 1, 2, false, now)
            .await
            .expect("answered")
    );
    // The first lead, no longer owing, advances from where it is.
    assert!(
        store
            .advance_tier(&id, 2, 3, false, now)
            .await
            .expect("advanced")
    );
}

async fn the_last_tier_marks_the_breach<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(6300);
    assert!(
        store
            .advance_tier(&id, 1, 5, true, now)
            .await
            .expect("advanced")
    );
    let item = stored(&store, &id).await;
    assert_eq!(
        item.sla.breached_at.as_deref(),
        Some("2026-11-23T16:45:00.000Z")
    );
    assert_eq!(
        item.sla.escalations.last().map(|s| (s.tier, s.breach)),
        Some((1, true))
    );
    assert_eq!(item.sla.next_tier, Some(5));
}

async fn a_pending_tier_is_leased_like_the_first_notification<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(300);
    let lease = secs(120);
    assert!(
        !store
            .lease_pending(&id, 1, now, lease)
            .await
            .expect("answered"),
        "owes nothing"
    );
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    assert!(
        !store
            .lease_pending(&id, 2, now, lease)
            .await
            .expect("answered"),
        "another tier"
    );
    assert!(
        store
            .lease_pending(&id, 1, now, lease)
            .await
            .expect("leased")
    );
    assert_eq!(
        stored(&store, &id).await.sla.owed_tier_leased_at,
        Some(unix_millis(now))
    );
    for later in [secs(1), lease] {
        let again = store.lease_pending(&id, 1, now + later, lease).await;
        assert!(!again.expect("answered"), "{later:?} after");
    }
    let lapsed = now + lease + Duration::from_millis(1);
    assert!(
        store
            .lease_pending(&id, 1, lapsed, lease)
            .await
            .expect("leased")
    );
    // A claim forgets the debt: nothing left to lease.
    store
        .claim(&id, "fed-rep-1@example.com", lapsed)
        .await
        .expect("claimed");
    let day_later = now + secs(86_400);
    assert!(
        !store
            .lease_pending(&id, 1, day_later, lease)
            .await
            .expect("answered")
    );
}

async fn a_deferred_tier_is_due_again_and_free_to_lease<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(300);
    let lease = secs(120);
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    assert!(
        store
            .lease_pending(&id, 1, now, lease)
            .await
            .expect("leased")
    );
    let retry = now + secs(60);
    store.defer_pending(&id, retry).await.expect("deferred");
    let item = stored(&store, &id).await;
    assert_eq!(
        (item.sla.owed_tier, item.sla.owed_tier_leased_at),
        (Some(1), None)
    );
    assert_eq!(item.sla.due_at, Some(unix_millis(retry)));
    assert!(due_ids(&store, retry - secs(1), 10).await.is_empty());
    assert_eq!(due_ids(&store, retry, 10).await, vec![id.clone()]);
    assert!(
        store
            .lease_pending(&id, 1, retry, lease)
            .await
            .expect("leased")
    );
    // Nothing owed: deferring changes nothing.
    store
        .finish_pending(&id, 1, Some(now + secs(600)))
        .await
        .expect("finished");
    let before = stored(&store, &id).await;
    store
        .defer_pending(&id, retry + secs(60))
        .await
        .expect("answered");
    assert_eq!(stored(&store, &id).await, before);
}

async fn a_finished_tier_is_due_at_the_next_or_leaves_the_index<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(300);
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    assert!(
        store
            .lease_pending(&id, 1, now, secs(120))
            .await
            .expect("leased")
    );
    // The wrong tier: nothing changes.
    store.finish_pending(&id, 2, None).await.expect("answered");
    assert_eq!(stored(&store, &id).await.sla.owed_tier, Some(1));
    let next = T0 + secs(900);
    store
        .finish_pending(&id, 1, Some(next))
        .await
        .expect("finished");
    let item = stored(&store, &id).await;
    assert_eq!(
        (item.sla.owed_tier, item.sla.owed_tier_leased_at),
        (None, None)
    );
    assert_eq!(item.sla.due_at, Some(unix_millis(next)));
    assert_eq!(due_ids(&store, next, 10).await, vec![id.clone()]);
    // The last one: out of the index.
    assert!(
        store
            .advance_tier(&id, 2, 3, true, next)
            .await
            .expect("advanced")
    );
    store.finish_pending(&id, 2, None).await.expect("finished");
    let item = stored(&store, &id).await;
    assert_eq!((item.sla.due_at, item.sla.owed_tier), (None, None));
    assert!(due_ids(&store, next + secs(86_400), 10).await.is_empty());
}

async fn a_lead_is_claimed_once<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let now = T0 + secs(90);
    assert!(
        store
            .advance_tier(&id, 1, 2, false, now)
            .await
            .expect("advanced")
    );
    let claimed = store.claim(&id, "fed-rep-1@example.com", now).await;
    assert_eq!(
        claimed.expect("claimed"),
        ClaimOutcome::Claimed {
            segment: Some(SEGMENT.into())
        }
    );
    let item = stored(&store, &id).await;
    let at = "2026-11-23T15:01:30.000Z";
    assert_eq!(item.sla.claimed_at.as_deref(), Some(at));
    assert_eq!(
        item.sla.claimed_by.as_deref(),
        Some("fed-rep-1@example.com")
    );
    assert_eq!(item.sla.first_touch_at.as_deref(), Some(at));
    assert_eq!(item.sla.last_touch_at.as_deref(), Some(at));
    assert_eq!(item.sla.ms_to_first_touch, Some(90_000));
    assert_eq!(item.sla.touches, 1);
    assert_eq!(item.sla.due_at, None, "the clock stopped");
    assert_eq!(
        item.sla.first_response_at, None,
        "a claim acknowledges; it is no response"
    );
    assert_eq!(
        (item.sla.owed_tier, item.sla.owed_tier_leased_at),
        (None, None)
    );
    let again = store
        .claim(&id, "fed-rep-2@example.com", now + secs(60))
        .await;
    assert_eq!(
        again.expect("answered"),
        ClaimOutcome::AlreadyClaimed {
            by: Some("fed-rep-1@example.com".into()),
            at: Some(at.into()),
        }
    );
    assert_eq!(stored(&store, &id).await, item, "nothing changed");
}

async fn touches_count_once_per_touch_id_and_the_first_claims<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let first = T0 + secs(60);
    let touched = store.touch(&id, "call-1", "crm:ae-1", "call", first).await;
    assert_eq!(
        touched.expect("touched"),
        TouchOutcome::Recorded {
            touches: 1,
            segment: Some(SEGMENT.into())
        }
    );
    let item = stored(&store, &id).await;
    assert_eq!(
        item.sla.claimed_by.as_deref(),
        Some("crm:ae-1"),
        "the first touch claims"
    );
    assert_eq!(item.sla.ms_to_first_touch, Some(60_000));
    assert_eq!(item.sla.due_at, None);
    let again = store
        .touch(&id, "call-1", "crm:ae-1", "call", first + secs(5))
        .await;
    assert_eq!(again.expect("answered"), TouchOutcome::Duplicate);
    assert_eq!(
        stored(&store, &id).await,
        item,
        "a repeated touch counts once"
    );
    let second = first + secs(120);
    let touched = store
        .touch(&id, "email-1", "crm:ae-2", "email", second)
        .await;
    assert_eq!(
        touched.expect("touched"),
        TouchOutcome::Recorded {
            touches: 2,
            segment: Some(SEGMENT.into())
        }
    );
    let item = stored(&store, &id).await;
    assert_eq!(
        item.sla.claimed_by.as_deref(),
        Some("crm:ae-1"),
        "still the first"
    );
    assert_eq!(
        item.sla.first_touch_at.as_deref(),
        Some("2026-11-23T15:01:00.000Z")
    );
    assert_eq!(
        item.sla.last_touch_at.as_deref(),
        Some("2026-11-23T15:03:00.000Z")
    );
    assert_eq!(item.sla.ms_to_first_touch, Some(60_000));
    // A touch is a response: the first one's time and channel stay.
    assert_eq!(
        (
            item.sla.first_response_at.as_deref(),
            item.sla.first_response_channel.as_deref(),
            item.sla.ms_to_first_response
        ),
        (Some("2026-11-23T15:01:00.000Z"), Some("call"), Some(60_000))
    );
    // A touch after a claim is the first response all the same.
    let acked = routed(&store, T0 + secs(300)).await;
    assert!(matches!(
        store.claim(&acked, "fed-rep-1@example.com", first).await,
        Ok(ClaimOutcome::Claimed { .. })
    ));
    store
        .touch(&acked, "reply-1", "fed-rep-1@example.com", "email", second)
        .await
        .expect("touched");
    let item = stored(&store, &acked).await;
    assert_eq!(
        item.sla.claimed_at.as_deref(),
        Some("2026-11-23T15:01:00.000Z")
    );
    assert_eq!(
        (
            item.sla.first_response_at.as_deref(),
            item.sla.first_response_channel.as_deref()
        ),
        (Some("2026-11-23T15:03:00.000Z"), Some("email"))
    );
    // A touch id is per lead: another lead may use it.
    let other = routed(&store, T0 + secs(300)).await;
    let reused = store
        .touch(&other, "call-1", "crm:ae-1", "call", second)
        .await;
    assert!(matches!(
        reused.expect("touched"),
        TouchOutcome::Recorded { touches: 1, .. }
    ));
    let claimed = store.claim(&id, "fed-rep-1@example.com", second).await;
    assert!(matches!(
        claimed.expect("answered"),
        ClaimOutcome::AlreadyClaimed { by: Some(by), .. } if by == "crm:ae-1"
    ));
}

async fn stores_know_nothing_of_missing_leads<S: Store>(store: S) {
    let missing = LeadId::new_at(T0);
    let now = T0 + secs(60);
    let lease = secs(120);
    assert_eq!(store.get_lead(&missing).await.expect("readable"), None);
    assert!(
        !store
            .mark_routed(&missing, None, None, None, now)
            .await
            .expect("answered")
    );
    assert!(
        !store
            .lease_notification(&missing, now, lease)
            .await
            .expect("answered")
    );
    assert!(
        !store
            .advance_tier(&missing, 1, 2, false, now)
            .await
            .expect("answered")
    );
    assert!(
        !store
            .lease_pending(&missing, 1, now, lease)
            .await
            .expect("answered")
    );
    assert_eq!(
        store
            .claim(&missing, "a@example.com", now)
            .await
            .expect("answered"),
        ClaimOutcome::NotFound
    );
    let touch = store.touch(&missing, "t-1", "crm", "call", now).await;
    assert_eq!(touch.expect("answered"), TouchOutcome::NotFound);
    // Writes that answer nothing create nothing either.
    store
        .release_notification(&missing)
        .await
        .expect("answered");
    store
        .record_notified(&missing, now, "m-1")
        .await
        .expect("answered");
    store
        .record_notify_failed(&missing, now, "x")
        .await
        .expect("answered");
    store
        .mark_publish_failed(&missing, now)
        .await
        .expect("answered");
    store
        .finish_pending(&missing, 1, Some(now))
        .await
        .expect("answered");
    store.defer_pending(&missing, now).await.expect("answered");
    store.drop_from_index(&missing).await.expect("answered");
    assert_eq!(store.get_lead(&missing).await.expect("readable"), None);
    assert!(due_ids(&store, now + secs(86_400), 10).await.is_empty());
}

fn registry_copy(fetched: &str, changed: &str) -> StoredRegistry {
    StoredRegistry {
        base: firsthour::sector::GovRegistry::built_in_date(),
        fetched_at: fetched.parse().expect("timestamp"),
        source: "https://manage.get.gov/api/v1/get-report/current-full".into(),
        sha256: "ab".repeat(32),
        rows: 16_540,
        federal_rows: 1_322,
        changed: changed.into(),
        // A copy that removes nothing stores an empty list.
        removed: String::new(),
    }
}

async fn a_registry_copy_is_replaced_only_by_one_fetched_later<S: Store>(store: S) {
    assert_eq!(store.stored_registry().await, Ok(None));
    let first = registry_copy(
        "2026-11-29T06:00:00Z",
        "Domain name,Domain type,Organization name\nnew.gov,Federal - Executive,\"New, Office of\"\n",
    );
    assert_eq!(store.store_registry(&first).await, Ok(true));
    assert_eq!(store.stored_registry().await, Ok(Some(first.clone())));

    let earlier = registry_copy("2026-11-28T06:00:00Z", "");
    assert_eq!(store.store_registry(&earlier).await, Ok(false));
    assert_eq!(store.store_registry(&first).await, Ok(false), "same time");
    assert_eq!(store.stored_registry().await, Ok(Some(first)));

    let later = registry_copy("2026-11-30T06:00:00Z", "");
    assert_eq!(store.store_registry(&later).await, Ok(true));
    assert_eq!(store.stored_registry().await, Ok(Some(later)));
}

async fn the_last_refresh_is_kept_as_reported<S: Store>(store: S) {
    assert_eq!(store.last_refresh().await, Ok(None));
    for (outcome, rows) in [
        (RefreshOutcome::Accepted, Some(16_540)),
        (RefreshOutcome::Rejected, None),
    ] {
        let report = RefreshReport {
            at: "2026-11-30T06:00:01.250Z".parse().expect("timestamp"),
            source: "http://127.0.0.1:9/current-full.csv".into(),
            outcome,
            detail: "the download is an HTML page".into(),
            rows,
        };
        assert_eq!(store.record_refresh(&report).await, Ok(()));
        assert_eq!(store.last_refresh().await, Ok(Some(report)));
    }
}

async fn a_lead_routed_with_a_reason_keeps_it<S: Store>(store: S) {
    let lead = lead();
    insert(&store, &lead).await;
    let id = id(&lead);
    let reason =
        "rule \"federal\": sector federal; skipped outside working hours: west-1@example.com";
    assert_eq!(
        store
            .mark_routed(&id, Some("east-1@example.com"), Some(reason), None, T0)
            .await,
        Ok(true)
    );
    let item = stored(&store, &id).await;
    assert_eq!(item.route.reason, reason);
    assert_eq!(item.sla.owner.as_deref(), Some("east-1@example.com"));
}

async fn a_reps_daily_slots_stop_at_the_cap<S: Store>(store: S) {
    let take = |rep: &'static str, day: &'static str| store.take_daily_slot(rep, day, 2);
    assert_eq!(take("a@example.com", "2026-11-30").await, Ok(true));
    assert_eq!(take("a@example.com", "2026-11-30").await, Ok(true));
    assert_eq!(
        take("a@example.com", "2026-11-30").await,
        Ok(false),
        "at the cap"
    );
    assert_eq!(
        take("a@example.com", "2026-11-30").await,
        Ok(false),
        "still"
    );
    assert_eq!(
        take("a@example.com", "2026-12-01").await,
        Ok(true),
        "a new day"
    );
    assert_eq!(
        take("b@example.com", "2026-11-30").await,
        Ok(true),
        "another rep"
    );
    // A cap raised later gives room at once.
    assert_eq!(
        store
            .take_daily_slot("a@example.com", "2026-11-30", 3)
            .await,
        Ok(true)
    );
}

async fn a_lead_moves_once_per_tier_and_the_old_owners_link_claims_nothing<S: Store>(store: S) {
    let id = routed(&store, T0 + secs(300)).await;
    let (old, new) = ("fed-rep-1@example.com", "fed-rep-2@example.com");
    let now = T0 + secs(600);
    assert_eq!(
        store.reassign(&id, 2, Some(new), old, now).await,
        Ok(false),
        "not the owner"
    );
    assert_eq!(store.reassign(&id, 2, Some(old), new, now).await, Ok(true));
    assert_eq!(
        store
            .reassign(&id, 2, Some(new), "fed-rep-3@example.com", now)
            .await,
        Ok(false),
        "tier 2 moved it already"
    );
    let item = stored(&store, &id).await;
    assert_eq!(item.sla.owner.as_deref(), Some(new));
    assert_eq!(item.sla.reassignments.len(), 1);
    let moved = &item.sla.reassignments[0];
    assert_eq!(
        (
            moved.from.as_deref(),
            moved.to.as_str(),
            moved.tier,
            moved.at.as_str()
        ),
        (Some(old), new, 2, "2026-11-23T15:10:00.000Z")
    );
    // The old owner's link (in any case) claims nothing and says where it went.
    assert_eq!(
        store.claim(&id, "FED-REP-1@example.com", now).await,
        Ok(ClaimOutcome::Reassigned {
            to: Some(new.into())
        })
    );
    assert_eq!(stored(&store, &id).await, item, "nothing changed");
    // Back to the first rep at tier 3: their link claims again.
    assert_eq!(store.reassign(&id, 3, Some(new), old, now).await, Ok(true));
    assert!(matches!(
        store.claim(&id, old, now).await,
        Ok(ClaimOutcome::Claimed { .. })
    ));
    assert_eq!(
        store.reassign(&id, 4, Some(old), new, now).await,
        Ok(false),
        "a claimed lead stays"
    );
}

async fn a_rep_is_away_until_back_or_until_their_time<S: Store>(store: S) {
    let rep = "Ana@Example.com";
    let away = |until: Option<OffsetDateTime>| Away {
        since: T0,
        until,
        reason: "vacation".into(),
    };
    assert_eq!(
        store
            .rep_statuses(&[rep])
            .await
            .map(|r| r.status(rep).cloned()),
        Ok(None)
    );
    assert_eq!(
        store
            .set_away(rep, &away(Some(T0 + secs(3600))), false)
            .await,
        Ok(true)
    );
    let roster = store
        .rep_statuses(&[rep, "bo@example.com"])
        .await
        .expect("read");
    let status = roster.status("ana@example.com").expect("known");
    assert_eq!(status.away, Some(away(Some(T0 + secs(3600)))));
    assert!(roster.away_at(rep, T0 + secs(60)).is_some());
    assert!(
        roster.away_at(rep, T0 + secs(3600)).is_none(),
        "over at until"
    );
    assert!(roster.status("bo@example.com").is_none());
    // Automatic away only when not away already.
    let auto = Away {
        since: T0 + secs(60),
        until: None,
        reason: "auto".into(),
    };
    assert_eq!(store.set_away(rep, &auto, true).await, Ok(false));
    let later = Away {
        since: T0 + secs(3600),
        ..auto.clone()
    };
    assert_eq!(
        store.set_away(rep, &later, true).await,
        Ok(true),
        "the first one ended"
    );
    assert_eq!(store.set_away(rep, &later, true).await, Ok(false), "once");
    store.set_back(rep).await.expect("back");
    let roster = store.rep_statuses(&[rep]).await.expect("read");
    assert!(roster.away_at(rep, T0 + secs(7200)).is_none());
    // Back for someone never away is no error.
    assert_eq!(store.set_back("cy@example.com").await, Ok(()));
}

async fn a_reps_unanswered_streak_counts_and_starts_again<S: Store>(store: S) {
    let rep = "ana@example.com";
    assert_eq!(store.add_missed(rep).await, Ok(1));
    assert_eq!(store.add_missed("ANA@example.com").await, Ok(2));
    let roster = store.rep_statuses(&[rep]).await.expect("read");
    assert_eq!(roster.status(rep).map(|s| s.missed), Some(2));
    store.reset_missed(rep).await.expect("reset");
    assert_eq!(store.add_missed(rep).await, Ok(1));
    // A claimant who is nobody's rep: nothing to reset, no error.
    assert_eq!(store.reset_missed("visitor@example.com").await, Ok(()));
    store.set_back(rep).await.expect("back");
    assert_eq!(store.add_missed(rep).await, Ok(1), "back starts it again");
}

async fn a_channel_post_is_recorded_once_per_channel<S: Store>(store: S) {
    let lead = lead_at(T0, T0 + secs(1));
    insert(&store, &lead).await;
    let slack = firsthour::record::ChannelPost {
        conversation: Some("C0FEDERAL1".into()),
        ts: Some("1700000000.000100".into()),
        at: "2026-11-23T15:00:01.000Z".into(),
    };
    let teams = firsthour::record::ChannelPost {
        conversation: None,
        ts: None,
        at: "2026-11-23T15:00:02.000Z".into(),
    };
    let again = firsthour::record::ChannelPost {
        ts: Some("1700000000.000999".into()),
        ..slack.clone()
    };
    assert_eq!(
        store
            .record_channel_post(&id(&lead), "federal-slack", &slack)
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .record_channel_post(&id(&lead), "federal-teams", &teams)
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .record_channel_post(&id(&lead), "federal-slack", &again)
            .await,
        Ok(false),
        "a retried post records nothing"
    );
    let stored = store
        .get_lead(&id(&lead))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.sla.channel_posts.get("federal-slack"), Some(&slack));
    assert_eq!(stored.sla.channel_posts.get("federal-teams"), Some(&teams));
    let nobody = firsthour::lead::LeadId::new_at(T0);
    assert_eq!(
        store
            .record_channel_post(&nobody, "federal-slack", &slack)
            .await,
        Ok(false),
        "no lead, no post"
    );
}

async fn leads_are_found_by_their_persons_address_oldest_first<S: Store>(store: S) {
    let first = lead_at(T0, T0 + secs(120));
    let second = lead_at(T0 + secs(3600), T0 + secs(3720));
    insert(&store, &first).await;
    insert(&store, &second).await;
    // Found whatever the case of the address: the key is its hash.
    let key = firsthour::dedup::contact_key("Major.Payne@ARMY.mil");
    let found = |since, max| store.contact_leads(&key, since, max);
    assert_eq!(
        found(T0 - secs(60), 10).await,
        Ok(vec![id(&first), id(&second)])
    );
    assert_eq!(
        found(T0 + secs(60), 10).await,
        Ok(vec![id(&second)]),
        "within the window only"
    );
    assert_eq!(
        found(T0 - secs(60), 1).await,
        Ok(vec![id(&first)]),
        "at most max"
    );
    let nobody = firsthour::dedup::contact_key("someone.else@army.mil");
    assert_eq!(
        store.contact_leads(&nobody, T0 - secs(60), 10).await,
        Ok(vec![])
    );
}
