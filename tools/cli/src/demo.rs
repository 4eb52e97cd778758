//! `firsthour demo-data`: realistic leads over the past few days, written
//! straight into the lead table with every stage stamped as the functions
//! would have stamped it, so `firsthour report` has something to show.
//!
//! The leads go through the real routing (the rules file decides segment,
//! team, owner and ladder) and the real ladders (tiers fire at the times the
//! escalation function would fire them, business calendars included). Only
//! the people are invented: fixed-seed names at `.example` companies, and
//! federal addresses at real agency domains. Demo leads are never due, so
//! a running `make run` sends no email for them.

use std::path::PathBuf;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use clap::Args;
use time::{Duration, OffsetDateTime};

use firsthour::config::FileConfig;
use firsthour::email::EmailAddress;
use firsthour::escalation::breach_due;
use firsthour::lead::{Contact, Lead, LeadId, RawField, Source, format_utc_millis, unix_millis};
use firsthour::record::{EscalationStamp, LeadRecord, Reassignment, RoutingState};
use firsthour::roster::Roster;
use firsthour::routing::Assignment;
use firsthour::service::intake::classify;
use firsthour_aws::table::LeadItem;

use crate::report::LOCAL_TABLE;

/// Marks a demo lead (its notification id), so `--clear` finds only those.
const DEMO_MESSAGE_PREFIX: &str = "demo-";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Delete the demo leads this command wrote (and nothing else) instead.
    #[arg(long)]
    pub clear: bool,
    /// How many leads.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    leads: u32,
    /// Spread over this many days before now.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=365))]
    days: u32,
    /// The same seed gives the same leads (ids and times aside).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The rules file that routes them.
    #[arg(long, default_value = "infra/config/firsthour.toml")]
    pub rules: PathBuf,
    #[arg(long, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
    pub table: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Config(String),
    #[error("cannot write to table {table}: {message}")]
    Write { table: String, message: String },
}

/// How a kind of lead behaves: where it comes from and how fast people answer it.
struct Persona {
    weight: u32,
    sources: &'static [&'static str],
    domains: &'static [&'static str],
    companies: &'static [&'static str],
    /// Median minutes to the first touch, and the spread (log-normal sigma).
    median_minutes: f64,
    sigma: f64,
    never: f64,
    employees: &'static [u32],
}

const PERSONAS: [Persona; 5] = [
    // Federal: the team is alerted at once and answers in minutes.
    Persona {
        weight: 18,
        sources: &["gov-portal", "gov-portal", "website"],
        domains: &["navy.mil", "army.mil", "us.af.mil", "mail.mil", "fs.fed.us"],
        companies: &[
            "US Navy",
            "US Army",
            "US Air Force",
            "Defense Health Agency",
            "USDA Forest Service",
        ],
        median_minutes: 3.5,
        sigma: 0.8,
        never: 0.03,
        employees: &[],
    },
    // State and local government.
    Persona {
        weight: 10,
        sources: &["website", "gov-portal"],
        domains: &[
            "co.fairfax.va.us",
            "ci.boston.ma.us",
            "co.travis.tx.us",
            "k12.wa.us",
        ],
        companies: &[
            "Fairfax County",
            "City of Boston",
            "Travis County",
            "Washington K-12",
        ],
        median_minutes: 14.0,
        sigma: 1.0,
        never: 0.08,
        employees: &[],
    },
    // Enterprise (1,000+ employees): hot ladder, answered within the hour mostly.
    Persona {
        weight: 17,
        sources: &["website", "hubspot", "typeform"],
        domains: &[
            "globex.example",
            "initech.example",
            "umbrella.example",
            "hooli.example",
        ],
        companies: &["Globex", "Initech", "Umbrella Corp", "Hooli"],
        median_minutes: 11.0,
        sigma: 1.1,
        never: 0.06,
        employees: &[1200, 5000, 25000],
    },
    // Existing customers asking for more.
    Persona {
        weight: 8,
        sources: &["website"],
        domains: &["customer.example.com"],
        companies: &["Customer Co"],
        median_minutes: 50.0,
        sigma: 1.2,
        never: 0.05,
        employees: &[],
    },
    // Everyone else: the standard ladder, business hours.
    Persona {
        weight: 47,
        sources: &["website", "webflow", "typeform", "hubspot", "website"],
        domains: &[
            "acme.example",
            "northwind.example",
            "contoso.example",
            "fabrikam.example",
            "tailspin.example",
            "wingtip.example",
        ],
        companies: &[
            "Acme",
            "Northwind Traders",
            "Contoso",
            "Fabrikam",
            "Tailspin Toys",
            "Wingtip",
        ],
        median_minutes: 95.0,
        sigma: 1.6,
        never: 0.17,
        employees: &[8, 40, 120, 450],
    },
];

