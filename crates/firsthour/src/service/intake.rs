//! The intake use case: normalise, store first (deduplicated), then publish.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::config::{FileConfig, IntakeSettings};
use crate::dedup::{DedupKind, DedupMarker, content_key, delivery_key, sha256_hex};
use crate::events::{LeadReceived, OutboundEvent};
use crate::intake::body::BookedMeeting;
use crate::intake::{IntakeContext, IntakeError, Normalised, normalise};
use crate::lead::{Lead, LeadId, RequestMeta, Source};
use crate::metrics::{self, Metrics};
use crate::ports::{Clock, EventPublisher, InsertOutcome, LeadStore, StoreError};
use crate::record::LeadRecord;
use crate::routing::{LeadFacts, RouteDecision};
use crate::sector::{SectorDecision, SectorInputs, decide};
use crate::spam::SpamReason;

/// The parts of [`IntakeSettings`] the use case needs.
#[derive(Debug, Clone)]
pub struct IntakePolicy {
    pub max_body_bytes: usize,
    pub dedup_window: Duration,
    pub delivery_id_ttl: Duration,
    pub lead_retention: Option<Duration>,
    pub redrive_after: Duration,
    pub file: FileConfig,
    /// Origins a form's `redirect_url` may send the browser to.
    pub redirect_origins: Vec<String>,
}

impl From<&IntakeSettings> for IntakePolicy {
    fn from(s: &IntakeSettings) -> Self {
        Self {
            max_body_bytes: s.max_body_bytes,
            dedup_window: s.dedup_window,
            delivery_id_ttl: s.delivery_id_ttl,
            lead_retention: s.lead_retention,
            redrive_after: s.redrive_after,
            file: s.file.clone(),
            redirect_origins: s.redirect_origins.clone(),
        }
    }
}

/// Longest delivery id (`webhook-id`, `Idempotency-Key`) accepted.
pub const MAX_DELIVERY_ID_LEN: usize = 256;

/// A sender's delivery id as given (trimmed), if it is one: 1 to
/// [`MAX_DELIVERY_ID_LEN`] visible ASCII characters.
pub fn delivery_id(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()
        && text.len() <= MAX_DELIVERY_ID_LEN
        && text.chars().all(|c| c.is_ascii_graphic()))
    .then_some(text)
}

/// One webhook delivery, as the edge hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    pub source: &'a Source,
    pub meta: &'a RequestMeta,
    /// The sender proved who it is (a signature or token): no rate limit.
    pub authenticated: bool,
    /// A browser navigating with a form post (not a script, not a server):
    /// over the rate limit it gets the quiet fake success bots get; every
    /// other sender gets 429 and retries.
    pub browser_form: bool,
}

/// Whether the delivery made a new lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStatus {
    Accepted,
    Duplicate,
}

impl AcceptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The answer for an accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub lead_id: LeadId,
    pub status: AcceptStatus,
    pub redirect_url: Option<String>,
    pub warnings: Vec<String>,
    /// False when the lead is stored but `LeadReceived` could not be published
    /// (the sweep re-drives it).
    pub published: bool,
    /// Taken for spam: answered like a lead, but nothing was stored.
    pub spam: Option<SpamReason>,
    /// A new lead that booked a meeting: the caller records the touch.
    pub meeting: Option<BookedMeeting>,
}

impl Accepted {
    /// A new lead, stored.
    fn created(normalised: Normalised, published: bool) -> Self {
        Self {
            lead_id: normalised.lead.id,
            status: AcceptStatus::Accepted,
            redirect_url: normalised.redirect_url,
            warnings: normalised.warnings,
            published,
            spam: None,
            meeting: normalised.meeting,
        }
    }

    /// Seen before: answered with the lead it made then.
    fn duplicate(original: LeadId, normalised: &Normalised) -> Self {
        Self {
            lead_id: original,
            status: AcceptStatus::Duplicate,
            redirect_url: normalised.redirect_url.clone(),
            warnings: normalised.warnings.clone(),
            published: true,
            spam: None,
            meeting: None,
        }
    }

    /// Taken for spam (or a browser over the limit): answered like a lead
    /// with an id of its own, so a bot learns nothing; nothing is stored.
    fn quietly_dropped(normalised: &Normalised, at: OffsetDateTime, reason: SpamReason) -> Self {
        Self {
            lead_id: LeadId::new_at(at),
            status: AcceptStatus::Accepted,
            redirect_url: normalised.redirect_url.clone(),
            warnings: Vec::new(),
            published: false,
            spam: Some(reason),
            meeting: None,
        }
    }
}

/// Why a delivery was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    #[error(transparent)]
    Invalid(#[from] IntakeError),
    /// The same delivery id arrived before with a different body.
    #[error("delivery id already used for a different body (lead {original})")]
    DeliveryConflict { original: LeadId },
    /// Over the per-address limit and not a browser form post: nothing was
    /// stored, and the sender should retry after the window.
    #[error("too many submissions from this address; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct IntakeService<S, P, C> {
    store: S,
    publisher: P,
    clock: C,
    policy: IntakePolicy,
    metrics: Metrics,
}

