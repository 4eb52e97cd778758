//! `firsthour rules deploy FILE`: a rules file checked as `rules check`
//! checks it, then stored as an AWS AppConfig hosted configuration version
//! and deployed, so the functions take new rules without a redeploy.
//!
//! The AppConfig ids come from flags or `FIRSTHOUR_APPCONFIG_*` variables
//! (the stack's `RulesApplicationId`, `RulesEnvironmentId`,
//! `RulesProfileId` and `RulesDeploymentStrategyId` outputs); any not
//! given are looked up by the names the stack gives them: the application
//! named after the stack, its `live` environment, its `rules` profile and
//! the `<stack>-rules` strategy.

use std::path::PathBuf;

use aws_sdk_appconfig::primitives::Blob;

use crate::confirm::confirm;

/// What AppConfig is told the content is.
const CONTENT_TYPE: &str = "application/toml";

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The rules file.
    file: PathBuf,
    /// A .gov registry CSV to check the file with (as `rules check`).
    #[arg(long, value_name = "FILE")]
    gov_domains: Option<PathBuf>,
    /// The AppConfig application (id; the stack's RulesApplicationId output).
    #[arg(long, env = "FIRSTHOUR_APPCONFIG_APPLICATION", value_name = "ID")]
    application: Option<String>,
    /// The AppConfig environment (id; RulesEnvironmentId).
    #[arg(long, env = "FIRSTHOUR_APPCONFIG_ENVIRONMENT", value_name = "ID")]
    environment: Option<String>,
    /// The configuration profile (id; RulesProfileId).
    #[arg(long, env = "FIRSTHOUR_APPCONFIG_PROFILE", value_name = "ID")]
    profile: Option<String>,
    /// The deployment strategy (id; RulesDeploymentStrategyId). Unset: the
    /// stack's, else AWS's predefined `AppConfig.AllAtOnce`.
    #[arg(long, env = "FIRSTHOUR_APPCONFIG_STRATEGY", value_name = "ID")]
    strategy: Option<String>,
    /// The stack whose AppConfig resources to find by name, for the ids not given.
    #[arg(
        long,
        env = "FIRSTHOUR_STACK_NAME",
        default_value = "firsthour",
        value_name = "NAME"
    )]
    stack: String,
    /// Do not ask.
    #[arg(long)]
    yes: bool,
}

/// AWS's own strategy: every function at once, no bake time.
const DEFAULT_STRATEGY: &str = "AppConfig.AllAtOnce";

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The file is invalid: `rules check`'s own message.
    #[error("{file}: not deployed: {message}")]
    Invalid { file: String, message: String },
    #[error(
        "no AppConfig {what}: give --{flag} or set {var} (the stack's {output} output); \
         none named {name:?} was found for stack {stack:?} (--stack)"
    )]
    Missing {
        what: &'static str,
        flag: &'static str,
        var: &'static str,
        output: &'static str,
        name: String,
        stack: String,
    },
    #[error(
        "cannot look up the stack's AppConfig {what} by name ({message}): give --{flag} or set {var}"
    )]
    Lookup {
        what: &'static str,
        flag: &'static str,
        var: &'static str,
        message: String,
    },
    #[error(transparent)]
    NotConfirmed(#[from] crate::confirm::NotConfirmed),
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("AppConfig did not store the new version: {0}")]
    Version(String),
    #[error(
        "version {version} of profile {profile} is stored, but the deployment did not start: {message}. \
         Start it with: aws appconfig start-deployment --application-id {application} \
         --environment-id {environment} --configuration-profile-id {profile} \
         --deployment-strategy-id {strategy} --configuration-version {version}"
    )]
    Deployment {
        version: i32,
        application: String,
        environment: String,
        profile: String,
        strategy: String,
        message: String,
    },
}

pub fn run(args: DeployArgs) -> Result<String, String> {
    crate::block_on(async move { deploy(args).await.map_err(|e| e.to_string()) })
}

async fn deploy(args: DeployArgs) -> Result<String, DeployError> {
    let file = args.file.display().to_string();
    // Exactly what `rules check` says, so a file that fails there fails here.
    let summary =
        crate::rules_check(&args.file, args.gov_domains.as_deref()).map_err(|message| {
            DeployError::Invalid {
                file: file.clone(),
                message,
            }
        })?;
    // The bytes checked are the bytes stored.
    let content = std::fs::read(&args.file).map_err(|source| DeployError::Read {
        file: file.clone(),
        source,
    })?;
    eprintln!("{summary}");
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_appconfig::Client::new(&sdk);
    let Ids {
        application,
        environment,
        profile,
        strategy,
    } = Ids::resolve(&client, &args).await?;
    confirm(
        &format!(
            "Deploy {file} to AppConfig application {application}, environment {environment}, \
             profile {profile} (strategy {strategy})?"
        ),
        args.yes,
    )?;
    let created = client
        .create_hosted_configuration_version()
        .application_id(&application)
        .configuration_profile_id(&profile)
        .content(Blob::new(content))
        .content_type(CONTENT_TYPE)
        .description(format!("firsthour rules deploy {file}"))
        .send()
        .await
        .map_err(|e| DeployError::Version(crate::aws_error::describe(&e)))?;
    let version = created.version_number;
    let started = client
        .start_deployment()
        .application_id(&application)
        .environment_id(&environment)
        .deployment_strategy_id(&strategy)
        .configuration_profile_id(&profile)
        .configuration_version(version.to_string())
        .description(format!("firsthour rules deploy {file}"))
        .send()
        .await
        .map_err(|e| DeployError::Deployment {
            version,
            application: application.clone(),
            environment: environment.clone(),
            profile: profile.clone(),
            strategy: strategy.clone(),
            message: crate::aws_error::describe(&e),
        })?;
    let state = started
        .state
        .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned());
    Ok(format!(
        "{file}: stored as version {version} of profile {profile} (application {application}); \
         deployment {number} to environment {environment} started with strategy {strategy} \
         (state: {state}). Follow it with: aws appconfig get-deployment --application-id \
         {application} --environment-id {environment} --deployment-number {number}",
        number = started.deployment_number
    ))
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Where the rules go.
struct Ids {
    application: String,
    environment: String,
    profile: String,
    strategy: String,
}

