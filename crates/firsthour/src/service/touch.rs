//! Someone acted on a lead: a rep's claim (the claim link's button) or a
//! touch reported by a CRM or dialer. Either stops the lead's SLA clock.
//! Store first (the conditional write decides), then announce `LeadTouched`,
//! then the time-to-first-touch metric for the first one.

use std::fmt;
use std::str::FromStr;

use crate::email::EmailAddress;
use crate::events::{LeadTouched, OutboundEvent};
use crate::lead::{LeadId, format_utc_millis};
use crate::metrics::{self, Metrics};
use crate::ports::{
    ClaimOutcome, Clock, EscalationStore, EventPublisher, RoutingStore, StoreError, TouchOutcome,
};
use crate::record::{LeadRecord, elapsed_ms};

/// How someone reached (or took) the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The rep claimed it from a claim link.
    Claim,
    Call,
    Email,
    Meeting,
    Sms,
    Chat,
    Other,
}

impl Channel {
    /// The channels the touch API accepts (a claim comes through its link).
    pub const REPORTED: [Channel; 6] = [
        Self::Call,
        Self::Email,
        Self::Meeting,
        Self::Sms,
        Self::Chat,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Sms => "sms",
            Self::Chat => "chat",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel the touch API does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel must be one of call, email, meeting, sms, chat, other")]
pub struct UnknownChannel;

impl FromStr for Channel {
    type Err = UnknownChannel;

    /// A reported channel, any case.
    fn from_str(text: &str) -> Result<Self, UnknownChannel> {
        Self::REPORTED
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or(UnknownChannel)
    }
}

pub struct TouchService<S, P, C> {
    store: S,
    publisher: P,
    clock: C,
    metrics: Metrics,
}

impl<S: EscalationStore + RoutingStore, P: EventPublisher, C: Clock> TouchService<S, P, C> {
    pub fn new(store: S, publisher: P, clock: C) -> Self {
        Self {
            store,
            publisher,
            clock,
            metrics: Metrics::default(),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The lead, for a claim page to say what it is about (reads only).
    pub async fn lead(&self, id: &LeadId) -> Result<Option<LeadRecord>, StoreError> {
        self.store.get_lead(id).await
    }

    /// Claims the lead for `by` (the claim link's recipient); one claim wins.
    pub async fn claim(&self, id: &LeadId, by: &str) -> Result<ClaimOutcome, StoreError> {
        let now = self.clock.now();
        let outcome = self.store.claim(id, by, now).await?;
        if let ClaimOutcome::Claimed { segment } = &outcome {
            self.announce(id, Channel::Claim, 1).await;
            self.first_touch(id, segment.as_deref());
            tracing::info!(lead_id = %id, seconds_to_first_touch = elapsed_ms(id, now) / 1000, "lead claimed");
        }
        Ok(outcome)
    }

    /// Records one reported touch, counted once per `touch_id`; the first
    /// touch of a lead also claims it.
    pub async fn touch(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &EmailAddress,
        channel: Channel,
    ) -> Result<TouchOutcome, StoreError> {
        let now = self.clock.now();
        let outcome = self
            .store
            .touch(id, touch_id, by.as_str(), channel.as_str(), now)
            .await?;
        if let TouchOutcome::Recorded { touches, segment } = &outcome {
            self.announce(id, channel, *touches).await;
            if *touches == 1 {
                self.first_touch(id, segment.as_deref());
                tracing::info!(lead_id = %id, seconds_to_first_touch = elapsed_ms(id, now) / 1000, channel = %channel, "lead touched");
            } else {
                tracing::info!(lead_id = %id, touches, channel = %channel, "lead touched");
            }
        }
        Ok(outcome)
    }

    fn first_touch(&self, id: &LeadId, segment: Option<&str>) {
        let now = self.clock.now();
        self.metrics.emit(
            now,
            metrics::first_touch(id, segment.unwrap_or("unknown"), elapsed_ms(id, now)),
        );
    }

    /// `LeadTouched` on the bus; the touch is stored either way.
    async fn announce(&self, id: &LeadId, channel: Channel, touches: u32) {
        let event = LeadTouched {
            lead_id: id.clone(),
            channel: channel.as_str().to_owned(),
            touches,
            at: format_utc_millis(self.clock.now()),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::warn!(lead_id = %id, error = %err, "LeadTouched not published");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_read_in_any_case_and_claim_is_not_reported() {
        assert_eq!("Call".parse(), Ok(Channel::Call));
        assert_eq!(" sms ".parse(), Ok(Channel::Sms));
        assert_eq!("claim".parse::<Channel>(), Err(UnknownChannel));
        assert_eq!("fax".parse::<Channel>(), Err(UnknownChannel));
        for channel in Channel::REPORTED {
            assert_eq!(channel.as_str().parse(), Ok(channel));
        }
    }
}
