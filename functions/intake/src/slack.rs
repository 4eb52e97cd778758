//! `POST …/slack/interactions`: Slack's Claim button. Slack waits three
//! seconds for a 200; anything the clicker should know beyond the message
//! update (not on the team, claimed by someone else) goes to them alone.

use firsthour::ports::{Clock, EscalationStore, EventPublisher, LeadStore, RepStore, RoutingStore};
use firsthour::service::slack::{ClickError, ClickOutcome};
use firsthour::signature::SignedRequest;
use firsthour_http::{Body, Problem, Request};
use http::{Method, Response, StatusCode};

use super::{IntakeApp, SlackOff};

impl<S: LeadStore + EscalationStore + RoutingStore + RepStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    pub(crate) async fn slack_interaction(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, Problem> {
        let slack = self.slack.as_ref().map_err(|off| match off {
            SlackOff::NotSetUp(why) => Problem::not_found(why.clone()),
            SlackOff::Broken(why) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "slack_not_configured",
                why.clone(),
            )
            .with(|p| p.retry_after = None),
        })?;
        let lookup = |name: &str| request.header(name);
        slack
            .verify(&SignedRequest {
                method: request.method.as_ref().map_or("", Method::as_str),
                url: "",
                body: &request.body,
                header: &lookup,
                now: self.touches.clock().now(),
            })
            .map_err(|err| {
                tracing::warn!(reason = %err, "Slack interaction refused");
                Problem::unauthorized(
                    "Slack",
                    "unauthenticated",
                    format!("not a request from Slack: {err}"),
                )
            })?;
        match slack.click(&self.touches, &request.body).await {
            Ok(outcome) => {
                let (claimed, outcome_name) = match &outcome {
                    ClickOutcome::Claimed { .. } => (true, "claimed"),
                    ClickOutcome::AlreadyTheirs => (false, "already_theirs"),
                    ClickOutcome::Taken { .. } => (false, "taken"),
                    ClickOutcome::Reassigned { .. } => (false, "reassigned"),
                    ClickOutcome::NotOnTeam => (false, "not_on_team"),
                    ClickOutcome::NoSuchLead => (false, "no_such_lead"),
                };
                tracing::info!(claimed, outcome = outcome_name, "Slack Claim click");
                // Slack wants a 200 with nothing to show; the message updates itself.
                Ok(Response::builder()
                    .status(StatusCode::OK)
                    .body(Body::Empty)
                    .unwrap_or_default())
            }
            Err(ClickError::Unavailable(reason)) => {
                tracing::error!(reason = %reason, "Slack Claim click not recorded");
                Err(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the claim could not be recorded; click again",
                ))
            }
            Err(err) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_interaction",
                err.to_string(),
            )),
        }
    }
}
