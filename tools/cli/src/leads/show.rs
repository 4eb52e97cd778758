//! `firsthour leads show ID`: one lead's whole history, readable or as JSON.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use firsthour::lead::{LeadId, format_utc_millis, unix_millis};
use firsthour::record::LeadRecord;
use firsthour::sector::Evidence;
use firsthour_aws::DynamoLeadStore;
use firsthour_aws::dynamo::operator_store::{MANUAL_BY, MANUAL_TIER, TouchMarker};
use firsthour_aws::table::{self, LeadItem};

use super::{LeadState, LeadsError, age, read_error, readable, state_of, table_error};

/// A `reassignments` entry as stored, with the `by` key a manual one has.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Move {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    to: String,
    at: String,
    tier: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

impl Move {
    fn manual(&self) -> bool {
        self.by.is_some() || self.tier == MANUAL_TIER
    }
}

pub async fn run(
    store: &DynamoLeadStore,
    id: &LeadId,
    as_json: bool,
) -> Result<String, LeadsError> {
    let output = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(table::PK, AttributeValue::S(table::lead_pk(id)))
        .key(table::SK, AttributeValue::S(table::LEAD_SK.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| table_error(store, read_error(&err)))?;
    let Some(raw) = output.item else {
        return Err(LeadsError::NotFound {
            id: id.clone(),
            table: store.table().to_owned(),
        });
    };
    let moves: Vec<Move> = raw
        .get("reassignments")
        .and_then(|v| serde_dynamo::from_attribute_value(v.clone()).ok())
        .unwrap_or_default();
    let item: LeadItem = serde_dynamo::from_item(raw).map_err(|err| {
        LeadsError::Refused(format!(
            "lead {id} in table {} cannot be read: {err}",
            store.table()
        ))
    })?;
    let touches = store
        .touch_markers(id)
        .await
        .map_err(|e| table_error(store, e))?;
    let now = OffsetDateTime::now_utc();
    if as_json {
        return json_of(&item, &moves, &touches, now);
    }
    Ok(text_of(&LeadRecord::from(item), &moves, &touches, now))
}

fn json_of(
    item: &LeadItem,
    moves: &[Move],
    touches: &[TouchMarker],
    now: OffsetDateTime,
) -> Result<String, LeadsError> {
    let mut lead = serde_json::to_value(item).map_err(|e| LeadsError::Format(e.to_string()))?;
    if let Some(object) = lead.as_object_mut() {
        for key in [table::PK, table::SK, "entity"] {
            object.remove(key);
        }
        object.insert(
            "reassignments".into(),
            serde_json::to_value(moves).map_err(|e| LeadsError::Format(e.to_string()))?,
        );
    }
    let record = LeadRecord::from(item.clone());
    let output = json!({
        "lead": lead,
        "state": state_of(&LeadState::of(&record)),
        "age_ms": unix_millis(now).saturating_sub(item.received_at_ms).max(0),
        "touch_history": touches
            .iter()
            .map(|t| json!({"by": t.by, "channel": t.channel, "at": t.at}))
            .collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&output).map_err(|e| LeadsError::Format(e.to_string()))
}

/// `label  value` lines, the labels aligned; absent values left out.
struct Section {
    title: String,
    lines: Vec<(String, String)>,
}

impl Section {
    fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            lines: Vec::new(),
        }
    }

    fn add(&mut self, label: &str, value: Option<impl Into<String>>) {
        if let Some(value) = value {
            self.lines.push((label.to_owned(), value.into()));
        }
    }

    fn render(&self, out: &mut Vec<String>) {
        if self.lines.is_empty() {
            return;
        }
        out.push(String::new());
        out.push(self.title.clone());
        let width = self
            .lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &self.lines {
            let pad = " ".repeat(width - label.chars().count());
            // Multi-line values (a message) stay under their first line.
            let indent = " ".repeat(width + 4);
            let value = value
                .lines()
                .collect::<Vec<_>>()
                .join(&format!("\n{indent}"));
            out.push(format!("  {label}{pad}  {value}").trim_end().to_owned());
        }
    }
}

