//! The router use case: give a received lead its owner, then send its first
//! notification exactly once.

use std::time::Duration;

use time::OffsetDateTime;

use crate::claim::{LinkKey, away_url, claim_url};
use crate::events::{LeadRouted, OutboundEvent};
use crate::lead::LeadId;
use crate::lead::format_utc_millis;
use crate::metrics::{self, Metrics};
use crate::notify::{
    NotificationContext, OutgoingEmail, first_recipients, render_first_notification, reply_subject,
};
use crate::ports::{
    Clock, EventPublisher, MailError, Mailer, PublishError, RepStore, RoutingStore, StoreError,
};
use crate::record::{LeadRecord, RoutingState, elapsed_ms};
use crate::reply::{reply_address, reply_mailto};
use crate::roster::Roster;
use crate::routing::{Assignment, Plan, Routing, Team};

/// How long a sender's claim on the first notification holds before another
/// delivery may take over (a crashed sender must not silence the lead).
pub const NOTIFY_LEASE: Duration = Duration::from_secs(120);

/// What handling one `LeadReceived` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterOutcome {
    Notified {
        owner: Option<String>,
        recipients: usize,
    },
    /// Redelivered: the first notification had already gone out.
    AlreadyNotified,
    /// Another delivery is sending it right now.
    InFlight,
    /// SES refused it: recorded on the lead, escalation takes over.
    NotificationRejected(String),
}

/// Why handling failed. Retryable errors fail the invocation so the event
/// is delivered again; permanent ones are logged and dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    #[error("retry later: {0}")]
    Retryable(String),
    #[error("cannot handle: {0}")]
    Permanent(String),
}

impl From<StoreError> for RouterError {
    fn from(err: StoreError) -> Self {
        if err.is_retryable() {
            Self::Retryable(err.to_string())
        } else {
            Self::Permanent(err.to_string())
        }
    }
}

/// The router's settings.
#[derive(Debug, Clone)]
pub struct RouterPolicy {
    pub routing: Routing,
    pub sender: String,
    /// Public base URL of the intake API, for claim links.
    pub public_base_url: Option<String>,
    /// Signs claim links; without it emails carry no link.
    pub link_key: Option<LinkKey>,
    /// How long a claim link works.
    pub link_ttl: Duration,
    /// Ladder delays are divided by this (1 in production).
    pub speedup: u32,
    /// Where tracked replies are received; `None`: plain reply buttons.
    pub inbound_domain: Option<String>,
}

impl RouterPolicy {
    /// A signed claim link for one recipient, valid from `now`, when links
    /// are configured.
    pub fn claim_link(
        &self,
        item: &LeadRecord,
        recipient: &str,
        now: OffsetDateTime,
    ) -> Option<String> {
        let base = self.public_base_url.as_ref()?;
        let key = self.link_key.as_ref()?;
        Some(claim_url(
            base,
            key,
            &item.id,
            recipient,
            now + self.link_ttl,
        ))
    }

    /// The "Reply to …" button's `mailto:` for one recipient, when the lead
    /// left an address: Bcc the recipient's tracked reply address when
    /// replies are received (an inbound domain and the link key).
    pub fn reply_link(&self, item: &LeadRecord, recipient: &str) -> Option<String> {
        let to = item.contact.email.as_deref()?;
        let bcc = self
            .inbound_domain
            .as_deref()
            .zip(self.link_key.as_ref())
            .map(|(domain, key)| reply_address(key, domain, &item.id, recipient));
        Some(reply_mailto(to, bcc.as_deref(), &reply_subject(item)))
    }

    /// A rep's signed "I'm away" link, when links are configured and the
    /// recipient is an active rep of a team (a team address or a manager
    /// takes no leads, so gets none).
    pub fn away_link(&self, recipient: &str, now: OffsetDateTime) -> Option<String> {
        let base = self.public_base_url.as_ref()?;
        let key = self.link_key.as_ref()?;
        let is_rep = self
            .routing
            .teams
            .values()
            .flat_map(|t| &t.rotation)
            .any(|r| r.email.eq_ignore_ascii_case(recipient));
        is_rep.then(|| away_url(base, key, recipient, now + self.link_ttl))
    }
}

