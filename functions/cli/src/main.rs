//! `firsthour`: admin tools that run the functions' own code, touching no AWS.
//!
//! firsthour route [--rules FILE] [--gov-domains FILE] [--source NAME]
//!                 [--content-type TYPE] [--header 'K: V']... PAYLOAD_FILE
//! firsthour rules check FILE [--gov-domains FILE]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use firsthour::config::FileConfig;
use firsthour::intake::service::classify;
use firsthour::intake::{IntakeContext, limits, normalise};
use firsthour::lead::{RequestMeta, Source};
use serde_json::json;

const USAGE: &str = "usage:
  firsthour route [--rules FILE] [--gov-domains FILE] [--source NAME] [--content-type TYPE] [--header 'K: V']... PAYLOAD_FILE
  firsthour rules check FILE [--gov-domains FILE]

route     parses a webhook payload exactly as the intake does, detects the sector and
          applies the routing rules, and prints one JSON object. No AWS is touched.
          The content type is guessed from the file name (.json, .urlencoded/.form)
          unless given.
rules check  validates a rules/config file and prints a summary.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("route") => route(&args[1..]),
        Some("rules") if args.get(1).map(String::as_str) == Some("check") => {
            rules_check(&args[2..])
        }
        Some("-h" | "--help") | None => Err(USAGE.to_owned()),
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("firsthour: {message}");
            ExitCode::from(2)
        }
    }
}

struct RouteArgs {
    rules: Option<PathBuf>,
    gov_domains: Option<PathBuf>,
    source: Option<String>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    payload: PathBuf,
}

fn parse_route_args(args: &[String]) -> Result<RouteArgs, String> {
    let mut parsed = RouteArgs {
        rules: None,
        gov_domains: None,
        source: None,
        content_type: None,
        headers: Vec::new(),
        payload: PathBuf::new(),
    };
    let mut payload = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--rules" => parsed.rules = Some(value()?.into()),
            "--gov-domains" => parsed.gov_domains = Some(value()?.into()),
            "--source" => parsed.source = Some(value()?),
            "--content-type" => parsed.content_type = Some(value()?),
            "--header" => {
                let header = value()?;
                let (name, val) = header
                    .split_once(':')
                    .ok_or_else(|| format!("--header {header:?}: expected 'Name: value'"))?;
                parsed
                    .headers
                    .push((name.trim().to_ascii_lowercase(), val.trim().to_owned()));
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n\n{USAGE}"));
            }
            file => {
                if payload.replace(PathBuf::from(file)).is_some() {
                    return Err("give one PAYLOAD_FILE".into());
                }
            }
        }
    }
    parsed.payload = payload.ok_or_else(|| format!("PAYLOAD_FILE is missing\n\n{USAGE}"))?;
    Ok(parsed)
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
        None => FileConfig::default(),
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

fn route(args: &[String]) -> Result<String, String> {
    let args = parse_route_args(args)?;
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    let normalised = runtime
        .block_on(normalise(&body, content_type.as_deref(), context))
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
        "segment": decision.segment,
        "rule": decision.rule,
        "fallback": decision.fallback,
        "team": decision.team,
        "owner": serde_json::Value::Null,
        "assignment": decision.assignment,
        "recipients": decision.recipients,
        "ladder": decision.ladder,
        "priority": decision.priority,
        "reason": decision.reason,
        "warnings": normalised.warnings,
    });
    serde_json::to_string_pretty(&output).map_err(|e| e.to_string())
}

fn rules_check(args: &[String]) -> Result<String, String> {
    let mut file = None;
    let mut gov_domains = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--gov-domains" => {
                gov_domains = Some(PathBuf::from(
                    it.next().ok_or("--gov-domains needs a value")?,
                ))
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n\n{USAGE}"));
            }
            path => file = Some(PathBuf::from(path)),
        }
    }
    let file = file.ok_or_else(|| format!("FILE is missing\n\n{USAGE}"))?;
    let config = load_config(Some(&file), gov_domains.as_deref())?;
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
        Some(registry) => summary.push_str(&format!(".gov registry: {} domains", registry.len())),
        None => summary.push_str(".gov registry: none (.gov leads will be government_unverified)"),
    }
    Ok(summary)
}
