//! The rules file (`FIRSTHOUR_CONFIG_FILE`, TOML): sources and their field
//! mappings, spam checks, customers, teams, calendars, ladders and rules,
//! read and checked once at cold start; every problem names its line.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::intake::FieldMapping;
use crate::intake::fields::LeadField;
use crate::lead::Source;
use crate::routing::{
    CalendarConfig, CustomersConfig, LadderConfig, Routing, RuleConfig, TeamConfig,
};
use crate::sector::{GovRegistry, MAX_REGISTRY_BYTES, RegistryError, Sector};

/// The TOML config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Per-source settings, keyed by the `{source}` path segment.
    #[serde(default)]
    pub sources: HashMap<String, SourceConfig>,
    #[serde(default)]
    pub government: GovernmentConfig,
    #[serde(default)]
    pub customers: CustomersConfig,
    #[serde(default)]
    pub teams: HashMap<String, TeamConfig>,
    #[serde(default)]
    pub ladders: HashMap<String, LadderConfig>,
    #[serde(default)]
    pub calendars: HashMap<String, Spanned<CalendarConfig>>,
    #[serde(default)]
    pub spam: crate::spam::SpamConfig,
    #[serde(default)]
    pub rules: Vec<Spanned<RuleConfig>>,
    #[serde(default)]
    pub fallback: Option<Spanned<RuleConfig>>,
    /// Slack and Teams channels (`channel:NAME` in recipients and tiers).
    #[serde(default)]
    pub channels: HashMap<String, Spanned<crate::channel::ChannelConfig>>,
    /// Signed webhooks out, for CRMs and automation.
    #[serde(default)]
    pub webhooks: Vec<Spanned<crate::deliver::WebhookConfig>>,
    /// `webhooks`, validated by [`FileConfig::parse`].
    #[serde(skip)]
    pub outbound_webhooks: Vec<crate::deliver::Webhook>,
    /// The validated routing, compiled by [`FileConfig::parse`].
    #[serde(skip)]
    pub routing: Routing,
    /// The .gov registry: the built-in snapshot ([`FileConfig::load`]'s
    /// default), or a file ([`FileConfig::with_registry`]); `None` only when
    /// turned off or never loaded ([`FileConfig::parse`]).
    #[serde(skip)]
    pub registry: Option<Arc<GovRegistry>>,
}

/// Settings of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Submitted field name → lead field, for names the intake cannot guess.
    #[serde(default)]
    pub fields: HashMap<String, LeadField>,
    /// A dedicated portal: leads from this source belong to this sector
    /// unless their domain or an organisation-type field says otherwise.
    #[serde(default)]
    pub sector: Option<Sector>,
    /// The signature this source's requests must carry; its secret is the
    /// source's entry in the webhook-secrets JSON. Unsigned requests to such a
    /// source are refused (401).
    #[serde(default)]
    pub auth: Option<crate::signature::Scheme>,
}

/// Where the official .gov registry is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernmentConfig {
    /// get.gov `current-full.csv`, relative to the config file.
    #[serde(default)]
    pub registry_file: Option<String>,
}

impl FileConfig {
    /// Reads, validates, and loads the .gov registry the file names (or
    /// `registry_override`, from `FIRSTHOUR_GOV_DOMAINS_FILE`); with neither,
    /// the built-in snapshot answers.
    pub fn load(
        path: &Path,
        registry_override: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Self::load_without_registry(path, env)?;
        let registry_path = registry_override.map(Path::to_path_buf).or_else(|| {
            config
                .government
                .registry_file
                .as_ref()
                .map(|file| path.parent().unwrap_or(Path::new(".")).join(file))
        });
        match registry_path {
            Some(registry_path) => config.with_registry(&registry_path),
            None => Ok(config.with_built_in_registry()),
        }
    }

    /// The get.gov snapshot compiled into the binary (nothing is read).
    pub fn with_built_in_registry(mut self) -> Self {
        self.registry = Some(Arc::new(GovRegistry::built_in()));
        self
    }

    /// Reads and validates, without the .gov registry (the router needs only
    /// the routing; sector and agency were decided at intake).
    pub fn load_without_registry(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::File {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        Self::parse_with_env(&text, path, env)
    }

    /// Loads the .gov registry from `path`, in place of the built-in snapshot.
    pub fn with_registry(mut self, path: &Path) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::Registry {
            path: path.display().to_string(),
            message,
        };
        // Checked before reading, so a wrong path to a huge file is an error,
        // not an out-of-memory at cold start.
        let metadata = std::fs::metadata(path).map_err(|err| file_error(err.to_string()))?;
        if metadata.len() > MAX_REGISTRY_BYTES as u64 {
            return Err(file_error(RegistryError::TooLarge.to_string()));
        }
        let bytes = std::fs::read(path).map_err(|err| file_error(err.to_string()))?;
        let registry = GovRegistry::from_csv(bytes)
            .map_err(|err| file_error(err.to_string()))?
            .read_from(path, metadata.modified().ok());
        self.registry = Some(Arc::new(registry));
        Ok(self)
    }

    /// Parses and validates; errors carry the line and column (from `toml`).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Self::parse_with_env(text, path, &|_| None)
    }

    /// [`FileConfig::parse`], with `$VARIABLE` recipients read through `env`.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::File {
            path: path.display().to_string(),
            message,
        };
        let mut config: FileConfig =
            toml::from_str(text).map_err(|err| file_error(err.to_string()))?;
        config.routing = Routing::compile(
            crate::routing::Sections {
                rules: &config.rules,
                fallback: config.fallback.as_ref(),
                teams: &config.teams,
                ladders: &config.ladders,
                calendars: &config.calendars,
                customers: &config.customers,
                channels: &config.channels,
            },
            env,
        )
        .map_err(|p| file_error(format!("line {}: {}", line_of(text, p.offset), p.message)))?;
        config.outbound_webhooks = crate::deliver::compile_webhooks(&config.webhooks)
            .map_err(|p| file_error(format!("line {}: {}", line_of(text, p.offset), p.message)))?;
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

    /// The sector a source's config gives its leads.
    pub fn source_sector(&self, source: &Source) -> Option<Sector> {
        self.sources.get(source.as_str()).and_then(|s| s.sector)
    }

    /// The field mapping configured for `source`, if any.
    pub fn mapping(&self, source: &Source) -> Option<&FieldMapping> {
        self.sources
            .get(source.as_str())
            .map(|s| &s.fields)
            .filter(|m| !m.is_empty())
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}
