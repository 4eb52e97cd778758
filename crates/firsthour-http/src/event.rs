//! The API Gateway HTTP API / Lambda function URL event (payload 2.0) as a
//! request, and the response as the payload-2.0 answer.
//!
//! We own this conversion (instead of `lambda_http`'s) because it must not be
//! able to fail on what a sender controls: `lambda_http` builds a URL from
//! `Host` and `X-Forwarded-Proto` and unwraps the parse, so a header like
//! `X-Forwarded-Proto: a b` panicked before any check of ours, which under
//! `panic = "abort"` killed the process. Here nothing in a header is parsed
//! as a URL; a header that is not valid HTTP is dropped, and a body that is
//! not valid base64 is a 400.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use serde::Deserialize;

use crate::response::Body;

/// The parts of a payload-2.0 event a function reads. Every field is
/// optional, so any JSON object API Gateway or a function URL sends is
/// read without error.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpApiEvent {
    pub raw_path: Option<String>,
    pub raw_query_string: Option<String>,
    /// Header names in lower case, repeated headers joined with commas.
    #[serde(deserialize_with = "lenient_map")]
    pub headers: HashMap<String, String>,
    pub cookies: Option<Vec<String>>,
    pub request_context: EventContext,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventContext {
    pub http: EventHttp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventHttp {
    pub method: Option<String>,
    pub path: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Header maps with values that are not strings (never sent by AWS) read
/// as if those headers were absent, rather than failing the whole event.
fn lenient_map<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<HashMap<String, String>, D::Error> {
    let raw: Option<HashMap<String, serde_json::Value>> = Option::deserialize(de)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| match value {
            serde_json::Value::String(text) => Some((name, text)),
            _ => None,
        })
        .collect())
}

/// One HTTP request as a function handles it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `None` when the method is not a valid HTTP token (answered 405).
    pub method: Option<Method>,
    /// The path as the client sent it, before any decoding (with a stage prefix, if any).
    pub raw_path: String,
    /// The query string without `?`, as sent.
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Why an event could not become a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is marked base64 but is not valid base64")]
    Base64Body,
}

impl TryFrom<HttpApiEvent> for Request {
    type Error = EventError;

    fn try_from(event: HttpApiEvent) -> Result<Self, EventError> {
        let method = event
            .request_context
            .http
            .method
            .as_deref()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let mut headers = HeaderMap::with_capacity(event.headers.len());
        for (name, value) in &event.headers {
            // A header that is not valid HTTP cannot have come through a
            // real gateway; skip it rather than refuse the request.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        if let Some(cookies) = event.cookies.filter(|c| !c.is_empty())
            && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(http::header::COOKIE, value);
        }
        let body = match event.body {
            None => Vec::new(),
            Some(text) if event.is_base64_encoded => {
                BASE64.decode(text).map_err(|_| EventError::Base64Body)?
            }
            Some(text) => text.into_bytes(),
        };
        Ok(Self {
            method,
            raw_path: event
                .raw_path
                .or(event.request_context.http.path)
                .unwrap_or_else(|| "/".into()),
            raw_query: event.raw_query_string.unwrap_or_default(),
            headers,
            body,
            source_ip: event.request_context.http.source_ip,
            user_agent: event.request_context.http.user_agent,
        })
    }
}

impl Request {
    /// Reads an event from its JSON text (what the Lambda service delivers).
    pub fn from_event_json(json: &str) -> Result<Self, String> {
        let event: HttpApiEvent = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Self::try_from(event).map_err(|e| e.to_string())
    }

    /// The first value of a query parameter, decoded as a browser encodes it.
    pub fn query_first(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.raw_query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The payload-2.0 answer for a response. Repeated headers are joined with
/// commas, as HTTP API expects them in `headers`.
pub fn into_event_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut headers = HeaderMap::with_capacity(parts.headers.keys_len());
    for name in parts.headers.keys() {
        let mut values = parts.headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        let mut joined = first.as_bytes().to_vec();
        for value in values {
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(value.as_bytes());
        }
        if let Ok(value) = HeaderValue::from_bytes(&joined) {
            headers.insert(name.clone(), value);
        }
    }
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = headers;
    answer.is_base64_encoded = matches!(body, Body::Binary(_));
    answer.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> Request {
        Request::try_from(serde_json::from_value::<HttpApiEvent>(json).expect("event"))
            .expect("request")
    }

    #[test]
    fn headers_a_url_parser_would_refuse_are_just_headers() {
        for (name, value) in [
            ("x-forwarded-proto", "a b"),
            ("x-forwarded-proto", ""),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-proto", "file"),
            ("host", "exa mple"),
            ("host", "127.0.0.1:99999"),
            ("host", "[::1"),
        ] {
            let request = event(serde_json::json!({
                "rawPath": "/leads",
                "headers": {name: value},
                "requestContext": {"http": {"method": "POST"}},
            }));
            assert_eq!(request.header(name), Some(value));
            assert_eq!(request.method, Some(Method::POST));
        }
    }

    #[test]
    fn anything_odd_in_an_event_is_read_without_failing() {
        let request = event(serde_json::json!({
            "headers": {"bad name": "x", "ok": "fine", "ctl": "a\u{1}b", "num": 5},
            "requestContext": {"http": {"method": "G E T"}},
        }));
        assert_eq!(request.method, None);
        assert_eq!(request.raw_path, "/");
        assert_eq!(request.header("ok"), Some("fine"));
        assert_eq!(request.headers.len(), 1);
        let empty = event(serde_json::json!({}));
        assert!(empty.body.is_empty());
        let broken = serde_json::from_value::<HttpApiEvent>(serde_json::json!({
            "body": "not base64!", "isBase64Encoded": true
        }))
        .expect("event");
        assert_eq!(
            Request::try_from(broken).err(),
            Some(EventError::Base64Body)
        );
    }

    #[test]
    fn query_parameters_decode_as_browsers_encode() {
        let request = event(serde_json::json!({"rawQueryString": "r=a%40b.co&e=1&r=x&s=a+b"}));
        assert_eq!(request.query_first("r").as_deref(), Some("a@b.co"));
        assert_eq!(request.query_first("s").as_deref(), Some("a b"));
        assert_eq!(request.query_first("z"), None);
    }

    #[test]
    fn repeated_response_headers_are_joined() {
        let mut response = Response::new(Body::Text("hi".into()));
        response
            .headers_mut()
            .append(http::header::VARY, HeaderValue::from_static("Origin"));
        response
            .headers_mut()
            .append(http::header::VARY, HeaderValue::from_static("Accept"));
        let answer = into_event_response(response);
        assert_eq!(answer.status_code, 200);
        assert_eq!(
            answer.headers.get("vary").and_then(|v| v.to_str().ok()),
            Some("Origin, Accept")
        );
        assert!(!answer.is_base64_encoded);
        let binary = into_event_response(Response::new(Body::Binary(vec![0xff])));
        assert!(binary.is_base64_encoded);
    }
}
