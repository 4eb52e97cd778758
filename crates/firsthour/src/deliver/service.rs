//! The deliver use case: fan a bus event out into deliveries, and make one.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::http::{HttpPost, HttpPoster};
use super::secrets::OutboundSecrets;
use super::slack::{self, SlackError};
use super::{BusEvent, Delivery, Destination, Webhook, channels_for, webhooks_for};
use crate::channel::{ChannelKind, ChatChannel, MessageContext, Moment, render};
use crate::claim::{LinkKey, claim_url};
use crate::events::{LEAD_CLAIMED, LEAD_ESCALATED, LEAD_REASSIGNED, LEAD_ROUTED};
use crate::lead::format_utc_millis;
use crate::ports::{ChannelPostStore, Clock, RoutingStore, StoreError};
use crate::record::{ChannelPost, LeadRecord};
use crate::routing::Routing;

/// What the deliver function needs, read once at cold start.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub routing: Routing,
    pub webhooks: Vec<Webhook>,
    pub secrets: OutboundSecrets,
    pub slack_api_url: String,
    /// For the claim link buttons of webhook-only Slack and Teams.
    pub public_base_url: Option<String>,
    pub link_key: Option<LinkKey>,
    pub link_ttl: Duration,
    /// Ladders and retries run this many times faster (1 in production).
    pub speedup: u32,
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryFailure {
    /// Try again later (no sooner than `retry_after`, when the endpoint said).
    #[error("{reason}")]
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// It will never work as it is (a refused token, a channel gone, a
    /// delivery naming a destination the file no longer has): park it now.
    #[error("{reason}")]
    Permanent { reason: String },
}

impl DeliveryFailure {
    fn retry(reason: impl Into<String>) -> Self {
        Self::Retry {
            reason: reason.into(),
            retry_after: None,
        }
    }

    fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for DeliveryFailure {
    fn from(err: StoreError) -> Self {
        if err.is_retryable() {
            Self::retry(err.to_string())
        } else {
            Self::permanent(err.to_string())
        }
    }
}

impl From<SlackError> for DeliveryFailure {
    fn from(err: SlackError) -> Self {
        match err {
            SlackError::RateLimited { retry_after } => Self::Retry {
                reason: "slack: ratelimited".into(),
                retry_after,
            },
            SlackError::Unavailable(reason) => Self::retry(format!("slack: {reason}")),
            SlackError::Refused(reason) => Self::permanent(format!("slack: {reason}")),
        }
    }
}

pub struct DeliverService<S, H, C> {
    store: S,
    http: H,
    clock: C,
    outbound: Outbound,
}

impl<S: RoutingStore + ChannelPostStore, H: HttpPoster, C: Clock> DeliverService<S, H, C> {
    pub fn new(store: S, http: H, clock: C, outbound: Outbound) -> Self {
        Self {
            store,
            http,
            clock,
            outbound,
        }
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// The clock deliveries are timed by.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// One delivery per destination of `event`: its subscribed webhooks,
    /// then the channels it goes to (which need the lead, read only when
    /// some channel is configured).
    pub async fn fan_out(&self, event: &BusEvent) -> Result<Vec<Delivery>, DeliveryFailure> {
        let mut deliveries: Vec<Delivery> = webhooks_for(&self.outbound.webhooks, event)
            .into_iter()
            .map(|w| Delivery {
                to: Destination::Webhook(w.name.clone()),
                event: event.clone(),
            })
            .collect();
        let channel_event = matches!(
            event.detail_type.as_str(),
            LEAD_ROUTED | LEAD_ESCALATED | LEAD_REASSIGNED | LEAD_CLAIMED
        );
        if channel_event && !self.outbound.routing.channels.is_empty() {
            let lead = self.lead(event).await?;
            deliveries.extend(
                channels_for(&self.outbound.routing, event, &lead)
                    .into_iter()
                    .map(|name| Delivery {
                        to: Destination::Channel(name),
                        event: event.clone(),
                    }),
            );
        }
        Ok(deliveries)
    }

    /// Makes one delivery.
    pub async fn deliver(&self, delivery: &Delivery) -> Result<(), DeliveryFailure> {
        match &delivery.to {
            Destination::Webhook(name) => {
                let webhook = self
                    .outbound
                    .webhooks
                    .iter()
                    .find(|w| &w.name == name)
                    .ok_or_else(|| {
                        DeliveryFailure::permanent(format!("no [[webhooks]] {name:?} any more"))
                    })?;
                self.send_webhook(webhook, &delivery.event).await
            }
            Destination::Channel(name) => {
                let channel = self.outbound.routing.channels.get(name).ok_or_else(|| {
                    DeliveryFailure::permanent(format!("no [channels.{name}] any more"))
                })?;
                self.send_channel(channel, &delivery.event).await
            }
        }
    }

    async fn lead(&self, event: &BusEvent) -> Result<LeadRecord, DeliveryFailure> {
        let id = event
            .lead_id()
            .ok_or_else(|| DeliveryFailure::permanent("the event names no lead"))?;
        self.store
            .get_lead(&id)
            .await?
            .ok_or_else(|| DeliveryFailure::permanent(format!("lead {id} is not in the table")))
    }

    /// The Standard Webhooks delivery: `webhook-id` is the event's id (the
    /// same on every retry, so receivers deduplicate), signed over
    /// `id.timestamp.body` with the endpoint's secret.
    async fn send_webhook(
        &self,
        webhook: &Webhook,
        event: &BusEvent,
    ) -> Result<(), DeliveryFailure> {
        let key = self
            .outbound
            .secrets
            .webhook_key(&webhook.secret)
            .ok_or_else(|| DeliveryFailure::permanent(format!("no secret {:?}", webhook.secret)))?;
        let mut data = event.detail.clone();
        if webhook.include_contact
            && let Some(object) = data.as_object_mut()
        {
            let lead = self.lead(event).await?;
            object.insert("contact".into(), contact(&lead));
        }
        let body = json!({
            "type": event.detail_type,
            "timestamp": event.time,
            "data": data,
        })
        .to_string();
        let timestamp = self.clock.now().unix_timestamp();
        let signature = crate::signature::sign::standard_webhooks_with_key(
            key,
            &event.id,
            timestamp,
            body.as_bytes(),
        );
        let request = HttpPost {
            url: webhook.url.clone(),
            content_type: "application/json",
            headers: vec![
                ("webhook-id", event.id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ],
            body,
        };
        let answer = self.post(&request).await?;
        match answer.status {
            200..=299 => Ok(()),
            // Gone: the receiver says it will never take this again.
            410 => Err(DeliveryFailure::permanent("HTTP 410 Gone")),
            status => Err(DeliveryFailure::Retry {
                reason: format!("HTTP {status}"),
                retry_after: answer.retry_after,
            }),
        }
    }

    async fn send_channel(
        &self,
        channel: &ChatChannel,
        event: &BusEvent,
    ) -> Result<(), DeliveryFailure> {
        let lead = self.lead(event).await?;
        let post = lead.sla.channel_posts.get(&channel.name);
        let first = event.detail_type == LEAD_ROUTED;
        if first && post.is_some() {
            // Posted by an earlier try whose acknowledgement was lost.
            return Ok(());
        }
        let reassigned_from = event.detail.get("from").and_then(Value::as_str);
        let reassigned_to = event.detail.get("to").and_then(Value::as_str).unwrap_or("");
        let waited = crate::escalation::describe_wait(
            (self.event_time(event) - lead.received_at)
                .try_into()
                .unwrap_or_default(),
        );
        let claimed_at = lead
            .sla
            .claimed_at
            .as_deref()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
        let moment = match (event.detail_type.as_str(), &lead.sla.claimed_by, claimed_at) {
            (_, Some(by), Some(at)) => Moment::Claimed { by, at },
            (LEAD_CLAIMED, _, _) => return Ok(()),
            (LEAD_ESCALATED, _, _) => {
                let tier = event.tier().unwrap_or(1);
                let tiers = self.ladder_tiers(&lead);
                // The escalation said whether the ladder ran out; an event
                // without the field is judged against today's ladder.
                let breached = event
                    .detail
                    .get("breached")
                    .and_then(Value::as_bool)
                    .unwrap_or(tier as usize > tiers);
                Moment::Tier {
                    tier,
                    tiers,
                    waited: &waited,
                    breached,
                }
            }
            (LEAD_REASSIGNED, _, _) => Moment::Reassigned {
                from: reassigned_from,
                to: reassigned_to,
            },
            _ => Moment::New,
        };
        let claimed = matches!(moment, Moment::Claimed { .. });
        // A tier's messages after a claim add nothing: the claim updates the first.
        if claimed && !first && event.detail_type != LEAD_CLAIMED {
            return Ok(());
        }
        let link = self.claim_link(&lead);
        let context = MessageContext {
            moment,
            deadline: self.deadline(&lead, event),
            claim_button: matches!(channel.kind, ChannelKind::SlackApp { .. }),
            claim_url: link.as_deref(),
        };
        match &channel.kind {
            ChannelKind::SlackApp {
                channel: conversation,
            } => {
                let app = self
                    .outbound
                    .secrets
                    .slack_app(&channel.secret)
                    .ok_or_else(|| {
                        DeliveryFailure::permanent(format!(
                            "no Slack app secret {:?}",
                            channel.secret
                        ))
                    })?;
                let rendered = render::slack_message(&lead, &context);
                let posted_ts = post.and_then(|p| p.conversation.as_deref().zip(p.ts.as_deref()));
                if event.detail_type == LEAD_CLAIMED {
                    let Some((conversation, ts)) = posted_ts else {
                        return Ok(());
                    };
                    let body = slack::update_message(&rendered, conversation, ts);
                    self.slack(&app.bot_token, "chat.update", &body).await?;
                    return Ok(());
                }
                let thread = posted_ts.map(|(_, ts)| ts);
                let body = slack::post_message(&rendered, conversation, thread);
                let answer = self
                    .slack(&app.bot_token, "chat.postMessage", &body)
                    .await?;
                if first {
                    let (conversation, ts) = slack::posted(&answer)
                        .map(|(c, t)| (Some(c), Some(t)))
                        .unwrap_or((Some(conversation.clone()), None));
                    self.remember(&lead, channel, conversation, ts).await?;
                }
                Ok(())
            }
            ChannelKind::SlackWebhook | ChannelKind::Teams => {
                if event.detail_type == LEAD_CLAIMED {
                    return Ok(());
                }
                let url = self
                    .outbound
                    .secrets
                    .webhook_url(&channel.secret)
                    .ok_or_else(|| {
                        DeliveryFailure::permanent(format!("no webhook URL {:?}", channel.secret))
                    })?;
                let body = match channel.kind {
                    ChannelKind::Teams => render::teams_message(&lead, &context),
                    _ => render::slack_message(&lead, &context),
                };
                let request = HttpPost {
                    url: url.to_owned(),
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: body.to_string(),
                };
                let answer = self.post(&request).await?;
                match answer.status {
                    200..=299 => {}
                    429 | 408 | 500..=599 => {
                        return Err(DeliveryFailure::Retry {
                            reason: format!("HTTP {}", answer.status),
                            retry_after: answer.retry_after,
                        });
                    }
                    status => {
                        // Slack's incoming webhooks say why in a word (`invalid_blocks`).
                        let word: String = answer.body.chars().take(60).collect();
                        return Err(DeliveryFailure::permanent(format!("HTTP {status}: {word}")));
                    }
                }
                if first {
                    self.remember(&lead, channel, None, None).await?;
                }
                Ok(())
            }
        }
    }

    /// A POST to an endpoint; no answer is worth another try.
    async fn post(&self, request: &HttpPost) -> Result<super::HttpAnswer, DeliveryFailure> {
        self.http
            .post(request)
            .await
            .map_err(|err| DeliveryFailure::retry(err.to_string()))
    }

    /// One Web API call with the bot token.
    async fn slack(
        &self,
        token: &str,
        method: &str,
        body: &Value,
    ) -> Result<Value, DeliveryFailure> {
        let request = slack::call(&self.outbound.slack_api_url, method, token, body);
        let answer = self.http.post(&request).await.map_err(SlackError::from)?;
        Ok(slack::read(&answer)?)
    }

    /// Keeps where the lead's first message in the channel is.
    async fn remember(
        &self,
        lead: &LeadRecord,
        channel: &ChatChannel,
        conversation: Option<String>,
        ts: Option<String>,
    ) -> Result<(), DeliveryFailure> {
        let post = ChannelPost {
            conversation,
            ts,
            at: format_utc_millis(self.clock.now()),
        };
        self.store
            .record_channel_post(&lead.id, &channel.name, &post)
            .await?;
        Ok(())
    }

    fn event_time(&self, event: &BusEvent) -> OffsetDateTime {
        OffsetDateTime::parse(&event.time, &Rfc3339).unwrap_or_else(|_| self.clock.now())
    }

    /// The tiers of the lead's ladder: its rule's, or the fallback rule's
    /// when its rule is gone (as the escalation reads it).
    fn ladder_tiers(&self, lead: &LeadRecord) -> usize {
        let routing = &self.outbound.routing;
        let rule = routing.rule(&lead.route.rule).unwrap_or(&routing.fallback);
        routing.ladder_for(rule).map_or(0, |l| l.tiers.len())
    }

    /// When the next tier fires: the routed event's deadline, or the tier after this one.
    fn deadline(&self, lead: &LeadRecord, event: &BusEvent) -> Option<OffsetDateTime> {
        if let Some(deadline) = event.detail.get("deadline").and_then(Value::as_str) {
            return OffsetDateTime::parse(deadline, &Rfc3339).ok();
        }
        let routing = &self.outbound.routing;
        let ladder = routing
            .rule(&lead.route.rule)
            .and_then(|rule| routing.ladder_for(rule))?;
        let next = event.tier().unwrap_or(0) as usize;
        ladder.due_at(next, lead.received_at, self.outbound.speedup)
    }

    /// A claim link for an Open-URL button: for the owner, or the rule's
    /// first recipient when nobody owns the lead.
    fn claim_link(&self, lead: &LeadRecord) -> Option<String> {
        let base = self.outbound.public_base_url.as_deref()?;
        let key = self.outbound.link_key.as_ref()?;
        let recipient = lead.sla.owner.as_deref().or(lead
            .route
            .recipients
            .first()
            .map(String::as_str))?;
        Some(claim_url(
            base,
            key,
            &lead.id,
            recipient,
            self.clock.now() + self.outbound.link_ttl,
        ))
    }
}

/// The person's details, for webhooks that asked for them.
fn contact(lead: &LeadRecord) -> Value {
    let c = &lead.contact;
    json!({
        "email": c.email,
        "phone": c.phone,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "full_name": c.full_name,
        "company": c.company,
        "job_title": c.job_title,
        "message": c.message,
        "page_url": c.page_url,
        "fields": lead
            .submission
            .fields
            .iter()
            .map(|f| json!({"name": f.name, "label": f.label, "value": f.value}))
            .collect::<Vec<_>>(),
    })
}
