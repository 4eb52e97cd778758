//! Touching a lead: the one-click claim link (a small HTML page) and the
//! touch API for CRMs and dialers. Either stops the lead's SLA clock.

use firsthour::claim::ClaimLinkError;
use firsthour::email::EmailAddress;
use firsthour::events::{LeadTouched, OutboundEvent};
use firsthour::html::{self, escape_text};
use firsthour::lead::{LeadId, format_utc_millis};
use firsthour::metrics;
use firsthour::ports::{
    ClaimOutcome, Clock, EscalationStore, EventPublisher, LeadStore, StoreError, TouchOutcome,
};
use firsthour::store::elapsed_ms;
use http::{HeaderMap, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{IntakeApp, Problem, html_response, json_response, problem_response};

/// Channels the touch API accepts.
const CHANNELS: &[&str] = &["call", "email", "meeting", "sms", "chat", "other"];

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

impl<S: LeadStore + EscalationStore, P: EventPublisher, C: Clock> IntakeApp<S, P, C> {
    pub(crate) async fn claim(&self, raw_id: &str, request: &Request) -> Response<Body> {
        let Some(key) = &self.link_key else {
            return claim_page(
                StatusCode::NOT_FOUND,
                "Claim links are not enabled",
                "<p>Ask your administrator.</p>",
            );
        };
        let Some(id) = LeadId::parse(raw_id) else {
            return claim_page(
                StatusCode::NOT_FOUND,
                "No such lead",
                "<p>This link does not point to a lead.</p>",
            );
        };
        let query = request.query_string_parameters();
        let (Some(recipient), Some(expires), Some(signature)) =
            (query.first("r"), query.first("e"), query.first("s"))
        else {
            return claim_page(
                StatusCode::BAD_REQUEST,
                "This claim link is incomplete",
                "<p>Open the link from the email again, in full.</p>",
            );
        };
        let now = self.service.clock().now();
        if let Err(err) = key.verify(&id, recipient, expires, signature, now) {
            let status = match err {
                ClaimLinkError::Expired => StatusCode::GONE,
                ClaimLinkError::Malformed => StatusCode::BAD_REQUEST,
                ClaimLinkError::BadSignature => StatusCode::FORBIDDEN,
            };
            tracing::warn!(lead_id = %id, reason = %err, "claim link refused");
            return claim_page(
                status,
                "This claim link cannot be used",
                &format!(
                    "<p>{}.</p><p class=\"muted\">Nothing was recorded.</p>",
                    escape_text(&err.to_string())
                ),
            );
        }
        match self.service.store().claim(&id, recipient, now).await {
            Ok(ClaimOutcome::Claimed { segment }) => {
                self.publish_touch(&id, "claim", 1).await;
                self.first_touch_metric(&id, segment.as_deref(), now);
                tracing::info!(lead_id = %id, seconds_to_first_touch = seconds_since(&id, now), "lead claimed");
                claim_page(
                    StatusCode::OK,
                    "The lead is yours",
                    &format!(
                        "<p>You claimed this lead at {}. Its escalation has stopped.</p><p>Reply to the notification email to answer the person now.</p>",
                        escape_text(&format_utc_millis(now))
                    ),
                )
            }
            Ok(ClaimOutcome::AlreadyClaimed { by, at }) => {
                let at = at.unwrap_or_default();
                if by
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(recipient))
                {
                    claim_page(
                        StatusCode::OK,
                        "You already have this lead",
                        &format!("<p>You claimed it at {}.</p>", escape_text(&at)),
                    )
                } else {
                    claim_page(
                        StatusCode::CONFLICT,
                        "Someone already has this lead",
                        &format!(
                            "<p>It was claimed by <strong>{}</strong> at {}.</p>",
                            escape_text(by.as_deref().unwrap_or("a colleague")),
                            escape_text(&at)
                        ),
                    )
                }
            }
            Ok(ClaimOutcome::NotFound) => claim_page(
                StatusCode::NOT_FOUND,
                "No such lead",
                "<p>This lead does not exist (any more).</p>",
            ),
            Err(err) => {
                tracing::error!(lead_id = %id, error = %err, "claim not recorded");
                claim_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Please try again",
                    "<p>The claim could not be recorded just now. Reload this page in a moment.</p>",
                )
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
        if !bearer_matches(request.headers(), expected) {
            let mut response = problem_response(
                &Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send Authorization: Bearer <touch API token>",
                ),
                false,
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
        let Some(id) = LeadId::parse(raw_id) else {
            return problem_response(
                &Problem::new(StatusCode::NOT_FOUND, "not_found", "no such lead"),
                false,
            );
        };
        let body: TouchBody = match serde_json::from_slice(request.body().as_ref()) {
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
        let channel = body.channel.to_ascii_lowercase();
        if !CHANNELS.contains(&channel.as_str()) {
            let problem = Problem {
                field: Some("channel"),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    format!("channel must be one of {}", CHANNELS.join(", ")),
                )
            };
            return problem_response(&problem, false);
        }
        let header_key = request
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
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
        let now = self.service.clock().now();
        match self
            .service
            .store()
            .touch(&id, &touch_id, by.as_str(), &channel, now)
            .await
        {
            Ok(TouchOutcome::Recorded { touches, segment }) => {
                self.publish_touch(&id, &channel, touches).await;
                if touches == 1 {
                    self.first_touch_metric(&id, segment.as_deref(), now);
                    tracing::info!(lead_id = %id, seconds_to_first_touch = seconds_since(&id, now), channel = %channel, "lead touched");
                } else {
                    tracing::info!(lead_id = %id, touches, channel = %channel, "lead touched");
                }
                json_response(
                    StatusCode::OK,
                    &json!({"lead_id": id, "status": "recorded", "touches": touches}),
                )
            }
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

    fn first_touch_metric(&self, id: &LeadId, segment: Option<&str>, now: time::OffsetDateTime) {
        self.service.metrics().emit(
            now,
            metrics::first_touch(id, segment.unwrap_or("unknown"), elapsed_ms(id, now)),
        );
    }

    async fn publish_touch(&self, id: &LeadId, channel: &str, touches: u32) {
        let event = LeadTouched {
            lead_id: id.clone(),
            channel: channel.to_owned(),
            touches,
            at: format_utc_millis(self.service.clock().now()),
        };
        if let Err(err) = self
            .service
            .publisher()
            .publish(&OutboundEvent::from(&event))
            .await
        {
            tracing::warn!(lead_id = %id, error = %err, "LeadTouched not published");
        }
    }
}

/// Seconds from the lead's arrival (its id's time) to `now`: the dashboard's time to first touch.
fn seconds_since(id: &LeadId, now: time::OffsetDateTime) -> i64 {
    elapsed_ms(id, now) / 1000
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
