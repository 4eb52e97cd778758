//! The one `Problem` type for every refusal (a status, a machine-readable
//! code, a reason, the field), answered as JSON or a page, and the
//! conversions from the domain's errors to it.

use firsthour::claim::ClaimLinkError;
use firsthour::html;
use firsthour::intake::IntakeError;
use firsthour::ports::StoreError;
use firsthour::service::away::AwayError;
use firsthour::service::intake::AcceptError;
use firsthour::service::touch::{ClaimError, TouchError};
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::event::EventError;
use crate::response::{Body, html_response, json_response};

/// An error answer: status, a machine-readable code, a human reason. Every
/// handler's `Err`, so boxed: the happy path carries one pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(Box<Details>);

/// What a [`Problem`] says; read through the problem (`problem.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The field of the submission at fault.
    pub field: Option<&'static str>,
    /// The lead a conflicting delivery id already made.
    pub lead_id: Option<String>,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` scheme of a 401.
    pub challenge: Option<&'static str>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
    /// A page a person sees instead (a claim link's): always HTML.
    pub page: Option<String>,
}

impl std::ops::Deref for Problem {
    type Target = Details;

    fn deref(&self) -> &Details {
        &self.0
    }
}

impl Problem {
    /// A problem answered 503 asks to be retried after 5 s.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Details {
            status,
            code,
            message: message.into(),
            field: None,
            lead_id: None,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5),
            challenge: None,
            allow: None,
            page: None,
        }))
    }

    /// The same problem, with more said (a field, a header).
    pub fn with(mut self, add: impl FnOnce(&mut Details)) -> Self {
        add(&mut self.0);
        self
    }

    /// A 404: nothing here, or not enabled.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A 405; `allow` lists the methods that are, for the `Allow` header.
    pub fn method_not_allowed(message: impl Into<String>, allow: Option<&'static str>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
        .with(|p| p.allow = allow)
    }

    /// A 401 naming the scheme the caller must use.
    pub fn unauthorized(
        scheme: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message).with(|p| p.challenge = Some(scheme))
    }

    /// A 422 naming the field at fault.
    pub fn unprocessable(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
            .with(|p| p.field = Some(field))
    }

    /// A page shown to a person, with its status (no `Retry-After`: a
    /// person reads the page instead).
    pub fn page(status: StatusCode, code: &'static str, page: String) -> Self {
        Self::new(status, code, "").with(|p| {
            p.retry_after = None;
            p.page = Some(page);
        })
    }

    /// The answer. A page is HTML; otherwise a browser's form post
    /// (`wants_html`) gets a page saying what to correct, and everyone else
    /// JSON. A sender refused for its credentials is a program: JSON.
    pub fn into_response(self, wants_html: bool) -> Response<Body> {
        let problem = *self.0;
        let mut response = match problem.page {
            Some(page) => html_response(problem.status, page),
            None if wants_html && problem.challenge.is_none() => {
                html_response(problem.status, html::not_sent(&problem.message))
            }
            None => {
                let mut body = json!({"error": problem.code, "message": problem.message});
                if let Some(field) = problem.field {
                    body["field"] = json!(field);
                }
                if let Some(lead_id) = &problem.lead_id {
                    body["lead_id"] = json!(lead_id);
                }
                json_response(problem.status, &body)
            }
        };
        let headers = response.headers_mut();
        if let Some(scheme) = problem.challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        if let Some(seconds) = problem.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(methods) = problem.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        response
    }
}

impl From<EventError> for Problem {
    fn from(err: EventError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", err.to_string())
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
                IntakeError::Unprocessable { field, problem } => {
                    Self::unprocessable(field, problem)
                }
            },
            AcceptError::DeliveryConflict { original } => Self::new(
                StatusCode::CONFLICT,
                "delivery_conflict",
                "this delivery id was already used for a different body",
            )
            .with(|p| p.lead_id = Some(original.to_string())),
            AcceptError::RateLimited {
                retry_after_seconds,
            } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many submissions from this address this minute; nothing was stored: retry after {retry_after_seconds} s (a signed or token-authenticated source is not limited)"
                ),
            )
            .with(|p| p.retry_after = Some(retry_after_seconds)),
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

impl From<TouchError> for Problem {
    fn from(err: TouchError) -> Self {
        match err {
            TouchError::NotEnabled | TouchError::NoSuchLead => Self::not_found(err.to_string()),
            TouchError::Unauthorized => Self::unauthorized(
                "Bearer",
                "unauthorized",
                "send Authorization: Bearer <touch API token>",
            ),
            TouchError::Malformed(_) => {
                Self::new(StatusCode::BAD_REQUEST, "malformed", err.to_string())
            }
            TouchError::Unprocessable { field, problem } => Self::unprocessable(field, problem),
            TouchError::Store(StoreError::Unavailable(_)) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the touch could not be recorded right now; retry with the same touch_id",
            ),
            TouchError::Store(StoreError::Rejected(_)) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the touch could not be recorded",
            ),
        }
    }
}

/// A claim link's refusals are pages: a person opened the link.
impl From<ClaimError> for Problem {
    fn from(err: ClaimError) -> Self {
        let (status, code) = match &err {
            ClaimError::NotEnabled | ClaimError::NotALead | ClaimError::NoSuchLead => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ClaimError::Incomplete | ClaimError::Link(ClaimLinkError::Malformed) => {
                (StatusCode::BAD_REQUEST, "malformed")
            }
            ClaimError::Link(ClaimLinkError::Expired) => (StatusCode::GONE, "expired"),
            ClaimError::Taken { .. } => (StatusCode::CONFLICT, "claimed"),
            ClaimError::Reassigned { .. } => (StatusCode::CONFLICT, "reassigned"),
            ClaimError::Link(ClaimLinkError::BadSignature) => {
                (StatusCode::FORBIDDEN, "bad_signature")
            }
            ClaimError::Unread(_) | ClaimError::Unrecorded(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
            }
        };
        Self::page(status, code, html::claim::refused(&err))
    }
}

/// An away link's refusals are pages too.
impl From<AwayError> for Problem {
    fn from(err: AwayError) -> Self {
        let (status, code) = match &err {
            AwayError::NotEnabled | AwayError::NotARep(_) => (StatusCode::NOT_FOUND, "not_found"),
            AwayError::Incomplete | AwayError::Link(ClaimLinkError::Malformed) => {
                (StatusCode::BAD_REQUEST, "malformed")
            }
            AwayError::Link(ClaimLinkError::Expired) => (StatusCode::GONE, "expired"),
            AwayError::Link(ClaimLinkError::BadSignature) => {
                (StatusCode::FORBIDDEN, "bad_signature")
            }
            AwayError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        };
        Self::page(status, code, html::away::refused(&err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(response: &Response<Body>, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn a_program_gets_json_and_a_person_a_page() {
        let problem = Problem::unprocessable("email", "no way to reach you");
        let json = problem.clone().into_response(false);
        assert_eq!(json.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            header(&json, header::CONTENT_TYPE),
            Some("application/json")
        );
        let page = problem.into_response(true);
        assert_eq!(
            header(&page, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
    }

    #[test]
    fn a_credentials_refusal_is_json_with_its_challenge() {
        let response =
            Problem::unauthorized("Bearer", "unauthorized", "send a token").into_response(true);
        assert_eq!(
            header(&response, header::CONTENT_TYPE),
            Some("application/json")
        );
        assert_eq!(header(&response, header::WWW_AUTHENTICATE), Some("Bearer"));
    }

    #[test]
    fn only_a_503_that_is_not_a_page_asks_for_a_retry() {
        let store = Problem::from(TouchError::Store(StoreError::Unavailable("x".into())));
        assert_eq!(store.retry_after, Some(5));
        let page = Problem::from(ClaimError::Unread(StoreError::Unavailable("x".into())));
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(page.retry_after, None);
    }
}
