use std::time::Duration;

use time::macros::datetime;

use super::*;
use crate::channel::ChannelKind;

fn rules(text: &str) -> Result<crate::config::FileConfig, String> {
    crate::config::FileConfig::parse_with_env(text, std::path::Path::new("firsthour.toml"), &|_| {
        Some("team@example.com".into())
    })
    .map_err(|err| err.to_string())
}

const FALLBACK: &str = r#"
[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["ops@example.com"]
"#;

#[test]
fn retries_wait_30_s_doubling_to_2_h_and_never_less_than_retry_after() {
    let waits: Vec<u64> = (1..=10)
        .map(|n| retry_delay(n, None, 1).as_secs())
        .collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3840, 7200, 7200]);
    assert_eq!(
        retry_delay(u32::MAX, None, 1),
        MAX_RETRY_DELAY,
        "no overflow"
    );
    assert_eq!(
        retry_delay(1, Some(Duration::from_secs(90)), 1),
        Duration::from_secs(90)
    );
    assert_eq!(
        retry_delay(9, Some(Duration::from_secs(5)), 1),
        MAX_RETRY_DELAY
    );
    assert_eq!(
        retry_delay(1, Some(Duration::from_secs(86_400)), 1),
        MAX_QUEUE_WAIT,
        "SQS waits 12 h at most"
    );
    // Sped up, never a tight loop; Retry-After is not sped up.
    assert_eq!(retry_delay(1, None, 3600), Duration::from_secs(1));
    assert_eq!(
        retry_delay(1, Some(Duration::from_secs(3)), 3600),
        Duration::from_secs(3)
    );
    // What the backoff adds up to before 24 h: about a dozen tries.
    let mut elapsed = Duration::ZERO;
    let mut tries = 0;
    while elapsed < GIVE_UP_AFTER {
        tries += 1;
        elapsed += retry_delay(tries, None, 1);
    }
    assert!((15..=25).contains(&tries), "{tries} tries in 24 h");
}

#[test]
fn a_delivery_gives_up_after_24_hours() {
    let first = datetime!(2026-11-23 15:00 UTC);
    assert!(!gives_up(first, first + time::Duration::hours(23), 1));
    assert!(gives_up(first, first + time::Duration::hours(24), 1));
    assert!(gives_up(first, first + time::Duration::seconds(24), 3600));
}