const FIRST: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Dorothy",
    "Mary",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Radia",
    "Ken",
    "Margaret",
    "Tim",
    "Annie",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Vaughan",
    "Jackson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Perlman",
    "Thompson",
    "Hamilton",
    "Berners-Lee",
    "Easley",
];
const MESSAGES: [&str; 5] = [
    "Please send pricing for 200 seats.",
    "We would like a demo next week.",
    "Can you support a procurement through our contract vehicle?",
    "Looking to replace our current vendor this quarter.",
    "Need a quote and a security questionnaire.",
];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// A log-normal sample: most people answer near the median, a few much later.
fn log_normal(rng: &mut fastrand::Rng, median: f64, sigma: f64) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * normal).exp()
}

/// An arrival time in the window, busier on weekday working hours (US East).
fn arrival(rng: &mut fastrand::Rng, now: OffsetDateTime, days: u32) -> OffsetDateTime {
    loop {
        let back = rng.f64() * f64::from(days) * 86_400.0;
        let at = now - Duration::seconds_f64(back);
        let eastern_hour = (i32::from(at.hour()) + 19) % 24;
        let weekday = at.weekday().number_days_from_monday() < 5;
        let busy = weekday && (8..18).contains(&eastern_hour);
        if busy || rng.f64() < 0.15 {
            return at;
        }
    }
}

