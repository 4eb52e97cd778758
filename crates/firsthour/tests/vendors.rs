//! Every form, booking and chat tool in `events/webhooks/vendors.json`,
//! posted as the tool documents it: the lead carries the right email,
//! name, company and phone, with no mapping configured, and never the
//! address of someone who is not the lead (a host, an organiser).

use std::path::PathBuf;

use firsthour::intake::{IntakeContext, limits, normalise};
use firsthour::lead::{RequestMeta, Source};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_vendor_body_gives_the_lead_its_contact() {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("events/webhooks/vendors.json")).expect("vendors.json"),
    )
    .expect("vendors.json is JSON");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for case in manifest.as_array().expect("a list") {
        let file = case["file"].as_str().expect("file");
        let body = std::fs::read(root().join("events/webhooks").join(file)).expect("fixture");
        let source = Source::parse(case["source"].as_str().expect("source")).expect("source");
        let meta = RequestMeta::default();
        let context = IntakeContext {
            source: &source,
            meta: &meta,
            mapping: None,
            max_body_bytes: limits::DEFAULT_MAX_BODY_BYTES,
            received_at: time::OffsetDateTime::now_utc(),
        };
        let lead = match normalise(&body, case["content_type"].as_str(), context) {
            Ok(normalised) => {
                // A booking is a meeting with the host: never with nobody.
                let booking = file.starts_with("calendly") || file.starts_with("cal-com");
                match &normalised.meeting {
                    Some(meeting) if booking => {
                        let host = meeting.host.as_deref().unwrap_or_default();
                        let hosts = case["not_the_lead"].as_array().expect("hosts");
                        if !hosts.iter().any(|h| h.as_str() == Some(host)) {
                            wrong.push(format!("{file}: meeting host {host:?}"));
                        }
                    }
                    None if booking => wrong.push(format!("{file}: no booked meeting")),
                    Some(_) => wrong.push(format!("{file}: a meeting in a form post")),
                    None => {}
                }
                normalised.lead
            }
            Err(err) => {
                wrong.push(format!("{file}: refused: {err}"));
                continue;
            }
        };
        let c = &lead.contact;
        let full_name = c
            .full_name
            .clone()
            .or_else(|| match (&c.first_name, &c.last_name) {
                (Some(first), Some(last)) => Some(format!("{first} {last}")),
                _ => None,
            });
        let got = |field: &str| -> Option<String> {
            match field {
                "email" => c.email.as_ref().map(|e| e.as_str().to_owned()),
                "first_name" => c.first_name.clone(),
                "last_name" => c.last_name.clone(),
                "full_name" => full_name.clone(),
                "company" => c.company.clone(),
                "phone" => c.phone.clone(),
                _ => None,
            }
        };
        for (field, expected) in case["expected"].as_object().expect("expected") {
            checked += 1;
            let expected = expected.as_str().unwrap_or_default();
            let got = got(field);
            if got.as_deref().map(str::trim) != Some(expected.trim()) {
                wrong.push(format!("{file}: {field} = {got:?}, expected {expected:?}"));
            }
        }
        for not_lead in case["not_the_lead"].as_array().into_iter().flatten() {
            let not_lead = not_lead.as_str().unwrap_or_default();
            if c.email.as_ref().map(|e| e.as_str()) == Some(not_lead) {
                wrong.push(format!(
                    "{file}: the host or organiser {not_lead} became the lead"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} fields wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
