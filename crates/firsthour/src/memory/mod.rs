//! An in-memory lead store: [`LeadStore`], [`RoutingStore`] and
//! [`EscalationStore`] with the DynamoDB adapter's semantics (conditional
//! writes, leases that lapse, the sparse due index, atomic counters, markers
//! that stop counting when they expire, idempotent touches), behind one
//! mutex. For unit tests of the use cases; `firsthour-aws/tests/contract.rs`
//! runs the same checks against it and the adapter so the two cannot drift.
//!
//! What each write does to a lead is in `rules` below, one function per
//! write, each mirroring the adapter's condition and update expressions; the
//! rest only finds the lead and holds the lock.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use time::OffsetDateTime;

use crate::dedup::DedupMarker;
use crate::lead::LeadId;
use crate::ports::{
    ClaimOutcome, DueLeads, EscalationStore, InsertOutcome, LeadStore, RegistryStore, RepStore,
    RoutingStore, StoreError, TouchOutcome,
};
use crate::record::LeadRecord;
use crate::roster::{Away, RepStatus, Roster, rep_key};
use crate::sector::refresh::{RefreshReport, StoredRegistry};

/// Items the adapter asks the due index for per page (its `DUE_PAGE`).
pub const DUE_PAGE: usize = 100;

/// The store. Clones share the same data, as two Lambdas share one table.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    leads: HashMap<LeadId, LeadRecord>,
    /// Deduplication markers by key, expired ones kept until overwritten,
    /// as TTL deletes lazily.
    markers: HashMap<String, DedupMarker>,
    /// Touch ids recorded per lead: a touch counts once.
    touches: HashSet<(LeadId, String)>,
    /// Submissions per (client address, minute).
    submissions: HashMap<(String, i64), u64>,
    /// Round-robin turns taken per team.
    turns: HashMap<String, u64>,
    /// Leads taken per (rep, local day), for daily caps.
    daily: HashMap<(String, String), u32>,
    /// What the table knows of reps, by [`rep_key`].
    reps: HashMap<String, RepStatus>,
    /// The refreshed .gov registry and the last refresh's report.
    registry: Option<StoredRegistry>,
    refresh: Option<RefreshReport>,
    /// Injected failures: the next `remaining` calls fail with `error`.
    faults: Option<Fault>,
}

#[derive(Debug)]
struct Fault {
    remaining: usize,
    error: StoreError,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `calls` port calls (of any kind) fail with `error`,
    /// writing nothing, as an unreachable or throttling table would.
    pub fn fail_next(&self, calls: usize, error: StoreError) {
        self.lock().faults = (calls > 0).then_some(Fault {
            remaining: calls,
            error,
        });
    }

    /// The lead as stored (what `get_lead` returns), for assertions.
    pub fn lead(&self, id: &LeadId) -> Option<LeadRecord> {
        self.lock().leads.get(id).cloned()
    }

    /// Every lead stored, in id (arrival) order.
    pub fn leads(&self) -> Vec<LeadRecord> {
        let state = self.lock();
        let mut leads: Vec<LeadRecord> = state.leads.values().cloned().collect();
        leads.sort_by(|a, b| rules::id(a).cmp(rules::id(b)));
        leads
    }

