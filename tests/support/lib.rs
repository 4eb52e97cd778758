//! Test support: a private stack per test on the moto server that
//! `make test` starts (see `scripts/with-moto.sh`), real SDK clients, and
//! Lambda events built exactly as API Gateway / function URLs send them.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use escalation::EscalationApp;
use federal_router::RouterApp;
use firsthour::config::{EnvReader, EscalationSettings, IntakeSettings, RouterSettings};
use firsthour::ports::{
    Clock, EscalationStore, EventPublisher, LeadStore, Mailer, RepStore, RoutingStore, SystemClock,
};
use firsthour_aws::{DynamoLeadStore, EventBridgePublisher, SesMailer};
use firsthour_local::bootstrap::LocalStack;
use firsthour_local::template::TemplateModel;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use intake::IntakeApp;

/// The functions as the tests run them, on the stack's table and bus.
pub type Intake<C = SystemClock> = IntakeApp<DynamoLeadStore, EventBridgePublisher, C>;
pub type Router<M = SesMailer, C = SystemClock> = RouterApp<DynamoLeadStore, M, C>;
pub type Escalation<M = SesMailer, C = SystemClock> =
    EscalationApp<DynamoLeadStore, M, EventBridgePublisher, C>;
pub type Inbound<C = SystemClock> = inbound::InboundApp<DynamoLeadStore, EventBridgePublisher, C>;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the function binaries are: `target/local` (built with
/// `panic = "abort"`, as on Lambda) in whatever target directory cargo
/// used for this test (`CARGO_TARGET_DIR` or `build.target-dir` honoured:
/// this test binary is `<target>/debug/deps/<name>`).
/// `FIRSTHOUR_BIN_DIR` overrides it.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FIRSTHOUR_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| root().join("target"));
    target.join("local")
}

/// One of the built binaries (see [`bin_dir`]).
pub fn binary(name: &str) -> PathBuf {
    bin_dir().join(name)
}

pub fn template_path() -> PathBuf {
    root().join("infra/template.yaml")
}

pub fn template() -> TemplateModel {
    TemplateModel::load(&template_path()).expect("infra/template.yaml loads")
}

/// The emulator `make test` started.
pub fn emulator_url() -> String {
    std::env::var("FIRSTHOUR_TEST_EMULATOR").expect(
        "FIRSTHOUR_TEST_EMULATOR is not set: run the tests with `make test`, which starts a private moto server",
    )
}

/// SDK configuration for the emulator (dummy credentials).
pub async fn sdk() -> SdkConfig {
    sdk_at(&emulator_url()).await
}

/// SDK configuration for any endpoint (a dead port simulates an outage).
pub async fn sdk_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await
}

/// The verified sender of the test stacks.
pub const SENDER: &str = "firsthour@example.com";

/// Template parameters without defaults, for test stacks.
/// Where the test stacks receive tracked replies.
pub const INBOUND_DOMAIN: &str = "replies.firsthour.test";

pub fn test_parameters() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SenderEmail".to_owned(), SENDER.to_owned()),
        (
            "FederalTeamEmails".to_owned(),
            "federal-sales@example.com".to_owned(),
        ),
        (
            "FallbackEmails".to_owned(),
            "sales-ops@example.com".to_owned(),
        ),
        // The registry refresh is off unless a test serves a registry.
        ("GovRegistryUrl".to_owned(), String::new()),
        ("InboundDomain".to_owned(), INBOUND_DOMAIN.to_owned()),
    ])
}

/// The environment variables the template sets from those parameters.
pub fn test_parameter_env(name: &str) -> Option<String> {
    match name {
        "FIRSTHOUR_FEDERAL_TEAM_EMAILS" => Some("federal-sales@example.com".into()),
        "FIRSTHOUR_FALLBACK_EMAILS" => Some("sales-ops@example.com".into()),
        _ => None,
    }
}

/// The shipped config file.
pub fn shipped_config() -> PathBuf {
    root().join("infra/config/firsthour.toml")
}

/// The get.gov registry snapshot the project carries.
pub fn registry_snapshot() -> PathBuf {
    root().join("crates/firsthour/data/dotgov.csv")
}

