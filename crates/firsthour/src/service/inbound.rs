//! A tracked reply, received: SES email receiving hands the inbound function
//! what it learnt of a message sent to a tracked address (its envelope
//! recipients, its From and Date, SES's verdicts); never the body. A reply
//! that passes counts as the lead's response by the rep, by email, when it
//! was sent; anything else is dropped with a reason.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::claim::LinkKey;
use crate::email::EmailAddress;
use crate::lead::LeadId;
use crate::ports::{
    Clock, EscalationStore, EventPublisher, RepStore, RoutingStore, StoreError, TouchOutcome,
};
use crate::reply::{ReplyError, read_reply_address};
use crate::service::touch::{Channel, TouchService};

/// One of SES's verdicts on a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    /// Not checked (SES leaves scanning off when the rule says so).
    Disabled,
}

impl Verdict {
    /// SES's `status` text; anything unknown reads as processing failed.
    pub fn from_status(status: Option<&str>) -> Self {
        match status
            .map(str::trim)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("PASS") => Self::Pass,
            Some("FAIL") => Self::Fail,
            Some("GRAY") => Self::Gray,
            Some("DISABLED") => Self::Disabled,
            _ => Self::ProcessingFailed,
        }
    }
}

/// SES's verdicts on a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub spf: Verdict,
    pub dkim: Verdict,
    pub dmarc: Verdict,
    pub spam: Verdict,
    pub virus: Verdict,
}

impl Verdicts {
    /// Why the message is not trusted, if it is not: the sender must be
    /// authenticated (SPF or DKIM pass), DMARC must not fail, and neither
    /// the spam nor the virus scan may fail.
    pub fn distrust(&self) -> Option<&'static str> {
        if self.spf != Verdict::Pass && self.dkim != Verdict::Pass {
            return Some("neither SPF nor DKIM passed");
        }
        if self.dmarc == Verdict::Fail {
            return Some("DMARC failed");
        }
        if self.spam == Verdict::Fail {
            return Some("the spam scan failed it");
        }
        if self.virus == Verdict::Fail {
            return Some("the virus scan failed it");
        }
        None
    }
}

/// What the inbound function learnt of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedReply {
    /// SES's id of the received message: one touch per message, however
    /// often it is delivered.
    pub message_id: String,
    /// The envelope recipients SES received it for (the tracked Bcc among them).
    pub recipients: Vec<String>,
    /// The From header's addresses, as SES parsed them (`Ann <ann@x.com>`).
    pub from: Vec<String>,
    /// The Date header, as sent (RFC 5322).
    pub date: Option<String>,
    /// When SES received it.
    pub received_at: OffsetDateTime,
    pub verdicts: Verdicts,
}

/// Why a received message counted for nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    #[error("no tracked reply address among the recipients")]
    NoTrackedAddress,
    #[error("untrusted: {0}")]
    Untrusted(&'static str),
    #[error("no readable sender address")]
    NoSender,
    #[error("tracked address refused: {0}")]
    Address(ReplyError),
    #[error("the lead is not in the table")]
    NoSuchLead,
}

/// What handling one received message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    Touched {
        lead: LeadId,
        touches: u32,
    },
    /// SES delivered the same message again: counted once.
    Duplicate {
        lead: LeadId,
    },
    Dropped(Dropped),
}

pub struct InboundService<S, P, C> {
    touches: TouchService<S, P, C>,
    clock: C,
    key: LinkKey,
    domain: String,
}

/// The address in a From header's value: inside `<…>` when there is a
/// display name, else the whole value; checked as an address.
pub fn sender_address(from: &str) -> Option<EmailAddress> {
    let raw = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    EmailAddress::parse(raw.trim()).ok()
}

