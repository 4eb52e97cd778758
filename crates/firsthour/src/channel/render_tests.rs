use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::email::EmailAddress;
use crate::lead::Contact;

const HOSTILE: &str =
    "<!channel> <@U024BE7LH> <https://evil.example|click> & *bold* [x](https://evil.example)";
const CLAIM_URL: &str = "https://leads.example.com/leads/01J/claim?t=abc";

fn federal_lead() -> LeadRecord {
    let mut lead = crate::record::fixtures::federal(
        Contact {
            email: EmailAddress::parse("grace@navy.mil").ok(),
            full_name: Some("Grace Hopper".into()),
            company: Some("Naval Research Lab".into()),
            job_title: Some("Contracting Officer".into()),
            phone: Some("+1 (202) 555-0143".into()),
            message: Some("Need 40 seats & support\nbefore the fiscal year ends".into()),
            ..Contact::default()
        },
        vec![],
    );
    lead.route.reason = "rule \"federal\": sector federal".into();
    lead
}

fn hostile_lead() -> LeadRecord {
    let mut lead = federal_lead();
    let c = &mut lead.contact;
    c.full_name = Some(format!("{HOSTILE}\u{202E}lim.yvan"));
    c.company = Some(format!("{HOSTILE}\n{}", "Ω".repeat(500)));
    c.job_title = Some(format!("- {HOSTILE}\r\nBcc: x"));
    c.message = Some(format!(
        "{HOSTILE}\n# heading\n1. list\n\u{202E}reversed\n{}",
        "&<".repeat(5000)
    ));
    lead.sector.agency = Some(format!("{HOSTILE}\n"));
    lead.route.reason = HOSTILE.repeat(20);
    lead.route.segment = format!("{HOSTILE}_x");
    lead.sla.owner = Some(HOSTILE.into());
    lead
}

fn context(moment: Moment<'_>) -> MessageContext<'_> {
    MessageContext {
        moment,
        deadline: Some(datetime!(2026-11-22 14:29:11.123 UTC)),
        claim_button: true,
        claim_url: None,
    }
}

fn moments() -> Vec<Moment<'static>> {
    vec![
        Moment::New,
        Moment::Tier {
            tier: 1,
            tiers: 3,
            waited: "5 min",
            breached: false,
        },
        Moment::Tier {
            tier: 4,
            tiers: 3,
            waited: "1 h",
            breached: true,
        },
        Moment::Reassigned {
            from: Some("fed-rep-1@example.com"),
            to: "fed-rep-2@example.com",
        },
        Moment::Claimed {
            by: "fed-rep-2@example.com",
            at: datetime!(2026-11-22 10:42 UTC),
        },
    ]
}

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A text object within `limit`, `plain_text` with emoji off or mrkdwn;
/// its text.
fn text_object(object: &Value, limit: usize, plain_only: bool) -> String {
    let kind = object["type"].as_str().expect("text object type");
    assert!(
        kind == "plain_text" || (kind == "mrkdwn" && !plain_only),
        "{object}"
    );
    if kind == "plain_text" {
        assert_eq!(object["emoji"], false, "{object}");
    }
    let text = object["text"].as_str().expect("text");
    assert!(!text.is_empty(), "{object}");
    assert!(units(text) <= limit, "{} > {limit}: {text}", units(text));
    text.to_owned()
}

