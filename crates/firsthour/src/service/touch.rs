//! Someone acted on a lead: a rep's claim (the claim link's button) or a
//! touch reported by a CRM or dialer. Either stops the lead's SLA clock.
//! Store first (the conditional write decides), then announce `LeadTouched`,
//! then the time-to-first-touch metric for the first one.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::claim::{ClaimLinkError, LinkKey, is_holder};
use crate::email::EmailAddress;
use crate::events::{LeadClaimed, LeadTouched, OutboundEvent};
use crate::lead::{LeadId, format_utc_millis};
use crate::metrics::{self, Metrics};
use crate::ports::{
    ClaimOutcome, Clock, EscalationStore, EventPublisher, RepStore, RoutingStore, StoreError,
    TouchOutcome,
};
use crate::record::{LeadRecord, elapsed_ms};

/// Longest touch id the touch API takes.
const MAX_TOUCH_ID_LEN: usize = 256;

/// How someone reached (or took) the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The rep claimed it from a claim link.
    Claim,
    Call,
    Email,
    Meeting,
    Sms,
    Chat,
    Other,
}

impl Channel {
    /// The channels the touch API accepts (a claim comes through its link).
    pub const REPORTED: [Channel; 6] = [
        Self::Call,
        Self::Email,
        Self::Meeting,
        Self::Sms,
        Self::Chat,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Sms => "sms",
            Self::Chat => "chat",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel the touch API does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel must be one of call, email, meeting, sms, chat, other")]
pub struct UnknownChannel;

impl FromStr for Channel {
    type Err = UnknownChannel;

    /// A reported channel, any case.
    fn from_str(text: &str) -> Result<Self, UnknownChannel> {
        Self::REPORTED
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or(UnknownChannel)
    }
}

/// Why a claim link shows no lead, or could not claim it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("claim links are not enabled")]
    NotEnabled,
    #[error("the link does not point to a lead")]
    NotALead,
    #[error("the claim link is incomplete")]
    Incomplete,
    #[error(transparent)]
    Link(#[from] ClaimLinkError),
    #[error("no such lead")]
    NoSuchLead,
    /// The link's recipient owned the lead before a tier moved it to `to`.
    #[error("the lead was reassigned")]
    Reassigned { to: Option<String> },
    /// Someone other than the link's recipient claimed the lead first.
    #[error("the lead was claimed by someone else")]
    Taken { by: Option<String>, at: String },
    /// The lead could not be read for its page; the person tries again.
    #[error("the lead could not be read: {0}")]
    Unread(StoreError),
    #[error("the claim could not be recorded: {0}")]
    Unrecorded(StoreError),
}

/// A claim link's query parameters (`r`, `e`, `s`), as the link carries them.
#[derive(Debug, Clone, Default)]
pub struct LinkParams {
    pub recipient: Option<String>,
    pub expires: Option<String>,
    pub signature: Option<String>,
}

/// A claim link whose signature holds: the lead, and who it was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLink {
    pub lead_id: LeadId,
    pub recipient: String,
}

/// The claim button's claim held: just now, or the recipient's before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This claim won, at `at`.
    Now { at: OffsetDateTime },
    /// The recipient had claimed it already, at `at`.
    Before { at: String },
}

/// Why a reported touch was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TouchError {
    /// No touch API token is configured: there is no touch API.
    #[error("the touch API is not enabled")]
    NotEnabled,
    #[error("the touch API token is missing or wrong")]
    Unauthorized,
    #[error("no such lead")]
    NoSuchLead,
    #[error("invalid touch body: {0}")]
    Malformed(String),
    #[error("{problem}")]
    Unprocessable {
        field: &'static str,
        problem: String,
    },
    #[error("the touch could not be recorded: {0}")]
    Store(#[from] StoreError),
}

/// The touch API's JSON body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TouchBody {
    /// Who acted (an email address).
    by: String,
    /// `call`, `email`, `meeting`, `sms`, `chat` or `other`.
    channel: String,
    /// The caller's id for this touch; repeats are not counted twice.
    #[serde(default)]
    touch_id: Option<String>,
}

