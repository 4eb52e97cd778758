//! `POST /leads`: authenticate the sender over the exact bytes, hand the
//! delivery to the intake use case, and answer as the sender expects (JSON,
//! a redirect for a browser form, 429 past the per-address limit).

use std::time::Instant;

use aws_lambda_events::encodings::Body;
use firsthour::lead::{RequestMeta, Source};
use firsthour::ports::{Clock, EscalationStore, EventPublisher, LeadStore, RoutingStore};
use firsthour::service::intake::{AcceptStatus, Accepted, Delivery};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;

use super::problem::{Problem, json_response, problem_response, redirect_response};
use super::{IntakeApp, Request};

/// Longest delivery id header accepted.
const MAX_DELIVERY_ID_LEN: usize = 256;

impl<S: LeadStore + EscalationStore + RoutingStore, P: EventPublisher, C: Clock>
    IntakeApp<S, P, C>
{
    pub(crate) async fn post_lead(
        &self,
        request: &Request,
        source: Option<&str>,
        prefix: &str,
        started: Instant,
    ) -> Response<Body> {
        let headers = &request.headers;
        let wants_html = prefers_html(headers);
        let (source, meta, content_type) = match self.checked_delivery(request, source) {
            Ok(checked) => checked,
            // A sender refused for its signature is a program: JSON.
            Err(problem) => {
                return problem_response(&problem, wants_html && problem.challenge.is_none());
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

    /// What the edge checks before the use case sees the delivery: the
    /// source's name, the request's headers, the sender's signature (over the
    /// exact bytes, before any parsing) and a readable Content-Type.
    fn checked_delivery<'r>(
        &self,
        request: &'r Request,
        source: Option<&str>,
    ) -> Result<(Source, RequestMeta, Option<&'r str>), Problem> {
        let source = source
            .map(Source::parse)
            .transpose()
            .map_err(|err| {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_source", err.to_string())
            })?
            .unwrap_or_else(Source::default_web);
        let mut meta = request_meta(request)?;
        if let Some(verifier) = self.verifiers.get(source.as_str()) {
            let verified = self.authenticate(verifier, request).map_err(|err| {
                tracing::warn!(source = %source, scheme = verifier.scheme().as_str(), reason = %err, "unauthenticated delivery refused");
                Problem {
                    challenge: Some("Signature"),
                    ..Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        format!("{err} ({} signature required)", verifier.scheme().as_str()),
                    )
                }
            })?;
            if verified.delivery_id.is_some() {
                meta.delivery_id = verified.delivery_id;
            }
        }
        let content_type = request
            .headers
            .get(header::CONTENT_TYPE)
            .map(HeaderValue::to_str)
            .transpose()
            .map_err(|_| {
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "unreadable Content-Type",
                )
            })?;
        Ok((source, meta, content_type))
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
pub(crate) fn prefers_html(headers: &HeaderMap) -> bool {
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