    /// Stores `lead` as it is, replacing any lead with its id (a test's
    /// fixture, like writing an item to the table directly).
    pub fn put_lead(&self, lead: LeadRecord) {
        self.lock().leads.insert(rules::id(&lead).clone(), lead);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked mid-call leaves nothing half-written: every
        // write below checks, then changes, under this one lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One port call: a suspension point (as a network call would be, so
    /// concurrent use cases interleave), then the injected fault if any,
    /// then `op` under the lock.
    async fn call<T>(
        &self,
        op: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        YieldOnce(false).await;
        let mut state = self.lock();
        if let Some(fault) = state.faults.as_mut() {
            let error = fault.error.clone();
            fault.remaining -= 1;
            if fault.remaining == 0 {
                state.faults = None;
            }
            return Err(error);
        }
        op(&mut state)
    }

    /// A conditional update of one lead: `Ok(false)` when the lead is missing
    /// or `write` finds its condition false.
    async fn update(
        &self,
        id: &LeadId,
        write: impl FnOnce(&mut LeadRecord) -> bool,
    ) -> Result<bool, StoreError> {
        self.call(|state| Ok(state.leads.get_mut(id).is_some_and(write)))
            .await
    }
}

/// Returns `Pending` once, so every store call lets other tasks run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl LeadStore for MemoryStore {
    async fn insert_lead(
        &self,
        lead: LeadRecord,
        markers: &[DedupMarker],
        now: OffsetDateTime,
    ) -> Result<InsertOutcome, StoreError> {
        self.call(|state| {
            let now_s = now.unix_timestamp();
            // Each marker is taken unless one that still counts holds its key.
            let taken: Vec<&DedupMarker> = markers
                .iter()
                .filter_map(|m| state.markers.get(&m.key))
                .filter(|existing| existing.expires_at >= now_s)
                .collect();
            if let Some(existing) = taken.first() {
                // As the adapter reads the marker back: the original lead wins.
                return Ok(InsertOutcome::Duplicate {
                    original: existing.lead_id.clone(),
                    marker: (*existing).clone(),
                });
            }
            let id = rules::id(&lead).clone();
            if state.leads.contains_key(&id) {
                // The adapter retries a transaction whose only failure is the
                // lead's own condition (it reads as a conflict) and gives up.
                return Err(StoreError::Unavailable(
                    "transaction kept conflicting".into(),
                ));
            }
            state.leads.insert(id, lead);
            for marker in markers {
                state.markers.insert(marker.key.clone(), marker.clone());
            }
            Ok(InsertOutcome::Created)
        })
        .await
    }

    async fn count_submission(
        &self,
        client_ip: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.call(|state| {
            let minute = now.unix_timestamp() / 60;
            let count = state
                .submissions
                .entry((client_ip.to_owned(), minute))
                .or_insert(0);
            *count += 1;
            Ok(*count)
        })
        .await
    }

    async fn find_marker(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<DedupMarker>, StoreError> {
        self.call(|state| {
            Ok(state
                .markers
                .get(key)
                .filter(|m| m.expires_at > now.unix_timestamp())
                .cloned())
        })
        .await
    }

    async fn mark_publish_failed(
        &self,
        lead_id: &LeadId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update(lead_id, |lead| rules::mark_publish_failed(lead, at))
            .await
            .map(|_| ())
    }
}

impl RoutingStore for MemoryStore {
    async fn get_lead(&self, id: &LeadId) -> Result<Option<LeadRecord>, StoreError> {
        self.call(|state| Ok(state.leads.get(id).cloned())).await
    }

    async fn next_turn(&self, team: &str) -> Result<u64, StoreError> {
        self.call(|state| {
            let turns = state.turns.entry(team.to_owned()).or_insert(0);
            *turns += 1;
            Ok(*turns)
        })
        .await
    }

    async fn take_daily_slot(&self, rep: &str, day: &str, cap: u32) -> Result<bool, StoreError> {
        self.call(|state| {
            let taken = state
                .daily
                .entry((rep.to_owned(), day.to_owned()))
                .or_insert(0);
            // As the adapter's condition: below the cap, or nothing is added.
            if *taken >= cap {
                return Ok(false);
            }
            *taken += 1;
            Ok(true)
        })
        .await
    }

    async fn mark_routed(
        &self,
        id: &LeadId,
        owner: Option<&str>,
        reason: Option<&str>,
        due_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| {
            rules::mark_routed(lead, owner, reason, due_at, now)
        })
        .await
    }

    async fn lease_notification(
        &self,
        id: &LeadId,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| rules::lease_notification(lead, now, lease))
            .await
    }

    async fn release_notification(&self, id: &LeadId) -> Result<(), StoreError> {
        self.update(id, rules::release_notification)
            .await
            .map(|_| ())
    }

    async fn record_notified(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        message_id: &str,
    ) -> Result<(), StoreError> {
        self.update(id, |lead| rules::record_notified(lead, at, message_id))
            .await
            .map(|_| ())
    }

    async fn record_notify_failed(
        &self,
        id: &LeadId,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.update(id, |lead| rules::record_notify_failed(lead, at, error))
            .await
            .map(|_| ())
    }
}

