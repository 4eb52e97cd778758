//! Intake overhead and burst, on one moto, in one run.
//!
//! The intake runs as `make run` runs it: the release `intake` binary behind
//! the local Runtime API stand-in (`firsthour_local::runtime_api`), fronted by
//! the local HTTP API stand-in (`firsthour_local::gateway`). Only the intake
//! is started (no router, no schedule), so nothing else competes for the two
//! cores; the burst's `LeadReceived` events are counted on a queue of their
//! own, behind a rule on the stack's bus matching `detail.source = burst`.
//!
//! Deliveries are signed (Standard Webhooks, sources `bench` and `burst`),
//! as a vendor's webhooks are: signed senders are not rate-limited per IP,
//! and every delivery carries a `webhook-id` (a delivery marker) and unique
//! content (its content marker), so the intake makes exactly one
//! TransactWriteItems (lead + 2 markers) and one PutEvents per lead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use firsthour::config::{EnvReader, IntakeSettings};
use firsthour::lead::Source;
use firsthour::service::intake::IntakePolicy;
use firsthour::signature::sign;
use firsthour_local::gateway::{self, GatewayState};
use firsthour_local::runtime_api::{FunctionHost, FunctionSpec};
use serde_json::json;
use time::OffsetDateTime;

use crate::Options;
use crate::stats::{median, ms, quantile};
use crate::support::{self, Item};

mod direct;
use direct::Direct;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A JSON lead of about 400 bytes, unique per `n`.
fn body(tag: &str, n: usize) -> Vec<u8> {
    json!({
        "email": format!("{tag}-{n}@example.com"),
        "first_name": "Bench",
        "last_name": format!("Lead {n}"),
        "company": "Example Inc",
        "job_title": "Head of Operations",
        "phone": "+1 415 555 0100",
        "message": format!("Latency run {n}: please call me about pricing for 40 seats."),
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "bench",
        "page_url": "https://www.example.com/contact",
    })
    .to_string()
    .into_bytes()
}

/// A signed delivery: (webhook-id, timestamp, signature, body).
struct Signed {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

fn signed(tag: &str, n: usize) -> Signed {
    let body = body(tag, n);
    let id = format!("msg_{tag}_{n}_{}", ulid::Ulid::new());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Signed {
        signature: sign::standard_webhooks(SECRET, &id, now, &body),
        timestamp: now.to_string(),
        id,
        body,
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    delivery: &Signed,
) -> Result<(u16, Duration), String> {
    let started = Instant::now();
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", &delivery.timestamp)
        .header("webhook-signature", &delivery.signature)
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, started.elapsed()))
}

/// `total` calls of `call(i)` from `concurrency` tasks; returns (elapsed, per-call times).
async fn concurrently<F, Fut>(
    total: usize,
    concurrency: usize,
    call: F,
) -> Result<(Duration, Vec<f64>), String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Duration, String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total {
                        return Ok::<_, String>(times);
                    }
                    times.push(ms(call(i).await?));
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for task in tasks {
        times.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok((started.elapsed(), times))
}

/// A rule and queue of their own for the burst's `LeadReceived` events
/// (source `burst`): the template's rule queues also hold every other
/// event of the run, and moto reads a queue in time that grows with its
/// length for every message received.
async fn burst_queue(
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    bus: &str,
) -> Result<String, String> {
    let pattern = json!({
        "source": ["firsthour"],
        "detail-type": ["LeadReceived"],
        "detail": {"source": ["burst"]},
    });
    firsthour_local::bootstrap::rule_to_queue(
        sdk,
        bus,
        &format!("{prefix}-burst-events"),
        &pattern.to_string(),
    )
    .await
    .map_err(|e| e.to_string())
}

