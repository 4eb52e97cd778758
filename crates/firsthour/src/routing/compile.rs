//! Compiling the rules file's routing sections into [`Routing`]: calendars,
//! teams, ladders, then the rules that name them. Every problem names the
//! section and the line it is on.

use std::collections::{HashMap, HashSet};

use toml::Spanned;

use super::*;
use crate::calendar::Calendar;

/// The rules file's routing sections, as written.
pub struct Sections<'a> {
    pub rules: &'a [Spanned<RuleConfig>],
    pub fallback: Option<&'a Spanned<RuleConfig>>,
    pub teams: &'a HashMap<String, TeamConfig>,
    pub ladders: &'a HashMap<String, LadderConfig>,
    pub calendars: &'a HashMap<String, Spanned<CalendarConfig>>,
    pub customers: &'a CustomersConfig,
    pub channels: &'a HashMap<String, Spanned<crate::channel::ChannelConfig>>,
}

impl Routing {
    /// Validates the file's routing sections; `$VARIABLE` recipients are
    /// read through `env`.
    pub fn compile(
        sections: Sections<'_>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Problem> {
        let Sections {
            rules,
            fallback,
            teams,
            ladders,
            calendars,
            customers,
            channels,
        } = sections;
        let calendars = compile_calendars(calendars)?;
        let teams = compile_teams(teams, &calendars)?;
        let channels = crate::channel::compile_channels(channels)?;
        let ladders = compile_ladders(ladders, &calendars, &channels)?;
        let compile_rule = |rule: &Spanned<RuleConfig>, is_fallback: bool| {
            compile_rule(rule, is_fallback, &teams, &ladders, &channels, env)
        };
        let mut names = HashSet::new();
        let mut compiled_rules = Vec::new();
        for rule in rules {
            if !names.insert(rule.get_ref().name.clone()) || rule.get_ref().name == FALLBACK {
                return Err(problem(
                    rule,
                    format!(
                        "rule name {:?} is used twice (or is reserved)",
                        rule.get_ref().name
                    ),
                ));
            }
            compiled_rules.push(compile_rule(rule, false)?);
        }
        let fallback = match fallback {
            Some(fallback) => {
                if fallback.get_ref().when != WhenConfig::default() {
                    return Err(problem(
                        fallback,
                        "[fallback] matches everything: it takes no `when`",
                    ));
                }
                compile_rule(fallback, true)?
            }
            None if compiled_rules.is_empty() => Routing::default().fallback,
            None => {
                return Err(Problem {
                    offset: rules.first().map_or(0, |r| r.span().start),
                    message: "[[rules]] need a [fallback] rule with its own recipients, for the leads no rule matches".into(),
                });
            }
        };
        Ok(Self {
            rules: compiled_rules,
            fallback,
            teams,
            ladders,
            customer_domains: customers
                .domains
                .iter()
                .map(|d| crate::sector::normalise_domain(d))
                .collect(),
            channels,
        })
    }
}

/// `channel:NAME` → the channel's name, checked against `[channels]`;
/// `None` for anything else (an address, a `$VARIABLE`, an audience).
fn channel_entry<'a>(
    entry: &'a Spanned<String>,
    what: &str,
    channels: &HashMap<String, crate::channel::ChatChannel>,
) -> Result<Option<&'a str>, Problem> {
    let Some(name) = entry.get_ref().strip_prefix(crate::channel::CHANNEL_PREFIX) else {
        return Ok(None);
    };
    if !channels.contains_key(name) {
        return Err(problem(
            entry,
            format!(
                "{what} {:?}: channel {name:?} is not defined under [channels]",
                entry.get_ref()
            ),
        ));
    }
    Ok(Some(name))
}

fn compile_calendars(
    calendars: &HashMap<String, Spanned<CalendarConfig>>,
) -> Result<HashMap<String, Calendar>, Problem> {
    let mut compiled_calendars = HashMap::new();
    for (name, calendar) in calendars {
        let c = calendar.get_ref();
        let us_federal = match c.holidays.as_deref() {
            Some("us-federal") => true,
            None | Some("none") => false,
            Some(other) => {
                return Err(problem(
                    calendar,
                    format!(
                        "[calendars.{name}] holidays {other:?}: use \"us-federal\" or \"none\""
                    ),
                ));
            }
        };
        let compiled = Calendar::new(
            name,
            &c.time_zone,
            &c.days,
            &c.hours,
            us_federal,
            &c.extra_holidays,
        )
        .map_err(|err| problem(calendar, format!("[calendars.{name}] {err}")))?;
        compiled_calendars.insert(name.clone(), compiled);
    }
    Ok(compiled_calendars)
}