/// An endpoint where nothing listens.
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

/// A private stack (table, bus, rules → queues) created from the template.
pub struct TestStack {
    pub sdk: SdkConfig,
    pub model: TemplateModel,
    pub stack: LocalStack,
    /// Secret ARN → value, as the functions read them at cold start.
    pub secrets: HashMap<String, String>,
}

impl TestStack {
    pub async fn new() -> Self {
        let sdk = sdk().await;
        let model = template();
        let prefix = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
        let parameters = test_parameters();
        let stack = LocalStack::create(&sdk, &model, &prefix, &parameters)
            .await
            .expect("local stack created on moto");
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        let mut secrets = HashMap::new();
        for secret in &model.secrets {
            let arn = stack.refs[&secret.logical_id].clone();
            let value = client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .expect("secret")
                .secret_string
                .expect("secret value");
            secrets.insert(arn, value);
        }
        Self {
            sdk,
            model,
            stack,
            secrets,
        }
    }

    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// A function's environment from the template, with the shipped config
    /// and the .gov registry snapshot, plus `extra`.
    pub fn function_env(
        &self,
        logical_id: &str,
        extra: &[(&str, &str)],
    ) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = self
            .stack
            .function_env(&self.model, logical_id)
            .expect("env resolves")
            .into_iter()
            .collect();
        env.insert(
            "FIRSTHOUR_CONFIG_FILE".into(),
            shipped_config().display().to_string(),
        );
        // What firsthour_aws::secrets does at cold start.
        for (plain, arn_var) in firsthour::config::vars::SECRETS {
            if let Some(value) = env.get(arn_var).and_then(|arn| self.secrets.get(arn)) {
                env.insert(plain.to_owned(), value.clone());
            }
        }
        if env.contains_key("FIRSTHOUR_GOV_DOMAINS_FILE") {
            env.insert(
                "FIRSTHOUR_GOV_DOMAINS_FILE".into(),
                registry_snapshot().display().to_string(),
            );
        }
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// The value of a secret the template declares (by logical id).
    pub fn secret(&self, logical_id: &str) -> String {
        self.secrets[&self.stack.refs[logical_id]].clone()
    }

