//! A stored lead as the use cases read it: what arrived (contact, the
//! submission), what was decided at intake (sector, route), and where its
//! SLA stands. The ports speak these records; how they sit in a DynamoDB
//! item is the adapter's business (`firsthour-aws`'s `table` module).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::lead::{Lead, LeadId, RawField, RequestMeta, Source, Utm, unix_millis};
use crate::routing::RouteDecision;
use crate::sector::SectorDecision;

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingState {
    /// Stored, not yet routed: the sweep re-drives it once due.
    Unrouted,
    Routed,
}

/// A stored lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRecord {
    pub id: LeadId,
    pub source: Source,
    pub received_at: OffsetDateTime,
    /// When the intake wrote the lead (RFC 3339 UTC with milliseconds).
    pub stored_at: Option<String>,
    pub contact: StoredContact,
    pub submission: Submission,
    pub sector: SectorDecision,
    /// What the routing rules decided at intake (the owner comes later, from the router).
    pub route: RouteDecision,
    pub sla: SlaState,
    /// When the table forgets the lead (epoch seconds), if retention is set.
    pub expires_at: Option<i64>,
}

/// How to reach the person and what they told us, as stored (plain text:
/// the intake validated it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredContact {
    pub email: Option<String>,
    pub email_domain: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub message: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub utm: Utm,
}

/// The submission itself: every field as sent, and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub fields: Vec<RawField>,
    /// The stored attributes that were cut to fit (`message`, `phone`, `fields`…).
    pub truncated: Vec<String>,
    /// Something was cut before `truncated` named what (leads stored by
    /// older versions, which kept only a flag).
    pub cut_unnamed: bool,
    pub ignored_files: Vec<String>,
    /// Contact fields taken by a guess (`phone from Field5`).
    pub guessed: Vec<String>,
    pub origin: RequestMeta,
}

/// Where the lead's clock stands: routed, notified, escalated, touched.
/// Stamps are RFC 3339 UTC with milliseconds, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaState {
    pub routing_state: RoutingState,
    pub owner: Option<String>,
    pub routed_at: Option<String>,
    /// The first notification went out (set once, conditionally).
    pub notified_at: Option<String>,
    pub notify_message_id: Option<String>,
    /// A sender holds the lease on the first notification since then (epoch ms).
    pub notification_leased_at: Option<i64>,
    pub notify_failed_at: Option<String>,
    pub notify_error: Option<String>,
    /// The next SLA tier to fire, once routed: 1 is the ladder's first,
    /// and one past its last is the breach (the hand-over to the fallback).
    pub next_tier: Option<u32>,
    /// A tier that fired and whose emails are owed (sending was
    /// throttled), numbered as `next_tier`: re-sent first.
    pub owed_tier: Option<u32>,
    /// A sweep holds the lease on sending `owed_tier` since then (epoch ms).
    pub owed_tier_leased_at: Option<i64>,
    pub escalated_at: Option<String>,
    /// Every tier fired and nobody took it: the fallback queue has it.
    pub breached_at: Option<String>,
    /// Touched: claimed by link or touched through the API. Stops the clock.
    pub claimed_at: Option<String>,
    pub claimed_by: Option<String>,
    pub first_touch_at: Option<String>,
    pub last_touch_at: Option<String>,
    /// How many times someone acted on the lead (persistence).
    pub touches: u32,
    /// Every escalation tier that fired, in order (the breach included).
    pub escalations: Vec<EscalationStamp>,
    /// Every time a tier moved the lead to another owner, in order.
    pub reassignments: Vec<Reassignment>,
    /// The first real response (a tracked reply, a call, a meeting, a CRM
    /// touch), apart from a claim (an acknowledgement), and its channel.
    pub first_response_at: Option<String>,
    pub first_response_channel: Option<String>,
    pub ms_to_first_response: Option<i64>,
    /// Durations from `received_at`, written with each stamp.
    pub ms_to_store: Option<i64>,
    pub ms_to_route: Option<i64>,
    pub ms_to_notify: Option<i64>,
    pub ms_to_first_touch: Option<i64>,
    /// When the lead next needs attention (epoch ms); `None` once nothing is owed.
    pub due_at: Option<i64>,
    /// Set when publishing `LeadReceived` failed after the lead was stored.
    pub publish_failed_at: Option<String>,
    /// The lead's first message in each chat channel, by channel name:
    /// where a tier's thread reply and a claim's `chat.update` go.
    pub channel_posts: std::collections::BTreeMap<String, ChannelPost>,
}

/// Where a lead's first message in a channel is. Slack app messages have
/// a conversation and a `ts`; webhook posts have neither (one post each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    pub at: String,
}

