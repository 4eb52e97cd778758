//! Deliveries out: chat channel messages and signed webhooks.
//!
//! Every lead event on the bus reaches the deliver function through one
//! queue. It is first fanned out into one [`Delivery`] per destination (a
//! channel the lead's rule or tier names, a webhook subscribed to the
//! event), each its own queue message, so a slow or failing endpoint only
//! ever holds up its own message; then each delivery is made, and on
//! failure retried after [`retry_delay`] until [`GIVE_UP_AFTER`], when it
//! is parked with its reason.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::channel::{ChannelKind, ChatChannel, MAX_CHANNEL_NAME_BYTES, valid_name};
use crate::events::{EVENT_TYPES, LEAD_CLAIMED, LEAD_ESCALATED, LEAD_REASSIGNED, LEAD_ROUTED};
use crate::lead::LeadId;
use crate::record::LeadRecord;
use crate::routing::{Audience, Problem, Routing, problem};

pub mod http;
pub mod secrets;
pub mod service;
pub mod slack;

pub use http::{HttpAnswer, HttpError, HttpPost, HttpPoster};
pub use secrets::{OutboundSecrets, SecretsError};
pub use service::{DeliverService, DeliveryFailure, Outbound};

/// Most `[[webhooks]]` entries a file may have.
pub const MAX_WEBHOOKS: usize = 20;

/// How long a delivery is retried before it is parked (24 hours).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The first retry's wait; each retry doubles it, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(30);
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(2 * 60 * 60);

/// SQS's longest visibility timeout (12 hours): a `Retry-After` beyond it
/// waits this long and is asked again.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(12 * 60 * 60);

/// `[[webhooks]]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    pub url: String,
    /// The key of its `whsec_…` secret in the outbound secrets (its name
    /// unless given).
    #[serde(default)]
    pub secret: Option<String>,
    /// `LeadReceived`, `LeadRouted`, `LeadEscalated`, `LeadReassigned`,
    /// `LeadClaimed`, `LeadTouched`.
    pub events: Vec<String>,
    /// The person's contact details and submitted fields in each payload.
    #[serde(default)]
    pub include_contact: bool,
}

/// One webhook endpoint, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub secret: String,
    pub events: Vec<&'static str>,
    pub include_contact: bool,
}

/// An endpoint firsthour may post a lead to: HTTPS, or HTTP to this
/// machine (the local run); no credentials in the URL (a secret in a
/// rules file is a secret in every copy of it).
///
/// The error says what is wrong, never the URL: a Slack or Teams webhook
/// URL is itself a credential. A caller whose URL may be shown (a rules
/// file's, an environment variable's) names it.
pub fn endpoint_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|err| err.to_string())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "no user or password in the URL; the signature authenticates firsthour".to_owned(),
        );
    }
    let local = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        _ => Err("must be https:// (http only to localhost)".to_owned()),
    }
}

/// `[[webhooks]]`, checked: unique names, URLs, known events.
pub fn compile_webhooks(webhooks: &[Spanned<WebhookConfig>]) -> Result<Vec<Webhook>, Problem> {
    if let Some(extra) = webhooks.get(MAX_WEBHOOKS) {
        return Err(problem(
            extra,
            format!("[[webhooks]]: at most {MAX_WEBHOOKS}"),
        ));
    }
    let mut compiled: Vec<Webhook> = Vec::with_capacity(webhooks.len());
    for spanned in webhooks {
        let config = spanned.get_ref();
        let label = format!("[[webhooks]] {:?}", config.name);
        if !valid_name(&config.name) {
            return Err(problem(
                spanned,
                format!(
                    "{label}: a name is 1 to {MAX_CHANNEL_NAME_BYTES} letters, digits, '-' or '_'"
                ),
            ));
        }
        if compiled.iter().any(|w| w.name == config.name) {
            return Err(problem(spanned, format!("{label}: the name is used twice")));
        }
        // The rules file's own text: naming it gives nothing away.
        let url = endpoint_url(&config.url).map_err(|message| {
            problem(spanned, format!("{label} url {:?}: {message}", config.url))
        })?;
        let secret = config.secret.clone().unwrap_or_else(|| config.name.clone());
        if !valid_name(&secret) {
            return Err(problem(
                spanned,
                format!("{label} secret {secret:?}: a key of letters, digits, '-' or '_'"),
            ));
        }
        if config.events.is_empty() {
            return Err(problem(
                spanned,
                format!("{label}: give the events, from {}", EVENT_TYPES.join(", ")),
            ));
        }
        let mut events = Vec::with_capacity(config.events.len());
        for event in &config.events {
            let known = EVENT_TYPES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(event))
                .ok_or_else(|| {
                    problem(
                        spanned,
                        format!(
                            "{label}: unknown event {event:?} (events: {})",
                            EVENT_TYPES.join(", ")
                        ),
                    )
                })?;
            if !events.contains(known) {
                events.push(*known);
            }
        }
        compiled.push(Webhook {
            name: config.name.clone(),
            url: url.to_string(),
            secret,
            events,
            include_contact: config.include_contact,
        });
    }
    Ok(compiled)
}

