//! A local stand-in for the API Gateway HTTP API: each HTTP request becomes
//! a payload-v2 event for the intake function, and its answer the response.
//! Also serves `/_local/mail`, the emails the local stack sent (and the
//! channel stand-ins' messages).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::mail;
use crate::runtime_api::FunctionHost;

pub struct GatewayState {
    pub intake: Arc<FunctionHost>,
    /// The emulator's base URL, for the sent-mail view.
    pub emulator_url: String,
    pub limits: GatewayLimits,
    /// The sent-mail view's own state: the channel stand-ins' address and
    /// the last clear.
    pub mail_view: mail::ViewState,
}

/// What API Gateway's HTTP API enforces before the function sees a request
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>).
#[derive(Debug, Clone, Copy)]
pub struct GatewayLimits {
    /// "Total combined size of request line and header values": 10,240 bytes.
    pub max_head_bytes: usize,
    /// "Payload size": 10 MB.
    pub max_body_bytes: usize,
    /// A client that declares a body and stops sending it is cut off after
    /// this long (API Gateway does not hold a connection forever).
    pub body_timeout: Duration,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 10_240,
            max_body_bytes: 10 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Headers that can only hold one value: a client sending two gets the
/// first passed on, rather than two joined with a comma (which no media
/// type parser reads).
const SINGLE_VALUED: &[&str] = &["content-type", "content-length", "host", "authorization"];

pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/_local/mail", get(mail_page))
        // POST only (a GET is 405): clearing changes what the view shows.
        .route("/_local/mail/clear", post(clear_mail))
        .route("/_local/mail/{id}", get(single_mail_page))
        .fallback(proxy)
        .with_state(state)
}

/// The sent mail and the channel messages, narrowed by `?lead=` and `?to=`
/// (a value that is not a lead id or an address gets the page with a note,
/// never an error).
async fn mail_page(State(state): State<Arc<GatewayState>>, RawQuery(query): RawQuery) -> Response {
    let filter = mail::Filter::parse(query.as_deref());
    let (sent, channels) = tokio::join!(
        mail::sent_messages(&state.emulator_url),
        state.mail_view.channels()
    );
    let messages = match sent {
        Ok(messages) => messages,
        Err(err) => return cannot_read_mail(&err),
    };
    let cleared = state.mail_view.cleared();
    Html(mail::render_page(&mail::View {
        mails: &messages,
        filter: &filter,
        cleared: cleared.as_ref(),
        channels: &channels,
    }))
    .into_response()
}

/// Empties the view: what moto holds now, and what the stand-ins received
/// until now, is hidden from then on (see [`mail::Cleared`]); then back to
/// the view.
async fn clear_mail(State(state): State<Arc<GatewayState>>) -> Response {
    // Taken before reading moto: a channel message arriving meanwhile still shows.
    let at = mail::now_seconds();
    match mail::sent_messages(&state.emulator_url).await {
        Ok(messages) => {
            state.mail_view.clear(&messages, at);
            Redirect::to("/_local/mail").into_response()
        }
        Err(err) => cannot_read_mail(&err),
    }
}

fn cannot_read_mail(err: &reqwest::Error) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        format!("cannot read sent mail from the emulator: {err}"),
    )
        .into_response()
}

/// One sent email on its own page, as its recipient would see it: served
/// with a content security policy that runs no script and loads nothing
/// remote but images; its links (the claim link) open in place.
async fn single_mail_page(
    State(state): State<Arc<GatewayState>>,
    Path(id): Path<String>,
) -> Response {
    let messages = match mail::sent_messages(&state.emulator_url).await {
        Ok(messages) => messages,
        Err(err) => return cannot_read_mail(&err),
    };
    match messages.iter().find(|m| m.id == id) {
        Some(found) => (
            [(
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; base-uri 'none'; form-action 'none'",
            )],
            Html(mail::render_single(found)),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(firsthour::html::page(
                "Not found",
                "No such email",
                "<p><a href=\"/_local/mail\">All sent mail</a></p>",
            )),
        )
            .into_response(),
    }
}

/// The payload-v2 event API Gateway would send for this request.
pub fn http_api_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    source_ip: &str,
) -> Value {
    let mut joined: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        if SINGLE_VALUED.contains(&name.as_str()) && joined.contains_key(name.as_str()) {
            continue;
        }
        // HTTP API joins repeated headers with commas.
        match joined.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or_default(),
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp_nanos() / 1_000_000,
        },
        "isBase64Encoded": !body.is_empty(),
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !body.is_empty() {
        event["body"] = json!(BASE64.encode(body));
    }
    event
}

/// Turns the function's payload-v2 response into an HTTP response.
pub fn http_response(answer: &[u8]) -> Response {
    let Ok(parsed) = serde_json::from_slice::<Value>(answer) else {
        return (
            StatusCode::BAD_GATEWAY,
            "function returned a non-JSON response",
        )
            .into_response();
    };
    let status = parsed
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = match parsed.get("body").and_then(Value::as_str) {
        Some(text) if parsed.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            BASE64.decode(text).unwrap_or_default()
        }
        Some(text) => text.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    };
    if let Some(map) = parsed.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            add(name, value.as_str().unwrap_or_default());
        }
    }
    if let Some(map) = parsed.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            for value in values.as_array().into_iter().flatten() {
                add(name, value.as_str().unwrap_or_default());
            }
        }
    }
    for cookie in parsed
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add("set-cookie", cookie.as_str().unwrap_or_default());
    }
    response
}

async fn proxy(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let limits = state.limits;
    let head = head_size(&parts.method, &parts.uri, &parts.headers);
    if head > limits.max_head_bytes {
        return gateway_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        );
    }
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let body = match tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        Err(_) => {
            let mut response = gateway_error(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    let event = http_api_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &peer.ip().to_string(),
    );
    match state.intake.invoke(&event).await {
        Ok(answer) => http_response(&answer),
        // API Gateway answers 500 when the integration fails.
        Err(err) => {
            eprintln!("[gateway] intake invocation failed: {err}");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The request line and header values, counted as the HTTP API quota counts them.
fn head_size(method: &Method, uri: &Uri, headers: &HeaderMap) -> usize {
    let request_line = method.as_str().len() + 1 + uri.to_string().len() + " HTTP/1.1".len();
    headers.values().fold(request_line, |total, value| {
        total.saturating_add(value.len())
    })
}

/// API Gateway's own answers are JSON `{"message": ...}`.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}
