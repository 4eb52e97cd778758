//! `firsthour leads list`: leads newest first, as a table, JSON or CSV.
//!
//! How it reads, by what is asked:
//!
//! * `--untouched` and `--overdue` query the sparse due index (`due-index`,
//!   its one partition `due_bucket = "due"`): it holds exactly the leads
//!   still waiting on their ladder, so reading all of it, page by page, is
//!   bounded by the leads in flight, never by the table.
//! * A breached lead moves to the due index's other partition
//!   (`due_bucket = "breached"`) once the breach emails are out, until a
//!   claim or touch takes it out: `--untouched` and `--overdue` query both
//!   partitions (a breached lead is both: nobody took it).
//! * A plain `list` has no index to use (the table has none by date), so it
//!   scans too, page by page, and stops at `--limit` matches.
//!
//! A scan that stops at `--limit` shows the leads it found newest first,
//! not the table's newest; `--exhaustive` reads every page and keeps the
//! newest `--limit` (memory stays at `--limit` rows). Only routing and
//! timing attributes leave the table unless `--contacts` is given.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use time::OffsetDateTime;

use firsthour::lead::{format_utc_millis, unix_millis};
use firsthour::ports::StoreError;
use firsthour::record::EscalationStamp;
use firsthour_aws::DynamoLeadStore;
use firsthour_aws::table;

use super::{LeadState, LeadsError, age, read_error, state_of};
use crate::report::Format;
use crate::time_arg::{TimeBound, parse_time};

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only leads still on their ladder that nobody claimed or touched
    /// (routed or not): the due index.
    #[arg(long)]
    untouched: bool,
    /// Only unclaimed leads a tier fired for, or whose ladder ran out (breached).
    #[arg(long)]
    overdue: bool,
    /// Only this segment (as the rules name it, e.g. federal).
    #[arg(long, value_name = "S")]
    segment: Option<String>,
    /// Only leads this rep owns.
    #[arg(long, value_name = "EMAIL")]
    owner: Option<String>,
    /// Leads received from then: 2026-11-01, an RFC 3339 instant, or a
    /// duration back from now (30m, 24h, 7d).
    #[arg(long, value_name = "DATE|DURATION")]
    since: Option<String>,
    /// At most this many leads.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: u32,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also show the person: name, email, company, phone.
    #[arg(long)]
    contacts: bool,
    /// Read every page of a scan and keep the newest --limit leads, instead
    /// of stopping at the first --limit found (a full scan of the table).
    #[arg(long)]
    exhaustive: bool,
    /// Items per page (default: DynamoDB's 1 MB pages).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..), hide = true)]
    page_size: Option<i32>,
}

/// The attributes a row is made of: routing and timing, no personal data.
const ROW_ATTRIBUTES: [&str; 16] = [
    "lead_id",
    "received_at_ms",
    "segment",
    "rule",
    "owner",
    "routing_state",
    "notified_at",
    "notify_failed_at",
    "escalations",
    "breached_at",
    "claimed_at",
    "claimed_by",
    "touches",
    "first_response_at",
    table::DUE_BUCKET,
    table::DUE_AT,
];

