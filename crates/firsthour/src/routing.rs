//! Routing rules: ordered, first match wins, and an explicit fallback that
//! catches (and counts) whatever no rule matches. Pure: the config is
//! compiled once at cold start and evaluated per lead without I/O.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use time::OffsetDateTime;

use crate::calendar::Calendar;
use crate::email::EmailAddress;
use crate::lead::RawField;
use crate::lead::normalise_field_name as normalise_name;
use crate::roster::Roster;
use crate::sector::Sector;

/// How urgent a segment is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }
}

/// How a lead gets an owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Each active rep of the team in turn.
    RoundRobin,
    /// Like round robin, reps with weight 2 get twice the leads.
    WeightedRoundRobin,
    /// Nobody in particular: the rule's recipients share it.
    #[default]
    None,
}

// ---- The file's shape (`[teams]`, `[ladders]`, `[[rules]]`, `[fallback]`) ----

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepConfig {
    pub email: Spanned<String>,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default = "yes")]
    pub active: bool,
    /// The rep's working hours (a `[calendars.NAME]`, in its time zone);
    /// the team's when absent. Outside them the rep gets no new leads.
    #[serde(default)]
    pub calendar: Option<Spanned<String>>,
    /// At most this many new leads a day (the rep's local day); then the
    /// next rep in turn gets them.
    #[serde(default)]
    pub max_per_day: Option<u32>,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    #[serde(default)]
    pub reps: Vec<RepConfig>,
    /// Who escalations to "manager" reach.
    #[serde(default)]
    pub manager: Option<Spanned<String>>,
    /// Working hours of every rep without a calendar of their own.
    #[serde(default)]
    pub calendar: Option<Spanned<String>>,
    /// Who gets a lead when no rep is working.
    #[serde(default)]
    pub when_none_available: WhenNoneAvailable,
    /// A rep whose leads were reassigned this many times in a row, without
    /// them claiming or touching any, is set away (and the manager told).
    #[serde(default)]
    pub auto_away_after: Option<Spanned<u32>>,
}

/// Who gets a lead when no rep of the team is within their hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenNoneAvailable {
    /// The rep whose turn it is, working or not (what teams did before hours).
    #[default]
    Any,
    /// The rep who is available first (back from away, hours starting).
    NextAvailable,
    /// The fallback rule's first recipient, the fallback owner.
    Fallback,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// `5m`, `1h`, `24h`…
    pub after: Spanned<String>,
    /// `owner`, `manager`, `team`, `fallback`, or email addresses.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// Moves an untouched lead to the next available rep of the rule's
    /// team; `owner` in `notify` is then the new owner. For a rule that
    /// assigns no owner, the tier only notifies.
    #[serde(default)]
    pub reassign: bool,
}

/// Whether a ladder's delays count every minute or only working minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    #[default]
    Wall,
    Business,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderConfig {
    #[serde(default)]
    pub tiers: Vec<TierConfig>,
    #[serde(default)]
    pub clock: ClockKind,
    /// The `[calendars.NAME]` a business clock follows.
    #[serde(default)]
    pub calendar: Option<Spanned<String>>,
}

fn weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect()
}

fn office_hours() -> String {
    "09:00-17:00".into()
}

/// A business-hours calendar.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA name, e.g. `America/New_York`.
    pub time_zone: String,
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    #[serde(default = "office_hours")]
    pub hours: String,
    /// `us-federal` (the eleven observed federal holidays) or `none`.
    #[serde(default)]
    pub holidays: Option<String>,
    /// More closed days, `YYYY-MM-DD`.
    #[serde(default)]
    pub extra_holidays: Vec<String>,
}

