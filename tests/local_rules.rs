//! Rules changed while the functions run: the local run serves the rules
//! file through AppConfig's Lambda extension interface, held here to what
//! AWS documents, and the real functions pick up each valid change (and
//! keep the last valid rules when a change is broken).

use std::sync::Arc;
use std::time::{Duration, Instant};

use firsthour::config::{EnvReader, vars};
use firsthour_aws::live::{Fetched, RulesSource};
use firsthour_local::appconfig;
use firsthour_local::run::{RunOptions, start};
use firsthour_tests::*;

/// A copy of the shipped rules to edit.
fn rules_copy() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("firsthour-rules-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("firsthour.toml");
    std::fs::copy(shipped_config(), &path).expect("copied");
    path
}

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("rules");
    assert!(text.contains(from), "{from} is in the rules");
    std::fs::write(path, text.replace(from, to)).expect("written");
}

fn parameter_env() -> Vec<(String, String)> {
    ["FIRSTHOUR_FEDERAL_TEAM_EMAILS", "FIRSTHOUR_FALLBACK_EMAILS"]
        .iter()
        .filter_map(|k| test_parameter_env(k).map(|v| ((*k).to_owned(), v)))
        .collect()
}

#[tokio::test]
async fn the_extension_stand_in_answers_as_the_appconfig_extension_documents() {
    let path = rules_copy();
    let listener = appconfig::bind(0).await.expect("a port");
    let port = listener.local_addr().expect("addr").port();
    let served = Arc::new(appconfig::RulesFile::new(path.clone(), parameter_env()));
    let server = tokio::spawn(appconfig::serve(listener, served));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let get = |p: String| client.get(format!("{base}{p}")).send();

    let answer = get(appconfig::path()).await.expect("answers");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers()["configuration-version"], "1");
    assert_eq!(answer.headers()["content-type"], "application/toml");
    let shipped = std::fs::read_to_string(&path).expect("rules");
    assert_eq!(answer.text().await.expect("body"), shipped);

    let unknown = get("/applications/other/environments/local/configurations/rules".into())
        .await
        .expect("answers");
    assert_eq!(unknown.status().as_u16(), 404);
    let posted = client
        .post(format!("{base}{}", appconfig::path()))
        .send()
        .await
        .expect("answers");
    assert_eq!(posted.status().as_u16(), 405);

    // The functions' client, as a Lambda function configures it.
    let env = [
        (vars::APPCONFIG_PATH, appconfig::path()),
        (vars::APPCONFIG_EXTENSION_HTTP_PORT, port.to_string()),
    ];
    let reader =
        EnvReader::new(|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let source = RulesSource::from_env(&reader)
        .expect("valid settings")
        .expect("AppConfig in use");
    assert_eq!(
        source.fetch().await,
        Ok(Fetched::Rules {
            version: "1".into(),
            text: shipped.clone()
        })
    );

    // A valid edit is version 2; a broken one is not served.
    edit(&path, "slg-sales@example.com", "slg-live@example.com");
    let Ok(Fetched::Rules { version, text }) = source.fetch().await else {
        panic!("rules served");
    };
    assert_eq!(version, "2");
    assert!(text.contains("slg-live@example.com"));
    edit(
        &path,
        "[[rules]]\nname = \"state-and-local\"",
        "[[rules]]\nname = ",
    );
    let Ok(Fetched::Rules { version, text }) = source.fetch().await else {
        panic!("rules served");
    };
    assert_eq!(version, "2", "the broken file is never deployed");
    assert!(text.contains("name = \"state-and-local\""));

    // Settings the functions refuse, naming the variable.
    let bad = [(
        vars::APPCONFIG_PATH,
        "/applications/a/environments/b".to_owned(),
    )];
    let reader =
        EnvReader::new(|k: &str| bad.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let err = RulesSource::from_env(&reader).expect_err("refused");
    assert!(err.to_string().contains(vars::APPCONFIG_PATH), "{err}");
    server.abort();
}

#[tokio::test]
async fn a_rules_change_reaches_the_running_functions_and_a_broken_one_never_does() {
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let path = rules_copy();
    let options = RunOptions {
        live_rules: Some(path.clone()),
        rules_refresh: Duration::from_secs(1),
        ..local_run_options(&moto, "rules", &path)
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `make build` first)");
    let base = format!("http://{}", running.http_addr);
    let post = |n: u32| {
        let base = base.clone();
        async move {
            let answer = reqwest::Client::new()
                .post(format!("{base}/leads"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"email":"analyst{n}@ca.gov","name":"Pat Example","message":"Question {n}"}}"#
                ))
                .send()
                .await
                .expect("intake answers");
            assert_eq!(answer.status().as_u16(), 202);
            answer.json::<serde_json::Value>().await.expect("json")["lead_id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let emailed_to = |id: String| {
        let moto = moto.url.clone();
        async move {
            let started = Instant::now();
            loop {
                let sent = firsthour_local::mail::sent_messages(&moto)
                    .await
                    .expect("mail");
                if let Some(mail) = sent.iter().find(|m| m.body.contains(&id)) {
                    return mail.to.clone();
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no email for {id}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(emailed_to(post(1).await).await, ["slg-sales@example.com"]);

    // A valid change reaches the intake within seconds (a minute on AWS).
    edit(&path, "slg-sales@example.com", "slg-live@example.com");
    let started = Instant::now();
    let mut n = 2;
    loop {
        let to = emailed_to(post(n).await).await;
        if to == ["slg-live@example.com"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the change never arrived: {to:?}"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A broken change never does: the last valid rules keep routing.
    edit(
        &path,
        "when = { sector = [\"state_local\", \"government_unverified\"] }",
        "when = { sector = [\"nowhere\"] }",
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(emailed_to(post(100).await).await, ["slg-live@example.com"]);
    running.stop().await;
}
