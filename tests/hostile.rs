//! Hostile and broken input through the real binaries, as an attacker or a
//! broken sender would send it: raw bytes over TCP to the local gateway,
//! the function processes built with `panic = "abort"` (as on Lambda), on
//! moto. Reports the suite's figures: requests sent, 5xx answers, process
//! deaths, and leads with a way to reach the person that were not stored.
//! All three must be 0.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use firsthour::signature::sign;
use firsthour_local::gateway::GatewayLimits;
use firsthour_local::run::{RunOptions, RunningStack, start};
use firsthour_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRETS: &str = r#"{"standard":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#;
/// How long the gateway stand-in waits for a declared body in this suite.
const BODY_TIMEOUT: Duration = Duration::from_secs(2);

/// One answer, as read off the wire.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the suite expects of a request.
#[derive(Debug, Clone)]
enum Expect {
    /// Answered 2xx/3xx and stored: the lead with this email is in the table.
    Stored(String),
    /// Answered with exactly this status.
    Status(u16),
    /// Answered 4xx (a clear refusal), nothing stored.
    Refused,
    /// Anything but a 5xx (fuzzing).
    NoServerError,
}

struct Suite {
    addr: SocketAddr,
    sent: usize,
    server_errors: Vec<String>,
    mismatches: Vec<String>,
    /// Emails of leads that must be in the table at the end.
    must_be_stored: Vec<(String, String)>,
    /// Leads whose stored item is checked at the end, by what they test.
    watched: HashMap<&'static str, String>,
    /// Source addresses rotate so the per-address limit only meets the
    /// case that tests it.
    next_source: u32,
}

impl Suite {
    fn source(&mut self) -> Ipv4Addr {
        self.next_source = self.next_source.wrapping_add(1);
        let n = self.next_source % 60_000;
        Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 2) as u8)
    }

    /// Sends raw bytes from `from` and reads the answer (connection closed after).
    async fn raw_from(&mut self, from: Ipv4Addr, request: &[u8]) -> Answer {
        self.sent += 1;
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((from, 0)))
            .expect("bind a loopback source address");
        let mut stream = socket.connect(self.addr).await.expect("connect");
        // A server may answer and close before the whole request is written.
        let _ = stream.write_all(request).await;
        let mut bytes = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(40), stream.read_to_end(&mut bytes));
        let problem = match read.await {
            Err(_) => Some("no answer within 40 s".to_owned()),
            // A reset after a complete answer still counts as the answer.
            Ok(Err(err)) if bytes.is_empty() => Some(format!("connection failed: {err}")),
            Ok(_) => None,
        };
        match problem {
            Some(body) => Answer {
                status: 0,
                headers: HashMap::new(),
                body,
            },
            None => parse_answer(&bytes),
        }
    }

    async fn raw(&mut self, request: &[u8]) -> Answer {
        let from = self.source();
        self.raw_from(from, request).await
    }

    /// One request, checked against what it should get.
    async fn case(&mut self, name: &str, request: Vec<u8>, expect: Expect) -> Answer {
        let answer = self.raw(&request).await;
        self.check(name, &answer, expect);
        answer
    }

    fn check(&mut self, name: &str, answer: &Answer, expect: Expect) {
        if answer.status >= 500 || answer.status == 0 {
            self.server_errors.push(format!(
                "{name}: {} {}",
                answer.status,
                answer.body.chars().take(200).collect::<String>()
            ));
            return;
        }
        let ok = match &expect {
            Expect::Stored(email) => {
                self.must_be_stored.push((name.to_owned(), email.clone()));
                (200..400).contains(&answer.status)
            }
            Expect::Status(status) => answer.status == *status,
            Expect::Refused => (400..500).contains(&answer.status),
            Expect::NoServerError => true,
        };
        if !ok {
            self.mismatches.push(format!(
                "{name}: expected {expect:?}, got {} {}",
                answer.status,
                answer.body.chars().take(300).collect::<String>()
            ));
        }
    }
}

