//! The deliveries' HTTP client (Slack, Teams, webhook endpoints): bounded
//! in time, no redirects (a delivery goes where the rules file says and
//! nowhere else), the answer read up to a few kilobytes.

use std::time::Duration;

use firsthour::deliver::http::parse_retry_after;
use firsthour::deliver::{HttpAnswer, HttpError, HttpPost, HttpPoster};

/// Most of an answer's body kept: Slack's JSON answers are far smaller.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// An endpoint gets this long to answer; the function's timeout (15 s)
/// leaves room for the queue calls after it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct ReqwestPoster {
    client: reqwest::Client,
}

impl ReqwestPoster {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(ANSWER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("firsthour/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("no HTTP client: {err}"))?;
        Ok(Self { client })
    }
}

impl HttpPoster for ReqwestPoster {
    async fn post(&self, request: &HttpPost) -> Result<HttpAnswer, HttpError> {
        let mut builder = self
            .client
            .post(&request.url)
            .header(reqwest::header::CONTENT_TYPE, request.content_type)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let mut response = builder.send().await.map_err(|err| {
            if err.is_timeout() {
                HttpError::Timeout
            } else {
                // The URL may be a secret (a webhook URL): never in the message.
                HttpError::Unreachable(describe(&err))
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(err) if err.is_timeout() => return Err(HttpError::Timeout),
                // The status is in; a broken body still tells what happened.
                Err(_) => break,
            }
        }
        body.truncate(MAX_ANSWER_BYTES);
        Ok(HttpAnswer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// What went wrong, without the URL.
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_connect() {
        "cannot connect"
    } else if err.is_request() {
        "request failed"
    } else {
        "failed"
    };
    let mut source = std::error::Error::source(err);
    let mut cause = String::new();
    while let Some(err) = source {
        cause = err.to_string();
        source = err.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}
