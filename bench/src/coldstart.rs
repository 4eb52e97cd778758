//! Cold start: from process start of a release bootstrap to its first
//! invocation answered, under a minimal Lambda Runtime API stand-in served
//! here; and the process's peak RSS (`VmHWM`) at that moment.
//!
//! The stand-in also answers the few AWS calls the first invocations make
//! (DynamoDB UpdateItem, TransactWriteItems, GetItem and Query, EventBridge
//! PutEvents)
//! at `AWS_ENDPOINT_URL`, instantly, so no AWS and no emulator is involved:
//! what is measured is the process (config, the .gov registry, SDK clients,
//! the runtime client, the handler, SigV4 signing and the HTTP client), not
//! a network. Secrets are given as plain variables (as local runs do); on
//! AWS the functions first read them from Secrets Manager.
//!
//! The intake runs four ways: with the built-in .gov registry, with the
//! refreshed copy read from the table (as the template deploys it: one
//! GetItem, answered here with a copy a few months newer than the snapshot),
//! reading the registry file at cold start, and with no registry
//! (`FIRSTHOUR_GOV_DOMAINS_FILE=none`): what each copy costs.
//!
//! The floor is `firsthour-echo` (`bench/src/bin/echo.rs`): a `lambda_runtime`
//! function that answers its event, built with the same release profile;
//! every function's cold start and peak RSS is also given as a ratio to it.
//!
//! The Python peer (`bench/python/handler.py`) does the same work for the
//! intake's invocation with boto3 under the official runtime interface
//! client, `awslambdaric`. All are started in turn, `--runs` times.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::Options;
use crate::stats::{median, ms};
use crate::support;

const API: &str = "/2018-06-01/runtime";

/// The floor: a `lambda_runtime` function that answers its event.
const ECHO: &str = "firsthour-echo";

enum Outcome {
    Answered { at: Instant, body: Vec<u8> },
    Failed(String),
}

#[derive(Default)]
struct Pending {
    event: Option<Vec<u8>>,
    first_poll: Option<Instant>,
    done: Option<oneshot::Sender<Outcome>>,
}

#[derive(Default)]
struct StandIn {
    pending: Mutex<Pending>,
}

impl StandIn {
    fn finish(&self, outcome: Outcome) {
        if let Ok(mut pending) = self.pending.lock()
            && let Some(done) = pending.done.take()
        {
            let _ = done.send(outcome);
        }
    }
}

