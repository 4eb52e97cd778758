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
