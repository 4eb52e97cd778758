//! Reads `infra/template.yaml`, so the local stack is created from the same
//! definitions that are deployed: the table's keys and indexes, the event
//! rules' patterns, the schedules, the queues and their consumers, and
//! every function's environment.
//!
//! Conditions (`Condition:`) are not evaluated for resources: a conditional
//! resource is read like any other (the inbound function runs locally
//! whatever `InboundDomain` is; only its SMTP stand-in waits for a domain).
//! An output's condition can be ([`TemplateModel::condition_holds`]), so the
//! local outputs list what a deployment with the same parameters would.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

/// Problems reading the template, naming the resource and property.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: String,
        source: serde_yaml::Error,
    },
    #[error("template: {0}")]
    Shape(String),
}

/// One key attribute: name and DynamoDB type (`S`, `N`, `B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub projection: String,
}

/// The lead table as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    pub attributes: Vec<KeyAttribute>,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<String>,
}

/// An `EventBridgeRule` event of a function: pattern → function.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub function: String,
    pub event_name: String,
    pub bus_ref: Option<String>,
    pub pattern: serde_json::Value,
}

/// A `Schedule`/`ScheduleV2` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDef {
    pub function: String,
    pub expression: String,
}

/// A generated secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDef {
    pub logical_id: String,
    pub json_template: Option<String>,
    pub json_key: Option<String>,
}

/// An `AWS::SQS::Queue`. Unset numbers keep SQS's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    pub logical_id: String,
    pub visibility_timeout: Option<u32>,
    pub message_retention_period: Option<u32>,
    pub redrive: Option<RedriveDef>,
}

/// A queue's `RedrivePolicy`: after `max_receive_count` receives, SQS moves
/// a message to the queue `dead_letter_queue` (a logical id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveDef {
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// An `AWS::Events::Rule` with queues of the template among its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRuleDef {
    pub logical_id: String,
    /// `EventBusName: !Ref X`; `None` is the default bus.
    pub bus_ref: Option<String>,
    pub pattern: serde_json::Value,
    pub targets: Vec<QueueTargetDef>,
}

/// A rule target that is a queue of the template (`Arn: !GetAtt Q.Arn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTargetDef {
    pub id: String,
    pub queue: String,
}

/// A function's `SQS` event: Lambda's event source mapping on a queue of
/// the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsEventDef {
    pub function: String,
    pub event_name: String,
    /// The queue's logical id.
    pub queue: String,
    /// At most this many messages per invocation (SAM's default: 10).
    pub batch_size: u32,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function's
    /// `batchItemFailures` answer is honoured.
    pub report_batch_item_failures: bool,
}

/// A function: its logical id, the cargo binary it runs, and its environment
/// (values still unresolved: literal strings, or `Ref` names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub logical_id: String,
    pub binary: String,
    pub environment: BTreeMap<String, EnvValue>,
}

/// A property value the local run resolves, in its short (`!Ref`) or long
/// (`{Ref: …}`) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref X`: a parameter or a resource.
    Ref(String),
    /// `!Sub "…${X}…"`: a string with references (`!Sub [text, {vars}]` is
    /// not read: its variables would need evaluating).
    Sub(String),
    /// `!GetAtt X.Attribute`: (resource, attribute).
    GetAtt(String, String),
}

/// An output's `Value` as written (resolved against a stack later): read
/// as a function's environment value is.
pub type OutputValue = EnvValue;

/// One of the template's `Outputs:`, in template order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDef {
    pub key: String,
    pub description: Option<String>,
    /// The condition the output exists under, if any.
    pub condition: Option<String>,
    pub value: OutputValue,
}

/// What the local stack needs from the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateModel {
    pub table: TableDef,
    pub bus_logical_id: String,
    pub functions: Vec<FunctionDef>,
    pub rules: Vec<RuleDef>,
    pub schedules: Vec<ScheduleDef>,
    /// Parameter defaults.
    pub parameters: BTreeMap<String, String>,
    /// `AWS::SecretsManager::Secret` resources (generated values), with the
    /// JSON template and key their value is generated into, if any.
    pub secrets: Vec<SecretDef>,
    /// `AWS::SQS::Queue` resources.
    pub queues: Vec<QueueDef>,
    /// `AWS::Events::Rule` resources that target queues of the template.
    pub queue_rules: Vec<QueueRuleDef>,
    /// Functions' `SQS` events (event source mappings).
    pub sqs_events: Vec<SqsEventDef>,
    /// The `Outputs:` whose value has a shape read here (`Ref`, `GetAtt`,
    /// `Sub` or a literal; others, such as `!Join`, are left out).
    pub outputs: Vec<OutputDef>,
    /// The HTTP API's logical id (`AWS::Serverless::HttpApi`), whose URL is
    /// the local gateway's.
    pub http_api: Option<String>,
    /// The raw template, for checks that want more.
    pub raw: Value,
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn env_value(value: &Value) -> Option<EnvValue> {
    match value {
        // A condition the local run does not evaluate: its "off" branch;
        // what the condition turns on (AppConfig), the runner provides itself.
        Value::Tagged(tagged) if tagged.tag == "If" => match &tagged.value {
            Value::Sequence(parts) if parts.len() == 3 => env_value(&parts[2]),
            _ => None,
        },
        other => reference_or_literal(other),
    }
}

