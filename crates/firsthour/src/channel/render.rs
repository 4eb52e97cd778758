//! Block Kit and Adaptive Card bodies for a lead: the facts the email
//! carries (who is asking, what they asked, segment, owner, the SLA
//! deadline, the routing reason), never the person's email address or
//! phone number, every value from the form escaped for the target and cut
//! to the target's documented limits.
//!
//! Lengths are counted in UTF-16 code units (what JavaScript's `length`
//! counts), never fewer than characters, so a limit holds however the
//! chat counts; cuts fall between characters and whole escapes, and end
//! in "…".

use serde_json::{Value, json};

use super::{CLAIM_ACTION_ID, MessageContext, Moment};
use crate::notify::{describe_minutes, readable_time};
use crate::record::LeadRecord;
use crate::text::single_line;

/// The Open-URL claim button's `action_id`: Slack posts an interaction for
/// a URL button too (to an app with interactivity on), and this tells it
/// from the Claim button's.
pub const CLAIM_LINK_ACTION_ID: &str = "firsthour_claim_link";

// Block Kit's limits (docs.slack.dev/reference/block-kit: header block,
// section block, button element).
const HEADER_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELDS_MAX: usize = 10;
const BUTTON_TEXT_MAX: usize = 75;
const URL_MAX: usize = 3000;

/// The notification text Slack shows when it cannot show blocks.
const FALLBACK_MAX: usize = 300;
/// One fact (a name, a company): far below a section field's 2,000.
const VALUE_MAX: usize = 300;
/// What they asked: the first characters of the message, as typed.
const MESSAGE_CHARS: usize = 500;
const REASON_MAX: usize = 500;

