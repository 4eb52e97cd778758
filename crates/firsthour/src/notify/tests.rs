use std::borrow::Cow;

use time::macros::datetime;

use super::*;
use crate::email::EmailAddress;
use crate::lead::{Contact, RawField};
use crate::text::{is_invisible, strip_invisible};

fn hostile_item() -> LeadRecord {
    let mut item = crate::record::fixtures::federal(
        Contact {
            email: EmailAddress::parse("grace@navy.mil").ok(),
            full_name: Some("Grace <script>alert(1)</script> Hopper".into()),
            company: Some("Navy\r\nBcc: victim@example.com".into()),
            message: Some("Need <b>40</b> seats & support\nASAP".into()),
            ..Contact::default()
        },
        vec![RawField::new("notes", "<img src=x onerror=alert(1)>")],
    );
    item.route.recipients = vec!["federal-sales@example.com".into()];
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
            away_url: None,
            reply_url: None,
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
            away_url: None,
            reply_url: None,
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
    item.contact.phone = Some("+1 (703) 555-0100".into());
    item.submission.fields = vec![
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
            away_url: None,
            reply_url: None,
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
fn single_line_joins_words_with_single_spaces() {
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
        assert_eq!(crate::text::single_line(text), reference(text), "{text:?}");
    }
}

#[test]
fn invisible_and_direction_changing_characters_never_reach_a_single_line() {
    for c in [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}',
        '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        '\u{FEFF}', '\u{061C}', '\u{2060}',
    ] {
        assert!(is_invisible(c), "{:04X}", c as u32);
        assert_eq!(
            crate::text::single_line(&format!("na{c}vy {c} mil{c}")),
            "navy mil"
        );
    }
    assert_eq!(
        crate::text::single_line("\u{202E}lim.yvan\u{202C}"),
        "lim.yvan"
    );
    // Joiners that spell: a Persian word, an emoji sequence.
    assert_eq!(
        crate::text::single_line("می\u{200C}خواهم"),
        "می\u{200C}خواهم"
    );
    assert_eq!(crate::text::single_line("👩\u{200D}💻"), "👩\u{200D}💻");
    assert_eq!(crate::text::single_line("navy\u{200D}.mil"), "navy.mil");
    assert_eq!(strip_invisible("a\u{202E}b\nc"), "ab\nc");
    assert!(matches!(strip_invisible("plain\ntext"), Cow::Borrowed(_)));
}

#[test]
fn a_reversed_company_cannot_spoof_the_subject() {
    let mut item = hostile_item();
    item.sector.agency = None;
    item.contact.company = Some("\u{202E}lim.yvan\u{202C} \u{2067}Contracting\u{2069}".into());
    item.contact.full_name = Some("Grace\u{200B} Hopper\u{FEFF}".into());
    item.submission.fields = vec![RawField::new("\u{202E}etisbew", "\u{202E}lim.yvan")];
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    assert_eq!(
        email.subject,
        "Federal lead: lim.yvan Contracting (Grace Hopper)"
    );
    for part in [&email.subject, &email.text, &email.html] {
        assert!(!part.contains(is_invisible), "{part}");
    }
    assert!(
        email.text.contains("  etisbew: lim.yvan\n"),
        "{}",
        email.text
    );
}

