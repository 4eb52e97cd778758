//! The local run's sent-mail view (`/_local/mail`): its filters, its clear
//! button, and the channel stand-ins' messages listed beside the emails.
//! Needs `make build` and the venv (`make venv`).

use std::collections::BTreeSet;

use firsthour_local::chat::ChatSetup;
use firsthour_local::mail::{self, Channels, Filter, View, ViewState};
use firsthour_local::run::{RunOptions, start};
use firsthour_local::stand_ins::{StandInOptions, StandIns};
use firsthour_tests::*;
use serde_json::{Value, json};

const TEAM: &str = "federal-sales@example.com";

/// The example channels rules, pointed at the stand-ins' port.
fn channel_rules(port: u16) -> std::path::PathBuf {
    example_channel_rules(port, "")
}

/// The ids of the emails a page lists (their "open this email alone" links).
fn shown(page: &str) -> BTreeSet<String> {
    page.split("href=\"/_local/mail/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect()
}

/// The ids of the sent emails that pass `keep`.
async fn sent_ids(emulator: &str, keep: impl Fn(&mail::SentMail) -> bool) -> BTreeSet<String> {
    mail::sent_messages(emulator)
        .await
        .expect("moto data")
        .iter()
        .filter(|m| keep(m))
        .map(|m| mail::path_segment(&m.id))
        .collect()
}

fn to_team(m: &mail::SentMail) -> bool {
    m.to.iter().any(|t| t == TEAM)
}

struct Gateway {
    base: String,
    client: reqwest::Client,
}

impl Gateway {
    async fn get(&self, path_and_query: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// The page, which must answer 200 (filters never make it fail).
    async fn page(&self, query: &str) -> String {
        let (status, page) = self.get(&format!("/_local/mail{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        page
    }

    async fn post_lead(&self, body: Value) -> String {
        let answer = self
            .client
            .post(format!("{}/leads", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("intake answers");
        assert_eq!(answer.status().as_u16(), 202);
        answer.json::<Value>().await.expect("json")["lead_id"]
            .as_str()
            .expect("a lead id")
            .to_owned()
    }
}

/// Waits until the lead's two emails (the team's, the owner's) and its Slack
/// message and Teams card have arrived.
async fn delivered(emulator: &str, stand_ins: &StandIns, lead: &str) {
    eventually(30, "the lead's two emails", || async {
        let ids = sent_ids(emulator, |m| m.body.contains(lead)).await;
        (ids.len() >= 2).then_some(())
    })
    .await;
    eventually(30, "the lead's Slack message and Teams card", || async {
        let all = stand_ins.messages().await.ok()?;
        let kinds: BTreeSet<String> = all["messages"]
            .as_array()?
            .iter()
            .filter(|m| m["body"].to_string().contains(lead))
            .filter_map(|m| m["kind"].as_str().map(str::to_owned))
            .collect();
        (kinds.contains("slack_app") && kinds.contains("teams")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_view_filters_clears_and_lists_the_channel_messages() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let port = free_port();
    let rules = channel_rules(port);
    let options = RunOptions {
        chat: Some(ChatSetup {
            config: rules.clone(),
            root: root(),
            port,
            failing_hooks: Vec::new(),
        }),
        ..local_run_options(&moto, "mail", &rules)
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` and `make venv` first)");
    let stand_ins = running.stand_ins.as_ref().expect("the stand-ins run");
    let gateway = Gateway {
        base: format!("http://{}", running.http_addr),
        // The clear's redirect is checked, not followed.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
    };

    let first = gateway
        .post_lead(json!({"email": "grace.hopper@navy.mil", "name": "Grace Hopper"}))
        .await;
    let second = gateway
        .post_lead(json!({"email": "k.lee@jpl.nasa.gov", "name": "K Lee"}))
        .await;
    delivered(&moto.url, stand_ins, &first).await;
    delivered(&moto.url, stand_ins, &second).await;

    // Everything, and the channel section with the stand-ins' page linked.
    let all = gateway.page("").await;
    let everything = sent_ids(&moto.url, |_| true).await;
    assert_eq!(shown(&all), everything);
    assert!(all.contains("<h2>Channel messages</h2>"), "{all}");
    assert!(
        all.contains(&format!("href=\"{}/\"", stand_ins.base_url())),
        "{all}"
    );
    assert!(
        all.contains("<strong>slack_app</strong> · C0FEDERAL01"),
        "{all}"
    );
    assert!(
        all.contains("<strong>teams</strong> · federal-teams"),
        "{all}"
    );
    assert!(
        all.contains(&format!("href=\"/_local/mail?lead={first}\"")),
        "each email links to its lead"
    );
    assert!(
        all.contains("href=\"/_local/mail?to=federal-sales%40example.com\""),
        "and to each recipient"
    );

    // By lead: its emails only, and its channel messages only.
    let by_lead = gateway.page(&format!("?lead={first}")).await;
    assert_eq!(
        shown(&by_lead),
        sent_ids(&moto.url, |m| m.body.contains(&first)).await
    );
    assert!(by_lead.contains("<strong>slack_app</strong>"), "{by_lead}");
    assert!(
        !by_lead.contains(&second),
        "nothing of the other lead: {by_lead}"
    );
    // By recipient, in any case.
    let by_team = gateway.page("?to=FEDERAL-SALES%40Example.COM").await;
    let team_mails = sent_ids(&moto.url, to_team).await;
    assert_eq!(team_mails.len(), 2);
    assert_eq!(shown(&by_team), team_mails);
    // Both.
    let both = gateway
        .page(&format!("?lead={}&to={TEAM}", first.to_lowercase()))
        .await;
    assert_eq!(
        shown(&both),
        sent_ids(&moto.url, |m| m.body.contains(&first) && to_team(m)).await
    );
    assert_eq!(shown(&both).len(), 1);
    // Bogus values: the page with a note, unfiltered by them.
    let bogus = gateway
        .page("?lead=%3Cscript%3Ealert(1)%3C%2Fscript%3E&to=nobody")
        .await;
    assert!(bogus.contains("is not a lead id"), "{bogus}");
    assert!(bogus.contains("is not an email address"), "{bogus}");
    assert!(!bogus.contains("<script>alert"), "{bogus}");
    assert_eq!(shown(&bogus), everything);

    // The clear button: POST only, then back to the view, emptied.
    let (status, _) = gateway.get("/_local/mail/clear").await;
    assert_eq!(status, 405, "a GET does not clear");
    assert_eq!(shown(&gateway.page("").await), everything);
    let cleared = gateway
        .client
        .post(format!("{}/_local/mail/clear", gateway.base))
        .send()
        .await
        .expect("the clear answers");
    assert_eq!(cleared.status().as_u16(), 303);
    assert_eq!(
        cleared
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok()),
        Some("/_local/mail")
    );
    let empty = gateway.page("").await;
    assert!(shown(&empty).is_empty(), "{empty}");
    assert!(empty.contains("Sent mail (0)"), "{empty}");
    assert!(empty.contains("No email sent since the clear."), "{empty}");
    assert!(
        empty.contains("No channel message since the clear."),
        "{empty}"
    );
    assert!(empty.contains("Cleared at "), "{empty}");
    // moto still has them: an email opened alone still shows.
    let one = everything.iter().next().expect("an email");
    assert_eq!(gateway.get(&format!("/_local/mail/{one}")).await.0, 200);

    // What is sent after the clear shows, escaped whatever the lead typed.
    let third = gateway
        .post_lead(json!({
            "email": "maj.payne@army.mil",
            "name": "<script>alert('name')</script>",
            "company": "<script>alert('company')</script>",
            "message": "<img src=x onerror=alert(1)> & <b>bold</b>",
        }))
        .await;
    delivered(&moto.url, stand_ins, &third).await;
    let after = gateway.page("").await;
    assert_eq!(
        shown(&after),
        sent_ids(&moto.url, |m| m.body.contains(&third)).await
    );
    assert!(
        after.contains("<strong>slack_app</strong> · C0FEDERAL01"),
        "{after}"
    );
    assert!(
        !after.contains(&first) && !after.contains(&second),
        "{after}"
    );
    assert!(!after.contains("<script>alert"), "{after}");
    assert!(!after.contains("<img src=x"), "{after}");
    running.stop().await;
}

const TOKEN: &str = "xoxb-mail-view-test";

async fn slack(stand_ins: &StandIns, method: &str, body: Value) -> Value {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/{method}", stand_ins.slack_api_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the Web API answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

fn rendered(channels: &Channels, query: Option<&str>) -> String {
    mail::render_page(&View {
        mails: &[],
        filter: &Filter::parse(query),
        cleared: None,
        channels,
    })
}

#[tokio::test]
async fn the_channel_section_reads_the_stand_ins_and_escapes_what_a_lead_typed() {
    let stand_ins = StandIns::start(&StandInOptions {
        slack_token: TOKEN.into(),
        slack_channels: vec!["C0FEDERAL01=federal-leads".into()],
        teams: vec!["federal-teams".into()],
        ..StandInOptions::in_repo(&root())
    })
    .await
    .expect("the stand-ins start (run `make venv` first)");
    let lead = ulid::Ulid::new().to_string();
    let other = ulid::Ulid::new().to_string();
    let posted = slack(
        &stand_ins,
        "chat.postMessage",
        json!({"channel": "C0FEDERAL01", "text": "fallback", "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": "<script>alert('lead')</script>"}},
            {"type": "context", "elements": [{"type": "plain_text", "text": format!("Lead id: {lead}")}]}
        ]}),
    )
    .await;
    let ts = posted["ts"].as_str().expect("a ts").to_owned();
    slack(
        &stand_ins,
        "chat.update",
        json!({"channel": "C0FEDERAL01", "ts": ts, "text": "Claimed by <b>fed-rep-1</b>"}),
    )
    .await;
    let card = json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {"type": "AdaptiveCard", "version": "1.5", "body": [
            {"type": "TextBlock", "text": "<img src=x onerror=alert(1)>", "wrap": true},
            {"type": "TextBlock", "text": format!("Lead id: {other}"), "wrap": true}]}}]});
    let answer = reqwest::Client::new()
        .post(stand_ins.teams_url("federal-teams"))
        .json(&card)
        .send()
        .await
        .expect("the workflow answers");
    assert_eq!(answer.status().as_u16(), 202);

    let channels = ViewState::new(Some(stand_ins.base_url())).channels().await;
    let Channels::Read { messages, .. } = &channels else {
        panic!("the stand-ins' messages: {channels:?}");
    };
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].text, "<script>alert('lead')</script>");
    assert_eq!(messages[0].updates.len(), 1);
    assert_eq!(messages[1].text, "<img src=x onerror=alert(1)>");

    let page = rendered(&channels, None);
    assert!(
        page.contains("&lt;script&gt;alert('lead')&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("updated: Claimed by &lt;b&gt;fed-rep-1&lt;/b&gt;"),
        "{page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(
        !page.contains("<script>") && !page.contains("<img"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"{}/\"", stand_ins.base_url())));
    let by_lead = rendered(&channels, Some(&format!("lead={lead}")));
    assert!(by_lead.contains("alert('lead')") && !by_lead.contains("onerror"));

    // No stand-ins in the run, or stand-ins that do not answer.
    let none = ViewState::new(None).channels().await;
    assert_eq!(none, Channels::NotConfigured);
    assert!(rendered(&none, None).contains(mail::NO_CHANNELS));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let gone = ViewState::new(Some(closed.clone())).channels().await;
    assert!(
        matches!(&gone, Channels::Unreadable { base_url, .. } if *base_url == closed),
        "{gone:?}"
    );
    assert!(rendered(&gone, None).contains("Cannot read the channel stand-ins"));
}
