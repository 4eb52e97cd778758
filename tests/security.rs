//! Sender authentication at the intake, against moto: a bad signature is a
//! 401 that never reaches the parser or the table.

use base64::Engine;
use firsthour::signature::sign;
use firsthour_tests::*;

const CONFIG: &str = r#"
[sources.typeform]
auth = "typeform"
[sources.standard]
auth = "standard_webhooks"
[sources.hubspot]
auth = "hubspot_v3"
[sources.webflow]
auth = "webflow"
[sources.github-style]
auth = "hub_signature_256"
[sources.zapier]
auth = "bearer"
"#;

const SECRETS: &str = r#"{"typeform":"tf-secret","standard":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","hubspot":"hs-secret","webflow":"wf-secret","github-style":"gh-secret","zapier":"zapier-token-0123456789"}"#;

fn config_file() -> String {
    temp_config(CONFIG)
}

#[tokio::test]
async fn signed_sources_accept_good_signatures_and_refuse_the_rest() {
    let t = TestStack::new().await;
    let path = config_file();
    let app = t
        .app()
        .config(&path)
        .env(&[("FIRSTHOUR_WEBHOOK_SECRETS", SECRETS)])
        .intake();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = br#"{"email":"signed@example.com","message":"hello"}"#;
    let json_type = ("content-type", "application/json");

    let typeform = sign::typeform("tf-secret", body);
    let webflow = sign::webflow("wf-secret", now * 1000, body);
    let hub = sign::hub_signature_256("gh-secret", body);
    let hubspot = sign::hubspot_v3(
        "hs-secret",
        "POST",
        "https://api.example.com/leads/hubspot",
        body,
        now * 1000,
    );
    let standard = sign::standard_webhooks(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        now,
        body,
    );
    let ms = (now * 1000).to_string();
    let ts = now.to_string();
    let good: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "typeform",
            vec![json_type, ("typeform-signature", &typeform)],
        ),
        (
            "webflow",
            vec![
                json_type,
                ("x-webflow-signature", &webflow),
                ("x-webflow-timestamp", &ms),
            ],
        ),
        (
            "github-style",
            vec![json_type, ("x-hub-signature-256", &hub)],
        ),
        (
            "hubspot",
            vec![
                json_type,
                ("x-hubspot-signature-v3", &hubspot),
                ("x-hubspot-request-timestamp", &ms),
            ],
        ),
        (
            "standard",
            vec![
                json_type,
                ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &standard),
            ],
        ),
        (
            "zapier",
            vec![
                json_type,
                ("authorization", "Bearer zapier-token-0123456789"),
            ],
        ),
    ];
    for (source, headers) in &good {
        let (status, _, text) = parts(
            app.handle(http_api_request(
                "POST",
                &format!("/leads/{source}"),
                headers,
                body,
            ))
            .await,
        );
        assert!(status == 202 || status == 200, "{source}: {status} {text}");
    }
    // The content window makes the six one lead per source; none was refused.
    assert_eq!(t.leads().await.len(), 6);

    let tampered = br#"{"email":"signed@example.com","message":"hellO"}"#;
    for (source, headers) in &good {
        let (status, headers_out, text) = parts(
            app.handle(http_api_request(
                "POST",
                &format!("/leads/{source}"),
                headers,
                tampered,
            ))
            .await,
        );
        if *source == "zapier" {
            // A bearer token does not sign the body.
            assert_eq!(status, 202, "{text}");
            continue;
        }
        assert_eq!(status, 401, "{source}: {text}");
        assert!(headers_out.contains_key("www-authenticate"));
        assert_eq!(json(&text)["error"], "unauthenticated");
    }
    for (source, _) in &good {
        let (status, _, text) = parts(
            app.handle(http_api_request(
                "POST",
                &format!("/leads/{source}"),
                &[json_type],
                body,
            ))
            .await,
        );
        assert_eq!(status, 401, "unsigned {source} fails closed: {text}");
        assert!(
            json(&text)["message"]
                .as_str()
                .is_some_and(|m| m.contains("missing")),
            "{text}"
        );
    }
    assert_eq!(
        t.leads().await.len(),
        7,
        "only the bearer-authenticated tampered body was stored"
    );

    // Unconfigured sources still take unsigned leads.
    let (status, _, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads/contact-page",
            &[json_type],
            br#"{"email":"open@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(status, 202);
}

