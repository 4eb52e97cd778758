//! The intake function: form webhooks in, leads stored, `LeadReceived` out.
//!
//! Works behind an API Gateway HTTP API (payload v2) and a Lambda function
//! URL alike: routing looks at the raw path, not at route keys.

use std::time::Instant;

use aws_config::SdkConfig;
use firsthour::claim::LinkKey;
use firsthour::config::{ConfigError, EnvReader, IntakeSettings};
use firsthour::html;
use firsthour::intake::IntakeError;
use firsthour::lead::{RequestMeta, Source};
use firsthour::metrics::Metrics;
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, LeadStore, RoutingStore, StoreError, SystemClock,
};
use firsthour::service::intake::{
    AcceptError, AcceptStatus, Accepted, Delivery, IntakePolicy, IntakeService,
};
use firsthour::service::touch::TouchService;
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher};
use http::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;

/// Longest delivery id header accepted.
const MAX_DELIVERY_ID_LEN: usize = 256;

/// Everything built once at cold start.
pub struct IntakeApp<S, P, C> {
    service: IntakeService<S, P, C>,
    /// Claims (the claim link's button) and reported touches.
    touches: TouchService<S, P, C>,
    cors_origins: Vec<String>,
    redirect_origins: Vec<String>,
    thank_you_url: Option<String>,
    link_key: Option<LinkKey>,
    touch_token: Option<String>,
    verifiers: std::collections::HashMap<String, firsthour::signature::Verifier>,
}

/// The production wiring: DynamoDB, EventBridge, the system clock.
pub type AwsIntakeApp = IntakeApp<DynamoLeadStore, EventBridgePublisher, SystemClock>;

impl AwsIntakeApp {
    /// Reads the configuration and builds the AWS clients (cold start).
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let settings = IntakeSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        let publisher = EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &settings.event_bus_name,
        );
        Ok(Self::new(store, publisher, SystemClock, &settings))
    }
}

/// What the request path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// `…/leads` or `…/leads/{source}`; `prefix` is whatever came before (a stage).
    Leads {
        source: Option<&'a str>,
        prefix: String,
    },
    /// `GET …/leads/{id}/claim`: a one-click claim link.
    Claim(&'a str),
    /// `POST …/leads/{id}/touch`: the touch API.
    Touch(&'a str),
    ThankYou,
    NotFound,
}

fn route(path: &str) -> Route<'_> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.iter().rposition(|s| *s == "leads") {
        Some(i) if i + 3 == segments.len() && segments[i + 2] == "claim" => {
            Route::Claim(segments[i + 1])
        }
        Some(i) if i + 3 == segments.len() && segments[i + 2] == "touch" => {
            Route::Touch(segments[i + 1])
        }
        Some(i) if i + 1 == segments.len() || i + 2 == segments.len() => Route::Leads {
            source: segments.get(i + 1).copied(),
            prefix: segments[..i].iter().map(|s| format!("/{s}")).collect(),
        },
        _ if segments.last() == Some(&"thank-you") => Route::ThankYou,
        _ => Route::NotFound,
    }
}

/// An error answer: status, a machine-readable code, a human reason.
struct Problem {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    lead_id: Option<String>,
    /// Seconds for `Retry-After`.
    retry_after: Option<u64>,
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            lead_id: None,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5),
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