/// `!Ref X` or `{Ref: X}` → `X`.
fn ref_name(value: &Value) -> Option<String> {
    match env_value(value)? {
        EnvValue::Ref(name) => Some(name),
        EnvValue::Literal(_) | EnvValue::Sub(_) | EnvValue::GetAtt(..) => None,
    }
}

/// `!GetAtt X.Attr`, `!GetAtt [X, Attr]` or `{Fn::GetAtt: …}` → (X, Attr).
fn get_att(value: &Value) -> Option<(String, String)> {
    let inner = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => &tagged.value,
        Value::Mapping(map) if map.len() == 1 => map.get("Fn::GetAtt")?,
        _ => return None,
    };
    match inner {
        Value::String(dotted) => {
            let (resource, attribute) = dotted.split_once('.')?;
            Some((resource.to_owned(), attribute.to_owned()))
        }
        Value::Sequence(parts) => match parts.as_slice() {
            [resource, attribute] => Some((text(resource)?, text(attribute)?)),
            _ => None,
        },
        _ => None,
    }
}

/// An output's value, if it has one of the shapes [`OutputValue`] knows.
fn reference_or_literal(value: &Value) -> Option<EnvValue> {
    if let Some((resource, attribute)) = get_att(value) {
        return Some(EnvValue::GetAtt(resource, attribute));
    }
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => text(&tagged.value).map(EnvValue::Ref),
        Value::Tagged(tagged) if tagged.tag == "Sub" => text(&tagged.value).map(EnvValue::Sub),
        Value::Mapping(map) if map.len() == 1 => match map.get("Ref") {
            Some(name) => text(name).map(EnvValue::Ref),
            None => map.get("Fn::Sub").and_then(text).map(EnvValue::Sub),
        },
        other => text(other).map(EnvValue::Literal),
    }
}

/// The template's `Outputs:` in order. A value of a shape not read here is
/// skipped; an output without a `Value`, or with a `Description` or
/// `Condition` that is not a string, is refused by name.
fn outputs(raw: &Value) -> Result<Vec<OutputDef>, TemplateError> {
    let section = match raw.get("Outputs") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(section)) => section,
        Some(_) => return Err(shape("Outputs must map output names to outputs")),
    };
    let mut read = Vec::new();
    for (key, output) in section {
        let key = key
            .as_str()
            .ok_or_else(|| shape("Outputs: an output name is not a string"))?;
        let string_field = |field: &str| match output.get(field) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(shape(format!("output {key}: {field} must be a string"))),
        };
        let description = string_field("Description")?;
        let condition = string_field("Condition")?;
        let value = output
            .get("Value")
            .ok_or_else(|| shape(format!("output {key}: Value is missing")))?;
        if let Some(value) = reference_or_literal(value) {
            read.push(OutputDef {
                key: key.to_owned(),
                description,
                condition,
                value,
            });
        }
    }
    Ok(read)
}

/// Conditions nest (`!Condition X`); deeper than this is taken for a loop.
const MAX_CONDITION_DEPTH: usize = 32;

/// The intrinsic function `value` calls, and its argument: `!Not [...]`
/// or `{Fn::Not: [...]}` → ("Not", [...]); `{Condition: X}` → ("Condition", X).
fn intrinsic(value: &Value) -> Option<(&'static str, &Value)> {
    const FUNCTIONS: [&str; 5] = ["Not", "And", "Or", "Equals", "Condition"];
    match value {
        Value::Tagged(tagged) => FUNCTIONS
            .into_iter()
            .find(|f| tagged.tag == *f)
            .map(|f| (f, &tagged.value)),
        Value::Mapping(map) if map.len() == 1 => FUNCTIONS.into_iter().find_map(|f| {
            let key = if f == "Condition" {
                f.to_owned()
            } else {
                format!("Fn::{f}")
            };
            map.get(key.as_str()).map(|argument| (f, argument))
        }),
        _ => None,
    }
}

