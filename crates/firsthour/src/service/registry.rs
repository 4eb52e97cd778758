//! The .gov registry kept fresh: which copy a function uses at cold start,
//! and a refresh (the scheduled function, `firsthour registry update`) that
//! checks a download and stores it, or keeps the copy in use and says why.

use std::sync::Arc;

use crate::ports::{RegistryStore, StoreError};
use crate::sector::refresh::{self, RefreshChecks, RefreshOutcome, RefreshReport};
use crate::sector::{GovRegistry, RegistryCopy};

/// A download as the caller got it: the bytes, or why there are none.
pub type Download = Result<Vec<u8>, String>;

pub struct RegistryRefresh<S> {
    store: S,
    checks: RefreshChecks,
}

impl<S: RegistryStore> RegistryRefresh<S> {
    pub fn new(store: S) -> Self {
        Self {
            store,
            checks: RefreshChecks::default(),
        }
    }

    pub fn with_checks(mut self, checks: RefreshChecks) -> Self {
        self.checks = checks;
        self
    }

    pub fn checks(&self) -> &RefreshChecks {
        &self.checks
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The registry to classify with: the stored copy when it was fetched
    /// after this binary's snapshot was taken and is relative to it;
    /// otherwise the built-in snapshot (never no registry).
    pub async fn current(&self) -> Result<GovRegistry, StoreError> {
        let Some(stored) = self.store.stored_registry().await? else {
            return Ok(GovRegistry::built_in());
        };
        if !stored.fits_this_build() {
            // A release with a newer snapshot was deployed since: its
            // snapshot answers until the next refresh compares with it.
            tracing::info!(
                stored_base = %stored.base,
                built_in = %GovRegistry::built_in_date(),
                "the stored .gov registry copy is relative to another snapshot; using the built-in one until the next refresh"
            );
            return Ok(GovRegistry::built_in());
        }
        if stored.fetched_on() <= GovRegistry::built_in_date() {
            return Ok(GovRegistry::built_in());
        }
        stored.registry().map_err(|err| {
            StoreError::Rejected(format!(
                "the stored .gov registry copy is unreadable: {err}"
            ))
        })
    }

    /// Checks `download` (from `source`) against the copy in use and stores
    /// it if it passes; records and returns how it went. Nothing fails
    /// silently: a rejected or failed refresh keeps the copy in use.
    pub async fn refresh(
        &self,
        source: &str,
        download: Download,
        now: jiff::Timestamp,
    ) -> RefreshReport {
        // Stored to the millisecond: what is read back equals what was kept.
        let now = jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
        let (outcome, detail, rows) = match download {
            Err(why) => (
                RefreshOutcome::Failed,
                format!("download failed: {why}"),
                None,
            ),
            Ok(bytes) => match self.current().await {
                Err(StoreError::Unavailable(err)) => (
                    RefreshOutcome::Failed,
                    format!("could not read the copy in use: {err}"),
                    None,
                ),
                // A stored copy nothing can read must not block every
                // refresh after it: compare with the snapshot, replace it.
                Err(StoreError::Rejected(why)) => {
                    tracing::warn!(error = %why, "the stored .gov registry copy is unreadable; comparing the download with the built-in snapshot");
                    self.check_and_store(&bytes, &GovRegistry::built_in(), source, now)
                        .await
                }
                Ok(in_use) => self.check_and_store(&bytes, &in_use, source, now).await,
            },
        };
        let report = RefreshReport {
            at: now,
            source: source.to_owned(),
            outcome,
            detail,
            rows,
        };
        match report.outcome {
            RefreshOutcome::Accepted => tracing::info!(
                outcome = report.outcome.as_str(),
                source = %report.source,
                domains = report.rows,
                detail = %report.detail,
                "the .gov registry was refreshed"
            ),
            _ => tracing::error!(
                outcome = report.outcome.as_str(),
                source = %report.source,
                detail = %report.detail,
                "the .gov registry refresh kept the copy in use"
            ),
        }
        if let Err(err) = self.store.record_refresh(&report).await {
            tracing::error!(error = %err, "the refresh's outcome could not be recorded");
        }
        report
    }

    /// How checking and storing one download went: outcome, detail, and
    /// the domains of an accepted copy.
    async fn check_and_store(
        &self,
        bytes: &[u8],
        in_use: &GovRegistry,
        source: &str,
        now: jiff::Timestamp,
    ) -> (RefreshOutcome, String, Option<u32>) {
        let (stored, summary) = match refresh::check(bytes, in_use, &self.checks, source, now) {
            Ok(checked) => checked,
            Err(rejection) => return (RefreshOutcome::Rejected, rejection.to_string(), None),
        };
        let mut detail = format!(
            "{} domains ({} federal); {} of the snapshot's {} federal domains kept; {} of {} in use gone; {} rows differ from the built-in snapshot of {}, {} removed",
            summary.rows,
            summary.federal_rows,
            summary.federal_kept,
            summary.federal_in_snapshot,
            summary.gone,
            summary.in_use,
            summary.changed,
            GovRegistry::built_in_date(),
            summary.removed,
        );
        if summary.cut_off_line {
            detail.push_str("; a last line without a line break was left out");
        }
        match self.store.store_registry(&stored).await {
            Ok(true) => (RefreshOutcome::Accepted, detail, Some(stored.rows)),
            Ok(false) => (
                RefreshOutcome::Rejected,
                "a copy fetched later is already stored".into(),
                None,
            ),
            Err(err) => (
                RefreshOutcome::Failed,
                format!("could not store the checked copy: {err}"),
                None,
            ),
        }
    }
}

/// The registry the intake classifies with when the refresh is on, read
/// once at cold start: the stored copy when newer than the built-in
/// snapshot. A registry file (or `none`) is the admin's explicit choice and
/// wins; a store that cannot be read leaves the built-in snapshot.
pub async fn at_cold_start<S: RegistryStore>(
    store: S,
    configured: Option<Arc<GovRegistry>>,
) -> Option<Arc<GovRegistry>> {
    let registry = configured?;
    if *registry.copy() != RegistryCopy::BuiltIn {
        tracing::info!(
            registry = registry.copy().kind(),
            "a .gov registry file is configured: it wins over the refreshed copy"
        );
        return Some(registry);
    }
    match RegistryRefresh::new(store).current().await {
        Ok(current) if *current.copy() != RegistryCopy::BuiltIn => {
            tracing::info!(
                registry = current.copy().kind(),
                dated = current.dated().map(|day| day.to_string()).as_deref(),
                domains = current.len(),
                "the .gov registry is the copy the daily refresh stored"
            );
            Some(Arc::new(current))
        }
        Ok(_) => Some(registry),
        Err(err) => {
            tracing::warn!(
                error = %err,
                "the refreshed .gov registry could not be read; the built-in snapshot answers"
            );
            Some(registry)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    const SNAPSHOT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/dotgov.csv"));

    fn day(day: i8) -> jiff::Timestamp {
        jiff::civil::date(2026, 11, day)
            .at(6, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|at| at.timestamp())
            .expect("a day")
    }

    fn with_new_agency() -> Vec<u8> {
        format!("{SNAPSHOT}newagency.gov,Federal - Executive,Office of the New Agency\n")
            .into_bytes()
    }

    #[tokio::test]
    async fn an_accepted_copy_is_what_the_next_cold_start_uses() {
        let refresh = RegistryRefresh::new(MemoryStore::new());
        assert_eq!(
            refresh.current().await.expect("read").copy().kind(),
            "built-in"
        );

        let report = refresh
            .refresh("https://get.gov", Ok(with_new_agency()), day(29))
            .await;
        assert_eq!(
            report.outcome,
            RefreshOutcome::Accepted,
            "{}",
            report.detail
        );
        let current = refresh.current().await.expect("read");
        assert_eq!(current.copy().kind(), "refreshed");
        assert_eq!(current.dated(), Some(jiff::civil::date(2026, 11, 29)));
        assert!(current.lookup("newagency.gov").is_some());
        let last = refresh.store().last_refresh().await.expect("read");
        assert_eq!(last, Some(report));
    }

    #[tokio::test]
    async fn a_failed_or_rejected_refresh_keeps_the_copy_in_use_and_says_why() {
        let refresh = RegistryRefresh::new(MemoryStore::new());
        refresh
            .refresh("https://get.gov", Ok(with_new_agency()), day(28))
            .await;

        let failed = refresh
            .refresh("https://get.gov", Err("HTTP 503".into()), day(29))
            .await;
        assert_eq!(failed.outcome, RefreshOutcome::Failed);
        assert!(failed.detail.contains("HTTP 503"), "{}", failed.detail);

        let page = b"<html><body>Service Unavailable</body></html>".to_vec();
        let rejected = refresh.refresh("https://get.gov", Ok(page), day(30)).await;
        assert_eq!(rejected.outcome, RefreshOutcome::Rejected);
        assert!(rejected.detail.contains("HTML"), "{}", rejected.detail);

        let current = refresh.current().await.expect("read");
        assert_eq!(current.dated(), Some(jiff::civil::date(2026, 11, 28)));
        assert!(
            current.lookup("newagency.gov").is_some(),
            "still the accepted copy"
        );
        let last = refresh.store().last_refresh().await.expect("read");
        assert_eq!(last.map(|r| r.outcome), Some(RefreshOutcome::Rejected));
    }

    #[tokio::test]
    async fn an_older_download_never_replaces_a_newer_copy() {
        let refresh = RegistryRefresh::new(MemoryStore::new());
        refresh
            .refresh("https://get.gov", Ok(with_new_agency()), day(29))
            .await;
        let late = refresh
            .refresh("https://get.gov", Ok(SNAPSHOT.as_bytes().to_vec()), day(28))
            .await;
        assert_eq!(late.outcome, RefreshOutcome::Rejected, "{}", late.detail);
        let current = refresh.current().await.expect("read");
        assert!(current.lookup("newagency.gov").is_some());
    }

    #[tokio::test]
    async fn a_cold_start_takes_the_refreshed_copy_unless_a_file_or_none_is_configured() {
        let store = MemoryStore::new();
        let built_in = Some(Arc::new(GovRegistry::built_in()));
        let kind = |registry: &Option<Arc<GovRegistry>>| registry.as_ref().map(|r| r.copy().kind());
        assert_eq!(
            kind(&at_cold_start(store.clone(), built_in.clone()).await),
            Some("built-in")
        );

        RegistryRefresh::new(store.clone())
            .refresh("https://get.gov", Ok(with_new_agency()), day(29))
            .await;
        assert_eq!(
            kind(&at_cold_start(store.clone(), built_in.clone()).await),
            Some("refreshed")
        );
        assert_eq!(
            kind(&at_cold_start(store.clone(), None).await),
            None,
            "none stays none"
        );
        let file = GovRegistry::from_csv(SNAPSHOT).expect("file");
        let file = Some(Arc::new(
            file.read_from(std::path::Path::new("current-full.csv"), None),
        ));
        assert_eq!(
            kind(&at_cold_start(store.clone(), file).await),
            Some("file")
        );

        store.fail_next(1, StoreError::Unavailable("throttled".into()));
        assert_eq!(
            kind(&at_cold_start(store, built_in).await),
            Some("built-in")
        );
    }

    #[tokio::test]
    async fn an_unreadable_stored_copy_is_replaced_by_the_next_good_download() {
        let store = MemoryStore::new();
        let mut broken = refresh::check(
            SNAPSHOT.as_bytes(),
            &GovRegistry::built_in(),
            &RefreshChecks::default(),
            "test",
            day(27),
        )
        .expect("accepted")
        .0;
        broken.changed = "not,the,registry\n".into();
        assert_eq!(store.store_registry(&broken).await, Ok(true));
        let refresh = RegistryRefresh::new(store);
        assert!(refresh.current().await.is_err(), "unreadable");
        let report = refresh
            .refresh("https://get.gov", Ok(with_new_agency()), day(29))
            .await;
        assert_eq!(
            report.outcome,
            RefreshOutcome::Accepted,
            "{}",
            report.detail
        );
        let current = refresh.current().await.expect("readable again");
        assert!(current.lookup("newagency.gov").is_some());
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_fails_the_refresh_but_not_the_cold_start_registry() {
        let store = MemoryStore::new();
        let refresh = RegistryRefresh::new(store.clone());
        store.fail_next(1, StoreError::Unavailable("throttled".into()));
        let report = refresh
            .refresh("https://get.gov", Ok(with_new_agency()), day(29))
            .await;
        assert_eq!(report.outcome, RefreshOutcome::Failed, "{}", report.detail);
        assert_eq!(
            refresh.current().await.expect("read").copy().kind(),
            "built-in"
        );
    }
}
