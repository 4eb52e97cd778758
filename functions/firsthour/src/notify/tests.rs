use time::macros::datetime;

use super::*;
use crate::email::EmailAddress;
use crate::lead::{Contact, Lead, LeadId, RawField, Source};
use crate::routing::{LeadFacts, Routing};
use crate::sector::{Evidence, Sector, SectorDecision};

fn hostile_item() -> LeadItem {
    let at = datetime!(2026-11-22 14:24:11.123 UTC);
    let lead = Lead {
        id: LeadId::new_at(at),
        received_at: at,
        source: Source::parse("gov-portal").expect("valid"),
        contact: Contact {
            email: EmailAddress::parse("grace@navy.mil").ok(),
            full_name: Some("Grace <script>alert(1)</script> Hopper".into()),
            company: Some("Navy\r\nBcc: victim@example.com".into()),
            message: Some("Need <b>40</b> seats & support\nASAP".into()),
            ..Contact::default()
        },
        client_ip: None,
        user_agent: None,
        delivery_id: None,
        fields: vec![RawField::new("notes", "<img src=x onerror=alert(1)>")],
        fields_truncated: false,
        ignored_files: vec![],
    };
    let sector = SectorDecision {
        sector: Sector::Federal,
        evidence: Evidence::Domain {
            domain: "navy.mil".into(),
            rule: ".mil".into(),
        },
        agency: Some("Department of the Navy".into()),
    };
    let mut route = Routing::default().route(&LeadFacts {
        sector: Sector::Federal,
        source: "gov-portal",
        email_domain: Some("navy.mil"),
        fields: &[],
    });
    route.segment = "federal".into();
    route.recipients = vec!["federal-sales@example.com".into()];
    let mut item = LeadItem::new_received(&lead, &sector, &route, at, at, None);
    item.owner = Some("fed-rep-1@example.com".into());
    item
}

#[test]
fn user_text_never_breaks_a_header() {
    let item = hostile_item();
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
        },
    );
    assert!(
        !email.subject.contains('\r') && !email.subject.contains('\n'),
        "{:?}",
        email.subject
    );
    assert!(
        email
            .subject
            .starts_with("Federal lead: Department of the Navy — Navy Bcc: victim@example.com"),
        "{}",
        email.subject
    );
    assert_eq!(email.reply_to.as_deref(), Some("grace@navy.mil"));
    assert_eq!(
        email.to,
        vec!["federal-sales@example.com", "fed-rep-1@example.com"]
    );
    assert_eq!(header_safe("a\r\nb\tc\u{7}d"), "a b c d");
}

#[test]
fn html_shows_markup_as_text() {
    let item = hostile_item();
    let deadline = datetime!(2026-11-22 14:29:11.123 UTC);
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: Some(deadline),
            claim_url: Some("https://leads.example.com/leads/x/claim?t=a&b=\"c\""),
        },
    );
    for raw in ["<script>", "<img", "<b>40</b>"] {
        assert!(!email.html.contains(raw), "{raw} rendered as markup");
    }
    assert!(email.html.contains("&lt;script&gt;"));
    assert!(
        email
            .html
            .contains("&lt;b&gt;40&lt;/b&gt; seats &amp; support")
    );
    assert!(
        email
            .html
            .contains("href=\"https://leads.example.com/leads/x/claim?t=a&amp;b=&quot;c&quot;\"")
    );
    assert!(
        email
            .text
            .contains("SLA deadline: Sun 22 Nov 2026, 14:29 UTC, 5 min after arrival"),
        "{}",
        email.text
    );
    assert!(email.text.contains("Received: Sun 22 Nov 2026, 14:24 UTC"));
    assert!(
        email.text.contains("Notes: <img src=x onerror=alert(1)>"),
        "text part keeps the value as sent"
    );
    assert!(
        email
            .text
            .contains("Claim this lead (one click): https://leads.example.com/")
    );
}

#[test]
fn other_fields_skip_what_the_summary_shows_and_the_forms_own_fields() {
    let mut item = hostile_item();
    item.phone = Some("+1 (703) 555-0100".into());
    item.fields = vec![
        RawField::new("email", "grace@navy.mil"),
        RawField::new("message", "Need <b>40</b> seats & support\nASAP"),
        RawField::new("hp_website", ""),
        RawField::new("_rendered_at", "1795379755226"),
        RawField::new("_redirect", "https://www.example.com/thanks"),
        RawField::new("contract_vehicle", "NASA SEWP"),
        RawField::new("organization-type", "Military or Department of Defense"),
    ];
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
        },
    );
    let others = email
        .text
        .split("Other submitted fields:\n")
        .nth(1)
        .expect("other fields");
    assert_eq!(
        others.trim_end(),
        "  Contract vehicle: NASA SEWP\n  Organization type: Military or Department of Defense"
    );
    assert!(
        email
            .html
            .contains("<a href=\"mailto:grace@navy.mil\">grace@navy.mil</a>")
    );
    assert!(
        email
            .html
            .contains("<a href=\"tel:+17035550100\">+1 (703) 555-0100</a>")
    );
    assert!(!email.html.contains("_rendered_at"));
}

#[test]
fn header_safe_unbounded_joins_words_with_single_spaces() {
    // The former implementation, kept as the reference.
    fn reference(text: &str) -> String {
        let single: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        single.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    for text in [
        "",
        "   ",
        "Ada",
        " Ada  Lovelace ",
        "a\r\nb\tc\u{7}d",
        "\u{85}x\u{a0}y\u{2028}z\u{0}",
        "José\u{1b}[31m Núñez",
        "\n\n",
    ] {
        assert_eq!(header_safe_unbounded(text), reference(text), "{text:?}");
    }
}