/// What both messages say, from the lead: every value one line (the
/// message keeps its line breaks), without invisible characters or the
/// person's email address and phone number; not yet escaped or cut.
struct View {
    headline: String,
    facts: Vec<(&'static str, String)>,
    asked: Option<String>,
    reason: Option<String>,
    /// The Slack app's Claim button, answered through interactivity.
    claim_button: bool,
    /// The signed claim link, for an Open-URL button.
    claim_link: Option<String>,
}

impl View {
    fn of(lead: &LeadRecord, context: &MessageContext<'_>) -> Self {
        let claimed = matches!(context.moment, Moment::Claimed { .. });
        let mut facts = vec![
            ("Name", person(lead)),
            ("Job title", shown(lead, lead.contact.job_title.as_deref())),
            ("Agency", shown(lead, lead.sector.agency.as_deref())),
            ("Company", shown(lead, lead.contact.company.as_deref())),
            (
                "Segment",
                Some(single_line(&lead.route.segment.replace('_', " "))),
            ),
            ("Priority", Some(lead.route.priority.as_str().to_owned())),
            ("Owner", lead.sla.owner.as_deref().map(single_line)),
        ];
        match &context.moment {
            Moment::Claimed { by, at } => facts.push((
                "Claimed",
                Some(single_line(&format!("by {by}, {}", readable_time(*at)))),
            )),
            // Answered before this message: the clock is stopped.
            _ if lead.sla.claimed_by.is_some() => {
                facts.push(("Claimed", lead.sla.claimed_by.as_deref().map(single_line)));
            }
            _ => facts.push((
                "SLA deadline",
                context.deadline.map(|deadline| {
                    let minutes = (deadline - lead.received_at).whole_minutes().max(0);
                    format!(
                        "{}, {} after arrival",
                        readable_time(deadline),
                        describe_minutes(minutes)
                    )
                }),
            )),
        }
        Self {
            headline: single_line(&headline(lead, &context.moment)),
            facts: facts
                .into_iter()
                .filter_map(|(label, value)| value.filter(|v| !v.is_empty()).map(|v| (label, v)))
                .collect(),
            asked: asked(lead),
            reason: shown(lead, Some(&lead.route.reason)),
            // A claimed lead has nothing left to claim.
            claim_button: context.claim_button && !claimed,
            claim_link: context.claim_url.filter(|_| !claimed).and_then(claim_link),
        }
    }
}

/// "Federal lead: Department of the Navy — Navy", under what happened since.
fn headline(lead: &LeadRecord, moment: &Moment<'_>) -> String {
    let who = organisation(lead)
        .or_else(|| person(lead))
        .unwrap_or_else(|| "Unknown".to_owned());
    let title = match lead.route.segment.as_str() {
        "federal" => format!("Federal lead: {who}"),
        segment => format!("New {} lead: {who}", segment.replace('_', " ")),
    };
    match moment {
        Moment::New => title,
        // Tier 1 is the ladder's first; one past its last is the breach.
        Moment::Tier {
            tier,
            tiers,
            waited,
            breached,
        } => {
            if *breached || *tier as usize > *tiers {
                format!("SLA breached after {waited} — {title}")
            } else {
                format!("Escalation {tier} of {tiers}: still unclaimed after {waited} — {title}")
            }
        }
        Moment::Reassigned {
            from: Some(from),
            to,
        } => {
            format!("Reassigned to {to}, from {from} — {title}")
        }
        Moment::Reassigned { from: None, to } => format!("Reassigned to {to} — {title}"),
        Moment::Claimed { by, at } => {
            format!("Claimed by {by} at {} — {title}", readable_time(*at))
        }
    }
}

/// Who is asking, as the email subject says it: the agency the .gov
/// registry names and the company typed, once when they are the same.
fn organisation(lead: &LeadRecord) -> Option<String> {
    let agency = shown(lead, lead.sector.agency.as_deref());
    let company = shown(lead, lead.contact.company.as_deref());
    match (agency, company) {
        (Some(agency), Some(company)) if !agency.eq_ignore_ascii_case(&company) => {
            Some(format!("{agency} — {company}"))
        }
        (Some(agency), _) => Some(agency),
        (None, company) => company,
    }
}

/// The person's name; unlike the email's display name, never their email
/// address or phone number in its place.
fn person(lead: &LeadRecord) -> Option<String> {
    let contact = &lead.contact;
    let parts = [contact.first_name.as_deref(), contact.last_name.as_deref()];
    let joined = parts
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    shown(lead, contact.full_name.as_deref()).or_else(|| shown(lead, Some(&joined)))
}

/// A value as a channel shows it: one line, nothing invisible, nothing
/// that reaches the person; `None` when nothing is left.
fn shown(lead: &LeadRecord, value: Option<&str>) -> Option<String> {
    value
        .map(|v| withhold(&single_line(v), lead))
        .filter(|v| !v.is_empty())
}

/// What they asked: the message's first [`MESSAGE_CHARS`] characters, each
/// line cleaned as a value is, blank lines only between paragraphs.
fn asked(lead: &LeadRecord) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in lead.contact.message.as_deref()?.split('\n') {
        let line = single_line(line);
        if !line.is_empty() || lines.last().is_some_and(|l| !l.is_empty()) {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let message = withhold(&lines.join("\n"), lead);
    (!message.is_empty()).then(|| cut_chars(&message, MESSAGE_CHARS))
}

/// `text` without the lead's own email address or phone number, which the
/// lead may repeat in any field: a channel's every member reads it, and the
/// rep who claims the lead gets them with it.
fn withhold(text: &str, lead: &LeadRecord) -> String {
    let mut text = text.to_owned();
    if let Some(email) = lead.contact.email.as_deref().filter(|e| e.contains('@')) {
        text = replace_ignoring_ascii_case(&text, email, "(email withheld)");
    }
    if let Some(phone) = lead.contact.phone.as_deref() {
        text = withhold_phone(&text, phone);
    }
    text
}

fn replace_ignoring_ascii_case(text: &str, needle: &str, with: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so matches index `text`.
    let haystack = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = haystack[from..].find(&needle) {
        out.push_str(&text[from..from + found]);
        out.push_str(with);
        from += found + needle.len();
    }
    out.push_str(&text[from..]);
    out
}

/// Every run of digits and phone punctuation holding the lead's phone
/// number's last seven digits in a row (with or without its country code,
/// however it is spaced, whatever digits are typed beside it).
fn withhold_phone(text: &str, phone: &str) -> String {
    // The number before any extension ("ext. 12", "x12").
    let digits: String = phone
        .chars()
        .take_while(|c| !c.is_ascii_alphabetic())
        .filter(char::is_ascii_digit)
        .collect();
    let Some(last_seven) = digits.len().checked_sub(7).map(|at| &digits[at..]) else {
        return text.to_owned();
    };
    let starts = |c: char| c.is_ascii_digit() || c == '+' || c == '(';
    let continues = |c: char| c.is_ascii_digit() || " +-.()/".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(starts) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c| !continues(c)).unwrap_or(tail.len());
        let run = tail[..end].trim_end_matches(|c: char| !c.is_ascii_digit());
        if run.is_empty() {
            // Punctuation without a digit ("+", "((("): not a number.
            out.push_str(&tail[..end]);
            rest = &tail[end..];
            continue;
        }
        let typed: String = run.chars().filter(char::is_ascii_digit).collect();
        if typed.contains(last_seven) {
            out.push_str("(phone withheld)");
        } else {
            out.push_str(run);
        }
        rest = &tail[run.len()..];
    }
    out.push_str(rest);
    out
}

