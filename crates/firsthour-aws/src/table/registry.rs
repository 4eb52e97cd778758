//! The refreshed .gov registry in the lead table: one item holding the
//! accepted copy (its changes to the built-in snapshot, under 400 KB by
//! `MAX_CHANGES_BYTES`), and one holding the last refresh's outcome.

use firsthour::ports::StoreError;
use firsthour::sector::refresh::{RefreshOutcome, RefreshReport, StoredRegistry};
use serde::{Deserialize, Serialize};

pub const REGISTRY_PK: &str = "REGISTRY";
pub const COPY_SK: &str = "COPY";
pub const REFRESH_SK: &str = "REFRESH";
/// The attribute the store's condition compares: a copy fetched later wins.
pub const FETCHED_AT_MS: &str = "fetched_at_ms";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCopyItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    /// The built-in snapshot's date the changes are relative to.
    pub base: String,
    pub fetched_at_ms: i64,
    pub source: String,
    pub sha256: String,
    pub rows: u32,
    pub federal_rows: u32,
    pub changed: String,
    pub removed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub at_ms: i64,
    pub source: String,
    pub outcome: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
}

impl From<&StoredRegistry> for RegistryCopyItem {
    fn from(copy: &StoredRegistry) -> Self {
        Self {
            pk: REGISTRY_PK.into(),
            sk: COPY_SK.into(),
            entity: "registry".into(),
            base: copy.base.to_string(),
            fetched_at_ms: copy.fetched_at.as_millisecond(),
            source: copy.source.clone(),
            sha256: copy.sha256.clone(),
            rows: copy.rows,
            federal_rows: copy.federal_rows,
            changed: copy.changed.clone(),
            removed: copy.removed.clone(),
        }
    }
}

impl TryFrom<RegistryCopyItem> for StoredRegistry {
    type Error = StoreError;

    fn try_from(item: RegistryCopyItem) -> Result<Self, StoreError> {
        let unreadable = |what: &str| StoreError::Rejected(format!("registry item: bad {what}"));
        Ok(Self {
            base: item.base.parse().map_err(|_| unreadable("base"))?,
            fetched_at: jiff::Timestamp::from_millisecond(item.fetched_at_ms)
                .map_err(|_| unreadable("fetched_at_ms"))?,
            source: item.source,
            sha256: item.sha256,
            rows: item.rows,
            federal_rows: item.federal_rows,
            changed: item.changed,
            removed: item.removed,
        })
    }
}

impl From<&RefreshReport> for RefreshItem {
    fn from(report: &RefreshReport) -> Self {
        Self {
            pk: REGISTRY_PK.into(),
            sk: REFRESH_SK.into(),
            entity: "registry_refresh".into(),
            at_ms: report.at.as_millisecond(),
            source: report.source.clone(),
            outcome: report.outcome.as_str().into(),
            detail: report.detail.clone(),
            rows: report.rows,
        }
    }
}

impl TryFrom<RefreshItem> for RefreshReport {
    type Error = StoreError;

    fn try_from(item: RefreshItem) -> Result<Self, StoreError> {
        let unreadable = |what: &str| StoreError::Rejected(format!("refresh item: bad {what}"));
        Ok(Self {
            at: jiff::Timestamp::from_millisecond(item.at_ms).map_err(|_| unreadable("at_ms"))?,
            source: item.source,
            outcome: RefreshOutcome::parse(&item.outcome).ok_or_else(|| unreadable("outcome"))?,
            detail: item.detail,
            rows: item.rows,
        })
    }
}