/// What a rule matches on. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenConfig {
    #[serde(default)]
    pub sector: Vec<Sector>,
    #[serde(default)]
    pub source: Vec<String>,
    /// The email domain or a parent of it (`example.com` matches `eu.example.com`).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Submitted field → accepted values (case-insensitive).
    #[serde(default)]
    pub fields: HashMap<String, Vec<String>>,
    /// Submitted numeric field → minimum (employee count, score…).
    #[serde(default)]
    pub fields_at_least: HashMap<String, f64>,
    /// Submitted field → email domains its address must be in (subdomains
    /// included): an address other than the lead's own, which alone decides
    /// the sector (`work_email = ["state.gov"]`).
    #[serde(default)]
    pub fields_email_domains: HashMap<String, Vec<String>>,
    /// True: only leads from `[customers] domains`; false: only others.
    #[serde(default)]
    pub existing_customer: Option<bool>,
    /// The organisation the .gov registry names (`Department of Veterans
    /// Affairs`; subdomains included), or a `.mil` name's department
    /// (`Department of Defense`). Compared without regard to case.
    #[serde(default)]
    pub agency: Vec<String>,
    /// The registry's domain type in rule words: `federal_executive`,
    /// `federal_legislative`, `federal_judicial`, `state_or_territory`,
    /// `county`, `city`, `tribal`, `special_district`, `school_district`…
    #[serde(default)]
    pub domain_type: Vec<String>,
    /// A `.mil` name's service: `army`, `navy`, `air_force`, `space_force`,
    /// `marine_corps`, `coast_guard`, or `dod` (the department's own names).
    #[serde(default)]
    pub service: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub segment: String,
    #[serde(default)]
    pub team: Option<Spanned<String>>,
    #[serde(default)]
    pub recipients: Vec<Spanned<String>>,
    #[serde(default)]
    pub assignment: Assignment,
    #[serde(default)]
    pub ladder: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub when: WhenConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomersConfig {
    #[serde(default)]
    pub domains: Vec<String>,
}

// ---- Compiled ----

/// A rep who can own leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rep {
    pub email: String,
    pub weight: u32,
    /// Working hours; `None`: always available.
    pub calendar: Option<Calendar>,
    pub max_per_day: Option<u32>,
}

