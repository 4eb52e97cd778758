//! The intake function against moto, through the real SDK clients, with
//! requests shaped exactly as API Gateway and function URLs deliver them.

use std::time::Duration;

use base64::Engine;
use firsthour_tests::*;

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
/// Request headers of one test case.
type Headers<'a> = Vec<(&'a str, &'a str)>;

const EVENT_WAIT: Duration = Duration::from_secs(3);

fn webhook(name: &str) -> Vec<u8> {
    std::fs::read(root().join("events/webhooks").join(name)).expect("fixture")
}

#[tokio::test]
async fn json_lead_is_stored_and_announced() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let body = br#"{"email":"Jane.Doe@Example.COM","first_name":"Jane","last_name":"Doe","company":"Example Inc","phone":"+1 202 555 0143","message":"Call me","utm_source":"google"}"#;
    let (status, headers, text) = parts(
        app.handle(http_api_request("POST", "/leads/zapier", &[JSON], body))
            .await,
    );
    assert_eq!(status, 202, "{text}");
    assert_eq!(
        headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("application/json")
    );
    let answer = json(&text);
    assert_eq!(answer["status"], "accepted");
    let lead_id = answer["lead_id"].as_str().expect("lead id").to_owned();

    let leads = t.leads().await;
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(s(lead, "lead_id"), Some(lead_id.as_str()));
    assert_eq!(
        s(lead, "pk").map(str::to_owned),
        Some(format!("LEAD#{lead_id}"))
    );
    assert_eq!(s(lead, "source"), Some("zapier"));
    assert_eq!(s(lead, "email"), Some("Jane.Doe@example.com"));
    assert_eq!(s(lead, "email_domain"), Some("example.com"));
    assert_eq!(s(lead, "full_name"), Some("Jane Doe"));
    assert_eq!(s(lead, "company"), Some("Example Inc"));
    assert_eq!(s(lead, "utm_source"), Some("google"));
    assert_eq!(s(lead, "client_ip"), Some("198.51.100.7"));
    assert_eq!(s(lead, "routing_state"), Some("unrouted"));
    assert_eq!(s(lead, "due_bucket"), Some("due"));
    assert!(s(lead, "received_at").is_some_and(|t| t.ends_with('Z') && t.len() == 24));
    assert!(
        lead.get("fields")
            .and_then(|f| f.as_l().ok())
            .is_some_and(|f| f.len() == 7)
    );

    let events = t.router_events(1, EVENT_WAIT).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["source"], "firsthour");
    assert_eq!(event["detail-type"], "LeadReceived");
    assert_eq!(event["detail"]["lead_id"], lead_id.as_str());
    assert_eq!(event["detail"]["email_domain"], "example.com");
    let detail = event["detail"].to_string();
    for personal in ["Jane", "Doe", "Call me", "202 555", "Jane.Doe@"] {
        assert!(
            !detail.contains(personal),
            "event carries personal data {personal:?}: {detail}"
        );
    }
}

