//! Every signature scheme, with headers and body cut from arbitrary bytes:
//! a forged request is refused, never a panic.
#![no_main]

use firsthour::signature::{Scheme, SignedRequest, Verifier};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [Scheme; 6] = [
    Scheme::StandardWebhooks,
    Scheme::HubspotV3,
    Scheme::Typeform,
    Scheme::Webflow,
    Scheme::HubSignature256,
    Scheme::Bearer,
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let (a, b, c, body) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    for scheme in SCHEMES {
        let secret = if scheme == Scheme::StandardWebhooks { "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } else { "fuzz-secret" };
        let Ok(verifier) = Verifier::new(scheme, secret) else { continue };
        let header = |name: &str| -> Option<&str> {
            match name {
                "webhook-id" | "x-hubspot-signature-v3" | "typeform-signature" | "x-webflow-signature" | "x-hub-signature-256" | "authorization" => Some(a),
                "webhook-timestamp" | "x-hubspot-request-timestamp" | "x-webflow-timestamp" => Some(b),
                "webhook-signature" => Some(c),
                _ => None,
            }
        };
        let request = SignedRequest {
            method: "POST",
            url: "https://example.com/leads/x",
            body: body.as_bytes(),
            header: &header,
            now: time::OffsetDateTime::UNIX_EPOCH,
        };
        let _ = verifier.verify(&request);
    }
});