/// `POST /touches`: a touch reported by the person's address (what a CRM
/// knows), with the touch API's fields. Other keys are ignored: CRMs add
/// their own.
#[derive(Debug, Deserialize)]
struct ContactTouchBody {
    /// The person's address.
    email: String,
    /// Who acted; the `by` query parameter, or `crm`, when left out.
    #[serde(default)]
    by: Option<String>,
    /// The `channel` query parameter when left out.
    #[serde(default)]
    channel: Option<String>,
    /// When it happened: RFC 3339, or epoch milliseconds (HubSpot's date
    /// properties); now when left out.
    #[serde(default)]
    at: Option<serde_json::Value>,
    #[serde(default)]
    touch_id: Option<String>,
}

/// Who a touch by address is recorded as when nobody is named.
pub const CRM_TOUCH_BY: &str = "crm";

/// A touch reported by the person's address, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTouch {
    pub email: EmailAddress,
    pub at: Option<OffsetDateTime>,
    /// Who acted: an address, or [`CRM_TOUCH_BY`].
    pub by: String,
    pub channel: Channel,
    pub touch_id: String,
}

/// Reads `at`: an RFC 3339 string (a space for the `T` too, as
/// Salesforce's `TEXT()` of a date-time writes it), or epoch milliseconds
/// as a number or a string.
fn touch_time(raw: &serde_json::Value) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let millis = match raw {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(text) => {
            let text = text.trim();
            let with_t = text.replacen(' ', "T", 1);
            if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339)
                .or_else(|_| OffsetDateTime::parse(&with_t, &Rfc3339))
            {
                return Some(at);
            }
            text.parse::<i64>().ok()
        }
        _ => None,
    }?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis).checked_mul(1_000_000)?).ok()
}

impl ContactTouch {
    /// The body, with `channel` and `by` from the query string when the body
    /// leaves them out (a CRM's webhook URL can carry them), and the touch id
    /// from the body, the idempotency key, or (with a time) the touch itself,
    /// so a CRM's retries count once.
    pub fn from_request(
        body: &[u8],
        query_channel: Option<&str>,
        query_by: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Self, TouchError> {
        let body: ContactTouchBody =
            serde_json::from_slice(body).map_err(|err| TouchError::Malformed(err.to_string()))?;
        let unprocessable = |field, problem: String| TouchError::Unprocessable { field, problem };
        let email = EmailAddress::parse(&body.email)
            .map_err(|err| unprocessable("email", err.to_string()))?;
        let at = body
            .at
            .as_ref()
            .filter(|raw| !raw.is_null() && raw.as_str().is_none_or(|t| !t.trim().is_empty()))
            .map(|raw| {
                touch_time(raw).ok_or_else(|| {
                    unprocessable(
                        "at",
                        format!("{raw} is not a time: RFC 3339 (2026-11-30T14:05:00Z) or epoch milliseconds"),
                    )
                })
            })
            .transpose()?;
        let channel: Channel = body
            .channel
            .as_deref()
            .or(query_channel)
            .ok_or_else(|| {
                unprocessable(
                    "channel",
                    "give a channel: call, email, meeting, sms, chat or other".into(),
                )
            })?
            .parse()
            .map_err(|err: UnknownChannel| unprocessable("channel", err.to_string()))?;
        let by = match body
            .by
            .as_deref()
            .or(query_by)
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            Some(by) => EmailAddress::parse(by)
                .map_err(|err| unprocessable("by", err.to_string()))?
                .as_str()
                .to_owned(),
            None => CRM_TOUCH_BY.to_owned(),
        };
        let derived = at.map(|at| {
            let key = format!("{}|{channel}|{}", email.as_str(), at.unix_timestamp());
            format!("derived:{}", crate::dedup::sha256_hex(key.as_bytes()))
        });
        let touch_id = body
            .touch_id
            .or_else(|| idempotency_key.map(str::to_owned))
            .or(derived)
            .filter(|t| !t.trim().is_empty() && t.len() <= MAX_TOUCH_ID_LEN)
            .ok_or_else(|| {
                unprocessable(
                    "touch_id",
                    format!("give a touch_id (or an Idempotency-Key header, or an `at`) of 1 to {MAX_TOUCH_ID_LEN} characters, so retries count once"),
                )
            })?;
        Ok(Self {
            email,
            at,
            by,
            channel,
            touch_id,
        })
    }
}

