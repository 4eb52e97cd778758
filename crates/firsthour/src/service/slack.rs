//! Slack's Claim button: the interaction Slack posts when a rep clicks it,
//! verified (Slack's request signing), the Slack user mapped to a rep (the
//! channel's `users` mapping, else their Slack profile email), and the lead
//! claimed as that rep with the same conditional write a claim link uses.
//! The message is updated in place by the deliver function, on the
//! `LeadClaimed` the claim announces; the clicker alone is told anything
//! else, in an ephemeral message.

use time::OffsetDateTime;

use crate::channel::{ChannelKind, ChatChannel};
use crate::deliver::slack::{self, ClaimClick, InteractionError};
use crate::deliver::{HttpPoster, Outbound};
use crate::ports::{Clock, EscalationStore, EventPublisher, RepStore, RoutingStore};
use crate::record::LeadRecord;
use crate::service::touch::{ClaimError, ClaimLink, Claimed, TouchService};
use crate::signature::{Scheme, SignatureError, SignedRequest, Verifier};

/// What a click came to, for the log and the tests. Slack is answered
/// 200 in every case but a bad signature or body: the clicker is told in
/// the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickOutcome {
    Claimed {
        by: String,
    },
    /// The rep had claimed it already.
    AlreadyTheirs,
    /// Someone else had.
    Taken {
        by: Option<String>,
    },
    /// The lead moved on from this rep.
    Reassigned {
        to: Option<String>,
    },
    /// The Slack user is no rep firsthour knows for this lead.
    NotOnTeam,
    NoSuchLead,
}

/// Why a click was refused outright (a 4xx to Slack).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClickError {
    #[error("Slack interactivity is not set up: no [channels] entry is a Slack app")]
    NotEnabled,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Interaction(#[from] InteractionError),
    /// The claim could not be read or written; Slack shows the clicker an
    /// error and they click again.
    #[error("{0}")]
    Unavailable(String),
}

pub struct SlackInteractions<H> {
    outbound: Outbound,
    verifiers: Vec<Verifier>,
    http: H,
}

impl<H: HttpPoster> SlackInteractions<H> {
    /// `None` when no channel is a Slack app (nothing to click).
    pub fn new(outbound: Outbound, http: H) -> Option<Self> {
        let verifiers: Vec<Verifier> = outbound
            .secrets
            .signing_secrets()
            .filter_map(|secret| Verifier::new(Scheme::Slack, secret).ok())
            .collect();
        (!verifiers.is_empty()).then_some(Self {
            outbound,
            verifiers,
            http,
        })
    }

    /// The request is Slack's, signed with one of the apps' signing secrets.
    pub fn verify(&self, request: &SignedRequest<'_>) -> Result<(), SignatureError> {
        let mut refusal = SignatureError::Mismatch;
        for verifier in &self.verifiers {
            match verifier.verify(request) {
                Ok(_) => return Ok(()),
                // A missing or stale header says more than "no match".
                Err(
                    err @ (SignatureError::Missing(_)
                    | SignatureError::Malformed(_)
                    | SignatureError::Stale),
                ) => {
                    return Err(err);
                }
                Err(err) => refusal = err,
            }
        }
        Err(refusal)
    }

