//! `firsthour leads reassign` and `unclaim`: a lead moved or put back by hand.

use std::collections::HashMap;

use aws_config::SdkConfig;
use time::OffsetDateTime;

use firsthour::config::{EnvReader, FileConfig, LinkSettings, vars};
use firsthour::email::EmailAddress;
use firsthour::escalation::breach_due;
use firsthour::lead::{LeadId, format_utc_millis, unix_millis};
use firsthour::notify::{NotificationContext, render_reassigned_to_you};
use firsthour::ports::Mailer;
use firsthour::record::{LeadRecord, Reassignment, RoutingState};
use firsthour::router::RouterPolicy;
use firsthour::routing::Ladder;
use firsthour_aws::dynamo::operator_store::{FirstTouch, MANUAL_TIER};
use firsthour_aws::{DynamoLeadStore, SesMailer};

use super::{LeadState, LeadsError, age, readable, state_of, stored_lead, table_error};
use crate::confirm::confirm;

#[derive(Debug, clap::Args)]
pub struct ReassignArgs {
    pub id: String,
    /// The rep who takes the lead: a rep of a team in the rules file.
    #[arg(long, value_name = "REP")]
    to: String,
    /// Move it even though someone claimed it (the claim stays: `leads
    /// unclaim` first to put it back on its ladder).
    #[arg(long)]
    force: bool,
    /// Do not ask.
    #[arg(long)]
    yes: bool,
    /// The verified SES address the stack sends from (its SenderEmail parameter).
    #[arg(long, env = "FIRSTHOUR_SENDER_EMAIL", value_name = "ADDRESS")]
    sender: Option<String>,
    /// The intake API's base URL, where claim links point (the stack's ApiBaseUrl output).
    #[arg(long, env = "FIRSTHOUR_PUBLIC_BASE_URL", value_name = "URL")]
    public_base_url: Option<String>,
    /// The Secrets Manager secret (ARN or name) that holds the link-signing
    /// key, as the functions read it (FIRSTHOUR_LINK_SIGNING_KEY gives the key itself).
    #[arg(
        long,
        env = "FIRSTHOUR_LINK_SIGNING_KEY_SECRET_ARN",
        value_name = "SECRET"
    )]
    link_key_secret: Option<String>,
    /// The SES configuration set the functions send through, if any.
    #[arg(long, env = "FIRSTHOUR_SES_CONFIGURATION_SET", value_name = "NAME")]
    configuration_set: Option<String>,
}

/// Claim links as the functions sign them: the same key, base URL and
/// lifetime, with the link-signing key read from Secrets Manager.
async fn link_settings(sdk: &SdkConfig, args: &ReassignArgs) -> Result<LinkSettings, LeadsError> {
    let given: HashMap<&str, String> = [
        (vars::PUBLIC_BASE_URL, args.public_base_url.clone()),
        (
            vars::LINK_SIGNING_KEY_SECRET_ARN,
            args.link_key_secret.clone(),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let lookup = |key: &str| -> Option<String> {
        // Of the stack's secrets, only the link-signing key is read.
        let other_secret = vars::SECRETS
            .iter()
            .any(|(_, arn)| *arn == key && *arn != vars::LINK_SIGNING_KEY_SECRET_ARN);
        if other_secret {
            return None;
        }
        given.get(key).cloned().or_else(|| std::env::var(key).ok())
    };
    let secrets = firsthour_aws::secrets::resolve(sdk, lookup)
        .await
        .map_err(|e| LeadsError::Config(format!("the link-signing key: {e}")))?;
    let env = EnvReader::new(|key: &str| secrets.get(key).cloned().or_else(|| lookup(key)));
    let links = LinkSettings::from_env(&env).map_err(|e| LeadsError::Config(e.to_string()))?;
    if links.public_base_url.is_none() {
        return Err(LeadsError::Config(
            "no claim link can be made: give --public-base-url or set FIRSTHOUR_PUBLIC_BASE_URL \
             (the stack's ApiBaseUrl output)"
                .into(),
        ));
    }
    if links.link_key.is_none() {
        return Err(LeadsError::Config(
            "no claim link can be signed: give --link-key-secret or set \
             FIRSTHOUR_LINK_SIGNING_KEY_SECRET_ARN (the stack's LinkSigningKeySecret), \
             or FIRSTHOUR_LINK_SIGNING_KEY"
                .into(),
        ));
    }
    Ok(links)
}

fn sender(args: &ReassignArgs) -> Result<String, LeadsError> {
    let raw = args.sender.as_deref().ok_or_else(|| {
        LeadsError::Config(
            "no sender: give --sender or set FIRSTHOUR_SENDER_EMAIL (the stack's SenderEmail parameter)"
                .into(),
        )
    })?;
    EmailAddress::parse(raw)
        .map(|a| a.as_str().to_owned())
        .map_err(|e| LeadsError::Config(format!("--sender {raw:?}: {e}")))
}

/// When tier `tier` of `ladder` (1 = its first; one past its last = the
/// breach) is due for a lead received at `received`, as the sweep times it.
fn tier_due(
    ladder: &Ladder,
    tier: u32,
    received: OffsetDateTime,
    speedup: u32,
) -> Option<OffsetDateTime> {
    let index = (tier as usize).checked_sub(1)?;
    match ladder.due_at(index, received, speedup) {
        Some(due) => Some(due),
        None if index == ladder.tiers.len() => breach_due(ladder, received, speedup),
        None => None,
    }
}

fn ladder_of<'a>(config: &'a FileConfig, lead: &LeadRecord) -> Option<&'a Ladder> {
    // As the sweep finds it: the lead's rule by name, then its ladder.
    let routing = &config.routing;
    routing
        .rule(&lead.route.rule)
        .and_then(|r| routing.ladder_for(r))
}