    /// A function as Lambda would run it, in-process, on this stack: say
    /// what differs from the template, then which function, e.g.
    /// `t.app().config(&path).clock(clock.clone()).intake()`.
    pub fn app(&self) -> AppBuilder<'_> {
        AppBuilder {
            stack: self,
            env: Vec::new(),
            clock: SystemClock,
            mail: SesOnMoto,
            store_sdk: &self.sdk,
            bus_sdk: &self.sdk,
        }
    }

    /// Writes lead items straight to the table, 25 per batch, 8 batches at a time.
    pub async fn put_items(&self, items: Vec<HashMap<String, AttributeValue>>) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use futures::StreamExt;
        let client = self.dynamo();
        let table = self.stack.table_name.clone();
        let batches: Vec<Vec<HashMap<String, AttributeValue>>> =
            items.chunks(25).map(<[_]>::to_vec).collect();
        futures::stream::iter(batches)
            .map(|batch| {
                let client = client.clone();
                let table = table.clone();
                async move {
                    let mut requests: Vec<WriteRequest> = batch
                        .into_iter()
                        .map(|item| {
                            WriteRequest::builder()
                                .put_request(
                                    PutRequest::builder()
                                        .set_item(Some(item))
                                        .build()
                                        .expect("put"),
                                )
                                .build()
                        })
                        .collect();
                    while !requests.is_empty() {
                        let output = client
                            .batch_write_item()
                            .request_items(&table, requests)
                            .send()
                            .await
                            .expect("batch write");
                        requests = output
                            .unprocessed_items
                            .and_then(|mut u| u.remove(&table))
                            .unwrap_or_default();
                    }
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
    }

    /// The queue a template rule of the router delivers to locally.
    pub fn rule_queue(&self, event_name: &str) -> String {
        self.stack
            .rule_queues
            .iter()
            .find(|q| q.rule.function == "FederalRouterFunction" && q.rule.event_name == event_name)
            .map(|q| q.queue_url.clone())
            .unwrap_or_else(|| panic!("no router rule {event_name}"))
    }

    /// Both router queues.
    pub fn router_queues(&self) -> Vec<String> {
        self.stack
            .rule_queues
            .iter()
            .filter(|q| q.rule.function == "FederalRouterFunction")
            .map(|q| q.queue_url.clone())
            .collect()
    }

    /// Every item of the table.
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamo()
                .scan()
                .table_name(&self.stack.table_name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Lead items only.
    pub async fn leads(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.items()
            .await
            .into_iter()
            .filter(|i| {
                i.get("entity")
                    .and_then(|e| e.as_s().ok())
                    .map(String::as_str)
                    == Some("lead")
            })
            .collect()
    }

    /// Messages on the router's queue, waiting up to `wait` for `at_least`
    /// of them, then a little longer to catch extras.
    pub async fn router_events(&self, at_least: usize, wait: Duration) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        for queue in self.router_queues() {
            events.extend(
                self.queue_events(&queue, 0, Duration::from_millis(300))
                    .await,
            );
        }
        if events.len() < at_least {
            tokio::time::sleep(wait / 2).await;
            for queue in self.router_queues() {
                events.extend(
                    self.queue_events(&queue, 0, Duration::from_millis(300))
                        .await,
                );
            }
        }
        events
    }

    /// Messages on one queue, waiting up to `wait` for `at_least` of them,
    /// then a little longer to catch extras.
    pub async fn queue_events(
        &self,
        queue: &str,
        at_least: usize,
        wait: Duration,
    ) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        let mut settle = 0;
        while tokio::time::Instant::now() < deadline {
            let output = self
                .sqs()
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(300)
                .send()
                .await
                .expect("receive");
            let batch = output.messages.unwrap_or_default();
            if batch.is_empty() {
                if events.len() >= at_least {
                    settle += 1;
                    if settle >= 3 {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for message in batch {
                events.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("event JSON"),
                );
            }
        }
        events
    }
}

/// What a test changes in a function's wiring; [`TestStack::app`] starts
/// one with the template's environment, the system clock, SES on the
/// emulator and the stack's table and bus.
pub struct AppBuilder<'a, C = SystemClock, K = SesOnMoto> {
    stack: &'a TestStack,
    env: Vec<(String, String)>,
    clock: C,
    mail: K,
    store_sdk: &'a SdkConfig,
    bus_sdk: &'a SdkConfig,
}

impl<'a, C: Clock + Clone, K: MailerChoice> AppBuilder<'a, C, K> {
    /// Environment variables over the template's (later pairs win).
    pub fn env(mut self, pairs: &[(&str, &str)]) -> Self {
        self.env.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self
    }

    /// A config file in place of the shipped one.
    pub fn config(self, path: &str) -> Self {
        self.env(&[("FIRSTHOUR_CONFIG_FILE", path)])
    }

    /// A clock the test controls.
    pub fn clock<T: Clock + Clone>(self, clock: T) -> AppBuilder<'a, T, K> {
        AppBuilder {
            stack: self.stack,
            env: self.env,
            clock,
            mail: self.mail,
            store_sdk: self.store_sdk,
            bus_sdk: self.bus_sdk,
        }
    }

    /// A mailer of the test's own (recording, throttling, rejecting).
    pub fn mailer<M: Mailer>(self, mailer: M) -> AppBuilder<'a, C, Given<M>> {
        AppBuilder {
            stack: self.stack,
            env: self.env,
            clock: self.clock,
            mail: Given(mailer),
            store_sdk: self.store_sdk,
            bus_sdk: self.bus_sdk,
        }
    }

    /// The table's client on another endpoint (a dead one or a proxy, for outages).
    pub fn store_at(mut self, sdk: &'a SdkConfig) -> Self {
        self.store_sdk = sdk;
        self
    }

    /// The bus's client on another endpoint.
    pub fn bus_at(mut self, sdk: &'a SdkConfig) -> Self {
        self.bus_sdk = sdk;
        self
    }

    /// The intake (`POST /leads`, claims, touches).
    pub fn intake(self) -> Intake<C> {
        let settings =
            IntakeSettings::from_env(&self.env_of("IntakeFunction")).expect("intake settings");
        IntakeApp::new(
            self.store(&settings.table_name),
            self.bus(&settings.event_bus_name),
            self.clock,
            &settings,
        )
    }

    /// The federal router (owner assignment, the first notification).
    pub fn router(self) -> Router<K::Mailer, C> {
        let settings = RouterSettings::from_env(&self.env_of("FederalRouterFunction"))
            .expect("router settings");
        let store = self.store(&settings.table_name);
        let publisher = settings.event_bus_name.as_deref().map(|bus| self.bus(bus));
        let mailer = self
            .mail
            .into_mailer(self.stack, settings.configuration_set.clone());
        RouterApp::new(store, mailer, self.clock, &settings, publisher)
    }

    /// The inbound function (SES receiving's Lambda action).
    pub fn inbound(self) -> Inbound<C> {
        let settings =
            firsthour::config::InboundSettings::from_env(&self.env_of("InboundFunction"))
                .expect("inbound settings");
        inbound::InboundApp::new(
            self.store(&settings.table_name),
            self.bus(&settings.event_bus_name),
            self.clock,
            &settings,
        )
    }

    /// The escalation sweep (the ladders' tiers, re-drive).
    pub fn escalation(self) -> Escalation<K::Mailer, C>
    where
        K::Mailer: Clone,
    {
        let settings = EscalationSettings::from_env(&self.env_of("EscalationFunction"))
            .expect("escalation settings");
        let store = self.store(&settings.router.table_name);
        let publisher = self.bus(&settings.event_bus_name);
        let mailer = self
            .mail
            .into_mailer(self.stack, settings.router.configuration_set.clone());
        EscalationApp::new(store, mailer, publisher, self.clock, &settings)
    }

    /// The function's environment as its settings read it.
    fn env_of(&self, logical_id: &str) -> EnvReader<impl Fn(&str) -> Option<String>> {
        let extra: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let env = self.stack.function_env(logical_id, &extra);
        EnvReader::new(move |k: &str| env.get(k).cloned())
    }

    fn store(&self, table_name: &str) -> DynamoLeadStore {
        DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(self.store_sdk), table_name)
    }

    fn bus(&self, event_bus_name: &str) -> EventBridgePublisher {
        EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(self.bus_sdk),
            event_bus_name,
        )
    }
}

