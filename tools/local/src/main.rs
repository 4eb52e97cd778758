//! `firsthour-local`: runs the whole system on this machine (what `make run` calls).
//!
//! Starts moto server, creates the stack from `infra/template.yaml`, runs the
//! function binaries behind Runtime API stand-ins, serves the intake on
//! http://127.0.0.1:3000/leads and the sent mail on /_local/mail, ticks the
//! escalation schedule, and serves the landing-page example on
//! http://127.0.0.1:8080. Ctrl-C stops everything it started.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use firsthour_local::run::{RunOptions, start};
use firsthour_local::site::{self, Site};

const USAGE: &str = "usage: firsthour-local [--port 3000] [--moto-port 5000] [--tick-seconds 60]
                       [--moto-bin scripts/moto] [--bin-dir DIR]
                       [--template infra/template.yaml] [--config infra/config/firsthour.toml]
                       [--gov-domains current-full.csv] [--ladder-speedup 60]
                       [--site-port 8080] [--site-dir examples/landing-page]
                       [--param Name=Value]... [--quiet]
  --site-dir \"\" serves no landing page.";

struct Args {
    port: u16,
    moto_port: u16,
    tick_seconds: u64,
    moto_bin: PathBuf,
    bin_dir: PathBuf,
    template: PathBuf,
    config: Option<PathBuf>,
    gov_domains: Option<PathBuf>,
    ladder_speedup: u64,
    site_port: u16,
    site_dir: Option<PathBuf>,
    params: BTreeMap<String, String>,
    quiet: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 3000,
        moto_port: 5000,
        tick_seconds: 60,
        moto_bin: PathBuf::from("scripts/moto"),
        // The functions are built beside the runner (same profile, same
        // target directory, wherever CARGO_TARGET_DIR put them).
        bin_dir: std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/local")),
        template: PathBuf::from("infra/template.yaml"),
        config: Some(PathBuf::from("infra/config/firsthour.toml")),
        gov_domains: None,
        ladder_speedup: 1,
        site_port: 8080,
        site_dir: Some(PathBuf::from("examples/landing-page")),
        params: BTreeMap::new(),
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--port" => {
                args.port = number(value()?)?
                    .try_into()
                    .map_err(|_| "--port: too large")?
            }
            "--moto-port" => {
                args.moto_port = number(value()?)?
                    .try_into()
                    .map_err(|_| "--moto-port: too large")?
            }
            "--tick-seconds" => args.tick_seconds = number(value()?)?.max(1),
            "--moto-bin" => args.moto_bin = value()?.into(),
            "--bin-dir" => args.bin_dir = value()?.into(),
            "--template" => args.template = value()?.into(),
            "--config" => {
                args.config = Some(value()?.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty())
            }
            "--gov-domains" => {
                args.gov_domains =
                    Some(value()?.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty())
            }
            "--site-port" => {
                args.site_port = number(value()?)?
                    .try_into()
                    .map_err(|_| "--site-port: too large")?
            }
            "--site-dir" => {
                args.site_dir =
                    Some(value()?.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty())
            }
            "--ladder-speedup" => args.ladder_speedup = number(value()?)?.clamp(1, 3600),
            "--param" => {
                let pair = value()?;
                let (name, val) = pair
                    .split_once('=')
                    .ok_or(format!("--param {pair}: expected Name=Value"))?;
                args.params.insert(name.to_owned(), val.to_owned());
            }
            "--quiet" => args.quiet = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
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
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
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
    // The landing page's port first: a busy port stops us before anything starts.
    let landing_site = match &args.site_dir {
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
    if let Some(registry) = &args.gov_domains {
        let absolute = std::fs::canonicalize(registry)
            .map_err(|err| format!("{}: {err}", registry.display()))?;
        extra_env.push((
            "FIRSTHOUR_GOV_DOMAINS_FILE".to_owned(),
            absolute.display().to_string(),
        ));
    }
    if let Some(config) = &args.config {
        let absolute =
            std::fs::canonicalize(config).map_err(|err| format!("{}: {err}", config.display()))?;
        extra_env.push((
            "FIRSTHOUR_CONFIG_FILE".to_owned(),
            absolute.display().to_string(),
        ));
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
    ]);
    parameters.extend(args.params.clone());
    let options = RunOptions {
        template: args.template.clone(),
        bin_dir: args.bin_dir.clone(),
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
         \n  sent mail   {base}/_local/mail{landing}\
         \n  emulator    {emulator_url}  (moto)\
         \n  schedule    escalation every {tick} s\
         \n\nTry:\n  curl -i {base}/leads -H 'content-type: application/json' \\\n    -d '{{\"email\":\"jane.doe@example.com\",\"name\":\"Jane Doe\",\"company\":\"Example Inc\",\"message\":\"Please call me\"}}'\
         \n\nTouch a lead (CRM / dialer API):\n  curl -i {base}/leads/LEAD_ID/touch -H 'authorization: Bearer {token}' \\\n    -H 'content-type: application/json' -d '{{\"by\":\"ae-1@example.com\",\"channel\":\"call\",\"touch_id\":\"call-1\"}}'\
         \n  ladders run {speedup}x faster than configured{speed_hint}\
         \n\nTo read the stack with the AWS CLI or the report, use:\n  export AWS_ENDPOINT_URL={emulator_url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1\
         \n  table {table}, bus {bus}         \n\nResponse-time report (with that environment):\n  {cli} demo-data        # a few hundred realistic leads over 5 days\n  {cli} report --chart report.png         \n\nCtrl-C stops everything.\n",
        cli = cli_hint(&args.bin_dir),
        tick = args.tick_seconds,
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
