//! The one thing deliveries need from the network: POST a body, read the
//! answer. The AWS side implements it with reqwest; tests with a stand-in.

use std::future::Future;
use std::time::Duration;

/// A POST to make.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpPost {
    pub url: String,
    pub content_type: &'static str,
    /// Extra headers (signatures, a bearer token).
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

// Headers carry tokens and signatures: never printed.
impl std::fmt::Debug for HttpPost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPost")
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// `Retry-After`, in seconds, when the endpoint gave one.
    pub retry_after: Option<Duration>,
    /// The body, cut to a few kilobytes (enough for Slack's JSON).
    pub body: String,
}

/// The endpoint could not be reached or did not answer in time: worth
/// another try later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("no answer within the timeout")]
    Timeout,
    #[error("unreachable: {0}")]
    Unreachable(String),
}

pub trait HttpPoster: Send + Sync {
    fn post(
        &self,
        request: &HttpPost,
    ) -> impl Future<Output = Result<HttpAnswer, HttpError>> + Send;
}

/// `Retry-After` as seconds (the form Slack and most APIs send); an
/// HTTP-date or garbage is ignored, and the backoff applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|seconds| Duration::from_secs(seconds.min(24 * 60 * 60)))
}
