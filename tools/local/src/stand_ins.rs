//! Local stand-ins for Slack, Microsoft Teams and outgoing-webhook receivers.
//!
//! A thin launcher for `tools/local/stand_ins.py`, run from the repository's
//! venv (`make venv` installs the vendors' packages it validates with:
//! `slack_sdk`, Microsoft's Adaptive Card schema, `standardwebhooks`), plus
//! typed helpers over its control API. The program binds a free port on
//! 127.0.0.1 and announces it on its first stdout line
//! (`listening 127.0.0.1:PORT`); [`StandIns`] kills it when dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), firsthour_local::stand_ins::StandInError> {
//! use firsthour_local::stand_ins::{StandInOptions, StandIns};
//! let mut opts = StandInOptions::in_repo(std::path::Path::new("."));
//! opts.slack_token = "xoxb-local".into();
//! opts.slack_channels = vec!["C0FEDERAL".into()];
//! let stand_ins = StandIns::start(&opts).await?;
//! println!("Slack Web API at {}", stand_ins.slack_api_url());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long the program may take to import its packages and bind.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the stand-ins could not be started or asked something.
#[derive(Debug, thiserror::Error)]
pub enum StandInError {
    #[error("could not start {python}: {source} (run `make venv`)")]
    Spawn {
        python: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the stand-ins exited before announcing their port (see their stderr; run `make venv`)"
    )]
    Exited,
    #[error("the stand-ins did not announce their port within {0:?}")]
    Timeout(Duration),
    #[error("unexpected first line from the stand-ins: {0:?}")]
    Announcement(String),
    #[error("reading the stand-ins' stdout: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: {source}")]
    Http {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{path} answered HTTP {status}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
}

/// What the stand-ins accept: Slack tokens, channels and users, the webhook
/// paths and names, and where a simulated click is sent.
#[derive(Debug, Clone, Default)]
pub struct StandInOptions {
    /// The venv's interpreter (`.venv/bin/python`).
    pub python: PathBuf,
    /// `tools/local/stand_ins.py`.
    pub script: PathBuf,
    /// The bot token the Web API accepts (empty: none is accepted).
    pub slack_token: String,
    /// Signs the `block_actions` payloads that clicks send.
    pub slack_signing_secret: String,
    /// Channel ids, or `ID=name`.
    pub slack_channels: Vec<String>,
    /// `(user id, email)`.
    pub slack_users: Vec<(String, String)>,
    /// `("T000/B000/XXXX", name)`: incoming webhooks at `/services/T000/B000/XXXX`.
    pub slack_webhooks: Vec<(String, String)>,
    /// Teams Workflows webhook names (`/teams/<name>`).
    pub teams: Vec<String>,
    /// `(name, "whsec_…")`: Standard Webhooks receivers at `/hooks/<name>`.
    pub webhooks: Vec<(String, String)>,
    /// Receivers that always answer 503 (`/hooks/<name>`).
    pub failing_hooks: Vec<String>,
    /// The app's interactivity endpoint (or later: [`StandIns::set_interactivity_url`]).
    pub interactivity_url: Option<String>,
    /// Where to listen (0 picks a free port; `make run` uses a fixed one
    /// that the example rules' webhook URLs name).
    pub port: u16,
}

impl StandInOptions {
    /// The venv's Python and the script under the repository root, nothing configured.
    pub fn in_repo(root: &Path) -> Self {
        Self {
            python: root.join(".venv/bin/python"),
            script: root.join("tools/local/stand_ins.py"),
            ..Self::default()
        }
    }

    /// The program's arguments (after the script path).
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--exit-with-stdin".into(),
        ];
        let mut push = |flag: &str, value: String| {
            args.push(flag.into());
            args.push(value);
        };
        if !self.slack_token.is_empty() {
            push("--slack-token", self.slack_token.clone());
        }
        push("--slack-signing-secret", self.slack_signing_secret.clone());
        for channel in &self.slack_channels {
            push("--slack-channel", channel.clone());
        }
        for (id, email) in &self.slack_users {
            push("--slack-user", format!("{id}={email}"));
        }
        for (path, name) in &self.slack_webhooks {
            push(
                "--slack-webhook",
                format!("{}={name}", path.trim_matches('/')),
            );
        }
        for name in &self.teams {
            push("--teams", name.clone());
        }
        for (name, secret) in &self.webhooks {
            push("--webhook", format!("{name}={secret}"));
        }
        for name in &self.failing_hooks {
            push("--failing-hook", name.clone());
        }
        if let Some(url) = &self.interactivity_url {
            push("--interactivity-url", url.clone());
        }
        args
    }
}

/// The running stand-ins; dropping this kills the process.
#[derive(Debug)]
pub struct StandIns {
    addr: SocketAddr,
    /// Held: started with `kill_on_drop`, so dropping it kills the process.
    _child: Child,
    /// Held open: the program exits when this pipe closes (should we die without Drop).
    _stdin: Option<ChildStdin>,
    http: reqwest::Client,
}