#[tokio::test]
async fn every_content_type_becomes_the_right_item() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmulti@example.org\r\n\
--b0undary\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMulti Part\r\n\
--b0undary\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"brief.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7 binary\r\n--b0undary--\r\n";
    let cases: Vec<(&str, Headers, Vec<u8>, &str)> = vec![
        (
            "urlencoded",
            vec![FORM],
            b"email=form%40example.org&name=Form+Person".to_vec(),
            "form@example.org",
        ),
        (
            "multipart",
            vec![("content-type", "multipart/form-data; boundary=b0undary")],
            multipart.as_bytes().to_vec(),
            "multi@example.org",
        ),
        (
            "latin1",
            vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=ISO-8859-1",
            )],
            b"email=latin%40example.org&name=Jos%E9".to_vec(),
            "latin@example.org",
        ),
    ];
    for (label, headers, body, email) in cases {
        let (status, _, text) = parts(
            app.handle(http_api_request("POST", "/leads", &headers, &body))
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
        if label == "multipart" {
            assert_eq!(s(&lead, "full_name"), Some("Multi Part"));
            let ignored = lead
                .get("ignored_files")
                .and_then(|v| v.as_l().ok())
                .expect("ignored files recorded");
            assert_eq!(
                ignored[0].as_s().ok().map(String::as_str),
                Some("brief.pdf")
            );
        }
        if label == "latin1" {
            assert_eq!(s(&lead, "full_name"), Some("José"));
        }
    }

    // API Gateway base64-encodes bodies it considers binary.
    let mut event = http_api_event("POST", "/leads/typeform", &[JSON], b"");
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(webhook("typeform.json"))
        .into();
    event["isBase64Encoded"] = true.into();
    let (status, _, text) = parts(app.handle(request_from_event(event)).await);
    assert_eq!(status, 202, "{text}");
    let id = json(&text)["lead_id"].as_str().expect("id").to_owned();
    let lead = t
        .leads()
        .await
        .into_iter()
        .find(|l| s(l, "lead_id") == Some(id.as_str()))
        .expect("typeform lead");
    assert_eq!(s(&lead, "email"), Some("laura.diaz@gsa.gov"));
    assert_eq!(s(&lead, "source"), Some("typeform"));
    assert_eq!(s(&lead, "company"), Some("General Services Administration"));

    // A function URL delivers the same v2 payload from another domain.
    let (status, _, text) = parts(
        app.handle(function_url_request(
            "POST",
            "/leads/webflow",
            &[JSON],
            &webhook("webflow.json"),
        ))
        .await,
    );
    assert_eq!(status, 202, "{text}");
    assert_eq!(t.leads().await.len(), 5);
}

#[tokio::test]
async fn refused_requests_store_and_publish_nothing() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let too_big = vec![b'a'; 256 * 1024 + 1];
    let long_key = "k".repeat(300);
    let cases: Vec<(&str, &str, Headers, &[u8], u16)> = vec![
        (
            "no contact",
            "/leads",
            vec![JSON],
            br#"{"name":"Nobody"}"#,
            422,
        ),
        (
            "bad email",
            "/leads",
            vec![JSON],
            br#"{"email":"not an address"}"#,
            422,
        ),
        ("broken json", "/leads", vec![JSON], br#"{"email":"#, 400),
        ("json array", "/leads", vec![JSON], b"[1]", 400),
        ("empty", "/leads", vec![JSON], b"", 400),
        (
            "bad multipart",
            "/leads",
            vec![("content-type", "multipart/form-data")],
            b"--x",
            400,
        ),
        (
            "xml",
            "/leads",
            vec![("content-type", "application/xml")],
            b"<lead/>",
            415,
        ),
        (
            "bad charset",
            "/leads",
            vec![("content-type", "application/json; charset=nope")],
            b"{}",
            415,
        ),
        ("too large", "/leads", vec![FORM], &too_big, 413),
        (
            "bad source",
            "/leads/bad%20source!",
            vec![JSON],
            br#"{"email":"a@example.com"}"#,
            400,
        ),
        (
            "bad idempotency key",
            "/leads",
            vec![JSON, ("idempotency-key", long_key.as_str())],
            br#"{"email":"a@example.com"}"#,
            400,
        ),
    ];
    for (label, path, headers, body, expected) in cases {
        let (status, headers, text) = parts(
            app.handle(http_api_request("POST", path, &headers, body))
                .await,
        );
        assert_eq!(status, expected, "{label}: {text}");
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{label}"
        );
        let answer = json(&text);
        assert!(
            answer["error"].is_string() && answer["message"].is_string(),
            "{label}: {text}"
        );
        if expected == 422 {
            assert_eq!(answer["field"], "email", "{label}");
        }
    }
    let (status, headers, _) = parts(
        app.handle(http_api_request("GET", "/leads", &[], b""))
            .await,
    );
    assert_eq!(status, 405);
    assert!(headers.contains_key("allow"));
    let (status, _, _) = parts(
        app.handle(http_api_request("POST", "/nothing/here", &[JSON], b"{}"))
            .await,
    );
    assert_eq!(status, 404);

    assert!(t.items().await.is_empty(), "nothing stored");
    assert!(
        t.router_events(0, Duration::from_millis(500))
            .await
            .is_empty(),
        "nothing published"
    );
}

