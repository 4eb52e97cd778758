//! Rules changed without a redeploy: AWS AppConfig, read through its Lambda
//! extension's local HTTP interface
//! (`GET http://localhost:{AWS_APPCONFIG_EXTENSION_HTTP_PORT or 2772}{FIRSTHOUR_APPCONFIG_PATH}`,
//! the path `/applications/A/environments/E/configurations/P`; the body is
//! the deployed rules file, the `Configuration-Version` header its version).
//!
//! A function's wiring is built once at cold start, from the deployed
//! version when one is (from the layer's rules file when nothing is
//! deployed, the extension cannot be read or the version is refused); it
//! then checks the extension at most every `FIRSTHOUR_RULES_REFRESH_SECONDS` (15 by
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
        // Plain HTTP to localhost, never TLS: no roots, so building the
        // client does not read and parse the system's certificate store
        // (2 to 4 ms of every cold start, as in the SDK's client, lib.rs).
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .no_proxy()
            .tls_certs_only(std::iter::empty())
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
    /// The wiring at cold start. With a rules source, the deployed version
    /// is looked at first and the wiring built once, from it: the first
    /// event is not the one to fetch the rules and build everything again
    /// (for the intake, the registry read and new clients). The layer's
    /// rules file is built instead when nothing is deployed, when the
    /// deployed version is its text, when the extension cannot be read
    /// (then the first event looks again) or when the deployed version is
    /// refused (logged, and not parsed again). The next look is a full
    /// interval later.
    pub async fn start(
        source: Option<RulesSource>,
        sdk: SdkConfig,
        env: HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut checks = Checks {
            next: Instant::now(),
            seen: None,
            started_with: layer_rules(&env),
        };
        let mut deployed = None;
        if let Some(source) = &source {
            match source.fetch().await {
                Ok(Fetched::Rules { version, text }) => {
                    checks.next = Instant::now() + source.every;
                    checks.seen = Some(seen_as(&version, &text));
                    if checks.started_with.as_deref() != Some(text.as_str()) {
                        match build_from(&text, &env, &sdk).await {
                            Ok(app) => {
                                tracing::info!(rules_version = %version, "deployed rules in use");
                                // A later version with the layer's text is a change.
                                checks.started_with = None;
                                deployed = Some(app);
                            }
                            Err(err) => {
                                tracing::error!(rules_version = %version, error = %err, "deployed rules refused; the layer's rules file is used");
                            }
                        }
                    }
                }
                Ok(Fetched::NothingDeployed) => checks.next = Instant::now() + source.every,
                Err(err) => {
                    // `next` stays now: the first event looks again.
                    tracing::warn!(error = %err, "deployed rules not read; the layer's rules file is used");
                }
            }
        }
        let app = match deployed {
            Some(app) => app,
            None => {
                let reader = EnvReader::new(|key: &str| env.get(key).cloned());
                T::from_env(&reader, &sdk).await?
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(app)),
            source,
            sdk,
            env,
            state: tokio::sync::Mutex::new(checks),
        })
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
        let seen = seen_as(&version, &text);
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
        match build_from(&text, &self.env, &self.sdk).await {
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
}

/// The layer's rules file, as the function reads it at cold start.
fn layer_rules(env: &HashMap<String, String>) -> Option<String> {
    env.get(vars::CONFIG_FILE)
        .and_then(|path| std::fs::read_to_string(path).ok())
}

/// What a deployed version is known by: its version, or its text's hash
/// when the extension names none.
fn seen_as(version: &str, text: &str) -> String {
    if version.is_empty() {
        format!("sha256:{}", firsthour::dedup::sha256_hex(text.as_bytes()))
    } else {
        version.to_owned()
    }
}