#[tokio::test]
async fn signatures_are_checked_over_the_bytes_sent_even_base64_encoded() {
    let t = TestStack::new().await;
    let path = config_file();
    let app = t
        .app()
        .config(&path)
        .env(&[("FIRSTHOUR_WEBHOOK_SECRETS", SECRETS)])
        .intake();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Latin-1 form bytes: not valid UTF-8, so API Gateway would base64 them.
    let body: &[u8] = b"email=latin%40example.org&name=Jos\xe9";
    let signature = sign::standard_webhooks(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_latin",
        now,
        body,
    );
    let ts = now.to_string();
    let mut event = http_api_event(
        "POST",
        "/leads/standard",
        &[
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=ISO-8859-1",
            ),
            ("webhook-id", "msg_latin"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &signature),
        ],
        b"",
    );
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    event["isBase64Encoded"] = true.into();
    let (status, _, text) = parts(app.handle(request_from_event(event.clone())).await);
    assert_eq!(status, 202, "{text}");
    // The same signed delivery again: its webhook-id makes it a duplicate.
    let (status, _, text) = parts(app.handle(request_from_event(event)).await);
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["status"], "duplicate");
    let leads = t.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(s(&leads[0], "delivery_id"), Some("msg_latin"));
}

#[test]
fn a_source_that_requires_a_signature_without_a_secret_stops_the_cold_start() {
    let path = config_file();
    let env = [
        ("FIRSTHOUR_TABLE_NAME", "t"),
        ("FIRSTHOUR_EVENT_BUS_NAME", "b"),
        ("FIRSTHOUR_CONFIG_FILE", path.as_str()),
        ("FIRSTHOUR_WEBHOOK_SECRETS", r#"{"typeform":"x"}"#),
    ];
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let err =
        firsthour::config::IntakeSettings::from_env(&firsthour::config::EnvReader::new(lookup))
            .expect_err("fail closed");
    assert!(
        err.to_string().contains("FIRSTHOUR_WEBHOOK_SECRETS"),
        "{err}"
    );
    let no_secrets = [
        ("FIRSTHOUR_TABLE_NAME", "t"),
        ("FIRSTHOUR_EVENT_BUS_NAME", "b"),
        ("FIRSTHOUR_CONFIG_FILE", path.as_str()),
    ];
    let lookup = |k: &str| {
        no_secrets
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    assert!(
        firsthour::config::IntakeSettings::from_env(&firsthour::config::EnvReader::new(lookup))
            .is_err()
    );
}

#[tokio::test]
async fn spam_gets_the_same_answer_and_is_not_stored() {
    let t = TestStack::new().await;
    // A fixed clock: the per-minute counter must not roll over mid-test.
    let at = time::macros::datetime!(2026-11-23 15:00:05 UTC);
    let app = t
        .app()
        .clock(firsthour::ports::ManualClock::new(at))
        .intake();
    let form = ("content-type", "application/x-www-form-urlencoded");
    let now_ms = at.unix_timestamp() * 1000;
    let human = format!(
        "email=human%40example.com&_gotcha=&_rendered_at={}",
        now_ms - 20_000
    );
    let (status, _, real) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &[form],
            human.as_bytes(),
        ))
        .await,
    );
    assert_eq!(status, 202);
    let bot = "email=bot%40example.com&_gotcha=http%3A%2F%2Fcheap-pills.example";
    let (status, _, text) = parts(
        app.handle(http_api_request("POST", "/leads", &[form], bot.as_bytes()))
            .await,
    );
    assert_eq!(status, 202, "the honeypot answer looks like success");
    assert_eq!(json(&text)["status"], json(&real)["status"]);
    assert!(
        json(&text)["lead_id"]
            .as_str()
            .is_some_and(|id| id.len() == 26)
    );
    let hasty = format!("email=fast%40example.com&_rendered_at={}", now_ms - 400);
    let (status, _, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &[form],
            hasty.as_bytes(),
        ))
        .await,
    );
    assert_eq!(status, 202);
    let leads = t.leads().await;
    assert_eq!(leads.len(), 1, "only the human was stored");
    assert_eq!(s(&leads[0], "email"), Some("human@example.com"));
    assert!(
        t.router_events(1, std::time::Duration::from_secs(2))
            .await
            .len()
            == 1,
        "and announced"
    );

    // 30 a minute per client IP (the default). Past it, a server-to-server
    // sender (JSON, no browser) gets 429 with Retry-After and stores
    // nothing; it retries, so nothing is lost.
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..40 {
        let body = format!(r#"{{"email":"flood{i}@example.com"}}"#);
        let (status, headers, text) = parts(
            app.handle(http_api_request(
                "POST",
                "/leads",
                &[("content-type", "application/json")],
                body.as_bytes(),
            ))
            .await,
        );
        *statuses.entry(status).or_insert(0) += 1;
        if status == 429 {
            assert_eq!(json(&text)["error"], "rate_limited", "{text}");
            assert_eq!(
                headers.get("retry-after").and_then(|v| v.to_str().ok()),
                Some("55"),
                "the seconds left in the minute"
            );
        } else {
            assert_eq!(status, 202, "{text}");
        }
    }
    let stored = t.leads().await.len();
    assert!(
        (30..=31).contains(&stored),
        "the limit kept {stored} of 41 from one IP"
    );
    assert_eq!(
        statuses.get(&429).copied().unwrap_or(0) + stored,
        41,
        "every lead past the limit was told to retry: {statuses:?}"
    );
    // A browser form post past the limit gets the quiet fake success.
    let (status, _, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &[
                form,
                ("sec-fetch-mode", "navigate"),
                ("accept", "text/html"),
            ],
            b"email=late%40example.com",
        ))
        .await,
    );
    assert_eq!(status, 303, "redirected to the thank-you page, not stored");
    assert_eq!(t.leads().await.len(), stored);
}