impl Ids {
    /// The ids given, and the stack's by name for the others (only the
    /// lookups needed are made).
    async fn resolve(
        client: &aws_sdk_appconfig::Client,
        args: &DeployArgs,
    ) -> Result<Self, DeployError> {
        let stack = args.stack.trim();
        let missing = |what, flag, var, output, name: &str| DeployError::Missing {
            what,
            flag,
            var,
            output,
            name: name.to_owned(),
            stack: stack.to_owned(),
        };
        let lookup = |what: &'static str, flag: &'static str, var: &'static str| {
            move |message: String| DeployError::Lookup {
                what,
                flag,
                var,
                message,
            }
        };
        let application = match given(&args.application) {
            Some(id) => id,
            None => named(
                applications(client).await.map_err(lookup(
                    "application",
                    "application",
                    "FIRSTHOUR_APPCONFIG_APPLICATION",
                ))?,
                stack,
            )
            .ok_or_else(|| {
                missing(
                    "application",
                    "application",
                    "FIRSTHOUR_APPCONFIG_APPLICATION",
                    "RulesApplicationId",
                    stack,
                )
            })?,
        };
        let environment = match given(&args.environment) {
            Some(id) => id,
            None => named(
                environments(client, &application).await.map_err(lookup(
                    "environment",
                    "environment",
                    "FIRSTHOUR_APPCONFIG_ENVIRONMENT",
                ))?,
                STACK_ENVIRONMENT,
            )
            .ok_or_else(|| {
                missing(
                    "environment",
                    "environment",
                    "FIRSTHOUR_APPCONFIG_ENVIRONMENT",
                    "RulesEnvironmentId",
                    STACK_ENVIRONMENT,
                )
            })?,
        };
        let profile = match given(&args.profile) {
            Some(id) => id,
            None => named(
                profiles(client, &application).await.map_err(lookup(
                    "configuration profile",
                    "profile",
                    "FIRSTHOUR_APPCONFIG_PROFILE",
                ))?,
                STACK_PROFILE,
            )
            .ok_or_else(|| {
                missing(
                    "configuration profile",
                    "profile",
                    "FIRSTHOUR_APPCONFIG_PROFILE",
                    "RulesProfileId",
                    STACK_PROFILE,
                )
            })?,
        };
        let strategy = match given(&args.strategy) {
            Some(id) => id,
            None => named(
                strategies(client).await.map_err(lookup(
                    "deployment strategy",
                    "strategy",
                    "FIRSTHOUR_APPCONFIG_STRATEGY",
                ))?,
                &format!("{stack}-rules"),
            )
            .unwrap_or_else(|| DEFAULT_STRATEGY.to_owned()),
        };
        Ok(Self {
            application,
            environment,
            profile,
            strategy,
        })
    }
}

/// The names the stack gives its environment and profile.
const STACK_ENVIRONMENT: &str = "live";
const STACK_PROFILE: &str = "rules";

/// The id of the one named `name`.
fn named(found: Vec<(String, String)>, name: &str) -> Option<String> {
    found.into_iter().find(|(n, _)| n == name).map(|(_, id)| id)
}

/// (name, id) of every application, page by page (the SDK's paginator).
async fn applications(client: &aws_sdk_appconfig::Client) -> Result<Vec<(String, String)>, String> {
    let items = client
        .list_applications()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| crate::aws_error::describe(&e))?;
    Ok(items
        .iter()
        .filter_map(|a| Some((a.name()?.to_owned(), a.id()?.to_owned())))
        .collect())
}

async fn environments(
    client: &aws_sdk_appconfig::Client,
    application: &str,
) -> Result<Vec<(String, String)>, String> {
    let items = client
        .list_environments()
        .application_id(application)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| crate::aws_error::describe(&e))?;
    Ok(items
        .iter()
        .filter_map(|e| Some((e.name()?.to_owned(), e.id()?.to_owned())))
        .collect())
}

async fn profiles(
    client: &aws_sdk_appconfig::Client,
    application: &str,
) -> Result<Vec<(String, String)>, String> {
    let items = client
        .list_configuration_profiles()
        .application_id(application)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| crate::aws_error::describe(&e))?;
    Ok(items
        .iter()
        .filter_map(|p| Some((p.name()?.to_owned(), p.id()?.to_owned())))
        .collect())
}

async fn strategies(client: &aws_sdk_appconfig::Client) -> Result<Vec<(String, String)>, String> {
    let items = client
        .list_deployment_strategies()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| crate::aws_error::describe(&e))?;
    Ok(items
        .iter()
        .filter_map(|s| Some((s.name()?.to_owned(), s.id()?.to_owned())))
        .collect())
}
