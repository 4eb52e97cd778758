//! Creates the local stack on the emulator from the template's definitions.
//!
//! Where AWS would have EventBridge invoke a function, the local stack
//! points the same rule (same pattern) at an SQS queue; the runner polls the
//! queue and invokes the function. Tests observe events the same way.
//!
//! The template's own queues and the rules that target them are created as
//! declared; the runner stands in for Lambda's event source mappings on them.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{EnvValue, QueueDef, QueueRuleDef, RuleDef, TableDef, TemplateModel};

/// The local stack's resources.
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub prefix: String,
    pub table_name: String,
    pub bus_name: String,
    pub rule_queues: Vec<RuleQueue>,
    /// The template's `AWS::SQS::Queue`s by logical id.
    pub queues: BTreeMap<String, StackQueue>,
    /// The template's rules that target its queues, as created.
    pub queue_rules: Vec<StackQueueRule>,
    /// Values of the template's `Ref`s: parameters and resources.
    pub refs: BTreeMap<String, String>,
    /// Values of the template's `GetAtt`s, keyed `Resource.Attribute`.
    pub attributes: BTreeMap<String, String>,
}

/// A queue of the template as created (`{prefix}-{LogicalId}`).
#[derive(Debug, Clone)]
pub struct StackQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// A rule of the template that targets its queues, as created.
#[derive(Debug, Clone)]
pub struct StackQueueRule {
    pub rule: QueueRuleDef,
    pub rule_name: String,
    pub bus_name: String,
}

/// A template rule created locally with an SQS queue as its target.
#[derive(Debug, Clone)]
pub struct RuleQueue {
    pub rule: RuleDef,
    pub rule_name: String,
    pub queue_url: String,
}

pub type BootError = Box<dyn std::error::Error + Send + Sync>;

fn boxed<E: std::error::Error + Send + Sync + 'static>(
    context: &str,
) -> impl FnOnce(E) -> BootError + '_ {
    move |err| {
        format!(
            "{context}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(err)
        )
        .into()
    }
}

/// A rule on `bus` matching `pattern`, with a new queue `rule_name` as its
/// target; returns the queue's URL. This is how the local stack stands in
/// for EventBridge invoking a function, and how tests and benchmarks watch
/// the bus.
pub async fn rule_to_queue(
    sdk: &SdkConfig,
    bus: &str,
    rule_name: &str,
    pattern: &str,
) -> Result<String, BootError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(rule_name)
        .send()
        .await
        .map_err(boxed("create queue"))?
        .queue_url
        .ok_or("create queue: no URL")?;
    let queue_arn = queue_arn(&sqs, &queue_url).await?;
    put_rule_to_queues(
        &aws_sdk_eventbridge::Client::new(sdk),
        bus,
        rule_name,
        pattern,
        &[("local-queue", queue_arn.as_str())],
    )
    .await?;
    Ok(queue_url)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<String, BootError> {
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(boxed("queue attributes"))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| "queue has no ARN".into())
}

/// A rule `rule_name` on `bus` matching `pattern`, with `(target id, queue
/// ARN)` targets (put again when the rule exists: targets are replaced by id).
async fn put_rule_to_queues(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule_name: &str,
    pattern: &str,
    targets: &[(&str, &str)],
) -> Result<(), BootError> {
    events
        .put_rule()
        .name(rule_name)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .map_err(boxed("put rule"))?;
    let mut request = events.put_targets().rule(rule_name).event_bus_name(bus);
    for (id, arn) in targets {
        request = request.targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(*id)
                .arn(*arn)
                .build()
                .map_err(boxed("target"))?,
        );
    }
    request.send().await.map_err(boxed("put targets"))?;
    Ok(())
}

/// The template's queues as `{prefix}-{LogicalId}` with their timeouts, then
/// their redrive policies (a dead-letter queue must exist first).
async fn create_queues(
    sqs: &aws_sdk_sqs::Client,
    queues: &[QueueDef],
    prefix: &str,
) -> Result<BTreeMap<String, StackQueue>, BootError> {
    let mut created = BTreeMap::new();
    for queue in queues {
        let name = format!("{prefix}-{}", queue.logical_id);
        let mut request = sqs.create_queue().queue_name(&name);
        if let Some(seconds) = queue.visibility_timeout {
            request =
                request.attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string());
        }
        if let Some(seconds) = queue.message_retention_period {
            request = request.attributes(
                QueueAttributeName::MessageRetentionPeriod,
                seconds.to_string(),
            );
        }
        let url = request
            .send()
            .await
            .map_err(boxed(&format!("create queue {name}")))?
            .queue_url
            .ok_or("create queue: no URL")?;
        let arn = queue_arn(sqs, &url).await?;
        created.insert(queue.logical_id.clone(), StackQueue { name, url, arn });
    }
    for queue in queues {
        let (Some(redrive), Some(source)) = (&queue.redrive, created.get(&queue.logical_id)) else {
            continue;
        };
        let target = created.get(&redrive.dead_letter_queue).ok_or_else(|| {
            format!(
                "{}: no dead-letter queue {}",
                queue.logical_id, redrive.dead_letter_queue
            )
        })?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": target.arn,
            "maxReceiveCount": redrive.max_receive_count,
        });
        sqs.set_queue_attributes()
            .queue_url(&source.url)
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .map_err(boxed(&format!("redrive policy of {}", source.name)))?;
    }
    Ok(created)
}