/// Who sends a function's emails: SES on the emulator unless the test
/// gives a mailer; SES needs the settings' configuration set, so the choice
/// is made when the function is built.
pub trait MailerChoice {
    type Mailer: Mailer;
    fn into_mailer(self, stack: &TestStack, configuration_set: Option<String>) -> Self::Mailer;
}

/// SES on the emulator (what the function uses on Lambda).
pub struct SesOnMoto;

impl MailerChoice for SesOnMoto {
    type Mailer = SesMailer;
    fn into_mailer(self, stack: &TestStack, configuration_set: Option<String>) -> SesMailer {
        SesMailer::new(aws_sdk_sesv2::Client::new(&stack.sdk), configuration_set)
    }
}

/// A mailer the test gave.
pub struct Given<M>(M);

impl<M: Mailer> MailerChoice for Given<M> {
    type Mailer = M;
    fn into_mailer(self, _: &TestStack, _: Option<String>) -> M {
        self.0
    }
}

/// Text of a string attribute.
pub fn s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A request as API Gateway (HTTP API, payload v2) delivers it to Lambda.
pub fn http_api_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> intake::Request {
    request_from_event(http_api_event(method, path, headers, body))
}

/// A request as a Lambda function URL delivers it (same v2 shape, another domain).
pub fn function_url_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> intake::Request {
    let mut event = http_api_event(method, path, headers, body);
    event["requestContext"]["domainName"] = "abcdefghij.lambda-url.us-east-1.on.aws".into();
    event["requestContext"]["domainPrefix"] = "abcdefghij".into();
    event["requestContext"]["apiId"] = "abcdefghij".into();
    request_from_event(event)
}

pub fn http_api_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> serde_json::Value {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::try_from(*name).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    map.insert("host", HeaderValue::from_static("api.example.com"));
    let uri: Uri = path.parse().expect("path");
    let method: Method = method.parse().expect("method");
    firsthour_local::gateway::http_api_event(&method, &uri, &map, body, "198.51.100.7")
}

