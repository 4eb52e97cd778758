//! Every tool in `events/webhooks/vendors.json` posted to the intake on
//! moto as the tool sends it, with its signature verified where the tool
//! signs: a stored lead with the person's email, never a host's.

use firsthour::signature::{Scheme, sign};
use firsthour_tests::*;

/// The secret every fixture is signed with (vendors.json).
const SECRET: &str = "whsec_test_firsthour_0123456789";

/// Each signed source and its scheme; the secret is the same for all.
const SIGNED: [(&str, Scheme); 8] = [
    ("tally", Scheme::Tally),
    ("formstack", Scheme::Formstack),
    ("wpforms", Scheme::Wpforms),
    ("framer", Scheme::Framer),
    ("calendly", Scheme::Calendly),
    ("cal-com", Scheme::CalCom),
    ("intercom", Scheme::Intercom),
    ("wufoo", Scheme::HandshakeKey),
];

#[tokio::test]
async fn every_tool_posts_a_lead_through_the_intake_with_its_signature_checked() {
    let t = TestStack::new().await;
    let config: String = SIGNED
        .iter()
        .map(|(source, scheme)| format!("[sources.{source}]\nauth = \"{}\"\n", scheme.as_str()))
        .collect();
    let secrets = serde_json::Value::Object(
        SIGNED
            .iter()
            .map(|(source, _)| ((*source).to_owned(), SECRET.into()))
            .collect(),
    )
    .to_string();
    let path = temp_config(&config);
    let app = t
        .app()
        .config(&path)
        .env(&[("FIRSTHOUR_WEBHOOK_SECRETS", &secrets)])
        .intake();
    let manifest = json(
        &std::fs::read_to_string(root().join("events/webhooks/vendors.json"))
            .expect("vendors.json"),
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut posted = 0;
    let mut seen: Vec<serde_json::Value> = Vec::new();
    for case in manifest.as_array().expect("a list") {
        let file = case["file"].as_str().expect("file");
        let mut source = case["source"].as_str().expect("source").to_owned();
        let body = std::fs::read(root().join("events/webhooks").join(file)).expect("fixture");
        let mut headers: Vec<(String, String)> = case["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
            .collect();
        headers.push((
            "content-type".into(),
            case["content_type"].as_str().expect("type").to_owned(),
        ));
        match source.as_str() {
            // Signed with a timestamp: signed again now, the body as sent.
            "calendly" | "wpforms" if !file.ends_with(".urlencoded") => {
                let (name, scheme) = if source == "calendly" {
                    ("calendly-webhook-signature", Scheme::Calendly)
                } else {
                    ("x-wpforms-webhook-signature", Scheme::Wpforms)
                };
                headers.retain(|(k, _)| k != name);
                let signature =
                    sign::body_mac(scheme, SECRET, Some(now), &body, None).expect("an HMAC scheme");
                headers.push((name.to_owned(), signature));
            }
            // WPForms' form format signs a JSON re-encoding of the fields,
            // not the bytes it sends: such a source stays unsigned.
            "wpforms" => source = "wpforms-form".into(),
            _ => {}
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let path = format!("/leads/{source}");
        let (status, _, text) = parts(
            app.handle(http_api_request("POST", &path, &header_refs, &body))
                .await,
        );
        let answer = json(&text);
        // Variants of one submission (Jotform's multipart and form shapes)
        // share its delivery id: the second is refused as a conflict, as a
        // real resend with another body would be.
        let variant = seen.contains(&case["vendor"]);
        assert!(
            status == 202
                || (status == 200 && answer["status"] == "duplicate")
                || (variant && status == 409 && answer["error"] == "delivery_conflict"),
            "{file}: {status} {text}"
        );
        seen.push(case["vendor"].clone());
        posted += 1;

        // Tampered: refused before anything is read or stored.
        if SIGNED.iter().any(|(signed, _)| *signed == source) {
            let mut tampered = body.clone();
            tampered.extend_from_slice(b"\n");
            if source == "wufoo" {
                tampered = String::from_utf8_lossy(&body)
                    .replace("HandshakeKey=whsec", "HandshakeKey=wrong")
                    .into_bytes();
            }
            let (status, _, text) = parts(
                app.handle(http_api_request("POST", &path, &header_refs, &tampered))
                    .await,
            );
            assert_eq!(status, 401, "{file} tampered: {text}");
        }
    }
    assert_eq!(posted, manifest.as_array().map_or(0, Vec::len));

    // Every expected person is a stored lead; no host became one; no shared
    // secret was stored.
    let leads = t.leads().await;
    let stored: Vec<&str> = leads.iter().filter_map(|lead| s(lead, "email")).collect();
    for case in manifest.as_array().expect("a list") {
        if let Some(email) = case["expected"]["email"].as_str() {
            assert!(stored.contains(&email), "{}: {email} stored", case["file"]);
        }
        for host in case["not_the_lead"].as_array().into_iter().flatten() {
            let host = host.as_str().unwrap_or_default();
            assert!(
                !stored.contains(&host),
                "{}: {host} is not a lead",
                case["file"]
            );
        }
    }
    // A booked meeting is a touch by its host: the clock stopped, no ladder.
    for (email, host) in [
        ("dana.ruiz@example.org", "ae-1@oursaas.example"),
        ("k.lee@jpl.nasa.gov", "ae-1@oursaas.example"),
        ("t.herrera@example.com", "ae-1@oursaas.example"),
    ] {
        let lead = leads
            .iter()
            .find(|lead| s(lead, "email") == Some(email))
            .unwrap_or_else(|| panic!("{email} stored"));
        assert_eq!(
            s(lead, "claimed_by"),
            Some(host),
            "{email}: touched by the host"
        );
        assert!(s(lead, "first_touch_at").is_some(), "{email}: first touch");
    }
    let touched_by_chat = leads
        .iter()
        .find(|lead| s(lead, "email") == Some("lena.fischer@example.org"))
        .expect("the Intercom lead");
    assert_eq!(
        s(touched_by_chat, "claimed_by"),
        None,
        "a chat lead waits for a rep"
    );
    let everything = format!("{leads:?}");
    assert!(!everything.contains(SECRET), "a HandshakeKey was stored");
}
