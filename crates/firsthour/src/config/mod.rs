//! Configuration, read once at cold start: environment variables for what
//! the deployment decides (resource names, origins), and the TOML config
//! file (`infra/config/firsthour.toml`) for business settings (source mappings,
//! later routing rules and SLA ladders). Every problem names its variable,
//! or its file, line and field; nothing falls back silently.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::intake::limits::DEFAULT_MAX_BODY_BYTES;

/// The environment variables the functions read. The template sets them;
/// `tests/template.rs` checks the two agree.
pub mod vars {
    pub const TABLE_NAME: &str = "FIRSTHOUR_TABLE_NAME";
    pub const METRICS_NAMESPACE: &str = "FIRSTHOUR_METRICS_NAMESPACE";
    pub const EVENT_BUS_NAME: &str = "FIRSTHOUR_EVENT_BUS_NAME";
    pub const CONFIG_FILE: &str = "FIRSTHOUR_CONFIG_FILE";
    pub const MAX_BODY_BYTES: &str = "FIRSTHOUR_MAX_BODY_BYTES";
    pub const DEDUP_WINDOW_SECONDS: &str = "FIRSTHOUR_DEDUP_WINDOW_SECONDS";
    pub const DELIVERY_ID_TTL_SECONDS: &str = "FIRSTHOUR_DELIVERY_ID_TTL_SECONDS";
    pub const LEAD_RETENTION_DAYS: &str = "FIRSTHOUR_LEAD_RETENTION_DAYS";
    pub const REDRIVE_AFTER_SECONDS: &str = "FIRSTHOUR_REDRIVE_AFTER_SECONDS";
    pub const CORS_ORIGINS: &str = "FIRSTHOUR_CORS_ORIGINS";
    pub const REDIRECT_ORIGINS: &str = "FIRSTHOUR_REDIRECT_ORIGINS";
    pub const THANK_YOU_URL: &str = "FIRSTHOUR_THANK_YOU_URL";
    pub const LOG_LEVEL: &str = "FIRSTHOUR_LOG_LEVEL";
    /// A get.gov CSV used instead of the built-in snapshot, or
    /// [`NO_REGISTRY`](super::NO_REGISTRY) for none.
    pub const GOV_DOMAINS_FILE: &str = "FIRSTHOUR_GOV_DOMAINS_FILE";
    /// `on`: classify with the copy the scheduled refresh stores in the
    /// table when it is newer than the built-in snapshot (read at cold start).
    pub const GOV_REGISTRY_REFRESH: &str = "FIRSTHOUR_GOV_REGISTRY_REFRESH";
    /// Where the refresh downloads get.gov's `current-full.csv`; empty
    /// turns the refresh off.
    pub const GOV_REGISTRY_URL: &str = "FIRSTHOUR_GOV_REGISTRY_URL";
    /// Read through `$FIRSTHOUR_…` recipients in the config file.
    pub const FEDERAL_TEAM_EMAILS: &str = "FIRSTHOUR_FEDERAL_TEAM_EMAILS";
    pub const FALLBACK_EMAILS: &str = "FIRSTHOUR_FALLBACK_EMAILS";
    pub const SENDER_EMAIL: &str = "FIRSTHOUR_SENDER_EMAIL";
    pub const SES_CONFIGURATION_SET: &str = "FIRSTHOUR_SES_CONFIGURATION_SET";
    pub const PUBLIC_BASE_URL: &str = "FIRSTHOUR_PUBLIC_BASE_URL";
    pub const LINK_SIGNING_KEY: &str = "FIRSTHOUR_LINK_SIGNING_KEY";
    /// The domain SES receives tracked replies on (the InboundDomain
    /// parameter); unset: reply buttons are plain mailto links.
    pub const INBOUND_DOMAIN: &str = "FIRSTHOUR_INBOUND_DOMAIN";
    pub const CLAIM_LINK_TTL_HOURS: &str = "FIRSTHOUR_CLAIM_LINK_TTL_HOURS";
    pub const LADDER_SPEEDUP: &str = "FIRSTHOUR_LADDER_SPEEDUP";
    pub const TOUCH_API_TOKEN: &str = "FIRSTHOUR_TOUCH_API_TOKEN";
    /// How far back `POST /touches` looks for a person's open leads (days, 1 to 90).
    pub const TOUCH_WINDOW_DAYS: &str = "FIRSTHOUR_TOUCH_WINDOW_DAYS";
    pub const ESCALATION_CONCURRENCY: &str = "FIRSTHOUR_ESCALATION_CONCURRENCY";
    /// Secrets Manager ARNs the secrets above are read from at cold start.
    pub const LINK_SIGNING_KEY_SECRET_ARN: &str = "FIRSTHOUR_LINK_SIGNING_KEY_SECRET_ARN";
    pub const TOUCH_API_TOKEN_SECRET_ARN: &str = "FIRSTHOUR_TOUCH_API_TOKEN_SECRET_ARN";
    /// JSON object: source name → that source's webhook signing secret.
    pub const WEBHOOK_SECRETS: &str = "FIRSTHOUR_WEBHOOK_SECRETS";
    pub const WEBHOOK_SECRETS_ARN: &str = "FIRSTHOUR_WEBHOOK_SECRETS_ARN";
    /// JSON object: channel or webhook name → its credentials (Slack bot
    /// token and signing secret, a Teams or Slack webhook URL, a webhook's
    /// `whsec_` secret).
    pub const OUTBOUND_SECRETS: &str = "FIRSTHOUR_OUTBOUND_SECRETS";
    pub const OUTBOUND_SECRETS_ARN: &str = "FIRSTHOUR_OUTBOUND_SECRETS_ARN";
    /// Slack's Web API (a local stand-in's address under `make run`).
    pub const SLACK_API_URL: &str = "FIRSTHOUR_SLACK_API_URL";
    /// The deliver function's queue, and where it parks what failed for 24 hours.
    pub const DELIVERY_QUEUE_URL: &str = "FIRSTHOUR_DELIVERY_QUEUE_URL";
    pub const DELIVERY_DEAD_LETTER_QUEUE_URL: &str = "FIRSTHOUR_DELIVERY_DEAD_LETTER_QUEUE_URL";
    /// The deployed rules in AWS AppConfig, as the extension's path
    /// (`/applications/A/environments/E/configurations/P`); unset: the
    /// layer's rules file only.
    pub const APPCONFIG_PATH: &str = "FIRSTHOUR_APPCONFIG_PATH";
    /// The AppConfig extension's own variable: the port it listens on.
    pub const APPCONFIG_EXTENSION_HTTP_PORT: &str = "AWS_APPCONFIG_EXTENSION_HTTP_PORT";
    /// How often a function looks for newly deployed rules (seconds).
    pub const RULES_REFRESH_SECONDS: &str = "FIRSTHOUR_RULES_REFRESH_SECONDS";