/// A condition function's operand: a literal, or `Ref` to a parameter.
fn operand(value: &Value, value_of: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => value_of(tagged.value.as_str()?),
        Value::Mapping(map) if map.len() == 1 => value_of(map.get("Ref")?.as_str()?),
        other => text(other),
    }
}

/// A non-negative whole number written literally (`90` or `"90"`).
fn whole_number(value: &Value, owner: &str, what: &str) -> Result<u32, TemplateError> {
    text(value)
        .and_then(|t| t.parse::<u32>().ok())
        .ok_or_else(|| shape(format!("{owner}: {what} must be a whole number")))
}

fn optional_number(
    props: Option<&Value>,
    key: &str,
    owner: &str,
) -> Result<Option<u32>, TemplateError> {
    props
        .and_then(|p| p.get(key))
        .map(|v| whole_number(v, owner, key))
        .transpose()
}

fn queue_def(id: &str, queue: &Value) -> Result<QueueDef, TemplateError> {
    let props = queue.get("Properties");
    let redrive = match props.and_then(|p| p.get("RedrivePolicy")) {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .and_then(get_att)
                .filter(|(_, attribute)| attribute == "Arn")
                .map(|(resource, _)| resource)
                .ok_or_else(|| {
                    shape(format!(
                        "{id}: RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn"
                    ))
                })?;
            let count = policy
                .get("maxReceiveCount")
                .ok_or_else(|| shape(format!("{id}: RedrivePolicy.maxReceiveCount is missing")))?;
            Some(RedriveDef {
                dead_letter_queue: target,
                max_receive_count: whole_number(count, id, "RedrivePolicy.maxReceiveCount")?,
            })
        }
    };
    Ok(QueueDef {
        logical_id: id.to_owned(),
        visibility_timeout: optional_number(props, "VisibilityTimeout", id)?,
        message_retention_period: optional_number(props, "MessageRetentionPeriod", id)?,
        redrive,
    })
}

/// The queue logical id of `value` if it is `!GetAtt Q.Arn` of a queue in `queues`.
fn queue_arn_ref(value: Option<&Value>, queues: &[QueueDef]) -> Option<String> {
    let (resource, attribute) = get_att(value?)?;
    (attribute == "Arn" && queues.iter().any(|q| q.logical_id == resource)).then_some(resource)
}

fn to_json(value: &Value) -> Result<serde_json::Value, TemplateError> {
    serde_json::to_value(value).map_err(|err| shape(format!("pattern is not plain data: {err}")))
}

impl TemplateModel {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let raw: Value = serde_yaml::from_str(&text).map_err(|source| TemplateError::Yaml {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_value(raw)
    }

    pub fn from_value(raw: Value) -> Result<Self, TemplateError> {
        let resources = raw
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape("no Resources"))?;
        let of_type = |wanted: &'static str| {
            resources
                .iter()
                .filter(move |(_, res)| res.get("Type").and_then(Value::as_str) == Some(wanted))
                .map(|(id, res)| (id.as_str().unwrap_or_default(), res))
        };
        let (table_id, table) = of_type("AWS::DynamoDB::Table")
            .next()
            .ok_or_else(|| shape("no AWS::DynamoDB::Table"))?;
        let table = table_def(table_id, table)?;
        let (bus_id, _) = of_type("AWS::Events::EventBus")
            .next()
            .ok_or_else(|| shape("no AWS::Events::EventBus"))?;

