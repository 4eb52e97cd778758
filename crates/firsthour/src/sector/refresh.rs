//! Checking a downloaded get.gov registry before it replaces the copy in use
//! (the daily refresh and `firsthour registry update`), and the form it is
//! stored in: its differences from the snapshot built into this binary, so a
//! cold start reads one small item and indexes a few hundred rows.
//!
//! A download that fails a check is never used: the copy in use stays.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::{GovRegistry, RegistryCopy, RegistryError, Sector};

/// The stored changes must fit one DynamoDB item (400 KB) with room for
/// the rest of the item. A copy that differs from the built-in snapshot in
/// more than this (years of registrations) asks for a newer release.
pub const MAX_CHANGES_BYTES: usize = 350_000;

/// What a download must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshChecks {
    /// get.gov's full file is about 1.5 MB; anything far larger is not it.
    pub max_bytes: usize,
    /// The share of the built-in snapshot's federal domains the download
    /// must still list as federal (in percent).
    pub min_federal_kept_percent: usize,
    /// The share of the domains in use that may be missing from the
    /// download (in percent): domains are retired, but not by the thousand.
    pub max_gone_percent: usize,
}

impl Default for RefreshChecks {
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            min_federal_kept_percent: 90,
            max_gone_percent: 5,
        }
    }
}

/// A checked copy as stored: the built-in snapshot it was compared with,
/// and its differences from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRegistry {
    /// The date of the built-in snapshot `changed` and `removed` are
    /// relative to; a binary with another snapshot cannot use them.
    pub base: jiff::civil::Date,
    pub fetched_at: jiff::Timestamp,
    /// Where it was downloaded from (a URL, or `file:` and a path).
    pub source: String,
    /// SHA-256 of the download, hex.
    pub sha256: String,
    /// Distinct domains, and how many of them are federal.
    pub rows: u32,
    pub federal_rows: u32,
    /// CSV (`Domain name,Domain type,Organization name`) of the rows the
    /// copy adds to the snapshot or lists with another type or organisation.
    pub changed: String,
    /// Snapshot domains the copy no longer lists, one per line.
    pub removed: String,
}

impl StoredRegistry {
    /// Whether this binary's built-in snapshot is the one it is relative to.
    pub fn fits_this_build(&self) -> bool {
        self.base == GovRegistry::built_in_date()
    }

    /// The day it was downloaded (UTC).
    pub fn fetched_on(&self) -> jiff::civil::Date {
        self.fetched_at.to_zoned(jiff::tz::TimeZone::UTC).date()
    }

    /// The registry it stands for: the built-in snapshot with its changes.
    pub fn registry(&self) -> Result<GovRegistry, RegistryError> {
        GovRegistry::with_changes(
            &self.changed,
            self.removed.lines(),
            RegistryCopy::Refreshed {
                fetched: self.fetched_on(),
                source: self.source.clone(),
            },
        )
    }
}

/// What the checks found in a download that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckSummary {
    pub rows: usize,
    pub federal_rows: usize,
    /// Built-in federal domains still federal, of how many.
    pub federal_kept: usize,
    pub federal_in_snapshot: usize,
    /// Domains in use that the download no longer lists, of how many.
    pub gone: usize,
    pub in_use: usize,
    /// Rows stored as changes (added or changed) and snapshot domains removed.
    pub changed: usize,
    pub removed: usize,
    /// The last line had no line break (a cut-off download): it was left out.
    pub cut_off_line: bool,
}

/// How a refresh (or `firsthour registry update`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Checked and stored: functions use it from their next cold start.
    Accepted,
    /// Downloaded, but it failed a check: the copy in use stays.
    Rejected,
    /// The download or the store failed: the copy in use stays.
    Failed,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Accepted, Self::Rejected, Self::Failed]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// The last refresh, as `firsthour registry status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    pub at: jiff::Timestamp,
    pub source: String,
    pub outcome: RefreshOutcome,
    /// What was found (accepted) or why not (rejected, failed).
    pub detail: String,
    /// Distinct domains of an accepted copy.
    pub rows: Option<u32>,
}

/// Why a download is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the download is larger than {limit} bytes (get.gov's full file is about 1.5 MB)")]
    TooLarge { limit: usize },
    #[error("the download is an HTML page, not the registry CSV (an error or sign-in page?)")]
    Html,
    #[error("the download is not the registry CSV: {0}")]
    Unreadable(RegistryError),
    #[error(
        "only {kept} of the built-in snapshot's {of} federal domains are listed as federal; at least {min_percent}% must be"
    )]
    TooFewFederal {
        kept: usize,
        of: usize,
        min_percent: usize,
    },
    #[error(
        "{gone} of the {of} domains in use are missing; at most {max_percent}% may go in one refresh"
    )]
    TooManyGone {
        gone: usize,
        of: usize,
        max_percent: usize,
    },
    #[error(
        "the copy differs from this release's built-in snapshot in {bytes} bytes of rows, more than one stored item holds ({MAX_CHANGES_BYTES}); deploy a newer firsthour release"
    )]
    TooManyChanges { bytes: usize },
}

