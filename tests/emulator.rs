//! What the local stack relies on moto for, checked: SES v2 sends can be
//! read back, and EventBridge really evaluates rule patterns.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use firsthour_tests::*;

#[tokio::test]
async fn ses_v2_sends_are_readable_from_the_emulator() {
    let sdk = sdk().await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let sender = format!(
        "leads-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    ses.create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("identity");
    let text = |data: &str| Content::builder().data(data).build().expect("content");
    ses.send_email()
        .from_email_address(&sender)
        .destination(
            Destination::builder()
                .to_addresses("federal-team@example.com")
                .build(),
        )
        .content(
            EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(text("New federal lead"))
                        .body(
                            Body::builder()
                                .html(text("<p>Call them</p>"))
                                .text(text("Call them"))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("send");
    let sent = firsthour_local::mail::sent_messages(&emulator_url())
        .await
        .expect("data.json");
    let mail = sent
        .iter()
        .find(|m| m.from == sender)
        .expect("our email is listed");
    assert_eq!(mail.subject, "New federal lead");
    assert_eq!(mail.to, vec!["federal-team@example.com".to_owned()]);
    assert!(mail.body.contains("Call them"));
    let page = firsthour_local::mail::render_page(&firsthour_local::mail::View {
        mails: &sent,
        filter: &Default::default(),
        cleared: None,
        channels: &firsthour_local::mail::Channels::NotConfigured,
    });
    assert!(page.contains("New federal lead"));
}

#[tokio::test]
async fn rule_patterns_are_evaluated_not_just_forwarded() {
    let t = TestStack::new().await;
    let events = aws_sdk_eventbridge::Client::new(&t.sdk);
    let entry = |source: &str, detail_type: &str, segment: &str| {
        PutEventsRequestEntry::builder()
            .event_bus_name(&t.stack.bus_name)
            .source(source)
            .detail_type(detail_type)
            .detail(format!(
                r#"{{"lead_id":"01KAQ5V3N6X5J0C9W4Y2B7D8EF","segment":"{segment}"}}"#
            ))
            .build()
    };
    events
        .put_events()
        .entries(entry("firsthour", "LeadTouched", "federal"))
        .entries(entry("someone-else", "LeadReceived", "federal"))
        .entries(entry("firsthour", "LeadReceived", "federal"))
        .entries(entry("firsthour", "LeadReceived", "commercial"))
        .send()
        .await
        .expect("put events");
    let federal = t
        .queue_events(
            &t.rule_queue("FederalLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(federal.len(), 1, "{federal:?}");
    assert_eq!(federal[0]["detail"]["segment"], "federal");
    // `anything-but` is evaluated too.
    let other = t
        .queue_events(
            &t.rule_queue("OtherLeadReceived"),
            1,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(other.len(), 1, "{other:?}");
    assert_eq!(other[0]["detail"]["segment"], "commercial");
}