/// Read only with `--contacts`.
const CONTACT_ATTRIBUTES: [&str; 6] = [
    "full_name",
    "first_name",
    "last_name",
    "email",
    "company",
    "phone",
];

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, Serialize)]
struct Row {
    id: String,
    received_at: String,
    segment: String,
    rule: String,
    owner: Option<String>,
    state: String,
    claimed_by: Option<String>,
    age_ms: i64,
    #[serde(flatten)]
    contact: Option<ContactColumns>,
    #[serde(skip)]
    received_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
struct ContactColumns {
    name: Option<String>,
    email: Option<String>,
    company: Option<String>,
    phone: Option<String>,
}

/// What the rows must be; checked on every item read, whatever the
/// server's filter already did.
#[derive(Debug, Clone)]
struct Wanted {
    since_ms: Option<i64>,
    segment: Option<String>,
    owner: Option<String>,
    untouched: bool,
    overdue: bool,
}

impl Wanted {
    fn keeps(&self, item: &Item) -> bool {
        let claimed = item.contains_key("claimed_at");
        self.since_ms
            .is_none_or(|since| number(item, "received_at_ms").is_some_and(|r| r >= since))
            && self
                .segment
                .as_deref()
                .is_none_or(|s| text(item, "segment").as_deref() == Some(s))
            && self.owner.as_deref().is_none_or(|o| {
                text(item, "owner").is_some_and(|owner| owner.eq_ignore_ascii_case(o.trim()))
            })
            && (!self.untouched || (!claimed && item.contains_key(table::DUE_BUCKET)))
            && (!self.overdue || is_overdue(item))
    }
}

/// Unclaimed, and a tier fired for it or its ladder ran out (breached).
fn is_overdue(item: &Item) -> bool {
    !item.contains_key("claimed_at")
        && (item.contains_key("breached_at")
            || item
                .get("escalations")
                .and_then(|v| v.as_l().ok())
                .is_some_and(|l| !l.is_empty()))
}

pub async fn run(store: &DynamoLeadStore, args: ListArgs) -> Result<String, LeadsError> {
    let now = OffsetDateTime::now_utc();
    let since = args
        .since
        .as_deref()
        .map(|raw| since(raw, now))
        .transpose()?;
    let wanted = Wanted {
        since_ms: since.map(unix_millis),
        segment: args.segment.clone(),
        owner: args.owner.clone(),
        untouched: args.untouched,
        overdue: args.overdue,
    };
    let mut projection: Vec<&str> = ROW_ATTRIBUTES.to_vec();
    if args.contacts {
        projection.extend(CONTACT_ATTRIBUTES);
    }
    let read = Read {
        client: store.client(),
        table: store.table(),
        wanted: &wanted,
        projection: &projection,
        limit: args.limit as usize,
        page_size: args.page_size,
    };
    let mut rows = Rows::new(args.limit as usize);
    if args.untouched || args.overdue {
        let mut waiting = read
            .due_index(args.overdue, table::DUE_BUCKET_VALUE)
            .await
            .map_err(|e| super::table_error(store, e))?;
        // A breached lead is untouched and overdue both: nobody took it.
        {
            let breached = read
                .due_index(true, table::BREACHED_BUCKET_VALUE)
                .await
                .map_err(|e| super::table_error(store, e))?;
            waiting.read += breached.read;
            waiting.items.extend(breached.items);
        }
        eprintln!(
            "firsthour leads: read the due index of table {} ({} waiting and breached leads read)",
            store.table(),
            waiting.read
        );
        rows.extend(waiting.items.iter().map(|i| row(i, now, args.contacts)));
    }
    if !args.untouched && !args.overdue {
        let found = read
            .scan(args.exhaustive)
            .await
            .map_err(|e| super::table_error(store, e))?;
        eprintln!(
            "firsthour leads: a paginated scan of table {} for leads (the table has no index \
             by date): {} items read",
            store.table(),
            found.read
        );
        if found.stopped_early {
            eprintln!(
                "firsthour leads: stopped at --limit {} matches: these are the first found, \
                 shown newest first, not necessarily the table's newest \
                 (--exhaustive reads every page and keeps the newest)",
                args.limit
            );
        }
        rows.extend(found.items.iter().map(|i| row(i, now, args.contacts)));
    }
    let rows = rows.into_newest_first();
    match args.format {
        Format::Table => Ok(render_table(&rows, args.contacts)),
        Format::Json => {
            serde_json::to_string_pretty(&rows).map_err(|e| LeadsError::Format(e.to_string()))
        }
        Format::Csv => {
            render_csv(&rows, args.contacts).map_err(|e| LeadsError::Format(e.to_string()))
        }
    }
}

/// `--since`: a date or instant, or a duration back from `now`.
fn since(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, LeadsError> {
    if let Ok(back) = humantime::parse_duration(raw.trim()) {
        let back = time::Duration::try_from(back)
            .map_err(|_| LeadsError::Args(format!("--since {raw}: too long ago")))?;
        return now
            .checked_sub(back)
            .ok_or_else(|| LeadsError::Args(format!("--since {raw}: too long ago")));
    }
    parse_time(raw, TimeBound::Start)
        .map_err(|e| LeadsError::Args(format!("--since: {e}, or a duration like 24h or 7d")))
}

/// The newest `limit` rows, each lead once.
struct Rows {
    limit: usize,
    rows: Vec<Row>,
}

impl Rows {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            rows: Vec::new(),
        }
    }