    /// (variable, the variable naming the secret that holds its value).
    pub const SECRETS: [(&str, &str); 4] = [
        (LINK_SIGNING_KEY, LINK_SIGNING_KEY_SECRET_ARN),
        (TOUCH_API_TOKEN, TOUCH_API_TOKEN_SECRET_ARN),
        (WEBHOOK_SECRETS, WEBHOOK_SECRETS_ARN),
        (OUTBOUND_SECRETS, OUTBOUND_SECRETS_ARN),
    ];
}

/// A configuration problem, naming exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {var}: {problem}")]
    Invalid { var: &'static str, problem: String },
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    /// A .gov registry CSV (get.gov's `current-full.csv`) that cannot be used.
    #[error("registry file {path}: {message}")]
    Registry { path: String, message: String },
    /// Something a function builds at cold start that no setting decides
    /// (the outbound HTTP client): nothing to fix in the configuration.
    #[error("cannot start: {0}")]
    Startup(String),
}

/// Reads variables through a lookup function so tests need not touch the
/// process environment.
pub struct EnvReader<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> EnvReader<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    pub fn optional(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Any variable, by name (for `$VARIABLE` references in the config file).
    pub fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    pub fn number(
        &self,
        var: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.optional(var) else {
            return Ok(default);
        };
        let value: u64 = raw.parse().map_err(|_| ConfigError::Invalid {
            var,
            problem: format!("{raw:?} is not a whole number"),
        })?;
        if !range.contains(&value) {
            return Err(ConfigError::Invalid {
                var,
                problem: format!("{value} is outside {}..={}", range.start(), range.end()),
            });
        }
        Ok(value)
    }

    /// `on`/`off` (also `true`/`false`, `1`/`0`); unset is `default`.
    fn switch(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(raw) = self.optional(var) else {
            return Ok(default);
        };
        match raw.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => Ok(true),
            "off" | "false" | "0" => Ok(false),
            _ => Err(ConfigError::Invalid {
                var,
                problem: format!("{raw:?} is neither on nor off"),
            }),
        }
    }

    fn origins(&self, var: &'static str) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = self.optional(var) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| {
                parse_origin(origin).map_err(|problem| ConfigError::Invalid { var, problem })
            })
            .collect()
    }
}

