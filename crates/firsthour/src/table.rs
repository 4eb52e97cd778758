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

    /// The item's size as DynamoDB counts it.
    pub fn size(&self) -> Result<usize, limits::Unmeasurable> {
        limits::item_size(self)
    }

    /// Bounds every value a sender gave, then measures the item as DynamoDB
    /// does and, while it is over `budget`, cuts what a rep needs least
    /// first ([`CUT_ORDER`]); the email and phone are never cut. Each
    /// attribute cut is named in `truncated`. The intake has already cut
    /// each value to its bound, so the measuring pass only cuts when the
    /// config's own strings (recipients, rule names) are huge, or when a
    /// lead was built elsewhere.
    fn fit_within(&mut self, budget: usize) {
        use crate::text::truncate_utf8;
        use limits::{
            MAX_CLIENT_IP_BYTES, MAX_DELIVERY_ID_BYTES, MAX_FIELD_NAME_BYTES, MAX_FILE_NAME_BYTES,
            MAX_IGNORED_FILES, MAX_MESSAGE_BYTES, MAX_PHONE_BYTES, MAX_SHORT_TEXT_BYTES,
        };
        let mut cut: Vec<&'static str> = Vec::new();
        for (attribute, value, max) in [
            ("first_name", &mut self.first_name, MAX_SHORT_TEXT_BYTES),
            ("last_name", &mut self.last_name, MAX_SHORT_TEXT_BYTES),
            ("full_name", &mut self.full_name, MAX_SHORT_TEXT_BYTES),
            ("company", &mut self.company, MAX_SHORT_TEXT_BYTES),
            ("phone", &mut self.phone, MAX_PHONE_BYTES),
            ("job_title", &mut self.job_title, MAX_SHORT_TEXT_BYTES),
            ("message", &mut self.message, MAX_MESSAGE_BYTES),
            ("page_url", &mut self.page_url, MAX_SHORT_TEXT_BYTES),
            ("referrer", &mut self.referrer, MAX_SHORT_TEXT_BYTES),
            ("utm_source", &mut self.utm_source, MAX_SHORT_TEXT_BYTES),
            ("utm_medium", &mut self.utm_medium, MAX_SHORT_TEXT_BYTES),
            ("utm_campaign", &mut self.utm_campaign, MAX_SHORT_TEXT_BYTES),
            ("utm_term", &mut self.utm_term, MAX_SHORT_TEXT_BYTES),
            ("utm_content", &mut self.utm_content, MAX_SHORT_TEXT_BYTES),
            ("client_ip", &mut self.client_ip, MAX_CLIENT_IP_BYTES),
            ("user_agent", &mut self.user_agent, MAX_SHORT_TEXT_BYTES),
            // The dedupe key hashes the whole id; only the stored copy is cut.
            ("delivery_id", &mut self.delivery_id, MAX_DELIVERY_ID_BYTES),
            ("agency", &mut self.agency, MAX_SHORT_TEXT_BYTES),
        ] {
            if value.as_mut().is_some_and(|v| truncate_utf8(v, max)) {
                cut.push(attribute);
            }
        }
        if let Evidence::Field { field, value } = &mut self.sector_evidence {
            let field_cut = truncate_utf8(field, MAX_FIELD_NAME_BYTES);
            if truncate_utf8(value, MAX_SHORT_TEXT_BYTES) || field_cut {
                cut.push("sector_evidence");
            }
        }
        let files = self.ignored_files.len();
        self.ignored_files.truncate(MAX_IGNORED_FILES);
        let mut files_cut = files > MAX_IGNORED_FILES;
        for name in &mut self.ignored_files {
            files_cut |= truncate_utf8(name, MAX_FILE_NAME_BYTES);
        }
        if files_cut {
            cut.push("ignored_files");
        }
        for attribute in cut {
            note_truncated(&mut self.truncated, attribute);
        }

        // Unmeasurable: the store reports it when it writes.
        let mut size = self.size().ok();
        for attribute in CUT_ORDER {
            // A little more than the excess: naming the cut costs bytes too.
            let excess = match size {
                Some(size) if size > budget => size - budget + 64,
                _ => break,
            };
            let cut = match attribute {
                "fields" => self.cut_raw_fields(excess),
                "ignored_files" => !std::mem::take(&mut self.ignored_files).is_empty(),
                text => self
                    .text_mut(text)
                    .is_some_and(|value| shorten(value, excess)),
            };
            if cut {
                note_truncated(&mut self.truncated, attribute);
            }
            size = self.size().ok();
        }
        self.fields_truncated |= !self.truncated.is_empty();
        if let Some(size) = size
            && size > budget
        {
            tracing::warn!(lead_id = %self.lead_id, size, budget, "lead item over its budget with every sender value cut: the routing config's strings are too long");
        }
    }

    /// The single-line texts [`CUT_ORDER`] may cut, by attribute name.
    fn text_mut(&mut self, attribute: &str) -> Option<&mut Option<String>> {
        Some(match attribute {
            "user_agent" => &mut self.user_agent,
            "referrer" => &mut self.referrer,
            "page_url" => &mut self.page_url,
            "utm_content" => &mut self.utm_content,
            "utm_term" => &mut self.utm_term,
            "utm_campaign" => &mut self.utm_campaign,
            "utm_medium" => &mut self.utm_medium,
            "utm_source" => &mut self.utm_source,
            "message" => &mut self.message,
            "job_title" => &mut self.job_title,
            "company" => &mut self.company,
            "full_name" => &mut self.full_name,
            "last_name" => &mut self.last_name,
            "first_name" => &mut self.first_name,
            _ => return None,
        })
    }

    /// Cuts `excess` bytes from the raw fields: values from the last field
    /// back, then whole fields from the end. Whether anything was cut.
    fn cut_raw_fields(&mut self, mut excess: usize) -> bool {
        let mut cut = false;
        for field in self.fields.iter_mut().rev() {
            if excess == 0 {
                break;
            }
            let before = field.value.len();
            if crate::text::truncate_utf8(&mut field.value, before.saturating_sub(excess)) {
                cut = true;
                excess = excess.saturating_sub(before - field.value.len());
            }
        }
        while excess > 0 {
            let Some(field) = self.fields.pop() else {
                break;
            };
            cut = true;
            // Its size in the list: the value and one byte of overhead.
            let size = limits::value_size(&field).map_or(0, |size| size + 1);
            excess = excess.saturating_sub(size);
        }
        cut
    }
}

