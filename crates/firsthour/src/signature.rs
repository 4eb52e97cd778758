//! Webhook sender authentication, per source, over the exact bytes received:
//! Standard Webhooks, HubSpot v3, Webflow, the HMAC-over-the-body family
//! (Typeform, `X-Hub-Signature-256`, Tally, Formstack, Cal.com, Intercom,
//! Calendly, WPForms, Framer: a table in [`body_mac`]), a shared key in the
//! body (Wufoo's and Formstack's `HandshakeKey`) and a static bearer token.
//! Comparisons are constant-time; a request that fails never reaches the
//! parser.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// The schemes a source can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// <https://www.standardwebhooks.com>: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    StandardWebhooks,
    /// HubSpot signature v3: `X-HubSpot-Signature-v3` over method, URI, body and timestamp.
    HubspotV3,
    /// Typeform: `Typeform-Signature: sha256=<base64>` over the body.
    Typeform,
    /// Webflow: `x-webflow-signature` (hex) over `timestamp:body`.
    Webflow,
    /// GitHub-style `X-Hub-Signature-256: sha256=<hex>` over the body.
    #[serde(rename = "hub_signature_256")]
    HubSignature256,
    /// `Authorization: Bearer <token>` (Gravity Forms, Zapier and others that only set headers).
    Bearer,
    /// Tally: `Tally-Signature: <base64>` over the body.
    Tally,
    /// Formstack: `X-FS-Signature: sha256=<hex>` over the body (the HMAC key).
    Formstack,
    /// Cal.com: `X-Cal-Signature-256: <hex>` over the body.
    #[serde(rename = "cal_com")]
    CalCom,
    /// Intercom: `X-Hub-Signature: sha1=<hex>` over the body (the app's client secret).
    Intercom,
    /// Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` over `t.body`.
    Calendly,
    /// WPForms webhooks (JSON format): `X-WPForms-Webhook-Signature: t=<unix>,v=<hex>` over `t.body`.
    Wpforms,
    /// Framer forms: `Framer-Signature: sha256=<hex>` over the body then the submission id.
    Framer,
    /// Slack's request signing (interactivity, Events API, slash commands):
    /// `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:<body>`.
    Slack,
    /// The shared key Wufoo and Formstack put in the body itself: a
    /// `HandshakeKey` field, form-encoded or top-level JSON.
    HandshakeKey,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard_webhooks",
            Self::HubspotV3 => "hubspot_v3",
            Self::Typeform => "typeform",
            Self::Webflow => "webflow",
            Self::HubSignature256 => "hub_signature_256",
            Self::Bearer => "bearer",
            Self::Tally => "tally",
            Self::Formstack => "formstack",
            Self::CalCom => "cal_com",
            Self::Intercom => "intercom",
            Self::Calendly => "calendly",
            Self::Wpforms => "wpforms",
            Self::Framer => "framer",
            Self::Slack => "slack",
            Self::HandshakeKey => "handshake_key",
        }
    }
}

/// Why a request was not authenticated: always a 401, never a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the signed timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// A source's scheme and secret, ready at cold start.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({})", self.scheme.as_str())
    }
}

/// What a verified request told us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The sender's delivery id, when the scheme carries one (`webhook-id`).
    pub delivery_id: Option<String>,
}

