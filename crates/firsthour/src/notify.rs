//! The emails about a lead: the first notification of a routed lead and
//! each escalation tier's (who gets them, and the email itself: plain text
//! and HTML, every submitted value escaped, no user text able to break a
//! header, subjects encoded so nothing a lead typed is decoded).

use base64::Engine;
use time::OffsetDateTime;

use crate::email::EmailAddress;
use crate::html::escape_text;
use crate::lead::format_utc_millis;
use crate::record::LeadRecord;

/// An email ready for the mailer. Built only through [`render_first_notification`],
/// so header values are already single-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Longest subject sent (mail clients cut long ones anyway).
const MAX_SUBJECT_CHARS: usize = 150;

/// Longest subject sent in UTF-8 bytes: encoded as RFC 2047 words it stays
/// far below a header line's 998 characters.
const MAX_SUBJECT_BYTES: usize = 400;

/// UTF-8 bytes per encoded-word: `=?UTF-8?B?` + 60 base64 characters + `?=`
/// is 72 characters, within RFC 2047's 75.
const ENCODED_WORD_BYTES: usize = 45;

/// One line, no control characters: what any header value built from user
/// input goes through. CR/LF become spaces, so nothing can start a header.
pub fn header_safe(text: &str) -> String {
    crate::text::single_line(text)
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect()
}

/// A subject line: [`header_safe`], and at most [`MAX_SUBJECT_BYTES`].
fn subject_line(text: &str) -> String {
    let mut line = header_safe(text);
    crate::text::truncate_utf8(&mut line, MAX_SUBJECT_BYTES);
    line
}

/// The subject as the mailer hands it to SES: SES takes a subject of 7-bit
/// ASCII and documents RFC 2047 encoded-words for anything else. A subject
/// that is not plain ASCII, or holds a literal `=?` a mail client would
/// decode as an encoded-word, becomes encoded-words from end to end, each
/// of whole characters and at most 75 characters long, separated by a
/// space (where the header is folded).
pub fn encode_subject(subject: &str) -> String {
    if subject.is_ascii() && !subject.contains("=?") {
        return subject.to_owned();
    }
    let mut words = Vec::new();
    let mut rest = subject;
    while !rest.is_empty() {
        let mut end = rest.len().min(ENCODED_WORD_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        words.push(format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(chunk)
        ));
        rest = tail;
    }
    words.join(" ")
}

/// A subject header as a mail client shows it: UTF-8 encoded-words decoded
/// (the space between two of them dropped), anything else as it is. The
/// inverse of [`encode_subject`], for reading sent mail back.
pub fn decode_subject(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut rest = header;
    let mut between_words = String::new();
    let mut after_word = false;
    while let Some(c) = rest.chars().next() {
        if let Some((decoded, used)) = encoded_word(rest) {
            if !after_word {
                out.push_str(&between_words);
            }
            between_words.clear();
            out.push_str(&decoded);
            rest = &rest[used..];
            after_word = true;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if after_word && c.is_whitespace() {
            between_words.push(c);
            continue;
        }
        out.push_str(&between_words);
        between_words.clear();
        after_word = false;
        out.push(c);
    }
    out.push_str(&between_words);
    out
}

/// The decoded text of the UTF-8 (or ASCII) encoded-word `text` starts
/// with, and its length.
fn encoded_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let encoded = &inner[..end];
    if encoded.contains(|c: char| c.is_whitespace() || c == '?')
        || !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii"))
    {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?,
        "Q" | "q" => {
            let mut bytes = Vec::with_capacity(encoded.len());
            let mut raw = encoded.bytes();
            while let Some(b) = raw.next() {
                match b {
                    b'_' => bytes.push(b' '),
                    b'=' => {
                        let hex = [raw.next()?, raw.next()?];
                        bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                    }
                    other => bytes.push(other),
                }
            }
            bytes
        }
        _ => return None,
    };
    let used = "=?".len() + charset.len() + 1 + encoding.len() + 1 + end + "?=".len();
    Some((String::from_utf8(bytes).ok()?, used))
}

