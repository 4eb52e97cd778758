//! Tracked replies on the in-memory store: the Bcc a rep's reply carries
//! counts as the lead's response once, at the time it was sent, and stops
//! the ladder; a forged, expired, tokenless or untrusted message counts for
//! nothing.

mod support;

use firsthour::claim::LinkKey;
use firsthour::ports::Clock;
use firsthour::reply::ReplyError;
use firsthour::service::inbound::{
    Dropped, InboundService, ReceivedReply, ReplyOutcome, Verdict, Verdicts,
};
use support::*;

const OWNER: &str = "fed-rep-1@example.com";

fn passing() -> Verdicts {
    Verdicts {
        spf: Verdict::Pass,
        dkim: Verdict::Pass,
        dmarc: Verdict::Pass,
        spam: Verdict::Pass,
        virus: Verdict::Pass,
    }
}

/// The Bcc of the reply button in `recipient`'s email.
fn tracked_bcc(world: &World, recipient: &str) -> String {
    let email = world
        .mailer
        .take()
        .into_iter()
        .find(|e| e.to == [recipient])
        .expect("the recipient's email");
    reply_button(&email.html).1["bcc"].clone()
}

fn inbound(
    world: &World,
) -> InboundService<firsthour::memory::MemoryStore, Bus, firsthour::ports::ManualClock> {
    InboundService::new(
        world.touches(),
        world.clock.clone(),
        LinkKey::new(LINK_KEY.as_bytes()).expect("key"),
        INBOUND_DOMAIN.into(),
    )
}

fn reply(to: &str, from: &str, date: &str, received_at: time::OffsetDateTime) -> ReceivedReply {
    ReceivedReply {
        message_id: "ses-message-1".into(),
        recipients: vec!["ann.lee@army.mil".into(), to.into()],
        from: vec![format!("Fed Rep One <{from}>")],
        date: Some(date.into()),
        received_at,
        verdicts: passing(),
    }
}

