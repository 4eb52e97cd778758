//! Chat channels and webhooks out, without AWS: the shipped rules with a
//! Slack app, a Teams workflow and a webhook added; the router, the sweep,
//! the deliver use case and Slack's Claim button over one in-memory store,
//! with a network double answering in Slack's documented shapes.

mod support;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firsthour::channel::CLAIM_ACTION_ID;
use firsthour::config::{EnvReader, vars};
use firsthour::deliver::{
    BusEvent, DeliverService, Delivery, DeliveryFailure, Destination, HttpAnswer, HttpError,
    HttpPost, HttpPoster, Outbound,
};
use firsthour::memory::MemoryStore;
use firsthour::ports::ManualClock;
use firsthour::service::slack::{ClickOutcome, SlackInteractions};
use firsthour::signature::{Scheme, SignedRequest, sign};
use serde_json::{Value, json};
use support::{FALLBACK, FEDERAL_TEAM, LINK_KEY, World, minute};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
const CONVERSATION: &str = "C0FEDERAL1";
const TEAMS_URL: &str = "https://example.webhook.office.com/workflows/federal";
const HOOK_URL: &str = "https://crm.example.com/firsthour";
const SLACK_HOOK_URL: &str = "https://hooks.slack.com/services/T0001/B0001/abcdef";
const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A federal rep by Slack mapping, and a Slack user nobody mapped.
const MAPPED_USER: &str = "U0FEDREP01";
const STRANGER: &str = "U0STRANGER";