/// Asserts Block Kit's documented limits on every block; every text sent,
/// the top-level one first.
fn slack_texts(message: &Value) -> Vec<String> {
    let fallback = message["text"].as_str().expect("fallback text");
    assert!(
        !fallback.is_empty() && units(fallback) <= 4000,
        "{fallback}"
    );
    let mut texts = vec![fallback.to_owned()];
    let blocks = message["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    for block in blocks {
        match block["type"].as_str().expect("block type") {
            "header" => {
                let text = text_object(&block["text"], 150, true);
                assert!(!text.contains('\n'), "{text}");
                texts.push(text);
            }
            "section" => {
                if !block["text"].is_null() {
                    texts.push(text_object(&block["text"], 3000, false));
                }
                if let Some(fields) = block["fields"].as_array() {
                    assert!(!fields.is_empty() && fields.len() <= 10);
                    for field in fields {
                        let text = text_object(field, 2000, false);
                        // The label, a line break, a one-line value.
                        assert_eq!(text.matches('\n').count(), 1, "{text}");
                        texts.push(text);
                    }
                }
            }
            "context" => {
                let elements = block["elements"].as_array().expect("elements");
                assert!(!elements.is_empty() && elements.len() <= 10);
                for element in elements {
                    texts.push(text_object(element, 3000, false));
                }
            }
            "actions" => {
                let elements = block["elements"].as_array().expect("elements");
                assert!(!elements.is_empty() && elements.len() <= 25);
                for button in elements {
                    assert_eq!(button["type"], "button");
                    texts.push(text_object(&button["text"], 75, true));
                    let action_id = button["action_id"].as_str().expect("action_id");
                    assert!(units(action_id) <= 255);
                    if let Some(value) = button["value"].as_str() {
                        assert!(units(value) <= 2000);
                    }
                    if let Some(url) = button["url"].as_str() {
                        assert!(units(url) <= 3000);
                    }
                }
            }
            other => panic!("unexpected block {other}"),
        }
    }
    texts
}

/// Slack shows `&amp;`, `&lt;`, `&gt;` as the characters; a bare `<` or
/// `>` or any other `&` could start a mention or a link.
fn assert_slack_escaped(text: &str) {
    assert!(!text.contains(['<', '>']), "unescaped: {text}");
    for (at, _) in text.match_indices('&') {
        let entity = &text[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare &: {text}"
        );
    }
}