/// The wiring built, as at cold start, from the rules file `text` (written
/// to a file of its own) and the function's environment.
async fn build_from<T: FromEnv>(
    text: &str,
    env: &HashMap<String, String>,
    sdk: &SdkConfig,
) -> Result<T, ConfigError> {
    let file = std::env::temp_dir().join(format!(
        "firsthour-rules-{}.toml",
        firsthour::dedup::sha256_hex(text.as_bytes())
    ));
    std::fs::write(&file, text).map_err(|err| ConfigError::File {
        path: file.display().to_string(),
        message: err.to_string(),
    })?;
    let path = file.display().to_string();
    let reader = EnvReader::new(|key: &str| {
        if key == vars::CONFIG_FILE {
            Some(path.clone())
        } else {
            env.get(key).cloned()
        }
    });
    T::from_env(&reader, sdk).await
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A wiring that is its rules file's text; a file saying "broken" is refused.
    #[derive(Debug)]
    struct Rules(String);

    static BUILDS: AtomicUsize = AtomicUsize::new(0);

    impl FromEnv for Rules {
        async fn from_env<F: Fn(&str) -> Option<String>>(
            env: &EnvReader<F>,
            _sdk: &SdkConfig,
        ) -> Result<Self, ConfigError> {
            BUILDS.fetch_add(1, Ordering::SeqCst);
            let path = env.required(vars::CONFIG_FILE)?;
            let text = std::fs::read_to_string(&path).map_err(|err| ConfigError::File {
                path,
                message: err.to_string(),
            })?;
            if text.contains("broken") {
                return Err(ConfigError::Invalid {
                    var: vars::CONFIG_FILE,
                    problem: "broken".into(),
                });
            }
            Ok(Self(text))
        }
    }

    /// The extension's stand-in: every request answered `status` with
    /// `body` as version 7; how many it answered.
    fn extension(status: u16, body: &'static str) -> (u16, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("addr").port();
        let asked = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&asked);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nconfiguration-version: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        (port, asked)
    }

    fn source(port: u16) -> RulesSource {
        let env = [
            (
                vars::APPCONFIG_PATH,
                "/applications/a/environments/e/configurations/p".to_owned(),
            ),
            (vars::APPCONFIG_EXTENSION_HTTP_PORT, port.to_string()),
        ];
        let reader =
            EnvReader::new(|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
        RulesSource::from_env(&reader)
            .expect("valid settings")
            .expect("AppConfig in use")
    }

    /// The function's environment with `layer` as the layer's rules file.
    fn env(layer: &str) -> HashMap<String, String> {
        let file = std::env::temp_dir().join(format!(
            "firsthour-layer-{}.toml",
            firsthour::dedup::sha256_hex(layer.as_bytes())
        ));
        std::fs::write(&file, layer).expect("written");
        HashMap::from([(vars::CONFIG_FILE.to_owned(), file.display().to_string())])
    }

    async fn started(
        source: Option<RulesSource>,
        layer: &str,
    ) -> (Result<Live<Rules>, ConfigError>, usize) {
        let before = BUILDS.load(Ordering::SeqCst);
        let live = Live::start(source, SdkConfig::builder().build(), env(layer)).await;
        (live, BUILDS.load(Ordering::SeqCst) - before)
    }

    // One test: the builds are counted across the scenarios.
    #[tokio::test]
    async fn the_cold_start_builds_the_wiring_once_from_the_deployed_rules_or_the_layers() {
        // A deployed version unlike the layer's file: built from it, once,
        // and the first event does not look again.
        let (port, asked) = extension(200, "deployed rules");
        let (live, builds) = started(Some(source(port)), "layer rules").await;
        let live = live.expect("started");
        assert_eq!(builds, 1);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert_eq!(live.get().await.0, "deployed rules");
        assert_eq!(
            asked.load(Ordering::SeqCst),
            1,
            "the next look is an interval away"
        );

        // The deployed version is the layer's file: built from the layer's.
        let (port, _) = extension(200, "same rules");
        let (live, builds) = started(Some(source(port)), "same rules").await;
        assert_eq!(builds, 1);
        assert_eq!(live.expect("started").get().await.0, "same rules");

        // Nothing deployed: the layer's file.
        let (port, asked) = extension(404, "");
        let (live, builds) = started(Some(source(port)), "layer rules").await;
        let live = live.expect("started");
        assert_eq!(builds, 1);
        assert_eq!(live.get().await.0, "layer rules");
        assert_eq!(asked.load(Ordering::SeqCst), 1);

        // A refused version: the layer's file, and the version not parsed again.
        let (port, asked) = extension(200, "broken rules");
        let (live, builds) = started(Some(source(port)), "layer rules").await;
        let live = live.expect("started");
        assert_eq!(builds, 2, "the refused version, then the layer's file");
        assert_eq!(live.get().await.0, "layer rules");
        assert_eq!(asked.load(Ordering::SeqCst), 1);

        // The extension not answering: the layer's file; the first event looks again.
        let (port, asked) = extension(500, "");
        let (live, builds) = started(Some(source(port)), "layer rules").await;
        let live = live.expect("started");
        assert_eq!(builds, 1);
        assert_eq!(live.get().await.0, "layer rules");
        assert_eq!(asked.load(Ordering::SeqCst), 2);

        // Without AppConfig: the layer's file.
        let (live, builds) = started(None, "layer rules").await;
        assert_eq!(builds, 1);
        assert_eq!(live.expect("started").get().await.0, "layer rules");

        // A broken layer's file with nothing deployed still fails the cold start.
        let (port, _) = extension(404, "");
        let (live, _) = started(Some(source(port)), "broken layer").await;
        assert!(live.is_err());
    }
}