/// `https://www.example.com/` → `https://www.example.com`. Only http(s).
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|err| format!("{raw:?} is not an origin URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{raw:?} must be an http(s) origin like https://www.example.com"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// What the intake function needs, resolved at cold start.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub table_name: String,
    pub event_bus_name: String,
    pub max_body_bytes: usize,
    /// Same normalised content from the same source within this window is one lead.
    pub dedup_window: Duration,
    /// How long a sender's delivery id is remembered.
    pub delivery_id_ttl: Duration,
    /// Leads expire (DynamoDB TTL) after this long; `None` keeps them.
    pub lead_retention: Option<Duration>,
    /// A lead nobody routed by then is picked up by the escalation sweep.
    pub redrive_after: Duration,
    pub cors_origins: Vec<String>,
    pub redirect_origins: Vec<String>,
    pub thank_you_url: Option<String>,
    /// Claim links (checked by `GET /leads/{id}/claim`).
    pub links: LinkSettings,
    /// Bearer token of `POST /leads/{id}/touch`; `None` disables it.
    pub touch_token: Option<String>,
    /// How far back `POST /touches` looks for a person's open leads.
    pub touch_window: time::Duration,
    /// Sources that must be signed, with their verifiers.
    pub verifiers: HashMap<String, crate::signature::Verifier>,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// Use the refreshed .gov registry copy in the table (see
    /// [`vars::GOV_REGISTRY_REFRESH`]); a registry file still wins.
    pub registry_refresh: bool,
    pub file: FileConfig,
    /// Slack's Claim button: the Slack apps' settings, or why they are
    /// unusable (the intake still takes leads; the button answers 503).
    pub slack: Result<crate::deliver::Outbound, ConfigError>,
}

impl IntakeSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        const DAY: u64 = 24 * 60 * 60;
        let thank_you_url = env
            .optional(vars::THANK_YOU_URL)
            .map(|raw| {
                url::Url::parse(&raw)
                    .map(|u| u.to_string())
                    .map_err(|err| ConfigError::Invalid {
                        var: vars::THANK_YOU_URL,
                        problem: format!("{raw:?} is not a URL: {err}"),
                    })
            })
            .transpose()?;
        let file = registry::intake_file_config(
            env.optional(vars::CONFIG_FILE).as_deref().map(Path::new),
            env.optional(vars::GOV_DOMAINS_FILE).as_deref(),
            &|k| env.get(k),
        )?;
        Ok(Self {
            table_name: env.required(vars::TABLE_NAME)?,
            event_bus_name: env.required(vars::EVENT_BUS_NAME)?,
            max_body_bytes: env.number(
                vars::MAX_BODY_BYTES,
                DEFAULT_MAX_BODY_BYTES as u64,
                1024..=6 * 1024 * 1024,
            )? as usize,
            dedup_window: Duration::from_secs(env.number(
                vars::DEDUP_WINDOW_SECONDS,
                600,
                0..=DAY,
            )?),
            delivery_id_ttl: Duration::from_secs(env.number(
                vars::DELIVERY_ID_TTL_SECONDS,
                DAY,
                300..=30 * DAY,
            )?),
            lead_retention: match env.number(vars::LEAD_RETENTION_DAYS, 0, 0..=36500)? {
                0 => None,
                days => Some(Duration::from_secs(days * DAY)),
            },
            redrive_after: Duration::from_secs(env.number(
                vars::REDRIVE_AFTER_SECONDS,
                120,
                10..=DAY,
            )?),
            cors_origins: env.origins(vars::CORS_ORIGINS)?,
            redirect_origins: env.origins(vars::REDIRECT_ORIGINS)?,
            thank_you_url,
            links: LinkSettings::from_env(env)?,
            verifiers: verifiers(&file, env)?,
            metrics_namespace: metrics_namespace(env)?,
            registry_refresh: env.switch(vars::GOV_REGISTRY_REFRESH, false)?,
            touch_window: time::Duration::days(
                i64::try_from(env.number(vars::TOUCH_WINDOW_DAYS, 30, 1..=90)?).unwrap_or(30),
            ),
            touch_token: env
                .optional(vars::TOUCH_API_TOKEN)
                .map(|token| {
                    if token.len() < 16 {
                        Err(ConfigError::Invalid {
                            var: vars::TOUCH_API_TOKEN,
                            problem: "use at least 16 characters".into(),
                        })
                    } else {
                        Ok(token)
                    }
                })
                .transpose()?,
            slack: outbound(env, file.clone(), true),
            file,
        })
    }
}

