//! The answers: JSON, an HTML page, nothing, a redirect.

pub use aws_lambda_events::encodings::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    with_type(status, body.to_string(), "application/json")
}

pub fn html_response(status: StatusCode, html: String) -> Response<Body> {
    with_type(status, html, "text/html; charset=utf-8")
}

fn with_type(status: StatusCode, text: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// 303 to `location`; a location that is not a valid header value is left
/// out rather than failing the answer.
pub fn redirect_response(location: &str) -> Response<Body> {
    let mut response = empty_response(StatusCode::SEE_OTHER);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The headers of a page that carries a signed link (a claim page): no
/// caching, no referrer, no framing; its one form posts to itself.
pub fn keep_private(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}
