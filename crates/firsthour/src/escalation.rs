//! The escalation sweep: every minute, the leads whose due time passed are
//! read from the sparse due index and moved along their SLA ladder.

use std::time::Duration;

use futures::StreamExt;
use time::OffsetDateTime;

use crate::events::{LeadEscalated, LeadReassigned, OutboundEvent};
use crate::lead::format_utc_millis;
use crate::metrics;
use crate::notify::{
    NotificationContext, OutgoingEmail, render_auto_away, render_escalation, render_moved_away,
    render_reassigned_to_you,
};
use crate::ports::{
    Clock, EscalationStore, EventPublisher, MailError, Mailer, RepStore, RoutingStore, StoreError,
};
use crate::record::{LeadRecord, Reassignment, RoutingState};
use crate::roster::Away;
use crate::router::{
    NOTIFY_LEASE, RouterOutcome, RouterPolicy, RouterService, choose_owner, team_roster,
};
use crate::routing::{Audience, Ladder, Team};

/// How long a throttled tier waits before its emails are tried again.
pub const THROTTLE_RETRY: Duration = Duration::from_secs(60);

/// Most due leads one sweep takes on (the rest wait for the next minute).
pub const MAX_PER_SWEEP: usize = 500;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub due: usize,
    /// Items DynamoDB read for the query: proportional to `due`, not to the table.
    pub scanned: u64,
    pub redriven: usize,
    pub escalated: usize,
    pub breached: usize,
    pub deferred: usize,
    /// Raced by another sweep, claimed meanwhile, or nothing to do.
    pub skipped: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Redriven,
    Escalated,
    Breached,
    Deferred,
    Skipped,
    Failed,
}

pub struct EscalationService<S, M, P, C> {
    store: S,
    mailer: M,
    publisher: P,
    clock: C,
    /// The rules, ladders and links the escalation emails follow (the same
    /// policy the router notifies with).
    policy: RouterPolicy,
    metrics: metrics::Metrics,
    /// Re-drives a lead whose first notification never happened.
    router: RouterService<S, M, C, P>,
    concurrency: usize,
}

/// Describes a wait like "15 min" or "2 h".
pub(crate) fn describe_wait(wait: Duration) -> String {
    let minutes = wait.as_secs() / 60;
    match minutes {
        0 => format!("{} s", wait.as_secs()),
        m if m < 120 => format!("{m} min"),
        m => format!("{} h", m / 60),
    }
}

/// When a ladder counts as exhausted: one more of its last interval after the last tier.
pub fn breach_due(
    ladder: &Ladder,
    received: OffsetDateTime,
    speedup: u32,
) -> Option<OffsetDateTime> {
    let last = ladder.tiers.len().checked_sub(1)?;
    let last_due = ladder.due_at(last, received, speedup)?;
    let previous = match last.checked_sub(1) {
        Some(i) => ladder.due_at(i, received, speedup)?,
        None => received,
    };
    Some(last_due + (last_due - previous))
}