impl StandIns {
    /// Starts the program and waits for the port it bound.
    pub async fn start(opts: &StandInOptions) -> Result<Self, StandInError> {
        let mut child = Command::new(&opts.python)
            .arg(&opts.script)
            .args(opts.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StandInError::Spawn {
                python: opts.python.clone(),
                source,
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or(StandInError::Exited)?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let read = tokio::time::timeout(STARTUP_TIMEOUT, lines.read_line(&mut first))
            .await
            .map_err(|_| StandInError::Timeout(STARTUP_TIMEOUT))??;
        if read == 0 {
            return Err(StandInError::Exited);
        }
        let addr = parse_announcement(&first)?;
        // Nothing more is expected on stdout; drain it so the program can never block on it.
        tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink).await;
        });
        Ok(Self {
            addr,
            _child: child,
            _stdin: stdin,
            http: reqwest::Client::new(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (also the human view).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Slack Web API base, `http://127.0.0.1:PORT/api` (then `/chat.postMessage`, …).
    pub fn slack_api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// A Teams Workflows webhook.
    pub fn teams_url(&self, name: &str) -> String {
        format!("{}/teams/{name}", self.base_url())
    }

    /// A Standard Webhooks receiver.
    pub fn hook_url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base_url())
    }

    /// A Slack incoming webhook, from its `T000/B000/XXXX` path.
    pub fn slack_webhook_url(&self, path: &str) -> String {
        format!("{}/services/{}", self.base_url(), path.trim_matches('/'))
    }

    /// `{"messages": [...], "ephemerals": [...], "responses": [...], "clicks": [...]}`:
    /// every Slack and Teams message with its updates, response_url posts and clicks.
    pub async fn messages(&self) -> Result<Value, StandInError> {
        self.get("/_standin/messages").await
    }

    /// Every webhook delivery: name, headers, body, verified, error, status, time.
    pub async fn hooks(&self) -> Result<Value, StandInError> {
        Ok(field(self.get("/_standin/hooks").await?, "hooks"))
    }

    /// Every Slack API call: method, time (Unix seconds), status, rate_limited, …
    pub async fn calls(&self) -> Result<Value, StandInError> {
        Ok(field(self.get("/_standin/calls").await?, "calls"))
    }

    /// Clicks the `firsthour_claim` button of message `ts` in `channel` as `user`:
    /// the app's HTTP status and body.
    pub async fn click(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
    ) -> Result<(u16, String), StandInError> {
        self.click_action(channel, ts, user, "firsthour_claim")
            .await
    }

    /// Clicks the button with `action_id`.
    pub async fn click_action(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
        action_id: &str,
    ) -> Result<(u16, String), StandInError> {
        let answer = self
            .post(
                "/_standin/click",
                json!({"channel": channel, "ts": ts, "user": user, "action_id": action_id}),
            )
            .await?;
        let status = answer["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok());
        let body = answer["body"].as_str().unwrap_or_default().to_owned();
        Ok((status.unwrap_or(0), body))
    }

    /// The next `count` calls to `method` answer 429 with `Retry-After: retry_after`.
    pub async fn rate_limit(
        &self,
        method: &str,
        count: u32,
        retry_after: u64,
    ) -> Result<(), StandInError> {
        self.post(
            "/_standin/ratelimit",
            json!({"method": method, "count": count, "retry_after": retry_after}),
        )
        .await
        .map(drop)
    }

    /// Where clicks are sent, when it is known only after the stand-ins started.
    pub async fn set_interactivity_url(&self, url: &str) -> Result<(), StandInError> {
        self.post("/_standin/config", json!({"interactivity_url": url}))
            .await
            .map(drop)
    }

    /// Forgets every message, call, delivery and armed rate limit.
    pub async fn reset(&self) -> Result<(), StandInError> {
        self.post("/_standin/reset", json!({})).await.map(drop)
    }

    async fn get(&self, path: &str) -> Result<Value, StandInError> {
        let request = self.http.get(format!("{}{path}", self.base_url()));
        self.send(path, request).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, StandInError> {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url()))
            .json(&body);
        self.send(path, request).await
    }

    async fn send(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, StandInError> {
        let http = |source| StandInError::Http {
            path: path.to_owned(),
            source,
        };
        let response = request.send().await.map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(StandInError::Status {
                path: path.to_owned(),
                status: status.as_u16(),
                body: response.text().await.unwrap_or_default(),
            });
        }
        response.json().await.map_err(http)
    }
}

/// `value[name]`, moved out (Null when absent).
fn field(mut value: Value, name: &str) -> Value {
    value
        .as_object_mut()
        .and_then(|object| object.remove(name))
        .unwrap_or(Value::Null)
}

/// `listening 127.0.0.1:PORT` → the address.
fn parse_announcement(line: &str) -> Result<SocketAddr, StandInError> {
    line.trim()
        .strip_prefix("listening ")
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| StandInError::Announcement(line.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_announced_address() {
        let addr = parse_announcement("listening 127.0.0.1:4321\n").expect("an address");
        assert_eq!(addr.port(), 4321);
        assert!(parse_announcement("Traceback (most recent call last):").is_err());
    }

    #[test]
    fn passes_every_option_as_an_argument() {
        let opts = StandInOptions {
            slack_token: "xoxb-1".into(),
            slack_users: vec![("U1".into(), "a@example.com".into())],
            slack_webhooks: vec![("/T0/B0/X0/".into(), "alerts".into())],
            webhooks: vec![("crm".into(), "whsec_abc".into())],
            interactivity_url: Some("http://127.0.0.1:9/slack".into()),
            ..StandInOptions::in_repo(Path::new("/repo"))
        };
        let args = opts.args().join(" ");
        assert!(args.contains("--slack-token xoxb-1"));
        assert!(args.contains("--slack-user U1=a@example.com"));
        assert!(args.contains("--slack-webhook T0/B0/X0=alerts"));
        assert!(args.contains("--webhook crm=whsec_abc"));
        assert!(args.contains("--interactivity-url http://127.0.0.1:9/slack"));
        assert_eq!(opts.python, Path::new("/repo/.venv/bin/python"));
    }
}
