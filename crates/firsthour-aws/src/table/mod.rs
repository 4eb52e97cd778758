//! The lead table's layout: one DynamoDB table, items told apart by key
//! prefix, and how the domain's records sit in its items. Documented in
//! `docs/table.md`; `infra/template.yaml` declares the same keys and index
//! (checked by `tests/template.rs`). Attribute names are the table's
//! contract with deployed data: renaming a record's field never renames
//! its attribute (the leases keep their `*_claimed_at` names).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use firsthour::dedup::{DedupKind, DedupMarker};
use firsthour::intake::limits;
use firsthour::lead::{
    LeadId, RawField, RequestMeta, Source, Utm, format_utc_millis, note_truncated, unix_millis,
};
use firsthour::record::{
    EscalationStamp, LeadRecord, Reassignment, RoutingState, SlaState, StoredContact, Submission,
};
use firsthour::routing::{Assignment, Priority, RouteDecision};
use firsthour::sector::{Evidence, Sector, SectorDecision};

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
/// The due index's other partition: leads whose ladder ran out unclaimed
/// (`due_at` the breach), so operators list the overdue without a scan.
/// The sweep never reads it; a claim or touch takes a lead out of it.
pub const BREACHED_BUCKET_VALUE: &str = "breached";

/// Sort key of a lead's main item.
pub const LEAD_SK: &str = "LEAD";
/// Sort key of a deduplication marker.
pub const DEDUP_SK: &str = "DEDUP";

pub fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

const DEDUP_PREFIX: &str = "DEDUP#";

