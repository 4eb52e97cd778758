//! Runs the whole system locally: the stack on the emulator, the function
//! binaries behind Runtime API stand-ins, the HTTP gateway, the rule queues'
//! pollers and the escalation schedule.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::bootstrap::{BootError, LocalStack, RuleQueue};
use crate::gateway::{self, GatewayLimits, GatewayState};
use crate::runtime_api::{FunctionHost, FunctionSpec};
use crate::smtp;
use crate::template::TemplateModel;

/// What to run, and where.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub template: PathBuf,
    /// Where the function binaries are (`target/local` by default).
    pub bin_dir: PathBuf,
    /// Resource name prefix (`firsthour-local`).
    pub prefix: String,
    pub http_addr: SocketAddr,
    pub emulator_url: String,
    /// How often the escalation schedule fires.
    pub tick: Duration,
    /// Template parameter values (override the defaults).
    pub parameters: BTreeMap<String, String>,
    /// Extra environment for every function (e.g. `FIRSTHOUR_CONFIG_FILE`).
    pub extra_env: Vec<(String, String)>,
    /// Processes for the intake function (concurrent requests).
    pub intake_instances: usize,
    pub show_function_logs: bool,
    /// Write each function's logs to `<dir>/<binary>.log` instead.
    pub log_dir: Option<PathBuf>,
    /// What the HTTP API stand-in enforces (API Gateway's quotas by default).
    pub gateway: GatewayLimits,
    /// Where the SES receiving stand-in listens for SMTP (when the template
    /// has the inbound function and a domain to receive for).
    pub smtp_addr: Option<SocketAddr>,
}

/// The running system. Dropping it stops the function processes.
pub struct RunningStack {
    pub stack: LocalStack,
    pub http_addr: SocketAddr,
    /// The SMTP listener's address, when replies are received.
    pub smtp_addr: Option<SocketAddr>,
    hosts: BTreeMap<String, Arc<FunctionHost>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningStack {
    pub fn host(&self, logical_id: &str) -> Option<&Arc<FunctionHost>> {
        self.hosts.get(logical_id)
    }

    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for (_, host) in self.hosts {
            if let Ok(host) = Arc::try_unwrap(host) {
                host.stop().await;
            }
        }
    }
}

pub async fn start(options: &RunOptions, sdk: &SdkConfig) -> Result<RunningStack, BootError> {
    let model = TemplateModel::load(&options.template)?;
    let stack = LocalStack::create(sdk, &model, &options.prefix, &options.parameters).await?;
    let mut hosts = BTreeMap::new();
    for function in &model.functions {
        let mut env = stack.function_env(&model, &function.logical_id)?;
        env.extend(options.extra_env.iter().cloned());
        let instances = if function.binary == "intake" {
            options.intake_instances
        } else {
            1
        };
        let spec = FunctionSpec {
            name: format!("{}-{}", options.prefix, function.binary),
            binary: options.bin_dir.join(&function.binary),
            env,
            instances,
            timeout: Duration::from_secs(30),
            show_logs: options.show_function_logs,
            log_file: options
                .log_dir
                .as_ref()
                .map(|dir| dir.join(format!("{}.log", function.binary))),
        };
        hosts.insert(
            function.logical_id.clone(),
            Arc::new(FunctionHost::start(spec).await?),
        );
    }
    let mut tasks = Vec::new();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    for rule_queue in &stack.rule_queues {
        let host = hosts
            .get(&rule_queue.rule.function)
            .cloned()
            .ok_or_else(|| format!("rule {} targets unknown function", rule_queue.rule_name))?;
        tasks.push(tokio::spawn(deliver_rule_events(
            sqs.clone(),
            rule_queue.clone(),
            host,
        )));
    }
    for schedule in &model.schedules {
        let host = hosts
            .get(&schedule.function)
            .cloned()
            .ok_or_else(|| format!("schedule targets unknown function {}", schedule.function))?;
        tasks.push(tokio::spawn(tick(
            host,
            schedule_period(&schedule.expression, options.tick),
        )));
    }
    let intake = model
        .function_by_binary("intake")
        .and_then(|f| hosts.get(&f.logical_id))
        .cloned()
        .ok_or("the template has no intake function")?;
    let listener = tokio::net::TcpListener::bind(options.http_addr).await?;
    let http_addr = listener.local_addr()?;
    let app = gateway::router(Arc::new(GatewayState {
        intake,
        emulator_url: options.emulator_url.clone(),
        limits: options.gateway,
    }));
    tasks.push(tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(err) = axum::serve(listener, service).await {
            eprintln!("[gateway] stopped: {err}");
        }
    }));
    let smtp_addr = match (options.smtp_addr, model.function_by_binary("inbound")) {
        (Some(addr), Some(function)) => {
            let domain = stack
                .function_env(&model, &function.logical_id)?
                .into_iter()
                .find(|(k, _)| k == "FIRSTHOUR_INBOUND_DOMAIN")
                .map(|(_, v)| v)
                .filter(|v| !v.is_empty());
            match (domain, hosts.get(&function.logical_id).cloned()) {
                (Some(domain), Some(inbound)) => {
                    let listener = tokio::net::TcpListener::bind(addr).await?;
                    let bound = listener.local_addr()?;
                    let receiving = smtp::Receiving {
                        inbound,
                        domain,
                        function_arn: format!(
                            "arn:aws:lambda:us-east-1:123456789012:function:{}-inbound",
                            options.prefix
                        ),
                        max_bytes: smtp::MAX_MESSAGE_BYTES,
                    };
                    tasks.push(tokio::spawn(smtp::serve(listener, receiving)));
                    Some(bound)
                }
                _ => None,
            }
        }
        _ => None,
    };
    Ok(RunningStack {
        stack,
        http_addr,
        smtp_addr,
        hosts,
        tasks,
    })
}