/// The verifier of every source whose config names an `auth` scheme; a
/// missing or unusable secret stops the cold start (fail closed).
fn verifiers<F: Fn(&str) -> Option<String>>(
    file: &FileConfig,
    env: &EnvReader<F>,
) -> Result<HashMap<String, crate::signature::Verifier>, ConfigError> {
    let needed: Vec<(&String, crate::signature::Scheme)> = file
        .sources
        .iter()
        .filter_map(|(name, source)| source.auth.map(|scheme| (name, scheme)))
        .collect();
    if needed.is_empty() {
        return Ok(HashMap::new());
    }
    let raw = env
        .optional(vars::WEBHOOK_SECRETS)
        .ok_or(ConfigError::Missing(vars::WEBHOOK_SECRETS))?;
    let secrets: HashMap<String, String> =
        serde_json::from_str(&raw).map_err(|err| ConfigError::Invalid {
            var: vars::WEBHOOK_SECRETS,
            problem: format!("must be a JSON object of source name to secret ({err})"),
        })?;
    needed
        .into_iter()
        .map(|(name, scheme)| {
            let secret = secrets.get(name.as_str()).ok_or_else(|| ConfigError::Invalid {
                var: vars::WEBHOOK_SECRETS,
                problem: format!("[sources.{name}] requires {} but the webhook secrets have no {name:?} entry", scheme.as_str()),
            })?;
            let verifier = crate::signature::Verifier::new(scheme, secret).map_err(|problem| ConfigError::Invalid {
                var: vars::WEBHOOK_SECRETS,
                problem: format!("{name:?}: {problem}"),
            })?;
            Ok((name.clone(), verifier))
        })
        .collect()
}

/// The EMF namespace: CloudWatch's rules (1–255 of letters, digits and
/// `. - _ / # :` or space; not `AWS/`), checked at cold start rather than
/// having CloudWatch drop every metric line silently.
fn metrics_namespace<F: Fn(&str) -> Option<String>>(
    env: &EnvReader<F>,
) -> Result<String, ConfigError> {
    let Some(namespace) = env.optional(vars::METRICS_NAMESPACE) else {
        return Ok(crate::metrics::DEFAULT_NAMESPACE.to_owned());
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if namespace.is_empty()
        || namespace.len() > 255
        || !namespace.chars().all(allowed)
        || namespace.starts_with("AWS/")
    {
        return Err(ConfigError::Invalid {
            var: vars::METRICS_NAMESPACE,
            problem: format!(
                "{namespace:?} is not a CloudWatch namespace (1-255 of letters, digits, . - _ / # : and space; not AWS/)"
            ),
        });
    }
    Ok(namespace)
}

/// Claim links and ladder pace, shared by the functions that send or check links.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub public_base_url: Option<String>,
    pub link_key: Option<crate::claim::LinkKey>,
    pub link_ttl: Duration,
    pub speedup: u32,
    /// Where tracked replies are received (needs the link key too).
    pub inbound_domain: Option<String>,
}