fn text_of(
    lead: &LeadRecord,
    moves: &[Move],
    touches: &[TouchMarker],
    now: OffsetDateTime,
) -> String {
    let c = &lead.contact;
    let sla = &lead.sla;
    let received = format_utc_millis(lead.received_at);
    let mut out = vec![
        format!(
            "Lead {} from {}, received {} ({} ago)",
            lead.id,
            lead.source,
            readable(&received),
            age(unix_millis(now) - unix_millis(lead.received_at))
        ),
        format!("State: {}", state_of(&LeadState::of(lead))),
    ];

    let mut contact = Section::new("Contact");
    let name = c.full_name.clone().or_else(|| {
        let parts: Vec<&str> = [c.first_name.as_deref(), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    contact.add("name", name);
    contact.add("email", c.email.clone());
    contact.add("company", c.company.clone());
    contact.add("job title", c.job_title.clone());
    contact.add("phone", c.phone.clone());
    contact.add("message", c.message.clone());
    contact.add("page", c.page_url.clone());
    contact.add("referrer", c.referrer.clone());
    let utm: Vec<String> = [
        ("source", &c.utm.source),
        ("medium", &c.utm.medium),
        ("campaign", &c.utm.campaign),
        ("term", &c.utm.term),
        ("content", &c.utm.content),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    contact.add("utm", (!utm.is_empty()).then(|| utm.join(", ")));
    let origin = &lead.submission.origin;
    contact.add("client ip", origin.client_ip.clone());
    contact.add("user agent", origin.user_agent.clone());
    contact.add("delivery id", origin.delivery_id.clone());
    contact.render(&mut out);

    let sub = &lead.submission;
    let mut fields = Section::new(format!("Submitted fields ({})", sub.fields.len()));
    for field in &sub.fields {
        let label = match &field.label {
            Some(label) => format!("{} ({label})", field.name),
            None => field.name.clone(),
        };
        fields.lines.push((label, field.value.clone()));
    }
    let list = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    fields.add("— cut to fit", list(&sub.truncated));
    if sub.cut_unnamed {
        fields.add(
            "— cut to fit",
            Some("something (stored before cuts were named)"),
        );
    }
    fields.add("— guessed", list(&sub.guessed));
    fields.add("— files ignored", list(&sub.ignored_files));
    fields.render(&mut out);

    let mut sector = Section::new("Sector");
    sector.add("sector", Some(lead.sector.sector.to_string()));
    sector.add(
        "evidence",
        Some(match &lead.sector.evidence {
            Evidence::Domain { domain, rule } => format!("the email domain {domain} (rule {rule})"),
            Evidence::Field { field, value } => format!("the form field {field} = {value}"),
            Evidence::Source { source } => format!("the source {source}"),
            Evidence::Default => "nothing said otherwise (the default)".to_owned(),
        }),
    );
    sector.add("agency", lead.sector.agency.clone());
    sector.add("domain type", lead.sector.domain_type.clone());
    sector.add("service", lead.sector.service.clone());
    sector.render(&mut out);

    let route = &lead.route;
    let mut routing = Section::new("Routing");
    routing.add("rule", Some(route.rule.clone()));
    routing.add("segment", Some(route.segment.clone()));
    routing.add("team", route.team.clone());
    routing.add(
        "priority",
        serde_json::to_value(route.priority)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
    );
    routing.add(
        "assignment",
        serde_json::to_value(route.assignment)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
    );
    routing.add("ladder", route.ladder.clone());
    routing.add("recipients", list(&route.recipients));
    routing.add("fallback", route.fallback.then_some("yes: no rule matched"));
    routing.add("reason", Some(route.reason.clone()));
    routing.add("owner", sla.owner.clone());
    routing.render(&mut out);

    // Every stamp, in time order (the stamps are RFC 3339 UTC with
    // milliseconds, so they sort as text).
    let since = |ms: Option<i64>| ms.map_or_else(String::new, |ms| format!(" (+{})", age(ms)));
    let mut events: Vec<(String, String)> = vec![(received.clone(), "received".to_owned())];
    if let Some(at) = &lead.stored_at {
        events.push((at.clone(), format!("stored{}", since(sla.ms_to_store))));
    }
    if let Some(at) = &sla.publish_failed_at {
        events.push((
            at.clone(),
            "LeadReceived not published: left for re-drive".to_owned(),
        ));
    }
    if let Some(at) = &sla.routed_at {
        let owner = sla
            .reassignments
            .first()
            .and_then(|r| r.from.clone())
            .or_else(|| {
                if moves.is_empty() {
                    sla.owner.clone()
                } else {
                    None
                }
            });
        events.push((
            at.clone(),
            format!(
                "routed{}{}",
                owner.map_or_else(String::new, |o| format!(" to {o}")),
                since(sla.ms_to_route)
            ),
        ));
    }
    if let Some(at) = &sla.notified_at {
        events.push((
            at.clone(),
            format!(
                "notified{}{}",
                since(sla.ms_to_notify),
                sla.notify_message_id
                    .as_ref()
                    .map_or_else(String::new, |m| format!(", message {m}"))
            ),
        ));
    }
    if let Some(at) = &sla.notify_failed_at {
        events.push((
            at.clone(),
            format!(
                "the first notification failed: {}",
                sla.notify_error.as_deref().unwrap_or("no reason kept")
            ),
        ));
    }
    for stamp in &sla.escalations {
        let what = if stamp.breach {
            format!(
                "breach: the ladder ran out (tier {}), the fallback has it",
                stamp.tier
            )
        } else {
            format!("escalation tier {} fired", stamp.tier)
        };
        events.push((stamp.at.clone(), format!("{what} (+{})", age(stamp.ms))));
    }
    for moved in moves {
        let from = moved.from.as_deref().unwrap_or("the rule's recipients");
        let how = if moved.manual() {
            format!("by hand ({})", moved.by.as_deref().unwrap_or(MANUAL_BY))
        } else {
            format!("by tier {}", moved.tier)
        };
        events.push((
            moved.at.clone(),
            format!("reassigned from {from} to {} {how}", moved.to),
        ));
    }
    if let Some(at) = &sla.claimed_at {
        events.push((
            at.clone(),
            format!(
                "claimed by {}{}",
                sla.claimed_by.as_deref().unwrap_or("someone"),
                since(
                    sla.ms_to_first_touch
                        .filter(|_| sla.first_touch_at.as_ref() == Some(at))
                )
            ),
        ));
    }
    for touch in touches {
        events.push((
            touch.at.clone(),
            format!("touch: {} by {}", touch.channel, touch.by),
        ));
    }
    if let Some(at) = &sla.first_response_at {
        events.push((
            at.clone(),
            format!(
                "first response, by {}{}",
                sla.first_response_channel
                    .as_deref()
                    .unwrap_or("an unknown channel"),
                since(sla.ms_to_first_response)
            ),
        ));
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut timeline = Section::new("Timeline (UTC)");
    timeline.lines = events
        .into_iter()
        .map(|(at, what)| (readable_millis(&at), what))
        .collect();
    timeline.render(&mut out);

    let mut now_section = Section::new("Now");
    now_section.add(
        "touches",
        Some(format!(
            "{}{}",
            sla.touches,
            match (&sla.first_touch_at, &sla.last_touch_at) {
                (Some(first), Some(last)) =>
                    format!(" (first {}, last {})", readable(first), readable(last)),
                _ => String::new(),
            }
        )),
    );
    now_section.add("next tier", sla.next_tier.map(|t| t.to_string()));
    now_section.add(
        "due",
        Some(match sla.due_at {
            Some(ms) => {
                let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                format!(
                    "{} (in the due index: the sweep acts on it then)",
                    readable(&format_utc_millis(at))
                )
            }
            None => "not due: out of the due index".to_owned(),
        }),
    );
    now_section.add(
        "owed tier",
        sla.owed_tier
            .map(|t| format!("{t} (its emails are still to be sent)")),
    );
    now_section.add(
        "expires",
        lead.expires_at
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map(|at| {
                format!(
                    "{} (the table's TTL deletes it then)",
                    readable(&format_utc_millis(at))
                )
            }),
    );
    now_section.render(&mut out);

    let mut posts = Section::new("Channel posts");
    for (channel, post) in &sla.channel_posts {
        let mut what = readable(&post.at);
        if let Some(conversation) = &post.conversation {
            what.push_str(&format!(", conversation {conversation}"));
        }
        if let Some(ts) = &post.ts {
            what.push_str(&format!(", ts {ts}"));
        }
        posts.lines.push((channel.clone(), what));
    }
    posts.render(&mut out);
    out.join("\n")
}

/// `2026-11-23T15:00:00.123Z` as `2026-11-23 15:00:00.123`.
fn readable_millis(stamp: &str) -> String {
    stamp.trim_end_matches('Z').replacen('T', " ", 1)
}
