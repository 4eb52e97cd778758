//! The "I'm away" link's pages.

use super::{escape_text, page};
use crate::lead::format_utc_millis;
use crate::service::away::{AwayError, RepView};

const BUTTON: &str = "font-size:1rem;padding:.6rem 1.4rem;background:#1d4ed8;color:#fff;border:0;border-radius:6px;cursor:pointer";

/// Where the rep stands, and the button that changes it. Opening changes nothing.
pub fn view(rep: &RepView) -> String {
    let who = escape_text(&rep.rep);
    match &rep.away {
        Some(away) => {
            let until = away.until.map_or_else(
                || "until you are back".to_owned(),
                |u| format!("until {}", format_utc_millis(u)),
            );
            page(
                "You are away",
                "You are away",
                &format!(
                    "<p>{who} gets no new leads {} ({}). Leads already yours stay yours.</p>\
<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"back\"><button type=\"submit\" style=\"{BUTTON}\">I'm back: give me new leads</button></form>",
                    escape_text(&until),
                    escape_text(&away.reason)
                ),
            )
        }
        None => page(
            "Away?",
            "Going away?",
            &format!(
                "<p>You, {who}, take new leads now. If you cannot answer them, give them to someone else until your next working day ({}).</p>\
<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"away\"><button type=\"submit\" style=\"{BUTTON}\">I'm away: give my new leads to someone else</button></form>\
<p class=\"muted\">Leads already yours stay yours; claim or pass them on yourself.</p>",
                escape_text(&format_utc_millis(rep.would_be_away_until))
            ),
        ),
    }
}

/// Why the link cannot be used.
pub fn refused(err: &AwayError) -> String {
    let (heading, text) = match err {
        AwayError::NotEnabled => (
            "Away links are not enabled",
            "Ask your administrator.".to_owned(),
        ),
        AwayError::Incomplete => (
            "This link is incomplete",
            "Open the link from the email again, in full.".to_owned(),
        ),
        AwayError::Link(err) => (
            "This link cannot be used",
            format!("{err}. Nothing was changed."),
        ),
        AwayError::NotARep(_) => (
            "You take no leads",
            "This address is not a rep of any team any more. Nothing was changed.".to_owned(),
        ),
        AwayError::Store(_) => (
            "Please try again",
            "Your state could not be changed just now. Go back and try again in a moment."
                .to_owned(),
        ),
    };
    page(heading, heading, &format!("<p>{}</p>", escape_text(&text)))
}
