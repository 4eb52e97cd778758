//! Sweep scaling: the real escalation (`EscalationApp` over
//! `DynamoLeadStore`, EventBridge on the emulator, a mailer that records)
//! with 1,000 / 10,000 / 100,000 stored leads, 100 of them due. Items read
//! is the due query's ScannedCount (`SweepReport::scanned`).
//!
//! Of the stored leads that are not due, 10% are still in the due index
//! (due tomorrow) and the rest were claimed (out of the sparse index), as
//! in a table in use. Before each sweep the same 100 due leads are written
//! again, so every sweep does the same work: 100 leads moved to their next
//! tier, their emails sent, `LeadEscalated` published.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use escalation::EscalationApp;
use firsthour::config::{EnvReader, EscalationSettings};
use firsthour::escalation::MAX_PER_SWEEP;
use firsthour::lead::{LeadId, Source, format_utc_millis, unix_millis};
use firsthour::metrics::Metrics;
use firsthour::notify::OutgoingEmail;
use firsthour::ports::{EscalationStore, MailError, Mailer, ManualClock};
use firsthour::record::{LeadRecord, RoutingState};
use firsthour_aws::table::{self, LeadItem};
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::Options;
use crate::stats::{median, ms};
use crate::support::{self, Item};

/// Counts what it is asked to send.
#[derive(Clone, Default)]
struct Recording(Arc<AtomicUsize>);

impl Mailer for Recording {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(format!("bench-{n}"))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Due,
    Later,
    Claimed,
}

fn item(template: &LeadItem, kind: Kind, t0: OffsetDateTime) -> Result<Item, String> {
    let mut lead = template.clone();
    if !matches!(kind, Kind::Due) {
        // The filler leads keep their contact details but not the raw form
        // fields: loading moto (which builds every attribute as Python
        // objects) stays within the script's time; the index and so the items
        // a sweep reads do not depend on item size.
        lead.fields.clear();
    }
    lead.lead_id = LeadId::new_at(t0);
    lead.pk = table::lead_pk(&lead.lead_id);
    match kind {
        Kind::Due => lead.due_at = Some(unix_millis(t0 + Duration::from_secs(5 * 60))),
        Kind::Later => lead.due_at = Some(unix_millis(t0 + Duration::from_secs(24 * 3600))),
        Kind::Claimed => {
            lead.due_at = None;
            lead.due_bucket = None;
            lead.claimed_at = Some(format_utc_millis(t0 + Duration::from_secs(120)));
            lead.claimed_by = lead.owner.clone();
        }
    }
    serde_dynamo::to_item(&lead).map_err(|e| e.to_string())
}

