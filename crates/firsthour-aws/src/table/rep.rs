//! A rep's status in the lead table: one item per rep (`pk = REP#<address,
//! lowercased>`, `sk = STATE`) with their away state and unanswered streak.
//! Reps are the company's staff, named in the rules file: their address in
//! a key is configuration, not a lead's personal data.

use firsthour::lead::format_utc_millis;
use firsthour::roster::{Away, RepStatus, rep_key};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const REP_SK: &str = "STATE";

pub fn rep_pk(rep: &str) -> String {
    format!("REP#{}", rep_key(rep))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepItem {
    pub pk: String,
    pub sk: String,
    #[serde(default)]
    pub rep: String,
    /// RFC 3339 UTC with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_since: Option<String>,
    /// Epoch ms; absent: away until they are back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_reason: Option<String>,
    #[serde(default)]
    pub missed: u32,
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl RepItem {
    /// The status it holds; an away state whose stamps do not read is
    /// dropped (the rep counts as present), never an error for the router.
    pub fn status(&self) -> RepStatus {
        let away = self.away_since.as_deref().and_then(|since| {
            let since =
                OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
                    .ok()?;
            Some(Away {
                since,
                until: self.away_until.and_then(from_millis),
                reason: self.away_reason.clone().unwrap_or_default(),
            })
        });
        RepStatus {
            away,
            missed: self.missed,
        }
    }
}

/// The away state as the update writes it: since, until (epoch ms), reason.
pub fn away_values(away: &Away) -> (String, Option<i64>, String) {
    (
        format_utc_millis(away.since),
        away.until.map(firsthour::lead::unix_millis),
        away.reason.chars().take(200).collect(),
    )
}