impl<S: LeadStore + EscalationStore + RoutingStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    pub fn new(store: S, publisher: P, clock: C, settings: &IntakeSettings) -> Self
    where
        S: Clone,
        P: Clone,
        C: Clone,
    {
        let metrics = Metrics::stdout(&settings.metrics_namespace);
        Self {
            touches: TouchService::new(store.clone(), publisher.clone(), clock.clone())
                .with_metrics(metrics.clone()),
            service: IntakeService::new(store, publisher, clock, IntakePolicy::from(settings))
                .with_metrics(metrics),
            cors_origins: settings.cors_origins.clone(),
            redirect_origins: settings.redirect_origins.clone(),
            thank_you_url: settings.thank_you_url.clone(),
            link_key: settings.links.link_key.clone(),
            touch_token: settings.touch_token.clone(),
            verifiers: settings.verifiers.clone(),
        }
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.touches = self.touches.with_metrics(metrics.clone());
        self.service = self.service.with_metrics(metrics);
        self
    }

    /// Handles one payload-2.0 event (what the Lambda service delivers).
    /// Never fails: every outcome is a response.
    pub async fn handle_event(&self, event: HttpApiEvent) -> ApiGatewayV2httpResponse {
        let response = match Request::try_from(event) {
            Ok(request) => self.handle(request).await,
            Err(err) => problem_response(
                &Problem::new(StatusCode::BAD_REQUEST, "malformed", err.to_string()),
                false,
            ),
        };
        into_event_response(response)
    }

    /// Handles one HTTP request. Never fails: every outcome is a response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let path = request.raw_path.clone();
        let Some(method) = request.method.clone() else {
            return problem_response(
                &Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "the request method is not a valid HTTP method",
                ),
                false,
            );
        };
        let mut response = match (route(&path), &method) {
            (Route::Leads { .. }, &Method::OPTIONS) => self.preflight(&request.headers),
            (Route::Leads { source, prefix }, &Method::POST) => {
                self.post_lead(&request, source, &prefix, started).await
            }
            (Route::Leads { .. }, _) => {
                let mut response = problem_response(
                    &Problem::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        "use POST",
                    ),
                    false,
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
                response
            }
            (Route::ThankYou, &Method::GET | &Method::HEAD) => thank_you_page(),
            (Route::Claim(id), &Method::GET | &Method::HEAD | &Method::POST) => {
                self.claim(id, &request, &method).await
            }
            (Route::Touch(id), &Method::POST) => self.touch(id, &request).await,
            (Route::Claim(_) | Route::Touch(_), _) => problem_response(
                &Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "open a claim link with GET and claim with POST; touch with POST",
                ),
                false,
            ),
            _ => problem_response(
                &Problem::new(StatusCode::NOT_FOUND, "not_found", "POST leads to /leads"),
                false,
            ),
        };
        self.add_cors(&request.headers, response.headers_mut());
        response
    }

    async fn post_lead(
        &self,
        request: &Request,
        source: Option<&str>,
        prefix: &str,
        started: Instant,
    ) -> Response<Body> {
        let headers = &request.headers;
        let wants_html = prefers_html(headers);
        let source = match source.map(Source::parse).transpose() {
            Ok(source) => source.unwrap_or_else(Source::default_web),
            Err(err) => {
                return problem_response(
                    &Problem::new(StatusCode::BAD_REQUEST, "invalid_source", err.to_string()),
                    wants_html,
                );
            }
        };
        let mut meta = match request_meta(request) {
            Ok(meta) => meta,
            Err(problem) => return problem_response(&problem, wants_html),
        };
        // Authenticate over the exact bytes received, before any parsing.
        if let Some(verifier) = self.verifiers.get(source.as_str()) {
            match self.authenticate(verifier, request) {
                Ok(verified) => {
                    if verified.delivery_id.is_some() {
                        meta.delivery_id = verified.delivery_id;
                    }
                }
                Err(err) => {
                    tracing::warn!(source = %source, scheme = verifier.scheme().as_str(), reason = %err, "unauthenticated delivery refused");
                    let mut response = problem_response(
                        &Problem::new(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            format!("{err} ({} signature required)", verifier.scheme().as_str()),
                        ),
                        false,
                    );
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Signature"),
                    );
                    return response;
                }
            }
        }
        let content_type = match headers
            .get(header::CONTENT_TYPE)
            .map(HeaderValue::to_str)
            .transpose()
        {
            Ok(ct) => ct,
            Err(_) => {
                let problem = Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "unreadable Content-Type",
                );
                return problem_response(&problem, wants_html);
            }
        };
        let delivery = Delivery {
            body: &request.body,
            content_type,
            source: &source,
            meta: &meta,
            authenticated: self.verifiers.contains_key(source.as_str()),
            browser_form: is_browser_form_post(headers, content_type),
        };
        let result = self.service.accept(delivery).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(accepted) if accepted.spam.is_some() => {
                // Counted (metric filter on spam_caught); answered like a real lead.
                tracing::warn!(
                    source = %source,
                    spam_caught = accepted.spam.map(|r| r.as_str()).unwrap_or_default(),
                    elapsed_ms,
                    "submission taken for spam; not stored"
                );
                self.accepted_response(accepted, wants_html, prefix)
            }
            Ok(accepted) => {
                tracing::info!(
                    lead_id = %accepted.lead_id,
                    source = %source,
                    status = accepted.status.as_str(),
                    published = accepted.published,
                    warnings = accepted.warnings.len(),
                    elapsed_ms,
                    "lead intake"
                );
                self.accepted_response(accepted, wants_html, prefix)
            }
            Err(err) => {
                let problem = Problem::from(err.clone());
                if problem.status.is_server_error() {
                    tracing::error!(source = %source, status = problem.status.as_u16(), error = %err, elapsed_ms, "lead intake failed");
                } else {
                    tracing::warn!(source = %source, status = problem.status.as_u16(), code = problem.code, reason = %problem.message, elapsed_ms, "lead refused");
                }
                problem_response(&problem, wants_html)
            }
        }
    }

    fn accepted_response(
        &self,
        mut accepted: Accepted,
        wants_html: bool,
        prefix: &str,
    ) -> Response<Body> {
        let redirect = match accepted.redirect_url.take() {
            Some(url) if self.redirect_allowed(&url) => Some(url),
            Some(_) => {
                accepted.warnings.push(
                    "redirect_url ignored: its origin is not in FIRSTHOUR_REDIRECT_ORIGINS".into(),
                );
                None
            }
            None => None,
        };
        let location = redirect.or_else(|| {
            wants_html.then(|| {
                self.thank_you_url
                    .clone()
                    .unwrap_or_else(|| format!("{prefix}/thank-you"))
            })
        });
        if let Some(location) = location {
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

    fn authenticate(
        &self,
        verifier: &firsthour::signature::Verifier,
        request: &Request,
    ) -> Result<firsthour::signature::Verified, firsthour::signature::SignatureError> {
        let lookup = |name: &str| request.header(name);
        // The URL as the sender called it (HubSpot signs it): scheme, host,
        // raw path and query. Only compared as text, never parsed.
        let host = lookup("host").unwrap_or_default();
        let query = if request.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", request.raw_query)
        };
        let url = format!("https://{host}{}{query}", request.raw_path);
        verifier.verify(&firsthour::signature::SignedRequest {
            method: request.method.as_ref().map_or("", Method::as_str),
            url: &url,
            body: &request.body,
            header: &lookup,
            now: self.service.clock().now(),
        })
    }

    fn redirect_allowed(&self, url: &str) -> bool {
        firsthour::config::parse_origin(url)
            .is_ok_and(|origin| self.redirect_origins.contains(&origin))
    }

    fn allowed_origin<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|allowed| allowed == text)
            .then_some(origin)
    }

    fn preflight(&self, headers: &HeaderMap) -> Response<Body> {
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

    fn add_cors(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request_headers) {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}

/// Client IP and user agent from the request context; the delivery id from
/// `webhook-id` (Standard Webhooks) or `Idempotency-Key`.
fn request_meta(request: &Request) -> Result<RequestMeta, Problem> {
    let headers = &request.headers;
    let client_ip = request.source_ip.clone().filter(|ip| !ip.is_empty());
    let context_agent = request.user_agent.clone().filter(|ua| !ua.is_empty());
    let user_agent = context_agent.or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let mut delivery_id = None;
    for name in ["webhook-id", "idempotency-key"] {
        if let Some(value) = headers.get(name) {
            let text = value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|t| {
                    !t.is_empty()
                        && t.len() <= MAX_DELIVERY_ID_LEN
                        && t.chars().all(|c| c.is_ascii_graphic())
                })
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_header",
                        format!(
                            "{name} must be 1 to {MAX_DELIVERY_ID_LEN} visible ASCII characters"
                        ),
                    )
                })?;
            delivery_id = Some(text.to_owned());
            break;
        }
    }
    Ok(RequestMeta {
        client_ip,
        user_agent,
        delivery_id,
    })
}