/// The recipients of the first notification: the rule's recipients and the
/// owner, each once, in that order.
pub fn first_recipients(item: &LeadRecord) -> Vec<String> {
    let mut to: Vec<String> = Vec::new();
    for address in item.route.recipients.iter().chain(item.sla.owner.iter()) {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(address)) {
            to.push(address.clone());
        }
    }
    to
}

/// What the email needs besides the lead.
#[derive(Debug, Clone, Copy)]
pub struct NotificationContext<'a> {
    pub sender: &'a str,
    /// When the first SLA tier fires if nobody claims the lead.
    pub deadline: Option<OffsetDateTime>,
    /// The one-click claim link (live once escalation is enabled).
    pub claim_url: Option<&'a str>,
    /// The recipient's own "I'm away" link, when they are a rep.
    pub away_url: Option<&'a str>,
    /// The "Reply to …" button's `mailto:` (tracked when replies are received).
    pub reply_url: Option<&'a str>,
}

/// "Re: " and what the person asked: their message's first line (at most
/// 80 characters), or their company when they left no message.
pub fn reply_subject(item: &LeadRecord) -> String {
    let asked = item
        .contact
        .message
        .as_deref()
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|line| {
            let mut cut: String = line.chars().take(80).collect();
            if line.chars().count() > 80 {
                cut.push('…');
            }
            cut
        })
        .or_else(|| {
            item.contact
                .company
                .as_ref()
                .map(|c| format!("your inquiry ({c})"))
        })
        .unwrap_or_else(|| "your inquiry".to_owned());
    subject_line(&format!("Re: {asked}"))
}

fn display_name(item: &LeadRecord) -> String {
    item.contact
        .full_name
        .clone()
        .or_else(|| item.contact.email.clone())
        .or_else(|| item.contact.phone.clone())
        .unwrap_or_else(|| "Unknown".into())
}

/// The subject: the sector's fast lane first, then who is asking.
pub fn subject(item: &LeadRecord) -> String {
    let who = match (&item.sector.agency, &item.contact.company) {
        (Some(agency), Some(company)) if !agency.eq_ignore_ascii_case(company) => {
            format!("{agency} — {company}")
        }
        (Some(agency), _) => agency.clone(),
        (None, Some(company)) => company.clone(),
        (None, None) => display_name(item),
    };
    let prefix = match item.route.segment.as_str() {
        "federal" => "Federal lead".to_owned(),
        segment => format!("New {} lead", segment.replace('_', " ")),
    };
    subject_line(&format!("{prefix}: {who} ({})", display_name(item)))
}

/// An escalation email: the same lead details under a subject that says
/// how long it has waited and which tier this is.
pub fn render_escalation(
    item: &LeadRecord,
    tier: u32,
    tiers: usize,
    waited: &str,
    recipient: &str,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    // Tier 1 is the ladder's first; one past its last is the breach.
    let label = if tier as usize > tiers {
        format!("Unanswered lead, SLA breached after {waited}")
    } else {
        format!("Escalation {tier} of {tiers}: still unclaimed after {waited}")
    };
    with_banner(
        item,
        &label,
        "Nobody has claimed this lead yet.",
        recipient,
        context,
    )
}

/// The new-lead email to the rep a tier moved the lead to, with their own
/// claim link, saying whose it was.
pub fn render_reassigned_to_you(
    item: &LeadRecord,
    from: Option<&str>,
    waited: &str,
    recipient: &str,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    let label = format!("Reassigned to you: unclaimed after {waited}");
    let note = match from {
        Some(from) => format!("{from} did not claim it; it is yours now."),
        None => "Nobody claimed it; it is yours now.".to_owned(),
    };
    with_banner(item, &label, &note, recipient, context)
}

/// The first notification under a banner and a subject that say what
/// happened since.
fn with_banner(
    item: &LeadRecord,
    label: &str,
    note: &str,
    recipient: &str,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    let first = render_first_notification(item, context);
    let subject = subject_line(&format!("{label} — {}", first.subject));
    let banner = format!(
        "<p style=\"background:#fff4e5;border-left:4px solid #f0a30a;padding:8px 12px\"><strong>{}</strong>. {}</p>",
        escape_text(label),
        escape_text(note)
    );
    OutgoingEmail {
        to: vec![recipient.to_owned()],
        text: format!("{label}. {note}\n\n{}", first.text),
        html: first.html.replacen("<table", &format!("{banner}<table"), 1),
        subject,
        ..first
    }
}