#[tokio::test]
async fn a_tracked_reply_is_the_response_once_at_its_date_and_stops_the_ladder() {
    let world = World::new();
    let id = world
        .post(r#"{"email":"ann.lee@army.mil","name":"Ann Lee"}"#)
        .await;
    world.route(&id).await.expect("routed");
    let bcc = tracked_bcc(&world, OWNER);
    // Sent at 15:03 (T0 is 15:00 UTC), received a minute later.
    world.clock.set(minute(4));
    let received = reply(&bcc, OWNER, "Mon, 23 Nov 2026 10:03:00 -0500", minute(4));
    let service = inbound(&world);
    assert_eq!(
        service.handle(&received).await,
        Ok(ReplyOutcome::Touched {
            lead: id.clone(),
            touches: 1
        })
    );
    let lead = world.lead(&id);
    assert_eq!(
        lead.sla.first_response_at.as_deref(),
        Some("2026-11-23T15:03:00.000Z")
    );
    assert_eq!(lead.sla.first_response_channel.as_deref(), Some("email"));
    assert_eq!(lead.sla.claimed_by.as_deref(), Some(OWNER));
    // SES delivers it again: counted once.
    assert_eq!(
        service.handle(&received).await,
        Ok(ReplyOutcome::Duplicate { lead: id.clone() })
    );
    assert_eq!(world.lead(&id).sla.touches, 1);
    // The ladder stopped.
    let report = world.sweep_at(&world.sweeper(), minute(5)).await;
    assert_eq!(report.due, 0, "{report:?}");
}

#[tokio::test]
async fn a_date_in_the_future_or_before_the_lead_is_bounded() {
    let world = World::new();
    let id = world.post(r#"{"email":"ann.lee@army.mil"}"#).await;
    world.route(&id).await.expect("routed");
    let bcc = tracked_bcc(&world, OWNER);
    world.clock.set(minute(10));
    let future = reply(&bcc, OWNER, "Tue, 1 Dec 2026 09:00:00 +0000", minute(9));
    inbound(&world).handle(&future).await.expect("handled");
    assert_eq!(
        world.lead(&id).sla.first_response_at.as_deref(),
        Some("2026-11-23T15:09:00.000Z"),
        "never after SES received it"
    );
    let world = World::new();
    let id = world.post(r#"{"email":"ann.lee@army.mil"}"#).await;
    world.route(&id).await.expect("routed");
    let bcc = tracked_bcc(&world, OWNER);
    let past = ReceivedReply {
        date: Some("Thu, 1 Jan 1970 00:00:00 +0000".into()),
        ..reply(&bcc, OWNER, "", minute(2))
    };
    inbound(&world).handle(&past).await.expect("handled");
    assert_eq!(
        world.lead(&id).sla.ms_to_first_response,
        Some(0),
        "never before the lead arrived"
    );
}

#[tokio::test]
async fn forged_expired_tokenless_and_untrusted_messages_touch_nothing() {
    let world = World::new();
    let id = world.post(r#"{"email":"ann.lee@army.mil"}"#).await;
    world.route(&id).await.expect("routed");
    let bcc = tracked_bcc(&world, OWNER);
    let service = inbound(&world);
    let now = world.clock.now();
    let dropped = |outcome| match outcome {
        Ok(ReplyOutcome::Dropped(why)) => Some(why),
        _ => None,
    };
    // Someone else using the rep's address for the lead.
    let forged = reply(
        &bcc,
        "intruder@example.com",
        "Mon, 23 Nov 2026 15:01:00 +0000",
        now,
    );
    assert_eq!(
        dropped(service.handle(&forged).await),
        Some(Dropped::Address(ReplyError::BadSignature))
    );
    // Another lead's id under the rep's MAC.
    let other = firsthour::lead::LeadId::new_at(now);
    let (local, host) = bcc.split_once('@').expect("address");
    let (_, mac) = local.split_once('.').expect("mac");
    let swapped = format!("r+{}.{mac}@{host}", other.as_str().to_ascii_lowercase());
    assert_eq!(
        dropped(service.handle(&reply(&swapped, OWNER, "", now)).await),
        Some(Dropped::Address(ReplyError::BadSignature))
    );
    // No tracked address at all.
    assert_eq!(
        dropped(
            service
                .handle(&reply("sales@example.com", OWNER, "", now))
                .await
        ),
        Some(Dropped::NoTrackedAddress)
    );
    // Spoofed: neither SPF nor DKIM passed; or a failing virus scan.
    let spoofed = ReceivedReply {
        verdicts: Verdicts {
            spf: Verdict::Fail,
            dkim: Verdict::Fail,
            ..passing()
        },
        ..reply(&bcc, OWNER, "", now)
    };
    assert!(matches!(
        dropped(service.handle(&spoofed).await),
        Some(Dropped::Untrusted(_))
    ));
    let infected = ReceivedReply {
        verdicts: Verdicts {
            virus: Verdict::Fail,
            ..passing()
        },
        ..reply(&bcc, OWNER, "", now)
    };
    assert!(matches!(
        dropped(service.handle(&infected).await),
        Some(Dropped::Untrusted(_))
    ));
    // No sender, or two.
    let nobody = ReceivedReply {
        from: vec![],
        ..reply(&bcc, OWNER, "", now)
    };
    assert_eq!(
        dropped(service.handle(&nobody).await),
        Some(Dropped::NoSender)
    );
    let two = ReceivedReply {
        from: vec![OWNER.into(), "x@example.com".into()],
        ..reply(&bcc, OWNER, "", now)
    };
    assert_eq!(dropped(service.handle(&two).await), Some(Dropped::NoSender));
    // Expired: a month after the lead.
    world.clock.set(now + time::Duration::days(31));
    assert_eq!(
        dropped(
            service
                .handle(&reply(&bcc, OWNER, "", now + time::Duration::days(31)))
                .await
        ),
        Some(Dropped::Address(ReplyError::Expired))
    );
    let lead = world.lead(&id);
    assert_eq!(
        (lead.sla.touches, lead.sla.first_response_at),
        (0, None),
        "nothing touched"
    );
}