async fn next(State(state): State<Arc<StandIn>>) -> Response {
    let event = state.pending.lock().ok().and_then(|mut pending| {
        let event = pending.event.take();
        if event.is_some() {
            pending.first_poll = Some(Instant::now());
        }
        event
    });
    let Some(event) = event else {
        // The next invocation never comes: the process is stopped meanwhile.
        return std::future::pending::<Response>().await;
    };
    let deadline = time::OffsetDateTime::now_utc() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put(
        "lambda-runtime-aws-request-id",
        ulid::Ulid::new().to_string().to_lowercase(),
    );
    put(
        "lambda-runtime-deadline-ms",
        (deadline.unix_timestamp_nanos() / 1_000_000).to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    put("content-type", "application/json".into());
    (StatusCode::OK, headers, event).into_response()
}

async fn response(State(state): State<Arc<StandIn>>, body: Bytes) -> StatusCode {
    state.finish(Outcome::Answered {
        at: Instant::now(),
        body: body.to_vec(),
    });
    StatusCode::ACCEPTED
}

async fn error(State(state): State<Arc<StandIn>>, body: Bytes) -> StatusCode {
    state.finish(Outcome::Failed(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

/// The AWS calls of the first invocations, answered at once.
async fn aws(headers: HeaderMap, request: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (content_type, body) = match target {
        // The intake's cold-start read of the refreshed .gov registry.
        "DynamoDB_20120810.GetItem"
            if serde_json::from_slice::<Value>(&request)
                .is_ok_and(|r| r["Key"]["pk"]["S"] == "REGISTRY") =>
        {
            ("application/x-amz-json-1.0", refreshed_registry_item())
        }
        "DynamoDB_20120810.TransactWriteItems" | "DynamoDB_20120810.GetItem" => {
            ("application/x-amz-json-1.0", json!({}))
        }
        // The per-IP rate limit's counter (an unsigned browser form).
        "DynamoDB_20120810.UpdateItem" => (
            "application/x-amz-json-1.0",
            json!({"Attributes": {"hits": {"N": "1"}}}),
        ),
        "DynamoDB_20120810.Query" => (
            "application/x-amz-json-1.0",
            json!({"Count": 0, "Items": [], "ScannedCount": 0}),
        ),
        "AWSEvents.PutEvents" => (
            "application/x-amz-json-1.1",
            json!({"Entries": [{"EventId": "00000000-0000-0000-0000-000000000000"}], "FailedEntryCount": 0}),
        ),
        other => {
            return (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/x-amz-json-1.0")],
                json!({"__type": "UnknownOperationException", "message": other}).to_string(),
            )
                .into_response();
        }
    };
    (
        StatusCode::OK,
        [("content-type", content_type)],
        body.to_string(),
    )
        .into_response()
}

/// What to start and what to send it.
struct Subject {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    event: Vec<u8>,
    /// The HTTP status the answer must carry (HTTP events).
    status: Option<u64>,
}

struct Start {
    ready_ms: f64,
    answered_ms: f64,
    peak_rss_mb: f64,
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn start_once(state: &Arc<StandIn>, subject: &Subject) -> Result<Start, String> {
    let (done, answer) = oneshot::channel();
    if let Ok(mut pending) = state.pending.lock() {
        *pending = Pending {
            event: Some(subject.event.clone()),
            first_poll: None,
            done: Some(done),
        };
    }
    let mut command = tokio::process::Command::new(&subject.program);
    command
        .args(&subject.args)
        .env_clear()
        .envs(subject.env.iter().cloned())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // FIRSTHOUR_BENCH_LOGS=1 shows the functions' logs (to debug a failing start).
    if std::env::var_os("FIRSTHOUR_BENCH_LOGS").is_none() {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    if let Some(dir) = &subject.dir {
        command.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", subject.program.display()))?;
    let pid = child.id().unwrap_or_default();
    let outcome = tokio::time::timeout(Duration::from_secs(30), answer).await;
    let peak = peak_rss_mb(pid);
    let _ = child.kill().await;
    let (at, body) = match outcome {
        Ok(Ok(Outcome::Answered { at, body })) => (at, body),
        Ok(Ok(Outcome::Failed(error))) => {
            return Err(format!("{}: the invocation failed: {error}", subject.name));
        }
        Ok(Err(_)) => return Err(format!("{}: no answer", subject.name)),
        Err(_) => return Err(format!("{}: no answer within 30 s", subject.name)),
    };
    if let Some(expected) = subject.status {
        let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
        if answer["statusCode"].as_u64() != Some(expected) {
            return Err(format!(
                "{}: answered {}, expected status {expected}",
                subject.name,
                String::from_utf8_lossy(&body)
            ));
        }
    }
    let first_poll = state
        .pending
        .lock()
        .ok()
        .and_then(|p| p.first_poll)
        .unwrap_or(at);
    Ok(Start {
        ready_ms: ms(first_poll.saturating_duration_since(started)),
        answered_ms: ms(at.saturating_duration_since(started)),
        peak_rss_mb: peak.ok_or_else(|| format!("{}: no /proc/{pid}/status", subject.name))?,
    })
}

/// The environment a function gets on Lambda (less the secrets' ARNs).
fn lambda_env(addr: SocketAddr, function: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("firsthour-{function}")),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_ENDPOINT_URL", format!("http://{addr}")),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("LANG", "C.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("FIRSTHOUR_TABLE_NAME", "firsthour-leads".into()),
        ("FIRSTHOUR_EVENT_BUS_NAME", "firsthour-leads".into()),
        ("FIRSTHOUR_METRICS_NAMESPACE", "firsthour/bench".into()),
        (
            "FIRSTHOUR_CONFIG_FILE",
            support::shipped_config().display().to_string(),
        ),
        (
            "FIRSTHOUR_FEDERAL_TEAM_EMAILS",
            "federal-sales@example.com".into(),
        ),
        ("FIRSTHOUR_FALLBACK_EMAILS", "sales-ops@example.com".into()),
        ("FIRSTHOUR_SENDER_EMAIL", "firsthour@example.com".into()),
        (
            "FIRSTHOUR_PUBLIC_BASE_URL",
            "https://api.example.com".into(),
        ),
        (
            "FIRSTHOUR_LINK_SIGNING_KEY",
            "bench-link-signing-key-0123456789abcdef0123456789".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if function == "intake" {
        env.push((
            "FIRSTHOUR_TOUCH_API_TOKEN".into(),
            "bench-touch-token-0123456789".into(),
        ));
        if let Some(registry) = support::registry() {
            env.push((
                "FIRSTHOUR_GOV_DOMAINS_FILE".into(),
                registry.display().to_string(),
            ));
        }
    }
    env
}

/// The stored copy a deployed intake reads at cold start: the snapshot a
/// few months on (150 domains registered since, 150 renamed, 50 retired),
/// as the refresh stores it, in DynamoDB's JSON.
fn refreshed_registry_item() -> Value {
    static ITEM: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    ITEM.get_or_init(|| {
        let snapshot = support::registry_file()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let mut rows: Vec<String> = snapshot.lines().skip(1).map(str::to_owned).collect();
        rows.truncate(rows.len().saturating_sub(50));
        for (i, row) in rows.iter_mut().step_by(110).enumerate() {
            row.push_str(&format!(" (renamed {i})"));
        }
        rows.extend((0..150).map(|i| format!("new-{i}.gov,Federal - Executive,New Agency {i}")));
        let download = format!(
            "Domain name,Domain type,Organization name\n{}\n",
            rows.join("\n")
        );
        let fetched = jiff::Timestamp::now();
        let item = firsthour::sector::refresh::check(
            download.as_bytes(),
            &firsthour::sector::GovRegistry::built_in(),
            &Default::default(),
            "https://manage.get.gov/api/v1/get-report/current-full",
            fetched,
        )
        .ok()
        .map(|(stored, _)| {
            let item = firsthour_aws::table::registry::RegistryCopyItem::from(&stored);
            json!({
                "pk": {"S": item.pk}, "sk": {"S": item.sk}, "entity": {"S": item.entity},
                "base": {"S": item.base}, "fetched_at_ms": {"N": item.fetched_at_ms.to_string()},
                "source": {"S": item.source}, "sha256": {"S": item.sha256},
                "rows": {"N": item.rows.to_string()},
                "federal_rows": {"N": item.federal_rows.to_string()},
                "changed": {"S": item.changed}, "removed": {"S": item.removed},
            })
        });
        json!({ "Item": item })
    })
    .clone()
}

/// The intake's environment with `FIRSTHOUR_GOV_DOMAINS_FILE` set to `value`.
fn intake_env_with_registry(addr: SocketAddr, value: String) -> Vec<(String, String)> {
    let mut env = lambda_env(addr, "intake");
    env.retain(|(name, _)| name != "FIRSTHOUR_GOV_DOMAINS_FILE");
    env.push(("FIRSTHOUR_GOV_DOMAINS_FILE".into(), value));
    env
}

fn read_event(relative: &str) -> Result<Vec<u8>, String> {
    let path = support::root().join(relative);
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The intake's first invocation: a JSON lead posted through an HTTP API.
fn lead_event() -> Vec<u8> {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("host", HeaderValue::from_static("api.example.com"));
    let body = br#"{"email":"laura.diaz@gsa.gov","first_name":"Laura","last_name":"Diaz","company":"General Services Administration","message":"Please call me about 40 seats."}"#;
    let uri: http::Uri = "/leads".parse().unwrap_or_default();
    firsthour_local::gateway::http_api_event(
        &http::Method::POST,
        &uri,
        &headers,
        body,
        "198.51.100.7",
    )
    .to_string()
    .into_bytes()
}

pub async fn run(options: &Options) -> Result<(), String> {
    let runs = options.number("runs", 20)?;
    let bin_dir = PathBuf::from(options.text("bin-dir", "target/release"));
    let python = options.text("python", ".venv-bench/bin/python");

    let state = Arc::new(StandIn::default());
    let app = Router::new()
        .route(&format!("{API}/invocation/next"), get(next))
        .route(&format!("{API}/invocation/{{id}}/response"), post(response))
        .route(&format!("{API}/invocation/{{id}}/error"), post(error))
        .route(&format!("{API}/init/error"), post(error))
        .route("/", post(aws))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let binary = |name: &str| -> Result<PathBuf, String> {
        let path = bin_dir.join(name);
        if path.exists() {
            Ok(path)
        } else {
            Err(format!(
                "{} not found: build the release binaries first",
                path.display()
            ))
        }
    };
    let mut subjects = vec![
        Subject {
            name: "intake",
            program: binary("intake")?,
            args: Vec::new(),
            dir: None,
            env: lambda_env(addr, "intake"),
            event: lead_event(),
            status: Some(202),
        },
        Subject {
            name: "federal-router",
            program: binary("federal-router")?,
            args: Vec::new(),
            dir: None,
            env: lambda_env(addr, "federal-router"),
            event: read_event("events/lambda/lead-received-federal.json")?,
            status: None,
        },
        Subject {
            name: "escalation",
            program: binary("escalation")?,
            args: Vec::new(),
            dir: None,
            env: lambda_env(addr, "escalation"),
            event: read_event("events/lambda/scheduled-sweep.json")?,
            status: None,
        },
    ];
    // The same intake reading the registry file at cold start, and with no
    // registry at all: what each copy costs against the built-in one.
    let file = support::registry_file()
        .ok_or("crates/firsthour/data/dotgov.csv not found")?
        .display()
        .to_string();
    for (name, value) in [
        ("intake-registry-file", file.clone()),
        (
            "intake-no-registry",
            firsthour::config::NO_REGISTRY.to_owned(),
        ),
    ] {
        subjects.push(Subject {
            name,
            program: binary("intake")?,
            args: Vec::new(),
            dir: None,
            env: intake_env_with_registry(addr, value),
            event: lead_event(),
            status: Some(202),
        });
    }
    // As the template deploys it: the built-in snapshot, then the refreshed
    // copy read from the table at cold start.
    let mut env = lambda_env(addr, "intake");
    env.retain(|(name, _)| name != "FIRSTHOUR_GOV_DOMAINS_FILE");
    env.push(("FIRSTHOUR_GOV_REGISTRY_REFRESH".into(), "on".into()));
    subjects.push(Subject {
        name: "intake-refreshed",
        program: binary("intake")?,
        args: Vec::new(),
        dir: None,
        env,
        event: lead_event(),
        status: Some(202),
    });
    subjects.push(Subject {
        name: ECHO,
        program: binary(ECHO)?,
        args: Vec::new(),
        dir: None,
        env: lambda_env(addr, "echo"),
        event: lead_event(),
        status: None,
    });
    let python_path = Path::new(&python);
    let with_python = python_path.exists();
    if with_python {
        // Python has no built-in copy: it reads the same registry file.
        let mut env = intake_env_with_registry(addr, file.clone());
        env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
        subjects.push(Subject {
            name: "python-peer",
            // Absolute, but not resolved: the venv's python is a symlink.
            program: std::env::current_dir()
                .map_err(|e| e.to_string())?
                .join(python_path),
            args: vec!["-m".into(), "awslambdaric".into(), "handler.handle".into()],
            dir: Some(support::root().join("bench/python")),
            env,
            event: lead_event(),
            status: Some(202),
        });
    } else {
        println!("cold start: {python} not found, no Python peer (scripts/bench.sh installs it)");
    }

    // One unmeasured start of each warms the page cache.
    for subject in &subjects {
        start_once(&state, subject).await?;
    }
    let mut starts: Vec<Vec<Start>> = subjects.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, subject) in subjects.iter().enumerate() {
            starts[i].push(start_once(&state, subject).await?);
        }
    }
    server.abort();

    let mut figures = serde_json::Map::new();
    for (subject, starts) in subjects.iter().zip(&starts) {
        let pick = |f: fn(&Start) -> f64| median(&starts.iter().map(f).collect::<Vec<_>>());
        let (ready, answered, rss) = (
            pick(|s| s.ready_ms),
            pick(|s| s.answered_ms),
            pick(|s| s.peak_rss_mb),
        );
        let max_rss = starts.iter().map(|s| s.peak_rss_mb).fold(0.0, f64::max);
        println!(
            "cold start {:<20} median over {runs}: init {ready:6.1} ms, first invocation answered {answered:6.1} ms, peak RSS {rss:5.1} MB (max {max_rss:.1})",
            subject.name
        );
        figures.insert(
            subject.name.to_owned(),
            json!({"init_ms": ready, "answered_ms": answered, "peak_rss_mb": rss, "max_peak_rss_mb": max_rss, "runs": runs}),
        );
    }
    let measured = figures.clone();
    let answered = |name: &str| measured[name]["answered_ms"].as_f64().unwrap_or(f64::NAN);
    let rss = |name: &str| measured[name]["peak_rss_mb"].as_f64().unwrap_or(f64::NAN);
    // Each start as a multiple of the echo floor's.
    let mut floor_ratios = serde_json::Map::new();
    for subject in subjects.iter().filter(|s| s.name != ECHO) {
        let (time, memory) = (
            answered(subject.name) / answered(ECHO),
            rss(subject.name) / rss(ECHO),
        );
        println!(
            "cold start {:<20} {time:5.2}x the echo floor's time, {memory:5.2}x its peak RSS",
            subject.name
        );
        floor_ratios.insert(
            subject.name.to_owned(),
            json!({"time": time, "rss": memory}),
        );
    }
    // The built-in registry's cost, the budget being 1 ms and 2 MB.
    let (cost_ms, cost_mb) = (
        answered("intake") - answered("intake-no-registry"),
        rss("intake") - rss("intake-no-registry"),
    );
    println!(
        "cold start: the built-in .gov registry costs {cost_ms:+.2} ms and {cost_mb:+.2} MB against no registry (budget 1 ms, 2 MB); reading the file costs {:+.2} ms and {:+.2} MB",
        answered("intake-registry-file") - answered("intake-no-registry"),
        rss("intake-registry-file") - rss("intake-no-registry"),
    );
    // As deployed: one GetItem for the refreshed copy and its changes applied.
    let (refreshed_ms, refreshed_mb) = (
        answered("intake-refreshed") - answered("intake"),
        rss("intake-refreshed") - rss("intake"),
    );
    println!(
        "cold start: reading the refreshed registry copy from the table costs {refreshed_ms:+.2} ms and {refreshed_mb:+.2} MB against the built-in snapshot alone (its DynamoDB round trip answered at once here)"
    );
    figures.insert(
        "refreshed_registry_cost".into(),
        json!({"ms": refreshed_ms, "mb": refreshed_mb}),
    );
    figures.insert("floor_ratio".into(), Value::Object(floor_ratios));
    figures.insert(
        "built_in_registry_cost".into(),
        json!({"ms": cost_ms, "mb": cost_mb}),
    );
    if with_python {
        let time_ratio = answered("python-peer") / answered("intake");
        let rss_ratio = rss("python-peer") / rss("intake");
        println!(
            "cold start: the Python peer (boto3 + awslambdaric) takes {time_ratio:.1}x the intake's time and {rss_ratio:.1}x its memory"
        );
        figures.insert(
            "python_ratio".into(),
            json!({"time": time_ratio, "rss": rss_ratio}),
        );
    }
    options.write_out(&Value::Object(figures))
}
