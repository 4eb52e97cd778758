//! The first notification of a routed lead: who gets it, and the email
//! itself (plain text and HTML, every submitted value escaped, no user text
//! able to break a header).

use time::OffsetDateTime;

use crate::html::escape_text;
use crate::lead::format_utc_millis;
use crate::store::LeadItem;

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

/// One line, no control characters: what any header value built from user
/// input goes through. CR/LF become spaces, so nothing can start a header.
pub fn header_safe(text: &str) -> String {
    header_safe_unbounded(text)
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect()
}

/// [`header_safe`] without the length cap: control characters become
/// spaces, runs of whitespace one space.
pub fn header_safe_unbounded(text: &str) -> String {
    // One pass, one allocation: the intake runs this on every short field.
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The recipients of the first notification: the rule's recipients and the
/// owner, each once, in that order.
pub fn first_recipients(item: &LeadItem) -> Vec<String> {
    let mut to: Vec<String> = Vec::new();
    for address in item.recipients.iter().chain(item.owner.iter()) {
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
}

fn display_name(item: &LeadItem) -> String {
    item.full_name
        .clone()
        .or_else(|| item.email.clone())
        .or_else(|| item.phone.clone())
        .unwrap_or_else(|| "Unknown".into())
}

/// The subject: the sector's fast lane first, then who is asking.
pub fn subject(item: &LeadItem) -> String {
    let who = match (&item.agency, &item.company) {
        (Some(agency), Some(company)) if !agency.eq_ignore_ascii_case(company) => {
            format!("{agency} — {company}")
        }
        (Some(agency), _) => agency.clone(),
        (None, Some(company)) => company.clone(),
        (None, None) => display_name(item),
    };
    let prefix = match item.segment.as_str() {
        "federal" => "Federal lead".to_owned(),
        segment => format!("New {} lead", segment.replace('_', " ")),
    };
    header_safe(&format!("{prefix}: {who} ({})", display_name(item)))
}

/// An escalation email: the same lead details under a subject that says
/// how long it has waited and which tier this is.
pub fn render_escalation(
    item: &LeadItem,
    tier: u32,
    tiers: usize,
    waited: &str,
    recipient: &str,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    let first = render_first_notification(item, context);
    let label = if tier as usize >= tiers {
        format!("Unanswered lead, SLA breached after {waited}")
    } else {
        format!(
            "Escalation {} of {tiers}: still unclaimed after {waited}",
            tier + 1
        )
    };
    let subject = header_safe(&format!("{label} — {}", first.subject));
    let banner = format!(
        "<p style=\"background:#fff4e5;border-left:4px solid #f0a30a;padding:8px 12px\"><strong>{}</strong>. Nobody has claimed this lead yet.</p>",
        escape_text(&label)
    );
    OutgoingEmail {
        to: vec![recipient.to_owned()],
        text: format!(
            "{label}. Nobody has claimed this lead yet.\n\n{}",
            first.text
        ),
        html: first.html.replacen("<table", &format!("{banner}<table"), 1),
        subject,
        ..first
    }
}

/// "Sun 22 Nov 2026, 14:24 UTC": what a person reads at a glance.
fn readable_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| format_utc_millis(at))
}