/// What `LeadItem::fit_within` cuts first when an item is over its budget:
/// the raw copy of the answers, the file names, attribution, the message,
/// then names; never the email or phone, which reach the person.
pub const CUT_ORDER: [&str; 16] = [
    "fields",
    "ignored_files",
    "user_agent",
    "referrer",
    "page_url",
    "utm_content",
    "utm_term",
    "utm_campaign",
    "utm_medium",
    "utm_source",
    "message",
    "job_title",
    "company",
    "full_name",
    "last_name",
    "first_name",
];

/// Cuts `by` bytes off the end of `value`; an emptied value becomes absent.
fn shorten(value: &mut Option<String>, by: usize) -> bool {
    let Some(text) = value.as_mut() else {
        return false;
    };
    let cut = crate::text::truncate_utf8(text, text.len().saturating_sub(by));
    if text.is_empty() {
        *value = None;
    }
    cut
}

/// What a deduplication marker guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupKind {
    /// The sender's delivery id (`webhook-id`, `Idempotency-Key`, vendor event id).
    Delivery,
    /// The same normalised content from the same source within the window.
    Content,
}

/// A marker item claimed in the same transaction as the lead: whoever
/// claims it first owns the lead; later deliveries find the original id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub kind: DedupKind,
    pub lead_id: LeadId,
    /// SHA-256 of the request body: the same delivery id with another body is a conflict.
    pub body_sha256: String,
    pub created_at: String,
    /// Epoch seconds; the marker no longer counts after this (and TTL deletes it).
    pub expires_at: i64,
}

