//! Touching a lead: the one-click claim link (a small HTML page) and the
//! touch API for CRMs and dialers. Either stops the lead's SLA clock.

use firsthour::html;
use firsthour::ports::{Clock, EscalationStore, EventPublisher, LeadStore, RepStore, RoutingStore};
use firsthour::service::away::AwayAction;
use firsthour::service::touch::{ContactTouch, LinkParams, Reported};
use firsthour_http::{Body, Problem, Request, html_response, json_response};
use http::{Method, Response, StatusCode};
use serde_json::json;

use super::IntakeApp;

impl<S: LeadStore + EscalationStore + RoutingStore + RepStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    /// A claim link. Opening it (GET, HEAD, any prefetch) never changes
    /// anything: mail security gateways (Safe Links, Mimecast, Proofpoint)
    /// open every link of a message before the person does. It shows the
    /// lead and a Claim button; the button's POST claims.
    pub(crate) async fn claim(
        &self,
        raw_id: &str,
        request: &Request,
        method: &Method,
    ) -> Result<Response<Body>, Problem> {
        let params = LinkParams {
            recipient: request.query_first("r"),
            expires: request.query_first("e"),
            signature: request.query_first("s"),
        };
        let link = self.touches.open_link(raw_id, params)?;
        let page = if method == Method::POST {
            html::claim::claimed(&self.touches.claim(&link).await?)
        } else {
            html::claim::view(&self.touches.claim_view(&link).await?, &link.recipient)
        };
        Ok(html_response(StatusCode::OK, page))
    }

    /// A rep's "I'm away" link: opening it shows where they stand; its
    /// button's POST (`action=away` or `action=back`) changes it.
    pub(crate) async fn away(
        &self,
        request: &Request,
        method: &Method,
    ) -> Result<Response<Body>, Problem> {
        let rep = self.away.open(
            request.query_first("r"),
            request.query_first("e"),
            request.query_first("s"),
        )?;
        let view = if method == Method::POST {
            self.away
                .act(&rep, AwayAction::from_form(&request.body))
                .await?
        } else {
            self.away.view(&rep).await?
        };
        Ok(html_response(StatusCode::OK, html::away::view(&view)))
    }

    /// `POST …/touches`: a touch by the person's address (what a CRM knows),
    /// with the touch API's bearer token; the open leads it touched.
    pub(crate) async fn touch_by_contact(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, Problem> {
        let channel = request.query_first("channel");
        let by = request.query_first("by");
        let touch = ContactTouch::from_request(
            &request.body,
            channel.as_deref(),
            by.as_deref(),
            request.header("idempotency-key"),
        );
        // The token is checked first, whatever the body says.
        let outcome = (self.touches)
            .report_by_contact(request.bearer(), touch)
            .await?;
        let status = if !outcome.touched.is_empty() {
            "recorded"
        } else if !outcome.duplicates.is_empty() {
            "duplicate"
        } else {
            "no_lead"
        };
        let body = json!({
            "status": status,
            "touched": outcome.touched,
            "first_responses": outcome.first_responses,
            "duplicates": outcome.duplicates,
        });
        Ok(json_response(StatusCode::OK, &body))
    }

    /// `POST …/leads/{id}/touch`, with the touch API's bearer token.
    pub(crate) async fn touch(
        &self,
        raw_id: &str,
        request: &Request,
    ) -> Result<Response<Body>, Problem> {
        let key = request.header("idempotency-key");
        let reported = (self.touches)
            .report(raw_id, request.bearer(), &request.body, key)
            .await?;
        let body = match reported {
            Reported::Recorded { lead_id, touches } => {
                json!({"lead_id": lead_id, "status": "recorded", "touches": touches})
            }
            Reported::Duplicate { lead_id } => json!({"lead_id": lead_id, "status": "duplicate"}),
        };
        Ok(json_response(StatusCode::OK, &body))
    }
}
