//! The paths the HTTP functions answer, read from the raw path (not from
//! route keys), so a stage prefix or a function URL reads the same.

/// What the request path asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `…/leads` or `…/leads/{source}`; `prefix` is whatever came before (a stage).
    Leads {
        source: Option<&'a str>,
        prefix: String,
    },
    /// `GET …/leads/{id}/claim`: a one-click claim link.
    Claim(&'a str),
    /// `POST …/leads/{id}/touch`: the touch API.
    Touch(&'a str),
    ThankYou,
    /// `…/reps/away`: a rep's "I'm away" link (GET shows, POST acts).
    Away,
    /// `POST …/touches`: a touch reported by the person's address.
    Touches,
    /// `POST …/slack/interactions`: Slack's Claim button.
    SlackInteractions,
    NotFound,
}

pub fn route(path: &str) -> Route<'_> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.iter().rposition(|s| *s == "leads") {
        Some(i) if i + 3 == segments.len() && segments[i + 2] == "claim" => {
            Route::Claim(segments[i + 1])
        }
        Some(i) if i + 3 == segments.len() && segments[i + 2] == "touch" => {
            Route::Touch(segments[i + 1])
        }
        Some(i) if i + 1 == segments.len() || i + 2 == segments.len() => Route::Leads {
            source: segments.get(i + 1).copied(),
            prefix: segments[..i].iter().map(|s| format!("/{s}")).collect(),
        },
        _ if segments.last() == Some(&"thank-you") => Route::ThankYou,
        _ if segments.ends_with(&["reps", "away"]) => Route::Away,
        _ if segments.last() == Some(&"touches") => Route::Touches,
        _ if segments.ends_with(&["slack", "interactions"]) => Route::SlackInteractions,
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_raw_path() {
        assert_eq!(
            route("/leads"),
            Route::Leads {
                source: None,
                prefix: String::new()
            }
        );
        assert_eq!(
            route("/leads/"),
            Route::Leads {
                source: None,
                prefix: String::new()
            }
        );
        assert_eq!(
            route("/prod/leads/hubspot"),
            Route::Leads {
                source: Some("hubspot"),
                prefix: "/prod".into()
            }
        );
        assert_eq!(route("/thank-you"), Route::ThankYou);
        assert_eq!(route("/reps/away"), Route::Away);
        assert_eq!(route("/prod/reps/away"), Route::Away);
        assert_eq!(route("/touches"), Route::Touches);
        assert_eq!(route("/slack/interactions"), Route::SlackInteractions);
        assert_eq!(route("/prod/slack/interactions"), Route::SlackInteractions);
        assert_eq!(route("/prod/touches"), Route::Touches);
        assert_eq!(route("/leads/a/b"), Route::NotFound);
        assert_eq!(route("/"), Route::NotFound);
    }
}
