//! What a request says about its sender: who and where from, whether it
//! proved who it is, and whether a person's browser is asking.

use firsthour::lead::RequestMeta;
use firsthour::service::intake::{MAX_DELIVERY_ID_LEN, delivery_id};
use firsthour::signature::{SignatureError, SignedRequest, Verified, Verifier};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use time::OffsetDateTime;

use crate::event::Request;
use crate::problem::Problem;

/// The headers a sender names its delivery with, first found wins:
/// Standard Webhooks' `webhook-id`, then `Idempotency-Key`.
const DELIVERY_ID_HEADERS: [&str; 2] = ["webhook-id", "idempotency-key"];

impl Request {
    /// Client IP and user agent from the request context (the agent header
    /// otherwise), and the sender's delivery id.
    pub fn meta(&self) -> Result<RequestMeta, Problem> {
        let client_ip = self.source_ip.clone().filter(|ip| !ip.is_empty());
        let context_agent = self.user_agent.clone().filter(|ua| !ua.is_empty());
        let user_agent =
            context_agent.or_else(|| self.header(header::USER_AGENT).map(str::to_owned));
        let mut id = None;
        if let Some((name, value)) = DELIVERY_ID_HEADERS
            .iter()
            .find_map(|name| self.headers.get(*name).map(|value| (name, value)))
        {
            let text = value.to_str().ok().and_then(delivery_id).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_header",
                    format!("{name} must be 1 to {MAX_DELIVERY_ID_LEN} visible ASCII characters"),
                )
            })?;
            id = Some(text.to_owned());
        }
        Ok(RequestMeta {
            client_ip,
            user_agent,
            delivery_id: id,
        })
    }

    /// The `Content-Type`, if sent; one that is not visible ASCII is a 415.
    pub fn content_type(&self) -> Result<Option<&str>, Problem> {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(HeaderValue::to_str)
            .transpose()
            .map_err(|_| {
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "unreadable Content-Type",
                )
            })
    }

    /// Checks the sender's signature over the exact bytes, before any parsing.
    pub fn verify(
        &self,
        verifier: &Verifier,
        now: OffsetDateTime,
    ) -> Result<Verified, SignatureError> {
        let lookup = |name: &str| self.header(name);
        // The URL as the sender called it (HubSpot signs it): scheme, host,
        // raw path and query. Only compared as text, never parsed.
        let host = lookup("host").unwrap_or_default();
        let query = if self.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.raw_query)
        };
        let url = format!("https://{host}{}{query}", self.raw_path);
        verifier.verify(&SignedRequest {
            method: self.method.as_ref().map_or("", Method::as_str),
            url: &url,
            body: &self.body,
            header: &lookup,
            now,
        })
    }

    /// The token of `Authorization: Bearer <token>`, as sent (the use case
    /// that checks it compares in constant time).
    pub fn bearer(&self) -> Option<&str> {
        self.header(header::AUTHORIZATION).and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    }
}

/// A browser navigating (a plain form post) asks for HTML first.
pub fn prefers_html(headers: &HeaderMap) -> bool {
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

/// A browser submitting a form by navigating (not a script, a server or a
/// webhook): a form content type, and the browser says it navigates
/// (`Sec-Fetch-Mode`) or, for browsers without it, asks for HTML first.
pub fn is_browser_form_post(headers: &HeaderMap, content_type: Option<&str>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&'static str, &'static str)]) -> Request {
        let mut request = Request::default();
        for (name, value) in headers {
            request
                .headers
                .append(*name, HeaderValue::from_static(value));
        }
        request
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

    #[test]
    fn a_browser_form_post_is_a_form_type_and_a_navigation() {
        let navigate = request(&[("sec-fetch-mode", "navigate")]);
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert!(is_browser_form_post(&navigate.headers, form));
        assert!(!is_browser_form_post(
            &navigate.headers,
            Some("application/json")
        ));
        let script = request(&[("sec-fetch-mode", "cors"), ("accept", "text/html")]);
        assert!(!is_browser_form_post(&script.headers, form));
    }

    #[test]
    fn the_delivery_id_is_the_first_of_its_headers_and_checked() {
        let both = request(&[("idempotency-key", "k"), ("webhook-id", " w ")]);
        assert_eq!(both.meta().map(|m| m.delivery_id), Ok(Some("w".into())));
        let bad = request(&[("idempotency-key", "a b")]);
        assert_eq!(bad.meta().map_err(|p| p.code), Err("invalid_header"));
    }

    #[test]
    fn a_bearer_token_is_read_from_either_spelling_of_the_scheme() {
        let bearer = |value| {
            request(&[("authorization", value)])
                .bearer()
                .map(str::to_owned)
        };
        assert_eq!(bearer("Bearer s3cret "), Some("s3cret ".into()));
        assert_eq!(bearer("bearer s3cret"), Some("s3cret".into()));
        assert_eq!(bearer("Basic s3cret"), None);
        assert_eq!(request(&[]).bearer(), None);
    }
}