impl DedupItem {
    pub fn new(
        kind: DedupKind,
        key: &str,
        lead: &Lead,
        body_sha256: &str,
        ttl: std::time::Duration,
    ) -> Self {
        let expires = lead.received_at + ttl;
        Self {
            pk: dedup_pk(key),
            sk: DEDUP_SK.to_owned(),
            entity: "dedup".to_owned(),
            kind,
            lead_id: lead.id.clone(),
            body_sha256: body_sha256.to_owned(),
            created_at: format_utc_millis(lead.received_at),
            expires_at: expires.unix_timestamp(),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Key of a delivery-id marker: hashed, so any id a sender picks (long,
/// odd characters) becomes a fixed-size key.
pub fn delivery_key(source: &Source, delivery_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"delivery\0");
    hasher.update(source.as_str());
    hasher.update(b"\0");
    hasher.update(delivery_id);
    format!("delivery#{}", hex::encode(hasher.finalize()))
}

/// Fields whose values change between two submits of the same answers, so
/// the content fingerprint leaves them out (besides the config's
/// `spam.rendered_at_field`): captcha answers (reCAPTCHA, hCaptcha,
/// Turnstile, Friendly Captcha, Contact Form 7's reCAPTCHA), CSRF tokens
/// (Laravel, Django, Rails, ASP.NET, Express, WordPress nonces) and Gravity
/// Forms' per-render id. Compared without regard to case.
pub const VOLATILE_FIELDS: [&str; 16] = [
    "g-recaptcha-response",
    "h-captcha-response",
    "cf-turnstile-response",
    "frc-captcha-solution",
    "_wpcf7_recaptcha_response",
    "_token",
    "_csrf",
    "_csrf_token",
    "csrf_token",
    "csrfmiddlewaretoken",
    "authenticity_token",
    "__RequestVerificationToken",
    "_wpnonce",
    "nonce",
    "_nonce",
    "gform_unique_id",
];

/// Whether a submitted field is a volatile control field (see [`VOLATILE_FIELDS`]).
pub fn is_volatile(name: &str, spam: &SpamConfig) -> bool {
    name.eq_ignore_ascii_case(&spam.rendered_at_field)
        || VOLATILE_FIELDS.iter().any(|v| name.eq_ignore_ascii_case(v))
}

/// Key of a content marker: the source, the normalised contact details and
/// every submitted field (name and value) except volatile control fields,
/// so only a true resubmission is a duplicate: the same person sending
/// other answers within the window makes a new lead.
///
/// The fields are taken as a set, not in arrival order: the same answers in
/// another order (a vendor's retry serialising its JSON anew, a form whose
/// fields were rearranged) carry nothing new, so treating them as the same
/// submission loses nothing, while order-sensitivity would make two leads
/// (two notifications, two reps) of one.
pub fn content_key(lead: &Lead, spam: &SpamConfig) -> String {
    // Length-prefixed parts: no two different submissions hash the same input.
    fn part(hasher: &mut Sha256, text: &str) {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text);
    }
    let c = &lead.contact;
    let mut hasher = Sha256::new();
    hasher.update(b"content\0v2\0");
    part(&mut hasher, lead.source.as_str());
    let email = c.email.as_ref().map(|e| e.as_str().to_lowercase());
    for value in [
        email.as_deref(),
        c.phone.as_deref(),
        c.first_name.as_deref(),
        c.last_name.as_deref(),
        c.full_name.as_deref(),
        c.company.as_deref(),
        c.job_title.as_deref(),
        c.message.as_deref(),
    ] {
        part(&mut hasher, value.unwrap_or_default());
    }
    let mut answers: Vec<(&str, &str)> = lead
        .fields
        .iter()
        .filter(|f| !is_volatile(&f.name, spam))
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    answers.sort_unstable();
    hasher.update((answers.len() as u64).to_le_bytes());
    for (name, value) in answers {
        part(&mut hasher, name);
        part(&mut hasher, value);
    }
    let mut files: Vec<&str> = lead.ignored_files.iter().map(String::as_str).collect();
    files.sort_unstable();
    hasher.update((files.len() as u64).to_le_bytes());
    for file in files {
        part(&mut hasher, file);
    }
    format!("content#{}", hex::encode(hasher.finalize()))
}

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
