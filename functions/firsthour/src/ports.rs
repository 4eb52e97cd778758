//! The ports the domain talks through. AWS adapters implement them in
//! [`crate::aws`]; tests may implement them in memory.

use std::future::Future;

use time::OffsetDateTime;

use crate::events::OutboundEvent;
use crate::lead::LeadId;
use crate::store::{DedupItem, LeadItem};

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
    Duplicate { original: LeadId, marker: DedupItem },
}

pub trait LeadStore: Send + Sync {
    /// Stores the lead and claims its deduplication markers, all or nothing,
    /// with conditional writes (no read-then-write race).
    fn insert_lead(
        &self,
        lead: &LeadItem,
        markers: &[DedupItem],
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

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