#[test]
fn webhook_endpoints_are_https_or_this_machine_and_carry_no_credentials() {
    assert!(endpoint_url("https://crm.example.com/hook").is_ok());
    assert!(endpoint_url("http://127.0.0.1:4040/hooks/crm").is_ok());
    assert!(endpoint_url("http://localhost/x").is_ok());
    for bad in [
        "http://crm.example.com/hook",
        "ftp://crm.example.com",
        "https://user:pass@crm.example.com",
        "not a url",
        "",
    ] {
        assert!(endpoint_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_webhooks_mistakes_are_named_with_their_line() {
    let cases = [
        (
            r#"[[webhooks]]
name = "crm"
url = "http://crm.example.com"
events = ["LeadRouted"]"#,
            "line 1: [[webhooks]] \"crm\" url",
        ),
        (
            r#"[[webhooks]]
name = "crm"
url = "https://crm.example.com"
events = ["LeadRouted", "LeadExploded"]"#,
            "unknown event \"LeadExploded\"",
        ),
        (
            r#"[[webhooks]]
name = "crm"
url = "https://crm.example.com"
events = []"#,
            "give the events",
        ),
        (
            r#"[[webhooks]]
name = "c r m"
url = "https://crm.example.com"
events = ["LeadRouted"]"#,
            "a name is 1 to 64",
        ),
        (
            r#"[[webhooks]]
name = "crm"
url = "https://a.example.com"
events = ["LeadRouted"]
[[webhooks]]
name = "crm"
url = "https://b.example.com"
events = ["LeadRouted"]"#,
            "used twice",
        ),
        (
            r#"[[webhooks]]
name = "crm"
url = "https://a.example.com"
events = ["LeadRouted"]
headers = { x = "y" }"#,
            "unknown field `headers`",
        ),
    ];
    for (text, expected) in cases {
        let err = rules(&format!("{text}\n{FALLBACK}")).expect_err(expected);
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
    }
    let file = rules(&format!(
        "[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example.com/in\"\nevents = [\"leadrouted\", \"LeadRouted\", \"LeadClaimed\"]\ninclude_contact = true\n{FALLBACK}"
    ))
    .expect("valid");
    assert_eq!(
        file.outbound_webhooks[0].events,
        ["LeadRouted", "LeadClaimed"]
    );
    assert!(file.outbound_webhooks[0].include_contact);
}

#[test]
fn a_channels_mistakes_are_named() {
    let cases = [
        (
            "[channels.sales]\nkind = \"slack\"\nchannel = \"#sales\"",
            "give the channel's id",
        ),
        (
            "[channels.sales]\nkind = \"email\"",
            "unknown variant `email`",
        ),
        (
            "[channels.sales]\nkind = \"teams\"\nchannel = \"C0123456789\"",
            "takes no `channel`",
        ),
        (
            "[channels.sales]\nkind = \"slack\"\nchannel = \"C0123456789\"\nusers = { bob = \"bob@example.com\" }",
            "not a Slack user id",
        ),
        (
            "[channels.sales]\nkind = \"slack\"\nchannel = \"C0123456789\"\nusers = { U024BE7LH = \"bob\" }",
            "users.U024BE7LH",
        ),
        (
            "[channels.sales]\nkind = \"slack\"\nusers = { U024BE7LH = \"bob@example.com\" }",
            "no Claim button",
        ),
    ];
    for (text, expected) in cases {
        let err = rules(&format!("{text}\n{FALLBACK}")).expect_err(expected);
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
    }
    let unknown = format!(
        "[[rules]]\nname = \"all\"\nsegment = \"all\"\nrecipients = [\"a@example.com\", \"channel:nowhere\"]\n{FALLBACK}"
    );
    assert!(
        rules(&unknown)
            .expect_err("unknown channel")
            .contains("channel \"nowhere\" is not defined under [channels]")
    );
    let only_a_channel = format!(
        "[channels.sales]\nkind = \"teams\"\n[[rules]]\nname = \"all\"\nsegment = \"all\"\nrecipients = [\"channel:sales\"]\n{FALLBACK}"
    );
    assert!(
        rules(&only_a_channel)
            .expect_err("no email")
            .contains("a channel is told beside an email")
    );
    let fine = rules(&format!(
        "[channels.sales]\nkind = \"slack\"\nchannel = \"C0123456789\"\nusers = {{ U024BE7LH = \"Bob@Example.com\" }}\n[[rules]]\nname = \"all\"\nsegment = \"all\"\nrecipients = [\"a@example.com\", \"channel:sales\", \"channel:sales\"]\n{FALLBACK}"
    ))
    .expect("valid");
    let rule = fine.routing.rule("all").expect("rule");
    assert_eq!(rule.recipients, ["a@example.com"]);
    assert_eq!(rule.channels, ["sales"]);
    let channel = &fine.routing.channels["sales"];
    assert_eq!(
        channel.kind,
        ChannelKind::SlackApp {
            channel: "C0123456789".into()
        }
    );
    assert_eq!(channel.secret, "sales");
}

#[test]
fn the_outbound_secrets_are_checked_for_what_each_destination_needs() {
    let file = rules(&format!(
        "[channels.slack-app]\nkind = \"slack\"\nchannel = \"C0123456789\"\n[channels.teams]\nkind = \"teams\"\n[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example.com\"\nevents = [\"LeadRouted\"]\n{FALLBACK}"
    ))
    .expect("valid");
    let parse = |raw: &str| {
        OutboundSecrets::parse(
            Some(raw),
            file.routing.channels.values(),
            &file.outbound_webhooks,
        )
        .map(|_| ())
        .map_err(|err| err.to_string())
    };
    let good = serde_json::json!({
        "slack-app": {"bot_token": "xoxb-1-2-abc", "signing_secret": "s3cret"},
        "teams": {"webhook_url": "https://example.webhook.office.com/x"},
        "crm": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });
    assert_eq!(parse(&good.to_string()), Ok(()));
    let with = |key: &str, value: serde_json::Value| {
        let mut secrets = good.clone();
        secrets[key] = value;
        secrets.to_string()
    };
    let cases = [
        ("[1,2]".to_owned(), "must be a JSON object"),
        (
            serde_json::json!({"teams": good["teams"], "crm": good["crm"]}).to_string(),
            "no \"slack-app\" entry, which [channels.slack-app] needs",
        ),
        (
            with("slack-app", serde_json::json!({"bot_token": "xoxp-user"})),
            "a Slack app needs",
        ),
        (
            with(
                "slack-app",
                serde_json::json!({"bot_token": "xoxp-1", "signing_secret": "s"}),
            ),
            "bot token (xoxb-",
        ),
        (
            with(
                "teams",
                serde_json::json!({"webhook_url": "http://evil.example.com"}),
            ),
            "must be https",
        ),
        (
            with("crm", serde_json::json!("not-base64!")),
            "whsec_ and base64",
        ),
        (
            with("crm", serde_json::json!("whsec_c2hvcnQ=")),
            "24 to 64 bytes",
        ),
    ];
    for (raw, expected) in cases {
        let err = parse(&raw).expect_err(expected);
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
        assert!(
            !err.contains("xoxp-1") && !err.contains("evil"),
            "no secret in {err:?}"
        );
    }
}

#[test]
fn a_secret_webhook_url_is_never_in_an_error_even_with_a_colon_in_it() {
    let file = rules(&format!(
        "[channels.hook]\nkind = \"slack\"\n[[rules]]\nname = \"all\"\nsegment = \"all\"\nrecipients = [\"a@example.com\", \"channel:hook\"]\n{FALLBACK}"
    ))
    .expect("valid");
    for secret in [
        // Parses (scheme `webhook`), then is refused for not being https.
        "Webhook: https://hooks.slack.com/services/T0/B0/SECRETxyz",
        // Does not parse at all.
        "not a url: https://hooks.slack.com/services/T0/B0/SECRETxyz",
        "https://user:pw@hooks.slack.com/services/T0/B0/SECRETxyz: x",
    ] {
        let raw = serde_json::json!({"hook": {"webhook_url": secret}}).to_string();
        let err = OutboundSecrets::parse(Some(&raw), file.routing.channels.values(), &[])
            .expect_err(secret)
            .to_string();
        assert!(err.contains("\"hook\" entry"), "{err:?} names the entry");
        assert!(
            !err.contains("SECRET") && !err.contains("services/T0"),
            "no secret in {err:?}"
        );
        let problem = endpoint_url(secret).expect_err(secret);
        assert!(!problem.contains("SECRET"), "no URL in {problem:?}");
    }
}

#[test]
fn a_rules_files_webhook_url_is_named_in_its_error() {
    let err = rules(&format!(
        "[[webhooks]]\nname = \"crm\"\nurl = \"http://crm.example.com/in\"\nevents = [\"LeadRouted\"]\n{FALLBACK}"
    ))
    .expect_err("http");
    assert!(
        err.contains(
            "[[webhooks]] \"crm\" url \"http://crm.example.com/in\": must be https:// (http only to localhost)"
        ),
        "{err:?}"
    );
}

#[test]
fn too_many_channels_names_the_first_one_past_the_limit_in_the_file() {
    let channels: String = (0..=crate::channel::MAX_CHANNELS)
        .map(|n| format!("[channels.c{n:02}]\nkind = \"teams\"\n"))
        .collect();
    let text = format!("{channels}{FALLBACK}");
    let extra = text.find("[channels.c20]").expect("the 21st");
    let line = text[..extra].lines().count() + 1;
    for _ in 0..5 {
        let err = rules(&text).expect_err("too many");
        assert!(err.contains("at most 20 channels"), "{err:?}");
        assert!(
            err.contains(&format!("line {line}:")),
            "{err:?} at line {line}"
        );
    }
}

#[test]
fn slack_ids_are_told_apart_by_their_first_letter() {
    use crate::channel::{SLACK_CONVERSATION_PREFIXES, SLACK_USER_PREFIXES, slack_id};
    assert!(slack_id("C0123456789", SLACK_CONVERSATION_PREFIXES));
    assert!(slack_id("G0123456789", SLACK_CONVERSATION_PREFIXES));
    assert!(!slack_id("U024BE7LH", SLACK_CONVERSATION_PREFIXES));
    assert!(slack_id("U024BE7LH", SLACK_USER_PREFIXES));
    assert!(slack_id("W024BE7LH", SLACK_USER_PREFIXES));
    assert!(!slack_id("C0123456789", SLACK_USER_PREFIXES));
    assert!(!slack_id("U024be7lh", SLACK_USER_PREFIXES));
    assert!(!slack_id("U024", SLACK_USER_PREFIXES));
}

/// Every POST kept, each answered 200.
#[derive(Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<HttpPost>>>);

impl HttpPoster for Recorder {
    async fn post(&self, request: &HttpPost) -> Result<HttpAnswer, HttpError> {
        self.0.lock().expect("recorder").push(request.clone());
        Ok(HttpAnswer {
            status: 200,
            retry_after: None,
            body: "1".into(),
        })
    }
}

impl Recorder {
    fn take(&self) -> Vec<HttpPost> {
        std::mem::take(&mut self.0.lock().expect("recorder"))
    }
}

#[tokio::test]
async fn a_tier_message_says_breached_as_the_escalation_did_and_reads_the_fallback_ladder() {
    use crate::memory::MemoryStore;
    use crate::ports::ManualClock;

    const TEAMS_URL: &str = "https://example.webhook.office.com/x";
    let file = rules(
        r#"
[channels.ops]
kind = "teams"

[ladders.quick]
tiers = [
  { after = "5m", notify = ["channel:ops"] },
  { after = "10m", notify = ["fallback"] },
]

[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["ops@example.com", "channel:ops"]
ladder = "quick"
"#,
    )
    .expect("valid");
    let secrets = OutboundSecrets::parse(
        Some(&serde_json::json!({"ops": TEAMS_URL}).to_string()),
        file.routing.channels.values(),
        &[],
    )
    .expect("secrets");
    let mut lead = crate::record::fixtures::federal(Default::default(), vec![]);
    // Its rule was taken out of the file since: the fallback's ladder is its.
    lead.route.rule = "retired".into();
    let store = MemoryStore::new();
    store.put_lead(lead.clone());
    let net = Recorder::default();
    let service = DeliverService::new(
        store,
        net.clone(),
        ManualClock::new(lead.received_at + time::Duration::minutes(6)),
        Outbound {
            routing: file.routing,
            webhooks: Vec::new(),
            secrets,
            slack_api_url: slack::SLACK_API_URL.into(),
            public_base_url: None,
            link_key: None,
            link_ttl: Duration::from_secs(3600),
            speedup: 1,
        },
    );
    let headline = async |detail: serde_json::Value| {
        let delivery = Delivery {
            to: Destination::Channel("ops".into()),
            event: BusEvent {
                id: "event-1".into(),
                detail_type: crate::events::LEAD_ESCALATED.into(),
                time: "2026-11-22T14:30:00Z".into(),
                detail,
            },
        };
        service.deliver(&delivery).await.expect("delivered");
        let sent = net.take();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url, TEAMS_URL);
        sent[0].body.clone()
    };
    let id = lead.id.to_string();
    // No `breached` in the event: judged against the fallback's two tiers.
    let first = headline(serde_json::json!({"lead_id": id, "tier": 1})).await;
    assert!(first.contains("Escalation 1 of 2"), "{first}");
    let past = headline(serde_json::json!({"lead_id": id, "tier": 3})).await;
    assert!(past.contains("SLA breached"), "{past}");
    // The escalation's word is taken as given.
    let said = headline(serde_json::json!({"lead_id": id, "tier": 2, "breached": true})).await;
    assert!(said.contains("SLA breached"), "{said}");
    let not = headline(serde_json::json!({"lead_id": id, "tier": 1, "breached": false})).await;
    assert!(not.contains("Escalation 1 of 2"), "{not}");
}

#[tokio::test]
async fn a_webhook_is_signed_with_the_key_checked_at_start_up() {
    use crate::memory::MemoryStore;
    use crate::ports::ManualClock;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let file = rules(&format!(
        "[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example.com/in\"\nevents = [\"LeadRouted\"]\n{FALLBACK}"
    ))
    .expect("valid");
    let secrets = OutboundSecrets::parse(
        Some(&serde_json::json!({"crm": SECRET}).to_string()),
        file.routing.channels.values(),
        &file.outbound_webhooks,
    )
    .expect("secrets");
    assert_eq!(
        secrets.webhook_key("crm"),
        crate::signature::standard_webhooks_key(SECRET).as_deref()
    );
    let now = datetime!(2026-11-22 14:30 UTC);
    let net = Recorder::default();
    let service = DeliverService::new(
        MemoryStore::new(),
        net.clone(),
        ManualClock::new(now),
        Outbound {
            routing: file.routing,
            webhooks: file.outbound_webhooks,
            secrets,
            slack_api_url: slack::SLACK_API_URL.into(),
            public_base_url: None,
            link_key: None,
            link_ttl: Duration::from_secs(3600),
            speedup: 1,
        },
    );
    let event = BusEvent {
        id: "event-7".into(),
        detail_type: crate::events::LEAD_ROUTED.into(),
        time: "2026-11-22T14:29:00Z".into(),
        detail: serde_json::json!({"lead_id": "01KAQ5WZ8Y3Q6T0B7H2M4N9P1R"}),
    };
    service
        .deliver(&Delivery {
            to: Destination::Webhook("crm".into()),
            event,
        })
        .await
        .expect("delivered");
    let sent = net.take();
    let header = |name: &str| {
        sent[0]
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("webhook-signature"),
        Some(crate::signature::sign::standard_webhooks(
            SECRET,
            "event-7",
            now.unix_timestamp(),
            sent[0].body.as_bytes()
        ))
    );
}

#[test]
fn a_bus_event_names_its_lead_and_tier() {
    let event: BusEvent = serde_json::from_value(serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "LeadEscalated",
        "source": "firsthour",
        "account": "111122223333",
        "time": "2026-11-23T15:05:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"lead_id": "01KAQ5WZ8Y3Q6T0B7H2M4N9P1R", "tier": 2, "segment": "federal"}
    }))
    .expect("EventBridge's envelope");
    assert_eq!(event.tier(), Some(2));
    assert!(event.lead_id().is_some());
    let delivery = Delivery {
        to: Destination::Webhook("crm".into()),
        event,
    };
    let json = serde_json::to_string(&delivery).expect("serialises");
    assert!(
        json.contains(r#""to":{"kind":"webhook","name":"crm"}"#),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<Delivery>(&json).expect("reads back"),
        delivery
    );
}

fn form(payload: &str) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .finish()
        .into_bytes()
}

#[test]
fn a_claim_click_is_read_from_slacks_block_actions_and_anything_else_is_refused_by_name() {
    use slack::{InteractionError, claim_click};
    let lead = "01KAQ5WZ8Y3Q6T0B7H2M4N9P1R";
    let click = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U024BE7LH", "username": "ana"},
        "container": {"type": "message", "channel_id": "C0123456789", "message_ts": "1.2"},
        "response_url": "https://hooks.slack.com/actions/T1/2/x",
        "actions": [{"action_id": crate::channel::CLAIM_ACTION_ID, "value": lead, "type": "button"}],
    });
    let read = claim_click(&form(&click.to_string())).expect("a claim click");
    assert_eq!(read.lead_id.to_string(), lead);
    assert_eq!(read.user, "U024BE7LH");
    assert_eq!(read.channel.as_deref(), Some("C0123456789"));
    let with = |key: &str, value: serde_json::Value| {
        let mut changed = click.clone();
        changed[key] = value;
        form(&changed.to_string())
    };
    let cases: [(Vec<u8>, InteractionError); 7] = [
        (b"token=abc".to_vec(), InteractionError::NoPayload),
        (form("{not json"), InteractionError::NotJson(String::new())),
        (
            with("type", "view_submission".into()),
            InteractionError::NotBlockActions,
        ),
        (
            with("actions", serde_json::json!([])),
            InteractionError::NoClaimAction,
        ),
        (
            with(
                "actions",
                serde_json::json!([{"action_id": crate::channel::CLAIM_ACTION_ID, "value": "../../etc"}]),
            ),
            InteractionError::BadLeadId,
        ),
        (
            with("user", serde_json::json!({"id": "<script>"})),
            InteractionError::NoUser,
        ),
        (
            with("user", serde_json::Value::Null),
            InteractionError::NoUser,
        ),
    ];
    for (body, expected) in cases {
        let err = claim_click(&body).expect_err("refused");
        assert_eq!(
            std::mem::discriminant(&err),
            std::mem::discriminant(&expected),
            "{err}"
        );
    }
    // A huge or binary body is refused, never a panic.
    assert!(claim_click(&[0xff; 100_000]).is_err());
}