impl<S, M, P, C> EscalationService<S, M, P, C>
where
    S: RoutingStore + EscalationStore + RepStore,
    M: Mailer,
    P: EventPublisher,
    C: Clock,
{
    /// The sweep, and the router it re-drives lost first notifications
    /// through (built from the same store, mailer, clock and policy).
    pub fn new(
        store: S,
        mailer: M,
        publisher: P,
        clock: C,
        policy: RouterPolicy,
        concurrency: usize,
    ) -> Self
    where
        S: Clone,
        M: Clone,
        C: Clone,
        P: Clone,
    {
        Self {
            router: RouterService::new(
                store.clone(),
                mailer.clone(),
                clock.clone(),
                policy.clone(),
            )
            .with_publisher(publisher.clone()),
            store,
            mailer,
            publisher,
            clock,
            policy,
            metrics: metrics::Metrics::default(),
            concurrency: concurrency.max(1),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> Self {
        self.router = self.router.with_metrics(metrics.clone());
        self.metrics = metrics;
        self
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// One sweep at `now`.
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<SweepReport, StoreError> {
        let due = self.store.due_leads(now, MAX_PER_SWEEP).await?;
        let mut report = SweepReport {
            due: due.leads.len(),
            scanned: due.scanned,
            ..SweepReport::default()
        };
        let steps: Vec<Step> = futures::stream::iter(due.leads)
            .map(|lead| self.process(lead, now))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for step in steps {
            match step {
                Step::Redriven => report.redriven += 1,
                Step::Escalated => report.escalated += 1,
                Step::Breached => report.breached += 1,
                Step::Deferred => report.deferred += 1,
                Step::Skipped => report.skipped += 1,
                Step::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    async fn process(&self, lead: LeadRecord, now: OffsetDateTime) -> Step {
        let id = lead.id.clone();
        let result = self.process_inner(lead, now).await;
        result.unwrap_or_else(|err| {
            tracing::error!(lead_id = %id, error = %err, "escalation step failed; retried next sweep");
            Step::Failed
        })
    }

    async fn process_inner(
        &self,
        lead: LeadRecord,
        now: OffsetDateTime,
    ) -> Result<Step, StoreError> {
        if lead.sla.claimed_at.is_some()
            || lead.sla.breached_at.is_some() && lead.sla.owed_tier.is_none()
        {
            self.store.drop_from_index(&lead.id).await?;
            return Ok(Step::Skipped);
        }
        if let Some(tier) = lead.sla.owed_tier {
            return self.send_tier(&lead, tier, now).await;
        }
        // The first notification never happened (event lost, router failed): re-drive it.
        if lead.sla.routing_state == RoutingState::Unrouted
            || (lead.sla.notified_at.is_none() && lead.sla.notify_failed_at.is_none())
        {
            tracing::warn!(lead_id = %lead.id, "re-driving a lead that was never notified");
            return match self.router.handle(&lead.id).await {
                Ok(RouterOutcome::Notified { .. } | RouterOutcome::AlreadyNotified) => {
                    Ok(Step::Redriven)
                }
                Ok(_) => Ok(Step::Skipped),
                Err(err) => {
                    tracing::error!(lead_id = %lead.id, error = %err, "re-drive failed; retried next sweep");
                    Ok(Step::Failed)
                }
            };
        }
        let Some(ladder) = self
            .policy
            .routing
            .rule(&lead.route.rule)
            .and_then(|r| self.policy.routing.ladder_for(r))
        else {
            self.store.drop_from_index(&lead.id).await?;
            return Ok(Step::Skipped);
        };
        // Tiers count from 1; one past the ladder's last is the breach.
        let tier = lead.sla.next_tier.unwrap_or(1).max(1);
        let breaching = tier as usize > ladder.tiers.len();
        if !self
            .store
            .advance_tier(&lead.id, tier, tier.saturating_add(1), breaching, now)
            .await?
        {
            return Ok(Step::Skipped);
        }
        self.metrics.emit(
            now,
            metrics::lead_escalated(&lead.id, &lead.route.segment, tier, breaching),
        );
        self.send_tier(&lead, tier, now).await
    }

    /// Sends tier `tier`'s emails (owed since the tier advanced; 1 = the
    /// ladder's first), then sets the next due time.
    async fn send_tier(
        &self,
        lead: &LeadRecord,
        tier: u32,
        now: OffsetDateTime,
    ) -> Result<Step, StoreError> {
        if !self
            .store
            .lease_pending(&lead.id, tier, now, NOTIFY_LEASE)
            .await?
        {
            return Ok(Step::Skipped);
        }
        let rule = self
            .policy
            .routing
            .rule(&lead.route.rule)
            .unwrap_or(&self.policy.routing.fallback);
        let ladder = self.policy.routing.ladder_for(rule);
        let tiers = ladder.map_or(0, |l| l.tiers.len());
        let breached = tier as usize > tiers;
        let reassigns = ladder
            .and_then(|l| l.tiers.get((tier as usize).wrapping_sub(1)))
            .is_some_and(|t| t.reassign);
        let mut lead = lead.clone();
        let moved = if reassigns {
            self.reassign(&mut lead, tier, now).await?
        } else {
            None
        };
        // Claimed while the tier was being handled: nothing to send.
        if lead.sla.claimed_at.is_some() {
            return Ok(Step::Skipped);
        }
        let lead = &lead;
        let recipients = self.recipients(lead, ladder, tier);
        let speedup = self.policy.speedup;
        let received = lead.received_at;
        let waited = describe_wait((now - received).try_into().unwrap_or_default());
        let policy = &self.policy;
        let mut emails: Vec<OutgoingEmail> = Vec::with_capacity(recipients.len() + 1);
        for recipient in &recipients {
            let link = policy.claim_link(lead, recipient, now);
            let away = policy.away_link(recipient, now);
            let reply = policy.reply_link(lead, recipient);
            let context = NotificationContext {
                sender: &policy.sender,
                // The next tier's time: tier N+1 is the ladder's index N.
                deadline: ladder.and_then(|l| l.due_at(tier as usize, received, speedup)),
                claim_url: link.as_deref(),
                away_url: away.as_deref(),
                reply_url: reply.as_deref(),
            };
            emails.push(match &moved {
                // The new owner gets the lead as new, with their own claim link.
                Some(moved) if moved.to.eq_ignore_ascii_case(recipient) => {
                    render_reassigned_to_you(
                        lead,
                        moved.from.as_deref(),
                        &waited,
                        recipient,
                        context,
                    )
                }
                _ => render_escalation(lead, tier, tiers, &waited, recipient, context),
            });
        }
        if let Some(Reassignment {
            from: Some(from),
            to,
            ..
        }) = &moved
        {
            emails.push(render_moved_away(lead, to, &waited, from, &policy.sender));
        }
        for email in &emails {
            match self.mailer.send(email).await {
                Ok(_) => {}
                Err(MailError::Rejected(reason)) => {
                    tracing::error!(lead_id = %lead.id, tier, reason = %reason, "escalation email rejected for one recipient");
                }
                Err(err @ (MailError::Throttled(_) | MailError::Unavailable(_))) => {
                    tracing::warn!(lead_id = %lead.id, tier, error = %err, "escalation email deferred");
                    self.store
                        .defer_pending(&lead.id, now + THROTTLE_RETRY)
                        .await?;
                    return Ok(Step::Deferred);
                }
            }
        }
        let next_due = match ladder {
            Some(l) if !breached => l
                .due_at(tier as usize, received, speedup)
                .or_else(|| breach_due(l, received, speedup)),
            _ => None,
        };
        self.store.finish_pending(&lead.id, tier, next_due).await?;
        let event = LeadEscalated {
            lead_id: lead.id.clone(),
            segment: lead.route.segment.clone(),
            tier,
            breached,
            recipients: recipients.len(),
            at: format_utc_millis(now),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::warn!(lead_id = %lead.id, error = %err, "LeadEscalated not published");
        }
        tracing::info!(lead_id = %lead.id, tier, breached, recipients = recipients.len(), reassigned = moved.is_some(), "escalated");
        Ok(if breached {
            Step::Breached
        } else {
            Step::Escalated
        })
    }

    /// Tier `tier` moves `lead` to the next available rep of its team, once:
    /// the move this tier made (now, or by an earlier attempt of the tier
    /// whose emails were not all sent), or `None` when the lead stays
    /// (nobody else available, no team, or claimed meanwhile). `lead` is
    /// brought up to date.
    async fn reassign(
        &self,
        lead: &mut LeadRecord,
        tier: u32,
        now: OffsetDateTime,
    ) -> Result<Option<Reassignment>, StoreError> {
        if let Some(done) = lead.sla.reassigned_at_tier(tier) {
            return Ok(Some(done.clone()));
        }
        // A rule that assigns no owner has nobody to move the lead from.
        let team = self
            .team_of(lead)
            .filter(|_| lead.route.assignment != crate::routing::Assignment::None);
        let Some(team) = team else {
            return Ok(None);
        };
        let roster = team_roster(&self.store, team).await?;
        let from = lead.sla.owner.clone();
        let plan = team.reassign_plan(from.as_deref(), now, &roster);
        // A capped rep's daily slot is taken before the move is written: a
        // claim landing in between wastes that slot, never oversteps a cap.
        let (to, note) = choose_owner(&self.store, &plan, &self.policy.routing, now).await?;
        let Some(to) = to.filter(|to| from.as_deref().is_none_or(|f| !f.eq_ignore_ascii_case(to)))
        else {
            tracing::info!(lead_id = %lead.id, tier, note = note.as_deref().unwrap_or(""), "nobody to reassign to");
            return Ok(None);
        };
        if !self
            .store
            .reassign(&lead.id, tier, from.as_deref(), &to, now)
            .await?
        {
            // Claimed, or another attempt of this tier moved it first.
            let Some(fresh) = self.store.get_lead(&lead.id).await? else {
                return Ok(None);
            };
            *lead = fresh;
            return Ok(lead.sla.reassigned_at_tier(tier).cloned());
        }
        let moved = Reassignment {
            from: from.clone(),
            to: to.clone(),
            at: format_utc_millis(now),
            tier,
        };
        lead.sla.owner = Some(to);
        lead.sla.reassignments.push(moved.clone());
        self.metrics.emit(
            now,
            metrics::lead_reassigned(&lead.id, &lead.route.segment, tier),
        );
        let event = LeadReassigned {
            lead_id: lead.id.clone(),
            segment: lead.route.segment.clone(),
            from: moved.from.clone(),
            to: moved.to.clone(),
            tier,
            at: moved.at.clone(),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::warn!(lead_id = %lead.id, error = %err, "LeadReassigned not published");
        }
        tracing::info!(lead_id = %lead.id, tier, note = note.as_deref().unwrap_or(""), "reassigned");
        if let Some(from) = &from {
            self.count_missed(team, from, now).await;
        }
        Ok(Some(moved))
    }

    /// One more lead moved on from `rep` unanswered: with the team's
    /// `auto_away_after` reached, the rep is set away and the manager told,
    /// once. A failure here leaves the reassignment standing.
    async fn count_missed(&self, team: &Team, rep: &str, now: OffsetDateTime) {
        let Some(limit) = team.auto_away_after else {
            return;
        };
        let missed = match self.store.add_missed(rep).await {
            Ok(missed) => missed,
            Err(err) => {
                tracing::warn!(error = %err, "a rep's unanswered streak was not counted");
                return;
            }
        };
        if missed < limit {
            return;
        }
        let away = Away {
            since: now,
            until: None,
            reason: format!("auto: {missed} leads in a row reassigned unanswered"),
        };
        match self.store.set_away(rep, &away, true).await {
            Ok(true) => {
                tracing::warn!(team = %team.name, rep = %crate::roster::rep_key(rep), missed, "a rep was set away automatically");
                if let Some(manager) = &team.manager {
                    let email =
                        render_auto_away(rep, missed, &team.name, manager, &self.policy.sender);
                    if let Err(err) = self.mailer.send(&email).await {
                        tracing::error!(team = %team.name, error = %err, "the manager was not told of an automatic away");
                    }
                }
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "a rep was not set away automatically"),
        }
    }

    fn team_of(&self, lead: &LeadRecord) -> Option<&Team> {
        lead.route
            .team
            .as_ref()
            .and_then(|t| self.policy.routing.teams.get(t))
    }

    /// Who tier `tier` notifies; the fallback's recipients for the breach,
    /// and whenever a tier would otherwise reach nobody.
    fn recipients(&self, lead: &LeadRecord, ladder: Option<&Ladder>, tier: u32) -> Vec<String> {
        let team = self.team_of(lead);
        let index = (tier as usize).checked_sub(1);
        let audiences = match ladder.zip(index).and_then(|(l, i)| l.tiers.get(i)) {
            Some(t) => t.notify.clone(),
            None => vec![Audience::Fallback],
        };
        let mut out: Vec<String> = Vec::new();
        for audience in &audiences {
            match audience {
                Audience::Owner => match &lead.sla.owner {
                    Some(owner) => push_unique(&mut out, owner),
                    None => lead
                        .route
                        .recipients
                        .iter()
                        .for_each(|r| push_unique(&mut out, r)),
                },
                Audience::Manager => {
                    if let Some(manager) = team.and_then(|t| t.manager.as_deref()) {
                        push_unique(&mut out, manager);
                    }
                }
                Audience::Team => {
                    team.into_iter()
                        .flat_map(|t| t.rotation.iter())
                        .for_each(|r| push_unique(&mut out, &r.email));
                    lead.route
                        .recipients
                        .iter()
                        .for_each(|r| push_unique(&mut out, r));
                }
                Audience::Fallback => self
                    .policy
                    .routing
                    .fallback
                    .recipients
                    .iter()
                    .for_each(|r| push_unique(&mut out, r)),
                Audience::Address(address) => push_unique(&mut out, address),
                // The deliver function posts it, on this tier's LeadEscalated.
                Audience::Channel(_) => {}
            }
        }
        let told_a_channel = audiences.iter().any(|a| matches!(a, Audience::Channel(_)));
        if out.is_empty() && !told_a_channel {
            self.policy
                .routing
                .fallback
                .recipients
                .iter()
                .for_each(|r| push_unique(&mut out, r));
        }
        out
    }
}

fn push_unique(list: &mut Vec<String>, address: &str) {
    if !list.iter().any(|a| a.eq_ignore_ascii_case(address)) {
        list.push(address.to_owned());
    }
}
