//! `firsthour reps`: who takes leads now, and away states set without a
//! redeploy (`away`, `back`), written to the lead table the router reads.

use std::path::PathBuf;

use clap::Subcommand;
use firsthour::config::FileConfig;
use firsthour::email::EmailAddress;
use firsthour::lead::format_utc_millis;
use firsthour::ports::RepStore;
use firsthour::roster::{Away, Roster};
use firsthour::routing::Team;
use firsthour_aws::DynamoLeadStore;
use serde_json::json;
use time::OffsetDateTime;

use crate::report::LOCAL_TABLE;
use crate::time_arg::{TimeBound, parse_time};

#[derive(Debug, clap::Args)]
pub struct RepsArgs {
    #[command(subcommand)]
    command: RepsCommand,
    /// The rules file the reps are in.
    #[arg(long, global = true, default_value = "infra/config/firsthour.toml")]
    rules: PathBuf,
    /// The lead table (the stack's TableName output in AWS).
    #[arg(long, global = true, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
    table: String,
}

#[derive(Debug, Subcommand)]
enum RepsCommand {
    /// Every rep of every team (or of one), and whether they take leads now.
    List {
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
        /// One JSON object per rep instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Give a rep no new leads until --until (or until `reps back`).
    Away {
        email: String,
        /// When they are back: 2026-12-02T09:00-05:00, or a date (its start, UTC).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[arg(long, default_value = "set with firsthour reps away")]
        reason: String,
    },
    /// The rep takes leads again (and their unanswered streak starts again).
    Back { email: String },
}

pub fn run(args: RepsArgs) -> Result<String, String> {
    let config = crate::load_config(Some(&args.rules), None)?;
    crate::block_on(async move {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), &args.table);
        let table = &args.table;
        let now = OffsetDateTime::now_utc();
        match args.command {
            RepsCommand::List { team, json } => {
                list(&store, &config, team.as_deref(), json, now).await
            }
            RepsCommand::Away {
                email,
                until,
                reason,
            } => {
                let rep = known_rep(&config, &email)?;
                let until = until
                    .map(|raw| {
                        parse_time(&raw, TimeBound::Start).map_err(|e| format!("--until: {e}"))
                    })
                    .transpose()?;
                if until.is_some_and(|u| u <= now) {
                    return Err("--until is in the past: the rep would not be away at all".into());
                }
                let away = Away {
                    since: now,
                    until,
                    reason,
                };
                store
                    .set_away(&rep, &away, false)
                    .await
                    .map_err(|e| format!("table {table}: {e}"))?;
                Ok(match until {
                    Some(until) => format!(
                        "{rep} is away until {}: no new leads until then.",
                        format_utc_millis(until)
                    ),
                    None => {
                        format!("{rep} is away: no new leads until `firsthour reps back {rep}`.")
                    }
                })
            }
            RepsCommand::Back { email } => {
                let rep = known_rep(&config, &email)?;
                store
                    .set_back(&rep)
                    .await
                    .map_err(|e| format!("table {table}: {e}"))?;
                Ok(format!(
                    "{rep} is back: they take new leads in their working hours."
                ))
            }
        }
    })
}

/// The address as the rules file spells it; an address no team lists is refused.
pub(crate) fn known_rep(config: &FileConfig, email: &str) -> Result<String, String> {
    let address = EmailAddress::parse(email).map_err(|e| format!("{email:?}: {e}"))?;
    let mut teams: Vec<&Team> = config.routing.teams.values().collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    teams
        .iter()
        .flat_map(|t| &t.rotation)
        .find(|r| r.email.eq_ignore_ascii_case(address.as_str()))
        .map(|r| r.email.clone())
        .ok_or_else(|| format!("{email} is not an active rep of any team in the rules file"))
}

async fn list(
    store: &DynamoLeadStore,
    config: &FileConfig,
    only: Option<&str>,
    as_json: bool,
    now: OffsetDateTime,
) -> Result<String, String> {
    let mut teams: Vec<&Team> = config
        .routing
        .teams
        .values()
        .filter(|t| only.is_none_or(|name| t.name == name))
        .collect();
    if teams.is_empty() {
        return Err(match only {
            Some(name) => format!("no team {name:?} in the rules file"),
            None => "the rules file has no teams".into(),
        });
    }
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut reps: Vec<&str> = Vec::new();
    for rep in teams.iter().flat_map(|t| &t.rotation) {
        if !reps.contains(&rep.email.as_str()) {
            reps.push(&rep.email);
        }
    }
    let roster: Roster = store
        .rep_statuses(&reps)
        .await
        .map_err(|e| format!("table {}: {e}", store.table()))?;
    let mut rows = Vec::new();
    for team in teams {
        let mut seen: Vec<&str> = Vec::new();
        for rep in &team.rotation {
            if seen.contains(&rep.email.as_str()) {
                continue;
            }
            seen.push(&rep.email);
            let away = roster.away_at(&rep.email, now);
            let status = match (away, &rep.calendar) {
                (Some(away), _) => match away.until {
                    Some(until) => {
                        format!("away until {} ({})", format_utc_millis(until), away.reason)
                    }
                    None => format!("away until back ({})", away.reason),
                },
                (None, Some(calendar)) if !calendar.is_open(now) => {
                    format!(
                        "outside hours until {}",
                        format_utc_millis(calendar.next_open(now))
                    )
                }
                (None, _) => "available".to_owned(),
            };
            rows.push(json!({
                "team": team.name,
                "rep": rep.email,
                "weight": rep.weight,
                "calendar": rep.calendar.as_ref().map(|c| c.name.clone()),
                "max_per_day": rep.max_per_day,
                "status": status,
                "available": roster.available(rep, now),
                "unanswered_in_a_row": roster.status(&rep.email).map_or(0, |s| s.missed),
            }));
        }
    }
    if as_json {
        return rows
            .iter()
            .map(|row| serde_json::to_string(row).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(|lines| lines.join("\n"));
    }
    let mut out = format!(
        "{:<12} {:<32} {:>6} {:<16} {:>7}  {}\n",
        "TEAM", "REP", "WEIGHT", "CALENDAR", "CAP/DAY", "STATUS"
    );
    for row in &rows {
        let text = |key: &str| row[key].as_str().unwrap_or("-").to_owned();
        out.push_str(&format!(
            "{:<12} {:<32} {:>6} {:<16} {:>7}  {}\n",
            text("team"),
            text("rep"),
            row["weight"],
            text("calendar"),
            row["max_per_day"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            text("status"),
        ));
    }
    Ok(out.trim_end().to_owned())
}