pub fn request_from_event(event: serde_json::Value) -> intake::Request {
    intake::Request::from_event_json(&event.to_string()).expect("the intake reads the event")
}

/// Status, headers and body text of a response.
pub fn parts(response: http::Response<intake::Body>) -> (u16, HeaderMap, String) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = match response.into_body() {
        intake::Body::Empty => String::new(),
        intake::Body::Text(text) => text,
        intake::Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    };
    (status, headers, body)
}

/// Posts a JSON lead to `POST /leads` and returns its id (asserting 202).
pub async fn post_json_lead<S, P, C>(app: &IntakeApp<S, P, C>, body: &str) -> String
where
    S: LeadStore + EscalationStore + RoutingStore + RepStore,
    P: EventPublisher,
    C: Clock,
{
    let request = http_api_request(
        "POST",
        "/leads",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    let (status, _, text) = parts(app.handle(request).await);
    assert_eq!(status, 202, "{text}");
    json(&text)["lead_id"].as_str().expect("lead_id").to_owned()
}

impl TestStack {
    /// `POST /leads/{id}/touch` with the stack's touch token: (status, body).
    pub async fn touch<S, P, C>(
        &self,
        app: &IntakeApp<S, P, C>,
        id: &str,
        body: &str,
    ) -> (u16, String)
    where
        S: LeadStore + EscalationStore + RoutingStore + RepStore,
        P: EventPublisher,
        C: Clock,
    {
        self.post_touch(app, &format!("/leads/{id}/touch"), body)
            .await
    }

    /// `POST path` (a touch endpoint) with the stack's touch token: (status, body).
    pub async fn post_touch<S, P, C>(
        &self,
        app: &IntakeApp<S, P, C>,
        path: &str,
        body: &str,
    ) -> (u16, String)
    where
        S: LeadStore + EscalationStore + RoutingStore + RepStore,
        P: EventPublisher,
        C: Clock,
    {
        let auth = format!("Bearer {}", self.secret("TouchApiTokenSecret"));
        let request = http_api_request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            body.as_bytes(),
        );
        let (status, _, text) = parts(app.handle(request).await);
        (status, text)
    }
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("not JSON ({err}): {body}"))
}

/// A TCP proxy in front of the emulator that can be switched off: while
/// down it refuses every connection, as an unreachable service would.
pub struct FaultProxy {
    pub url: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = down.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { url, down, task }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A moto server of the test's own (the project's `scripts/moto`), on a free
/// port, stopped when dropped.
pub struct PrivateMoto {
    pub url: String,
    _child: tokio::process::Child,
}

