//! The lead: what one form submission becomes once it is normalised.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::email::EmailAddress;

/// Sortable unique lead id (a ULID: 48-bit millisecond time + 80 random bits),
/// so ids sort by arrival and carry their own creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(String);

impl LeadId {
    /// A fresh id for a lead received at `at`.
    pub fn new_at(at: OffsetDateTime) -> Self {
        Self(ulid::Ulid::from_datetime(at.into()).to_string())
    }

    /// Parses an id that came from outside (a path, a stored item).
    pub fn parse(raw: &str) -> Option<Self> {
        ulid::Ulid::from_string(raw)
            .ok()
            .map(|ulid| Self(ulid.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When the lead was received, read back from the id's time part.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        let ulid = ulid::Ulid::from_string(&self.0).ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ulid.timestamp_ms()) * 1_000_000).ok()
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which form or vendor sent the lead: the `{source}` path segment, or `web`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Source(String);

/// Why a `{source}` path segment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "source must be 1 to 64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit"
)]
pub struct InvalidSource;

impl Source {
    pub const MAX_LEN: usize = 64;

    /// The source used when the path names none.
    pub fn default_web() -> Self {
        Self("web".to_owned())
    }

    /// Case-insensitive: `HubSpot` and `hubspot` are the same source.
    pub fn parse(raw: &str) -> Result<Self, InvalidSource> {
        let valid_first = raw
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let valid_rest = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if raw.len() > Self::MAX_LEN || !valid_first || !valid_rest {
            return Err(InvalidSource);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Campaign attribution, as sent in `utm_*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

impl Utm {
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.medium.is_none()
            && self.campaign.is_none()
            && self.term.is_none()
            && self.content.is_none()
    }
}

/// Where the request came from, taken from the Lambda request context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The sender's own id for this delivery (`webhook-id`, `Idempotency-Key`, or a vendor event id).
    pub delivery_id: Option<String>,
}

/// One submitted field exactly as sent (name and text value), in arrival order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawField {
    pub name: String,
    pub value: String,
    /// The vendor's label for the field (a Typeform question), when it differs from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl RawField {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            label: None,
        }
    }
}

/// The person's contact details and what they told us, normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<EmailAddress>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub message: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    /// What the form says the organisation is ("Federal Government"…): (field name, value).
    pub org_type: Option<(String, String)>,
    pub utm: Utm,
}

impl Contact {
    /// A lead is only worth a stopwatch if someone can answer it.
    pub fn is_reachable(&self) -> bool {
        self.email.is_some() || self.phone.is_some()
    }
}

/// A normalised lead, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: LeadId,
    pub received_at: OffsetDateTime,
    pub source: Source,
    pub contact: Contact,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub delivery_id: Option<String>,
    /// Every submitted field, bounded in size (see [`crate::intake::limits`]).
    pub fields: Vec<RawField>,
    /// The stored attributes that were cut to fit their bounds (`message`,
    /// `phone`, `fields`…), each once, in the order they were cut.
    pub truncated: Vec<String>,
    /// Names of file parts that were ignored (multipart uploads).
    pub ignored_files: Vec<String>,
    /// Contact fields taken by a guess, not by a name or label: `phone
    /// from Field5`, for the reader to weigh (see `intake`).
    pub guessed: Vec<String>,
}

/// Adds `attribute` to a `truncated` list unless it is already there.
pub fn note_truncated(truncated: &mut Vec<String>, attribute: &str) {
    if !truncated.iter().any(|t| t == attribute) {
        truncated.push(attribute.to_owned());
    }
}

/// Formats a time as RFC 3339 UTC with milliseconds: `2026-11-22T17:24:11.123Z`.
pub fn format_utc_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A submitted field's name as forms and rules are compared:
/// `Your E-mail Address` → `youremailaddress`; also drops leading `_`,
/// Webflow's spacing, HubSpot's `0-1/` object prefixes and cases.
pub fn normalise_field_name(name: &str) -> String {
    normalised_field_name_bytes(name).map(char::from).collect()
}

/// The bytes of [`normalise_field_name`], without building the string.
pub(crate) fn normalised_field_name_bytes(name: &str) -> impl Iterator<Item = u8> + '_ {
    let name = name.rsplit_once('/').map_or(name, |(_, tail)| tail);
    name.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lead_ids_sort_by_time_and_round_trip() {
        let earlier = LeadId::new_at(datetime!(2026-01-01 00:00:00.000 UTC));
        let later = LeadId::new_at(datetime!(2026-01-01 00:00:00.001 UTC));
        assert!(earlier < later);
        assert_eq!(LeadId::parse(later.as_str()), Some(later.clone()));
        assert_eq!(later.as_str().len(), 26);
        assert_eq!(LeadId::parse("not-a-ulid"), None);
    }

    #[test]
    fn sources_are_lowercased_and_validated() {
        assert_eq!(Source::parse("HubSpot").map(|s| s.0), Ok("hubspot".into()));
        assert!(Source::parse("web-to-lead_2.v1").is_ok());
        for bad in ["", "-x", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert_eq!(Source::parse(bad), Err(InvalidSource), "{bad:?}");
        }
    }

    #[test]
    fn utc_millis_format() {
        let at = datetime!(2026-11-22 17:24:11.123456 +01:00);
        assert_eq!(format_utc_millis(at), "2026-11-22T16:24:11.123Z");
        assert_eq!(unix_millis(datetime!(1970-01-01 00:00:01 UTC)), 1000);
    }
}