impl crate::ports::ChannelPostStore for MemoryStore {
    async fn record_channel_post(
        &self,
        id: &LeadId,
        channel: &str,
        post: &crate::record::ChannelPost,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| {
            if lead.sla.channel_posts.contains_key(channel) {
                return false;
            }
            lead.sla
                .channel_posts
                .insert(channel.to_owned(), post.clone());
            true
        })
        .await
    }
}

impl EscalationStore for MemoryStore {
    async fn due_leads(&self, now: OffsetDateTime, max: usize) -> Result<DueLeads, StoreError> {
        self.call(|state| {
            let now_ms = crate::lead::unix_millis(now);
            // The index holds only leads with both index keys, sorted by due time.
            let mut due: Vec<(i64, &LeadRecord)> = state
                .leads
                .values()
                .filter_map(|lead| rules::due_at(lead).map(|at| (at, lead)))
                .filter(|(at, _)| *at <= now_ms)
                .collect();
            due.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| rules::id(x).cmp(rules::id(y))));
            let leads: Vec<LeadRecord> = due
                .into_iter()
                .take(max)
                .map(|(_, lead)| lead.clone())
                .collect();
            Ok(DueLeads {
                scanned: leads.len() as u64,
                leads,
            })
        })
        .await
    }

    async fn advance_tier(
        &self,
        id: &LeadId,
        from: u32,
        to: u32,
        breached: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| {
            rules::advance_tier(lead, id, from, to, breached, now)
        })
        .await
    }

    async fn lease_pending(
        &self,
        id: &LeadId,
        tier: u32,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| rules::lease_pending(lead, tier, now, lease))
            .await
    }

    async fn finish_pending(
        &self,
        id: &LeadId,
        tier: u32,
        next_due: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.update(id, |lead| rules::finish_pending(lead, tier, next_due))
            .await
            .map(|_| ())
    }

    async fn defer_pending(&self, id: &LeadId, retry_at: OffsetDateTime) -> Result<(), StoreError> {
        self.update(id, |lead| rules::defer_pending(lead, retry_at))
            .await
            .map(|_| ())
    }

    async fn drop_from_index(&self, id: &LeadId) -> Result<(), StoreError> {
        self.update(id, rules::drop_from_index).await.map(|_| ())
    }

    async fn reassign(
        &self,
        id: &LeadId,
        tier: u32,
        from: Option<&str>,
        to: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update(id, |lead| rules::reassign(lead, tier, from, to, now))
            .await
    }

    async fn contact_leads(
        &self,
        contact_key: &str,
        since: OffsetDateTime,
        max: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        self.call(|state| {
            // As the adapter's markers (written with each lead that has an address).
            let mut ids: Vec<LeadId> = state
                .leads
                .values()
                .filter(|lead| {
                    lead.contact
                        .email
                        .as_deref()
                        .is_some_and(|e| crate::dedup::contact_key(e) == contact_key)
                })
                .filter(|lead| lead.id.created_at().is_some_and(|at| at >= since))
                .map(|lead| lead.id.clone())
                .collect();
            ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            ids.truncate(max);
            Ok(ids)
        })
        .await
    }

    async fn claim(
        &self,
        id: &LeadId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        self.call(|state| {
            Ok(match state.leads.get_mut(id) {
                None => ClaimOutcome::NotFound,
                Some(lead) => rules::claim(lead, id, by, now),
            })
        })
        .await
    }

    async fn touch(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &str,
        channel: &str,
        now: OffsetDateTime,
    ) -> Result<TouchOutcome, StoreError> {
        self.call(|state| {
            // The adapter's transaction reports a missing lead before a repeated touch.
            let Some(lead) = state.leads.get_mut(id) else {
                return Ok(TouchOutcome::NotFound);
            };
            if !state.touches.insert((id.clone(), touch_id.to_owned())) {
                return Ok(TouchOutcome::Duplicate);
            }
            Ok(rules::touch(lead, id, by, channel, now))
        })
        .await
    }
}

