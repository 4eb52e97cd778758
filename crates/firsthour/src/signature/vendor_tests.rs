//! The form, booking and chat tools' schemes against their real-shaped
//! fixtures (`events/webhooks/vendors.json`: each signature computed with
//! Python's `hmac` over the file's bytes, independently of this code),
//! known-answer vectors, and the ways a request goes wrong.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::*;

/// The secret every fixture in vendors.json is signed with.
const SECRET: &str = "whsec_test_firsthour_0123456789";

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn verify(
    scheme: Scheme,
    secret: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Verified, SignatureError> {
    let headers: HashMap<String, &str> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    let lookup = |name: &str| headers.get(&name.to_ascii_lowercase()).copied();
    Verifier::new(scheme, secret)
        .expect("secret")
        .verify(&SignedRequest {
            method: "POST",
            url: "https://example.com/leads/x",
            body,
            header: &lookup,
            now,
        })
}

/// The scheme a fixture's signature header belongs to.
fn scheme_of_header(header: &str) -> Option<Scheme> {
    Some(match header.to_ascii_lowercase().as_str() {
        "tally-signature" => Scheme::Tally,
        "x-fs-signature" => Scheme::Formstack,
        "x-cal-signature-256" => Scheme::CalCom,
        "x-hub-signature" => Scheme::Intercom,
        "calendly-webhook-signature" => Scheme::Calendly,
        "x-wpforms-webhook-signature" => Scheme::Wpforms,
        "framer-signature" => Scheme::Framer,
        _ => return None,
    })
}

/// A signed timestamp in the header (`t=…`), else now.
fn signed_at(value: &str) -> OffsetDateTime {
    value
        .split(',')
        .find_map(|part| part.trim().strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .unwrap_or_else(OffsetDateTime::now_utc)
}

#[test]
fn every_signed_fixture_verifies_and_fails_when_tampered() {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("events/webhooks/vendors.json")).expect("vendors.json"),
    )
    .expect("JSON");
    let mut verified = Vec::new();
    for case in manifest.as_array().expect("a list") {
        let file = case["file"].as_str().expect("file");
        // WPForms' form format signs a JSON re-encoding, not the bytes sent.
        if file.ends_with(".urlencoded") && file.starts_with("wpforms") {
            continue;
        }
        let body = std::fs::read(root().join("events/webhooks").join(file)).expect("fixture");
        let headers: Vec<(&str, &str)> = case["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect();
        for (name, value) in &headers {
            let Some(scheme) = scheme_of_header(name) else {
                continue;
            };
            let now = signed_at(value);
            assert_eq!(
                verify(scheme, SECRET, &headers, &body, now).map(|_| ()),
                Ok(()),
                "{file}: {}",
                scheme.as_str()
            );
            let mut tampered = body.clone();
            tampered.push(b' ');
            assert_eq!(
                verify(scheme, SECRET, &headers, &tampered, now).map(|_| ()),
                Err(SignatureError::Mismatch),
                "{file}: a changed body"
            );
            assert_eq!(
                verify(scheme, "another-secret", &headers, &body, now).map(|_| ()),
                Err(SignatureError::Mismatch),
                "{file}: another secret"
            );
            // Our signer agrees with the vendor's (Python's) bytes.
            let t = match scheme {
                Scheme::Calendly | Scheme::Wpforms => Some(now.unix_timestamp()),
                _ => None,
            };
            let extra = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("framer-webhook-submission-id"))
                .map(|(_, v)| *v);
            assert_eq!(
                sign::body_mac(scheme, SECRET, t, &body, extra).as_deref(),
                Some(*value),
                "{file}: signed alike"
            );
            verified.push(scheme.as_str());
        }
    }
    for scheme in [
        "tally",
        "formstack",
        "cal_com",
        "intercom",
        "calendly",
        "wpforms",
        "framer",
    ] {
        assert!(verified.contains(&scheme), "{scheme} has a fixture");
    }
}