#[tokio::test]
async fn a_delivery_repeated_twenty_times_is_one_lead() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let body = webhook("hubspot-forms.json");
    let headers = [JSON, ("idempotency-key", "hs-delivery-1")];
    let mut ids = Vec::new();
    for _ in 0..20 {
        let (status, _, text) = parts(
            app.handle(http_api_request("POST", "/leads/hubspot", &headers, &body))
                .await,
        );
        assert!(status == 202 || status == 200, "{status}: {text}");
        ids.push(json(&text)["lead_id"].as_str().expect("id").to_owned());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(t.leads().await.len(), 1);
    assert_eq!(t.router_events(1, EVENT_WAIT).await.len(), 1);
}

#[tokio::test]
async fn twenty_concurrent_duplicates_are_one_lead() {
    let t = TestStack::new().await;
    let app = std::sync::Arc::new(t.app().intake());
    let body = webhook("typeform.json");
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let request = http_api_request(
                    "POST",
                    "/leads/typeform",
                    &[JSON, ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
                    &body,
                );
                parts(app.handle(request).await)
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for handle in handles {
        let (status, _, text) = handle.await.expect("task");
        assert!(status == 202 || status == 200, "{status}: {text}");
        created += usize::from(status == 202);
        ids.push(json(&text)["lead_id"].as_str().expect("id").to_owned());
    }
    assert_eq!(created, 1, "exactly one delivery created the lead");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(t.leads().await.len(), 1);
    assert_eq!(t.router_events(1, EVENT_WAIT).await.len(), 1);
}

#[tokio::test]
async fn same_content_without_ids_is_deduplicated_and_reused_ids_with_new_bodies_conflict() {
    let t = TestStack::new().await;
    let app = t.app().intake();
    let body = br#"{"email":"twice@example.com","message":"double click"}"#;
    let (first, _, a) = parts(
        app.handle(http_api_request("POST", "/leads", &[JSON], body))
            .await,
    );
    let (second, _, b) = parts(
        app.handle(http_api_request("POST", "/leads", &[JSON], body))
            .await,
    );
    assert_eq!((first, second), (202, 200));
    assert_eq!(json(&a)["lead_id"], json(&b)["lead_id"]);
    assert_eq!(json(&b)["status"], "duplicate");

    let key = [JSON, ("idempotency-key", "order-7")];
    let (status, _, original) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &key,
            br#"{"email":"k@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(status, 202);
    let (status, _, text) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &key,
            br#"{"email":"other@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(status, 409, "{text}");
    assert_eq!(json(&text)["lead_id"], json(&original)["lead_id"]);
    let leads = t.leads().await;
    assert_eq!(leads.len(), 2);
    assert!(
        leads
            .iter()
            .all(|l| s(l, "email") != Some("other@example.com")),
        "stored lead unchanged"
    );
}

#[tokio::test]
async fn store_down_answers_503_and_publishes_nothing() {
    let t = TestStack::new().await;
    let dead = sdk_at(DEAD_ENDPOINT).await;
    let app = t.app().store_at(&dead).intake();
    let (status, headers, text) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &[JSON],
            br#"{"email":"a@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(status, 503, "{text}");
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert_eq!(json(&text)["error"], "store_unavailable");
    assert!(
        t.router_events(0, Duration::from_millis(800))
            .await
            .is_empty()
    );
    assert!(t.items().await.is_empty());
}

#[tokio::test]
async fn bus_down_keeps_the_lead_and_marks_it_for_redrive() {
    let t = TestStack::new().await;
    let dead = sdk_at(DEAD_ENDPOINT).await;
    let app = t.app().bus_at(&dead).intake();
    let (status, _, text) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &[JSON],
            br#"{"email":"a@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(
        status, 202,
        "the lead is stored, so the sender is done: {text}"
    );
    let leads = t.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(s(&leads[0], "routing_state"), Some("unrouted"));
    assert!(s(&leads[0], "publish_failed_at").is_some());
    let due_at: i64 = leads[0]["due_at"]
        .as_n()
        .expect("due_at")
        .parse()
        .expect("number");
    let received: i64 = leads[0]["received_at_ms"]
        .as_n()
        .expect("ms")
        .parse()
        .expect("number");
    assert!(
        due_at - received < 60_000,
        "made due at once for the re-drive"
    );
}

