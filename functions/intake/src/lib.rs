//! The intake function: form webhooks in, leads stored, `LeadReceived` out;
//! and the claim link's page and the touch API, which stop a lead's clock.
//!
//! Works behind an API Gateway HTTP API (payload v2) and a Lambda function
//! URL alike: routing looks at the raw path, not at route keys. The HTTP
//! edge every function shares (the event, `Problem`, CORS) is
//! `firsthour_http`; the use cases and pages are the domain's.

use std::collections::HashMap;
use std::time::Instant;

use aws_config::SdkConfig;
use firsthour::config::{ConfigError, EnvReader, IntakeSettings};
use firsthour::html;
use firsthour::metrics::Metrics;
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, LeadStore, RepStore, RoutingStore, SystemClock,
};
use firsthour::service::away::AwayService;
use firsthour::service::intake::{IntakePolicy, IntakeService};
use firsthour::service::registry;
use firsthour::service::slack::SlackInteractions;
use firsthour::service::touch::TouchService;
use firsthour::signature::Verifier;
use firsthour_aws::http_out::ReqwestPoster;
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher, FromEnv};
use firsthour_http::route::{Route, route};
pub use firsthour_http::{Body, HttpApiEvent, Request};
use firsthour_http::{Cors, EventResponse, Problem, html_response, keep_private, prefers_html};
use http::{Method, Response, StatusCode};

mod leads;
mod slack;
mod touch;

/// The methods `/leads` takes, and the headers a page that `fetch()`es it
/// may send (its preflight says so).
const LEADS_METHODS: &str = "POST, OPTIONS";
const LEADS_HEADERS: &str =
    "content-type, idempotency-key, webhook-id, webhook-timestamp, webhook-signature";

/// Everything built once at cold start.
pub struct IntakeApp<S, P, C> {
    service: IntakeService<S, P, C>,
    /// Claims (the claim link's button) and reported touches.
    touches: TouchService<S, P, C>,
    /// Reps' "I'm away" links.
    away: AwayService<S, C>,
    cors: Cors,
    thank_you_url: Option<String>,
    verifiers: HashMap<String, Verifier>,
    /// Slack's Claim button, or why it is not available.
    slack: Result<SlackInteractions<ReqwestPoster>, SlackOff>,
}

/// The production wiring: DynamoDB, EventBridge, the system clock.
pub type AwsIntakeApp = IntakeApp<DynamoLeadStore, EventBridgePublisher, SystemClock>;

impl FromEnv for AwsIntakeApp {
    /// Reads the configuration and builds the AWS clients (cold start).
    async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let mut settings = IntakeSettings::from_env(env)?;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table_name);
        if settings.registry_refresh {
            let configured = settings.file.registry.take();
            settings.file.registry = registry::at_cold_start(store.clone(), configured).await;
        }
        let publisher = EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &settings.event_bus_name,
        );
        Ok(Self::new(store, publisher, SystemClock, &settings))
    }
}