/// Partition key of the deduplication marker for `key`.
pub fn dedup_pk(key: &str) -> String {
    format!("{DEDUP_PREFIX}{key}")
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
    /// Contact fields taken by a guess (`phone from Field5`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guessed: Vec<String>,
    pub sector: Sector,
    pub sector_evidence: Evidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
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
    /// The next SLA tier to fire (1 = the ladder's first), once routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_tier: Option<u32>,
    /// A tier whose emails are owed (sending was throttled): re-sent first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owed_tier: Option<u32>,
    /// `next_tier` and `owed_tier` as leads stored before tiers were
    /// counted from 1 carry them (0 = the first). Read, never written: the
    /// next tier change replaces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
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
    /// The first real response (a reply, a call, a meeting, a CRM touch),
    /// apart from a claim, and its channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_to_first_response: Option<i64>,
    /// How many times someone acted on the lead (persistence).
    #[serde(default)]
    pub touches: u32,
    /// Every escalation tier that fired, in order (the breach included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<EscalationStamp>,
    /// Every time a tier moved the lead to another owner, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reassignments: Vec<Reassignment>,
    /// The previous owners, lowercased: the claim's condition refuses them
    /// (unless the lead came back to them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reassigned_from: Vec<String>,
    /// The last tier that moved the lead (a tier moves it once). Written
    /// by the reassign update alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassigned_tier: Option<u32>,
    /// The lead's first message in each chat channel (threads, chat.update).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub channel_posts: std::collections::BTreeMap<String, firsthour::record::ChannelPost>,
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

/// The attributes leads stored before tiers were counted from 1 keep their
/// tiers in (see [`LeadItem::tier`]).
pub const LEGACY_TIER: &str = "tier";
pub const LEGACY_OWED_TIER: &str = "pending_tier";

/// Attribute names of the per-stage stamps (written by the store adapters).
pub mod stamps {
    pub const STORED_AT: &str = "stored_at";
    pub const ESCALATIONS: &str = "escalations";
    pub const MS_TO_STORE: &str = "ms_to_store";
    pub const MS_TO_ROUTE: &str = "ms_to_route";
    pub const MS_TO_NOTIFY: &str = "ms_to_notify";
    pub const MS_TO_FIRST_TOUCH: &str = "ms_to_first_touch";
}

impl LeadItem {
    /// The item a new lead is written as: laid out, then fitted within the
    /// intake's share of DynamoDB's item limit ([`limits::LEAD_ITEM_BUDGET`]).
    pub fn stored(record: LeadRecord) -> Self {
        let mut item = Self::from(record);
        item.fit_within(limits::LEAD_ITEM_BUDGET);
        item
    }
}

impl From<LeadRecord> for LeadItem {
    /// Moves the record into the row: no value is copied.
    fn from(record: LeadRecord) -> Self {
        let LeadRecord {
            id,
            source,
            received_at,
            stored_at,
            contact: c,
            submission: sub,
            sector,
            route,
            sla,
            expires_at,
        } = record;
        Self {
            pk: lead_pk(&id),
            sk: LEAD_SK.to_owned(),
            entity: "lead".to_owned(),
            lead_id: id,
            source,
            received_at: format_utc_millis(received_at),
            received_at_ms: unix_millis(received_at),
            stored_at,
            email: c.email,
            email_domain: c.email_domain,
            first_name: c.first_name,
            last_name: c.last_name,
            full_name: c.full_name,
            company: c.company,
            phone: c.phone,
            job_title: c.job_title,
            message: c.message,
            page_url: c.page_url,
            referrer: c.referrer,
            utm_source: c.utm.source,
            utm_medium: c.utm.medium,
            utm_campaign: c.utm.campaign,
            utm_term: c.utm.term,
            utm_content: c.utm.content,
            client_ip: sub.origin.client_ip,
            user_agent: sub.origin.user_agent,
            delivery_id: sub.origin.delivery_id,
            fields: sub.fields,
            fields_truncated: !sub.truncated.is_empty() || sub.cut_unnamed,
            truncated: sub.truncated,
            ignored_files: sub.ignored_files,
            guessed: sub.guessed,
            sector: sector.sector,
            sector_evidence: sector.evidence,
            agency: sector.agency,
            domain_type: sector.domain_type,
            service: sector.service,
            segment: route.segment,
            rule: route.rule,
            team: route.team,
            priority: route.priority,
            assignment: route.assignment,
            ladder: route.ladder,
            recipients: route.recipients,
            route_reason: route.reason,
            fallback: route.fallback,
            owner: sla.owner,
            routed_at: sla.routed_at,
            notified_at: sla.notified_at,
            notify_message_id: sla.notify_message_id,
            notify_claimed_at: sla.notification_leased_at,
            notify_failed_at: sla.notify_failed_at,
            notify_error: sla.notify_error,
            next_tier: sla.next_tier,
            owed_tier: sla.owed_tier,
            tier: None,
            pending_tier: None,
            pending_claimed_at: sla.owed_tier_leased_at,
            escalated_at: sla.escalated_at,
            breached_at: sla.breached_at,
            claimed_at: sla.claimed_at,
            claimed_by: sla.claimed_by,
            first_touch_at: sla.first_touch_at,
            last_touch_at: sla.last_touch_at,
            touches: sla.touches,
            reassigned_from: sla
                .reassignments
                .iter()
                .filter_map(|r| r.from.as_deref().map(firsthour::roster::rep_key))
                .collect(),
            reassignments: sla.reassignments,
            reassigned_tier: None,
            channel_posts: sla.channel_posts,
            first_response_at: sla.first_response_at,
            first_response_channel: sla.first_response_channel,
            ms_to_first_response: sla.ms_to_first_response,
            escalations: sla.escalations,
            ms_to_store: sla.ms_to_store,
            ms_to_route: sla.ms_to_route,
            ms_to_notify: sla.ms_to_notify,
            ms_to_first_touch: sla.ms_to_first_touch,
            routing_state: sla.routing_state,
            // In the due index exactly while something is owed.
            due_bucket: sla.due_at.map(|_| DUE_BUCKET_VALUE.to_owned()),
            due_at: sla.due_at,
            expires_at,
            publish_failed_at: sla.publish_failed_at,
        }
    }
}

impl From<LeadItem> for LeadRecord {
    fn from(item: LeadItem) -> Self {
        // `received_at_ms` is the exact instant; the text is for people.
        let received_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(item.received_at_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self {
            id: item.lead_id,
            source: item.source,
            received_at,
            stored_at: item.stored_at,
            contact: StoredContact {
                email: item.email,
                email_domain: item.email_domain,
                first_name: item.first_name,
                last_name: item.last_name,
                full_name: item.full_name,
                company: item.company,
                phone: item.phone,
                job_title: item.job_title,
                message: item.message,
                page_url: item.page_url,
                referrer: item.referrer,
                utm: Utm {
                    source: item.utm_source,
                    medium: item.utm_medium,
                    campaign: item.utm_campaign,
                    term: item.utm_term,
                    content: item.utm_content,
                },
            },
            submission: Submission {
                fields: item.fields,
                cut_unnamed: item.fields_truncated && item.truncated.is_empty(),
                truncated: item.truncated,
                ignored_files: item.ignored_files,
                guessed: item.guessed,
                origin: RequestMeta {
                    client_ip: item.client_ip,
                    user_agent: item.user_agent,
                    delivery_id: item.delivery_id,
                },
            },
            sector: SectorDecision {
                sector: item.sector,
                evidence: item.sector_evidence,
                agency: item.agency,
                domain_type: item.domain_type,
                service: item.service,
            },
            route: RouteDecision {
                rule: item.rule,
                segment: item.segment,
                team: item.team,
                priority: item.priority,
                assignment: item.assignment,
                ladder: item.ladder,
                recipients: item.recipients,
                fallback: item.fallback,
                reason: item.route_reason,
            },
            sla: SlaState {
                routing_state: item.routing_state,
                owner: item.owner,
                routed_at: item.routed_at,
                notified_at: item.notified_at,
                notify_message_id: item.notify_message_id,
                notification_leased_at: item.notify_claimed_at,
                notify_failed_at: item.notify_failed_at,
                notify_error: item.notify_error,
                next_tier: item
                    .next_tier
                    .or_else(|| item.tier.map(|t| t.saturating_add(1))),
                owed_tier: item
                    .owed_tier
                    .or_else(|| item.pending_tier.map(|t| t.saturating_add(1))),
                owed_tier_leased_at: item.pending_claimed_at,
                escalated_at: item.escalated_at,
                breached_at: item.breached_at,
                claimed_at: item.claimed_at,
                claimed_by: item.claimed_by,
                first_touch_at: item.first_touch_at,
                last_touch_at: item.last_touch_at,
                touches: item.touches,
                escalations: item.escalations,
                reassignments: item.reassignments,
                channel_posts: item.channel_posts,
                first_response_at: item.first_response_at,
                first_response_channel: item.first_response_channel,
                ms_to_first_response: item.ms_to_first_response,
                ms_to_store: item.ms_to_store,
                ms_to_route: item.ms_to_route,
                ms_to_notify: item.ms_to_notify,
                ms_to_first_touch: item.ms_to_first_touch,
                // Only the waiting partition is "due": a breached lead is done.
                due_at: item
                    .due_at
                    .filter(|_| item.due_bucket.as_deref() == Some(DUE_BUCKET_VALUE)),
                publish_failed_at: item.publish_failed_at,
            },
            expires_at: item.expires_at,
        }
    }
}

/// A lead found by its person's address: `pk = CONTACT#<hash of the
/// address>`, `sk = LEAD#<id>` (ids sort by arrival), written with the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub lead_id: LeadId,
    /// Epoch seconds; TTL deletes the marker after this.
    pub expires_at: i64,
}

pub const CONTACT_PREFIX: &str = "CONTACT#";
pub const CONTACT_LEAD_PREFIX: &str = "LEAD#";

impl ContactItem {
    /// The marker of a lead whose person left `email`.
    pub fn of(email: &str, lead_id: &LeadId, received_at: time::OffsetDateTime) -> Self {
        Self {
            pk: format!("{CONTACT_PREFIX}{}", firsthour::dedup::contact_key(email)),
            sk: format!("{CONTACT_LEAD_PREFIX}{lead_id}"),
            entity: "contact".to_owned(),
            lead_id: lead_id.clone(),
            expires_at: received_at.unix_timestamp()
                + firsthour::dedup::CONTACT_MARKER_DAYS * 24 * 60 * 60,
        }
    }
}

/// A deduplication marker as one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub kind: DedupKind,
    pub lead_id: LeadId,
    pub body_sha256: String,
    pub created_at: String,
    /// Epoch seconds; TTL deletes the marker after this.
    pub expires_at: i64,
}

