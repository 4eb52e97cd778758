//! `make run`'s system end to end: the real function binaries behind the
//! Runtime API stand-in and the local gateway, on moto.

use std::net::SocketAddr;
use std::time::Duration;

use firsthour_local::run::{RunOptions, start};
use firsthour_tests::*;

/// `make run`'s options on a private moto: the shipped config, the test
/// parameters (registry refresh off), two intake instances, and `extra_env`.
fn run_options(
    moto: &PrivateMoto,
    log_dir: Option<std::path::PathBuf>,
    extra_env: Vec<(String, String)>,
) -> RunOptions {
    let mut env = vec![
        (
            "FIRSTHOUR_CONFIG_FILE".into(),
            shipped_config().display().to_string(),
        ),
        ("AWS_ENDPOINT_URL".into(), moto.url.clone()),
    ];
    env.extend(extra_env);
    RunOptions {
        template: template_path(),
        bin_dir: bin_dir(),
        prefix: format!("run{}", ulid::Ulid::new().to_string().to_lowercase()),
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        emulator_url: moto.url.clone(),
        tick: Duration::from_secs(1),
        parameters: test_parameters(),
        extra_env: env,
        intake_instances: 2,
        show_function_logs: false,
        log_dir,
        gateway: Default::default(),
        smtp_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        live_rules: None,
        rules_refresh: Duration::from_secs(2),
        chat: None,
    }
}

