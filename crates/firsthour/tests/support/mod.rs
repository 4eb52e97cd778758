//! The router and the sweep without AWS: the in-memory store, a recording
//! mailer that can be told to throttle or reject, a recording bus and a
//! manual clock, wired from the shipped rules file the way the Lambdas wire
//! theirs (settings from the environment, policies from the settings).

#![allow(dead_code)] // each test file uses its own part of the harness

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use firsthour::config::{EnvReader, EscalationSettings, IntakeSettings, vars};
use firsthour::escalation::{EscalationService, SweepReport};
use firsthour::events::OutboundEvent;
use firsthour::lead::{LeadId, RequestMeta, Source};
use firsthour::memory::MemoryStore;
use firsthour::metrics::Metrics;
use firsthour::notify::OutgoingEmail;
use firsthour::ports::{EventPublisher, MailError, Mailer, ManualClock, PublishError, StoreError};
use firsthour::record::LeadRecord;
use firsthour::router::{RouterError, RouterOutcome, RouterPolicy, RouterService};
use firsthour::service::intake::{AcceptStatus, Delivery, IntakePolicy, IntakeService};
use firsthour::service::touch::TouchService;
use time::OffsetDateTime;
use time::macros::datetime;

/// A Monday, 10:00 in New York: business hours, no holiday.
pub const T0: OffsetDateTime = datetime!(2026-11-23 15:00 UTC);

pub const FEDERAL_TEAM: &str = "federal-sales@example.com";
pub const LINK_KEY: &str = "a-test-key-of-at-least-32-bytes!!";
/// Where the world's tracked replies are received.
pub const INBOUND_DOMAIN: &str = "reply.example.com";
pub const FALLBACK: &str = "sales-ops@example.com";

/// `minutes` after [`T0`].
pub fn minute(minutes: u64) -> OffsetDateTime {
    T0 + std::time::Duration::from_secs(minutes * 60)
}

/// What the mailer does with the next sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Deliver,
    /// SES's `TooManyRequestsException`: every send until told otherwise.
    Throttle,
    /// SES's `MessageRejected`.
    Reject,
}

/// Keeps every email it sends; answers as told.
#[derive(Clone)]
pub struct Mailbox {
    state: Arc<Mutex<MailboxState>>,
}

struct MailboxState {
    answer: Answer,
    sent: Vec<OutgoingEmail>,
    attempts: usize,
}

impl Default for Mailbox {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(MailboxState {
                answer: Answer::Deliver,
                sent: Vec::new(),
                attempts: 0,
            })),
        }
    }
}

impl Mailbox {
    pub fn answer(&self, answer: Answer) {
        self.state.lock().expect("mailbox").answer = answer;
    }

    /// The emails sent since the last take.
    pub fn take(&self) -> Vec<OutgoingEmail> {
        std::mem::take(&mut self.state.lock().expect("mailbox").sent)
    }

    /// Who the emails sent since the last take went to, sorted.
    pub fn take_to(&self) -> Vec<String> {
        let mut to: Vec<String> = self.take().into_iter().flat_map(|e| e.to).collect();
        to.sort();
        to
    }

    /// Sends tried, delivered or not.
    pub fn attempts(&self) -> usize {
        self.state.lock().expect("mailbox").attempts
    }
}

impl Mailer for Mailbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        // SES is a network call: let a concurrent sweep run meanwhile.
        tokio::task::yield_now().await;
        let mut state = self.state.lock().expect("mailbox");
        state.attempts += 1;
        match state.answer {
            Answer::Deliver => {
                state.sent.push(email.clone());
                Ok(format!("m-{}", state.attempts))
            }
            Answer::Throttle => Err(MailError::Throttled(
                "TooManyRequestsException: Maximum sending rate exceeded".into(),
            )),
            Answer::Reject => Err(MailError::Rejected(
                "MessageRejected: Email address is not verified".into(),
            )),
        }
    }
}

/// Keeps every event published; fails while told to.
#[derive(Clone, Default)]
pub struct Bus {
    events: Arc<Mutex<Vec<OutboundEvent>>>,
    down: Arc<Mutex<bool>>,
}

impl Bus {
    pub fn down(&self, down: bool) {
        *self.down.lock().expect("bus") = down;
    }

    /// The details of the events of `detail_type` published so far.
    pub fn details(&self, detail_type: &str) -> Vec<serde_json::Value> {
        self.events
            .lock()
            .expect("bus")
            .iter()
            .filter(|e| e.detail_type == detail_type)
            .map(|e| serde_json::from_str(&e.detail).expect("JSON detail"))
            .collect()
    }
}

impl EventPublisher for Bus {
    async fn publish(&self, event: &OutboundEvent) -> Result<(), PublishError> {
        if *self.down.lock().expect("bus") {
            return Err(PublishError("EventBridge unreachable".into()));
        }
        self.events.lock().expect("bus").push(event.clone());
        Ok(())
    }
}

pub type Router = RouterService<MemoryStore, Mailbox, ManualClock, Bus>;
pub type Sweep = EscalationService<MemoryStore, Mailbox, Bus, ManualClock>;

/// One deployment in memory: the intake, the router and the sweep over one
/// store, mailer, bus and clock.
pub struct World {
    pub clock: ManualClock,
    pub store: MemoryStore,
    pub mailer: Mailbox,
    pub bus: Bus,
    intake: IntakeService<MemoryStore, Bus, ManualClock>,
    router: Router,
    settings: EscalationSettings,
}