impl<S: LeadStore, P: EventPublisher, C: Clock> IntakeService<S, P, C> {
    pub fn new(store: S, publisher: P, clock: C, policy: IntakePolicy) -> Self {
        Self {
            store,
            publisher,
            clock,
            policy,
            metrics: Metrics::default(),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn policy(&self) -> &IntakePolicy {
        &self.policy
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Accepts a delivery; a `redirect_url` to an origin not allowed is
    /// dropped, with a warning for the sender.
    pub async fn accept(&self, delivery: Delivery<'_>) -> Result<Accepted, AcceptError> {
        let mut accepted = self.receive(delivery).await?;
        if let Some(url) = accepted.redirect_url.take() {
            if self.redirect_allowed(&url) {
                accepted.redirect_url = Some(url);
            } else {
                accepted.warnings.push(
                    "redirect_url ignored: its origin is not in FIRSTHOUR_REDIRECT_ORIGINS".into(),
                );
            }
        }
        Ok(accepted)
    }

    fn redirect_allowed(&self, url: &str) -> bool {
        crate::config::parse_origin(url)
            .is_ok_and(|origin| self.policy.redirect_origins.contains(&origin))
    }

    /// The story of one delivery: read it as a lead, let spam and floods
    /// through quietly or refuse them, store it (or find it stored), then
    /// announce it.
    async fn receive(&self, delivery: Delivery<'_>) -> Result<Accepted, AcceptError> {
        let received_at = self.clock.now();
        let context = IntakeContext {
            source: delivery.source,
            meta: delivery.meta,
            mapping: self.policy.file.mapping(delivery.source),
            max_body_bytes: self.policy.max_body_bytes,
            received_at,
        };
        let normalised = normalise(delivery.body, delivery.content_type, context)?;
        let body_sha256 = sha256_hex(delivery.body);
        let spam = &self.policy.file.spam;
        if let Some(reason) = spam.check_fields(&normalised.lead.fields, received_at) {
            return Ok(Accepted::quietly_dropped(&normalised, received_at, reason));
        }
        if self.over_rate_limit(&normalised.lead, &delivery).await? {
            return self
                .over_the_limit(&normalised, &delivery, &body_sha256, received_at)
                .await;
        }
        let (sector, route) = classify(&normalised.lead, &self.policy.file);
        match self
            .store_new(&normalised.lead, &sector, &route, &body_sha256, received_at)
            .await?
        {
            InsertOutcome::Duplicate { original, marker } => {
                if marker.kind == DedupKind::Delivery && marker.body_sha256 != body_sha256 {
                    return Err(AcceptError::DeliveryConflict { original });
                }
                Ok(Accepted::duplicate(original, &normalised))
            }
            InsertOutcome::Created => {
                let published = self
                    .announce(&normalised.lead, &sector, &route, received_at)
                    .await;
                Ok(Accepted::created(normalised, published))
            }
        }
    }

    /// Over the per-address limit: a delivery already stored (or being
    /// stored) is answered with its lead, never an invented id; a browser
    /// form gets the quiet success bots get; any other sender retries.
    async fn over_the_limit(
        &self,
        normalised: &Normalised,
        delivery: &Delivery<'_>,
        body_sha256: &str,
        received_at: OffsetDateTime,
    ) -> Result<Accepted, AcceptError> {
        let lead = &normalised.lead;
        if let Some(delivery_id) = &lead.delivery_id
            && let Some(marker) = self
                .stored_delivery(&lead.source, delivery_id, received_at)
                .await?
        {
            if marker.body_sha256 != body_sha256 {
                return Err(AcceptError::DeliveryConflict {
                    original: marker.lead_id,
                });
            }
            return Ok(Accepted::duplicate(marker.lead_id, normalised));
        }
        if delivery.browser_form {
            return Ok(Accepted::quietly_dropped(
                normalised,
                received_at,
                SpamReason::RateLimited,
            ));
        }
        Err(AcceptError::RateLimited {
            retry_after_seconds: seconds_left_in_minute(received_at),
        })
    }

    /// Stores the lead with its deduplication markers, all or nothing.
    async fn store_new(
        &self,
        lead: &Lead,
        sector: &SectorDecision,
        route: &RouteDecision,
        body_sha256: &str,
        received_at: OffsetDateTime,
    ) -> Result<InsertOutcome, StoreError> {
        let markers = self.markers(lead, body_sha256);
        let record = LeadRecord::new_received(
            lead,
            sector,
            route,
            self.clock.now(),
            received_at + self.policy.redrive_after,
            self.policy.lead_retention.map(|keep| received_at + keep),
        );
        let store_started = Instant::now();
        let outcome = self
            .store
            .insert_lead(record, &markers, received_at)
            .await?;
        tracing::debug!(lead_id = %lead.id, store_ms = store_started.elapsed().as_millis() as u64, "stored");
        Ok(outcome)
    }

    /// The markers that make a resend a duplicate: the sender's delivery
    /// id, and the content within the dedupe window.
    fn markers(&self, lead: &Lead, body_sha256: &str) -> Vec<DedupMarker> {
        let mut markers = Vec::with_capacity(2);
        if let Some(delivery_id) = &lead.delivery_id {
            let key = delivery_key(&lead.source, delivery_id);
            markers.push(DedupMarker::new(
                DedupKind::Delivery,
                &key,
                lead,
                body_sha256,
                self.policy.delivery_id_ttl,
            ));
        }
        if !self.policy.dedup_window.is_zero() {
            let key = content_key(lead, &self.policy.file.spam);
            markers.push(DedupMarker::new(
                DedupKind::Content,
                &key,
                lead,
                body_sha256,
                self.policy.dedup_window,
            ));
        }
        markers
    }

    /// A new lead is counted and published (`LeadReceived`); whether it was.
    async fn announce(
        &self,
        lead: &Lead,
        sector: &SectorDecision,
        route: &RouteDecision,
        received_at: OffsetDateTime,
    ) -> bool {
        if route.fallback {
            // Counted and alerted on (metric filter on this field), never silent.
            tracing::warn!(lead_id = %lead.id, source = %lead.source, fallback_hit = true, "no routing rule matched: fallback");
        }
        let source = if self.policy.file.sources.contains_key(lead.source.as_str())
            || lead.source == Source::default_web()
        {
            lead.source.as_str()
        } else {
            metrics::OTHER_SOURCE
        };
        self.metrics.emit(
            received_at,
            metrics::lead_received(&lead.id, source, &route.segment, route.fallback),
        );
        let event = OutboundEvent::from(&LeadReceived::of(lead, sector, route));
        self.publish_received(lead, &event).await
    }

    /// Counts the submission against the per-address limit, for senders that
    /// did not authenticate; whether it is over.
    async fn over_rate_limit(
        &self,
        lead: &Lead,
        delivery: &Delivery<'_>,
    ) -> Result<bool, StoreError> {
        let limit = self.policy.file.spam.per_ip_per_minute;
        if delivery.authenticated || limit == 0 {
            return Ok(false);
        }
        let Some(ip) = &delivery.meta.client_ip else {
            return Ok(false);
        };
        let count = self.store.count_submission(ip, lead.received_at).await?;
        Ok(count > limit)
    }

    /// The marker of a delivery id already stored. A concurrent delivery of
    /// the same id may be mid-write: look once more after a moment.
    async fn stored_delivery(
        &self,
        source: &Source,
        delivery_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<DedupMarker>, StoreError> {
        let key = delivery_key(source, delivery_id);
        if let Some(marker) = self.store.find_marker(&key, now).await? {
            return Ok(Some(marker));
        }
        tokio::time::sleep(IN_FLIGHT_WRITE).await;
        self.store.find_marker(&key, now).await
    }

    /// Publishes `LeadReceived`; on failure the lead is flagged and made due
    /// now, so the escalation sweep routes it. Never fails the request: the
    /// lead is already stored.
    async fn publish_received(&self, lead: &Lead, event: &OutboundEvent) -> bool {
        match self.publisher.publish(event).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(lead_id = %lead.id, error = %err, "LeadReceived not published; lead left for re-drive");
                let now: OffsetDateTime = self.clock.now();
                if let Err(mark_err) = self.store.mark_publish_failed(&lead.id, now).await {
                    tracing::error!(lead_id = %lead.id, error = %mark_err, "could not flag unpublished lead; it is re-driven when its due time passes");
                }
                false
            }
        }
    }
}

/// How long a concurrent write of the same delivery may take to land.
const IN_FLIGHT_WRITE: Duration = Duration::from_millis(250);

/// The per-address limit counts per calendar minute: a retry after this
/// many seconds lands in a fresh window.
fn seconds_left_in_minute(now: OffsetDateTime) -> u64 {
    60 - u64::from(now.second())
}

/// The lead's sector (with evidence) and the rule that routes it: pure, the
/// same code the `firsthour route` dry run uses.
pub fn classify(lead: &Lead, file: &FileConfig) -> (SectorDecision, RouteDecision) {
    let email_domain = lead.contact.email.as_ref().map(|e| e.domain());
    let sector = decide(
        SectorInputs {
            email_domain,
            org_type: lead
                .contact
                .org_type
                .as_ref()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            source: file
                .source_sector(&lead.source)
                .map(|s| (lead.source.as_str(), s)),
        },
        file.registry.as_deref(),
    );
    let route = file.routing.route(&LeadFacts {
        sector: sector.sector,
        source: lead.source.as_str(),
        email_domain,
        fields: &lead.fields,
        agency: sector.agency.as_deref(),
        domain_type: sector.domain_type.as_deref(),
        service: sector.service.as_deref(),
    });
    (sector, route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_is_visible_ascii_and_bounded() {
        assert_eq!(delivery_id("  msg_2abc  "), Some("msg_2abc"));
        assert_eq!(delivery_id(""), None);
        assert_eq!(delivery_id("a b"), None);
        assert_eq!(delivery_id("é"), None);
        assert!(delivery_id(&"x".repeat(MAX_DELIVERY_ID_LEN)).is_some());
        assert_eq!(delivery_id(&"x".repeat(MAX_DELIVERY_ID_LEN + 1)), None);
    }
}