/// Receives every message of `queue`; returns the `LeadReceived` lead ids
/// whose source is `source`, duplicates included.
async fn drain_events(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    source: &str,
) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut empty = 0;
    while empty < 3 {
        let output = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        empty = 0;
        for message in messages {
            let event: serde_json::Value =
                serde_json::from_str(message.body().unwrap_or("null")).unwrap_or_default();
            if event["detail-type"] == "LeadReceived" && event["detail"]["source"] == source {
                ids.push(
                    event["detail"]["lead_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    }
    Ok(ids)
}

pub async fn run(options: &Options) -> Result<(), String> {
    let rounds = options.number("rounds", 300)?;
    let burst = options.number("burst", 1000)?;
    let concurrency = options.number("concurrency", 50)?;
    let instances = options.number("instances", 4)?;
    let bin_dir = PathBuf::from(options.text("bin-dir", "target/release"));

    let sdk = support::sdk().await?;
    let emulator_url = support::emulator_url()?;
    let (model, stack) = support::stack(&sdk, "bench").await?;
    let events_queue = burst_queue(&sdk, &stack.prefix, &stack.bus_name).await?;
    let config = support::config_file(
        "# firsthour-bench: signed sources, as vendors' webhooks are\n[sources.bench]\nauth = \"standard_webhooks\"\n\n[sources.burst]\nauth = \"standard_webhooks\"\n",
    )?;
    let intake = model
        .function_by_binary("intake")
        .ok_or("the template has no intake function")?;
    let mut env = stack
        .function_env(&model, &intake.logical_id)
        .map_err(|e| e.to_string())?;
    env.push(("FIRSTHOUR_CONFIG_FILE".into(), config.display().to_string()));
    env.push((
        "FIRSTHOUR_WEBHOOK_SECRETS".into(),
        json!({"bench": SECRET, "burst": SECRET}).to_string(),
    ));
    if let Some(registry) = support::registry() {
        env.push((
            "FIRSTHOUR_GOV_DOMAINS_FILE".into(),
            registry.display().to_string(),
        ));
    }
    let env_map: std::collections::HashMap<String, String> = env.iter().cloned().collect();
    let settings = IntakeSettings::from_env(&EnvReader::new(|k: &str| env_map.get(k).cloned()))
        .map_err(|e| e.to_string())?;
    let direct = Direct {
        dynamo: aws_sdk_dynamodb::Client::new(&sdk),
        events: aws_sdk_eventbridge::Client::new(&sdk),
        table: stack.table_name.clone(),
        bus: stack.bus_name.clone(),
        policy: IntakePolicy::from(&settings),
    };

    let binary = bin_dir.join("intake");
    let host = FunctionHost::start(FunctionSpec {
        name: format!("{}-intake", stack.prefix),
        binary: binary.clone(),
        env,
        instances,
        timeout: Duration::from_secs(30),
        show_logs: false,
        log_file: None,
    })
    .await
    .map_err(|e| format!("{}: {e}", binary.display()))?;
    let host = Arc::new(host);
    let app = gateway::router(Arc::new(GatewayState {
        intake: host.clone(),
        emulator_url,
        limits: Default::default(),
        mail_view: Default::default(),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;

    // Warm every intake process (cold starts are measured separately).
    let bench_url = format!("{base}/leads/bench");
    for n in 0..(instances * 5).max(10) {
        let (status, _) = post(&http, &bench_url, &signed("warm", n)).await?;
        if status != 202 {
            return Err(format!("warm-up lead answered {status}"));
        }
        let writes = direct
            .writes(
                &signed("warmdirect", n),
                &Source::parse("bench").map_err(|e| e.to_string())?,
            )
            .await?;
        direct.send(writes).await?;
    }

    // --- Overhead: interleaved rounds, the order alternating.
    let source = Source::parse("bench").map_err(|e| e.to_string())?;
    let thank_you = format!("{base}/thank-you");
    let (mut through_intake, mut bare, mut bare_store, mut plumbing) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in 0..rounds {
        let delivery = signed("overhead", n);
        let writes = direct.writes(&signed("direct", n), &source).await?;
        let intake_first = n % 2 == 0;
        if intake_first {
            let (status, t) = post(&http, &bench_url, &delivery).await?;
            if status != 202 {
                return Err(format!("intake answered {status}"));
            }
            through_intake.push(ms(t));
            let (total, store) = direct.send_split(writes).await?;
            bare.push(ms(total));
            bare_store.push(ms(store));
        } else {
            let (total, store) = direct.send_split(writes).await?;
            bare.push(ms(total));
            bare_store.push(ms(store));
            let (status, t) = post(&http, &bench_url, &delivery).await?;
            if status != 202 {
                return Err(format!("intake answered {status}"));
            }
            through_intake.push(ms(t));
        }
        let started = Instant::now();
        let status = http
            .get(&thank_you)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        if !status.is_success() {
            return Err(format!("/thank-you answered {status}"));
        }
        plumbing.push(ms(started.elapsed()));
    }
    let (intake_p50, bare_p50) = (median(&through_intake), median(&bare));
    let ratio = intake_p50 / bare_p50;
    println!(
        "intake overhead ({rounds} interleaved rounds, JSON lead, signed): local intake p50 {intake_p50:.2} ms (p90 {:.2}), \
         bare TransactWriteItems+PutEvents p50 {bare_p50:.2} ms (p90 {:.2}); ratio of medians {ratio:.2} (target <= 1.3); \
         gateway+Runtime API+function with no AWS call (GET /thank-you) p50 {:.2} ms; of the bare calls, TransactWriteItems p50 {:.2} ms",
        quantile(&through_intake, 0.9),
        quantile(&bare, 0.9),
        median(&plumbing),
        median(&bare_store),
    );

    // --- Burst, between two measurements of moto's raw PutItem rate.
    // The load phases use clients that wait for moto rather than retry.
    let load_sdk = support::sdk_for_load().await?;
    let direct = Direct {
        dynamo: aws_sdk_dynamodb::Client::new(&load_sdk),
        events: aws_sdk_eventbridge::Client::new(&load_sdk),
        ..direct
    };
    let raw_items = |tag: &'static str| {
        let direct = &direct;
        let source = source.clone();
        async move {
            let mut items = Vec::with_capacity(burst);
            for n in 0..burst {
                let writes = direct.writes(&signed(tag, n), &source).await?;
                items.push(writes.lead);
            }
            Ok::<_, String>(items)
        }
    };
    let raw_rate = |items: Vec<Item>| {
        let client = direct.dynamo.clone();
        let table = direct.table.clone();
        let items = Arc::new(items);
        async move {
            let (elapsed, _) = concurrently(items.len(), concurrency, move |i| {
                let client = client.clone();
                let table = table.clone();
                let item = items[i].clone();
                async move {
                    let started = Instant::now();
                    client
                        .put_item()
                        .table_name(table)
                        .set_item(Some(item))
                        .send()
                        .await
                        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
                    Ok(started.elapsed())
                }
            })
            .await?;
            Ok::<_, String>(burst as f64 / elapsed.as_secs_f64())
        }
    };
    let before_items = raw_items("rawbefore").await?;
    let after_items = raw_items("rawafter").await?;
    let raw_before = raw_rate(before_items).await?;

    let deliveries: Arc<Vec<Signed>> = Arc::new((0..burst).map(|n| signed("burst", n)).collect());
    let statuses = Arc::new(std::sync::Mutex::new(Vec::with_capacity(burst)));
    let burst_url = format!("{base}/leads/burst");
    let (elapsed, latencies) = {
        let http = http.clone();
        let deliveries = deliveries.clone();
        let statuses = statuses.clone();
        concurrently(burst, concurrency, move |i| {
            let http = http.clone();
            let deliveries = deliveries.clone();
            let statuses = statuses.clone();
            let url = burst_url.clone();
            async move {
                let (status, t) = post(&http, &url, &deliveries[i]).await?;
                statuses.lock().map_err(|e| e.to_string())?.push(status);
                Ok(t)
            }
        })
        .await?
    };
    let raw_after = raw_rate(after_items).await?;

    // The intake's own calls (TransactWriteItems + PutEvents) issued directly
    // at the same concurrency: moto's ceiling for what the intake does.
    let mut same_writes = Vec::with_capacity(burst);
    for n in 0..burst {
        same_writes.push(direct.writes(&signed("samecalls", n), &source).await?);
    }
    let same_writes = Arc::new(std::sync::Mutex::new(same_writes));
    let direct = Arc::new(direct);
    let (same_elapsed, _) = {
        let direct = direct.clone();
        concurrently(burst, concurrency, move |_| {
            let direct = direct.clone();
            let writes = same_writes.lock().ok().and_then(|mut w| w.pop());
            async move {
                let writes = writes.ok_or("no writes left")?;
                let pk = writes.lead.get("pk").and_then(|v| v.as_s().ok()).cloned();
                direct
                    .send(writes)
                    .await
                    .map_err(|e| format!("same calls, lead {pk:?}: {e}"))
            }
        })
        .await?
    };
    let same_rate = burst as f64 / same_elapsed.as_secs_f64();
    let throughput = burst as f64 / elapsed.as_secs_f64();
    let accepted = statuses
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|s| **s == 202)
        .count();

    let leads = support::count_leads(&direct.dynamo, &direct.table, "burst").await?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let event_ids = drain_events(&sqs, &events_queue, "burst").await?;
    let mut distinct = event_ids.clone();
    distinct.sort();
    distinct.dedup();
    let raw = (raw_before + raw_after) / 2.0;
    let exact =
        accepted == burst && leads == burst && event_ids.len() == burst && distinct.len() == burst;
    println!(
        "burst ({burst} webhooks, {concurrency} concurrent senders, {instances} intake processes): {throughput:.0} req/s, \
         p50 {:.1} ms, p99 {:.1} ms; 202 answers {accepted}, leads stored {leads}, LeadReceived events {} ({} distinct): {}; \
         moto raw PutItem at {concurrency} concurrent {raw:.0} puts/s (before {raw_before:.0}, after {raw_after:.0}); \
         intake/raw {:.2}; the intake's own calls issued directly at {concurrency} concurrent {same_rate:.0}/s, intake/those {:.2}",
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        event_ids.len(),
        distinct.len(),
        if exact { "exact" } else { "MISMATCH" },
        throughput / raw,
        throughput / same_rate,
    );

    server.abort();
    if let Ok(host) = Arc::try_unwrap(host) {
        host.stop().await;
    }
    options.write_out(&json!({
        "overhead": {
            "rounds": rounds,
            "intake_p50_ms": intake_p50,
            "intake_p90_ms": quantile(&through_intake, 0.9),
            "bare_p50_ms": bare_p50,
            "bare_p90_ms": quantile(&bare, 0.9),
            "plumbing_p50_ms": median(&plumbing),
            "bare_store_p50_ms": median(&bare_store),
            "ratio": ratio,
        },
        "burst": {
            "requests": burst,
            "concurrency": concurrency,
            "instances": instances,
            "throughput_rps": throughput,
            "p50_ms": quantile(&latencies, 0.5),
            "p99_ms": quantile(&latencies, 0.99),
            "accepted": accepted,
            "leads": leads,
            "events": event_ids.len(),
            "distinct_events": distinct.len(),
            "exact": exact,
            "moto_put_rps": raw,
            "moto_put_rps_before": raw_before,
            "moto_put_rps_after": raw_after,
            "ratio_to_moto": throughput / raw,
            "same_calls_rps": same_rate,
            "ratio_to_same_calls": throughput / same_rate,
        }
    }))?;
    if !exact {
        return Err(format!(
            "burst: expected {burst} accepted, stored and announced; got {accepted} / {leads} / {} ({} distinct)",
            event_ids.len(),
            distinct.len()
        ));
    }
    Ok(())
}