        let global_env = raw
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let queues = of_type("AWS::SQS::Queue")
            .map(|(id, queue)| queue_def(id, queue))
            .collect::<Result<Vec<_>, _>>()?;
        for queue in &queues {
            if let Some(redrive) = &queue.redrive
                && !queues
                    .iter()
                    .any(|q| q.logical_id == redrive.dead_letter_queue)
            {
                return Err(shape(format!(
                    "{}: dead-letter queue {} is not a queue of this template",
                    queue.logical_id, redrive.dead_letter_queue
                )));
            }
        }
        let mut functions = Vec::new();
        let mut rules = Vec::new();
        let mut schedules = Vec::new();
        let mut sqs_events = Vec::new();
        for (id, function) in of_type("AWS::Serverless::Function") {
            let binary = function
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(text)
                .ok_or_else(|| {
                    shape(format!("{id}: Metadata.BuildProperties.Binary is missing"))
                })?;
            let properties = function.get("Properties");
            let own_env = properties
                .and_then(|p| p.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            let mut environment = BTreeMap::new();
            for (name, value) in global_env.iter().chain(own_env.iter()) {
                let name = name
                    .as_str()
                    .ok_or_else(|| shape(format!("{id}: environment variable name")))?;
                let value = env_value(value)
                    .ok_or_else(|| shape(format!("{id}: {name} must be a string or !Ref")))?;
                environment.insert(name.to_owned(), value);
            }
            for (event_name, event) in properties
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                let event_name = event_name.as_str().unwrap_or_default().to_owned();
                let event_props = event.get("Properties");
                match event.get("Type").and_then(Value::as_str) {
                    Some("EventBridgeRule") => {
                        let pattern =
                            event_props.and_then(|p| p.get("Pattern")).ok_or_else(|| {
                                shape(format!("{id}.{event_name}: Pattern is missing"))
                            })?;
                        rules.push(RuleDef {
                            function: id.to_owned(),
                            event_name,
                            bus_ref: event_props
                                .and_then(|p| p.get("EventBusName"))
                                .and_then(ref_name),
                            pattern: to_json(pattern)?,
                        });
                    }
                    Some("SQS") => {
                        let owner = format!("{id}.{event_name}");
                        let queue = queue_arn_ref(
                            event_props.and_then(|p| p.get("Queue")),
                            &queues,
                        )
                        .ok_or_else(|| {
                            shape(format!(
                                "{owner}: Queue must be !GetAtt <a queue of this template>.Arn"
                            ))
                        })?;
                        let batch_size =
                            optional_number(event_props, "BatchSize", &owner)?.unwrap_or(10);
                        if batch_size == 0 {
                            return Err(shape(format!("{owner}: BatchSize must be at least 1")));
                        }
                        let report_batch_item_failures = event_props
                            .and_then(|p| p.get("FunctionResponseTypes"))
                            .and_then(Value::as_sequence)
                            .into_iter()
                            .flatten()
                            .any(|t| t.as_str() == Some("ReportBatchItemFailures"));
                        sqs_events.push(SqsEventDef {
                            function: id.to_owned(),
                            event_name,
                            queue,
                            batch_size,
                            report_batch_item_failures,
                        });
                    }
                    Some("Schedule" | "ScheduleV2") => schedules.push(ScheduleDef {
                        function: id.to_owned(),
                        expression: event_props
                            .and_then(|p| p.get("Schedule").or_else(|| p.get("ScheduleExpression")))
                            .and_then(text)
                            .ok_or_else(|| {
                                shape(format!("{id}.{event_name}: schedule expression is missing"))
                            })?,
                    }),
                    _ => {}
                }
            }
            functions.push(FunctionDef {
                logical_id: id.to_owned(),
                binary,
                environment,
            });
        }
        let parameters = raw
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| {
                Some((name.as_str()?.to_owned(), p.get("Default").and_then(text)?))
            })
            .collect();
        let secrets = of_type("AWS::SecretsManager::Secret")
            .map(|(id, secret)| {
                let generate = secret
                    .get("Properties")
                    .and_then(|p| p.get("GenerateSecretString"));
                SecretDef {
                    logical_id: id.to_owned(),
                    json_template: generate
                        .and_then(|g| g.get("SecretStringTemplate"))
                        .and_then(text),
                    json_key: generate
                        .and_then(|g| g.get("GenerateStringKey"))
                        .and_then(text),
                }
            })
            .collect();
        let mut queue_rules = Vec::new();
        for (id, rule) in of_type("AWS::Events::Rule") {
            let props = rule.get("Properties");
            let targets: Vec<QueueTargetDef> = props
                .and_then(|p| p.get("Targets"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|target| {
                    Some(QueueTargetDef {
                        queue: queue_arn_ref(target.get("Arn"), &queues)?,
                        id: target.get("Id").and_then(text)?,
                    })
                })
                .collect();
            if targets.is_empty() {
                continue;
            }
            let pattern = props
                .and_then(|p| p.get("EventPattern"))
                .ok_or_else(|| shape(format!("{id}: EventPattern is missing")))?;
            queue_rules.push(QueueRuleDef {
                logical_id: id.to_owned(),
                bus_ref: props.and_then(|p| p.get("EventBusName")).and_then(ref_name),
                pattern: to_json(pattern)?,
                targets,
            });
        }
        let http_api = of_type("AWS::Serverless::HttpApi")
            .next()
            .map(|(id, _)| id.to_owned());
        Ok(Self {
            outputs: outputs(&raw)?,
            http_api,
            table,
            secrets,
            queues,
            queue_rules,
            sqs_events,
            bus_logical_id: bus_id.to_owned(),
            functions,
            rules,
            schedules,
            parameters,
            raw,
        })
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn function_by_binary(&self, binary: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueDef> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    /// Whether the template's condition `name` holds, `value_of` giving
    /// parameters' and pseudo parameters' values. `None` when it cannot be
    /// told (no such condition, a function or value not known here, a loop).
    pub fn condition_holds(
        &self,
        name: &str,
        value_of: &dyn Fn(&str) -> Option<String>,
    ) -> Option<bool> {
        self.condition_at(name, value_of, 0)
    }

    fn condition_at(
        &self,
        name: &str,
        value_of: &dyn Fn(&str) -> Option<String>,
        depth: usize,
    ) -> Option<bool> {
        if depth > MAX_CONDITION_DEPTH {
            return None;
        }
        let definition = self.raw.get("Conditions")?.get(name)?;
        self.holds(definition, value_of, depth + 1)
    }

    fn holds(
        &self,
        expression: &Value,
        value_of: &dyn Fn(&str) -> Option<String>,
        depth: usize,
    ) -> Option<bool> {
        let (function, argument) = intrinsic(expression)?;
        if function == "Condition" {
            return self.condition_at(argument.as_str()?, value_of, depth);
        }
        let operands = argument.as_sequence()?;
        match (function, operands.as_slice()) {
            ("Not", [one]) => self.holds(one, value_of, depth).map(|held| !held),
            ("Equals", [left, right]) => {
                Some(operand(left, value_of)? == operand(right, value_of)?)
            }
            ("And", all) if !all.is_empty() => all.iter().try_fold(true, |so_far, one| {
                Some(self.holds(one, value_of, depth)? && so_far)
            }),
            ("Or", any) if !any.is_empty() => any.iter().try_fold(false, |so_far, one| {
                Some(self.holds(one, value_of, depth)? || so_far)
            }),
            _ => None,
        }
    }
}

fn key_schema(
    value: Option<&Value>,
    owner: &str,
) -> Result<(String, Option<String>), TemplateError> {
    let mut hash = None;
    let mut range = None;
    for key in value.and_then(Value::as_sequence).into_iter().flatten() {
        let name = key.get("AttributeName").and_then(text);
        match key.get("KeyType").and_then(Value::as_str) {
            Some("HASH") => hash = name,
            Some("RANGE") => range = name,
            _ => return Err(shape(format!("{owner}: KeyType must be HASH or RANGE"))),
        }
    }
    Ok((
        hash.ok_or_else(|| shape(format!("{owner}: no HASH key")))?,
        range,
    ))
}

fn table_def(id: &str, table: &Value) -> Result<TableDef, TemplateError> {
    let props = table
        .get("Properties")
        .ok_or_else(|| shape(format!("{id}: no Properties")))?;
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| shape(format!("{id}: no AttributeDefinitions")))?
        .iter()
        .map(|a| {
            Some(KeyAttribute {
                name: a.get("AttributeName").and_then(text)?,
                attribute_type: a.get("AttributeType").and_then(text)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            shape(format!(
                "{id}: AttributeDefinitions need AttributeName and AttributeType"
            ))
        })?;
    let (hash_key, range_key) = key_schema(props.get("KeySchema"), id)?;
    let mut indexes = Vec::new();
    for index in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = index
            .get("IndexName")
            .and_then(text)
            .ok_or_else(|| shape(format!("{id}: index without IndexName")))?;
        let (hash, range) = key_schema(index.get("KeySchema"), &name)?;
        indexes.push(IndexDef {
            projection: index
                .get("Projection")
                .and_then(|p| p.get("ProjectionType"))
                .and_then(text)
                .unwrap_or_else(|| "ALL".into()),
            name,
            hash_key: hash,
            range_key: range,
        });
    }
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|t| t.get("AttributeName"))
        .and_then(text);
    Ok(TableDef {
        logical_id: id.to_owned(),
        attributes,
        hash_key,
        range_key,
        indexes,
        ttl_attribute,
    })
}

