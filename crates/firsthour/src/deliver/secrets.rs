//! The outbound secrets JSON (`FIRSTHOUR_OUTBOUND_SECRETS`, from Secrets
//! Manager): each channel's and webhook's credentials by name.

use std::collections::HashMap;

use serde::Deserialize;

use crate::channel::{ChannelKind, ChatChannel};
use crate::deliver::{Webhook, endpoint_url};

/// One entry as stored.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum Entry {
    Text(String),
    Object {
        #[serde(default)]
        bot_token: Option<String>,
        #[serde(default)]
        signing_secret: Option<String>,
        #[serde(default)]
        webhook_url: Option<String>,
    },
}

/// A Slack app's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackApp {
    pub bot_token: String,
    pub signing_secret: String,
}

/// The credentials each configured channel and webhook needs, checked at
/// cold start. Nothing here is ever printed.
#[derive(Clone, Default)]
pub struct OutboundSecrets {
    slack_apps: HashMap<String, SlackApp>,
    webhook_urls: HashMap<String, String>,
    /// Each webhook secret's key, decoded once here and signed with as is.
    webhook_keys: HashMap<String, Vec<u8>>,
}

impl std::fmt::Debug for OutboundSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSecrets").finish_non_exhaustive()
    }
}

/// What is wrong with the outbound secrets, naming the entry (never its value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("the outbound secrets must be a JSON object of name to credentials ({0})")]
    NotJson(String),
    #[error("the outbound secrets have no {key:?} entry, which {needed_by} needs")]
    Missing { key: String, needed_by: String },
    #[error("the outbound secrets' {key:?} entry: {problem}")]
    Invalid { key: String, problem: String },
}

impl OutboundSecrets {
    /// Reads `raw` (`None`: no secret configured) for `channels` and
    /// `webhooks`: each must find its entry, in the shape its kind needs.
    pub fn parse<'a>(
        raw: Option<&str>,
        channels: impl IntoIterator<Item = &'a ChatChannel>,
        webhooks: &[Webhook],
    ) -> Result<Self, SecretsError> {
        let channels: Vec<&ChatChannel> = channels.into_iter().collect();
        if channels.is_empty() && webhooks.is_empty() {
            return Ok(Self::default());
        }
        let entries: HashMap<String, Entry> = serde_json::from_str(raw.unwrap_or("{}"))
            .map_err(|err| SecretsError::NotJson(err.to_string()))?;
        let entry = |key: &str, needed_by: String| {
            entries.get(key).cloned().ok_or(SecretsError::Missing {
                key: key.to_owned(),
                needed_by,
            })
        };
        let invalid = |key: &str, problem: &str| SecretsError::Invalid {
            key: key.to_owned(),
            problem: problem.to_owned(),
        };
        let mut secrets = Self::default();
        for channel in channels {
            let key = channel.secret.as_str();
            let found = entry(key, format!("[channels.{}]", channel.name))?;
            match (&channel.kind, found) {
                (
                    ChannelKind::SlackApp { .. },
                    Entry::Object {
                        bot_token: Some(bot_token),
                        signing_secret: Some(signing_secret),
                        ..
                    },
                ) => {
                    if !bot_token.starts_with("xoxb-") {
                        return Err(invalid(
                            key,
                            "bot_token must be the app's bot token (xoxb-…)",
                        ));
                    }
                    if signing_secret.trim().is_empty() {
                        return Err(invalid(key, "signing_secret is empty"));
                    }
                    secrets.slack_apps.insert(
                        key.to_owned(),
                        SlackApp {
                            bot_token,
                            signing_secret,
                        },
                    );
                }
                (ChannelKind::SlackApp { .. }, _) => {
                    return Err(invalid(
                        key,
                        "a Slack app needs {\"bot_token\": \"xoxb-…\", \"signing_secret\": \"…\"}",
                    ));
                }
                (
                    ChannelKind::SlackWebhook | ChannelKind::Teams,
                    Entry::Object {
                        webhook_url: Some(url),
                        ..
                    }
                    | Entry::Text(url),
                ) => {
                    // The URL is the secret: `endpoint_url` says what is
                    // wrong, never what it is.
                    let url = endpoint_url(&url).map_err(|problem| invalid(key, &problem))?;
                    secrets.webhook_urls.insert(key.to_owned(), url.to_string());
                }
                (ChannelKind::SlackWebhook | ChannelKind::Teams, _) => {
                    return Err(invalid(key, "give {\"webhook_url\": \"https://…\"}"));
                }
            }
        }
        for webhook in webhooks {
            let key = webhook.secret.as_str();
            let Entry::Text(secret) = entry(key, format!("[[webhooks]] {:?}", webhook.name))?
            else {
                return Err(invalid(
                    key,
                    "a webhook's secret is a string, whsec_ and base64",
                ));
            };
            let decoded =
                standard_webhooks_key(&secret).map_err(|problem| invalid(key, problem))?;
            secrets.webhook_keys.insert(key.to_owned(), decoded);
        }
        Ok(secrets)
    }

    pub fn slack_app(&self, key: &str) -> Option<&SlackApp> {
        self.slack_apps.get(key)
    }

    /// Every Slack app's signing secret (one app may post to many channels).
    pub fn signing_secrets(&self) -> impl Iterator<Item = &str> {
        self.slack_apps
            .values()
            .map(|app| app.signing_secret.as_str())
    }

    pub fn webhook_url(&self, key: &str) -> Option<&str> {
        self.webhook_urls.get(key).map(String::as_str)
    }

    /// A webhook secret's key bytes (its `whsec_` base64, decoded and checked).
    pub fn webhook_key(&self, key: &str) -> Option<&[u8]> {
        self.webhook_keys.get(key).map(Vec::as_slice)
    }
}

/// A Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 random
/// bytes, as the specification recommends.
pub fn standard_webhooks_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    let key = crate::signature::standard_webhooks_key(secret)
        .ok_or("a webhook secret is whsec_ and base64")?;
    if !(24..=64).contains(&key.len()) {
        return Err("a webhook secret is 24 to 64 bytes (whsec_ and their base64)");
    }
    Ok(key)
}
