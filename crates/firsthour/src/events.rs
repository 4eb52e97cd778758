//! Domain events on the EventBridge bus. No personal data: ids, source,
//! times and the facts routing needs (the email *domain*, not the address).

use serde::{Deserialize, Serialize};

use crate::lead::{Lead, LeadId, Source, format_utc_millis};
use crate::routing::{Priority, RouteDecision};
use crate::sector::{Sector, SectorDecision};

/// `source` of every event firsthour puts on the bus.
pub const EVENT_SOURCE: &str = "firsthour";
/// `detail-type` of the event published once a lead is stored.
pub const LEAD_RECEIVED: &str = "LeadReceived";

/// Detail of a `LeadReceived` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadReceived {
    pub schema_version: u32,
    pub lead_id: LeadId,
    pub source: Source,
    pub received_at: String,
    /// The organisation's domain (routing input); `None` for phone-only leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
    pub has_email: bool,
    pub has_phone: bool,
    /// Routing facts rules on the bus match on (`detail.segment`).
    pub sector: Sector,
    pub segment: String,
    pub rule: String,
    pub priority: Priority,
}

impl LeadReceived {
    pub fn of(lead: &Lead, sector: &SectorDecision, route: &RouteDecision) -> Self {
        Self {
            schema_version: 1,
            lead_id: lead.id.clone(),
            source: lead.source.clone(),
            received_at: format_utc_millis(lead.received_at),
            email_domain: lead.contact.email.as_ref().map(|e| e.domain().to_owned()),
            has_email: lead.contact.email.is_some(),
            has_phone: lead.contact.phone.is_some(),
            sector: sector.sector,
            segment: route.segment.clone(),
            rule: route.rule.clone(),
            priority: route.priority,
        }
    }
}

/// An event ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    pub detail_type: &'static str,
    /// The detail, serialised as JSON.
    pub detail: String,
}

impl From<&LeadReceived> for OutboundEvent {
    fn from(event: &LeadReceived) -> Self {
        outbound(LEAD_RECEIVED, event)
    }
}

/// `detail-type` of the event published when a tier fires.
pub const LEAD_ESCALATED: &str = "LeadEscalated";
/// `detail-type` of the event published when someone claims or acts on a lead.
pub const LEAD_TOUCHED: &str = "LeadTouched";

/// Detail of a `LeadEscalated` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadEscalated {
    pub lead_id: LeadId,
    pub segment: String,
    /// The tier that fired (1 = the ladder's first); one past the ladder's
    /// last for the breach, as in the lead's `escalations` stamps and metrics.
    pub tier: u32,
    pub breached: bool,
    pub recipients: usize,
    pub at: String,
}

/// Detail of a `LeadTouched` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTouched {
    pub lead_id: LeadId,
    /// `claim`, `call`, `email`, `meeting`, `other`.
    pub channel: String,
    pub touches: u32,
    pub at: String,
}

impl From<&LeadEscalated> for OutboundEvent {
    fn from(event: &LeadEscalated) -> Self {
        outbound(LEAD_ESCALATED, event)
    }
}

impl From<&LeadTouched> for OutboundEvent {
    fn from(event: &LeadTouched) -> Self {
        outbound(LEAD_TOUCHED, event)
    }
}

/// `detail-type` of the event published once a lead's first notification is out.
pub const LEAD_ROUTED: &str = "LeadRouted";
/// `detail-type` of the event published when a tier moves a lead to another rep.
pub const LEAD_REASSIGNED: &str = "LeadReassigned";
/// `detail-type` of the event published when a lead is claimed (a claim
/// link, Slack's Claim button, or the first touch).
pub const LEAD_CLAIMED: &str = "LeadClaimed";

/// Detail of a `LeadRouted` event: who owns the lead and how it was routed
/// (rep addresses are the company's own; nothing of the person's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadRouted {
    pub lead_id: LeadId,
    pub segment: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When the first tier fires if nobody claims the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub recipients: usize,
    pub at: String,
}

/// Detail of a `LeadReassigned` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadReassigned {
    pub lead_id: LeadId,
    pub segment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    pub tier: u32,
    pub at: String,
}

/// Detail of a `LeadClaimed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadClaimed {
    pub lead_id: LeadId,
    /// Who claimed it: a rep's address, or `crm`.
    pub by: String,
    /// How: `claim` (a link or Slack's button), or the first touch's channel.
    pub channel: String,
    pub at: String,
}

/// An event's detail as JSON: serialising strings, numbers and bools cannot fail.
fn outbound(detail_type: &'static str, detail: &impl Serialize) -> OutboundEvent {
    OutboundEvent {
        detail_type,
        detail: serde_json::to_string(detail).unwrap_or_default(),
    }
}

impl From<&LeadRouted> for OutboundEvent {
    fn from(event: &LeadRouted) -> Self {
        outbound(LEAD_ROUTED, event)
    }
}

impl From<&LeadReassigned> for OutboundEvent {
    fn from(event: &LeadReassigned) -> Self {
        outbound(LEAD_REASSIGNED, event)
    }
}

impl From<&LeadClaimed> for OutboundEvent {
    fn from(event: &LeadClaimed) -> Self {
        outbound(LEAD_CLAIMED, event)
    }
}

/// Every `detail-type` firsthour publishes, as `[[webhooks]] events` name them.
pub const EVENT_TYPES: [&str; 6] = [
    LEAD_RECEIVED,
    LEAD_ROUTED,
    LEAD_ESCALATED,
    LEAD_REASSIGNED,
    LEAD_CLAIMED,
    LEAD_TOUCHED,
];