impl<S, P, C> InboundService<S, P, C>
where
    S: EscalationStore + RoutingStore + RepStore,
    P: EventPublisher,
    C: Clock + Clone,
{
    pub fn new(touches: TouchService<S, P, C>, clock: C, key: LinkKey, domain: String) -> Self {
        Self {
            touches,
            clock,
            key,
            domain,
        }
    }

    /// Counts one received message as its lead's response, or says why not.
    /// Only a store that cannot be reached is an error (SES's delivery is retried).
    pub async fn handle(&self, reply: &ReceivedReply) -> Result<ReplyOutcome, StoreError> {
        let tracked: Vec<&String> = reply
            .recipients
            .iter()
            .filter(|r| {
                r.rsplit_once('@')
                    .is_some_and(|(_, host)| host.eq_ignore_ascii_case(&self.domain))
            })
            .collect();
        if tracked.is_empty() {
            return Ok(ReplyOutcome::Dropped(Dropped::NoTrackedAddress));
        }
        if let Some(why) = reply.verdicts.distrust() {
            return Ok(ReplyOutcome::Dropped(Dropped::Untrusted(why)));
        }
        // One From address: a message "from" several people is nobody's reply.
        let [from] = reply.from.as_slice() else {
            return Ok(ReplyOutcome::Dropped(Dropped::NoSender));
        };
        let Some(sender) = sender_address(from) else {
            return Ok(ReplyOutcome::Dropped(Dropped::NoSender));
        };
        let now = self.clock.now();
        let mut refused = Dropped::NoTrackedAddress;
        for address in tracked {
            let lead =
                match read_reply_address(&self.key, &self.domain, address, sender.as_str(), now) {
                    Ok(lead) => lead,
                    Err(err) => {
                        refused = Dropped::Address(err);
                        continue;
                    }
                };
            let at = self.sent_at(reply, &lead);
            let touch_id = format!("email:{}", reply.message_id);
            return Ok(
                match self
                    .touches
                    .touch_at(&lead, &touch_id, &sender, Channel::Email, at)
                    .await?
                {
                    TouchOutcome::Recorded { touches, .. } => {
                        ReplyOutcome::Touched { lead, touches }
                    }
                    TouchOutcome::Duplicate => ReplyOutcome::Duplicate { lead },
                    TouchOutcome::NotFound => ReplyOutcome::Dropped(Dropped::NoSuchLead),
                },
            );
        }
        Ok(ReplyOutcome::Dropped(refused))
    }

    /// When the reply was sent: its Date, but never after SES received it
    /// nor before the lead arrived (a wrong or forged clock cannot move the
    /// response); SES's receipt time when the Date does not read.
    fn sent_at(&self, reply: &ReceivedReply, lead: &LeadId) -> OffsetDateTime {
        let dated = reply
            .date
            .as_deref()
            .and_then(|d| OffsetDateTime::parse(d.trim(), &Rfc2822).ok())
            .unwrap_or(reply.received_at)
            .min(reply.received_at);
        match lead.created_at() {
            Some(arrived) => dated.max(arrived),
            None => dated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_the_address_in_the_from_header() {
        let read = |raw: &str| sender_address(raw).map(|a| a.as_str().to_owned());
        assert_eq!(
            read("Ann Lee <ann@example.com>"),
            Some("ann@example.com".into())
        );
        assert_eq!(
            read("\"Lee, Ann\" <ann@example.com>"),
            Some("ann@example.com".into())
        );
        assert_eq!(read("ann@example.com"), Some("ann@example.com".into()));
        assert_eq!(read("Ann Lee"), None);
        assert_eq!(read("<>"), None);
        assert_eq!(read(""), None);
    }

    #[test]
    fn a_message_is_trusted_only_when_authenticated_and_clean() {
        let all = |v| Verdicts {
            spf: v,
            dkim: v,
            dmarc: v,
            spam: v,
            virus: v,
        };
        assert_eq!(all(Verdict::Pass).distrust(), None);
        let dkim_only = Verdicts {
            spf: Verdict::Fail,
            dmarc: Verdict::Gray,
            ..all(Verdict::Pass)
        };
        assert_eq!(dkim_only.distrust(), None, "DKIM alone authenticates");
        assert!(all(Verdict::Gray).distrust().is_some());
        for broken in [
            Verdicts {
                dmarc: Verdict::Fail,
                ..all(Verdict::Pass)
            },
            Verdicts {
                spam: Verdict::Fail,
                ..all(Verdict::Pass)
            },
            Verdicts {
                virus: Verdict::Fail,
                ..all(Verdict::Pass)
            },
            Verdicts {
                spf: Verdict::ProcessingFailed,
                dkim: Verdict::Disabled,
                ..all(Verdict::Pass)
            },
        ] {
            assert!(broken.distrust().is_some(), "{broken:?}");
        }
        assert_eq!(Verdict::from_status(Some("pass")), Verdict::Pass);
        assert_eq!(
            Verdict::from_status(Some("weird")),
            Verdict::ProcessingFailed
        );
        assert_eq!(Verdict::from_status(None), Verdict::ProcessingFailed);
    }
}
