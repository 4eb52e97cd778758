//! Runs the whole system locally: the stack on the emulator, the function
//! binaries behind Runtime API stand-ins, the HTTP gateway, the rule queues'
//! pollers, the SQS event source mappings and the escalation schedule.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use base64::Engine as _;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::appconfig;
use crate::bootstrap::{BootError, LocalStack, RuleQueue};
use crate::chat::{self, ChatSetup};
use crate::gateway::{self, GatewayLimits, GatewayState};
use crate::runtime_api::{FunctionHost, FunctionSpec, InvokeError};
use crate::smtp;
use crate::stand_ins::StandIns;
use crate::template::{SqsEventDef, TemplateModel};
use firsthour::config::vars;

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
    /// Stand-ins for the rules file's Slack and Teams channels and
    /// webhooks, when it has any.
    pub chat: Option<ChatSetup>,
    /// Serve this rules file as AppConfig's extension would, so the
    /// functions pick up each valid change within `rules_refresh`.
    pub live_rules: Option<PathBuf>,
    pub rules_refresh: Duration,
}

/// The running system. Dropping it stops the function processes.
pub struct RunningStack {
    pub stack: LocalStack,
    pub http_addr: SocketAddr,
    /// The SMTP listener's address, when replies are received.
    pub smtp_addr: Option<SocketAddr>,
    /// The Slack, Teams and webhook stand-ins, when the rules file has
    /// channels or webhooks (dropping them stops them).
    pub stand_ins: Option<StandIns>,
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
    // Before the functions start: they read the channels' credentials at cold start.
    let (stand_ins, chat_env) = match &options.chat {
        Some(setup) => match chat::start(setup, &stack, sdk).await? {
            Some((stand_ins, env)) => (Some(stand_ins), env),
            None => (None, Vec::new()),
        },
        None => (None, Vec::new()),
    };
    let mut tasks = Vec::new();
    let mut rules_env = Vec::new();
    if let Some(rules) = &options.live_rules {
        // `$VARIABLE` recipients read as the functions read them.
        let env = model
            .functions
            .first()
            .map(|f| stack.function_env(&model, &f.logical_id))
            .transpose()?
            .unwrap_or_default();
        let listener = appconfig::bind(0).await?;
        let port = listener.local_addr()?.port();
        let served = Arc::new(appconfig::RulesFile::new(rules.clone(), env));
        tasks.push(tokio::spawn(async move {
            if let Err(err) = appconfig::serve(listener, served).await {
                eprintln!("[rules] the AppConfig extension stand-in stopped: {err}");
            }
        }));
        rules_env = vec![
            (vars::APPCONFIG_PATH.to_owned(), appconfig::path()),
            (
                vars::APPCONFIG_EXTENSION_HTTP_PORT.to_owned(),
                port.to_string(),
            ),
            (
                vars::RULES_REFRESH_SECONDS.to_owned(),
                options.rules_refresh.as_secs().max(1).to_string(),
            ),
        ];
    }
    let mut hosts = BTreeMap::new();
    for function in &model.functions {
        let mut env = stack.function_env(&model, &function.logical_id)?;
        env.extend(options.extra_env.iter().cloned());
        env.extend(chat_env.iter().cloned());
        env.extend(rules_env.iter().cloned());
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
    for mapping in &model.sqs_events {
        let host = hosts.get(&mapping.function).cloned().ok_or_else(|| {
            format!(
                "{}.{}: unknown function",
                mapping.function, mapping.event_name
            )
        })?;
        let queue = stack.queues.get(&mapping.queue).ok_or_else(|| {
            format!(
                "{}.{}: no queue {}",
                mapping.function, mapping.event_name, mapping.queue
            )
        })?;
        tasks.push(tokio::spawn(consume_queue(
            sqs.clone(),
            EventSourceMapping {
                def: mapping.clone(),
                queue_url: queue.url.clone(),
                queue_arn: queue.arn.clone(),
            },
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
    let app = gateway::router_with_outputs(
        Arc::new(GatewayState {
            intake,
            emulator_url: options.emulator_url.clone(),
            limits: options.gateway,
            mail_view: crate::mail::ViewState::new(stand_ins.as_ref().map(StandIns::base_url)),
        }),
        gateway::stack_outputs(&model, &stack, &format!("http://{http_addr}")),
    );
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
    if let Some(stand_ins) = &stand_ins {
        // A click in the stand-ins' view is posted where Slack would post it.
        stand_ins
            .set_interactivity_url(&format!("http://{http_addr}/slack/interactions"))
            .await?;
    }
    Ok(RunningStack {
        stack,
        http_addr,
        smtp_addr,
        stand_ins,
        hosts,
        tasks,
    })
}

/// One long poll (a second): the messages, or `None` after a pause when
/// there were none or the queue could not be read (said, then retried).
async fn poll(
    receive: aws_sdk_sqs::operation::receive_message::builders::ReceiveMessageFluentBuilder,
    label: &str,
) -> Option<Vec<aws_sdk_sqs::types::Message>> {
    match receive.wait_time_seconds(1).send().await {
        Ok(output) => {
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return None;
            }
            Some(messages)
        }
        Err(err) => {
            eprintln!(
                "[{label}] cannot poll: {}",
                aws_sdk_sqs::error::DisplayErrorContext(err)
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            None
        }
    }
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
        let receive = sqs
            .receive_message()
            .queue_url(&rule_queue.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(30);
        let Some(messages) = poll(receive, &rule_queue.rule_name).await else {
            continue;
        };
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

/// A function's `SQS` event with the queue it reads, as created.
#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    pub def: SqsEventDef,
    pub queue_url: String,
    pub queue_arn: String,
}

/// Stands in for Lambda's SQS event source mapping: receives up to the
/// batch size, invokes the function once per batch and deletes what it
/// handled. What is not deleted comes back after the queue's visibility
/// timeout (or whatever the function set); moto moves a message received
/// `maxReceiveCount` times to the dead-letter queue on its next receive, as
/// SQS does, so the redrive policy needs nothing here. One batch at a time:
/// the function hosts run one process each.
async fn consume_queue(
    sqs: aws_sdk_sqs::Client,
    mapping: EventSourceMapping,
    host: Arc<FunctionHost>,
) {
    let label = format!("{}.{}", mapping.def.function, mapping.def.event_name);
    // ReceiveMessage returns at most 10; Lambda's larger batches need a
    // batching window, which nothing here declares.
    let max = i32::try_from(mapping.def.batch_size.clamp(1, 10)).unwrap_or(10);
    loop {
        let receive = sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(max)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All");
        let Some(messages) = poll(receive, &label).await else {
            continue;
        };
        let event = sqs_event(&messages, &mapping.queue_arn);
        let ids: Vec<&str> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default())
            .collect();
        let answer = host.invoke(&event).await;
        match &answer {
            Err(err) => eprintln!(
                "[{label}] {} failed on a batch of {}, it comes back after the visibility timeout: {err}",
                host.name(),
                ids.len()
            ),
            Ok(response) => {
                if let Err(err) =
                    batch_item_failures(&ids, response, mapping.def.report_batch_item_failures)
                {
                    eprintln!("[{label}] the whole batch counts as failed: {err}");
                }
            }
        }
        let delete: BTreeSet<&str> = to_delete(
            &ids,
            answer.as_deref(),
            mapping.def.report_batch_item_failures,
        )
        .into_iter()
        .collect();
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| delete.contains(m.message_id().unwrap_or_default()))
            .filter_map(|(index, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        match sqs
            .delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) if !output.failed().is_empty() => eprintln!(
                "[{label}] {} handled messages not deleted (they come back): {:?}",
                output.failed().len(),
                output.failed()
            ),
            Ok(_) => {}
            Err(err) => eprintln!(
                "[{label}] cannot delete handled messages (they come back): {}",
                aws_sdk_sqs::error::DisplayErrorContext(err)
            ),
        }
    }
}

/// The event Lambda's SQS event source mapping sends: one record per message.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> serde_json::Value {
    json!({ "Records": messages.iter().map(|m| sqs_record(m, queue_arn)).collect::<Vec<_>>() })
}

fn sqs_record(message: &Message, queue_arn: &str) -> serde_json::Value {
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let attributes: serde_json::Map<String, serde_json::Value> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), value.clone().into()))
        .collect();
    let message_attributes: serde_json::Map<String, serde_json::Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let mut attribute = serde_json::Map::new();
            if let Some(text) = value.string_value() {
                attribute.insert("stringValue".into(), text.into());
            }
            if let Some(blob) = value.binary_value() {
                attribute.insert("binaryValue".into(), base64(blob.as_ref()).into());
            }
            attribute.insert(
                "stringListValues".into(),
                value.string_list_values().to_vec().into(),
            );
            attribute.insert(
                "binaryListValues".into(),
                value
                    .binary_list_values()
                    .iter()
                    .map(|b| base64(b.as_ref()))
                    .collect::<Vec<_>>()
                    .into(),
            );
            attribute.insert("dataType".into(), value.data_type().into());
            (name.clone(), attribute.into())
        })
        .collect();
    // arn:aws:sqs:<region>:<account>:<name>
    let region = queue_arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1");
    let mut record = json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    });
    if let (Some(md5), Some(fields)) = (message.md5_of_message_attributes(), record.as_object_mut())
    {
        fields.insert("md5OfMessageAttributes".into(), md5.into());
    }
    record
}

