//! Secrets, read once at cold start from Secrets Manager: the template puts
//! secret ARNs in the environment (`…_SECRET_ARN`), never the values.

use std::collections::HashMap;

use aws_config::SdkConfig;

use crate::describe;
use firsthour::config::{ConfigError, vars};

/// Reads every secret whose ARN variable is set, and returns the values
/// under their plain variable names (e.g. `FIRSTHOUR_LINK_SIGNING_KEY`), to
/// overlay on the environment. A plain variable already set (local runs)
/// is left alone.
pub async fn resolve<F: Fn(&str) -> Option<String>>(
    sdk: &SdkConfig,
    lookup: F,
) -> Result<HashMap<String, String>, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut values = HashMap::new();
    for (plain, arn_var) in vars::SECRETS {
        if lookup(plain).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let Some(arn) = lookup(arn_var)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
        else {
            continue;
        };
        let output = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .map_err(|err| ConfigError::Invalid {
                var: arn_var,
                problem: format!("cannot read the secret: {}", describe(&err)),
            })?;
        let value = output.secret_string.ok_or(ConfigError::Invalid {
            var: arn_var,
            problem: "the secret has no string value".into(),
        })?;
        values.insert(plain.to_owned(), value);
    }
    Ok(values)
}

/// The process environment with its secrets resolved, as a map: what
/// every function reads its settings from at cold start (and again, for
/// new rules, while it runs).
pub async fn environment_map(sdk: &SdkConfig) -> Result<HashMap<String, String>, ConfigError> {
    let secrets = resolve(sdk, |key| std::env::var(key).ok()).await?;
    let mut env: HashMap<String, String> = std::env::vars().collect();
    env.extend(secrets);
    Ok(env)
}
