//! The AWS AppConfig Lambda extension's local interface, for the local run
//! (AppConfig is not in the emulator): `GET /applications/{application}/
//! environments/{environment}/configurations/{profile}` answers the
//! deployed configuration with its `Configuration-Version` and
//! `Content-Type`, as the extension does on `localhost:2772`. What is
//! "deployed" is the rules file on disk: each change is validated with the
//! checks every function runs at cold start (AppConfig's validator does the
//! same before a deployment), and only a valid file becomes a new version;
//! an invalid one is reported and the previous version stays served.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firsthour::config::FileConfig;

/// The names the local run's functions are given.
pub const APPLICATION: &str = "firsthour-local";
pub const ENVIRONMENT: &str = "local";
pub const PROFILE: &str = "rules";

/// The extension's path for the local rules.
pub fn path() -> String {
    format!("/applications/{APPLICATION}/environments/{ENVIRONMENT}/configurations/{PROFILE}")
}

/// What is served: the last valid rules file and its version.
#[derive(Debug, Default)]
struct Deployed {
    version: u64,
    text: Option<String>,
    /// The file's content last looked at (valid or not), so a bad file is
    /// reported once.
    last_seen: Option<String>,
}

/// The rules file and how `$VARIABLE` recipients read while validating it.
pub struct RulesFile {
    path: PathBuf,
    env: Vec<(String, String)>,
    deployed: Mutex<Deployed>,
}

impl RulesFile {
    pub fn new(path: PathBuf, env: Vec<(String, String)>) -> Self {
        Self {
            path,
            env,
            deployed: Mutex::new(Deployed::default()),
        }
    }

    /// Reads the file; a change that passes the checks becomes the next
    /// version, one that does not is reported and left out. The version
    /// served, if any.
    pub fn check(&self) -> Option<(u64, String)> {
        let text = std::fs::read_to_string(&self.path);
        let Ok(mut deployed) = self.deployed.lock() else {
            return None;
        };
        match text {
            Ok(text) if deployed.last_seen.as_deref() != Some(text.as_str()) => {
                let lookup = |key: &str| {
                    self.env
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                };
                match FileConfig::parse_with_env(&text, &self.path, &lookup) {
                    Ok(_) => {
                        deployed.version += 1;
                        if deployed.version > 1 {
                            eprintln!(
                                "[rules] {} changed: version {} deployed",
                                self.path.display(),
                                deployed.version
                            );
                        }
                        deployed.text = Some(text.clone());
                    }
                    Err(err) => eprintln!(
                        "[rules] {err}\n[rules] not deployed: the functions keep version {}",
                        deployed.version
                    ),
                }
                deployed.last_seen = Some(text);
            }
            Ok(_) => {}
            Err(err) => {
                if deployed.last_seen.is_some() {
                    eprintln!(
                        "[rules] {}: {err}; the functions keep version {}",
                        self.path.display(),
                        deployed.version
                    );
                    deployed.last_seen = None;
                }
            }
        }
        deployed.text.clone().map(|text| (deployed.version, text))
    }
}

async fn configuration(
    State(rules): State<Arc<RulesFile>>,
    Path((application, environment, profile)): Path<(String, String, String)>,
) -> Response {
    if (application.as_str(), environment.as_str(), profile.as_str())
        != (APPLICATION, ENVIRONMENT, PROFILE)
    {
        return (
            StatusCode::NOT_FOUND,
            format!("no configuration {application}/{environment}/{profile}"),
        )
            .into_response();
    }
    match rules.check() {
        Some((version, text)) => {
            let mut response = text.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/toml"),
            );
            if let Ok(version) = HeaderValue::from_str(&version.to_string()) {
                headers.insert("configuration-version", version);
            }
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            "no valid version of the rules file is deployed".to_owned(),
        )
            .into_response(),
    }
}

pub fn router(rules: Arc<RulesFile>) -> axum::Router {
    axum::Router::new()
        .route(
            "/applications/{application}/environments/{environment}/configurations/{profile}",
            get(configuration),
        )
        .with_state(rules)
}

/// Serves the extension's interface on `addr` and looks at the file every
/// second, so a bad edit is reported as it is saved.
pub async fn serve(
    listener: tokio::net::TcpListener,
    rules: Arc<RulesFile>,
) -> Result<(), std::io::Error> {
    rules.check();
    let watched = Arc::clone(&rules);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            watched.check();
        }
    });
    axum::serve(listener, router(rules)).await
}

/// Binds the extension's port (0: any) on this machine.
pub async fn bind(port: u16) -> Result<tokio::net::TcpListener, std::io::Error> {
    tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}