fn parse_answer(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<HashMap<_, _>>();
    // Chunked bodies are rare here (the gateway answers with a length).
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A request with the usual headers, `Connection: close`, and a length.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(b"Host: api.example.com\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

fn json_post(path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    request("POST", path, &all, body.as_bytes())
}

fn form_post(body: &[u8]) -> Vec<u8> {
    request(
        "POST",
        "/leads",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body,
    )
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, value) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn multipart_post(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let boundary = "----hostile7MA4YWxkTrZu0gW";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    request(
        "POST",
        "/leads",
        &[("Content-Type", content_type.as_str())],
        &multipart(boundary, parts),
    )
}

/// A lead's unique email for case `n`.
fn email(tag: &str) -> String {
    format!(
        "{tag}.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

async fn start_stack(
    moto: &PrivateMoto,
) -> (RunningStack, aws_config::SdkConfig, std::path::PathBuf) {
    let sdk = sdk_at(&moto.url).await;
    let log_dir = std::env::temp_dir().join(format!("firsthour-hostile-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&log_dir).expect("log dir");
    let shipped = std::fs::read_to_string(shipped_config()).expect("shipped config");
    let config = temp_config(&format!(
        "{shipped}\n[sources.standard]\nauth = \"standard_webhooks\"\n"
    ));
    let options = RunOptions {
        template: template_path(),
        bin_dir: bin_dir(),
        prefix: format!("hostile{}", ulid::Ulid::new().to_string().to_lowercase()),
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        emulator_url: moto.url.clone(),
        tick: Duration::from_secs(3600),
        parameters: test_parameters(),
        extra_env: vec![
            ("FIRSTHOUR_CONFIG_FILE".into(), config),
            ("FIRSTHOUR_WEBHOOK_SECRETS".into(), SECRETS.into()),
            ("AWS_ENDPOINT_URL".into(), moto.url.clone()),
        ],
        // One intake process: every answer after a hostile request comes
        // from the same process, or the death count says otherwise.
        intake_instances: 1,
        show_function_logs: false,
        log_dir: Some(log_dir.clone()),
        gateway: GatewayLimits {
            body_timeout: BODY_TIMEOUT,
            ..GatewayLimits::default()
        },
        smtp_addr: None,
        live_rules: None,
        rules_refresh: Duration::from_secs(2),
        chat: None,
    };
    let running = start(&options, &sdk)
        .await
        .expect("local system starts (make build first)");
    (running, sdk, log_dir)
}

/// Every lead item in the table, by email.
async fn stored_leads(
    sdk: &aws_config::SdkConfig,
    table: &str,
) -> HashMap<String, HashMap<String, AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut leads = HashMap::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        for item in page.items.unwrap_or_default() {
            if s(&item, "sk") == Some("LEAD")
                && let Some(email) = s(&item, "email").map(str::to_owned)
            {
                leads.insert(email, item);
            }
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    leads
}

#[tokio::test]
async fn hostile_input_through_the_real_binaries() {
    let moto = PrivateMoto::start().await;
    let (running, sdk, _logs) = start_stack(&moto).await;
    let mut suite = Suite {
        addr: running.http_addr,
        sent: 0,
        server_errors: Vec::new(),
        mismatches: Vec::new(),
        must_be_stored: Vec::new(),
        watched: HashMap::new(),
        next_source: 0,
    };

    headers_cannot_crash_a_function(&mut suite).await;
    leads_are_not_lost_to_their_size(&mut suite).await;
    organisation_types_read_negations(&mut suite, &sdk, &running.stack.table_name).await;
    invisible_and_encoded_text(&mut suite).await;
    lone_surrogates_and_arithmetic(&mut suite).await;
    duplicates_keep_new_answers(&mut suite).await;
    let retry = the_rate_limit_loses_nothing(&mut suite).await;
    quadratic_and_encoding_shapes(&mut suite).await;
    the_gateway_behaves_like_api_gateway(&mut suite).await;
    classic_refusals(&mut suite).await;
    link_scanners_cannot_claim(&mut suite, &moto.url, &sdk, &running.stack.table_name).await;
    fuzzed_requests(&mut suite).await;

    // The senders told to retry (429) do so once the minute has passed.
    let wait = retry.not_before.saturating_duration_since(Instant::now());
    tokio::time::sleep(wait).await;
    for (name, request, email) in retry.requests {
        let from = retry.from;
        let answer = suite.raw_from(from, &request).await;
        suite.check(&format!("{name} (retried)"), &answer, Expect::Stored(email));
    }

    // The figures.
    let leads = stored_leads(&sdk, &running.stack.table_name).await;
    let mails = firsthour_local::mail::sent_messages(&moto.url)
        .await
        .unwrap_or_default();
    what_was_stored(&mut suite, &leads, &mails);
    let lost: Vec<_> = suite
        .must_be_stored
        .iter()
        .filter(|(_, email)| !leads.contains_key(email))
        .map(|(name, email)| format!("{name}: {email}"))
        .collect();
    let deaths: usize = [
        "IntakeFunction",
        "FederalRouterFunction",
        "EscalationFunction",
    ]
    .iter()
    .filter_map(|id| running.host(id))
    .map(|host| host.process_deaths())
    .sum();
    // Straight to stderr, not through the test harness's capture: the
    // figures show in every `make test` run, passing or not.
    let _ = writeln!(
        std::io::stderr(),
        "hostile suite: {} requests sent, {} 5xx answers, {} process deaths, {} leads with a valid contact not stored ({} checked)",
        suite.sent,
        suite.server_errors.len(),
        deaths,
        lost.len(),
        suite.must_be_stored.len()
    );
    assert!(
        suite.server_errors.is_empty(),
        "5xx answers: {:#?}",
        suite.server_errors
    );
    assert_eq!(deaths, 0, "function processes died");
    assert!(lost.is_empty(), "leads lost: {lost:#?}");
    assert!(
        suite.mismatches.is_empty(),
        "unexpected answers: {:#?}",
        suite.mismatches
    );
    running.stop().await;
}

/// What the stored items and the sent emails say about items 2, 5 and 10.
fn what_was_stored(
    suite: &mut Suite,
    leads: &HashMap<String, HashMap<String, AttributeValue>>,
    mails: &[firsthour_local::mail::SentMail],
) {
    let lead = |tag: &str| suite.watched.get(tag).and_then(|email| leads.get(email));
    let truncated = |item: &HashMap<String, AttributeValue>| -> Vec<String> {
        item.get("truncated")
            .and_then(|v| v.as_l().ok())
            .map(|list| list.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    if let Some(item) = lead("w1252")
        && truncated(item).is_empty()
    {
        problems.push("the grown windows-1252 lead lists nothing as truncated".to_owned());
    }
    if let Some(item) = lead("phone-ext") {
        let phone = s(item, "phone").unwrap_or_default();
        if phone.len() > 64 || truncated(item).is_empty() {
            problems.push(format!(
                "phone kept {} bytes; truncated {:?}",
                phone.len(),
                truncated(item)
            ));
        }
    }
    if let Some(item) = lead("long-file") {
        let longest = item
            .get("ignored_files")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_s().ok())
                    .map(String::len)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if longest > 255 {
            problems.push(format!("a {longest}-byte file name was stored"));
        }
    }
    let invisible = |text: &str| {
        text.chars().any(|c| {
            matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
    };
    if let Some(item) = lead("bidi") {
        for field in ["full_name", "company"] {
            if invisible(s(item, field).unwrap_or_default()) {
                problems.push(format!("{field} kept an invisible character"));
            }
        }
        let id = s(item, "lead_id").unwrap_or_default();
        let sent: Vec<_> = mails
            .iter()
            .filter(|m| !id.is_empty() && m.body.contains(id))
            .collect();
        if sent.is_empty() {
            problems.push("the bidi lead was not emailed".to_owned());
        }
        for mail in sent {
            if invisible(&mail.subject) || mail.subject.contains("Navy SEAL") {
                problems.push(format!("subject {:?}", mail.subject));
            }
        }
    }
    if let Some(item) = lead("value-bom")
        && s(item, "message") == Some("hi")
    {
        problems.push("a value's own FF FE chose UTF-16".to_owned());
    }
    suite.mismatches.extend(problems);
}

/// Item 1: headers `lambda_http`'s URL building panicked on. Each is followed
/// by a normal lead, answered by the same (single) intake process.
async fn headers_cannot_crash_a_function(suite: &mut Suite) {
    let bad: &[(&str, &str)] = &[
        ("X-Forwarded-Proto", "a b"),
        ("X-Forwarded-Proto", ""),
        ("X-Forwarded-Proto", "https, http"),
        ("X-Forwarded-Proto", "file"),
        ("X-Forwarded-Proto", "javascript"),
        ("Host", "exa mple"),
        ("Host", "127.0.0.1:99999"),
        ("Host", "[::1"),
        ("Host", ""),
        ("Host", "a@b:c@d"),
        ("X-Forwarded-Port", "99999999999"),
        ("X-Forwarded-For", "not an ip, ::::"),
    ];
    for (name, value) in bad {
        let label = format!("{name}: {value:?}");
        for (method, path, body, expect) in [
            ("POST", "/leads", Some(email("hdr")), None),
            ("GET", "/thank-you", None, Some(200)),
            (
                "GET",
                "/leads/01JDX0000000000000000000AA/claim?r=a&e=1&s=x",
                None,
                None,
            ),
            (
                "POST",
                "/leads/01JDX0000000000000000000AA/touch",
                None,
                Some(401),
            ),
            ("OPTIONS", "/leads", None, Some(204)),
        ] {
            let headers = [(*name, *value), ("Content-Type", "application/json")];
            let payload = body
                .as_ref()
                .map(|e| format!(r#"{{"email":"{e}"}}"#))
                .unwrap_or_default();
            let expect = match (&body, expect) {
                (Some(e), _) => Expect::Stored(e.clone()),
                (None, Some(status)) => Expect::Status(status),
                (None, None) => Expect::Refused,
            };
            suite
                .case(
                    &format!("{method} {path} with {label}"),
                    request(method, path, &headers, payload.as_bytes()),
                    expect,
                )
                .await;
        }
        let after = email("after-hdr");
        suite
            .case(
                &format!("a normal lead after {label}"),
                json_post("/leads", &[], &format!(r#"{{"email":"{after}"}}"#)),
                Expect::Stored(after),
            )
            .await;
    }
    // Header values a gateway passes on as bytes.
    let odd_header = b"POST /leads HTTP/1.1\r\nHost: api.example.com\r\nX-Odd: \xff\xfe\x80\r\nUser-Agent: \xc3\x28\r\nContent-Type: application/json\r\nContent-Length: 34\r\nConnection: close\r\n\r\n{\"email\":\"odd-header@example.com\"}";
    suite
        .case(
            "non-UTF-8 header values",
            odd_header.to_vec(),
            Expect::Stored("odd-header@example.com".into()),
        )
        .await;
}

/// Item 2: bodies that grow when decoded, long phones, long file names.
async fn leads_are_not_lost_to_their_size(suite: &mut Suite) {
    // 140 KB of windows-1252 bytes: each 0x80 becomes three bytes of '€'.
    let w1252 = email("w1252");
    suite.watched.insert("w1252", w1252.clone());
    let mut body = format!("email={}&message=", w1252.replace('@', "%40")).into_bytes();
    body.extend(std::iter::repeat_n(0x80u8, 140 * 1024));
    body.extend_from_slice(b"&company=");
    body.extend(std::iter::repeat_n(0x80u8, 8 * 1024));
    suite
        .case(
            "140 KB windows-1252 form body",
            form_post(&body),
            Expect::Stored(w1252),
        )
        .await;
    // The same, every byte a separate field value.
    let wide = email("w1252-fields");
    let mut body = format!("email={}", wide.replace('@', "%40")).into_bytes();
    for i in 0..190 {
        body.extend_from_slice(format!("&f{i}=").as_bytes());
        body.extend(std::iter::repeat_n(0x80u8, 1300));
    }
    suite
        .case(
            "190 fields of windows-1252 bytes",
            form_post(&body),
            Expect::Stored(wide),
        )
        .await;
    // A phone with a 200 KB "extension".
    let phone = email("phone-ext");
    suite.watched.insert("phone-ext", phone.clone());
    let long_ext = "9".repeat(200_000);
    suite
        .case(
            "200 KB phone extension",
            json_post(
                "/leads",
                &[],
                &format!(r#"{{"email":"{phone}","phone":"+1 202 555 0100 ext {long_ext}"}}"#),
            ),
            Expect::Stored(phone),
        )
        .await;
    // Something other than digits after "x".
    let letters = email("phone-x");
    suite
        .case(
            "letters after x in a phone",
            json_post(
                "/leads",
                &[],
                &format!(
                    r#"{{"email":"{letters}","phone":"202 555 0100 x <script>alert(1)</script>"}}"#
                ),
            ),
            Expect::Stored(letters),
        )
        .await;
    // Only a phone, and an overlong one: refused with a reason, not a 500.
    suite
        .case(
            "only an overlong phone",
            json_post(
                "/leads",
                &[],
                &format!(r#"{{"phone":"{}"}}"#, "1".repeat(100_000)),
            ),
            Expect::Refused,
        )
        .await;
    // A 256,000-byte file name.
    let file = email("long-file");
    suite.watched.insert("long-file", file.clone());
    let name = "a".repeat(256_000 - 200);
    let email_part = file.clone();
    suite
        .case(
            "a 256 KB file name",
            multipart_post(&[
                ("email", None, email_part.as_bytes()),
                ("attachment", Some(&name), b"%PDF-1.4"),
            ]),
            Expect::Stored(file),
        )
        .await;
    // Many file parts.
    let files = email("many-files");
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("email", None, files.as_bytes())];
    let names: Vec<String> = (0..400)
        .map(|i| format!("{i}-{}", "n".repeat(400)))
        .collect();
    for n in &names {
        parts.push(("file", Some(n.as_str()), b"x"));
    }
    suite
        .case(
            "400 file parts",
            multipart_post(&parts),
            Expect::Stored(files),
        )
        .await;
    // 15 fields of 16 KB of 4-byte characters.
    let big = email("big-utf8");
    let mut fields = serde_json::Map::new();
    fields.insert("email".into(), big.clone().into());
    for i in 0..15 {
        fields.insert(format!("answer_{i}"), "𝔘".repeat(4000).into());
    }
    suite
        .case(
            "15 fields of 16 KB",
            json_post(
                "/leads",
                &[],
                &serde_json::Value::Object(fields).to_string(),
            ),
            Expect::Stored(big),
        )
        .await;
}

/// Item 3: organisation types with negations are not federal.
async fn organisation_types_read_negations(
    suite: &mut Suite,
    sdk: &aws_config::SdkConfig,
    table: &str,
) {
    let mut sent = Vec::new();
    for (value, federal) in [
        ("Non-federal", false),
        ("Non-Federal Agency", false),
        ("State (non-federal)", false),
        ("Federal contractor (private company)", false),
        ("Federal Government", true),
        ("Federal agency", true),
    ] {
        let address = format!(
            "org-{}@example.com",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        suite
            .case(
                &format!("organisation type {value:?}"),
                json_post(
                    "/leads",
                    &[],
                    &format!(r#"{{"email":"{address}","organization_type":"{value}"}}"#),
                ),
                Expect::Stored(address.clone()),
            )
            .await;
        sent.push((value, federal, address));
    }
    let leads = stored_leads(sdk, table).await;
    for (value, federal, address) in sent {
        let Some(lead) = leads.get(&address) else {
            continue; // counted as lost at the end
        };
        let sector = s(lead, "sector").unwrap_or_default();
        if (sector == "federal") != federal {
            suite
                .mismatches
                .push(format!("organisation type {value:?} gave sector {sector}"));
        }
    }
}

/// Item 5: invisible characters and literal encoded-words.
async fn invisible_and_encoded_text(suite: &mut Suite) {
    let address = email("bidi");
    suite.watched.insert("bidi", address.clone());
    suite
        .case(
            "bidi overrides in single-line fields",
            json_post(
                "/leads",
                &[],
                &format!(
                    r#"{{"email":"{address}","name":"\u202elim.yvan\u202c","company":"=?utf-8?b?TmF2eSBTRUFM?= \u200bInc\ufeff","organization_type":"\u2066Federal\u2069"}}"#
                ),
            ),
            Expect::Stored(address),
        )
        .await;
}

/// Items 6 and 7: a lone surrogate; arithmetic on hostile numbers.
async fn lone_surrogates_and_arithmetic(suite: &mut Suite) {
    for (label, text) in [
        ("lone high surrogate", r"Jane \ud83d"),
        ("lone low surrogate", r"\ude00 Doe"),
        ("reversed pair", r"\ude00\ud83d"),
        ("pair then lone", r"\ud83d\ude00\ud83d"),
    ] {
        let address = email("surrogate");
        suite
            .case(
                label,
                json_post(
                    "/leads",
                    &[],
                    &format!(r#"{{"email":"{address}","name":"{text}","message":"{text}"}}"#),
                ),
                Expect::Stored(address),
            )
            .await;
    }
    for rendered in [
        "-9223372036854775808",
        "9223372036854775807",
        "99999999999999999999999",
        "-1",
        "1e308",
        "NaN",
    ] {
        let address = email("rendered");
        let body = format!(
            "email={}&_rendered_at={rendered}",
            address.replace('@', "%40")
        );
        suite
            .case(
                &format!("_rendered_at={rendered}"),
                form_post(body.as_bytes()),
                Expect::Stored(address),
            )
            .await;
    }
    let body = br#"{"email":"signed@example.com"}"#;
    for timestamp in ["-9223372036854775808", "9223372036854775807", "-1", "0"] {
        let signature = timestamp
            .parse::<i64>()
            .map(|t| {
                sign::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", t, body)
            })
            .unwrap_or_default();
        suite
            .case(
                &format!("webhook-timestamp {timestamp}"),
                json_post(
                    "/leads/standard",
                    &[
                        ("webhook-id", "msg_1"),
                        ("webhook-timestamp", timestamp),
                        ("webhook-signature", &signature),
                    ],
                    std::str::from_utf8(body).unwrap_or_default(),
                ),
                Expect::Status(401),
            )
            .await;
    }
}

/// Item 8: the same person with other answers is a new lead.
async fn duplicates_keep_new_answers(suite: &mut Suite) {
    let address = email("returning");
    let first = format!(
        "email={}&organization_type=Federal&product=A&_rendered_at=1",
        address.replace('@', "%40")
    );
    let answer = suite
        .case(
            "first submission",
            form_post(first.as_bytes()),
            Expect::Stored(address.clone()),
        )
        .await;
    let other = format!(
        "email={}&organization_type=Commercial&product=B&_rendered_at=2",
        address.replace('@', "%40")
    );
    let second = suite
        .case(
            "same person, other answers",
            form_post(other.as_bytes()),
            Expect::Status(202),
        )
        .await;
    if answer.json()["lead_id"] == second.json()["lead_id"] {
        suite
            .mismatches
            .push("other answers were taken for a duplicate".into());
    }
    let again = format!(
        "email={}&organization_type=Federal&product=A&_rendered_at=3",
        address.replace('@', "%40")
    );
    let third = suite
        .case(
            "a true resubmission",
            form_post(again.as_bytes()),
            Expect::Status(200),
        )
        .await;
    if answer.json()["lead_id"] != third.json()["lead_id"] {
        suite
            .mismatches
            .push("a resubmission did not answer with the first lead".into());
    }
}

/// The requests told to retry, and from where.
struct Retry {
    from: Ipv4Addr,
    not_before: Instant,
    requests: Vec<(String, Vec<u8>, String)>,
}

/// Item 9: past the limit, a server-to-server sender is told to retry; a
/// stored delivery id answers with its lead.
async fn the_rate_limit_loses_nothing(suite: &mut Suite) -> Retry {
    let from = Ipv4Addr::new(127, 9, 9, 9);
    // The limit counts per calendar minute: start the burst early in one.
    let second = time::OffsetDateTime::now_utc().second();
    if second > 40 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }
    let keyed = email("keyed");
    let keyed_body = format!(r#"{{"email":"{keyed}"}}"#);
    let first = suite
        .raw_from(
            from,
            &json_post("/leads", &[("Idempotency-Key", "crm-1")], &keyed_body),
        )
        .await;
    suite.check("keyed delivery", &first, Expect::Stored(keyed.clone()));
    let mut retry = Retry {
        from,
        not_before: Instant::now(),
        requests: Vec::new(),
    };
    for i in 0..34 {
        let address = email(&format!("burst{i}"));
        let request = json_post("/leads", &[], &format!(r#"{{"email":"{address}"}}"#));
        let answer = suite.raw_from(from, &request).await;
        match answer.status {
            429 => {
                let seconds = answer
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.parse::<u64>().ok());
                match seconds {
                    Some(s) if (1..=60).contains(&s) => {
                        retry.not_before = retry
                            .not_before
                            .max(Instant::now() + Duration::from_secs(s));
                    }
                    _ => suite.mismatches.push(format!(
                        "429 without a usable Retry-After: {:?}",
                        answer.headers
                    )),
                }
                retry
                    .requests
                    .push((format!("burst {i}"), request, address));
            }
            _ => suite.check(&format!("burst {i}"), &answer, Expect::Stored(address)),
        }
    }
    if retry.requests.len() < 4 {
        suite.mismatches.push(format!(
            "only {} of 34 were over the limit",
            retry.requests.len()
        ));
    }
    // A stored delivery id, past the limit: its own lead, never another id.
    let again = suite
        .raw_from(
            from,
            &json_post("/leads", &[("Idempotency-Key", "crm-1")], &keyed_body),
        )
        .await;
    suite.check(
        "stored delivery past the limit",
        &again,
        Expect::Status(200),
    );
    if again.json()["lead_id"] != first.json()["lead_id"] {
        suite
            .mismatches
            .push(format!("a stored delivery got another id: {}", again.body));
    }
    // A browser form post past the limit: the quiet success, nothing stored.
    let browser = suite
        .raw_from(
            from,
            &request(
                "POST",
                "/leads",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Sec-Fetch-Mode", "navigate"),
                    ("Accept", "text/html,application/xhtml+xml"),
                ],
                b"email=browser-past-limit%40example.com",
            ),
        )
        .await;
    suite.check("browser form past the limit", &browser, Expect::Status(303));
    retry
}

/// Item 10: Elementor's quadratic shape; a value's own BOM.
async fn quadratic_and_encoding_shapes(suite: &mut Suite) {
    let address = email("elementor");
    let mut body = format!(
        "fields%5Bemail%5D%5Bid%5D=email&fields%5Bemail%5D%5Bvalue%5D={}",
        address.replace('@', "%40")
    );
    // As many ids as a 250 KB body holds (about 11,000).
    let mut ids = 0;
    while body.len() < 250_000 {
        body.push_str(&format!("&fields[{ids}][value]=v"));
        ids += 1;
    }
    suite
        .case(
            &format!("Elementor with {ids} ids"),
            form_post(body.as_bytes()),
            Expect::Stored(address),
        )
        .await;
    let bom = email("value-bom");
    suite.watched.insert("value-bom", bom.clone());
    suite
        .case(
            "a value starting with FF FE",
            multipart_post(&[
                ("email", None, bom.as_bytes()),
                ("message", None, b"\xff\xfeh\x00i\x00"),
            ]),
            Expect::Stored(bom),
        )
        .await;
}

/// Item 12: the gateway's limits, a stalled body, two Content-Types.
async fn the_gateway_behaves_like_api_gateway(suite: &mut Suite) {
    let big_header = "x".repeat(10_300);
    suite
        .case(
            "10 KB header",
            request("POST", "/leads", &[("X-Big", &big_header)], b"{}"),
            Expect::Status(431),
        )
        .await;
    let started = Instant::now();
    let stalled = b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"email\":";
    let answer = suite.raw(stalled).await;
    suite.check("a stalled body", &answer, Expect::Status(408));
    if started.elapsed() > BODY_TIMEOUT + Duration::from_secs(5) {
        suite
            .mismatches
            .push(format!("the stalled body was held {:?}", started.elapsed()));
    }
    let two = email("two-types");
    suite
        .case(
            "two Content-Types",
            request(
                "POST",
                "/leads",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Type", "text/plain"),
                ],
                format!(r#"{{"email":"{two}"}}"#).as_bytes(),
            ),
            Expect::Stored(two),
        )
        .await;
    // Declared, not sent: refused on its length, as API Gateway does.
    suite
        .case(
            "an 11 MB body",
            b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11534336\r\nConnection: close\r\n\r\n".to_vec(),
            Expect::Status(413),
        )
        .await;
}

/// What the existing security tests check in process, through the binaries.
async fn classic_refusals(suite: &mut Suite) {
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "broken JSON",
            json_post("/leads", &[], r#"{"email":"#),
            Expect::Status(400),
        ),
        (
            "JSON array",
            json_post("/leads", &[], r#"[1,2,3]"#),
            Expect::Refused,
        ),
        (
            "deep JSON",
            json_post(
                "/leads",
                &[],
                &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            ),
            Expect::Refused,
        ),
        (
            "no contact",
            json_post("/leads", &[], r#"{"name":"x"}"#),
            Expect::Status(422),
        ),
        (
            "XML",
            request(
                "POST",
                "/leads",
                &[("Content-Type", "application/xml")],
                b"<a/>",
            ),
            Expect::Status(415),
        ),
        (
            "300 KB body",
            request(
                "POST",
                "/leads",
                &[("Content-Type", "text/plain")],
                &vec![b'a'; 300 * 1024],
            ),
            Expect::Status(413),
        ),
        (
            "bad source",
            json_post("/leads/..%2f..", &[], r#"{"email":"a@b.co"}"#),
            Expect::Refused,
        ),
        (
            "GET /leads",
            request("GET", "/leads", &[], b""),
            Expect::Status(405),
        ),
        (
            "unknown method",
            request("FOO", "/leads", &[], b""),
            Expect::Refused,
        ),
        (
            "unknown path",
            request("GET", "/admin", &[], b""),
            Expect::Status(404),
        ),
        (
            "bad Idempotency-Key",
            json_post(
                "/leads",
                &[("Idempotency-Key", "a b\u{7f}")],
                r#"{"email":"a@b.co"}"#,
            ),
            Expect::Status(400),
        ),
        (
            "forged claim link",
            request(
                "POST",
                "/leads/01JDX0000000000000000000AA/claim?r=x%40y.z&e=9999999999&s=AAAA",
                &[],
                b"",
            ),
            Expect::Status(403),
        ),
        (
            "claim of no lead",
            request("GET", "/leads/not-a-lead/claim", &[], b""),
            Expect::Status(404),
        ),
        (
            "touch without token",
            json_post(
                "/leads/01JDX0000000000000000000AA/touch",
                &[],
                r#"{"by":"a@b.co","channel":"call"}"#,
            ),
            Expect::Status(401),
        ),
        (
            "touch with a wrong token",
            json_post(
                "/leads/01JDX0000000000000000000AA/touch",
                &[("Authorization", "Bearer nope")],
                "{}",
            ),
            Expect::Status(401),
        ),
        (
            "multipart without boundary",
            request(
                "POST",
                "/leads",
                &[("Content-Type", "multipart/form-data")],
                b"--x\r\n",
            ),
            Expect::Refused,
        ),
        (
            "charset nobody knows",
            request(
                "POST",
                "/leads",
                &[("Content-Type", "text/plain; charset=x-klingon")],
                b"email=a@b.co",
            ),
            Expect::Refused,
        ),
    ];
    for (name, request, expect) in cases {
        suite.case(name, request, expect).await;
    }
    for (name, value) in [
        ("script in a name", "<script>alert(1)</script>"),
        ("CRLF in a name", "Jane\r\nBcc: victim@example.com"),
        ("NUL in a name", "Jane\u{0}Doe"),
    ] {
        let address = email("injection");
        let body =
            serde_json::json!({"email": address, "name": value, "company": value}).to_string();
        suite
            .case(
                name,
                json_post("/leads", &[], &body),
                Expect::Stored(address),
            )
            .await;
    }
}

/// Item 4: opening a claim link (as Safe Links, Mimecast or Proofpoint do)
/// claims nothing; the button's POST does.
async fn link_scanners_cannot_claim(
    suite: &mut Suite,
    emulator: &str,
    sdk: &aws_config::SdkConfig,
    table: &str,
) {
    let address = format!(
        "scanner.{}@navy.mil",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let answer = suite
        .case(
            "a federal lead to claim",
            json_post("/leads", &[], &format!(r#"{{"email":"{address}"}}"#)),
            Expect::Stored(address.clone()),
        )
        .await;
    let Some(lead_id) = answer.json()["lead_id"].as_str().map(str::to_owned) else {
        suite.mismatches.push("no lead id to claim".into());
        return;
    };
    let mut link = None;
    for _ in 0..100 {
        let mails = firsthour_local::mail::sent_messages(emulator)
            .await
            .unwrap_or_default();
        link = mails
            .iter()
            .filter(|m| m.body.contains(&lead_id))
            .find_map(|m| {
                m.body
                    .split("href=\"")
                    .filter_map(|h| h.split('"').next())
                    .find(|h| h.contains("/claim?"))
                    .map(|h| h.replace("&amp;", "&"))
            });
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(link) = link else {
        suite.mismatches.push("no claim link was emailed".into());
        return;
    };
    let path = link
        .split_once("//")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| format!("/{path}"))
        .unwrap_or_default();
    // What a mail security gateway does: GET, HEAD, prefetch, GET again.
    for (method, headers) in [
        (
            "GET",
            vec![("User-Agent", "Mozilla/5.0 (compatible; Safe Links)")],
        ),
        ("HEAD", vec![]),
        (
            "GET",
            vec![("Purpose", "prefetch"), ("Sec-Purpose", "prefetch")],
        ),
        ("GET", vec![("User-Agent", "Mimecast")]),
    ] {
        let answer = suite.raw(&request(method, &path, &headers, b"")).await;
        suite.check(
            &format!("{method} of a claim link"),
            &answer,
            Expect::Status(200),
        );
    }
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let claimed_by = |client: aws_sdk_dynamodb::Client| {
        let table = table.to_owned();
        let lead_id = lead_id.clone();
        async move {
            client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(format!("LEAD#{lead_id}")))
                .key("sk", AttributeValue::S("LEAD".into()))
                .send()
                .await
                .ok()
                .and_then(|o| o.item)
                .and_then(|item| s(&item, "claimed_by").map(str::to_owned))
        }
    };
    if let Some(by) = claimed_by(client.clone()).await {
        suite
            .mismatches
            .push(format!("opening the link claimed the lead for {by}"));
    }
    let answer = suite
        .raw(&request(
            "POST",
            &path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"",
        ))
        .await;
    suite.check("the Claim button", &answer, Expect::Status(200));
    if !answer.body.contains("The lead is yours") {
        suite
            .mismatches
            .push(format!("the Claim button answered {}", answer.body));
    }
    if claimed_by(client).await.is_none() {
        suite
            .mismatches
            .push("the Claim button did not claim".into());
    }
}

/// Deterministic mutations of real bodies, content types and headers.
async fn fuzzed_requests(suite: &mut Suite) {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let fixtures: Vec<Vec<u8>> = [
        "typeform.json",
        "gravityforms.json",
        "hubspot-forms.json",
        "webflow.json",
        // The tools read without mapping code: answer objects, wrappers,
        // compound answers, bookings.
        "tally.json",
        "jotform.urlencoded",
        "wufoo.urlencoded",
        "formstack.json",
        "calendly-invitee-created.json",
        "cal-com-booking-created.json",
    ]
    .iter()
    .filter_map(|name| std::fs::read(root().join("events/webhooks").join(name)).ok())
    .chain([
        b"email=a%40b.co&name=Jane&message=Hi".to_vec(),
        multipart(
            "b0undary",
            &[("email", None, b"a@b.co"), ("name", None, b"Jane")],
        ),
    ])
    .collect();
    let content_types = [
        "application/json",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=windows-1252",
        "multipart/form-data; boundary=b0undary",
        "multipart/form-data; boundary=\"\"",
        "text/plain",
        "text/plain; charset=iso-8859-1",
        "",
        "application/json, text/plain",
        ";;;",
    ];
    let paths = [
        "/leads",
        "/leads/web",
        "/leads/gov-portal",
        "/leads/standard",
        "/prod/leads/x",
    ];
    for i in 0..300u64 {
        let mut body = fixtures[(next() as usize) % fixtures.len()].clone();
        for _ in 0..(next() % 8) {
            if body.is_empty() {
                break;
            }
            let at = (next() as usize) % body.len();
            match next() % 4 {
                0 => body[at] = next() as u8,
                1 => {
                    body.remove(at);
                }
                2 => body.insert(
                    at,
                    [b'"', b'\\', b'{', b'%', 0xff, 0, b'&', b'='][(next() % 8) as usize],
                ),
                _ => body.truncate(at),
            }
        }
        let content_type = content_types[(next() as usize) % content_types.len()];
        let path = paths[(next() as usize) % paths.len()];
        let mut headers = vec![("Content-Type", content_type)];
        if next() % 3 == 0 {
            headers.push(("Idempotency-Key", "fuzz"));
        }
        if next() % 4 == 0 {
            headers.push(("Accept", "text/html"));
        }
        suite
            .case(
                &format!("fuzz {i}"),
                request("POST", path, &headers, &body),
                Expect::NoServerError,
            )
            .await;
    }
}