impl Rep {
    /// The rep's local date at `now` (UTC without a calendar): their cap's day.
    pub fn local_date(&self, now: OffsetDateTime) -> String {
        match &self.calendar {
            Some(calendar) => calendar.local_date(now),
            None => now.date().to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team {
    pub name: String,
    /// Active reps only, in the order leads go to them (weights interleaved).
    pub rotation: Vec<Rep>,
    pub manager: Option<String>,
    pub when_none_available: WhenNoneAvailable,
    pub auto_away_after: Option<u32>,
}

impl Team {
    /// The rep whose turn it is, given an atomic counter's new value (1, 2, …).
    pub fn rep_for_turn(&self, turn: u64) -> Option<&Rep> {
        let len = self.rotation.len() as u64;
        (len > 0).then(|| &self.rotation[((turn.max(1) - 1) % len) as usize])
    }

    /// The owner for a turn at `now` with nobody set away (see [`Team::plan`]).
    pub fn owner_for_turn(&self, turn: u64, now: OffsetDateTime) -> Option<&Rep> {
        self.plan(turn, now, &Roster::default())
            .candidates
            .first()
            .copied()
    }

    /// Who may take a turn's lead at `now`, in the order to try them: the
    /// turn goes round the reps available now (not away, within their
    /// hours), so the counter stays fair among them; a rep at their daily
    /// cap is passed for the next. When nobody is available,
    /// [`WhenNoneAvailable`] decides. The plan says who was passed over, and why.
    pub fn plan<'a>(&'a self, turn: u64, now: OffsetDateTime, roster: &Roster) -> Plan<'a> {
        let mut plan = Plan::default();
        let available = self.available(now, roster, &mut plan);
        if !available.is_empty() {
            let start = ((turn.max(1) - 1) % available.len() as u64) as usize;
            plan.candidates = rotate(&available, start);
            return plan;
        }
        self.none_available(turn, now, roster, &mut plan);
        plan
    }

    /// Who a lead moves to when its owner did not act: the available reps
    /// after `current` in the team's order, other than `current`; `current`
    /// only when nobody else is available.
    pub fn reassign_plan<'a>(
        &'a self,
        current: Option<&str>,
        now: OffsetDateTime,
        roster: &Roster,
    ) -> Plan<'a> {
        let mut plan = Plan::default();
        let is_current = |rep: &Rep| current.is_some_and(|c| rep.email.eq_ignore_ascii_case(c));
        let start = self
            .rotation
            .iter()
            .position(&is_current)
            .map_or(0, |i| i + 1);
        let all: Vec<&Rep> = self.rotation.iter().collect();
        for rep in rotate(&all, start)
            .into_iter()
            .filter(|rep| !is_current(rep))
        {
            if let Some(why) = unavailable(rep, now, roster) {
                plan.pass(&rep.email, why);
            } else {
                plan.candidates.push(rep);
            }
        }
        if plan.candidates.is_empty()
            && let Some(rep) = self.rotation.iter().find(|rep| is_current(rep))
        {
            plan.candidates.push(rep);
            plan.none = Some("nobody else available: the lead stays with its owner");
        }
        plan
    }

    /// The reps available now, each once, in rotation order; the others
    /// go into the plan as passed over.
    fn available(&self, now: OffsetDateTime, roster: &Roster, plan: &mut Plan<'_>) -> Vec<&Rep> {
        let mut available: Vec<&Rep> = Vec::new();
        for rep in &self.rotation {
            match unavailable(rep, now, roster) {
                // Weighted rotations list a rep several times: each slot counts.
                None => available.push(rep),
                Some(why) => plan.pass(&rep.email, why),
            }
        }
        available
    }

    fn none_available<'a>(
        &'a self,
        turn: u64,
        now: OffsetDateTime,
        roster: &Roster,
        plan: &mut Plan<'a>,
    ) {
        let present: Vec<&Rep> = self
            .rotation
            .iter()
            .filter(|rep| roster.away_at(&rep.email, now).is_none())
            .collect();
        let by_turn = |reps: &[&'a Rep]| {
            let len = reps.len() as u64;
            (len > 0).then(|| reps[((turn.max(1) - 1) % len) as usize])
        };
        let all: Vec<&Rep> = self.rotation.iter().collect();
        let (rep, how) = match self.when_none_available {
            WhenNoneAvailable::Any => (
                by_turn(&present).or_else(|| by_turn(&all)),
                "nobody available: the rep whose turn it is",
            ),
            WhenNoneAvailable::NextAvailable => (
                self.rotation
                    .iter()
                    .filter_map(|rep| roster.available_from(rep, now).map(|at| (rep, at)))
                    .min_by_key(|(_, at)| *at)
                    .map(|(rep, _)| rep)
                    .or_else(|| by_turn(&all)),
                "nobody available: the rep who is available first",
            ),
            WhenNoneAvailable::Fallback => {
                plan.to_fallback = true;
                plan.none = Some("nobody available: the fallback");
                return;
            }
        };
        plan.candidates.extend(rep);
        plan.none = Some(how);
    }
}

/// Why a rep cannot take a new lead at `now`, if they cannot.
fn unavailable(rep: &Rep, now: OffsetDateTime, roster: &Roster) -> Option<Unavailable> {
    if roster.away_at(&rep.email, now).is_some() {
        Some(Unavailable::Away)
    } else if rep.calendar.as_ref().is_some_and(|c| !c.is_open(now)) {
        Some(Unavailable::OutsideHours)
    } else {
        None
    }
}

/// `reps` from `start`, round, each rep once.
fn rotate<'a>(reps: &[&'a Rep], start: usize) -> Vec<&'a Rep> {
    let mut order: Vec<&Rep> = Vec::new();
    for rep in reps.iter().cycle().skip(start).take(reps.len()) {
        if !order.iter().any(|r| r.email == rep.email) {
            order.push(rep);
        }
    }
    order
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unavailable {
    Away,
    OutsideHours,
}

