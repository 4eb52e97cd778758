//! `firsthour registry`: what the .gov registry says of a domain, and the
//! refreshed copy a deployed stack keeps in its table (`update`, `status`),
//! through the same checks and store the daily refresh uses.

use std::path::PathBuf;

use clap::Subcommand;
use firsthour::config::registry_source;
use firsthour::ports::RegistryStore;
use firsthour::sector::refresh::RefreshOutcome;
use firsthour::sector::{GovRegistry, classify_domain, normalise_domain};
use firsthour::service::registry::{self, RegistryRefresh};
use firsthour_aws::{DynamoLeadStore, download};
use serde_json::json;

use crate::report::LOCAL_TABLE;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// What the registry says of a domain (or an address): sector, domain
    /// type, organisation, service, and which copy answered.
    Show {
        /// `va.gov`, `k.lee@jpl.nasa.gov`, `us.af.mil`…
        domain: String,
        /// A .gov registry CSV instead of the built-in snapshot.
        #[arg(long, value_name = "FILE", conflicts_with = "table")]
        gov_domains: Option<PathBuf>,
        /// Answer as a deployed intake does: with the refreshed copy in
        /// this lead table when it is newer than the built-in snapshot.
        #[arg(long, value_name = "TABLE")]
        table: Option<String>,
    },
    /// Check a registry file or URL as the daily refresh does, and store it
    /// in the lead table for the intake's next cold start.
    Update {
        /// get.gov's current-full.csv: a file, or an http(s) URL.
        #[arg(long, value_name = "FILE|URL")]
        from: String,
        /// The lead table (the stack's TableName output in AWS).
        #[arg(long, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
        table: String,
    },
    /// The built-in snapshot, the refreshed copy in the table, and how the
    /// last refresh went.
    Status {
        /// The lead table (the stack's TableName output in AWS).
        #[arg(long, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
        table: String,
    },
}

pub fn run(command: RegistryCommand) -> Result<String, String> {
    match command {
        RegistryCommand::Show {
            domain,
            gov_domains,
            table: None,
        } => show(
            &domain,
            crate::load_config(None, gov_domains.as_deref())?
                .registry
                .as_deref(),
        ),
        RegistryCommand::Show {
            domain,
            table: Some(table),
            ..
        } => crate::block_on(async move {
            let store = store(&table).await;
            let current = RegistryRefresh::new(store)
                .current()
                .await
                .map_err(|err| format!("table {table}: {err}"))?;
            show(&domain, Some(&current))
        }),
        RegistryCommand::Update { from, table } => crate::block_on(update(from, table)),
        RegistryCommand::Status { table } => crate::block_on(status(table)),
    }
}

async fn store(table: &str) -> DynamoLeadStore {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

/// The registry's answer for one domain, as the intake would classify an
/// address there, and which copy answered.
fn show(domain: &str, registry: Option<&GovRegistry>) -> Result<String, String> {
    // An address is taken at its domain, as the intake reads the lead's email.
    let domain = domain.rsplit('@').next().unwrap_or(domain).trim();
    if domain.is_empty() {
        return Err("give a domain, e.g. `firsthour registry show va.gov`".into());
    }
    let (sector, rule, organisation) = classify_domain(domain, registry);
    let registered = registry
        .and_then(|r| r.lookup(domain))
        .map(|(d, _)| d.to_owned());
    let output = json!({
        "domain": normalise_domain(domain),
        "sector": sector,
        "rule": rule,
        "registered_domain": registered,
        "domain_type": organisation.domain_type,
        "agency": organisation.agency,
        "service": organisation.service,
        "registry": registry.map(|r| json!({
            "copy": r.copy().kind(),
            "described": r.copy().to_string(),
            "dated": r.dated().map(|d| d.to_string()),
            "domains": r.len(),
        })),
    });
    serde_json::to_string_pretty(&output).map_err(|e| e.to_string())
}

/// `--from`: a URL as given, or a file path made into a `file:` URL.
fn source_url(from: &str) -> Result<url::Url, String> {
    let looks_like_url = from.contains("://") || from.starts_with("file:");
    if looks_like_url {
        return registry_source(from);
    }
    let path = std::fs::canonicalize(from).map_err(|err| format!("{from}: {err}"))?;
    url::Url::from_file_path(&path).map_err(|()| format!("{from}: not a usable file path"))
}

async fn update(from: String, table: String) -> Result<String, String> {
    let source = source_url(&from)?;
    let refresh = RegistryRefresh::new(store(&table).await);
    let http = download::client()?;
    let downloaded = download::download(&http, &source, refresh.checks().max_bytes).await;
    let report = refresh
        .refresh(source.as_str(), downloaded, jiff::Timestamp::now())
        .await;
    match report.outcome {
        RefreshOutcome::Accepted => Ok(format!(
            "stored in table {table}: {}\nThe intake uses it from its next cold start (new instances; `aws lambda update-function-configuration` or a deploy starts them now).",
            report.detail
        )),
        RefreshOutcome::Rejected => {
            Err(format!("refused, the copy in use stays: {}", report.detail))
        }
        RefreshOutcome::Failed => Err(format!("failed, the copy in use stays: {}", report.detail)),
    }
}

async fn status(table: String) -> Result<String, String> {
    let store = store(&table).await;
    let in_table = |err: firsthour::ports::StoreError| format!("table {table}: {err}");
    let stored = store.stored_registry().await.map_err(in_table)?;
    let last = store.last_refresh().await.map_err(in_table)?;
    let current =
        registry::at_cold_start(store, Some(std::sync::Arc::new(GovRegistry::built_in())))
            .await
            .ok_or("no registry")?;
    let built_in = GovRegistry::built_in();
    let output = json!({
        "table": table,
        "in_use": {
            "copy": current.copy().kind(),
            "described": current.copy().to_string(),
            "dated": current.dated().map(|d| d.to_string()),
            "domains": current.len(),
        },
        "built_in": {
            "dated": GovRegistry::built_in_date().to_string(),
            "domains": built_in.len(),
        },
        "refreshed": stored.map(|copy| json!({
            "fetched_at": copy.fetched_at.to_string(),
            "source": copy.source,
            "sha256": copy.sha256,
            "domains": copy.rows,
            "federal_domains": copy.federal_rows,
            "relative_to_snapshot": copy.base.to_string(),
            "fits_this_release": copy.fits_this_build(),
            "changed_rows": copy.changed.lines().count().saturating_sub(1),
            "removed_domains": copy.removed.lines().count(),
        })),
        "last_refresh": last.map(|report| json!({
            "at": report.at.to_string(),
            "outcome": report.outcome.as_str(),
            "source": report.source,
            "detail": report.detail,
            "domains": report.rows,
        })),
    });
    serde_json::to_string_pretty(&output).map_err(|e| e.to_string())
}