/// Server-to-server senders post from one address. Past the limit they are
/// told to retry (never acknowledged and thrown away), and a delivery id
/// already stored always answers with its own lead, whatever the rate.
#[tokio::test]
async fn past_the_rate_limit_no_lead_is_lost_and_no_id_is_invented() {
    let t = TestStack::new().await;
    let at = time::macros::datetime!(2026-11-23 16:00:01 UTC);
    let clock = firsthour::ports::ManualClock::new(at);
    let app = std::sync::Arc::new(t.app().clock(clock.clone()).intake());
    let post = |app: std::sync::Arc<Intake<firsthour::ports::ManualClock>>,
                body: String,
                key: Option<String>| async move {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(key) = &key {
            headers.push(("idempotency-key", key.as_str()));
        }
        let (status, _, text) = parts(
            app.handle(http_api_request(
                "POST",
                "/leads",
                &headers,
                body.as_bytes(),
            ))
            .await,
        );
        (status, json(&text)["lead_id"].as_str().map(str::to_owned))
    };
    // One stored lead with a key, then the address goes past its limit.
    let keyed = r#"{"email":"backlog@example.com","message":"first"}"#.to_owned();
    let (status, first_id) = post(app.clone(), keyed.clone(), Some("crm-42".into())).await;
    assert_eq!(status, 202);
    for i in 0..29 {
        let (status, _) = post(
            app.clone(),
            format!(r#"{{"email":"warm{i}@example.com"}}"#),
            None,
        )
        .await;
        assert_eq!(status, 202);
    }
    // 50 concurrent deliveries of a new keyed lead and 50 of the stored one.
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let (body, key) = if i % 2 == 0 {
                (r#"{"email":"new@example.com"}"#.to_owned(), "crm-43")
            } else {
                (keyed.clone(), "crm-42")
            };
            tokio::spawn(post(app.clone(), body, Some(key.into())))
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let (status, id) = handle.await.expect("task");
        if i % 2 == 0 {
            assert_eq!(
                (status, id),
                (429, None),
                "a new lead past the limit: retry"
            );
        } else {
            assert_eq!(status, 200, "a stored delivery: its lead");
            assert_eq!(id, first_id, "never an invented id");
        }
    }
    // 45 different leads at once: all told to retry, none acknowledged.
    let handles: Vec<_> = (0..45)
        .map(|i| {
            tokio::spawn(post(
                app.clone(),
                format!(r#"{{"email":"replay{i}@example.com"}}"#),
                None,
            ))
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.expect("task").0, 429);
    }
    assert_eq!(t.leads().await.len(), 30);
    // The senders retry in the next minute: everything lands, once.
    clock.set(at + std::time::Duration::from_secs(60));
    let (status, new_id) = post(
        app.clone(),
        r#"{"email":"new@example.com"}"#.into(),
        Some("crm-43".into()),
    )
    .await;
    assert_eq!(status, 202);
    for _ in 0..3 {
        let (status, id) = post(
            app.clone(),
            r#"{"email":"new@example.com"}"#.into(),
            Some("crm-43".into()),
        )
        .await;
        assert_eq!((status, id.as_ref()), (200, new_id.as_ref()));
    }
    for i in 0..25 {
        let (status, _) = post(
            app.clone(),
            format!(r#"{{"email":"replay{i}@example.com"}}"#),
            None,
        )
        .await;
        assert_eq!(status, 202);
    }
    assert_eq!(t.leads().await.len(), 56);
}

#[tokio::test]
async fn ten_thousand_mutated_signed_requests_are_all_refused() {
    let t = TestStack::new().await;
    let path = config_file();
    let app = t
        .app()
        .config(&path)
        .env(&[("FIRSTHOUR_WEBHOOK_SECRETS", SECRETS)])
        .intake();
    let body = std::fs::read(root().join("events/webhooks/typeform.json")).expect("fixture");
    let signature = sign::typeform("tf-secret", &body);
    // A small deterministic generator: the same mutations on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        let mut mutated = body.clone();
        let mut sig = signature.clone().into_bytes();
        match next() % 4 {
            0 => {
                let i = (next() as usize) % mutated.len();
                mutated[i] ^= (next() % 255 + 1) as u8;
            }
            1 => mutated.truncate((next() as usize) % mutated.len()),
            2 => {
                let i = (next() as usize) % mutated.len();
                mutated.insert(i, (next() % 256) as u8);
            }
            _ => {
                let i = 7 + (next() as usize) % (sig.len() - 7);
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ+/=%\\";
                let original = sig[i];
                // Always a different character: an unchanged signature is not a mutation.
                sig[i] = alphabet
                    .iter()
                    .copied()
                    .cycle()
                    .skip((next() as usize) % alphabet.len())
                    .find(|c| *c != original)
                    .unwrap_or(b'%');
            }
        }
        let sig = String::from_utf8_lossy(&sig).into_owned();
        let headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("typeform-signature", sig.as_str()),
        ];
        let mut event = http_api_event("POST", "/leads/typeform", &[], b"");
        // Header values may not survive as HTTP headers: set them in the event as a gateway would pass them.
        for (name, value) in &headers {
            event["headers"][*name] = (*value).into();
        }
        event["body"] = base64::engine::general_purpose::STANDARD
            .encode(&mutated)
            .into();
        event["isBase64Encoded"] = true.into();
        let Ok(request) = intake::Request::from_event_json(&event.to_string()) else {
            *statuses.entry(0u16).or_insert(0) += 1;
            continue;
        };
        let (status, _, _) = parts(app.handle(request).await);
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert!(
        statuses.keys().all(|s| (400..500).contains(s) || *s == 0),
        "{statuses:?}"
    );
    assert!(t.items().await.is_empty(), "nothing stored: {statuses:?}");
}

#[tokio::test]
async fn fifty_concurrent_identical_deliveries_are_one_lead_one_event_one_email() {
    let t = TestStack::new().await;
    let app = std::sync::Arc::new(t.app().intake());
    let body = std::fs::read(root().join("events/webhooks/gravityforms.json")).expect("fixture");
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let headers = [
                    ("content-type", "application/json"),
                    ("idempotency-key", "gf-entry-1287"),
                ];
                parts(
                    app.handle(http_api_request(
                        "POST",
                        "/leads/gravityforms",
                        &headers,
                        &body,
                    ))
                    .await,
                )
                .0
            })
        })
        .collect();
    for handle in handles {
        let status = handle.await.expect("task");
        assert!(status == 202 || status == 200, "{status}");
    }
    assert_eq!(t.leads().await.len(), 1);
    let events = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            1,
            std::time::Duration::from_secs(3),
        )
        .await;
    assert_eq!(events.len(), 1);
    // Deliver the event 50 times at once too: one email to the team.
    let router = std::sync::Arc::new(t.app().router());
    let marker = events[0]["detail"]["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let router = router.clone();
            let event: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
                serde_json::from_value(events[0].clone()).expect("event");
            tokio::spawn(async move { router.handle(event).await })
        })
        .collect();
    for handle in handles {
        assert!(handle.await.expect("task").is_ok());
    }
    let mails: Vec<_> = firsthour_local::mail::sent_messages(&emulator_url())
        .await
        .expect("mail")
        .into_iter()
        .filter(|m| m.body.contains(&marker) && m.to == ["federal-sales@example.com"])
        .collect();
    assert_eq!(mails.len(), 1, "one email to the federal team");
}