/// Stands in for EventBridge invoking a function: polls the rule's queue and
/// invokes the function with each event; failed events stay on the queue and
/// come back after the visibility timeout, as EventBridge would retry.
async fn deliver_rule_events(
    sqs: aws_sdk_sqs::Client,
    rule_queue: RuleQueue,
    host: Arc<FunctionHost>,
) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&rule_queue.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .wait_time_seconds(1)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(err) => {
                eprintln!(
                    "[{}] cannot poll: {}",
                    rule_queue.rule_name,
                    aws_sdk_sqs::error::DisplayErrorContext(err)
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for message in messages {
            let Some(event) = message
                .body()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            else {
                continue;
            };
            match host.invoke(&event).await {
                Ok(_) => {
                    if let Some(handle) = message.receipt_handle() {
                        let _ = sqs
                            .delete_message()
                            .queue_url(&rule_queue.queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await;
                    }
                }
                Err(err) => eprintln!(
                    "[{}] {} failed, will retry: {err}",
                    rule_queue.rule_name,
                    host.name()
                ),
            }
        }
    }
}

/// The scheduled event EventBridge sends for a schedule rule.
pub fn scheduled_event() -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/firsthour-local-sweep"],
        "detail": {}
    })
}

/// How often a schedule fires here: a one-minute rate at the run's tick
/// (sped up for demos and tests), any other `rate(N unit)` as written, and
/// anything unreadable daily.
pub fn schedule_period(expression: &str, tick: Duration) -> Duration {
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    let Some(rate) = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return DAY;
    };
    let mut words = rate.split_whitespace();
    let (Some(count), Some(unit)) = (
        words.next().and_then(|n| n.parse::<u64>().ok()),
        words.next(),
    ) else {
        return DAY;
    };
    let unit_seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 60 * 60,
        "day" => 24 * 60 * 60,
        _ => return DAY,
    };
    match count.checked_mul(unit_seconds) {
        Some(60) => tick,
        Some(0) | None => DAY,
        Some(seconds) => Duration::from_secs(seconds),
    }
}

/// Stands in for the schedule rule: invokes the function every `every`
/// (the first time at start).
async fn tick(host: Arc<FunctionHost>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        if let Err(err) = host.invoke(&scheduled_event()).await {
            eprintln!("[schedule] {} failed: {err}", host.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_minute_rate_runs_at_the_tick_and_others_as_written() {
        let tick = Duration::from_secs(2);
        assert_eq!(schedule_period("rate(1 minute)", tick), tick);
        assert_eq!(
            schedule_period("rate(1 day)", tick),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            schedule_period("rate(6 hours)", tick),
            Duration::from_secs(21_600)
        );
        assert_eq!(
            schedule_period("cron(0 6 * * ? *)", tick),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            schedule_period("rate(0 minutes)", tick),
            Duration::from_secs(86_400)
        );
    }
}