impl From<&crate::config::RouterSettings> for RouterPolicy {
    fn from(settings: &crate::config::RouterSettings) -> Self {
        Self {
            routing: settings.file.routing.clone(),
            sender: settings.sender.clone(),
            public_base_url: settings.links.public_base_url.clone(),
            link_key: settings.links.link_key.clone(),
            link_ttl: settings.links.link_ttl,
            speedup: settings.links.speedup,
            inbound_domain: settings.links.inbound_domain.clone(),
        }
    }
}

/// A router that announces nothing (tests, and re-drives by a sweep that
/// was given no bus).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventPublisher for NoEvents {
    async fn publish(&self, _event: &OutboundEvent) -> Result<(), PublishError> {
        Ok(())
    }
}

pub struct RouterService<S, M, C, P = NoEvents> {
    store: S,
    mailer: M,
    clock: C,
    policy: RouterPolicy,
    metrics: Metrics,
    publisher: P,
}

impl<S: RoutingStore + RepStore, M: Mailer, C: Clock> RouterService<S, M, C> {
    pub fn new(store: S, mailer: M, clock: C, policy: RouterPolicy) -> Self {
        Self {
            store,
            mailer,
            clock,
            policy,
            metrics: Metrics::default(),
            publisher: NoEvents,
        }
    }
}

