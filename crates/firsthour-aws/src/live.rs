//! Rules changed without a redeploy: AWS AppConfig, read through its Lambda
//! extension's local HTTP interface
//! (`GET http://localhost:{AWS_APPCONFIG_EXTENSION_HTTP_PORT or 2772}{FIRSTHOUR_APPCONFIG_PATH}`,
//! the path `/applications/A/environments/E/configurations/P`; the body is
//! the deployed rules file, the `Configuration-Version` header its version).
//!
//! A function built at cold start from the layer's rules file checks the
//! extension at most every `FIRSTHOUR_RULES_REFRESH_SECONDS` (15 by
//! default; the extension itself polls AppConfig every
//! `AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS`, 15 in the template), so
//! a deployment reaches it within a minute, without a cold start. A new
//! version is written to a file and the function's wiring is built again
//! from it with every check it passes at cold start; a version that fails
//! them (AppConfig's validator refuses such a file before it is deployed)
//! is logged and skipped, and the last valid rules stay, as they do when
//! the extension cannot be reached. Without `FIRSTHOUR_APPCONFIG_PATH` the
//! layer's file is all there is.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use firsthour::config::{ConfigError, EnvReader, vars};

use crate::FromEnv;

/// Where the extension answers, unless `AWS_APPCONFIG_EXTENSION_HTTP_PORT` says otherwise.
pub const EXTENSION_PORT: u16 = 2772;

/// A fetch gets this long (the extension answers from its cache).
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// The deployed rules file, when AppConfig is in use.
#[derive(Debug, Clone)]
pub struct RulesSource {
    url: String,
    every: Duration,
    client: reqwest::Client,
}

/// What a fetch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The version deployed and its rules file.
    Rules { version: String, text: String },
    /// Nothing deployed yet (the layer's file stays).
    NothingDeployed,
}

impl RulesSource {
    /// From the environment: `None` without `FIRSTHOUR_APPCONFIG_PATH`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(path) = env.optional(vars::APPCONFIG_PATH) else {
            return Ok(None);
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let shaped = segments.len() == 6
            && segments[0] == "applications"
            && segments[2] == "environments"
            && segments[4] == "configurations"
            && segments.iter().all(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !shaped {
            return Err(ConfigError::Invalid {
                var: vars::APPCONFIG_PATH,
                problem: "expected /applications/APP/environments/ENV/configurations/PROFILE"
                    .into(),
            });
        }
        let port = env.number(
            vars::APPCONFIG_EXTENSION_HTTP_PORT,
            u64::from(EXTENSION_PORT),
            1..=65535,
        )?;
        let every = Duration::from_secs(env.number(vars::RULES_REFRESH_SECONDS, 15, 1..=3600)?);
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|err| ConfigError::Invalid {
                var: vars::APPCONFIG_PATH,
                problem: format!("no HTTP client: {err}"),
            })?;
        Ok(Some(Self {
            url: format!("http://localhost:{port}/{}", segments.join("/")),
            every,
            client,
        }))
    }

    /// The deployed version, as the extension serves it.
    pub async fn fetch(&self) -> Result<Fetched, String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|err| format!("the AppConfig extension did not answer: {err}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Fetched::NothingDeployed);
        }
        if !status.is_success() {
            return Err(format!("the AppConfig extension answered {status}"));
        }
        let version = response
            .headers()
            .get("configuration-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| format!("the AppConfig extension's answer broke off: {err}"))?;
        if bytes.is_empty() {
            return Ok(Fetched::NothingDeployed);
        }
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| "the deployed rules are not UTF-8".to_owned())?;
        Ok(Fetched::Rules { version, text })
    }
}

/// A function's wiring that follows the deployed rules.
pub struct Live<T> {
    current: RwLock<Arc<T>>,
    source: Option<RulesSource>,
    sdk: SdkConfig,
    /// The environment as resolved at cold start (secrets included).
    env: HashMap<String, String>,
    state: tokio::sync::Mutex<Checks>,
}

struct Checks {
    next: Instant,
    /// The version in use, or refused: not parsed again.
    seen: Option<String>,
    /// The rules file the function started with: a deployed version with
    /// the same text needs no rebuild.
    started_with: Option<String>,
}

impl<T: FromEnv> Live<T> {
    pub fn new(
        app: T,
        source: Option<RulesSource>,
        sdk: SdkConfig,
        env: HashMap<String, String>,
    ) -> Self {
        let started_with = env
            .get(vars::CONFIG_FILE)
            .and_then(|path| std::fs::read_to_string(path).ok());
        Self {
            current: RwLock::new(Arc::new(app)),
            source,
            sdk,
            env,
            state: tokio::sync::Mutex::new(Checks {
                // The first invocation looks: a deployed version beats the layer's file.
                next: Instant::now(),
                seen: None,
                started_with,
            }),
        }
    }

    /// The wiring to handle an event with: the deployed rules' when a new
    /// valid version has come since the last look.
    pub async fn get(&self) -> Arc<T> {
        if let Some(source) = &self.source {
            let mut checks = self.state.lock().await;
            if Instant::now() >= checks.next {
                checks.next = Instant::now() + source.every;
                self.refresh(source, &mut checks).await;
            }
        }
        self.current
            .read()
            .map(|app| Arc::clone(&app))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    async fn refresh(&self, source: &RulesSource, checks: &mut Checks) {
        let (version, text) = match source.fetch().await {
            Ok(Fetched::Rules { version, text }) => (version, text),
            Ok(Fetched::NothingDeployed) => return,
            Err(err) => {
                tracing::warn!(error = %err, "deployed rules not read; the last valid rules stay");
                return;
            }
        };
        let seen = if version.is_empty() {
            format!("sha256:{}", firsthour::dedup::sha256_hex(text.as_bytes()))
        } else {
            version.clone()
        };
        if checks.seen.as_deref() == Some(seen.as_str()) {
            return;
        }
        checks.seen = Some(seen);
        if checks
            .started_with
            .take()
            .is_some_and(|start| start == text)
        {
            // What the function started with: nothing to build.
            return;
        }
        match self.build(&text).await {
            Ok(app) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Arc::new(app);
                }
                tracing::info!(rules_version = %version, "deployed rules in use");
            }
            Err(err) => {
                tracing::error!(rules_version = %version, error = %err, "deployed rules refused; the last valid rules stay");
            }
        }
    }

    /// The wiring built again, as at cold start, from `text`.
    async fn build(&self, text: &str) -> Result<T, ConfigError> {
        let file = std::env::temp_dir().join(format!(
            "firsthour-rules-{}.toml",
            firsthour::dedup::sha256_hex(text.as_bytes())
        ));
        std::fs::write(&file, text).map_err(|err| ConfigError::File {
            path: file.display().to_string(),
            message: err.to_string(),
        })?;
        let path = file.display().to_string();
        let env = &self.env;
        let reader = EnvReader::new(|key: &str| {
            if key == vars::CONFIG_FILE {
                Some(path.clone())
            } else {
                env.get(key).cloned()
            }
        });
        T::from_env(&reader, &self.sdk).await
    }
}
