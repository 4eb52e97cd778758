//! AWS errors in a line: the service's code and message, never the raw
//! response (which can be a page of HTML from a wrong endpoint).

use aws_sdk_appconfig::config::http::HttpResponse;
use aws_sdk_appconfig::error::{ProvideErrorMetadata, SdkError};

/// What went wrong, for a person: `Code: message`, or what kind of failure.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match inner.code() {
                Some(code) => format!("{code}: {}", inner.message().unwrap_or_default()),
                // Not an AWS answer: another service, or none, at the endpoint.
                None => format!(
                    "the endpoint answered HTTP {} without an AWS error (is the service there?)",
                    service.raw().status().as_u16()
                ),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(_) => "could not connect".to_owned(),
        SdkError::ResponseError(_) => "an unreadable response".to_owned(),
        other => other.to_string(),
    }
}
