//! `firsthour-local`: runs the whole system on this machine (what `make run` calls).
//!
//! Starts moto server, creates the stack from `infra/template.yaml`, runs the
//! function binaries behind Runtime API stand-ins, serves the intake on
//! http://127.0.0.1:3000/leads, the sent mail on /_local/mail and the stack's
//! outputs on /_local/outputs, ticks the escalation schedule, and serves the
//! landing-page example on http://127.0.0.1:8080. Ctrl-C stops everything it
//! started.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use firsthour_local::chat::ChatSetup;
use firsthour_local::run::{RunOptions, start};
use firsthour_local::site::{self, Site};

/// Runs the whole firsthour system on this machine, on the moto emulator.
#[derive(Debug, Parser)]
#[command(name = "firsthour-local", version)]
struct Args {
    /// The intake and the sent-mail view.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// moto server.
    #[arg(long, default_value_t = 5000)]
    moto_port: u16,
    /// How often the escalation schedule fires (at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    tick_seconds: u64,
    #[arg(long, default_value = "scripts/moto")]
    moto_bin: PathBuf,
    /// Where the function binaries are (default: beside this runner, as
    /// cargo built them, wherever CARGO_TARGET_DIR put them).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// The rules file ("" for none).
    #[arg(long, default_value = "infra/config/firsthour.toml")]
    config: PathBuf,
    /// A get.gov registry CSV instead of the built-in snapshot ("none" for
    /// no registry; without it, the built-in answers).
    #[arg(long)]
    gov_domains: Option<PathBuf>,
    /// Ladders run this many times faster (1 to 3600).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    ladder_speedup: u64,
    /// The landing-page example.
    #[arg(long, default_value_t = 8080)]
    site_port: u16,
    /// Where the SES receiving stand-in listens for replies (SMTP, 0 for none).
    #[arg(long, default_value_t = 2525)]
    smtp_port: u16,
    /// Where the Slack, Teams and webhook stand-ins listen when the rules
    /// file has channels or webhooks (its local webhook URLs name this port).
    #[arg(long, default_value_t = 4040)]
    stand_ins_port: u16,
    /// The landing page's folder ("" serves none).
    #[arg(long, default_value = "examples/landing-page")]
    site_dir: PathBuf,
    /// A template parameter value, `Name=Value` (repeatable).
    #[arg(long = "param", value_parser = name_value)]
    params: Vec<(String, String)>,
    /// Keep the functions' logs out of this terminal.
    #[arg(long)]
    quiet: bool,
}

/// The domain `make run` receives tracked replies on (`.test` is reserved
/// for testing: nothing outside this machine answers for it).
const LOCAL_INBOUND_DOMAIN: &str = "replies.firsthour.test";

fn name_value(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{pair}: expected Name=Value"))
}

/// An empty path means "none".
fn given(path: &std::path::Path) -> Option<&std::path::Path> {
    (!path.as_os_str().is_empty()).then_some(path)
}

/// The `FIRSTHOUR_GOV_DOMAINS_FILE` the intake gets, if any, and which
/// registry copy that makes it use (a file is read here first, so a bad one
/// stops the run before anything starts).
fn gov_registry(
    gov_domains: Option<&std::path::Path>,
) -> Result<(Option<String>, String), Box<dyn std::error::Error + Send + Sync>> {
    use firsthour::config::{FileConfig, NO_REGISTRY};
    let Some(path) = gov_domains else {
        let built_in = firsthour::sector::GovRegistry::built_in();
        return Ok((
            None,
            format!("{} ({} domains)", built_in.copy(), built_in.len()),
        ));
    };
    if path.as_os_str() == NO_REGISTRY {
        return Ok((
            Some(NO_REGISTRY.to_owned()),
            "none (every .gov lead is government_unverified)".to_owned(),
        ));
    }
    let absolute =
        std::fs::canonicalize(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let loaded = FileConfig::default().with_registry(&absolute)?;
    let described = loaded
        .registry
        .as_deref()
        .map_or_else(String::new, |registry| {
            format!("{} ({} domains)", registry.copy(), registry.len())
        });
    Ok((Some(absolute.display().to_string()), described))
}

impl Args {
    /// The functions are built beside the runner (same profile, same
    /// target directory).
    fn bin_dir(&self) -> PathBuf {
        self.bin_dir.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("target/local"))
        })
    }
}