/// The shipped rules with the federal rule and its ladder's first tier
/// also telling channels, and a webhook for every event.
fn config_with_channels() -> PathBuf {
    let shipped = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/firsthour.toml"),
    )
    .expect("shipped rules");
    let with_channels = shipped
        .replace(
            r#"recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS"]"#,
            r#"recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS", "channel:federal-slack", "channel:federal-teams", "channel:sales-hook"]"#,
        )
        .replace(
            r#"  { after = "5m", notify = ["owner"] },
  { after = "10m", reassign = true"#,
            r#"  { after = "5m", notify = ["owner", "channel:federal-slack"] },
  { after = "10m", reassign = true"#,
        );
    assert_ne!(shipped, with_channels, "the shipped rules changed shape");
    let extra = format!(
        r#"
[channels.federal-slack]
kind = "slack"
channel = "{CONVERSATION}"
users = {{ {MAPPED_USER} = "fed-rep-2@example.com" }}

[channels.federal-teams]
kind = "teams"

[channels.sales-hook]
kind = "slack"

[[webhooks]]
name = "crm"
url = "{HOOK_URL}"
events = ["LeadReceived", "LeadRouted", "LeadEscalated", "LeadReassigned", "LeadClaimed", "LeadTouched"]
"#
    );
    let dir = std::env::temp_dir().join(format!("firsthour-channels-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("firsthour.toml");
    std::fs::write(&path, with_channels + &extra).expect("config written");
    path
}

fn secrets() -> String {
    json!({
        "federal-slack": {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET},
        "federal-teams": {"webhook_url": TEAMS_URL},
        "sales-hook": {"webhook_url": SLACK_HOOK_URL},
        "crm": HOOK_SECRET,
    })
    .to_string()
}

/// The outbound settings as the deliver function reads them.
fn outbound(config: &std::path::Path, slack_apps_only: bool) -> Outbound {
    let config = config.display().to_string();
    let secrets = secrets();
    let env: HashMap<&str, &str> = HashMap::from([
        (vars::CONFIG_FILE, config.as_str()),
        (vars::FEDERAL_TEAM_EMAILS, FEDERAL_TEAM),
        (vars::FALLBACK_EMAILS, FALLBACK),
        (vars::PUBLIC_BASE_URL, "https://leads.example.com"),
        (vars::LINK_SIGNING_KEY, LINK_KEY),
        (vars::OUTBOUND_SECRETS, secrets.as_str()),
        (vars::SLACK_API_URL, "https://slack.com/api"),
    ]);
    let env = EnvReader::new(|var: &str| env.get(var).map(|v| (*v).to_owned()));
    let file =
        firsthour::config::FileConfig::load_without_registry(std::path::Path::new(&config), &|k| {
            env.get(k)
        })
        .expect("rules");
    firsthour::config::outbound(&env, file, slack_apps_only).expect("outbound settings")
}

/// The network: every request kept; Slack's Web API answered in its
/// documented shapes, anything else 200, unless scripted otherwise.
#[derive(Clone, Default)]
struct Net {
    sent: Arc<Mutex<Vec<HttpPost>>>,
    scripted: Arc<Mutex<VecDeque<(&'static str, HttpAnswer)>>>,
    /// Slack user → profile email, for `users.info`.
    profiles: Arc<Mutex<HashMap<String, String>>>,
}

impl Net {
    fn script(&self, url_part: &'static str, answer: HttpAnswer) {
        self.scripted
            .lock()
            .expect("net")
            .push_back((url_part, answer));
    }

    fn take(&self) -> Vec<HttpPost> {
        std::mem::take(&mut self.sent.lock().expect("net"))
    }

    fn json(status: u16, body: Value) -> HttpAnswer {
        HttpAnswer {
            status,
            retry_after: None,
            body: body.to_string(),
        }
    }
}

impl HttpPoster for Net {
    async fn post(&self, request: &HttpPost) -> Result<HttpAnswer, HttpError> {
        tokio::task::yield_now().await;
        let mut sent = self.sent.lock().expect("net");
        sent.push(request.clone());
        let mut scripted = self.scripted.lock().expect("net");
        if let Some((_, answer)) = scripted
            .iter()
            .position(|(part, _)| request.url.contains(part))
            .and_then(|at| scripted.remove(at))
        {
            return Ok(answer);
        }
        let method = request.url.rsplit('/').next().unwrap_or_default();
        Ok(match method {
            "chat.postMessage" => Net::json(
                200,
                json!({"ok": true, "channel": CONVERSATION, "ts": format!("1700000000.{:06}", sent.len())}),
            ),
            "chat.update" => Net::json(200, json!({"ok": true, "channel": CONVERSATION})),
            "users.info" => {
                let user = request.body.trim_start_matches("user=").to_owned();
                match self.profiles.lock().expect("net").get(&user) {
                    Some(email) => Net::json(
                        200,
                        json!({"ok": true, "user": {"id": user, "profile": {"email": email}}}),
                    ),
                    None => Net::json(200, json!({"ok": false, "error": "user_not_found"})),
                }
            }
            _ => Net::json(200, json!("ok")),
        })
    }
}

struct Channels {
    world: World,
    net: Net,
    deliver: DeliverService<MemoryStore, Net, ManualClock>,
    slack: SlackInteractions<Net>,
    /// Events already fanned out.
    seen: usize,
}

impl Channels {
    fn new() -> Self {
        let config = config_with_channels();
        let world = World::with_config(&config);
        let net = Net::default();
        let deliver = DeliverService::new(
            world.store.clone(),
            net.clone(),
            world.clock.clone(),
            outbound(&config, false),
        );
        let slack =
            SlackInteractions::new(outbound(&config, true), net.clone()).expect("a Slack app");
        Self {
            world,
            net,
            deliver,
            slack,
            seen: 0,
        }
    }

    /// The events published since the last call, fanned out.
    async fn fan_out(&mut self) -> Vec<Delivery> {
        let events: Vec<BusEvent> = self
            .world
            .bus_events()
            .into_iter()
            .skip(self.seen)
            .collect();
        self.seen += events.len();
        let mut deliveries = Vec::new();
        for event in &events {
            deliveries.extend(self.deliver.fan_out(event).await.expect("fanned out"));
        }
        deliveries
    }

    /// Fans out and makes every delivery; the requests they sent.
    async fn deliver_all(&mut self) -> Vec<HttpPost> {
        for delivery in self.fan_out().await {
            self.deliver.deliver(&delivery).await.expect("delivered");
        }
        self.net.take()
    }

    /// A Claim click on the lead's message as `user`, signed as Slack signs.
    async fn click(&self, lead_id: &str, user: &str) -> ClickOutcome {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "rep", "team_id": "T0001"},
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CONVERSATION},
            "channel": {"id": CONVERSATION, "name": "federal-leads"},
            "response_url": "https://hooks.slack.com/actions/T0001/1/abc",
            "actions": [{"action_id": CLAIM_ACTION_ID, "block_id": "claim", "value": lead_id, "type": "button"}],
        });
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let now = firsthour::ports::Clock::now(&self.world.clock);
        let timestamp = now.unix_timestamp();
        let signature = sign::body_mac(
            Scheme::Slack,
            SIGNING_SECRET,
            Some(timestamp),
            body.as_bytes(),
            None,
        )
        .expect("Slack signs the body");
        let timestamp = timestamp.to_string();
        let lookup = |name: &str| -> Option<&str> {
            match name.to_ascii_lowercase().as_str() {
                "x-slack-signature" => Some(signature.as_str()),
                "x-slack-request-timestamp" => Some(timestamp.as_str()),
                _ => None,
            }
        };
        self.slack
            .verify(&SignedRequest {
                method: "POST",
                url: "",
                body: body.as_bytes(),
                header: &lookup,
                now,
            })
            .expect("Slack's signature holds");
        self.slack
            .click(&self.world.touches(), body.as_bytes())
            .await
            .expect("click handled")
    }
}

