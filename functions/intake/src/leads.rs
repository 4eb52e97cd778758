//! `POST /leads`: the edge's checks (source, headers, signature), the
//! intake use case, and the answer the sender expects (JSON, a redirect for
//! a browser form, 429 past the per-address limit).

use std::time::Instant;

use firsthour::ports::{Clock, EscalationStore, EventPublisher, LeadStore, RepStore, RoutingStore};
use firsthour::service::intake::{AcceptStatus, Accepted};
use firsthour::service::touch::Channel;
use firsthour_http::{Body, Problem, Request, json_response, prefers_html, redirect_response};
use http::{Response, StatusCode};
use serde_json::json;

use super::IntakeApp;

impl<S: LeadStore + EscalationStore + RoutingStore + RepStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    pub(crate) async fn post_lead(
        &self,
        request: &Request,
        source: Option<&str>,
        prefix: &str,
        started: Instant,
    ) -> Result<Response<Body>, Problem> {
        let now = self.service.clock().now();
        let checked = request.checked_delivery(source, &self.verifiers, now)?;
        let source = &checked.source;
        let result = self.service.accept(checked.delivery()).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let accepted = result.map_err(|err| {
            let problem = Problem::from(err.clone());
            let status = problem.status.as_u16();
            if problem.status.is_server_error() {
                tracing::error!(source = %source, status, error = %err, elapsed_ms, "lead intake failed");
            } else {
                tracing::warn!(source = %source, status, code = problem.code, reason = %problem.message, elapsed_ms, "lead refused");
            }
            problem
        })?;
        if let Some(reason) = accepted.spam {
            // Counted (metric filter on spam_caught); answered like a real lead.
            tracing::warn!(source = %source, spam_caught = reason.as_str(), elapsed_ms, "submission taken for spam; not stored");
        } else {
            tracing::info!(lead_id = %accepted.lead_id, source = %source, status = accepted.status.as_str(), published = accepted.published, warnings = accepted.warnings.len(), elapsed_ms, "lead intake");
        }
        self.booked_meeting_touch(&accepted).await;
        Ok(self.accepted_response(accepted, prefers_html(&request.headers), prefix))
    }

    /// A booked meeting is the first response already: recorded as a touch
    /// by its host (channel `meeting`, once per booking), so no ladder nags
    /// about the lead. The lead is stored whatever happens here; a touch
    /// that fails is logged and the ladder runs as for any lead.
    async fn booked_meeting_touch(&self, accepted: &Accepted) {
        let Some(meeting) = &accepted.meeting else {
            return;
        };
        let Some(host) = meeting
            .host
            .as_deref()
            .and_then(|host| firsthour::email::EmailAddress::parse(host).ok())
        else {
            tracing::warn!(lead_id = %accepted.lead_id, "a booked meeting without its host's address: not recorded as a touch");
            return;
        };
        let touch_id = format!("meeting:{}", meeting.id);
        if let Err(err) = self
            .touches
            .touch(&accepted.lead_id, &touch_id, &host, Channel::Meeting)
            .await
        {
            tracing::error!(lead_id = %accepted.lead_id, error = %err, "the booked meeting was not recorded as a touch");
        }
    }

    /// A browser goes on to the form's page or ours; a program gets the lead.
    fn accepted_response(&self, accepted: Accepted, html: bool, prefix: &str) -> Response<Body> {
        let ours = || (self.thank_you_url.clone()).unwrap_or_else(|| format!("{prefix}/thank-you"));
        if let Some(location) = accepted.redirect_url.or_else(|| html.then(ours)) {
            return redirect_response(&location);
        }
        let status = match accepted.status {
            AcceptStatus::Accepted => StatusCode::ACCEPTED,
            AcceptStatus::Duplicate => StatusCode::OK,
        };
        let mut body = json!({"lead_id": accepted.lead_id, "status": accepted.status.as_str()});
        if !accepted.warnings.is_empty() {
            body["warnings"] = json!(accepted.warnings);
        }
        json_response(status, &body)
    }
}
