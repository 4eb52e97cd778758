//! The emails the local stack sent, read back from moto's
//! `/moto-api/data.json`, shown as their recipients would see them, with the
//! messages the channel stand-ins received alongside (`/_local/mail`):
//! filtered by lead and by recipient, and cleared with a button.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firsthour::html::escape_text;
use html_escape::encode_double_quoted_attribute as attribute;
use serde_json::Value;

/// What the channel section says when the run has no stand-ins.
pub const NO_CHANNELS: &str =
    "no channels configured (make run CONFIG=examples/channels/firsthour.toml)";

/// The page waits no longer for the stand-ins (it still shows the emails).
const STAND_INS_TIMEOUT: Duration = Duration::from_secs(5);

/// Lead filter links per email or message, at most (a manager's digest may
/// name many leads).
const MAX_LEAD_LINKS: usize = 5;

/// How much of a refused filter value the page repeats.
const SHOWN_TYPED_CHARS: usize = 80;

/// One sent email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML part when there is one, else the text part (or raw MIME).
    pub body: String,
}

/// Reads every email moto recorded (SES v1 and v2 share the store).
pub async fn sent_messages(emulator_url: &str) -> Result<Vec<SentMail>, reqwest::Error> {
    let data: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        emulator_url.trim_end_matches('/')
    ))
    .await?
    .json()
    .await?;
    Ok(parse_sent(&data))
}

pub fn parse_sent(data: &Value) -> Vec<SentMail> {
    let ses = data.get("ses");
    let list = |kind: &str| {
        ses.and_then(|s| s.get(kind))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let recipients = |v: &Value| -> Vec<String> {
        let destinations = v.get("destinations");
        ["ToAddresses", "CcAddresses", "BccAddresses"]
            .iter()
            .filter_map(|k| {
                destinations
                    .and_then(|d| d.get(*k))
                    .and_then(Value::as_array)
            })
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .chain(
                destinations
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned)),
            )
            .collect()
    };
    let mut out: Vec<SentMail> = list("Message")
        .iter()
        .map(|m| SentMail {
            id: text(m, "id"),
            from: text(m, "source"),
            to: recipients(m),
            // As the recipient's mail client shows it (RFC 2047 decoded).
            subject: firsthour::notify::decode_subject(&text(m, "subject")),
            body: text(m, "body"),
        })
        .collect();
    out.extend(list("RawMessage").iter().map(|m| SentMail {
        id: text(m, "id"),
        from: text(m, "source"),
        to: recipients(m),
        subject: "(raw MIME message)".into(),
        body: format!(
            "<pre>{}</pre>",
            firsthour::html::escape_text(&text(m, "raw_data"))
        ),
    }));
    out
}

/// Why a filter value was refused: the page says so and filters without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "“{0}” is not a lead id (a 26-character ULID, as on an email's “Lead id” line), so the page is not filtered by lead"
    )]
    NotALeadId(String),
    #[error("“{typed}” is not an email address ({why}), so the page is not filtered by recipient")]
    NotAnAddress { typed: String, why: String },
}

/// The page's filters, from its query string (`?lead=…&to=…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only what carries this lead id (an upper-case ULID, as ids are written).
    pub lead: Option<String>,
    /// Only emails to this address (lower-cased, compared case-insensitively),
    /// and channel messages that mention it (channels have no recipients).
    pub to: Option<String>,
    /// What was typed, shown again in the form even when refused.
    pub typed_lead: String,
    pub typed_to: String,
    pub refused: Vec<FilterError>,
}