fn compile_teams(
    teams: &HashMap<String, TeamConfig>,
    calendars: &HashMap<String, Calendar>,
) -> Result<HashMap<String, Team>, Problem> {
    let mut compiled_teams = HashMap::new();
    for (name, team) in teams {
        let calendar_named = |named: &Spanned<String>, whose: &str| {
            calendars.get(named.get_ref()).cloned().ok_or_else(|| {
                problem(
                    named,
                    format!(
                        "[teams.{name}] {whose}: calendar {:?} is not a [calendars.NAME]",
                        named.get_ref()
                    ),
                )
            })
        };
        let team_calendar = team
            .calendar
            .as_ref()
            .map(|named| calendar_named(named, "calendar"))
            .transpose()?;
        let mut reps = Vec::new();
        let mut seen = HashSet::new();
        for rep in &team.reps {
            let address = email(&rep.email, &format!("[teams.{name}] rep"))?;
            if !seen.insert(address.clone()) {
                return Err(problem(
                    &rep.email,
                    format!("[teams.{name}] lists {address} twice"),
                ));
            }
            if rep.weight == 0 || rep.weight > 100 {
                return Err(problem(
                    &rep.email,
                    format!("[teams.{name}] {address}: weight must be 1 to 100"),
                ));
            }
            let calendar = match &rep.calendar {
                Some(named) => Some(calendar_named(named, &address)?),
                None => team_calendar.clone(),
            };
            if rep.active {
                if rep.max_per_day == Some(0) {
                    return Err(problem(
                        &rep.email,
                        format!(
                            "[teams.{name}] {address}: max_per_day must be at least 1 (or active = false)"
                        ),
                    ));
                }
                reps.push(Rep {
                    email: address,
                    weight: rep.weight,
                    calendar,
                    max_per_day: rep.max_per_day,
                });
            }
        }
        let manager = team
            .manager
            .as_ref()
            .map(|m| email(m, &format!("[teams.{name}] manager")))
            .transpose()?;
        let auto_away_after = match &team.auto_away_after {
            Some(n) if *n.get_ref() == 0 => {
                return Err(problem(
                    n,
                    format!("[teams.{name}] auto_away_after must be at least 1 (or left out)"),
                ));
            }
            n => n.as_ref().map(|n| *n.get_ref()),
        };
        compiled_teams.insert(
            name.clone(),
            Team {
                name: name.clone(),
                rotation: rotation(&reps),
                manager,
                when_none_available: team.when_none_available,
                auto_away_after,
            },
        );
    }
    Ok(compiled_teams)
}