fn describe_minutes(minutes: i64) -> String {
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

/// The phone number as a `tel:` link wants it: digits and a leading `+`.
fn dialable(phone: &str) -> String {
    phone
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
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

/// The submitted fields a rep has not already read in the summary: not
/// empty, not the form's own control fields (`_redirect`, `_rendered_at`),
/// and not a value the summary shows. Every field stays stored on the lead.
fn other_fields(item: &LeadItem, summary: &[(&str, String)]) -> Vec<(String, String)> {
    let shown: Vec<&str> = summary
        .iter()
        .map(|(_, v)| v.trim())
        .chain(item.message.as_deref().map(str::trim))
        .chain(item.first_name.as_deref().map(str::trim))
        .chain(item.last_name.as_deref().map(str::trim))
        .collect();
    item.fields
        .iter()
        .filter(|f| {
            let value = f.value.trim();
            !value.is_empty()
                && !f.name.starts_with('_')
                && !shown.iter().any(|s| s.eq_ignore_ascii_case(value))
        })
        .map(|f| {
            let label = f.label.clone().unwrap_or_else(|| humanise(&f.name));
            (label, f.value.clone())
        })
        .collect()
}

pub fn render_first_notification(
    item: &LeadItem,
    context: NotificationContext<'_>,
) -> OutgoingEmail {
    let received = item.received();
    let deadline = context.deadline.map(|d| {
        format!(
            "{}, {} after arrival (first escalation if nobody claims it)",
            readable_time(d),
            describe_minutes((d - received).whole_minutes())
        )
    });
    let utm = [
        ("source", &item.utm_source),
        ("medium", &item.utm_medium),
        ("campaign", &item.utm_campaign),
        ("term", &item.utm_term),
        ("content", &item.utm_content),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join(", ");
    let summary: Vec<(&str, Option<String>)> = vec![
        ("Name", Some(display_name(item))),
        ("Email", item.email.clone()),
        ("Phone", item.phone.clone()),
        ("Company", item.company.clone()),
        ("Job title", item.job_title.clone()),
        ("Agency", item.agency.clone()),
        ("Sector", Some(item.sector.to_string())),
        ("Segment", Some(item.segment.clone())),
        ("Owner", item.owner.clone()),
        ("Source", Some(item.source.to_string())),
        ("Received", Some(readable_time(received))),
        ("SLA deadline", deadline),
        ("Page", item.page_url.clone()),
        ("Campaign", (!utm.is_empty()).then_some(utm)),
        ("Routed by", Some(item.route_reason.clone())),
        ("Lead id", Some(item.lead_id.to_string())),
    ];
    let summary: Vec<(&str, String)> = summary
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();

    let mut text = String::new();
    text.push_str(&format!("{}\n\n", subject(item)));
    for (label, value) in &summary {
        text.push_str(&format!("{label}: {value}\n"));
    }
    if let Some(message) = &item.message {
        text.push_str(&format!("\nMessage:\n{message}\n"));
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
    if item.fields_truncated {
        text.push_str("  (some values were cut to fit)\n");
    }

    let row = |label: &str, value: &str| {
        // Email and phone are one click away from answering.
        let cell = match label {
            "Email" => format!(
                "<a href=\"mailto:{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(value),
                escape_text(value)
            ),
            "Phone" => format!(
                "<a href=\"tel:{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(&dialable(value)),
                escape_text(value)
            ),
            _ => escape_text(value).into_owned(),
        };
        format!(
            "<tr><th style=\"text-align:left;padding:4px 12px 4px 0;color:#52606d;vertical-align:top;white-space:nowrap\">{}</th>\
<td style=\"padding:4px 0\">{cell}</td></tr>",
            escape_text(label),
        )
    };
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1f2933;max-width:640px;margin:0 auto;padding:16px\">",
    );
    html.push_str(&format!(
        "<h1 style=\"font-size:20px;margin:0 0 12px\">{}</h1>",
        escape_text(&subject(item))
    ));
    if let Some(url) = context.claim_url {
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;background:#0b6bcb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600\">Claim this lead</a></p>",
            html_escape::encode_double_quoted_attribute(url)
        ));
    }
    html.push_str("<table style=\"border-collapse:collapse;font-size:14px\">");
    for (label, value) in &summary {
        html.push_str(&row(label, value));
    }
    html.push_str("</table>");
    if let Some(message) = &item.message {
        html.push_str(&format!(
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Message</h2><p style=\"white-space:pre-wrap;background:#f5f7fa;padding:12px;border-radius:6px\">{}</p>",
            escape_text(message)
        ));
    }
    if !others.is_empty() {
        html.push_str("<h2 style=\"font-size:16px;margin:16px 0 4px\">Other submitted fields</h2><table style=\"border-collapse:collapse;font-size:13px\">");
        for (label, value) in &others {
            html.push_str(&row(label, value));
        }
        html.push_str("</table>");
    }
    if item.fields_truncated {
        html.push_str("<p style=\"color:#52606d\">Some values were cut to fit.</p>");
    }
    html.push_str("<p style=\"color:#52606d;font-size:12px;margin-top:24px\">Sent by firsthour. Reply to this email to answer the lead directly.</p></body></html>");

    OutgoingEmail {
        from: header_safe(context.sender),
        to: first_recipients(item),
        reply_to: item.email.as_deref().map(header_safe),
        subject: subject(item),
        text,
        html,
    }
}

#[cfg(test)]
mod tests;