/// The claim link when it is an http(s) URL that fits a button.
fn claim_link(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    (matches!(url.scheme(), "https" | "http") && url.as_str().len() <= URL_MAX)
        .then(|| url.as_str().to_owned())
}

/// `text` cut to `max` characters, "…" last when something was cut.
fn cut_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().nth(1).is_some() => {
            format!("{}…", text[..at].trim_end())
        }
        _ => text.to_owned(),
    }
}

/// One character of a value as a target writes it: itself, or its escape.
#[derive(Debug, Clone, Copy)]
enum Piece {
    Char(char),
    Escape(&'static str),
}

impl Piece {
    fn units(self) -> usize {
        match self {
            Self::Char(c) => c.len_utf16(),
            Self::Escape(s) => s.encode_utf16().count(),
        }
    }
}

/// The pieces written out, at most `limit` UTF-16 units: cut between whole
/// pieces (never inside an escape), with "…" last when something was cut.
fn fit(pieces: &[Piece], limit: usize) -> String {
    let total: usize = pieces.iter().map(|p| p.units()).sum();
    let budget = if total <= limit {
        total
    } else {
        limit.saturating_sub('…'.len_utf16())
    };
    let mut out = String::new();
    let mut used = 0;
    for piece in pieces {
        used += piece.units();
        if used > budget {
            break;
        }
        match piece {
            Piece::Char(c) => out.push(*c),
            Piece::Escape(s) => out.push_str(s),
        }
    }
    if total > limit {
        out.truncate(out.trim_end().len());
        out.push('…');
    }
    out
}

// ---- Slack ----------------------------------------------------------------

/// Slack reads `&`, `<` and `>` as control characters in every text
/// object, `plain_text` included (`<!channel>`, `<@U…>`, `<url|label>`),
/// and in the message's top-level `text`; its "Escaping text" guide says to
/// send those three, and only those, as `&amp;`, `&lt;` and `&gt;`, which
/// it shows as the characters.
fn slack_escaped(text: &str, limit: usize) -> String {
    let pieces: Vec<Piece> = text
        .chars()
        .map(|c| match c {
            '&' => Piece::Escape("&amp;"),
            '<' => Piece::Escape("&lt;"),
            '>' => Piece::Escape("&gt;"),
            c => Piece::Char(c),
        })
        .collect();
    fit(&pieces, limit)
}

/// A `plain_text` object: no mrkdwn, and `:name:` stays text.
fn slack_plain(text: &str, limit: usize) -> Value {
    json!({"type": "plain_text", "text": slack_escaped(text, limit), "emoji": false})
}

/// A section field: the label bold (the only mrkdwn), the value escaped;
/// `verbatim` so Slack links no URL or channel name in it by itself.
fn slack_field(label: &str, value: &str) -> Value {
    json!({
        "type": "mrkdwn",
        "text": format!("*{label}*\n{}", slack_escaped(value, VALUE_MAX)),
        "verbatim": true,
    })
}

/// A Slack message body: `{"text": fallback, "blocks": [...]}` (the caller
/// adds `channel`, `thread_ts` or `ts`). A header saying what happened, the
/// facts as section fields, the message as plain text, the Claim button
/// unless the lead is claimed, and the routing reason and lead id in a
/// context line.
pub fn slack_message(lead: &LeadRecord, context: &MessageContext<'_>) -> Value {
    let view = View::of(lead, context);
    let mut blocks = vec![json!({
        "type": "header",
        "text": slack_plain(&view.headline, HEADER_MAX),
    })];
    if !view.facts.is_empty() {
        let fields: Vec<Value> = view
            .facts
            .iter()
            .take(FIELDS_MAX)
            .map(|(label, value)| slack_field(label, value))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if let Some(asked) = &view.asked {
        blocks.push(json!({
            "type": "section",
            "text": slack_plain(&format!("What they asked:\n{asked}"), SECTION_TEXT_MAX),
        }));
    }
    // One Claim button: the app's own when it has one, else the link.
    let button = if view.claim_button {
        Some(json!({
            "type": "button",
            "text": slack_plain("Claim", BUTTON_TEXT_MAX),
            "style": "primary",
            "action_id": CLAIM_ACTION_ID,
            "value": lead.id.as_str(),
        }))
    } else {
        view.claim_link.as_ref().map(|url| {
            json!({
                "type": "button",
                "text": slack_plain("Claim", BUTTON_TEXT_MAX),
                "style": "primary",
                "action_id": CLAIM_LINK_ACTION_ID,
                "url": url,
            })
        })
    };
    if let Some(button) = button {
        blocks.push(json!({"type": "actions", "elements": [button]}));
    }
    let mut footer = Vec::new();
    if let Some(reason) = &view.reason {
        footer.push(slack_plain(&format!("Routed by: {reason}"), REASON_MAX));
    }
    footer.push(slack_plain(&format!("Lead id: {}", lead.id), REASON_MAX));
    blocks.push(json!({"type": "context", "elements": footer}));
    json!({"text": slack_escaped(&view.headline, FALLBACK_MAX), "blocks": blocks})
}

// ---- Teams ----------------------------------------------------------------

/// A TextBlock's `text` and a fact's title and value are Markdown (a
/// CommonMark subset: bold, italic, lists, `[title](url)` links; Adaptive
/// Cards "Text features", Teams "Format cards"). CommonMark makes any ASCII
/// punctuation after a backslash a literal, so every character that can
/// open that syntax goes out backslashed: emphasis, code, links, raw HTML
/// and autolinks always; list, heading and quote markers at a line's start
/// (where values arrive trimmed). `(` backslashed also keeps a typed
/// `{{DATE(…)}}` from being formatted. (A TextRun is never Markdown, but
/// RichTextBlock is outside this card's elements; some mobile renderers
/// show the backslash, which costs looks, not safety.)
fn teams_escaped(text: &str, limit: usize) -> String {
    let mut pieces = Vec::with_capacity(text.len());
    // Only digits since the line began: "1." there starts a list.
    let mut line_start = true;
    let mut digits = false;
    for c in text.chars() {
        let piece = match c {
            '\\' => Piece::Escape("\\\\"),
            '*' => Piece::Escape("\\*"),
            '_' => Piece::Escape("\\_"),
            '`' => Piece::Escape("\\`"),
            '~' => Piece::Escape("\\~"),
            '[' => Piece::Escape("\\["),
            ']' => Piece::Escape("\\]"),
            '(' => Piece::Escape("\\("),
            ')' => Piece::Escape("\\)"),
            '<' => Piece::Escape("\\<"),
            '>' if line_start => Piece::Escape("\\>"),
            '#' if line_start => Piece::Escape("\\#"),
            '-' if line_start => Piece::Escape("\\-"),
            '+' if line_start => Piece::Escape("\\+"),
            '=' if line_start => Piece::Escape("\\="),
            '.' if digits => Piece::Escape("\\."),
            // Teams breaks a TextBlock's line on a blank line.
            '\n' => Piece::Escape("\n\n"),
            c => Piece::Char(c),
        };
        pieces.push(piece);
        digits = c.is_ascii_digit() && (line_start || digits);
        line_start = c == '\n';
    }
    fit(&pieces, limit)
}

fn text_block(text: String) -> Value {
    json!({"type": "TextBlock", "text": text, "wrap": true})
}

/// A Teams Workflows payload: `{"type": "message", "attachments": [{
/// "contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}`.
/// An Adaptive Card 1.5 of TextBlocks, a FactSet and a Container: what
/// happened, the facts, the message, the routing reason and lead id, and
/// an Open-URL Claim button unless the lead is claimed.
pub fn teams_message(lead: &LeadRecord, context: &MessageContext<'_>) -> Value {
    let view = View::of(lead, context);
    let style = match context.moment {
        Moment::New => "emphasis",
        Moment::Tier { breached: true, .. } => "attention",
        Moment::Tier { .. } | Moment::Reassigned { .. } => "warning",
        Moment::Claimed { .. } => "good",
    };
    let mut headline = text_block(teams_escaped(&view.headline, HEADER_MAX));
    headline["size"] = json!("Large");
    headline["weight"] = json!("Bolder");
    let mut body = vec![json!({"type": "Container", "style": style, "items": [headline]})];
    if !view.facts.is_empty() {
        let facts: Vec<Value> = view
            .facts
            .iter()
            .map(|(label, value)| {
                json!({"title": teams_escaped(label, VALUE_MAX), "value": teams_escaped(value, VALUE_MAX)})
            })
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if let Some(asked) = &view.asked {
        let mut label = text_block("What they asked".to_owned());
        label["weight"] = json!("Bolder");
        body.push(label);
        body.push(text_block(teams_escaped(asked, SECTION_TEXT_MAX)));
    }
    let mut footer = Vec::new();
    if let Some(reason) = &view.reason {
        footer.push(teams_escaped(&format!("Routed by: {reason}"), REASON_MAX));
    }
    footer.push(teams_escaped(&format!("Lead id: {}", lead.id), REASON_MAX));
    for line in footer {
        let mut block = text_block(line);
        block["isSubtle"] = json!(true);
        block["size"] = json!("Small");
        body.push(block);
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": body,
    });
    // Teams has no interaction for a webhook card: the claim is a link.
    if let Some(url) = &view.claim_link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Claim", "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
