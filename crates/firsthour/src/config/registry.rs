//! Which .gov registry the intake classifies with: the built-in get.gov
//! snapshot unless a file is named (`FIRSTHOUR_GOV_DOMAINS_FILE`, then
//! `[government] registry_file`), and a log line saying which copy and its date.

use std::path::Path;

use super::{ConfigError, FileConfig};
use crate::sector::{GovRegistry, RegistryCopy};

/// `FIRSTHOUR_GOV_DOMAINS_FILE=none`: no .gov registry at all, every `.gov`
/// lead `government_unverified` (what a build without the registry did; the
/// cold-start benchmark's baseline).
pub const NO_REGISTRY: &str = "none";

/// The intake's config file (if any) with its .gov registry; `registry_file`
/// is `FIRSTHOUR_GOV_DOMAINS_FILE`, which wins over the config file's.
pub(super) fn intake_file_config(
    config_file: Option<&Path>,
    registry_file: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileConfig, ConfigError> {
    let file = match (config_file, registry_file) {
        (Some(path), Some(NO_REGISTRY)) => FileConfig::load_without_registry(path, env)?,
        (Some(path), registry) => FileConfig::load(path, registry.map(Path::new), env)?,
        (None, Some(NO_REGISTRY)) => FileConfig::default(),
        (None, Some(registry)) => FileConfig::default().with_registry(Path::new(registry))?,
        (None, None) => FileConfig::default().with_built_in_registry(),
    };
    log_registry(file.registry.as_deref());
    Ok(file)
}

/// Says at cold start which copy of the .gov registry classifies leads.
fn log_registry(registry: Option<&GovRegistry>) {
    let Some(registry) = registry else {
        tracing::warn!(
            registry = NO_REGISTRY,
            "no .gov registry: every .gov lead is government_unverified"
        );
        return;
    };
    let dated = registry.dated().map(|day| day.to_string());
    match registry.copy() {
        RegistryCopy::File { path, .. } => tracing::info!(
            registry = "file",
            path = %path,
            dated = dated.as_deref(),
            domains = registry.len(),
            "the .gov registry file replaces the built-in snapshot"
        ),
        RegistryCopy::BuiltIn => tracing::info!(
            registry = "built-in",
            dated = dated.as_deref(),
            domains = registry.len(),
            "the .gov registry is the built-in get.gov snapshot"
        ),
        RegistryCopy::Refreshed { source, .. } => tracing::info!(
            registry = "refreshed",
            source = %source,
            dated = dated.as_deref(),
            domains = registry.len(),
            "the .gov registry is the copy the daily refresh stored"
        ),
        RegistryCopy::Given => tracing::info!(
            registry = "given",
            domains = registry.len(),
            "the .gov registry was given in memory"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/dotgov.csv");
    const SHIPPED_CONFIG: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/config/firsthour.toml"
    );

    fn copy_of(file: &FileConfig) -> Option<&RegistryCopy> {
        file.registry.as_deref().map(GovRegistry::copy)
    }

    fn recipients(name: &str) -> Option<String> {
        name.starts_with("FIRSTHOUR_")
            .then(|| "team@example.com".to_owned())
    }

    #[test]
    fn the_built_in_answers_unless_a_file_is_named_or_none() {
        let config = Some(Path::new(SHIPPED_CONFIG));
        for config in [None, config] {
            let file = intake_file_config(config, None, &recipients).expect("loads");
            assert_eq!(copy_of(&file), Some(&RegistryCopy::BuiltIn));

            let file = intake_file_config(config, Some(SNAPSHOT_CSV), &recipients).expect("loads");
            assert!(
                matches!(copy_of(&file), Some(RegistryCopy::File { path, modified: Some(_) }) if path == SNAPSHOT_CSV),
                "{:?}",
                copy_of(&file)
            );

            let file = intake_file_config(config, Some(NO_REGISTRY), &recipients).expect("loads");
            assert_eq!(copy_of(&file), None);
        }
        let file = intake_file_config(None, None, &recipients).expect("loads");
        let registry = file.registry.as_deref().expect("built in");
        assert_eq!(
            registry.lookup("va.gov").map(|(_, row)| row.sector()),
            Some(crate::sector::Sector::Federal),
            "jane.doe@va.gov is federal out of the box"
        );
    }
}