pub async fn reassign(
    store: &DynamoLeadStore,
    sdk: &SdkConfig,
    config: &FileConfig,
    args: ReassignArgs,
) -> Result<String, LeadsError> {
    let id = super::lead_id(&args.id)?;
    let to = crate::reps::known_rep(config, &args.to).map_err(LeadsError::Refused)?;
    // What the email needs is checked before anything is written.
    let sender = sender(&args)?;
    let links = link_settings(sdk, &args).await?;
    let lead = stored_lead(store, &id).await?;
    let from = lead.sla.owner.clone();
    if from.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(&to)) {
        return Err(LeadsError::Refused(format!(
            "{to} already owns lead {id}: nothing to move"
        )));
    }
    if let Some(at) = &lead.sla.claimed_at
        && !args.force
    {
        return Err(LeadsError::Refused(format!(
            "lead {id} was claimed by {} at {}: pass --force to move it anyway \
             (the claim stays), or `firsthour leads unclaim {id}` first",
            lead.sla.claimed_by.as_deref().unwrap_or("someone"),
            readable(at)
        )));
    }
    let owner = from.as_deref().unwrap_or("nobody (the rule's recipients)");
    confirm(
        &format!("Reassign lead {id} from {owner} to {to}, and email {to} a claim link?"),
        args.yes,
    )?;
    let now = OffsetDateTime::now_utc();
    let claimed = lead.sla.claimed_at.is_some();
    if !store
        .reassign_by_hand(&id, from.as_deref(), &to, claimed, now)
        .await
        .map_err(|e| table_error(store, e))?
    {
        return Err(LeadsError::Refused(format!(
            "lead {id} changed while this ran (claimed, or moved by a tier): nothing was written; \
             look again with `firsthour leads show {id}`"
        )));
    }
    // The email shows the lead as it is now: theirs.
    let mut moved = lead.clone();
    moved.sla.owner = Some(to.clone());
    moved.sla.reassignments.push(Reassignment {
        from: from.clone(),
        to: to.clone(),
        at: format_utc_millis(now),
        tier: MANUAL_TIER,
    });
    let policy = RouterPolicy {
        routing: config.routing.clone(),
        sender: sender.clone(),
        public_base_url: links.public_base_url.clone(),
        link_key: links.link_key.clone(),
        link_ttl: links.link_ttl,
        speedup: links.speedup,
        inbound_domain: links.inbound_domain.clone(),
    };
    let link = policy.claim_link(&moved, &to, now);
    let away = policy.away_link(&to, now);
    let reply = policy.reply_link(&moved, &to);
    let deadline = ladder_of(config, &moved).and_then(|ladder| {
        tier_due(
            ladder,
            moved.sla.next_tier.unwrap_or(1).max(1),
            moved.received_at,
            links.speedup,
        )
    });
    let context = NotificationContext {
        sender: &sender,
        deadline: deadline.filter(|d| *d > now),
        claim_url: link.as_deref(),
        away_url: away.as_deref(),
        reply_url: reply.as_deref(),
    };
    let waited = age(unix_millis(now) - unix_millis(moved.received_at));
    let email = render_reassigned_to_you(&moved, from.as_deref(), &waited, &to, context);
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(sdk),
        args.configuration_set.clone(),
    );
    let message = mailer.send(&email).await.map_err(|err| {
        LeadsError::Mail(format!(
            "lead {id} now belongs to {to} (recorded), but the email to them was not sent: {err}. \
             Tell them, or run this again once SES answers (it moves nothing twice)"
        ))
    })?;
    let old_link = match &from {
        Some(from) => format!(" {from}'s claim link no longer claims it."),
        None => String::new(),
    };
    Ok(format!(
        "Lead {id} reassigned from {owner} to {to}, recorded as a manual reassignment.{old_link} \
         {to} was emailed a claim link (SES message {message})."
    ))
}