/// A browser submitting a form by navigating (not a script, a server or a
/// webhook): a form content type, and the browser says it navigates
/// (`Sec-Fetch-Mode`) or, for browsers without it, asks for HTML first.
fn is_browser_form_post(headers: &HeaderMap, content_type: Option<&str>) -> bool {
    let form = content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ]
        .iter()
        .any(|form| essence.eq_ignore_ascii_case(form))
    });
    let navigating = match headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok()) {
        Some(mode) => mode.eq_ignore_ascii_case("navigate"),
        None => prefers_html(headers),
    };
    form && navigating
}

/// A browser navigating (a plain form post) asks for HTML first.
fn prefers_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .next()
                .is_some_and(|first| first.trim().starts_with("text/html"))
        })
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

fn redirect_response(location: &str) -> Response<Body> {
    let mut response = empty_response(StatusCode::SEE_OTHER);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn problem_response(problem: &Problem, wants_html: bool) -> Response<Body> {
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
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn thank_you_page() -> Response<Body> {
    html_response(
        StatusCode::OK,
        html::page(
            "Thank you",
            "Thank you, we got your message",
            "<p>Someone from our team will get back to you shortly.</p>",
        ),
    )
}

pub mod http_api;
mod touch;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
pub use aws_lambda_events::encodings::Body;
use http_api::into_event_response;
pub use http_api::{HttpApiEvent, Request};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_raw_path() {
        assert_eq!(
            route("/leads"),
            Route::Leads {
                source: None,
                prefix: String::new()
            }
        );
        assert_eq!(
            route("/leads/"),
            Route::Leads {
                source: None,
                prefix: String::new()
            }
        );
        assert_eq!(
            route("/prod/leads/hubspot"),
            Route::Leads {
                source: Some("hubspot"),
                prefix: "/prod".into()
            }
        );
        assert_eq!(route("/thank-you"), Route::ThankYou);
        assert_eq!(route("/leads/a/b"), Route::NotFound);
        assert_eq!(route("/"), Route::NotFound);
    }

    #[test]
    fn html_preference_follows_the_first_accept_entry() {
        let mut headers = HeaderMap::new();
        assert!(!prefers_html(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(prefers_html(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!prefers_html(&headers));
    }
}