fn method(post: &HttpPost) -> &str {
    post.url.rsplit('/').next().unwrap_or_default()
}

fn body(post: &HttpPost) -> Value {
    serde_json::from_str(&post.body).expect("a JSON body")
}

#[tokio::test]
async fn a_federal_lead_is_posted_threaded_on_escalation_claimed_from_slack_and_updated_in_place() {
    let mut c = Channels::new();
    let id = c.world.post_federal("Grace Hopper").await;
    c.world.route(&id).await.expect("routed");
    let lead = c.world.lead(&id);
    let owner = lead.sla.owner.clone().expect("an owner");

    // LeadReceived goes to the webhook; LeadRouted to the webhook, Slack and Teams.
    let sent = c.deliver_all().await;
    let slack: Vec<&HttpPost> = sent
        .iter()
        .filter(|p| method(p) == "chat.postMessage")
        .collect();
    assert_eq!(slack.len(), 1, "one Slack message");
    let message = body(slack[0]);
    assert_eq!(message["channel"], CONVERSATION);
    assert!(message.get("thread_ts").is_none());
    let blocks = message["blocks"].to_string();
    assert!(blocks.contains(CLAIM_ACTION_ID), "a Claim button: {blocks}");
    assert!(blocks.contains(&id.to_string()), "its value is the lead id");
    assert!(
        !message.to_string().contains("grace.hopper@army.mil"),
        "no address in a channel"
    );
    assert!(
        slack[0]
            .headers
            .iter()
            .any(|(n, v)| *n == "authorization" && v == &format!("Bearer {BOT_TOKEN}"))
    );
    let teams: Vec<&HttpPost> = sent.iter().filter(|p| p.url == TEAMS_URL).collect();
    assert_eq!(teams.len(), 1, "one Teams card");
    let card = body(teams[0]);
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(
        card.to_string()
            .contains("https://leads.example.com/leads/"),
        "an Open-URL claim link"
    );
    // The incoming-webhook Slack channel: the same message with a claim link button.
    let incoming: Vec<&HttpPost> = sent.iter().filter(|p| p.url == SLACK_HOOK_URL).collect();
    assert_eq!(incoming.len(), 1, "one incoming-webhook message");
    let incoming = body(incoming[0]);
    assert!(
        incoming["blocks"]
            .to_string()
            .contains("https://leads.example.com/leads/")
    );
    assert!(
        !incoming["blocks"]
            .to_string()
            .contains(&format!("\"{CLAIM_ACTION_ID}\""))
    );
    let hooks: Vec<&HttpPost> = sent.iter().filter(|p| p.url == HOOK_URL).collect();
    assert_eq!(hooks.len(), 2, "LeadReceived and LeadRouted");
    for hook in &hooks {
        let header = |name: &str| {
            hook.headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        let verifier = firsthour::signature::Verifier::new(Scheme::StandardWebhooks, HOOK_SECRET)
            .expect("verifier");
        let verified = verifier
            .verify(&SignedRequest {
                method: "POST",
                url: HOOK_URL,
                body: hook.body.as_bytes(),
                header: &header,
                now: firsthour::ports::Clock::now(&c.world.clock),
            })
            .expect("a Standard Webhooks signature");
        assert!(
            verified
                .delivery_id
                .is_some_and(|id| id.starts_with("event-"))
        );
        assert!(
            !hook.body.contains("grace.hopper@army.mil"),
            "no contact unless asked"
        );
    }
    let posted = c.world.lead(&id).sla.channel_posts;
    let slack_post = posted.get("federal-slack").expect("the Slack post is kept");
    assert_eq!(slack_post.conversation.as_deref(), Some(CONVERSATION));
    let ts = slack_post.ts.clone().expect("its ts");
    assert!(posted.contains_key("federal-teams"));

    // A redelivered LeadRouted posts nothing twice.
    let routed = c
        .world
        .bus_events()
        .into_iter()
        .find(|e| e.detail_type == "LeadRouted")
        .expect("routed");
    for channel in ["federal-slack", "federal-teams"] {
        c.deliver
            .deliver(&Delivery {
                to: Destination::Channel(channel.into()),
                event: routed.clone(),
            })
            .await
            .expect("delivered");
    }
    assert!(c.net.take().is_empty(), "nothing posted twice");

    // Tier 1 (5 min) tells the Slack channel: a reply in the lead's thread.
    let sweep = c.world.sweeper();
    c.world.sweep_at(&sweep, minute(5)).await;
    let sent = c.deliver_all().await;
    let thread: Vec<Value> = sent
        .iter()
        .filter(|p| method(p) == "chat.postMessage")
        .map(body)
        .collect();
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["thread_ts"], ts.as_str());
    assert!(
        sent.iter().all(|p| p.url != TEAMS_URL),
        "the tier names Slack only"
    );

    // A stranger's click claims nothing and is told so, alone.
    assert_eq!(
        c.click(&id.to_string(), STRANGER).await,
        ClickOutcome::NotOnTeam
    );
    let told = c.net.take();
    let ephemeral = told
        .iter()
        .find(|p| p.url.starts_with("https://hooks.slack.com/"))
        .expect("an ephemeral answer");
    assert_eq!(body(ephemeral)["response_type"], "ephemeral");
    assert!(c.world.lead(&id).sla.claimed_at.is_none());

    // The mapped rep's click claims it as them; the message is updated.
    let rep = "fed-rep-2@example.com";
    assert_eq!(
        c.click(&id.to_string(), MAPPED_USER).await,
        ClickOutcome::Claimed { by: rep.into() }
    );
    let lead = c.world.lead(&id);
    assert_eq!(lead.sla.claimed_by.as_deref(), Some(rep));
    let sent = c.deliver_all().await;
    let update = sent
        .iter()
        .find(|p| method(p) == "chat.update")
        .expect("chat.update");
    let update = body(update);
    assert_eq!(update["ts"], ts.as_str());
    assert_eq!(update["channel"], CONVERSATION);
    assert!(update.to_string().contains(rep), "says who claimed it");
    assert!(
        !update.to_string().contains(CLAIM_ACTION_ID),
        "no button any more"
    );
    assert!(
        sent.iter()
            .any(|p| p.url == HOOK_URL && p.body.contains("LeadClaimed")),
        "the webhook hears of the claim"
    );
    let _ = owner;

    // The ladder stopped: later sweeps tell nobody.
    c.world.mailer.take();
    c.world.sweep_at(&sweep, minute(16)).await;
    assert!(c.world.mailer.take().is_empty());
    assert!(
        c.deliver_all()
            .await
            .iter()
            .all(|p| method(p) != "chat.postMessage")
    );
}