impl SlaState {
    /// A lead just stored: unrouted, due for re-drive at `redrive_at`.
    pub fn received(ms_to_store: i64, redrive_at: OffsetDateTime) -> Self {
        Self {
            routing_state: RoutingState::Unrouted,
            owner: None,
            routed_at: None,
            notified_at: None,
            notify_message_id: None,
            notification_leased_at: None,
            notify_failed_at: None,
            notify_error: None,
            next_tier: None,
            owed_tier: None,
            owed_tier_leased_at: None,
            escalated_at: None,
            breached_at: None,
            claimed_at: None,
            claimed_by: None,
            first_touch_at: None,
            last_touch_at: None,
            touches: 0,
            escalations: Vec::new(),
            reassignments: Vec::new(),
            first_response_at: None,
            first_response_channel: None,
            ms_to_first_response: None,
            ms_to_store: Some(ms_to_store),
            ms_to_route: None,
            ms_to_notify: None,
            ms_to_first_touch: None,
            due_at: Some(unix_millis(redrive_at)),
            publish_failed_at: None,
            channel_posts: std::collections::BTreeMap::new(),
        }
    }
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

/// A tier moved the lead from its owner (none: the rule's recipients had
/// it) to another rep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    pub at: String,
    /// The tier that moved it (1 = the ladder's first).
    pub tier: u32,
}

impl SlaState {
    /// Whether `recipient` owned the lead before a tier moved it on and
    /// does not own it now: their claim link no longer claims.
    pub fn moved_from(&self, recipient: &str) -> bool {
        !self
            .owner
            .as_deref()
            .is_some_and(|owner| owner.eq_ignore_ascii_case(recipient))
            && self.reassignments.iter().any(|r| {
                r.from
                    .as_deref()
                    .is_some_and(|from| from.eq_ignore_ascii_case(recipient))
            })
    }

    /// The reassignment tier `tier` made, if it made one.
    pub fn reassigned_at_tier(&self, tier: u32) -> Option<&Reassignment> {
        self.reassignments.iter().find(|r| r.tier == tier)
    }
}

/// Milliseconds from a lead's arrival (its id carries the arrival time) to
/// `now`; never negative, so a clock step back reads as 0.
pub fn elapsed_ms(id: &LeadId, now: OffsetDateTime) -> i64 {
    id.created_at().map_or(0, |received| {
        (unix_millis(now) - unix_millis(received)).max(0)
    })
}

impl LeadRecord {
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
        let ms_to_store = (unix_millis(stored_at) - unix_millis(lead.received_at)).max(0);
        Self {
            id: lead.id.clone(),
            source: lead.source.clone(),
            received_at: lead.received_at,
            stored_at: Some(crate::lead::format_utc_millis(stored_at)),
            contact: StoredContact {
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
                utm: c.utm.clone(),
            },
            submission: Submission {
                fields: lead.fields.clone(),
                truncated: lead.truncated.clone(),
                cut_unnamed: false,
                ignored_files: lead.ignored_files.clone(),
                guessed: lead.guessed.clone(),
                origin: RequestMeta {
                    client_ip: lead.client_ip.clone(),
                    user_agent: lead.user_agent.clone(),
                    delivery_id: lead.delivery_id.clone(),
                },
            },
            sector: sector.clone(),
            route: route.clone(),
            sla: SlaState::received(ms_to_store, redrive_at),
            expires_at: expires_at.map(OffsetDateTime::unix_timestamp),
        }
    }
}

/// Stored leads for the domain's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use time::macros::datetime;

    use super::LeadRecord;
    use crate::lead::{Contact, Lead, LeadId, RawField, Source};
    use crate::routing::{LeadFacts, Routing};
    use crate::sector::{Evidence, Sector, SectorDecision};

    /// A navy.mil lead from the government portal with `contact` and
    /// `fields`, routed federal (the default routing's fallback, renamed)
    /// and owned by fed-rep-1.
    pub(crate) fn federal(contact: Contact, fields: Vec<RawField>) -> LeadRecord {
        let at = datetime!(2026-11-22 14:24:11.123 UTC);
        let lead = Lead {
            id: LeadId::new_at(at),
            received_at: at,
            source: Source::parse("gov-portal").expect("valid"),
            contact,
            client_ip: None,
            user_agent: None,
            delivery_id: None,
            fields,
            truncated: vec![],
            ignored_files: vec![],
            guessed: vec![],
        };
        let sector = SectorDecision {
            sector: Sector::Federal,
            evidence: Evidence::Domain {
                domain: "navy.mil".into(),
                rule: ".mil".into(),
            },
            agency: Some("Department of the Navy".into()),
            domain_type: None,
            service: Some("navy".into()),
        };
        let mut route = Routing::default().route(&LeadFacts {
            sector: Sector::Federal,
            source: "gov-portal",
            email_domain: Some("navy.mil"),
            fields: &[],
            agency: None,
            domain_type: None,
            service: None,
        });
        route.segment = "federal".into();
        let mut item = LeadRecord::new_received(&lead, &sector, &route, at, at, None);
        item.sla.owner = Some("fed-rep-1@example.com".into());
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn elapsed_is_measured_from_the_id_and_never_negative() {
        let at = datetime!(2026-11-22 14:00 UTC);
        let id = LeadId::new_at(at);
        assert_eq!(elapsed_ms(&id, at + time::Duration::seconds(90)), 90_000);
        assert_eq!(elapsed_ms(&id, at - time::Duration::seconds(1)), 0);
    }
}
