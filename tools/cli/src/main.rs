//! `firsthour`: admin tools. `route` and `rules check` run the functions' own
//! code on files and touch no AWS; `report` and `leads` read the lead table,
//! `demo-data` fills it and `rules deploy` sends rules to AppConfig, through
//! the standard AWS credential chain (or the local emulator, with the
//! environment `make run` prints).

mod aws_error;
mod confirm;
mod demo;
mod deploy;
mod leads;
mod registry;
mod report;
mod reps;
mod time_arg;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use firsthour::config::FileConfig;
use firsthour::intake::{IntakeContext, limits, normalise};
use firsthour::lead::{RequestMeta, Source};
use firsthour::service::intake::classify;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "firsthour", version, about = "firsthour admin tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a webhook payload exactly as the intake does, detect the sector,
    /// apply the routing rules, and print one JSON object. No AWS is touched.
    Route(RouteArgs),
    /// Rules file commands.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The .gov registry the functions classify with, and the refreshed
    /// copy a deployed stack keeps (`show`, `update`, `status`).
    Registry {
        #[command(subcommand)]
        command: registry::RegistryCommand,
    },
    /// Who takes leads now; set a rep away or back without redeploying
    /// (`list`, `away`, `back`).
    Reps(reps::RepsArgs),
    /// How fast leads were answered, per segment and source, from the lead table.
    Report(report::ReportArgs),
    /// Write realistic demo leads over the past days into the lead table.
    DemoData(demo::DemoArgs),
    /// The leads themselves: list, show, reassign, unclaim, forget a person.
    Leads(leads::LeadsArgs),
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Validate a rules/config file and print a summary.
    Check {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        gov_domains: Option<PathBuf>,
    },
    /// Check a rules file as `check` does, then deploy it through AWS
    /// AppConfig: the functions take it without a redeploy.
    Deploy(deploy::DeployArgs),
}

#[derive(Debug, clap::Args)]
struct RouteArgs {
    /// The rules/config file (default: none, only the fallback).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// A .gov registry CSV (get.gov current-full.csv) instead of the built-in snapshot.
    #[arg(long, value_name = "FILE")]
    gov_domains: Option<PathBuf>,
    /// The {source} of POST /leads/{source}.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Guessed from the file name (.json, .urlencoded/.form) unless given.
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    /// A request header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'K: V'", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    payload: PathBuf,
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| format!("{raw:?}: expected 'Name: value'"))?;
    Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Route(args) => route(&args),
        Command::Rules {
            command: RulesCommand::Check { file, gov_domains },
        } => rules_check(&file, gov_domains.as_deref()),
        Command::Rules {
            command: RulesCommand::Deploy(args),
        } => deploy::run(args),
        Command::Leads(args) => leads::run(args),
        Command::Registry { command } => registry::run(command),
        Command::Reps(args) => reps::run(args),
        Command::Report(args) => {
            block_on(async { report::run(args).await.map_err(|e| e.to_string()) })
        }
        Command::DemoData(args) if args.clear => {
            block_on(async { demo::clear(&args.table).await.map_err(|e| e.to_string()) })
        }
        Command::DemoData(args) => match load_config(Some(&args.rules.clone()), None) {
            Ok(config) => {
                block_on(async { demo::run(args, config).await.map_err(|e| e.to_string()) })
            }
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("firsthour: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn block_on<F: std::future::Future<Output = Result<String, String>>>(
    future: F,
) -> Result<String, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?
        .block_on(future)
}

fn load_config(rules: Option<&Path>, gov_domains: Option<&Path>) -> Result<FileConfig, String> {
    let config = match rules {
        // A dry run needs no real addresses: unset `$VARIABLE` recipients show as placeholders.
        Some(path) => FileConfig::load(path, gov_domains, &|k| {
            std::env::var(k).ok().or_else(|| {
                Some(format!(
                    "{}@unset.invalid",
                    k.to_ascii_lowercase().replace('_', "-")
                ))
            })
        })
        .map_err(|e| e.to_string())?,
        // As the intake does without a config file: the built-in registry.
        None => FileConfig::default().with_built_in_registry(),
    };
    match (rules, gov_domains) {
        (None, Some(registry)) => config.with_registry(registry).map_err(|e| e.to_string()),
        _ => Ok(config),
    }
}

fn guess_content_type(path: &Path) -> Option<&'static str> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Some("application/json"),
        Some("urlencoded" | "form") => Some("application/x-www-form-urlencoded"),
        _ => None,
    }
}

