//! Reads the lead table for the report: a paginated parallel scan.
//!
//! There is no index by arrival time (the table's one index is the sparse
//! due-index of waiting leads), so the report scans. Each of `segments`
//! workers pages through its slice of the table, 1 MB a page; only the
//! attributes the report needs are projected (no personal data leaves the
//! table) and the time window and segment are filtered on the server. Memory
//! holds one small record per matching lead, so millions of leads fit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use firsthour::record::EscalationStamp;

use super::model::LeadRecord;

/// What to read.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub table: String,
    pub since_ms: i64,
    pub until_ms: i64,
    pub segment: Option<String>,
    pub parallel: u32,
    /// Items per page; `None` reads DynamoDB's 1 MB pages.
    pub page_size: Option<i32>,
}

/// The attributes read, by name (`#a0`, `#a1`… in the projection: some are
/// DynamoDB reserved words).
const PROJECTED: [&str; 11] = [
    "segment",
    "source",
    "received_at_ms",
    "ms_to_first_touch",
    "ms_to_notify",
    "escalations",
    "reassignments",
    "ms_to_first_response",
    "first_response_channel",
    "breached_at",
    "fallback",
];

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read table {table}: {message}")]
    Read { table: String, message: String },
}

/// Counters the progress line reads while the workers run.
#[derive(Debug, Default)]
pub struct Progress {
    pub scanned: AtomicU64,
    pub matched: AtomicU64,
    pub pages: AtomicU64,
}

pub async fn scan(
    client: &Client,
    request: &ScanRequest,
    progress: Arc<Progress>,
) -> Result<Vec<LeadRecord>, ScanError> {
    let workers: Vec<_> = (0..request.parallel.max(1))
        .map(|segment| {
            let client = client.clone();
            let request = request.clone();
            let progress = Arc::clone(&progress);
            tokio::spawn(async move { scan_segment(&client, &request, segment, &progress).await })
        })
        .collect();
    let mut records = Vec::new();
    for worker in workers {
        let part = worker.await.map_err(|err| ScanError::Read {
            table: request.table.clone(),
            message: err.to_string(),
        })??;
        records.extend(part);
    }
    Ok(records)
}

async fn scan_segment(
    client: &Client,
    request: &ScanRequest,
    segment: u32,
    progress: &Progress,
) -> Result<Vec<LeadRecord>, ScanError> {
    let mut filter = "#entity = :lead AND #received BETWEEN :since AND :until".to_owned();
    if request.segment.is_some() {
        filter.push_str(" AND #segment = :segment");
    }
    let projection: Vec<String> = (0..PROJECTED.len()).map(|i| format!("#a{i}")).collect();
    let mut records = Vec::new();
    let mut start = None;
    loop {
        let mut scan = client
            .scan()
            .table_name(&request.table)
            .segment(i32::try_from(segment).unwrap_or(0))
            .total_segments(i32::try_from(request.parallel.max(1)).unwrap_or(1))
            .projection_expression(projection.join(", "))
            .filter_expression(&filter)
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#received", "received_at_ms")
            .expression_attribute_values(":lead", AttributeValue::S("lead".into()))
            .expression_attribute_values(":since", AttributeValue::N(request.since_ms.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(request.until_ms.to_string()))
            .set_limit(request.page_size)
            .set_exclusive_start_key(start);
        for (i, name) in PROJECTED.iter().enumerate() {
            scan = scan.expression_attribute_names(format!("#a{i}"), *name);
        }
        if let Some(wanted) = &request.segment {
            scan = scan
                .expression_attribute_names("#segment", "segment")
                .expression_attribute_values(":segment", AttributeValue::S(wanted.clone()));
        }
        let page = scan.send().await.map_err(|err| ScanError::Read {
            table: request.table.clone(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
        })?;
        let items = page.items.unwrap_or_default();
        progress.pages.fetch_add(1, Ordering::Relaxed);
        progress.scanned.fetch_add(
            u64::try_from(page.scanned_count).unwrap_or(0),
            Ordering::Relaxed,
        );
        progress
            .matched
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        records.extend(items.iter().map(record));
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(records);
        }
    }
}

/// One item's record; anything missing or odd reads as absent, never fails.
fn record(item: &HashMap<String, AttributeValue>) -> LeadRecord {
    let s = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let n = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let stamps: Vec<EscalationStamp> = item
        .get("escalations")
        .and_then(|v| serde_dynamo::from_attribute_value(v.clone()).ok())
        .unwrap_or_default();
    LeadRecord {
        segment: s("segment"),
        source: s("source"),
        received_at_ms: n("received_at_ms").unwrap_or(0),
        ms_to_first_touch: n("ms_to_first_touch"),
        ms_to_notify: n("ms_to_notify"),
        ms_to_first_response: n("ms_to_first_response"),
        response_channel: Some(s("first_response_channel")).filter(|c| !c.is_empty()),
        escalated_tiers: stamps
            .iter()
            .filter(|e| !e.breach)
            .map(|e| e.tier)
            .collect(),
        breached: item.contains_key("breached_at"),
        reassigned: item
            .get("reassignments")
            .and_then(|v| v.as_l().ok())
            .is_some_and(|moves| !moves.is_empty()),
        fallback: item
            .get("fallback")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    }
}

/// Prints progress to stderr every half second until `done` resolves.
pub async fn report_progress(progress: Arc<Progress>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.tick().await;
    loop {
        tick.tick().await;
        eprintln!(
            "  … {} items read, {} leads matched, {} pages, {:.1} s",
            progress.scanned.load(Ordering::Relaxed),
            progress.matched.load(Ordering::Relaxed),
            progress.pages.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_items_read_as_absent_values() {
        let item = HashMap::from([
            ("segment".to_owned(), AttributeValue::S("federal".into())),
            (
                "received_at_ms".to_owned(),
                AttributeValue::S("oops".into()),
            ),
            (
                "ms_to_first_touch".to_owned(),
                AttributeValue::N("1500".into()),
            ),
            (
                "escalations".to_owned(),
                AttributeValue::S("not a list".into()),
            ),
            ("breached_at".to_owned(), AttributeValue::S("x".into())),
        ]);
        let r = record(&item);
        assert_eq!(r.segment, "federal");
        assert_eq!(r.received_at_ms, 0);
        assert_eq!(r.ms_to_first_touch, Some(1500));
        assert!(r.escalated_tiers.is_empty());
        assert!(r.breached);
        assert!(!r.fallback);
    }
}