impl Filter {
    /// Reads `lead` and `to` from a raw query string. Never fails: a value
    /// that is neither a lead id nor an address is refused with a note.
    pub fn parse(query: Option<&str>) -> Self {
        // The URL parser does the form decoding (`+`, percent escapes,
        // invalid UTF-8 replaced) and accepts whatever a browser sends.
        let url =
            query.and_then(|q| reqwest::Url::parse(&format!("http://local.invalid/?{q}")).ok());
        let value = |name: &str| -> String {
            url.as_ref()
                .and_then(|url| {
                    url.query_pairs()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let mut filter = Self {
            typed_lead: value("lead"),
            typed_to: value("to"),
            ..Self::default()
        };
        if !filter.typed_lead.is_empty() {
            match firsthour::lead::LeadId::parse(&filter.typed_lead) {
                Some(id) => filter.lead = Some(id.as_str().to_owned()),
                None => filter
                    .refused
                    .push(FilterError::NotALeadId(shortened(&filter.typed_lead))),
            }
        }
        if !filter.typed_to.is_empty() {
            match firsthour::email::EmailAddress::parse(&filter.typed_to) {
                Ok(address) => filter.to = Some(address.as_str().to_lowercase()),
                Err(err) => filter.refused.push(FilterError::NotAnAddress {
                    typed: shortened(&filter.typed_to),
                    why: err.to_string(),
                }),
            }
        }
        filter
    }

    pub fn is_active(&self) -> bool {
        self.lead.is_some() || self.to.is_some()
    }

    /// The email's subject or body carries the lead id, and it went to the address.
    pub fn matches_mail(&self, mail: &SentMail) -> bool {
        let lead = self
            .lead
            .as_deref()
            .is_none_or(|id| carries(&mail.subject, id) || carries(&mail.body, id));
        let to = self.to.as_deref().is_none_or(|to| {
            mail.to
                .iter()
                .any(|recipient| bare_address(recipient).to_lowercase() == to)
        });
        lead && to
    }

    /// The message (as posted or updated) carries the lead id and mentions the address.
    pub fn matches_channel(&self, message: &ChannelMessage) -> bool {
        let lead = self
            .lead
            .as_deref()
            .is_none_or(|id| carries(&message.searchable, id));
        let to = self
            .to
            .as_deref()
            .is_none_or(|to| message.searchable.to_lowercase().contains(to));
        lead && to
    }

    /// " for lead X to Y", for the page's summary line.
    fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(lead) = &self.lead {
            out.push_str(&format!(" for lead {lead}"));
        }
        if let Some(to) = &self.to {
            out.push_str(&format!(" to {to}"));
        }
        out
    }
}

/// `text` carries the ULID `id` (ids are upper case; a reply address may
/// have lowered it).
fn carries(text: &str, id: &str) -> bool {
    text.to_ascii_uppercase().contains(id)
}

/// `Name <a@b>` → `a@b`.
fn bare_address(recipient: &str) -> &str {
    let recipient = recipient.trim();
    match recipient.rfind('<') {
        Some(open) if recipient.ends_with('>') => recipient[open + 1..recipient.len() - 1].trim(),
        _ => recipient,
    }
}

/// At most [`SHOWN_TYPED_CHARS`] of what was typed.
fn shortened(typed: &str) -> String {
    let mut chars = typed.chars();
    let head: String = chars.by_ref().take(SHOWN_TYPED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// The lead ids (ULIDs) a text names, in order, once each: the tokens of 26
/// Crockford base-32 characters starting with 0-7, which nothing else in
/// an email or a channel message is.
pub fn lead_ids(text: &str) -> Vec<String> {
    let crockford = |c: char| {
        c.is_ascii_digit()
            || (c.is_ascii_alphabetic() && !matches!(c.to_ascii_uppercase(), 'I' | 'L' | 'O' | 'U'))
    };
    let mut found: Vec<String> = Vec::new();
    for token in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        if token.len() != 26
            || !token.starts_with(|c: char| ('0'..='7').contains(&c))
            || !token.chars().all(crockford)
        {
            continue;
        }
        if let Some(id) = firsthour::lead::LeadId::parse(token) {
            let id = id.as_str().to_owned();
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    found
}

/// One message a channel stand-in received: a Slack app's post, a Slack
/// incoming webhook's, or a Teams workflow's card.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMessage {
    /// `slack_app`, `slack_webhook` or `teams`.
    pub kind: String,
    /// The Slack channel's id, or the webhook's name.
    pub channel: String,
    /// When it arrived (Unix seconds).
    pub time: f64,
    /// What a reader sees first, as the vendor shows it: Slack's header
    /// block (else its `text`), Teams' first TextBlock.
    pub text: String,
    /// Each update: when, and its text.
    pub updates: Vec<(f64, String)>,
    pub deleted: bool,
    /// Every string of the body and of its updates, for the filters.
    searchable: String,
}

/// The stand-ins' `/_standin/messages` answer, read leniently: a field
/// missing or of another type reads as empty.
pub fn parse_channel_messages(data: &Value) -> Vec<ChannelMessage> {
    fn text<'a>(v: &'a Value, key: &str) -> &'a str {
        v.get(key).and_then(Value::as_str).unwrap_or_default()
    }
    let seconds = |v: &Value| v.get("time").and_then(Value::as_f64).unwrap_or_default();
    data.get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let kind = text(m, "kind").to_owned();
            let teams = kind == "teams";
            let body = m.get("body").unwrap_or(&Value::Null);
            let mut searchable = String::new();
            collect_strings(body, &mut searchable);
            let updates = m
                .get("updates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|update| {
                    let body = update.get("body").unwrap_or(&Value::Null);
                    collect_strings(body, &mut searchable);
                    (seconds(update), message_text(body, teams))
                })
                .collect();
            let channel = [text(m, "channel"), text(m, "webhook")]
                .into_iter()
                .find(|c| !c.is_empty())
                .unwrap_or_default()
                .to_owned();
            ChannelMessage {
                text: message_text(body, teams),
                kind,
                channel,
                time: seconds(m),
                updates,
                deleted: m.get("deleted").and_then(Value::as_bool).unwrap_or(false),
                searchable,
            }
        })
        .collect()
}

/// Every string in `value` (keys aside), one a line.
fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => {
            out.push_str(text);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(fields) => fields
            .values()
            .for_each(|field| collect_strings(field, out)),
        _ => {}
    }
}

