//! What the benchmarks share: paths, the stack on moto, leads built by the
//! library exactly as the intake builds them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use firsthour::config::FileConfig;
use firsthour::intake::{IntakeContext, normalise};
use firsthour::lead::{Lead, RequestMeta, Source};
use firsthour::routing::RouteDecision;
use firsthour::sector::SectorDecision;
use firsthour::service::intake::classify;
use firsthour_local::bootstrap::LocalStack;
use firsthour_local::template::TemplateModel;
use time::OffsetDateTime;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn template_path() -> PathBuf {
    root().join("infra/template.yaml")
}

pub fn shipped_config() -> PathBuf {
    root().join("infra/config/firsthour.toml")
}

/// A get.gov registry file named by `FIRSTHOUR_GOV_DOMAINS_FILE`, used
/// instead of the built-in snapshot (as a deployment naming one would).
pub fn registry() -> Option<PathBuf> {
    std::env::var_os("FIRSTHOUR_GOV_DOMAINS_FILE")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .filter(|p| p.exists())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// A registry file to read at cold start: the one named, or the snapshot
/// the built-in copy is compiled from (`crates/firsthour/data/dotgov.csv`).
pub fn registry_file() -> Option<PathBuf> {
    registry()
        .or_else(|| std::fs::canonicalize(root().join("crates/firsthour/data/dotgov.csv")).ok())
}

/// The template parameters without defaults, as `make run` passes them.
pub fn parameters() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SenderEmail".to_owned(), "firsthour@example.com".to_owned()),
        (
            "FederalTeamEmails".to_owned(),
            "federal-sales@example.com".to_owned(),
        ),
        (
            "FallbackEmails".to_owned(),
            "sales-ops@example.com".to_owned(),
        ),
    ])
}

/// What `$FIRSTHOUR_…` recipients in the config file read.
pub fn parameter_env(name: &str) -> Option<String> {
    match name {
        "FIRSTHOUR_FEDERAL_TEAM_EMAILS" => Some("federal-sales@example.com".into()),
        "FIRSTHOUR_FALLBACK_EMAILS" => Some("sales-ops@example.com".into()),
        _ => None,
    }
}

/// The emulator the script started (`AWS_ENDPOINT_URL`).
pub fn emulator_url() -> Result<String, String> {
    std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        "AWS_ENDPOINT_URL is not set: run under scripts/with-moto.sh (scripts/bench.sh does)"
            .to_owned()
    })
}

/// The SDK configuration the functions use (`firsthour_aws::load_sdk_config`:
/// same timeouts and retries), on the emulator through `AWS_ENDPOINT_URL`.
pub async fn sdk() -> Result<SdkConfig, String> {
    emulator_url()?;
    Ok(firsthour_aws::load_sdk_config().await)
}

/// The same SDK for the load phases (50 concurrent callers): one attempt
/// with a generous timeout. Under that load moto can take longer than the
/// functions' 3 s attempt timeout; a retried TransactWriteItems would then
/// find its own first attempt's items and fail its conditions.
pub async fn sdk_for_load() -> Result<SdkConfig, String> {
    emulator_url()?;
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await)
}

/// A stack of the template's resources on the emulator, under a fresh prefix.
pub async fn stack(sdk: &SdkConfig, name: &str) -> Result<(TemplateModel, LocalStack), String> {
    let model = TemplateModel::load(&template_path()).map_err(|e| e.to_string())?;
    let prefix = format!("{name}{}", ulid::Ulid::new().to_string().to_lowercase());
    let stack = LocalStack::create(sdk, &model, &prefix, &parameters())
        .await
        .map_err(|e| e.to_string())?;
    Ok((model, stack))
}

/// The shipped config plus `extra` TOML, written to a temporary file.
pub fn config_file(extra: &str) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(shipped_config()).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("firsthour-bench-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("firsthour.toml");
    std::fs::write(&path, format!("{text}\n{extra}\n")).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The file config as the functions load it (with the registry, if any).
pub fn file_config(path: &Path) -> Result<FileConfig, String> {
    FileConfig::load(path, registry().as_deref(), &parameter_env).map_err(|e| e.to_string())
}

/// A lead, its sector and its route, built by the library from `body`.
pub async fn lead_from(
    body: &[u8],
    source: &Source,
    delivery_id: Option<String>,
    file: &FileConfig,
    at: OffsetDateTime,
) -> Result<(Lead, SectorDecision, RouteDecision), String> {
    let meta = RequestMeta {
        client_ip: Some("127.0.0.1".into()),
        user_agent: Some("firsthour-bench".into()),
        delivery_id,
    };
    let normalised = normalise(
        body,
        Some("application/json"),
        IntakeContext {
            source,
            meta: &meta,
            mapping: file.mapping(source),
            max_body_bytes: 256 * 1024,
            received_at: at,
        },
    )
    .map_err(|e| e.to_string())?;
    let (sector, route) = classify(&normalised.lead, file);
    Ok((normalised.lead, sector, route))
}

pub type Item = HashMap<String, AttributeValue>;

/// Writes items 25 per BatchWriteItem, `parallel` batches at a time.
pub async fn put_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<Item>,
    parallel: usize,
) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    use futures::StreamExt;
    let batches: Vec<Vec<Item>> = items.chunks(25).map(<[_]>::to_vec).collect();
    let results: Vec<Result<(), String>> = futures::stream::iter(batches)
        .map(|batch| async move {
            let mut requests = batch
                .into_iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut attempts = 0;
            while !requests.is_empty() {
                attempts += 1;
                let output = client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
                if attempts > 20 {
                    return Err("BatchWriteItem left items unprocessed 20 times".into());
                }
                if !requests.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Ok(())
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// Lead items of `table` from `source`, counted by Scan.
pub async fn count_leads(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    source: &str,
) -> Result<usize, String> {
    let mut count = 0usize;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("#e = :lead AND #s = :source")
            .expression_attribute_names("#e", "entity")
            .expression_attribute_names("#s", "source")
            .expression_attribute_values(":lead", AttributeValue::S("lead".into()))
            .expression_attribute_values(":source", AttributeValue::S(source.to_owned()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        count += usize::try_from(page.count).unwrap_or(0);
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(count);
        }
    }
}
