//! A stand-in for the Lambda Runtime API, so the real function binaries run
//! locally exactly as on Lambda: each process long-polls `invocation/next`,
//! handles the event, and posts its response or error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

const API: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (its JSON error body).
    #[error("function error: {0}")]
    Function(String),
    #[error("function did not answer within {0:?}")]
    Timeout(Duration),
    #[error("function host stopped")]
    Stopped,
}

/// Where a function's answer goes.
type Reply = oneshot::Sender<Result<Vec<u8>, InvokeError>>;

struct Invocation {
    event: Vec<u8>,
    reply: Reply,
}

struct HostState {
    function_name: String,
    timeout: Duration,
    queue: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, Reply>>,
}

/// How to start a function's processes.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub binary: std::path::PathBuf,
    pub env: Vec<(String, String)>,
    /// Concurrent execution environments (processes).
    pub instances: usize,
    pub timeout: Duration,
    /// Forward the function's logs to this process's stderr.
    pub show_logs: bool,
    /// Or append them to this file (tests read the logs back).
    pub log_file: Option<std::path::PathBuf>,
}

/// One function: its Runtime API endpoint and its running processes.
pub struct FunctionHost {
    name: String,
    sender: mpsc::UnboundedSender<Invocation>,
    timeout: Duration,
    addr: SocketAddr,
    children: Arc<std::sync::Mutex<Vec<Child>>>,
    /// Processes that exited on their own (a crash: `panic = "abort"`).
    deaths: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
    supervisor: tokio::task::JoinHandle<()>,
}

impl FunctionHost {
    /// Serves a Runtime API on a free loopback port and starts the processes.
    pub async fn start(spec: FunctionSpec) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(HostState {
            function_name: spec.name.clone(),
            timeout: spec.timeout,
            queue: Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next_invocation))
            .route(
                &format!("{API}/invocation/{{id}}/response"),
                post(invocation_response),
            )
            .route(
                &format!("{API}/invocation/{{id}}/error"),
                post(invocation_error),
            )
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut children = Vec::with_capacity(spec.instances);
        for _ in 0..spec.instances.max(1) {
            children.push(spawn_process(&spec, addr)?);
        }
        let children = Arc::new(std::sync::Mutex::new(children));
        let deaths = Arc::new(AtomicUsize::new(0));
        let supervisor = tokio::spawn(supervise(
            spec.clone(),
            addr,
            Arc::clone(&children),
            Arc::clone(&deaths),
        ));
        Ok(Self {
            name: spec.name,
            sender,
            timeout: spec.timeout,
            addr,
            children,
            deaths,
            server,
            supervisor,
        })
    }

    /// How many of this function's processes died (and were replaced) so far.
    pub fn process_deaths(&self) -> usize {
        self.deaths.load(Ordering::SeqCst)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value of this host.
    pub fn runtime_api(&self) -> SocketAddr {
        self.addr
    }

    /// Invokes the function with a JSON event and waits for its answer.
    pub async fn invoke(&self, event: &serde_json::Value) -> Result<Vec<u8>, InvokeError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Invocation {
                event: event.to_string().into_bytes(),
                reply,
            })
            .map_err(|_| InvokeError::Stopped)?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(InvokeError::Stopped),
            Err(_) => Err(InvokeError::Timeout(self.timeout)),
        }
    }

    /// Stops the processes and the endpoint.
    pub async fn stop(self) {
        self.supervisor.abort();
        let children = match self.children.lock() {
            Ok(mut children) => std::mem::take(&mut *children),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for mut child in children {
            let _ = child.kill().await;
        }
        self.server.abort();
    }
}

/// Stands in for Lambda replacing a crashed execution environment: a
/// process that exits is counted and a new one started in its place.
async fn supervise(
    spec: FunctionSpec,
    addr: SocketAddr,
    children: Arc<std::sync::Mutex<Vec<Child>>>,
    deaths: Arc<AtomicUsize>,
) {
    let mut interval = tokio::time::interval(Duration::from_millis(200));
    loop {
        interval.tick().await;
        let Ok(mut children) = children.lock() else {
            return;
        };
        for child in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                deaths.fetch_add(1, Ordering::SeqCst);
                eprintln!(
                    "[{}] process exited ({status}); starting a new one",
                    spec.name
                );
                match spawn_process(&spec, addr) {
                    Ok(new) => *child = new,
                    Err(err) => eprintln!("[{}] cannot restart: {err}", spec.name),
                }
            }
        }
    }
}

fn spawn_process(spec: &FunctionSpec, addr: SocketAddr) -> std::io::Result<Child> {
    if !Path::new(&spec.binary).exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} not found: build it first (make build, or cargo build --workspace --bins --profile local)",
                spec.binary.display()
            ),
        ));
    }
    let mut command = Command::new(&spec.binary);
    command
        .envs(spec.env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(path) = &spec.log_file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        command.stdout(file.try_clone()?).stderr(file);
    } else if !spec.show_logs {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    command.spawn()
}

async fn next_invocation(State(state): State<Arc<HostState>>) -> Response {
    let invocation = {
        let mut queue = state.queue.lock().await;
        queue.recv().await
    };
    let Some(invocation) = invocation else {
        return StatusCode::GONE.into_response();
    };
    let request_id = ulid::Ulid::new().to_string().to_lowercase();
    state
        .in_flight
        .lock()
        .await
        .insert(request_id.clone(), invocation.reply);
    let deadline = time::OffsetDateTime::now_utc() + state.timeout;
    let deadline_ms = deadline.unix_timestamp_nanos() / 1_000_000;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", request_id);
    put("lambda-runtime-deadline-ms", deadline_ms.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            state.function_name
        ),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    put("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.event).into_response()
}

async fn finish(state: &HostState, id: &str, result: Result<Vec<u8>, InvokeError>) -> StatusCode {
    match state.in_flight.lock().await.remove(id) {
        Some(reply) => {
            let _ = reply.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn invocation_response(
    State(state): State<Arc<HostState>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    finish(&state, &id, Ok(body.to_vec())).await
}

async fn invocation_error(
    State(state): State<Arc<HostState>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    finish(&state, &id, Err(InvokeError::Function(text))).await
}

async fn init_error(State(state): State<Arc<HostState>>, body: Bytes) -> StatusCode {
    eprintln!(
        "[{}] init error: {}",
        state.function_name,
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}
