//! The signature vector table: the Standard Webhooks spec's published
//! vector, every scheme's good case, and the ways a request goes wrong.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::*;

const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TS: i64 = 1_614_265_330;
const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const URL: &str = "https://abc.execute-api.us-east-1.amazonaws.com/leads/hubspot?portal=62515";

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("time")
}

struct Case {
    name: &'static str,
    scheme: Scheme,
    secret: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static [u8],
    now: OffsetDateTime,
    expect: Result<(), SignatureError>,
}

fn run(case: &Case) -> Result<Verified, SignatureError> {
    let headers: HashMap<String, String> = case
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let lookup = |name: &str| headers.get(&name.to_ascii_lowercase()).map(String::as_str);
    let verifier = Verifier::new(case.scheme, case.secret).expect("secret");
    verifier.verify(&SignedRequest {
        method: "POST",
        url: URL,
        body: case.body,
        header: &lookup,
        now: case.now,
    })
}

fn standard(signature: &str, ts: i64) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", SPEC_ID.into()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", signature.into()),
    ]
}

#[test]
fn signature_vector_table() {
    let now = 1_795_962_251_i64;
    let body: &[u8] = br#"{"email":"jane@example.com"}"#;
    let hs = sign::hubspot_v3("hs-secret", "POST", URL, body, now * 1000);
    let tf = sign::typeform("tf-secret", body);
    let wf = sign::webflow("wf-secret", now * 1000, body);
    let gh = sign::hub_signature_256("gh-secret", body);
    let other_secret_sig = sign::standard_webhooks(
        "whsec_c2VjcmV0LXR3by1zZWNyZXQtdHdvLXNlY3JldA==",
        SPEC_ID,
        SPEC_TS,
        SPEC_BODY,
    );
    use SignatureError::*;
    let cases = vec![
        // Standard Webhooks: the spec's vector, its tolerance, several signatures, and failures.
        Case {
            name: "spec vector",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Ok(()),
        },
        Case {
            name: "spec vector, secret without whsec_",
            scheme: Scheme::StandardWebhooks,
            secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Ok(()),
        },
        Case {
            name: "299 s late",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS + 299),
            expect: Ok(()),
        },
        Case {
            name: "301 s late",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS + 301),
            expect: Err(Stale),
        },
        Case {
            name: "301 s early",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS - 301),
            expect: Err(Stale),
        },
        Case {
            name: "tampered body",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: br#"{"test": 2432232315}"#,
            now: at(SPEC_TS),
            expect: Err(Mismatch),
        },
        Case {
            name: "wrong secret",
            scheme: Scheme::StandardWebhooks,
            secret: "whsec_c2VjcmV0LXR3by1zZWNyZXQtdHdvLXNlY3JldA==",
            headers: standard(SPEC_SIGNATURE, SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Mismatch),
        },
        Case {
            name: "several signatures, the second matches",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(&format!("{other_secret_sig} {SPEC_SIGNATURE}"), SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Ok(()),
        },
        Case {
            name: "only an unknown version",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Malformed("webhook-signature")),
        },
        Case {
            name: "partial signature",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard("v1,g0hM9SsE+OTPJTGt", SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Mismatch),
        },
        Case {
            name: "signature not base64",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard("v1,!!!", SPEC_TS),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Mismatch),
        },
        Case {
            name: "missing webhook-id",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, SPEC_TS)
                .into_iter()
                .skip(1)
                .collect(),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Missing("webhook-id")),
        },
        Case {
            name: "timestamp not a number",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: standard(SPEC_SIGNATURE, 0)
                .into_iter()
                .map(|(k, v)| {
                    if k == "webhook-timestamp" {
                        (k, "yesterday".into())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            body: SPEC_BODY,
            now: at(SPEC_TS),
            expect: Err(Malformed("webhook-timestamp")),
        },
        // HubSpot v3.
        Case {
            name: "hubspot v3",
            scheme: Scheme::HubspotV3,
            secret: "hs-secret",
            headers: vec![
                ("X-HubSpot-Signature-v3", hs.clone()),
                ("X-HubSpot-Request-Timestamp", (now * 1000).to_string()),
            ],
            body,
            now: at(now),
            expect: Ok(()),
        },
        Case {
            name: "hubspot v3 stale",
            scheme: Scheme::HubspotV3,
            secret: "hs-secret",
            headers: vec![
                ("X-HubSpot-Signature-v3", hs.clone()),
                ("X-HubSpot-Request-Timestamp", (now * 1000).to_string()),
            ],
            body,
            now: at(now + 301),
            expect: Err(Stale),
        },
        Case {
            name: "hubspot v3 tampered",
            scheme: Scheme::HubspotV3,
            secret: "hs-secret",
            headers: vec![
                ("X-HubSpot-Signature-v3", hs.clone()),
                ("X-HubSpot-Request-Timestamp", (now * 1000).to_string()),
            ],
            body: b"{}",
            now: at(now),
            expect: Err(Mismatch),
        },
        Case {
            name: "hubspot v3 no timestamp",
            scheme: Scheme::HubspotV3,
            secret: "hs-secret",
            headers: vec![("X-HubSpot-Signature-v3", hs)],
            body,
            now: at(now),
            expect: Err(Missing("x-hubspot-request-timestamp")),
        },
        // Typeform.
        Case {
            name: "typeform",
            scheme: Scheme::Typeform,
            secret: "tf-secret",
            headers: vec![("Typeform-Signature", tf.clone())],
            body,
            now: at(now),
            expect: Ok(()),
        },
        Case {
            name: "typeform wrong secret",
            scheme: Scheme::Typeform,
            secret: "other",
            headers: vec![("Typeform-Signature", tf.clone())],
            body,
            now: at(now),
            expect: Err(Mismatch),
        },
        Case {
            name: "typeform without sha256=",
            scheme: Scheme::Typeform,
            secret: "tf-secret",
            headers: vec![(
                "Typeform-Signature",
                tf.trim_start_matches("sha256=").to_owned(),
            )],
            body,
            now: at(now),
            expect: Err(Malformed("typeform-signature")),
        },
        // Webflow.
        Case {
            name: "webflow",
            scheme: Scheme::Webflow,
            secret: "wf-secret",
            headers: vec![
                ("x-webflow-signature", wf.clone()),
                ("x-webflow-timestamp", (now * 1000).to_string()),
            ],
            body,
            now: at(now),
            expect: Ok(()),
        },
        Case {
            name: "webflow replayed 10 min later",
            scheme: Scheme::Webflow,
            secret: "wf-secret",
            headers: vec![
                ("x-webflow-signature", wf.clone()),
                ("x-webflow-timestamp", (now * 1000).to_string()),
            ],
            body,
            now: at(now + 600),
            expect: Err(Stale),
        },
        Case {
            name: "webflow not hex",
            scheme: Scheme::Webflow,
            secret: "wf-secret",
            headers: vec![
                ("x-webflow-signature", "zz".into()),
                ("x-webflow-timestamp", (now * 1000).to_string()),
            ],
            body,
            now: at(now),
            expect: Err(Malformed("x-webflow-signature")),
        },
        // X-Hub-Signature-256.
        Case {
            name: "hub signature",
            scheme: Scheme::HubSignature256,
            secret: "gh-secret",
            headers: vec![("X-Hub-Signature-256", gh.clone())],
            body,
            now: at(now),
            expect: Ok(()),
        },
        Case {
            name: "hub signature tampered",
            scheme: Scheme::HubSignature256,
            secret: "gh-secret",
            headers: vec![("X-Hub-Signature-256", gh)],
            body: b"x",
            now: at(now),
            expect: Err(Mismatch),
        },
        // Bearer.
        Case {
            name: "bearer",
            scheme: Scheme::Bearer,
            secret: "zapier-token-123456",
            headers: vec![("Authorization", "Bearer zapier-token-123456".into())],
            body,
            now: at(now),
            expect: Ok(()),
        },
        Case {
            name: "bearer wrong",
            scheme: Scheme::Bearer,
            secret: "zapier-token-123456",
            headers: vec![("Authorization", "Bearer zapier-token-123457".into())],
            body,
            now: at(now),
            expect: Err(Mismatch),
        },
        Case {
            name: "bearer basic auth instead",
            scheme: Scheme::Bearer,
            secret: "zapier-token-123456",
            headers: vec![("Authorization", "Basic dXNlcjpwYXNz".into())],
            body,
            now: at(now),
            expect: Err(Malformed("authorization")),
        },
        Case {
            name: "bearer missing",
            scheme: Scheme::Bearer,
            secret: "zapier-token-123456",
            headers: vec![],
            body,
            now: at(now),
            expect: Err(Missing("authorization")),
        },
    ];
    assert!(cases.len() >= 20);
    for case in &cases {
        assert_eq!(run(case).map(|_| ()), case.expect, "{}", case.name);
    }
    let verified = run(&cases[0]).expect("spec vector");
    assert_eq!(
        verified.delivery_id.as_deref(),
        Some(SPEC_ID),
        "the webhook-id is the delivery id"
    );
}

#[test]
fn signing_helpers_reproduce_the_spec_vector() {
    assert_eq!(
        sign::standard_webhooks(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY),
        SPEC_SIGNATURE
    );
    assert!(Verifier::new(Scheme::StandardWebhooks, "whsec_***").is_err());
    assert!(Verifier::new(Scheme::Bearer, "  ").is_err());
}

#[test]
fn signing_with_the_decoded_key_is_signing_with_the_secret() {
    let key = standard_webhooks_key(SPEC_SECRET).expect("base64");
    assert_eq!(
        standard_webhooks_key(SPEC_SECRET.trim_start_matches("whsec_")),
        Some(key.clone()),
        "the prefix is optional"
    );
    assert_eq!(
        sign::standard_webhooks_with_key(&key, SPEC_ID, SPEC_TS, SPEC_BODY),
        SPEC_SIGNATURE
    );
    assert_eq!(standard_webhooks_key("whsec_***"), None);
}

/// Timestamps are the sender's: the extremes of i64 (and what parses beyond
/// them) are stale or malformed, never an overflow, for every scheme that
/// carries one, whatever the clock says.
#[test]
fn extreme_timestamps_are_stale_not_overflows() {
    let body: &[u8] = br#"{"email":"jane@example.com"}"#;
    let extremes = [
        i64::MIN,
        i64::MIN + 1,
        i64::MIN / 1000,
        -TOLERANCE_SECONDS - 1,
        -1,
        0,
        i64::MAX / 1000,
        i64::MAX - 1,
        i64::MAX,
    ];
    let clocks = [
        at(1_795_962_251),
        OffsetDateTime::UNIX_EPOCH,
        time::macros::datetime!(-9999-01-01 00:00 UTC),
        time::macros::datetime!(9999-12-31 23:59:59.999 UTC),
    ];
    for now in clocks {
        for ts in extremes {
            let standard = Case {
                name: "standard webhooks",
                scheme: Scheme::StandardWebhooks,
                secret: SPEC_SECRET,
                headers: standard(&sign::standard_webhooks(SPEC_SECRET, SPEC_ID, ts, body), ts),
                body,
                now,
                expect: Err(SignatureError::Stale),
            };
            let hubspot = Case {
                name: "hubspot v3",
                scheme: Scheme::HubspotV3,
                secret: "hs-secret",
                headers: vec![
                    (
                        "X-HubSpot-Signature-v3",
                        sign::hubspot_v3("hs-secret", "POST", URL, body, ts),
                    ),
                    ("X-HubSpot-Request-Timestamp", ts.to_string()),
                ],
                body,
                now,
                expect: Err(SignatureError::Stale),
            };
            let webflow = Case {
                name: "webflow",
                scheme: Scheme::Webflow,
                secret: "wf-secret",
                headers: vec![
                    ("x-webflow-signature", sign::webflow("wf-secret", ts, body)),
                    ("x-webflow-timestamp", ts.to_string()),
                ],
                body,
                now,
                expect: Err(SignatureError::Stale),
            };
            for case in [standard, hubspot, webflow] {
                let fresh = match case.scheme {
                    Scheme::StandardWebhooks => now.unix_timestamp().abs_diff(ts) <= 300,
                    _ => {
                        (now.unix_timestamp_nanos() / 1_000_000 - i128::from(ts)).unsigned_abs()
                            <= 300_000
                    }
                };
                let expect = if fresh { Ok(()) } else { case.expect.clone() };
                assert_eq!(
                    run(&case).map(|_| ()),
                    expect,
                    "{} at {ts}, now {now}",
                    case.name
                );
            }
        }
    }
    // Numbers past i64 do not parse: malformed, not stale, not a panic.
    for ts in ["9223372036854775808", "-9223372036854775809", "1e30"] {
        let case = Case {
            name: "beyond i64",
            scheme: Scheme::StandardWebhooks,
            secret: SPEC_SECRET,
            headers: vec![
                ("webhook-id", SPEC_ID.into()),
                ("webhook-timestamp", ts.into()),
                ("webhook-signature", SPEC_SIGNATURE.into()),
            ],
            body,
            now: at(SPEC_TS),
            expect: Err(SignatureError::Malformed("webhook-timestamp")),
        };
        assert_eq!(run(&case).map(|_| ()), case.expect, "{ts}");
    }
}

/// Millisecond timestamps are compared in milliseconds: 300.5 s old is stale
/// (dividing by 1000 first let it through as 300 s).
#[test]
fn millisecond_timestamps_are_not_rounded_into_the_window() {
    let now = 1_795_962_251_i64;
    let body: &[u8] = br#"{"email":"jane@example.com"}"#;
    for (offset_ms, expect) in [
        (0, Ok(())),
        (-300_000, Ok(())),
        (300_000, Ok(())),
        (-300_500, Err(SignatureError::Stale)),
        (300_999, Err(SignatureError::Stale)),
    ] {
        let ts = now * 1000 + offset_ms;
        let hubspot = Case {
            name: "hubspot v3",
            scheme: Scheme::HubspotV3,
            secret: "hs-secret",
            headers: vec![
                (
                    "X-HubSpot-Signature-v3",
                    sign::hubspot_v3("hs-secret", "POST", URL, body, ts),
                ),
                ("X-HubSpot-Request-Timestamp", ts.to_string()),
            ],
            body,
            now: at(now),
            expect: expect.clone(),
        };
        let webflow = Case {
            name: "webflow",
            scheme: Scheme::Webflow,
            secret: "wf-secret",
            headers: vec![
                ("x-webflow-signature", sign::webflow("wf-secret", ts, body)),
                ("x-webflow-timestamp", ts.to_string()),
            ],
            body,
            now: at(now),
            expect,
        };
        for case in [hubspot, webflow] {
            assert_eq!(
                run(&case).map(|_| ()),
                case.expect,
                "{} {offset_ms}",
                case.name
            );
        }
    }
}