/// Sets what the SDK and the functions need to talk to the emulator
/// (dummy credentials: moto accepts any).
fn emulator_environment(emulator_url: &str) {
    let defaults = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    for (key, value) in defaults {
        if std::env::var_os(key).is_none() {
            set_env(key, value);
        }
    }
    set_env("AWS_ENDPOINT_URL", emulator_url);
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: called from main before any other thread exists.
    unsafe { std::env::set_var(key, value) };
}

async fn wait_for_emulator(url: &str) -> Result<(), String> {
    for _ in 0..100 {
        if reqwest::get(format!("{url}/moto-api/")).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("moto did not start at {url} within 10 s"))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let emulator_url = format!("http://127.0.0.1:{}", args.moto_port);
    emulator_environment(&emulator_url);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, emulator_url)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("firsthour-local: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(
    args: Args,
    emulator_url: String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (registry_file, registry) = gov_registry(args.gov_domains.as_deref())?;
    println!("firsthour-local: .gov registry: {registry}");
    // The landing page's port first: a busy port stops us before anything starts.
    let landing_site = match given(&args.site_dir) {
        Some(dir) => Some((
            Site::new(dir, site::DEFAULT_INTAKE_URL)?,
            site::bind(SocketAddr::from(([127, 0, 0, 1], args.site_port))).await?,
        )),
        None => None,
    };
    let site_origins = format!(
        "http://127.0.0.1:{port},http://localhost:{port}",
        port = args.site_port
    );
    let mut moto = tokio::process::Command::new(&args.moto_bin)
        .args(["-H", "127.0.0.1", "-p", &args.moto_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            format!(
                "cannot start moto ({}): {err}; run `make venv` first",
                args.moto_bin.display()
            )
        })?;
    wait_for_emulator(&emulator_url).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut extra_env = vec![
        (
            "FIRSTHOUR_PUBLIC_BASE_URL".to_owned(),
            format!("http://127.0.0.1:{}", args.port),
        ),
        (
            "FIRSTHOUR_LADDER_SPEEDUP".to_owned(),
            args.ladder_speedup.to_string(),
        ),
    ];
    if let Some(registry) = registry_file {
        extra_env.push(("FIRSTHOUR_GOV_DOMAINS_FILE".to_owned(), registry));
    }
    let mut chat = None;
    let mut live_rules = None;
    if let Some(config) = given(&args.config) {
        let absolute =
            std::fs::canonicalize(config).map_err(|err| format!("{}: {err}", config.display()))?;
        extra_env.push((
            "FIRSTHOUR_CONFIG_FILE".to_owned(),
            absolute.display().to_string(),
        ));
        live_rules = Some(absolute.clone());
        chat = Some(ChatSetup {
            config: absolute,
            root: std::env::current_dir()?,
            port: args.stand_ins_port,
            failing_hooks: Vec::new(),
        });
    }
    let mut parameters = BTreeMap::from([
        ("SenderEmail".to_owned(), "firsthour@example.com".to_owned()),
        (
            "FederalTeamEmails".to_owned(),
            "federal-sales@example.com".to_owned(),
        ),
        (
            "FallbackEmails".to_owned(),
            "sales-ops@example.com".to_owned(),
        ),
        ("CorsOrigins".to_owned(), site_origins.clone()),
        ("RedirectOrigins".to_owned(), site_origins),
        // Replies to notifications come back through the SMTP stand-in.
        ("InboundDomain".to_owned(), LOCAL_INBOUND_DOMAIN.to_owned()),
    ]);
    parameters.extend(args.params.iter().cloned());
    let options = RunOptions {
        template: args.template.clone(),
        bin_dir: args.bin_dir(),
        prefix: "firsthour-local".into(),
        http_addr: SocketAddr::from(([127, 0, 0, 1], args.port)),
        emulator_url: emulator_url.clone(),
        tick: Duration::from_secs(args.tick_seconds),
        parameters,
        extra_env,
        intake_instances: 4,
        show_function_logs: !args.quiet,
        log_dir: None,
        gateway: Default::default(),
        smtp_addr: (args.smtp_port != 0)
            .then(|| SocketAddr::from(([127, 0, 0, 1], args.smtp_port))),
        chat,
        // An edit to the rules file reaches the functions in seconds.
        live_rules,
        rules_refresh: Duration::from_secs(2),
    };
    let running = start(&options, &sdk).await?;
    // The touch API token the stack generated (as Secrets Manager would in AWS).
    let token = match running.stack.refs.get("TouchApiTokenSecret") {
        Some(arn) => aws_sdk_secretsmanager::Client::new(&sdk)
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .ok()
            .and_then(|s| s.secret_string)
            .unwrap_or_default(),
        None => String::new(),
    };
    let base = format!("http://{}", running.http_addr);
    // Served until the end of this function (dropping it stops the server).
    let (landing, _served_site) = match landing_site {
        Some((landing_site, listener)) => {
            let served = site::serve(listener, landing_site.with_intake_base(&base))?;
            (
                format!(
                    "\n  landing     http://127.0.0.1:{port}/  (contact form; government.html, fetch.html)",
                    port = served.addr.port(),
                ),
                Some(served),
            )
        }
        None => (String::new(), None),
    };
    println!(
        "\nfirsthour is running locally.\n\
         \n  intake      POST {base}/leads  (or {base}/leads/{{source}})\
         \n  sent mail   {base}/_local/mail\
         \n  outputs     {base}/_local/outputs  (the stack's outputs, as describe-stacks gives them: the values of the book's <OutputName> placeholders){landing}{smtp}{channels}{rules}\
         \n  emulator    {emulator_url}  (moto)\
         \n  schedule    escalation every {tick} s; .gov registry refresh at start, then daily{refresh}\
         \n\nTry:\n  curl -i {base}/leads -H 'content-type: application/json' \\\n    -d '{{\"email\":\"jane.doe@example.com\",\"name\":\"Jane Doe\",\"company\":\"Example Inc\",\"message\":\"Please call me\"}}'\
         \n\nTouch a lead (CRM / dialer API):\n  curl -i {base}/leads/LEAD_ID/touch -H 'authorization: Bearer {token}' \\\n    -H 'content-type: application/json' -d '{{\"by\":\"ae-1@example.com\",\"channel\":\"call\",\"touch_id\":\"call-1\"}}'\
         \n  ladders run {speedup}x faster than configured{speed_hint}\
         \n\nTo read the stack with the AWS CLI or the report, use:\n  export AWS_ENDPOINT_URL={emulator_url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1\
         \n  table {table}, bus {bus}         \n\nResponse-time report (with that environment):\n  {cli} demo-data        # a few hundred realistic leads over 5 days\n  {cli} report --chart report.png         \n\nCtrl-C stops everything.\n",
        cli = cli_hint(&args.bin_dir()),
        smtp = running.smtp_addr.map_or_else(String::new, |addr| format!(
            "\n  replies     SMTP {addr}: a reply sent with a notification's \"Reply to\" button (its Bcc, @{LOCAL_INBOUND_DOMAIN}) counts as the response"
        )),
        channels = running.stand_ins.as_ref().map_or_else(String::new, |s| format!(
            "\n  channels    {}/  (Slack and Teams messages, with Claim buttons; webhooks received)",
            s.base_url()
        )),
        rules = given(&args.config).map_or_else(String::new, |config| format!(
            "\n  rules       {}: a saved change is checked, then in use within seconds",
            config.display()
        )),
        tick = args.tick_seconds,
        refresh = match args
            .params
            .iter()
            .find(|(name, _)| name == "GovRegistryUrl")
        {
            Some((_, url)) if url.trim().is_empty() => " (off: GovRegistryUrl is empty)".to_owned(),
            Some((_, url)) => format!(" from {url}"),
            None =>
                " from get.gov (offline, it fails and the built-in snapshot answers)".to_owned(),
        },
        token = token,
        speedup = args.ladder_speedup,
        speed_hint = if args.ladder_speedup == 1 {
            " (make run LADDER_SPEEDUP=60 turns minutes into seconds)"
        } else {
            ""
        },
        table = running.stack.table_name,
        bus = running.stack.bus_name,
    );
    tokio::signal::ctrl_c().await?;
    println!("\nstopping…");
    running.stop().await;
    let _ = moto.kill().await;
    Ok(())
}

/// How to call the CLI built beside the functions, as a path a user can paste.
fn cli_hint(bin_dir: &std::path::Path) -> String {
    let cli = bin_dir.join("firsthour");
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| cli.strip_prefix(cwd).ok().map(PathBuf::from))
        .map_or(cli.clone(), |relative| PathBuf::from(".").join(relative));
    shown.display().to_string()
}