fn build_lead(
    rng: &mut fastrand::Rng,
    persona: &Persona,
    index: u32,
    at: OffsetDateTime,
) -> Result<Lead, DemoError> {
    let first = *pick(rng, &FIRST);
    let last = *pick(rng, &LAST);
    let slot = rng.usize(..persona.domains.len());
    let domain = persona.domains[slot];
    let company = persona.companies[slot.min(persona.companies.len() - 1)];
    let address = format!(
        "{}.{}{index}@{domain}",
        first.to_ascii_lowercase(),
        last.to_ascii_lowercase()
    );
    let source = Source::parse(pick::<&str>(rng, persona.sources))
        .map_err(|e| DemoError::Config(format!("demo source: {e}")))?;
    let mut fields = vec![
        RawField::new("name", format!("{first} {last}")),
        RawField::new("email", &address),
        RawField::new("company", company),
    ];
    if let Some(employees) = (!persona.employees.is_empty()).then(|| *pick(rng, persona.employees))
    {
        fields.push(RawField::new("employees", employees.to_string()));
    }
    let message = *pick(rng, &MESSAGES);
    fields.push(RawField::new("message", message));
    Ok(Lead {
        id: LeadId::new_at(at),
        received_at: at,
        source,
        contact: Contact {
            email: EmailAddress::parse(&address).ok(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            full_name: Some(format!("{first} {last}")),
            company: Some(company.into()),
            message: Some(message.into()),
            ..Contact::default()
        },
        client_ip: None,
        user_agent: Some("firsthour demo-data".into()),
        delivery_id: None,
        fields,
        truncated: Vec::new(),
        ignored_files: Vec::new(),
        guessed: Vec::new(),
    })
}

/// One lead's whole life up to `now`: routed, notified, escalated as its
/// ladder says, and touched (or not) as its persona behaves.
fn live(
    rng: &mut fastrand::Rng,
    config: &FileConfig,
    persona: &Persona,
    lead: &Lead,
    turn: u64,
    now: OffsetDateTime,
) -> LeadRecord {
    let received = lead.received_at;
    let (sector, route) = classify(lead, config);
    let stored = received + Duration::milliseconds(rng.i64(8..45));
    let mut item = LeadRecord::new_received(lead, &sector, &route, stored, received, None);
    let ms = |at: OffsetDateTime| unix_millis(at) - unix_millis(received);
    let routed = stored + Duration::milliseconds(rng.i64(300..2500));
    let notified = routed + Duration::milliseconds(rng.i64(150..900));
    let rule = config
        .routing
        .rule(&route.rule)
        .unwrap_or(&config.routing.fallback);
    let team = rule.team.as_ref().and_then(|t| config.routing.teams.get(t));
    item.sla.owner = team
        .and_then(|team| team.rep_for_turn(turn))
        .map(|rep| rep.email.clone());
    item.sla.routing_state = RoutingState::Routed;
    item.sla.routed_at = Some(format_utc_millis(routed));
    item.sla.ms_to_route = Some(ms(routed));
    item.sla.notified_at = Some(format_utc_millis(notified));
    item.sla.ms_to_notify = Some(ms(notified));
    item.sla.notify_message_id = Some(format!("{DEMO_MESSAGE_PREFIX}{}", lead.id));
    // Never in the due index: a running stack must not email demo leads.
    item.sla.due_at = None;

    let touched = (rng.f64() >= persona.never).then(|| {
        let minutes = log_normal(rng, persona.median_minutes, persona.sigma).max(0.3);
        received + Duration::seconds_f64(minutes * 60.0)
    });
    let touched = touched.filter(|at| *at <= now);
    let ladder = config.routing.ladder_for(rule);
    let mut tier = 0;
    if let Some(ladder) = ladder {
        for i in 0..ladder.tiers.len() {
            let Some(due) = ladder.due_at(i, received, 1) else {
                break;
            };
            if due > now || touched.is_some_and(|t| t <= due) {
                break;
            }
            tier = i + 1;
            item.sla.escalations.push(EscalationStamp {
                tier: u32::try_from(tier).unwrap_or(u32::MAX),
                at: format_utc_millis(due),
                ms: ms(due),
                breach: false,
            });
            item.sla.escalated_at = Some(format_utc_millis(due));
            // A reassign tier moves the lead on, as the sweep does.
            if ladder.tiers[i].reassign
                && let Some(team) = team.filter(|_| rule.assignment != Assignment::None)
            {
                let from = item.sla.owner.clone();
                let plan = team.reassign_plan(from.as_deref(), due, &Roster::default());
                if let Some(to) = plan.candidates.first().map(|r| r.email.clone())
                    && from.as_deref() != Some(to.as_str())
                {
                    item.sla.reassignments.push(Reassignment {
                        from,
                        to: to.clone(),
                        at: format_utc_millis(due),
                        tier: u32::try_from(tier).unwrap_or(u32::MAX),
                    });
                    item.sla.owner = Some(to);
                }
            }
        }
        if tier == ladder.tiers.len()
            && let Some(breach) = breach_due(ladder, received, 1)
            && breach <= now
            && touched.is_none_or(|t| t > breach)
        {
            item.sla.escalations.push(EscalationStamp {
                tier: u32::try_from(tier + 1).unwrap_or(u32::MAX),
                at: format_utc_millis(breach),
                ms: ms(breach),
                breach: true,
            });
            item.sla.escalated_at = Some(format_utc_millis(breach));
            item.sla.breached_at = Some(format_utc_millis(breach));
            tier += 1;
        }
        // Tiers count from 1: the next to fire after `tier` fired.
        item.sla.next_tier = Some(u32::try_from(tier + 1).unwrap_or(u32::MAX));
    }
    if let Some(at) = touched {
        let by = item
            .sla
            .owner
            .clone()
            .or_else(|| item.route.recipients.first().cloned())
            .unwrap_or_else(|| "sales@example.com".into());
        item.sla.claimed_at = Some(format_utc_millis(at));
        item.sla.claimed_by = Some(by);
        item.sla.first_touch_at = Some(format_utc_millis(at));
        item.sla.last_touch_at = Some(format_utc_millis(at));
        item.sla.ms_to_first_touch = Some(ms(at));
        item.sla.touches = rng.u32(1..4);
        // How the first response came: a tracked reply a few minutes after
        // the claim, a call logged by the CRM, or a claim with no response yet.
        let (responded, channel) = match rng.f64() {
            r if r < 0.55 => (Some(at + Duration::minutes(rng.i64(1..20))), "email"),
            r if r < 0.85 => (Some(at), "call"),
            _ => (None, ""),
        };
        if let Some(responded) = responded.filter(|r| *r <= now) {
            item.sla.first_response_at = Some(format_utc_millis(responded));
            item.sla.first_response_channel = Some(channel.to_owned());
            item.sla.ms_to_first_response = Some(ms(responded));
        }
    }
    item
}

pub async fn run(args: DemoArgs, config: FileConfig) -> Result<String, DemoError> {
    let now = OffsetDateTime::now_utc();
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let total_weight: u32 = PERSONAS.iter().map(|p| p.weight).sum();
    let mut items = Vec::with_capacity(args.leads as usize);
    for index in 0..args.leads {
        let mut roll = rng.u32(..total_weight);
        let persona = PERSONAS
            .iter()
            .find(|p| {
                if roll < p.weight {
                    true
                } else {
                    roll -= p.weight;
                    false
                }
            })
            .unwrap_or(&PERSONAS[PERSONAS.len() - 1]);
        let at = arrival(&mut rng, now, args.days);
        let lead = build_lead(&mut rng, persona, index, at)?;
        items.push(live(
            &mut rng,
            &config,
            persona,
            &lead,
            u64::from(index),
            now,
        ));
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    write_all(&client, &args.table, &items).await?;
    Ok(format!(
        "{} demo leads over the last {} days written to table {}.\nSee them with: firsthour report --chart report.png",
        items.len(),
        args.days,
        args.table
    ))
}

/// Writes the demo leads, 25 a batch.
async fn write_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: &[LeadRecord],
) -> Result<(), DemoError> {
    let mut requests = Vec::with_capacity(items.len());
    for item in items {
        let attributes = serde_dynamo::to_item(LeadItem::stored(item.clone()))
            .map_err(|e| write_error(table, e.to_string()))?;
        let put = PutRequest::builder()
            .set_item(Some(attributes))
            .build()
            .map_err(|e| write_error(table, e.to_string()))?;
        requests.push(WriteRequest::builder().put_request(put).build());
    }
    batch_write(client, table, requests).await
}

fn write_error(table: &str, message: String) -> DemoError {
    DemoError::Write {
        table: table.to_owned(),
        message,
    }
}

/// BatchWriteItem, 25 at a time, re-sending what DynamoDB leaves unprocessed.
async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), DemoError> {
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        for attempt in 0..8u32 {
            let output = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| {
                    write_error(
                        table,
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                    )
                })?;
            pending = output
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        if !pending.is_empty() {
            return Err(write_error(
                table,
                format!("{} items still unprocessed after retries", pending.len()),
            ));
        }
    }
    Ok(())
}

