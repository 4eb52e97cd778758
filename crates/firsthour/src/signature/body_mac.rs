//! The schemes that are one HMAC over the body (and at most a timestamp or
//! one header), told apart only by their header, digest, encoding and
//! what they sign: a table, so a vendor is a row, not a branch of code.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::{Scheme, SignatureError, SignedRequest, Verified, equal, fresh};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Digest {
    Sha256,
    /// Intercom's `X-Hub-Signature`: SHA-1 is what it sends.
    Sha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Hex,
    Base64,
}

/// What the HMAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signed {
    Body,
    /// `t=<unix>,<param>=<signature>` in the header, over `"<t>.<body>"`
    /// (Calendly `v1`, WPForms `v`): the timestamp must be fresh.
    TimestampDotBody {
        param: &'static str,
    },
    /// The body followed by another header's value (Framer's submission id).
    BodyThenHeader(&'static str),
    /// `<version>:<timestamp>:<body>`, the timestamp in a header of its own
    /// (Slack's `v0`): the timestamp must be fresh.
    VersionTimestampBody {
        version: &'static str,
        timestamp_header: &'static str,
    },
}

/// One vendor's scheme.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyMac {
    pub header: &'static str,
    /// What the signature starts with (`sha256=`), if anything.
    pub prefix: Option<&'static str>,
    pub digest: Digest,
    pub encoding: Encoding,
    pub signed: Signed,
}

/// The table: every scheme that is an HMAC over the body.
pub(super) fn body_mac(scheme: Scheme) -> Option<BodyMac> {
    let row = |header, prefix, digest, encoding, signed| {
        Some(BodyMac {
            header,
            prefix,
            digest,
            encoding,
            signed,
        })
    };
    use Digest::*;
    use Encoding::*;
    match scheme {
        Scheme::Typeform => row(
            "typeform-signature",
            Some("sha256="),
            Sha256,
            Base64,
            Signed::Body,
        ),
        Scheme::HubSignature256 => row(
            "x-hub-signature-256",
            Some("sha256="),
            Sha256,
            Hex,
            Signed::Body,
        ),
        Scheme::Tally => row("tally-signature", None, Sha256, Base64, Signed::Body),
        Scheme::Formstack => row("x-fs-signature", Some("sha256="), Sha256, Hex, Signed::Body),
        Scheme::CalCom => row("x-cal-signature-256", None, Sha256, Hex, Signed::Body),
        Scheme::Intercom => row("x-hub-signature", Some("sha1="), Sha1, Hex, Signed::Body),
        Scheme::Calendly => row(
            "calendly-webhook-signature",
            None,
            Sha256,
            Hex,
            Signed::TimestampDotBody { param: "v1" },
        ),
        Scheme::Wpforms => row(
            "x-wpforms-webhook-signature",
            None,
            Sha256,
            Hex,
            Signed::TimestampDotBody { param: "v" },
        ),
        Scheme::Framer => row(
            "framer-signature",
            Some("sha256="),
            Sha256,
            Hex,
            Signed::BodyThenHeader("framer-webhook-submission-id"),
        ),
        Scheme::Slack => row(
            "x-slack-signature",
            Some("v0="),
            Sha256,
            Hex,
            Signed::VersionTimestampBody {
                version: "v0",
                timestamp_header: "x-slack-request-timestamp",
            },
        ),
        _ => None,
    }
}

impl BodyMac {
    pub(super) fn verify(
        &self,
        secret: &[u8],
        request: &SignedRequest<'_>,
    ) -> Result<Verified, SignatureError> {
        let header =
            |name: &'static str| (request.header)(name).ok_or(SignatureError::Missing(name));
        let malformed = SignatureError::Malformed(self.header);
        let value = header(self.header)?.trim();
        let (timestamp, encoded) = match self.signed {
            Signed::TimestampDotBody { param } => {
                let (t, signature) = timestamp_and(value, param).ok_or(malformed.clone())?;
                let seconds: i64 = t.parse().map_err(|_| malformed.clone())?;
                fresh(seconds, request.now)?;
                (Some(t), signature)
            }
            Signed::VersionTimestampBody {
                timestamp_header, ..
            } => {
                let t = header(timestamp_header)?.trim();
                let seconds: i64 = t
                    .parse()
                    .map_err(|_| SignatureError::Malformed(timestamp_header))?;
                fresh(seconds, request.now)?;
                (Some(t), value)
            }
            _ => (None, value),
        };
        let encoded = match self.prefix {
            Some(prefix) => encoded.strip_prefix(prefix).ok_or(malformed.clone())?,
            None => encoded,
        };
        let given = match self.encoding {
            Encoding::Hex => hex::decode(encoded).ok(),
            Encoding::Base64 => BASE64.decode(encoded).ok(),
        }
        .ok_or(malformed)?;
        let extra = match self.signed {
            Signed::BodyThenHeader(name) => Some(header(name)?),
            _ => None,
        };
        let expected = self.mac(secret, timestamp, request.body, extra);
        if equal(&expected, &given) {
            Ok(Verified::default())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The HMAC as the vendor computes it.
    pub(super) fn mac(
        &self,
        secret: &[u8],
        timestamp: Option<&str>,
        body: &[u8],
        extra: Option<&str>,
    ) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(5);
        match (self.signed, timestamp) {
            (Signed::VersionTimestampBody { version, .. }, Some(t)) => {
                parts.extend([version.as_bytes(), b":", t.as_bytes(), b":"]);
            }
            (_, Some(t)) => parts.extend([t.as_bytes(), b"."]),
            (_, None) => {}
        }
        parts.push(body);
        if let Some(extra) = extra {
            parts.push(extra.as_bytes());
        }
        match self.digest {
            Digest::Sha256 => hmac_of::<Hmac<Sha256>>(secret, &parts),
            Digest::Sha1 => hmac_of::<Hmac<Sha1>>(secret, &parts),
        }
    }

    /// The header value a sender puts on `body` (tests, benchmarks); with a
    /// timestamp header of its own, that header carries `timestamp`.
    pub(super) fn sign(
        &self,
        secret: &[u8],
        timestamp: Option<i64>,
        body: &[u8],
        extra: Option<&str>,
    ) -> String {
        let t = timestamp.map(|t| t.to_string());
        let mac = self.mac(secret, t.as_deref(), body, extra);
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(mac),
            Encoding::Base64 => BASE64.encode(mac),
        };
        let signature = format!("{}{encoded}", self.prefix.unwrap_or_default());
        match (self.signed, t) {
            (Signed::TimestampDotBody { param }, Some(t)) => format!("t={t},{param}={signature}"),
            _ => signature,
        }
    }
}

fn hmac_of<M: Mac + hmac::digest::KeyInit>(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `t=1764489600,v1=9e42…` → (`1764489600`, `9e42…`); the parts in any
/// order, others ignored.
fn timestamp_and<'a>(header: &'a str, param: &str) -> Option<(&'a str, &'a str)> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            key if key == param => signature = Some(value.trim()),
            _ => {}
        }
    }
    Some((timestamp?, signature?))
}