#[test]
fn an_ephemeral_answer_goes_only_to_slack_or_the_local_stand_in() {
    use slack::trusted_response_url;
    let api = "https://slack.com/api";
    assert!(trusted_response_url(
        "https://hooks.slack.com/actions/T1/2/x",
        api
    ));
    assert!(!trusted_response_url(
        "http://hooks.slack.com/actions/T1/2/x",
        api
    ));
    assert!(!trusted_response_url(
        "https://hooks.slack.com.evil.example/x",
        api
    ));
    assert!(!trusted_response_url(
        "http://169.254.169.254/latest/meta-data",
        api
    ));
    let local = "http://127.0.0.1:4040/api";
    assert!(trusted_response_url(
        "http://127.0.0.1:4040/actions/1",
        local
    ));
    assert!(!trusted_response_url(
        "http://127.0.0.1:9999/actions/1",
        local
    ));
}

#[test]
fn slacks_answers_are_read_in_its_documented_shapes() {
    let answer = |status: u16, body: &str, retry: Option<u64>| HttpAnswer {
        status,
        retry_after: retry.map(Duration::from_secs),
        body: body.to_owned(),
    };
    assert!(
        slack::read(&answer(
            200,
            r#"{"ok":true,"channel":"C1","ts":"1.2"}"#,
            None
        ))
        .is_ok()
    );
    assert_eq!(
        slack::read(&answer(
            429,
            r#"{"ok":false,"error":"ratelimited"}"#,
            Some(30)
        )),
        Err(slack::SlackError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        })
    );
    assert!(matches!(
        slack::read(&answer(200, r#"{"ok":false,"error":"invalid_auth"}"#, None)),
        Err(slack::SlackError::Refused(e)) if e == "invalid_auth"
    ));
    assert!(matches!(
        slack::read(&answer(
            200,
            r#"{"ok":false,"error":"service_unavailable"}"#,
            None
        )),
        Err(slack::SlackError::Unavailable(_))
    ));
    assert!(matches!(
        slack::read(&answer(502, "<html>bad gateway</html>", None)),
        Err(slack::SlackError::Unavailable(_))
    ));
    assert!(matches!(
        slack::read(&answer(200, "<html>captive portal</html>", None)),
        Err(slack::SlackError::Unavailable(_))
    ));
    assert_eq!(
        http::parse_retry_after(" 30 "),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        http::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
        None
    );
}