/// A short plain email: a subject, paragraphs, and the footer.
fn short_email(sender: &str, to: &str, subject: &str, paragraphs: &[String]) -> OutgoingEmail {
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1f2933;max-width:640px;margin:0 auto;padding:16px\">",
    );
    for paragraph in paragraphs {
        html.push_str(&format!("<p>{}</p>", escape_text(paragraph)));
    }
    html.push_str("<p style=\"color:#52606d;font-size:12px;margin-top:24px\">Sent by firsthour.</p></body></html>");
    OutgoingEmail {
        from: header_safe(sender),
        to: vec![to.to_owned()],
        reply_to: None,
        subject: subject_line(subject),
        text: paragraphs.join("\n\n") + "\n",
        html,
    }
}

/// To the rep a tier took the lead from: where it went. Their claim link
/// no longer claims it.
pub fn render_moved_away(
    item: &LeadRecord,
    to: &str,
    waited: &str,
    recipient: &str,
    sender: &str,
) -> OutgoingEmail {
    short_email(
        sender,
        recipient,
        &format!("Reassigned to {to} — {}", subject(item)),
        &[
            format!(
                "Nobody claimed this lead within {waited}, so it now belongs to {to}, who has been sent it."
            ),
            "Your claim link for it no longer claims it. If you are already talking to this person, tell them.".to_owned(),
            format!("Lead id: {}", item.id),
        ],
    )
}

/// To a team's manager: a rep was set away after leads kept moving on
/// from them unanswered.
pub fn render_auto_away(
    rep: &str,
    missed: u32,
    team: &str,
    recipient: &str,
    sender: &str,
) -> OutgoingEmail {
    short_email(
        sender,
        recipient,
        &format!("{rep} set away: {missed} leads in a row reassigned unanswered"),
        &[
            format!(
                "{missed} leads in a row were reassigned from {rep} (team {team}) without them claiming or touching any, so firsthour set them away: they get no new leads until they are back."
            ),
            format!(
                "They come back with the \"I'm back\" link in any firsthour email, or an admin runs: firsthour reps back {rep}"
            ),
        ],
    )
}

/// "Sun 22 Nov 2026, 14:24 UTC": what a person reads at a glance.
pub(crate) fn readable_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| format_utc_millis(at))
}