impl LocalStack {
    /// Creates (or reuses) the table, bus, rules and queues named `{prefix}-…`.
    /// `parameters` override the template's parameter defaults.
    pub async fn create(
        sdk: &SdkConfig,
        model: &TemplateModel,
        prefix: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Result<Self, BootError> {
        let table_name = format!("{prefix}-leads");
        let bus_name = format!("{prefix}-leads");
        create_table(
            &aws_sdk_dynamodb::Client::new(sdk),
            &model.table,
            &table_name,
        )
        .await?;
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let existing_buses = events
            .list_event_buses()
            .name_prefix(&bus_name)
            .send()
            .await
            .map_err(boxed("list event buses"))?;
        if !existing_buses
            .event_buses()
            .iter()
            .any(|b| b.name() == Some(bus_name.as_str()))
        {
            events
                .create_event_bus()
                .name(&bus_name)
                .send()
                .await
                .map_err(boxed("create event bus"))?;
        }
        let mut rule_queues = Vec::new();
        for rule in &model.rules {
            let rule_name = format!("{prefix}-{}-{}", rule.function, rule.event_name);
            let queue_url =
                rule_to_queue(sdk, &bus_name, &rule_name, &rule.pattern.to_string()).await?;
            rule_queues.push(RuleQueue {
                rule: rule.clone(),
                rule_name,
                queue_url,
            });
        }
        let queues = create_queues(&aws_sdk_sqs::Client::new(sdk), &model.queues, prefix).await?;
        let mut queue_rules = Vec::new();
        for rule in &model.queue_rules {
            let rule_bus = match rule.bus_ref.as_deref() {
                None => "default".to_owned(),
                Some(bus) if bus == model.bus_logical_id => bus_name.clone(),
                Some(other) => {
                    return Err(format!(
                        "{}: EventBusName refers to {other}, which is not the template's bus",
                        rule.logical_id
                    )
                    .into());
                }
            };
            let targets = rule
                .targets
                .iter()
                .map(|t| {
                    queues
                        .get(&t.queue)
                        .map(|q| (t.id.as_str(), q.arn.as_str()))
                        .ok_or_else(|| format!("{}: no queue {}", rule.logical_id, t.queue))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let rule_name = format!("{prefix}-{}", rule.logical_id);
            put_rule_to_queues(
                &events,
                &rule_bus,
                &rule_name,
                &rule.pattern.to_string(),
                &targets,
            )
            .await?;
            queue_rules.push(StackQueueRule {
                rule: rule.clone(),
                rule_name,
                bus_name: rule_bus,
            });
        }
        let mut refs = model.parameters.clone();
        refs.extend(parameters.clone());
        let mut attributes = BTreeMap::new();
        for (logical_id, queue) in &queues {
            // `!Ref` of a queue is its URL; `!GetAtt` gives its ARN and name.
            refs.insert(logical_id.clone(), queue.url.clone());
            attributes.insert(format!("{logical_id}.Arn"), queue.arn.clone());
            attributes.insert(format!("{logical_id}.QueueName"), queue.name.clone());
            attributes.insert(format!("{logical_id}.QueueUrl"), queue.url.clone());
        }
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        for secret in &model.secrets {
            let logical_id = &secret.logical_id;
            let name = format!("{prefix}-{logical_id}");
            let arn = match secrets.describe_secret().secret_id(&name).send().await {
                Ok(existing) => existing.arn,
                Err(_) => {
                    // A fresh random value, as GenerateSecretString would make.
                    let random = format!("{}{}", ulid::Ulid::new(), ulid::Ulid::new());
                    let value = match (&secret.json_template, &secret.json_key) {
                        (Some(template), Some(key)) => {
                            let mut json: serde_json::Map<String, serde_json::Value> =
                                serde_json::from_str(template).unwrap_or_default();
                            json.insert(key.clone(), random.into());
                            serde_json::Value::Object(json).to_string()
                        }
                        _ => random,
                    };
                    secrets
                        .create_secret()
                        .name(&name)
                        .secret_string(value)
                        .send()
                        .await
                        .map_err(boxed("create secret"))?
                        .arn
                }
            };
            refs.insert(logical_id.clone(), arn.ok_or("secret without ARN")?);
        }
        if let Some(sender) = refs.get("SenderEmail").filter(|s| !s.is_empty()) {
            // SES only sends from a verified identity; moto checks that too.
            let ses = aws_sdk_sesv2::Client::new(sdk);
            if ses
                .get_email_identity()
                .email_identity(sender)
                .send()
                .await
                .is_err()
            {
                ses.create_email_identity()
                    .email_identity(sender)
                    .send()
                    .await
                    .map_err(boxed("create SES identity"))?;
            }
        }
        refs.insert(model.table.logical_id.clone(), table_name.clone());
        refs.insert(model.bus_logical_id.clone(), bus_name.clone());
        Ok(Self {
            prefix: prefix.to_owned(),
            table_name,
            bus_name,
            rule_queues,
            queues,
            queue_rules,
            refs,
            attributes,
        })
    }

    /// A function's environment as the template declares it, `Ref`s resolved.
    pub fn function_env(
        &self,
        model: &TemplateModel,
        logical_id: &str,
    ) -> Result<Vec<(String, String)>, BootError> {
        let function = model
            .function(logical_id)
            .ok_or_else(|| format!("no function {logical_id} in the template"))?;
        function
            .environment
            .iter()
            .map(|(name, value)| match value {
                EnvValue::Literal(text) => Ok((name.clone(), text.clone())),
                EnvValue::Sub(text) => Ok((name.clone(), self.substitute(text))),
                EnvValue::Ref(target) => self
                    .refs
                    .get(target)
                    .map(|v| (name.clone(), v.clone()))
                    .ok_or_else(|| format!("{logical_id}: {name} refers to {target}, which the local stack has no value for").into()),
                EnvValue::GetAtt(resource, attribute) => self
                    .attributes
                    .get(&format!("{resource}.{attribute}"))
                    .map(|v| (name.clone(), v.clone()))
                    .ok_or_else(|| format!("{logical_id}: {name} is {resource}.{attribute}, which the local stack has no value for").into()),
            })
            .collect()
    }
}

impl LocalStack {
    /// What `!Ref name` or `${name}` is locally: the pseudo parameters'
    /// stand-ins (moto's account and region), else the stack's parameter or
    /// resource value. `None` for what the local stack lacks.
    pub fn value_of(&self, name: &str) -> Option<String> {
        match name {
            "AWS::Region" => Some("us-east-1".to_owned()),
            "AWS::AccountId" => Some("123456789012".to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            "AWS::StackName" => Some(self.prefix.clone()),
            other => self.refs.get(other).cloned(),
        }
    }

    /// Resolves `${X}` and `${X.Attr}` from the stack's values; names the
    /// local stack lacks become `local`.
    pub fn substitute(&self, text: &str) -> String {
        let local = || "local".to_owned();
        let value_of = |name: &str| Some(self.value_of(name).unwrap_or_else(local));
        let attribute = |resource: &str, name: &str| {
            Some(
                self.attributes
                    .get(&format!("{resource}.{name}"))
                    .cloned()
                    .unwrap_or_else(local),
            )
        };
        // Only an unterminated `${` gives nothing: left as written.
        crate::template::substitute(text, &value_of, &attribute).unwrap_or_else(|| text.to_owned())
    }
}

fn scalar_type(code: &str) -> Result<ScalarAttributeType, BootError> {
    match code {
        "S" => Ok(ScalarAttributeType::S),
        "N" => Ok(ScalarAttributeType::N),
        "B" => Ok(ScalarAttributeType::B),
        other => Err(format!("attribute type {other:?}").into()),
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BootError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(boxed("key schema"))
}

fn keys(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>, BootError> {
    let mut out = vec![key(hash, KeyType::Hash)?];
    if let Some(range) = range {
        out.push(key(range, KeyType::Range)?);
    }
    Ok(out)
}

/// The template's table (keys, due index, TTL) as `name`, unless it exists;
/// also how `firsthour-aws`'s contract tests get a table on moto.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    def: &TableDef,
    name: &str,
) -> Result<(), BootError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&def.hash_key, def.range_key.as_deref())?));
    for attribute in &def.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.name)
                .attribute_type(scalar_type(&attribute.attribute_type)?)
                .build()
                .map_err(boxed("attribute definition"))?,
        );
    }
    for index in &def.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(keys(&index.hash_key, index.range_key.as_deref())?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(boxed("index"))?,
        );
    }
    request.send().await.map_err(boxed("create table"))?;
    if let Some(ttl) = &def.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .map_err(boxed("ttl"))?,
            )
            .send()
            .await
            .map_err(boxed("update time to live"))?;
    }
    Ok(())
}