/// What a touch by address came to, lead by lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactTouched {
    /// The person's leads in the window this touch was recorded on.
    pub touched: Vec<LeadId>,
    /// Among them, those it was the first response of (their clock stopped now).
    pub first_responses: Vec<LeadId>,
    /// Leads this touch id had been recorded on already (a retry).
    pub duplicates: Vec<LeadId>,
}

/// Most leads one touch by address acts on (a person rarely has more).
const MAX_CONTACT_LEADS: usize = 50;

/// A touch a CRM or dialer reported, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedTouch {
    pub touch_id: String,
    pub by: EmailAddress,
    pub channel: Channel,
}

impl ReportedTouch {
    /// Reads the touch API's body; the request's idempotency key stands in
    /// for a missing `touch_id`, so retries count once.
    pub fn from_json(body: &[u8], idempotency_key: Option<&str>) -> Result<Self, TouchError> {
        let body: TouchBody =
            serde_json::from_slice(body).map_err(|err| TouchError::Malformed(err.to_string()))?;
        let unprocessable = |field, problem: String| TouchError::Unprocessable { field, problem };
        let by =
            EmailAddress::parse(&body.by).map_err(|err| unprocessable("by", err.to_string()))?;
        let channel: Channel = body
            .channel
            .parse()
            .map_err(|err: UnknownChannel| unprocessable("channel", err.to_string()))?;
        let touch_id = body
            .touch_id
            .or_else(|| idempotency_key.map(str::to_owned))
            .filter(|t| !t.trim().is_empty() && t.len() <= MAX_TOUCH_ID_LEN)
            .ok_or_else(|| {
                unprocessable(
                    "touch_id",
                    format!("give a touch_id (or an Idempotency-Key header) of 1 to {MAX_TOUCH_ID_LEN} characters, so retries count once"),
                )
            })?;
        Ok(Self {
            touch_id,
            by,
            channel,
        })
    }
}

/// What a reported touch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    Recorded {
        lead_id: LeadId,
        touches: u32,
    },
    /// The same touch id was recorded before: nothing counted twice.
    Duplicate {
        lead_id: LeadId,
    },
}

pub struct TouchService<S, P, C> {
    store: S,
    publisher: P,
    clock: C,
    metrics: Metrics,
    /// Signs and checks claim links; `None` when they are not enabled.
    link_key: Option<LinkKey>,
    /// The touch API's shared secret; `None` when it is not enabled.
    touch_token: Option<String>,
    /// How far back a touch by address looks for the person's leads.
    touch_window: time::Duration,
}

