//! The emails the local stack sent, read back from moto's
//! `/moto-api/data.json`, shown as their recipients would see them.

use serde_json::Value;

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

/// The sent-mail page: newest first, each body in a sandboxed frame.
pub fn render_page(messages: &[SentMail]) -> String {
    use firsthour::html::escape_text;
    let mut items = String::new();
    for mail in messages.iter().rev() {
        let frame = format!("<base target=\"_blank\">{}", mail.body);
        items.push_str(&format!(
            "<article><h2>{subject}</h2><p class=\"muted\">From {from} to {to} · \
<a class=\"open\" href=\"/_local/mail/{href}\">open this email alone</a></p>\
<iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"{frame}\"></iframe></article>",
            subject = escape_text(&mail.subject),
            from = escape_text(&mail.from),
            to = escape_text(&mail.to.join(", ")),
            href = html_escape::encode_double_quoted_attribute(&path_segment(&mail.id)),
            frame = html_escape::encode_double_quoted_attribute(&frame),
        ));
    }
    if items.is_empty() {
        items.push_str(
            "<p class=\"muted\">No email sent yet. Post a government lead and reload.</p>",
        );
    }
    firsthour::html::page(
        "Sent mail (local)",
        &format!("Sent mail ({})", messages.len()),
        &format!(
            "<style>article{{border-top:1px solid #ddd;padding:1rem 0}}iframe{{width:100%;height:24rem;border:1px solid #ccc}}</style>{items}"
        ),
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

    fn mail(id: &str, body: &str) -> SentMail {
        SentMail {
            id: id.into(),
            from: "firsthour@example.com".into(),
            to: vec!["federal-sales@example.com".into()],
            subject: "Federal lead: <Navy>".into(),
            body: body.into(),
        }
    }

    #[test]
    fn the_list_links_each_email_alone() {
        let page = render_page(&[mail("ab12-cd/34", "<p>hi</p>")]);
        assert!(
            page.contains("href=\"/_local/mail/ab12-cd%2F34\""),
            "{page}"
        );
        assert!(page.contains("Federal lead: &lt;Navy&gt;"));
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
}