/// A government address the sender does not own never makes a lead
/// federal: a second email field sent first (each body type), and a
/// homoglyph or punycode government domain. The other address is kept.
#[tokio::test]
async fn a_spoofed_government_address_never_makes_a_lead_federal() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"work_email\"\r\n\r\nx@state.gov\r\n\
--b0undary\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmulti@acme.example\r\n--b0undary--\r\n";
    let cases: Vec<(&str, &str, Vec<u8>, &str, &str)> = vec![
        (
            "urlencoded",
            "application/x-www-form-urlencoded",
            b"work_email=x%40state.gov&email=form%40acme.example&name=A".to_vec(),
            "form@acme.example",
            "commercial",
        ),
        (
            "json",
            "application/json",
            br#"{"work_email":"x@state.gov","email":"json@acme.example"}"#.to_vec(),
            "json@acme.example",
            "commercial",
        ),
        (
            "multipart",
            "multipart/form-data; boundary=b0undary",
            multipart.as_bytes().to_vec(),
            "multi@acme.example",
            "commercial",
        ),
        (
            "a Cyrillic a in navy.mil",
            "application/json",
            "{\"email\":\"grace@n\u{430}vy.mil\"}".as_bytes().to_vec(),
            "grace@n\u{430}vy.mil",
            "government_unverified",
        ),
        (
            "a punycode state.gov",
            "application/x-www-form-urlencoded",
            b"email=pat%40xn--stte-63d.gov".to_vec(),
            "pat@xn--stte-63d.gov",
            "government_unverified",
        ),
    ];
    for (label, content_type, body, email, sector) in cases {
        let (status, _, text) = parts(
            app.handle(http_api_request(
                "POST",
                "/leads",
                &[("content-type", content_type)],
                &body,
            ))
            .await,
        );
        assert_eq!(status, 202, "{label}: {text}");
        let id = json(&text)["lead_id"].as_str().expect("id").to_owned();
        let lead = t
            .leads()
            .await
            .into_iter()
            .find(|l| s(l, "lead_id") == Some(id.as_str()))
            .expect(label);
        assert_eq!(s(&lead, "email"), Some(email), "{label}");
        assert_eq!(s(&lead, "sector"), Some(sector), "{label}");
        if sector == "commercial" {
            let kept = lead
                .get("fields")
                .and_then(|f| f.as_l().ok())
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_m().ok())
                .any(|f| {
                    f.get("value")
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|v| v == "x@state.gov")
                });
            assert!(kept, "{label}: the other address stays in the raw fields");
        }
    }
}

