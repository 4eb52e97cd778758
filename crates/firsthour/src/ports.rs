//! The ports the domain talks through. AWS adapters implement them in
//! the `firsthour-aws` crate; tests may implement them in memory.

use std::future::Future;

use time::OffsetDateTime;

use crate::dedup::DedupMarker;
use crate::events::OutboundEvent;
use crate::lead::LeadId;
use crate::notify::OutgoingEmail;
use crate::record::LeadRecord;
use crate::roster::{Away, Roster};
use crate::sector::refresh::{RefreshReport, StoredRegistry};

/// The time, so tests can control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock tests (and the local runner) set by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(std::sync::Arc<std::sync::Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }

    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }

    pub fn advance(&self, by: std::time::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A storage failure, classified for the edge: retryable or not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or is throttling: the sender should retry.
    #[error("lead store unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request: retrying the same request will not help.
    #[error("lead store rejected the request: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// What storing a new lead came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The lead is stored.
    Created,
    /// A marker said this was seen before: nothing was written.
    Duplicate {
        original: LeadId,
        marker: DedupMarker,
    },
}

pub trait LeadStore: Send + Sync {
    /// Stores the lead and claims its deduplication markers, all or nothing,
    /// with conditional writes (no read-then-write race).
    fn insert_lead(
        &self,
        lead: LeadRecord,
        markers: &[DedupMarker],
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Counts one submission from `client_ip` in the minute of `now` and
    /// returns the count so far (an atomic counter that expires by TTL).
    fn count_submission(
        &self,
        client_ip: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The deduplication marker stored under `key` (a delivery or content
    /// key), if it still counts at `now`. A strongly consistent read.
    fn find_marker(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<DedupMarker>, StoreError>> + Send;

    /// Records that publishing `LeadReceived` failed and makes the lead due at
    /// once, so the sweep re-drives it.
    fn mark_publish_failed(
        &self,
        lead_id: &LeadId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Publishing failed; the lead stays findable as unrouted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event publishing failed: {0}")]
pub struct PublishError(pub String);

pub trait EventPublisher: Send + Sync {
    fn publish(
        &self,
        event: &OutboundEvent,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// A publisher that may not be configured: `None` announces nothing.
impl<P: EventPublisher> EventPublisher for Option<P> {
    async fn publish(&self, event: &OutboundEvent) -> Result<(), PublishError> {
        match self {
            Some(publisher) => publisher.publish(event).await,
            None => Ok(()),
        }
    }
}

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Sending too fast: try again later, nothing is lost.
    #[error("throttled: {0}")]
    Throttled(String),
    /// SES refused this message (`MessageRejected`, unverified sender…): retrying will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// SES could not be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

pub trait Mailer: Send + Sync {
    /// Sends the email; returns the provider's message id.
    fn send(&self, email: &OutgoingEmail)
    -> impl Future<Output = Result<String, MailError>> + Send;
}

/// What the router reads and writes on a lead. Every write is conditional,
/// so a redelivered event can never route or notify twice.
pub trait RoutingStore: Send + Sync {
    fn get_lead(
        &self,
        id: &LeadId,
    ) -> impl Future<Output = Result<Option<LeadRecord>, StoreError>> + Send;

    /// The next turn of a team's round robin: an atomic counter (1, 2, 3…).
    fn next_turn(&self, team: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Takes one of a rep's `cap` leads for `day` (their local date), all or
    /// nothing: `Ok(false)` when the rep already has `cap` that day. Atomic
    /// under concurrency, so no rep ever goes over their cap.
    fn take_daily_slot(
        &self,
        rep: &str,
        day: &str,
        cap: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks the lead routed with its owner and first due time, only if it is
    /// still unrouted. `Ok(false)`: someone else routed it first.
    /// `reason`: the routing reason again with how the owner was chosen,
    /// when there is more to say than the rule (reps passed over).
    fn mark_routed(
        &self,
        id: &LeadId,
        owner: Option<&str>,
        reason: Option<&str>,
        due_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes the right to send the first notification, unless it was sent or
    /// another sender holds a lease younger than `lease`.
    fn lease_notification(
        &self,
        id: &LeadId,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn release_notification(
        &self,
        id: &LeadId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn record_notified(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        message_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a failed first notification and makes the lead due now, so
    /// escalation acts on it.
    fn record_notify_failed(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        error: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What claiming a lead came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The lead's segment comes back for the time-to-first-touch metric.
    Claimed {
        segment: Option<String>,
    },
    AlreadyClaimed {
        by: Option<String>,
        at: Option<String>,
    },
    /// The claimant owned the lead before a tier moved it to `to`: nothing claimed.
    Reassigned {
        to: Option<String>,
    },
    NotFound,
}

/// What recording a touch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TouchOutcome {
    Recorded {
        touches: u32,
        segment: Option<String>,
    },
    /// The same touch id was recorded before: nothing counted twice.
    Duplicate,
    NotFound,
}

/// One page-through of the due index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueLeads {
    pub leads: Vec<LeadRecord>,
    /// Items DynamoDB read to answer (the query's ScannedCount, summed).
    pub scanned: u64,
}

/// What escalation and the touch endpoints do to leads. Conditional writes
/// throughout: two sweeps at once never fire one tier twice.
pub trait EscalationStore: Send + Sync {
    /// Leads whose `due_at` has passed, by querying the sparse due index
    /// (never a scan), at most `max` of them.
    fn due_leads(
        &self,
        now: OffsetDateTime,
        max: usize,
    ) -> impl Future<Output = Result<DueLeads, StoreError>> + Send;

    /// Moves the lead from tier `from` to `to` (tiers count from 1, as a
    /// person reads them) and owes tier `from`'s emails,
    /// only if it is untouched, owes nothing, and is still at `from`.
    /// `breached` marks the ladder exhausted.
    fn advance_tier(
        &self,
        id: &LeadId,
        from: u32,
        to: u32,
        breached: bool,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes the right to send the owed tier's emails (lease as for the first notification).
    fn lease_pending(
        &self,
        id: &LeadId,
        tier: u32,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The owed emails went out: clear the debt, due again at `next_due`.
    fn finish_pending(
        &self,
        id: &LeadId,
        tier: u32,
        next_due: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sending was throttled: try the owed emails again at `retry_at`.
    fn defer_pending(
        &self,
        id: &LeadId,
        retry_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes a lead that needs nothing more out of the due index.
    fn drop_from_index(&self, id: &LeadId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves an untouched lead from its owner `from` to `to` for tier
    /// `tier` and records it in the lead's history, once: `Ok(false)` when
    /// the lead was touched, its owner is no longer `from`, or tier `tier`
    /// already moved it (a second sweep, a re-sent tier).
    fn reassign(
        &self,
        id: &LeadId,
        tier: u32,
        from: Option<&str>,
        to: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The leads of the person whose address has `contact_key`
    /// ([`crate::dedup::contact_key`]) received at or after `since`,
    /// oldest first, at most `max`: a query on the contact's markers, never a scan.
    fn contact_leads(
        &self,
        contact_key: &str,
        since: OffsetDateTime,
        max: usize,
    ) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;

    /// Claims the lead for `by`, stopping its clock, unless someone has,
    /// or `by` owned it before a tier moved it on.
    fn claim(
        &self,
        id: &LeadId,
        by: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;

    /// Records one touch (idempotent by `touch_id`); the first one claims.
    fn touch(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &str,
        channel: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<TouchOutcome, StoreError>> + Send;
}

/// What the table knows of reps beyond the rules file: who is away, and
/// whose leads keep moving on unanswered.
pub trait RepStore: Send + Sync {
    /// The statuses of `reps` (reps the table knows nothing of are absent).
    fn rep_statuses(
        &self,
        reps: &[&str],
    ) -> impl Future<Output = Result<Roster, StoreError>> + Send;

    /// Sets the rep away. `only_if_present`: only when they are not away
    /// at `away.since` already (`Ok(false)` then, nothing written), so an
    /// automatic away state is set, and told, once.
    fn set_away(
        &self,
        rep: &str,
        away: &Away,
        only_if_present: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The rep is back: no away state, and their streak starts again.
    fn set_back(&self, rep: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One more lead moved on from the rep unanswered: their streak now.
    fn add_missed(&self, rep: &str) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// The rep claimed or touched a lead: their streak starts again.
    fn reset_missed(&self, rep: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where the refreshed .gov registry is kept (the lead table, on AWS).
pub trait RegistryStore: Send + Sync {
    /// The copy the last accepted refresh stored, if any.
    fn stored_registry(
        &self,
    ) -> impl Future<Output = Result<Option<StoredRegistry>, StoreError>> + Send;

    /// Stores `copy` in place of the stored one, unless that one was
    /// fetched later (two refreshes racing): `false` then, nothing written.
    fn store_registry(
        &self,
        copy: &StoredRegistry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps how the last refresh ended, for `firsthour registry status`.
    fn record_refresh(
        &self,
        report: &RefreshReport,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn last_refresh(
        &self,
    ) -> impl Future<Output = Result<Option<RefreshReport>, StoreError>> + Send;
}

/// Where a lead's chat messages are, for threads and `chat.update`.
pub trait ChannelPostStore: Send + Sync {
    /// Records the lead's first message in `channel`, once: `Ok(false)`
    /// when one is recorded already (a retried delivery).
    fn record_channel_post(
        &self,
        id: &LeadId,
        channel: &str,
        post: &crate::record::ChannelPost,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
