//! Configuration, read once at cold start: environment variables for what
//! the deployment decides (resource names, origins), and the TOML config
//! file (`infra/firsthour.toml`) for business settings (source mappings,
//! later routing rules and SLA ladders). Every problem names its variable,
//! or its file, line and field; nothing falls back silently.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::intake::FieldMapping;
use crate::intake::fields::LeadField;
use crate::intake::limits::DEFAULT_MAX_BODY_BYTES;
use crate::lead::Source;

/// The environment variables the functions read. The template sets them;
/// `tests/template.rs` checks the two agree.
pub mod vars {
    pub const TABLE_NAME: &str = "FIRSTHOUR_TABLE_NAME";
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

    fn optional(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    fn number(
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub file: FileConfig,
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
        let file = match env.optional(vars::CONFIG_FILE) {
            Some(path) => FileConfig::load(Path::new(&path))?,
            None => FileConfig::default(),
        };
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
            file,
        })
    }
}

/// The TOML config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Per-source settings, keyed by the `{source}` path segment.
    #[serde(default)]
    pub sources: HashMap<String, SourceConfig>,
}

/// Settings of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Submitted field name → lead field, for names the intake cannot guess.
    #[serde(default)]
    pub fields: HashMap<String, LeadField>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::File {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates; errors carry the line and column (from `toml`).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::File {
            path: path.display().to_string(),
            message,
        };
        let config: FileConfig = toml::from_str(text).map_err(|err| file_error(err.to_string()))?;
        for name in config.sources.keys() {
            if Source::parse(name)
                .map(|s| s.as_str() != name)
                .unwrap_or(true)
            {
                return Err(file_error(format!(
                    "[sources.{name}]: a source name must be lower case letters, digits, '-', '_' or '.'"
                )));
            }
        }
        Ok(config)
    }

    /// The field mapping configured for `source`, if any.
    pub fn mapping(&self, source: &Source) -> Option<&FieldMapping> {
        self.sources
            .get(source.as_str())
            .map(|s| &s.fields)
            .filter(|m| !m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            IntakeSettings::from_env(&env(&[(vars::TABLE_NAME, "leads")])),
            Err(ConfigError::Missing(vars::EVENT_BUS_NAME))
        );
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            (vars::MAX_BODY_BYTES, "lots"),
            (vars::MAX_BODY_BYTES, "99999999999"),
            (vars::CORS_ORIGINS, "ftp://x.example"),
            (vars::REDIRECT_ORIGINS, "not a url"),
            (vars::THANK_YOU_URL, "/relative"),
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
