//! The intake function: form webhooks in, leads stored, `LeadReceived` out.
//!
//! Works behind an API Gateway HTTP API (payload v2) and a Lambda function
//! URL alike: routing looks at the raw path, not at route keys.

use std::time::Instant;

use aws_config::SdkConfig;
use firsthour::claim::LinkKey;
use firsthour::config::{ConfigError, EnvReader, IntakeSettings};
use firsthour::metrics::Metrics;
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, LeadStore, RoutingStore, SystemClock,
};
use firsthour::service::intake::{IntakePolicy, IntakeService};
use firsthour::service::touch::TouchService;
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher};
use http::Response;
use http::{HeaderValue, Method, StatusCode, header};

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
}

mod cors;
pub mod http_api;
mod leads;
mod problem;
mod touch;

use problem::{Problem, html_response, json_response, problem_response, thank_you_page};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
pub use aws_lambda_events::encodings::Body;
use http_api::into_event_response;
pub use http_api::{HttpApiEvent, Request};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::prefers_html;
    use http::HeaderMap;

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