#[tokio::test]
async fn a_fresh_run_routes_federal_agencies_to_the_federal_team_with_the_built_in_registry() {
    // As on a fresh clone: no registry file anywhere, the built-in snapshot.
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let running = start(&run_options(&moto, None, Vec::new()), &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let base = format!("http://{}", running.http_addr);
    let client = reqwest::Client::new();
    let cases = [
        ("jane.doe@va.gov", "federal-sales@example.com"),
        ("k.lee@jpl.nasa.gov", "federal-sales@example.com"),
        ("staffer@mail.house.gov", "federal-sales@example.com"),
        ("clerk@uscourts.gov", "federal-sales@example.com"),
        ("analyst@ca.gov", "slg-sales@example.com"),
    ];
    let mut leads = Vec::new();
    for (email, team) in cases {
        let answer = client
            .post(format!("{base}/leads"))
            .header("content-type", "application/json")
            .body(
                serde_json::json!({"email": email, "name": "Pat Example", "message": format!("Pricing for {email}")})
                    .to_string(),
            )
            .send()
            .await
            .expect("intake answers");
        assert_eq!(answer.status().as_u16(), 202, "{email}");
        let id = answer.json::<serde_json::Value>().await.expect("json")["lead_id"]
            .as_str()
            .expect("id")
            .to_owned();
        leads.push((email, team, id));
    }
    let started = std::time::Instant::now();
    loop {
        let sent = firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("moto data");
        let missing: Vec<&str> = leads
            .iter()
            .filter(|(_, team, id)| {
                !sent
                    .iter()
                    .any(|m| m.body.contains(id.as_str()) && m.to.iter().any(|to| to == team))
            })
            .map(|(email, _, _)| *email)
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no email to the right team for {missing:?}: {:?}",
            sent.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = firsthour_local::mail::sent_messages(&moto.url)
        .await
        .expect("moto data");
    for (email, team, id) in &leads {
        let other = ["federal-sales@example.com", "slg-sales@example.com"]
            .into_iter()
            .find(|t| t != team)
            .unwrap_or_default();
        assert!(
            !sent
                .iter()
                .any(|m| m.body.contains(id.as_str()) && m.to.iter().any(|to| to == other)),
            "{email} also went to {other}"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn a_curl_style_post_is_stored_and_routed_through_the_real_binaries() {
    // A private emulator: the sent-mail view reads moto's whole state, which
    // the other test binaries fill with thousands of items.
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let log_dir = std::env::temp_dir().join(format!("firsthour-logs-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&log_dir).expect("log dir");
    let options = run_options(
        &moto,
        Some(log_dir.clone()),
        vec![(
            "FIRSTHOUR_GOV_DOMAINS_FILE".into(),
            registry_snapshot().display().to_string(),
        )],
    );
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let base = format!("http://{}", running.http_addr);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/leads/gravityforms"))
        .header("content-type", "application/json")
        .body(std::fs::read(root().join("events/webhooks/gravityforms.json")).expect("fixture"))
        .send()
        .await
        .expect("intake answers");
    assert_eq!(response.status().as_u16(), 202);
    let answer: serde_json::Value = response.json().await.expect("json");
    let lead_id = answer["lead_id"].as_str().expect("id").to_owned();

    let item = stored_lead(&sdk, &running, &lead_id).await;
    // The shipped config maps Gravity Forms field ids.
    assert_eq!(s(&item, "full_name"), Some("Grace Hopper"));
    assert_eq!(s(&item, "phone"), Some("(703) 555-0100"));

    // The router consumed the LeadReceived event from its rules' queues.
    let queues: Vec<String> = running
        .stack
        .rule_queues
        .iter()
        .filter(|q| q.rule.function == "FederalRouterFunction")
        .map(|q| q.queue_url.clone())
        .collect();
    assert_eq!(queues.len(), 2);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut drained = false;
    for _ in 0..50 {
        let mut waiting = 0;
        for queue in &queues {
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(queue)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .expect("attributes")
                .attributes
                .unwrap_or_default();
            for name in [
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ] {
                waiting += attributes
                    .get(&name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        if waiting == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(drained, "the router handled the event");

    // A federal lead reaches the federal team's inbox within seconds, once,
    // and shows in the sent-mail view.
    let federal = client
        .post(format!("{base}/leads/typeform"))
        .header("content-type", "application/json")
        .body(std::fs::read(root().join("events/webhooks/typeform.json")).expect("fixture"))
        .send()
        .await
        .expect("intake answers");
    assert_eq!(federal.status().as_u16(), 202);
    let federal_id = federal.json::<serde_json::Value>().await.expect("json")["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mails_for_lead = || async {
        firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("moto data")
            .into_iter()
            .filter(|m| m.body.contains(&federal_id))
            .collect::<Vec<_>>()
    };
    let started = std::time::Instant::now();
    while mails_for_lead().await.is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrived_after = started.elapsed();
    // Let any duplicate show up before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = mails_for_lead().await;
    // One email per recipient (each with its own claim link): the team address and the owner.
    let mails: Vec<_> = all
        .iter()
        .filter(|m| m.to == ["federal-sales@example.com"])
        .collect();
    assert_eq!(mails.len(), 1, "exactly one email to the federal team");
    assert_eq!(
        all.len(),
        2,
        "and one to the owner: {:?}",
        all.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert!(
        arrived_after < Duration::from_secs(5),
        "sent within seconds ({arrived_after:?})"
    );
    assert!(
        mails[0]
            .subject
            .starts_with("Federal lead: General Services Administration"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0]
            .to
            .contains(&"federal-sales@example.com".to_owned())
    );
    let page = client
        .get(format!("{base}/_local/mail"))
        .send()
        .await
        .expect("mail page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("Federal lead: General Services Administration"),
        "the sent-mail view shows it"
    );

    // Canary values through every path that logs: intake, routing, notification.
    let canaries = [
        "canary.person.7f3a@example.org",
        "+1 202 555 0187",
        "Zebulon Canaryfield",
        "Canary message 91c4: please call",
    ];
    let body = serde_json::json!({
        "email": canaries[0], "phone": canaries[1], "name": canaries[2], "message": canaries[3], "company": "Canary Corp"
    });
    for path in ["/leads/web", "/leads/web", "/leads/bad source"] {
        let _ = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
    }
    let refused = client
        .post(format!("{base}/leads"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"name": canaries[2], "message": canaries[3]}).to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status().as_u16(), 422);
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.stop().await;
    let mut logs = String::new();
    for entry in std::fs::read_dir(&log_dir).expect("logs") {
        logs.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("log"));
    }
    assert!(
        logs.contains("lead intake") && logs.contains("first notification sent"),
        "the functions logged"
    );
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}"));
    }
    for canary in canaries.iter().chain(
        [
            "grace.hopper@navy.mil",
            "Grace",
            "Hopper",
            "laura.diaz@gsa.gov",
            "Laura",
        ]
        .iter(),
    ) {
        assert!(
            !logs.contains(canary),
            "a log line carries personal data {canary:?}"
        );
    }
}

/// The lead item `id`, read back from the running stack's table.
async fn stored_lead(
    sdk: &aws_config::SdkConfig,
    running: &firsthour_local::run::RunningStack,
    id: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue;
    aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(&running.stack.table_name)
        .key("pk", AttributeValue::S(format!("LEAD#{id}")))
        .key("sk", AttributeValue::S("LEAD".into()))
        .send()
        .await
        .expect("get")
        .item
        .expect("lead stored")
}

/// The rules of the reassignment run: one team without hours (the run uses
/// the real clock), a ladder that reminds at 5 minutes and reassigns at 10,
/// and auto-away after one unanswered move.
const REASSIGN_RULES: &str = r#"
[teams.federal]
manager = "federal-lead@example.com"
auto_away_after = 1
reps = [
  { email = "fed-rep-1@example.com" },
  { email = "fed-rep-2@example.com" },
]

[ladders.federal]
tiers = [
  { after = "5m", notify = ["owner"] },
  { after = "10m", reassign = true, notify = ["owner"] },
  { after = "60m", notify = ["manager"] },
]

[[rules]]
name = "federal"
segment = "federal"
team = "federal"
assignment = "round_robin"
recipients = ["$FIRSTHOUR_FEDERAL_TEAM_EMAILS"]
ladder = "federal"
when = { sector = ["federal"] }

[fallback]
name = "fallback"
segment = "other"
recipients = ["$FIRSTHOUR_FALLBACK_EMAILS"]
"#;

/// The path and query of the link in `body` whose path contains `marker`.
fn link_in(body: &str, marker: &str) -> Option<String> {
    let href = body
        .split("href=\"")
        .find(|h| h.contains(marker))?
        .split('"')
        .next()?
        .replace("&amp;", "&");
    let path = href.split_once("//").map_or(href.as_str(), |(_, rest)| {
        rest.split_once('/').map_or(rest, |(_, p)| p)
    });
    Some(format!("/{path}"))
}

#[tokio::test]
async fn under_make_run_with_ladder_speedup_an_unanswered_lead_moves_to_the_next_rep() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let config = temp_config(REASSIGN_RULES);
    let mut options = run_options(
        &moto,
        None,
        vec![
            ("FIRSTHOUR_LADDER_SPEEDUP".into(), "60".into()),
            (
                "FIRSTHOUR_PUBLIC_BASE_URL".into(),
                "http://links.test".into(),
            ),
        ],
    );
    options
        .extra_env
        .retain(|(k, _)| k != "FIRSTHOUR_CONFIG_FILE");
    options
        .extra_env
        .push(("FIRSTHOUR_CONFIG_FILE".into(), config));
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let base = format!("http://{}", running.http_addr);
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{base}/leads"))
        .header("content-type", "application/json")
        .body(r#"{"email":"maj.payne@army.mil","name":"Major Payne"}"#)
        .send()
        .await
        .expect("intake answers");
    assert_eq!(answer.status().as_u16(), 202);
    let id = answer.json::<serde_json::Value>().await.expect("json")["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // 10 minutes at 60x: the move comes about 10 s after arrival.
    let started = std::time::Instant::now();
    let moved = loop {
        let sent = firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("moto data");
        let mine: Vec<_> = sent.into_iter().filter(|m| m.body.contains(&id)).collect();
        // The sweep sends the new owner's email, then the old owner's:
        // read once both are out.
        let told_old = mine
            .iter()
            .any(|m| m.subject.starts_with("Reassigned to fed-rep"));
        if let Some(new) = mine
            .iter()
            .find(|m| m.subject.starts_with("Reassigned to you"))
            .filter(|_| told_old)
        {
            break (new.clone(), mine);
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no reassignment: {:?}",
            mine.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (to_new, mine) = moved;
    assert_eq!(to_new.to, ["fed-rep-2@example.com"]);
    let first = mine
        .iter()
        .find(|m| m.to == ["fed-rep-1@example.com"] && !m.subject.starts_with("Reassigned"))
        .expect("the first owner's email");
    assert!(
        mine.iter().any(|m| m.to == ["fed-rep-1@example.com"]
            && m.subject.starts_with("Reassigned to fed-rep-2@example.com")),
        "the first owner is told"
    );
    // The first owner's claim link no longer claims; the new owner's does.
    let old = link_in(&first.body, "/claim?").expect("old claim link");
    let new = link_in(&to_new.body, "/claim?").expect("new claim link");
    let status = client
        .post(format!("{base}{old}"))
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status.as_u16(), 409);
    let claimed = client
        .post(format!("{base}{new}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(claimed.status().as_u16(), 200);
    // The first owner, moved from once without answering, is set away and the manager told.
    let started = std::time::Instant::now();
    loop {
        let sent = firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("moto data");
        if sent.iter().any(|m| {
            m.to == ["federal-lead@example.com"]
                && m.subject.contains("fed-rep-1@example.com set away")
        }) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the manager was not told"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    running.stop().await;
}

/// Sends `message` (RFC 5322 text) with Python's smtplib, a real SMTP
/// client, to `recipients` through the listener at `addr`: the refused
/// recipients, or the client's error.
fn smtplib_send(
    addr: std::net::SocketAddr,
    sender: &str,
    recipients: &[&str],
    message: &str,
) -> Result<String, String> {
    let script = r#"
import json, smtplib, sys
host, port, sender, recipients, message = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), sys.stdin.read()
try:
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        refused = smtp.sendmail(sender, recipients, message.encode())
    print(json.dumps(sorted(refused)))
except smtplib.SMTPException as err:
    print(type(err).__name__, err)
    sys.exit(3)
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
            sender,
            &serde_json::to_string(recipients).expect("json"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
        .expect("message written");
    let output = child.wait_with_output().expect("python3 finished");
    let out = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(out)
    } else {
        Err(format!("{out} {}", String::from_utf8_lossy(&output.stderr)))
    }
}

/// The reply button of an email: (to, subject, bcc).
fn reply_parts(mail: &firsthour_local::mail::SentMail) -> (String, String, String) {
    let (to, params) = reply_button(&mail.body);
    (to, params["subject"].clone(), params["bcc"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_with_smtplib_to_the_tracked_address_is_the_response() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let running = start(&run_options(&moto, None, Vec::new()), &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let smtp = running
        .smtp_addr
        .expect("the SES receiving stand-in listens");
    let base = format!("http://{}", running.http_addr);
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for email in ["ann.lee@army.mil", "bo.diaz@navy.mil"] {
        let answer = client
            .post(format!("{base}/leads"))
            .header("content-type", "application/json")
            .body(serde_json::json!({"email": email, "name": "Pat Example", "message": "Pricing for 40 seats?"}).to_string())
            .send()
            .await
            .expect("intake answers");
        assert_eq!(answer.status().as_u16(), 202);
        ids.push(
            answer.json::<serde_json::Value>().await.expect("json")["lead_id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // The owners' emails, with their reply buttons.
    let started = std::time::Instant::now();
    let owner_mails = loop {
        let sent = firsthour_local::mail::sent_messages(&moto.url)
            .await
            .expect("moto data");
        let found: Vec<_> = ids
            .iter()
            .filter_map(|id| {
                sent.iter()
                    .find(|m| {
                        m.body.contains(id.as_str())
                            && m.to.iter().any(|t| t.starts_with("fed-rep-"))
                    })
                    .cloned()
            })
            .collect();
        if found.len() == ids.len() {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no owner emails"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (to, subject, bcc) = reply_parts(&owner_mails[0]);
    let rep = owner_mails[0].to[0].clone();
    assert_eq!(to, "ann.lee@army.mil");
    assert_eq!(subject, "Re: Pricing for 40 seats?");
    assert!(bcc.ends_with("@replies.firsthour.test"), "{bcc}");
    let message = |from: &str, to: &str| {
        format!(
            "From: Fed Rep <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\nMessage-ID: <{}@example.com>\r\n\r\nHello, happy to help.\r\n.leading dot\r\n",
            time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc2822)
                .expect("date"),
            ulid::Ulid::new()
        )
    };
    // Mistakes first: none of them touches anything.
    // A recipient the stack does not receive for is refused at RCPT.
    assert!(smtplib_send(smtp, &rep, &["someone@example.com"], &message(&rep, &to)).is_err());
    // No tracked address; someone else using the rep's address; the other
    // lead's owner's address under this rep's name.
    let (_, _, other_bcc) = reply_parts(&owner_mails[1]);
    for (from, rcpt) in [
        (rep.as_str(), "sales@replies.firsthour.test"),
        ("intruder@example.com", bcc.as_str()),
        (
            rep.as_str(),
            &other_bcc.replace(&ids[1].to_ascii_lowercase(), &ids[0].to_ascii_lowercase()),
        ),
    ] {
        assert_eq!(
            smtplib_send(smtp, from, &[rcpt], &message(from, &to)),
            Ok("[]".into())
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in &ids {
        let item = stored_lead(&sdk, &running, id).await;
        assert!(
            s(&item, "first_response_at").is_none(),
            "touched by a bad message: {id}"
        );
    }
    // The rep's reply, as their mail client sends the Bcc copy: the lead is touched.
    assert_eq!(
        smtplib_send(smtp, &rep, &[&bcc], &message(&rep, &to)),
        Ok("[]".into())
    );
    let started = std::time::Instant::now();
    let item = loop {
        let item = stored_lead(&sdk, &running, &ids[0]).await;
        if s(&item, "first_response_at").is_some() {
            break item;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the reply was not counted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(s(&item, "first_response_channel"), Some("email"));
    assert_eq!(s(&item, "claimed_by"), Some(rep.as_str()));
    assert!(!item.contains_key("due_at"), "the ladder stopped");
    assert!(
        s(
            &stored_lead(&sdk, &running, &ids[1]).await,
            "first_response_at"
        )
        .is_none()
    );

    // Hostile mail: a properly signed address of a lead 31 days old
    // (expired), and a message that is no MIME at all: nothing is touched
    // and the function never dies. A second reply of the rep's is another
    // touch (persistence), the first response stays.
    let secret = |id: &str| {
        let sdk = sdk.clone();
        let arn = running.stack.refs.get(id).cloned().expect("secret");
        async move {
            aws_sdk_secretsmanager::Client::new(&sdk)
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .expect("secret")
                .secret_string
                .expect("string")
        }
    };
    let key = firsthour::claim::LinkKey::new(secret("LinkSigningKeySecret").await.as_bytes())
        .expect("the stack's link key");
    let old =
        firsthour::lead::LeadId::new_at(time::OffsetDateTime::now_utc() - time::Duration::days(31));
    let expired = firsthour::reply::reply_address(&key, "replies.firsthour.test", &old, &rep);
    assert_eq!(
        smtplib_send(smtp, &rep, &[&expired], &message(&rep, &to)),
        Ok("[]".into())
    );
    let garbage = "\u{1}\u{2} not a header line at all\r\n\r\n\u{7f}";
    assert_eq!(smtplib_send(smtp, &rep, &[&bcc], garbage), Ok("[]".into()));
    assert_eq!(
        smtplib_send(smtp, &rep, &[&bcc], &message(&rep, &to)),
        Ok("[]".into())
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = stored_lead(&sdk, &running, &ids[0]).await;
    assert_eq!(
        again["touches"].as_n().map(String::as_str),
        Ok("2"),
        "two replies, the garbage none"
    );
    assert_eq!(
        s(&again, "first_response_at"),
        s(&item, "first_response_at")
    );
    let inbound = running.host("InboundFunction").expect("inbound function");
    assert_eq!(
        inbound.process_deaths(),
        0,
        "no message crashed the function"
    );

    // The CRM's touch by address, through the local HTTP API: the other lead.
    let token = secret("TouchApiTokenSecret").await;
    let answer = client
        .post(format!("{base}/touches?channel=call"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"email":"Bo.Diaz@navy.mil","touch_id":"crm-call-1"}"#)
        .send()
        .await
        .expect("intake answers");
    assert_eq!(answer.status().as_u16(), 200);
    let answer: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(answer["touched"], serde_json::json!([ids[1]]));
    let other = stored_lead(&sdk, &running, &ids[1]).await;
    assert_eq!(s(&other, "first_response_channel"), Some("call"));
    assert_eq!(s(&other, "claimed_by"), Some("crm"));
    running.stop().await;
}

/// One raw SMTP exchange: writes `lines`, reads what the listener answers
/// until it closes or goes quiet.
async fn smtp_raw(addr: std::net::SocketAddr, input: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let _ = stream.write_all(input).await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

// Multi-threaded: smtplib blocks one worker while the listener answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_stand_in_answers_hostile_dialogues_and_keeps_serving() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let running = start(&run_options(&moto, None, Vec::new()), &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let smtp = running
        .smtp_addr
        .expect("the SES receiving stand-in listens");
    let tracked = "r+01kaq5v3n6x5j0c9w4y2b7d8ef.0123456789abcdef0123@replies.firsthour.test";
    let long = format!("EHLO {}\r\n", "a".repeat(5000));
    let many: String = (0..60)
        .map(|i| format!("RCPT TO:<r+{i}@replies.firsthour.test>\r\n"))
        .collect();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (long.into_bytes(), "500 5.5.2 line too long"),
        (b"DATA\r\nQUIT\r\n".to_vec(), "503 5.5.1 RCPT first"),
        (format!("RCPT TO:<{tracked}>\r\nQUIT\r\n").into_bytes(), "503 5.5.1 MAIL first"),
        (b"\x00\xff\xfe\x01 garbage\r\nQUIT\r\n".to_vec(), "502 5.5.2"),
        (b"MAIL FROM:no-brackets\r\nQUIT\r\n".to_vec(), "501 5.5.4"),
        (
            format!("MAIL FROM:<a@example.com>\r\n{many}QUIT\r\n").into_bytes(),
            "452 4.5.3 too many recipients",
        ),
        // Cut off inside DATA: the listener drops the connection, nothing else.
        (
            format!("MAIL FROM:<a@example.com>\r\nRCPT TO:<{tracked}>\r\nDATA\r\nFrom: a@example.com\r\nSubject: cut").into_bytes(),
            "354 End data",
        ),
    ];
    for (input, expected) in cases {
        let answer = smtp_raw(smtp, &input).await;
        assert!(answer.starts_with("220 "), "a greeting: {answer}");
        assert!(answer.contains(expected), "{expected:?} in {answer:?}");
    }
    // Still serving, and a real client still gets through.
    assert_eq!(
        smtplib_send(
            smtp,
            "a@example.com",
            &[tracked],
            "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
        ),
        Ok("[]".into())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let inbound = running.host("InboundFunction").expect("inbound function");
    assert_eq!(inbound.process_deaths(), 0);
    running.stop().await;
}
