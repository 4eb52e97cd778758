//! The router use case: give a received lead its owner, then send its first
//! notification exactly once.

use std::time::Duration;

use time::OffsetDateTime;

use crate::claim::{LinkKey, claim_url};
use crate::lead::LeadId;
use crate::metrics::{self, Metrics};
use crate::notify::{
    NotificationContext, OutgoingEmail, first_recipients, render_first_notification,
};
use crate::ports::{Clock, MailError, Mailer, RoutingStore, StoreError};
use crate::record::{LeadRecord, RoutingState, elapsed_ms};
use crate::routing::{Assignment, Routing};

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
        }
    }
}

pub struct RouterService<S, M, C> {
    store: S,
    mailer: M,
    clock: C,
    policy: RouterPolicy,
    metrics: Metrics,
}

impl<S: RoutingStore, M: Mailer, C: Clock> RouterService<S, M, C> {
    pub fn new(store: S, mailer: M, clock: C, policy: RouterPolicy) -> Self {
        Self {
            store,
            mailer,
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

    /// Routes and notifies one lead. Safe to call any number of times.
    pub async fn handle(&self, lead_id: &LeadId) -> Result<RouterOutcome, RouterError> {
        let mut item =
            self.store.get_lead(lead_id).await?.ok_or_else(|| {
                RouterError::Permanent(format!("lead {lead_id} is not in the table"))
            })?;
        if item.sla.notified_at.is_some() {
            return Ok(RouterOutcome::AlreadyNotified);
        }
        let received = item.received_at;
        let deadline = self.first_deadline(&item, received);
        if item.sla.routing_state == RoutingState::Unrouted {
            let owner = self.pick_owner(&item).await?;
            let now = self.clock.now();
            if self
                .store
                .mark_routed(lead_id, owner.as_deref(), deadline, now)
                .await?
            {
                item.sla.owner = owner;
                item.sla.routing_state = RoutingState::Routed;
                self.metrics
                    .emit(now, metrics::lead_routed(lead_id, &item.route.segment));
            } else {
                // Routed by a concurrent delivery: use what it stored.
                item =
                    self.store.get_lead(lead_id).await?.ok_or_else(|| {
                        RouterError::Permanent(format!("lead {lead_id} vanished"))
                    })?;
            }
        }
        let now = self.clock.now();
        if !self
            .store
            .lease_notification(lead_id, now, NOTIFY_LEASE)
            .await?
        {
            let fresh = self.store.get_lead(lead_id).await?;
            return Ok(if fresh.is_some_and(|i| i.sla.notified_at.is_some()) {
                RouterOutcome::AlreadyNotified
            } else {
                RouterOutcome::InFlight
            });
        }
        let recipients = first_recipients(&item);
        if recipients.is_empty() {
            let problem = format!("rule {:?} has no recipients and no owner", item.route.rule);
            self.store
                .record_notify_failed(lead_id, now, &problem)
                .await?;
            return Ok(RouterOutcome::NotificationRejected(problem));
        }
        let mut sent = Vec::with_capacity(recipients.len());
        let mut failure = None;
        // One email per recipient: each claim link names who was asked.
        for recipient in &recipients {
            let link = self.claim_link(&item, recipient);
            let email = render_first_notification(
                &item,
                NotificationContext {
                    sender: &self.policy.sender,
                    deadline,
                    claim_url: link.as_deref(),
                },
            );
            let email = OutgoingEmail {
                to: vec![recipient.clone()],
                ..email
            };
            match self.mailer.send(&email).await {
                Ok(message_id) => sent.push(message_id),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let result = match failure {
            None => Ok(sent.join(",")),
            Some(err) => Err(err),
        };
        match result {
            Ok(message_id) => {
                let at = self.clock.now();
                self.store.record_notified(lead_id, at, &message_id).await?;
                self.metrics.emit(
                    at,
                    metrics::lead_notified(lead_id, &item.route.segment, elapsed_ms(lead_id, at)),
                );
                Ok(RouterOutcome::Notified {
                    owner: item.sla.owner.clone(),
                    recipients: recipients.len(),
                })
            }
            Err(MailError::Rejected(reason)) => {
                self.store
                    .record_notify_failed(lead_id, self.clock.now(), &reason)
                    .await?;
                Ok(RouterOutcome::NotificationRejected(reason))
            }
            Err(err @ (MailError::Throttled(_) | MailError::Unavailable(_))) => {
                // Give the claim back so the retried delivery can send at once.
                if let Err(release) = self.store.release_notification(lead_id).await {
                    tracing::warn!(lead_id = %lead_id, error = %release, "could not release the notification claim; it lapses by itself");
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

    async fn pick_owner(&self, item: &LeadRecord) -> Result<Option<String>, RouterError> {
        if item.sla.owner.is_some() {
            return Ok(item.sla.owner.clone());
        }
        let rule = self
            .policy
            .routing
            .rule(&item.route.rule)
            .unwrap_or(&self.policy.routing.fallback);
        if rule.assignment == Assignment::None {
            return Ok(None);
        }
        let Some(team) = rule
            .team
            .as_ref()
            .and_then(|t| self.policy.routing.teams.get(t))
        else {
            return Ok(None);
        };
        let turn = self.store.next_turn(&team.name).await?;
        Ok(team.rep_for_turn(turn).map(|rep| rep.email.clone()))
    }
}
