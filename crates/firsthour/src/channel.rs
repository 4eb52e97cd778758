//! Chat channels where reps live: Slack and Microsoft Teams messages about
//! a lead, named in the rules file (`[channels.NAME]`) and addressed as
//! `channel:NAME` beside email addresses in a rule's recipients or a tier's
//! `notify`. A channel message carries what the email carries (segment, who
//! is asking, what they asked, the SLA deadline, the routing reason) and no
//! more personal data: never the person's email address or phone number,
//! which a channel's every member would see.

use std::collections::BTreeMap;

use time::OffsetDateTime;

pub mod render;

/// How a recipient entry names a channel: `channel:federal-slack`.
pub const CHANNEL_PREFIX: &str = "channel:";

/// The Slack app's Claim button (`action_id`); its `value` is the lead id.
pub const CLAIM_ACTION_ID: &str = "firsthour_claim";

/// Which chat, and how firsthour reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// A Slack app: `chat.postMessage` to `channel` (an id such as
    /// `C0123456789`) with the bot token, a Claim button answered through
    /// Slack's interactivity, threads and `chat.update`.
    SlackApp { channel: String },
    /// A Slack incoming webhook (no app): one message per post, with an
    /// Open-URL claim link button.
    SlackWebhook,
    /// A Microsoft Teams Workflows (Power Automate) incoming webhook: an
    /// Adaptive Card with an Open-URL claim button.
    Teams,
}

/// One `[channels.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatChannel {
    pub name: String,
    pub kind: ChannelKind,
    /// The key of this channel's credentials in the outbound secrets JSON
    /// (the channel's name unless the file says `secret = "…"`).
    pub secret: String,
    /// Slack user id → rep address, for reps whose Slack profile email is
    /// not the address the rules file knows them by.
    pub users: BTreeMap<String, String>,
}

/// What a channel message says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moment<'a> {
    /// The lead arrived and was routed: the first message.
    New,
    /// A ladder tier fired (tier 1 is the first; `breached` past the last).
    Tier {
        tier: u32,
        tiers: usize,
        waited: &'a str,
        breached: bool,
    },
    /// A tier moved the lead to another rep.
    Reassigned { from: Option<&'a str>, to: &'a str },
    /// Someone claimed (or first touched) the lead: the message is updated
    /// in place to say so, with no button.
    Claimed { by: &'a str, at: OffsetDateTime },
}

/// What a channel message needs besides the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext<'a> {
    pub moment: Moment<'a>,
    /// When the first tier fires if nobody claims the lead.
    pub deadline: Option<OffsetDateTime>,
    /// A Slack app message: a Claim button that Slack posts back as an
    /// interaction (`action_id` [`CLAIM_ACTION_ID`], `value` the lead id).
    pub claim_button: bool,
    /// An incoming-webhook Slack message or a Teams card: an Open-URL
    /// button to this signed claim link.
    pub claim_url: Option<&'a str>,
}

/// Longest channel (and webhook) name: it is a key in the lead's item and
/// in the outbound secrets JSON.
pub const MAX_CHANNEL_NAME_BYTES: usize = 64;

/// Most channels one file may name (each may hold a post on a lead's item).
pub const MAX_CHANNELS: usize = 20;

/// `[channels.NAME]` as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub kind: ChannelKindConfig,
    /// Slack app: the channel's id (`C0123456789`; Slack shows it under the
    /// channel's name › About). Without it, a Slack channel is an incoming
    /// webhook.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub users: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKindConfig {
    Slack,
    Teams,
}

/// A name as the file and the secrets JSON spell it: letters, digits, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CHANNEL_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a Slack conversation id starts with: a channel, a private group or a DM.
pub const SLACK_CONVERSATION_PREFIXES: &[char] = &['C', 'G', 'D'];

/// What a Slack user id starts with (`W` for Enterprise Grid users).
pub const SLACK_USER_PREFIXES: &[char] = &['U', 'W'];

/// A Slack id: one of `prefixes`, then upper-case letters and digits, 9 to
/// 24 in all ([`SLACK_CONVERSATION_PREFIXES`], [`SLACK_USER_PREFIXES`]).
pub fn slack_id(id: &str, prefixes: &[char]) -> bool {
    (9..=24).contains(&id.len())
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `[channels]`, checked: names, kinds, Slack ids and the user mapping's
/// addresses.
pub fn compile_channels(
    channels: &std::collections::HashMap<String, toml::Spanned<ChannelConfig>>,
) -> Result<std::collections::HashMap<String, ChatChannel>, crate::routing::Problem> {
    use crate::routing::problem;
    // In the file's order (a map has none of its own): the same mistake is
    // named first on every run, and the limit names the first channel past
    // it, as `[[webhooks]]` does.
    let mut by_line: Vec<(&String, &toml::Spanned<ChannelConfig>)> = channels.iter().collect();
    by_line.sort_by_key(|(_, spanned)| spanned.span().start);
    if let Some((_, extra)) = by_line.get(MAX_CHANNELS) {
        return Err(problem(
            extra,
            format!("[channels]: at most {MAX_CHANNELS} channels"),
        ));
    }
    let mut compiled = std::collections::HashMap::new();
    for (name, spanned) in by_line {
        let config = spanned.get_ref();
        let label = format!("[channels.{name}]");
        if !valid_name(name) {
            return Err(problem(
                spanned,
                format!(
                    "{label}: a channel name is 1 to {MAX_CHANNEL_NAME_BYTES} letters, digits, '-' or '_'"
                ),
            ));
        }
        let secret = config.secret.clone().unwrap_or_else(|| name.clone());
        if !valid_name(&secret) {
            return Err(problem(
                spanned,
                format!("{label} secret {secret:?}: a key of letters, digits, '-' or '_'"),
            ));
        }
        let kind = match (config.kind, &config.channel) {
            (ChannelKindConfig::Slack, Some(channel))
                if slack_id(channel, SLACK_CONVERSATION_PREFIXES) =>
            {
                ChannelKind::SlackApp {
                    channel: channel.clone(),
                }
            }
            (ChannelKindConfig::Slack, Some(channel)) => {
                return Err(problem(
                    spanned,
                    format!(
                        "{label} channel {channel:?}: give the channel's id (like C0123456789, under the channel's name › About), not its name"
                    ),
                ));
            }
            (ChannelKindConfig::Slack, None) => ChannelKind::SlackWebhook,
            (ChannelKindConfig::Teams, None) => ChannelKind::Teams,
            (ChannelKindConfig::Teams, Some(_)) => {
                return Err(problem(
                    spanned,
                    format!(
                        "{label}: a Teams channel is its workflow's webhook URL (in the secret); it takes no `channel`"
                    ),
                ));
            }
        };
        if !config.users.is_empty() && !matches!(kind, ChannelKind::SlackApp { .. }) {
            return Err(problem(
                spanned,
                format!("{label}: `users` maps Slack app users; this channel has no Claim button"),
            ));
        }
        let mut users = BTreeMap::new();
        for (user, address) in &config.users {
            if !slack_id(user, SLACK_USER_PREFIXES) {
                return Err(problem(
                    spanned,
                    format!("{label} users: {user:?} is not a Slack user id (like U024BE7LH)"),
                ));
            }
            let address = crate::email::EmailAddress::parse(address).map_err(|err| {
                problem(spanned, format!("{label} users.{user}: {address:?}: {err}"))
            })?;
            users.insert(user.clone(), address.as_str().to_owned());
        }
        compiled.insert(
            name.clone(),
            ChatChannel {
                name: name.clone(),
                kind,
                secret,
                users,
            },
        );
    }
    Ok(compiled)
}
