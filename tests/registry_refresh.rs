//! The daily .gov registry refresh against a registry served by a local
//! HTTP server (as get.gov would serve it, and as it can go wrong), on the
//! stack's table in moto; then the intake's cold start picking the
//! accepted copy up.

use std::collections::HashMap;
use std::sync::Arc;

use firsthour::config::EnvReader;
use firsthour::ports::RegistryStore;
use firsthour::sector::refresh::RefreshOutcome;
use firsthour_aws::{DynamoLeadStore, FromEnv};
use firsthour_tests::firsthour_cli as firsthour;
use firsthour_tests::*;
use registry_refresh::RefreshApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JSON: (&str, &str) = ("content-type", "application/json");
const NEW_AGENCY_ROW: &str = "newagency.gov,Federal - Executive,Office of the New Agency\n";

/// A response the server gives for a path: status line, content type,
/// body, and the length it declares (more than the body: cut off).
#[derive(Clone)]
struct Served {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    declared: usize,
}

fn csv(body: String) -> Served {
    let declared = body.len();
    Served {
        status: "200 OK",
        content_type: "text/csv",
        body: body.into_bytes(),
        declared,
    }
}

/// A bare HTTP/1.1 server: one response per connection, then close.
async fn serve(routes: HashMap<&'static str, Served>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let routes = Arc::clone(&routes);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let served = routes.get(path.as_str()).cloned().unwrap_or(Served {
                    status: "404 Not Found",
                    content_type: "text/plain",
                    body: b"not found".to_vec(),
                    declared: 9,
                });
                let head = format!(
                    "HTTP/1.1 {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    served.status, served.content_type, served.declared
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&served.body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn snapshot() -> String {
    std::fs::read_to_string(registry_snapshot()).expect("the snapshot")
}

fn routes() -> HashMap<&'static str, Served> {
    let full = snapshot();
    let rows: Vec<&str> = full.lines().skip(1).collect();
    let half_rows: String = rows
        .iter()
        .step_by(2)
        .map(|row| format!("{row}\n"))
        .collect();
    let old_layout: String = rows
        .iter()
        .map(|row| {
            let mut fields = row.splitn(3, ',');
            let (domain, kind, org) = (
                fields.next().unwrap_or_default(),
                fields.next().unwrap_or_default(),
                fields.next().unwrap_or_default(),
            );
            format!("{},{kind},{org},{org},,\n", domain.to_uppercase())
        })
        .collect();
    let cut = full.as_bytes()[..full.len() / 2].to_vec();
    HashMap::from([
        ("/current-full.csv", csv(format!("{full}{NEW_AGENCY_ROW}"))),
        ("/truncated.csv", csv(full[..full.len() / 2].to_owned())),
        (
            "/cut-off.csv",
            Served {
                status: "200 OK",
                content_type: "text/csv",
                declared: full.len(),
                body: cut,
            },
        ),
        (
            "/error.html",
            csv("<!DOCTYPE html>\n<html><head><title>Error</title></head><body>Something went wrong</body></html>\n".to_owned()),
        ),
        (
            "/unavailable",
            Served {
                status: "503 Service Unavailable",
                content_type: "text/html",
                body: b"<html>down for maintenance</html>".to_vec(),
                declared: 33,
            },
        ),
        (
            "/old-layout.csv",
            csv(format!("Domain Name,Domain Type,Agency,Organization,City,State\n{old_layout}")),
        ),
        (
            "/half.csv",
            csv(format!("Domain name,Domain type,Organization name\n{half_rows}")),
        ),
        (
            "/huge.csv",
            Served {
                status: "200 OK",
                content_type: "text/csv",
                body: Vec::new(),
                declared: 64 << 20,
            },
        ),
    ])
}

fn refresher(t: &TestStack, base: &str, path: &str) -> RefreshApp<DynamoLeadStore> {
    let store = DynamoLeadStore::new(t.dynamo(), &t.stack.table_name);
    let url = url::Url::parse(&format!("{base}{path}")).expect("url");
    RefreshApp::new(store, Some(url)).expect("refresh app")
}

#[tokio::test]
async fn only_a_download_that_passes_every_check_replaces_the_copy_in_use() {
    let t = TestStack::new().await;
    let base = serve(routes()).await;
    let store = DynamoLeadStore::new(t.dynamo(), &t.stack.table_name);

    let accepted = refresher(&t, &base, "/current-full.csv")
        .run()
        .await
        .expect("accepted")
        .expect("a report");
    assert_eq!(
        accepted.outcome,
        RefreshOutcome::Accepted,
        "{}",
        accepted.detail
    );
    let good = store
        .stored_registry()
        .await
        .expect("read")
        .expect("stored");
    assert!(good.changed.contains("newagency.gov"), "{}", good.changed);

    for (path, outcome, says) in [
        (
            "/truncated.csv",
            RefreshOutcome::Rejected,
            "federal domains",
        ),
        ("/cut-off.csv", RefreshOutcome::Failed, "ended early"),
        ("/error.html", RefreshOutcome::Rejected, "HTML page"),
        ("/unavailable", RefreshOutcome::Failed, "HTTP 503"),
        ("/half.csv", RefreshOutcome::Rejected, "federal domains"),
        ("/huge.csv", RefreshOutcome::Failed, "larger than"),
        ("/missing.csv", RefreshOutcome::Failed, "HTTP 404"),
    ] {
        let refused = refresher(&t, &base, path)
            .run()
            .await
            .expect_err("refused")
            .0;
        assert_eq!(refused.outcome, outcome, "{path}: {}", refused.detail);
        assert!(refused.detail.contains(says), "{path}: {}", refused.detail);
        let last = store.last_refresh().await.expect("read").expect("recorded");
        assert_eq!(last, refused, "{path}: the status shows it");
        assert_eq!(
            store.stored_registry().await.expect("read").as_ref(),
            Some(&good),
            "{path}: the accepted copy stays"
        );
    }

    // A dead URL: a failed download, nothing else touched.
    let dead = refresher(&t, DEAD_ENDPOINT, "/current-full.csv")
        .run()
        .await
        .expect_err("refused")
        .0;
    assert_eq!(dead.outcome, RefreshOutcome::Failed);
    assert!(dead.detail.contains("connect"), "{}", dead.detail);

    // The old column layout is read by column name, not position.
    let old = refresher(&t, &base, "/old-layout.csv")
        .run()
        .await
        .expect("accepted")
        .expect("a report");
    assert_eq!(old.outcome, RefreshOutcome::Accepted, "{}", old.detail);
}

