//! Touching a lead: the one-click claim link (a small HTML page) and the
//! touch API for CRMs and dialers. Either stops the lead's SLA clock.

use aws_lambda_events::encodings::Body;
use firsthour::claim::ClaimLinkError;
use firsthour::email::EmailAddress;
use firsthour::html::{self, escape_text};
use firsthour::lead::{LeadId, format_utc_millis};
use firsthour::ports::{
    ClaimOutcome, Clock, EscalationStore, EventPublisher, LeadStore, RoutingStore, StoreError,
    TouchOutcome,
};
use firsthour::record::LeadRecord;
use firsthour::service::touch::Channel;
use http::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{IntakeApp, Problem, Request, html_response, json_response, problem_response};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TouchBody {
    /// Who acted (an email address).
    by: String,
    /// `call`, `email`, `meeting`, `sms`, `chat` or `other`.
    channel: String,
    /// The caller's id for this touch; repeats are not counted twice.
    #[serde(default)]
    touch_id: Option<String>,
}

fn claim_page(status: StatusCode, heading: &str, body: &str) -> Response<Body> {
    html_response(status, html::page(heading, heading, body))
}

/// The lead has an owner: the recipient themselves (200), or someone else
/// (`taken`: 409 when they tried to claim, 200 when they only looked).
fn already_claimed(
    taken: StatusCode,
    by: Option<&str>,
    at: &str,
    recipient: &str,
    summary: &str,
) -> Response<Body> {
    match by {
        Some(by) if by.eq_ignore_ascii_case(recipient) => claim_page(
            StatusCode::OK,
            "You already have this lead",
            &format!("{summary}<p>You claimed it at {}.</p>", escape_text(at)),
        ),
        by => claim_page(
            taken,
            "Someone already has this lead",
            &format!(
                "{summary}<p>It was claimed by <strong>{}</strong> at {}.</p>",
                escape_text(by.unwrap_or("a colleague")),
                escape_text(at)
            ),
        ),
    }
}

fn no_such_lead() -> Response<Body> {
    claim_page(
        StatusCode::NOT_FOUND,
        "No such lead",
        "<p>This lead does not exist (any more).</p>",
    )
}

fn try_again(what: &str) -> Response<Body> {
    claim_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        &format!(
            "<p>{} Go back and try again in a moment.</p>",
            escape_text(what)
        ),
    )
}

/// Who and what the lead is, as the notification email already told the
/// link's recipient: nothing more.
fn lead_summary(lead: &LeadRecord) -> String {
    let mut rows = String::new();
    let mut row = |label: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            rows.push_str(&format!(
                "<tr><th style=\"text-align:left;padding-right:1rem\">{}</th><td>{}</td></tr>",
                escape_text(label),
                escape_text(value)
            ));
        }
    };
    row("Name", lead.contact.full_name.as_deref());
    row("Agency", lead.sector.agency.as_deref());
    row("Company", lead.contact.company.as_deref());
    row("Segment", Some(&lead.route.segment.replace('_', " ")));
    let received = firsthour::lead::format_utc_millis(lead.received_at);
    row("Received", Some(&received));
    let asked = lead.contact.message.as_deref().map(|m| {
        let mut short: String = m.chars().take(280).collect();
        if short.len() < m.len() {
            short.push('…');
        }
        short
    });
    row("Asked", asked.as_deref());
    format!("<table>{rows}</table>")
}

