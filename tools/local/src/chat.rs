//! Chat channels and webhooks out under the local run: the rules file's
//! `[channels]` and `[[webhooks]]` answered by the stand-ins (Slack's Web
//! API and incoming webhooks, Teams workflows, Standard Webhooks
//! receivers), with credentials generated here and stored in the stack's
//! `OutboundSecrets` as an admin would store theirs.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use base64::Engine;
use firsthour::channel::ChannelKind;
use firsthour::config::FileConfig;
use serde_json::{Map, Value, json};

use crate::bootstrap::{BootError, LocalStack};
use crate::stand_ins::{StandInOptions, StandIns};

/// The stand-ins' part of a run.
#[derive(Debug, Clone)]
pub struct ChatSetup {
    /// The rules file the functions read.
    pub config: PathBuf,
    /// The repository (its `.venv` and `tools/local/stand_ins.py`).
    pub root: PathBuf,
    /// Where the stand-ins listen: the port the rules file's local webhook
    /// URLs (`http://127.0.0.1:PORT/hooks/NAME`) name; 0 picks one.
    pub port: u16,
    /// Webhook receivers that answer 503 to everything (retry tests).
    pub failing_hooks: Vec<String>,
}

/// The local workspace's Slack: one app, its token and signing secret.
pub const SLACK_TEAM: &str = "T0LOCAL";

/// A Slack user who is nobody's rep (the stand-in view's "Claim as" list
/// has them, to see the ephemeral refusal).
pub const STRANGER: (&str, &str) = ("U0STRANGER1", "visitor@example.org");

/// Reads the rules file for its channels and webhooks; `None` when it has
/// neither (nothing to stand in for).
fn rules(config: &Path) -> Result<Option<FileConfig>, BootError> {
    // `$VARIABLE` recipients are the functions' business: any address will do here.
    let file = FileConfig::load_without_registry(config, &|_| Some("local@example.com".into()))?;
    Ok((!file.routing.channels.is_empty() || !file.outbound_webhooks.is_empty()).then_some(file))
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

/// A Slack user id for a rep with no mapping (`U` and 10 letters/digits).
fn user_id(n: usize) -> String {
    format!("U0REP{n:05}X")
}

/// Starts the stand-ins for the rules file's channels and webhooks and
/// stores their credentials in the stack's `OutboundSecrets`; the
/// environment the functions need to reach them.
pub async fn start(
    setup: &ChatSetup,
    stack: &LocalStack,
    sdk: &SdkConfig,
) -> Result<Option<(StandIns, Vec<(String, String)>)>, BootError> {
    let Some(file) = rules(&setup.config)? else {
        return Ok(None);
    };
    let mut options = StandInOptions::in_repo(&setup.root);
    options.port = setup.port;
    options.slack_token = format!("xoxb-{}-{}", random_hex(6), random_hex(12));
    options.slack_signing_secret = random_hex(16);
    options.failing_hooks = setup.failing_hooks.clone();
    let mut mapped: Vec<String> = Vec::new();
    for channel in file.routing.channels.values() {
        match &channel.kind {
            ChannelKind::SlackApp { channel: id } => {
                options
                    .slack_channels
                    .push(format!("{id}={}", channel.name));
                for (user, rep) in &channel.users {
                    options.slack_users.push((user.clone(), rep.clone()));
                    mapped.push(rep.to_ascii_lowercase());
                }
            }
            ChannelKind::SlackWebhook => options.slack_webhooks.push((
                format!("{SLACK_TEAM}/B{}/{}", channel.name.len(), random_hex(12)),
                channel.name.clone(),
            )),
            ChannelKind::Teams => options.teams.push(channel.name.clone()),
        }
    }
    // Every other rep is a Slack user whose profile email is their address
    // (the users.info path), and one user is nobody's rep.
    let mut reps: Vec<String> = file
        .routing
        .teams
        .values()
        .flat_map(|t| t.rotation.iter().map(|r| r.email.to_ascii_lowercase()))
        .filter(|rep| !mapped.contains(rep))
        .collect();
    reps.sort();
    reps.dedup();
    for (n, rep) in reps.into_iter().enumerate() {
        options.slack_users.push((user_id(n), rep));
    }
    options
        .slack_users
        .push((STRANGER.0.to_owned(), STRANGER.1.to_owned()));
    let mut secrets = Map::new();
    for webhook in &file.outbound_webhooks {
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD
                .encode((0..32).map(|_| fastrand::u8(..)).collect::<Vec<u8>>())
        );
        options
            .webhooks
            .push((webhook.name.clone(), secret.clone()));
        secrets.insert(webhook.secret.clone(), json!(secret));
    }
    let stand_ins = StandIns::start(&options).await?;
    for channel in file.routing.channels.values() {
        let entry = match &channel.kind {
            ChannelKind::SlackApp { .. } => json!({
                "bot_token": options.slack_token,
                "signing_secret": options.slack_signing_secret,
            }),
            ChannelKind::SlackWebhook => {
                let path = options
                    .slack_webhooks
                    .iter()
                    .find(|(_, name)| name == &channel.name)
                    .map(|(path, _)| path.as_str())
                    .unwrap_or_default();
                json!({"webhook_url": stand_ins.slack_webhook_url(path)})
            }
            ChannelKind::Teams => json!({"webhook_url": stand_ins.teams_url(&channel.name)}),
        };
        secrets.insert(channel.secret.clone(), entry);
    }
    let arn = stack
        .refs
        .get("OutboundSecrets")
        .ok_or("the template has no OutboundSecrets")?;
    aws_sdk_secretsmanager::Client::new(sdk)
        .put_secret_value()
        .secret_id(arn)
        .secret_string(Value::Object(secrets).to_string())
        .send()
        .await
        .map_err(|err| {
            format!(
                "OutboundSecrets: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(err)
            )
        })?;
    let env = vec![(
        firsthour::config::vars::SLACK_API_URL.to_owned(),
        stand_ins.slack_api_url(),
    )];
    Ok(Some((stand_ins, env)))
}