pub(crate) fn describe_minutes(minutes: i64) -> String {
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

/// The phone number as a `tel:` link wants it (RFC 3966): digits and a
/// leading `+`, then `;ext=` and the extension's digits when there is one.
fn dialable(phone: &str) -> String {
    let (number, extension) = phone
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((phone, ""), |at| phone.split_at(at));
    let mut link: String = number
        .trim()
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect();
    let extension: String = extension.chars().filter(char::is_ascii_digit).collect();
    if !extension.is_empty() {
        link.push_str(";ext=");
        link.push_str(&extension);
    }
    link
}

/// `contract_vehicle` → `Contract vehicle`.
fn humanise(name: &str) -> String {
    let spaced = name.replace(['_', '-'], " ");
    let mut chars = spaced.trim().chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What a summary value links to: only the lead's own validated email and
/// phone are one click away; every other value is text, whatever its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    None,
    Mailto,
    Tel,
}

/// One row of the email: a label, a single-line value, and its link.
struct Row {
    label: String,
    value: String,
    link: Link,
}

impl Row {
    fn text(label: &str, value: &str) -> Self {
        Self {
            label: crate::text::single_line(label),
            value: crate::text::single_line(value),
            link: Link::None,
        }
    }

    fn html(&self) -> String {
        let cell = match self.link {
            Link::Mailto => format!(
                "<a href=\"mailto:{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(&self.value),
                escape_text(&self.value)
            ),
            Link::Tel => format!(
                "<a href=\"tel:{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(&dialable(&self.value)),
                escape_text(&self.value)
            ),
            Link::None => escape_text(&self.value).into_owned(),
        };
        format!(
            "<tr><th style=\"text-align:left;padding:4px 12px 4px 0;color:#52606d;vertical-align:top;white-space:nowrap\">{}</th>\
<td style=\"padding:4px 0\">{cell}</td></tr>",
            escape_text(&self.label),
        )
    }
}

/// The lead's email as a `mailto:` row when it is a valid address (items
/// stored before a check existed are checked again), else as text.
fn email_row(email: &str) -> Row {
    match EmailAddress::parse(email) {
        Ok(address) => Row {
            label: "Email".into(),
            value: address.as_str().to_owned(),
            link: Link::Mailto,
        },
        Err(_) => Row::text("Email", email),
    }
}

/// The lead's phone as a `tel:` row when it is a phone number, else as text.
fn phone_row(phone: &str) -> Row {
    let mut row = Row::text("Phone", phone);
    if crate::intake::clean_phone(&row.value).is_ok() {
        row.link = Link::Tel;
    }
    row
}

/// The submitted fields a rep has not already read in the summary: not
/// empty, not the form's own control fields (`_redirect`, `_rendered_at`),
/// and not a value the summary shows. Every field stays stored on the lead.
/// Names and labels are shown on one line without invisible characters;
/// values keep their line breaks.
fn other_fields(item: &LeadRecord, summary: &[Row]) -> Vec<(String, String)> {
    let shown: Vec<&str> = summary
        .iter()
        .map(|row| row.value.trim())
        .chain(item.contact.message.as_deref().map(str::trim))
        .chain(item.contact.first_name.as_deref().map(str::trim))
        .chain(item.contact.last_name.as_deref().map(str::trim))
        .collect();
    item.submission
        .fields
        .iter()
        .filter(|f| {
            let value = f.value.trim();
            !value.is_empty()
                && !f.name.starts_with('_')
                && !shown.iter().any(|s| s.eq_ignore_ascii_case(value))
        })
        .map(|f| {
            let label =
                crate::text::single_line(&f.label.clone().unwrap_or_else(|| humanise(&f.name)));
            (label, crate::text::strip_invisible(&f.value).into_owned())
        })
        .filter(|(_, value)| !value.trim().is_empty())
        .collect()
}

/// What was cut to fit the item, for the rep: `None` when nothing was.
fn cut_note(item: &LeadRecord) -> Option<String> {
    if !item.submission.truncated.is_empty() {
        let names = item
            .submission
            .truncated
            .iter()
            .map(|name| crate::text::single_line(&humanise(name)).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ");
        return Some(format!("Cut to fit the lead store: {names}."));
    }
    item.submission
        .cut_unnamed
        .then(|| "Some values were cut to fit the lead store.".to_owned())
}

pub fn render_first_notification(
    item: &LeadRecord,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    let received = item.received_at;
    // Answered before this email (a meeting the person booked): no deadline.
    let answered = item
        .sla
        .claimed_by
        .as_ref()
        .map(|by| match item.sla.touches {
            0 | 1 => format!("by {by} (the clock is stopped; no escalation)"),
            n => format!("by {by}, {n} touches (the clock is stopped; no escalation)"),
        });
    let deadline = context.deadline.filter(|_| answered.is_none()).map(|d| {
        format!(
            "{}, {} after arrival (first escalation if nobody claims it)",
            readable_time(d),
            describe_minutes((d - received).whole_minutes())
        )
    });
    let utm = [
        ("source", &item.contact.utm.source),
        ("medium", &item.contact.utm.medium),
        ("campaign", &item.contact.utm.campaign),
        ("term", &item.contact.utm.term),
        ("content", &item.contact.utm.content),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join(", ");
    let text_row = |label: &str, value: Option<String>| value.map(|v| Row::text(label, &v));
    let summary: Vec<Row> = [
        text_row("Name", Some(display_name(item))),
        item.contact.email.as_deref().map(email_row),
        item.contact.phone.as_deref().map(phone_row),
        text_row("Company", item.contact.company.clone()),
        text_row("Job title", item.contact.job_title.clone()),
        text_row("Agency", item.sector.agency.clone()),
        text_row("Sector", Some(item.sector.sector.to_string())),
        text_row("Segment", Some(item.route.segment.clone())),
        text_row("Owner", item.sla.owner.clone()),
        text_row("Source", Some(item.source.to_string())),
        text_row("Received", Some(readable_time(received))),
        text_row("SLA deadline", deadline),
        text_row("Answered", answered),
        text_row("Page", item.contact.page_url.clone()),
        text_row("Campaign", (!utm.is_empty()).then_some(utm)),
        text_row("Routed by", Some(item.route.reason.clone())),
        text_row("Lead id", Some(item.id.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect();
    let subject = subject(item);
    let cut = cut_note(item);

    let mut text = String::new();
    text.push_str(&format!("{subject}\n\n"));
    for row in &summary {
        text.push_str(&format!("{}: {}\n", row.label, row.value));
    }
    if let Some(message) = &item.contact.message {
        text.push_str(&format!("\nMessage:\n{message}\n"));
    }
    if let Some(url) = context.reply_url {
        text.push_str(&format!("\nReply to {}: {url}\n", display_name(item)));
    }
    match context.claim_url {
        Some(url) => text.push_str(&format!("\nClaim this lead (one click): {url}\n")),
        None => text.push_str("\nClaim links arrive with escalation; reply to the lead now.\n"),
    }
    let others = other_fields(item, &summary);
    if !others.is_empty() {
        text.push_str("\nOther submitted fields:\n");
    }
    for (label, value) in &others {
        text.push_str(&format!("  {label}: {value}\n"));
    }
    if let Some(cut) = &cut {
        text.push_str(&format!("  ({cut})\n"));
    }
    if let Some(url) = context.away_url {
        text.push_str(&format!(
            "\nI'm away, give my new leads to someone else: {url}\n"
        ));
    }

    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1f2933;max-width:640px;margin:0 auto;padding:16px\">",
    );
    html.push_str(&format!(
        "<h1 style=\"font-size:20px;margin:0 0 12px\">{}</h1>",
        escape_text(&subject)
    ));
    if let Some(url) = context.claim_url {
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;background:#0b6bcb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600\">Claim this lead</a></p>",
            html_escape::encode_double_quoted_attribute(url)
        ));
    }
    if let Some(url) = context.reply_url {
        // The rep's own mail client sends it; a tracked Bcc counts it as the response.
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;background:#137333;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600\">Reply to {}</a></p>",
            html_escape::encode_double_quoted_attribute(url),
            escape_text(&display_name(item))
        ));
    }
    html.push_str("<table style=\"border-collapse:collapse;font-size:14px\">");
    for row in &summary {
        html.push_str(&row.html());
    }
    html.push_str("</table>");
    if let Some(message) = &item.contact.message {
        html.push_str(&format!(
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Message</h2><p style=\"white-space:pre-wrap;background:#f5f7fa;padding:12px;border-radius:6px\">{}</p>",
            escape_text(message)
        ));
    }
    if !others.is_empty() {
        html.push_str("<h2 style=\"font-size:16px;margin:16px 0 4px\">Other submitted fields</h2><table style=\"border-collapse:collapse;font-size:13px\">");
        for (label, value) in &others {
            // Raw answers are text: never a link, whatever the field is called.
            let row = Row {
                label: label.clone(),
                value: value.clone(),
                link: Link::None,
            };
            html.push_str(&row.html());
        }
        html.push_str("</table>");
    }
    if let Some(cut) = &cut {
        html.push_str(&format!(
            "<p style=\"color:#52606d\">{}</p>",
            escape_text(cut)
        ));
    }
    if let Some(url) = context.away_url {
        html.push_str(&format!(
            "<p style=\"font-size:13px;margin-top:24px\"><a href=\"{}\">I'm away, give my new leads to someone else</a></p>",
            html_escape::encode_double_quoted_attribute(url)
        ));
    }
    html.push_str("<p style=\"color:#52606d;font-size:12px;margin-top:24px\">Sent by firsthour. Reply to this email to answer the lead directly.</p></body></html>");

    OutgoingEmail {
        from: header_safe(context.sender),
        to: first_recipients(item),
        reply_to: item.contact.email.as_deref().map(header_safe),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests;