impl<S: LeadStore + EscalationStore + RoutingStore + RepStore, P: EventPublisher, C: Clock>
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
            away: AwayService::new(
                store.clone(),
                clock.clone(),
                settings.links.link_key.clone(),
                settings.file.routing.clone(),
            ),
            touches: TouchService::new(store.clone(), publisher.clone(), clock.clone())
                .with_link_key(settings.links.link_key.clone())
                .with_touch_token(settings.touch_token.clone())
                .with_touch_window(settings.touch_window)
                .with_metrics(metrics.clone()),
            service: IntakeService::new(store, publisher, clock, IntakePolicy::from(settings))
                .with_metrics(metrics),
            cors: Cors::new(settings.cors_origins.clone(), LEADS_METHODS, LEADS_HEADERS),
            thank_you_url: settings.thank_you_url.clone(),
            verifiers: settings.verifiers.clone(),
            slack: slack_interactions(settings),
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
    pub async fn handle_event(&self, event: HttpApiEvent) -> EventResponse {
        firsthour_http::answer(event, |request| self.handle(request)).await
    }

    /// Handles one HTTP request. Never fails: every outcome is a response,
    /// and every refusal becomes one here.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let Some(method) = request.method.clone() else {
            let why = "the request method is not a valid HTTP method";
            return Problem::method_not_allowed(why, None).into_response(false);
        };
        let route = route(&request.raw_path);
        let reads = matches!(method, Method::GET | Method::HEAD);
        // A refused form post is a page for a browser; every other refusal
        // is JSON (the claim link's are pages of their own).
        let wants_html = matches!(route, Route::Leads { .. })
            && method == Method::POST
            && prefers_html(&request.headers);
        let claim_page =
            matches!(route, Route::Claim(_) | Route::Away) && (reads || method == Method::POST);
        let mut response = match (route, &method) {
            (Route::Leads { .. }, &Method::OPTIONS) => Ok(self.cors.preflight(&request.headers)),
            (Route::Leads { source, prefix }, &Method::POST) => {
                self.post_lead(&request, source, &prefix, started).await
            }
            (Route::Leads { .. }, _) => {
                Err(Problem::method_not_allowed("use POST", Some(LEADS_METHODS)))
            }
            (Route::ThankYou, _) if reads => Ok(html_response(StatusCode::OK, html::thank_you())),
            (Route::Claim(id), _) if claim_page => self.claim(id, &request, &method).await,
            (Route::Away, _) if claim_page => self.away(&request, &method).await,
            (Route::Touch(id), &Method::POST) => self.touch(id, &request).await,
            (Route::Touches, &Method::POST) => self.touch_by_contact(&request).await,
            (Route::SlackInteractions, &Method::POST) => self.slack_interaction(&request).await,
            (Route::SlackInteractions, _) => Err(Problem::method_not_allowed(
                "Slack posts interactions",
                Some("POST"),
            )),
            (Route::Touches, _) => Err(Problem::method_not_allowed(
                "report a touch by the person's address with POST",
                Some("POST"),
            )),
            (Route::Claim(_) | Route::Touch(_) | Route::Away, _) => {
                Err(Problem::method_not_allowed(
                    "open a claim or away link with GET and act with POST; touch with POST",
                    None,
                ))
            }
            _ => Err(Problem::not_found("POST leads to /leads")),
        }
        .unwrap_or_else(|problem| problem.into_response(wants_html));
        if claim_page {
            keep_private(response.headers_mut());
            if method == Method::HEAD {
                *response.body_mut() = Body::Empty;
            }
        }
        self.cors.apply(&request.headers, response.headers_mut());
        response
    }
}

/// Why Slack's Claim button is off.
#[derive(Debug, Clone)]
pub(crate) enum SlackOff {
    /// No channel is a Slack app: there is nothing to click (404).
    NotSetUp(String),
    /// A Slack app is configured but its credentials are unusable (503,
    /// naming what to fix).
    Broken(String),
}

/// Slack's Claim button when a Slack app channel is configured with its
/// credentials; otherwise why not. A problem here never stops the intake:
/// leads come first.
fn slack_interactions(
    settings: &IntakeSettings,
) -> Result<SlackInteractions<ReqwestPoster>, SlackOff> {
    let outbound = settings.slack.clone().map_err(|err| {
        tracing::error!(error = %err, "Slack interactivity is off");
        SlackOff::Broken(err.to_string())
    })?;
    let not_set_up = || {
        SlackOff::NotSetUp(
            "Slack interactivity is not set up: no [channels] entry is a Slack app with a signing secret"
                .to_owned(),
        )
    };
    // Without a Slack app there is nothing to click: no HTTP client (and its
    // TLS roots) built at cold start only to be thrown away.
    if outbound.secrets.signing_secrets().next().is_none() {
        return Err(not_set_up());
    }
    let http = ReqwestPoster::new().map_err(SlackOff::Broken)?;
    SlackInteractions::new(outbound, http).ok_or_else(not_set_up)
}