/// Why Lambda counts a whole batch as failed from a function's answer
/// (ReportBatchItemFailures; AWS Lambda guide, "Handling errors for an SQS
/// event source": invalid JSON, an empty or missing itemIdentifier, or one
/// that names no message of the batch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchResponseError {
    #[error("the response is not JSON: {0}")]
    NotJson(String),
    #[error("the response is neither null nor an object")]
    NotAnObject,
    #[error("batchItemFailures is not a list")]
    NotAList,
    #[error("a batch item failure has no itemIdentifier")]
    NoIdentifier,
    #[error("itemIdentifier {0:?} is no message of the batch")]
    UnknownIdentifier(String),
}

/// The messages of `batch` (ids) a successful invocation's `response` says
/// failed; empty when all succeeded. Without ReportBatchItemFailures the
/// response is not read: any successful invocation handled the whole batch.
pub fn batch_item_failures<'a>(
    batch: &[&'a str],
    response: &[u8],
    report_batch_item_failures: bool,
) -> Result<BTreeSet<&'a str>, BatchResponseError> {
    if !report_batch_item_failures || response.trim_ascii().is_empty() {
        return Ok(BTreeSet::new());
    }
    let answer: serde_json::Value = serde_json::from_slice(response)
        .map_err(|err| BatchResponseError::NotJson(err.to_string()))?;
    let failures = match &answer {
        serde_json::Value::Null => return Ok(BTreeSet::new()),
        serde_json::Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(serde_json::Value::Null) => return Ok(BTreeSet::new()),
            Some(serde_json::Value::Array(items)) => items,
            Some(_) => return Err(BatchResponseError::NotAList),
        },
        _ => return Err(BatchResponseError::NotAnObject),
    };
    failures
        .iter()
        .map(|item| {
            let id = item
                .get("itemIdentifier")
                .and_then(serde_json::Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or(BatchResponseError::NoIdentifier)?;
            batch
                .iter()
                .copied()
                .find(|known| *known == id)
                .ok_or_else(|| BatchResponseError::UnknownIdentifier(id.to_owned()))
        })
        .collect()
}

