//! `firsthour leads` and `firsthour rules deploy` against moto, run as the
//! built binary with the environment `make run` prints. The leads are put
//! at each stage by the functions themselves, in-process, on a clock the
//! test sets: posted, routed, swept, claimed, touched.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use firsthour::lead::LeadId;
use firsthour::ports::{EscalationStore, ManualClock};
use firsthour_aws::DynamoLeadStore;
use firsthour_tests::*;
use time::OffsetDateTime;

/// One team of three reps, a wall-clock ladder (so the test does not
/// depend on the hour it runs at): 5 min the owner, 10 min reassigned to
/// the next rep, 15 min the manager, the breach at 20 min.
const CONFIG: &str = r#"
[teams.sales]
manager = "sales-lead@example.com"
reps = [
  { email = "rep-a@example.com" },
  { email = "rep-b@example.com" },
  { email = "rep-c@example.com" },
]

[ladders.fast]
tiers = [
  { after = "5m", notify = ["owner"] },
  { after = "10m", reassign = true, notify = ["owner"] },
  { after = "15m", notify = ["manager"] },
]

[[rules]]
name = "everyone"
segment = "commercial"
team = "sales"
assignment = "round_robin"
ladder = "fast"

[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["ops@example.com"]
"#;

/// A stack with the test's rules, and a clock it moves by hand.
struct World {
    t: TestStack,
    rules: String,
    clock: ManualClock,
    outbox: Outbox,
}

impl World {
    /// Starting `minutes_ago` before now: what the CLI reads is on the real clock.
    async fn new(minutes_ago: u64) -> Self {
        let start = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("whole second")
            - Duration::from_secs(minutes_ago * 60);
        Self {
            t: TestStack::new().await,
            rules: temp_config(CONFIG),
            clock: ManualClock::new(start),
            outbox: Outbox::default(),
        }
    }

    fn at(&self, minutes: u64, from: OffsetDateTime) {
        self.clock.set(from + Duration::from_secs(minutes * 60));
    }

    fn now(&self) -> OffsetDateTime {
        use firsthour::ports::Clock;
        self.clock.now()
    }

    fn intake(&self) -> Intake<ManualClock> {
        self.t
            .app()
            .config(&self.rules)
            .clock(self.clock.clone())
            .intake()
    }

    async fn post(&self, body: &str, headers: &[(&str, &str)]) -> String {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let (status, _, text) = parts(
            self.intake()
                .handle(http_api_request("POST", "/leads", &all, body.as_bytes()))
                .await,
        );
        assert_eq!(status, 202, "{text}");
        json(&text)["lead_id"].as_str().expect("id").to_owned()
    }

    /// Hands every LeadReceived waiting in the rule queues to the router.
    async fn route(&self) {
        let router = self
            .t
            .app()
            .config(&self.rules)
            .clock(self.clock.clone())
            .mailer(self.outbox.clone())
            .router();
        let mut events = Vec::new();
        for queue in self.t.router_queues() {
            events.extend(
                self.t
                    .queue_events(&queue, 0, Duration::from_millis(300))
                    .await,
            );
        }
        for event in events {
            let event: EventBridgeEvent<serde_json::Value> =
                serde_json::from_value(event).expect("event");
            router.handle(event).await.expect("routed");
        }
    }

    async fn sweep(&self) {
        self.t
            .app()
            .config(&self.rules)
            .clock(self.clock.clone())
            .mailer(self.outbox.clone())
            .escalation()
            .sweep()
            .await
            .expect("sweep");
    }

    fn store(&self) -> DynamoLeadStore {
        DynamoLeadStore::new(self.t.dynamo(), &self.t.stack.table_name)
    }

    /// Claims as a claim link does.
    async fn claim(&self, id: &str, by: &str) {
        let outcome = self
            .store()
            .claim(&LeadId::parse(id).expect("id"), by, self.now())
            .await
            .expect("claim");
        assert!(
            matches!(outcome, firsthour::ports::ClaimOutcome::Claimed { .. }),
            "{outcome:?}"
        );
    }

    async fn lead(&self, id: &str) -> HashMap<String, AttributeValue> {
        self.t
            .leads()
            .await
            .into_iter()
            .find(|l| s(l, "lead_id") == Some(id))
            .expect("lead")
    }

    async fn owner(&self, id: &str) -> String {
        s(&self.lead(id).await, "owner").expect("owner").to_owned()
    }

    /// `firsthour leads ARGS --table … --rules …`, with `env`.
    fn leads(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut all = vec!["leads"];
        all.extend_from_slice(args);
        all.extend(["--table", &self.t.stack.table_name, "--rules", &self.rules]);
        firsthour_cli_with(&all, env)
    }

    /// What the stack's functions send email and sign claim links with.
    fn mail_env(&self) -> Vec<(String, String)> {
        let env = self.t.function_env("EscalationFunction", &[]);
        [
            "FIRSTHOUR_SENDER_EMAIL",
            "FIRSTHOUR_PUBLIC_BASE_URL",
            "FIRSTHOUR_LINK_SIGNING_KEY_SECRET_ARN",
            "FIRSTHOUR_SES_CONFIGURATION_SET",
        ]
        .iter()
        .filter_map(|k| env.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
    }
}

/// The header and rows of the CLI's CSV (its values here hold no commas or quotes).
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    (header, lines.collect())
}

fn ids(rows: &serde_json::Value) -> HashSet<String> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn set(ids: &[&String]) -> HashSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

/// The leads of `every_state`, by what happened to them.
struct States {
    new: String,
    routed: String,
    escalated: String,
    breached: String,
    claimed: String,
    touched: String,
}

/// A lead at every stage: breached (its ladder ran out), escalated twice
/// and unclaimed, claimed, escalated then claimed and touched, routed,
/// and new (never routed). Each person is `<stage>@<stage>.example`.
async fn every_state(w: &World) -> States {
    let t0 = w.now();
    let post = |who: &str| {
        format!(
            r#"{{"email":"{who}@{who}.example","name":"{} Person","company":"{} Corp","phone":"+1 202 555 0143","message":"About {who}"}}"#,
            who.to_uppercase(),
            who.to_uppercase()
        )
    };
    let breached = w.post(&post("breached"), &[]).await;
    w.route().await;
    for minute in [5, 10, 15, 20] {
        w.at(minute, t0);
        w.sweep().await;
    }
    w.at(30, t0);
    let t1 = w.now();
    let escalated = w.post(&post("escalated"), &[]).await;
    let claimed = w.post(&post("claimed"), &[]).await;
    let touched = w.post(&post("touched"), &[]).await;
    w.route().await;
    w.at(1, t1);
    let owner = w.owner(&claimed).await;
    w.claim(&claimed, &owner).await;
    for minute in [5, 10] {
        w.at(minute, t1);
        w.sweep().await;
    }
    w.at(11, t1);
    let owner = w.owner(&touched).await;
    w.claim(&touched, &owner).await;
    w.at(12, t1);
    let (status, text) =
        w.t.touch(
            &w.intake(),
            &touched,
            &format!(r#"{{"by":"{owner}","channel":"call","touch_id":"call-1"}}"#),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    w.at(13, t1);
    let routed = w.post(&post("routed"), &[]).await;
    w.route().await;
    let new = w.post(&post("new"), &[]).await;
    w.outbox.take();
    States {
        new,
        routed,
        escalated,
        breached,
        claimed,
        touched,
    }
}

#[tokio::test]
async fn list_and_show_tell_every_state_apart_and_keep_personal_data_back() {
    let w = World::new(60).await;
    let l = every_state(&w).await;
    let list = |args: &[&str]| {
        let mut all = vec!["list", "--format", "json"];
        all.extend_from_slice(args);
        let (code, out, err) = w.leads(&all, &[]);
        assert_eq!(code, 0, "{out}{err}");
        (json(&out), err)
    };

    let (untouched, err) = list(&["--untouched"]);
    assert_eq!(
        ids(&untouched),
        set(&[&l.new, &l.routed, &l.escalated, &l.breached]),
        "{untouched:#}"
    );
    assert!(err.contains("due index"), "says how it read: {err}");
    assert!(!err.contains("scan"), "no scan for --untouched: {err}");

    let (overdue, err) = list(&["--overdue"]);
    assert_eq!(
        ids(&overdue),
        set(&[&l.escalated, &l.breached]),
        "{overdue:#}"
    );
    assert!(
        err.contains("due index") && err.contains("breached") && !err.contains("scan"),
        "both of the due index's partitions, no scan: {err}"
    );
    let state = |rows: &serde_json::Value, id: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["state"].as_str().unwrap_or_default().to_owned())
            .expect("listed")
    };
    assert_eq!(state(&overdue, &l.escalated), "escalated 2");
    assert_eq!(state(&overdue, &l.breached), "breached");
    let (both, _) = list(&["--untouched", "--overdue"]);
    assert_eq!(ids(&both), set(&[&l.escalated, &l.breached]));

    // Everything, newest first, each in its state; no personal data.
    let (code, out, err) = w.leads(&["list", "--format", "json"], &[]);
    assert_eq!(code, 0, "{err}");
    let all = json(&out);
    let order: Vec<&str> = all
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(order.len(), 6, "{all:#}");
    let mut newest_first = order.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, newest_first, "ids sort by arrival");
    for (id, expected) in [
        (&l.new, "new"),
        (&l.routed, "notified"),
        (&l.escalated, "escalated 2"),
        (&l.breached, "breached"),
        (&l.claimed, "claimed"),
        (&l.touched, "touched"),
    ] {
        assert_eq!(state(&all, id), expected, "{id}");
    }
    let row = |id: &str| {
        all.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .expect("row")
    };
    assert_eq!(row(&l.routed)["segment"], "commercial");
    assert_eq!(row(&l.routed)["rule"], "everyone");
    assert!(
        row(&l.claimed)["claimed_by"]
            .as_str()
            .is_some_and(|c| c.starts_with("rep-"))
    );
    assert!(row(&l.new)["owner"].is_null());
    for format in ["table", "json", "csv"] {
        let (code, out, _) = w.leads(&["list", "--format", format], &[]);
        assert_eq!(code, 0);
        for personal in [".example", "Person", "Corp", "555"] {
            assert!(
                !out.contains(personal),
                "{format} without --contacts shows {personal}: {out}"
            );
        }
    }
    let (code, table, _) = w.leads(&["list"], &[]);
    assert_eq!(code, 0);
    let header = table.lines().next().expect("header");
    for column in [
        "ID",
        "RECEIVED (UTC)",
        "SEGMENT",
        "RULE",
        "OWNER",
        "STATE",
        "CLAIMED BY",
        "AGE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(!header.contains("EMAIL"));
    assert!(table.contains("escalated 2") && table.contains("6 leads, newest first"));

    // With --contacts: the person, in every format.
    let (contacts, _) = list(&["--contacts"]);
    let touched = contacts
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == l.touched.as_str())
        .cloned()
        .expect("row");
    assert_eq!(touched["email"], "touched@touched.example");
    assert_eq!(touched["name"], "TOUCHED Person");
    assert_eq!(touched["company"], "TOUCHED Corp");
    assert_eq!(touched["phone"], "+1 202 555 0143");
    let (code, out, _) = w.leads(&["list", "--contacts", "--format", "csv"], &[]);
    assert_eq!(code, 0);
    let (header, records) = csv_rows(&out);
    assert_eq!(
        header,
        vec![
            "id",
            "received_at",
            "segment",
            "rule",
            "owner",
            "state",
            "claimed_by",
            "age_ms",
            "name",
            "email",
            "company",
            "phone"
        ]
    );
    assert_eq!(records.len(), 6, "{out}");
    assert!(records.iter().all(|r| r.len() == header.len()));
    assert!(records.iter().any(|r| r[9] == "new@new.example"));
    let (code, out, _) = w.leads(&["list", "--format", "csv"], &[]);
    assert_eq!(code, 0);
    let (header, records) = csv_rows(&out);
    assert_eq!(header.len(), 8);
    assert_eq!(records.len(), 6);
    assert!(
        records.iter().all(|r| r[7].parse::<i64>().is_ok()),
        "age in ms"
    );

    // Filters, --limit and small pages (the scan follows LastEvaluatedKey).
    let (limited, err) = list(&["--limit", "2", "--page-size", "1"]);
    assert_eq!(limited.as_array().map(Vec::len), Some(2), "{err}");
    assert!(err.contains("stopped at --limit 2"), "{err}");
    let (exhaustive, _) = list(&["--limit", "2", "--page-size", "1", "--exhaustive"]);
    assert_eq!(
        ids(&exhaustive),
        set(&[&l.new, &l.routed]),
        "the newest two, read from every page"
    );
    let owner = w.owner(&l.escalated).await;
    let (mine, _) = list(&["--owner", &owner.to_uppercase(), "--page-size", "2"]);
    assert!(ids(&mine).contains(&l.escalated));
    assert!(
        mine.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["owner"] == owner.as_str())
    );
    let (none, _) = list(&["--segment", "federal"]);
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (recent, _) = list(&["--since", "40m"]);
    assert!(!ids(&recent).contains(&l.breached), "received an hour ago");
    assert_eq!(ids(&recent).len(), 5);

    // show: every stage of the escalated, reassigned, claimed and touched lead.
    let (code, out, err) = w.leads(&["show", &l.touched], &[]);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "State: touched",
        "touched@touched.example",
        "TOUCHED Person",
        "TOUCHED Corp",
        "Submitted fields (5)",
        "About touched",
        "Sector",
        "rule",
        "everyone",
        "segment",
        "commercial",
        "Timeline (UTC)",
        "received",
        "stored",
        "routed to rep-",
        "notified",
        "escalation tier 1 fired",
        "escalation tier 2 fired",
        "reassigned from rep-",
        "by tier 2",
        "claimed by rep-",
        "touch: call by rep-",
        "first response, by call",
        "touches",
    ] {
        assert!(out.contains(expected), "show lacks {expected:?}:\n{out}");
    }
    let (code, out, _) = w.leads(&["show", &l.breached], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("breach: the ladder ran out"), "{out}");
    assert!(out.contains("not due: out of the due index"), "{out}");
    let (code, out, _) = w.leads(&["show", &l.touched, "--json"], &[]);
    assert_eq!(code, 0);
    let shown = json(&out);
    assert_eq!(shown["state"], "touched");
    assert_eq!(shown["lead"]["lead_id"], l.touched.as_str());
    assert_eq!(
        shown["lead"]["escalations"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(shown["touch_history"][0]["channel"], "call");
    assert!(shown["lead"].get("pk").is_none());

    // A bad id and an unknown one.
    let (code, _, err) = w.leads(&["show", "not-a-lead"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("\"not-a-lead\" is not a lead id"), "{err}");
    let unknown = LeadId::new_at(OffsetDateTime::now_utc())
        .as_str()
        .to_owned();
    let (code, _, err) = w.leads(&["show", &unknown], &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("no lead {unknown} in table")),
        "{err}"
    );
    let (code, _, err) = w.leads(&["list", "--since", "last tuesday"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--since"), "{err}");
    let (code, _, err) = w.leads(&["list", "--limit", "1001"], &[]);
    assert_eq!(code, 2, "clap refuses it: {err}");
}

fn link_parts(url: &str) -> (String, HashMap<String, String>) {
    let (path, query) = url.split_once('?').expect("query");
    let path = path.split_once("//").map_or(path, |(_, rest)| {
        rest.split_once('/').map_or(rest, |(_, p)| p)
    });
    let params = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (format!("/{path}"), params)
}

fn claim_link_in(html: &str) -> (String, HashMap<String, String>) {
    let href = html
        .split("href=\"")
        .find(|h| h.contains("/claim?"))
        .and_then(|h| h.split('"').next())
        .expect("a claim link");
    link_parts(&href.replace("&amp;", "&"))
}

/// A claim link's Claim button (POST to the link).
fn claim_request(path: &str, params: &HashMap<String, String>) -> intake::Request {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let mut event = http_api_event("POST", path, &[("accept", "text/html")], b"");
    event["rawQueryString"] = query.into();
    request_from_event(event)
}

#[tokio::test]
async fn reassign_moves_the_lead_records_it_and_only_the_new_owners_link_claims() {
    let w = World::new(3).await;
    let id = w
        .post(r#"{"email":"ann@buyer.example","name":"Ann Buyer"}"#, &[])
        .await;
    w.route().await;
    let old = w.owner(&id).await;
    let first = w.outbox.take();
    let old_email = first
        .iter()
        .find(|e| e.to == [old.clone()])
        .expect("the owner's notification");
    let (old_path, old_link) = claim_link_in(&old_email.html);
    let to = [
        "rep-a@example.com",
        "rep-b@example.com",
        "rep-c@example.com",
    ]
    .into_iter()
    .find(|r| *r != old)
    .expect("another rep");
    let env = w.mail_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // Refusals first: nothing written by any of them.
    let (code, _, err) = w.leads(
        &["reassign", &id, "--to", "stranger@example.com", "--yes"],
        &env,
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("stranger@example.com is not an active rep of any team"),
        "{err}"
    );
    let (code, _, err) = w.leads(&["reassign", &id, "--to", to], &env);
    assert_ne!(code, 0);
    assert!(
        err.contains("pass --yes") && err.contains("nothing was changed"),
        "{err}"
    );
    let (code, _, err) = w.leads(&["reassign", &id, "--to", &old, "--yes"], &env);
    assert_ne!(code, 0);
    assert!(err.contains("already owns"), "{err}");
    let (code, _, err) = w.leads(&["reassign", &id, "--to", to, "--yes"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("FIRSTHOUR_SENDER_EMAIL"), "{err}");
    let unknown = LeadId::new_at(OffsetDateTime::now_utc())
        .as_str()
        .to_owned();
    let (code, _, err) = w.leads(&["reassign", &unknown, "--to", to, "--yes"], &env);
    assert_ne!(code, 0);
    assert!(err.contains("no lead"), "{err}");
    assert_eq!(w.owner(&id).await, old);

    let (code, out, err) = w.leads(
        &["reassign", &id, "--to", &to.to_uppercase(), "--yes"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("reassigned from {old} to {to}")),
        "{out}"
    );
    let stored = w.lead(&id).await;
    assert_eq!(s(&stored, "owner"), Some(to));
    let moves = stored["reassignments"].as_l().expect("history");
    assert_eq!(moves.len(), 1);
    let entry = moves[0].as_m().expect("entry");
    assert_eq!(s(entry, "from"), Some(old.as_str()));
    assert_eq!(s(entry, "to"), Some(to));
    assert_eq!(s(entry, "by"), Some("cli"));
    assert_eq!(entry["tier"].as_n().map(String::as_str), Ok("0"));
    // The domain reads the manual move as any other.
    let lead: firsthour_aws::table::LeadItem = serde_dynamo::from_item(stored).expect("lead item");
    assert_eq!(lead.reassignments[0].tier, 0);
    assert_eq!(lead.reassigned_from, vec![old.clone()]);

    // The new owner's email, through SES on moto, with a claim link of their own.
    let sent = firsthour_local::mail::sent_messages(&emulator_url())
        .await
        .expect("sent mail");
    let mail = sent
        .iter()
        .find(|m| m.to == [to.to_owned()] && m.body.contains(&format!("/leads/{id}/claim")))
        .expect("the new owner was emailed");
    assert!(
        mail.subject.starts_with("Reassigned to you"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains(&old), "says whose it was");
    let (new_path, new_link) = claim_link_in(&mail.body);
    assert_eq!(new_link["r"], to);

    // The old owner's link claims nothing; the new owner's does.
    let intake = t_intake(&w);
    let (status, _, page) = parts(intake.handle(claim_request(&old_path, &old_link)).await);
    assert_eq!(status, 409, "{page}");
    assert!(s(&w.lead(&id).await, "claimed_at").is_none());
    let (status, _, page) = parts(intake.handle(claim_request(&new_path, &new_link)).await);
    assert_eq!(status, 200, "{page}");
    assert_eq!(s(&w.lead(&id).await, "claimed_by"), Some(to));

    // show tells it was moved by hand.
    let (code, out, _) = w.leads(&["show", &id], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("reassigned from {old} to {to} by hand (cli)")),
        "{out}"
    );

    // Claimed now: refused unless --force.
    let (code, _, err) = w.leads(&["reassign", &id, "--to", &old, "--yes"], &env);
    assert_ne!(code, 0);
    assert!(
        err.contains("was claimed by") && err.contains("--force"),
        "{err}"
    );
    let (code, out, err) = w.leads(&["reassign", &id, "--to", &old, "--yes", "--force"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(w.owner(&id).await, old);
}

/// The intake on the real clock: claim links are signed for now.
fn t_intake(w: &World) -> Intake {
    w.t.app().config(&w.rules).intake()
}

#[tokio::test]
async fn unclaim_puts_a_claimed_lead_back_and_the_next_sweep_fires_its_next_tier() {
    let w = World::new(30).await;
    let t0 = w.now();
    let id = w
        .post(r#"{"email":"sam@buyer.example","name":"Sam Buyer"}"#, &[])
        .await;
    w.route().await;
    let owner = w.owner(&id).await;
    w.at(2, t0);
    w.claim(&id, &owner).await;
    w.outbox.take();
    let before = w.lead(&id).await;
    assert!(
        !before.contains_key("due_bucket"),
        "a claim leaves the index"
    );

    let (code, _, err) = w.leads(&["unclaim", &id], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("pass --yes"), "{err}");
    let (code, out, err) = w.leads(&["unclaim", &id, "--yes"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("claimed by {owner}")), "{out}");
    assert!(out.contains("first-touch stamps went with it"), "{out}");
    assert!(
        out.contains("from tier 1 of 3") && out.contains("due now"),
        "{out}"
    );
    let after = w.lead(&id).await;
    for gone in [
        "claimed_at",
        "claimed_by",
        "first_touch_at",
        "ms_to_first_touch",
        "touches",
    ] {
        assert!(!after.contains_key(gone), "{gone} still there");
    }
    assert_eq!(s(&after, "due_bucket"), Some("due"));
    let due: i64 = after["due_at"].as_n().expect("due_at").parse().expect("ms");
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    assert!(due <= now_ms, "due at once: tier 1's time has passed");
    let (untouched, _) = {
        let (code, out, err) = w.leads(&["list", "--untouched", "--format", "json"], &[]);
        assert_eq!(code, 0, "{err}");
        (json(&out), err)
    };
    assert_eq!(ids(&untouched), set(&[&id]));

    // The next sweep fires tier 1 (the one the claim stopped), to the owner.
    w.clock
        .set(OffsetDateTime::now_utc() + Duration::from_secs(1));
    w.sweep().await;
    let sent = w.outbox.take();
    assert_eq!(
        sent.iter().flat_map(|e| e.to.clone()).collect::<Vec<_>>(),
        vec![owner.clone()]
    );
    assert!(
        sent[0].subject.contains("Escalation 1 of 3"),
        "{}",
        sent[0].subject
    );
    let lead: firsthour_aws::table::LeadItem =
        serde_dynamo::from_item(w.lead(&id).await).expect("lead item");
    assert_eq!(lead.escalations.len(), 1);
    assert_eq!(lead.next_tier, Some(2));

    // A lead nobody claimed says so; so does an unknown one.
    let (code, _, err) = w.leads(&["unclaim", &id, "--yes"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("was never claimed"), "{err}");
    let (code, _, err) = w.leads(&["unclaim", "01BADBADBADBADBADBADBADBAD", "--yes"], &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no lead") || err.contains("not a lead id"),
        "{err}"
    );
}

/// Every item of the table that belongs to `id`: its partition, and the
/// markers that name it.
fn items_of<'a>(
    items: &'a [HashMap<String, AttributeValue>],
    id: &str,
) -> Vec<&'a HashMap<String, AttributeValue>> {
    items
        .iter()
        .filter(|i| s(i, "pk") == Some(&format!("LEAD#{id}")) || s(i, "lead_id") == Some(id))
        .collect()
}

fn kinds(items: &[&HashMap<String, AttributeValue>]) -> Vec<String> {
    let mut kinds: Vec<String> = items
        .iter()
        .map(|i| {
            let pk = s(i, "pk").unwrap_or_default();
            let sk = s(i, "sk").unwrap_or_default();
            match (pk.split('#').next(), sk.split('#').next()) {
                (Some("DEDUP"), _) => pk.split('#').take(2).collect::<Vec<_>>().join("#"),
                (Some(p), Some(s)) => format!("{p}/{s}"),
                _ => "?".into(),
            }
        })
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn forget_deletes_a_persons_leads_and_every_item_of_theirs_and_nothing_else() {
    let w = World::new(10).await;
    let first = w
        .post(
            r#"{"email":"Pat.Doe@Buyer.example","name":"Pat Doe","message":"A quote, please","plan":"team"}"#,
            &[("idempotency-key", "pat-1")],
        )
        .await;
    let second = w
        .post(
            r#"{"email":"pat.doe@buyer.example","name":"Pat Doe","message":"And a demo"}"#,
            &[("idempotency-key", "pat-2")],
        )
        .await;
    let other = w
        .post(
            r#"{"email":"lee@other.example","name":"Lee Other"}"#,
            &[("idempotency-key", "lee-1")],
        )
        .await;
    w.route().await;
    let owner = w.owner(&first).await;
    let (status, text) =
        w.t.touch(
            &w.intake(),
            &first,
            &format!(r#"{{"by":"{owner}","channel":"call","touch_id":"pat-call"}}"#),
        )
        .await;
    assert_eq!(status, 200, "{text}");

    let items = w.t.items().await;
    let expected_first = vec![
        "CONTACT/LEAD",
        "DEDUP#content",
        "DEDUP#delivery",
        "LEAD/LEAD",
        "LEAD/TOUCH",
    ];
    assert_eq!(kinds(&items_of(&items, &first)), expected_first);
    assert_eq!(kinds(&items_of(&items, &second)).len(), 4);
    let others_before = kinds(&items_of(&items, &other));
    assert_eq!(others_before.len(), 4);
    let total_before = items.len();

    // Refusals: a bad address; no terminal and no --yes (nothing deleted).
    let (code, _, err) = w.leads(&["forget", "--email", "not-an-address", "--yes"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("is not an email address"), "{err}");
    let (code, _, err) = w.leads(&["forget", "--email", "pat.doe@buyer.example"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("pass --yes"), "{err}");
    assert!(
        err.contains("2 leads of pat.doe@buyer.example") && err.contains("9 items"),
        "the plan is shown first: {err}"
    );
    assert!(
        err.contains(&first) && err.contains("1 touch marker"),
        "{err}"
    );
    assert!(
        !err.contains("Pat Doe") && !err.contains("quote"),
        "no other personal data: {err}"
    );
    assert_eq!(w.t.items().await.len(), total_before);

    let (code, out, err) = w.leads(
        &["forget", "--email", "PAT.DOE@buyer.example", "--yes"],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deleted 9 items of 2 leads"), "{out}");
    assert!(out.contains(&first) && out.contains(&second), "{out}");
    let items = w.t.items().await;
    assert!(
        items_of(&items, &first).is_empty(),
        "{:?}",
        kinds(&items_of(&items, &first))
    );
    assert!(items_of(&items, &second).is_empty());
    assert_eq!(
        kinds(&items_of(&items, &other)),
        others_before,
        "another person's lead stays"
    );
    assert_eq!(items.len(), total_before - 9);
    assert!(
        !items
            .iter()
            .any(|i| s(i, "email").is_some_and(|e| e.to_lowercase().contains("pat.doe"))),
        "no trace of the address"
    );

    // Asked again: nothing left.
    let (code, out, _) = w.leads(
        &["forget", "--email", "pat.doe@buyer.example", "--yes"],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("No leads of pat.doe@buyer.example"), "{out}");
}

/// A request to moto's AppConfig as the SDK would sign it (moto reads the
/// service from the credential scope; the signature is not checked).
async fn appconfig(
    method: reqwest::Method,
    path: String,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", emulator_url()))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/appconfig/aws4_request, \
             SignedHeaders=host, Signature=0",
        );
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("moto answers")
}

#[tokio::test]
async fn rules_deploy_refuses_an_invalid_file_and_stores_a_valid_one_as_a_hosted_version() {
    let name = format!("firsthour-{}", ulid::Ulid::new().to_string().to_lowercase());
    let app: serde_json::Value = appconfig(
        reqwest::Method::POST,
        "/applications".to_owned(),
        Some(serde_json::json!({"Name": name})),
    )
    .await
    .json()
    .await
    .expect("application");
    let app = app["Id"].as_str().expect("application id").to_owned();
    let profile: serde_json::Value = appconfig(
        reqwest::Method::POST,
        format!("/applications/{app}/configurationprofiles"),
        Some(serde_json::json!({"Name": "rules", "LocationUri": "hosted"})),
    )
    .await
    .json()
    .await
    .expect("profile");
    let profile = profile["Id"].as_str().expect("profile id").to_owned();
    let version = |n: u32| {
        appconfig(
            reqwest::Method::GET,
            format!(
                "/applications/{app}/configurationprofiles/{profile}/hostedconfigurationversions/{n}"
            ),
            None,
        )
    };
    let ids = [
        "--application",
        app.as_str(),
        "--environment",
        "env1234",
        "--profile",
        profile.as_str(),
        "--strategy",
        "AppConfig.AllAtOnce",
    ];

    // Invalid: `rules check`'s own message, and nothing stored.
    let bad = temp_config("[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"nope\"]\n");
    let mut args = vec!["rules", "deploy", bad.as_str(), "--yes"];
    args.extend(ids);
    let (code, _, err) = firsthour_cli(&args);
    assert_ne!(code, 0);
    assert!(
        err.contains("not deployed") && err.contains("line 4") && err.contains("nope"),
        "{err}"
    );
    assert_ne!(version(1).await.status(), 200, "nothing stored");

    // No ids, and none found by the stack's names.
    let config = shipped_config().display().to_string();
    let (code, _, err) = firsthour_cli_with(
        &["rules", "deploy", &config, "--yes", "--stack", &name],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("AppConfig application"), "{err}");

    // Valid, without a terminal and without --yes: refused.
    let mut args = vec!["rules", "deploy", config.as_str()];
    args.extend(ids);
    let (code, _, err) = firsthour_cli(&args);
    assert_ne!(code, 0);
    assert!(err.contains("pass --yes"), "{err}");
    assert_ne!(version(1).await.status(), 200);

    // Valid: stored as version 1, byte for byte, as TOML. Moto has no
    // AppConfig environments or deployments, so starting one fails there,
    // and the CLI says how to start it by hand.
    args.push("--yes");
    let (code, out, err) = firsthour_cli(&args);
    let stored = version(1).await;
    assert_eq!(stored.status(), 200, "{out}{err}");
    assert_eq!(
        stored
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/toml")
    );
    let content = stored.bytes().await.expect("content");
    assert_eq!(
        content.as_ref(),
        std::fs::read(shipped_config()).expect("shipped rules")
    );
    assert!(err.contains("valid."), "the check's summary: {err}");
    if code == 0 {
        assert!(
            out.contains("stored as version 1") && out.contains("deployment"),
            "{out}"
        );
    } else {
        assert!(
            err.contains("version 1 of profile")
                && err.contains("the deployment did not start")
                && err.contains("aws appconfig start-deployment"),
            "{err}"
        );
    }
}