impl LinkSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let public_base_url = env
            .optional(vars::PUBLIC_BASE_URL)
            .map(|raw| {
                url::Url::parse(&raw)
                    .map(|u| u.as_str().trim_end_matches('/').to_owned())
                    .map_err(|err| ConfigError::Invalid {
                        var: vars::PUBLIC_BASE_URL,
                        problem: format!("{raw:?} is not a URL: {err}"),
                    })
            })
            .transpose()?;
        let link_key = env
            .optional(vars::LINK_SIGNING_KEY)
            .map(|key| {
                crate::claim::LinkKey::new(key.as_bytes()).map_err(|problem| ConfigError::Invalid {
                    var: vars::LINK_SIGNING_KEY,
                    problem,
                })
            })
            .transpose()?;
        Ok(Self {
            public_base_url,
            link_key,
            link_ttl: Duration::from_secs(
                env.number(vars::CLAIM_LINK_TTL_HOURS, 168, 1..=24 * 90)? * 3600,
            ),
            speedup: u32::try_from(env.number(vars::LADDER_SPEEDUP, 1, 1..=3600)?).unwrap_or(1),
            inbound_domain: env
                .optional(vars::INBOUND_DOMAIN)
                .map(|raw| inbound_domain(&raw))
                .transpose()?,
        })
    }
}

/// A receiving domain: a DNS name (letters, digits, hyphens, dots), at
/// least two labels, as SES receipt rules and MX records take it.
fn inbound_domain(raw: &str) -> Result<String, ConfigError> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let valid = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(ConfigError::Invalid {
            var: vars::INBOUND_DOMAIN,
            problem: format!("{raw:?} is not a domain like reply.example.com"),
        })
    }
}

/// What the router needs, resolved at cold start.
#[derive(Debug, Clone)]
pub struct RouterSettings {
    pub table_name: String,
    /// Where `LeadRouted` is announced (none: nothing is).
    pub event_bus_name: Option<String>,
    pub sender: String,
    pub configuration_set: Option<String>,
    pub links: LinkSettings,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    pub file: FileConfig,
}

impl RouterSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let sender = env.required(vars::SENDER_EMAIL)?;
        let sender = crate::email::EmailAddress::parse(&sender)
            .map_err(|err| ConfigError::Invalid {
                var: vars::SENDER_EMAIL,
                problem: err.to_string(),
            })?
            .to_string();
        let file = match env.optional(vars::CONFIG_FILE) {
            Some(path) => FileConfig::load_without_registry(Path::new(&path), &|k| env.get(k))?,
            None => FileConfig::default(),
        };
        Ok(Self {
            table_name: env.required(vars::TABLE_NAME)?,
            event_bus_name: env.optional(vars::EVENT_BUS_NAME),
            sender,
            configuration_set: env.optional(vars::SES_CONFIGURATION_SET),
            links: LinkSettings::from_env(env)?,
            metrics_namespace: metrics_namespace(env)?,
            file,
        })
    }
}

/// What the registry refresh needs, resolved at cold start.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    pub table_name: String,
    /// get.gov's full file (an `http(s)` or `file` URL); `None`: refresh off.
    pub source: Option<url::Url>,
}

impl RefreshSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let source = env
            .optional(vars::GOV_REGISTRY_URL)
            .map(|raw| registry_source(&raw))
            .transpose()
            .map_err(|problem| ConfigError::Invalid {
                var: vars::GOV_REGISTRY_URL,
                problem,
            })?;
        Ok(Self {
            table_name: env.required(vars::TABLE_NAME)?,
            source,
        })
    }
}

/// A registry source: an `http`, `https` or `file` URL.
pub fn registry_source(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|err| format!("{raw:?} is not a URL: {err}"))?;
    match url.scheme() {
        "http" | "https" | "file" => Ok(url),
        other => Err(format!(
            "{raw:?}: the registry is downloaded over http or https (or read from a file: URL), not {other}"
        )),
    }
}

/// What the escalation function needs, resolved at cold start.
#[derive(Debug, Clone)]
pub struct EscalationSettings {
    pub router: RouterSettings,
    pub event_bus_name: String,
    /// Leads processed at once (SES sends in flight).
    pub concurrency: usize,
}