/// `Fn::Sub` on `text`: `${Name}` from `value_of`, `${Resource.Attribute}`
/// from `attribute`, `${!Text}` as the literal `${Text}`. `None` when a
/// name has no value here.
pub fn substitute(
    text: &str,
    value_of: &dyn Fn(&str) -> Option<String>,
    attribute: &dyn Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if let Some((resource, name)) = name.split_once('.') {
            out.push_str(&attribute(resource, name)?);
        } else {
            out.push_str(&value_of(name)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The shipped `infra/template.yaml`, read (for this crate's tests).
#[cfg(test)]
pub(crate) fn shipped() -> TemplateModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    match TemplateModel::load(&path) {
        Ok(model) => model,
        Err(err) => panic!("infra/template.yaml: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        match serde_yaml::from_str(text) {
            Ok(value) => value,
            Err(err) => panic!("test YAML: {err}"),
        }
    }

    #[test]
    fn every_queue_of_the_template_is_read_with_its_timeouts_and_redrive() {
        let model = shipped();
        let mut ids: Vec<&str> = model.queues.iter().map(|q| q.logical_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "DeliveryDeadLetterQueue",
                "DeliveryQueue",
                "FederalLeadDeadLetterQueue",
                "OtherLeadDeadLetterQueue",
                "RouterFailureQueue"
            ]
        );
        assert_eq!(
            model.queue("DeliveryQueue"),
            Some(&QueueDef {
                logical_id: "DeliveryQueue".into(),
                visibility_timeout: Some(90),
                message_retention_period: Some(1_209_600),
                redrive: Some(RedriveDef {
                    dead_letter_queue: "DeliveryDeadLetterQueue".into(),
                    max_receive_count: 40,
                }),
            })
        );
        assert_eq!(
            model.queue("DeliveryDeadLetterQueue"),
            Some(&QueueDef {
                logical_id: "DeliveryDeadLetterQueue".into(),
                visibility_timeout: None,
                message_retention_period: Some(1_209_600),
                redrive: None,
            })
        );
    }

    #[test]
    fn the_delivery_rule_sends_lead_events_on_the_lead_bus_to_the_delivery_queue() {
        let model = shipped();
        assert_eq!(model.queue_rules.len(), 1, "{:?}", model.queue_rules);
        let rule = &model.queue_rules[0];
        assert_eq!(rule.logical_id, "DeliveryRule");
        assert_eq!(rule.bus_ref.as_deref(), Some(model.bus_logical_id.as_str()));
        assert_eq!(rule.pattern["source"], serde_json::json!(["firsthour"]));
        let detail_types = rule.pattern["detail-type"].as_array().cloned();
        assert!(
            detail_types
                .unwrap_or_default()
                .contains(&serde_json::json!("LeadRouted")),
            "{}",
            rule.pattern
        );
        assert_eq!(
            rule.targets,
            [QueueTargetDef {
                id: "delivery-queue".into(),
                queue: "DeliveryQueue".into(),
            }]
        );
    }

    #[test]
    fn the_deliver_function_reads_the_delivery_queue_ten_at_a_time_with_partial_failures() {
        let model = shipped();
        assert_eq!(
            model.sqs_events,
            [SqsEventDef {
                function: "DeliverFunction".into(),
                event_name: "Deliveries".into(),
                queue: "DeliveryQueue".into(),
                batch_size: 10,
                report_batch_item_failures: true,
            }]
        );
        let deliver = model.function("DeliverFunction").map(|f| &f.environment);
        let env = |name: &str| deliver.and_then(|e| e.get(name)).cloned();
        assert_eq!(
            env("FIRSTHOUR_DELIVERY_QUEUE_URL"),
            Some(EnvValue::Ref("DeliveryQueue".into()))
        );
        assert_eq!(
            env("FIRSTHOUR_DELIVERY_DEAD_LETTER_QUEUE_URL"),
            Some(EnvValue::Ref("DeliveryDeadLetterQueue".into()))
        );
        assert_eq!(
            env("FIRSTHOUR_OUTBOUND_SECRETS_ARN"),
            Some(EnvValue::Ref("OutboundSecrets".into()))
        );
        let outbound = model
            .secrets
            .iter()
            .find(|s| s.logical_id == "OutboundSecrets");
        assert_eq!(
            outbound,
            Some(&SecretDef {
                logical_id: "OutboundSecrets".into(),
                json_template: Some("{}".into()),
                json_key: Some("example".into()),
            })
        );
    }

    const MINIMAL: &str = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Bus:
    Type: AWS::Events::EventBus
"#;

    #[test]
    fn get_att_is_read_in_all_its_spellings() {
        for spelling in [
            "!GetAtt Q.Arn",
            "!GetAtt [Q, Arn]",
            "{Fn::GetAtt: [Q, Arn]}",
            "{Fn::GetAtt: Q.Arn}",
        ] {
            assert_eq!(
                get_att(&yaml(spelling)),
                Some(("Q".into(), "Arn".into())),
                "{spelling}"
            );
            assert_eq!(
                env_value(&yaml(spelling)),
                Some(EnvValue::GetAtt("Q".into(), "Arn".into()))
            );
        }
        assert_eq!(get_att(&yaml("!Ref Q")), None);
        assert_eq!(get_att(&yaml("!GetAtt Q")), None);
    }

    #[test]
    fn an_sqs_event_defaults_to_batches_of_ten_and_whole_batch_failures() {
        let text = format!(
            "{MINIMAL}
  Q:
    Type: AWS::SQS::Queue
  F:
    Type: AWS::Serverless::Function
    Metadata: {{BuildProperties: {{Binary: f}}}}
    Properties:
      Events:
        E:
          Type: SQS
          Properties: {{Queue: !GetAtt Q.Arn}}
"
        );
        let model = TemplateModel::from_value(yaml(&text));
        let events = model.map(|m| m.sqs_events).map_err(|e| e.to_string());
        assert_eq!(
            events,
            Ok(vec![SqsEventDef {
                function: "F".into(),
                event_name: "E".into(),
                queue: "Q".into(),
                batch_size: 10,
                report_batch_item_failures: false,
            }])
        );
    }

    #[test]
    fn queues_and_events_that_cannot_run_locally_are_refused_by_name() {
        let cases = [
            (
                "  Q:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Nowhere.Arn, maxReceiveCount: 3}
",
                "Q: dead-letter queue Nowhere",
            ),
            (
                "  Q:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: !Ref Timeout}
",
                "Q: VisibilityTimeout must be a whole number",
            ),
            (
                "  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Events:
        E:
          Type: SQS
          Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:elsewhere}
",
                "F.E: Queue must be",
            ),
        ];
        for (resources, expected) in cases {
            let result = TemplateModel::from_value(yaml(&format!("{MINIMAL}{resources}")));
            match result {
                Err(err) => assert!(err.to_string().contains(expected), "{err}"),
                Ok(_) => panic!("accepted: {resources}"),
            }
        }
    }

    #[test]
    fn the_shipped_outputs_are_read_in_template_order_with_their_values() {
        let model = shipped();
        let output = |key: &str| model.outputs.iter().find(|o| o.key == key).cloned();
        assert_eq!(
            output("TableName"),
            Some(OutputDef {
                key: "TableName".into(),
                description: Some("The lead table.".into()),
                condition: None,
                value: OutputValue::Ref("LeadTable".into()),
            })
        );
        assert_eq!(
            output("TouchApiTokenSecretArn").map(|o| o.value),
            Some(OutputValue::Ref("TouchApiTokenSecret".into()))
        );
        assert_eq!(
            output("WebhookUrl").map(|o| o.value),
            Some(OutputValue::Sub(
                "https://${LeadApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/leads".into()
            ))
        );
        assert_eq!(
            output("RulesApplicationId").and_then(|o| o.condition),
            Some("LiveRules".into())
        );
        let keys: Vec<&str> = model.outputs.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.first(), Some(&"WebhookUrl"));
        assert_eq!(keys.last(), Some(&"InboundMxRecord"));
        for key in [
            "BusName",
            "OutboundSecretsArn",
            "RouterFailureQueueUrl",
            "DeliveryDeadLetterQueueUrl",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        assert_eq!(model.http_api.as_deref(), Some("LeadApi"));
    }

    #[test]
    fn output_values_are_read_in_their_long_forms_and_other_shapes_are_skipped() {
        let text = format!(
            r#"{MINIMAL}
Outputs:
  LongRef: {{Value: {{Ref: Table}}}}
  LongGetAtt: {{Value: {{"Fn::GetAtt": [Table, Arn]}}}}
  ShortGetAtt: {{Value: !GetAtt Table.StreamArn}}
  LongSub: {{Value: {{"Fn::Sub": "${{Table}}-x"}}}}
  Literal: {{Description: plain, Value: some text}}
  Joined: {{Value: !Join ["", [a, b]]}}
  SubWithVariables: {{Value: !Sub ["${{X}}", {{X: y}}]}}
  Listed: {{Value: [a, b]}}
"#
        );
        let outputs = TemplateModel::from_value(yaml(&text))
            .map(|m| m.outputs)
            .map_err(|e| e.to_string());
        let output = |key: &str, description: Option<&str>, value| OutputDef {
            key: key.into(),
            description: description.map(Into::into),
            condition: None,
            value,
        };
        assert_eq!(
            outputs,
            Ok(vec![
                output("LongRef", None, OutputValue::Ref("Table".into())),
                output(
                    "LongGetAtt",
                    None,
                    OutputValue::GetAtt("Table".into(), "Arn".into())
                ),
                output(
                    "ShortGetAtt",
                    None,
                    OutputValue::GetAtt("Table".into(), "StreamArn".into())
                ),
                output("LongSub", None, OutputValue::Sub("${Table}-x".into())),
                output(
                    "Literal",
                    Some("plain"),
                    OutputValue::Literal("some text".into())
                ),
            ])
        );
    }

    #[test]
    fn outputs_that_cannot_be_read_are_refused_by_name() {
        for (outputs, expected) in [
            ("Outputs: [a, b]", "Outputs must map"),
            (
                "Outputs:
  NoValue: {Description: d}",
                "output NoValue: Value is missing",
            ),
            (
                "Outputs:
  Odd: {Description: [d], Value: x}",
                "output Odd: Description must be a string",
            ),
            (
                "Outputs:
  Odd: {Condition: !Not [X], Value: x}",
                "output Odd: Condition must be a string",
            ),
        ] {
            match TemplateModel::from_value(yaml(&format!("{MINIMAL}{outputs}\n"))) {
                Err(TemplateError::Shape(message)) => {
                    assert!(message.contains(expected), "{message}");
                }
                other => panic!("{outputs}: {other:?}"),
            }
        }
    }

    #[test]
    fn conditions_are_evaluated_from_parameter_values() {
        let model = shipped();
        let with = |inbound: &'static str| {
            move |name: &str| match name {
                "InboundDomain" => Some(inbound.to_owned()),
                "AWS::Partition" => Some("aws".to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            model.condition_holds("ReceivesReplies", &with("replies.example.com")),
            Some(true)
        );
        assert_eq!(
            model.condition_holds("ReceivesReplies", &with("")),
            Some(false)
        );
        assert_eq!(
            model.condition_holds("HasSchemaRegistry", &with("")),
            Some(true)
        );
        // AppConfigExtensionLayerArn has no value here: not told.
        assert_eq!(model.condition_holds("LiveRules", &with("")), None);
        assert_eq!(model.condition_holds("NoSuchCondition", &with("")), None);

        let text = format!(
            r#"{MINIMAL}
Conditions:
  Loop: !Condition Loop
  Both: {{"Fn::And": [{{Condition: Yes}}, !Equals [a, a]]}}
  Either: !Or [!Not [!Condition No], !Equals [!Ref P, y]]
  Yes: !Equals [1, "1"]
  No: !Equals [!Ref P, x]
"#
        );
        let model = match TemplateModel::from_value(yaml(&text)) {
            Ok(model) => model,
            Err(err) => panic!("{err}"),
        };
        let p_is_x = |name: &str| (name == "P").then(|| "x".to_owned());
        assert_eq!(model.condition_holds("Loop", &p_is_x), None);
        assert_eq!(model.condition_holds("Both", &p_is_x), Some(true));
        assert_eq!(model.condition_holds("Either", &p_is_x), Some(false));
        assert_eq!(model.condition_holds("No", &p_is_x), Some(true));
    }

    #[test]
    fn a_rule_without_queue_targets_is_not_a_queue_rule() {
        let text = format!(
            "{MINIMAL}
  Q:
    Type: AWS::SQS::Queue
  ToLambda:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {{source: [x]}}
      Targets: [{{Id: f, Arn: !GetAtt F.Arn}}]
  ToQueue:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {{source: [x]}}
      Targets: [{{Id: f, Arn: !GetAtt F.Arn}}, {{Id: q, Arn: !GetAtt Q.Arn}}]
"
        );
        let rules = TemplateModel::from_value(yaml(&text))
            .map(|m| m.queue_rules)
            .map_err(|e| e.to_string());
        assert_eq!(
            rules,
            Ok(vec![QueueRuleDef {
                logical_id: "ToQueue".into(),
                bus_ref: None,
                pattern: serde_json::json!({"source": ["x"]}),
                targets: vec![QueueTargetDef {
                    id: "q".into(),
                    queue: "Q".into(),
                }],
            }])
        );
    }
}