/// Who may own a lead, in the order to try them, and who was passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    pub candidates: Vec<&'a Rep>,
    /// Away at the time.
    pub away: Vec<String>,
    /// Outside their working hours.
    pub outside_hours: Vec<String>,
    /// How the owner was chosen when nobody was available.
    pub none: Option<&'static str>,
    /// Nobody was available and the team hands the lead to the fallback.
    pub to_fallback: bool,
}

impl Plan<'_> {
    fn pass(&mut self, email: &str, why: Unavailable) {
        let list = match why {
            Unavailable::Away => &mut self.away,
            Unavailable::OutsideHours => &mut self.outside_hours,
        };
        if !list.iter().any(|e| e == email) {
            list.push(email.to_owned());
        }
    }

    /// Why reps were passed over, for the lead's routing reason (`None`
    /// when nobody was), with the reps `at_cap` passed at their daily cap.
    pub fn note(&self, at_cap: &[&str]) -> Option<String> {
        let mut notes = Vec::new();
        if !self.away.is_empty() {
            notes.push(format!("skipped away: {}", self.away.join(", ")));
        }
        if !self.outside_hours.is_empty() {
            notes.push(format!(
                "skipped outside working hours: {}",
                self.outside_hours.join(", ")
            ));
        }
        if !at_cap.is_empty() {
            notes.push(format!("skipped at their daily cap: {}", at_cap.join(", ")));
        }
        notes.extend(self.none.map(str::to_owned));
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

/// Smooth weighted round robin order: weights 3,1 → a a b a (not a a a b).
fn rotation(reps: &[Rep]) -> Vec<Rep> {
    let total: i64 = reps.iter().map(|r| i64::from(r.weight)).sum();
    let mut current = vec![0i64; reps.len()];
    let mut order = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, rep) in current.iter_mut().zip(reps) {
            *c += i64::from(rep.weight);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
        else {
            break;
        };
        current[best] -= total;
        order.push(reps[best].clone());
    }
    order
}

/// Who a tier notifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Owner,
    Manager,
    Team,
    Fallback,
    Address(String),
    /// A chat channel (`channel:NAME`): a message there, never an email.
    Channel(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub after: Duration,
    pub notify: Vec<Audience>,
    pub reassign: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    pub name: String,
    pub tiers: Vec<Tier>,
    /// `None`: wall time.
    pub calendar: Option<Calendar>,
}

impl Ladder {
    /// When tier `index` fires for a lead received at `received`, with
    /// delays divided by `speedup` (1 in production; `make run` can run
    /// ladders faster, in wall time).
    pub fn due_at(
        &self,
        index: usize,
        received: OffsetDateTime,
        speedup: u32,
    ) -> Option<OffsetDateTime> {
        let after = self.tiers.get(index)?.after;
        if speedup > 1 {
            return Some(received + after / speedup);
        }
        Some(match &self.calendar {
            Some(calendar) => calendar.add_business_time(received, after),
            None => received + after,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub segment: String,
    pub team: Option<String>,
    pub recipients: Vec<String>,
    /// The chat channels told of each new lead (`channel:NAME` recipients).
    pub channels: Vec<String>,
    pub assignment: Assignment,
    pub ladder: Option<String>,
    pub priority: Priority,
    pub when: WhenConfig,
}

/// The routing configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub rules: Vec<Rule>,
    pub fallback: Rule,
    pub teams: HashMap<String, Team>,
    pub ladders: HashMap<String, Ladder>,
    pub customer_domains: Vec<String>,
    /// The chat channels rules and tiers may name.
    pub channels: HashMap<String, crate::channel::ChatChannel>,
}

impl Default for Routing {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            fallback: Rule {
                name: FALLBACK.into(),
                segment: "unmatched".into(),
                team: None,
                recipients: Vec::new(),
                channels: Vec::new(),
                assignment: Assignment::None,
                ladder: None,
                priority: Priority::Normal,
                when: WhenConfig::default(),
            },
            teams: HashMap::new(),
            ladders: HashMap::new(),
            customer_domains: Vec::new(),
            channels: HashMap::new(),
        }
    }
}

