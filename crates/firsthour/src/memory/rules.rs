//! What each write does to a lead: the adapter's condition (`false`: nothing
//! changes) and update expression, one function each. The only code in the in-memory
//! store that reads or writes a lead's fields.

use std::time::Duration;

use time::OffsetDateTime;

use crate::lead::{LeadId, format_utc_millis, unix_millis};
use crate::ports::{ClaimOutcome, TouchOutcome};
use crate::record::{
    EscalationStamp, LeadRecord, Reassignment, RoutingState, SlaState, elapsed_ms,
};

pub(super) fn id(lead: &LeadRecord) -> &LeadId {
    &lead.id
}

/// The lead's place in the sparse due index: a lead with a due time is in it.
pub(super) fn due_at(lead: &LeadRecord) -> Option<i64> {
    lead.sla.due_at
}

/// A new due time for a lead still in the index. The adapter sets only
/// `due_at` here, not the index's bucket: a lead already out of the
/// index stays out.
fn move_due(sla: &mut SlaState, at: OffsetDateTime) {
    if sla.due_at.is_some() {
        sla.due_at = Some(unix_millis(at));
    }
}

/// Epoch ms before which a lease taken at that time has lapsed.
fn stale_before(now: OffsetDateTime, lease: Duration) -> i64 {
    unix_millis(now).saturating_sub(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

fn leave_due_index(lead: &mut LeadRecord) {
    lead.sla.due_at = None;
}

pub(super) fn mark_publish_failed(lead: &mut LeadRecord, at: OffsetDateTime) -> bool {
    if lead.sla.routing_state != RoutingState::Unrouted {
        return false;
    }
    lead.sla.publish_failed_at = Some(format_utc_millis(at));
    move_due(&mut lead.sla, at);
    true
}

pub(super) fn mark_routed(
    lead: &mut LeadRecord,
    owner: Option<&str>,
    reason: Option<&str>,
    due_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    if lead.sla.routing_state != RoutingState::Unrouted {
        return false;
    }
    if let Some(reason) = reason {
        lead.route.reason = reason.to_owned();
    }
    lead.sla.routing_state = RoutingState::Routed;
    lead.sla.routed_at = Some(format_utc_millis(now));
    lead.sla.ms_to_route = Some(elapsed_ms(&lead.id, now));
    lead.sla.next_tier = Some(lead.sla.next_tier.unwrap_or(1));
    if let Some(owner) = owner {
        lead.sla.owner = Some(owner.to_owned());
    }
    match due_at {
        Some(due) => move_due(&mut lead.sla, due),
        None => leave_due_index(lead),
    }
    true
}

pub(super) fn lease_notification(
    lead: &mut LeadRecord,
    now: OffsetDateTime,
    lease: Duration,
) -> bool {
    let stale = stale_before(now, lease);
    if lead.sla.notified_at.is_some()
        || lead
            .sla
            .notification_leased_at
            .is_some_and(|at| at >= stale)
    {
        return false;
    }
    lead.sla.notification_leased_at = Some(unix_millis(now));
    true
}

pub(super) fn release_notification(lead: &mut LeadRecord) -> bool {
    lead.sla.notification_leased_at = None;
    true
}

pub(super) fn record_notified(lead: &mut LeadRecord, at: OffsetDateTime, message_id: &str) -> bool {
    if lead.sla.notified_at.is_some() {
        return false;
    }
    lead.sla.notified_at = Some(format_utc_millis(at));
    lead.sla.ms_to_notify = Some(elapsed_ms(&lead.id, at));
    lead.sla.notify_message_id = Some(message_id.to_owned());
    lead.sla.notification_leased_at = None;
    lead.sla.notify_failed_at = None;
    lead.sla.notify_error = None;
    true
}

pub(super) fn record_notify_failed(lead: &mut LeadRecord, at: OffsetDateTime, error: &str) -> bool {
    if lead.sla.notified_at.is_some() {
        return false;
    }
    lead.sla.notify_failed_at = Some(format_utc_millis(at));
    lead.sla.notify_error = Some(error.chars().take(500).collect());
    // Back in the index, bucket and all.
    lead.sla.due_at = Some(unix_millis(at));
    lead.sla.notification_leased_at = None;
    true
}

pub(super) fn advance_tier(
    lead: &mut LeadRecord,
    id: &LeadId,
    from: u32,
    to: u32,
    breached: bool,
    now: OffsetDateTime,
) -> bool {
    let at_from = lead.sla.next_tier.map_or(from == 1, |tier| tier == from);
    if lead.sla.claimed_at.is_some() || lead.sla.owed_tier.is_some() || !at_from {
        return false;
    }
    let at = format_utc_millis(now);
    lead.sla.next_tier = Some(to);
    lead.sla.owed_tier = Some(from);
    lead.sla.escalated_at = Some(at.clone());
    lead.sla.escalations.push(EscalationStamp {
        tier: from,
        at: at.clone(),
        ms: elapsed_ms(id, now),
        breach: breached,
    });
    if breached {
        lead.sla.breached_at = Some(at);
    }
    // The due time stays until the owed emails are out.
    true
}

pub(super) fn reassign(
    lead: &mut LeadRecord,
    tier: u32,
    from: Option<&str>,
    to: &str,
    now: OffsetDateTime,
) -> bool {
    if lead.sla.claimed_at.is_some()
        || lead.sla.owner.as_deref() != from
        || lead.sla.reassigned_at_tier(tier).is_some()
    {
        return false;
    }
    lead.sla.owner = Some(to.to_owned());
    lead.sla.reassignments.push(Reassignment {
        from: from.map(str::to_owned),
        to: to.to_owned(),
        at: format_utc_millis(now),
        tier,
    });
    true
}

pub(super) fn lease_pending(
    lead: &mut LeadRecord,
    tier: u32,
    now: OffsetDateTime,
    lease: Duration,
) -> bool {
    let stale = stale_before(now, lease);
    if lead.sla.owed_tier != Some(tier)
        || lead.sla.claimed_at.is_some()
        || lead.sla.owed_tier_leased_at.is_some_and(|at| at >= stale)
    {
        return false;
    }
    lead.sla.owed_tier_leased_at = Some(unix_millis(now));
    true
}

pub(super) fn finish_pending(
    lead: &mut LeadRecord,
    tier: u32,
    next_due: Option<OffsetDateTime>,
) -> bool {
    if lead.sla.owed_tier != Some(tier) {
        return false;
    }
    lead.sla.owed_tier = None;
    lead.sla.owed_tier_leased_at = None;
    match next_due {
        Some(due) => move_due(&mut lead.sla, due),
        None => leave_due_index(lead),
    }
    true
}

pub(super) fn defer_pending(lead: &mut LeadRecord, retry_at: OffsetDateTime) -> bool {
    if lead.sla.owed_tier.is_none() || lead.sla.due_at.is_none() {
        return false;
    }
    lead.sla.due_at = Some(unix_millis(retry_at));
    lead.sla.owed_tier_leased_at = None;
    true
}

pub(super) fn drop_from_index(lead: &mut LeadRecord) -> bool {
    leave_due_index(lead);
    true
}

/// Stops the clock: the first claim or touch takes the lead out of the
/// due index and forgets any owed tier.
fn stop_clock(lead: &mut LeadRecord, id: &LeadId, by: &str, now: OffsetDateTime) {
    let at = format_utc_millis(now);
    lead.sla.claimed_at.get_or_insert_with(|| at.clone());
    lead.sla.claimed_by.get_or_insert_with(|| by.to_owned());
    lead.sla.first_touch_at.get_or_insert_with(|| at.clone());
    lead.sla
        .ms_to_first_touch
        .get_or_insert_with(|| elapsed_ms(id, now));
    lead.sla.last_touch_at = Some(at);
    lead.sla.touches = lead.sla.touches.saturating_add(1);
    leave_due_index(lead);
    lead.sla.owed_tier = None;
    lead.sla.owed_tier_leased_at = None;
}

pub(super) fn claim(
    lead: &mut LeadRecord,
    id: &LeadId,
    by: &str,
    now: OffsetDateTime,
) -> ClaimOutcome {
    if lead.sla.claimed_at.is_some() {
        return ClaimOutcome::AlreadyClaimed {
            by: lead.sla.claimed_by.clone(),
            at: lead.sla.claimed_at.clone(),
        };
    }
    if lead.sla.moved_from(by) {
        return ClaimOutcome::Reassigned {
            to: lead.sla.owner.clone(),
        };
    }
    // A claim names its claimant outright; a touch only fills them in.
    lead.sla.claimed_at = Some(format_utc_millis(now));
    lead.sla.claimed_by = Some(by.to_owned());
    stop_clock(lead, id, by, now);
    ClaimOutcome::Claimed {
        segment: Some(lead.route.segment.clone()),
    }
}

pub(super) fn touch(
    lead: &mut LeadRecord,
    id: &LeadId,
    by: &str,
    channel: &str,
    now: OffsetDateTime,
) -> TouchOutcome {
    stop_clock(lead, id, by, now);
    // A touch is a response; a claim only an acknowledgement.
    if lead.sla.first_response_at.is_none() {
        lead.sla.first_response_at = Some(format_utc_millis(now));
        lead.sla.first_response_channel = Some(channel.to_owned());
        lead.sla.ms_to_first_response = Some(elapsed_ms(id, now));
    }
    TouchOutcome::Recorded {
        touches: lead.sla.touches,
        segment: Some(lead.route.segment.clone()),
    }
}