/// A posted body's text as a reader sees it first (see [`ChannelMessage::text`]).
fn message_text(body: &Value, teams: bool) -> String {
    if teams {
        return body
            .get("attachments")
            .and_then(Value::as_array)
            .and_then(|attachments| attachments.first())
            .and_then(|attachment| attachment.get("content"))
            .and_then(|card| card.get("body"))
            .and_then(first_text_block)
            .map(teams_unescaped)
            .unwrap_or_default();
    }
    // A form-encoded call carries its blocks as JSON text.
    let blocks = match body.get("blocks") {
        Some(Value::String(json)) => serde_json::from_str(json).unwrap_or(Value::Null),
        Some(blocks) => blocks.clone(),
        None => Value::Null,
    };
    let header = blocks
        .as_array()
        .into_iter()
        .flatten()
        .find(|block| block.get("type").and_then(Value::as_str) == Some("header"))
        .and_then(|block| block.get("text"))
        .and_then(|text| text.get("text"))
        .and_then(Value::as_str);
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty());
    header.or(text).map(slack_unescaped).unwrap_or_default()
}

/// The first TextBlock of a card's elements, looking into containers and columns.
fn first_text_block(elements: &Value) -> Option<&str> {
    elements.as_array()?.iter().find_map(|element| {
        if element.get("type").and_then(Value::as_str) == Some("TextBlock") {
            return element.get("text").and_then(Value::as_str);
        }
        ["items", "columns"]
            .iter()
            .find_map(|key| element.get(*key).and_then(first_text_block))
    })
}

/// Slack sends `&`, `<` and `>` as entities and shows them as the characters.
fn slack_unescaped(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A TextBlock is Markdown: a backslashed punctuation character shows as itself.
fn teams_unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next_if(char::is_ascii_punctuation)
        {
            out.push(next);
            continue;
        }
        out.push(c);
    }
    out
}

/// Why the stand-ins' messages could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("they answered HTTP {0}")]
    Status(u16),
}

/// Every message the stand-ins at `base_url` received.
pub async fn channel_messages(
    http: &reqwest::Client,
    base_url: &str,
) -> Result<Vec<ChannelMessage>, ChannelError> {
    let response = http
        .get(format!(
            "{}/_standin/messages",
            base_url.trim_end_matches('/')
        ))
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(ChannelError::Status(response.status().as_u16()));
    }
    Ok(parse_channel_messages(&response.json::<Value>().await?))
}

/// The channel section's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Channels {
    /// The run has no stand-ins (its rules file has no channels).
    NotConfigured,
    /// The stand-ins run but did not answer.
    Unreadable { base_url: String, error: String },
    Read {
        base_url: String,
        messages: Vec<ChannelMessage>,
    },
}

/// A clear of the view. moto has no way to delete what SES "sent" (and
/// `/moto-api/reset` would wipe the whole stack), nor a send time on its SES
/// messages, so the emails' cut-off is the set of ids moto held at the
/// clear. Channel messages carry their arrival time, so theirs is the time
/// (the stand-ins are not reset: their Claim buttons and updates need the
/// messages).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleared {
    /// When (Unix seconds).
    pub at: f64,
    /// The emails moto held then.
    pub hidden: HashSet<String>,
}

impl Cleared {
    fn shows_mail(&self, mail: &SentMail) -> bool {
        !self.hidden.contains(&mail.id)
    }

    fn shows_channel(&self, message: &ChannelMessage) -> bool {
        message.time > self.at
    }
}

/// The view's state in the gateway: where the stand-ins are, and the last clear.
#[derive(Debug)]
pub struct ViewState {
    stand_ins_url: Option<String>,
    cleared: Mutex<Option<Cleared>>,
    http: reqwest::Client,
}

impl Default for ViewState {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ViewState {
    /// `stand_ins_url`: the stand-ins' base URL ([`crate::stand_ins::StandIns::base_url`]),
    /// when the run has them.
    pub fn new(stand_ins_url: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(STAND_INS_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            stand_ins_url,
            cleared: Mutex::new(None),
            http,
        }
    }

    pub fn stand_ins_url(&self) -> Option<&str> {
        self.stand_ins_url.as_deref()
    }

    pub fn cleared(&self) -> Option<Cleared> {
        self.lock().clone()
    }

    /// Hides `present` (every email moto holds now) and every channel
    /// message that arrived up to `at`.
    pub fn clear(&self, present: &[SentMail], at: f64) {
        *self.lock() = Some(Cleared {
            at,
            hidden: present.iter().map(|mail| mail.id.clone()).collect(),
        });
    }

    /// The stand-ins' messages, or why there are none.
    pub async fn channels(&self) -> Channels {
        let Some(base_url) = &self.stand_ins_url else {
            return Channels::NotConfigured;
        };
        match channel_messages(&self.http, base_url).await {
            Ok(messages) => Channels::Read {
                base_url: base_url.clone(),
                messages,
            },
            Err(err) => Channels::Unreadable {
                base_url: base_url.clone(),
                error: err.to_string(),
            },
        }
    }