    fn extend(&mut self, rows: impl Iterator<Item = Row>) {
        for row in rows {
            if !self.rows.iter().any(|r| r.id == row.id) {
                self.rows.push(row);
            }
        }
        self.rows.sort_by(|a, b| {
            b.received_ms
                .cmp(&a.received_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        self.rows.truncate(self.limit);
    }

    fn into_newest_first(self) -> Vec<Row> {
        self.rows
    }
}

struct Read<'a> {
    client: &'a Client,
    table: &'a str,
    wanted: &'a Wanted,
    projection: &'a [&'a str],
    limit: usize,
    page_size: Option<i32>,
}

struct Found {
    items: Vec<Item>,
    /// Items DynamoDB read to answer.
    read: u64,
    /// A scan stopped at `limit` matches with pages left.
    stopped_early: bool,
}

/// A filter or projection expression with its placeholders: only names
/// and values the expressions use (DynamoDB refuses unused ones).
#[derive(Default)]
struct Expression {
    parts: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) -> String {
        self.values.insert(placeholder.to_owned(), value);
        placeholder.to_owned()
    }

    /// The server-side part of [`Wanted`] (the owner is compared without
    /// case, so only on this side); `claimed_too` for a plain list, which
    /// shows claimed leads too (the due index's never do).
    fn filter(wanted: &Wanted, claimed_too: bool) -> Self {
        let mut e = Self::default();
        let entity = e.name("entity");
        let lead = e.value(":lead", AttributeValue::S("lead".into()));
        e.parts.push(format!("{entity} = {lead}"));
        if let Some(since) = wanted.since_ms {
            let received = e.name("received_at_ms");
            let since = e.value(":since", AttributeValue::N(since.to_string()));
            e.parts.push(format!("{received} >= {since}"));
        }
        if let Some(segment) = &wanted.segment {
            let name = e.name("segment");
            let value = e.value(":segment", AttributeValue::S(segment.clone()));
            e.parts.push(format!("{name} = {value}"));
        }
        if claimed_too {
            return e;
        }
        let claimed = e.name("claimed_at");
        e.parts.push(format!("attribute_not_exists({claimed})"));
        if wanted.overdue {
            let escalations = e.name("escalations");
            let breached = e.name("breached_at");
            e.parts.push(format!(
                "(attribute_exists({escalations}) OR attribute_exists({breached}))"
            ));
        }
        e
    }

    fn joined(&self) -> String {
        self.parts.join(" AND ")
    }
}

/// `#p0, #p1, …` for `attributes` (some are reserved words: owner, segment).
fn projection(attributes: &[&str]) -> (String, HashMap<String, String>) {
    let names: HashMap<String, String> = attributes
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("#p{i}"), (*a).to_owned()))
        .collect();
    let expression = (0..attributes.len())
        .map(|i| format!("#p{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (expression, names)
}

impl Read<'_> {
    /// Every waiting lead that matches (`overdue`: only those a tier fired
    /// for): the due index's one partition, page by page.
    async fn due_index(&self, overdue: bool, bucket_value: &str) -> Result<Found, StoreError> {
        let wanted = Wanted {
            overdue,
            ..self.wanted.clone()
        };
        let mut filter = Expression::filter(&wanted, false);
        let bucket = filter.name(table::DUE_BUCKET);
        let due = filter.value(":due", AttributeValue::S(bucket_value.to_owned()));
        let (projected, projected_names) = projection(self.projection);
        let mut found = Found {
            items: Vec::new(),
            read: 0,
            stopped_early: false,
        };
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(self.table)
                .index_name(table::DUE_INDEX)
                .key_condition_expression(format!("{bucket} = {due}"))
                .filter_expression(filter.joined())
                .projection_expression(&projected)
                .set_expression_attribute_names(Some(
                    filter
                        .names
                        .clone()
                        .into_iter()
                        .chain(projected_names.clone())
                        .collect(),
                ))
                .set_expression_attribute_values(Some(filter.values.clone()))
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| read_error(&err))?;
            found.read += u64::try_from(page.scanned_count).unwrap_or(0);
            found.items.extend(
                page.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| wanted.keeps(i)),
            );
            keep_newest(&mut found.items, self.limit);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// A paginated scan for every lead that matches, stopping at `limit`
    /// matches unless `exhaustive`.
    async fn scan(&self, exhaustive: bool) -> Result<Found, StoreError> {
        let expression = Expression::filter(self.wanted, true);
        let (projected, projected_names) = projection(self.projection);
        let mut found = Found {
            items: Vec::new(),
            read: 0,
            stopped_early: false,
        };
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(self.table)
                .filter_expression(expression.joined())
                .projection_expression(&projected)
                .set_expression_attribute_names(Some(
                    expression
                        .names
                        .clone()
                        .into_iter()
                        .chain(projected_names.clone())
                        .collect(),
                ))
                .set_expression_attribute_values(Some(expression.values.clone()))
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| read_error(&err))?;
            found.read += u64::try_from(page.scanned_count).unwrap_or(0);
            found.items.extend(
                page.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| self.wanted.keeps(i)),
            );
            keep_newest(&mut found.items, self.limit);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
            if !exhaustive && found.items.len() >= self.limit {
                found.stopped_early = true;
                return Ok(found);
            }
        }
    }
}