impl EscalationSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            router: RouterSettings::from_env(env)?,
            event_bus_name: env.required(vars::EVENT_BUS_NAME)?,
            concurrency: usize::try_from(env.number(vars::ESCALATION_CONCURRENCY, 8, 1..=64)?)
                .unwrap_or(8),
        })
    }
}

/// What the inbound function needs, resolved at cold start: tracked
/// replies need the domain they are received on and the key that signed them.
#[derive(Debug, Clone)]
pub struct InboundSettings {
    pub table_name: String,
    pub event_bus_name: String,
    pub inbound_domain: String,
    pub link_key: crate::claim::LinkKey,
    pub metrics_namespace: String,
}

impl InboundSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let links = LinkSettings::from_env(env)?;
        Ok(Self {
            table_name: env.required(vars::TABLE_NAME)?,
            event_bus_name: env.required(vars::EVENT_BUS_NAME)?,
            inbound_domain: links
                .inbound_domain
                .ok_or(ConfigError::Missing(vars::INBOUND_DOMAIN))?,
            link_key: links
                .link_key
                .ok_or(ConfigError::Missing(vars::LINK_SIGNING_KEY))?,
            metrics_namespace: metrics_namespace(env)?,
        })
    }
}

/// What the deliver function needs, resolved at cold start: the channels
/// and webhooks the rules file names, with their checked credentials.
#[derive(Debug, Clone)]
pub struct DeliverSettings {
    pub table_name: String,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub outbound: crate::deliver::Outbound,
}

impl DeliverSettings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let file = match env.optional(vars::CONFIG_FILE) {
            Some(path) => FileConfig::load_without_registry(Path::new(&path), &|k| env.get(k))?,
            None => FileConfig::default(),
        };
        Ok(Self {
            table_name: env.required(vars::TABLE_NAME)?,
            queue_url: env.required(vars::DELIVERY_QUEUE_URL)?,
            dead_letter_queue_url: env.required(vars::DELIVERY_DEAD_LETTER_QUEUE_URL)?,
            outbound: outbound(env, file, false)?,
        })
    }
}

/// The channels' and webhooks' settings and credentials (the deliver
/// function posts with them; the intake verifies Slack's clicks with them).
/// `slack_apps_only`: only the Slack apps' credentials are read and
/// checked (the intake verifies clicks; webhooks and other channels are
/// not its business).
pub fn outbound<F: Fn(&str) -> Option<String>>(
    env: &EnvReader<F>,
    file: FileConfig,
    slack_apps_only: bool,
) -> Result<crate::deliver::Outbound, ConfigError> {
    let links = LinkSettings::from_env(env)?;
    let raw = env.optional(vars::OUTBOUND_SECRETS);
    let channels = file.routing.channels.values().filter(|c| {
        !slack_apps_only || matches!(c.kind, crate::channel::ChannelKind::SlackApp { .. })
    });
    let secrets = crate::deliver::OutboundSecrets::parse(
        raw.as_deref(),
        channels,
        if slack_apps_only {
            &[]
        } else {
            &file.outbound_webhooks
        },
    )
    .map_err(|err| ConfigError::Invalid {
        var: vars::OUTBOUND_SECRETS,
        problem: err.to_string(),
    })?;
    let slack_api_url = match env.optional(vars::SLACK_API_URL) {
        // The Web API's address, not a credential: it may be named.
        Some(url) => crate::deliver::endpoint_url(&url)
            .map_err(|problem| ConfigError::Invalid {
                var: vars::SLACK_API_URL,
                problem: format!("{url:?}: {problem}"),
            })?
            .to_string(),
        None => crate::deliver::slack::SLACK_API_URL.to_owned(),
    };
    Ok(crate::deliver::Outbound {
        routing: file.routing,
        webhooks: file.outbound_webhooks,
        secrets,
        slack_api_url,
        public_base_url: links.public_base_url,
        link_key: links.link_key,
        link_ttl: links.link_ttl,
        speedup: links.speedup,
    })
}

mod file;
mod registry;

