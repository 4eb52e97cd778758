//! CORS for pages that `fetch()` the intake: only the configured origins.

use aws_lambda_events::encodings::Body;
use firsthour::ports::{Clock, EscalationStore, EventPublisher, LeadStore, RoutingStore};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::IntakeApp;
use super::problem::empty_response;

impl<S: LeadStore + EscalationStore + RoutingStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    fn allowed_origin<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|allowed| allowed == text)
            .then_some(origin)
    }

    pub(crate) fn preflight(&self, headers: &HeaderMap) -> Response<Body> {
        let mut response = empty_response(StatusCode::NO_CONTENT);
        if self.allowed_origin(headers).is_some() {
            let h = response.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, idempotency-key, webhook-id, webhook-timestamp, webhook-signature"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        response
    }

    pub(crate) fn add_cors(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request_headers) {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}
