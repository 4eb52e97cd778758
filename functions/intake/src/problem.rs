//! The intake's answers: one `Problem` type for every refusal (a status, a
//! machine-readable code, a reason, the field), as JSON or a small page.

use aws_lambda_events::encodings::Body;
use firsthour::html;
use firsthour::intake::IntakeError;
use firsthour::ports::StoreError;
use firsthour::service::intake::AcceptError;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

/// An error answer: status, a machine-readable code, a human reason.
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<&'static str>,
    pub(crate) lead_id: Option<String>,
    /// Seconds for `Retry-After`.
    pub(crate) retry_after: Option<u64>,
    /// The `WWW-Authenticate` scheme of a 401.
    pub(crate) challenge: Option<&'static str>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            lead_id: None,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5),
            challenge: None,
        }
    }
}

impl From<AcceptError> for Problem {
    fn from(err: AcceptError) -> Self {
        match err {
            AcceptError::Invalid(invalid) => match invalid {
                IntakeError::PayloadTooLarge { .. } => Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    invalid.to_string(),
                ),
                IntakeError::UnsupportedMediaType(_) => Self::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    invalid.to_string(),
                ),
                IntakeError::Malformed(_) => {
                    Self::new(StatusCode::BAD_REQUEST, "malformed", invalid.to_string())
                }
                IntakeError::Unprocessable { field, ref problem } => Self {
                    field: Some(field),
                    ..Self::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unprocessable",
                        problem.clone(),
                    )
                },
            },
            AcceptError::DeliveryConflict { original } => Self {
                lead_id: Some(original.to_string()),
                ..Self::new(
                    StatusCode::CONFLICT,
                    "delivery_conflict",
                    "this delivery id was already used for a different body",
                )
            },
            AcceptError::RateLimited {
                retry_after_seconds,
            } => Self {
                retry_after: Some(retry_after_seconds),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many submissions from this address this minute; nothing was stored: retry after {retry_after_seconds} s (a signed or token-authenticated source is not limited)"
                    ),
                )
            },
            AcceptError::Store(StoreError::Unavailable(_)) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the lead could not be stored right now; retry the same request",
            ),
            AcceptError::Store(StoreError::Rejected(_)) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the lead could not be stored; retrying will not help, contact the site owner",
            ),
        }
    }
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

pub(crate) fn redirect_response(location: &str) -> Response<Body> {
    let mut response = empty_response(StatusCode::SEE_OTHER);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(crate) fn problem_response(problem: &Problem, wants_html: bool) -> Response<Body> {
    let mut response = if wants_html {
        let body = format!(
            "<p>{}</p><p class=\"muted\">Please go back, correct the form and send it again.</p>",
            html::escape_text(&problem.message)
        );
        html_response(
            problem.status,
            html::page("Not sent", "Your message was not sent", &body),
        )
    } else {
        let mut body = json!({"error": problem.code, "message": problem.message});
        if let Some(field) = problem.field {
            body["field"] = json!(field);
        }
        if let Some(lead_id) = &problem.lead_id {
            body["lead_id"] = json!(lead_id);
        }
        json_response(problem.status, &body)
    };
    if let Some(scheme) = problem.challenge {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    }
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub(crate) fn thank_you_page() -> Response<Body> {
    html_response(
        StatusCode::OK,
        html::page(
            "Thank you",
            "Thank you, we got your message",
            "<p>Someone from our team will get back to you shortly.</p>",
        ),
    )
}
