//! The landing-page example (`examples/landing-page`) in headless Chromium,
//! against the local stack `make run` starts: a person fills the form,
//! submits, lands on the thank-you page, and the lead is in the table; the
//! government portal's lead reaches the federal team, whose email is opened
//! in the sent-mail view, screenshotted and claimed.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`make browser`, which
//! `make test` runs). The screenshot goes to `target/browser/federal-email.png`;
//! `FIRSTHOUR_UPDATE_SCREENSHOT=1` also copies it to `docs/images/`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use fantoccini::{Client, ClientBuilder, Locator};
use firsthour_local::run::{RunOptions, start};
use firsthour_local::site::{self, Site};
use firsthour_tests::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The intake refuses submits sooner than this after the page rendered
/// (`[spam] min_seconds_to_submit` in the shipped config), so a person
/// (and this test) takes a little longer.
const HUMAN_PAUSE: Duration = Duration::from_millis(3300);

/// Chromium and chromedriver, or a failure that says how to get them.
fn browser_binaries() -> (PathBuf, PathBuf) {
    let chromium = std::env::var_os("FIRSTHOUR_CHROMIUM").map_or(CHROMIUM.into(), PathBuf::from);
    let driver =
        std::env::var_os("FIRSTHOUR_CHROMEDRIVER").map_or(CHROMEDRIVER.into(), PathBuf::from);
    for (path, package) in [(&chromium, "chromium"), (&driver, "chromium-driver")] {
        assert!(
            path.is_file(),
            "{} not found: run `make browser` (installs Debian's chromium and chromium-driver; \
             `make test` does it first), or point FIRSTHOUR_CHROMIUM / FIRSTHOUR_CHROMEDRIVER \
             at your own build [{package}]",
            path.display()
        );
    }
    (chromium, driver)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// chromedriver on a free port, in its own process group: dropping it ends
/// chromedriver and any Chromium it started, even when the test panics.
struct Chromedriver {
    url: String,
    child: tokio::process::Child,
}

impl Chromedriver {
    async fn start(binary: &Path, log: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(log).expect("chromedriver log");
        let child = tokio::process::Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("{} does not start: {err}", binary.display()));
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(response) = reqwest::get(format!("{url}/status")).await
                && response.status().is_success()
            {
                return Self { url, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {url} within 10 s");
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group chromedriver leads (process_group(0) above): Chromium too.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// A headless Chromium session, as the closed network here needs it.
async fn browser(driver: &Chromedriver, chromium: &Path, profile: &Path) -> Client {
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--password-store=basic",
                "--hide-scrollbars",
                "--lang=en-US",
                "--window-size=1100,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object")
    };
    ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

/// What every scenario needs.
struct Ctx {
    client: Client,
    sdk: aws_config::SdkConfig,
    table: String,
    site: String,
    intake: String,
    emulator: String,
    shots: PathBuf,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_pages_post_leads_from_headless_chromium() {
    let (chromium, chromedriver) = browser_binaries();
    let begun = Instant::now();
    let work = std::env::temp_dir().join(format!("firsthour-browser-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(work.join("logs")).expect("work dir");
    eprintln!("browser test: logs in {}", work.display());

    // The stack on a private emulator (the sent-mail view reads all of moto's state).
    let moto = PrivateMoto::start().await;
    let sdk = sdk_at(&moto.url).await;
    let site_listener = site::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("site port");
    let site_origin = format!("http://{}", site_listener.local_addr().expect("site addr"));
    let intake_port = free_port();
    let intake = format!("http://127.0.0.1:{intake_port}");
    let mut parameters = test_parameters();
    parameters.extend([
        ("CorsOrigins".to_owned(), site_origin.clone()),
        ("RedirectOrigins".to_owned(), site_origin.clone()),
        (
            "ThankYouUrl".to_owned(),
            format!("{site_origin}/thanks.html"),
        ),
    ]);
    let options = RunOptions {
        template: template_path(),
        bin_dir: bin_dir(),
        prefix: format!("web{}", ulid::Ulid::new().to_string().to_lowercase()),
        http_addr: SocketAddr::from(([127, 0, 0, 1], intake_port)),
        emulator_url: moto.url.clone(),
        tick: Duration::from_secs(60),
        parameters,
        extra_env: vec![
            (
                "FIRSTHOUR_CONFIG_FILE".into(),
                shipped_config().display().to_string(),
            ),
            (
                "FIRSTHOUR_GOV_DOMAINS_FILE".into(),
                registry_snapshot().display().to_string(),
            ),
            ("FIRSTHOUR_PUBLIC_BASE_URL".into(), intake.clone()),
            ("AWS_ENDPOINT_URL".into(), moto.url.clone()),
        ],
        intake_instances: 2,
        show_function_logs: false,
        log_dir: Some(work.join("logs")),
        gateway: Default::default(),
        smtp_addr: None,
        live_rules: None,
        rules_refresh: Duration::from_secs(2),
        chat: None,
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (run `cargo build --workspace --bins` first)");
    let site = Site::new(&root().join("examples/landing-page"), &intake).expect("example site");
    let served = site::serve(site_listener, site).expect("site served");
    let stack_ready = begun.elapsed();

    let driver = Chromedriver::start(&chromedriver, &work.join("chromedriver.log")).await;
    let client = browser(&driver, &chromium, &work.join("profile")).await;
    let browser_ready = begun.elapsed();
    let ctx = Ctx {
        client: client.clone(),
        sdk,
        table: running.stack.table_name.clone(),
        site: site_origin,
        intake,
        emulator: moto.url.clone(),
        shots: root().join("target/browser"),
    };
    // The scenarios run in their own task so the browser is closed even
    // when one fails.
    let outcome = tokio::spawn(scenarios(ctx)).await;
    let _ = client.close().await;
    drop(driver);
    drop(served);
    running.stop().await;
    let timings = match outcome {
        Ok(timings) => timings,
        Err(err) => match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("scenarios did not finish: {err}"),
        },
    };
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "browser test: stack ready {:.1} s, Chromium ready {:.1} s; {}; total {:.1} s",
        stack_ready.as_secs_f64(),
        (browser_ready - stack_ready).as_secs_f64(),
        timings
            .iter()
            .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        begun.elapsed().as_secs_f64()
    );
}

async fn scenarios(ctx: Ctx) -> Vec<(&'static str, Duration)> {
    let mut timings = Vec::new();
    let mut lap = Instant::now();
    contact_form_lands_on_thanks_and_stores_the_lead(&ctx).await;
    timings.push(("form post", lap.elapsed()));
    lap = Instant::now();
    let federal_lead = government_portal_reaches_the_federal_team(&ctx).await;
    timings.push(("government", lap.elapsed()));
    lap = Instant::now();
    fetch_variant_shows_errors_inline_then_lands_on_thanks(&ctx).await;
    timings.push(("fetch", lap.elapsed()));
    lap = Instant::now();
    filled_honeypot_sees_thanks_but_stores_nothing(&ctx).await;
    timings.push(("honeypot", lap.elapsed()));
    lap = Instant::now();
    federal_email_reads_well_and_its_claim_link_works(&ctx, &federal_lead).await;
    timings.push(("email + claim", lap.elapsed()));
    timings
}

/// a. The plain form post with redirect.
async fn contact_form_lands_on_thanks_and_stores_the_lead(ctx: &Ctx) {
    let loaded = open(ctx, "/index.html").await;
    fill_all(
        ctx,
        &[
            ("name", "Jane Doe"),
            ("email", "jane.doe@example.com"),
            ("company", "Example Buyer LLC"),
            ("phone", "+1 202 555 0142"),
            ("message", "We would like a demo for 40 seats."),
        ],
    )
    .await;
    submit_after_a_human_pause(ctx, loaded).await;
    await_thanks(ctx).await;

    let lead = one_lead(ctx, "jane.doe@example.com").await;
    assert_eq!(s(&lead, "full_name"), Some("Jane Doe"));
    assert_eq!(s(&lead, "company"), Some("Example Buyer LLC"));
    assert_eq!(s(&lead, "source"), Some("website"));
    assert_eq!(s(&lead, "sector"), Some("commercial"));
    assert_eq!(
        s(&lead, "page_url"),
        Some(format!("{}/index.html", ctx.site).as_str()),
        "the page's script filled page_url"
    );
}

/// b. The government portal: a .mil address, the federal team's email.
async fn government_portal_reaches_the_federal_team(ctx: &Ctx) -> String {
    let loaded = open(ctx, "/government.html").await;
    fill_all(
        ctx,
        &[
            ("name", "Grace Hopper"),
            ("title", "Director, Fleet Software"),
            ("email", "grace.hopper@navy.mil"),
            ("phone", "(703) 555-0100"),
            ("agency", "US Navy, NAVSEA"),
        ],
    )
    .await;
    choose(
        ctx,
        "organization_type",
        "Military or Department of Defense",
    )
    .await;
    choose(ctx, "contract_vehicle", "NASA SEWP").await;
    choose(ctx, "timeline", "This fiscal year").await;
    fill(
        ctx,
        "message",
        "We need a quote for 200 licenses, ordered through SEWP before the end of the fiscal year.",
    )
    .await;
    submit_after_a_human_pause(ctx, loaded).await;
    await_thanks(ctx).await;

    let lead = one_lead(ctx, "grace.hopper@navy.mil").await;
    assert_eq!(s(&lead, "sector"), Some("federal"), "{lead:?}");
    assert_eq!(s(&lead, "source"), Some("gov-portal"));
    assert_eq!(s(&lead, "company"), Some("US Navy, NAVSEA"));
    let lead_id = s(&lead, "lead_id").expect("lead_id").to_owned();

    let mail = federal_team_mail(ctx, &lead_id).await;
    assert!(
        mail.subject.starts_with("Federal lead:"),
        "subject: {}",
        mail.subject
    );
    for shown in ["Grace Hopper", "grace.hopper@navy.mil", "NASA SEWP"] {
        assert!(mail.body.contains(shown), "the email shows {shown:?}");
    }
    lead_id
}

/// c. fetch() with CORS from the site's origin: a refused email shows
/// inline, the corrected form lands on the thank-you page.
async fn fetch_variant_shows_errors_inline_then_lands_on_thanks(ctx: &Ctx) {
    let loaded = open(ctx, "/fetch.html").await;
    fill(ctx, "name", "Ada Lovelace").await;
    // The browser takes it (type=email allows a dotless domain); the intake does not.
    fill_all(
        ctx,
        &[
            ("email", "ada@localhost"),
            ("company", "Analytical Engines Ltd"),
            ("message", "Could you send pricing for the team plan?"),
        ],
    )
    .await;
    submit_after_a_human_pause(ctx, loaded).await;
    let error = ctx
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".form-error:not([hidden])"))
        .await
        .expect("the intake's reason shows inline");
    let text = error.text().await.expect("error text");
    assert!(text.contains("email"), "inline error: {text:?}");
    std::fs::create_dir_all(&ctx.shots).expect("target/browser");
    let png = ctx.client.screenshot().await.expect("screenshot");
    std::fs::write(ctx.shots.join("fetch-inline-error.png"), png).expect("write the screenshot");
    let email = ctx
        .client
        .find(Locator::Css("[name=\"email\"]"))
        .await
        .expect("email field");
    assert_eq!(
        email.attr("aria-invalid").await.expect("attr").as_deref(),
        Some("true"),
        "the refused field is marked"
    );
    assert!(
        current_path(ctx).await.ends_with("/fetch.html"),
        "still on the form"
    );
    assert!(leads_for(ctx, "ada@localhost").await.is_empty());

    email.clear().await.expect("clear");
    email
        .send_keys("ada.lovelace@example.org")
        .await
        .expect("type");
    ctx.client
        .find(Locator::Css("button[type=\"submit\"]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    await_thanks(ctx).await;
    let lead = one_lead(ctx, "ada.lovelace@example.org").await;
    assert_eq!(s(&lead, "full_name"), Some("Ada Lovelace"));
    assert_eq!(
        s(&lead, "page_url"),
        Some(format!("{}/fetch.html", ctx.site).as_str())
    );
}

/// d. A bot fills the honeypot: it sees the same thank-you page, nothing is stored.
async fn filled_honeypot_sees_thanks_but_stores_nothing(ctx: &Ctx) {
    let loaded = open(ctx, "/index.html").await;
    fill_all(
        ctx,
        &[
            ("name", "Spam Bot"),
            ("email", "bot@spam.example.com"),
            ("message", "Cheap backlinks, great prices"),
        ],
    )
    .await;
    ctx.client
        .execute(
            "document.querySelector('[name=hp_website]').value = 'https://spam.example.com';",
            vec![],
        )
        .await
        .expect("fill the honeypot");
    submit_after_a_human_pause(ctx, loaded).await;
    await_thanks(ctx).await;
    // The intake stores before it answers: no lead now means none at all.
    assert!(
        leads_for(ctx, "bot@spam.example.com").await.is_empty(),
        "a honeypot submission is not stored"
    );
}

/// e. The federal email in the sent-mail view: screenshot, fields, claim.
async fn federal_email_reads_well_and_its_claim_link_works(ctx: &Ctx, lead_id: &str) {
    ctx.client
        .goto(&format!("{}/_local/mail", ctx.intake))
        .await
        .expect("sent-mail view");
    let open_link = ctx
        .client
        .find(Locator::XPath(&format!(
            "//article[.//iframe[contains(@srcdoc, '{lead_id}')] \
             and .//p[contains(., 'to federal-sales@example.com')]]//a[@class='open']"
        )))
        .await
        .expect("the federal team's email is listed");
    open_link.click().await.expect("open the email");
    wait_for_path(ctx, "/_local/mail/").await;

    // The whole email in one picture: the viewport as tall as the page
    // (the window's own frame takes some of its height, so measure twice).
    let mut window_height = 1000;
    for _ in 0..3 {
        ctx.client
            .set_window_size(900, window_height)
            .await
            .expect("resize");
        let sizes = ctx
            .client
            .execute(
                "return [document.documentElement.scrollHeight, window.innerHeight];",
                vec![],
            )
            .await
            .expect("page and viewport heights");
        let size = |i: usize| sizes[i].as_i64().expect("a number");
        let missing = size(0) - size(1);
        if missing == 0 {
            break;
        }
        window_height = u32::try_from((i64::from(window_height) + missing).clamp(400, 6000))
            .expect("a window height");
    }
    let png = ctx.client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::create_dir_all(&ctx.shots).expect("target/browser");
    let shot = ctx.shots.join("federal-email.png");
    std::fs::write(&shot, &png).expect("write the screenshot");
    if std::env::var_os("FIRSTHOUR_UPDATE_SCREENSHOT").is_some() {
        let docs = root().join("docs/images");
        std::fs::create_dir_all(&docs).expect("docs/images");
        std::fs::write(docs.join("federal-email.png"), &png).expect("docs screenshot");
    }
    eprintln!("browser test: screenshot {}", shot.display());

    let text = ctx
        .client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    for shown in [
        "Federal lead",
        "Grace Hopper",
        "grace.hopper@navy.mil",
        "(703) 555-0100",
        "US Navy, NAVSEA",
        "Director, Fleet Software",
        "federal",
        "gov-portal",
        "We need a quote for 200 licenses",
        "NASA SEWP",
        lead_id,
    ] {
        assert!(text.contains(shown), "the email shows {shown:?}:\n{text}");
    }
    let claim = ctx
        .client
        .find(Locator::LinkText("Claim this lead"))
        .await
        .expect("a claim link");
    let href = claim.attr("href").await.expect("href").expect("a link");
    assert!(
        href.starts_with(&format!("{}/leads/{lead_id}/claim?", ctx.intake)),
        "claim link {href}"
    );
    claim.click().await.expect("claim");
    wait_for_path(ctx, "/claim").await;
    // The heading, or nothing while a navigation replaces the page (an
    // element found just before it goes stale).
    let heading = |ctx: &Ctx| {
        let client = ctx.client.clone();
        async move {
            match client.find(Locator::Css("h1")).await {
                Ok(element) => element.text().await.ok(),
                Err(_) => None,
            }
        }
    };
    // Opening the link claims nothing (mail scanners open every link): the
    // page shows the lead and a button, and the button claims.
    let mut first = heading(ctx).await;
    for _ in 0..50 {
        if first.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first = heading(ctx).await;
    }
    assert_eq!(first.as_deref(), Some("Claim this lead?"));
    let lead = one_lead(ctx, "grace.hopper@navy.mil").await;
    assert_eq!(
        s(&lead, "claimed_by"),
        None,
        "opening the link claimed nothing"
    );
    ctx.client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .expect("the Claim button")
        .click()
        .await
        .expect("click Claim");
    let mut page = heading(ctx).await;
    for _ in 0..50 {
        if page.as_deref().is_some_and(|h| h != "Claim this lead?") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        page = heading(ctx).await;
    }
    let page = page.unwrap_or_default();
    assert_eq!(page, "The lead is yours");
    let lead = one_lead(ctx, "grace.hopper@navy.mil").await;
    assert_eq!(s(&lead, "claimed_by"), Some("federal-sales@example.com"));
}

// ---- browser helpers ----------------------------------------------------

/// Opens a page of the example site; returns when it finished loading.
async fn open(ctx: &Ctx, path: &str) -> Instant {
    ctx.client
        .set_window_size(1100, 1000)
        .await
        .expect("window size");
    ctx.client
        .goto(&format!("{}{path}", ctx.site))
        .await
        .unwrap_or_else(|err| panic!("open {path}: {err}"));
    let rendered_at = ctx
        .client
        .find(Locator::Css("[name=\"_rendered_at\"]"))
        .await
        .expect("the spam-check field")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(
        rendered_at.parse::<u64>().is_ok(),
        "the page's script set _rendered_at ({rendered_at:?})"
    );
    Instant::now()
}

async fn fill(ctx: &Ctx, name: &str, value: &str) {
    ctx.client
        .find(Locator::Css(&format!("[name=\"{name}\"]")))
        .await
        .unwrap_or_else(|err| panic!("field {name}: {err}"))
        .send_keys(value)
        .await
        .unwrap_or_else(|err| panic!("type into {name}: {err}"));
}

/// Types each (field name, value) in order.
async fn fill_all(ctx: &Ctx, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        fill(ctx, name, value).await;
    }
}

async fn choose(ctx: &Ctx, name: &str, label: &str) {
    ctx.client
        .find(Locator::Css(&format!("select[name=\"{name}\"]")))
        .await
        .unwrap_or_else(|err| panic!("select {name}: {err}"))
        .select_by_label(label)
        .await
        .unwrap_or_else(|err| panic!("choose {label:?} in {name}: {err}"));
}

/// Clicks the submit button once the page has been open as long as a
/// person would take.
async fn submit_after_a_human_pause(ctx: &Ctx, loaded: Instant) {
    tokio::time::sleep(HUMAN_PAUSE.saturating_sub(loaded.elapsed())).await;
    ctx.client
        .find(Locator::Css("button[type=\"submit\"]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
}

async fn current_path(ctx: &Ctx) -> String {
    ctx.client
        .current_url()
        .await
        .expect("current url")
        .path()
        .to_owned()
}

/// Waits for the browser to reach a URL whose path contains `fragment`.
async fn wait_for_path(ctx: &Ctx, fragment: &str) {
    let started = Instant::now();
    loop {
        let url = ctx.client.current_url().await.expect("current url");
        if url.path().contains(fragment) {
            return;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let body = ctx.client.source().await.unwrap_or_default();
            panic!("never reached {fragment:?}; at {url}:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The thank-you page of the example site (not the intake's built-in one).
async fn await_thanks(ctx: &Ctx) {
    wait_for_path(ctx, "/thanks.html").await;
    let url = ctx.client.current_url().await.expect("url");
    assert_eq!(
        url.origin().ascii_serialization(),
        ctx.site,
        "the site's own thank-you page"
    );
    let heading = ctx
        .client
        .find(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Thank you, we got your message");
}

// ---- store and mail helpers -------------------------------------------

/// The lead items with this email.
async fn leads_for(ctx: &Ctx, email: &str) -> Vec<HashMap<String, AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(&ctx.sdk);
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&ctx.table)
            .filter_expression("entity = :lead AND email = :email")
            .expression_attribute_values(":lead", AttributeValue::S("lead".into()))
            .expression_attribute_values(":email", AttributeValue::S(email.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        found.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

async fn one_lead(ctx: &Ctx, email: &str) -> HashMap<String, AttributeValue> {
    let mut leads = leads_for(ctx, email).await;
    assert_eq!(leads.len(), 1, "one lead for {email}");
    leads.remove(0)
}

/// The federal team's email about a lead, once the router sent it.
async fn federal_team_mail(ctx: &Ctx, lead_id: &str) -> firsthour_local::mail::SentMail {
    let started = Instant::now();
    loop {
        let sent = firsthour_local::mail::sent_messages(&ctx.emulator)
            .await
            .expect("moto's sent mail");
        if let Some(mail) = sent
            .into_iter()
            .find(|m| m.to == ["federal-sales@example.com"] && m.body.contains(lead_id))
        {
            return mail;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no email to federal-sales@example.com about {lead_id} within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