impl<S: EscalationStore + RoutingStore + RepStore, P: EventPublisher, C: Clock>
    TouchService<S, P, C>
{
    pub fn new(store: S, publisher: P, clock: C) -> Self {
        Self {
            store,
            publisher,
            clock,
            metrics: Metrics::default(),
            link_key: None,
            touch_token: None,
            touch_window: time::Duration::days(30),
        }
    }

    /// How far back `POST /touches` looks for a person's open leads.
    pub fn with_touch_window(mut self, window: time::Duration) -> Self {
        self.touch_window = window;
        self
    }

    /// The token the touch API's callers present (the API off without one).
    pub fn with_touch_token(mut self, token: Option<String>) -> Self {
        self.touch_token = token;
        self
    }

    /// The key claim links are checked with (claim links off without one).
    pub fn with_link_key(mut self, key: Option<LinkKey>) -> Self {
        self.link_key = key;
        self
    }

    /// Where metric events go (the configured namespace; a recorder in tests).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// A claim link's lead and recipient, when its signature holds. Opening
    /// a link changes nothing: mail gateways open every link first.
    pub fn open_link(&self, raw_id: &str, params: LinkParams) -> Result<ClaimLink, ClaimError> {
        let key = self.link_key.as_ref().ok_or(ClaimError::NotEnabled)?;
        let lead_id = LeadId::parse(raw_id).ok_or(ClaimError::NotALead)?;
        let (Some(recipient), Some(expires), Some(signature)) =
            (params.recipient, params.expires, params.signature)
        else {
            return Err(ClaimError::Incomplete);
        };
        key.verify(&lead_id, &recipient, &expires, &signature, self.clock.now())
            .map_err(|err| {
                tracing::warn!(lead_id = %lead_id, reason = %err, "claim link refused");
                ClaimError::Link(err)
            })?;
        Ok(ClaimLink { lead_id, recipient })
    }

    /// The lead a link is about, for its page to say what it is (reads only).
    pub async fn claim_view(&self, link: &ClaimLink) -> Result<LeadRecord, ClaimError> {
        self.lead(&link.lead_id).await
    }

    /// A lead, read for a claim (a link's page, Slack's Claim button).
    pub async fn lead(&self, id: &LeadId) -> Result<LeadRecord, ClaimError> {
        match self.store.get_lead(id).await {
            Ok(Some(lead)) => Ok(lead),
            Ok(None) => Err(ClaimError::NoSuchLead),
            Err(err) => {
                tracing::error!(lead_id = %id, error = %err, "claim page: lead not read");
                Err(ClaimError::Unread(err))
            }
        }
    }

    /// The link's button: claims the lead for its recipient; one claim wins,
    /// and the others are told who has it.
    pub async fn claim(&self, link: &ClaimLink) -> Result<Claimed, ClaimError> {
        let id = &link.lead_id;
        let now = self.clock.now();
        let outcome = self
            .store
            .claim(id, &link.recipient, now)
            .await
            .map_err(|err| {
                tracing::error!(lead_id = %id, error = %err, "claim not recorded");
                ClaimError::Unrecorded(err)
            })?;
        match outcome {
            ClaimOutcome::Claimed { segment } => {
                self.acted(&link.recipient).await;
                self.announce(id, Channel::Claim, 1).await;
                self.announce_claim(id, &link.recipient, Channel::Claim)
                    .await;
                self.first_touch(id, segment.as_deref());
                tracing::info!(lead_id = %id, seconds_to_first_touch = elapsed_ms(id, now) / 1000, "lead claimed");
                Ok(Claimed::Now {
                    at: self.clock.now(),
                })
            }
            ClaimOutcome::AlreadyClaimed { by, at } => {
                let at = at.unwrap_or_default();
                if is_holder(by.as_deref(), &link.recipient) {
                    Ok(Claimed::Before { at })
                } else {
                    Err(ClaimError::Taken { by, at })
                }
            }
            ClaimOutcome::Reassigned { to } => Err(ClaimError::Reassigned { to }),
            ClaimOutcome::NotFound => Err(ClaimError::NoSuchLead),
        }
    }

    /// The touch API's use case: the caller's token (compared in constant
    /// time), the lead, the touch as reported (`body`), then the touch
    /// recorded once per touch id.
    pub async fn report(
        &self,
        raw_id: &str,
        token: Option<&str>,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Reported, TouchError> {
        self.admit(token)?;
        let id = LeadId::parse(raw_id).ok_or(TouchError::NoSuchLead)?;
        let touch = ReportedTouch::from_json(body, idempotency_key)?;
        match self
            .touch(&id, &touch.touch_id, &touch.by, touch.channel)
            .await
        {
            Ok(TouchOutcome::Recorded { touches, .. }) => Ok(Reported::Recorded {
                lead_id: id,
                touches,
            }),
            Ok(TouchOutcome::Duplicate) => Ok(Reported::Duplicate { lead_id: id }),
            Ok(TouchOutcome::NotFound) => Err(TouchError::NoSuchLead),
            Err(err) => {
                // Unavailable is the caller's to retry; anything else is ours.
                if !matches!(err, StoreError::Unavailable(_)) {
                    tracing::error!(lead_id = %id, error = %err, "touch not recorded");
                }
                Err(TouchError::Store(err))
            }
        }
    }

    /// `POST /touches`: the caller's token, then the touch recorded on each
    /// of the person's leads received within the window (their first
    /// response when they had none), once per lead and touch id, at `at`
    /// (never in the future, never before the lead arrived).
    pub async fn report_by_contact(
        &self,
        token: Option<&str>,
        touch: Result<ContactTouch, TouchError>,
    ) -> Result<ContactTouched, TouchError> {
        self.admit(token)?;
        let touch = touch?;
        let now = self.clock.now();
        let key = crate::dedup::contact_key(touch.email.as_str());
        let leads = self
            .store
            .contact_leads(&key, now - self.touch_window, MAX_CONTACT_LEADS)
            .await?;
        let mut outcome = ContactTouched::default();
        for id in leads {
            let Some(lead) = self.store.get_lead(&id).await? else {
                continue;
            };
            let at = touch.at.unwrap_or(now).min(now).max(lead.received_at);
            match self
                .record(&id, &touch.touch_id, &touch.by, touch.channel, at)
                .await?
            {
                TouchOutcome::Recorded { .. } => {
                    if lead.sla.first_response_at.is_none() {
                        outcome.first_responses.push(id.clone());
                    }
                    outcome.touched.push(id);
                }
                TouchOutcome::Duplicate => outcome.duplicates.push(id),
                TouchOutcome::NotFound => {}
            }
        }
        tracing::info!(
            touched = outcome.touched.len(),
            first_responses = outcome.first_responses.len(),
            duplicates = outcome.duplicates.len(),
            "touch by address"
        );
        Ok(outcome)
    }

    /// The touch API's token check (constant time).
    fn admit(&self, token: Option<&str>) -> Result<(), TouchError> {
        let expected = self.touch_token.as_deref().ok_or(TouchError::NotEnabled)?;
        let admitted =
            token.is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(expected.as_bytes())));
        if admitted {
            Ok(())
        } else {
            Err(TouchError::Unauthorized)
        }
    }

    /// Records one reported touch, counted once per `touch_id`; the first
    /// touch of a lead also claims it.
    pub async fn touch(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &EmailAddress,
        channel: Channel,
    ) -> Result<TouchOutcome, StoreError> {
        self.touch_at(id, touch_id, by, channel, self.clock.now())
            .await
    }

    /// [`TouchService::touch`], at a time the caller read from the touch
    /// itself (a reply's `Date`), already bounded by the caller.
    pub async fn touch_at(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &EmailAddress,
        channel: Channel,
        now: OffsetDateTime,
    ) -> Result<TouchOutcome, StoreError> {
        self.record(id, touch_id, by.as_str(), channel, now).await
    }

    /// One touch by `by` (an address, or [`CRM_TOUCH_BY`]).
    async fn record(
        &self,
        id: &LeadId,
        touch_id: &str,
        by: &str,
        channel: Channel,
        now: OffsetDateTime,
    ) -> Result<TouchOutcome, StoreError> {
        let outcome = self
            .store
            .touch(id, touch_id, by, channel.as_str(), now)
            .await?;
        if let TouchOutcome::Recorded { touches, segment } = &outcome {
            self.acted(by).await;
            self.announce(id, channel, *touches).await;
            if *touches == 1 {
                self.announce_claim(id, by, channel).await;
                self.first_touch(id, segment.as_deref());
                tracing::info!(lead_id = %id, seconds_to_first_touch = elapsed_ms(id, now) / 1000, channel = %channel, "lead touched");
            } else {
                tracing::info!(lead_id = %id, touches, channel = %channel, "lead touched");
            }
        }
        Ok(outcome)
    }

    /// The rep acted on a lead: their unanswered streak (auto-away's count)
    /// starts again. The claim or touch stands either way.
    async fn acted(&self, by: &str) {
        if let Err(err) = self.store.reset_missed(by).await {
            tracing::warn!(error = %err, "a rep's unanswered streak was not reset");
        }
    }

    fn first_touch(&self, id: &LeadId, segment: Option<&str>) {
        let now = self.clock.now();
        self.metrics.emit(
            now,
            metrics::first_touch(id, segment.unwrap_or("unknown"), elapsed_ms(id, now)),
        );
    }

    /// `LeadClaimed` on the bus (chat messages show who has it); the
    /// claim is stored either way.
    async fn announce_claim(&self, id: &LeadId, by: &str, channel: Channel) {
        let event = LeadClaimed {
            lead_id: id.clone(),
            by: by.to_owned(),
            channel: channel.as_str().to_owned(),
            at: format_utc_millis(self.clock.now()),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::warn!(lead_id = %id, error = %err, "LeadClaimed not published");
        }
    }

    /// `LeadTouched` on the bus; the touch is stored either way.
    async fn announce(&self, id: &LeadId, channel: Channel, touches: u32) {
        let event = LeadTouched {
            lead_id: id.clone(),
            channel: channel.as_str().to_owned(),
            touches,
            at: format_utc_millis(self.clock.now()),
        };
        if let Err(err) = self.publisher.publish(&OutboundEvent::from(&event)).await {
            tracing::warn!(lead_id = %id, error = %err, "LeadTouched not published");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_read_in_any_case_and_claim_is_not_reported() {
        assert_eq!("Call".parse(), Ok(Channel::Call));
        assert_eq!(" sms ".parse(), Ok(Channel::Sms));
        assert_eq!("claim".parse::<Channel>(), Err(UnknownChannel));
        assert_eq!("fax".parse::<Channel>(), Err(UnknownChannel));
        for channel in Channel::REPORTED {
            assert_eq!(channel.as_str().parse(), Ok(channel));
        }
    }

    #[test]
    fn a_touch_time_reads_as_crms_write_it() {
        use serde_json::json;
        let at = time::macros::datetime!(2026-11-30 14:05 UTC);
        for raw in [
            json!("2026-11-30T14:05:00Z"),
            json!("2026-11-30 14:05:00Z"),
            json!("2026-11-30T09:05:00-05:00"),
            json!("1796047500000"),
            json!(1_796_047_500_000_i64),
        ] {
            assert_eq!(touch_time(&raw), Some(at), "{raw}");
        }
        for raw in [json!("yesterday"), json!(true), json!(i64::MAX), json!("")] {
            assert_eq!(touch_time(&raw), None, "{raw}");
        }
    }

    #[test]
    fn a_reported_touch_is_checked_field_by_field() {
        let touch = ReportedTouch::from_json(
            br#"{"by":"ana@example.com","channel":"Call","touch_id":"t-1"}"#,
            None,
        );
        assert_eq!(
            touch.map(|t| (t.touch_id, t.channel)),
            Ok(("t-1".into(), Channel::Call))
        );
        let keyed =
            ReportedTouch::from_json(br#"{"by":"ana@example.com","channel":"sms"}"#, Some("k"));
        assert_eq!(keyed.map(|t| t.touch_id), Ok("k".into()));
        let field = |body: &[u8]| match ReportedTouch::from_json(body, None) {
            Err(TouchError::Unprocessable { field, .. }) => Some(field),
            _ => None,
        };
        assert_eq!(
            field(br#"{"by":"nobody","channel":"call","touch_id":"t"}"#),
            Some("by")
        );
        assert_eq!(
            field(br#"{"by":"a@example.com","channel":"fax","touch_id":"t"}"#),
            Some("channel")
        );
        assert_eq!(
            field(br#"{"by":"a@example.com","channel":"call","touch_id":" "}"#),
            Some("touch_id")
        );
        assert!(matches!(
            ReportedTouch::from_json(
                br#"{"by":"a@example.com","channel":"call","extra":1}"#,
                None
            ),
            Err(TouchError::Malformed(_))
        ));
    }
}