#[test]
fn known_answer_vectors() {
    let now = OffsetDateTime::now_utc();
    // Cal.com's own unit test inputs (packages/features/webhooks sendPayload.test.ts).
    let cal = [(
        "x-cal-signature-256",
        "205249c7a241d234eb85edb88294e1da1eef0b5dad35e3bf8a19c7d33cbd9abf",
    )];
    assert!(
        verify(
            Scheme::CalCom,
            "my-secret",
            &cal,
            br#"{"test":"data"}"#,
            now
        )
        .is_ok()
    );
    // What Cal.com sends when the webhook has no secret: never accepted.
    let unsigned = [("x-cal-signature-256", "no-secret-provided")];
    assert_eq!(
        verify(
            Scheme::CalCom,
            "my-secret",
            &unsigned,
            br#"{"test":"data"}"#,
            now
        )
        .map(|_| ()),
        Err(SignatureError::Malformed("x-cal-signature-256"))
    );
    // Calendly: HMAC-SHA256 of "t.body", hex, in `t=…,v1=…`.
    let body = br#"{"event":"invitee.created","payload":{"email":"dana.ruiz@example.org"}}"#;
    let calendly = [(
        "calendly-webhook-signature",
        "t=1764489600,v1=9e426c3663f407706e1bd2c0d9cc523d3b7a66e71ba6b81ceadb44e43f530123",
    )];
    let t = OffsetDateTime::from_unix_timestamp(1_764_489_600).expect("t");
    assert!(verify(Scheme::Calendly, SECRET, &calendly, body, t).is_ok());
    // The same signature under another timestamp, and an old one.
    let moved = [(
        "calendly-webhook-signature",
        "t=1764489601,v1=9e426c3663f407706e1bd2c0d9cc523d3b7a66e71ba6b81ceadb44e43f530123",
    )];
    assert_eq!(
        verify(Scheme::Calendly, SECRET, &moved, body, t).map(|_| ()),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(
            Scheme::Calendly,
            SECRET,
            &calendly,
            body,
            t + time::Duration::minutes(6)
        )
        .map(|_| ()),
        Err(SignatureError::Stale)
    );
    // Intercom: `sha1=` and hex HMAC-SHA1 of the body.
    let intercom = [(
        "x-hub-signature",
        "sha1=1c9e7139356b52726d9931c478ef3c34829bd47e",
    )];
    let ping = br#"{"type":"notification_event","topic":"ping","id":"notif_1"}"#;
    assert!(verify(Scheme::Intercom, SECRET, &intercom, ping, now).is_ok());
    // RFC 2202 test case 2, through the same path: HMAC-SHA1("Jefe", …).
    let rfc = [(
        "x-hub-signature",
        "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    )];
    assert!(
        verify(
            Scheme::Intercom,
            "Jefe",
            &rfc,
            b"what do ya want for nothing?",
            now
        )
        .is_ok()
    );
}

#[test]
fn broken_headers_are_named() {
    let now = OffsetDateTime::now_utc();
    let body = b"{}";
    use SignatureError::*;
    for (scheme, headers, expected) in [
        (Scheme::Tally, vec![], Missing("tally-signature")),
        (
            Scheme::Tally,
            vec![("tally-signature", "not base64!")],
            Malformed("tally-signature"),
        ),
        (
            Scheme::Formstack,
            vec![("x-fs-signature", "md5=00")],
            Malformed("x-fs-signature"),
        ),
        (
            Scheme::Intercom,
            vec![("x-hub-signature", "sha256=00")],
            Malformed("x-hub-signature"),
        ),
        (
            Scheme::Calendly,
            vec![("calendly-webhook-signature", "v1=00")],
            Malformed("calendly-webhook-signature"),
        ),
        (
            Scheme::Calendly,
            vec![("calendly-webhook-signature", "t=soon,v1=00")],
            Malformed("calendly-webhook-signature"),
        ),
        (
            Scheme::Wpforms,
            vec![("x-wpforms-webhook-signature", "t=99999999999999999999,v=00")],
            Malformed("x-wpforms-webhook-signature"),
        ),
        (
            Scheme::Framer,
            vec![("framer-signature", "sha256=00")],
            Missing("framer-webhook-submission-id"),
        ),
    ] {
        assert_eq!(
            verify(scheme, SECRET, &headers, body, now).map(|_| ()),
            Err(expected),
            "{} {headers:?}",
            scheme.as_str()
        );
    }
}

#[test]
fn a_handshake_key_in_the_body_is_checked_form_encoded_or_json() {
    let now = OffsetDateTime::now_utc();
    let wufoo = std::fs::read(root().join("events/webhooks/wufoo.urlencoded")).expect("wufoo");
    let formstack =
        std::fs::read(root().join("events/webhooks/formstack.json")).expect("formstack");
    for body in [&wufoo, &formstack] {
        assert!(verify(Scheme::HandshakeKey, SECRET, &[], body, now).is_ok());
        assert_eq!(
            verify(Scheme::HandshakeKey, "another-key", &[], body, now).map(|_| ()),
            Err(SignatureError::Mismatch)
        );
    }
    assert_eq!(
        verify(Scheme::HandshakeKey, SECRET, &[], b"Field1=a&Field3=b", now).map(|_| ()),
        Err(SignatureError::Missing("HandshakeKey"))
    );
    assert_eq!(
        verify(
            Scheme::HandshakeKey,
            SECRET,
            &[],
            b"{\"HandshakeKey\":5}",
            now
        )
        .map(|_| ()),
        Err(SignatureError::Missing("HandshakeKey"))
    );
}

/// Slack's worked example ("Verifying requests from Slack"): its signing
/// secret, timestamp, slash-command body and signature.
#[test]
fn slack_request_signing_matches_slacks_worked_example() {
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    let sent = OffsetDateTime::from_unix_timestamp(1_531_420_618).expect("time");
    let slack = |signature: &str, timestamp: &str, body: &str, now| {
        verify(
            Scheme::Slack,
            SECRET,
            &[
                ("X-Slack-Signature", signature),
                ("X-Slack-Request-Timestamp", timestamp),
            ],
            body.as_bytes(),
            now,
        )
    };
    let minute = time::Duration::minutes(1);
    assert_eq!(
        slack(SIGNATURE, TIMESTAMP, BODY, sent + minute),
        Ok(Verified::default())
    );
    // The row's own signer gives Slack's answer.
    let row = body_mac::body_mac(Scheme::Slack).expect("a row");
    assert_eq!(
        row.sign(
            SECRET.as_bytes(),
            Some(1_531_420_618),
            BODY.as_bytes(),
            None
        ),
        SIGNATURE
    );
    // Five minutes either way, then stale (a replayed request).
    assert_eq!(
        slack(SIGNATURE, TIMESTAMP, BODY, sent + 6 * minute),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        slack(SIGNATURE, TIMESTAMP, BODY, sent - 6 * minute),
        Err(SignatureError::Stale)
    );
    // Tampered, or signed for another moment.
    let other_body = BODY.replace("roadrunner", "coyote");
    assert_eq!(
        slack(SIGNATURE, TIMESTAMP, &other_body, sent),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        slack(SIGNATURE, "1531420619", BODY, sent),
        Err(SignatureError::Mismatch)
    );
    // Broken headers are named.
    assert_eq!(
        slack(SIGNATURE, "soon", BODY, sent),
        Err(SignatureError::Malformed("x-slack-request-timestamp"))
    );
    assert_eq!(
        slack("a2114d57b48eac39", TIMESTAMP, BODY, sent),
        Err(SignatureError::Malformed("x-slack-signature"))
    );
    let no_timestamp = verify(
        Scheme::Slack,
        SECRET,
        &[("X-Slack-Signature", SIGNATURE)],
        BODY.as_bytes(),
        sent,
    );
    assert_eq!(
        no_timestamp,
        Err(SignatureError::Missing("x-slack-request-timestamp"))
    );
}
