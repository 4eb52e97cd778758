//! The lead table's layout: one DynamoDB table, items told apart by key
//! prefix. Documented in `docs/table.md`; `infra/template.yaml` declares the
//! same keys and index (checked by `tests/template.rs`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::intake::limits;
use crate::lead::{Lead, LeadId, RawField, Source, format_utc_millis, note_truncated, unix_millis};
use crate::routing::{Assignment, Priority, RouteDecision};
use crate::sector::{Evidence, Sector, SectorDecision};
use crate::spam::SpamConfig;

/// Partition key attribute (string).
pub const PK: &str = "pk";
/// Sort key attribute (string).
pub const SK: &str = "sk";
/// The sparse index of leads waiting for someone: only items carrying
/// [`DUE_BUCKET`] are in it, sorted by [`DUE_AT`].
pub const DUE_INDEX: &str = "due-index";
/// Partition key of the due index (string): [`DUE_BUCKET_VALUE`] while a lead waits.
pub const DUE_BUCKET: &str = "due_bucket";
/// Sort key of the due index (number): epoch milliseconds when the lead needs attention.
pub const DUE_AT: &str = "due_at";
/// DynamoDB TTL attribute (number, epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";
/// The single due-index partition. Lead volumes (a few per second at most)
/// are far below one partition's 1,000 writes/s, so no sharding is needed.
pub const DUE_BUCKET_VALUE: &str = "due";

/// Sort key of a lead's main item.
pub const LEAD_SK: &str = "LEAD";
/// Sort key of a deduplication marker.
pub const DEDUP_SK: &str = "DEDUP";

pub fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

/// Partition key of the deduplication marker for `key`.
pub fn dedup_pk(key: &str) -> String {
    format!("DEDUP#{key}")
}

/// Where a lead is in its life. Stored as `routing_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingState {
    /// Stored, not yet routed: the sweep re-drives it once due.
    Unrouted,
    Routed,
}

/// A lead as one DynamoDB item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub lead_id: LeadId,
    pub source: Source,
    /// RFC 3339 UTC with milliseconds.
    pub received_at: String,
    pub received_at_ms: i64,
    /// When the intake wrote the lead (the same write that stores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// Every submitted field, in order.
    #[serde(default)]
    pub fields: Vec<RawField>,
    /// True when anything was cut to fit (the only record on items stored
    /// before `truncated`; kept for their readers).
    #[serde(default)]
    pub fields_truncated: bool,
    /// The attributes that were cut to fit (`message`, `phone`, `fields`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_files: Vec<String>,
    pub sector: Sector,
    pub sector_evidence: Evidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// What the routing rules decided at intake (owner comes later, from the router).
    pub segment: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub priority: Priority,
    pub assignment: Assignment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
    pub route_reason: String,
    #[serde(default)]
    pub fallback: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_at: Option<String>,
    /// The first notification went out (set once, conditionally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_message_id: Option<String>,
    /// A sender holds the right to send the first notification since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_claimed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_failed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_error: Option<String>,
    /// The next SLA tier to fire (0 = the first), once routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
    /// A tier whose emails are owed (sending was throttled): re-sent first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_tier: Option<u32>,
    /// A sweep holds the right to send `pending_tier` since then (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_claimed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<String>,
    /// Every tier fired and nobody took it: the fallback queue has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<String>,
    /// Touched: claimed by link or touched through the API. Stops the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_touch_at: Option<String>,
    /// How many times someone acted on the lead (persistence).
    #[serde(default)]
    pub touches: u32,
    /// Every escalation tier that fired, in order (the breach included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<EscalationStamp>,
    /// Derived durations from `received_at`, written with each stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_to_store: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_to_route: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_to_notify: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_to_first_touch: Option<i64>,
    pub routing_state: RoutingState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Set when publishing `LeadReceived` failed after the lead was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_failed_at: Option<String>,
}

/// One fired escalation tier: `tier` is 1 for the ladder's first tier; the
/// breach (fallback) is the tier after the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStamp {
    pub tier: u32,
    pub at: String,
    /// Milliseconds from `received_at`.
    pub ms: i64,
    #[serde(default)]
    pub breach: bool,
}

/// Attribute names of the per-stage stamps (written by the store adapters).
pub mod stamps {
    pub const STORED_AT: &str = "stored_at";
    pub const ESCALATIONS: &str = "escalations";
    pub const MS_TO_STORE: &str = "ms_to_store";
    pub const MS_TO_ROUTE: &str = "ms_to_route";
    pub const MS_TO_NOTIFY: &str = "ms_to_notify";
    pub const MS_TO_FIRST_TOUCH: &str = "ms_to_first_touch";
}

