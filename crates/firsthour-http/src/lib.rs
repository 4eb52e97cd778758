//! firsthour's HTTP edge, shared by every function behind API Gateway's HTTP
//! API or a function URL: the payload-2.0 event as a [`Request`] and the
//! answer back ([`event`]), the one [`Problem`] type every refusal is, with
//! the conversions from the domain's errors ([`problem`]), the answers
//! ([`response`]), the paths answered ([`route`]), [`cors`], what a
//! request says about its sender
//! ([`sender`]), and a webhook delivery checked before the intake use case
//! sees it ([`delivery`]). No AWS SDK: a function's handlers stay plain
//! `async fn(..) -> Result<Response<Body>, Problem>`.

pub mod cors;
pub mod delivery;
pub mod event;
pub mod problem;
pub mod response;
pub mod route;
pub mod sender;

use std::future::Future;

pub use aws_lambda_events::apigw::ApiGatewayV2httpResponse as EventResponse;
pub use cors::Cors;
pub use delivery::CheckedDelivery;
pub use event::{EventError, HttpApiEvent, Request, into_event_response};
pub use problem::{Details, Problem};
pub use response::{
    Body, empty_response, html_response, json_response, keep_private, redirect_response,
};
pub use sender::{is_browser_form_post, prefers_html};

/// Answers one payload-2.0 event with `handle`; an event that is not a
/// request (a body marked base64 that is not) is a 400.
pub async fn answer<F, Fut>(event: HttpApiEvent, handle: F) -> EventResponse
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = http::Response<Body>>,
{
    let response = match Request::try_from(event) {
        Ok(request) => handle(request).await,
        Err(err) => Problem::from(err).into_response(false),
    };
    into_event_response(response)
}