/// Keeps the newest `limit` items (memory stays at one page plus `limit`).
fn keep_newest(items: &mut Vec<Item>, limit: usize) {
    if items.len() > limit {
        items.sort_by_key(|i| std::cmp::Reverse(number(i, "received_at_ms").unwrap_or(0)));
        items.truncate(limit);
    }
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .filter(|s| !s.is_empty())
        .cloned()
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// One item's row; anything missing or odd reads as absent, never fails.
fn row(item: &Item, now: OffsetDateTime, contacts: bool) -> Row {
    let received_ms = number(item, "received_at_ms").unwrap_or(0);
    let escalations: Vec<EscalationStamp> = item
        .get("escalations")
        .and_then(|v| serde_dynamo::from_attribute_value(v.clone()).ok())
        .unwrap_or_default();
    let state = state_of(&LeadState {
        routed: text(item, "routing_state").as_deref() == Some("routed"),
        notified: item.contains_key("notified_at"),
        notify_failed: item.contains_key("notify_failed_at"),
        escalated_tier: escalations
            .iter()
            .filter(|e| !e.breach)
            .map(|e| e.tier)
            .max(),
        breached: item.contains_key("breached_at"),
        claimed: item.contains_key("claimed_at"),
        responded: item.contains_key("first_response_at"),
        touches: number(item, "touches")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    });
    let received = OffsetDateTime::from_unix_timestamp_nanos(i128::from(received_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Row {
        id: text(item, "lead_id").unwrap_or_default(),
        received_at: format_utc_millis(received),
        segment: text(item, "segment").unwrap_or_default(),
        rule: text(item, "rule").unwrap_or_default(),
        owner: text(item, "owner"),
        state,
        claimed_by: text(item, "claimed_by"),
        age_ms: unix_millis(now).saturating_sub(received_ms).max(0),
        contact: contacts.then(|| ContactColumns {
            name: text(item, "full_name").or_else(|| {
                let parts: Vec<String> = [text(item, "first_name"), text(item, "last_name")]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }),
            email: text(item, "email"),
            company: text(item, "company"),
            phone: text(item, "phone"),
        }),
        received_ms,
    }
}

fn columns(contacts: bool) -> Vec<&'static str> {
    let mut columns = vec![
        "ID",
        "RECEIVED (UTC)",
        "SEGMENT",
        "RULE",
        "OWNER",
        "STATE",
        "CLAIMED BY",
        "AGE",
    ];
    if contacts {
        columns.extend(["NAME", "EMAIL", "COMPANY", "PHONE"]);
    }
    columns
}

fn cells(row: &Row) -> Vec<String> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut cells = vec![
        row.id.clone(),
        row.received_at
            .get(..19)
            .map_or_else(|| row.received_at.clone(), |t| t.replace('T', " ")),
        row.segment.clone(),
        row.rule.clone(),
        or_dash(&row.owner),
        row.state.clone(),
        or_dash(&row.claimed_by),
        age(row.age_ms),
    ];
    if let Some(c) = &row.contact {
        cells.extend([
            or_dash(&c.name),
            or_dash(&c.email),
            or_dash(&c.company),
            or_dash(&c.phone),
        ]);
    }
    cells
}

fn render_table(rows: &[Row], contacts: bool) -> String {
    if rows.is_empty() {
        return "No leads match.".to_owned();
    }
    let header: Vec<String> = columns(contacts).iter().map(|c| (*c).to_owned()).collect();
    let body: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            body.iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(header[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&header)];
    out.extend(body.iter().map(|r| line(r)));
    out.push(format!(
        "{} lead{}, newest first",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out.join("\n")
}

fn render_csv(rows: &[Row], contacts: bool) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "id",
        "received_at",
        "segment",
        "rule",
        "owner",
        "state",
        "claimed_by",
        "age_ms",
    ];
    if contacts {
        header.extend(["name", "email", "company", "phone"]);
    }
    writer.write_record(&header)?;
    for row in rows {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut record = vec![
            row.id.clone(),
            row.received_at.clone(),
            row.segment.clone(),
            row.rule.clone(),
            opt(&row.owner),
            row.state.clone(),
            opt(&row.claimed_by),
            row.age_ms.to_string(),
        ];
        if let Some(c) = &row.contact {
            record.extend([opt(&c.name), opt(&c.email), opt(&c.company), opt(&c.phone)]);
        }
        writer.write_record(&record)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    #[test]
    fn states_read_as_people_say_them() {
        let now = OffsetDateTime::now_utc();
        let base = [
            ("lead_id", s("01KAQ5V3N6X5J0C9W4Y2B7D8EF")),
            ("received_at_ms", AttributeValue::N("0".into())),
        ];
        let state = |extra: &[(&str, AttributeValue)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            row(&item(&pairs), now, false).state
        };
        assert_eq!(state(&[("routing_state", s("unrouted"))]), "new");
        assert_eq!(state(&[("routing_state", s("routed"))]), "routed");
        assert_eq!(
            state(&[("routing_state", s("routed")), ("notified_at", s("x"))]),
            "notified"
        );
        let stamp = |tier: u32, breach: bool| {
            serde_dynamo::to_attribute_value(EscalationStamp {
                tier,
                at: "x".into(),
                ms: 1,
                breach,
            })
            .expect("stamp")
        };
        let fired = AttributeValue::L(vec![stamp(1, false), stamp(2, false)]);
        assert_eq!(
            state(&[
                ("routing_state", s("routed")),
                ("escalations", fired.clone())
            ]),
            "escalated 2"
        );
        assert_eq!(
            state(&[("escalations", fired), ("breached_at", s("x"))]),
            "breached"
        );
        assert_eq!(
            state(&[
                ("claimed_at", s("x")),
                ("touches", AttributeValue::N("1".into()))
            ]),
            "claimed"
        );
        assert_eq!(
            state(&[("claimed_at", s("x")), ("first_response_at", s("x"))]),
            "touched"
        );
    }

    #[test]
    fn personal_data_is_only_in_a_row_read_with_contacts() {
        let lead = item(&[
            ("lead_id", s("01KAQ5V3N6X5J0C9W4Y2B7D8EF")),
            ("received_at_ms", AttributeValue::N("0".into())),
            ("email", s("grace@navy.mil")),
            ("full_name", s("Grace Hopper")),
        ]);
        let now = OffsetDateTime::now_utc();
        let without = serde_json::to_string(&row(&lead, now, false)).expect("json");
        assert!(!without.contains("navy.mil") && !without.contains("email"));
        let with = serde_json::to_string(&row(&lead, now, true)).expect("json");
        assert!(with.contains("grace@navy.mil") && with.contains("Grace Hopper"));
        assert!(
            !ROW_ATTRIBUTES
                .iter()
                .any(|a| CONTACT_ATTRIBUTES.contains(a))
        );
    }

    #[test]
    fn the_server_filter_names_only_what_it_uses() {
        let wanted = Wanted {
            since_ms: Some(5),
            segment: Some("federal".into()),
            owner: Some("a@b.co".into()),
            untouched: false,
            overdue: false,
        };
        let all = Expression::filter(&wanted, true);
        assert!(!all.joined().contains("claimed_at"), "{}", all.joined());
        assert!(!all.names.contains_key("#claimed_at"));
        assert!(all.joined().contains("#segment = :segment"));
        let overdue = Expression::filter(
            &Wanted {
                overdue: true,
                ..wanted
            },
            false,
        );
        assert!(
            overdue.joined().contains(
                "attribute_not_exists(#claimed_at) AND (attribute_exists(#escalations) OR attribute_exists(#breached_at))"
            ),
            "{}",
            overdue.joined()
        );
        for placeholder in overdue.names.keys() {
            assert!(overdue.joined().contains(placeholder.as_str()));
        }
    }

    #[test]
    fn since_takes_a_duration_or_a_date() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            since("24h", now).expect("duration"),
            now - time::Duration::hours(24)
        );
        assert!(since("2026-11-01", now).is_ok());
        let err = since("last tuesday", now).expect_err("refused").to_string();
        assert!(err.contains("--since") && err.contains("7d"), "{err}");
    }
}