impl World {
    /// With the shipped rules file (`infra/config/firsthour.toml`).
    pub fn new() -> Self {
        let shipped =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/firsthour.toml");
        Self::with_config(&shipped)
    }

    /// With the rules file at `config`.
    pub fn with_config(config: &Path) -> Self {
        let config = config.display().to_string();
        let env: HashMap<&str, &str> = HashMap::from([
            (vars::TABLE_NAME, "leads"),
            (vars::EVENT_BUS_NAME, "leads"),
            (vars::CONFIG_FILE, config.as_str()),
            (vars::SENDER_EMAIL, "firsthour@example.com"),
            (vars::FEDERAL_TEAM_EMAILS, FEDERAL_TEAM),
            (vars::FALLBACK_EMAILS, FALLBACK),
            (vars::PUBLIC_BASE_URL, "https://leads.example.com"),
            (vars::LINK_SIGNING_KEY, LINK_KEY),
            (vars::INBOUND_DOMAIN, INBOUND_DOMAIN),
        ]);
        let env = EnvReader::new(|var: &str| env.get(var).map(|v| (*v).to_owned()));
        let intake = IntakeSettings::from_env(&env).expect("intake settings");
        let settings = EscalationSettings::from_env(&env).expect("escalation settings");
        let clock = ManualClock::new(T0);
        let store = MemoryStore::new();
        let mailer = Mailbox::default();
        let bus = Bus::default();
        Self {
            intake: IntakeService::new(
                store.clone(),
                bus.clone(),
                clock.clone(),
                IntakePolicy::from(&intake),
            )
            .with_metrics(Metrics::recording()),
            router: RouterService::new(
                store.clone(),
                mailer.clone(),
                clock.clone(),
                RouterPolicy::from(&settings.router),
            )
            .with_publisher(bus.clone())
            .with_metrics(Metrics::recording()),
            clock,
            store,
            mailer,
            bus,
            settings,
        }
    }

    /// A sweep as the escalation Lambda builds it; every sweep built shares
    /// the world's store, mailer, bus and clock.
    pub fn sweeper(&self) -> Sweep {
        EscalationService::new(
            self.store.clone(),
            self.mailer.clone(),
            self.bus.clone(),
            self.clock.clone(),
            RouterPolicy::from(&self.settings.router),
            self.settings.concurrency,
        )
        .with_metrics(Metrics::recording())
    }

    /// A JSON lead posted to `POST /leads` now; its id.
    pub async fn post(&self, body: &str) -> LeadId {
        let source = Source::default_web();
        let meta = RequestMeta {
            client_ip: Some("192.0.2.7".into()),
            ..RequestMeta::default()
        };
        let accepted = self
            .intake
            .accept(Delivery {
                body: body.as_bytes(),
                content_type: Some("application/json"),
                source: &source,
                meta: &meta,
                authenticated: false,
                browser_form: false,
            })
            .await
            .expect("accepted");
        assert_eq!(accepted.status, AcceptStatus::Accepted);
        accepted.lead_id
    }

    /// A federal lead (an army.mil address) posted now.
    pub async fn post_federal(&self, name: &str) -> LeadId {
        let email = format!("{}@army.mil", name.to_lowercase().replace(' ', "."));
        self.post(&format!(r#"{{"email":"{email}","name":"{name}"}}"#))
            .await
    }

    /// The router handling the lead's `LeadReceived` now.
    pub async fn route(&self, id: &LeadId) -> Result<RouterOutcome, RouterError> {
        self.router.handle(id).await
    }

    /// One sweep by `sweep` at `at`.
    pub async fn sweep_at(&self, sweep: &Sweep, at: OffsetDateTime) -> SweepReport {
        self.clock.set(at);
        sweep.sweep(at).await.expect("sweep")
    }

    pub fn lead(&self, id: &LeadId) -> LeadRecord {
        self.store.lead(id).expect("the lead is stored")
    }

    /// Claims and touches as the intake's claim links and touch API take them.
    pub fn touches(&self) -> TouchService<MemoryStore, Bus, ManualClock> {
        TouchService::new(self.store.clone(), self.bus.clone(), self.clock.clone())
            .with_link_key(self.settings.router.links.link_key.clone())
    }

    /// Every event published so far, as the delivery queue receives them
    /// (EventBridge's envelope; ids numbered in order).
    pub fn bus_events(&self) -> Vec<firsthour::deliver::BusEvent> {
        self.bus
            .events
            .lock()
            .expect("bus")
            .iter()
            .enumerate()
            .map(|(n, e)| firsthour::deliver::BusEvent {
                id: format!("event-{n}"),
                detail_type: e.detail_type.to_owned(),
                time: firsthour::lead::format_utc_millis(firsthour::ports::Clock::now(&self.clock)),
                detail: serde_json::from_str(&e.detail).expect("JSON detail"),
            })
            .collect()
    }

    pub fn settings(&self) -> &EscalationSettings {
        &self.settings
    }

    /// Makes the next `calls` store calls fail as an unreachable table would.
    pub fn store_down_for(&self, calls: usize) {
        self.store
            .fail_next(calls, StoreError::Unavailable("connection failed".into()));
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