/// `demo-data --clear`: deletes every demo lead (their notification ids
/// start with `demo-`), and nothing else.
pub async fn clear(table: &str) -> Result<String, DemoError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let mut deletes = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("entity = :lead AND begins_with(notify_message_id, :demo)")
            .projection_expression("pk, sk")
            .expression_attribute_values(":lead", AttributeValue::S("lead".into()))
            .expression_attribute_values(":demo", AttributeValue::S(DEMO_MESSAGE_PREFIX.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                write_error(
                    table,
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                )
            })?;
        for key in page.items.unwrap_or_default() {
            let delete = DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map_err(|e| write_error(table, e.to_string()))?;
            deletes.push(WriteRequest::builder().delete_request(delete).build());
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let count = deletes.len();
    batch_write(&client, table, deletes).await?;
    Ok(format!(
        "{count} demo leads deleted from table {table}; other leads untouched."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> FileConfig {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/firsthour.toml");
        FileConfig::load(&path, None, &|k| {
            Some(format!("{}@example.com", k.to_ascii_lowercase()))
        })
        .expect("shipped config")
    }

    #[test]
    fn demo_leads_follow_their_ladders_and_never_wait_in_the_due_index() {
        let config = shipped();
        let now = OffsetDateTime::now_utc();
        let mut rng = fastrand::Rng::with_seed(1);
        let mut segments = std::collections::BTreeSet::new();
        for i in 0..400 {
            let persona = &PERSONAS[i as usize % PERSONAS.len()];
            let at = arrival(&mut rng, now, 5);
            let lead = build_lead(&mut rng, persona, i, at).expect("lead");
            let item = live(&mut rng, &config, persona, &lead, u64::from(i), now);
            segments.insert(item.route.segment.clone());
            assert!(item.sla.due_at.is_none());
            assert!(item.sla.ms_to_notify.is_some_and(|ms| ms > 0));
            if let Some(touch) = item.sla.ms_to_first_touch {
                assert!(
                    item.sla.escalations.iter().all(|e| e.ms < touch),
                    "no tier fires after the lead was touched"
                );
            }
            let tiers: Vec<u32> = item.sla.escalations.iter().map(|e| e.tier).collect();
            let expected: Vec<u32> = (1..=tiers.len() as u32).collect();
            assert_eq!(tiers, expected, "tiers fire in order");
            assert_eq!(
                item.sla.breached_at.is_some(),
                item.sla.escalations.iter().any(|e| e.breach)
            );
        }
        for segment in [
            "federal",
            "state_local",
            "enterprise",
            "expansion",
            "commercial",
        ] {
            assert!(segments.contains(segment), "{segment} in {segments:?}");
        }
    }

    #[test]
    fn arrivals_stay_inside_the_window() {
        let now = OffsetDateTime::now_utc();
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..500 {
            let at = arrival(&mut rng, now, 2);
            assert!(at <= now && at >= now - Duration::days(2));
        }
    }
}
