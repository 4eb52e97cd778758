//! CORS for pages that `fetch()` a function: only the configured origins.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::response::{Body, empty_response};

/// The origins allowed, and what a preflight allows them.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<String>,
    methods: &'static str,
    headers: &'static str,
}

impl Cors {
    /// `methods` and `headers` as the preflight answers them (comma lists).
    pub fn new(origins: Vec<String>, methods: &'static str, headers: &'static str) -> Self {
        Self {
            origins,
            methods,
            headers,
        }
    }

    fn allowed_origin<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|allowed| allowed == text)
            .then_some(origin)
    }

    /// The answer to `OPTIONS`: 204, with the allowances for an allowed origin.
    pub fn preflight(&self, headers: &HeaderMap) -> Response<Body> {
        let mut response = empty_response(StatusCode::NO_CONTENT);
        if self.allowed_origin(headers).is_some() {
            let h = response.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(self.methods),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(self.headers),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        response
    }

    /// Every answer varies by `Origin`; an allowed origin may read it.
    pub fn apply(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request_headers) {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_origin_is_allowed() {
        let cors = Cors::new(
            vec!["https://www.example.com".into()],
            "POST",
            "content-type",
        );
        let mut request = HeaderMap::new();
        request.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        let mut answer = HeaderMap::new();
        cors.apply(&request, &mut answer);
        assert_eq!(
            answer.get(header::VARY),
            Some(&HeaderValue::from_static("Origin"))
        );
        assert!(answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert!(cors.preflight(&request).headers().is_empty());
        request.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://www.example.com"),
        );
        cors.apply(&request, &mut answer);
        assert!(answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_some());
        assert_eq!(cors.preflight(&request).headers().len(), 3);
    }
}
