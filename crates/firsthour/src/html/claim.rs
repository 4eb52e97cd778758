//! The claim link's pages: what the lead is, the button that claims it, and
//! why a link cannot be used. Pure markup; the edge picks the status.

use time::OffsetDateTime;

use super::{escape_text, page};
use crate::claim::{ClaimLinkError, is_holder};
use crate::lead::format_utc_millis;
use crate::record::LeadRecord;
use crate::service::touch::{ClaimError, Claimed};

/// A claim page: the heading is also the title.
fn claim_page(heading: &str, body: &str) -> String {
    page(heading, heading, body)
}

/// What a link shows when opened (GET): the lead, and either who has it or
/// the button that claims it. Opening never claims.
pub fn view(lead: &LeadRecord, recipient: &str) -> String {
    let summary = lead_summary(lead);
    if let Some(by) = &lead.sla.claimed_by {
        let at = lead.sla.claimed_at.as_deref().unwrap_or_default();
        return if is_holder(Some(by), recipient) {
            yours(at, &summary)
        } else {
            someone_elses(Some(by), at, &summary)
        };
    }
    if lead.sla.moved_from(recipient) {
        return reassigned(lead.sla.owner.as_deref(), &summary);
    }
    // No action attribute: the form posts to this same signed URL.
    claim_page(
        "Claim this lead?",
        &format!(
            "{summary}<form method=\"post\"><button type=\"submit\" style=\"font-size:1rem;padding:.6rem 1.4rem;background:#1d4ed8;color:#fff;border:0;border-radius:6px;cursor:pointer\">Claim this lead</button></form>\
<p class=\"muted\">Claiming tells your team you are answering it and stops its escalation. You are claiming as {}.</p>",
            escape_text(recipient)
        ),
    )
}

/// The button's claim held: it won just now, or the recipient had it.
pub fn claimed(claimed: &Claimed) -> String {
    match claimed {
        Claimed::Now { at } => won(*at),
        Claimed::Before { at } => yours(at, ""),
    }
}

fn won(at: OffsetDateTime) -> String {
    claim_page(
        "The lead is yours",
        &format!(
            "<p>You claimed this lead at {}. Its escalation has stopped.</p><p>Reply to the notification email to answer the person now.</p>",
            escape_text(&format_utc_millis(at))
        ),
    )
}

/// The lead is the recipient's already.
fn yours(at: &str, summary: &str) -> String {
    claim_page(
        "You already have this lead",
        &format!("{summary}<p>You claimed it at {}.</p>", escape_text(at)),
    )
}

/// The lead is someone else's (a colleague's, when the store has no name).
fn someone_elses(by: Option<&str>, at: &str, summary: &str) -> String {
    claim_page(
        "Someone already has this lead",
        &format!(
            "{summary}<p>It was claimed by <strong>{}</strong> at {}.</p>",
            escape_text(by.unwrap_or("a colleague")),
            escape_text(at)
        ),
    )
}

/// The link's recipient owned the lead before a tier moved it on.
fn reassigned(to: Option<&str>, summary: &str) -> String {
    claim_page(
        "This lead was reassigned",
        &format!(
            "{summary}<p>Nobody claimed it in time, so it was reassigned to <strong>{}</strong>. This link no longer claims it.</p>",
            escape_text(to.unwrap_or("a colleague"))
        ),
    )
}

/// Why the link shows no lead, or could not claim it.
pub fn refused(err: &ClaimError) -> String {
    match err {
        ClaimError::NotEnabled => claim_page(
            "Claim links are not enabled",
            "<p>Ask your administrator.</p>",
        ),
        ClaimError::NotALead => {
            claim_page("No such lead", "<p>This link does not point to a lead.</p>")
        }
        ClaimError::Incomplete => claim_page(
            "This claim link is incomplete",
            "<p>Open the link from the email again, in full.</p>",
        ),
        ClaimError::Link(err) => link_refused(*err),
        ClaimError::Taken { by, at } => someone_elses(by.as_deref(), at, ""),
        ClaimError::Reassigned { to } => reassigned(to.as_deref(), ""),
        ClaimError::NoSuchLead => claim_page(
            "No such lead",
            "<p>This lead does not exist (any more).</p>",
        ),
        ClaimError::Unread(_) => try_again("The lead could not be read just now."),
        ClaimError::Unrecorded(_) => try_again("The claim could not be recorded just now."),
    }
}

fn link_refused(err: ClaimLinkError) -> String {
    claim_page(
        "This claim link cannot be used",
        &format!(
            "<p>{}.</p><p class=\"muted\">Nothing was recorded.</p>",
            escape_text(&err.to_string())
        ),
    )
}

fn try_again(what: &str) -> String {
    claim_page(
        "Please try again",
        &format!(
            "<p>{} Go back and try again in a moment.</p>",
            escape_text(what)
        ),
    )
}

/// Who and what the lead is, as the notification email already told the
/// link's recipient: nothing more. The one place the page reads the lead.
fn lead_summary(lead: &LeadRecord) -> String {
    let mut rows = String::new();
    let mut row = |label: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            rows.push_str(&format!(
                "<tr><th style=\"text-align:left;padding-right:1rem\">{}</th><td>{}</td></tr>",
                escape_text(label),
                escape_text(value)
            ));
        }
    };
    row("Name", lead.contact.full_name.as_deref());
    row("Agency", lead.sector.agency.as_deref());
    row("Company", lead.contact.company.as_deref());
    row("Segment", Some(&lead.route.segment.replace('_', " ")));
    let received = crate::lead::format_utc_millis(lead.received_at);
    row("Received", Some(&received));
    let asked = lead.contact.message.as_deref().map(|m| {
        let mut short: String = m.chars().take(280).collect();
        if short.len() < m.len() {
            short.push('…');
        }
        short
    });
    row("Asked", asked.as_deref());
    format!("<table>{rows}</table>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_told_it_is_theirs_and_others_who_has_it() {
        let mine = claimed(&Claimed::Before { at: "then".into() });
        assert!(mine.contains("You already have this lead"));
        let taken = |by: Option<&str>| {
            refused(&ClaimError::Taken {
                by: by.map(str::to_owned),
                at: "then".into(),
            })
        };
        let theirs = taken(Some("<b>@example.com"));
        assert!(theirs.contains("Someone already has this lead"));
        assert!(theirs.contains("&lt;b&gt;@example.com"));
        assert!(taken(None).contains("a colleague"));
    }

    #[test]
    fn a_refused_link_says_why_and_that_nothing_was_recorded() {
        let page = refused(&ClaimError::Link(ClaimLinkError::Expired));
        assert!(page.contains("this claim link has expired."));
        assert!(page.contains("Nothing was recorded."));
    }
}