/// The ladder speedup the functions run with (1 in production).
fn speedup() -> u32 {
    std::env::var(vars::LADDER_SPEEDUP)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(1)
}

pub async fn unclaim(
    store: &DynamoLeadStore,
    config: &FileConfig,
    id: &LeadId,
    yes: bool,
) -> Result<String, LeadsError> {
    let lead = stored_lead(store, id).await?;
    let sla = &lead.sla;
    let Some(claimed_at) = sla.claimed_at.clone() else {
        return Err(LeadsError::Refused(format!(
            "lead {id} was never claimed (it is {}): nothing to unclaim",
            state_of(&LeadState::of(&lead))
        )));
    };
    let by = sla.claimed_by.as_deref().unwrap_or("someone");
    // The claim made the first-touch stamps when nothing else touched the
    // lead: no real response, one touch, first touched when claimed. Then
    // they go with it (the report reads them). A real response keeps them:
    // it happened, and its touch marker stays.
    let first_touch = if sla.first_response_at.is_none()
        && sla.touches <= 1
        && sla
            .first_touch_at
            .as_deref()
            .is_none_or(|t| t == claimed_at)
    {
        FirstTouch::Clear
    } else {
        FirstTouch::Keep
    };
    let now = OffsetDateTime::now_utc();
    let ladder = ladder_of(config, &lead);
    let never_notified = sla.routing_state == RoutingState::Unrouted
        || (sla.notified_at.is_none() && sla.notify_failed_at.is_none());
    let tier = sla.next_tier.unwrap_or(1).max(1);
    let (due, plan) = if let Some(breached) = &sla.breached_at {
        (
            None,
            format!(
                "Its ladder ran out at {} (breached), so it stays out of the due index: \
                 it shows in `leads list --overdue`; reassign it to have someone take it.",
                readable(breached)
            ),
        )
    } else if never_notified {
        (
            Some(now),
            "It was never notified: due now, so the next sweep notifies (re-drives) it.".to_owned(),
        )
    } else {
        match ladder {
            None => (
                None,
                format!(
                    "Its rule {:?} has no ladder in the rules file: nothing will escalate it.",
                    lead.route.rule
                ),
            ),
            Some(ladder) => match tier_due(ladder, tier, lead.received_at, speedup()) {
                None => (
                    None,
                    format!(
                        "Ladder {} has no tier {tier} left: it stays out of the due index.",
                        ladder.name
                    ),
                ),
                Some(due) => {
                    let what = if tier as usize > ladder.tiers.len() {
                        "the breach (the fallback)".to_owned()
                    } else {
                        format!("tier {tier} of {}", ladder.tiers.len())
                    };
                    let when = if due <= now {
                        "due now (its time has passed): the next sweep fires it".to_owned()
                    } else {
                        format!("due at {}", readable(&format_utc_millis(due)))
                    };
                    (
                        Some(due.max(now)),
                        format!("Back on ladder {} from {what}, {when}.", ladder.name),
                    )
                }
            },
        }
    };
    confirm(
        &format!(
            "Unclaim lead {id} (claimed by {by} at {})?",
            readable(&claimed_at)
        ),
        yes,
    )?;
    if !store
        .unclaim(id, &claimed_at, first_touch, due)
        .await
        .map_err(|e| table_error(store, e))?
    {
        return Err(LeadsError::Refused(format!(
            "lead {id} changed while this ran (its claim is not the one read): nothing was written"
        )));
    }
    let stamps = match first_touch {
        FirstTouch::Clear => "Its first-touch stamps went with it (the claim made them).",
        FirstTouch::Keep => {
            "Its touch stamps stay: a real response was recorded (see `leads show`)."
        }
    };
    Ok(format!(
        "Lead {id} unclaimed (it was claimed by {by} at {}). {stamps} {plan}",
        readable(&claimed_at)
    ))
}
