//! AWS AppConfig's Lambda validator of the rules file: AppConfig invokes it
//! with each new version before it may be deployed, and refuses the version
//! when it fails. The checks are the ones every function runs on its rules
//! at cold start (and `firsthour rules check` runs locally), so a file that
//! passes here is one the functions take.

use base64::Engine;
use serde::Deserialize;

/// What AppConfig sends a Lambda validator.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationRequest {
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub configuration_profile_id: Option<String>,
    #[serde(default)]
    pub configuration_version: Option<String>,
    /// The configuration, base64.
    pub content: String,
    #[serde(default)]
    pub uri: Option<String>,
}

/// Why a version is refused: AppConfig shows this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the content is not base64")]
    NotBase64,
    #[error("the rules file is not UTF-8 text")]
    NotText,
    #[error("the rules file is empty")]
    Empty,
    #[error("{0}")]
    Invalid(String),
}

/// Checks one version's content; `env` reads `$VARIABLE` recipients as the
/// functions do (the template gives this function the same variables).
pub fn validate(
    request: &ValidationRequest,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Refused> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(request.content.trim())
        .map_err(|_| Refused::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| Refused::NotText)?;
    if text.trim().is_empty() {
        return Err(Refused::Empty);
    }
    let name = format!(
        "rules version {}",
        request.configuration_version.as_deref().unwrap_or("?")
    );
    let rules =
        firsthour::config::FileConfig::parse_with_env(&text, std::path::Path::new(&name), env)
            .map_err(|err| Refused::Invalid(err.to_string()))?;
    // A deployed file has no folder of its own: the registry it names could
    // not be found, and every function would refuse the version.
    if rules.government.registry_file.is_some() {
        return Err(Refused::Invalid(format!(
            "{name}: [government] registry_file cannot be deployed through AppConfig; pin a registry with the GovDomainsFile parameter"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> ValidationRequest {
        ValidationRequest {
            application_id: Some("abc1234".into()),
            configuration_profile_id: Some("ghi5678".into()),
            configuration_version: Some("7".into()),
            content: base64::engine::general_purpose::STANDARD.encode(text),
            uri: Some("hosted".into()),
        }
    }

    fn env(key: &str) -> Option<String> {
        key.starts_with("FIRSTHOUR_")
            .then(|| "team@example.com".to_owned())
    }

    #[test]
    fn the_shipped_rules_pass_and_a_broken_file_is_refused_naming_its_line() {
        let shipped = include_str!("../../../infra/config/firsthour.toml");
        assert_eq!(validate(&request(shipped), &env), Ok(()));
        let broken = shipped.replace("ladder = \"federal\"", "ladder = \"nowhere\"");
        let Err(Refused::Invalid(why)) = validate(&request(&broken), &env) else {
            panic!("refused");
        };
        assert!(
            why.contains("rules version 7") && why.contains("line "),
            "{why}"
        );
        assert!(why.contains("\"nowhere\" is not defined"), "{why}");
        let pinned = shipped.replace("# registry_file = ", "registry_file = ");
        let Err(Refused::Invalid(why)) = validate(&request(&pinned), &env) else {
            panic!("refused");
        };
        assert!(why.contains("GovDomainsFile"), "{why}");
        let unset = validate(&request(shipped), &|_| None).expect_err("no team addresses");
        assert!(
            unset.to_string().contains("FIRSTHOUR_FEDERAL_TEAM_EMAILS"),
            "{unset}"
        );
    }

    #[test]
    fn what_is_not_a_rules_file_is_refused_by_name() {
        let mut bad = request("x");
        bad.content = "%%%".into();
        assert_eq!(validate(&bad, &env), Err(Refused::NotBase64));
        bad.content = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]);
        assert_eq!(validate(&bad, &env), Err(Refused::NotText));
        assert_eq!(validate(&request("  \n"), &env), Err(Refused::Empty));
        assert!(matches!(
            validate(&request("[[rules]"), &env),
            Err(Refused::Invalid(_))
        ));
        let event: Result<ValidationRequest, _> =
            serde_json::from_str(r#"{"applicationId":"a","content":"eA=="}"#);
        assert!(
            event.is_ok(),
            "the fields AppConfig may leave out are optional"
        );
    }
}
