//! Slack's Web API as firsthour speaks it (`chat.postMessage`,
//! `chat.update`, `users.info`), read in Slack's documented shapes:
//! `{"ok": true, …}` or `{"ok": false, "error": "…"}`, and HTTP 429 with
//! `Retry-After` when rate limited. And the Claim button's interaction
//! payload (`block_actions`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{HttpAnswer, HttpError, HttpPost};
use crate::channel::CLAIM_ACTION_ID;
use crate::lead::LeadId;

/// Slack's Web API, unless `FIRSTHOUR_SLACK_API_URL` says otherwise.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// Why a Slack call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// HTTP 429 (`ratelimited`): try again after `retry_after`.
    #[error("ratelimited (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// Slack's own trouble, or no answer: worth another try.
    #[error("slack unavailable: {0}")]
    Unavailable(String),
    /// Slack refused the request (`invalid_auth`, `channel_not_found`,
    /// `invalid_blocks`…): the same request will be refused again.
    #[error("slack refused it: {0}")]
    Refused(String),
}

impl From<HttpError> for SlackError {
    fn from(err: HttpError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// A Web API call with the bot token, the body as JSON.
pub fn call(api_url: &str, method: &str, token: &str, body: &Value) -> HttpPost {
    HttpPost {
        url: format!("{}/{method}", api_url.trim_end_matches('/')),
        content_type: "application/json; charset=utf-8",
        headers: vec![("authorization", format!("Bearer {token}"))],
        body: body.to_string(),
    }
}

/// `users.info` takes its arguments form-encoded (it is a read method).
pub fn users_info(api_url: &str, token: &str, user: &str) -> HttpPost {
    HttpPost {
        url: format!("{}/users.info", api_url.trim_end_matches('/')),
        content_type: "application/x-www-form-urlencoded",
        headers: vec![("authorization", format!("Bearer {token}"))],
        body: url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user", user)
            .finish(),
    }
}

/// Errors Slack documents as its own passing trouble.
const TRANSIENT: [&str; 5] = [
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

/// A Web API answer: its JSON when `ok`, else why not.
pub fn read(answer: &HttpAnswer) -> Result<Value, SlackError> {
    if answer.status == 429 {
        return Err(SlackError::RateLimited {
            retry_after: answer.retry_after,
        });
    }
    if answer.status >= 500 {
        return Err(SlackError::Unavailable(format!("HTTP {}", answer.status)));
    }
    let body: Value = serde_json::from_str(&answer.body).map_err(|_| {
        SlackError::Unavailable(format!("HTTP {}: not Slack's JSON", answer.status))
    })?;
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(body);
    }
    let error = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error")
        .chars()
        .take(100)
        .collect::<String>();
    if TRANSIENT.contains(&error.as_str()) {
        return Err(SlackError::Unavailable(error));
    }
    Err(SlackError::Refused(error))
}

/// Where `chat.postMessage` put the message: its conversation and `ts`.
pub fn posted(body: &Value) -> Option<(String, String)> {
    let channel = body.get("channel")?.as_str()?.to_owned();
    let ts = body.get("ts")?.as_str()?.to_owned();
    Some((channel, ts))
}

/// The profile email `users.info` answered (needs the `users:read.email` scope).
pub fn profile_email(body: &Value) -> Option<&str> {
    body.pointer("/user/profile/email")?.as_str()
}

/// A message to post: the rendered body with the conversation (and the
/// thread it replies in).
pub fn post_message(rendered: &Value, channel: &str, thread_ts: Option<&str>) -> Value {
    let mut body = rendered.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("channel".into(), json!(channel));
        // Links a lead typed must not unfurl into the channel.
        object.insert("unfurl_links".into(), json!(false));
        object.insert("unfurl_media".into(), json!(false));
        if let Some(ts) = thread_ts {
            object.insert("thread_ts".into(), json!(ts));
        }
    }
    body
}

/// `chat.update`'s body for the message at `ts`.
pub fn update_message(rendered: &Value, channel: &str, ts: &str) -> Value {
    let mut body = rendered.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("channel".into(), json!(channel));
        object.insert("ts".into(), json!(ts));
    }
    body
}

/// A Claim click, as read from Slack's interaction payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimClick {
    pub lead_id: LeadId,
    /// The Slack user who clicked.
    pub user: String,
    /// The conversation the message is in.
    pub channel: Option<String>,
    /// Where an ephemeral answer to the clicker goes.
    pub response_url: Option<String>,
}

/// Why an interaction was not a Claim click firsthour can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    #[error("the body is not a form with a payload field")]
    NoPayload,
    #[error("the payload is not JSON: {0}")]
    NotJson(String),
    #[error("not a block_actions interaction")]
    NotBlockActions,
    #[error("no Claim action in the interaction")]
    NoClaimAction,
    #[error("the Claim action's value is not a lead id")]
    BadLeadId,
    #[error("the interaction names no user")]
    NoUser,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

/// Reads the form body Slack posts (`payload=<JSON>`) into a Claim click.
pub fn claim_click(form_body: &[u8]) -> Result<ClaimClick, InteractionError> {
    let payload = url::form_urlencoded::parse(form_body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or(InteractionError::NoPayload)?;
    let payload: Payload = serde_json::from_str(&payload)
        .map_err(|err| InteractionError::NotJson(json_error_message(&err)))?;
    if payload.kind != "block_actions" {
        return Err(InteractionError::NotBlockActions);
    }
    let action = payload
        .actions
        .iter()
        .find(|a| a.action_id == CLAIM_ACTION_ID)
        .ok_or(InteractionError::NoClaimAction)?;
    let lead_id = action
        .value
        .as_deref()
        .and_then(LeadId::parse)
        .ok_or(InteractionError::BadLeadId)?;
    let user = payload
        .user
        .map(|u| u.id)
        .filter(|id| crate::channel::slack_id(id, crate::channel::SLACK_USER_PREFIXES))
        .ok_or(InteractionError::NoUser)?;
    let channel = payload
        .container
        .and_then(|c| c.channel_id)
        .or(payload.channel.map(|c| c.id));
    Ok(ClaimClick {
        lead_id,
        user,
        channel,
        response_url: payload.response_url,
    })
}

/// serde's message for a payload that is not JSON, without quoting the
/// value (it is the sender's).
fn json_error_message(err: &serde_json::Error) -> String {
    format!(
        "{:?} at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    )
}

/// An answer only the clicker sees, through the interaction's
/// `response_url` (it needs no token).
pub fn ephemeral(response_url: &str, text: &str) -> HttpPost {
    HttpPost {
        url: response_url.to_owned(),
        content_type: "application/json; charset=utf-8",
        headers: Vec::new(),
        body: json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": text,
        })
        .to_string(),
    }
}

/// A `response_url` firsthour will post to: Slack's own hooks host, or
/// the Web API's host (a local stand-in under `make run`). Anything else
/// in a signed payload is refused rather than fetched.
pub fn trusted_response_url(response_url: &str, api_url: &str) -> bool {
    let (Ok(given), Ok(api)) = (url::Url::parse(response_url), url::Url::parse(api_url)) else {
        return false;
    };
    let slack_hooks = given.scheme() == "https" && given.host_str() == Some("hooks.slack.com");
    let same_as_api = given.scheme() == api.scheme()
        && given.host_str() == api.host_str()
        && given.port_or_known_default() == api.port_or_known_default();
    slack_hooks || same_as_api
}