impl<S: LeadStore + EscalationStore + RoutingStore, P: EventPublisher, C: Clock>
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
    ) -> Response<Body> {
        let (id, recipient) = match self.verified_link(raw_id, request) {
            Ok(link) => link,
            Err(page) => return *page,
        };
        let mut response = if method == Method::POST {
            self.record_claim(&id, &recipient).await
        } else {
            self.claim_view(&id, &recipient).await
        };
        let headers = response.headers_mut();
        // The page carries a signed link: no caching, no referrer, no framing.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        if method == Method::HEAD {
            *response.body_mut() = Body::Empty;
        }
        response
    }

    /// The lead id and recipient of a claim link whose signature holds.
    fn verified_link(
        &self,
        raw_id: &str,
        request: &Request,
    ) -> Result<(LeadId, String), Box<Response<Body>>> {
        let Some(key) = &self.link_key else {
            return Err(Box::new(claim_page(
                StatusCode::NOT_FOUND,
                "Claim links are not enabled",
                "<p>Ask your administrator.</p>",
            )));
        };
        let Some(id) = LeadId::parse(raw_id) else {
            return Err(Box::new(claim_page(
                StatusCode::NOT_FOUND,
                "No such lead",
                "<p>This link does not point to a lead.</p>",
            )));
        };
        let (Some(recipient), Some(expires), Some(signature)) = (
            request.query_first("r"),
            request.query_first("e"),
            request.query_first("s"),
        ) else {
            return Err(Box::new(claim_page(
                StatusCode::BAD_REQUEST,
                "This claim link is incomplete",
                "<p>Open the link from the email again, in full.</p>",
            )));
        };
        let now = self.service.clock().now();
        if let Err(err) = key.verify(&id, &recipient, &expires, &signature, now) {
            let status = match err {
                ClaimLinkError::Expired => StatusCode::GONE,
                ClaimLinkError::Malformed => StatusCode::BAD_REQUEST,
                ClaimLinkError::BadSignature => StatusCode::FORBIDDEN,
            };
            tracing::warn!(lead_id = %id, reason = %err, "claim link refused");
            return Err(Box::new(claim_page(
                status,
                "This claim link cannot be used",
                &format!(
                    "<p>{}.</p><p class=\"muted\">Nothing was recorded.</p>",
                    escape_text(&err.to_string())
                ),
            )));
        }
        Ok((id, recipient))
    }

    /// What the link is about, and the button that claims it.
    async fn claim_view(&self, id: &LeadId, recipient: &str) -> Response<Body> {
        let lead = match self.touches.lead(id).await {
            Ok(Some(lead)) => lead,
            Ok(None) => return no_such_lead(),
            Err(err) => {
                tracing::error!(lead_id = %id, error = %err, "claim page: lead not read");
                return try_again("The lead could not be read just now.");
            }
        };
        let summary = lead_summary(&lead);
        if let Some(by) = &lead.sla.claimed_by {
            // Only looking: not a conflict, whoever has it.
            let at = lead.sla.claimed_at.as_deref().unwrap_or_default();
            return already_claimed(StatusCode::OK, Some(by), at, recipient, &summary);
        }
        // No action attribute: the form posts to this same signed URL.
        claim_page(
            StatusCode::OK,
            "Claim this lead?",
            &format!(
                "{summary}<form method=\"post\"><button type=\"submit\" style=\"font-size:1rem;padding:.6rem 1.4rem;background:#1d4ed8;color:#fff;border:0;border-radius:6px;cursor:pointer\">Claim this lead</button></form>\
<p class=\"muted\">Claiming tells your team you are answering it and stops its escalation. You are claiming as {}.</p>",
                escape_text(recipient)
            ),
        )
    }

    /// The button's POST: the same conditional write as ever; one claim wins.
    async fn record_claim(&self, id: &LeadId, recipient: &str) -> Response<Body> {
        match self.touches.claim(id, recipient).await {
            Ok(ClaimOutcome::Claimed { .. }) => claim_page(
                StatusCode::OK,
                "The lead is yours",
                &format!(
                    "<p>You claimed this lead at {}. Its escalation has stopped.</p><p>Reply to the notification email to answer the person now.</p>",
                    escape_text(&format_utc_millis(self.touches.clock().now()))
                ),
            ),
            Ok(ClaimOutcome::AlreadyClaimed { by, at }) => already_claimed(
                StatusCode::CONFLICT,
                by.as_deref(),
                at.as_deref().unwrap_or_default(),
                recipient,
                "",
            ),
            Ok(ClaimOutcome::NotFound) => no_such_lead(),
            Err(err) => {
                tracing::error!(lead_id = %id, error = %err, "claim not recorded");
                try_again("The claim could not be recorded just now.")
            }
        }
    }

    pub(crate) async fn touch(&self, raw_id: &str, request: &Request) -> Response<Body> {
        let Some(expected) = &self.touch_token else {
            return problem_response(
                &Problem::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "the touch API is not enabled",
                ),
                false,
            );
        };
        if !bearer_matches(&request.headers, expected) {
            let problem = Problem {
                challenge: Some("Bearer"),
                ..Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send Authorization: Bearer <touch API token>",
                )
            };
            return problem_response(&problem, false);
        }
        let Some(id) = LeadId::parse(raw_id) else {
            return problem_response(
                &Problem::new(StatusCode::NOT_FOUND, "not_found", "no such lead"),
                false,
            );
        };
        let body: TouchBody = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(err) => {
                return problem_response(
                    &Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed",
                        format!("invalid touch body: {err}"),
                    ),
                    false,
                );
            }
        };
        let by = match EmailAddress::parse(&body.by) {
            Ok(by) => by,
            Err(err) => {
                let problem = Problem {
                    field: Some("by"),
                    ..Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unprocessable",
                        err.to_string(),
                    )
                };
                return problem_response(&problem, false);
            }
        };
        let channel: Channel = match body.channel.parse() {
            Ok(channel) => channel,
            Err(err) => {
                let problem = Problem {
                    field: Some("channel"),
                    ..Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unprocessable",
                        err.to_string(),
                    )
                };
                return problem_response(&problem, false);
            }
        };
        let header_key = request.header("idempotency-key").map(str::to_owned);
        let Some(touch_id) = body
            .touch_id
            .or(header_key)
            .filter(|t| !t.trim().is_empty() && t.len() <= 256)
        else {
            let problem = Problem {
                field: Some("touch_id"),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    "give a touch_id (or an Idempotency-Key header) of 1 to 256 characters, so retries count once",
                )
            };
            return problem_response(&problem, false);
        };
        match self.touches.touch(&id, &touch_id, &by, channel).await {
            Ok(TouchOutcome::Recorded { touches, .. }) => json_response(
                StatusCode::OK,
                &json!({"lead_id": id, "status": "recorded", "touches": touches}),
            ),
            Ok(TouchOutcome::Duplicate) => json_response(
                StatusCode::OK,
                &json!({"lead_id": id, "status": "duplicate"}),
            ),
            Ok(TouchOutcome::NotFound) => problem_response(
                &Problem::new(StatusCode::NOT_FOUND, "not_found", "no such lead"),
                false,
            ),
            Err(StoreError::Unavailable(_)) => problem_response(
                &Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the touch could not be recorded right now; retry with the same touch_id",
                ),
                false,
            ),
            Err(err) => {
                tracing::error!(lead_id = %id, error = %err, "touch not recorded");
                problem_response(
                    &Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the touch could not be recorded",
                    ),
                    false,
                )
            }
        }
    }
}

/// `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|token| bool::from(token.trim().as_bytes().ct_eq(expected.as_bytes())))
}