pub async fn run(options: &Options) -> Result<(), String> {
    let sizes = options.numbers("sizes", &[1_000, 10_000, 100_000])?;
    let due = options.number("due", 100)?;
    let sweeps = options.number("sweeps", 5)?;
    let parallel = options.number("load-parallel", 8)?;

    // moto answers a GSI query by scanning the table in Python: at 100,000
    // items that takes longer than the functions' 3 s attempt timeout, so
    // the sweep's clients here wait for it (DynamoDB would not need to).
    let sdk = support::sdk_for_load().await?;
    let (_model, stack) = support::stack(&sdk, "sweep").await?;
    let env: HashMap<String, String> = [
        ("FIRSTHOUR_TABLE_NAME", stack.table_name.clone()),
        ("FIRSTHOUR_EVENT_BUS_NAME", stack.bus_name.clone()),
        ("FIRSTHOUR_SENDER_EMAIL", "firsthour@example.com".into()),
        (
            "FIRSTHOUR_CONFIG_FILE",
            support::shipped_config().display().to_string(),
        ),
        (
            "FIRSTHOUR_FEDERAL_TEAM_EMAILS",
            "federal-sales@example.com".into(),
        ),
        ("FIRSTHOUR_FALLBACK_EMAILS", "sales-ops@example.com".into()),
        ("FIRSTHOUR_PUBLIC_BASE_URL", "http://127.0.0.1:3000".into()),
        (
            "FIRSTHOUR_LINK_SIGNING_KEY",
            "bench-link-signing-key-0123456789abcdef0123456789".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = EscalationSettings::from_env(&EnvReader::new(|k: &str| env.get(k).cloned()))
        .map_err(|e| e.to_string())?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoLeadStore::new(dynamo.clone(), &stack.table_name);
    let publisher =
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), &stack.bus_name);
    let t0 = datetime!(2026-11-23 15:00 UTC);
    let now = t0 + Duration::from_secs(6 * 60);
    let clock = ManualClock::new(now);
    let mailer = Recording::default();
    let app = EscalationApp::new(store.clone(), mailer.clone(), publisher, clock, &settings)
        .with_metrics(Metrics::recording());

    // A routed, notified federal lead, as the router leaves it: its first
    // tier (5 minutes) is due at minute 6.
    let file = support::file_config(&support::shipped_config())?;
    let source = Source::parse("website").map_err(|e| e.to_string())?;
    let body = json!({
        "email": "sgt.major@army.mil",
        "first_name": "Dana",
        "last_name": "Reyes",
        "company": "U.S. Army Contracting Command",
        "phone": "+1 256 555 0142",
        "message": "We need a quote for 120 seats before the end of the fiscal year.",
        "utm_source": "google",
        "page_url": "https://www.example.com/government",
    })
    .to_string();
    let (lead, sector, route) =
        support::lead_from(body.as_bytes(), &source, None, &file, t0).await?;
    let mut template = LeadItem::stored(LeadRecord::new_received(
        &lead, &sector, &route, t0, t0, None,
    ));
    template.routing_state = RoutingState::Routed;
    template.owner = Some("fed-rep-1@example.com".into());
    template.routed_at = Some(format_utc_millis(t0));
    template.notified_at = Some(format_utc_millis(t0));
    template.next_tier = Some(1);
    template.ms_to_route = Some(40);
    template.ms_to_notify = Some(180);

    let due_items: Vec<Item> = (0..due)
        .map(|_| item(&template, Kind::Due, t0))
        .collect::<Result<_, _>>()?;
    let mut stored = due;
    let mut results = Vec::new();
    for &size in &sizes {
        let add = size.saturating_sub(stored);
        let items: Vec<Item> = (0..add)
            .map(|i| {
                item(
                    &template,
                    if i % 10 == 0 {
                        Kind::Later
                    } else {
                        Kind::Claimed
                    },
                    t0,
                )
            })
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        support::put_items(&dynamo, &stack.table_name, items, parallel).await?;
        stored += add;
        let load_s = started.elapsed().as_secs_f64();

        let (mut walls, mut queries, mut scanned, mut due_counts, mut escalated) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..sweeps {
            support::put_items(&dynamo, &stack.table_name, due_items.clone(), parallel).await?;
            // The due query alone, then the whole sweep.
            let started = Instant::now();
            let found = store
                .due_leads(now, MAX_PER_SWEEP)
                .await
                .map_err(|e| e.to_string())?;
            queries.push(ms(started.elapsed()));
            let started = Instant::now();
            let report = app.sweep().await.map_err(|e| e.to_string())?;
            walls.push(ms(started.elapsed()));
            scanned.push(report.scanned as f64);
            due_counts.push(report.due as f64);
            escalated.push(report.escalated as f64);
            if found.leads.len() != due || report.due != due || report.escalated != due {
                return Err(format!(
                    "{size} leads: expected {due} due and escalated, the query found {} and the sweep {report:?}",
                    found.leads.len()
                ));
            }
        }
        let (wall, query, read) = (median(&walls), median(&queries), median(&scanned));
        println!(
            "sweep with {size:>7} stored leads ({due} due, loaded in {load_s:.0} s): items read {read:.0}, \
             due query {query:.1} ms, whole sweep {wall:.0} ms (median of {sweeps})"
        );
        results.push(json!({
            "stored": size,
            "due": due,
            "scanned": read,
            "scanned_max": scanned.iter().copied().fold(0.0, f64::max),
            "query_ms": query,
            "sweep_ms": wall,
            "sweeps": sweeps,
            "load_s": load_s,
        }));
    }
    println!(
        "sweep: {} emails recorded",
        mailer.0.load(Ordering::Relaxed)
    );
    options.write_out(&json!({ "sizes": results }))
}