/// Milliseconds from a lead's arrival (its id carries the arrival time) to
/// `now`; never negative, so a clock step back reads as 0.
pub fn elapsed_ms(id: &LeadId, now: OffsetDateTime) -> i64 {
    id.created_at().map_or(0, |received| {
        (unix_millis(now) - unix_millis(received)).max(0)
    })
}

impl LeadItem {
    /// When the lead arrived.
    pub fn received(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.received_at_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// A freshly received lead: unrouted, and due for re-drive at `redrive_at`
    /// in case nothing routes it before then.
    pub fn new_received(
        lead: &Lead,
        sector: &SectorDecision,
        route: &RouteDecision,
        stored_at: OffsetDateTime,
        redrive_at: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> Self {
        let c = &lead.contact;
        let mut item = Self {
            pk: lead_pk(&lead.id),
            sk: LEAD_SK.to_owned(),
            entity: "lead".to_owned(),
            lead_id: lead.id.clone(),
            source: lead.source.clone(),
            received_at: format_utc_millis(lead.received_at),
            received_at_ms: unix_millis(lead.received_at),
            stored_at: Some(format_utc_millis(stored_at)),
            email: c.email.as_ref().map(|e| e.as_str().to_owned()),
            email_domain: c.email.as_ref().map(|e| e.domain().to_owned()),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            full_name: c.full_name.clone(),
            company: c.company.clone(),
            phone: c.phone.clone(),
            job_title: c.job_title.clone(),
            message: c.message.clone(),
            page_url: c.page_url.clone(),
            referrer: c.referrer.clone(),
            utm_source: c.utm.source.clone(),
            utm_medium: c.utm.medium.clone(),
            utm_campaign: c.utm.campaign.clone(),
            utm_term: c.utm.term.clone(),
            utm_content: c.utm.content.clone(),
            client_ip: lead.client_ip.clone(),
            user_agent: lead.user_agent.clone(),
            delivery_id: lead.delivery_id.clone(),
            fields: lead.fields.clone(),
            fields_truncated: !lead.truncated.is_empty(),
            truncated: lead.truncated.clone(),
            ignored_files: lead.ignored_files.clone(),
            sector: sector.sector,
            sector_evidence: sector.evidence.clone(),
            agency: sector.agency.clone(),
            segment: route.segment.clone(),
            rule: route.rule.clone(),
            team: route.team.clone(),
            priority: route.priority,
            assignment: route.assignment,
            ladder: route.ladder.clone(),
            recipients: route.recipients.clone(),
            route_reason: route.reason.clone(),
            fallback: route.fallback,
            owner: None,
            routed_at: None,
            notified_at: None,
            notify_message_id: None,
            notify_claimed_at: None,
            notify_failed_at: None,
            notify_error: None,
            tier: None,
            pending_tier: None,
            pending_claimed_at: None,
            escalated_at: None,
            breached_at: None,
            claimed_at: None,
            claimed_by: None,
            first_touch_at: None,
            last_touch_at: None,
            touches: 0,
            escalations: Vec::new(),
            ms_to_store: Some((unix_millis(stored_at) - unix_millis(lead.received_at)).max(0)),
            ms_to_route: None,
            ms_to_notify: None,
            ms_to_first_touch: None,
            routing_state: RoutingState::Unrouted,
            due_bucket: Some(DUE_BUCKET_VALUE.to_owned()),
            due_at: Some(unix_millis(redrive_at)),
            expires_at: expires_at.map(OffsetDateTime::unix_timestamp),
            publish_failed_at: None,
        };
        item.fit_within(limits::LEAD_ITEM_BUDGET);
        item
    }
}

mod dedup;
mod fit;

pub use dedup::{
    DedupItem, DedupKind, VOLATILE_FIELDS, content_key, delivery_key, is_volatile, sha256_hex,
};
pub use fit::CUT_ORDER;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::EmailAddress;
    use crate::lead::Contact;
    use time::macros::datetime;

    fn lead(email: &str, message: &str) -> Lead {
        let at = datetime!(2026-11-22 14:00 UTC);
        Lead {
            id: LeadId::new_at(at),
            received_at: at,
            source: Source::parse("web").expect("valid"),
            contact: Contact {
                email: EmailAddress::parse(email).ok(),
                message: Some(message.into()),
                ..Contact::default()
            },
            client_ip: None,
            user_agent: None,
            delivery_id: None,
            fields: vec![RawField::new("submitted_at", "14:00:01")],
            truncated: vec![],
            ignored_files: vec![],
        }
    }

    #[test]
    fn elapsed_is_measured_from_the_id_and_never_negative() {
        let at = datetime!(2026-11-22 14:00 UTC);
        let id = LeadId::new_at(at);
        assert_eq!(elapsed_ms(&id, at + time::Duration::seconds(90)), 90_000);
        assert_eq!(elapsed_ms(&id, at - time::Duration::seconds(1)), 0);
    }

    fn with_fields(pairs: &[(&str, &str)]) -> Lead {
        let mut l = lead("jane@example.com", "hi");
        l.fields = pairs.iter().map(|(n, v)| RawField::new(*n, *v)).collect();
        l
    }

    #[test]
    fn content_key_covers_every_answer_but_not_volatile_control_fields() {
        let spam = SpamConfig::default();
        let key = |pairs: &[(&str, &str)]| content_key(&with_fields(pairs), &spam);
        let first = key(&[
            ("email", "jane@example.com"),
            ("organization_type", "Federal agency"),
            ("_rendered_at", "1795379755226"),
            ("g-recaptcha-response", "03AFcWeA-one"),
            ("csrfmiddlewaretoken", "abc"),
        ]);
        // Another answer: a new lead.
        assert_ne!(
            first,
            key(&[
                ("email", "jane@example.com"),
                ("organization_type", "State government"),
                ("_rendered_at", "1795379755226"),
                ("g-recaptcha-response", "03AFcWeA-one"),
                ("csrfmiddlewaretoken", "abc"),
            ])
        );
        // The same answers with fresh control fields, in another order: the same submission.
        assert_eq!(
            first,
            key(&[
                ("CSRFMiddlewareToken", "xyz"),
                ("_rendered_at", "1795379799999"),
                ("organization_type", "Federal agency"),
                ("g-recaptcha-response", "03AFcWeA-two"),
                ("email", "jane@example.com"),
            ])
        );
        // An answer added or removed is new.
        assert_ne!(
            first,
            key(&[
                ("email", "jane@example.com"),
                ("organization_type", "Federal agency"),
                ("product", "Analytics"),
            ])
        );
        // Repeated names (multi-select) count each value.
        assert_ne!(
            key(&[("product", "A"), ("product", "B")]),
            key(&[("product", "A"), ("product", "A")])
        );
        assert_eq!(
            key(&[("product", "A"), ("product", "B")]),
            key(&[("product", "B"), ("product", "A")])
        );
        // No two splits of the same text hash alike.
        assert_ne!(key(&[("ab", "c")]), key(&[("a", "bc")]));
    }

    #[test]
    fn content_key_follows_the_configured_render_time_field() {
        let spam = SpamConfig {
            rendered_at_field: "form_loaded".into(),
            ..SpamConfig::default()
        };
        let a = with_fields(&[("email", "jane@example.com"), ("form_loaded", "1")]);
        let b = with_fields(&[("email", "jane@example.com"), ("form_loaded", "2")]);
        assert_eq!(content_key(&a, &spam), content_key(&b, &spam));
        assert_ne!(
            content_key(&a, &SpamConfig::default()),
            content_key(&b, &SpamConfig::default())
        );
        // The contact still counts, email case aside.
        let upper = lead("Jane@Example.com", "hi");
        let lower = lead("jane@example.com", "hi");
        assert_eq!(content_key(&upper, &spam), content_key(&lower, &spam));
        assert_ne!(
            content_key(&lower, &spam),
            content_key(&lead("jane@example.com", "hello"), &spam)
        );
    }

    #[test]
    fn delivery_keys_are_scoped_by_source_and_fixed_size() {
        let web = Source::parse("web").expect("valid");
        let other = Source::parse("typeform").expect("valid");
        assert_ne!(delivery_key(&web, "abc"), delivery_key(&other, "abc"));
        assert_eq!(
            delivery_key(&web, &"x".repeat(5000)).len(),
            delivery_key(&web, "y").len()
        );
    }

    #[test]
    fn new_leads_wait_in_the_due_index_unrouted() {
        let l = lead("a@b.co", "hi");
        let sector = crate::sector::decide(Default::default(), None);
        let route = crate::routing::Routing::default().route(&crate::routing::LeadFacts {
            sector: sector.sector,
            source: "web",
            email_domain: None,
            fields: &[],
        });
        let item = LeadItem::new_received(
            &l,
            &sector,
            &route,
            l.received_at + time::Duration::milliseconds(12),
            l.received_at + time::Duration::minutes(2),
            None,
        );
        assert_eq!(item.ms_to_store, Some(12));
        assert!(item.stored_at.is_some());
        assert_eq!(item.routing_state, RoutingState::Unrouted);
        assert_eq!(item.due_bucket.as_deref(), Some(DUE_BUCKET_VALUE));
        assert_eq!(item.due_at, Some(unix_millis(l.received_at) + 120_000));
        assert_eq!(item.email_domain.as_deref(), Some("b.co"));
        assert_eq!(item.expires_at, None);
    }
    fn item_of(lead: &Lead) -> LeadItem {
        let sector = crate::sector::decide(Default::default(), None);
        let route = crate::routing::Routing::default().route(&crate::routing::LeadFacts {
            sector: sector.sector,
            source: "web",
            email_domain: None,
            fields: &[],
        });
        LeadItem::new_received(
            lead,
            &sector,
            &route,
            lead.received_at,
            lead.received_at,
            None,
        )
    }

    #[test]
    fn the_headroom_holds_every_later_write_at_its_largest() {
        let item = item_of(&lead("jane@example.com", "hi"));
        let before = item.size().expect("measurable");
        let stamp = "2026-11-22T14:24:11.123Z".to_owned();
        let address = format!("{}@{}.example.com", "r".repeat(64), "d".repeat(177));
        assert_eq!(address.len(), 254);
        let mut after = item.clone();
        // The router.
        after.routing_state = RoutingState::Routed;
        after.routed_at = Some(stamp.clone());
        after.ms_to_route = Some(i64::MAX);
        after.tier = Some(u32::MAX);
        after.owner = Some(address.clone());
        after.due_at = Some(i64::MAX);
        // The first notification: a lease, then sent or failed (SES message
        // ids are about 60 characters; 256 allowed).
        after.notify_claimed_at = Some(i64::MAX);
        after.notified_at = Some(stamp.clone());
        after.ms_to_notify = Some(i64::MAX);
        after.notify_message_id = Some("m".repeat(256));
        after.notify_failed_at = Some(stamp.clone());
        after.notify_error = Some("𝄞".repeat(500));
        after.publish_failed_at = Some(stamp.clone());
        // Escalation.
        after.pending_tier = Some(u32::MAX);
        after.pending_claimed_at = Some(i64::MAX);
        after.escalated_at = Some(stamp.clone());
        after.breached_at = Some(stamp.clone());
        after.escalations = (0..limits::MAX_ESCALATION_STAMPS)
            .map(|_| EscalationStamp {
                tier: u32::MAX,
                at: stamp.clone(),
                ms: i64::MAX,
                breach: true,
            })
            .collect();
        // The claim and touches (touch history is items of its own).
        after.claimed_at = Some(stamp.clone());
        after.claimed_by = Some(address);
        after.first_touch_at = Some(stamp.clone());
        after.last_touch_at = Some(stamp);
        after.touches = u32::MAX;
        after.ms_to_first_touch = Some(i64::MAX);
        let grown = after.size().expect("measurable") - before;
        assert!(
            grown <= limits::LATER_WRITES_HEADROOM,
            "later writes add {grown} bytes; the headroom is {}",
            limits::LATER_WRITES_HEADROOM
        );
    }

    #[test]
    fn an_item_over_budget_is_cut_raw_copy_first_and_keeps_the_contact() {
        let mut l = lead("jane@example.com", &"m".repeat(limits::MAX_MESSAGE_BYTES));
        l.contact.phone = Some("+1 202 555 0143".into());
        l.fields = (0..40)
            .map(|i| RawField::new(format!("f{i}"), "v".repeat(1000)))
            .collect();
        let mut item = item_of(&l);
        let full = item.size().expect("measurable");
        // A budget that the raw fields alone cannot make up for.
        item.fit_within(full - 45_000);
        assert!(item.size().expect("measurable") <= full - 45_000);
        assert_eq!(item.truncated, vec!["fields", "message"]);
        assert!(item.fields_truncated);
        assert_eq!(item.email.as_deref(), Some("jane@example.com"));
        assert_eq!(item.phone.as_deref(), Some("+1 202 555 0143"));

        // Nothing to cut but the contact: left as it is, never the email.
        let mut tiny = item_of(&lead("jane@example.com", "hi"));
        tiny.fit_within(10);
        assert_eq!(tiny.email.as_deref(), Some("jane@example.com"));
    }

    #[test]
    fn sender_values_the_intake_does_not_cut_are_bounded_on_the_item() {
        let mut l = lead("jane@example.com", "hi");
        l.delivery_id = Some("d".repeat(100_000));
        l.client_ip = Some("1".repeat(1000));
        l.ignored_files = vec!["f".repeat(256_000); 1000];
        let item = item_of(&l);
        assert_eq!(
            item.delivery_id.as_ref().map(String::len),
            Some(limits::MAX_DELIVERY_ID_BYTES)
        );
        assert_eq!(item.ignored_files.len(), limits::MAX_IGNORED_FILES);
        assert!(
            item.ignored_files
                .iter()
                .all(|f| f.len() == limits::MAX_FILE_NAME_BYTES)
        );
        assert_eq!(
            item.truncated,
            vec!["client_ip", "delivery_id", "ignored_files"]
        );
        // The dedupe key still hashes the whole id.
        let cut = l
            .delivery_id
            .as_deref()
            .map(|id| &id[..limits::MAX_DELIVERY_ID_BYTES]);
        assert_ne!(
            delivery_key(&l.source, l.delivery_id.as_deref().unwrap_or_default()),
            delivery_key(&l.source, cut.unwrap_or_default())
        );
    }
}