    /// The clear survives a panicked holder: it is a plain value.
    fn lock(&self) -> MutexGuard<'_, Option<Cleared>> {
        self.cleared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Now, in Unix seconds (the stand-ins' clock: the same machine).
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

/// Unix seconds as `2026-11-22 14:00:05 UTC`.
fn when(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    match time::OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "?".into(),
    }
}

/// What the page shows: everything read, and what narrows it.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Every email moto holds, oldest first.
    pub mails: &'a [SentMail],
    pub filter: &'a Filter,
    pub cleared: Option<&'a Cleared>,
    pub channels: &'a Channels,
}

const STYLE: &str = "<style>body{max-width:48rem}article{border-top:1px solid #ddd;padding:1rem 0}\
iframe{width:100%;height:24rem;border:1px solid #ccc}form{margin:.5rem 0}label{margin-right:.75rem}\
.note{background:#fff4e5;border-left:4px solid #e8a33d;padding:.5rem .75rem}\
.text{white-space:pre-wrap;margin:.25rem 0}.updates{margin:.25rem 0}</style>";

const CLEAR_FORM: &str = "<form method=\"post\" action=\"/_local/mail/clear\">\
<button type=\"submit\">Clear the view</button> \
<span class=\"muted\">hides everything shown so far; what is sent next still shows</span></form>";

/// The sent-mail page: the filter form and the clear button, the emails
/// newest first (each body in a sandboxed frame), then the channel messages.
/// Everything it did not write itself is escaped.
pub fn render_page(view: &View<'_>) -> String {
    let filter = view.filter;
    let kept: Vec<&SentMail> = view
        .mails
        .iter()
        .filter(|mail| view.cleared.is_none_or(|c| c.shows_mail(mail)))
        .collect();
    let shown: Vec<&SentMail> = kept
        .iter()
        .copied()
        .filter(|mail| filter.matches_mail(mail))
        .collect();
    let mut html = String::from(STYLE);
    html.push_str(&format!(
        "<form method=\"get\" action=\"/_local/mail\">\
<label>Lead id <input name=\"lead\" value=\"{lead}\" size=\"28\" spellcheck=\"false\"></label>\
<label>Recipient <input name=\"to\" type=\"text\" value=\"{to}\" size=\"28\" spellcheck=\"false\"></label>\
<button type=\"submit\">Filter</button> <a href=\"/_local/mail\">show all</a></form>{CLEAR_FORM}",
        lead = attribute(&filter.typed_lead),
        to = attribute(&filter.typed_to),
    ));
    for refused in &filter.refused {
        html.push_str(&format!(
            "<p class=\"note\" role=\"alert\">{}</p>",
            escape_text(&refused.to_string())
        ));
    }
    if let Some(cleared) = view.cleared {
        html.push_str(&format!(
            "<p class=\"muted\">Cleared at {}: what was sent before is hidden \
(moto cannot delete the emails SES sent, so they are only hidden here).</p>",
            escape_text(&when(cleared.at))
        ));
    }
    if filter.is_active() {
        html.push_str(&format!(
            "<p class=\"muted\">{} of {} emails{}.</p>",
            shown.len(),
            kept.len(),
            escape_text(&filter.describe())
        ));
    }
    html.push_str("<h2>Emails</h2>");
    if shown.is_empty() {
        html.push_str(if filter.is_active() {
            "<p class=\"muted\">No email matches these filters.</p>"
        } else if view.cleared.is_some() {
            "<p class=\"muted\">No email sent since the clear.</p>"
        } else {
            "<p class=\"muted\">No email sent yet. Post a government lead and reload.</p>"
        });
    }
    for mail in shown.iter().rev() {
        html.push_str(&mail_item(mail));
    }
    html.push_str(&channel_section(view.channels, filter, view.cleared));
    firsthour::html::page(
        "Sent mail (local)",
        &format!("Sent mail ({})", shown.len()),
        &html,
    )
}

/// `/_local/mail?name=value`, as a link labelled `label`.
fn filter_link(name: &str, value: &str, label: &str) -> String {
    format!(
        "<a href=\"/_local/mail?{name}={}\">{}</a>",
        attribute(&path_segment(value)),
        escape_text(label)
    )
}

/// Links that filter by each lead `searchable` names.
fn lead_links(searchable: &str) -> Vec<String> {
    lead_ids(searchable)
        .into_iter()
        .take(MAX_LEAD_LINKS)
        .map(|id| filter_link("lead", &id, &format!("lead {id}")))
        .collect()
}

fn mail_item(mail: &SentMail) -> String {
    let frame = format!("<base target=\"_blank\">{}", mail.body);
    let mut links = lead_links(&format!("{}\n{}", mail.subject, mail.body));
    let mut recipients: Vec<&str> = Vec::new();
    for recipient in mail.to.iter().map(|r| bare_address(r)) {
        if !recipient.is_empty() && !recipients.contains(&recipient) {
            recipients.push(recipient);
        }
    }
    links.extend(
        recipients
            .iter()
            .map(|to| filter_link("to", to, &format!("to {to}"))),
    );
    let links = if links.is_empty() {
        String::new()
    } else {
        format!("<p class=\"muted\">Only: {}</p>", links.join(" · "))
    };
    format!(
        "<article><h3>{subject}</h3><p class=\"muted\">From {from} to {to} · \
<a class=\"open\" href=\"/_local/mail/{href}\">open this email alone</a></p>{links}\
<iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"{frame}\"></iframe></article>",
        subject = escape_text(&mail.subject),
        from = escape_text(&mail.from),
        to = escape_text(&mail.to.join(", ")),
        href = attribute(&path_segment(&mail.id)),
        frame = attribute(&frame),
    )
}

fn channel_section(channels: &Channels, filter: &Filter, cleared: Option<&Cleared>) -> String {
    let mut html = String::from("<h2>Channel messages</h2>");
    let (base_url, messages) = match channels {
        Channels::NotConfigured => {
            html.push_str(&format!(
                "<p class=\"muted\">{}</p>",
                escape_text(NO_CHANNELS)
            ));
            return html;
        }
        Channels::Unreadable { base_url, error } => {
            html.push_str(&format!(
                "<p class=\"note\" role=\"alert\">Cannot read the channel stand-ins at \
<a href=\"{href}\">{base}</a>: {error}</p>",
                href = attribute(&format!("{}/", base_url.trim_end_matches('/'))),
                base = escape_text(base_url),
                error = escape_text(error),
            ));
            return html;
        }
        Channels::Read { base_url, messages } => (base_url, messages),
    };
    let shown: Vec<&ChannelMessage> = messages
        .iter()
        .filter(|m| cleared.is_none_or(|c| c.shows_channel(m)))
        .filter(|m| filter.matches_channel(m))
        .collect();
    let mentions = filter
        .to
        .as_deref()
        .map(|to| format!(" (those that mention {})", escape_text(to)))
        .unwrap_or_default();
    html.push_str(&format!(
        "<p class=\"muted\">As the Slack and Teams stand-ins received them{mentions}; \
<a href=\"{href}\">the stand-ins' page</a> shows them in full, with their Claim buttons.</p>",
        href = attribute(&format!("{}/", base_url.trim_end_matches('/'))),
    ));
    if shown.is_empty() {
        html.push_str(if filter.is_active() {
            "<p class=\"muted\">No channel message matches these filters.</p>"
        } else if cleared.is_some() {
            "<p class=\"muted\">No channel message since the clear.</p>"
        } else {
            "<p class=\"muted\">No channel message yet.</p>"
        });
    }
    for message in shown.iter().rev() {
        html.push_str(&channel_item(message));
    }
    html
}

fn channel_item(message: &ChannelMessage) -> String {
    let or_none = |text: &str| {
        if text.trim().is_empty() {
            "(no text)".to_owned()
        } else {
            text.to_owned()
        }
    };
    let updates: String = message
        .updates
        .iter()
        .map(|(time, text)| {
            format!(
                "<li>updated: {} <span class=\"muted\">({})</span></li>",
                escape_text(&or_none(text)),
                escape_text(&when(*time))
            )
        })
        .collect();
    let updates = if updates.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"updates\">{updates}</ul>")
    };
    let links = lead_links(&message.searchable);
    let links = if links.is_empty() {
        String::new()
    } else {
        format!(" · only: {}", links.join(" · "))
    };
    format!(
        "<article class=\"channel\"><p class=\"muted\"><strong>{kind}</strong> · {channel} · {time}{deleted}{links}</p>\
<p class=\"text\">{text}</p>{updates}</article>",
        kind = escape_text(&message.kind),
        channel = escape_text(&message.channel),
        time = escape_text(&when(message.time)),
        deleted = if message.deleted { " · deleted" } else { "" },
        text = escape_text(&or_none(&message.text)),
    )
}