impl<S: RoutingStore + RepStore, M: Mailer, C: Clock, P: EventPublisher> RouterService<S, M, C, P> {
    /// Announces `LeadRouted` on `publisher` once a lead's first
    /// notification is out (chat channels and webhooks follow it).
    pub fn with_publisher<Q: EventPublisher>(self, publisher: Q) -> RouterService<S, M, C, Q> {
        RouterService {
            store: self.store,
            mailer: self.mailer,
            clock: self.clock,
            policy: self.policy,
            metrics: self.metrics,
            publisher,
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

    /// Routes and notifies one lead. Safe to call any number of times.
    pub async fn handle(&self, lead_id: &LeadId) -> Result<RouterOutcome, RouterError> {
        let mut lead = self.load(lead_id, "is not in the table").await?;
        if lead.sla.notified_at.is_some() {
            return Ok(RouterOutcome::AlreadyNotified);
        }
        let deadline = self.first_deadline(&lead, lead.received_at);
        if lead.sla.routing_state == RoutingState::Unrouted {
            lead = self.route(lead, deadline).await?;
        }
        let now = self.clock.now();
        if !self
            .store
            .lease_notification(lead_id, now, NOTIFY_LEASE)
            .await?
        {
            return self.notified_elsewhere(lead_id).await;
        }
        let recipients = first_recipients(&lead);
        if recipients.is_empty() {
            let problem = format!("rule {:?} has no recipients and no owner", lead.route.rule);
            self.store
                .record_notify_failed(lead_id, now, &problem)
                .await?;
            return Ok(RouterOutcome::NotificationRejected(problem));
        }
        let sent = self.send_first(&lead, &recipients, deadline).await;
        let outcome = self.record_sent(&lead, recipients.len(), sent).await?;
        if let RouterOutcome::Notified { owner, recipients } = &outcome {
            self.announce(&lead, owner.as_deref(), *recipients, deadline)
                .await;
        }
        Ok(outcome)
    }

    /// `LeadRouted` on the bus. The emails are out either way; a lost
    /// announcement costs the channels and webhooks this lead's first
    /// message, and is logged.
    async fn announce(
        &self,
        lead: &LeadRecord,
        owner: Option<&str>,
        recipients: usize,
        deadline: Option<OffsetDateTime>,
    ) {
        let event = LeadRouted {
            lead_id: lead.id.clone(),
            segment: lead.route.segment.clone(),
            rule: lead.route.rule.clone(),
            owner: owner.map(str::to_owned),
            deadline: deadline.map(format_utc_millis),
            recipients,
            at: format_utc_millis(self.clock.now()),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::error!(lead_id = %lead.id, error = %err, "LeadRouted not published: channels and webhooks miss this lead's first message");
        }
    }

    async fn load(&self, lead_id: &LeadId, missing: &str) -> Result<LeadRecord, RouterError> {
        self.store
            .get_lead(lead_id)
            .await?
            .ok_or_else(|| RouterError::Permanent(format!("lead {lead_id} {missing}")))
    }

    /// Picks the owner and marks the lead routed with its first due time,
    /// once: a concurrent delivery that routed it first wins, and its
    /// owner is the one notified.
    async fn route(
        &self,
        mut lead: LeadRecord,
        deadline: Option<OffsetDateTime>,
    ) -> Result<LeadRecord, RouterError> {
        let (owner, note) = self.pick_owner(&lead).await?;
        let now = self.clock.now();
        // How the owner was chosen, when others were passed over.
        let reason = note.map(|note| format!("{}; {note}", lead.route.reason));
        if !self
            .store
            .mark_routed(&lead.id, owner.as_deref(), reason.as_deref(), deadline, now)
            .await?
        {
            return self.load(&lead.id, "vanished").await;
        }
        if let Some(reason) = reason {
            lead.route.reason = reason;
        }
        lead.sla.owner = owner;
        lead.sla.routing_state = RoutingState::Routed;
        self.metrics
            .emit(now, metrics::lead_routed(&lead.id, &lead.route.segment));
        Ok(lead)
    }

    /// Another delivery holds the lease: it sent the notification, or is sending it.
    async fn notified_elsewhere(&self, lead_id: &LeadId) -> Result<RouterOutcome, RouterError> {
        let fresh = self.store.get_lead(lead_id).await?;
        Ok(if fresh.is_some_and(|l| l.sla.notified_at.is_some()) {
            RouterOutcome::AlreadyNotified
        } else {
            RouterOutcome::InFlight
        })
    }

    /// One email per recipient, each with a claim link naming who was
    /// asked; stops at the first failure. The message ids, comma-separated.
    async fn send_first(
        &self,
        lead: &LeadRecord,
        recipients: &[String],
        deadline: Option<OffsetDateTime>,
    ) -> Result<String, MailError> {
        let mut sent = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let link = self.claim_link(lead, recipient);
            let away = self.policy.away_link(recipient, self.clock.now());
            let reply = self.policy.reply_link(lead, recipient);
            let email = render_first_notification(
                lead,
                NotificationContext {
                    sender: &self.policy.sender,
                    deadline,
                    claim_url: link.as_deref(),
                    away_url: away.as_deref(),
                    reply_url: reply.as_deref(),
                },
            );
            let email = OutgoingEmail {
                to: vec![recipient.clone()],
                ..email
            };
            sent.push(self.mailer.send(&email).await?);
        }
        Ok(sent.join(","))
    }

    /// Records how sending went: notified; rejected (escalation takes
    /// over); or throttled, the lease given back for the retried delivery.
    async fn record_sent(
        &self,
        lead: &LeadRecord,
        recipients: usize,
        sent: Result<String, MailError>,
    ) -> Result<RouterOutcome, RouterError> {
        let lead_id = &lead.id;
        match sent {
            Ok(message_id) => {
                let at = self.clock.now();
                self.store.record_notified(lead_id, at, &message_id).await?;
                self.metrics.emit(
                    at,
                    metrics::lead_notified(lead_id, &lead.route.segment, elapsed_ms(lead_id, at)),
                );
                Ok(RouterOutcome::Notified {
                    owner: lead.sla.owner.clone(),
                    recipients,
                })
            }
            Err(MailError::Rejected(reason)) => {
                self.store
                    .record_notify_failed(lead_id, self.clock.now(), &reason)
                    .await?;
                Ok(RouterOutcome::NotificationRejected(reason))
            }
            Err(err @ (MailError::Throttled(_) | MailError::Unavailable(_))) => {
                if let Err(release) = self.store.release_notification(lead_id).await {
                    tracing::warn!(lead_id = %lead_id, error = %release, "could not release the notification lease; it lapses by itself");
                }
                Err(RouterError::Retryable(err.to_string()))
            }
        }
    }

    /// A signed claim link for one recipient, when links are configured.
    pub fn claim_link(&self, item: &LeadRecord, recipient: &str) -> Option<String> {
        self.policy.claim_link(item, recipient, self.clock.now())
    }

    /// When the first tier of the lead's ladder fires, if it has one.
    fn first_deadline(
        &self,
        item: &LeadRecord,
        received: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let rule = self.policy.routing.rule(&item.route.rule)?;
        self.policy
            .routing
            .ladder_for(rule)?
            .due_at(0, received, self.policy.speedup)
    }

    /// The owner, and why others were passed over if any were.
    async fn pick_owner(
        &self,
        item: &LeadRecord,
    ) -> Result<(Option<String>, Option<String>), RouterError> {
        if item.sla.owner.is_some() {
            return Ok((item.sla.owner.clone(), None));
        }
        let rule = self
            .policy
            .routing
            .rule(&item.route.rule)
            .unwrap_or(&self.policy.routing.fallback);
        if rule.assignment == Assignment::None {
            return Ok((None, None));
        }
        let Some(team) = rule
            .team
            .as_ref()
            .and_then(|t| self.policy.routing.teams.get(t))
        else {
            return Ok((None, None));
        };
        let turn = self.store.next_turn(&team.name).await?;
        let now = self.clock.now();
        let roster = team_roster(&self.store, team).await?;
        let plan = team.plan(turn, now, &roster);
        Ok(choose_owner(&self.store, &plan, &self.policy.routing, now).await?)
    }
}

/// What the table knows of a team's reps (one read).
pub async fn team_roster<S: RepStore>(store: &S, team: &Team) -> Result<Roster, StoreError> {
    let mut reps: Vec<&str> = Vec::new();
    for rep in &team.rotation {
        if !reps.contains(&rep.email.as_str()) {
            reps.push(&rep.email);
        }
    }
    store.rep_statuses(&reps).await
}

/// The owner a plan comes to, and why others were passed over: its
/// candidates in order, each with a daily cap taking one of their slots
/// (a rep at their cap is passed); everyone at their cap, the first still
/// (a lead must have someone); nobody available and the team says
/// `fallback`, the fallback rule's first recipient.
pub async fn choose_owner<S: RoutingStore>(
    store: &S,
    plan: &Plan<'_>,
    routing: &Routing,
    now: OffsetDateTime,
) -> Result<(Option<String>, Option<String>), StoreError> {
    if plan.to_fallback {
        return Ok((routing.fallback.recipients.first().cloned(), plan.note(&[])));
    }
    let mut at_cap: Vec<&str> = Vec::new();
    for rep in &plan.candidates {
        let free = match rep.max_per_day {
            Some(cap) => {
                store
                    .take_daily_slot(&rep.email, &rep.local_date(now), cap)
                    .await?
            }
            None => true,
        };
        if free {
            return Ok((Some(rep.email.clone()), plan.note(&at_cap)));
        }
        at_cap.push(&rep.email);
    }
    Ok(match plan.candidates.first() {
        Some(rep) => {
            let note = plan.note(&[]).map(|n| format!("{n}; ")).unwrap_or_default();
            (
                Some(rep.email.clone()),
                Some(format!(
                    "{note}every rep available is at their daily cap ({}): the first in turn",
                    at_cap.join(", ")
                )),
            )
        }
        None => (None, None),
    })
}