fn route(args: &RouteArgs) -> Result<String, String> {
    let config = load_config(args.rules.as_deref(), args.gov_domains.as_deref())?;
    let body =
        std::fs::read(&args.payload).map_err(|e| format!("{}: {e}", args.payload.display()))?;
    let source = match &args.source {
        Some(name) => Source::parse(name).map_err(|e| format!("--source {name:?}: {e}"))?,
        None => Source::default_web(),
    };
    let header = |name: &str| {
        args.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let content_type = args
        .content_type
        .clone()
        .or_else(|| header("content-type"))
        .or_else(|| guess_content_type(&args.payload).map(str::to_owned));
    let meta = RequestMeta {
        client_ip: None,
        user_agent: header("user-agent"),
        delivery_id: header("webhook-id").or_else(|| header("idempotency-key")),
    };
    let context = IntakeContext {
        source: &source,
        meta: &meta,
        mapping: config.mapping(&source),
        max_body_bytes: limits::DEFAULT_MAX_BODY_BYTES,
        received_at: time::OffsetDateTime::now_utc(),
    };
    let normalised = normalise(&body, content_type.as_deref(), context)
        .map_err(|e| format!("the intake would refuse this payload: {e}"))?;
    let lead = &normalised.lead;
    let (sector, decision) = classify(lead, &config);
    let c = &lead.contact;
    let output = json!({
        "lead": {
            "email": c.email.as_ref().map(|e| e.as_str()),
            "name": c.full_name,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "company": c.company,
            "phone": c.phone,
            "job_title": c.job_title,
            "source": lead.source,
            "fields": lead.fields.len(),
        },
        "sector": sector.sector,
        "sector_evidence": sector.evidence,
        "agency": sector.agency,
        // The facts a rule's `agency`, `domain_type` and `service` conditions match.
        "facts": {
            "email_domain": c.email.as_ref().map(|e| e.domain()),
            "agency": sector.agency,
            "domain_type": sector.domain_type,
            "service": sector.service,
        },
        "segment": decision.segment,
        "rule": decision.rule,
        "fallback": decision.fallback,
        "team": decision.team,
        // Who would own it now, from the rules file alone (away states are
        // in the table: `firsthour reps list`), and who would be passed over.
        "owner": serde_json::Value::Null,
        "assignment_now": assignment_now(&config, &decision),
        "assignment": decision.assignment,
        "recipients": decision.recipients,
        "ladder": decision.ladder,
        "priority": decision.priority,
        "reason": decision.reason,
        "warnings": normalised.warnings,
    });
    serde_json::to_string_pretty(&output).map_err(|e| e.to_string())
}

/// The team's plan at this moment for a rule that assigns: the reps in the
/// order they would be tried, and why others would be passed over.
fn assignment_now(
    config: &FileConfig,
    decision: &firsthour::routing::RouteDecision,
) -> serde_json::Value {
    if decision.assignment == firsthour::routing::Assignment::None {
        return serde_json::Value::Null;
    }
    let Some(team) = decision
        .team
        .as_ref()
        .and_then(|t| config.routing.teams.get(t))
    else {
        return serde_json::Value::Null;
    };
    let plan = team.plan(
        1,
        time::OffsetDateTime::now_utc(),
        &firsthour::roster::Roster::default(),
    );
    json!({
        "team": team.name,
        "candidates": plan.candidates.iter().map(|r| r.email.as_str()).collect::<Vec<_>>(),
        "to_fallback": plan.to_fallback,
        "passed_over": plan.note(&[]),
    })
}

fn rules_check(file: &Path, gov_domains: Option<&Path>) -> Result<String, String> {
    let config = load_config(Some(file), gov_domains)?;
    let routing = &config.routing;
    let mut summary = format!(
        "{}: valid. {} rules, then the fallback; {} teams; {} ladders.\n",
        file.display(),
        routing.rules.len(),
        routing.teams.len(),
        routing.ladders.len()
    );
    for (i, rule) in routing
        .rules
        .iter()
        .chain(std::iter::once(&routing.fallback))
        .enumerate()
    {
        summary.push_str(&format!(
            "  {}. {} → segment {}, {}{}\n",
            i + 1,
            rule.name,
            rule.segment,
            rule.team
                .as_deref()
                .map_or_else(|| "no team".to_owned(), |t| format!("team {t}")),
            rule.ladder
                .as_deref()
                .map_or_else(String::new, |l| format!(", ladder {l}")),
        ));
    }
    match &config.registry {
        Some(registry) => summary.push_str(&format!(
            ".gov registry: {} ({} domains)",
            registry.copy(),
            registry.len()
        )),
        None => summary.push_str(".gov registry: none (.gov leads will be government_unverified)"),
    }
    Ok(summary)
}