/// Asserts the payload's shape and limits; every text and the actions.
fn teams_card(payload: &Value) -> (Vec<String>, Vec<Value>) {
    assert_eq!(payload["type"], "message");
    let attachments = payload["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(attachments[0]["contentUrl"].is_null());
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.5");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    let mut texts = Vec::new();
    teams_elements(&card["body"], &mut texts);
    let actions = card["actions"].as_array().cloned().unwrap_or_default();
    for action in &actions {
        assert_eq!(action["type"], "Action.OpenUrl", "{action}");
        assert_eq!(action["title"], "Claim");
    }
    (texts, actions)
}

fn teams_elements(elements: &Value, texts: &mut Vec<String>) {
    for element in elements.as_array().expect("elements") {
        match element["type"].as_str().expect("element type") {
            "TextBlock" => {
                let text = element["text"].as_str().expect("text");
                assert!(!text.is_empty() && units(text) <= 3000, "{text}");
                texts.push(text.to_owned());
            }
            "FactSet" => {
                for fact in element["facts"].as_array().expect("facts") {
                    for key in ["title", "value"] {
                        let text = fact[key].as_str().expect("fact text");
                        assert!(!text.is_empty() && units(text) <= 300, "{text}");
                        assert!(!text.contains('\n'), "{text}");
                        texts.push(text.to_owned());
                    }
                }
            }
            "Container" => teams_elements(&element["items"], texts),
            other => panic!("unexpected element {other}"),
        }
    }
}

/// Nothing in `text` can open Markdown: every character that starts
/// emphasis, code, a link or HTML is backslashed, and no line starts a
/// list, heading or quote.
fn assert_teams_inert(text: &str) {
    for line in text.split('\n') {
        let mut escaped = false;
        for c in line.chars() {
            if !escaped {
                assert!(!"*_`~[]()<".contains(c), "unescaped {c:?}: {text}");
            }
            escaped = c == '\\' && !escaped;
        }
        assert!(!escaped, "trailing backslash: {text}");
        assert!(!line.starts_with(['-', '+', '#', '>', '=']), "{text}");
        let after_digits = line.trim_start_matches(|c: char| c.is_ascii_digit());
        assert!(
            after_digits.len() == line.len() || !after_digits.starts_with('.'),
            "{text}"
        );
    }
}

fn assert_withheld(rendered: &str) {
    let lower = rendered.to_lowercase();
    assert!(!lower.contains("grace@navy.mil"), "email in {rendered}");
    for phone in ["555-0143", "5550143", "555.0143", "555 0143"] {
        assert!(!rendered.contains(phone), "phone in {rendered}");
    }
}

#[test]
fn federal_lead_in_slack_has_header_facts_message_deadline_and_claim_button() {
    let lead = federal_lead();
    let message = slack_message(&lead, &context(Moment::New));
    let texts = slack_texts(&message);
    let blocks = message["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(
        blocks[0]["text"]["text"],
        "Federal lead: Department of the Navy — Naval Research Lab"
    );
    let all = texts.join("\n");
    for expected in [
        "*Agency*\nDepartment of the Navy",
        "*Name*\nGrace Hopper",
        "*Job title*\nContracting Officer",
        "*Segment*\nfederal",
        "*Priority*\n",
        "*Owner*\nfed-rep-1@example.com",
        "*SLA deadline*\nSun 22 Nov 2026, 14:29 UTC, 5 min after arrival",
        "What they asked:\nNeed 40 seats &amp; support\nbefore the fiscal year ends",
        "Routed by: rule \"federal\": sector federal",
        &format!("Lead id: {}", lead.id),
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
    let actions: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "actions").collect();
    assert_eq!(actions.len(), 1);
    let button = &actions[0]["elements"][0];
    assert_eq!(button["text"]["text"], "Claim");
    assert_eq!(button["style"], "primary");
    assert_eq!(button["action_id"], CLAIM_ACTION_ID);
    assert_eq!(button["value"], lead.id.as_str());
    assert!(button["url"].is_null());
    for text in &texts {
        assert_slack_escaped(text);
    }
}

#[test]
fn incoming_webhook_slack_claims_by_link() {
    let lead = federal_lead();
    let message = slack_message(
        &lead,
        &MessageContext {
            claim_button: false,
            claim_url: Some(CLAIM_URL),
            ..context(Moment::New)
        },
    );
    slack_texts(&message);
    let blocks = message["blocks"].as_array().expect("blocks");
    let button = &blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("actions")["elements"][0];
    assert_eq!(button["url"], CLAIM_URL);
    assert_eq!(button["action_id"], CLAIM_LINK_ACTION_ID);
    assert!(button["value"].is_null());

    // A link that is no http(s) URL is no button.
    let message = slack_message(
        &lead,
        &MessageContext {
            claim_button: false,
            claim_url: Some("javascript:alert(1)"),
            ..context(Moment::New)
        },
    );
    assert!(!message.to_string().contains("\"actions\""));
}

#[test]
fn claimed_slack_message_has_no_button_and_says_who_and_when() {
    let lead = federal_lead();
    let message = slack_message(
        &lead,
        &MessageContext {
            claim_url: Some(CLAIM_URL),
            ..context(Moment::Claimed {
                by: "fed-rep-2@example.com",
                at: datetime!(2026-11-22 10:42 UTC),
            })
        },
    );
    let texts = slack_texts(&message);
    let blocks = message["blocks"].as_array().expect("blocks");
    assert!(blocks.iter().all(|b| b["type"] != "actions"));
    assert!(!message.to_string().contains(CLAIM_URL));
    let header = blocks[0]["text"]["text"].as_str().expect("header");
    assert!(
        header.starts_with("Claimed by fed-rep-2@example.com at Sun 22 Nov 2026, 10:42 UTC"),
        "{header}"
    );
    let all = texts.join("\n");
    assert!(all.contains("*Claimed*\nby fed-rep-2@example.com, Sun 22 Nov 2026, 10:42 UTC"));
    assert!(!all.contains("SLA deadline"), "{all}");
}

#[test]
fn tier_and_reassigned_headlines_say_what_happened() {
    let lead = federal_lead();
    let header = |moment| {
        let message = slack_message(&lead, &context(moment));
        message["blocks"][0]["text"]["text"]
            .as_str()
            .expect("header")
            .to_owned()
    };
    let [_, first, breach, reassigned, _] = <[Moment<'_>; 5]>::try_from(moments()).expect("five");
    assert!(
        header(first).starts_with("Escalation 1 of 3: still unclaimed after 5 min — Federal lead:")
    );
    assert!(header(breach).starts_with("SLA breached after 1 h — Federal lead:"));
    assert!(header(reassigned).starts_with(
        "Reassigned to fed-rep-2@example.com, from fed-rep-1@example.com — Federal lead:"
    ));
}

#[test]
fn neither_message_carries_the_lead_email_or_phone() {
    let mut lead = federal_lead();
    assert_withheld(&slack_message(&lead, &context(Moment::New)).to_string());
    // Typed again where the channel would show it.
    lead.contact.message = Some("Call me at 202.555.0143 or mail GRACE@navy.mil".into());
    lead.contact.full_name = None;
    lead.contact.first_name = Some("grace@navy.mil".into());
    lead.contact.company = Some("(202) 555 0143".into());
    for moment in moments() {
        let context = MessageContext {
            claim_url: Some(CLAIM_URL),
            ..context(moment)
        };
        let slack = slack_message(&lead, &context).to_string();
        assert_withheld(&slack);
        assert!(slack.contains("Call me at (phone withheld) or mail (email withheld)"));
        assert_withheld(&teams_message(&lead, &context).to_string());
    }
}

#[test]
fn phone_is_withheld_however_it_is_spaced() {
    let phone = "+1 (202) 555-0143 ext. 12";
    for typed in [
        "2025550143",
        "+1-202-555-0143",
        "(202) 555 0143",
        "1.202.555.0143",
        "555-0143",
        "9202-555-0143",
    ] {
        assert_eq!(
            withhold_phone(&format!("call {typed} today"), phone),
            "call (phone withheld) today",
            "{typed}"
        );
    }
    assert_eq!(
        withhold_phone("40 seats (2026) + 3 (((", phone),
        "40 seats (2026) + 3 ((("
    );
}

#[test]
fn hostile_input_stays_within_slack_limits_and_mentions_nobody() {
    let lead = hostile_lead();
    for moment in moments() {
        for (claim_button, claim_url) in [(true, None), (false, Some(CLAIM_URL))] {
            let message = slack_message(
                &lead,
                &MessageContext {
                    claim_button,
                    claim_url,
                    ..context(moment.clone())
                },
            );
            let rendered = message.to_string();
            assert!(!rendered.contains('\u{202E}'));
            for text in slack_texts(&message) {
                assert_slack_escaped(&text);
                assert!(!text.contains('\u{202E}') && !text.contains('\r'));
            }
            // The message is cut to its first characters, and says so.
            let asked = message["blocks"]
                .as_array()
                .expect("blocks")
                .iter()
                .find_map(|b| b["text"]["text"].as_str().filter(|t| t.starts_with("What")))
                .expect("message section");
            assert!(asked.ends_with('…'), "{asked}");
            assert!(
                asked.contains("&lt;!channel&gt; &lt;@U024BE7LH&gt;"),
                "{asked}"
            );
            assert!(asked.contains('\n'), "line breaks kept: {asked}");
        }
    }
}

#[test]
fn hostile_input_never_becomes_teams_markdown() {
    let lead = hostile_lead();
    for moment in moments() {
        let card = teams_message(
            &lead,
            &MessageContext {
                claim_url: Some(CLAIM_URL),
                ..context(moment)
            },
        );
        assert!(!card.to_string().contains('\u{202E}'));
        let (texts, _) = teams_card(&card);
        for text in &texts {
            assert_teams_inert(text);
        }
        let all = texts.join("\n");
        assert!(all.contains("\\[x\\]\\(https://evil.example\\)"), "{all}");
        assert!(all.contains("\\*bold\\*"), "{all}");
    }
}

#[test]
fn teams_payload_is_an_adaptive_card_with_a_claim_link() {
    let lead = federal_lead();
    let card = teams_message(
        &lead,
        &MessageContext {
            claim_button: false,
            claim_url: Some(CLAIM_URL),
            ..context(Moment::New)
        },
    );
    let (texts, actions) = teams_card(&card);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["url"], CLAIM_URL);
    // The Slack app's button means nothing to Teams: the link still shows.
    let with_button = teams_message(
        &lead,
        &MessageContext {
            claim_button: true,
            claim_url: Some(CLAIM_URL),
            ..context(Moment::New)
        },
    );
    assert_eq!(teams_card(&with_button).1, actions);
    let all = texts.join("\n");
    for expected in [
        "Federal lead: Department of the Navy — Naval Research Lab",
        "Department of the Navy",
        "Grace Hopper",
        "Need 40 seats & support\n\nbefore the fiscal year ends",
        "Sun 22 Nov 2026, 14:29 UTC, 5 min after arrival",
        "Routed by: rule \"federal\": sector federal",
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
    assert_withheld(&card.to_string());
}

#[test]
fn claimed_teams_card_has_no_action() {
    let lead = federal_lead();
    let card = teams_message(
        &lead,
        &MessageContext {
            claim_url: Some(CLAIM_URL),
            ..context(Moment::Claimed {
                by: "fed-rep-2@example.com",
                at: datetime!(2026-11-22 10:42 UTC),
            })
        },
    );
    let (texts, actions) = teams_card(&card);
    assert!(actions.is_empty());
    assert!(!card.to_string().contains(CLAIM_URL));
    assert!(texts[0].starts_with("Claimed by fed-rep-2@example.com at Sun 22 Nov 2026, 10:42 UTC"));
}

#[test]
fn cuts_fall_between_whole_escapes() {
    let slack = slack_escaped(&"&".repeat(100), 12);
    assert_eq!(slack, "&amp;&amp;…");
    let teams = teams_escaped(&"*".repeat(100), 6);
    assert_eq!(teams, "\\*\\*…");
    // Counted in UTF-16 units: an emoji is two.
    assert_eq!(slack_escaped(&"😀".repeat(10), 5), "😀😀…");
    assert_eq!(cut_chars("abcdef", 4), "abc…");
    assert_eq!(cut_chars("abcd", 4), "abcd");
}

/// Lead text built from pieces that matter to the escapers, and anything.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just(HOSTILE.to_owned()),
        Just("\n".to_owned()),
        Just("\r\n- ".to_owned()),
        Just("1. ".to_owned()),
        Just("&".to_owned()),
        Just("\\".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("😀".to_owned()),
        Just("grace@navy.mil".to_owned()),
        Just("202-555-0143".to_owned()),
        "[a-z ]{0,400}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// A rep's address or a wait as configuration gives them: anything, but
/// never the lead's own contact details (those are withheld from lead text).
fn rep_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just(HOSTILE.to_owned()),
        Just("\n".to_owned()),
        "[a-z@.-]{0,80}",
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_text_in_any_field_keeps_every_limit_and_escape(
        name in hostile_text(),
        company in hostile_text(),
        title in hostile_text(),
        message in hostile_text(),
        agency in hostile_text(),
        reason in hostile_text(),
        who in rep_text(),
        moment in 0usize..5,
        claim_button in any::<bool>(),
    ) {
        let mut lead = federal_lead();
        lead.contact.full_name = Some(name);
        lead.contact.company = Some(company);
        lead.contact.job_title = Some(title);
        lead.contact.message = Some(message);
        lead.sector.agency = Some(agency);
        lead.route.reason = reason;
        lead.sla.owner = Some(who.clone());
        let moment = match moment {
            0 => Moment::New,
            1 => Moment::Tier { tier: 2, tiers: 3, waited: &who, breached: false },
            2 => Moment::Tier { tier: 4, tiers: 3, waited: &who, breached: true },
            3 => Moment::Reassigned { from: Some(&who), to: &who },
            _ => Moment::Claimed { by: &who, at: datetime!(2026-11-22 10:42 UTC) },
        };
        let context = MessageContext {
            moment,
            deadline: Some(datetime!(2026-11-22 14:29 UTC)),
            claim_button,
            claim_url: Some(CLAIM_URL),
        };

        let slack = slack_message(&lead, &context);
        for text in slack_texts(&slack) {
            assert_slack_escaped(&text);
        }
        let teams = teams_message(&lead, &context);
        for text in teams_card(&teams).0 {
            assert_teams_inert(&text);
        }
        for rendered in [slack.to_string(), teams.to_string()] {
            prop_assert!(!rendered.contains('\u{202E}'), "bidi override in output");
            assert_withheld(&rendered);
        }
    }
}