    /// A verified click: the rep, the claim, and what the clicker is told.
    pub async fn click<S, P, C>(
        &self,
        touches: &TouchService<S, P, C>,
        form_body: &[u8],
    ) -> Result<ClickOutcome, ClickError>
    where
        S: EscalationStore + RoutingStore + RepStore,
        P: EventPublisher,
        C: Clock,
    {
        let click = slack::claim_click(form_body)?;
        let lead = match touches.lead(&click.lead_id).await {
            Ok(lead) => lead,
            Err(ClaimError::NoSuchLead) => {
                self.tell(&click, "This lead is no longer in firsthour.")
                    .await;
                return Ok(ClickOutcome::NoSuchLead);
            }
            Err(err) => return Err(ClickError::Unavailable(err.to_string())),
        };
        let channel = self.channel_of(&click);
        let rep = match self.rep_of(&click, channel).await {
            Some(rep) if self.knows(&lead, &rep) => rep,
            _ => {
                let team = lead.route.team.as_deref().unwrap_or(&lead.route.segment);
                self.tell(
                    &click,
                    &format!("You are not on the {team} team in firsthour, so this lead cannot be yours. Ask an admin to add your Slack account or email to the team."),
                )
                .await;
                return Ok(ClickOutcome::NotOnTeam);
            }
        };
        let link = ClaimLink {
            lead_id: click.lead_id.clone(),
            recipient: rep.clone(),
        };
        match touches.claim(&link).await {
            Ok(Claimed::Now { .. }) => Ok(ClickOutcome::Claimed { by: rep }),
            Ok(Claimed::Before { .. }) => Ok(ClickOutcome::AlreadyTheirs),
            Err(ClaimError::Taken { by, at }) => {
                let who = by.as_deref().unwrap_or("someone else");
                self.tell(
                    &click,
                    &format!("Already claimed by {who} at {}.", readable(&at)),
                )
                .await;
                Ok(ClickOutcome::Taken { by })
            }
            Err(ClaimError::Reassigned { to }) => {
                let to_whom = to.as_deref().unwrap_or("another rep");
                self.tell(
                    &click,
                    &format!("This lead was reassigned to {to_whom}; it is theirs now."),
                )
                .await;
                Ok(ClickOutcome::Reassigned { to })
            }
            Err(ClaimError::NoSuchLead) => Ok(ClickOutcome::NoSuchLead),
            Err(err) => Err(ClickError::Unavailable(err.to_string())),
        }
    }

    /// The Slack app channel the message was posted in.
    fn channel_of(&self, click: &ClaimClick) -> Option<&ChatChannel> {
        let conversation = click.channel.as_deref()?;
        self.outbound.routing.channels.values().find(
            |c| matches!(&c.kind, ChannelKind::SlackApp { channel } if channel == conversation),
        )
    }

    /// The rep's address: the channel's mapping, any Slack app channel's
    /// mapping, else the user's Slack profile email (`users.info`).
    async fn rep_of(&self, click: &ClaimClick, channel: Option<&ChatChannel>) -> Option<String> {
        let channels = &self.outbound.routing.channels;
        if let Some(address) = channel
            .and_then(|c| c.users.get(&click.user))
            .or_else(|| channels.values().find_map(|c| c.users.get(&click.user)))
        {
            return Some(address.clone());
        }
        let app = channel
            .into_iter()
            .chain(channels.values())
            .find_map(|c| self.outbound.secrets.slack_app(&c.secret))?;
        let request = slack::users_info(&self.outbound.slack_api_url, &app.bot_token, &click.user);
        let answer = self.http.post(&request).await.ok()?;
        let body = slack::read(&answer)
            .map_err(
                |err| tracing::warn!(error = %err, "users.info failed: the clicker is not mapped"),
            )
            .ok()?;
        let email = slack::profile_email(&body)?;
        crate::email::EmailAddress::parse(email)
            .ok()
            .map(|e| e.as_str().to_owned())
    }

    /// A rep firsthour knows for this lead: its owner, one of its rule's
    /// recipients, or a rep or the manager of its team.
    fn knows(&self, lead: &LeadRecord, rep: &str) -> bool {
        let same = |a: &str| a.eq_ignore_ascii_case(rep);
        let team = lead
            .route
            .team
            .as_ref()
            .and_then(|t| self.outbound.routing.teams.get(t));
        lead.sla.owner.as_deref().is_some_and(same)
            || lead.route.recipients.iter().any(|r| same(r))
            || team.is_some_and(|t| {
                t.rotation.iter().any(|r| same(&r.email)) || t.manager.as_deref().is_some_and(same)
            })
    }

    /// An ephemeral message to the clicker, through the interaction's
    /// `response_url`; a failure is logged (the click is answered anyway).
    async fn tell(&self, click: &ClaimClick, text: &str) {
        let Some(url) = click.response_url.as_deref() else {
            return;
        };
        if !slack::trusted_response_url(url, &self.outbound.slack_api_url) {
            tracing::warn!("a Slack interaction's response_url is not Slack's: not answered");
            return;
        }
        if let Err(err) = self.http.post(&slack::ephemeral(url, text)).await {
            tracing::warn!(error = %err, "ephemeral answer to a Slack click not sent");
        }
    }
}

/// A stored RFC 3339 time as "10:42 UTC" when it reads as one.
fn readable(at: &str) -> String {
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[hour]:[minute] UTC on [day padding:none] [month repr:short]"
            ))
            .ok()
        })
        .unwrap_or_else(|| at.to_owned())
}