fn compile_ladders(
    ladders: &HashMap<String, LadderConfig>,
    compiled_calendars: &HashMap<String, Calendar>,
    channels: &HashMap<String, crate::channel::ChatChannel>,
) -> Result<HashMap<String, Ladder>, Problem> {
    let mut compiled_ladders = HashMap::new();
    for (name, ladder) in ladders {
        let mut tiers = Vec::new();
        let mut previous = None;
        for tier in &ladder.tiers {
            let after = parse_duration(tier.after.get_ref())
                .map_err(|m| problem(&tier.after, format!("[ladders.{name}] after: {m}")))?;
            if previous.is_some_and(|p| after <= p) {
                return Err(problem(
                    &tier.after,
                    format!("[ladders.{name}]: tiers must come later and later"),
                ));
            }
            previous = Some(after);
            let notify = tier
                .notify
                .iter()
                .map(|target| {
                    let what = format!("[ladders.{name}] notify");
                    if let Some(channel) = channel_entry(target, &what, channels)? {
                        return Ok(Audience::Channel(channel.to_owned()));
                    }
                    match target.get_ref().as_str() {
                        "owner" => Ok(Audience::Owner),
                        "manager" => Ok(Audience::Manager),
                        "team" => Ok(Audience::Team),
                        "fallback" => Ok(Audience::Fallback),
                        _ => email(target, &what).map(Audience::Address),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            tiers.push(Tier {
                after,
                notify,
                reassign: tier.reassign,
            });
        }
        if tiers.iter().filter(|t| t.reassign).count() > crate::intake::limits::MAX_REASSIGN_TIERS {
            return Err(Problem {
                offset: ladder.tiers.first().map_or(0, |t| t.after.span().start),
                message: format!(
                    "[ladders.{name}] at most {} tiers may reassign",
                    crate::intake::limits::MAX_REASSIGN_TIERS
                ),
            });
        }
        let calendar = match (ladder.clock, &ladder.calendar) {
            (ClockKind::Wall, None) => None,
            (ClockKind::Wall, Some(calendar)) => {
                return Err(problem(
                    calendar,
                    format!("[ladders.{name}] a calendar needs clock = \"business\""),
                ));
            }
            (ClockKind::Business, None) => {
                return Err(Problem {
                    offset: ladder.tiers.first().map_or(0, |t| t.after.span().start),
                    message: format!("[ladders.{name}] clock = \"business\" needs a calendar"),
                });
            }
            (ClockKind::Business, Some(calendar)) => Some(
                compiled_calendars
                    .get(calendar.get_ref())
                    .cloned()
                    .ok_or_else(|| {
                        problem(
                            calendar,
                            format!(
                                "[ladders.{name}] calendar {:?} is not defined under [calendars]",
                                calendar.get_ref()
                            ),
                        )
                    })?,
            ),
        };
        compiled_ladders.insert(
            name.clone(),
            Ladder {
                name: name.clone(),
                tiers,
                calendar,
            },
        );
    }
    Ok(compiled_ladders)
}

/// One rule (or the fallback), checked against the teams and ladders it names.
fn compile_rule(
    rule: &Spanned<RuleConfig>,
    is_fallback: bool,
    compiled_teams: &HashMap<String, Team>,
    compiled_ladders: &HashMap<String, Ladder>,
    channels: &HashMap<String, crate::channel::ChatChannel>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Rule, Problem> {
    let r = rule.get_ref();
    let label = if is_fallback {
        "[fallback]".to_owned()
    } else {
        format!("rule {:?}", r.name)
    };
    if r.name.trim().is_empty() || r.segment.trim().is_empty() {
        return Err(problem(
            rule,
            format!("{label}: name and segment must not be empty"),
        ));
    }
    if let Some(team) = &r.team
        && !compiled_teams.contains_key(team.get_ref())
    {
        return Err(problem(
            team,
            format!(
                "{label}: team {:?} is not defined under [teams]",
                team.get_ref()
            ),
        ));
    }
    if r.assignment != Assignment::None {
        let team = r
            .team
            .as_ref()
            .ok_or_else(|| problem(rule, format!("{label}: assignment needs a team")))?;
        if compiled_teams
            .get(team.get_ref())
            .is_none_or(|t| t.rotation.is_empty())
        {
            return Err(problem(
                team,
                format!(
                    "{label}: team {:?} has no active rep to assign",
                    team.get_ref()
                ),
            ));
        }
    }
    if let Some(ladder) = &r.ladder
        && !compiled_ladders.contains_key(ladder.get_ref())
    {
        return Err(problem(
            ladder,
            format!(
                "{label}: ladder {:?} is not defined under [ladders]",
                ladder.get_ref()
            ),
        ));
    }
    let mut recipients = Vec::new();
    let mut rule_channels: Vec<String> = Vec::new();
    for address in &r.recipients {
        match channel_entry(address, &format!("{label} recipient"), channels)? {
            Some(channel) if !rule_channels.iter().any(|c| c == channel) => {
                rule_channels.push(channel.to_owned());
            }
            Some(_) => {}
            None => recipients.extend(expand_recipients(address, &label, env)?),
        }
    }
    // Email stays the record of every lead: a channel is told beside it.
    if recipients.is_empty() && r.assignment == Assignment::None {
        let also = if rule_channels.is_empty() {
            ""
        } else {
            " (a channel is told beside an email, not instead of one)"
        };
        return Err(problem(
            rule,
            format!("{label}: give recipients, or an assignment to a team{also}"),
        ));
    }
    Ok(Rule {
        name: if is_fallback {
            FALLBACK.into()
        } else {
            r.name.clone()
        },
        segment: r.segment.clone(),
        team: r.team.as_ref().map(|t| t.get_ref().clone()),
        recipients,
        channels: rule_channels,
        assignment: r.assignment,
        ladder: r.ladder.as_ref().map(|l| l.get_ref().clone()),
        priority: r.priority,
        when: WhenConfig {
            // Compared with every lead's domain: normalised once, here.
            email_domains: normalise_domains(&r.when.email_domains),
            fields_email_domains: r
                .when
                .fields_email_domains
                .iter()
                .map(|(field, domains)| (field.clone(), normalise_domains(domains)))
                .collect(),
            ..r.when.clone()
        },
    })
}

fn normalise_domains(domains: &[String]) -> Vec<String> {
    domains
        .iter()
        .map(|d| crate::sector::normalise_domain(d))
        .collect()
}