/// The fallback rule's name, whatever the file calls its segment.
pub const FALLBACK: &str = "fallback";

/// A validation problem at a byte offset of the file (turned into a line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offset: usize,
    pub message: String,
}

pub(crate) fn problem<T>(span: &Spanned<T>, message: impl Into<String>) -> Problem {
    Problem {
        offset: span.span().start,
        message: message.into(),
    }
}

/// A recipient entry: an address, or `$VARIABLE` naming comma-separated
/// addresses in the environment (template parameters such as the federal
/// team's addresses).
fn expand_recipients(
    entry: &Spanned<String>,
    label: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Problem> {
    let Some(variable) = entry.get_ref().strip_prefix('$') else {
        return Ok(vec![email(entry, &format!("{label} recipient"))?]);
    };
    let value = env(variable)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            problem(
                entry,
                format!(
                    "{label} recipient ${variable}: the environment variable {variable} is not set"
                ),
            )
        })?;
    value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|address| {
            EmailAddress::parse(address)
                .map(|e| e.as_str().to_owned())
                .map_err(|err| {
                    problem(
                        entry,
                        format!("{label} recipient ${variable}: {address:?}: {err}"),
                    )
                })
        })
        .collect()
}

/// Parses `5m`, `15 min`, `1h`, `24h`, `2d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|err| format!("{text:?} is not a duration like 5m, 1h or 24h ({err})"))
}

fn email(span: &Spanned<String>, what: &str) -> Result<String, Problem> {
    EmailAddress::parse(span.get_ref())
        .map(|e| e.as_str().to_owned())
        .map_err(|err| problem(span, format!("{what} {:?}: {err}", span.get_ref())))
}

impl Routing {
    /// The first matching rule, or the fallback, with the reason.
    pub fn route(&self, facts: &LeadFacts<'_>) -> RouteDecision {
        let existing_customer = facts
            .email_domain
            .is_some_and(|d| domain_in(d, &self.customer_domains));
        for rule in &self.rules {
            if let Some(reasons) = matches(&rule.when, facts, existing_customer) {
                let reason = if reasons.is_empty() {
                    format!("rule {:?} matches every lead", rule.name)
                } else {
                    format!("rule {:?}: {}", rule.name, reasons.join(", "))
                };
                return RouteDecision::of(rule, reason, false);
            }
        }
        RouteDecision::of(&self.fallback, "no rule matched: fallback".into(), true)
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        if name == FALLBACK {
            return Some(&self.fallback);
        }
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn ladder_for(&self, rule: &Rule) -> Option<&Ladder> {
        rule.ladder.as_ref().and_then(|l| self.ladders.get(l))
    }
}

/// What rules look at.
#[derive(Debug, Clone, Copy)]
pub struct LeadFacts<'a> {
    pub sector: Sector,
    pub source: &'a str,
    pub email_domain: Option<&'a str>,
    pub fields: &'a [RawField],
    /// What the sector decision learnt of the organisation (registry, `.mil` name).
    pub agency: Option<&'a str>,
    pub domain_type: Option<&'a str>,
    pub service: Option<&'a str>,
}

/// The outcome of routing one lead (before an owner is picked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub rule: String,
    pub segment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub priority: Priority,
    pub assignment: Assignment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<String>,
    pub recipients: Vec<String>,
    pub fallback: bool,
    pub reason: String,
}