#[tokio::test]
async fn browser_forms_get_redirects_and_cors_only_for_allowed_origins() {
    let t = TestStack::new().await;
    let app = t
        .app()
        .env(&[
            ("FIRSTHOUR_CORS_ORIGINS", "https://www.example.com"),
            ("FIRSTHOUR_REDIRECT_ORIGINS", "https://www.example.com"),
        ])
        .intake();
    let browser = [
        FORM,
        ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    ];
    let (status, headers, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &browser,
            &webhook("html-form.urlencoded"),
        ))
        .await,
    );
    assert_eq!(status, 303);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("https://www.example.com/thank-you")
    );

    let (status, headers, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &browser,
            b"email=b%40example.com",
        ))
        .await,
    );
    assert_eq!(status, 303);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/thank-you")
    );
    let (status, _, page) = parts(
        app.handle(http_api_request("GET", "/thank-you", &[], b""))
            .await,
    );
    assert_eq!(status, 200);
    assert!(page.contains("Thank you"));

    let (status, _, page) = parts(
        app.handle(http_api_request("POST", "/leads", &browser, b"name=x"))
            .await,
    );
    assert_eq!(status, 422);
    assert!(page.contains("<html") && page.contains("email address or a phone number"));

    let foreign = b"email=c%40example.com&_redirect=https%3A%2F%2Fevil.example%2F";
    let (status, _, text) = parts(
        app.handle(http_api_request("POST", "/leads", &[FORM], foreign))
            .await,
    );
    assert_eq!(status, 202);
    assert!(
        json(&text)["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("redirect_url ignored"))
    );

    let allowed = [JSON, ("origin", "https://www.example.com")];
    let (_, headers, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &allowed,
            br#"{"email":"d@example.com"}"#,
        ))
        .await,
    );
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://www.example.com")
    );
    let other = [JSON, ("origin", "https://evil.example")];
    let (_, headers, _) = parts(
        app.handle(http_api_request(
            "POST",
            "/leads",
            &other,
            br#"{"email":"e@example.com"}"#,
        ))
        .await,
    );
    assert!(!headers.contains_key("access-control-allow-origin"));
    let preflight = [
        ("origin", "https://www.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let (status, headers, _) = parts(
        app.handle(http_api_request(
            "OPTIONS",
            "/leads/webflow",
            &preflight,
            b"",
        ))
        .await,
    );
    assert_eq!(status, 204);
    assert!(headers.contains_key("access-control-allow-methods"));
}

#[tokio::test]
async fn the_sample_lambda_events_are_accepted_as_aws_delivers_them() {
    let t = TestStack::new().await;
    let app = t
        .app()
        .env(&[("FIRSTHOUR_REDIRECT_ORIGINS", "https://www.example.com")])
        .intake();
    let read = |name: &str| {
        std::fs::read_to_string(root().join("events/lambda").join(name)).expect("sample event")
    };
    let (status, _, text) = parts(
        app.handle(
            intake::Request::from_event_json(&read("http-api-v2-post-lead.json"))
                .expect("v2 event"),
        )
        .await,
    );
    assert_eq!(status, 202, "{text}");
    let (status, headers, _) = parts(
        app.handle(
            intake::Request::from_event_json(&read("function-url-post-form.json"))
                .expect("url event"),
        )
        .await,
    );
    assert_eq!(
        status, 303,
        "a browser form post is redirected to its thank-you page"
    );
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("https://www.example.com/thank-you")
    );
    let leads = t.leads().await;
    assert_eq!(leads.len(), 2);
    assert!(leads.iter().any(|l| s(l, "source") == Some("webflow") && s(l, "client_ip") == Some("203.0.113.10")));
    assert!(
        leads
            .iter()
            .any(|l| s(l, "email") == Some("chris.park@example.com")
                && s(l, "client_ip") == Some("198.51.100.42"))
    );
}
