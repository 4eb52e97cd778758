//! A webhook delivery as the edge checks it before the intake use case sees
//! it: the source's name, the request's headers, the sender's signature
//! (over the exact bytes, before any parsing) and a readable Content-Type.

use std::collections::HashMap;

use firsthour::lead::{RequestMeta, Source};
use firsthour::service::intake::Delivery;
use firsthour::signature::Verifier;
use http::StatusCode;
use time::OffsetDateTime;

use crate::event::Request;
use crate::problem::Problem;
use crate::sender::is_browser_form_post;

/// A delivery that passed the edge's checks.
#[derive(Debug, Clone)]
pub struct CheckedDelivery<'r> {
    pub source: Source,
    pub meta: RequestMeta,
    body: &'r [u8],
    content_type: Option<&'r str>,
    authenticated: bool,
    browser_form: bool,
}

impl CheckedDelivery<'_> {
    /// The delivery as the intake use case takes it.
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery {
            body: self.body,
            content_type: self.content_type,
            source: &self.source,
            meta: &self.meta,
            authenticated: self.authenticated,
            browser_form: self.browser_form,
        }
    }
}

impl Request {
    /// Checks a delivery to `source` (the web form's when none): a source
    /// with a verifier must carry its signature, whose delivery id wins.
    pub fn checked_delivery(
        &self,
        source: Option<&str>,
        verifiers: &HashMap<String, Verifier>,
        now: OffsetDateTime,
    ) -> Result<CheckedDelivery<'_>, Problem> {
        let source = source
            .map(Source::parse)
            .transpose()
            .map_err(|err| {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_source", err.to_string())
            })?
            .unwrap_or_else(Source::default_web);
        let mut meta = self.meta()?;
        let verifier = verifiers.get(source.as_str());
        if let Some(verifier) = verifier {
            let scheme = verifier.scheme().as_str();
            let verified = self.verify(verifier, now).map_err(|err| {
                tracing::warn!(source = %source, scheme, reason = %err, "unauthenticated delivery refused");
                let reason = format!("{err} ({scheme} signature required)");
                Problem::unauthorized("Signature", "unauthenticated", reason)
            })?;
            if verified.delivery_id.is_some() {
                meta.delivery_id = verified.delivery_id;
            }
        }
        let content_type = self.content_type()?;
        Ok(CheckedDelivery {
            source,
            meta,
            body: &self.body,
            content_type,
            authenticated: verifier.is_some(),
            browser_form: is_browser_form_post(&self.headers, content_type),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_name_is_checked_and_defaults_to_the_web_form() {
        let request = Request::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let web = request.checked_delivery(None, &HashMap::new(), now);
        assert_eq!(web.map(|d| d.source), Ok(Source::default_web()));
        let bad = request.checked_delivery(Some("no such/source"), &HashMap::new(), now);
        assert_eq!(bad.map_err(|p| p.code).err(), Some("invalid_source"));
    }
}