/// Which messages of `batch` (ids) the event source mapping deletes after
/// the invocation: none when it failed (function error, timeout) or its
/// answer counts as a whole-batch failure, else all but the reported ones.
pub fn to_delete<'a>(
    batch: &[&'a str],
    outcome: Result<&[u8], &InvokeError>,
    report_batch_item_failures: bool,
) -> Vec<&'a str> {
    let Ok(response) = outcome else {
        return Vec::new();
    };
    match batch_item_failures(batch, response, report_batch_item_failures) {
        Ok(failed) => batch
            .iter()
            .copied()
            .filter(|id| !failed.contains(id))
            .collect(),
        Err(_) => Vec::new(),
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
    use aws_sdk_sqs::primitives::Blob;
    use aws_sdk_sqs::types::MessageAttributeValue;

    const BATCH: [&str; 3] = ["m-1", "m-2", "m-3"];

    fn deleted(response: &str, report: bool) -> Vec<&'static str> {
        to_delete(&BATCH, Ok(response.as_bytes()), report)
    }

    #[test]
    fn a_successful_batch_is_deleted_whole() {
        for response in [
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
            "{}",
            "null",
            "",
            " \n",
        ] {
            assert_eq!(deleted(response, true), BATCH, "{response:?}");
        }
    }

    #[test]
    fn reported_failures_stay_on_the_queue_and_the_rest_is_deleted() {
        assert_eq!(
            deleted(r#"{"batchItemFailures":[{"itemIdentifier":"m-2"}]}"#, true),
            ["m-1", "m-3"]
        );
        assert_eq!(
            deleted(
                r#"{"batchItemFailures":[{"itemIdentifier":"m-3"},{"itemIdentifier":"m-1"},{"itemIdentifier":"m-3"}]}"#,
                true
            ),
            ["m-2"]
        );
        assert_eq!(
            batch_item_failures(
                &BATCH,
                br#"{"batchItemFailures":[{"itemIdentifier":"m-1"},{"itemIdentifier":"m-2"},{"itemIdentifier":"m-3"}]}"#,
                true
            ),
            Ok(BTreeSet::from(BATCH))
        );
    }

    #[test]
    fn an_answer_lambda_cannot_read_fails_the_whole_batch() {
        let cases = [
            (
                r#"{"batchItemFailures":[{"itemIdentifier":"elsewhere"}]}"#,
                BatchResponseError::UnknownIdentifier("elsewhere".into()),
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":"m-1"},{"itemIdentifier":""}]}"#,
                BatchResponseError::NoIdentifier,
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
                BatchResponseError::NoIdentifier,
            ),
            (
                r#"{"batchItemFailures":[{"itemId":"m-1"}]}"#,
                BatchResponseError::NoIdentifier,
            ),
            (
                r#"{"batchItemFailures":"m-1"}"#,
                BatchResponseError::NotAList,
            ),
            (r#""ok""#, BatchResponseError::NotAnObject),
        ];
        for (response, why) in cases {
            assert_eq!(
                batch_item_failures(&BATCH, response.as_bytes(), true),
                Err(why),
                "{response}"
            );
            assert!(deleted(response, true).is_empty(), "{response}");
        }
        assert!(matches!(
            batch_item_failures(&BATCH, b"{not json", true),
            Err(BatchResponseError::NotJson(_))
        ));
        assert!(deleted("{not json", true).is_empty());
    }

    #[test]
    fn without_report_batch_item_failures_any_successful_answer_deletes_the_batch() {
        for response in [
            r#"{"batchItemFailures":[{"itemIdentifier":"m-2"}]}"#,
            "{not json",
            r#""ok""#,
        ] {
            assert_eq!(deleted(response, false), BATCH, "{response}");
        }
    }

    #[test]
    fn a_failed_invocation_deletes_nothing() {
        for error in [
            InvokeError::Function(r#"{"errorType":"Panic"}"#.into()),
            InvokeError::Timeout(Duration::from_secs(30)),
            InvokeError::Stopped,
        ] {
            for report in [true, false] {
                assert!(to_delete(&BATCH, Err(&error), report).is_empty());
            }
        }
    }

    #[test]
    fn the_event_has_the_shape_lambda_sends_for_sqs() {
        let mut with_attributes = Message::builder()
            .message_id("m-1")
            .receipt_handle("handle-1")
            .body(r#"{"detail-type":"LeadRouted"}"#)
            .md5_of_body("0f1e")
            .md5_of_message_attributes("a1b2")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1520621625029")
            .attributes(MessageSystemAttributeName::SenderId, "AIDAEXAMPLE")
            .attributes(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1520621634884",
            );
        for (name, value) in [
            (
                "attempt",
                MessageAttributeValue::builder()
                    .data_type("Number")
                    .string_value("3")
                    .build(),
            ),
            (
                "raw",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(b"1100".to_vec()))
                    .build(),
            ),
        ] {
            match value {
                Ok(value) => with_attributes = with_attributes.message_attributes(name, value),
                Err(err) => panic!("{err}"),
            }
        }
        let plain = Message::builder()
            .message_id("m-2")
            .receipt_handle("handle-2")
            .body("plain")
            .md5_of_body("9f9f")
            .build();
        let event = sqs_event(
            &[with_attributes.build(), plain],
            "arn:aws:sqs:us-east-1:123456789012:firsthour-local-DeliveryQueue",
        );
        assert_eq!(
            event,
            json!({"Records": [
                {
                    "messageId": "m-1",
                    "receiptHandle": "handle-1",
                    "body": r#"{"detail-type":"LeadRouted"}"#,
                    "attributes": {
                        "ApproximateReceiveCount": "2",
                        "SentTimestamp": "1520621625029",
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": "1520621634884"
                    },
                    "messageAttributes": {
                        "attempt": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
                        "raw": {"binaryValue": "MTEwMA==", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"}
                    },
                    "md5OfBody": "0f1e",
                    "md5OfMessageAttributes": "a1b2",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:firsthour-local-DeliveryQueue",
                    "awsRegion": "us-east-1"
                },
                {
                    "messageId": "m-2",
                    "receiptHandle": "handle-2",
                    "body": "plain",
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": "9f9f",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:firsthour-local-DeliveryQueue",
                    "awsRegion": "us-east-1"
                }
            ]})
        );
    }

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
