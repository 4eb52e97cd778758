//! Small HTML pages (thank-you, errors, the claim link's), every dynamic
//! text escaped.

pub mod away;
pub mod claim;

pub use html_escape::encode_text as escape_text;

/// A complete, minimal, readable HTML page.
pub fn page(title: &str, heading: &str, body_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title>\
<style>body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}}\
h1{{font-size:1.5rem}}.muted{{color:#616e7c}}</style></head>\
<body><h1>{heading}</h1>{body_html}</body></html>\n",
        title = escape_text(title),
        heading = escape_text(heading),
    )
}

/// Where a browser's form post lands when the site has no page of its own.
pub fn thank_you() -> String {
    page(
        "Thank you",
        "Thank you, we got your message",
        "<p>Someone from our team will get back to you shortly.</p>",
    )
}

/// A person's form post was refused: why, and what to do.
pub fn not_sent(reason: &str) -> String {
    let body = format!(
        "<p>{}</p><p class=\"muted\">Please go back, correct the form and send it again.</p>",
        escape_text(reason)
    );
    page("Not sent", "Your message was not sent", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_text_is_escaped() {
        let html = page(
            "<t>",
            "a & b",
            &format!("<p>{}</p>", escape_text("<script>x</script>")),
        );
        assert!(html.contains("&lt;t&gt;"));
        assert!(html.contains("a &amp; b"));
        assert!(!html.contains("<script>"));
    }
}