/// The shipped rules with a Slack app channel the federal rule tells.
fn slack_rules() -> String {
    let shipped = std::fs::read_to_string(shipped_config()).expect("shipped rules");
    temp_config(&format!(
        "{}\n[channels.federal-slack]\nkind = \"slack\"\nchannel = \"C0FEDERAL01\"\nusers = {{ U0FEDREP01 = \"fed-rep-1@example.com\" }}\n",
        shipped.replace(
            r#"recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS"]"#,
            r#"recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS", "channel:federal-slack"]"#
        )
    ))
}

#[tokio::test]
async fn slacks_claim_button_is_refused_at_the_edge_unless_slack_signed_it() {
    let t = TestStack::new().await;
    let signing_secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let secrets = serde_json::json!({
        "federal-slack": {"bot_token": "xoxb-1-2-abc", "signing_secret": signing_secret}
    })
    .to_string();
    let rules = slack_rules();

    // Not set up: 404 naming how; set up wrong: 503 naming what to fix; the
    // intake takes leads all the same.
    let plain = t.app().intake();
    let (status, _, body) = parts(
        plain
            .handle(http_api_request(
                "POST",
                "/slack/interactions",
                &[],
                b"payload=%7B%7D",
            ))
            .await,
    );
    assert_eq!(status, 404, "nothing to click: {body}");
    assert!(
        body.contains("no [channels] entry is a Slack app"),
        "{body}"
    );
    let broken = t
        .app()
        .config(&rules)
        .env(&[(
            "FIRSTHOUR_OUTBOUND_SECRETS",
            r#"{"federal-slack": {"bot_token": "xoxp-user"}}"#,
        )])
        .intake();
    let (status, _, body) = parts(
        broken
            .handle(http_api_request("POST", "/slack/interactions", &[], b""))
            .await,
    );
    assert_eq!(status, 503);
    assert!(body.contains("federal-slack"), "names the entry: {body}");
    assert!(!body.contains("xoxp-user"), "never the value: {body}");
    post_json_lead(&broken, r#"{"email":"ada@navy.mil","name":"Ada"}"#).await;

    let app = t
        .app()
        .config(&rules)
        .env(&[("FIRSTHOUR_OUTBOUND_SECRETS", secrets.as_str())])
        .intake();
    let payload = |lead: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "payload",
                &serde_json::json!({
                    "type": "block_actions",
                    "user": {"id": "U0FEDREP01"},
                    "container": {"channel_id": "C0FEDERAL01"},
                    "actions": [{"action_id": "firsthour_claim", "value": lead}],
                })
                .to_string(),
            )
            .finish()
    };
    let signed = |body: &str, at: i64| {
        let signature = firsthour::signature::sign::body_mac(
            firsthour::signature::Scheme::Slack,
            signing_secret,
            Some(at),
            body.as_bytes(),
            None,
        )
        .expect("Slack signs");
        (signature, at.to_string())
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let call = |body: String, headers: Vec<(String, String)>| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            parts(
                app.handle(http_api_request(
                    "POST",
                    "/slack/interactions",
                    &headers,
                    body.as_bytes(),
                ))
                .await,
            )
        }
    };
    let lead = post_json_lead(&app, r#"{"email":"grace@navy.mil","name":"Grace"}"#).await;
    let body = payload(&lead);

    // Unsigned, forged, replayed: 401 with the reason, nothing claimed.
    let (status, _, text) = call(body.clone(), vec![]).await;
    assert_eq!(status, 401, "{text}");
    assert!(
        text.contains("x-slack-signature header is missing"),
        "{text}"
    );
    let (forged, at) = signed(&body, now);
    let (status, _, _) = call(
        payload("01KAQ5WZ8Y3Q6T0B7H2M4N9P1R"),
        vec![
            ("x-slack-signature".into(), forged.clone()),
            ("x-slack-request-timestamp".into(), at.clone()),
        ],
    )
    .await;
    assert_eq!(status, 401, "a signature for another body");
    let (old, old_at) = signed(&body, now - 600);
    let (status, _, text) = call(
        body.clone(),
        vec![
            ("x-slack-signature".into(), old),
            ("x-slack-request-timestamp".into(), old_at),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(text.contains("5 minutes"), "{text}");
    let (status, _, _) = parts(
        app.handle(http_api_request("GET", "/slack/interactions", &[], b""))
            .await,
    );
    assert_eq!(status, 405);

    // Signed but not a Claim click: 400 naming why.
    let garbage = "payload=%7Bnot%20json";
    let (sig, at2) = signed(garbage, now);
    let (status, _, text) = call(
        garbage.to_owned(),
        vec![
            ("x-slack-signature".into(), sig),
            ("x-slack-request-timestamp".into(), at2),
        ],
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not JSON"), "{text}");

    // Signed, the mapped rep's click: 200 and the lead is theirs.
    let (status, _, text) = call(
        body,
        vec![
            ("x-slack-signature".into(), forged),
            ("x-slack-request-timestamp".into(), at),
        ],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let leads = t.leads().await;
    let item = leads
        .iter()
        .find(|i| s(i, "lead_id") == Some(lead.as_str()))
        .expect("the lead");
    assert_eq!(s(item, "claimed_by"), Some("fed-rep-1@example.com"));
}