#[tokio::test]
async fn the_intake_classifies_with_the_refreshed_copy_from_its_next_cold_start() {
    let t = TestStack::new().await;
    let base = serve(routes()).await;
    let intake_env = |refresh: &str| {
        t.function_env(
            "IntakeFunction",
            &[
                ("FIRSTHOUR_GOV_DOMAINS_FILE", ""),
                ("FIRSTHOUR_GOV_REGISTRY_REFRESH", refresh),
            ],
        )
    };
    let post = |app: Arc<intake::AwsIntakeApp>, seats: u32| async move {
        let body = format!(
            r#"{{"email":"k.lee@mail.newagency.gov","name":"K Lee","message":"Quote for {seats} seats"}}"#
        );
        let (status, _, text) = parts(
            app.handle(http_api_request("POST", "/leads", &[JSON], body.as_bytes()))
                .await,
        );
        assert_eq!(status, 202, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).expect("json")["lead_id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let cold_start = |env: HashMap<String, String>| {
        let sdk = t.sdk.clone();
        async move {
            let reader = EnvReader::new(move |name: &str| env.get(name).cloned());
            Arc::new(
                intake::AwsIntakeApp::from_env(&reader, &sdk)
                    .await
                    .expect("cold start"),
            )
        }
    };
    let sector_of = |id: String| {
        let t = &t;
        async move {
            t.leads()
                .await
                .into_iter()
                .find(|item| s(item, "pk") == Some(&format!("LEAD#{id}")))
                .and_then(|item| s(&item, "sector").map(str::to_owned))
                .expect("the lead")
        }
    };

    // Before any refresh: the built-in snapshot does not know the agency.
    let before = cold_start(intake_env("on")).await;
    assert_eq!(
        sector_of(post(before, 1).await).await,
        "government_unverified"
    );

    refresher(&t, &base, "/current-full.csv")
        .run()
        .await
        .expect("accepted");
    let after = cold_start(intake_env("on")).await;
    assert_eq!(sector_of(post(after, 2).await).await, "federal");

    // With the refresh off, or a file named, the refreshed copy is not read.
    let off = cold_start(intake_env("off")).await;
    assert_eq!(sector_of(post(off, 3).await).await, "government_unverified");
}

// The CLI runs as a blocking child process: the server needs its own thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_updates_from_a_file_or_url_and_reports_the_status() {
    let t = TestStack::new().await;
    let table = t.stack.table_name.clone();
    let base = serve(routes()).await;
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("json");

    let (code, out, err) = firsthour(&["registry", "status", "--table", &table]);
    assert_eq!(code, 0, "{err}");
    let status = json(&out);
    assert_eq!(status["in_use"]["copy"], "built-in");
    assert_eq!(status["refreshed"], serde_json::Value::Null);
    assert_eq!(status["last_refresh"], serde_json::Value::Null);

    // A refused URL: exit 1 with the reason; the status says so.
    let (code, _, err) = firsthour(&[
        "registry",
        "update",
        "--from",
        &format!("{base}/error.html"),
        "--table",
        &table,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("HTML page"), "{err}");
    let status = json(&firsthour(&["registry", "status", "--table", &table]).1);
    assert_eq!(status["last_refresh"]["outcome"], "rejected");
    assert_eq!(status["in_use"]["copy"], "built-in");

    // A file with one more federal agency than the snapshot.
    let file = std::env::temp_dir().join(format!("current-full-{}.csv", ulid::Ulid::new()));
    std::fs::write(&file, format!("{}{NEW_AGENCY_ROW}", snapshot())).expect("write");
    let (code, out, err) = firsthour(&[
        "registry",
        "update",
        "--from",
        &file.display().to_string(),
        "--table",
        &table,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 rows differ"), "{out}");
    let status = json(&firsthour(&["registry", "status", "--table", &table]).1);
    assert_eq!(status["in_use"]["copy"], "refreshed");
    assert_eq!(status["last_refresh"]["outcome"], "accepted");
    assert_eq!(status["refreshed"]["changed_rows"], 1);
    assert_eq!(status["refreshed"]["fits_this_release"], true);

    let (code, out, err) =
        firsthour(&["registry", "show", "k.lee@newagency.gov", "--table", &table]);
    assert_eq!(code, 0, "{err}");
    let shown = json(&out);
    assert_eq!(shown["sector"], "federal");
    assert_eq!(shown["agency"], "Office of the New Agency");
    assert_eq!(shown["registry"]["copy"], "refreshed");
    // Without the table, the built-in snapshot answers.
    let shown = json(&firsthour(&["registry", "show", "newagency.gov"]).1);
    assert_eq!(shown["sector"], "government_unverified");
    assert_eq!(shown["registry"]["copy"], "built-in");

    // Not a URL or a file: a clear error, exit 1.
    let (code, _, err) = firsthour(&["registry", "update", "--from", "ftp://x/y.csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("http or https"), "{err}");
    let _ = std::fs::remove_file(file);
}