pub use file::{FileConfig, GovernmentConfig, SourceConfig};
pub use registry::NO_REGISTRY;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::fields::LeadField;
    use crate::lead::Source;
    use crate::sector::MAX_REGISTRY_BYTES;

    fn env(pairs: &[(&str, &str)]) -> EnvReader<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvReader::new(move |k: &str| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] = [(vars::TABLE_NAME, "leads"), (vars::EVENT_BUS_NAME, "bus")];

    #[test]
    fn defaults_and_required_variables() {
        let settings = IntakeSettings::from_env(&env(&BASE)).expect("valid");
        assert_eq!(settings.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(settings.lead_retention, None);
        assert_eq!(settings.metrics_namespace, "firsthour");
        let mut pairs = BASE.to_vec();
        pairs.push((vars::METRICS_NAMESPACE, "firsthour/prod-stack"));
        let settings = IntakeSettings::from_env(&env(&pairs)).expect("valid");
        assert_eq!(settings.metrics_namespace, "firsthour/prod-stack");
        assert!(matches!(
            IntakeSettings::from_env(&env(&[(vars::TABLE_NAME, "leads")])),
            Err(ConfigError::Missing(vars::EVENT_BUS_NAME))
        ));
    }

    #[test]
    fn registry_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("firsthour-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let missing = dir.join("missing.csv");
        let err = FileConfig::default()
            .with_registry(&missing)
            .expect_err("missing file");
        assert!(err.to_string().contains("missing.csv"), "{err}");

        // A wrong path to something huge is refused before it is read
        // (a sparse file: no disk is used).
        let huge = dir.join("huge.csv");
        std::fs::File::create(&huge)
            .and_then(|file| file.set_len(MAX_REGISTRY_BYTES as u64 + 1))
            .expect("sparse file");
        let err = FileConfig::default()
            .with_registry(&huge)
            .expect_err("too large");
        assert!(
            err.to_string().contains("huge.csv") && err.to_string().contains("256 MiB"),
            "{err}"
        );

        let not_csv = dir.join("not.csv");
        std::fs::write(&not_csv, "just,some\ntext,here\n").expect("write");
        let err = FileConfig::default()
            .with_registry(&not_csv)
            .expect_err("wrong columns");
        assert!(err.to_string().contains("Domain name"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            (vars::MAX_BODY_BYTES, "lots"),
            (vars::MAX_BODY_BYTES, "99999999999"),
            (vars::CORS_ORIGINS, "ftp://x.example"),
            (vars::REDIRECT_ORIGINS, "not a url"),
            (vars::THANK_YOU_URL, "/relative"),
            (vars::METRICS_NAMESPACE, "AWS/Lambda"),
            (vars::METRICS_NAMESPACE, "firsthour\nprod"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((var, value));
            match IntakeSettings::from_env(&env(&pairs)) {
                Err(ConfigError::Invalid { var: named, .. }) => assert_eq!(named, var),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn origins_are_normalised() {
        let mut pairs = BASE.to_vec();
        pairs.push((
            vars::CORS_ORIGINS,
            "https://www.example.com/, http://localhost:8080",
        ));
        let settings = IntakeSettings::from_env(&env(&pairs)).expect("valid");
        assert_eq!(
            settings.cors_origins,
            vec!["https://www.example.com", "http://localhost:8080"]
        );
    }

    #[test]
    fn config_file_errors_name_line_and_field() {
        let path = Path::new("firsthour.toml");
        let err = FileConfig::parse(
            "[sources.gravity]\nfields = { \"1.3\" = \"first_nam\" }\n",
            path,
        )
        .expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("first_nam"), "{text}");
        let err = FileConfig::parse("[sources.x]\nfeilds = {}\n", path).expect_err("typo");
        assert!(err.to_string().contains("feilds"), "{err}");
        let err = FileConfig::parse("[sources.\"Bad Name\"]\n", path).expect_err("bad name");
        assert!(err.to_string().contains("Bad Name"), "{err}");
        let ok = FileConfig::parse(
            "[sources.gravityforms.fields]\n\"1.3\" = \"first_name\"\n",
            path,
        )
        .expect("ok");
        let source = Source::parse("gravityforms").expect("valid");
        assert_eq!(
            ok.mapping(&source).and_then(|m| m.get("1.3")),
            Some(&LeadField::FirstName)
        );
    }
}