/// The parts of a request a scheme may sign.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The full URL as the sender called it (HubSpot signs it).
    pub url: &'a str,
    pub body: &'a [u8],
    /// Header lookup, case-insensitive.
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
    pub now: OffsetDateTime,
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// A signed timestamp in seconds (Standard Webhooks) is within the tolerance.
/// The header is the sender's: `abs_diff` cannot overflow, whatever it holds.
fn fresh(timestamp_seconds: i64, now: OffsetDateTime) -> Result<(), SignatureError> {
    if now.unix_timestamp().abs_diff(timestamp_seconds) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// The same for milliseconds (HubSpot, Webflow), compared in milliseconds:
/// no division to round a just-too-old timestamp back into the window.
fn fresh_millis(timestamp_millis: i64, now: OffsetDateTime) -> Result<(), SignatureError> {
    let now_millis = now.unix_timestamp_nanos() / 1_000_000;
    let tolerance = i128::from(TOLERANCE_SECONDS) * 1000;
    // i128 holds any difference of two i64-range values.
    if (now_millis - i128::from(timestamp_millis)).unsigned_abs() > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

fn equal(expected: &[u8], given: &[u8]) -> bool {
    bool::from(expected.ct_eq(given))
}

/// A signature without a delivery id: verified when it matches, in constant time.
fn matched(expected: &[u8], given: &[u8]) -> Result<Verified, SignatureError> {
    if equal(expected, given) {
        Ok(Verified::default())
    } else {
        Err(SignatureError::Mismatch)
    }
}

impl Verifier {
    /// `secret` as configured: Standard Webhooks secrets may carry the
    /// `whsec_` prefix and are base64; the others are used as given.
    pub fn new(scheme: Scheme, secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err("the secret is empty".into());
        }
        let bytes = match scheme {
            Scheme::StandardWebhooks => standard_webhooks_key(secret).ok_or_else(|| {
                "a Standard Webhooks secret is base64, optionally prefixed whsec_".to_owned()
            })?,
            _ => secret.as_bytes().to_vec(),
        };
        Ok(Self {
            scheme,
            secret: bytes,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn verify(&self, request: &SignedRequest<'_>) -> Result<Verified, SignatureError> {
        if let Some(scheme) = body_mac::body_mac(self.scheme) {
            return scheme.verify(&self.secret, request);
        }
        let header =
            |name: &'static str| (request.header)(name).ok_or(SignatureError::Missing(name));
        match self.scheme {
            Scheme::StandardWebhooks => {
                let id = header("webhook-id")?;
                let timestamp = header("webhook-timestamp")?;
                let signatures = header("webhook-signature")?;
                let seconds: i64 = timestamp
                    .trim()
                    .parse()
                    .map_err(|_| SignatureError::Malformed("webhook-timestamp"))?;
                fresh(seconds, request.now)?;
                let expected = mac(
                    &self.secret,
                    &[
                        id.as_bytes(),
                        b".",
                        timestamp.trim().as_bytes(),
                        b".",
                        request.body,
                    ],
                )
                .finalize()
                .into_bytes();
                // Several space-separated `v1,<base64>` entries: any one may match.
                let mut any_v1 = false;
                for entry in signatures.split_whitespace() {
                    let Some((version, signature)) = entry.split_once(',') else {
                        continue;
                    };
                    if version != "v1" {
                        continue;
                    }
                    any_v1 = true;
                    if let Ok(given) = BASE64.decode(signature)
                        && equal(&expected, &given)
                    {
                        return Ok(Verified {
                            delivery_id: Some(id.to_owned()),
                        });
                    }
                }
                Err(if any_v1 {
                    SignatureError::Mismatch
                } else {
                    SignatureError::Malformed("webhook-signature")
                })
            }
            Scheme::HubspotV3 => {
                let signature = header("x-hubspot-signature-v3")?;
                let timestamp = header("x-hubspot-request-timestamp")?;
                let millis: i64 = timestamp
                    .trim()
                    .parse()
                    .map_err(|_| SignatureError::Malformed("x-hubspot-request-timestamp"))?;
                fresh_millis(millis, request.now)?;
                let given = BASE64
                    .decode(signature.trim())
                    .map_err(|_| SignatureError::Malformed("x-hubspot-signature-v3"))?;
                let expected = mac(
                    &self.secret,
                    &[
                        request.method.as_bytes(),
                        request.url.as_bytes(),
                        request.body,
                        timestamp.trim().as_bytes(),
                    ],
                )
                .finalize()
                .into_bytes();
                matched(&expected, &given)
            }
            Scheme::Webflow => {
                let signature = header("x-webflow-signature")?;
                let timestamp = header("x-webflow-timestamp")?;
                let millis: i64 = timestamp
                    .trim()
                    .parse()
                    .map_err(|_| SignatureError::Malformed("x-webflow-timestamp"))?;
                fresh_millis(millis, request.now)?;
                let given = hex::decode(signature.trim())
                    .map_err(|_| SignatureError::Malformed("x-webflow-signature"))?;
                let expected = mac(
                    &self.secret,
                    &[timestamp.trim().as_bytes(), b":", request.body],
                )
                .finalize()
                .into_bytes();
                matched(&expected, &given)
            }
            Scheme::Bearer => {
                let authorization = header("authorization")?;
                let token = authorization
                    .trim()
                    .strip_prefix("Bearer ")
                    .or_else(|| authorization.trim().strip_prefix("bearer "))
                    .ok_or(SignatureError::Malformed("authorization"))?;
                if equal(&self.secret, token.trim().as_bytes()) {
                    Ok(Verified::default())
                } else {
                    Err(SignatureError::Mismatch)
                }
            }
            Scheme::HandshakeKey => {
                let key =
                    handshake_key(request.body).ok_or(SignatureError::Missing("HandshakeKey"))?;
                matched(&self.secret, key.trim().as_bytes())
            }
            // The HMAC-over-the-body schemes returned above.
            _ => Err(SignatureError::Mismatch),
        }
    }
}

/// A Standard Webhooks secret's key: the base64 after an optional `whsec_`
/// prefix, decoded (`None` when it is not base64). Verifying, signing and
/// the outbound secrets' check all read a secret through this.
pub fn standard_webhooks_key(secret: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// The `HandshakeKey` field of a form-encoded or JSON body (Wufoo,
/// Formstack), read without parsing the rest as a lead.
fn handshake_key(body: &[u8]) -> Option<String> {
    const NAME: &str = "HandshakeKey";
    let text = std::str::from_utf8(body).ok()?.trim_start();
    if text.starts_with('{') {
        let value: serde_json_borrow::Value<'_> = serde_json::from_str(text).ok()?;
        return value.as_object()?.get(NAME)?.as_str().map(str::to_owned);
    }
    url::form_urlencoded::parse(text.as_bytes())
        .find(|(name, _)| name == NAME)
        .map(|(_, value)| value.into_owned())
}

/// Signs like a sender would (tests, benchmarks, and the CLI's examples).
pub mod sign {
    use super::*;

    /// `webhook-signature` for a `whsec_…` secret as configured (one that
    /// is not base64 signs with an empty key: check it first, as the
    /// outbound secrets do, or sign with [`standard_webhooks_with_key`]).
    pub fn standard_webhooks(secret_b64: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = super::standard_webhooks_key(secret_b64).unwrap_or_default();
        standard_webhooks_with_key(&key, id, timestamp, body)
    }

    /// `webhook-signature` with the secret's decoded key bytes.
    pub fn standard_webhooks_with_key(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
        let signature = mac(
            key,
            &[
                id.as_bytes(),
                b".",
                timestamp.to_string().as_bytes(),
                b".",
                body,
            ],
        )
        .finalize()
        .into_bytes();
        format!("v1,{}", BASE64.encode(signature))
    }

    pub fn hubspot_v3(
        secret: &str,
        method: &str,
        url: &str,
        body: &[u8],
        timestamp_ms: i64,
    ) -> String {
        let signature = mac(
            secret.as_bytes(),
            &[
                method.as_bytes(),
                url.as_bytes(),
                body,
                timestamp_ms.to_string().as_bytes(),
            ],
        )
        .finalize()
        .into_bytes();
        BASE64.encode(signature)
    }

    pub fn typeform(secret: &str, body: &[u8]) -> String {
        body_mac(Scheme::Typeform, secret, None, body, None).unwrap_or_default()
    }

    /// The header value of an HMAC-over-the-body scheme (`timestamp` for
    /// Calendly and WPForms, `extra` for Framer's submission id); `None`
    /// for the other schemes.
    pub fn body_mac(
        scheme: Scheme,
        secret: &str,
        timestamp: Option<i64>,
        body: &[u8],
        extra: Option<&str>,
    ) -> Option<String> {
        super::body_mac::body_mac(scheme)
            .map(|mac| mac.sign(secret.as_bytes(), timestamp, body, extra))
    }

    pub fn webflow(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
        hex::encode(
            mac(
                secret.as_bytes(),
                &[timestamp_ms.to_string().as_bytes(), b":", body],
            )
            .finalize()
            .into_bytes(),
        )
    }

    pub fn hub_signature_256(secret: &str, body: &[u8]) -> String {
        body_mac(Scheme::HubSignature256, secret, None, body, None).unwrap_or_default()
    }
}

mod body_mac;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vendor_tests;