#[tokio::test]
async fn a_profile_email_maps_a_slack_user_and_a_second_click_is_told_who_has_it() {
    let c = Channels::new();
    let id = c.world.post_federal("Alan Turing").await;
    c.world.route(&id).await.expect("routed");
    let rep = "fed-rep-1@example.com";
    c.net
        .profiles
        .lock()
        .expect("net")
        .insert("U0FEDREP09".into(), rep.into());
    assert_eq!(
        c.click(&id.to_string(), "U0FEDREP09").await,
        ClickOutcome::Claimed { by: rep.into() }
    );
    c.net.take();
    let second = c.click(&id.to_string(), MAPPED_USER).await;
    assert_eq!(
        second,
        ClickOutcome::Taken {
            by: Some(rep.into())
        }
    );
    let told = c.net.take();
    assert!(
        told.iter()
            .any(|p| p.body.contains(rep) && body(p)["response_type"] == "ephemeral")
    );
}

#[tokio::test]
async fn slack_rate_limits_and_failures_are_retried_and_refusals_parked() {
    let mut c = Channels::new();
    let id = c.world.post_federal("Ada Lovelace").await;
    c.world.route(&id).await.expect("routed");
    let deliveries = c.fan_out().await;
    let slack = deliveries
        .iter()
        .find(|d| d.to == Destination::Channel("federal-slack".into()))
        .expect("a Slack delivery");
    c.net.script(
        "chat.postMessage",
        HttpAnswer {
            status: 429,
            retry_after: Some(Duration::from_secs(90)),
            body: json!({"ok": false, "error": "ratelimited"}).to_string(),
        },
    );
    let failure = c.deliver.deliver(slack).await.expect_err("rate limited");
    assert_eq!(
        failure,
        DeliveryFailure::Retry {
            reason: "slack: ratelimited".into(),
            retry_after: Some(Duration::from_secs(90)),
        }
    );
    // Slack's Retry-After is the least wait, whatever the backoff says.
    assert_eq!(
        firsthour::deliver::retry_delay(1, Some(Duration::from_secs(90)), 1),
        Duration::from_secs(90)
    );
    c.net.script(
        "chat.postMessage",
        Net::json(200, json!({"ok": false, "error": "internal_error"})),
    );
    assert!(matches!(
        c.deliver.deliver(slack).await,
        Err(DeliveryFailure::Retry { .. })
    ));
    c.net.script(
        "chat.postMessage",
        Net::json(200, json!({"ok": false, "error": "channel_not_found"})),
    );
    assert_eq!(
        c.deliver.deliver(slack).await,
        Err(DeliveryFailure::Permanent {
            reason: "slack: channel_not_found".into()
        })
    );
    assert!(
        c.world.lead(&id).sla.channel_posts.is_empty(),
        "nothing posted yet"
    );
    c.deliver.deliver(slack).await.expect("posted at last");
    assert!(
        c.world
            .lead(&id)
            .sla
            .channel_posts
            .contains_key("federal-slack")
    );

    let hook = deliveries
        .iter()
        .find(|d| d.to == Destination::Webhook("crm".into()))
        .expect("a webhook delivery");
    c.net.script(HOOK_URL, Net::json(503, json!("down")));
    assert!(matches!(
        c.deliver.deliver(hook).await,
        Err(DeliveryFailure::Retry { .. })
    ));
    c.net.script(HOOK_URL, Net::json(410, json!("gone")));
    assert!(matches!(
        c.deliver.deliver(hook).await,
        Err(DeliveryFailure::Permanent { .. })
    ));
}