#[test]
fn subjects_are_sent_as_ascii_encoded_words_when_they_need_to_be() {
    assert_eq!(
        encode_subject("New web lead: Acme (Jo)"),
        "New web lead: Acme (Jo)"
    );
    let literal = "New web lead: =?utf-8?b?bmF2eS5taWw=?= (Jo)";
    let encoded = encode_subject(literal);
    assert!(encoded.starts_with("=?UTF-8?B?"), "{encoded}");
    assert!(!encoded.contains("=?utf-8?b?"));
    assert_eq!(
        decode_subject(&encoded),
        literal,
        "a client shows the literal text"
    );

    let long = format!(
        "Federal lead: Department of the Navy — {} (Grace)",
        "Ñ𝄞€a".repeat(40)
    );
    let subject = subject_line(&long);
    let encoded = encode_subject(&subject);
    assert!(encoded.is_ascii());
    assert!(
        encoded.len() + "Subject: ".len() <= 998,
        "{}",
        encoded.len()
    );
    for word in encoded.split(' ') {
        assert!(word.len() <= 75, "{word}");
        assert!(
            word.starts_with("=?UTF-8?B?") && word.ends_with("?="),
            "{word}"
        );
    }
    assert_eq!(decode_subject(&encoded), subject);
    // Every word holds whole characters.
    for word in encoded.split(' ') {
        assert!(!decode_subject(word).contains('\u{FFFD}'));
        assert_ne!(decode_subject(word), word);
    }
    // Anything that is not an encoded-word stays as it is.
    for raw in [
        "=?",
        "=?x?B?Zm9v?=",
        "=?UTF-8?B?***?=",
        "a =?UTF-8?Q?caf=C3=A9?= b",
        "=?UTF-8?B?Zm9v?= =?UTF-8?B?YmFy?=",
    ] {
        let _ = decode_subject(raw);
    }
    assert_eq!(
        decode_subject("a =?UTF-8?Q?caf=C3=A9_au_lait?= b"),
        "a café au lait b"
    );
    assert_eq!(
        decode_subject("=?UTF-8?B?Zm9v?= =?UTF-8?B?YmFy?="),
        "foobar"
    );
    assert_eq!(decode_subject("=?x?B?Zm9v?="), "=?x?B?Zm9v?=");
}

#[test]
fn only_the_validated_email_and_phone_are_links() {
    let mut item = hostile_item();
    item.contact.phone = Some("+1 (703) 555-0100 ext. 12".into());
    item.submission.fields = vec![
        RawField::new("Email ", "ceo@evil.example"),
        RawField::new("phone", "+1 900 555 0199"),
        RawField::new("website", "https://evil.example/"),
    ];
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    let links: Vec<&str> = email
        .html
        .match_indices("href=\"")
        .map(|(at, _)| email.html[at + 6..].split('"').next().unwrap_or_default())
        .collect();
    assert_eq!(
        links,
        vec!["mailto:grace@navy.mil", "tel:+17035550100;ext=12"]
    );
    assert!(email.html.contains("ceo@evil.example"));
    assert!(email.html.contains("+1 900 555 0199"));

    // A stored email or phone that is not valid (an item written before
    // the checks) is shown as text.
    item.contact.email = Some("\u{202E}lim.yvan@example.com".into());
    item.contact.phone = Some("call me".into());
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    assert!(!email.html.contains("href=\"mailto:"), "{}", email.html);
    assert!(!email.html.contains("href=\"tel:"));
}

#[test]
fn what_was_cut_is_named_in_the_email() {
    let mut item = hostile_item();
    item.submission.truncated = vec!["phone".into(), "fields".into()];
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    assert!(
        email
            .text
            .contains("(Cut to fit the lead store: phone, fields.)"),
        "{}",
        email.text
    );
    // A lead stored before `truncated` named what was cut.
    item.submission.truncated.clear();
    item.submission.cut_unnamed = true;
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: None,
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    assert!(email.text.contains("Some values were cut to fit"));
}

#[test]
fn a_lead_answered_before_its_email_shows_who_answered_and_no_deadline() {
    let mut item = hostile_item();
    item.sla.claimed_by = Some("ae-1@example.com".into());
    item.sla.touches = 1;
    let email = render_first_notification(
        &item,
        NotificationContext {
            sender: "leads@example.com",
            deadline: Some(datetime!(2026-11-22 14:29:11.123 UTC)),
            claim_url: None,
            away_url: None,
            reply_url: None,
        },
    );
    assert!(
        email
            .text
            .contains("Answered: by ae-1@example.com (the clock is stopped; no escalation)"),
        "{}",
        email.text
    );
    assert!(!email.text.contains("SLA deadline"), "{}", email.text);
}