mod rules;

impl RepStore for MemoryStore {
    async fn rep_statuses(&self, reps: &[&str]) -> Result<Roster, StoreError> {
        self.call(|state| {
            Ok(Roster::new(
                reps.iter()
                    .filter_map(|rep| {
                        let key = rep_key(rep);
                        state.reps.get(&key).map(|s| (key, s.clone()))
                    })
                    .collect(),
            ))
        })
        .await
    }

    async fn set_away(
        &self,
        rep: &str,
        away: &Away,
        only_if_present: bool,
    ) -> Result<bool, StoreError> {
        self.call(|state| {
            let status = state.reps.entry(rep_key(rep)).or_default();
            // As the adapter's condition: not away, or away no longer.
            if only_if_present && status.away.as_ref().is_some_and(|a| a.holds_at(away.since)) {
                return Ok(false);
            }
            status.away = Some(away.clone());
            Ok(true)
        })
        .await
    }

    async fn set_back(&self, rep: &str) -> Result<(), StoreError> {
        self.call(|state| {
            if let Some(status) = state.reps.get_mut(&rep_key(rep)) {
                *status = RepStatus::default();
            }
            Ok(())
        })
        .await
    }

    async fn add_missed(&self, rep: &str) -> Result<u32, StoreError> {
        self.call(|state| {
            let status = state.reps.entry(rep_key(rep)).or_default();
            status.missed = status.missed.saturating_add(1);
            Ok(status.missed)
        })
        .await
    }

    async fn reset_missed(&self, rep: &str) -> Result<(), StoreError> {
        self.call(|state| {
            if let Some(status) = state.reps.get_mut(&rep_key(rep)) {
                status.missed = 0;
            }
            Ok(())
        })
        .await
    }
}

impl RegistryStore for MemoryStore {
    async fn stored_registry(&self) -> Result<Option<StoredRegistry>, StoreError> {
        self.call(|state| Ok(state.registry.clone())).await
    }

    async fn store_registry(&self, copy: &StoredRegistry) -> Result<bool, StoreError> {
        self.call(|state| {
            // As the adapter's condition: only a copy fetched later replaces one.
            if state
                .registry
                .as_ref()
                .is_some_and(|stored| stored.fetched_at >= copy.fetched_at)
            {
                return Ok(false);
            }
            state.registry = Some(copy.clone());
            Ok(true)
        })
        .await
    }

    async fn record_refresh(&self, report: &RefreshReport) -> Result<(), StoreError> {
        self.call(|state| {
            state.refresh = Some(report.clone());
            Ok(())
        })
        .await
    }

    async fn last_refresh(&self) -> Result<Option<RefreshReport>, StoreError> {
        self.call(|state| Ok(state.refresh.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 15:00 UTC);

    #[tokio::test]
    async fn injected_failures_fail_the_next_calls_and_write_nothing() {
        let store = MemoryStore::new();
        store.fail_next(2, StoreError::Unavailable("throttled".into()));
        for _ in 0..2 {
            let turn = store.next_turn("federal").await;
            assert_eq!(turn, Err(StoreError::Unavailable("throttled".into())));
        }
        assert_eq!(store.next_turn("federal").await, Ok(1), "nothing counted");
        store.fail_next(1, StoreError::Rejected("validation".into()));
        let err = store.count_submission("192.0.2.7", T0).await;
        assert!(err.is_err_and(|e| !e.is_retryable()));
        assert_eq!(store.count_submission("192.0.2.7", T0).await, Ok(1));
    }

    #[tokio::test]
    async fn clones_share_one_table() {
        let store = MemoryStore::new();
        let other = store.clone();
        assert_eq!(store.next_turn("federal").await, Ok(1));
        assert_eq!(other.next_turn("federal").await, Ok(2));
    }
}