/// Checks a download against the copy in use and the built-in snapshot,
/// and turns it into what is stored.
pub fn check(
    download: &[u8],
    in_use: &GovRegistry,
    checks: &RefreshChecks,
    source: &str,
    fetched_at: jiff::Timestamp,
) -> Result<(StoredRegistry, CheckSummary), Rejection> {
    if download.len() > checks.max_bytes {
        return Err(Rejection::TooLarge {
            limit: checks.max_bytes,
        });
    }
    if looks_like_html(download) {
        return Err(Rejection::Html);
    }
    let mut summary = CheckSummary::default();
    let (complete, cut_off) = whole_lines(download);
    summary.cut_off_line = cut_off;
    let copy = GovRegistry::from_csv(complete).map_err(Rejection::Unreadable)?;
    let snapshot = GovRegistry::built_in();

    for (domain, row) in snapshot.rows() {
        if row.sector() == Sector::Federal {
            summary.federal_in_snapshot += 1;
            if copy
                .lookup(domain)
                .is_some_and(|(_, now)| now.sector() == Sector::Federal)
            {
                summary.federal_kept += 1;
            }
        }
    }
    if percent_below(
        summary.federal_kept,
        summary.federal_in_snapshot,
        checks.min_federal_kept_percent,
    ) {
        return Err(Rejection::TooFewFederal {
            kept: summary.federal_kept,
            of: summary.federal_in_snapshot,
            min_percent: checks.min_federal_kept_percent,
        });
    }

    for (domain, _) in in_use.rows() {
        summary.in_use += 1;
        if copy.lookup(domain).is_none() {
            summary.gone += 1;
        }
    }
    if summary.gone.saturating_mul(100) > summary.in_use.saturating_mul(checks.max_gone_percent) {
        return Err(Rejection::TooManyGone {
            gone: summary.gone,
            of: summary.in_use,
            max_percent: checks.max_gone_percent,
        });
    }

    let mut changed = String::from("Domain name,Domain type,Organization name\n");
    let mut rows: Vec<(&str, super::GovDomain<'_>)> = copy.rows().collect();
    rows.sort_unstable_by_key(|(domain, _)| *domain);
    for (domain, row) in &rows {
        summary.rows += 1;
        if row.sector() == Sector::Federal {
            summary.federal_rows += 1;
        }
        let same = snapshot.lookup(domain).is_some_and(|(_, before)| {
            before.domain_type == row.domain_type && before.organization == row.organization
        });
        if !same {
            summary.changed += 1;
            push_csv_row(&mut changed, &[domain, row.domain_type, row.organization]);
        }
    }
    let mut removed = String::new();
    for (domain, _) in snapshot.rows() {
        if copy.lookup(domain).is_none() {
            summary.removed += 1;
            removed.push_str(domain);
            removed.push('\n');
        }
    }
    let bytes = changed.len().saturating_add(removed.len());
    if bytes > MAX_CHANGES_BYTES {
        return Err(Rejection::TooManyChanges { bytes });
    }
    let stored = StoredRegistry {
        base: GovRegistry::built_in_date(),
        fetched_at,
        source: source.to_owned(),
        sha256: Sha256::digest(download)
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            }),
        rows: u32::try_from(summary.rows).unwrap_or(u32::MAX),
        federal_rows: u32::try_from(summary.federal_rows).unwrap_or(u32::MAX),
        changed,
        removed,
    };
    Ok((stored, summary))
}

/// `part` is less than `min_percent` of `whole` (an empty whole never is).
fn percent_below(part: usize, whole: usize, min_percent: usize) -> bool {
    part.saturating_mul(100) < whole.saturating_mul(min_percent)
}

/// An error or sign-in page served in place of the file: its first
/// non-blank byte opens a tag.
fn looks_like_html(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}

/// The download up to its last line break: get.gov ends every row with
/// one, so text after the last is a row cut off mid-way (`va.gov,Fed`),
/// whose truncated type would misplace the domain.
fn whole_lines(bytes: &[u8]) -> (&[u8], bool) {
    match memchr::memrchr(b'\n', bytes) {
        Some(last) if last + 1 < bytes.len() => (&bytes[..=last], true),
        _ => (bytes, false),
    }
}

/// One CSV record, quoted where RFC 4180 needs it.
fn push_csv_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests;