impl From<&DedupMarker> for DedupItem {
    fn from(marker: &DedupMarker) -> Self {
        Self {
            pk: dedup_pk(&marker.key),
            sk: DEDUP_SK.to_owned(),
            entity: "dedup".to_owned(),
            kind: marker.kind,
            lead_id: marker.lead_id.clone(),
            body_sha256: marker.body_sha256.clone(),
            created_at: marker.created_at.clone(),
            expires_at: marker.expires_at,
        }
    }
}

impl From<DedupItem> for DedupMarker {
    fn from(item: DedupItem) -> Self {
        let key = item
            .pk
            .strip_prefix(DEDUP_PREFIX)
            .map_or_else(|| item.pk.clone(), str::to_owned);
        Self {
            kind: item.kind,
            key,
            lead_id: item.lead_id,
            body_sha256: item.body_sha256,
            created_at: item.created_at,
            expires_at: item.expires_at,
        }
    }
}

mod fit;
#[cfg(test)]
mod intake_fit;
pub mod registry;
pub mod rep;
pub mod size;

pub use fit::CUT_ORDER;

#[cfg(test)]
mod tests {
    use super::*;
    use firsthour::dedup::delivery_key;
    use firsthour::email::EmailAddress;
    use firsthour::lead::{Contact, Lead};
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
            guessed: vec!["phone from Field5".into()],
        }
    }

    #[test]
    fn new_leads_wait_in_the_due_index_unrouted() {
        let l = lead("a@b.co", "hi");
        let sector = firsthour::sector::decide(Default::default(), None);
        let route = firsthour::routing::Routing::default().route(&firsthour::routing::LeadFacts {
            sector: sector.sector,
            source: "web",
            email_domain: None,
            fields: &[],
            agency: None,
            domain_type: None,
            service: None,
        });
        let item = LeadItem::stored(LeadRecord::new_received(
            &l,
            &sector,
            &route,
            l.received_at + time::Duration::milliseconds(12),
            l.received_at + time::Duration::minutes(2),
            None,
        ));
        assert_eq!(item.ms_to_store, Some(12));
        assert!(item.stored_at.is_some());
        assert_eq!(item.routing_state, RoutingState::Unrouted);
        assert_eq!(item.due_bucket.as_deref(), Some(DUE_BUCKET_VALUE));
        assert_eq!(item.due_at, Some(unix_millis(l.received_at) + 120_000));
        assert_eq!(item.email_domain.as_deref(), Some("b.co"));
        assert_eq!(item.expires_at, None);
    }
    fn item_of(lead: &Lead) -> LeadItem {
        let sector = firsthour::sector::decide(Default::default(), None);
        let route = firsthour::routing::Routing::default().route(&firsthour::routing::LeadFacts {
            sector: sector.sector,
            source: "web",
            email_domain: None,
            fields: &[],
            agency: None,
            domain_type: None,
            service: None,
        });
        LeadItem::stored(LeadRecord::new_received(
            lead,
            &sector,
            &route,
            lead.received_at,
            lead.received_at,
            None,
        ))
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
        after.next_tier = Some(u32::MAX);
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
        after.owed_tier = Some(u32::MAX);
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
        // Reassignments: at most one a reassign tier.
        after.reassignments = (0..limits::MAX_REASSIGN_TIERS)
            .map(|tier| Reassignment {
                from: Some(address.clone()),
                to: address.clone(),
                at: stamp.clone(),
                tier: u32::MAX - u32::try_from(tier).unwrap_or(0),
            })
            .collect();
        after.reassigned_from = vec![address.clone(); limits::MAX_REASSIGN_TIERS];
        after.reassigned_tier = Some(u32::MAX);
        // The claim and touches (touch history is items of its own).
        after.claimed_at = Some(stamp.clone());
        after.claimed_by = Some(address);
        after.first_touch_at = Some(stamp.clone());
        after.last_touch_at = Some(stamp.clone());
        after.touches = u32::MAX;
        after.ms_to_first_touch = Some(i64::MAX);
        after.first_response_at = Some("2026-11-22T14:24:11.123Z".to_owned());
        after.first_response_channel = Some("meeting".to_owned());
        after.ms_to_first_response = Some(i64::MAX);
        // A post in every channel the file may name.
        after.channel_posts = (0..firsthour::channel::MAX_CHANNELS)
            .map(|n| {
                (
                    format!(
                        "{n:0>width$}",
                        width = firsthour::channel::MAX_CHANNEL_NAME_BYTES
                    ),
                    firsthour::record::ChannelPost {
                        conversation: Some("C".repeat(24)),
                        ts: Some("1".repeat(24)),
                        at: stamp.clone(),
                    },
                )
            })
            .collect();
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

    /// A record with every part filled in, as a lead is late in its life.
    fn full_record() -> LeadRecord {
        let mut l = lead("jane.doe@va.gov", "We need a quote for 40 seats");
        l.contact.first_name = Some("Jane".into());
        l.contact.company = Some("Department of Veterans Affairs".into());
        l.contact.phone = Some("+1 202 555 0143".into());
        l.contact.utm.campaign = Some("fed-q4".into());
        l.client_ip = Some("198.51.100.7".into());
        l.delivery_id = Some("msg_2Yx".into());
        l.truncated = vec!["message".into()];
        l.ignored_files = vec!["brief.pdf".into()];
        let sector = firsthour::sector::decide(Default::default(), None);
        let route = firsthour::routing::Routing::default().route(&firsthour::routing::LeadFacts {
            sector: sector.sector,
            source: "web",
            email_domain: Some("va.gov"),
            fields: &[],
            agency: None,
            domain_type: None,
            service: None,
        });
        let at = l.received_at;
        let mut record = LeadRecord::new_received(
            &l,
            &sector,
            &route,
            at + time::Duration::milliseconds(40),
            at + time::Duration::minutes(2),
            Some(at + time::Duration::days(400)),
        );
        let stamp = format_utc_millis(at + time::Duration::minutes(7));
        let sla = &mut record.sla;
        sla.routing_state = RoutingState::Routed;
        sla.owner = Some("rep@example.com".into());
        sla.routed_at = Some(stamp.clone());
        sla.notified_at = Some(stamp.clone());
        sla.notify_message_id = Some("0100018c-ses".into());
        sla.notification_leased_at = Some(1);
        sla.next_tier = Some(2);
        sla.owed_tier = Some(1);
        sla.owed_tier_leased_at = Some(2);
        sla.escalated_at = Some(stamp.clone());
        sla.claimed_at = Some(stamp.clone());
        sla.claimed_by = Some("rep@example.com".into());
        sla.touches = 3;
        sla.escalations = vec![EscalationStamp {
            tier: 1,
            at: stamp,
            ms: 420_000,
            breach: false,
        }];
        sla.ms_to_route = Some(90);
        sla.due_at = Some(unix_millis(at) + 3_600_000);
        record
    }

    #[test]
    fn a_record_survives_the_row_and_dynamodb_unchanged() {
        let record = full_record();
        let item = LeadItem::from(record.clone());
        let stored: serde_dynamo::Item = serde_dynamo::to_item(&item).expect("an item");
        let read: LeadItem = serde_dynamo::from_item(stored).expect("readable");
        assert_eq!(read, item);
        assert_eq!(LeadRecord::from(read), record);

        // A fresh lead too (nothing routed, nothing stamped).
        let fresh = LeadRecord::new_received(
            &lead("a@b.co", "hi"),
            &record.sector,
            &record.route,
            record.received_at,
            record.received_at,
            None,
        );
        assert_eq!(LeadRecord::from(LeadItem::from(fresh.clone())), fresh);
    }

    #[test]
    fn the_row_keeps_its_attribute_names() {
        let item = LeadItem::from(full_record());
        let stored: serde_dynamo::Item = serde_dynamo::to_item(&item).expect("an item");
        for name in [
            "pk",
            "sk",
            "lead_id",
            "received_at",
            "received_at_ms",
            "email",
            "email_domain",
            "utm_campaign",
            "client_ip",
            "delivery_id",
            "sector",
            "sector_evidence",
            "segment",
            "rule",
            "route_reason",
            "owner",
            "notify_claimed_at",
            "pending_claimed_at",
            "next_tier",
            "owed_tier",
            "due_bucket",
            "due_at",
            "expires_at",
            "escalations",
            "touches",
        ] {
            assert!(stored.contains_key(name), "{name}");
        }
        let row = LeadItem::from(full_record());
        let mut done = full_record();
        done.sla.due_at = None;
        let done = LeadItem::from(done);
        assert_eq!(row.due_bucket.as_deref(), Some(DUE_BUCKET_VALUE));
        assert_eq!((done.due_bucket, done.due_at), (None, None));
    }

    #[test]
    fn a_marker_survives_its_item() {
        let l = lead("a@b.co", "hi");
        let marker = DedupMarker::new(
            DedupKind::Delivery,
            "delivery#ab12",
            &l,
            "00ff",
            std::time::Duration::from_secs(60),
        );
        let item = DedupItem::from(&marker);
        assert_eq!(item.pk, "DEDUP#delivery#ab12");
        assert_eq!(DedupMarker::from(item), marker);
    }

    #[test]
    fn tiers_stored_from_zero_read_from_one() {
        let mut item = LeadItem::from(full_record());
        (item.next_tier, item.owed_tier) = (None, None);
        (item.tier, item.pending_tier) = (Some(1), Some(0));
        let sla = LeadRecord::from(item).sla;
        assert_eq!((sla.next_tier, sla.owed_tier), (Some(2), Some(1)));
    }
}