/// A bus event as the delivery queue holds it (EventBridge's envelope, the
/// fields firsthour reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub time: String,
    pub detail: serde_json::Value,
}

impl BusEvent {
    /// The lead the event is about.
    pub fn lead_id(&self) -> Option<LeadId> {
        self.detail
            .get("lead_id")
            .and_then(serde_json::Value::as_str)
            .and_then(LeadId::parse)
    }

    /// The escalation tier (`LeadEscalated`).
    pub fn tier(&self) -> Option<u32> {
        self.detail
            .get("tier")
            .and_then(serde_json::Value::as_u64)
            .and_then(|t| u32::try_from(t).ok())
    }
}

/// Where one delivery goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Destination {
    Webhook(String),
    Channel(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Webhook(name) => write!(f, "webhook {name}"),
            Self::Channel(name) => write!(f, "channel {name}"),
        }
    }
}

/// One event for one destination: a queue message of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub to: Destination,
    pub event: BusEvent,
}

/// The channels a tier's audiences name; a tier that tells the fallback
/// (and the breach) tells the fallback rule's channels too.
fn tier_channels(routing: &Routing, lead: &LeadRecord, tier: u32) -> Vec<String> {
    let rule = routing.rule(&lead.route.rule).unwrap_or(&routing.fallback);
    let audiences = routing
        .ladder_for(rule)
        .zip((tier as usize).checked_sub(1))
        .and_then(|(ladder, index)| ladder.tiers.get(index))
        .map_or_else(|| vec![Audience::Fallback], |t| t.notify.clone());
    let mut channels: Vec<String> = Vec::new();
    let named = audiences.iter().flat_map(|audience| match audience {
        Audience::Channel(name) => std::slice::from_ref(name),
        Audience::Fallback => routing.fallback.channels.as_slice(),
        _ => &[],
    });
    // Each channel once, wherever the tier names it again (`dedup` would
    // only drop neighbours).
    for name in named {
        if !channels.contains(name) {
            channels.push(name.clone());
        }
    }
    channels
}

/// The channels an event goes to, for `lead`: a routed lead to its rule's
/// channels; a tier to the channels it names; a reassignment to every
/// channel the lead was posted in; a claim to the Slack app messages it
/// updates.
pub fn channels_for(routing: &Routing, event: &BusEvent, lead: &LeadRecord) -> Vec<String> {
    let posted = |slack_app_only: bool| -> Vec<String> {
        lead.sla
            .channel_posts
            .keys()
            .filter(|name| {
                routing.channels.get(*name).is_some_and(|c: &ChatChannel| {
                    !slack_app_only || matches!(c.kind, ChannelKind::SlackApp { .. })
                })
            })
            .cloned()
            .collect()
    };
    match event.detail_type.as_str() {
        LEAD_ROUTED => routing
            .rule(&lead.route.rule)
            .map(|rule| rule.channels.clone())
            .unwrap_or_default(),
        LEAD_ESCALATED => event
            .tier()
            .map(|tier| tier_channels(routing, lead, tier))
            .unwrap_or_default(),
        LEAD_REASSIGNED => posted(false),
        LEAD_CLAIMED => posted(true),
        _ => Vec::new(),
    }
}

/// The webhooks subscribed to an event.
pub fn webhooks_for<'a>(webhooks: &'a [Webhook], event: &BusEvent) -> Vec<&'a Webhook> {
    webhooks
        .iter()
        .filter(|w| w.events.contains(&event.detail_type.as_str()))
        .collect()
}

/// How long a failed delivery waits before its next try: 30 s after the
/// first failure, doubling, at most 2 h; never less than the endpoint's
/// `Retry-After`; divided by `speedup` (1 in production; `make run` and
/// tests run faster), and at most SQS's 12 hours.
pub fn retry_delay(failures: u32, retry_after: Option<Duration>, speedup: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let backoff = FIRST_RETRY_DELAY
        .checked_mul(1u32 << doublings)
        .unwrap_or(MAX_RETRY_DELAY)
        .min(MAX_RETRY_DELAY);
    // At least a second: a sped-up run must not retry in a tight loop.
    let wait = (backoff / speedup.max(1)).max(Duration::from_secs(1));
    // The endpoint's own word is not sped up: it is what it can take.
    wait.max(retry_after.unwrap_or_default())
        .min(MAX_QUEUE_WAIT)
}

/// Whether a delivery first tried at `first_try` has run out of time at `now`.
pub fn gives_up(first_try: time::OffsetDateTime, now: time::OffsetDateTime, speedup: u32) -> bool {
    let window = GIVE_UP_AFTER / speedup.max(1);
    (now - first_try) >= window
}

#[cfg(test)]
mod tests;