/// One email on its own page (`/_local/mail/{id}`), as its recipient's mail
/// client would show it: the HTML part as is, or the text part preformatted.
pub fn render_single(mail: &SentMail) -> String {
    if mail.body.trim_start().starts_with('<') {
        mail.body.clone()
    } else {
        firsthour::html::page(
            &mail.subject,
            &mail.subject,
            &format!(
                "<pre style=\"white-space:pre-wrap\">{}</pre>",
                firsthour::html::escape_text(&mail.body)
            ),
        )
    }
}

/// `id` as one URL path segment: unreserved characters kept, the rest
/// percent-encoded.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LEAD: &str = "01JD3X5W0ZQ8K4M2N6P7R9S1TV";
    const OTHER_LEAD: &str = "01JD3X5W0ZQ8K4M2N6P7R9S1TW";

    fn mail(id: &str, body: &str) -> SentMail {
        SentMail {
            id: id.into(),
            from: "firsthour@example.com".into(),
            to: vec!["federal-sales@example.com".into()],
            subject: "Federal lead: <Navy>".into(),
            body: body.into(),
        }
    }

    fn addressed(id: &str, lead: &str, to: &[&str]) -> SentMail {
        SentMail {
            to: to.iter().map(|t| (*t).to_owned()).collect(),
            subject: format!("Federal lead {id}"),
            ..mail(id, &format!("<p>Lead id: {lead}</p>"))
        }
    }

    fn page(mails: &[SentMail], query: Option<&str>) -> String {
        render_page(&View {
            mails,
            filter: &Filter::parse(query),
            cleared: None,
            channels: &Channels::NotConfigured,
        })
    }

    fn ids_shown(html: &str) -> Vec<String> {
        html.split("href=\"/_local/mail/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_list_links_each_email_alone() {
        let html = page(&[mail("ab12-cd/34", "<p>hi</p>")], None);
        assert!(
            html.contains("href=\"/_local/mail/ab12-cd%2F34\""),
            "{html}"
        );
        assert!(html.contains("Federal lead: &lt;Navy&gt;"));
        assert!(html.contains(NO_CHANNELS), "{html}");
    }

    #[test]
    fn a_single_email_is_its_html_or_its_text_escaped() {
        assert_eq!(
            render_single(&mail("1", "<!doctype html><p>hi</p>")),
            "<!doctype html><p>hi</p>"
        );
        let text = render_single(&mail("1", "Call <Grace> now"));
        assert!(text.contains("Call &lt;Grace&gt; now"), "{text}");
        assert!(!text.contains("<Grace>"));
    }

    #[test]
    fn filters_are_read_from_the_query_string() {
        assert_eq!(Filter::parse(None), Filter::default());
        assert_eq!(Filter::parse(Some("")), Filter::default());
        assert_eq!(Filter::parse(Some("lead=&to=+")), Filter::default());
        let lower = LEAD.to_lowercase();
        let filter = Filter::parse(Some(&format!(
            "lead={lower}&to=+Federal-Sales%40EXAMPLE.com+"
        )));
        assert_eq!(filter.lead.as_deref(), Some(LEAD));
        assert_eq!(filter.to.as_deref(), Some("federal-sales@example.com"));
        assert!(filter.refused.is_empty());
        assert_eq!(filter.typed_lead, lower);
        // The first of repeated keys; unknown keys ignored.
        let filter = Filter::parse(Some(&format!("x=1&lead={LEAD}&lead=nope")));
        assert_eq!(filter.lead.as_deref(), Some(LEAD));
    }

    #[test]
    fn a_bogus_filter_value_is_refused_with_a_note_and_the_other_still_applies() {
        let filter = Filter::parse(Some("lead=not-a-lead&to=federal-sales@example.com"));
        assert_eq!(filter.lead, None);
        assert_eq!(filter.to.as_deref(), Some("federal-sales@example.com"));
        assert_eq!(
            filter.refused,
            [FilterError::NotALeadId("not-a-lead".into())]
        );
        let filter = Filter::parse(Some("to=nobody&lead=%FF%FE"));
        assert_eq!(filter.refused.len(), 2, "{:?}", filter.refused);
        assert!(
            matches!(&filter.refused[1], FilterError::NotAnAddress { typed, .. } if typed == "nobody")
        );
        // A long value is repeated cut.
        let long = "x".repeat(500);
        let filter = Filter::parse(Some(&format!("lead={long}")));
        assert!(filter.refused[0].to_string().len() < 300);

        let mails = [addressed("m1", LEAD, &["federal-sales@example.com"])];
        let html = page(
            &mails,
            Some("lead=%3Cscript%3Ealert(1)%3C/script%3E&to=%22%3E%3Cb%3E"),
        );
        assert!(html.contains("is not a lead id"), "{html}");
        assert!(html.contains("is not an email address"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("\"><b>"), "{html}");
        assert!(
            html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
            "the form keeps what was typed, escaped: {html}"
        );
        assert_eq!(ids_shown(&html), ["m1"], "refused filters filter nothing");
    }

    #[test]
    fn emails_are_filtered_by_lead_by_recipient_or_both() {
        let mails = [
            addressed("m1", LEAD, &["federal-sales@example.com"]),
            addressed("m2", LEAD, &["Rep One <fed-rep-1@example.com>"]),
            addressed("m3", OTHER_LEAD, &["fed-rep-1@example.com"]),
            SentMail {
                subject: format!("Reassigned {OTHER_LEAD}"),
                ..addressed("m4", "none", &["x@example.com"])
            },
        ];
        // Newest first.
        assert_eq!(ids_shown(&page(&mails, None)), ["m4", "m3", "m2", "m1"]);
        assert_eq!(
            ids_shown(&page(&mails, Some(&format!("lead={LEAD}")))),
            ["m2", "m1"]
        );
        assert_eq!(
            ids_shown(&page(&mails, Some(&format!("lead={OTHER_LEAD}")))),
            ["m4", "m3"],
            "the subject counts too"
        );
        assert_eq!(
            ids_shown(&page(&mails, Some("to=FED-REP-1@Example.com"))),
            ["m3", "m2"]
        );
        let both = page(
            &mails,
            Some(&format!("lead={LEAD}&to=fed-rep-1%40example.com")),
        );
        assert_eq!(ids_shown(&both), ["m2"]);
        assert!(both.contains("Sent mail (1)"), "{both}");
        assert!(
            both.contains(&format!(
                "1 of 4 emails for lead {LEAD} to fed-rep-1@example.com"
            )),
            "{both}"
        );
        let none = page(&mails, Some("to=nobody@example.com"));
        assert!(ids_shown(&none).is_empty());
        assert!(none.contains("No email matches these filters."), "{none}");
    }

    #[test]
    fn each_email_links_to_its_lead_and_recipients() {
        let mails = [addressed(
            "m1",
            LEAD,
            &["federal-sales@example.com", "Owner <o+1@example.com>"],
        )];
        let html = page(&mails, None);
        assert!(
            html.contains(&format!(
                "<a href=\"/_local/mail?lead={LEAD}\">lead {LEAD}</a>"
            )),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"/_local/mail?to=federal-sales%40example.com\">to federal-sales@example.com</a>"),
            "{html}"
        );
        assert!(html.contains("?to=o%2B1%40example.com"), "{html}");
        // The links give back what they encode.
        let filter = Filter::parse(Some("to=o%2B1%40example.com"));
        assert_eq!(filter.to.as_deref(), Some("o+1@example.com"));
    }

    #[test]
    fn lead_ids_are_the_ulids_a_text_names() {
        let text = format!(
            "Lead id: {LEAD}\nReply to r+{}.ab12@in.example.com, {LEAD} again, then {OTHER_LEAD}; \
not 81JD3X5W0ZQ8K4M2N6P7R9S1TV (too large), not 01JD3X5W0ZQ8K4M2N6P7R9S1TVX or 01ID3X5W0ZQ8K4M2N6P7R9S1TV",
            LEAD.to_lowercase()
        );
        assert_eq!(lead_ids(&text), [LEAD, OTHER_LEAD]);
        assert!(lead_ids("abcdefghjkmnpqrstvwxyzabcd").is_empty());
    }

    #[test]
    fn everything_shown_is_escaped() {
        let hostile = SentMail {
            id: "\"><script>alert('id')</script>".into(),
            from: "<script>alert('from')</script>@example.com".into(),
            to: vec!["<script>alert('to')</script>".into()],
            subject: "<script>alert('subject')</script>".into(),
            body: "<script>alert('body')</script>".into(),
        };
        let html = page(&[hostile], None);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert('subject')"), "{html}");
        // The body is only ever inside the sandboxed frame's attribute.
        assert!(html.contains("srcdoc=\"&lt;base target=&quot;_blank&quot;&gt;&lt;script&gt;"));
    }

    fn slack(text: &str, header: Option<&str>, lead: &str) -> Value {
        let mut blocks = vec![json!({"type": "context", "elements": [
            {"type": "plain_text", "text": format!("Lead id: {lead}")}]})];
        if let Some(header) = header {
            blocks.insert(
                0,
                json!({"type": "header", "text": {"type": "plain_text", "text": header}}),
            );
        }
        json!({"channel": "C0FEDERAL01", "text": text, "blocks": blocks})
    }

    fn stand_in_messages() -> Value {
        json!({"messages": [
            {"kind": "slack_app", "channel": "C0FEDERAL01", "webhook": null, "ts": "1.000001",
             "thread_ts": null, "time": 1_800_000_000.25,
             "body": slack("fallback", Some("Federal lead: Navy &amp; &lt;Marines&gt;"), LEAD),
             "updates": [{"time": 1_800_000_060.0, "via": "chat.update",
                          "body": slack("Claimed by fed-rep-1@example.com", None, LEAD)}]},
            {"kind": "slack_webhook", "channel": null, "webhook": "alerts", "ts": "1.000002",
             "thread_ts": null, "time": 1_800_000_100.0,
             "body": {"text": "<script>alert('lead')</script>", "blocks": "[]"}, "updates": []},
            {"kind": "teams", "channel": null, "webhook": "federal-teams", "ts": null,
             "thread_ts": null, "time": 1_800_000_200.0, "updates": [],
             "body": {"type": "message", "attachments": [{
                 "contentType": "application/vnd.microsoft.card.adaptive",
                 "content": {"type": "AdaptiveCard", "version": "1.5", "body": [
                     {"type": "Container", "items": [
                         {"type": "TextBlock", "text": "New lead: Acme \\(US\\) \\*urgent\\*"}]},
                     {"type": "TextBlock", "text": "second"},
                     {"type": "FactSet", "facts": [{"title": "Lead id", "value": OTHER_LEAD}]}]}}]}}
        ], "ephemerals": [], "responses": [], "clicks": []})
    }

    #[test]
    fn channel_messages_are_read_as_their_readers_see_them() {
        let messages = parse_channel_messages(&stand_in_messages());
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0].kind, "slack_app");
        assert_eq!(messages[0].channel, "C0FEDERAL01");
        assert_eq!(messages[0].text, "Federal lead: Navy & <Marines>");
        assert_eq!(
            messages[0].updates,
            [(
                1_800_000_060.0,
                "Claimed by fed-rep-1@example.com".to_owned()
            )]
        );
        assert_eq!(messages[1].channel, "alerts");
        assert_eq!(messages[1].text, "<script>alert('lead')</script>");
        assert_eq!(messages[2].kind, "teams");
        assert_eq!(messages[2].text, "New lead: Acme (US) *urgent*");
        assert!(parse_channel_messages(&json!({"messages": "nope"})).is_empty());
        assert!(parse_channel_messages(&json!([1, 2])).is_empty());
        let odd = parse_channel_messages(&json!({"messages": [{"kind": 3, "time": "x"}]}));
        assert_eq!(odd[0].text, "");
        assert_eq!(odd[0].time, 0.0);
    }

    fn with_channels(query: Option<&str>, cleared: Option<&Cleared>) -> String {
        render_page(&View {
            mails: &[],
            filter: &Filter::parse(query),
            cleared,
            channels: &Channels::Read {
                base_url: "http://127.0.0.1:4040".into(),
                messages: parse_channel_messages(&stand_in_messages()),
            },
        })
    }

    #[test]
    fn the_channel_section_lists_filters_and_escapes_the_messages() {
        let html = with_channels(None, None);
        assert!(html.contains("<h2>Channel messages</h2>"), "{html}");
        assert!(html.contains("href=\"http://127.0.0.1:4040/\""), "{html}");
        assert!(
            html.contains("Federal lead: Navy &amp; &lt;Marines&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert('lead')&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("updated: Claimed by fed-rep-1@example.com"),
            "{html}"
        );
        assert!(html.contains("2027-01-15 08:00:00 UTC"), "{html}");
        assert!(
            html.contains("<strong>teams</strong> · federal-teams"),
            "{html}"
        );
        assert!(html.contains(&format!("?lead={OTHER_LEAD}")), "{html}");
        // Newest first.
        let teams = html.find("New lead: Acme").unwrap_or(usize::MAX);
        let slack = html.find("Federal lead: Navy").unwrap_or(0);
        assert!(teams < slack, "{html}");

        let by_lead = with_channels(Some(&format!("lead={LEAD}")), None);
        assert!(by_lead.contains("Federal lead: Navy"));
        assert!(!by_lead.contains("New lead: Acme"));
        assert!(!by_lead.contains("alert('lead')"));
        // A recipient filter keeps the messages that mention the address (an update does).
        let by_to = with_channels(Some("to=FED-REP-1@example.com"), None);
        assert!(by_to.contains("Federal lead: Navy"), "{by_to}");
        assert!(by_to.contains("those that mention fed-rep-1@example.com"));
        assert!(!by_to.contains("New lead: Acme"));
        let none = with_channels(Some(&format!("lead={OTHER_LEAD}&to=a@example.com")), None);
        assert!(
            none.contains("No channel message matches these filters."),
            "{none}"
        );
    }

    #[test]
    fn without_stand_ins_or_when_they_do_not_answer_the_section_says_so() {
        let unreadable = render_page(&View {
            mails: &[],
            filter: &Filter::default(),
            cleared: None,
            channels: &Channels::Unreadable {
                base_url: "http://127.0.0.1:9".into(),
                error: "connection refused <b>".into(),
            },
        });
        assert!(
            unreadable
                .contains("Cannot read the channel stand-ins at <a href=\"http://127.0.0.1:9/\">"),
            "{unreadable}"
        );
        assert!(unreadable.contains("connection refused &lt;b&gt;"));
        assert!(
            page(&[], None).contains(
                "no channels configured (make run CONFIG=examples/channels/firsthour.toml)"
            )
        );
    }

    #[test]
    fn a_clear_hides_what_there_was_and_shows_what_comes_after() {
        let state = ViewState::new(None);
        assert_eq!(state.cleared(), None);
        let before = [
            addressed("m1", LEAD, &["federal-sales@example.com"]),
            addressed("m2", LEAD, &["federal-sales@example.com"]),
        ];
        state.clear(&before, 1_800_000_150.0);
        let cleared = state.cleared().expect("cleared");
        let mut now = before.to_vec();
        now.push(addressed("m3", LEAD, &["federal-sales@example.com"]));
        let html = render_page(&View {
            mails: &now,
            filter: &Filter::default(),
            cleared: Some(&cleared),
            channels: &Channels::NotConfigured,
        });
        assert_eq!(ids_shown(&html), ["m3"]);
        assert!(
            html.contains("Cleared at 2027-01-15 08:02:30 UTC"),
            "{html}"
        );
        let empty = render_page(&View {
            mails: &before,
            filter: &Filter::default(),
            cleared: Some(&cleared),
            channels: &Channels::NotConfigured,
        });
        assert!(empty.contains("No email sent since the clear."), "{empty}");
        // Channel messages by their time: only the Teams card came after.
        let channels = with_channels(None, Some(&cleared));
        assert!(channels.contains("New lead: Acme"));
        assert!(!channels.contains("Federal lead: Navy"));
        assert!(!channels.contains("alert('lead')"));
        // The form posts to the clear path.
        assert!(html.contains("<form method=\"post\" action=\"/_local/mail/clear\">"));
    }
}