impl PrivateMoto {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = tokio::process::Command::new(root().join("scripts/moto"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("scripts/moto starts (run `make venv`)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/moto-api/")).await.is_ok() {
                return Self { url, _child: child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto did not start on {url}");
    }
}

/// Writes a config file for one test and returns its path.
pub fn temp_config(text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("firsthour-config-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("firsthour.toml");
    std::fs::write(&path, text).expect("config file");
    path.display().to_string()
}

/// Runs the `firsthour` CLI binary on the test emulator, as a user with the
/// environment `make run` prints would: (exit code, stdout, stderr).
pub fn firsthour_cli(args: &[&str]) -> (i32, String, String) {
    firsthour_cli_with(args, &[])
}

/// [`firsthour_cli`] with `env` set, no terminal on stdin, and none of the
/// firsthour settings of the environment around the test.
pub fn firsthour_cli_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = std::process::Command::new(binary("firsthour"));
    command
        .args(args)
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", emulator_url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(std::process::Stdio::null());
    for var in [
        "FIRSTHOUR_TABLE_NAME",
        "FIRSTHOUR_SENDER_EMAIL",
        "FIRSTHOUR_PUBLIC_BASE_URL",
        "FIRSTHOUR_LINK_SIGNING_KEY",
        "FIRSTHOUR_LINK_SIGNING_KEY_SECRET_ARN",
        "FIRSTHOUR_SES_CONFIGURATION_SET",
        "FIRSTHOUR_APPCONFIG_APPLICATION",
        "FIRSTHOUR_APPCONFIG_ENVIRONMENT",
        "FIRSTHOUR_APPCONFIG_PROFILE",
        "FIRSTHOUR_APPCONFIG_STRATEGY",
        "FIRSTHOUR_STACK_NAME",
        "FIRSTHOUR_LADDER_SPEEDUP",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let output = command
        .output()
        .expect("the firsthour CLI runs (make test builds it into target/local)");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Keeps every email it is given (a [`Mailer`] for tests that read what
/// was sent).
#[derive(Clone, Default)]
pub struct Outbox(std::sync::Arc<std::sync::Mutex<Vec<firsthour::notify::OutgoingEmail>>>);

impl Outbox {
    /// The emails sent since the last call.
    pub fn take(&self) -> Vec<firsthour::notify::OutgoingEmail> {
        std::mem::take(&mut *self.0.lock().expect("outbox"))
    }
}

impl Mailer for Outbox {
    async fn send(
        &self,
        email: &firsthour::notify::OutgoingEmail,
    ) -> Result<String, firsthour::ports::MailError> {
        self.0.lock().expect("outbox").push(email.clone());
        Ok(format!("m-{}", ulid::Ulid::new()))
    }
}

/// The "Reply to" button of an email's HTML: its `mailto:` address (decoded)
/// and its query (`subject`, `bcc`).
pub fn reply_button(html: &str) -> (String, std::collections::HashMap<String, String>) {
    let href = html
        .split("href=\"")
        .find(|h| h.starts_with("mailto:"))
        .and_then(|h| h.split('"').next())
        .expect("a reply button")
        .replace("&amp;", "&");
    let (to, query) = href
        .trim_start_matches("mailto:")
        .split_once('?')
        .expect("a query");
    let to = url::form_urlencoded::parse(format!("to={to}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    (
        to,
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    )
}

/// The example rules with chat channels (examples/channels), their local
/// endpoints pointed at the stand-ins' `port`, and `extra` TOML appended.
pub fn example_channel_rules(port: u16, extra: &str) -> PathBuf {
    let example = std::fs::read_to_string(root().join("examples/channels/firsthour.toml"))
        .expect("the example rules");
    let rules = example.replace("127.0.0.1:4040", &format!("127.0.0.1:{port}")) + extra;
    let dir = std::env::temp_dir().join(format!("firsthour-chat-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("firsthour.toml");
    std::fs::write(&path, rules).expect("rules written");
    path
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `what` until it gives `Some`, for at most `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, why: &str, mut what: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = what().await {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "{why} within {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `make run`'s options for a test on a private moto: the rules file at
/// `rules`, a fresh resource prefix starting `prefix`, ports the system
/// picks, one intake process, no SMTP listener, no live rules, no chat
/// stand-ins, and the sweep ticked at start, then not for an hour (tests
/// invoke it themselves). Tests change what they need with `..`.
pub fn local_run_options(
    moto: &PrivateMoto,
    prefix: &str,
    rules: &std::path::Path,
) -> firsthour_local::run::RunOptions {
    local_run_options_at(&moto.url, prefix, rules)
}

/// [`local_run_options`] on the moto at `emulator_url`.
pub fn local_run_options_at(
    emulator_url: &str,
    prefix: &str,
    rules: &std::path::Path,
) -> firsthour_local::run::RunOptions {
    firsthour_local::run::RunOptions {
        template: template_path(),
        bin_dir: bin_dir(),
        prefix: format!("{prefix}{}", ulid::Ulid::new().to_string().to_lowercase()),
        http_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        emulator_url: emulator_url.to_owned(),
        tick: Duration::from_secs(3600),
        parameters: test_parameters(),
        extra_env: vec![
            ("FIRSTHOUR_CONFIG_FILE".into(), rules.display().to_string()),
            ("AWS_ENDPOINT_URL".into(), emulator_url.to_owned()),
        ],
        intake_instances: 1,
        show_function_logs: false,
        log_dir: None,
        gateway: Default::default(),
        smtp_addr: None,
        live_rules: None,
        rules_refresh: Duration::from_secs(2),
        chat: None,
    }
}
