//! `firsthour report`: how fast leads were answered, from the lead table.

pub mod chart;
pub mod model;
pub mod render;
pub mod scan;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;
use time::OffsetDateTime;

use firsthour::lead::{format_utc_millis, unix_millis};

use crate::time_arg::{TimeBound, parse_time};

/// The table `make run` creates; the default when nothing else is said.
pub const LOCAL_TABLE: &str = "firsthour-local-leads";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Leads received from this moment: 2026-11-01 (UTC midnight) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Leads received up to this moment: 2026-11-30 (its whole day) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// What the buckets measure: the first response (a reply, call, meeting,
    /// CRM activity) or the first touch (a claim counts).
    #[arg(long, value_enum, default_value = "response")]
    by: model::Measure,
    /// Only this segment (as the routing rules name it, e.g. federal).
    #[arg(long, value_name = "S")]
    segment: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also draw the report: FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// The lead table (the stack's TableName output in AWS).
    #[arg(long, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
    table: String,
    /// Parallel scan workers (DynamoDB scan segments); more for millions of leads.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    parallel: u32,
    /// Items per scan page (default: DynamoDB's 1 MB pages).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..), hide = true)]
    page_size: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Args(String),
    #[error(transparent)]
    Scan(#[from] scan::ScanError),
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot format the report: {0}")]
    Format(String),
}

pub async fn run(args: ReportArgs) -> Result<String, ReportError> {
    let now = OffsetDateTime::now_utc();
    let since = match &args.since {
        Some(raw) => parse_time(raw, TimeBound::Start)
            .map_err(|e| ReportError::Args(format!("--since: {e}")))?,
        None => OffsetDateTime::UNIX_EPOCH,
    };
    let until = match &args.until {
        Some(raw) => parse_time(raw, TimeBound::End)
            .map_err(|e| ReportError::Args(format!("--until: {e}")))?,
        None => now,
    };
    if args.until.is_some() && until < since {
        return Err(ReportError::Args("--until is before --since".into()));
    }
    let chart_kind = match &args.chart {
        None => None,
        Some(path) => Some(chart_kind(path)?),
    };

    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let request = scan::ScanRequest {
        table: args.table.clone(),
        since_ms: unix_millis(since),
        until_ms: unix_millis(until),
        segment: args.segment.clone(),
        parallel: args.parallel,
        page_size: args.page_size,
    };
    eprintln!(
        "firsthour report: reading table {} with a paginated parallel scan ({} segments; \
         only routing and timing attributes are read, no personal data)",
        request.table, request.parallel
    );
    let started = Instant::now();
    let progress = Arc::new(scan::Progress::default());
    let ticker = tokio::spawn(scan::report_progress(Arc::clone(&progress), started));
    let records = scan::scan(&client, &request, Arc::clone(&progress)).await;
    ticker.abort();
    let records = records?;
    eprintln!(
        "firsthour report: {} items read, {} leads in the window, {:.1} s",
        progress.scanned.load(std::sync::atomic::Ordering::Relaxed),
        records.len(),
        started.elapsed().as_secs_f64()
    );

    let report = model::Report::build(&records, unix_millis(now), args.by);
    let readable = |at: OffsetDateTime| {
        let text = format_utc_millis(at);
        format!("{} {} UTC", &text[..10], &text[11..16])
    };
    let window = match &args.since {
        Some(_) => format!("from {} to {}", readable(since), readable(until)),
        None => format!("up to {}", readable(until)),
    };
    if let (Some(path), Some(kind)) = (&args.chart, chart_kind) {
        let subtitle = format!(
            "{} leads received {window}{}; table {}",
            report.total.leads,
            args.segment
                .as_deref()
                .map_or_else(String::new, |s| format!(", segment {s}")),
            args.table
        );
        let svg = chart::svg(&report, &subtitle);
        let bytes = match kind {
            ChartKind::Svg => svg.into_bytes(),
            ChartKind::Png => chart::png(&svg)?,
        };
        std::fs::write(path, bytes).map_err(|source| ReportError::Write {
            path: path.display().to_string(),
            source,
        })?;
        eprintln!("firsthour report: chart written to {}", path.display());
    }
    Ok(match args.format {
        Format::Table => format!(
            "Lead response, {window} ({} leads); buckets by {}\n\n{}",
            report.total.leads,
            report.measure.label(),
            render::table(&report)
        ),
        Format::Json => render::json(
            &report,
            json!({
                "table": args.table,
                "since": args.since.as_ref().map(|_| format_utc_millis(since)),
                "until": format_utc_millis(until),
                "segment": args.segment,
                "buckets_by": report.measure,
                "generated_at": format_utc_millis(now),
            }),
        ),
        Format::Csv => render::csv(&report).map_err(|e| ReportError::Format(e.to_string()))?,
    })
}

#[derive(Debug, Clone, Copy)]
enum ChartKind {
    Svg,
    Png,
}

fn chart_kind(path: &std::path::Path) -> Result<ChartKind, ReportError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => Ok(ChartKind::Svg),
        Some("png") => Ok(ChartKind::Png),
        _ => Err(ReportError::Args(format!(
            "--chart {}: name the file .svg or .png",
            path.display()
        ))),
    }
}