impl RouteDecision {
    fn of(rule: &Rule, reason: String, fallback: bool) -> Self {
        Self {
            rule: rule.name.clone(),
            segment: rule.segment.clone(),
            team: rule.team.clone(),
            priority: rule.priority,
            assignment: rule.assignment,
            ladder: rule.ladder.clone(),
            recipients: rule.recipients.clone(),
            fallback,
            reason,
        }
    }
}

fn domain_in(domain: &str, list: &[String]) -> bool {
    let domain = crate::sector::normalise_domain(domain);
    list.iter().any(|d| {
        domain == *d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn field_value<'a>(fields: &'a [RawField], name: &str) -> Option<&'a str> {
    let wanted = normalise_name(name);
    fields
        .iter()
        .find(|f| {
            normalise_name(&f.name) == wanted
                || f.label
                    .as_deref()
                    .is_some_and(|l| normalise_name(l) == wanted)
        })
        .map(|f| f.value.trim())
}

/// `Some(reasons)` when every condition holds.
fn matches(
    when: &WhenConfig,
    facts: &LeadFacts<'_>,
    existing_customer: bool,
) -> Option<Vec<String>> {
    let mut reasons = Vec::new();
    if !when.sector.is_empty() {
        if !when.sector.contains(&facts.sector) {
            return None;
        }
        reasons.push(format!("sector {}", facts.sector));
    }
    if !when.source.is_empty() {
        if !when
            .source
            .iter()
            .any(|s| s.eq_ignore_ascii_case(facts.source))
        {
            return None;
        }
        reasons.push(format!("source {}", facts.source));
    }
    if !when.email_domains.is_empty() {
        // Normalised once, when the rules were compiled.
        let domain = facts
            .email_domain
            .filter(|d| domain_in(d, &when.email_domains))?;
        reasons.push(format!("email domain {domain}"));
    }
    if let Some(wanted) = when.existing_customer {
        if wanted != existing_customer {
            return None;
        }
        reasons.push(if wanted {
            "existing customer".into()
        } else {
            "not a customer".into()
        });
    }
    for (condition, wanted, fact) in [
        ("agency", &when.agency, facts.agency),
        ("domain type", &when.domain_type, facts.domain_type),
        ("service", &when.service, facts.service),
    ] {
        if !wanted.is_empty() {
            let fact = fact.filter(|f| wanted.iter().any(|w| w.eq_ignore_ascii_case(f)))?;
            reasons.push(format!("{condition} {fact}"));
        }
    }
    let mut names: Vec<&String> = when.fields.keys().collect();
    names.sort();
    for name in names {
        let value = field_value(facts.fields, name)?;
        let accepted = &when.fields[name];
        // Multi-select answers arrive comma-joined: any selected value counts.
        let chosen = value.split(',').map(str::trim);
        let hit = chosen
            .clone()
            .find(|v| accepted.iter().any(|a| a.eq_ignore_ascii_case(v)))?;
        reasons.push(format!("{name} = {hit}"));
    }
    let mut names: Vec<&String> = when.fields_at_least.keys().collect();
    names.sort();
    for name in names {
        let raw = field_value(facts.fields, name)?;
        let number: f64 = raw
            .replace([',', '_', ' '], "")
            .trim_end_matches('+')
            .parse()
            .ok()?;
        if number < when.fields_at_least[name] {
            return None;
        }
        reasons.push(format!("{name} {number} ≥ {}", when.fields_at_least[name]));
    }
    let mut names: Vec<&String> = when.fields_email_domains.keys().collect();
    names.sort();
    for name in names {
        // A valid address only: its domain as the lead's own would be read.
        let address = EmailAddress::parse(field_value(facts.fields, name)?).ok()?;
        let domain = address.domain();
        if !domain_in(domain, &when.fields_email_domains[name]) {
            return None;
        }
        reasons.push(format!("{name} domain {domain}"));
    }
    Some(reasons)
}

mod compile;
pub use compile::Sections;

#[cfg(test)]
mod tests;
